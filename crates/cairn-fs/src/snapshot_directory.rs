//! The snapshots directory (`snapshots.directory`, plus `snapshots.read_only_directory`):
//! crash-safe writing and committing of snapshot files, and the list a starting node picks from.
//!
//! # Files
//! - `snapshot_<seqno>_<evidence_seqno>`: a snapshot entry, written `.tmp` → fsync → rename →
//!   fsync of the directory, so the name only ever holds a complete entry.
//! - `snapshot_<seqno>_<evidence_seqno>.committed`: the same entry with the receipt of its
//!   evidence appended (fsync), then renamed (fsync of the directory). Never written again.
//!   A committed snapshot fetched from another node is written whole: `.committed.tmp` → fsync
//!   → rename → fsync of the directory (`store_committed`).
//! - `<name>.corrupted` (`.corrupted.1`, ... if taken), with `<that>.reason`: a snapshot set
//!   aside because it failed verification. Nothing is ever deleted.
//! - `*.tmp`: a write interrupted by a crash. Renamed `*.tmp.stale-<n>` when the directory is
//!   opened; never listed.
//!
//! # Crash analysis
//! - During `write`: only a `.tmp` can be left (set aside at the next open) or the complete file.
//! - During `commit`, before the rename: the uncommitted file may hold a partial receipt. A later
//!   `commit` of the same snapshot cuts the file back to its entry (whose length the entry header
//!   gives) before appending, so a retried commit never leaves two receipts. Before the directory
//!   fsync, the rename may be undone: the file is then uncommitted again, never half-renamed.
//!
//! # Invariants
//! - The read-only directory is never written; only its committed snapshots are listed.
//! - A name listed as committed has had its whole content fsynced before its rename.

use crate::{Durability, FsStorage};
use cairn_ledger::format::{ENTRY_HEADER_BYTES, EntryHeader};
use cairn_ledger::snapshot::SnapshotName;
use cairn_ledger::storage::{Storage, StorageError, StorageErrorKind};
use std::collections::BTreeSet;
use std::path::PathBuf;

const TMP_SUFFIX: &str = ".tmp";
const CORRUPTED_SUFFIX: &str = ".corrupted";

/// A snapshots directory and its optional read-only companion. Generic over [`Storage`] so the
/// simulator can run it on `MemStorage`; [`SnapshotDirectory::open`] uses real directories.
#[derive(Debug)]
pub struct SnapshotDirectory<S: Storage = FsStorage> {
    main: S,
    read_only: Option<S>,
}

impl SnapshotDirectory<FsStorage> {
    /// Opens (creating it if missing) the snapshots directory `dir`, fsync durability, and the
    /// existing `read_only_dir` if given. Sets aside crash leftovers (see the module docs).
    pub fn open(dir: impl Into<PathBuf>, read_only_dir: Option<PathBuf>) -> Result<Self, StorageError> {
        let main = FsStorage::open(dir, Durability::Fsync, false)?;
        let read_only = read_only_dir.map(|d| FsStorage::open(d, Durability::Flush, true)).transpose()?;
        Self::with_storage(main, read_only)
    }
}

impl<S: Storage> SnapshotDirectory<S> {
    /// Uses `main` for writes and `read_only` (never written) as an extra source of committed
    /// snapshots. Sets aside the `.tmp` files of interrupted writes in `main`.
    pub fn with_storage(main: S, read_only: Option<S>) -> Result<Self, StorageError> {
        let mut dir = SnapshotDirectory { main, read_only };
        dir.set_aside_temp_files()?;
        Ok(dir)
    }

    pub fn storage(&self) -> &S {
        &self.main
    }

    /// Renames every `*.tmp` to `*.tmp.stale-<n>`; returns the new names.
    fn set_aside_temp_files(&mut self) -> Result<Vec<String>, StorageError> {
        let mut moved = Vec::new();
        for name in self.main.list()?.into_iter().filter(|n| n.ends_with(TMP_SUFFIX)) {
            let aside = self.free_name(&format!("{name}.stale-"), 0)?;
            self.main.rename(&name, &aside)?;
            moved.push(aside);
        }
        if !moved.is_empty() {
            self.main.sync_dir()?;
        }
        Ok(moved)
    }

    /// `{prefix}{n}` for the first `n >= first` that names no file.
    fn free_name(&self, prefix: &str, first: u64) -> Result<String, StorageError> {
        let taken: BTreeSet<String> = self.main.list()?.into_iter().collect();
        Ok((first..).map(|n| format!("{prefix}{n}")).find(|n| !taken.contains(n)).expect("a free name"))
    }

    fn require_uncommitted(op: &'static str, name: &SnapshotName) -> Result<String, StorageError> {
        if name.committed {
            let message = "expects the name of an uncommitted snapshot";
            return Err(StorageError::new(StorageErrorKind::Other, op, &name.to_string(), message));
        }
        Ok(name.to_string())
    }

    /// Writes the snapshot entry `bytes` as `name` (uncommitted): temp file, fsync, rename,
    /// directory fsync. Refuses to replace an existing file.
    pub fn write(&mut self, name: &SnapshotName, bytes: &[u8]) -> Result<(), StorageError> {
        let file = Self::require_uncommitted("write snapshot", name)?;
        if self.main.size(&file).is_ok() || self.main.size(&name.committed().to_string()).is_ok() {
            let message = "already written (or committed)";
            return Err(StorageError::new(StorageErrorKind::AlreadyExists, "write snapshot", &file, message));
        }
        self.main.write_file_atomic(&file, bytes)
    }

