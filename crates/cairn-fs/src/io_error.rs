//! Translation of [`std::io::Error`] into [`StorageError`], so the ledger sees one
//! platform-independent set of error kinds.
//!
//! # Invariant
//! Every error names the operation and the file (or directory) it concerns, and keeps the
//! operating system's own message.

use cairn_ledger::storage::{StorageError, StorageErrorKind};
use std::io;

/// `ENOSPC` on every Linux architecture.
const ENOSPC: i32 = 28;

pub(crate) fn storage_error(op: &'static str, name: &str, err: &io::Error, context: &str) -> StorageError {
    StorageError::new(storage_error_kind(err), op, name, format!("{err}{context}"))
}

pub(crate) fn storage_error_kind(err: &io::Error) -> StorageErrorKind {
    if err.raw_os_error() == Some(ENOSPC) {
        return StorageErrorKind::NoSpace;
    }
    match err.kind() {
        io::ErrorKind::NotFound => StorageErrorKind::NotFound,
        io::ErrorKind::AlreadyExists => StorageErrorKind::AlreadyExists,
        io::ErrorKind::UnexpectedEof => StorageErrorKind::UnexpectedEof,
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => StorageErrorKind::NoSpace,
        io::ErrorKind::PermissionDenied => StorageErrorKind::PermissionDenied,
        io::ErrorKind::ReadOnlyFilesystem => StorageErrorKind::ReadOnly,
        io::ErrorKind::FileTooLarge => StorageErrorKind::TooLarge,
        _ => StorageErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_errors_map_to_storage_error_kinds() {
        let table = [
            (2, StorageErrorKind::NotFound),          // ENOENT
            (5, StorageErrorKind::Other),             // EIO
            (13, StorageErrorKind::PermissionDenied), // EACCES
            (17, StorageErrorKind::AlreadyExists),    // EEXIST
            (27, StorageErrorKind::TooLarge),         // EFBIG
            (28, StorageErrorKind::NoSpace),          // ENOSPC
            (30, StorageErrorKind::ReadOnly),         // EROFS
            (122, StorageErrorKind::NoSpace),         // EDQUOT
        ];
        for (errno, kind) in table {
            assert_eq!(storage_error_kind(&io::Error::from_raw_os_error(errno)), kind, "errno {errno}");
        }
        let eof = io::Error::from(io::ErrorKind::UnexpectedEof);
        assert_eq!(storage_error_kind(&eof), StorageErrorKind::UnexpectedEof);
    }

    #[test]
    fn error_names_the_operation_and_file_and_keeps_the_os_message() {
        let err = storage_error("append", "ledger_1", &io::Error::from_raw_os_error(ENOSPC), " in /data");
        let message = err.to_string();
        assert!(message.starts_with("append ledger_1: NoSpace: "), "{message}");
        assert!(message.contains("os error 28") && message.ends_with(" in /data"), "{message}");
    }
}
