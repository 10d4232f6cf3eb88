use std::collections::BTreeMap;

/// `true` for tables whose content goes in the ledger's public domain.
pub fn is_public_table(name: &str) -> bool {
    name.starts_with("public:")
}

/// The writes of one transaction to one table. `None` is a removal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapWrites {
    /// The version (seqno) of the table the transaction read; recorded in the ledger as CCF does,
    /// not used for verification.
    pub read_version: u64,
    pub writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

/// Everything one transaction changes, by table name. Maps are ordered, so a write set has one
/// canonical encoding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteSet {
    pub maps: BTreeMap<String, MapWrites>,
}

impl WriteSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(&mut self, table: &str, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.maps.entry(table.to_string()).or_default().writes.insert(key.into(), Some(value.into()));
    }

    pub fn remove(&mut self, table: &str, key: impl Into<Vec<u8>>) {
        self.maps.entry(table.to_string()).or_default().writes.insert(key.into(), None);
    }

    pub fn get(&self, table: &str, key: &[u8]) -> Option<&Option<Vec<u8>>> {
        self.maps.get(table)?.writes.get(key)
    }

    pub fn has_table(&self, table: &str) -> bool {
        self.maps.contains_key(table)
    }

    pub fn is_empty(&self) -> bool {
        self.maps.values().all(|m| m.writes.is_empty())
    }

    /// The public and private halves, in that order.
    pub fn split_domains(&self) -> (WriteSet, WriteSet) {
        let (public, private): (BTreeMap<_, _>, BTreeMap<_, _>) =
            self.maps.iter().map(|(k, v)| (k.clone(), v.clone())).partition(|(name, _)| is_public_table(name));
        (WriteSet { maps: public }, WriteSet { maps: private })
    }

    /// Sets every table's `read_version` to `version` (the version of the view the transaction
    /// read from).
    pub fn with_read_version(mut self, version: u64) -> WriteSet {
        for map in self.maps.values_mut() {
            map.read_version = version;
        }
        self
    }

    /// Joins a public and a private half back into one write set.
    pub fn merged(mut self, other: WriteSet) -> WriteSet {
        self.maps.extend(other.maps);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_domains_puts_public_tables_first_and_merge_restores() {
        let mut ws = WriteSet::new();
        ws.put("public:records", b"k".to_vec(), b"v".to_vec());
        ws.put("records", b"k".to_vec(), b"secret".to_vec());
        ws.remove("public:records", b"gone".to_vec());
        let (public, private) = ws.split_domains();
        assert!(public.has_table("public:records") && !public.has_table("records"));
        assert!(private.has_table("records"));
        assert_eq!(public.merged(private), ws);
    }
}
