//! Byte formats of the ledger, compatible with CCF 6.x (see `docs/internals/ledger-format.md`).
//! Pure functions over byte slices; no I/O.

mod byte_reader;
mod domain;
mod entry;
mod entry_header;
mod format_error;
mod gcm_header;
mod public_header;
mod tx_id;

pub use byte_reader::ByteReader;
pub use domain::{decode_domain, encode_domain, skim_domain_table_names};
pub use entry::{EncodedEntry, EntryView, PrivateDomainError, encode_entry};
pub use entry_header::{ENTRY_FORMAT_V1, ENTRY_HEADER_BYTES, EntryFlags, EntryHeader, MAX_ENTRY_BODY_BYTES};
pub use format_error::FormatError;
pub use gcm_header::{GCM_HEADER_BYTES, GcmHeader};
pub use public_header::{ENTRY_TYPE_WRITE_SET_WITH_COMMIT_EVIDENCE_AND_CLAIMS, PUBLIC_HEADER_BYTES, PublicHeader};
pub use tx_id::TxId;
