//! The one rule for file names, shared by every [`Storage`](super::Storage) implementation so they
//! refuse exactly the same names.
//!
//! # Invariant
//! A name accepted here is a single, non-empty path component: it cannot reach outside the
//! storage directory (no `/`, no `\`, no `..`), name the directory itself (`.`), or be cut short
//! by a C string API (no NUL).

use super::{StorageError, StorageErrorKind};

/// Longest accepted name, the usual `NAME_MAX` of Linux file systems.
pub const MAX_FILE_NAME_BYTES: usize = 255;

/// Checks that `name` is a plain file name; the error names `op` and `name`.
pub fn check_file_name(op: &'static str, name: &str) -> Result<(), StorageError> {
    let problem = if name.is_empty() {
        "empty file name"
    } else if name == "." || name.contains("..") {
        "file name must not be `.` or contain `..`"
    } else if name.contains(['/', '\\']) {
        "file name must not contain a path separator"
    } else if name.contains('\0') {
        "file name must not contain NUL"
    } else if name.len() > MAX_FILE_NAME_BYTES {
        "file name longer than 255 bytes"
    } else {
        return Ok(());
    };
    Err(StorageError::new(StorageErrorKind::Other, op, name, problem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_accepted_and_paths_refused() {
        for ok in ["ledger_1-10.committed", "snapshot_5_6.committed", "a.tmp", ".hidden"] {
            assert_eq!(check_file_name("create", ok), Ok(()), "{ok}");
        }
        let long = "x".repeat(MAX_FILE_NAME_BYTES + 1);
        for bad in ["", ".", "..", "../x", "a/b", "/abs", "a\\b", "a..b", "nul\0", long.as_str()] {
            let err = check_file_name("create", bad).unwrap_err();
            assert_eq!((err.kind, err.op, err.name.as_str()), (StorageErrorKind::Other, "create", bad));
        }
    }
}
