//! The changes no `fsync` has covered yet, oldest first: what a power cut takes back.
//!
//! The rules are those of a careful reading of POSIX (and of LazyFS): `fsync`/`fdatasync` of a
//! file makes its data durable, not its name; `fsync` of a directory makes the entries created,
//! removed or renamed in it durable. A rename between two directories is durable once both
//! have been synced.
use crate::undo_record::UndoRecord;

#[derive(Debug, Default)]
pub(crate) struct UndoLog {
    records: Vec<UndoRecord>,
}

impl UndoLog {
    pub(crate) fn push(&mut self, record: UndoRecord) {
        self.records.push(record);
    }

    /// `fsync` or `fdatasync` of file `ino`: its data is durable.
    pub(crate) fn file_synced(&mut self, ino: u64) {
        self.records.retain(|r| !matches!(r, UndoRecord::Content { ino: i, .. } if *i == ino));
    }

    /// `fsync` of directory `dir`: the entries changed in it are durable.
    pub(crate) fn dir_synced(&mut self, dir: u64) {
        for record in &mut self.records {
            if let UndoRecord::Renamed { from_parent, to_parent, from_synced, to_synced, .. } = record {
                *from_synced |= *from_parent == dir;
                *to_synced |= *to_parent == dir;
            }
        }
        self.records.retain(|r| match r {
            UndoRecord::Created { parent, .. } | UndoRecord::Removed { parent, .. } => *parent != dir,
            UndoRecord::Renamed { from_synced, to_synced, .. } => !(*from_synced && *to_synced),
            UndoRecord::Content { .. } => true,
        });
    }

    /// (records, bytes written) not yet durable.
    pub(crate) fn pending(&self) -> (usize, u64) {
        (self.records.len(), self.records.iter().map(UndoRecord::written_bytes).sum())
    }

    /// Everything not yet durable, oldest first; the log is empty afterwards.
    pub(crate) fn take(&mut self) -> Vec<UndoRecord> {
        std::mem::take(&mut self.records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use std::sync::Arc;

    fn content(ino: u64) -> UndoRecord {
        let file = Arc::new(tempfile::tempfile().unwrap());
        UndoRecord::Content { ino, file, offset: 0, old: Vec::new(), new_len: 10, old_size: 0 }
    }

    fn created(parent: u64, name: &str) -> UndoRecord {
        UndoRecord::Created { parent, name: OsString::from(name) }
    }

    fn renamed(from: u64, to: u64) -> UndoRecord {
        UndoRecord::Renamed {
            from_parent: from,
            from_name: "a".into(),
            to_parent: to,
            to_name: "b".into(),
            displaced: None,
            from_synced: false,
            to_synced: false,
        }
    }

    #[test]
    fn a_file_sync_covers_that_files_data_only() {
        let mut log = UndoLog::default();
        log.push(created(1, "f"));
        log.push(content(7));
        log.push(content(8));
        log.file_synced(7);
        let left = log.take();
        assert_eq!(left.len(), 2);
        assert!(
            matches!(left[0], UndoRecord::Created { .. }),
            "the new name is not durable before its directory is synced"
        );
        assert!(matches!(left[1], UndoRecord::Content { ino: 8, .. }));
    }

    #[test]
    fn a_directory_sync_covers_the_entries_changed_in_it() {
        let mut log = UndoLog::default();
        log.push(created(1, "f"));
        log.push(created(2, "g"));
        log.push(content(7));
        log.dir_synced(1);
        let left = log.take();
        assert_eq!(left.len(), 2);
        assert!(matches!(&left[0], UndoRecord::Created { parent: 2, .. }));
    }

    #[test]
    fn a_rename_between_directories_needs_both_synced() {
        let mut log = UndoLog::default();
        log.push(renamed(1, 2));
        log.dir_synced(2);
        assert_eq!(log.pending().0, 1);
        log.dir_synced(1);
        assert_eq!(log.pending().0, 0);
        log.push(renamed(3, 3));
        log.dir_synced(3);
        assert_eq!(log.pending().0, 0, "a rename within one directory is covered by that directory's sync");
    }

    #[test]
    fn pending_counts_the_bytes_written() {
        let mut log = UndoLog::default();
        log.push(content(7));
        log.push(created(1, "f"));
        log.push(content(7));
        assert_eq!(log.pending(), (3, 20));
    }
}
