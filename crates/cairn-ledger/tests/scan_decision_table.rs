//! The local-restart decision table of `scan.rs`, one test per row, plus a seeded
//! crash-consistency loop and a check that no scan ever deletes a file.
//!
//! Every ledger here is a prefix of one generated ledger ([`generated`]), written through
//! `LedgerWriter` the way the running node wrote it ([`ledger_upto`]). So after a repair a test
//! can append the rest of the generated entries and expect chunk files byte-identical to the
//! generated ones and a ledger that verifies at level `signatures`.
//!
//! Seqno layout of the generated ledger (chunk boundaries follow from the entries' flags and
//! do not depend on the random keys; byte offsets do, so tests read them from the files):
//! `ledger_1-4`, `ledger_5-26`, `ledger_27-48`, …, `ledger_159-180` (all `.committed`), then the
//! open `ledger_181` holding 181..=186. Signatures are at 2, 4, then every 11th seqno from 15.

use cairn_ledger::chunk::{ChunkError, ChunkErrorKind, ChunkName, frame_chunk};
use cairn_ledger::format::{EncodedEntry, EntryFlags, EntryView, FormatError, TxId};
use cairn_ledger::generator::{GenerateOptions, generate_ledger};
use cairn_ledger::scan::{LocalLedger, Repair, ScanError, ScannedChunk, is_signature, scan_ledger};
use cairn_ledger::storage::{InjectedError, MemStorage, Storage, StorageErrorKind, StorageOp};
use cairn_ledger::verify::{VerifyLevel, VerifyOptions, VerifyOutcome, verify_ledger};
use cairn_ledger::{LedgerConfig, LedgerWriter};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// View of every generated transaction (the generator's default).
const VIEW: u64 = 2;
/// The open chunk of [`base_ledger`] starts here…
const OPEN_START: u64 = 137;
/// …and ends at this signature.
const BASE_LAST: u64 = 147;
/// The last complete chunk before [`OPEN_START`] and its name.
const LAST_COMPLETE: &str = "ledger_115-136.committed";

/// The generated ledger and its entries in seqno order (`entries[0]` is seqno 1).
struct Generated {
    storage: MemStorage,
    entries: Vec<EncodedEntry>,
}

fn generated() -> &'static Generated {
    static GENERATED: OnceLock<Generated> = OnceLock::new();
    GENERATED.get_or_init(|| {
        let opts = GenerateOptions {
            transactions: 165,
            value_size_bytes: 40,
            signature_interval: 10,
            chunk_size_bytes: 3000,
            leave_open: true,
            ..Default::default()
        };
        let (g, storage) = generate_ledger(MemStorage::new(), &opts, |_, _, _, _| {}).unwrap();
        let (reader, _) = LedgerWriter::open(storage.clone(), config()).unwrap();
        let entries: Vec<EncodedEntry> = (1..=g.last.seqno)
            .map(|seqno| {
                let bytes = reader.read_entry(seqno).unwrap().unwrap();
                let view = EntryView::parse(&bytes).unwrap();
                EncodedEntry { tx_id: view.tx_id(), flags: view.header.flags, bytes }
            })
            .collect();
        assert_eq!(g.last, TxId::new(VIEW, 186), "the layout in the module docs changed");
        assert_eq!(chunk_names(&storage).last().map(String::as_str), Some("ledger_181"));
        Generated { storage, entries }
    })
}

fn config() -> LedgerConfig {
    LedgerConfig { chunk_size_bytes: 3000, ..Default::default() }
}

fn entry(seqno: u64) -> &'static EncodedEntry {
    &generated().entries[(seqno - 1) as usize]
}

fn last_seqno() -> u64 {
    generated().entries.len() as u64
}

fn is_sig(seqno: u64) -> bool {
    is_signature(&entry(seqno).bytes)
}

/// The last signature at or before `seqno` (0 if none).
fn signature_at_or_before(seqno: u64) -> u64 {
    (1..=seqno.min(last_seqno())).rev().find(|s| is_sig(*s)).unwrap_or(0)
}

/// Appends generated entries up to `to` as the generator does: sync and commit at each signature.
fn append_durably(w: &mut LedgerWriter<MemStorage>, to: u64) {
    for seqno in w.last().seqno + 1..=to {
        w.append(entry(seqno)).unwrap();
        if is_sig(seqno) {
            w.sync().unwrap();
            w.commit(seqno).unwrap();
        }
    }
    w.sync().unwrap();
}

/// The directory a node leaves after writing and committing the generated entries `1..=seqno`.
fn ledger_upto(seqno: u64) -> MemStorage {
    let (mut w, _) = LedgerWriter::open(MemStorage::new(), config()).unwrap();
    append_durably(&mut w, seqno);
    w.into_storage()
}

/// Complete chunks up to `ledger_115-136.committed`, then the open `ledger_137` holding
/// 137..=147, which ends at a signature.
fn base_ledger() -> MemStorage {
    static BASE: OnceLock<MemStorage> = OnceLock::new();
    BASE.get_or_init(|| ledger_upto(BASE_LAST)).clone()
}

fn files(s: &MemStorage) -> BTreeMap<String, Vec<u8>> {
    s.list().unwrap().into_iter().map(|n| (n.clone(), s.read_all(&n).unwrap())).collect()
}

fn chunk_names(s: &MemStorage) -> Vec<String> {
    let mut chunks: Vec<(ChunkName, String)> =
        s.list().unwrap().into_iter().filter_map(|n| ChunkName::parse(&n).map(|c| (c, n))).collect();
    chunks.sort_by_key(|(c, _)| c.start);
    chunks.into_iter().map(|(_, n)| n).collect()
}

/// Chunk files the node reads (recovery chunks excluded), with their bytes.
fn ledger_chunks(s: &MemStorage) -> BTreeMap<String, Vec<u8>> {
    files(s).into_iter().filter(|(n, _)| ChunkName::parse(n).is_some_and(|c| !c.recovery)).collect()
}

/// Offsets of the whole entries of chunk `file`.
fn entry_offsets(s: &MemStorage, file: &str) -> Vec<u64> {
    let bytes = s.read_all(file).unwrap();
    frame_chunk(file, &ChunkName::parse(file).unwrap(), &bytes, true).unwrap().positions
}

