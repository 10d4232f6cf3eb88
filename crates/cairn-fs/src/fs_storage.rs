//! [`Storage`] over a real directory with `std::fs`.
//!
//! # Invariants and assumptions
//! - This `FsStorage` is the only writer of its directory (one process, one instance). `rename`
//!   refuses to replace a file by checking that the target is absent and then calling
//!   `rename(2)`; another writer could race that check.
//! - Every name passes [`check_file_name`] before it becomes a path, so no operation reaches
//!   outside the directory.
//! - A read-only storage refuses every `&mut self` operation with `ReadOnly` before touching the
//!   disk, opens files read-only, and never creates the directory.
//! - At most [`MAX_OPEN_FILES`] handles are cached, each under its file's current name (`rename`
//!   moves it). Writable handles are opened `O_APPEND`, so an append is one `write(2)` at the
//!   end of the file. `write_at` opens its own handle because Linux's `pwrite` ignores the offset
//!   on `O_APPEND` files. Durability is per file, not per handle: `fdatasync` on the cached handle
//!   covers writes made through any handle.
//! - There is no user-space buffer: every write reaches the kernel before the call returns, so
//!   reads see it at once (rule 1 of [`Storage`]), and in [`Durability::Flush`] mode the flush
//!   has nothing left to do; the data then survives a process crash but not power loss.

use crate::Durability;
use crate::io_error::storage_error;
use cairn_ledger::storage::{Storage, StorageError, StorageErrorKind, StorageOp, check_file_name};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Most file handles kept open at once; when the cache is full it is emptied, so a burst of reads
/// over many old chunks cannot exhaust file descriptors.
pub const MAX_OPEN_FILES: usize = 64;

/// A directory of ledger or snapshot files on a real file system.
#[derive(Debug)]
pub struct FsStorage {
    dir: PathBuf,
    durability: Durability,
    read_only: bool,
    /// Open handles by file name, shared with concurrent readers.
    open_files: Mutex<HashMap<String, Arc<File>>>,
}

