//! The in-memory key-value store: tables of byte keys to versioned byte values.
//!
//! # Invariants (checked by [`Store::check_invariants`])
//! 1. Every value's version `v` satisfies `1 <= v <= store.version()`: a value is written by a
//!    transaction the store has applied, and seqnos start at 1.
//! 2. No table is empty: removing a table's last key removes the table, so `table_names()` lists
//!    exactly the tables that hold keys and two stores with the same keys compare equal.
//! 3. A store at version 0 holds no tables.
//!
//! Every successful [`Store::commit`] or [`Store::apply`] advances the version by exactly one,
//! even for an empty write set: the version is the seqno of the last applied transaction.
//! Both check everything before changing anything, so an error leaves the store unchanged.

use crate::{ApplyError, CommitError, ReadSet, StoreView, Tx, VersionedValue, WriteSet};

/// The current state of the key-value store. Cloning it, or taking [`Store::snapshot_view`], is
/// O(1) and yields a copy that later writes do not affect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Store {
    current: StoreView,
}

impl Store {
    /// An empty store at version 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The seqno of the last applied transaction; 0 when empty.
    pub fn version(&self) -> u64 {
        self.current.version()
    }

    /// A consistent read-only copy of the current state, in O(1).
    pub fn snapshot_view(&self) -> StoreView {
        self.current.clone()
    }

    /// Opens a transaction on the current state.
    pub fn begin(&self) -> Tx {
        self.current.begin()
    }

    /// Applies `tx` at `seqno`, which must be `version() + 1`, if no key it read has changed
    /// since. Returns the write set to record in the ledger.
    pub fn commit(&mut self, tx: Tx, seqno: u64) -> Result<WriteSet, CommitError> {
        let expected = self.next_seqno();
        if seqno != expected {
            return Err(CommitError::VersionGap { expected, got: seqno });
        }
        let (reads, writes) = tx.into_parts();
        self.check_reads(&reads)?;
        self.apply_unchecked(&writes, seqno);
        Ok(writes)
    }

    /// Applies a write set from the ledger (replay) at `seqno`, which must be `version() + 1`.
    /// No conflict checks; removing an absent key is a no-op.
    pub fn apply(&mut self, write_set: &WriteSet, seqno: u64) -> Result<(), ApplyError> {
        let expected = self.next_seqno();
        if seqno != expected {
            return Err(ApplyError::VersionGap { expected, got: seqno });
        }
        self.apply_unchecked(write_set, seqno);
        Ok(())
    }

    /// [`Store::apply`] taking the write set by value: its keys and values move into the store
    /// (no copy; replaying a large ledger).
    pub fn apply_owned(&mut self, write_set: WriteSet, seqno: u64) -> Result<(), ApplyError> {
        let expected = self.next_seqno();
        if seqno != expected {
            return Err(ApplyError::VersionGap { expected, got: seqno });
        }
        let tables = &mut self.current.tables;
        for (name, map) in write_set.maps {
            let mut table = tables.remove(&name).unwrap_or_default();
            for (key, write) in map.writes {
                match write {
                    Some(value) => {
                        table.insert(key, VersionedValue { version: seqno, value: std::sync::Arc::new(value) });
                    }
                    None => {
                        table.remove(&key);
                    }
                }
            }
            if !table.is_empty() {
                tables.insert(name, table);
            }
        }
        self.current.version = seqno;
        Ok(())
    }

    pub fn get(&self, table: &str, key: &[u8]) -> Option<&[u8]> {
        self.current.get(table, key)
    }

    pub fn get_versioned(&self, table: &str, key: &[u8]) -> Option<&VersionedValue> {
        self.current.get_versioned(table, key)
    }

    /// The entries of `table` in key order; empty if the table does not exist.
    pub fn iter_table(&self, table: &str) -> impl Iterator<Item = (&[u8], &VersionedValue)> {
        self.current.iter_table(table)
    }

    /// The names of the non-empty tables, in order.
    pub fn table_names(&self) -> impl Iterator<Item = &str> {
        self.current.table_names()
    }

    /// The number of keys in `table`; 0 if it does not exist.
    pub fn len(&self, table: &str) -> usize {
        self.current.len(table)
    }

    /// `true` if no table holds any key.
    pub fn is_empty(&self) -> bool {
        self.current.is_empty()
    }

    /// Panics, naming the broken invariant, if one of the invariants above does not hold.
    pub fn check_invariants(&self) {
        self.current.check_invariants();
    }

    fn next_seqno(&self) -> u64 {
        self.version().checked_add(1).expect("store version overflows u64")
    }

    fn check_reads(&self, reads: &ReadSet) -> Result<(), CommitError> {
        for (table, key, read_version) in reads.iter() {
            let current_version = self.get_versioned(table, key).map(|v| v.version);
            if current_version != read_version {
                return Err(CommitError::Conflict {
                    table: table.to_string(),
                    key: key.to_vec(),
                    read_version,
                    current_version,
                });
            }
        }
        Ok(())
    }

    /// Applies every write at `seqno`. Cannot fail: callers check first.
    fn apply_unchecked(&mut self, write_set: &WriteSet, seqno: u64) {
        assert_eq!(seqno, self.version() + 1);
        let tables = &mut self.current.tables;
        for (name, map) in &write_set.maps {
            // Take the table out so that, unless a view shares it, it is updated in place.
            let mut table = tables.remove(name).unwrap_or_default();
            for (key, write) in &map.writes {
                match write {
                    Some(value) => {
                        table.insert(
                            key.clone(),
                            VersionedValue { version: seqno, value: std::sync::Arc::new(value.clone()) },
                        );
                    }
                    None => {
                        table.remove(key);
                    }
                }
            }
            if !table.is_empty() {
                tables.insert(name.clone(), table);
            }
        }
        self.current.version = seqno;
    }
}

#[cfg(test)]
mod owned_tests {
    use super::*;

    #[test]
    fn apply_owned_equals_apply() {
        let mut ws = WriteSet::new();
        ws.put("t", b"a".to_vec(), b"1".to_vec());
        ws.put("u", b"b".to_vec(), b"2".to_vec());
        let mut rm = WriteSet::new();
        rm.remove("t", b"a".to_vec());
        rm.put("u", b"c".to_vec(), b"3".to_vec());
        let (mut a, mut b) = (Store::new(), Store::new());
        a.apply(&ws, 1).unwrap();
        a.apply(&rm, 2).unwrap();
        b.apply_owned(ws.clone(), 1).unwrap();
        b.apply_owned(rm, 2).unwrap();
        assert_eq!(a, b);
        assert!(b.apply_owned(ws, 5).is_err(), "a gap is refused");
        b.check_invariants();
    }
}
