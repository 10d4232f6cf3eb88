//! Local restart: what a node finds in its ledger directories and what it does about it.
//!
//! The decision table (one test per row in `tests/scan_decision_table.rs`):
//!
//! | row | what the scan finds                                                         | decision |
//! |-----|-----------------------------------------------------------------------------|----------|
//! | 1   | no chunk files                                                              | start an empty ledger |
//! | 2   | contiguous complete chunks, at most one incomplete chunk last, all entries whole | resume after the last entry |
//! | 3   | the incomplete last chunk ends inside an entry (torn write)                 | cut the partial entry, keep the cut bytes in `<chunk>.at-<offset>.corrupted`, resume |
//! | 4   | the incomplete last chunk is shorter than its 8-byte header                 | keep the bytes aside as in row 3, rewrite the header, resume |
//! | 5   | the last entry of the incomplete chunk is whole-length but fails its checks | torn write: as row 3 |
//! | 5b  | an entry of the incomplete chunk fails its checks and every byte from it to the end is zero | torn write (zero-filled by the file system): as row 3 |
//! | 5c  | an entry of the incomplete chunk fails its checks and its 8-byte header is all zeros | torn write (a hole: the file system wrote later bytes before earlier ones, so no completed fsync covers anything from there): as row 3, even if whole entries follow (they are kept aside with the rest) |
//! | 6   | an entry before the last one in the incomplete chunk fails its checks       | refuse: corruption, named by file and offset |
//! | 6b  | what looks like a torn tail (rows 3–5b) is followed by a valid later entry  | refuse: a corrupted size, not a torn write |
//! | 7   | anything fails inside a complete or committed chunk                         | refuse: corruption, named by file and offset |
//! | 8   | an incomplete chunk whose positions table was already written (crash between completing and renaming) | finish the rename to `ledger_<start>-<end>` |
//! | 8b  | an incomplete chunk whose last entry carries `FORCE_LEDGER_CHUNK_AFTER` (crash before completing) | complete it (done by `LedgerWriter::open`) |
//! | 8c  | an incomplete chunk whose header is set but whose positions table is not all there (crash while completing, before its fsync) | keep the header in `<chunk>.at-0.corrupted`, reset it to 0, then rows 3–6 and 8b |
//! | 9   | a gap between two chunks (a ledger hole)                                    | refuse, naming the missing seqnos and both neighbours |
//! | 10  | two chunks overlap and are not byte-identical copies of each other          | refuse, naming both files |
//! | 11  | the same chunk in two directories, byte-identical                           | use one copy |
//! | 12  | an incomplete chunk that is not the last chunk                              | refuse |
//! | 13  | `.recovery`, `.ignored`, `.corrupted`, temp and unknown files               | not read; listed in the report |
//! | 14  | chunks in read-only directories that are not `.committed`                   | not read; listed in the report |
//!
//! Nothing is ever deleted: repairs only truncate or overwrite bytes that were first copied aside,
//! or rename. A `.corrupted` name already taken by other bytes (an earlier repair at the same
//! offset) gets a counter: `<chunk>.at-<offset>.<n>.corrupted`.

use crate::chunk::{ChunkError, ChunkErrorKind, ChunkFrame, ChunkName, check_entry, frame_chunk};
use crate::format::{ByteReader, EntryFlags, EntryView, TxId, skim_domain_table_names};
use crate::storage::{Storage, StorageError, StorageErrorKind};
use crate::tables;
use thiserror::Error;

/// A chunk found by the scan, with its entry offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedChunk {
    pub name: ChunkName,
    pub file: String,
    /// 0 for the main directory, i + 1 for read-only directory i.
    pub dir: usize,
    pub positions: Vec<u64>,
    pub entries_end: u64,
    pub last_view: u64,
    /// Flags of the last entry (open chunk only).
    pub last_entry_flags: Option<EntryFlags>,
}

impl ScannedChunk {
    pub fn end_seqno(&self) -> u64 {
        self.name.start + self.positions.len() as u64 - 1
    }
}

/// What the scan changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// Rows 3–5: bytes from `offset` to the end of `file` moved to `kept_in`.
    TruncatedTornTail { file: String, offset: u64, cut_bytes: u64, kept_in: String },
    /// Row 8.
    FinishedCompletion { from: String, to: String },
    /// Row 8c: the 8-byte header of `file` copied to `kept_in`, then reset to 0.
    ResetTornCompletion { file: String, kept_in: String },
}