/// Offset of entry `seqno` in chunk `file`.
fn offset_of(s: &MemStorage, file: &str, seqno: u64) -> u64 {
    entry_offsets(s, file)[(seqno - ChunkName::parse(file).unwrap().start) as usize]
}

/// Positions-table offset of complete chunk `file`.
fn table_offset(s: &MemStorage, file: &str) -> u64 {
    let mut header = [0u8; 8];
    s.read_at(file, 0, &mut header).unwrap();
    u64::from_le_bytes(header)
}

/// XORs `mask` into the byte at `offset` of `file`.
fn flip(s: &mut MemStorage, file: &str, offset: u64, mask: u8) {
    let mut byte = [0u8; 1];
    s.read_at(file, offset, &mut byte).unwrap();
    s.write_at(file, offset, &[byte[0] ^ mask]).unwrap();
}

fn add_file(s: &mut MemStorage, name: &str, content: &[u8]) {
    s.create(name).unwrap();
    s.append(name, content).unwrap();
    s.sync(name).unwrap();
    s.sync_dir().unwrap();
}

/// Turns complete chunk `file` back into the open chunk it was before its completion: no
/// positions table, header 0, open name. Returns the open name.
fn uncomplete(s: &mut MemStorage, file: &str) -> String {
    let table = table_offset(s, file);
    s.truncate(file, table).unwrap();
    s.write_at(file, 0, &[0; 8]).unwrap();
    let open = ChunkName::open(ChunkName::parse(file).unwrap().start).to_string();
    s.rename(file, &open).unwrap();
    open
}

fn verify(dirs: &[&MemStorage]) -> VerifyOutcome {
    let opts =
        VerifyOptions { level: VerifyLevel::Signatures, committed_only: false, threads: 2, ..Default::default() };
    let dirs: Vec<&dyn Storage> = dirs.iter().map(|s| *s as &dyn Storage).collect();
    verify_ledger(&dirs, &opts, &mut |_| {})
}

#[track_caller]
fn open(s: MemStorage) -> (LedgerWriter<MemStorage>, LocalLedger) {
    LedgerWriter::open(s, config()).unwrap_or_else(|e| panic!("the writer must resume: {e}"))
}

#[track_caller]
fn open_refused(s: MemStorage) -> ScanError {
    match LedgerWriter::open(s, config()) {
        Ok((w, _)) => panic!("the writer resumed at {} but must refuse", w.last()),
        Err(e) => e,
    }
}

/// Appends the rest of the generated ledger to the resumed writer, then checks that the chunk
/// files are exactly the generated ones and that the ledger verifies at level `signatures`.
#[track_caller]
fn resume_to_the_end(mut w: LedgerWriter<MemStorage>) {
    w.check_invariants();
    append_durably(&mut w, last_seqno());
    w.check_invariants();
    assert_eq!(w.last(), TxId::new(VIEW, last_seqno()));
    let storage = w.into_storage();
    let outcome = verify(&[&storage]);
    assert_eq!(outcome.failure, None, "the resumed ledger must verify");
    assert_eq!(outcome.report.last_signed, Some(TxId::new(VIEW, last_seqno())));
    let (got, want) = (ledger_chunks(&storage), ledger_chunks(&generated().storage));
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "chunk names after resuming");
    assert!(got == want, "chunk bytes after resuming differ from the generated ledger");
}

/// The scan of the undamaged [`base_ledger`].
fn base_scan() -> LocalLedger {
    scan_ledger(&mut base_ledger(), &[]).unwrap()
}

/// The open chunk `ledger_<start>` as the scan reports it, holding the entries at `positions`
/// and ending at `entries_end`.
fn open_chunk(start: u64, positions: Vec<u64>, entries_end: u64, last_flags: Option<EntryFlags>) -> ScannedChunk {
    ScannedChunk {
        name: ChunkName::open(start),
        file: ChunkName::open(start).to_string(),
        dir: 0,
        positions,
        entries_end,
        last_view: VIEW,
        last_entry_flags: last_flags,
    }
}

// ---------------------------------------------------------------------------------------------
// Row 1–2: nothing to repair.

#[test]
fn row_01_no_chunk_files_starts_an_empty_ledger() {
    let mut storage = MemStorage::new();
    assert_eq!(scan_ledger(&mut storage, &[]), Ok(LocalLedger::default()));
    assert_eq!(storage.list().unwrap(), Vec::<String>::new(), "the scan creates nothing");

    let (w, found) = open(storage);
    assert_eq!(found, LocalLedger::default());
    assert_eq!(w.last(), TxId::default());
    assert!(w.chunk_files().is_empty());
    resume_to_the_end(w);
}

#[test]
fn row_02_contiguous_chunks_with_whole_entries_resume_after_the_last_entry() {
    let storage = base_ledger();
    let before = files(&storage);
    let found = base_scan();
    let complete: Vec<&str> = found.chunks.iter().map(|c| c.file.as_str()).collect();
    assert_eq!(
        complete,
        [
            "ledger_1-4.committed",
            "ledger_5-26.committed",
            "ledger_27-48.committed",
            "ledger_49-70.committed",
            "ledger_71-92.committed",
            "ledger_93-114.committed",
            LAST_COMPLETE,
        ]
    );
    assert!(found.chunks.iter().all(|c| c.dir == 0 && c.last_view == VIEW && c.last_entry_flags.is_none()));
    let open_file = "ledger_137";
    let size = storage.size(open_file).unwrap();
    let flags = Some(EntryFlags::default());
    assert_eq!(found.open, Some(open_chunk(OPEN_START, entry_offsets(&storage, open_file), size, flags)));
    assert_eq!(found.last, TxId::new(VIEW, BASE_LAST));
    assert_eq!(found.repairs, []);
    assert_eq!(found.not_read, []);

    let (w, found_by_open) = open(storage);
    assert_eq!(found_by_open, found);
    assert_eq!(files(w.storage()), before, "nothing to repair: nothing changes");
    assert_eq!(w.last(), TxId::new(VIEW, BASE_LAST));
    assert_eq!((w.durable_seqno(), w.committed_seqno()), (BASE_LAST, 136));
    resume_to_the_end(w);
}

