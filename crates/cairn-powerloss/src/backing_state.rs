//! The filesystem's state and operations, by inode number, over a backing directory: every
//! change is applied to the backing files at once (so reads see it) and remembered in the
//! [`UndoLog`] until an `fsync` covers it; cutting the power undoes, newest first, whatever is
//! still remembered. No FUSE types here: the operations are tested directly.
use crate::cut_report::CutReport;
use crate::inode_paths::{InodePaths, ROOT_INO};
use crate::undo_log::UndoLog;
use crate::undo_record::UndoRecord;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An open file: the backing descriptor (read-write whenever the caller may write, so that an
/// undo can read what a write replaces) and whether writes go to the end.
#[derive(Debug)]
struct Handle {
    ino: u64,
    file: Arc<File>,
    append: bool,
}

#[derive(Debug)]
pub(crate) struct BackingState {
    root: PathBuf,
    graveyard: PathBuf,
    buried: u64,
    paths: InodePaths,
    handles: HashMap<u64, Handle>,
    next_fh: u64,
    log: UndoLog,
    powered: bool,
}

fn eio() -> io::Error {
    io::Error::from_raw_os_error(libc::EIO)
}

fn errno(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code)
}

/// Reads `len` bytes at `offset` (fewer at the end of the file).
fn read_at(file: &File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        let n = file.read_at(&mut buf[filled..], offset + filled as u64)?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    buf.truncate(filled);
    Ok(buf)
}

impl BackingState {
    /// The state over `backing`: the visible tree lives in `backing/root`, removed entries in
    /// `backing/graveyard`.
    pub(crate) fn new(backing: &Path) -> io::Result<BackingState> {
        let root = backing.join("root");
        let graveyard = backing.join("graveyard");
        fs::create_dir_all(&root)?;
        fs::create_dir_all(&graveyard)?;
        Ok(BackingState {
            paths: InodePaths::new(&root),
            root,
            graveyard,
            buried: 0,
            handles: HashMap::new(),
            next_fh: 1,
            log: UndoLog::default(),
            powered: true,
        })
    }

    fn powered(&self) -> io::Result<()> {
        if self.powered { Ok(()) } else { Err(eio()) }
    }

    fn path(&self, ino: u64) -> io::Result<PathBuf> {
        self.paths.get(ino).cloned().ok_or_else(|| errno(libc::ENOENT))
    }

    fn child(&self, parent: u64, name: &OsStr) -> io::Result<PathBuf> {
        Ok(self.path(parent)?.join(name))
    }

    /// Looks a path up, remembering where its inode lives.
    fn stat(&mut self, path: PathBuf) -> io::Result<(u64, Metadata)> {
        let meta = fs::symlink_metadata(&path)?;
        let ino = self.paths.ino_of(&path, &meta);
        self.paths.insert(ino, path);
        Ok((ino, meta))
    }

    /// Moves `path` into the graveyard (nothing is ever deleted: inode numbers stay unique).
    fn bury(&mut self, path: &Path) -> io::Result<PathBuf> {
        self.buried += 1;
        let grave = self.graveyard.join(self.buried.to_string());
        fs::rename(path, &grave)?;
        self.paths.moved(path, &grave);
        Ok(grave)
    }

    pub(crate) fn lookup(&mut self, parent: u64, name: &OsStr) -> io::Result<(u64, Metadata)> {
        self.powered()?;
        let path = self.child(parent, name)?;
        self.stat(path)
    }

    pub(crate) fn getattr(&mut self, ino: u64, fh: Option<u64>) -> io::Result<(u64, Metadata)> {
        self.powered()?;
        if let Some(handle) = fh.and_then(|fh| self.handles.get(&fh)) {
            return Ok((handle.ino, handle.file.metadata()?));
        }
        let path = self.path(ino)?;
        Ok((ino, fs::symlink_metadata(path)?))
    }

    pub(crate) fn set_mode(&mut self, ino: u64, mode: u32) -> io::Result<()> {
        self.powered()?;
        fs::set_permissions(self.path(ino)?, fs::Permissions::from_mode(mode & 0o7777))
    }

