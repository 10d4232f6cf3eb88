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

/// Every entry `chunk_entries(from)` yields, flattened, with its seqno.
fn chunked<S: Storage>(w: &LedgerWriter<S>, from: u64) -> Vec<Vec<u8>> {
    w.chunk_entries(from).flat_map(|chunk| chunk.unwrap()).map(|b| b.to_vec()).collect()
}

#[test]
fn chunk_entries_yield_what_read_entry_does_from_any_seqno() {
    // Committed chunks (two of them in a read-only directory), complete uncommitted ones, the
    // open chunk, and entries still pending in memory: a generated ledger appended again to a
    // fresh writer, synced and committed part of the way.
    let (donor, _) = LedgerWriter::open(generated(), LedgerConfig::default()).unwrap();
    let donor_last = donor.last().seqno;
    let (mut w, _) = LedgerWriter::open(MemStorage::new(), LedgerConfig::default()).unwrap();
    for seqno in 1..=donor_last {
        let bytes = donor.read_entry(seqno).unwrap().unwrap();
        let (tx_id, flags) = {
            let view = cairn_ledger::format::EntryView::parse(&bytes).unwrap();
            (view.tx_id(), view.header.flags)
        };
        w.append(&cairn_ledger::format::EncodedEntry { bytes, tx_id, flags }).unwrap();
        if seqno == donor_last * 3 / 4 {
            w.sync().unwrap();
        }
        if seqno == donor_last / 2 {
            w.sync().unwrap();
            w.commit(seqno).unwrap();
        }
    }
    let mut main = w.into_storage();
    let committed: Vec<String> = main.list().unwrap().into_iter().filter(|n| n.ends_with(".committed")).collect();
    assert!(committed.len() >= 4, "{committed:?}");
    assert!(
        main.list().unwrap().iter().any(|n| !n.ends_with(".committed") && n.contains('-')),
        "an uncommitted complete chunk"
    );
    let mut archive = MemStorage::new();
    for name in &committed[..2] {
        archive.create(name).unwrap();
        archive.append(name, &main.read_all(name).unwrap()).unwrap();
        main.rename(name, &format!("{name}.moved-away")).unwrap();
    }
    let (mut w, _) = LedgerWriter::open_with_read_only(main, vec![Box::new(archive)], LedgerConfig::default()).unwrap();
    // The open chunk's last entries again, after a cut: pending in memory until a sync.
    let last = w.last().seqno;
    let tail: Vec<Vec<u8>> = (last - 2..=last).map(|s| w.read_entry(s).unwrap().unwrap()).collect();
    w.truncate(last - 3).unwrap();
    for bytes in tail {
        let (tx_id, flags) = {
            let view = cairn_ledger::format::EntryView::parse(&bytes).unwrap();
            (view.tx_id(), view.header.flags)
        };
        w.append(&cairn_ledger::format::EncodedEntry { bytes, tx_id, flags }).unwrap();
    }
    let last = w.last().seqno;
    for from in [0, 1, 2, 17, last / 2, last - 1, last, last + 1] {
        let want: Vec<Vec<u8>> = (from.max(1)..=last).map(|s| w.read_entry(s).unwrap().unwrap()).collect();
        assert_eq!(chunked(&w, from), want, "from {from}");
    }
    // Each item is one chunk: as many items as chunk files.
    assert_eq!(w.chunk_entries(1).count(), w.chunk_files().len());
}
