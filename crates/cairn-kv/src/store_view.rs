use imbl::OrdMap;

use crate::{Tx, VersionedValue};

/// The keys of one table. Never empty inside a store (see the invariants in `store.rs`).
pub(crate) type Table = OrdMap<Vec<u8>, VersionedValue>;

/// A consistent, read-only copy of a [`crate::Store`] at one version. Taking one is O(1) (the
/// persistent maps share structure) and later writes to the store do not affect it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreView {
    pub(crate) tables: OrdMap<String, Table>,
    pub(crate) version: u64,
}

impl StoreView {
    /// The seqno of the last transaction applied; 0 when nothing was applied.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Opens a transaction that reads from this view.
    pub fn begin(&self) -> Tx {
        Tx::new(self.clone())
    }

    pub fn get(&self, table: &str, key: &[u8]) -> Option<&[u8]> {
        self.get_versioned(table, key).map(|v| v.value.as_slice())
    }

    pub fn get_versioned(&self, table: &str, key: &[u8]) -> Option<&VersionedValue> {
        self.tables.get(table)?.get(key)
    }

    /// The entries of `table` in key order; empty if the table does not exist.
    pub fn iter_table(&self, table: &str) -> impl Iterator<Item = (&[u8], &VersionedValue)> {
        self.tables.get(table).into_iter().flat_map(|t| t.iter().map(|(k, v)| (k.as_slice(), v)))
    }

    /// The names of the non-empty tables, in order.
    pub fn table_names(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }

    /// The number of keys in `table`; 0 if it does not exist.
    pub fn len(&self, table: &str) -> usize {
        self.tables.get(table).map_or(0, OrdMap::len)
    }

    /// `true` if no table holds any key.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// Panics, naming the broken invariant, if one of the invariants in `store.rs` does not
    /// hold. O(number of keys): for tests and the simulator.
    pub fn check_invariants(&self) {
        if self.version == 0 {
            assert!(self.tables.is_empty(), "store at version 0 holds tables");
        }
        for (name, table) in &self.tables {
            assert!(!table.is_empty(), "table {name:?} is empty but kept");
            for (key, value) in table {
                assert!(
                    (1..=self.version).contains(&value.version),
                    "table {name:?} key \"{}\" has version {} outside 1..={}",
                    key.escape_ascii(),
                    value.version,
                    self.version
                );
            }
        }
    }
}
