//! [`ConfigError`]: everything that makes a node configuration unusable. Every variant that is
//! about a key carries that key's full JSON path (`network.rpc_interfaces.primary.bind_address`,
//! `command.start.members[1].certificate_file`), so the operator knows exactly what to edit.
use std::path::PathBuf;

/// Why a node configuration was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file itself could not be read.
    #[error("cannot read configuration file {}: {source}", path.display())]
    Unreadable { path: PathBuf, source: std::io::Error },
    /// The text is not JSON.
    #[error("invalid JSON at line {line}, column {column}: {reason}")]
    InvalidJson { line: usize, column: usize, reason: String },
    /// A required key is absent.
    #[error("{key}: missing")]
    Missing { key: String },
    /// A key that neither Cairn nor CCF knows (typically a typo).
    #[error("unknown key {key}")]
    UnknownKey { key: String },
    /// A value of the wrong JSON type (`got` is the offending value, rendered as JSON).
    #[error("{key}: expected {expected}, got {got}")]
    WrongType { key: String, expected: &'static str, got: String },
    /// A size string that does not parse.
    #[error("{key}: {value:?} is not a size (use B, KB, MB, GB, TB or KiB, MiB, GiB, TiB; 1KB = 1024B as in CCF)")]
    BadSize { key: String, value: String },
    /// A duration string that does not parse.
    #[error("{key}: {value:?} is not a duration (use us, ms, s, min or h, e.g. \"100ms\")")]
    BadDuration { key: String, value: String },
    /// A well-typed value that is not acceptable (zero counts, bad addresses, unknown enum values,
    /// inconsistent combinations); `reason` says what is wrong and what is expected.
    #[error("{key}: {reason}")]
    BadValue { key: String, reason: String },
    /// `load` only: a file the configuration names does not exist.
    #[error("{key}: file {:?} not found", file.display().to_string())]
    FileNotFound { key: String, file: PathBuf },
    /// `load` only: the path names a directory where a file is expected.
    #[error("{key}: {:?} is a directory, not a file", file.display().to_string())]
    NotAFile { key: String, file: PathBuf },
    /// `load` only: a read-only directory the configuration names does not exist.
    #[error("{key}: directory {:?} not found", dir.display().to_string())]
    DirectoryNotFound { key: String, dir: PathBuf },
    /// `load` only: the path names a file where a directory is expected.
    #[error("{key}: {:?} is not a directory", dir.display().to_string())]
    NotADirectory { key: String, dir: PathBuf },
    /// `load` only: the path exists but cannot be inspected (permissions, I/O error).
    #[error("{key}: cannot access {:?}: {source}", path.display().to_string())]
    Inaccessible { key: String, path: PathBuf, source: std::io::Error },
}

impl ConfigError {
    /// The JSON path of the offending key, when the error is about one key.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Unreadable { .. } | ConfigError::InvalidJson { .. } => None,
            ConfigError::Missing { key }
            | ConfigError::UnknownKey { key }
            | ConfigError::WrongType { key, .. }
            | ConfigError::BadSize { key, .. }
            | ConfigError::BadDuration { key, .. }
            | ConfigError::BadValue { key, .. }
            | ConfigError::FileNotFound { key, .. }
            | ConfigError::NotAFile { key, .. }
            | ConfigError::DirectoryNotFound { key, .. }
            | ConfigError::NotADirectory { key, .. }
            | ConfigError::Inaccessible { key, .. } => Some(key),
        }
    }

    pub(crate) fn bad_value(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::BadValue { key: key.into(), reason: reason.into() }
    }
}
