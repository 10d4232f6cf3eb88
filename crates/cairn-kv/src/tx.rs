use crate::{ReadSet, StoreView, WriteSet};

/// A transaction executing on a [`StoreView`]: reads see the view plus the transaction's own
/// writes; writes are buffered in a [`WriteSet`] until [`crate::Store::commit`].
///
/// Every read that reaches the view is recorded in the [`ReadSet`] with the version seen, so the
/// commit can reject the transaction if any of those keys changed since (optimistic concurrency).
#[derive(Debug, Clone)]
pub struct Tx {
    view: StoreView,
    reads: ReadSet,
    writes: WriteSet,
}

impl Tx {
    pub fn new(view: StoreView) -> Self {
        Self { view, reads: ReadSet::new(), writes: WriteSet::new() }
    }

    /// The value of `key`: the transaction's own write if it has one, else the view's.
    pub fn get(&mut self, table: &str, key: &[u8]) -> Option<&[u8]> {
        if self.writes.get(table, key).is_none() {
            let version = self.view.get_versioned(table, key).map(|v| v.version);
            self.reads.record(table, key, version);
            return self.view.get(table, key);
        }
        self.writes.get(table, key)?.as_deref()
    }

    pub fn put(&mut self, table: &str, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.writes.put(table, key, value);
    }

    pub fn remove(&mut self, table: &str, key: impl Into<Vec<u8>>) {
        self.writes.remove(table, key);
    }

    /// The version of the view this transaction reads from.
    pub fn read_version(&self) -> u64 {
        self.view.version()
    }

    pub fn read_set(&self) -> &ReadSet {
        &self.reads
    }

    pub fn write_set(&self) -> &WriteSet {
        &self.writes
    }

    /// The read set and the write set, the latter with each table's `read_version` set to the
    /// version of the view, as CCF records it.
    pub fn into_parts(self) -> (ReadSet, WriteSet) {
        let read_version = self.view.version();
        (self.reads, self.writes.with_read_version(read_version))
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;

    fn store_with(table: &str, key: &[u8], value: &[u8]) -> Store {
        let mut store = Store::new();
        let mut ws = crate::WriteSet::new();
        ws.put(table, key, value);
        store.apply(&ws, 1).unwrap();
        store
    }

    #[test]
    fn get_reads_own_writes_before_the_view() {
        let store = store_with("t", b"k", b"old");
        let mut tx = store.begin();
        tx.put("t", b"k".to_vec(), b"new".to_vec());
        assert_eq!(tx.get("t", b"k"), Some(&b"new"[..]));
        tx.remove("t", b"k".to_vec());
        assert_eq!(tx.get("t", b"k"), None);
        assert!(tx.read_set().is_empty(), "reads of own writes do not depend on the store");
    }

    #[test]
    fn get_records_version_read_including_absent_keys() {
        let store = store_with("t", b"k", b"v");
        let mut tx = store.begin();
        assert_eq!(tx.get("t", b"k"), Some(&b"v"[..]));
        assert_eq!(tx.get("t", b"missing"), None);
        assert_eq!(tx.get("other", b"k"), None);
        assert_eq!(tx.read_set().get("t", b"k"), Some(Some(1)));
        assert_eq!(tx.read_set().get("t", b"missing"), Some(None));
        assert_eq!(tx.read_set().get("other", b"k"), Some(None));
        assert_eq!(tx.read_set().get("t", b"unread"), None);
        assert_eq!(tx.read_set().len(), 3);
    }

    #[test]
    fn read_then_write_keeps_the_first_read_in_the_read_set() {
        let store = store_with("t", b"k", b"v");
        let mut tx = store.begin();
        tx.get("t", b"k");
        tx.put("t", b"k".to_vec(), b"w".to_vec());
        tx.get("t", b"k");
        let reads: Vec<_> = tx.read_set().iter().collect();
        assert_eq!(reads, vec![("t", &b"k"[..], Some(1))]);
    }

    #[test]
    fn into_parts_stamps_write_set_with_the_view_version() {
        let store = store_with("t", b"k", b"v");
        let mut tx = store.begin();
        tx.put("t", b"a".to_vec(), b"1".to_vec());
        tx.remove("u", b"b".to_vec());
        let (_, ws) = tx.into_parts();
        assert!(ws.maps.values().all(|m| m.read_version == 1));
        assert_eq!(ws.get("u", b"b"), Some(&None));
    }
}