    /// `truncate`/`ftruncate`: remembers the tail it cuts (or the size it grows from).
    pub(crate) fn set_size(&mut self, ino: u64, fh: Option<u64>, size: u64) -> io::Result<()> {
        self.powered()?;
        let file = match fh.and_then(|fh| self.handles.get(&fh)) {
            Some(handle) => handle.file.clone(),
            None => Arc::new(OpenOptions::new().read(true).write(true).open(self.path(ino)?)?),
        };
        let old_size = file.metadata()?.len();
        let old = if size < old_size { read_at(&file, size, (old_size - size) as usize)? } else { Vec::new() };
        let new_len = size.saturating_sub(old_size);
        file.set_len(size)?;
        let offset = size.min(old_size);
        self.log.push(UndoRecord::Content { ino, file, offset, old, new_len, old_size });
        Ok(())
    }

    /// `mknod` of a regular file.
    pub(crate) fn mknod(&mut self, parent: u64, name: &OsStr, mode: u32) -> io::Result<(u64, Metadata)> {
        self.powered()?;
        if mode & libc::S_IFMT != libc::S_IFREG {
            return Err(errno(libc::EPERM));
        }
        let path = self.child(parent, name)?;
        OpenOptions::new().write(true).create_new(true).mode(mode & 0o7777).open(&path)?;
        self.log.push(UndoRecord::Created { parent, name: name.to_os_string() });
        self.stat(path)
    }

