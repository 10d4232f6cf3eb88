//! The key-value model: tables of byte keys and values, transactions and their write sets, and
//! the in-memory store that applies them. Pure: no I/O, no clocks, no randomness.
//!
//! Table names starting with `public:` are public (stored in plaintext in the ledger); all other
//! tables are private (encrypted under the ledger secret).
//!
//! # Modules
//! - `store`: [`Store`], the current state; commits transactions and replays write sets.
//! - `store_view`: [`StoreView`], an O(1) read-only copy of a store at one version.
//! - `tx`: [`Tx`], a transaction on a view, recording what it reads and writes.
//! - `read_set`: [`ReadSet`], the keys a transaction read and the versions it saw.
//! - `write_set`: [`WriteSet`], everything one transaction changes, as the ledger records it.
//! - `versioned_value`: [`VersionedValue`], a value with the seqno that last wrote it.
//! - `error`: [`CommitError`] and [`ApplyError`], why a commit or a replay was refused.

mod error;
mod read_set;
mod store;
mod store_view;
mod tx;
mod versioned_value;
mod write_set;

pub use error::{ApplyError, CommitError};
pub use read_set::ReadSet;
pub use store::Store;
pub use store_view::StoreView;
pub use tx::Tx;
pub use versioned_value::VersionedValue;
pub use write_set::{MapWrites, WriteSet, is_public_table};
