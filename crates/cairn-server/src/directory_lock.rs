//! Each node holds an exclusive lock on its own directories (issue 11, finding 6): two
//! processes that share a `node_data_directory`, `ledger.directory` or `snapshots.directory`
//! (a copy-pasted configuration, a node started twice) would interleave writes to the same
//! files without noticing. The second one refuses to start, naming the directory and the
//! process that holds it.
//!
//! The lock is `flock(2)` on the directory itself (no lock file: CCF's tools list every file in
//! a ledger or snapshot directory), held until the process exits, so a SIGKILLed node leaves
//! no stale lock. The holder is named from `/proc/locks` (Linux), which lists the pid of each
//! lock by inode.
use anyhow::{Context, bail};
use std::fs::{File, TryLockError};
use std::path::Path;

/// Locks held for the life of the node.
#[derive(Debug)]
pub struct DirectoryLocks {
    _held: Vec<File>,
}

/// Locks each `(config key, directory)`, creating directories that do not exist yet.
pub fn lock_directories(dirs: &[(&str, &Path)]) -> anyhow::Result<DirectoryLocks> {
    let mut held = Vec::new();
    for (key, dir) in dirs {
        cairn_fs::create_dir_durably(dir).with_context(|| format!("creating {key} {}", dir.display()))?;
        let file = File::open(dir).with_context(|| format!("opening {key} {}", dir.display()))?;
        match file.try_lock() {
            Ok(()) => held.push(file),
            Err(TryLockError::WouldBlock) => bail!(
                "{key} {} is in use by another process{}: two nodes cannot share a directory; stop the other \
                 one, or give this node directories of its own",
                dir.display(),
                holder(dir).map(|h| format!(" ({h})")).unwrap_or_default()
            ),
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {key} {}", dir.display()));
            }
        }
    }
    Ok(DirectoryLocks { _held: held })
}

/// "pid N: command line" of the process whose `flock` is on `dir`, from `/proc/locks`.
fn holder(dir: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(dir).ok()?.ino();
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let pid = locks.lines().find_map(|line| {
        // "1: FLOCK  ADVISORY  WRITE 12345 08:01:1234567 0 EOF"
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (pid, dev_inode) = (fields.get(4)?, fields.get(5)?);
        let matches = fields.get(1) == Some(&"FLOCK") && dev_inode.rsplit(':').next() == Some(&inode.to_string());
        matches.then(|| pid.parse::<u32>().ok()).flatten()
    })?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ").trim().to_string();
    Some(match cmdline.is_empty() {
        true => format!("pid {pid}"),
        false => format!("pid {pid}: {cmdline}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_naming_the_directory_and_the_holder() {
        let tmp = tempfile::tempdir().unwrap();
        let ledger = tmp.path().join("ledger");
        let first = lock_directories(&[("ledger.directory", &ledger)]).unwrap();
        let err = lock_directories(&[("ledger.directory", &ledger)]).unwrap_err().to_string();
        assert!(err.contains("ledger.directory") && err.contains(&ledger.display().to_string()), "{err}");
        assert!(err.contains(&format!("pid {}", std::process::id())), "the holder is named: {err}");
        drop(first);
        lock_directories(&[("ledger.directory", &ledger)]).expect("free once the holder let go");
        assert_eq!(std::fs::read_dir(&ledger).unwrap().count(), 0, "no lock file is left in the directory");
    }
}