    pub(crate) fn mkdir(&mut self, parent: u64, name: &OsStr, mode: u32) -> io::Result<(u64, Metadata)> {
        self.powered()?;
        let path = self.child(parent, name)?;
        fs::create_dir(&path)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode & 0o7777))?;
        self.log.push(UndoRecord::Created { parent, name: name.to_os_string() });
        self.stat(path)
    }

    /// `open(O_CREAT)`: returns the handle, the inode and its metadata.
    pub(crate) fn create(
        &mut self,
        parent: u64,
        name: &OsStr,
        mode: u32,
        flags: i32,
    ) -> io::Result<(u64, u64, Metadata)> {
        self.powered()?;
        let path = self.child(parent, name)?;
        let existed = fs::symlink_metadata(&path).is_ok();
        if existed && flags & libc::O_EXCL != 0 {
            return Err(errno(libc::EEXIST));
        }
        let file = OpenOptions::new().read(true).write(true).create(true).mode(mode & 0o7777).open(&path)?;
        if !existed {
            self.log.push(UndoRecord::Created { parent, name: name.to_os_string() });
        }
        let (ino, _) = self.stat(path)?;
        let fh = self.add_handle(ino, file, flags);
        if existed && flags & libc::O_TRUNC != 0 {
            self.set_size(ino, Some(fh), 0)?;
        }
        let meta = self.handles[&fh].file.metadata()?;
        Ok((fh, ino, meta))
    }

    fn add_handle(&mut self, ino: u64, file: File, flags: i32) -> u64 {
        let fh = self.next_fh;
        self.next_fh += 1;
        self.handles.insert(fh, Handle { ino, file: Arc::new(file), append: flags & libc::O_APPEND != 0 });
        fh
    }

    pub(crate) fn open(&mut self, ino: u64, flags: i32) -> io::Result<u64> {
        self.powered()?;
        let path = self.path(ino)?;
        let writes = flags & libc::O_ACCMODE != libc::O_RDONLY;
        let file = OpenOptions::new().read(true).write(writes).open(&path)?;
        let fh = self.add_handle(ino, file, flags);
        if writes && flags & libc::O_TRUNC != 0 {
            self.set_size(ino, Some(fh), 0)?;
        }
        Ok(fh)
    }

    pub(crate) fn release(&mut self, fh: u64) {
        self.handles.remove(&fh);
    }

    pub(crate) fn read(&mut self, fh: u64, offset: u64, size: u32) -> io::Result<Vec<u8>> {
        self.powered()?;
        let handle = self.handles.get(&fh).ok_or_else(|| errno(libc::EBADF))?;
        read_at(&handle.file, offset, size as usize)
    }

    /// A write: applied to the backing file, the bytes it replaces remembered.
    pub(crate) fn write(&mut self, fh: u64, offset: u64, data: &[u8]) -> io::Result<usize> {
        self.powered()?;
        let handle = self.handles.get(&fh).ok_or_else(|| errno(libc::EBADF))?;
        let file = handle.file.clone();
        let ino = handle.ino;
        let old_size = file.metadata()?.len();
        let offset = if handle.append { old_size } else { offset };
        let replaced = old_size.saturating_sub(offset).min(data.len() as u64);
        let old = if replaced > 0 { read_at(&file, offset, replaced as usize)? } else { Vec::new() };
        file.write_all_at(data, offset)?;
        let new_len = data.len() as u64;
        self.log.push(UndoRecord::Content { ino, file, offset, old, new_len, old_size });
        Ok(data.len())
    }

    /// `fsync`/`fdatasync` of a file (the backing disk is not synced: only a simulated power
    /// cut loses data here).
    pub(crate) fn fsync(&mut self, ino: u64, fh: u64) -> io::Result<()> {
        self.powered()?;
        let ino = self.handles.get(&fh).map_or(ino, |h| h.ino);
        self.log.file_synced(ino);
        Ok(())
    }

    pub(crate) fn fsyncdir(&mut self, ino: u64) -> io::Result<()> {
        self.powered()?;
        self.log.dir_synced(ino);
        Ok(())
    }

    pub(crate) fn unlink(&mut self, parent: u64, name: &OsStr) -> io::Result<()> {
        self.powered()?;
        let path = self.child(parent, name)?;
        if fs::symlink_metadata(&path)?.is_dir() {
            return Err(errno(libc::EISDIR));
        }
        let grave = self.bury(&path)?;
        self.log.push(UndoRecord::Removed { parent, name: name.to_os_string(), grave });
        Ok(())
    }

    pub(crate) fn rmdir(&mut self, parent: u64, name: &OsStr) -> io::Result<()> {
        self.powered()?;
        let path = self.child(parent, name)?;
        if !fs::symlink_metadata(&path)?.is_dir() {
            return Err(errno(libc::ENOTDIR));
        }
        if fs::read_dir(&path)?.next().is_some() {
            return Err(errno(libc::ENOTEMPTY));
        }
        let grave = self.bury(&path)?;
        self.log.push(UndoRecord::Removed { parent, name: name.to_os_string(), grave });
        Ok(())
    }

    pub(crate) fn rename(
        &mut self,
        from_parent: u64,
        from_name: &OsStr,
        to_parent: u64,
        to_name: &OsStr,
        no_replace: bool,
    ) -> io::Result<()> {
        self.powered()?;
        let from = self.child(from_parent, from_name)?;
        let to = self.child(to_parent, to_name)?;
        let moving = fs::symlink_metadata(&from)?;
        let displaced = match fs::symlink_metadata(&to) {
            Ok(_) if no_replace => return Err(errno(libc::EEXIST)),
            Ok(target) => {
                if target.is_dir() != moving.is_dir() {
                    return Err(errno(if target.is_dir() { libc::EISDIR } else { libc::ENOTDIR }));
                }
                if target.is_dir() && fs::read_dir(&to)?.next().is_some() {
                    return Err(errno(libc::ENOTEMPTY));
                }
                Some(self.bury(&to)?)
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
            Err(err) => return Err(err),
        };
        fs::rename(&from, &to)?;
        self.paths.moved(&from, &to);
        self.log.push(UndoRecord::Renamed {
            from_parent,
            from_name: from_name.to_os_string(),
            to_parent,
            to_name: to_name.to_os_string(),
            displaced,
            from_synced: false,
            to_synced: false,
        });
        Ok(())
    }

    /// The entries of a directory, `.` and `..` first, in name order.
    pub(crate) fn readdir(&mut self, ino: u64) -> io::Result<Vec<(u64, fs::FileType, OsString)>> {
        self.powered()?;
        let path = self.path(ino)?;
        let own = fs::symlink_metadata(&path)?;
        let parent_ino = match path.parent() {
            Some(parent) if ino != ROOT_INO => self.stat(parent.to_path_buf())?.0,
            _ => ROOT_INO,
        };
        let mut names: Vec<OsString> =
            fs::read_dir(&path)?.map(|e| e.map(|e| e.file_name())).collect::<Result<_, _>>()?;
        names.sort();
        let mut entries = vec![(ino, own.file_type(), OsString::from(".")), (parent_ino, own.file_type(), "..".into())];
        for name in names {
            if let Ok((child, meta)) = self.stat(path.join(&name)) {
                entries.push((child, meta.file_type(), name));
            }
        }
        Ok(entries)
    }

    pub(crate) fn backing_root(&self) -> &Path {
        &self.root
    }

    /// (changes, bytes written) that a power cut now would drop.
    pub(crate) fn pending(&self) -> (usize, u64) {
        self.log.pending()
    }

    /// The power goes out: from now on every operation fails with `EIO`, so nothing a dying
    /// process still has in flight reaches the disk.
    pub(crate) fn cut(&mut self) {
        self.powered = false;
    }

    /// Drops every change no `fsync` covered, newest first, and turns the power back on.
    ///
    /// With `torn_seed`, the newest write survives in part (a seeded-random prefix of it), as
    /// if the disk had written some of its sectors: older unsynced writes to that file are
    /// still dropped, and where they lay below the torn write's end the file reads zeros.
    pub(crate) fn restore(&mut self, torn_seed: Option<u64>) -> CutReport {
        let records = self.log.take();
        let mut report = CutReport::default();
        let torn_at = torn_seed.and_then(|_| records.iter().rposition(|r| r.written_bytes() > 1));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(torn_seed.unwrap_or(0));
        let mut kept: Option<KeptRange> = None;
        for (i, record) in records.into_iter().enumerate().rev() {
            if Some(i) == torn_at
                && let UndoRecord::Content { ino, offset, new_len, .. } = &record
            {
                let len = rng.random_range(1..*new_len);
                kept = Some(KeptRange { ino: *ino, start: *offset, end: offset + len });
                let name = self.paths.get(*ino).map_or_else(|| format!("inode {ino}"), |p| p.display().to_string());
                report.torn = Some((name, len, *new_len));
            }
            if let Err(e) = self.undo(record, kept.as_ref(), &mut report) {
                report.errors.push(e);
            }
        }
        self.handles.clear();
        self.paths.rebuild();
        self.powered = true;
        report
    }

    fn undo(&mut self, record: UndoRecord, kept: Option<&KeptRange>, report: &mut CutReport) -> Result<(), String> {
        match record {
            UndoRecord::Content { ino, file, offset, old, new_len, old_size } => {
                let kept = kept.filter(|k| k.ino == ino).map(|k| (k.start, k.end));
                undo_content(&file, offset, &old, new_len, old_size, kept)
                    .map_err(|e| format!("undoing a write at {offset} of inode {ino}: {e}"))?;
                report.writes_undone += 1;
                let kept_here = kept.map_or(0, |(s, e)| e.min(offset + new_len).saturating_sub(s.max(offset)));
                report.bytes_dropped += new_len - kept_here;
            }
            UndoRecord::Created { parent, name } => {
                let path = self.child(parent, &name).map_err(|e| format!("undoing the creation of {name:?}: {e}"))?;
                self.bury(&path).map_err(|e| format!("undoing the creation of {}: {e}", path.display()))?;
                report.entries_undone += 1;
            }
            UndoRecord::Removed { parent, name, grave } => {
                let path = self.child(parent, &name).map_err(|e| format!("undoing the removal of {name:?}: {e}"))?;
                fs::rename(&grave, &path).map_err(|e| format!("undoing the removal of {}: {e}", path.display()))?;
                self.paths.moved(&grave, &path);
                report.entries_undone += 1;
            }
            UndoRecord::Renamed { from_parent, from_name, to_parent, to_name, displaced, .. } => {
                let failed = |e: io::Error| format!("undoing the rename of {from_name:?} to {to_name:?}: {e}");
                let from = self.child(from_parent, &from_name).map_err(failed)?;
                let to = self.child(to_parent, &to_name).map_err(failed)?;
                fs::rename(&to, &from).map_err(failed)?;
                self.paths.moved(&to, &from);
                if let Some(grave) = displaced {
                    fs::rename(&grave, &to).map_err(failed)?;
                    self.paths.moved(&grave, &to);
                }
                report.entries_undone += 1;
            }
        }
        Ok(())
    }
}