// ---------------------------------------------------------------------------------------------
// Rows 3–6: the open chunk.

/// The repair rows 3–5 report for `file` cut at `offset`.
fn torn_tail(file: &str, offset: u64, cut_bytes: u64) -> Repair {
    Repair::TruncatedTornTail { file: file.into(), offset, cut_bytes, kept_in: format!("{file}.at-{offset}.corrupted") }
}

#[test]
fn row_03_torn_last_entry_is_cut_and_kept_aside() {
    let file = "ledger_137";
    let at = offset_of(&base_ledger(), file, BASE_LAST);
    let len = entry(BASE_LAST).bytes.len() as u64;
    // Inside the entry header, exactly the header, and inside the body.
    for kept in [1, 7, 8, 9, len / 2, len - 1] {
        let mut storage = base_ledger();
        storage.truncate(file, at + kept).unwrap();

        let found = scan_ledger(&mut storage, &[]).unwrap();
        assert_eq!(found.repairs, [torn_tail(file, at, kept)], "{kept} bytes of the last entry");
        assert_eq!(
            storage.read_all(&format!("{file}.at-{at}.corrupted")).unwrap(),
            entry(BASE_LAST).bytes[..kept as usize],
            "the kept file holds exactly the cut bytes"
        );
        assert_eq!(storage.size(file).unwrap(), at, "the chunk ends at the last whole entry");
        assert_eq!(found.last, TxId::new(VIEW, BASE_LAST - 1));
        let mut positions = entry_offsets(&base_ledger(), file);
        positions.pop();
        assert_eq!(found.open, Some(open_chunk(OPEN_START, positions, at, Some(EntryFlags::default()))));

        let (w, again) = open(storage);
        assert_eq!(again.repairs, [], "the repair is done once");
        assert_eq!(w.last(), TxId::new(VIEW, BASE_LAST - 1));
        resume_to_the_end(w);
    }
}

#[test]
fn row_03_second_tear_at_the_same_offset_keeps_both_cut_copies() {
    let file = "ledger_137";
    let at = offset_of(&base_ledger(), file, BASE_LAST);
    let bytes = &entry(BASE_LAST).bytes;
    let mut storage = base_ledger();
    storage.truncate(file, at + 10).unwrap();
    scan_ledger(&mut storage, &[]).unwrap();
    // The node rewrites the entry after the repair and is torn again at the same offset.
    storage.append(file, &bytes[..20]).unwrap();

    let found = scan_ledger(&mut storage, &[]).unwrap();
    let kept_in = format!("{file}.at-{at}.1.corrupted");
    let repair = Repair::TruncatedTornTail { file: file.into(), offset: at, cut_bytes: 20, kept_in: kept_in.clone() };
    assert_eq!(found.repairs, [repair]);
    assert_eq!(storage.read_all(&format!("{file}.at-{at}.corrupted")).unwrap(), bytes[..10], "the first copy is kept");
    assert_eq!(storage.read_all(&kept_in).unwrap(), bytes[..20]);
    resume_to_the_end(open(storage).0);
}

#[test]
fn row_03_rescan_after_a_crash_during_the_repair_reuses_the_kept_copy() {
    let file = "ledger_137";
    let at = offset_of(&base_ledger(), file, BASE_LAST);
    let bytes = &entry(BASE_LAST).bytes;
    let mut storage = base_ledger();
    storage.truncate(file, at + 10).unwrap();
    // The crash came after the cut bytes were kept aside and before the truncation was durable.
    let kept_in = format!("{file}.at-{at}.corrupted");
    add_file(&mut storage, &kept_in, &bytes[..10]);
    let before = files(&storage);

    let found = scan_ledger(&mut storage, &[]).unwrap();
    assert_eq!(found.repairs, [torn_tail(file, at, 10)]);
    assert_eq!(storage.read_all(&kept_in).unwrap(), bytes[..10]);
    let names: Vec<String> = before.into_keys().collect();
    assert_eq!(storage.list().unwrap(), names, "no second copy");
    resume_to_the_end(open(storage).0);
}

#[test]
fn row_04_open_chunk_shorter_than_its_header_is_kept_aside_and_gets_a_new_header() {
    let file = "ledger_137";
    for len in 0..8 {
        // The crash came after the chunk file was created, before its header was whole.
        let mut storage = ledger_upto(OPEN_START - 1);
        add_file(&mut storage, file, &[0; 8][..len]);

        let found = scan_ledger(&mut storage, &[]).unwrap();
        assert_eq!(found.repairs, [torn_tail(file, 0, len as u64)], "{len}-byte chunk");
        assert_eq!(storage.read_all(&format!("{file}.at-0.corrupted")).unwrap(), vec![0; len]);
        assert_eq!(storage.read_all(file).unwrap(), [0; 8], "a fresh header");
        assert_eq!(found.open, Some(open_chunk(OPEN_START, vec![], 8, None)));
        assert_eq!(found.last, TxId::new(VIEW, OPEN_START - 1));
        assert_eq!(found.chunks.last().map(|c| c.file.as_str()), Some(LAST_COMPLETE));

        let (w, again) = open(storage);
        assert_eq!(again.repairs, []);
        assert_eq!(w.last(), TxId::new(VIEW, OPEN_START - 1));
        assert_eq!(w.chunk_files().last().map(String::as_str), Some(file));
        resume_to_the_end(w);
    }
}

#[test]
fn row_05_whole_length_last_entry_failing_its_checks_is_cut_like_a_torn_write() {
    let file = "ledger_137";
    let at = offset_of(&base_ledger(), file, BASE_LAST);
    let len = entry(BASE_LAST).bytes.len() as u64;
    // Entry header version, seqno in the IV, seqno in the public header.
    for (damage, mask) in [(0, 0x10), (8 + 16, 0x40), (8 + 28 + 8 + 1, 0x01)] {
        let mut storage = base_ledger();
        flip(&mut storage, file, at + damage, mask);
        let damaged_entry = storage.read_all(file).unwrap()[at as usize..].to_vec();

        let found = scan_ledger(&mut storage, &[]).unwrap();
        assert_eq!(found.repairs, [torn_tail(file, at, len)], "damage at +{damage}");
        assert_eq!(storage.read_all(&format!("{file}.at-{at}.corrupted")).unwrap(), damaged_entry);
        assert_eq!(storage.size(file).unwrap(), at);
        assert_eq!(found.last, TxId::new(VIEW, BASE_LAST - 1));

        let (w, _) = open(storage);
        assert_eq!(w.last(), TxId::new(VIEW, BASE_LAST - 1));
        resume_to_the_end(w);
    }
}