    /// Appends `receipt_json` (the evidence transaction's receipt) to the uncommitted snapshot
    /// `name`, fsyncs it, renames it `.committed` and fsyncs the directory. Returns the new name.
    pub fn commit(&mut self, name: &SnapshotName, receipt_json: &[u8]) -> Result<SnapshotName, StorageError> {
        let file = Self::require_uncommitted("commit snapshot", name)?;
        let entry_len = self.entry_len(&file)?;
        let len = self.main.size(&file)?;
        if len < entry_len {
            let message = format!("the entry header says {entry_len} bytes, the file has {len}");
            return Err(StorageError::new(StorageErrorKind::UnexpectedEof, "commit snapshot", &file, message));
        }
        if len > entry_len {
            // An interrupted commit left part of a receipt: start again from the entry.
            self.main.truncate(&file, entry_len)?;
        }
        self.main.append(&file, receipt_json)?;
        self.main.sync(&file)?;
        let committed = name.committed();
        self.main.rename(&file, &committed.to_string())?;
        self.main.sync_dir()?;
        Ok(committed)
    }

    /// Stores `bytes`, a whole committed snapshot file received from another node, as the
    /// committed `name`: temp file, fsync, rename, directory fsync. Idempotent: a file of that
    /// name (in either directory) with identical bytes is success; with different bytes it is an
    /// `AlreadyExists` error (never overwritten). The caller verifies the snapshot first.
    pub fn store_committed(&mut self, name: &SnapshotName, bytes: &[u8]) -> Result<(), StorageError> {
        const OP: &str = "store committed snapshot";
        if !name.committed {
            let message = "expects the name of a committed snapshot";
            return Err(StorageError::new(StorageErrorKind::Other, OP, &name.to_string(), message));
        }
        let file = name.to_string();
        for storage in std::iter::once(&self.main).chain(self.read_only.as_ref()) {
            match storage.size(&file) {
                Ok(len) if len == bytes.len() as u64 && storage.read_all(&file)? == bytes => return Ok(()),
                Ok(len) => {
                    let message = format!("exists with different content ({len} bytes; received {})", bytes.len());
                    return Err(StorageError::new(StorageErrorKind::AlreadyExists, OP, &file, message));
                }
                Err(e) if e.kind == StorageErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        self.main.write_file_atomic(&file, bytes)
    }

    /// Length of the entry at the start of `file`, from its header.
    fn entry_len(&self, file: &str) -> Result<u64, StorageError> {
        let mut header = [0u8; ENTRY_HEADER_BYTES];
        self.main.read_at(file, 0, &mut header)?;
        let header = EntryHeader::decode_raw(&header).expect("8 bytes");
        Ok(ENTRY_HEADER_BYTES as u64 + header.size)
    }

    /// Committed snapshots of both directories, newest (highest seqno) first; a name in both is
    /// listed once. Other files (uncommitted, temp, set aside) are ignored.
    pub fn committed_newest_first(&self) -> Result<Vec<SnapshotName>, StorageError> {
        let mut names = BTreeSet::new();
        for storage in std::iter::once(&self.main).chain(self.read_only.as_ref()) {
            names.extend(storage.list()?.iter().filter_map(|f| f.parse::<SnapshotName>().ok()).filter(|n| n.committed));
        }
        Ok(names.into_iter().rev().collect())
    }

    /// The whole file `name`, from the snapshots directory or else the read-only one.
    pub fn read(&self, name: &SnapshotName) -> Result<Vec<u8>, StorageError> {
        let file = name.to_string();
        match self.main.read_all(&file) {
            Err(e) if e.kind == StorageErrorKind::NotFound && self.read_only.is_some() => {
                self.read_only.as_ref().expect("checked").read_all(&file)
            }
            other => other,
        }
    }

    /// Renames snapshot `name` to `<name>.corrupted` (or `.corrupted.<n>` if taken) and records
    /// `reason` next to it in `<that>.reason`; returns the new file name. Never deletes. A
    /// snapshot in the read-only directory cannot be moved: that is a `ReadOnly` error.
    pub fn set_aside(&mut self, name: &SnapshotName, reason: &str) -> Result<String, StorageError> {
        let file = name.to_string();
        if let Err(e) = self.main.size(&file) {
            let in_read_only = self.read_only.as_ref().is_some_and(|ro| ro.size(&file).is_ok());
            if e.kind == StorageErrorKind::NotFound && in_read_only {
                let message = "the snapshot is in the read-only directory; it is only skipped";
                return Err(StorageError::new(StorageErrorKind::ReadOnly, "set aside snapshot", &file, message));
            }
            return Err(e);
        }
        let base = format!("{file}{CORRUPTED_SUFFIX}");
        let taken: BTreeSet<String> = self.main.list()?.into_iter().collect();
        let aside = if taken.contains(&base) { self.free_name(&format!("{base}."), 1)? } else { base };
        self.main.rename(&file, &aside)?;
        self.main.sync_dir()?;
        self.main.write_file_atomic(&format!("{aside}.reason"), reason.as_bytes())?;
        Ok(aside)
    }
}
