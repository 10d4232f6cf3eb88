//! [`RaftDriverConfig`]: how a node's timeouts become raft-rs ticks (design §1, `Config` table).
//!
//! One tick is `message_timeout_ms / 2`. A leader sends a heartbeat every `heartbeat_ticks`
//! ticks. A follower's election timeout is drawn in `[election_timeout_ticks / 2,
//! election_timeout_ticks)`, i.e. in `[½, 1) × election_timeout`, as CCF's
//! `restart_election_timeout` does. Invariants (checked by [`RaftDriverConfig::validate`]):
//! `id != 0`, `id ∈ voters`, voters distinct, `0 < heartbeat_ticks < election_timeout_ticks / 2`.

/// Heartbeat period in ticks: two ticks, so one heartbeat per `message_timeout`.
pub const HEARTBEAT_TICKS: usize = 2;

/// The Raft settings of one node, in ticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftDriverConfig {
    /// This node's Raft id (never 0).
    pub id: u64,
    /// The voters of the initial configuration, this node included.
    pub voters: Vec<u64>,
    /// Upper bound (exclusive) of the randomized election timeout, in ticks.
    pub election_timeout_ticks: usize,
    /// Ticks between two leader heartbeats.
    pub heartbeat_ticks: usize,
    /// Seed of the RNG that draws election timeouts. The driver uses the ChaCha stream `id`,
    /// so every node of a cluster may share one seed and still draw its own timeouts.
    pub rng_seed: u64,
}

/// A configuration raft-rs would refuse, or one that breaks the timing rules above.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverConfigError {
    #[error("raft id 0 is reserved")]
    ZeroId,
    #[error("raft id {id} is not among the voters")]
    NotAVoter { id: u64 },
    #[error("raft id {id} appears twice among the voters")]
    DuplicateVoter { id: u64 },
    #[error("message timeout {message_timeout_ms} ms is shorter than 2 ms")]
    MessageTimeoutTooShort { message_timeout_ms: u64 },
    #[error(
        "heartbeat every {heartbeat_ticks} ticks must be shorter than the minimum election \
         timeout of {min_election_ticks} ticks"
    )]
    ElectionTimeoutTooShort { heartbeat_ticks: usize, min_election_ticks: usize },
}

impl RaftDriverConfig {
    /// Builds the configuration from the node's timeouts in milliseconds (design §1):
    /// `tick_ms = message_timeout_ms / 2`, `election_timeout_ticks = election_timeout_ms /
    /// tick_ms`, heartbeat every [`HEARTBEAT_TICKS`] ticks. Returns it with `tick_ms`.
    pub fn from_timeouts_ms(
        id: u64,
        voters: Vec<u64>,
        election_timeout_ms: u64,
        message_timeout_ms: u64,
        rng_seed: u64,
    ) -> Result<(Self, u64), DriverConfigError> {
        let tick_ms = message_timeout_ms / 2;
        if tick_ms == 0 {
            return Err(DriverConfigError::MessageTimeoutTooShort { message_timeout_ms });
        }
        let election_timeout_ticks =
            usize::try_from(election_timeout_ms / tick_ms).expect("an election timeout in ticks fits in usize");
        let config = Self { id, voters, election_timeout_ticks, heartbeat_ticks: HEARTBEAT_TICKS, rng_seed };
        config.validate()?;
        Ok((config, tick_ms))
    }

    /// The smallest randomized election timeout, also raft-rs's `election_tick`.
    pub fn min_election_ticks(&self) -> usize {
        self.election_timeout_ticks / 2
    }

    /// The largest randomized election timeout plus one (raft-rs draws in `min..max`).
    pub fn max_election_ticks(&self) -> usize {
        self.election_timeout_ticks
    }

    /// Checks the invariants of the module doc.
    pub fn validate(&self) -> Result<(), DriverConfigError> {
        if self.id == 0 {
            return Err(DriverConfigError::ZeroId);
        }
        if !self.voters.contains(&self.id) {
            return Err(DriverConfigError::NotAVoter { id: self.id });
        }
        let mut sorted = self.voters.clone();
        sorted.sort_unstable();
        if let Some(pair) = sorted.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(DriverConfigError::DuplicateVoter { id: pair[0] });
        }
        if sorted.first() == Some(&0) {
            return Err(DriverConfigError::ZeroId);
        }
        self.validate_timing()
    }

    /// The checks that do not involve the voters: `id != 0` and the tick arithmetic.
    pub fn validate_timing(&self) -> Result<(), DriverConfigError> {
        if self.id == 0 {
            return Err(DriverConfigError::ZeroId);
        }
        let min_election_ticks = self.min_election_ticks();
        if self.heartbeat_ticks == 0 || self.heartbeat_ticks >= min_election_ticks {
            return Err(DriverConfigError::ElectionTimeoutTooShort {
                heartbeat_ticks: self.heartbeat_ticks,
                min_election_ticks,
            });
        }
        Ok(())
    }

    /// The raft-rs configuration (design §1 table).
    pub(super) fn to_raft_config(&self) -> raft::Config {
        raft::Config {
            id: self.id,
            heartbeat_tick: self.heartbeat_ticks,
            election_tick: self.min_election_ticks(),
            min_election_tick: self.min_election_ticks(),
            max_election_tick: self.max_election_ticks(),
            applied: 0,
            check_quorum: true,
            pre_vote: true,
            max_size_per_msg: MAX_SIZE_PER_MSG_BYTES,
            max_inflight_msgs: MAX_INFLIGHT_MSGS,
            max_uncommitted_size: raft::NO_LIMIT,
            max_committed_size_per_ready: MAX_COMMITTED_SIZE_PER_READY_BYTES,
            read_only_option: raft::ReadOnlyOption::Safe,
            ..raft::Config::default()
        }
    }
}

/// Entry bytes per `MsgAppend` (raft-rs's default 0 means one entry per message; at least one
/// entry is always sent).
pub const MAX_SIZE_PER_MSG_BYTES: u64 = 1 << 20;
/// `MsgAppend`s in flight per follower.
pub const MAX_INFLIGHT_MSGS: usize = 256;
/// Committed entry bytes handed out per `Ready`.
pub const MAX_COMMITTED_SIZE_PER_READY_BYTES: u64 = 16 << 20;
