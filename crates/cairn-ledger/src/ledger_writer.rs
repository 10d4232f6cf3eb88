//! Appends entries to chunk files through [`Storage`].
//!
//! Invariants (checked by [`LedgerWriter::check_invariants`]):
//! - seqnos are contiguous from the first chunk's start to `last.seqno`; views never decrease;
//! - only the last chunk is open (`ledger_<start>`, header 0); complete chunks end at a
//!   signature (the producer sets `FORCE_LEDGER_CHUNK_AFTER` only on signatures);
//! - `durable_seqno <= last.seqno` and `committed_seqno <= durable_seqno`;
//! - a committed chunk (`.committed`) is never written again.
//!
//! Fsync points: `sync` (the open chunk's data, and the directory after a create or rename),
//! and chunk completion (positions table and header synced before the rename, directory
//! synced after), and truncation (chunks after the cut renamed to `.ignored` newest first, each
//! rename dir-synced; a reopened chunk renamed before it is cut). A crash between any two steps
//! leaves a state the scan's decision table handles (see `scan.rs`, and
//! `docs/internals/ledger-format.md` §8.3–8.4).

use crate::chunk::{CHUNK_HEADER_BYTES, ChunkName, positions_table};
use crate::format::{EncodedEntry, EntryView, TxId};
use crate::scan::{LocalLedger, ScanError, ScannedChunk, scan_ledger_with};
use crate::storage::{Storage, StorageError};
use thiserror::Error;

/// Writer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerConfig {
    /// A chunk is closed at the first signature after it reaches this size (`ledger.chunk_size`).
    pub chunk_size_bytes: u64,
    /// Recovery mode: new chunks carry the `.recovery` suffix until [`LedgerWriter::end_recovery`]
    /// (the service opens), and `.recovery` chunks found on disk are read.
    pub recovery: bool,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig { chunk_size_bytes: 5 * 1000 * 1000, recovery: false }
    }
}

/// Hard bound on a chunk file so every offset fits the u32 positions table.
pub const MAX_CHUNK_BYTES: u64 = (u32::MAX as u64) - (1 << 30);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WriteError {
    #[error("entry {got} does not follow the last entry {last}")]
    OutOfOrder { last: TxId, got: TxId },
    #[error("entry {tx} is malformed: {reason}")]
    Malformed { tx: TxId, reason: String },
    #[error("cannot truncate to seqno {seqno}: {reason}")]
    Truncate { seqno: u64, reason: String },
    #[error("cannot set the ledger aside for a snapshot at {seqno}: {reason}")]
    Supersede { seqno: u64, reason: String },
    #[error("cannot commit seqno {seqno}: only {durable} is durable")]
    CommitBeyondDurable { seqno: u64, durable: u64 },
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
}

#[derive(Debug, Clone)]
struct Chunk {
    name: ChunkName,
    /// 0: the main directory; i + 1: read-only directory i (committed chunks only).
    dir: usize,
    positions: Vec<u64>,
    /// Bytes of entries (header included) already handed to storage.
    written_end: u64,
}

impl Chunk {
    fn end_seqno(&self) -> u64 {
        self.name.start + self.positions.len() as u64 - 1
    }
}

/// Renames each of `chunks` to `rename(its name)`, then makes the renames durable with one
/// directory sync.
fn rename_chunks<'a>(
    storage: &mut impl Storage,
    chunks: impl Iterator<Item = &'a mut Chunk>,
    rename: impl Fn(ChunkName) -> ChunkName,
) -> Result<(), WriteError> {
    let mut renamed = false;
    for chunk in chunks {
        let to = rename(chunk.name);
        storage.rename(&chunk.name.to_string(), &to.to_string())?;
        chunk.name = to;
        renamed = true;
    }
    if renamed {
        storage.sync_dir()?;
    }
    Ok(())
}

