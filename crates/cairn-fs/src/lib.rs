//! The I/O shell of ledger storage. [`FsStorage`] implements [`cairn_ledger::storage::Storage`]
//! over a real directory with `std::fs`; [`GroupCommit`] lets many threads share one fsync.
//!
//! The ledger core never imports this crate: it is written against the `Storage` trait and tested
//! on `MemStorage`; both implementations pass `cairn_ledger::storage::run_conformance_suite`.
//! Unix only: reads use `pread` through `std::os::unix::fs::FileExt`.

mod durability;
mod durable_dir;
mod durable_ledger;
mod fs_storage;
mod group_commit;
mod io_error;
mod snapshot_directory;

pub use durability::Durability;
pub use durable_dir::create_dir_durably;
pub use durable_ledger::DurableLedger;
pub use fs_storage::{FsStorage, MAX_OPEN_FILES};
pub use group_commit::GroupCommit;
pub use snapshot_directory::SnapshotDirectory;
