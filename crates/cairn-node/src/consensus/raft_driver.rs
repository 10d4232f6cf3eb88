//! [`RaftDriver`]: one node's `raft::RawNode`, made deterministic and safe for a CCF ledger.
//!
//! The driver adds three things to raft-rs (design §1.1, §6):
//! - **Seeded election timeouts.** raft-rs draws them from `thread_rng()` on every role change.
//!   After every call into `RawNode` that leaves `election_elapsed == 0` (every reset does), the
//!   driver overwrites the draw from its own `ChaCha8Rng`, so one seed gives one message trace.
//!   Leaders are re-drawn too: their timeout is unused, but it shows in status and tests.
//! - **The opening entry.** When a call makes this node leader, raft-rs appends an empty
//!   `EntryNormal` and copies it into the `MsgAppend`s of the same call. The driver records an
//!   [`OpeningEntry`]; the caller must hand its bytes (the new primary's signature, or the create
//!   transaction) to [`RaftDriver::fill_opening_entry`] before anything else touches the node.
//!   The bytes are written into the unstable log and every queued message carrying that entry.
//! - **Guarded proposals.** [`RaftDriver::propose`] refuses, before raft-rs sees the entry, what
//!   raft-rs would drop, and returns the index the entry gets.
//!
//! Invariants (asserted by [`RaftDriver::check_invariants`]):
//! 1. No empty `EntryNormal` is in the unstable log or in a queued message once the opening
//!    entry is filled; [`RaftDriver::ready`] refuses to run while it is not.
//! 2. The randomized election timeout lies in `[min_election_ticks, max_election_ticks)`.
//! 3. The unstable log's `entries_size` equals the sum of its entries' sizes as raft-rs counts
//!    them (filling the opening entry keeps it so; raft-rs subtracts it on truncation).
//!
//! The log still lives in `raft::storage::MemStorage`; the `RaftLog` over our ledger (§3)
//! replaces it in a later step.
use raft::eraftpb::{Entry, EntryType, Message};
use raft::storage::MemStorage;

use super::log_storage::LogStorage;
use raft::{LightReady, RawNode, Ready, StateRole};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::driver_config::{DriverConfigError, RaftDriverConfig};
use super::propose_error::ProposeError;

/// The entry slot raft-rs opened for this node's new term: `(index, term)` of the empty entry
/// the caller must fill with [`RaftDriver::fill_opening_entry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpeningEntry {
    pub term: u64,
    pub index: u64,
}

/// One node's Raft state machine. See the module doc for what it adds to `RawNode`.
pub struct RaftDriver {
    raw: RawNode<LogStorage>,
    rng: ChaCha8Rng,
    min_election_ticks: usize,
    max_election_ticks: usize,
    /// Set when a call made this node leader and its opening entry is still empty.
    opening: Option<OpeningEntry>,
}

impl RaftDriver {
    /// A fresh node of a new cluster: log empty, configuration `voters`, hard state term 1, so
    /// the first election wins term 2, CCF's first view (design §2.1).
    pub fn new(config: &RaftDriverConfig, logger: &slog::Logger) -> Result<Self, DriverConfigError> {
        config.validate()?;
        let storage = MemStorage::new_with_conf_state((config.voters.clone(), Vec::<u64>::new()));
        storage.wl().mut_hard_state().term = 1;
        Ok(Self::with_storage(config, storage, 0, logger))
    }

    /// A node whose log and hard state are already in `storage` (a restart, or a joiner whose
    /// empty log and empty configuration will be filled by the leader). `applied` is the index
    /// up to which committed entries were already handed out (raft-rs will not repeat them).
    /// Unlike [`RaftDriver::new`], `config.voters` is ignored: the configuration is the
    /// storage's.
    pub fn restore(
        config: &RaftDriverConfig,
        storage: MemStorage,
        applied: u64,
        logger: &slog::Logger,
    ) -> Result<Self, DriverConfigError> {
        config.validate_timing()?;
        Ok(Self::with_storage(config, storage, applied, logger))
    }

