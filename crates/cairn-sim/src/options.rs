//! What a run is asked to do ([`SimOptions`]) and what it reports ([`RunSummary`],
//! [`SimFailure`]).
use crate::checkers::Violation;
use crate::network::{NetFaults, NetStats};
use std::fmt;

/// A deliberate bug in the simulated shell or disks, to prove the checkers catch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// The shell answers `Action::Sync` with `Event::Durable` at once and syncs the ledger only
    /// later (0–500 virtual ms): acknowledgements (votes, append responses, commits) go out for
    /// entries a crash can still lose.
    AckBeforeFsync,
    /// The ledger disks of a majority of nodes acknowledge `sync` without making anything
    /// durable (`StorageFaults::sync_lies`).
    SyncLiesOnMajority,
    /// A disaster recovery's private replay skips the previous service's last
    /// [`SKIPPED_TAIL_ENTRIES`] entries (as if it skipped the last chunk): their private writes
    /// are missing after the service opens. Needs `disaster`.
    SkipPrivateReplayTail,
}

/// Entries `Bug::SkipPrivateReplayTail` skips.
pub const SKIPPED_TAIL_ENTRIES: u64 = 40;

/// Fault injection rates. Times are virtual ms.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultOptions {
    pub network: NetFaults,
    /// Mean time between crashes of one random node (0: no crashes).
    pub crash_every_ms: u64,
    /// Probability that a crash takes down every node at once (a power cut), not just one.
    pub power_cut_prob: f64,
    /// A crashed node restarts after a delay uniform in this range.
    pub restart_min_ms: u64,
    pub restart_max_ms: u64,
    /// Mean time between network faults (0: none): a partition (symmetric, or one-way with
    /// `one_way_prob`) or, one time in five, a link losing half its frames. Each heals after
    /// `partition_ms`.
    pub partition_every_ms: u64,
    pub partition_ms: u64,
    /// Probability that a partition is one-way (one node can send but not receive).
    pub one_way_prob: f64,
    /// A sync takes uniformly 0..=`fsync_max_ms`.
    pub fsync_max_ms: u64,
    /// Probability that a crashed node's disk also rots: one bit of one `.committed` chunk
    /// flips. At most ⌊(n−1)/2⌋ nodes are hit; each must then refuse to restart (or, if it
    /// starts, the other checkers judge what it serves) while the rest carry on.
    pub corrupt_prob: f64,
    /// Mean time between ledger I/O failures (0: none): one of the next few appends, writes,
    /// truncations, syncs, creates or renames of a random node fails (`EIO` or `ENOSPC`). As
    /// in production the node stops at once; it restarts after a delay.
    pub io_error_every_ms: u64,
}

impl Default for FaultOptions {
    fn default() -> Self {
        FaultOptions {
            network: NetFaults::default(),
            crash_every_ms: 4_000,
            power_cut_prob: 0.15,
            restart_min_ms: 50,
            restart_max_ms: 1_500,
            partition_every_ms: 5_000,
            partition_ms: 1_500,
            one_way_prob: 0.3,
            fsync_max_ms: 10,
            corrupt_prob: 0.05,
            io_error_every_ms: 6_000,
        }
    }
}

impl FaultOptions {
    /// No faults at all: a perfect network, no crashes, instant disks.
    pub fn none() -> Self {
        FaultOptions {
            network: NetFaults::reliable(1),
            crash_every_ms: 0,
            power_cut_prob: 0.0,
            restart_min_ms: 0,
            restart_max_ms: 0,
            partition_every_ms: 0,
            partition_ms: 0,
            one_way_prob: 0.0,
            fsync_max_ms: 0,
            corrupt_prob: 0.0,
            io_error_every_ms: 0,
        }
    }
}

