//! Where each inode the kernel knows lives in the backing directory.
//!
//! Inode numbers are the backing filesystem's (`st_ino`), except the mount's root, which FUSE
//! calls 1. Nothing in the backing directory is ever deleted (removed entries go to the
//! graveyard), so a number is never reused for another file while the mount lives.
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub(crate) const ROOT_INO: u64 = 1;

#[derive(Debug)]
pub(crate) struct InodePaths {
    root: PathBuf,
    by_ino: HashMap<u64, PathBuf>,
}

impl InodePaths {
    pub(crate) fn new(root: &Path) -> InodePaths {
        let mut paths = InodePaths { root: root.to_path_buf(), by_ino: HashMap::new() };
        paths.by_ino.insert(ROOT_INO, root.to_path_buf());
        paths
    }

    /// The FUSE inode number of the backing file at `path` with metadata `meta`.
    pub(crate) fn ino_of(&self, path: &Path, meta: &std::fs::Metadata) -> u64 {
        if path == self.root {
            return ROOT_INO;
        }
        let ino = meta.ino();
        assert_ne!(ino, ROOT_INO, "backing inode 1 at {} collides with the FUSE root", path.display());
        ino
    }

    pub(crate) fn insert(&mut self, ino: u64, path: PathBuf) {
        self.by_ino.insert(ino, path);
    }

    pub(crate) fn get(&self, ino: u64) -> Option<&PathBuf> {
        self.by_ino.get(&ino)
    }

    /// `from` (and everything under it) now lives at `to`.
    pub(crate) fn moved(&mut self, from: &Path, to: &Path) {
        for path in self.by_ino.values_mut() {
            if let Ok(rest) = path.strip_prefix(from) {
                *path = if rest.as_os_str().is_empty() { to.to_path_buf() } else { to.join(rest) };
            }
        }
    }

    /// Forgets everything and maps the backing tree afresh (after a power cut, when the
    /// kernel's view is rebuilt by lookups).
    pub(crate) fn rebuild(&mut self) {
        self.by_ino.clear();
        self.by_ino.insert(ROOT_INO, self.root.clone());
        let mut dirs = vec![self.root.clone()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
                if meta.is_dir() {
                    dirs.push(path.clone());
                }
                self.by_ino.insert(meta.ino(), path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_a_directory_moves_what_is_under_it() {
        let root = Path::new("/b/root");
        let mut paths = InodePaths::new(root);
        paths.insert(5, root.join("d"));
        paths.insert(6, root.join("d/f"));
        paths.insert(7, root.join("dd"));
        paths.moved(&root.join("d"), &root.join("e"));
        assert_eq!(paths.get(5).unwrap(), &root.join("e"));
        assert_eq!(paths.get(6).unwrap(), &root.join("e/f"));
        assert_eq!(paths.get(7).unwrap(), &root.join("dd"), "a sibling sharing a name prefix stays");
    }
}
