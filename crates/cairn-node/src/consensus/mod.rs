//! Consensus: the node's Raft state machine, driven by tikv raft-rs 0.7 (crate `raft`).
//!
//! Design: `docs/internals/replication.md`. This module is pure like the rest of the core: no
//! tokio, no `std::fs`, no `std::net`, no clock, no thread-local randomness. Time arrives as
//! ticks, randomness from a seeded [`rand_chacha::ChaCha8Rng`], and messages as values.
//!
//! - [`RaftDriver`] wraps `raft::RawNode`: configuration, the deterministic election timeouts,
//!   the "new primary writes first" hook (§6) and the guarded [`RaftDriver::propose`].
//! - [`RaftDriverConfig`] turns the node's timeouts into raft-rs ticks.
//! - [`ProposeError`] says why a proposal was refused before it reached raft-rs.
//! - [`wire`] encodes raft messages in our own versioned binary frames (§8).
//! - [`accept_peer_frame`] decides whether a peer's frame may reach raft-rs at all.
//!
//! Step 1 of the implementation plan (§11): the driver still stores its log in
//! `raft::storage::MemStorage`; the `RaftLog` storage over our ledger (§3) replaces it later.
mod driver_config;
mod log_storage;
mod peer_frame;
mod propose_error;
mod raft_driver;
pub mod wire;
mod wire_error;

pub use driver_config::{DriverConfigError, RaftDriverConfig};
pub use log_storage::LogStorage;
pub use peer_frame::{FrameRefusal, accept_peer_frame};
pub use propose_error::ProposeError;
pub use raft_driver::{OpeningEntry, RaftDriver};