impl FsStorage {
    /// Opens the storage in `dir`, creating the directory if missing unless `read_only`. A newly
    /// created directory's entry is made durable too (every missing level).
    pub fn open(dir: impl Into<PathBuf>, durability: Durability, read_only: bool) -> Result<Self, StorageError> {
        let dir = dir.into();
        let shown = dir.display().to_string();
        let fail = |err: io::Error| storage_error("open", &shown, &err, "");
        if !read_only {
            crate::create_dir_durably(&dir).map_err(fail)?;
        }
        if !fs::metadata(&dir).map_err(fail)?.is_dir() {
            return Err(StorageError::new(StorageErrorKind::Other, "open", &shown, "not a directory"));
        }
        Ok(FsStorage { dir, durability, read_only, open_files: Mutex::default() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn durability(&self) -> Durability {
        self.durability
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The path of `name`, once `name` is known to be a plain file name and `op` allowed.
    fn path(&self, op: StorageOp, name: &str) -> Result<PathBuf, StorageError> {
        check_file_name(op.name(), name)?;
        self.check_writable(op, name)?;
        Ok(self.dir.join(name))
    }

    fn check_writable(&self, op: StorageOp, name: &str) -> Result<(), StorageError> {
        if op.is_mutation() && self.read_only {
            return Err(StorageError::new(StorageErrorKind::ReadOnly, op.name(), name, "storage opened read-only"));
        }
        Ok(())
    }

    fn error(&self, op: StorageOp, name: &str, err: &io::Error) -> StorageError {
        storage_error(op.name(), name, err, &format!(" in {}", self.dir.display()))
    }

    fn out_of_bounds(&self, op: StorageOp, name: &str, offset: u64, len: usize) -> StorageError {
        let message = format!("{len} bytes at offset {offset} pass the end of the file in {}", self.dir.display());
        StorageError::new(StorageErrorKind::UnexpectedEof, op.name(), name, message)
    }

    fn open_files(&self) -> MutexGuard<'_, HashMap<String, Arc<File>>> {
        // The map only holds handles; it is consistent after any panic.
        self.open_files.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn cache(&self, name: &str, file: File) -> Arc<File> {
        let file = Arc::new(file);
        let mut open = self.open_files();
        if open.len() >= MAX_OPEN_FILES {
            open.clear();
        }
        open.insert(name.to_string(), Arc::clone(&file));
        file
    }

    /// The cached handle of the existing file `name`, opened if needed.
    fn handle(&self, op: StorageOp, name: &str, path: &Path) -> Result<Arc<File>, StorageError> {
        if let Some(file) = self.open_files().get(name) {
            return Ok(Arc::clone(file));
        }
        let file = OpenOptions::new()
            .read(true)
            .append(!self.read_only)
            .open(path)
            .map_err(|err| self.error(op, name, &err))?;
        Ok(self.cache(name, file))
    }

    fn file_len(&self, op: StorageOp, name: &str, path: &Path) -> Result<u64, StorageError> {
        Ok(fs::metadata(path).map_err(|err| self.error(op, name, &err))?.len())
    }

    /// Fails with `UnexpectedEof` unless `len` bytes at `offset` lie inside the file.
    fn check_inside(
        &self,
        op: StorageOp,
        name: &str,
        path: &Path,
        offset: u64,
        len: usize,
    ) -> Result<(), StorageError> {
        let file_len = self.file_len(op, name, path)?;
        if offset.checked_add(len as u64).is_some_and(|end| end <= file_len) {
            Ok(())
        } else {
            Err(self.out_of_bounds(op, name, offset, len))
        }
    }
}

impl Storage for FsStorage {
    fn list(&self) -> Result<Vec<String>, StorageError> {
        let op = StorageOp::List;
        let shown = self.dir.display().to_string();
        let fail = |err: io::Error| storage_error(op.name(), &shown, &err, "");
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(fail)? {
            let entry = entry.map_err(fail)?;
            if !entry.file_type().map_err(fail)?.is_file() {
                continue;
            }
            let name = entry.file_name().into_string().map_err(|raw| {
                let message = format!("file name is not UTF-8 in {shown}");
                StorageError::new(StorageErrorKind::Other, op.name(), &raw.to_string_lossy(), message)
            })?;
            names.push(name);
        }
        names.sort();
        Ok(names)
    }

    fn size(&self, name: &str) -> Result<u64, StorageError> {
        let op = StorageOp::Size;
        let path = self.path(op, name)?;
        self.file_len(op, name, &path)
    }

    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        let op = StorageOp::ReadAt;
        let path = self.path(op, name)?;
        // `pread` takes a signed offset: refuse what no file can hold before it sees the value.
        let end = offset.checked_add(buf.len() as u64).filter(|&end| end <= i64::MAX as u64);
        if end.is_none() {
            return Err(self.out_of_bounds(op, name, offset, buf.len()));
        }
        if buf.is_empty() {
            return self.check_inside(op, name, &path, offset, 0);
        }
        let file = self.handle(op, name, &path)?;
        file.read_exact_at(buf, offset).map_err(|err| match err.kind() {
            io::ErrorKind::UnexpectedEof => self.out_of_bounds(op, name, offset, buf.len()),
            _ => self.error(op, name, &err),
        })
    }

    fn read_immutable(&self, name: &str, len: u64) -> Result<bytes::Bytes, StorageError> {
        let op = StorageOp::ReadAt;
        let path = self.path(op, name)?;
        let Ok(wanted) = usize::try_from(len) else {
            return Err(self.out_of_bounds(op, name, 0, usize::MAX));
        };
        if len == 0 {
            return Ok(bytes::Bytes::new());
        }
        // Map only what the file holds: touching a mapped page past the end would be SIGBUS.
        self.check_inside(op, name, &path, 0, wanted)?;
        let file = self.handle(op, name, &path)?;
        // SAFETY: the caller promises the file is immutable (a committed chunk: this node never
        // writes, truncates or rewrites it again), and its length was checked above. Another
        // process that truncated a committed chunk under a running node would make a later read
        // of these bytes fault (SIGBUS), as for any memory-mapped store; one that rewrote it
        // would change bytes this node already verified (a follower that receives them checks
        // them again).
        match unsafe { memmap2::MmapOptions::new().len(wanted).populate().map(&*file) } {
            Ok(map) => {
                // Populated: the pages are mapped in this call (on the thread that reads ahead),
                // not one fault at a time; the ledger is then read front to back.
                let _ = map.advise(memmap2::Advice::Sequential);
                Ok(bytes::Bytes::from_owner(map))
            }
            // Out of mappings (`vm.max_map_count`) or address space: read it instead.
            Err(_) => {
                let mut buf = vec![0u8; wanted];
                self.read_at(name, 0, &mut buf)?;
                Ok(buf.into())
            }
        }
    }

    fn create(&mut self, name: &str) -> Result<(), StorageError> {
        let op = StorageOp::Create;
        let path = self.path(op, name)?;
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .open(path)
            .map_err(|err| self.error(op, name, &err))?;
        self.cache(name, file);
        Ok(())
    }

    fn append(&mut self, name: &str, data: &[u8]) -> Result<(), StorageError> {
        let op = StorageOp::Append;
        let path = self.path(op, name)?;
        let file = self.handle(op, name, &path)?;
        (&*file).write_all(data).map_err(|err| self.error(op, name, &err))
    }

    fn write_at(&mut self, name: &str, offset: u64, data: &[u8]) -> Result<(), StorageError> {
        let op = StorageOp::WriteAt;
        let path = self.path(op, name)?;
        self.check_inside(op, name, &path, offset, data.len())?;
        if data.is_empty() {
            return Ok(());
        }
        let file = OpenOptions::new().write(true).open(&path).map_err(|err| self.error(op, name, &err))?;
        file.write_all_at(data, offset).map_err(|err| self.error(op, name, &err))
    }

    fn truncate(&mut self, name: &str, len: u64) -> Result<(), StorageError> {
        let op = StorageOp::Truncate;
        let path = self.path(op, name)?;
        let old_len = self.file_len(op, name, &path)?;
        if len > old_len {
            let message =
                format!("truncate to {len} bytes would grow the {old_len}-byte file in {}", self.dir.display());
            return Err(StorageError::new(StorageErrorKind::UnexpectedEof, op.name(), name, message));
        }
        let file = self.handle(op, name, &path)?;
        file.set_len(len).map_err(|err| self.error(op, name, &err))
    }

    fn sync(&mut self, name: &str) -> Result<(), StorageError> {
        let op = StorageOp::Sync;
        let path = self.path(op, name)?;
        let file = self.handle(op, name, &path)?;
        let synced = match self.durability {
            Durability::Fsync => file.sync_data(),
            Durability::Flush => (&*file).flush(),
        };
        synced.map_err(|err| self.error(op, name, &err))
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), StorageError> {
        let op = StorageOp::Rename;
        let from_path = self.path(op, from)?;
        let to_path = self.path(op, to)?;
        fs::symlink_metadata(&from_path).map_err(|err| self.error(op, from, &err))?;
        match fs::symlink_metadata(&to_path) {
            Ok(_) => {
                let message = format!("rename target exists in {}", self.dir.display());
                return Err(StorageError::new(StorageErrorKind::AlreadyExists, op.name(), to, message));
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(self.error(op, to, &err)),
        }
        fs::rename(&from_path, &to_path).map_err(|err| self.error(op, from, &err))?;
        let mut open = self.open_files();
        open.remove(to);
        if let Some(file) = open.remove(from) {
            open.insert(to.to_string(), file);
        }
        Ok(())
    }

    fn sync_dir(&mut self) -> Result<(), StorageError> {
        let op = StorageOp::SyncDir;
        let shown = self.dir.display().to_string();
        self.check_writable(op, &shown)?;
        match self.durability {
            Durability::Fsync => File::open(&self.dir)
                .and_then(|dir| dir.sync_all())
                .map_err(|err| storage_error(op.name(), &shown, &err, "")),
            Durability::Flush => Ok(()),
        }
    }
}
