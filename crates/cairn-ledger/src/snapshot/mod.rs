//! CCF 6.x snapshots: the whole key-value store at one seqno as a single ledger-style entry of
//! type 1, so a joining or recovering node starts from it instead of replaying the ledger.
//! Byte-compatible with CCF (`read_ledger.py -s` reads Cairn's committed snapshots). Pure.
//!
//! # File layout (`snapshot_<seqno>_<evidence_seqno>[.committed]`, no chunk header)
//! - Entry header (8 bytes): version 1, flags 0, u48 LE body size.
//! - GCM header (28 bytes): 16-byte tag, IV = seqno u64 LE ‖ view u32 LE with bit 31 set. CCF
//!   serialises snapshots at tx id `0.seqno`, so the IV view is `0x8000_0000`.
//! - u64 LE public-domain length, public domain, then the private domain: AES-256-GCM under
//!   the ledger secret, AAD = the public domain, tag in the GCM header (also when empty).
//! - Public domain: entry type u8 = 1, seqno u64, max_conflict_version u64 = 0, u64 length + the
//!   Merkle leaf of transaction `seqno` (32 bytes, CCF's `hash_at_snapshot`), u64 byte length +
//!   the view history (u64 LE each, see [`view_history`](view_history_from_starts)), then the
//!   `public:` tables.
//! - Private domain (plaintext): the other tables. No header.
//! - A table: u64 length + name, u64 table version (the last seqno that wrote it), u64 body
//!   length, body. The body is one record per key: u64 key length, key, zero padding to 8
//!   bytes; u64 length (= 8 + value length), u64 version (seqno that wrote the value), value,
//!   zero padding to 8 bytes. Cairn writes keys in order; CCF writes them in hash-trie order,
//!   and a negative version (as i64) is a CCF tombstone (a removed key, empty value).
//! - Committed files only: the receipt JSON of the evidence transaction follows the entry
//!   directly, with no length or separator (CCF 6.x `describe_receipt_v1(...).dump()`).
//!
//! # Evidence
//! After the snapshot at `seqno`, the primary commits the evidence transaction at
//! `evidence_seqno` writing `public:ccf.internal.snapshot_evidence` = `{hash, version: seqno}`
//! with `hash` = SHA-256 of the entry, and the same digest as its claims digest. Once a
//! signature after it is committed, the receipt is appended. [`verify_committed_snapshot`]
//! checks a committed file by itself: the receipt verifies against the service identity, it
//! proves a claims digest equal to the SHA-256 of the entry bytes, and it is for the evidence
//! seqno of the file name.
//!
//! # Invariants
//! - Decoding checks every length, padding byte (zero), version (`1 ..= table version ..=
//!   seqno`), table domain (`public:` names in the public domain only), duplicate, and the GCM
//!   tag; errors name the offset. `decode(encode(store))` rebuilds the store exactly and
//!   re-encodes to the same bytes.

mod committed_snapshot;
mod decoded_snapshot;
mod snapshot_encoder;
mod snapshot_error;
mod snapshot_evidence;
mod snapshot_name;
mod view_history;

pub use committed_snapshot::{CommittedSnapshot, snapshot_entry_len, verify_committed_snapshot};
pub use decoded_snapshot::{DecodedSnapshot, SnapshotTable, decode_snapshot, decode_snapshot_public};
pub use snapshot_encoder::encode_snapshot;
pub use snapshot_error::SnapshotError;
pub use snapshot_evidence::{SnapshotEvidence, snapshot_evidence_write_set};
pub use snapshot_name::SnapshotName;
pub use view_history::{is_valid_view_history, view_at, view_history_from_starts};

/// Entry type of a snapshot's public domain (CCF's `EntryType::Snapshot`).
pub const SNAPSHOT_ENTRY_TYPE: u8 = 1;

/// Zero bytes after a record field of `len` bytes, up to the next multiple of 8.
fn padding(len: usize) -> usize {
    (8 - len % 8) % 8
}
