//! The ledger: CCF-compatible chunk files of signed, Merkle-hashed entries. Pure: disk access
//! goes through [`storage::Storage`]; no tokio, `std::fs` or `std::net` here.
pub mod format;
mod ledger_secret;
pub mod merkle;
pub mod storage;

pub use ledger_secret::LedgerSecret;
