//! The deterministic cluster simulator (design: `docs/internals/replication.md` §10).
//!
//! N nodes of the real [`cairn_node::NodeCore`] run in one process and one thread against a
//! virtual clock. One seed fixes everything: network delays, losses, duplicates and partitions
//! ([`network`]), crashes and what each disk keeps ([`disk`], `MemStorage::crash`), fsync
//! latencies, the client workload, and each node's randomness (its own stream of the seed,
//! [`rng`]). Checkers ([`checkers`]) watch every node after every event and the whole cluster
//! at the end; a failure names the checker and the command that replays the seed.
//!
//! Entry points: [`run`] for one seed, [`run_seeds`] for a range, the `cairn-sim` binary.
pub mod checkers;
pub mod clock;
pub mod disk;
pub mod network;
pub mod options;
pub mod rng;

mod fixtures;
mod host;
mod runner;
mod workload;

pub use options::{Bug, FaultOptions, RunSummary, SimFailure, SimOptions};
pub use runner::{run, run_seeds, sim_core_config};