/// One run.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    pub nodes: usize,
    /// Virtual time with faults and load; then the cluster is healed, every node restarted,
    /// and the liveness window and a quiet period follow.
    pub duration_ms: u64,
    /// Concurrent clients writing.
    pub clients: usize,
    pub faults: FaultOptions,
    pub bug: Option<Bug>,
    /// Compare entries and roots (the expensive checks) every this many virtual ms.
    pub deep_check_every_ms: u64,
    /// Take a snapshot every this many transactions (0: snapshots off). Snapshots are written
    /// and committed to each node's snapshot directory; restarts still replay the whole ledger.
    pub snapshot_tx_count: u64,
    /// After the run: a disaster recovery (SPEC §7). Load again, every node loses power at a
    /// random moment, the operator keeps the ledger whose last signature is newest (view, then
    /// seqno), a `Recover` node starts on it under a new identity, the other nodes join it with
    /// wiped disks and new keys, the member opens it and submits its share; crashes, torn writes
    /// and lost unsynced data hit the recovering node during its public phase, frames are lost
    /// and delayed throughout. Then every committed write must read back on every node
    /// (`committed_never_lost`) and committed chunks must be identical. At most 3 nodes (the
    /// fixtures hold 7 node keys: the first 3, their 3 successors, and the new service's).
    pub disaster: bool,
    /// Print every event to stderr.
    pub trace: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            nodes: 3,
            duration_ms: 10_000,
            clients: 3,
            faults: FaultOptions::default(),
            bug: None,
            deep_check_every_ms: 100,
            snapshot_tx_count: 0,
            disaster: false,
            trace: false,
        }
    }
}

impl SimOptions {
    pub fn with_nodes(nodes: usize) -> Self {
        SimOptions { nodes, ..Self::default() }
    }

    /// The command line that replays a run with `seed`.
    pub fn replay_command(&self, seed: u64) -> String {
        let mut cmd = format!(
            "cargo run -p cairn-sim --release -- --seed {seed:#x} --nodes {} --duration-ms {} --clients {}",
            self.nodes, self.duration_ms, self.clients
        );
        match self.bug {
            Some(Bug::AckBeforeFsync) => cmd.push_str(" --bug ack-before-fsync"),
            Some(Bug::SyncLiesOnMajority) => cmd.push_str(" --bug sync-lies-on-majority"),
            Some(Bug::SkipPrivateReplayTail) => cmd.push_str(" --bug skip-private-replay-tail"),
            None => {}
        }
        if self.snapshot_tx_count > 0 {
            cmd.push_str(&format!(" --snapshot-tx-count {}", self.snapshot_tx_count));
        }
        if self.faults == FaultOptions::none() {
            cmd.push_str(" --no-faults");
        }
        if self.disaster {
            cmd.push_str(" --disaster");
        }
        cmd
    }
}

/// What a passing run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub seed: u64,
    pub virtual_ms: u64,
    pub events: u64,
    pub crashes: u64,
    pub power_cuts: u64,
    pub partitions: u64,
    /// Nodes whose committed chunks rotted, and how many of them refused to restart.
    pub corrupted: u64,
    pub refused_restarts: u64,
    /// Injected ledger I/O failures that stopped a node.
    pub io_errors: u64,
    pub writes_sent: u64,
    pub writes_committed: u64,
    pub highest_commit: u64,
    pub highest_term: u64,
    /// `.committed` chunk files the node with the fewest holds at the end (all compared).
    pub committed_chunks: usize,
    pub leaders_elected: u64,
    pub network: NetStats,
    /// Virtual ms from the final heal to a leader with commit progress.
    pub recovery_ms: Option<u64>,
    /// Whole disaster recoveries performed (`SimOptions::disaster`), and the crashes of the
    /// recovering node during them.
    pub disaster_recoveries: u64,
    /// Of those, the ones whose public read started from a committed snapshot.
    pub recoveries_from_snapshot: u64,
    pub recovery_crashes: u64,
}

/// A failing run: the seed, the violation and how to replay it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimFailure {
    pub seed: u64,
    pub at_ms: u64,
    pub violation: Violation,
    pub replay: String,
}

impl fmt::Display for SimFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cairn-sim: FAILED seed={:#x} (checker {}) at {} ms: {}\nreplay: {}",
            self.seed,
            self.violation.checker(),
            self.at_ms,
            self.violation,
            self.replay
        )
    }
}

impl std::error::Error for SimFailure {}