/// The ledger as found on disk after repairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalLedger {
    /// Complete chunks in seqno order.
    pub chunks: Vec<ScannedChunk>,
    /// The chunk being written, if any (main directory only).
    pub open: Option<ScannedChunk>,
    pub last: TxId,
    pub repairs: Vec<Repair>,
    /// Files present but not read (rows 11, 13, 14), with the reason.
    pub not_read: Vec<(String, &'static str)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScanError {
    #[error("corrupt ledger: {0}")]
    Corrupt(ChunkError),
    #[error("ledger hole: seqnos {missing_from}..={missing_to} are missing between {before} and {after}")]
    Hole { before: String, after: String, missing_from: u64, missing_to: u64 },
    #[error("chunks {a} and {b} overlap (seqnos {from}..={to}) and differ")]
    Overlap { a: String, b: String, from: u64, to: u64 },
    #[error("incomplete chunk {file} is followed by {next}; only the last chunk may be incomplete")]
    IncompleteNotLast { file: String, next: String },
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
}

struct Found {
    name: ChunkName,
    file: String,
    dir: usize,
}

/// Scans `main` (writable) and `read_only` directories, applies the repairs of the decision
/// table to `main`, and returns the ledger found.
pub fn scan_ledger(main: &mut dyn Storage, read_only: &[&dyn Storage]) -> Result<LocalLedger, ScanError> {
    scan_ledger_with(main, read_only, false)
}

/// [`scan_ledger`], reading the main directory's `.recovery` chunks too when `include_recovery`
/// (a node that restarts during a recovery, before the service opens).
pub fn scan_ledger_with(
    main: &mut dyn Storage,
    read_only: &[&dyn Storage],
    include_recovery: bool,
) -> Result<LocalLedger, ScanError> {
    let mut out = LocalLedger::default();
    let mut found = Vec::new();
    for name in main.list()? {
        match ChunkName::parse(&name) {
            Some(c) if !c.recovery || include_recovery => found.push(Found { name: c, file: name, dir: 0 }),
            Some(_) => out.not_read.push((name, "recovery chunk (read only in recovery)")),
            None => out.not_read.push((name, "not a ledger chunk")),
        }
    }
    for (i, dir) in read_only.iter().enumerate() {
        for name in dir.list()? {
            match ChunkName::parse(&name) {
                Some(c) if c.committed && !c.recovery => found.push(Found { name: c, file: name, dir: i + 1 }),
                _ => out.not_read.push((name, "read-only directories contribute only committed chunks")),
            }
        }
    }

    // Row 8: finish an interrupted completion before anything else.
    for f in found.iter_mut().filter(|f| f.dir == 0 && !f.name.is_complete()) {
        let bytes = main.read_all(&f.file)?;
        if bytes.len() >= 8 && bytes[..8] != [0; 8] {
            let frame = match frame_chunk(&f.file, &f.name, &bytes, true) {
                Ok(frame) if !frame.positions.is_empty() => frame,
                // Row 8c: the rename comes only after the table and header are synced, so this
                // header is no more durable than the unsynced entries; the open-chunk rows judge them.
                _ => {
                    let kept_in = keep_aside(main, &f.file, 0, &bytes[..8])?;
                    main.write_at(&f.file, 0, &[0; 8])?;
                    main.sync(&f.file)?;
                    out.repairs.push(Repair::ResetTornCompletion { file: f.file.clone(), kept_in });
                    continue;
                }
            };
            let done = f.name.completed(f.name.start + frame.positions.len() as u64 - 1);
            let to = done.to_string();
            main.rename(&f.file, &to)?;
            main.sync_dir()?;
            out.repairs.push(Repair::FinishedCompletion { from: f.file.clone(), to: to.clone() });
            f.name = done;
            f.file = to;
        }
    }

    found.sort_by_key(|f| (f.name.start, f.dir));
    let mut chunks: Vec<ScannedChunk> = Vec::new();
    let mut min_view = 0;
    let storage_of = |dir: usize| -> &dyn Storage { if dir == 0 { &*main } else { read_only[dir - 1] } };
    let mut deduped: Vec<Found> = Vec::new();
    for f in found {
        if let Some(prev) = deduped.last()
            && prev.name.start == f.name.start
        {
            // Row 11 or 10: same start twice.
            let same = prev.name.end == f.name.end
                && storage_of(prev.dir).read_all(&prev.file)? == storage_of(f.dir).read_all(&f.file)?;
            if !same {
                return Err(ScanError::Overlap {
                    a: prev.file.clone(),
                    b: f.file.clone(),
                    from: f.name.start,
                    to: prev.name.end.min(f.name.end).unwrap_or(f.name.start),
                });
            }
            out.not_read.push((f.file, "byte-identical copy of a chunk already read"));
            continue;
        }
        deduped.push(f);
    }

    let files: Vec<String> = deduped.iter().map(|f| f.file.clone()).collect();
    for (i, f) in deduped.into_iter().enumerate() {
        if let Some(prev) = chunks.last() {
            let prev_end = prev.end_seqno();
            if f.name.start <= prev_end {
                let to = f.name.end.map_or(prev_end, |end| end.min(prev_end));
                return Err(ScanError::Overlap { a: prev.file.clone(), b: f.file.clone(), from: f.name.start, to });
            }
            if f.name.start > prev_end + 1 {
                return Err(ScanError::Hole {
                    before: prev.file.clone(),
                    after: f.file.clone(),
                    missing_from: prev_end + 1,
                    missing_to: f.name.start - 1,
                });
            }
        }
        if !f.name.is_complete() {
            if let Some(next) = files.get(i + 1) {
                return Err(ScanError::IncompleteNotLast { file: f.file, next: next.clone() });
            }
            let open = scan_open_chunk(main, &f, min_view, &mut out.repairs)?;
            out.last = last_tx(&open, &out.last);
            out.open = Some(open);
            break;
        }
        let bytes = storage_of(f.dir).read_all(&f.file)?;
        let frame = frame_chunk(&f.file, &f.name, &bytes, true).map_err(ScanError::Corrupt)?;
        let last_view = check_entries(&f.file, f.name.start, &bytes, &frame, min_view, frame.positions.len())
            .map_err(ScanError::Corrupt)?;
        let last_range = frame.entry_range(frame.positions.len() - 1);
        if !is_signature(&bytes[last_range.clone()]) {
            return Err(ScanError::Corrupt(ChunkError {
                file: f.file.clone(),
                offset: last_range.start as u64,
                kind: ChunkErrorKind::NotEndingAtSignature { seqno: f.name.end.expect("complete") },
            }));
        }
        min_view = last_view;
        let c = ScannedChunk {
            name: f.name,
            file: f.file,
            dir: f.dir,
            positions: frame.positions,
            entries_end: frame.entries_end,
            last_view,
            last_entry_flags: None,
        };
        out.last = TxId::new(last_view, c.end_seqno());
        chunks.push(c);
    }
    out.chunks = chunks;
    Ok(out)
}

