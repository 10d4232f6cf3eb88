//! Snapshots: encode → decode rebuilds the store exactly; a committed snapshot file (entry and
//! the receipt of its evidence) verifies by itself; tampering is refused with the offset or the
//! check that failed.
use cairn_crypto::{Certificate, Sha256, sha256};
use cairn_kv::{Store, WriteSet, is_public_table};
use cairn_ledger::format::{EntryFlags, EntryView, FormatError, TxId};
use cairn_ledger::receipt::{Receipt, ReceiptError};
use cairn_ledger::snapshot::{
    SnapshotError, SnapshotEvidence, SnapshotName, decode_snapshot, decode_snapshot_public, encode_snapshot,
    snapshot_entry_len, snapshot_evidence_write_set, verify_committed_snapshot, view_history_from_starts,
};
use cairn_ledger::{History, LedgerSecret, ServiceIdentity, SignatureRecord, tables};
use proptest::prelude::*;
use std::sync::Arc;

/// Certificates are valid from 2026-01-01.
const NOT_BEFORE: i64 = 1_767_225_600;

const VIEW: u64 = 2;

fn secret() -> LedgerSecret {
    LedgerSecret::new([7; 32])
}

// ----- round trips -----

const TABLES: [&str; 5] = ["public:a", "public:ccf.gov.x", "records", "private:looks-public-but-is-not", "z"];

/// A write: table index, key, and a value (`None` removes the key).
type Write = (usize, Vec<u8>, Option<Vec<u8>>);

fn writes() -> impl Strategy<Value = Vec<Vec<Write>>> {
    let key = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..4),
        prop::collection::vec(any::<u8>(), 0..300),
        Just(Vec::new()),
    ];
    let value = prop::option::weighted(0.8, prop::collection::vec(any::<u8>(), 0..40));
    prop::collection::vec(prop::collection::vec((0..TABLES.len(), key, value), 0..6), 0..25)
}

/// A store after applying each write set at the next seqno.
fn store_from(writes: &[Vec<Write>]) -> Store {
    let mut store = Store::new();
    for (i, tx) in writes.iter().enumerate() {
        let mut ws = WriteSet::new();
        for (t, key, value) in tx {
            match value {
                Some(v) => ws.put(TABLES[*t], key.clone(), v.clone()),
                None => ws.remove(TABLES[*t], key.clone()),
            }
        }
        store.apply(&ws, i as u64 + 1).unwrap();
    }
    store
}