#[test]
fn row_06_bad_entry_before_the_last_in_the_open_chunk_refuses_naming_file_and_offset() {
    let file = "ledger_137";
    let seqno = BASE_LAST - 1;
    let at = offset_of(&base_ledger(), file, seqno);
    let mut storage = base_ledger();
    flip(&mut storage, file, at + 8 + 16, 0x40);
    let before = files(&storage);

    let expected = ScanError::Corrupt(ChunkError {
        file: file.into(),
        offset: at + 8 + 16,
        kind: ChunkErrorKind::SeqnoMismatch { expected: seqno, found: seqno ^ 0x40 },
    });
    assert_eq!(scan_ledger(&mut storage, &[]), Err(expected.clone()));
    assert_eq!(files(&storage), before, "a refusal changes nothing");
    assert_eq!(open_refused(storage), expected);
}

#[test]
fn row_07_damage_inside_a_complete_or_committed_chunk_refuses_naming_file_and_offset() {
    let committed = "ledger_27-48.committed";
    let s = base_ledger();
    let (mid, last, table) = (offset_of(&s, committed, 30), offset_of(&s, committed, 48), table_offset(&s, committed));

    let seqno_mismatch = |found| ChunkErrorKind::SeqnoMismatch { expected: 30, found };
    let bad_version = |kind: &ChunkErrorKind| {
        matches!(kind, ChunkErrorKind::Entry(FormatError::Invalid { offset: 0, field: "entry header version", .. }))
    };
    // (file to damage, renamed first to, offset, mask, the error's offset, check of its kind)
    type Case<'a> = (&'a str, Option<&'a str>, u64, u8, u64, Box<dyn Fn(&ChunkErrorKind) -> bool>);
    let last_complete_sig = offset_of(&s, LAST_COMPLETE, 136);
    let cases: Vec<Case> = vec![
        // An entry inside a committed chunk.
        (committed, None, mid + 24, 0x40, mid + 24, Box::new(move |k| *k == seqno_mismatch(30 ^ 0x40))),
        // Its last entry: cut as torn in an open chunk, refused here.
        (committed, None, last, 0x10, last, Box::new(bad_version)),
        // Its positions table.
        (
            committed,
            None,
            table + 4,
            0x01,
            table + 4,
            Box::new(|k| matches!(k, ChunkErrorKind::PositionMismatch { index: 1, .. })),
        ),
        // The last entry of a complete chunk not yet renamed `.committed`.
        (LAST_COMPLETE, Some("ledger_115-136"), last_complete_sig, 0x10, last_complete_sig, Box::new(bad_version)),
    ];
    for (file, renamed, offset, mask, error_offset, kind_ok) in cases {
        let mut storage = base_ledger();
        let file = match renamed {
            Some(to) => {
                storage.rename(file, to).unwrap();
                to
            }
            None => file,
        };
        flip(&mut storage, file, offset, mask);
        let before = files(&storage);
        let err = scan_ledger(&mut storage, &[]).unwrap_err();
        let ScanError::Corrupt(ChunkError { file: named, offset: named_offset, kind }) = &err else {
            panic!("{file} damaged at {offset}: expected corruption, got {err}");
        };
        assert_eq!((named.as_str(), *named_offset), (file, error_offset), "{err}");
        assert!(kind_ok(kind), "{err}");
        assert_eq!(files(&storage), before, "a refusal changes nothing");
        assert_eq!(open_refused(storage), err);
    }
}

// ---------------------------------------------------------------------------------------------
// Rows 8–8c: interrupted chunk completion.

#[test]
fn row_08_open_chunk_with_positions_table_is_renamed_to_its_complete_name() {
    // The crash came after the positions table and header were synced, before the rename.
    let mut storage = ledger_upto(OPEN_START - 1);
    let content = storage.read_all(LAST_COMPLETE).unwrap();
    storage.rename(LAST_COMPLETE, "ledger_115").unwrap();

    let found = scan_ledger(&mut storage, &[]).unwrap();
    assert_eq!(found.repairs, [Repair::FinishedCompletion { from: "ledger_115".into(), to: "ledger_115-136".into() }]);
    assert_eq!(storage.read_all("ledger_115-136").unwrap(), content, "renamed, not rewritten");
    assert!(storage.size("ledger_115").is_err());
    let last = found.chunks.last().unwrap();
    assert_eq!(
        (last.file.as_str(), last.name, last.end_seqno()),
        ("ledger_115-136", ChunkName::open(115).completed(136), 136)
    );
    assert_eq!(found.open, None);
    assert_eq!(found.last, TxId::new(VIEW, 136));

    let (w, again) = open(storage);
    assert_eq!(again.repairs, []);
    assert_eq!(w.last(), TxId::new(VIEW, 136));
    assert_eq!(w.committed_seqno(), 114, "the renamed chunk is complete but not known committed");
    resume_to_the_end(w);
}

#[test]
fn row_08b_open_chunk_ending_with_chunk_after_flag_is_completed_by_the_writer() {
    // The crash came after the chunk's closing signature was synced, before its completion.
    let mut storage = ledger_upto(OPEN_START - 1);
    let content = storage.read_all(LAST_COMPLETE).unwrap();
    let open_file = uncomplete(&mut storage, LAST_COMPLETE);
    assert_eq!(open_file, "ledger_115");
    let positions = entry_offsets(&storage, &open_file);
    let size = storage.size(&open_file).unwrap();

    let found = scan_ledger(&mut storage, &[]).unwrap();
    assert_eq!(found.repairs, [], "the scan only reports the chunk; the writer completes it");
    let closing = Some(EntryFlags(EntryFlags::FORCE_LEDGER_CHUNK_AFTER));
    assert_eq!(found.open, Some(open_chunk(115, positions, size, closing)));
    assert_eq!(found.last, TxId::new(VIEW, 136));

    let (w, _) = open(storage);
    assert_eq!(w.chunk_files().last().map(String::as_str), Some("ledger_115-136"));
    assert_eq!(w.storage().read_all("ledger_115-136").unwrap(), content, "completed exactly as it would have been");
    assert!(w.storage().size("ledger_115").is_err());
    assert_eq!(w.last(), TxId::new(VIEW, 136));
    assert_eq!(w.durable_seqno(), 136);
    resume_to_the_end(w);
}