fn last_tx(open: &ScannedChunk, before: &TxId) -> TxId {
    if open.positions.is_empty() { *before } else { TxId::new(open.last_view, open.end_seqno()) }
}

/// `true` if the entry writes the signatures table.
pub fn is_signature(entry: &[u8]) -> bool {
    EntryView::parse(entry)
        .ok()
        .and_then(|v| {
            let mut r = ByteReader::new(v.public);
            crate::format::PublicHeader::decode(&mut r).ok()?;
            skim_domain_table_names(&mut r).ok()
        })
        .is_some_and(|names| names.contains(&tables::SIGNATURES))
}

/// Header checks of the first `n` entries; returns the last view.
fn check_entries(
    file: &str,
    start: u64,
    bytes: &[u8],
    frame: &ChunkFrame,
    mut min_view: u64,
    n: usize,
) -> Result<u64, ChunkError> {
    for i in 0..n {
        let r = frame.entry_range(i);
        let v = check_entry(file, r.start as u64, &bytes[r], start + i as u64, min_view)?;
        min_view = u64::from(v.gcm.view);
    }
    Ok(min_view)
}

/// Copies `bytes`, found at `offset` of `file`, to `<file>.at-<offset>.corrupted` (durably) and
/// returns that name. A file of that name already holding exactly `bytes` (a crash during this
/// same repair) is reused; one holding other bytes (an earlier repair at the same offset) is
/// kept, and the copy goes to `<file>.at-<offset>.<n>.corrupted` with the first free `n`.
fn keep_aside(main: &mut dyn Storage, file: &str, offset: u64, bytes: &[u8]) -> Result<String, ScanError> {
    for n in 0u64.. {
        let name =
            if n == 0 { format!("{file}.at-{offset}.corrupted") } else { format!("{file}.at-{offset}.{n}.corrupted") };
        match main.read_all(&name) {
            Ok(existing) if existing == bytes => return Ok(name),
            Ok(_) => continue,
            Err(e) if e.kind == StorageErrorKind::NotFound => {
                main.write_file_atomic(&name, bytes)?;
                return Ok(name);
            }
            Err(e) => return Err(e.into()),
        }
    }
    unreachable!("u64 names run out")
}

