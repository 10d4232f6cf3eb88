//! `ledger`: where the ledger lives and how it is chunked. [`LedgerSection`].
//!
//! Invariants (`check_invariants`): `chunk_size_bytes > 0`; no directory path is empty; the main
//! directory is not also listed as read-only (compared as written, like every path here).
use crate::config_error::ConfigError;
use crate::durability::Durability;
use crate::json_reader::ObjectReader;
use crate::size_text::format_size;
use serde_json::{Value, json};
use std::path::PathBuf;

/// `ledger`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerSection {
    /// `directory` [`ledger`]: the node's own ledger directory (created if absent).
    pub directory: PathBuf,
    /// `read_only_directories` [[]]: extra directories whose `.committed` chunks the node reads.
    pub read_only_directories: Vec<PathBuf>,
    /// `chunk_size` [`5MB`]: a chunk ends at the first signature after it reaches this size.
    pub chunk_size_bytes: u64,
    /// `durability` [`fsync`] (Beyond CCF).
    pub durability: Durability,
}

impl Default for LedgerSection {
    fn default() -> Self {
        LedgerSection {
            directory: PathBuf::from("ledger"),
            read_only_directories: Vec::new(),
            chunk_size_bytes: Self::DEFAULT_CHUNK_SIZE_BYTES,
            durability: Durability::Fsync,
        }
    }
}

impl LedgerSection {
    pub const DEFAULT_CHUNK_SIZE_BYTES: u64 = 5 << 20;

    /// Reads `ledger` (optional: every key has a default).
    pub(crate) fn read(reader: Option<ObjectReader<'_>>, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let mut section = LedgerSection::default();
        let Some(mut r) = reader else { return Ok(section) };
        if let Some(dir) = r.path_string("directory")? {
            section.directory = PathBuf::from(dir);
        }
        let read_only_key = r.key_path("read_only_directories");
        for (i, dir) in r.string_array("read_only_directories")?.unwrap_or_default().into_iter().enumerate() {
            let key = format!("{read_only_key}[{i}]");
            if dir.trim().is_empty() {
                return Err(ConfigError::bad_value(key, "path is empty"));
            }
            if std::path::Path::new(&dir) == section.directory {
                return Err(ConfigError::bad_value(key, format!("{dir:?} is the main ledger.directory")));
            }
            section.read_only_directories.push(PathBuf::from(dir));
        }
        if let Some(bytes) = r.size_bytes("chunk_size")? {
            if bytes == 0 {
                return Err(ConfigError::bad_value(r.key_path("chunk_size"), "must be larger than 0 bytes"));
            }
            section.chunk_size_bytes = bytes;
        }
        if let Some(name) = r.string("durability")? {
            section.durability = Durability::from_name(&name).ok_or_else(|| {
                ConfigError::bad_value(r.key_path("durability"), format!("{name:?} is not \"fsync\" or \"flush\""))
            })?;
        }
        r.finish(warnings)?;
        Ok(section)
    }

    /// Panics if an invariant in the module documentation does not hold.
    pub fn check_invariants(&self) {
        assert!(self.chunk_size_bytes > 0);
        assert!(!self.directory.as_os_str().is_empty());
        for dir in &self.read_only_directories {
            assert!(!dir.as_os_str().is_empty());
            assert_ne!(dir, &self.directory);
        }
    }

    /// The section as CCF-style JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "directory": self.directory,
            "read_only_directories": self.read_only_directories,
            "chunk_size": format_size(self.chunk_size_bytes),
            "durability": self.durability.as_str(),
        })
    }
}
