//! Why [`super::RaftDriver::propose`] refused an entry. Checked before raft-rs sees the entry,
//! so a refused proposal leaves no trace in the log.

/// A proposal refused by the driver; the caller may retry elsewhere or later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposeError {
    /// This node is not the leader; `leader_id` is the leader it knows of, if any.
    #[error("not the leader (known leader: {leader_id:?})")]
    NotLeader { leader_id: Option<u64> },
    /// The leader is handing leadership to `transferee` and accepts no new entries.
    #[error("leadership is being transferred to {transferee}")]
    TransferringLeadership { transferee: u64 },
    /// The leader is no longer in its own configuration (it was removed).
    #[error("this node is not in the current configuration")]
    NotInConfiguration,
    /// An entry must carry data: an empty `EntryNormal` never leaves the node (§6).
    #[error("an entry must not be empty")]
    EmptyEntry,
}