#[test]
fn row_08c_torn_completion_header_is_kept_aside_and_the_chunk_scanned_as_open() {
    // The crash came while completing, before the fsync: the header reached the disk, the
    // positions table (or even the last entry) only in part.
    let file = "ledger_115";
    let mut complete = ledger_upto(OPEN_START - 1);
    let content = complete.read_all(LAST_COMPLETE).unwrap();
    let table = table_offset(&complete, LAST_COMPLETE);
    let last_at = offset_of(&complete, LAST_COMPLETE, 136);
    uncomplete(&mut complete, LAST_COMPLETE);
    let positions = entry_offsets(&complete, file);
    // (bytes that reached the disk, last whole entry)
    for (len, last) in [(table + 6, 136), (table, 136), (last_at + 10, 135)] {
        let mut storage = complete.clone();
        storage.append(file, &content[table as usize..]).unwrap();
        storage.write_at(file, 0, &content[..8]).unwrap();
        storage.truncate(file, len).unwrap();

        let found = scan_ledger(&mut storage, &[]).unwrap();
        let reset = Repair::ResetTornCompletion { file: file.into(), kept_in: format!("{file}.at-0.corrupted") };
        let entries_end = if last == 136 { table } else { last_at };
        let mut expected = vec![reset];
        if len > entries_end {
            expected.push(torn_tail(file, entries_end, len - entries_end));
        }
        assert_eq!(found.repairs, expected, "{len} bytes");
        assert_eq!(storage.read_all(&format!("{file}.at-0.corrupted")).unwrap(), content[..8], "the header is kept");
        if len > entries_end {
            let kept = storage.read_all(&format!("{file}.at-{entries_end}.corrupted")).unwrap();
            assert_eq!(kept, content[entries_end as usize..len as usize]);
        }
        assert_eq!(storage.read_all(file).unwrap(), [&[0; 8], &content[8..entries_end as usize]].concat());
        let flags = EntryFlags(if last == 136 { EntryFlags::FORCE_LEDGER_CHUNK_AFTER } else { 0 });
        let whole = positions[..(last - 115 + 1) as usize].to_vec();
        assert_eq!(found.open, Some(open_chunk(115, whole, entries_end, Some(flags))));
        assert_eq!(found.last, TxId::new(VIEW, last));

        let (w, _) = open(storage);
        assert_eq!(w.last(), TxId::new(VIEW, last));
        if last == 136 {
            // Row 8b then completes it again.
            assert_eq!(w.storage().read_all("ledger_115-136").unwrap(), content);
        }
        resume_to_the_end(w);
    }
}

// ---------------------------------------------------------------------------------------------
// Rows 9–12: how chunks fit together.

#[test]
fn row_09_gap_between_chunks_refuses_and_names_the_hole() {
    // (chunk gone, its neighbours, missing seqnos)
    let cases = [
        ("ledger_49-70.committed", "ledger_27-48.committed", "ledger_71-92.committed", 49, 70),
        // A hole just before the open chunk.
        ("ledger_159-180.committed", "ledger_137-158.committed", "ledger_181", 159, 180),
    ];
    for (gone, before, after, missing_from, missing_to) in cases {
        let mut storage = generated().storage.clone();
        storage.rename(gone, &format!("{gone}.lost")).unwrap();
        let snapshot = files(&storage);
        let expected = ScanError::Hole { before: before.into(), after: after.into(), missing_from, missing_to };
        assert_eq!(scan_ledger(&mut storage, &[]), Err(expected.clone()));
        assert_eq!(files(&storage), snapshot);
        assert_eq!(open_refused(storage), expected);
    }
}

#[test]
fn row_10_overlapping_chunks_that_differ_refuse_naming_both_files() {
    let main_file = "ledger_49-70.committed";
    let mut flipped = generated().storage.read_all(main_file).unwrap();
    flipped[100] ^= 1;
    // (extra file in main, extra file in a read-only directory, expected error)
    type Case<'a> = (Option<&'a str>, Option<(&'a str, &'a [u8])>, ScanError);
    let overlap = |a: &str, b: &str, from, to| ScanError::Overlap { a: a.into(), b: b.into(), from, to };
    let cases: [Case; 4] = [
        // Same start, different end.
        (Some("ledger_49-69"), None, overlap("ledger_49-69", main_file, 49, 69)),
        // Same name and range, different bytes.
        (None, Some((main_file, flipped.as_slice())), overlap(main_file, main_file, 49, 70)),
        // A chunk inside another.
        (None, Some(("ledger_50-60.committed", b"junk")), overlap(main_file, "ledger_50-60.committed", 50, 60)),
        // A chunk straddling another's end.
        (None, Some(("ledger_60-75.committed", b"junk")), overlap(main_file, "ledger_60-75.committed", 60, 70)),
    ];
    for (in_main, in_read_only, expected) in cases {
        let mut storage = generated().storage.clone();
        if let Some(name) = in_main {
            add_file(&mut storage, name, b"junk");
        }
        let mut read_only = MemStorage::new();
        if let Some((name, content)) = in_read_only {
            add_file(&mut read_only, name, content);
        }
        let snapshot = files(&storage);
        assert_eq!(scan_ledger(&mut storage, &[&read_only]), Err(expected.clone()));
        assert_eq!(files(&storage), snapshot);
        if in_main.is_some() {
            assert_eq!(open_refused(storage), expected);
        }
    }
}

