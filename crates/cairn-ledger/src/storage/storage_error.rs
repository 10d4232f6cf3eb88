use thiserror::Error;

/// What went wrong with a storage operation, independent of the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageErrorKind {
    NotFound,
    AlreadyExists,
    UnexpectedEof,
    /// ENOSPC / EDQUOT: nothing may be assumed written.
    NoSpace,
    PermissionDenied,
    ReadOnly,
    TooLarge,
    /// An injected or unclassified I/O failure.
    Other,
}

/// A storage failure naming the operation and the file.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{op} {name}: {kind:?}: {message}")]
pub struct StorageError {
    pub kind: StorageErrorKind,
    pub op: &'static str,
    pub name: String,
    pub message: String,
}

impl StorageError {
    pub fn new(kind: StorageErrorKind, op: &'static str, name: &str, message: impl Into<String>) -> Self {
        StorageError { kind, op, name: name.to_string(), message: message.into() }
    }
}