/// The ledger writer of one node.
pub struct LedgerWriter<S: Storage> {
    storage: S,
    /// `ledger.read_only_directories`: their committed chunks are read, never written.
    read_only: Vec<Box<dyn Storage>>,
    config: LedgerConfig,
    complete: Vec<Chunk>,
    open: Option<Chunk>,
    /// Entries appended but not yet handed to storage.
    pending: Vec<u8>,
    last: TxId,
    first_seqno: u64,
    durable_seqno: u64,
    committed_seqno: u64,
    dir_dirty: bool,
}

impl<S: Storage> LedgerWriter<S> {
    /// Opens the ledger in `storage` (running the local-restart scan and its repairs), so that
    /// appending resumes after the last whole entry.
    pub fn open(storage: S, config: LedgerConfig) -> Result<(Self, LocalLedger), ScanError> {
        Self::open_with_read_only(storage, Vec::new(), config)
    }

    /// [`LedgerWriter::open`] with `ledger.read_only_directories`: their `.committed` chunks
    /// complete the ledger (e.g. old chunks moved to cheaper storage) and are read from there.
    pub fn open_with_read_only(
        mut storage: S,
        read_only: Vec<Box<dyn Storage>>,
        config: LedgerConfig,
    ) -> Result<(Self, LocalLedger), ScanError> {
        let dirs: Vec<&dyn Storage> = read_only.iter().map(|d| d.as_ref()).collect();
        let found = scan_ledger_with(&mut storage, &dirs, config.recovery)?;
        let to_chunk = |c: &ScannedChunk| Chunk {
            name: c.name,
            dir: c.dir,
            positions: c.positions.clone(),
            written_end: c.entries_end,
        };
        let complete: Vec<Chunk> = found.chunks.iter().map(to_chunk).collect();
        let open = found.open.as_ref().map(to_chunk);
        let first_seqno = complete.first().or(open.as_ref()).map_or(1, |c| c.name.start);
        let open_ends_chunk = found.open.as_ref().and_then(|c| c.last_entry_flags).is_some_and(|f| f.chunk_after());
        let committed_seqno = complete.iter().filter(|c| c.name.committed).map(Chunk::end_seqno).max().unwrap_or(0);
        let w = LedgerWriter {
            storage,
            read_only,
            config,
            complete,
            open,
            pending: Vec::new(),
            last: found.last,
            first_seqno,
            // Everything found on disk after a restart is what survived: treat it as durable.
            durable_seqno: found.last.seqno,
            committed_seqno,
            dir_dirty: false,
        };
        let mut w = w;
        // What a crashed process left may sit in the page cache only: make it durable before
        // counting it as durable.
        if let Some(open) = &w.open {
            w.storage.sync(&open.name.to_string())?;
        }
        w.storage.sync_dir()?;
        if open_ends_chunk {
            // The last entry closes its chunk but the crash came before the chunk was completed.
            w.complete_chunk().map_err(|e| match e {
                WriteError::Storage(s) => ScanError::Storage(s),
                other => panic!("completing a scanned chunk: {other}"),
            })?;
        }
        w.check_invariants();
        Ok((w, found))
    }

    /// A writer whose next entry is `next_seqno` (for a ledger that starts after a snapshot).
    pub fn start_at(&mut self, next_seqno: u64) {
        assert!(self.complete.is_empty() && self.open.is_none(), "start_at needs an empty ledger");
        self.first_seqno = next_seqno;
        self.last = TxId::new(self.last.view, next_seqno - 1);
        self.durable_seqno = next_seqno - 1;
        self.committed_seqno = next_seqno - 1;
    }

