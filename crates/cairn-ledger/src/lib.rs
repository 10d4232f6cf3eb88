//! The ledger: CCF-compatible chunk files of signed, Merkle-hashed entries. Pure: disk access
//! goes through [`storage::Storage`]; no tokio, `std::fs` or `std::net` here.
pub mod chunk;
pub mod format;
pub mod generator;
pub mod genesis;
mod history;
mod ledger_secret;
mod ledger_secrets;
mod ledger_writer;
pub mod merkle;
pub mod receipt;
pub mod scan;
mod service_identity;
mod signature_record;
pub mod snapshot;
pub mod storage;
pub mod tables;
pub mod verify;

pub use history::{History, NodeSigner};
pub use ledger_secret::LedgerSecret;
pub use ledger_secrets::LedgerSecrets;
pub use ledger_writer::{LedgerConfig, LedgerWriter, MAX_CHUNK_BYTES, WriteError};
pub use service_identity::{NODE_COMMON_NAME, SERVICE_COMMON_NAME, ServiceIdentity};
pub use signature_record::SignatureRecord;
