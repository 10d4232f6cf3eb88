//! `ledger.read_only_directories` and `.recovery` chunks, as the writer sees them.
use cairn_ledger::chunk::ChunkName;
use cairn_ledger::generator::{GenerateOptions, generate_ledger};
use cairn_ledger::storage::{MemStorage, Storage};
use cairn_ledger::verify::{VerifyLevel, VerifyOptions, verify_ledger};
use cairn_ledger::{LedgerConfig, LedgerWriter};

fn generated() -> MemStorage {
    let opts = GenerateOptions {
        transactions: 200,
        signature_interval: 10,
        chunk_size_bytes: 3000,
        leave_open: true,
        ..Default::default()
    };
    generate_ledger(MemStorage::new(), &opts, |_, _, _, _| {}).unwrap().1
}

#[test]
fn committed_chunks_moved_to_a_read_only_directory_are_read_from_there() {
    let original = generated();
    let mut main = original.clone();
    let mut archive = MemStorage::new();
    let committed: Vec<String> = main.list().unwrap().into_iter().filter(|n| n.ends_with(".committed")).collect();
    let moved = &committed[..committed.len() / 2];
    for name in moved {
        archive.create(name).unwrap();
        archive.append(name, &main.read_all(name).unwrap()).unwrap();
        main.rename(name, &format!("{name}.moved-away")).unwrap();
    }
    // Without the read-only directory the ledger has no beginning; with it, it is whole.
    let (w, _) =
        LedgerWriter::open_with_read_only(main, vec![Box::new(archive.clone())], LedgerConfig::default()).unwrap();
    let (plain, _) = LedgerWriter::open(original.clone(), LedgerConfig::default()).unwrap();
    assert_eq!(w.last(), plain.last());
    for seqno in 1..=plain.last().seqno {
        assert_eq!(w.read_entry(seqno).unwrap(), plain.read_entry(seqno).unwrap(), "seqno {seqno}");
    }
    let main = w.into_storage();
    let out = verify_ledger(
        &[&main as &dyn Storage, &archive],
        &VerifyOptions { level: VerifyLevel::Signatures, ..Default::default() },
        &mut |_| {},
    );
    assert_eq!(out.failure, None);
}

#[test]
fn recovery_chunks_carry_their_suffix_until_the_service_opens() {
    // Entries to replay: a ledger generated elsewhere, read back through a writer.
    let opts =
        GenerateOptions { transactions: 300, signature_interval: 10, chunk_size_bytes: 3000, ..Default::default() };
    let donor = generate_ledger(MemStorage::new(), &opts, |_, _, _, _| {}).unwrap().1;
    let (donor, _) = LedgerWriter::open(donor, LedgerConfig::default()).unwrap();
    let mut fresh = MemStorage::new();
    fresh.create("marker").unwrap();
    let (mut w2, _) = LedgerWriter::open(fresh, LedgerConfig { recovery: true, ..LedgerConfig::default() }).unwrap();
    for seqno in 1..=24 {
        let bytes = donor.read_entry(seqno).unwrap().unwrap();
        let view = cairn_ledger::format::EntryView::parse(&bytes).unwrap();
        w2.append(&cairn_ledger::format::EncodedEntry {
            bytes: bytes.clone(),
            tx_id: view.tx_id(),
            flags: view.header.flags,
        })
        .unwrap();
    }
    w2.sync().unwrap();
    let names: Vec<ChunkName> = w2.chunk_files().iter().map(|n| ChunkName::parse(n).unwrap()).collect();
    assert!(names.iter().all(|n| n.recovery), "{names:?}");
    // A restart in recovery mode reads them; a normal scan would not.
    let storage = w2.into_storage();
    let (mut w3, _) =
        LedgerWriter::open(storage.clone(), LedgerConfig { recovery: true, ..LedgerConfig::default() }).unwrap();
    assert_eq!(w3.last().seqno, 24);
    let (normal, found) = LedgerWriter::open(storage, LedgerConfig::default()).unwrap();
    assert_eq!(normal.last().seqno, 0);
    assert!(found.not_read.iter().any(|(n, _)| n.ends_with(".recovery")));
    w3.end_recovery().unwrap();
    assert!(w3.chunk_files().iter().all(|n| !n.contains(".recovery")), "{:?}", w3.chunk_files());
    let storage = w3.into_storage();
    assert!(storage.list().unwrap().iter().all(|n| !n.ends_with(".recovery")));
}
