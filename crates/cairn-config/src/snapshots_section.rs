//! `snapshots`: where snapshots are written and how often. [`SnapshotsSection`].
//!
//! Invariants (`check_invariants`): `tx_count > 0`; no directory path is empty.
use crate::config_error::ConfigError;
use crate::json_reader::ObjectReader;
use serde_json::{Value, json};
use std::path::PathBuf;

/// `snapshots`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotsSection {
    /// `directory` [`snapshots`]: where this node writes snapshots (created if absent).
    pub directory: PathBuf,
    /// `tx_count` [10000]: the primary snapshots at the first signature after this many transactions.
    pub tx_count: u64,
    /// `read_only_directory` [null]: an extra directory of committed snapshots to start from.
    pub read_only_directory: Option<PathBuf>,
}

impl Default for SnapshotsSection {
    fn default() -> Self {
        SnapshotsSection {
            directory: PathBuf::from("snapshots"),
            tx_count: Self::DEFAULT_TX_COUNT,
            read_only_directory: None,
        }
    }
}

impl SnapshotsSection {
    pub const DEFAULT_TX_COUNT: u64 = 10_000;

    /// Reads `snapshots` (optional: every key has a default).
    pub(crate) fn read(reader: Option<ObjectReader<'_>>, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let mut section = SnapshotsSection::default();
        let Some(mut r) = reader else { return Ok(section) };
        if let Some(dir) = r.path_string("directory")? {
            section.directory = PathBuf::from(dir);
        }
        if let Some(count) = r.positive_u64("tx_count")? {
            section.tx_count = count;
        }
        section.read_only_directory = r.nullable_path_string("read_only_directory")?.map(PathBuf::from);
        r.finish(warnings)?;
        Ok(section)
    }

    /// Panics if an invariant in the module documentation does not hold.
    pub fn check_invariants(&self) {
        assert!(self.tx_count > 0);
        assert!(!self.directory.as_os_str().is_empty());
        assert!(self.read_only_directory.as_ref().is_none_or(|d| !d.as_os_str().is_empty()));
    }

    /// The section as CCF-style JSON.
    pub fn to_json(&self) -> Value {
        json!({"directory": self.directory, "tx_count": self.tx_count, "read_only_directory": self.read_only_directory})
    }
}