/// The part of a torn write that survives a power cut: bytes `start..end` of file `ino`.
#[derive(Debug)]
struct KeptRange {
    ino: u64,
    start: u64,
    end: u64,
}

/// Takes back a write of `new_len` bytes at `offset` (over `old`, in a file then `old_size`
/// long), except the bytes in `kept` (a torn write's surviving part, which also keeps the file
/// at least that long). Bytes the write appended that end up below the final size read zeros.
fn undo_content(
    file: &File,
    offset: u64,
    old: &[u8],
    new_len: u64,
    old_size: u64,
    kept: Option<(u64, u64)>,
) -> io::Result<()> {
    let size = old_size.max(kept.map_or(0, |(_, end)| end));
    let written = (offset, offset + new_len);
    let mut undone = vec![written];
    if let Some((ks, ke)) = kept {
        undone = vec![(written.0, written.1.min(ks)), (written.0.max(ke), written.1)];
    }
    let old_end = offset + old.len() as u64;
    for (start, end) in undone.into_iter().filter(|(s, e)| s < e) {
        // Old bytes where the write replaced some; zeros where it appended, up to the size.
        let (os, oe) = (start, end.min(old_end));
        if os < oe {
            file.write_all_at(&old[(os - offset) as usize..(oe - offset) as usize], os)?;
        }
        let (zs, ze) = (start.max(old_end), end.min(size));
        if zs < ze {
            file.write_all_at(&vec![0u8; (ze - zs) as usize], zs)?;
        }
    }
    file.set_len(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> (tempfile::TempDir, BackingState) {
        let dir = tempfile::tempdir().unwrap();
        let state = BackingState::new(dir.path()).unwrap();
        (dir, state)
    }

    fn new_file(s: &mut BackingState, parent: u64, name: &str) -> (u64, u64) {
        let (fh, ino, _) = s.create(parent, OsStr::new(name), 0o644, libc::O_WRONLY | libc::O_APPEND).unwrap();
        (fh, ino)
    }

    fn read_all(s: &BackingState, name: &str) -> Option<Vec<u8>> {
        fs::read(s.backing_root().join(name)).ok()
    }

    #[test]
    fn unsynced_writes_are_dropped_synced_ones_kept() {
        let (_d, mut s) = state();
        let (fh, ino) = new_file(&mut s, ROOT_INO, "f");
        s.fsyncdir(ROOT_INO).unwrap();
        s.write(fh, 0, b"durable ").unwrap();
        s.fsync(ino, fh).unwrap();
        s.write(fh, 0, b"lost").unwrap();
        assert_eq!(read_all(&s, "f").unwrap(), b"durable lost", "writes are visible before the cut");
        assert_eq!(s.pending(), (1, 4));
        s.cut();
        assert_eq!(s.write(fh, 0, b"x").unwrap_err().raw_os_error(), Some(libc::EIO), "no power, no writes");
        let report = s.restore(None);
        assert_eq!(read_all(&s, "f").unwrap(), b"durable ");
        assert_eq!((report.writes_undone, report.bytes_dropped, report.entries_undone), (1, 4, 0));
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }

    #[test]
    fn a_synced_file_whose_directory_was_not_synced_disappears() {
        let (_d, mut s) = state();
        let (fh, ino) = new_file(&mut s, ROOT_INO, "f");
        s.write(fh, 0, b"data").unwrap();
        s.fsync(ino, fh).unwrap();
        s.cut();
        let report = s.restore(None);
        assert_eq!(read_all(&s, "f"), None);
        assert_eq!(report.entries_undone, 1);
    }

    #[test]
    fn an_overwrite_gets_its_old_bytes_back_and_a_truncation_its_tail() {
        let (_d, mut s) = state();
        let (fh, ino) = new_file(&mut s, ROOT_INO, "f");
        s.write(fh, 0, b"0123456789").unwrap();
        s.fsync(ino, fh).unwrap();
        s.fsyncdir(ROOT_INO).unwrap();
        let fh2 = s.open(ino, libc::O_RDWR).unwrap();
        s.write(fh2, 2, b"abcdefghijkl").unwrap();
        s.set_size(ino, Some(fh2), 5).unwrap();
        assert_eq!(read_all(&s, "f").unwrap(), b"01abc");
        s.cut();
        s.restore(None);
        assert_eq!(read_all(&s, "f").unwrap(), b"0123456789");
    }

    #[test]
    fn the_write_then_rename_then_sync_directory_pattern_survives() {
        let (_d, mut s) = state();
        let (fh, ino) = new_file(&mut s, ROOT_INO, "state.json");
        s.write(fh, 0, b"old").unwrap();
        s.fsync(ino, fh).unwrap();
        s.fsyncdir(ROOT_INO).unwrap();
        // Replace it: write a temporary file, sync it, rename over, sync the directory.
        let (tfh, tino) = new_file(&mut s, ROOT_INO, ".state.json.tmp");
        s.write(tfh, 0, b"new").unwrap();
        s.fsync(tino, tfh).unwrap();
        s.rename(ROOT_INO, OsStr::new(".state.json.tmp"), ROOT_INO, OsStr::new("state.json"), false).unwrap();
        s.fsyncdir(ROOT_INO).unwrap();
        s.cut();
        s.restore(None);
        assert_eq!(read_all(&s, "state.json").unwrap(), b"new");
        assert_eq!(read_all(&s, ".state.json.tmp"), None);
    }

    #[test]
    fn a_rename_without_a_directory_sync_is_undone_and_the_replaced_file_returns() {
        let (_d, mut s) = state();
        let (fh, ino) = new_file(&mut s, ROOT_INO, "state.json");
        s.write(fh, 0, b"old").unwrap();
        s.fsync(ino, fh).unwrap();
        s.fsyncdir(ROOT_INO).unwrap();
        let (tfh, tino) = new_file(&mut s, ROOT_INO, "tmp");
        s.write(tfh, 0, b"new").unwrap();
        s.fsync(tino, tfh).unwrap();
        s.rename(ROOT_INO, OsStr::new("tmp"), ROOT_INO, OsStr::new("state.json"), false).unwrap();
        s.unlink(ROOT_INO, OsStr::new("state.json")).unwrap();
        s.cut();
        let report = s.restore(None);
        assert_eq!(read_all(&s, "state.json").unwrap(), b"old");
        assert_eq!(read_all(&s, "tmp"), None);
        assert_eq!(report.entries_undone, 3);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }

    #[test]
    fn a_torn_last_write_keeps_a_prefix_of_it() {
        let (_d, mut s) = state();
        let (fh, ino) = new_file(&mut s, ROOT_INO, "f");
        s.fsyncdir(ROOT_INO).unwrap();
        s.write(fh, 0, b"head").unwrap();
        s.fsync(ino, fh).unwrap();
        s.write(fh, 0, b"AAAA").unwrap();
        s.write(fh, 0, b"BBBBBBBB").unwrap();
        s.cut();
        let report = s.restore(Some(7));
        let (_, kept, of) = report.torn.clone().expect("the last write is torn");
        assert_eq!(of, 8);
        assert!((1..8).contains(&kept));
        let mut expected = b"head".to_vec();
        expected.extend([0u8; 4]);
        expected.extend(std::iter::repeat_n(b'B', kept as usize));
        assert_eq!(
            read_all(&s, "f").unwrap(),
            expected,
            "the earlier unsynced write is gone (zeros below the torn one), the last kept in part"
        );
        assert_eq!(report.bytes_dropped, 4 + 8 - kept);
    }

    #[test]
    fn a_directory_created_but_never_synced_goes_with_its_contents() {
        let (_d, mut s) = state();
        let (dir, _) = s.mkdir(ROOT_INO, OsStr::new("ledger"), 0o755).unwrap();
        let (fh, ino) = new_file(&mut s, dir, "chunk");
        s.write(fh, 0, b"entries").unwrap();
        s.fsync(ino, fh).unwrap();
        s.fsyncdir(dir).unwrap();
        s.cut();
        s.restore(None);
        assert!(!s.backing_root().join("ledger").exists());
        let names = s.readdir(ROOT_INO).unwrap();
        assert_eq!(names.len(), 2, "only . and .. are left: {names:?}");
    }
}