/// The snapshot of `store` at its version, in view 1 from seqno 1 (view 0 when empty).
fn snapshot_of(store: &Store) -> (Vec<u8>, TxId) {
    let seqno = store.version();
    let (tx, history) = if seqno == 0 { (TxId::new(0, 0), vec![]) } else { (TxId::new(1, seqno), vec![1]) };
    let leaf = sha256(&seqno.to_le_bytes());
    (encode_snapshot(&store.snapshot_view(), tx, &secret(), &leaf, &history), tx)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn snapshot_round_trips_the_store_byte_for_byte(writes in writes()) {
        let store = store_from(&writes);
        let (bytes, tx) = snapshot_of(&store);
        let decoded = decode_snapshot(&bytes, &secret()).unwrap();
        prop_assert_eq!(decoded.tx, tx);
        prop_assert_eq!(decoded.hash_at_snapshot, Some(sha256(&tx.seqno.to_le_bytes())));
        prop_assert_eq!(decoded.tombstones, 0);
        prop_assert!(decoded.check_invariants().is_ok());
        let rebuilt = decoded.into_store();
        rebuilt.check_invariants();
        prop_assert_eq!(&rebuilt, &store);
        prop_assert_eq!(snapshot_of(&rebuilt).0, bytes.clone());

        // Without the secret: exactly the public tables, and no private bytes in plaintext.
        let public = decode_snapshot_public(&bytes).unwrap();
        let public_names: Vec<&str> = public.tables.keys().map(String::as_str).collect();
        let expected: Vec<&str> = store.table_names().filter(|n| is_public_table(n)).collect();
        prop_assert_eq!(public_names, expected);
        for name in store.table_names().filter(|n| is_public_table(n)) {
            let ours: Vec<_> = store.iter_table(name).map(|(k, v)| (k.to_vec(), v.clone())).collect();
            let theirs: Vec<_> = public.tables[name].entries.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            prop_assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn decoder_never_panics_on_a_mutated_snapshot(writes in writes(), at in any::<prop::sample::Index>(), byte: u8) {
        let (mut bytes, _) = snapshot_of(&store_from(&writes));
        let i = at.index(bytes.len());
        bytes[i] = byte;
        let _ = decode_snapshot_public(&bytes);
        let _ = decode_snapshot(&bytes, &secret());
        let _ = decode_snapshot(&bytes[..i], &secret());
    }
}

fn small_store() -> Store {
    store_from(&[
        vec![(0, b"k1".to_vec(), Some(b"v".to_vec())), (2, b"secret-key".to_vec(), Some(b"TOP SECRET".to_vec()))],
        vec![(1, vec![0; 8], Some(Vec::new())), (2, b"gone".to_vec(), Some(b"x".to_vec()))],
        vec![(2, b"gone".to_vec(), None), (4, vec![7; 300], Some(vec![1; 17]))],
    ])
}

#[test]
fn every_single_byte_flip_of_a_snapshot_fails_decode() {
    let (bytes, _) = snapshot_of(&small_store());
    assert!(decode_snapshot(&bytes, &secret()).is_ok());
    assert!(!bytes.windows(10).any(|w| w == b"TOP SECRET"), "private values are encrypted");
    for i in 0..bytes.len() {
        for bit in [0x01, 0x80] {
            let mut bad = bytes.clone();
            bad[i] ^= bit;
            assert!(decode_snapshot(&bad, &secret()).is_err(), "flip {bit:#04x} at offset {i} went unnoticed");
        }
    }
    assert!(matches!(decode_snapshot(&bytes, &LedgerSecret::new([8; 32])), Err(SnapshotError::Decrypt { .. })));
}

#[test]
fn malformed_snapshots_are_refused_with_the_offset_of_the_fault() {
    let (bytes, _) = snapshot_of(&small_store());
    // The key "k1" of table public:a is followed by 6 bytes of zero padding.
    let key_at = bytes.windows(10).position(|w| w == [2, 0, 0, 0, 0, 0, 0, 0, b'k', b'1']).unwrap() + 10;
    let gcm_view_at = 8 + 16 + 8 + 3;
    let mut trailing = bytes.clone();
    trailing.extend_from_slice(b"{}");
    type Mutation = Box<dyn Fn(&mut Vec<u8>)>;
    let table: Vec<(&str, Mutation, u64, &str)> = vec![
        ("non-zero padding", Box::new(move |b| b[key_at + 2] = 1), key_at as u64, "padding"),
        ("entry header version", Box::new(|b| b[0] = 2), 0, "entry header version"),
        ("entry header flags", Box::new(|b| b[1] = 1), 1, "entry header flags"),
        ("not a snapshot IV", Box::new(move |b| b[gcm_view_at] &= 0x7f), 32, "GCM IV view"),
        ("entry type", Box::new(|b| b[44] = 4), 44, "entry type"),
        ("seqno disagrees with the IV", Box::new(|b| b[45] ^= 1), 45, "snapshot seqno"),
        ("receipt left attached", Box::new(|b| b.extend_from_slice(b"{}")), 0, "snapshot entry end"),
    ];
    for (scenario, mutate, offset, field) in table {
        let mut bad = bytes.clone();
        mutate(&mut bad);
        let expected_offset = if field == "snapshot entry end" { bytes.len() as u64 } else { offset };
        match decode_snapshot_public(&bad) {
            Err(SnapshotError::Format(FormatError::Invalid { offset, field: f, .. })) => {
                assert_eq!((offset, f), (expected_offset, field), "{scenario}");
            }
            other => panic!("{scenario}: {other:?}"),
        }
    }
    assert_eq!(snapshot_entry_len(&trailing).unwrap(), bytes.len());
    let truncated = decode_snapshot_public(&bytes[..bytes.len() - 1]).unwrap_err();
    assert!(matches!(truncated, SnapshotError::Format(FormatError::Truncated { offset: 8, .. })), "{truncated:?}");
}

// ----- committed snapshots in a running history -----

/// A primary's history and store, kept in step.
struct Primary {
    history: History,
    store: Store,
    secret: Arc<LedgerSecret>,
    node_cert: Certificate,
}

impl Primary {
    fn new(service: &ServiceIdentity) -> Self {
        let signer = Arc::new(service.new_local_node(NOT_BEFORE, 30).unwrap());
        let node_cert = Certificate::from_pem(&signer.cert_pem).unwrap();
        let secret = Arc::new(secret());
        Primary { history: History::new(secret.clone(), signer), store: Store::new(), secret, node_cert }
    }

    /// Appends a transaction and applies it; returns its id and entry digest.
    fn write(&mut self, ws: &WriteSet, claims: Sha256) -> (TxId, Sha256) {
        let e = self.history.append_tx_with_claims(VIEW, ws, EntryFlags::default(), claims);
        self.store.apply(ws, e.tx_id.seqno).unwrap();
        (e.tx_id, e.digest())
    }

    fn sign(&mut self) -> SignatureRecord {
        let e = self.history.append_signature(VIEW, TxId::default(), false);
        let (_, ws) = EntryView::parse(&e.bytes).unwrap().decode_all(self.secret.key()).unwrap();
        self.store.apply(&ws, e.tx_id.seqno).unwrap();
        let record = ws.get(tables::SIGNATURES, &tables::SINGLETON_KEY).cloned().flatten().unwrap();
        serde_json::from_slice(&record).unwrap()
    }
}

struct Committed {
    name: SnapshotName,
    file: Vec<u8>,
    store_at_snapshot: Store,
    service_cert: Certificate,
}

/// Writes, signs, snapshots at the signature, commits the evidence, signs again, and appends
/// the evidence's receipt to the snapshot entry.
fn committed_snapshot() -> Committed {
    let service = ServiceIdentity::create(NOT_BEFORE, 30).unwrap();
    let mut p = Primary::new(&service);
    let service_cert = service.cert;
    for i in 0..7u32 {
        let mut ws = WriteSet::new();
        ws.put(if i % 2 == 0 { "records" } else { "public:records" }, i.to_be_bytes(), format!("value {i}"));
        if i == 5 {
            ws.remove("records", 0u32.to_be_bytes());
        }
        p.write(&ws, Sha256::ZERO);
    }
    let signature = p.sign();
    let tx = TxId::new(signature.view, signature.seqno);
    let leaf = p.history.tree().leaf(tx.seqno).unwrap();
    let entry =
        encode_snapshot(&p.store.snapshot_view(), tx, &p.secret, &leaf, &view_history_from_starts(&[(VIEW, 1)]));
    let store_at_snapshot = p.store.clone();
    let digest = sha256(&entry);
    let (evidence_tx, evidence_digest) = p.write(&snapshot_evidence_write_set(&digest, tx.seqno), digest);
    p.write(&WriteSet::new(), Sha256::ZERO);
    let later = p.sign();
    let receipt = Receipt::build(
        p.history.tree(),
        evidence_tx,
        evidence_digest,
        p.secret.commit_evidence(evidence_tx),
        digest,
        &later,
        p.node_cert.pem(),
    );
    let evidence = p.store.get(tables::SNAPSHOT_EVIDENCE, &tables::SINGLETON_KEY).unwrap();
    assert_eq!(
        serde_json::from_slice::<SnapshotEvidence>(evidence).unwrap(),
        SnapshotEvidence { hash: digest, version: tx.seqno }
    );
    let mut file = entry;
    file.extend_from_slice(&serde_json::to_vec(&receipt).unwrap());
    let name = SnapshotName::new(tx.seqno, evidence_tx.seqno).committed();
    Committed { name, file, store_at_snapshot, service_cert }
}

#[test]
fn a_committed_snapshot_verifies_by_itself_and_decodes_to_the_store_at_its_seqno() {
    let c = committed_snapshot();
    let verified = verify_committed_snapshot(&c.name, &c.file, &c.service_cert).unwrap();
    assert_eq!(verified.evidence_tx, TxId::new(VIEW, c.name.evidence_seqno));
    let decoded = decode_snapshot(verified.entry(&c.file), &secret()).unwrap();
    assert_eq!(decoded.tx, TxId::new(VIEW, c.name.seqno));
    assert_eq!(decoded.view_history, vec![1, 1]);
    assert_eq!(decoded.into_store(), c.store_at_snapshot);
}

#[test]
fn a_tampered_committed_snapshot_fails_the_check_that_names_it() {
    let c = committed_snapshot();
    let entry_len = snapshot_entry_len(&c.file).unwrap();
    let other_service = ServiceIdentity::create(NOT_BEFORE, 30).unwrap().cert;
    type Case = (&'static str, SnapshotName, Vec<u8>, Certificate, fn(&SnapshotError) -> bool);
    let flip = |at: usize| {
        let mut f = c.file.clone();
        f[at] ^= 1;
        f
    };
    let name = c.name;
    let cert = c.service_cert.clone();
    let table: Vec<Case> = vec![
        ("entry byte flipped", name, flip(entry_len - 1), cert.clone(), |e| {
            matches!(e, SnapshotError::DigestMismatch { .. })
        }),
        ("uncommitted name", name.uncommitted(), c.file.clone(), cert.clone(), |e| {
            matches!(e, SnapshotError::NotCommitted { .. })
        }),
        (
            "name with another evidence seqno",
            SnapshotName::new(name.seqno, name.evidence_seqno + 1).committed(),
            c.file.clone(),
            cert.clone(),
            |e| matches!(e, SnapshotError::EvidenceMismatch { .. }),
        ),
        (
            "name with another snapshot seqno",
            SnapshotName::new(name.seqno - 1, name.evidence_seqno).committed(),
            c.file.clone(),
            cert.clone(),
            |e| matches!(e, SnapshotError::SeqnoMismatch { .. }),
        ),
        ("receipt missing", name, c.file[..entry_len].to_vec(), cert.clone(), |e| {
            matches!(e, SnapshotError::NoReceipt { .. })
        }),
        ("receipt cut short", name, c.file[..c.file.len() - 2].to_vec(), cert.clone(), |e| {
            matches!(e, SnapshotError::ReceiptJson { .. })
        }),
        ("another service identity", name, c.file.clone(), other_service, |e| {
            matches!(e, SnapshotError::Receipt { source: ReceiptError::NotEndorsed(_), .. })
        }),
    ];
    for (scenario, name, file, cert, expected) in table {
        let err = verify_committed_snapshot(&name, &file, &cert).expect_err(scenario);
        assert!(expected(&err), "{scenario}: {err:?}");
        assert!(err.to_string().contains("snapshot"), "{scenario}: {err}");
    }
}