    fn with_storage(config: &RaftDriverConfig, storage: MemStorage, applied: u64, logger: &slog::Logger) -> Self {
        let mut raft_config = config.to_raft_config();
        raft_config.applied = applied;
        let raw = RawNode::new(&raft_config, LogStorage::new(storage), logger)
            .expect("a validated configuration is accepted by raft-rs");
        let mut rng = ChaCha8Rng::seed_from_u64(config.rng_seed);
        rng.set_stream(config.id);
        let mut driver = Self {
            raw,
            rng,
            min_election_ticks: config.min_election_ticks(),
            max_election_ticks: config.max_election_ticks(),
            opening: None,
        };
        driver.after_raft_call((StateRole::Follower, 0));
        driver.check_invariants();
        driver
    }

    /// This node's Raft id.
    pub fn id(&self) -> u64 {
        self.raw.raft.id
    }

    /// Follower, pre-candidate, candidate or leader.
    pub fn role(&self) -> StateRole {
        self.raw.raft.state
    }

    /// The current term (CCF view).
    pub fn term(&self) -> u64 {
        self.raw.raft.term
    }

    /// The leader this node knows of, if any.
    pub fn leader_id(&self) -> Option<u64> {
        Some(self.raw.raft.leader_id).filter(|&id| id != raft::INVALID_ID)
    }

    /// The index of the last entry in the log (stable or not).
    pub fn last_index(&self) -> u64 {
        self.raw.raft.raft_log.last_index()
    }

    /// The highest index known to be committed.
    pub fn commit_index(&self) -> u64 {
        self.raw.raft.raft_log.committed
    }

    /// The current randomized election timeout, in ticks.
    pub fn election_timeout_ticks(&self) -> usize {
        self.raw.raft.randomized_election_timeout()
    }

    /// The opening entry still waiting for its bytes, if any.
    pub fn pending_opening(&self) -> Option<OpeningEntry> {
        self.opening
    }

    /// The storage raft-rs reads; the caller persists each `Ready` into it.
    pub fn store(&self) -> &LogStorage {
        self.raw.store()
    }

    /// Read-only access for status pages and tests.
    pub fn raw(&self) -> &RawNode<LogStorage> {
        &self.raw
    }

    /// One clock tick. Returns the opening entry to fill if the tick made this node leader.
    pub fn tick(&mut self) -> Option<OpeningEntry> {
        let before = self.before_raft_call();
        self.raw.tick();
        self.after_raft_call(before)
    }

    /// Starts an election now (pre-vote first).
    pub fn campaign(&mut self) -> raft::Result<Option<OpeningEntry>> {
        let before = self.before_raft_call();
        let result = self.raw.campaign();
        let opening = self.after_raft_call(before);
        result.map(|()| opening)
    }

    /// Hands a message from a peer to raft-rs. The caller has checked `to == self.id()`
    /// (raft-rs does not).
    pub fn step(&mut self, message: Message) -> raft::Result<Option<OpeningEntry>> {
        let before = self.before_raft_call();
        let result = self.raw.step(message);
        let opening = self.after_raft_call(before);
        result.map(|()| opening)
    }

    /// Asks the leader to hand leadership to `transferee`; proposals are refused meanwhile.
    pub fn transfer_leader(&mut self, transferee: u64) -> Option<OpeningEntry> {
        let before = self.before_raft_call();
        self.raw.transfer_leader(transferee);
        self.after_raft_call(before)
    }

    /// Gives the opening entry of this node's new term its bytes, in the unstable log and in
    /// every queued message carrying it (design §6).
    ///
    /// # Panics
    /// If no opening entry is pending or `data` is empty: both are bugs of the caller.
    pub fn fill_opening_entry(&mut self, data: Vec<u8>) {
        let opening = self.opening.take().expect("no opening entry is pending");
        assert!(!data.is_empty(), "the opening entry must not stay empty");
        let data_len = data.len();
        let raft = &mut self.raw.raft;
        let unstable = &mut raft.raft_log.unstable;
        let entry = unstable.entries.last_mut().expect("the opening entry is in the unstable log");
        assert_eq!((entry.index, entry.term), (opening.index, opening.term));
        assert!(is_empty_normal(entry), "the opening entry was already filled");
        entry.data = data.into();
        let filled = entry.data.clone();
        unstable.entries_size += data_len;
        let patched = raft
            .msgs
            .iter_mut()
            .flat_map(|message| message.mut_entries().iter_mut())
            .filter(|entry| entry.index == opening.index && entry.term == opening.term);
        for entry in patched {
            assert!(is_empty_normal(entry), "a queued copy of the opening entry was not empty");
            entry.data = filled.clone();
        }
        self.check_invariants();
    }

