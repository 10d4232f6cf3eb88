//! A generated ledger verifies at every level; each kind of damage is caught at its level.
use cairn_ledger::generator::{GenerateOptions, generate_ledger};
use cairn_ledger::storage::{MemStorage, Storage};
use cairn_ledger::verify::{VerifyLevel, VerifyOptions, verify_ledger};
use cairn_ledger::{LedgerSecret, LedgerSecrets};

fn generated(opts: &GenerateOptions) -> (MemStorage, [u8; 32], u64) {
    let (g, storage) = generate_ledger(MemStorage::new(), opts, |_, _, _, _| {}).unwrap();
    (storage, g.ledger_secret, g.last_signature.seqno)
}

fn verify(storage: &MemStorage, level: VerifyLevel, secret: Option<[u8; 32]>) -> cairn_ledger::verify::VerifyOutcome {
    let opts = VerifyOptions {
        level,
        ledger_secrets: secret.map(|s| LedgerSecrets::single(LedgerSecret::new(s))).unwrap_or_default(),
        threads: 2,
        ..Default::default()
    };
    verify_ledger(&[storage as &dyn Storage], &opts, &mut |_| {})
}

fn small() -> GenerateOptions {
    GenerateOptions {
        transactions: 300,
        value_size_bytes: 64,
        signature_interval: 20,
        chunk_size_bytes: 4000,
        ..Default::default()
    }
}

#[test]
fn generated_ledger_verifies_at_every_level() {
    let (storage, secret, last_sig) = generated(&small());
    let chunks: Vec<String> = storage.list().unwrap().into_iter().filter(|n| n.starts_with("ledger_")).collect();
    assert!(chunks.len() > 3, "several chunks expected, got {chunks:?}");
    assert!(chunks.iter().all(|c| c.ends_with(".committed")), "{chunks:?}");
    for level in VerifyLevel::ALL {
        let out = verify(&storage, level, Some(secret));
        assert_eq!(out.failure, None, "level {level:?}");
        // 4 service transactions, a signature every 20, and the final chunk-closing signature.
        assert_eq!(out.report.entries, 300 + 4 + 300 / 20 + 1);
        if level >= VerifyLevel::Merkle {
            assert_eq!(out.report.last_signed.unwrap().seqno, last_sig);
            assert_eq!(out.report.unsigned_tail, 0);
        }
    }
    let out = verify(&storage, VerifyLevel::Private, Some(secret));
    assert_eq!(out.report.private_domains_decrypted, out.report.entries);
}

#[test]
fn wrong_ledger_secret_fails_private_level_only() {
    let (storage, _, _) = generated(&small());
    assert_eq!(verify(&storage, VerifyLevel::Signatures, Some([9; 32])).failure, None);
    let failure = verify(&storage, VerifyLevel::Private, Some([9; 32])).failure.unwrap();
    assert_eq!(failure.level, VerifyLevel::Private);
    assert_eq!(failure.seqno, Some(1));
}

#[test]
fn open_last_chunk_is_verified_and_reported() {
    let opts = GenerateOptions { leave_open: true, transactions: 310, chunk_size_bytes: 1_000_000, ..small() };
    let (storage, secret, last_sig) = generated(&opts);
    assert!(
        storage
            .list()
            .unwrap()
            .iter()
            .any(|n| cairn_ledger::chunk::ChunkName::parse(n).is_some_and(|c| !c.is_complete()))
    );
    let out = verify(&storage, VerifyLevel::Private, Some(secret));
    assert_eq!(out.failure, None);
    assert_eq!(out.report.last_signed.unwrap().seqno, last_sig);
}
