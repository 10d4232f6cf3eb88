//! The private half of a disaster recovery (SPEC §7 step 4), pure: once the members' shares
//! restore the previous service's ledger secrets, every node decrypts the private domains of the
//! previous service's entries and folds them into the state their public halves already built.
//!
//! - [`historical_secret_records`]: every value the historical-secret table took in those
//!   entries (what `cairn_gov::recover_secret_chain` walks back along).
//! - [`recover_private_state`]: entries `first..` in order, each checked (framing, seqno, the
//!   commit evidence against the restored secret, AES-GCM) and decrypted; the result is the
//!   final value of every private key, as one write set. Any failure names the seqno.
//! - [`overlay`]: a write set on top of another, key by key (the recovered private state under
//!   the write set of the transaction that opens the service).
//!
//! Invariant: the result holds only private tables, and only present keys (the previous
//! service's removals have nothing to remove in a state that never held its private keys).
use crate::ReplayError;
use cairn_kv::{WriteSet, is_public_table};
use cairn_ledger::format::EntryView;
use cairn_ledger::tables::RECOVERED_LEDGER_SECRETS;
use cairn_ledger::tables::{HISTORICAL_ENCRYPTED_LEDGER_SECRET, SINGLETON_KEY};
use cairn_ledger::{LedgerSecret, LedgerSecrets};
use std::collections::BTreeMap;

/// What [`recover_private_state`] rebuilt.
#[derive(Debug, Default)]
pub struct RecoveredPrivateState {
    /// Final value of every private key the entries left present.
    pub write_set: WriteSet,
    pub entries: u64,
    /// Bytes of the entries read.
    pub bytes: u64,
}

/// Every value of `public:ccf.internal.historical_encrypted_ledger_secret` in `entries`, in
/// order. Entries that do not parse are skipped (their replay already checked them).
pub fn historical_secret_records<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<cairn_gov::HistoricalSecretRecord>, ReplayError> {
    let mut records = Vec::new();
    for bytes in entries {
        let Ok(entry) = EntryView::parse(bytes) else { continue };
        if !entry.public_has_table(HISTORICAL_ENCRYPTED_LEDGER_SECRET).unwrap_or(false) {
            continue;
        }
        let Ok((_, public)) = entry.decode_public() else { continue };
        if let Some(Some(value)) = public.get(HISTORICAL_ENCRYPTED_LEDGER_SECRET, &SINGLETON_KEY) {
            let seqno = entry.tx_id().seqno;
            let record = cairn_gov::HistoricalSecretRecord::parse(value)
                .map_err(|e| ReplayError::Entry { seqno, reason: e.to_string() })?;
            records.push(record);
        }
    }
    Ok(records)
}

/// Decrypts the private domain of `entries` (seqnos `first`, `first + 1`, ...) with `secrets`,
/// on top of `base`: the private state at `first - 1` (a recovery snapshot's, or nothing when
/// `first` is 1). The entries' removals remove `base`'s keys.
pub fn recover_private_state<'a>(
    base: WriteSet,
    entries: impl IntoIterator<Item = &'a [u8]>,
    first: u64,
    secrets: &LedgerSecrets,
) -> Result<RecoveredPrivateState, ReplayError> {
    let mut tables: BTreeMap<String, BTreeMap<Vec<u8>, Option<Vec<u8>>>> = BTreeMap::new();
    for (table, map) in base.maps {
        assert!(!is_public_table(&table), "a private base holds only private tables");
        tables.entry(table).or_default().extend(map.writes);
    }
    let mut out = RecoveredPrivateState::default();
    for (i, bytes) in entries.into_iter().enumerate() {
        let expected = first + i as u64;
        let err = |reason: String| ReplayError::Entry { seqno: expected, reason };
        let entry = EntryView::parse(bytes).map_err(|e| err(e.to_string()))?;
        let tx = entry.tx_id();
        if tx.seqno != expected {
            return Err(ReplayError::OutOfOrder { seqno: tx.seqno, expected });
        }
        let secret = secrets.secret_for(tx.seqno).ok_or(ReplayError::NoSecret { seqno: tx.seqno })?;
        let header = entry.public_header().map_err(|e| err(e.to_string()))?;
        if header.commit_evidence_digest != secret.commit_evidence_digest(tx) {
            return Err(err("commit evidence digest does not match the restored ledger secret".into()));
        }
        let private = entry.decrypt_private(secret.key()).map_err(|e| err(e.to_string()))?;
        for (table, map) in private.maps {
            assert!(!is_public_table(&table), "a private domain holds only private tables");
            tables.entry(table).or_default().extend(map.writes);
        }
        out.entries += 1;
        out.bytes += bytes.len() as u64;
    }
    for (table, mut rows) in tables {
        rows.retain(|_, value| value.is_some());
        if !rows.is_empty() {
            out.write_set.maps.insert(table, cairn_kv::MapWrites { read_version: 0, writes: rows });
        }
    }
    Ok(out)
}