/// The first offset at or after `from` where a plausible entry starts: version 1, known flags,
/// fits in the file, frames, and carries an IV seqno at or after `min_seqno` equal to its public
/// header seqno.
fn find_later_entry(bytes: &[u8], from: usize, min_seqno: u64) -> Option<(u64, u64)> {
    use crate::format::{ENTRY_HEADER_BYTES, EntryHeader};
    let last_start = bytes.len().checked_sub(ENTRY_HEADER_BYTES)?;
    (from..=last_start).find_map(|off| {
        if bytes[off] != crate::format::ENTRY_FORMAT_V1 {
            return None;
        }
        let h = EntryHeader::decode_raw(&bytes[off..off + ENTRY_HEADER_BYTES]).ok()?;
        h.validate().ok()?;
        let end = off.checked_add(ENTRY_HEADER_BYTES)?.checked_add(usize::try_from(h.size).ok()?)?;
        let v = EntryView::parse(bytes.get(off..end)?).ok()?;
        let public = v.public_header().ok()?;
        (v.gcm.seqno >= min_seqno && public.seqno == v.gcm.seqno).then_some((off as u64, v.gcm.seqno))
    })
}

/// Rows 3–6 for the incomplete last chunk.
fn scan_open_chunk(
    main: &mut dyn Storage,
    f: &Found,
    min_view: u64,
    repairs: &mut Vec<Repair>,
) -> Result<ScannedChunk, ScanError> {
    let bytes = main.read_all(&f.file)?;
    let frame = frame_chunk(&f.file, &f.name, &bytes, true).map_err(ScanError::Corrupt)?;
    let mut cut = frame.torn_tail.map(|t| t.offset);
    let mut hole = false;
    let mut whole = frame.positions.len();
    let mut last_view = min_view;
    let mut last_entry_flags = None;
    for i in 0..frame.positions.len() {
        let r = frame.entry_range(i);
        match check_entry(&f.file, r.start as u64, &bytes[r.clone()], f.name.start + i as u64, last_view) {
            Ok(v) => {
                last_view = u64::from(v.gcm.view);
                last_entry_flags = Some(v.header.flags);
            }
            // Row 5: the last entry is whole-length but bad, and nothing follows it.
            Err(_) if i + 1 == frame.positions.len() && frame.torn_tail.is_none() => {
                cut = Some(r.start as u64);
                whole = i;
                break;
            }
            // Rows 5b and 5c: a zero header is a hole, never an entry (the version is never 0):
            // zeros to the end (a file system that extended the file before its data reached the
            // disk) or later bytes that reached the disk before these. A framed entry always
            // holds a whole header.
            Err(_) if bytes[r.start..r.start + crate::format::ENTRY_HEADER_BYTES].iter().all(|b| *b == 0) => {
                cut = Some(r.start as u64);
                hole = true;
                whole = i;
                break;
            }
            // Row 6.
            Err(e) => return Err(ScanError::Corrupt(e)),
        }
    }
    // Row 6b: what looks like a torn tail must not hide a later valid entry (a corrupted size
    // field makes an entry look longer than the file): that is corruption, not a torn write.
    if let Some(offset) = cut
        && !hole
        && let Some((later_offset, later_seqno)) =
            find_later_entry(&bytes, offset as usize + 1, f.name.start + whole as u64)
    {
        return Err(ScanError::Corrupt(ChunkError {
            file: f.file.clone(),
            offset,
            kind: ChunkErrorKind::EntriesAfterTear { later_offset, later_seqno },
        }));
    }
    if let Some(offset) = cut {
        let tail = &bytes[offset as usize..];
        let kept_in = keep_aside(main, &f.file, offset, tail)?;
        if bytes.len() < 8 {
            // Row 4: rebuild the header.
            main.truncate(&f.file, 0)?;
            main.append(&f.file, &[0; 8])?;
        } else {
            main.truncate(&f.file, offset)?;
        }
        main.sync(&f.file)?;
        repairs.push(Repair::TruncatedTornTail { file: f.file.clone(), offset, cut_bytes: tail.len() as u64, kept_in });
    }
    let positions: Vec<u64> = frame.positions[..whole].to_vec();
    let entries_end = cut.unwrap_or(frame.entries_end).max(8);
    Ok(ScannedChunk { name: f.name, file: f.file.clone(), dir: 0, positions, entries_end, last_view, last_entry_flags })
}
