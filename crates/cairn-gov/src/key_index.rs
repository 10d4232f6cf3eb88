//! The key index: for each table governance must enumerate inside a transaction, the sorted list
//! of its keys, kept in table [`KEY_INDEX`] (key = the indexed table's name, value = JSON array of
//! the keys as strings).
//!
//! Why: a `cairn_kv::Tx` reads single keys only; it cannot list a table. Governance needs to list
//! the members (majority, recovery shares), the proposals (dropping finished ones) and the replay
//! window. Keeping the key list in one row also makes the enumeration a *read* the transaction
//! records, so two concurrent transactions that change the member set conflict on commit instead
//! of silently missing each other's member (a phantom a key-by-key read set cannot see).
//!
//! # Invariant
//! For each table in [`INDEXED_TABLES`], the index row lists exactly the table's keys, sorted,
//! without duplicates ([`check_index`]). Every write to an indexed table goes through
//! [`put_indexed`] / [`remove_indexed`].
//!
//! This table is Cairn's, not CCF's (CCF's KV can iterate a map). It is public and harmless to
//! CCF's ledger tools.

use crate::GovError;
use crate::kv_read::{KvRead, read_json, write_json};
use cairn_kv::{StoreView, Tx};
use cairn_ledger::tables::{COSE_RECENT_PROPOSALS, MEMBERS_CERTS, PROPOSALS_INFO};
use std::collections::BTreeSet;

/// Table holding one key list per indexed table.
pub const KEY_INDEX: &str = "public:cairn.gov.key_index";

/// The tables whose keys are indexed.
pub const INDEXED_TABLES: [&str; 3] = [MEMBERS_CERTS, PROPOSALS_INFO, COSE_RECENT_PROPOSALS];

/// The keys of an indexed `table`, sorted.
pub(crate) fn keys(src: &mut impl KvRead, table: &str) -> Result<BTreeSet<String>, GovError> {
    debug_assert!(INDEXED_TABLES.contains(&table), "{table} is not indexed");
    Ok(read_json::<BTreeSet<String>>(src, KEY_INDEX, table.as_bytes())?.unwrap_or_default())
}

fn write_keys(tx: &mut Tx, table: &str, keys: &BTreeSet<String>) {
    if keys.is_empty() {
        tx.remove(KEY_INDEX, table.as_bytes());
    } else {
        write_json(tx, KEY_INDEX, table.as_bytes(), keys);
    }
}

/// Writes `value` at `key` in an indexed `table` and records the key in the index.
pub(crate) fn put_indexed(tx: &mut Tx, table: &str, key: &str, value: Vec<u8>) -> Result<(), GovError> {
    let mut all = keys(tx, table)?;
    if all.insert(key.to_string()) {
        write_keys(tx, table, &all);
    }
    tx.put(table, key.as_bytes(), value);
    Ok(())
}

/// Removes `key` from an indexed `table` and from the index.
pub(crate) fn remove_indexed(tx: &mut Tx, table: &str, key: &str) -> Result<(), GovError> {
    remove_all_indexed(tx, table, &[key.to_string()])
}

/// Removes `keys` from an indexed `table` and from the index, rewriting the index once.
pub(crate) fn remove_all_indexed(tx: &mut Tx, table: &str, to_remove: &[String]) -> Result<(), GovError> {
    let mut all = keys(tx, table)?;
    let before = all.len();
    for key in to_remove {
        all.remove(key);
        tx.remove(table, key.as_bytes());
    }
    if all.len() != before {
        write_keys(tx, table, &all);
    }
    Ok(())
}

/// Panics, naming the table, if an index does not list exactly its table's keys.
pub fn check_index(view: &StoreView) {
    for table in INDEXED_TABLES {
        let mut src = view;
        let indexed = keys(&mut src, table).unwrap_or_else(|e| panic!("key index of {table}: {e}"));
        let actual: BTreeSet<String> =
            view.iter_table(table).map(|(k, _)| String::from_utf8_lossy(k).into_owned()).collect();
        assert_eq!(indexed, actual, "key index of {table} does not list exactly the table's keys");
    }
}