#[test]
fn row_11_byte_identical_copy_in_a_read_only_directory_is_used_once() {
    let read_only = generated().storage.clone();
    // The main directory lost its two oldest chunks (archived); it still has the others.
    let mut main = MemStorage::new();
    for (name, content) in files(&generated().storage) {
        if !name.starts_with("ledger_1-") && !name.starts_with("ledger_5-") {
            add_file(&mut main, &name, &content);
        }
    }
    let found = scan_ledger(&mut main, &[&read_only]).unwrap();
    let alone = scan_ledger(&mut generated().storage.clone(), &[]).unwrap();
    let from: Vec<(&str, usize)> = found.chunks.iter().map(|c| (c.file.as_str(), c.dir)).collect();
    let expected_from: Vec<(&str, usize)> =
        alone.chunks.iter().map(|c| (c.file.as_str(), if c.name.start < 27 { 1 } else { 0 })).collect();
    assert_eq!(from, expected_from, "each chunk read once, from main when it has it");
    assert_eq!((found.open.clone(), found.last), (alone.open.clone(), alone.last));
    assert_eq!(found.repairs, []);
    let mut not_read = found.not_read.clone();
    not_read.sort();
    let mut expected_not_read: Vec<(String, &str)> = alone
        .chunks
        .iter()
        .filter(|c| c.name.start >= 27)
        .map(|c| (c.file.clone(), "byte-identical copy of a chunk already read"))
        .collect();
    expected_not_read.push(("ledger_181".into(), "read-only directories contribute only committed chunks"));
    expected_not_read.sort();
    assert_eq!(not_read, expected_not_read);
    let outcome = verify(&[&main, &read_only]);
    assert_eq!(outcome.failure, None);
}

#[test]
fn row_12_incomplete_chunk_that_is_not_last_refuses() {
    let mut storage = generated().storage.clone();
    let open_file = uncomplete(&mut storage, "ledger_49-70.committed");
    let snapshot = files(&storage);
    let expected = ScanError::IncompleteNotLast { file: open_file, next: "ledger_71-92.committed".into() };
    assert_eq!(scan_ledger(&mut storage, &[]), Err(expected.clone()));
    assert_eq!(files(&storage), snapshot);
    assert_eq!(open_refused(storage), expected);
}

// ---------------------------------------------------------------------------------------------
// Rows 13–14: files the scan does not read.

#[test]
fn row_13_recovery_ignored_corrupted_temp_and_unknown_files_are_listed_not_read() {
    let mut storage = base_ledger();
    // Junk content everywhere: reading any of these as a chunk would fail the scan.
    let recovery = "recovery chunk (read only in recovery)";
    let unknown = "not a ledger chunk";
    let strays = [
        ("ledger_148-150.recovery", recovery),
        ("ledger_137-147.committed.recovery", recovery),
        ("ledger_148.recovery", recovery),
        ("ledger_1-4.ignored", unknown),
        ("ledger_137.at-100.corrupted", unknown),
        ("ledger_137.at-100.corrupted.tmp", unknown),
        ("ledger_137.at-100.corrupted.tmp.stale", unknown),
        ("ledger_148.tmp", unknown),
        ("notes.txt", unknown),
    ];
    for (name, _) in strays {
        add_file(&mut storage, name, b"junk junk junk junk");
    }
    let before = files(&storage);

    let found = scan_ledger(&mut storage, &[]).unwrap();
    assert_eq!(files(&storage), before);
    let clean = base_scan();
    assert_eq!(
        (&found.chunks, &found.open, found.last, &found.repairs),
        (&clean.chunks, &clean.open, clean.last, &clean.repairs)
    );
    let mut expected: Vec<(String, &str)> = strays.iter().map(|(n, r)| (n.to_string(), *r)).collect();
    expected.sort();
    assert_eq!(found.not_read, expected);

    let (w, _) = open(storage);
    assert_eq!(w.last(), TxId::new(VIEW, BASE_LAST));
    resume_to_the_end(w);
}

#[test]
fn row_14_uncommitted_chunks_in_read_only_directories_are_listed_not_read() {
    let mut main = base_ledger();
    // Each would break the scan if read: a differing copy, junk, a chunk past the open one.
    let mut differing = generated().storage.read_all("ledger_27-48.committed").unwrap();
    differing[9] ^= 1;
    let mut read_only = MemStorage::new();
    let entries: [(&str, &[u8]); 4] = [
        ("ledger_27-48", &differing),
        ("ledger_137", b"junk"),
        ("ledger_159-180", b"junk"),
        ("ledger_49-70.committed.recovery", b"junk"),
    ];
    for (name, content) in entries {
        add_file(&mut read_only, name, content);
    }
    let found = scan_ledger(&mut main, &[&read_only]).unwrap();
    let clean = base_scan();
    assert_eq!(
        (&found.chunks, &found.open, found.last, &found.repairs),
        (&clean.chunks, &clean.open, clean.last, &clean.repairs)
    );
    let mut expected: Vec<(String, &str)> = entries
        .iter()
        .map(|(n, _)| (n.to_string(), "read-only directories contribute only committed chunks"))
        .collect();
    expected.sort();
    assert_eq!(found.not_read, expected);
}

// ---------------------------------------------------------------------------------------------
// Crash consistency and no deletion.

/// Resumes the ledger in `storage` and writes generated entries after its last one: durably up
/// to a random seqno, then without sync up to another, possibly stopped early by an injected
/// storage failure (inside an append, a chunk completion or a commit). Returns the storage as
/// the writer left it and the seqno the writer last claimed durable.
fn write_then_stop(storage: MemStorage, rng: &mut ChaCha8Rng, context: &str) -> (MemStorage, u64) {
    let reopen = |storage| LedgerWriter::open(storage, config()).unwrap_or_else(|e| panic!("{context}: {e}")).0;
    let mut w = reopen(storage);
    let next = w.last().seqno + 1;
    let durable_to = rng.random_range(next - 1..=last_seqno().min(next + 30));
    append_durably(&mut w, durable_to);
    // Reopening syncs what it found (a clean ledger: nothing changes); faults come after it.
    let mut w = reopen(w.into_storage());
    if rng.random_bool(0.75) {
        // Weighted towards the steps of a chunk completion.
        let ops = [
            StorageOp::Append,
            StorageOp::WriteAt,
            StorageOp::Sync,
            StorageOp::Sync,
            StorageOp::Rename,
            StorageOp::SyncDir,
            StorageOp::SyncDir,
            StorageOp::Create,
        ];
        let op = ops[rng.random_range(0..ops.len())];
        let nth = rng.random_range(1..=2);
        w.storage_mut().faults_mut().injected.push(InjectedError::once(op, nth, StorageErrorKind::Other));
    }
    let unsynced_to = rng.random_range(durable_to..=last_seqno().min(durable_to + 50));
    for seqno in durable_to + 1..=unsynced_to {
        if w.append(entry(seqno)).is_err() {
            break;
        }
    }
    // A failed write stops the node; what it handed to storage so far is what the crash sees.
    let _ = w.flush();
    let durable = w.durable_seqno();
    let mut storage = w.into_storage();
    storage.faults_mut().injected.clear();
    (storage, durable)
}