    /// Proposes one entry. Returns the index it gets: `last_index() + 1`, in the current term.
    pub fn propose(&mut self, data: Vec<u8>) -> Result<u64, ProposeError> {
        self.assert_no_pending_opening();
        if data.is_empty() {
            return Err(ProposeError::EmptyEntry);
        }
        let raft = &self.raw.raft;
        if raft.state != StateRole::Leader {
            return Err(ProposeError::NotLeader { leader_id: self.leader_id() });
        }
        if let Some(transferee) = raft.lead_transferee {
            return Err(ProposeError::TransferringLeadership { transferee });
        }
        if raft.prs().get(raft.id).is_none() {
            return Err(ProposeError::NotInConfiguration);
        }
        let (index, term) = (self.last_index() + 1, self.term());
        let before = self.before_raft_call();
        self.raw.propose(Vec::new(), data).expect("raft-rs accepts a proposal that passed the driver's checks");
        assert_eq!(self.after_raft_call(before), None);
        assert_eq!(self.last_index(), index, "the proposal did not land at last_index + 1");
        assert_eq!(self.raw.raft.raft_log.term(index), Ok(term));
        Ok(index)
    }

    /// Reports that frames to `to` are being lost (raft-rs probes it again).
    /// The shell delivered (or failed to deliver) a snapshot message to `to`.
    pub fn report_snapshot(&mut self, to: u64, status: raft::SnapshotStatus) {
        let before = self.before_raft_call();
        self.raw.report_snapshot(to, status);
        assert_eq!(self.after_raft_call(before), None);
    }

    pub fn report_unreachable(&mut self, to: u64) {
        let before = self.before_raft_call();
        self.raw.report_unreachable(to);
        assert_eq!(self.after_raft_call(before), None);
    }

    /// Applies one committed configuration change (design §2.2).
    pub fn apply_conf_change(
        &mut self,
        change: &raft::eraftpb::ConfChangeV2,
    ) -> raft::Result<raft::eraftpb::ConfState> {
        let before = self.before_raft_call();
        let result = self.raw.apply_conf_change(change);
        assert_eq!(self.after_raft_call(before), None, "a configuration change never elects");
        result
    }

    /// Whether a proposal would be accepted now (leader, not transferring, in the configuration).
    pub fn can_propose(&self) -> bool {
        let raft = &self.raw.raft;
        raft.state == StateRole::Leader && raft.lead_transferee.is_none() && raft.prs().get(raft.id).is_some()
    }

    /// Mutable access to the storage, to persist a `Ready` into it.
    pub fn store_mut(&mut self) -> &mut LogStorage {
        self.raw.mut_store()
    }

    /// Ends the `Ready` window at once; the entries must be readable through the storage.
    /// Persistence is reported later with [`RaftDriver::on_persist_ready`].
    pub fn advance_append_async(&mut self, ready: Ready) {
        let before = self.before_raft_call();
        self.raw.advance_append_async(ready);
        assert_eq!(self.after_raft_call(before), None, "advance never elects");
    }

    /// Everything of every `Ready` numbered ≤ `number` is durable.
    pub fn on_persist_ready(&mut self, number: u64) {
        let before = self.before_raft_call();
        self.raw.on_persist_ready(number);
        assert_eq!(self.after_raft_call(before), None, "persisting never elects");
    }

