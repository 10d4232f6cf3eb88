//! The ledger's view of a directory of files. The ledger core only ever touches disk through
//! [`Storage`]; `cairn-fs` implements it with real files and fsync, [`MemStorage`] in memory with
//! injectable faults for tests and the simulator.
//!
//! # Correctness rules every implementation follows
//! 1. `append`/`write_at`/`truncate` are visible to reads at once but durable only after `sync`
//!    of that file returns.
//! 2. `create` and `rename` are visible at once but their directory entries are durable only
//!    after `sync_dir` returns. `rename` is atomic and refuses to replace an existing file.
//! 3. After a crash, a file holds its last synced content plus possibly any prefix of what was
//!    appended after it (a torn tail); a file whose creation was not dir-synced may be missing;
//!    a rename not dir-synced may be undone.
//! 4. Names are plain file names (no separators); `list` returns them sorted.

mod conformance;
mod file_name;
mod mem_storage;
mod storage_error;
mod storage_op;

pub use conformance::run_conformance_suite;
pub use file_name::{MAX_FILE_NAME_BYTES, check_file_name};
pub use mem_storage::{InjectedError, MemStorage, StorageFaults};
pub use storage_error::{StorageError, StorageErrorKind};
pub use storage_op::StorageOp;

/// A directory of ledger or snapshot files.
pub trait Storage: Send + Sync {
    /// File names in the directory, sorted.
    fn list(&self) -> Result<Vec<String>, StorageError>;
    /// Current length of `name` in bytes.
    fn size(&self, name: &str) -> Result<u64, StorageError>;
    /// Reads exactly `buf.len()` bytes at `offset`; a short file is an `UnexpectedEof` error.
    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> Result<(), StorageError>;
    /// Creates an empty file; an existing file is an `AlreadyExists` error.
    fn create(&mut self, name: &str) -> Result<(), StorageError>;
    /// Appends `data` at the end of `name`.
    fn append(&mut self, name: &str, data: &[u8]) -> Result<(), StorageError>;
    /// Overwrites bytes inside the current length of `name`.
    fn write_at(&mut self, name: &str, offset: u64, data: &[u8]) -> Result<(), StorageError>;
    /// Shrinks `name` to `len` bytes.
    fn truncate(&mut self, name: &str, len: u64) -> Result<(), StorageError>;
    /// Makes the content of `name` durable (fsync; or only a flush in `flush` durability mode).
    fn sync(&mut self, name: &str) -> Result<(), StorageError>;
    /// Atomically renames `from` to `to`; refuses to replace an existing `to`.
    fn rename(&mut self, from: &str, to: &str) -> Result<(), StorageError>;
    /// Makes creations and renames in the directory durable.
    fn sync_dir(&mut self) -> Result<(), StorageError>;

    /// Whole content of `name`.
    fn read_all(&self, name: &str) -> Result<Vec<u8>, StorageError> {
        let len = self.size(name)?;
        let len = usize::try_from(len)
            .map_err(|_| StorageError::new(StorageErrorKind::TooLarge, "read", name, "file larger than memory"))?;
        let mut buf = vec![0u8; len];
        self.read_at(name, 0, &mut buf)?;
        Ok(buf)
    }

    /// The first `len` bytes of `name`, a file that is never written, truncated or rewritten again
    /// (a committed chunk), as shared bytes. The default reads them; `cairn-fs` maps the file, so
    /// a node that keeps a long ledger's entries costs no copy and no fresh memory (the pages
    /// are the page cache's, and the kernel can drop them). Errors as [`Storage::read_at`].
    fn read_immutable(&self, name: &str, len: u64) -> Result<bytes::Bytes, StorageError> {
        let len = usize::try_from(len)
            .map_err(|_| StorageError::new(StorageErrorKind::TooLarge, "read_at", name, "file larger than memory"))?;
        let mut buf = vec![0u8; len];
        self.read_at(name, 0, &mut buf)?;
        Ok(buf.into())
    }

    /// Writes a whole file crash-safely: `name.tmp` → sync → rename → sync_dir. A crash at any
    /// step leaves either no `name` or the complete one (plus perhaps a stale `.tmp`).
    fn write_file_atomic(&mut self, name: &str, data: &[u8]) -> Result<(), StorageError> {
        let tmp = format!("{name}.tmp");
        if self.size(&tmp).is_ok() {
            // A stale temp file from an earlier crash: keep it aside rather than delete it.
            let aside = (0..).map(|n| format!("{tmp}.stale-{n}")).find(|n| self.size(n).is_err()).expect("a free name");
            self.rename(&tmp, &aside)?;
        }
        self.create(&tmp)?;
        self.append(&tmp, data)?;
        self.sync(&tmp)?;
        self.rename(&tmp, name)?;
        self.sync_dir()
    }
}