/// The node's secrets with the previous service's in front: `recovered_json` is the value of
/// `cairn.internal.recovered_ledger_secrets` (a `LedgerSecretChain`), `current` the secrets of
/// the recovered service (all valid after the previous service's entries). They must cover
/// every seqno from 1, or from `base` when the node's ledger starts after a snapshot at `base`.
pub fn with_recovered_secrets(
    recovered_json: &[u8],
    current: &LedgerSecrets,
    base: u64,
) -> Result<LedgerSecrets, String> {
    let chain: cairn_gov::LedgerSecretChain =
        serde_json::from_slice(recovered_json).map_err(|e| format!("{RECOVERED_LEDGER_SECRETS}: {e}"))?;
    let first_current = current.entries().first().map_or(u64::MAX, |(from, _)| *from);
    let mut merged = LedgerSecrets::default();
    for s in chain.iter().filter(|s| s.valid_from_seqno < first_current) {
        merged.push(s.valid_from_seqno, std::sync::Arc::new(LedgerSecret::new(s.secret)))?;
    }
    for (from, secret) in current.iter() {
        merged.push(from, secret.clone())?;
    }
    let needed = base.max(1);
    if merged.entries().first().is_none_or(|(from, _)| *from > needed) {
        return Err(format!("{RECOVERED_LEDGER_SECRETS}: the restored secrets do not reach back to seqno {needed}"));
    }
    Ok(merged)
}

/// The private state the previous service's entries after `base` are replayed onto: nothing
/// for a whole log (`base` 0); for a log that starts after a snapshot, that snapshot's private
/// domain, which must be the previous service's at exactly `base` (`snapshot`, kept encrypted
/// since the public phase), decrypted with the restored `secrets`.
pub fn private_base(
    snapshot: Option<&crate::RecoverySnapshot>,
    base: u64,
    secrets: &LedgerSecrets,
) -> Result<WriteSet, ReplayError> {
    match snapshot {
        _ if base == 0 => Ok(WriteSet::new()),
        Some(s) if s.seqno == base => s.private_state(secrets),
        _ => Err(ReplayError::Snapshot {
            seqno: base,
            reason: "the log starts after this seqno, and the snapshot it starts after is not one of the previous \
                     service's this node holds: the previous private state cannot be restored"
                .into(),
        }),
    }
}

