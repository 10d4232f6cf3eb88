//! One change to the filesystem that no `fsync` has covered yet, kept so that a power cut can
//! take it back.
use std::ffi::OsString;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

/// What a change did, with what it takes to undo it. File data is undone through the file's
/// own descriptor (`file`), so renames of the file do not matter; directory entries are undone
/// by name in their parent directory, whose path is resolved when the power is cut.
#[derive(Debug)]
pub(crate) enum UndoRecord {
    /// `new_len` bytes were written at `offset` of a file that was `old_size` bytes long, over
    /// the bytes `old` (empty for an append). A truncation is a write of 0 bytes at the new
    /// size whose `old` is the tail it cut; a growing `set_len` writes nothing over nothing.
    Content { ino: u64, file: Arc<File>, offset: u64, old: Vec<u8>, new_len: u64, old_size: u64 },
    /// A new entry `name` (file or directory) in directory `parent`.
    Created { parent: u64, name: OsString },
    /// Entry `name` of `parent` was unlinked (or removed, for a directory); the inode waits in
    /// the graveyard at `grave`.
    Removed { parent: u64, name: OsString, grave: PathBuf },
    /// An entry moved from `from_parent/from_name` to `to_parent/to_name`; the entry it
    /// replaced, if any, waits in the graveyard at `displaced`. Durable once both directories
    /// have been synced (`from_synced`, `to_synced`).
    Renamed {
        from_parent: u64,
        from_name: OsString,
        to_parent: u64,
        to_name: OsString,
        displaced: Option<PathBuf>,
        from_synced: bool,
        to_synced: bool,
    },
}

impl UndoRecord {
    /// Bytes this record's change added to a file (what a power cut drops if it undoes it).
    pub(crate) fn written_bytes(&self) -> u64 {
        match self {
            UndoRecord::Content { new_len, .. } => *new_len,
            _ => 0,
        }
    }
}
