//! Safety and liveness checkers, one per file. Each works on what the simulator can observe of
//! a node through [`NodeView`] (so they can be tested with fake nodes) and returns a typed
//! [`Violation`] naming the nodes and seqnos involved.
//!
//! The runner calls [`Checkers::observe`] for a node after every event the node handles, and
//! the end-of-run checks ([`committed_never_lost`], [`committed_chunks_identical`], the final
//! part of [`monotonic`] and [`liveness`]) once the cluster is healed and quiet.
use cairn_crypto::Sha256;
use cairn_ledger::format::TxId;
use std::collections::BTreeMap;
use std::fmt;

pub mod commit_covered_by_signature;
pub mod committed_chunks_identical;
pub mod committed_never_lost;
pub mod election_safety;
pub mod leader_completeness;
pub mod liveness;
pub mod log_matching;
pub mod monotonic;
pub mod state_machine_safety;

/// A node's Raft role as the checkers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

/// The Raft part of a node's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaftObs {
    pub raft_id: u64,
    pub role: Role,
    pub term: u64,
    /// 0: no known leader.
    pub leader: u64,
    pub raft_commit: u64,
}

/// What a checker may look at on one live node.
pub trait NodeView {
    /// 0-based node index in the simulation.
    fn index(&self) -> usize;
    /// Counts restarts: a new process lifetime starts at each.
    fn incarnation(&self) -> u64;
    fn raft(&self) -> RaftObs;
    /// CCF commit: the last committed signature.
    fn commit(&self) -> TxId;
    fn last(&self) -> TxId;
    /// Entry bytes at `seqno` in this node's ledger.
    fn entry(&self, seqno: u64) -> Option<Vec<u8>>;
    /// The view of the entry at `seqno` (its Raft term).
    fn view_at(&self, seqno: u64) -> Option<u64>;
    /// Whether the entry at `seqno` is a signature transaction.
    fn is_signature(&self, seqno: u64) -> Option<bool>;
    /// The Merkle root over `1..=seqno`, if the node's tree covers `seqno`.
    fn root_at(&self, seqno: u64) -> Option<Sha256>;
    /// The value of record `id` in the private log table of the node's store.
    fn private_record(&self, id: u64) -> Option<Vec<u8>>;
    /// `.committed` ledger chunk files: name → bytes.
    fn committed_chunks(&self) -> BTreeMap<String, Vec<u8>>;
}

/// `(seqno, view)` of a ledger entry, from its GCM header.
pub fn entry_tx_id(bytes: &[u8]) -> Option<TxId> {
    cairn_ledger::format::EntryView::parse(bytes).ok().map(|e| e.tx_id())
}

/// Whether a ledger entry is a signature transaction.
pub fn entry_is_signature(bytes: &[u8]) -> Option<bool> {
    let view = cairn_ledger::format::EntryView::parse(bytes).ok()?;
    let (_, ws) = view.decode_public().ok()?;
    Some(ws.has_table(cairn_ledger::tables::SIGNATURES))
}

