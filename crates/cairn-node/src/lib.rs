//! The node's pure core: a deterministic state machine that takes [`Event`]s (client requests,
//! clock ticks, durability notices) and returns [`Action`]s (append this entry, sync the ledger,
//! commit up to here, write this snapshot, answer that request). The tokio shell in
//! `cairn-server` performs the actions; the simulator can drive the same core in memory.
//!
//! This crate may not import tokio, `std::fs`, `std::net` or read the clock: time arrives as
//! `now_ms` in events, randomness through the `fill_random` function given at construction.
mod action;
mod api_error;
mod app_log;
pub mod consensus;
mod core_config;
mod event;
mod ledger_read;
mod membership;
mod node_core;
mod node_identity;
mod node_state;
pub mod private_recovery;
mod private_restore_job;
mod raft_snapshot_offer;
mod received_entry;
mod recovery_snapshot;
mod rekey_rows;
mod replay;
mod signature_policy;
mod snapshot_job;
mod start_plan;
mod tx_status;
mod view_history;

pub use action::{Action, Response};
pub use api_error::ApiError;
pub use app_log::LogTable;
pub use core_config::CoreConfig;
pub use event::{Caller, Event, Request, RequestId};
pub use ledger_read::{LedgerReadError, read_ledger};
pub use membership::{
    CONSENSUS_NODES, ConsensusNode, JOIN_TOKEN_DIGEST, JoinAnswer, JoinDecision, JoinRequest, JoinToken,
    JoinTokenError, NetworkInfo, PeerInfo, RaftRole, TokenCheck, join_decision, raft_id_of,
};
pub use node_core::{
    JOIN_REQUESTS, JOIN_TOKEN_INVALID, JoinParams, MAX_PENDING_JOINS, NodeCore, PRIMARY_RPC_HEADER, PeerProgress,
    RaftStateFile, RaftStatus, RecoverParams, ResumeParams, StartParams,
};
pub use node_identity::NodeIdentity;
pub use node_state::NodeState;
pub use private_restore_job::{PrivateRestoreJob, PrivateStateRestored, RestoreProgress};
pub use raft_snapshot_offer::SnapshotOffer;
pub use recovery_snapshot::RecoverySnapshot;
pub use replay::{ReplayError, Replayer};
pub use signature_policy::SignaturePolicy;
pub use snapshot_job::{EncodedSnapshot, SnapshotJob};
pub use start_plan::{
    AfterReplay, CommitEvidence, StartCommand, StartFacts, StartPlan, StartRefusal, after_replay,
    check_committed_entries, plan_start,
};
pub use tx_status::TxStatus;
pub use view_history::ViewHistory;

/// Randomness for the core (ledger secrets, share polynomials, IVs): fills the buffer.
pub type FillRandom = Box<dyn FnMut(&mut [u8]) + Send>;
