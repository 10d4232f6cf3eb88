use std::collections::BTreeMap;

/// The keys a transaction read from its view, with the version it saw (`None`: key absent).
/// Only the first read of a key is kept: the view is immutable, so later reads see the same
/// version. Reads served from the transaction's own writes are not recorded: they do not depend
/// on the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadSet {
    tables: BTreeMap<String, BTreeMap<Vec<u8>, Option<u64>>>,
}

impl ReadSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `key` of `table` was read at `version`, unless it was already read.
    pub fn record(&mut self, table: &str, key: &[u8], version: Option<u64>) {
        if let Some(keys) = self.tables.get_mut(table) {
            keys.entry(key.to_vec()).or_insert(version);
        } else {
            self.tables.insert(table.to_string(), BTreeMap::from([(key.to_vec(), version)]));
        }
    }

    /// The version recorded for `key`: `None` if not read, `Some(None)` if read while absent.
    pub fn get(&self, table: &str, key: &[u8]) -> Option<Option<u64>> {
        self.tables.get(table)?.get(key).copied()
    }

    /// Every read as `(table, key, version read)`, ordered by table then key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8], Option<u64>)> {
        self.tables
            .iter()
            .flat_map(|(table, keys)| keys.iter().map(move |(key, version)| (table.as_str(), key.as_slice(), *version)))
    }

    pub fn len(&self) -> usize {
        self.tables.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}