/// `top` applied over `base`, key by key (a key both write takes `top`'s write).
pub fn overlay(base: WriteSet, top: &WriteSet) -> WriteSet {
    let mut out = base;
    for (table, map) in &top.maps {
        let target = out.maps.entry(table.clone()).or_default();
        target.read_version = map.read_version;
        for (key, value) in &map.writes {
            target.writes.insert(key.clone(), value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_crypto::Sha256;
    use cairn_ledger::format::{EntryFlags, TxId};
    use cairn_ledger::{History, LedgerSecret, NodeSigner};
    use std::sync::Arc;

    fn signer() -> Arc<NodeSigner> {
        let key = cairn_crypto::SigningKey::generate().unwrap();
        Arc::new(NodeSigner::new(key, String::new()))
    }

    /// Entries 1..=3 under `secret`: a private put, a private put + removal, a public write.
    fn entries(secret: [u8; 32]) -> Vec<Vec<u8>> {
        let mut history = History::resume(
            Arc::new(LedgerSecret::new(secret)),
            signer(),
            TxId::default(),
            cairn_ledger::merkle::MerkleTree::new(),
        );
        let mut a = WriteSet::new();
        a.put("records", b"1".to_vec(), b"one".to_vec());
        a.put("records", b"2".to_vec(), b"two".to_vec());
        let mut b = WriteSet::new();
        b.put("records", b"1".to_vec(), b"uno".to_vec());
        b.remove("records", b"2".to_vec());
        b.put("public:records", b"3".to_vec(), b"three".to_vec());
        let mut c = WriteSet::new();
        c.put("public:records", b"4".to_vec(), b"four".to_vec());
        [a, b, c]
            .iter()
            .map(|ws| history.append_tx_with_claims(2, ws, EntryFlags::default(), Sha256::ZERO).bytes)
            .collect()
    }

    #[test]
    fn the_final_private_values_are_recovered_and_a_wrong_secret_names_the_seqno() {
        let bytes = entries([5; 32]);
        let secrets = LedgerSecrets::single(LedgerSecret::new([5; 32]));
        let got = recover_private_state(WriteSet::new(), bytes.iter().map(Vec::as_slice), 1, &secrets).unwrap();
        let mut want = WriteSet::new();
        want.put("records", b"1".to_vec(), b"uno".to_vec());
        assert_eq!(got.write_set, want);
        assert_eq!(got.entries, 3);

        let wrong = LedgerSecrets::single(LedgerSecret::new([6; 32]));
        let err = recover_private_state(WriteSet::new(), bytes.iter().map(Vec::as_slice), 1, &wrong).unwrap_err();
        assert_eq!(
            err,
            ReplayError::Entry {
                seqno: 1,
                reason: "commit evidence digest does not match the restored ledger secret".into()
            }
        );
        let err =
            recover_private_state(WriteSet::new(), bytes[1..].iter().map(Vec::as_slice), 1, &secrets).unwrap_err();
        assert_eq!(err, ReplayError::OutOfOrder { seqno: 2, expected: 1 });
    }

    #[test]
    fn a_base_state_is_kept_unless_the_entries_remove_or_overwrite_it() {
        let bytes = entries([5; 32]);
        let secrets = LedgerSecrets::single(LedgerSecret::new([5; 32]));
        let mut base = WriteSet::new();
        base.put("records", b"2".to_vec(), b"old two".to_vec());
        base.put("records", b"7".to_vec(), b"seven".to_vec());
        base.put("other", b"x".to_vec(), b"kept".to_vec());
        let got = recover_private_state(base, bytes.iter().map(Vec::as_slice), 1, &secrets).unwrap();
        let mut want = WriteSet::new();
        want.put("other", b"x".to_vec(), b"kept".to_vec());
        want.put("records", b"1".to_vec(), b"uno".to_vec());
        want.put("records", b"7".to_vec(), b"seven".to_vec());
        assert_eq!(got.write_set, want, "entry 2 removed the base's key 2");
    }

    #[test]
    fn overlay_takes_the_top_write_per_key() {
        let mut base = WriteSet::new();
        base.put("t", b"a".to_vec(), b"base".to_vec());
        base.put("t", b"b".to_vec(), b"base".to_vec());
        let mut top = WriteSet::new();
        top.put("t", b"b".to_vec(), b"top".to_vec());
        top.remove("u", b"c".to_vec());
        let got = overlay(base, &top);
        assert_eq!(got.get("t", b"a"), Some(&Some(b"base".to_vec())));
        assert_eq!(got.get("t", b"b"), Some(&Some(b"top".to_vec())));
        assert_eq!(got.get("u", b"c"), Some(&None));
    }
}