/// A broken property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Two leaders in one term.
    ElectionSafety { term: u64, first: (usize, u64), second: (usize, u64) },
    /// Same `(seqno, view)` on two nodes but different entry bytes or Merkle root.
    LogMatching { seqno: u64, view: u64, nodes: (usize, usize), what: &'static str },
    /// Different Merkle roots (or entries) at a seqno both nodes have committed.
    StateMachineSafety { seqno: u64, nodes: (usize, usize), what: &'static str },
    /// A new leader lacks an entry some node already committed.
    LeaderCompleteness { node: usize, term: u64, seqno: u64, what: &'static str },
    /// A node's CCF commit is not a signature transaction (or not in its ledger).
    CommitNotSignature { node: usize, commit: TxId, why: String },
    /// A node's CCF commit or view went back within one process lifetime, or the cluster's.
    Monotonic { node: Option<usize>, what: &'static str, before: TxId, after: TxId },
    /// A write the client saw `Committed` is missing or different on a live node.
    CommittedLost { id: u64, tx: TxId, node: usize, expected: String, found: Option<String> },
    /// Committed chunk files differ between two nodes.
    ChunksDiffer { name: String, nodes: (usize, usize), what: &'static str },
    /// No leader, or no commit progress, in time after the final heal.
    Liveness { healed_at_ms: u64, deadline_ms: u64, what: String },
    /// A node's core panicked or its shell hit an I/O error it cannot survive.
    NodeCrashed { node: usize, at_ms: u64, what: String },
    /// A node does not come back after a crash: its ledger does not open (the scan refuses it)
    /// or does not replay. With honest disks that is a bug in the writer or the scan.
    RestartRefused { node: usize, at_ms: u64, what: String },
}

impl Violation {
    /// The checker that found it.
    pub fn checker(&self) -> &'static str {
        match self {
            Violation::ElectionSafety { .. } => "election_safety",
            Violation::LogMatching { .. } => "log_matching",
            Violation::StateMachineSafety { .. } => "state_machine_safety",
            Violation::LeaderCompleteness { .. } => "leader_completeness",
            Violation::CommitNotSignature { .. } => "commit_covered_by_signature",
            Violation::Monotonic { .. } => "monotonic",
            Violation::CommittedLost { .. } => "committed_never_lost",
            Violation::ChunksDiffer { .. } => "committed_chunks_identical",
            Violation::Liveness { .. } => "liveness",
            Violation::NodeCrashed { .. } => "node_crashed",
            Violation::RestartRefused { .. } => "restart_refused",
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::ElectionSafety { term, first, second } => write!(
                f,
                "term {term} has two leaders: node {} (raft id {:#x}) and node {} (raft id {:#x})",
                first.0, first.1, second.0, second.1
            ),
            Violation::LogMatching { seqno, view, nodes, what } => {
                write!(f, "entry {view}.{seqno}: {what} differs between node {} and node {}", nodes.0, nodes.1)
            }
            Violation::StateMachineSafety { seqno, nodes, what } => {
                write!(f, "committed seqno {seqno}: {what} differs between node {} and node {}", nodes.0, nodes.1)
            }
            Violation::LeaderCompleteness { node, term, seqno, what } => {
                write!(f, "node {node} leads term {term} but at committed seqno {seqno}: {what}")
            }
            Violation::CommitNotSignature { node, commit, why } => {
                write!(f, "node {node}: commit {commit} is not covered by a signature: {why}")
            }
            Violation::Monotonic { node: Some(n), what, before, after } => {
                write!(f, "node {n}: {what} went back from {before} to {after}")
            }
            Violation::Monotonic { node: None, what, before, after } => {
                write!(f, "cluster: {what} went back from {before} to {after}")
            }
            Violation::CommittedLost { id, tx, node, expected, found } => write!(
                f,
                "write {id} (committed at {tx}) reads back as {found:?} on node {node}, expected {expected:?}"
            ),
            Violation::ChunksDiffer { name, nodes, what } => {
                write!(f, "committed chunk {name}: {what} between node {} and node {}", nodes.0, nodes.1)
            }
            Violation::Liveness { healed_at_ms, deadline_ms, what } => {
                write!(f, "healed at {healed_at_ms} ms, by {deadline_ms} ms: {what}")
            }
            Violation::NodeCrashed { node, what, .. } => write!(f, "node {node} failed: {what}"),
            Violation::RestartRefused { node, what, .. } => write!(f, "node {node} cannot restart: {what}"),
        }
    }
}

/// Every incremental checker, fed after each event.
#[derive(Debug, Default)]
pub struct Checkers {
    pub election: election_safety::ElectionSafety,
    pub log_matching: log_matching::LogMatching,
    pub state_machine: state_machine_safety::StateMachineSafety,
    pub leader_completeness: leader_completeness::LeaderCompleteness,
    pub monotonic: monotonic::Monotonic,
}

impl Checkers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks one live node after it handled an event. `deep`: also compare entries and roots
    /// (the expensive part), which the runner does periodically rather than after every event.
    pub fn observe(&mut self, node: &dyn NodeView, deep: bool) -> Result<(), Violation> {
        self.election.observe(node)?;
        self.monotonic.observe(node)?;
        commit_covered_by_signature::check(node)?;
        if deep {
            self.log_matching.observe(node)?;
            self.state_machine.observe(node)?;
        }
        self.leader_completeness.observe(node, &self.state_machine)?;
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod fake {
    //! A fake node for checker tests: entries are arbitrary bytes whose "view" is kept aside.
    use super::*;
    use cairn_crypto::sha256;

    #[derive(Debug, Clone, Default)]
    pub struct FakeNode {
        pub index: usize,
        pub incarnation: u64,
        pub raft: Option<RaftObs>,
        pub commit: TxId,
        /// (view, bytes) per seqno, from 1.
        pub log: Vec<(u64, Vec<u8>)>,
        pub records: BTreeMap<u64, Vec<u8>>,
        pub chunks: BTreeMap<String, Vec<u8>>,
    }

    impl FakeNode {
        pub fn new(index: usize) -> Self {
            FakeNode { index, ..Default::default() }
        }
        pub fn with_log(mut self, entries: &[(u64, &str)]) -> Self {
            self.log = entries.iter().map(|(v, b)| (*v, b.as_bytes().to_vec())).collect();
            self
        }
    }

    impl NodeView for FakeNode {
        fn index(&self) -> usize {
            self.index
        }
        fn incarnation(&self) -> u64 {
            self.incarnation
        }
        fn raft(&self) -> RaftObs {
            self.raft.unwrap_or(RaftObs {
                raft_id: 100 + self.index as u64,
                role: Role::Follower,
                term: 0,
                leader: 0,
                raft_commit: 0,
            })
        }
        fn commit(&self) -> TxId {
            self.commit
        }
        fn last(&self) -> TxId {
            self.log.last().map_or(TxId::default(), |(v, _)| TxId::new(*v, self.log.len() as u64))
        }
        fn entry(&self, seqno: u64) -> Option<Vec<u8>> {
            let (v, b) = self.log.get(seqno.checked_sub(1)? as usize)?;
            Some([&v.to_le_bytes()[..], b].concat())
        }
        fn view_at(&self, seqno: u64) -> Option<u64> {
            Some(self.log.get(seqno.checked_sub(1)? as usize)?.0)
        }
        fn is_signature(&self, seqno: u64) -> Option<bool> {
            Some(self.log.get(seqno.checked_sub(1)? as usize)?.1.starts_with(b"sig"))
        }
        fn root_at(&self, seqno: u64) -> Option<Sha256> {
            let mut acc = Vec::new();
            for (v, b) in self.log.get(..seqno as usize)? {
                acc.extend_from_slice(&v.to_le_bytes());
                acc.extend_from_slice(b);
            }
            Some(sha256(&acc))
        }
        fn private_record(&self, id: u64) -> Option<Vec<u8>> {
            self.records.get(&id).cloned()
        }
        fn committed_chunks(&self) -> BTreeMap<String, Vec<u8>> {
            self.chunks.clone()
        }
    }
}