    /// raft-rs's status (progress of every peer on a leader), for `/node/consensus`.
    pub fn status(&self) -> raft::Status<'_> {
        self.raw.status()
    }

    /// Whether [`RaftDriver::ready`] has anything to hand out.
    pub fn has_ready(&self) -> bool {
        self.raw.has_ready()
    }

    /// The next `Ready` (raft-rs's contract applies: persist, send, then advance).
    ///
    /// # Panics
    /// If an opening entry is still empty.
    pub fn ready(&mut self) -> Ready {
        self.assert_no_pending_opening();
        self.check_invariants();
        self.raw.ready()
    }

    /// Acknowledges a `Ready` whose entries and hard state are persisted.
    pub fn advance(&mut self, ready: Ready) -> LightReady {
        let before = self.before_raft_call();
        let light = self.raw.advance(ready);
        assert_eq!(self.after_raft_call(before), None, "advance never elects");
        light
    }

    /// Acknowledges that every committed entry handed out so far is applied.
    pub fn advance_apply(&mut self) {
        self.assert_no_pending_opening();
        self.raw.advance_apply();
    }

    /// Acknowledges that committed entries up to `applied` are applied.
    pub fn advance_apply_to(&mut self, applied: u64) {
        self.raw.advance_apply_to(applied);
    }

    /// Asserts the invariants of the module doc.
    pub fn check_invariants(&self) {
        let raft = &self.raw.raft;
        let timeout = raft.randomized_election_timeout();
        assert!(
            (self.min_election_ticks..self.max_election_ticks).contains(&timeout),
            "election timeout {timeout} outside [{}, {})",
            self.min_election_ticks,
            self.max_election_ticks
        );
        let unstable = &raft.raft_log.unstable;
        let size: usize = unstable.entries.iter().map(raft::util::entry_approximate_size).sum();
        assert_eq!(unstable.entries_size, size, "unstable entries_size is off");
        if self.opening.is_none() {
            let queued = raft.msgs.iter().flat_map(|message| message.get_entries());
            if let Some(entry) = unstable.entries.iter().chain(queued).find(|e| is_empty_normal(e)) {
                panic!("empty EntryNormal at ({}, {}) outside an opening", entry.index, entry.term);
            }
        }
    }

    fn assert_no_pending_opening(&self) {
        if let Some(opening) = self.opening {
            panic!("opening entry {opening:?} must be filled before the node is used again");
        }
    }

    fn before_raft_call(&self) -> (StateRole, u64) {
        self.assert_no_pending_opening();
        (self.role(), self.term())
    }

    /// Runs after every call into `RawNode` (design §6): re-draws the election timeout from the
    /// seeded RNG and reports an opening entry if the call made this node leader.
    fn after_raft_call(&mut self, before: (StateRole, u64)) -> Option<OpeningEntry> {
        let raft = &mut self.raw.raft;
        if raft.election_elapsed == 0 {
            let timeout = self.rng.random_range(self.min_election_ticks..self.max_election_ticks);
            raft.set_randomized_election_timeout(timeout);
        }
        let now = (raft.state, raft.term);
        if now.0 != StateRole::Leader || now == before {
            return None;
        }
        let last = raft.raft_log.unstable.entries.last().expect("a new leader appends an entry");
        assert!(is_empty_normal(last), "a new leader's last entry is its empty opening entry");
        assert_eq!(last.term, raft.term);
        assert_eq!(last.index, raft.raft_log.last_index());
        let opening = OpeningEntry { term: last.term, index: last.index };
        self.opening = Some(opening);
        Some(opening)
    }
}

impl std::fmt::Debug for RaftDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftDriver")
            .field("id", &self.id())
            .field("role", &self.role())
            .field("term", &self.term())
            .field("last_index", &self.last_index())
            .field("commit_index", &self.commit_index())
            .field("opening", &self.opening)
            .finish_non_exhaustive()
    }
}

/// True for the entry raft-rs appends on becoming leader (and that must never leave the node).
pub(crate) fn is_empty_normal(entry: &Entry) -> bool {
    entry.get_entry_type() == EntryType::EntryNormal && entry.data.is_empty()
}
