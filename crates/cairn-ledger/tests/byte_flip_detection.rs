//! Flipping any single byte of any committed chunk is reported by `verify --level private`,
//! naming the damaged file and an offset.
use cairn_ledger::generator::{GenerateOptions, generate_ledger};
use cairn_ledger::storage::{MemStorage, Storage};
use cairn_ledger::verify::{VerifyLevel, VerifyOptions, verify_ledger};
use cairn_ledger::{LedgerSecret, LedgerSecrets};
use proptest::prelude::*;
use std::sync::OnceLock;

/// A clean ledger, its secret, and its committed chunks with their sizes.
type Fixture = (MemStorage, [u8; 32], Vec<(String, u64)>);

fn ledger() -> &'static Fixture {
    static LEDGER: OnceLock<Fixture> = OnceLock::new();
    LEDGER.get_or_init(|| {
        let opts = GenerateOptions {
            transactions: 120,
            value_size_bytes: 40,
            signature_interval: 10,
            chunk_size_bytes: 3000,
            ..Default::default()
        };
        let (g, storage) = generate_ledger(MemStorage::new(), &opts, |_, _, _, _| {}).unwrap();
        let chunks: Vec<(String, u64)> = storage
            .list()
            .unwrap()
            .into_iter()
            .filter(|n| n.ends_with(".committed"))
            .map(|n| (n.clone(), storage.size(&n).unwrap()))
            .collect();
        assert!(chunks.len() >= 4, "{chunks:?}");
        (storage, g.ledger_secret, chunks)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn any_single_byte_flip_in_a_committed_chunk_is_reported_with_file_and_offset(
        chunk_pick in any::<prop::sample::Index>(),
        position in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let (clean, secret, chunks) = ledger();
        let (file, size) = &chunks[chunk_pick.index(chunks.len())];
        let offset = position.index(*size as usize) as u64;
        let mut storage = clean.clone();
        let mut byte = [0u8; 1];
        storage.read_at(file, offset, &mut byte).unwrap();
        storage.write_at(file, offset, &[byte[0] ^ mask]).unwrap();

        let opts = VerifyOptions { level: VerifyLevel::Private, ledger_secrets: LedgerSecrets::single(LedgerSecret::new(*secret)), threads: 1, ..Default::default() };
        let outcome = verify_ledger(&[&storage as &dyn Storage], &opts, &mut |_| {});
        let failure = outcome.failure.unwrap_or_else(|| panic!("flip of byte {offset} of {file} (mask {mask:#04x}) went unnoticed"));
        prop_assert_eq!(failure.file.as_deref(), Some(file.as_str()), "{}", failure);
        prop_assert!(failure.offset.is_some(), "{}", failure);
    }
}

#[test]
fn clean_ledger_passes_so_the_flip_test_can_fail() {
    let (clean, secret, _) = ledger();
    let opts = VerifyOptions {
        level: VerifyLevel::Private,
        ledger_secrets: LedgerSecrets::single(LedgerSecret::new(*secret)),
        ..Default::default()
    };
    assert_eq!(verify_ledger(&[clean as &dyn Storage], &opts, &mut |_| {}).failure, None);
}