    pub fn last(&self) -> TxId {
        self.last
    }
    /// The seqno of the ledger's first entry: 1, or the one after the snapshot a node started
    /// from (see [`LedgerWriter::start_at`]).
    pub fn first_seqno(&self) -> u64 {
        self.first_seqno
    }
    pub fn durable_seqno(&self) -> u64 {
        self.durable_seqno
    }
    pub fn committed_seqno(&self) -> u64 {
        self.committed_seqno
    }
    pub fn storage(&self) -> &S {
        &self.storage
    }
    /// The storage, for fault injection by tests and the simulator; writing through it
    /// bypasses the writer's invariants.
    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.storage
    }
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// Bytes in the open chunk, pending ones included.
    pub fn open_chunk_bytes(&self) -> u64 {
        self.open.as_ref().map_or(0, |c| c.written_end) + self.pending.len() as u64
    }

    /// Whether the producer should end the chunk at its next signature.
    pub fn chunk_is_full(&self) -> bool {
        self.open_chunk_bytes() >= self.config.chunk_size_bytes.min(MAX_CHUNK_BYTES)
    }

    /// Appends one entry. Checked before writing: the entry frames, its IV seqno follows the
    /// last entry, and its view does not go back.
    pub fn append(&mut self, entry: &EncodedEntry) -> Result<(), WriteError> {
        let tx = entry.tx_id;
        let parsed = EntryView::parse(&entry.bytes).map_err(|e| WriteError::Malformed { tx, reason: e.to_string() })?;
        if parsed.tx_id() != tx || tx.seqno != self.last.seqno + 1 || tx.view < self.last.view {
            return Err(WriteError::OutOfOrder { last: self.last, got: parsed.tx_id() });
        }
        if entry.flags.chunk_before() && self.open.as_ref().is_some_and(|c| !c.positions.is_empty()) {
            self.complete_chunk()?;
        }
        if self.open.is_none() {
            let name = ChunkName { recovery: self.config.recovery, ..ChunkName::open(tx.seqno) };
            self.storage.create(&name.to_string())?;
            self.storage.append(&name.to_string(), &[0; CHUNK_HEADER_BYTES])?;
            self.dir_dirty = true;
            self.open = Some(Chunk { name, dir: 0, positions: Vec::new(), written_end: CHUNK_HEADER_BYTES as u64 });
        }
        let chunk = self.open.as_mut().expect("opened above");
        chunk.positions.push(chunk.written_end + self.pending.len() as u64);
        self.pending.extend_from_slice(&entry.bytes);
        self.last = tx;
        if self.pending.len() >= 1 << 20 {
            self.flush()?;
        }
        if entry.flags.chunk_after() {
            self.complete_chunk()?;
        }
        Ok(())
    }

    /// Hands pending bytes to storage (no durability implied).
    pub fn flush(&mut self) -> Result<(), WriteError> {
        if let Some(chunk) = self.open.as_mut()
            && !self.pending.is_empty()
        {
            self.storage.append(&chunk.name.to_string(), &self.pending)?;
            chunk.written_end += self.pending.len() as u64;
            self.pending.clear();
        }
        Ok(())
    }

    /// Makes every appended entry durable; returns the durable seqno. One call covers every
    /// entry appended since the last one (group commit).
    pub fn sync(&mut self) -> Result<u64, WriteError> {
        if self.durable_seqno == self.last.seqno && !self.dir_dirty {
            return Ok(self.durable_seqno);
        }
        self.flush()?;
        if let Some(chunk) = &self.open {
            self.storage.sync(&chunk.name.to_string())?;
        }
        if self.dir_dirty {
            self.storage.sync_dir()?;
            self.dir_dirty = false;
        }
        self.durable_seqno = self.last.seqno;
        Ok(self.durable_seqno)
    }

    /// Closes the open chunk: positions table, header, fsync, rename to `ledger_<start>-<end>`,
    /// directory fsync. The chunk's entries become durable. Called when an entry carries
    /// `FORCE_LEDGER_CHUNK_AFTER` (or the next carries `FORCE_LEDGER_CHUNK_BEFORE`), so chunk
    /// boundaries always follow from the entries themselves.
    fn complete_chunk(&mut self) -> Result<(), WriteError> {
        self.flush()?;
        let Some(mut chunk) = self.open.take() else { return Ok(()) };
        if chunk.positions.is_empty() {
            self.open = Some(chunk);
            return Ok(());
        }
        let file = chunk.name.to_string();
        let table_offset = chunk.written_end;
        assert!(table_offset + 4 * chunk.positions.len() as u64 <= u32::MAX as u64, "chunk {file} exceeds 4 GiB");
        self.storage.append(&file, &positions_table(&chunk.positions))?;
        self.storage.write_at(&file, 0, &table_offset.to_le_bytes())?;
        self.storage.sync(&file)?;
        let done = chunk.name.completed(chunk.end_seqno());
        self.storage.rename(&file, &done.to_string())?;
        self.storage.sync_dir()?;
        self.dir_dirty = false;
        chunk.name = done;
        self.durable_seqno = self.durable_seqno.max(chunk.end_seqno());
        self.complete.push(chunk);
        Ok(())
    }

    /// Records that every entry up to `seqno` is committed and renames complete chunks that end
    /// at or before it to `.committed`.
    pub fn commit(&mut self, seqno: u64) -> Result<(), WriteError> {
        if seqno > self.durable_seqno {
            return Err(WriteError::CommitBeyondDurable { seqno, durable: self.durable_seqno });
        }
        if seqno <= self.committed_seqno {
            return Ok(());
        }
        self.committed_seqno = seqno;
        let chunks = self.complete.iter_mut().filter(|c| !c.name.committed && c.end_seqno() <= seqno);
        rename_chunks(&mut self.storage, chunks, ChunkName::with_committed)
    }

    /// Drops entries after `seqno`: uncommitted entries replaced by a new primary (Raft log
    /// conflicts), or the unsigned tail cut by a recovery. Refused below the committed seqno
    /// (entries of read-only directories are committed, so they are never dropped).
    ///
    /// Steps, in this order (crash analysis: `docs/internals/ledger-format.md` §8.4):
    /// 1. `flush`, and read the view of entry `seqno` from its GCM header;
    /// 2. every chunk that starts after `seqno` (the open chunk, then complete chunks newest
    ///    first) is renamed to `<name>.ignored` (`<name>.<n>.ignored` if taken), with a
    ///    directory sync after **each** rename, so a crash only ever sets aside a suffix of the
    ///    chunks, never leaves a hole;
    /// 3. if `seqno` falls inside a complete chunk `ledger_a-b` (a ≤ seqno < b): copy it whole
    ///    to a free `.ignored` name (`write_file_atomic`), rename it back to the open name
    ///    `ledger_a` (keeping `.recovery`), sync the directory, cut the file at the first
    ///    dropped entry (entries and positions table), reset the header to 0, sync the file;
    /// 4. if it falls inside the open chunk: cut the file there and sync it.
    ///
    /// Afterwards `last()` is the dropped-to entry with its own view and
    /// `durable_seqno() <= seqno`. A storage error leaves the writer part-way; the node must
    /// stop and reopen (the disk is then in a state the scan accepts).
    pub fn truncate(&mut self, seqno: u64) -> Result<(), WriteError> {
        if seqno >= self.last.seqno {
            return Ok(());
        }
        if seqno < self.committed_seqno {
            return Err(WriteError::Truncate { seqno, reason: format!("seqno {} is committed", self.committed_seqno) });
        }
        if seqno + 1 < self.first_seqno {
            return Err(WriteError::Truncate {
                seqno,
                reason: format!("the ledger starts at seqno {}", self.first_seqno),
            });
        }
        if let Some(ro) = self.complete.iter().find(|c| c.dir != 0 && c.end_seqno() > seqno) {
            return Err(WriteError::Truncate {
                seqno,
                reason: format!("{} is in a read-only directory (committed)", ro.name),
            });
        }
        self.flush()?;
        // Step 1: the view of the new last entry, from its GCM header.
        let view = if seqno >= self.first_seqno {
            let bytes = self.read_entry(seqno)?.expect("seqno is held");
            let parsed = EntryView::parse(&bytes)
                .map_err(|e| WriteError::Malformed { tx: TxId::new(self.last.view, seqno), reason: e.to_string() })?;
            u64::from(parsed.gcm.view)
        } else {
            // Everything is dropped (the ledger starts after a snapshot at `seqno`): no entry
            // to read; keep the view we know.
            self.last.view
        };

        // Step 2, the open chunk first (it is the newest).
        if self.open.as_ref().is_some_and(|c| c.name.start > seqno) {
            let chunk = self.open.take().expect("checked above");
            self.set_aside(&chunk)?;
        }
        if let Some(chunk) = self.open.as_mut() {
            // Step 4: the cut is inside the open chunk, so no complete chunk follows it.
            let keep = (seqno + 1 - chunk.name.start) as usize;
            let cut = chunk.positions.get(keep).copied().unwrap_or(chunk.written_end);
            let file = chunk.name.to_string();
            self.storage.truncate(&file, cut)?;
            chunk.positions.truncate(keep);
            chunk.written_end = cut;
            // A truncation that a crash could undo would resurrect dropped entries.
            self.storage.sync(&file)?;
        } else {
            // Step 2, complete chunks newest first.
            while self.complete.last().is_some_and(|c| c.name.start > seqno) {
                let chunk = self.complete.pop().expect("checked above");
                self.set_aside(&chunk)?;
            }
            // Step 3: reopen the complete chunk holding the cut.
            if self.complete.last().is_some_and(|c| c.end_seqno() > seqno) {
                let mut chunk = self.complete.pop().expect("checked above");
                assert!(chunk.dir == 0 && !chunk.name.committed, "committed chunks end at or before the commit");
                let file = chunk.name.to_string();
                let bytes = self.storage.read_all(&file)?;
                let copy = self.free_ignored_name(&file)?;
                self.storage.write_file_atomic(&copy, &bytes)?;
                let reopened = ChunkName { end: None, ..chunk.name };
                self.storage.rename(&file, &reopened.to_string())?;
                self.storage.sync_dir()?;
                chunk.name = reopened;
                let keep = (seqno + 1 - chunk.name.start) as usize;
                let cut = chunk.positions[keep];
                let file = reopened.to_string();
                self.storage.truncate(&file, cut)?;
                self.storage.write_at(&file, 0, &[0; CHUNK_HEADER_BYTES])?;
                self.storage.sync(&file)?;
                chunk.positions.truncate(keep);
                chunk.written_end = cut;
                self.open = Some(chunk);
            }
        }
        self.last = TxId::new(view, seqno);
        self.durable_seqno = self.durable_seqno.min(seqno);
        self.check_invariants();
        Ok(())
    }

    /// Renames `chunk` to a free `.ignored` name (the scan does not read those) and makes the
    /// rename durable at once: one directory sync per rename, so a crash keeps a prefix.
    fn set_aside(&mut self, chunk: &Chunk) -> Result<(), WriteError> {
        let file = chunk.name.to_string();
        let to = self.free_ignored_name(&file)?;
        self.storage.rename(&file, &to)?;
        self.storage.sync_dir()?;
        self.dir_dirty = false;
        Ok(())
    }

    /// `<file>.ignored`, or `<file>.<n>.ignored` with the first `n ≥ 1` not taken.
    fn free_ignored_name(&self, file: &str) -> Result<String, WriteError> {
        self.free_name(file, "ignored")
    }

    /// `<file>.<suffix>`, or `<file>.<n>.<suffix>` with the first `n ≥ 1` not taken.
    fn free_name(&self, file: &str, suffix: &str) -> Result<String, WriteError> {
        let names = self.storage.list()?;
        let name = (0u64..)
            .map(|n| if n == 0 { format!("{file}.{suffix}") } else { format!("{file}.{n}.{suffix}") })
            .find(|n| !names.contains(n) && !names.contains(&format!("{n}.tmp")))
            .expect("u64 names run out");
        Ok(name)
    }

    /// Sets the whole ledger aside because the node starts again from a committed snapshot at
    /// `snapshot_seqno` (its primary holds no entries as old as this ledger needs): every chunk
    /// is renamed `<name>.superseded` (never deleted; the scan does not read it), newest first,
    /// and the ledger is empty, its next entry `snapshot_seqno + 1`. Returns the new names.
    /// Refused below the commit (committed entries are never dropped for an older state), and
    /// when read-only directories contribute chunks (they would come back at the next start).
    pub fn supersede(&mut self, snapshot_seqno: u64) -> Result<Vec<String>, WriteError> {
        let refuse = |reason: String| Err(WriteError::Supersede { seqno: snapshot_seqno, reason });
        if snapshot_seqno < self.committed_seqno {
            return refuse(format!("the ledger is committed up to {}", self.committed_seqno));
        }
        if let Some(ro) = self.complete.iter().find(|c| c.dir != 0) {
            return refuse(format!("{} is in a read-only directory: move those chunks aside first", ro.name));
        }
        self.flush()?;
        let mut renamed = Vec::new();
        let chunks: Vec<Chunk> = self.open.take().into_iter().chain(self.complete.drain(..).rev()).collect();
        for chunk in chunks {
            let file = chunk.name.to_string();
            let to = self.free_name(&file, "superseded")?;
            self.storage.rename(&file, &to)?;
            renamed.push(to);
        }
        self.storage.sync_dir()?;
        self.dir_dirty = false;
        self.first_seqno = snapshot_seqno + 1;
        self.last = TxId::new(0, snapshot_seqno);
        self.durable_seqno = snapshot_seqno;
        self.committed_seqno = snapshot_seqno;
        self.check_invariants();
        Ok(renamed)
    }

    /// The bytes of entry `seqno`.
    pub fn read_entry(&self, seqno: u64) -> Result<Option<Vec<u8>>, WriteError> {
        if seqno < self.first_seqno || seqno > self.last.seqno {
            return Ok(None);
        }
        let chunk =
            self.complete.iter().chain(self.open.iter()).find(|c| seqno >= c.name.start && seqno <= c.end_seqno());
        let Some(chunk) = chunk else { return Ok(None) };
        let i = (seqno - chunk.name.start) as usize;
        let start = chunk.positions[i];
        let is_open = self.open.as_ref().is_some_and(|o| o.name == chunk.name);
        let end = chunk.positions.get(i + 1).copied().unwrap_or(if is_open {
            chunk.written_end + self.pending.len() as u64
        } else {
            chunk.written_end
        });
        if is_open && end > chunk.written_end {
            // Part or all of it is still pending.
            let mut out = vec![0u8; (end - start) as usize];
            let on_disk = chunk.written_end.saturating_sub(start) as usize;
            if on_disk > 0 {
                self.storage.read_at(&chunk.name.to_string(), start, &mut out[..on_disk])?;
            }
            let from = (start.max(chunk.written_end) - chunk.written_end) as usize;
            let rest = out.len() - on_disk;
            out[on_disk..].copy_from_slice(&self.pending[from..from + rest]);
            return Ok(Some(out));
        }
        let mut out = vec![0u8; (end - start) as usize];
        let storage: &dyn Storage = if chunk.dir == 0 { &self.storage } else { self.read_only[chunk.dir - 1].as_ref() };
        storage.read_at(&chunk.name.to_string(), start, &mut out)?;
        Ok(Some(out))
    }

    /// A recovered service's public phase began: chunks created from now on carry `.recovery`.
    pub fn begin_recovery(&mut self) {
        self.config.recovery = true;
    }

    /// The service opened after a recovery: drops the `.recovery` suffix of every chunk this
    /// writer holds and stops adding it to new chunks.
    pub fn end_recovery(&mut self) -> Result<(), WriteError> {
        self.flush()?;
        self.config.recovery = false;
        let chunks = self.complete.iter_mut().chain(self.open.iter_mut()).filter(|c| c.name.recovery);
        rename_chunks(&mut self.storage, chunks, |name| ChunkName { recovery: false, ..name })
    }

    /// The entries from `from` on, one chunk file at a time, in seqno order: item `i` holds the
    /// entries of the `i`-th chunk that has any at or after `from`, each as shared bytes (a
    /// replay reads the ledger this way: one read per chunk, not one per entry). Committed
    /// chunks come through [`Storage::read_immutable`] (mapped by `cairn-fs`), other chunks are
    /// read whole, and entries still pending are copied from memory.
    pub fn chunk_entries(&self, from: u64) -> impl Iterator<Item = Result<Vec<bytes::Bytes>, WriteError>> + '_ {
        self.complete
            .iter()
            .chain(self.open.iter())
            .filter(move |c| c.end_seqno() >= from.max(self.first_seqno) && !c.positions.is_empty())
            .map(move |chunk| {
                let bytes = self.chunk_contents(chunk)?;
                let first = from.saturating_sub(chunk.name.start) as usize;
                let end = bytes.len() as u64;
                let entries = (first..chunk.positions.len())
                    .map(|i| {
                        let start = chunk.positions[i] as usize;
                        let stop = chunk.positions.get(i + 1).copied().unwrap_or(end) as usize;
                        bytes.slice(start..stop)
                    })
                    .collect();
                Ok(entries)
            })
    }

    /// Bytes `0..` the end of the last entry of `chunk` (the chunk header included).
    fn chunk_contents(&self, chunk: &Chunk) -> Result<bytes::Bytes, WriteError> {
        let storage: &dyn Storage = if chunk.dir == 0 { &self.storage } else { self.read_only[chunk.dir - 1].as_ref() };
        let name = chunk.name.to_string();
        if chunk.name.committed {
            // Invariant: a committed chunk is never written again.
            return Ok(storage.read_immutable(&name, chunk.written_end)?);
        }
        let is_open = self.open.as_ref().is_some_and(|o| o.name == chunk.name);
        let pending = if is_open { self.pending.as_slice() } else { &[] };
        let mut out = vec![0u8; chunk.written_end as usize + pending.len()];
        storage.read_at(&name, 0, &mut out[..chunk.written_end as usize])?;
        out[chunk.written_end as usize..].copy_from_slice(pending);
        Ok(out.into())
    }

    /// The chunk file that holds entry `seqno`, and the entry's byte offset in it (for error
    /// messages that name where a bad entry is).
    pub fn locate(&self, seqno: u64) -> Option<(String, u64)> {
        let chunk =
            self.complete.iter().chain(self.open.iter()).find(|c| seqno >= c.name.start && seqno <= c.end_seqno())?;
        let offset = *chunk.positions.get((seqno - chunk.name.start) as usize)?;
        Some((chunk.name.to_string(), offset))
    }

    /// Names of the chunk files, in order.
    pub fn chunk_files(&self) -> Vec<String> {
        self.complete.iter().chain(self.open.iter()).map(|c| c.name.to_string()).collect()
    }

    /// Panics if an invariant of the module documentation does not hold.
    pub fn check_invariants(&self) {
        let mut next = self.first_seqno;
        for c in self.complete.iter().chain(self.open.iter()) {
            assert_eq!(c.name.start, next, "chunk {} does not follow seqno {}", c.name, next - 1);
            next = c.name.start + c.positions.len() as u64;
            assert!(c.positions.windows(2).all(|w| w[0] < w[1]), "positions of {} must increase", c.name);
        }
        assert!(self.complete.iter().all(|c| c.name.is_complete()), "complete chunks carry an end");
        assert!(self.open.as_ref().is_none_or(|c| !c.name.is_complete()), "the open chunk has no end");
        assert_eq!(next, self.last.seqno + 1, "chunks must cover seqnos up to the last entry");
        assert!(self.committed_seqno <= self.durable_seqno && self.durable_seqno <= self.last.seqno);
        assert!(self.complete.iter().all(|c| c.dir == 0 || c.name.committed), "read-only chunks are committed");
    }
}
