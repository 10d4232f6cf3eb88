//! [`KvRead`]: read access to governance tables from a transaction or a consistent view, so the
//! read-side functions (`proposal`, `encrypted_share`, ...) serve both the node's endpoints (a
//! `StoreView`) and its transactions (a `Tx`, whose reads enter the read set).
//!
//! Also the JSON helpers every table module uses: values are compact JSON, as CCF stores them; a
//! value that does not parse is a [`GovError::CorruptTable`] naming the table and key.

use crate::GovError;
use cairn_kv::{Store, StoreView, Tx};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Something governance tables can be read from.
pub trait KvRead {
    /// The value of `key` in `table`, if any.
    fn read(&mut self, table: &str, key: &[u8]) -> Option<Vec<u8>>;
}

impl KvRead for Tx {
    fn read(&mut self, table: &str, key: &[u8]) -> Option<Vec<u8>> {
        self.get(table, key).map(<[u8]>::to_vec)
    }
}

impl KvRead for &StoreView {
    fn read(&mut self, table: &str, key: &[u8]) -> Option<Vec<u8>> {
        self.get(table, key).map(<[u8]>::to_vec)
    }
}

impl KvRead for &Store {
    fn read(&mut self, table: &str, key: &[u8]) -> Option<Vec<u8>> {
        self.get(table, key).map(<[u8]>::to_vec)
    }
}

impl<T: KvRead + ?Sized> KvRead for &mut T {
    fn read(&mut self, table: &str, key: &[u8]) -> Option<Vec<u8>> {
        (**self).read(table, key)
    }
}

/// Reads and parses the JSON value of `key` in `table`.
pub(crate) fn read_json<T: DeserializeOwned>(
    src: &mut impl KvRead,
    table: &str,
    key: &[u8],
) -> Result<Option<T>, GovError> {
    match src.read(table, key) {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| GovError::corrupt(table, key, e)),
    }
}

/// Writes `value` as compact JSON.
pub(crate) fn write_json<T: Serialize>(tx: &mut Tx, table: &str, key: impl Into<Vec<u8>>, value: &T) {
    let bytes = serde_json::to_vec(value).expect("governance records serialise to JSON");
    tx.put(table, key, bytes);
}

/// Reads a UTF-8 text value (PEM rows).
pub(crate) fn read_text(src: &mut impl KvRead, table: &str, key: &[u8]) -> Result<Option<String>, GovError> {
    match src.read(table, key) {
        None => Ok(None),
        Some(bytes) => String::from_utf8(bytes).map(Some).map_err(|e| GovError::corrupt(table, key, e)),
    }
}