/// The seeds a seeded test runs: `SEED=<n>` replays one, `SEEDS=<n>` runs `0..n`, otherwise
/// `0..default`.
fn seeds(default: u64) -> std::ops::Range<u64> {
    let var = |name| {
        std::env::var(name).ok().map(|v| v.parse::<u64>().unwrap_or_else(|_| panic!("{name}={v} is not a number")))
    };
    match (var("SEED"), var("SEEDS")) {
        (Some(seed), _) => seed..seed + 1,
        (None, Some(n)) => 0..n,
        (None, None) => 0..default,
    }
}

#[test]
fn crash_after_unsynced_appends_reopens_verified_with_the_last_durable_signature() {
    for seed in seeds(50) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let start = signature_at_or_before(rng.random_range(4..=last_seqno() - 20));
        let mut storage = ledger_upto(start);
        let mut last_durable_signature = start;
        // Several crashes in a row: a repair must not stand in the way of the next one.
        for round in 0..3 {
            let context = format!(
                "seed {seed}, crash {round} (replay: SEED={seed} cargo test -p cairn-ledger --test scan_decision_table crash_after)"
            );
            let (written, durable) = write_then_stop(storage, &mut rng, &context);
            storage = written;
            last_durable_signature = last_durable_signature.max(signature_at_or_before(durable));
            storage.crash(&mut rng);

            let (w, found) = LedgerWriter::open(storage, config())
                .unwrap_or_else(|e| panic!("{context}: the writer must resume after a crash: {e}"));
            w.check_invariants();
            let last = w.last().seqno;
            assert!(
                last >= last_durable_signature,
                "{context}: durable signature {last_durable_signature} lost, resumed at {last}; repairs {:?}",
                found.repairs
            );
            assert_eq!(
                w.read_entry(last_durable_signature).unwrap().as_deref(),
                (last_durable_signature > 0).then(|| entry(last_durable_signature).bytes.as_slice()),
                "{context}: durable signature {last_durable_signature} changed"
            );
            let outcome = verify(&[w.storage()]);
            assert_eq!(outcome.failure, None, "{context}: what survived must verify; repairs {:?}", found.repairs);
            assert_eq!(outcome.report.last.map(|t| t.seqno), Some(last).filter(|l| *l > 0), "{context}");
            assert!(outcome.report.last_signed.map_or(0, |t| t.seqno) >= last_durable_signature, "{context}");
            storage = w.into_storage();
        }
    }
}

/// Checks that every file of `before` is still in `after`: under its name with the same bytes;
/// or renamed (same bytes under a chunk name that completes it, row 8); or changed only by
/// repairs whose removed bytes are in a new `<file>.at-<offset>….corrupted` file: a header reset
/// (row 8c), a cut tail (rows 3–5), or a chunk shorter than its header replaced by a fresh header
/// (row 4). Returns the repairs this amounts to.
#[track_caller]
fn assert_nothing_deleted(
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
    context: &str,
) -> Vec<Repair> {
    let mut changes = Vec::new();
    let new_files: Vec<(&String, &Vec<u8>)> = after.iter().filter(|(n, _)| !before.contains_key(*n)).collect();
    let kept = |name: &str, offset: usize, bytes: &[u8]| -> String {
        let prefix = format!("{name}.at-{offset}.");
        let found =
            new_files.iter().find(|(n, c)| n.starts_with(&prefix) && n.ends_with(".corrupted") && c[..] == *bytes);
        found.unwrap_or_else(|| panic!("{context}: {name} lost {} bytes at {offset}", bytes.len())).0.clone()
    };
    for (name, old) in before {
        match after.get(name) {
            Some(now) if now == old => {}
            Some(now) if old.len() < 8 => {
                assert_eq!(now, &[0; 8], "{context}: {name} was rewritten");
                let kept_in = kept(name, 0, old);
                changes.push(Repair::TruncatedTornTail {
                    file: name.clone(),
                    offset: 0,
                    cut_bytes: old.len() as u64,
                    kept_in,
                });
            }
            Some(now) => {
                assert!(now.len() >= 8, "{context}: {name} lost its header");
                if now[..8] != old[..8] {
                    assert_eq!(now[..8], [0; 8], "{context}: {name} got a new header that is not 0");
                    let kept_in = kept(name, 0, &old[..8]);
                    changes.push(Repair::ResetTornCompletion { file: name.clone(), kept_in });
                }
                assert!(old[8..].starts_with(&now[8..]), "{context}: {name} was rewritten, not cut");
                if now.len() < old.len() {
                    let kept_in = kept(name, now.len(), &old[now.len()..]);
                    let (offset, cut_bytes) = (now.len() as u64, (old.len() - now.len()) as u64);
                    changes.push(Repair::TruncatedTornTail { file: name.clone(), offset, cut_bytes, kept_in });
                }
            }
            None => {
                let from = ChunkName::parse(name).filter(|c| !c.is_complete());
                let completes = |n: &str| {
                    let to = ChunkName::parse(n);
                    from.zip(to).is_some_and(|(f, t)| t.end.is_some_and(|end| t == f.completed(end)))
                };
                let to = new_files
                    .iter()
                    .find(|(n, content)| *content == old && completes(n))
                    .unwrap_or_else(|| panic!("{context}: {name} is gone"));
                changes.push(Repair::FinishedCompletion { from: name.clone(), to: to.0.clone() });
            }
        }
    }
    changes
}

