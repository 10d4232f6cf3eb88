//! The node's I/O shell: loads its files, opens the ledger, drives the pure
//! [`cairn_node::NodeCore`] from one thread that owns the ledger writer and the snapshot
//! directory, and serves the HTTPS API (axum over rustls) that turns requests into core events.
//!
//! Threads: tokio workers run TLS and HTTP; one dedicated "core" thread runs the state machine
//! and performs its actions (appends, fsyncs, renames) in order. Requests reach it through a
//! bounded channel; answers come back on one-shot channels. Nothing else touches the ledger.
mod connection_slots;
mod core_loop;
pub mod crash_point;
mod directory_lock;
mod forwarding;
mod http_api;
mod join_phase;
mod join_token_file;
pub mod node_channel;
mod node_files;
mod node_runner;
mod rate_limited_log;
mod recover_start;
mod served_certificates;
mod shell_config;
mod snapshot_api;
mod snapshot_fetch;
mod snapshot_start;
mod start_progress;
mod startup;
mod tls_config;

pub use join_token_file::{read_join_token, write_new_join_token};
pub use node_files::NodeFiles;
pub use node_runner::{RunningNode, run_node, start_node};
pub use shell_config::{JoinSpec, RecoverSpec, ShellConfig, StartSpec};
pub use snapshot_fetch::{SnapshotFetchLimits, fetch_recent_snapshot};