/// One random kind of damage a crash, a bad disk or an operator can leave behind; half of the
/// time in the last chunk, where most of it is repairable.
fn damage(storage: &mut MemStorage, rng: &mut ChaCha8Rng) {
    let chunks = chunk_names(storage);
    let file = if rng.random_bool(0.5) {
        chunks.last().unwrap().clone()
    } else {
        chunks[rng.random_range(0..chunks.len())].clone()
    };
    let name = ChunkName::parse(&file).unwrap();
    let size = storage.size(&file).unwrap();
    let frame = frame_chunk(&file, &name, &storage.read_all(&file).unwrap(), true).ok();
    match rng.random_range(0..7) {
        // A torn tail (possibly shorter than the header).
        0 if size > 0 => storage.truncate(&file, rng.random_range(0..size)).unwrap(),
        // Bit rot.
        1 if size > 0 => flip(storage, &file, rng.random_range(0..size), 1 << rng.random_range(0..8)),
        // A completion that never happened.
        2 if name.is_complete() && frame.is_some() => {
            uncomplete(storage, &file);
        }
        // A completion not renamed.
        3 if name.is_complete() => {
            let open = ChunkName::open(name.start).to_string();
            if storage.size(&open).is_err() {
                storage.rename(&file, &open).unwrap();
            }
        }
        // A completion torn before its fsync: header written, positions table partly there.
        4 if !name.is_complete()
            && frame.as_ref().is_some_and(|f| f.table_offset.is_none() && !f.positions.is_empty()) =>
        {
            let frame = frame.unwrap();
            storage.truncate(&file, frame.entries_end).unwrap();
            storage.append(&file, &cairn_ledger::chunk::positions_table(&frame.positions)).unwrap();
            storage.write_at(&file, 0, &frame.entries_end.to_le_bytes()).unwrap();
            let size = storage.size(&file).unwrap();
            storage.truncate(&file, rng.random_range(8..=size)).unwrap();
        }
        // A lost chunk.
        5 => storage.rename(&file, &format!("{file}.lost")).unwrap(),
        // Stray bytes after the end.
        _ => storage.append(&file, &[rng.random(); 5]).unwrap(),
    }
}

#[test]
fn scan_never_deletes_a_file() {
    for seed in seeds(200) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut storage = if rng.random_bool(0.5) { base_ledger() } else { generated().storage.clone() };
        for _ in 0..rng.random_range(1..=3) {
            damage(&mut storage, &mut rng);
        }
        let before = files(&storage);
        let result = scan_ledger(&mut storage, &[]);
        let context = format!(
            "seed {seed} (replay: SEED={seed} cargo test -p cairn-ledger --test scan_decision_table scan_never), scan result {result:?}"
        );
        let mut changes = assert_nothing_deleted(&before, &files(&storage), &context);
        if let Ok(found) = &result {
            let mut repairs = found.repairs.clone();
            let key = |r: &Repair| format!("{r:?}");
            repairs.sort_by_key(key);
            changes.sort_by_key(key);
            assert_eq!(changes, repairs, "{context}: every change is reported");
        }
    }
}

#[test]
fn row_05b_zero_filled_tail_of_the_open_chunk_is_cut_like_a_torn_write() {
    let file = "ledger_137";
    let end = base_ledger().size(file).unwrap();
    // Zeros appended after the last whole entry: each frames as an 8-byte "entry" of size 0.
    for zeros in [8u64, 9, 64, 4096] {
        let mut storage = base_ledger();
        storage.append(file, &vec![0; zeros as usize]).unwrap();
        let found = scan_ledger(&mut storage, &[]).unwrap();
        assert_eq!(found.repairs, [torn_tail(file, end, zeros)], "{zeros} zero bytes");
        assert_eq!(storage.size(file).unwrap(), end);
        assert_eq!(found.last, TxId::new(VIEW, BASE_LAST));
        let (w, _) = open(storage);
        resume_to_the_end(w);
    }
}

#[test]
fn row_05c_a_zero_filled_hole_in_the_open_chunk_is_cut_with_everything_after_it() {
    let file = "ledger_137";
    // The file system persisted the last entry but not the two before it (written later,
    // never covered by a completed fsync): their bytes read as zeros.
    let s = base_ledger();
    let hole_at = offset_of(&s, file, BASE_LAST - 2);
    let last_at = offset_of(&s, file, BASE_LAST);
    let end = s.size(file).unwrap();
    let mut storage = s.clone();
    let whole = storage.read_all(file).unwrap();
    storage.truncate(file, hole_at).unwrap();
    storage.append(file, &vec![0; (last_at - hole_at) as usize]).unwrap();
    storage.append(file, &whole[last_at as usize..]).unwrap();
    let found = scan_ledger(&mut storage, &[]).unwrap();
    assert_eq!(found.repairs, [torn_tail(file, hole_at, end - hole_at)]);
    assert_eq!(storage.size(file).unwrap(), hole_at);
    assert_eq!(found.last, TxId::new(VIEW, BASE_LAST - 3));
    let (w, _) = open(storage);
    resume_to_the_end(w);

    // A zeroed header is a hole; any other damage before a valid entry stays a refusal
    // (rows 6 and 6b).
    let mut storage = s.clone();
    flip(&mut storage, file, hole_at, 0x01);
    assert!(scan_ledger(&mut storage, &[]).is_err(), "a flipped header before valid entries is refused");
}

#[test]
fn row_06b_corrupted_size_that_swallows_later_entries_refuses_instead_of_cutting() {
    let file = "ledger_137";
    let seqno = BASE_LAST - 2;
    let at = offset_of(&base_ledger(), file, seqno);
    let mut storage = base_ledger();
    // Make the size field of an earlier entry point past the end of the file: it now looks
    // like a torn tail, but valid entries follow it.
    flip(&mut storage, file, at + 6, 0x01);
    let before = files(&storage);
    match scan_ledger(&mut storage, &[]) {
        Err(ScanError::Corrupt(ChunkError {
            file: f,
            offset,
            kind: ChunkErrorKind::EntriesAfterTear { later_seqno, .. },
        })) => {
            assert_eq!((f.as_str(), offset), (file, at));
            assert_eq!(later_seqno, seqno + 1);
        }
        other => panic!("expected EntriesAfterTear, got {other:?}"),
    }
    assert_eq!(files(&storage), before, "a refusal changes nothing");
}
