//! The Ready loop (design §3.1): the core drives raft-rs, and turns each `Ready` into shell
//! actions in the order durability needs them:
//! 1. a leader's messages are sent at once (it may send before its own fsync, §3.2);
//! 2. a changed term or vote is persisted (`PersistRaftState`, synchronous in the shell)
//!    before anything that depends on it;
//! 3. entries are appended (after truncating a conflicting suffix), and one `Sync` per event
//!    covers every `Ready` of the event (group commit);
//! 4. committed entries move the CCF commit and apply configuration changes;
//! 5. a follower's messages (votes, append acknowledgements) wait until the `Sync` covering
//!    their `Ready` is answered by `Event::Durable`: acknowledging before the fsync is exactly
//!    the bug the simulator's `AckBeforeFsync` injects.
use super::NodeCore;
use crate::SnapshotOffer;
use crate::consensus::{OpeningEntry, RaftDriver, RaftDriverConfig, wire};
use crate::received_entry::is_signature_entry;
use cairn_crypto::sha256;
use cairn_ledger::format::TxId;
use cairn_ledger::format::{EncodedEntry, EntryView};
use cairn_ledger::snapshot::SnapshotName;
use raft::eraftpb::{ConfState, Entry, HardState, Message, Snapshot};
use raft::storage::MemStorage;
use raft::{GetEntriesContext, StateRole, Storage};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// At most this many Raft ticks are replayed after a long pause (a node that slept should not
/// spin; missing ticks only delay timeouts).
const MAX_TICKS_PER_EVENT: u64 = 1000;

/// `node_data/raft_state.json`: the Raft hard state, written only when the term or the vote
/// changes (a commit-only change costs no fsync: a restart rebuilds the commit, §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaftStateFile {
    pub version: u32,
    pub term: u64,
    pub vote: u64,
    pub commit: u64,
}

impl RaftStateFile {
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let state: RaftStateFile = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if state.version != 1 {
            return Err(format!("version {} is not 1", state.version));
        }
        Ok(state)
    }
}

/// What `/node/consensus` and the simulator's checkers see of a node's Raft state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RaftStatus {
    pub raft_id: u64,
    pub role: &'static str,
    pub term: u64,
    pub leader_id: Option<u64>,
    /// The highest index this node knows committed by Raft.
    pub raft_commit: u64,
    /// The last index in this node's log.
    pub last_index: u64,
    /// Voters and learners of the current configuration.
    pub voters: Vec<u64>,
    pub learners: Vec<u64>,
    /// On a leader: how far each node's log is known to match (`matched`), and where the next
    /// append starts (`next_index`). Empty on other nodes.
    pub progress: Vec<PeerProgress>,
    /// Peer frames dropped because an entry in them is not a ledger entry whose (seqno, view)
    /// is the Raft entry's (index, term): a bug or version skew on the sender.
    pub rejected_frames: u64,
}

/// A leader's view of one node's replication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerProgress {
    pub raft_id: u64,
    pub matched: u64,
    pub next_index: u64,
}

/// The node's Raft half: the driver and the Ready-loop bookkeeping.
pub(super) struct Consensus {
    pub(super) driver: RaftDriver,
    tick_ms: u64,
    last_tick_ms: u64,
    /// Term and vote as last persisted.
    persisted: (u64, u64),
    /// The last index handed to the shell as an `Append` (or replayed at restart).
    pub(super) appended_last: u64,
    /// `Sync`s asked for and not yet answered: (last Ready number it covers, last index then).
    unsynced: VecDeque<(u64, u64)>,
    /// A `Sync` is due at the end of the current event, covering Readies up to this number.
    sync_due: Option<u64>,
    /// Entries were appended and no `Sync` covers them yet (a primary syncs at signatures
    /// only: Raft-committing unsigned entries commits nothing in CCF terms).
    dirty: bool,
    /// The last Ready number whose entries are not covered by a requested `Sync`.
    dirty_ready: u64,
    /// Follower messages waiting for the `Sync` of their `Ready`.
    held: Vec<(u64, Message)>,
    /// The highest Ready number handed out.
    last_ready: u64,
    /// The role seen at the last Ready (to notice a leader stepping down).
    role: StateRole,
    /// See [`RaftStatus::rejected_frames`].
    rejected_frames: u64,
}

fn logger() -> slog::Logger {
    slog::Logger::root(slog::Discard, slog::o!())
}

fn draw_seed(fill_random: &mut crate::FillRandom) -> u64 {
    let mut seed = [0u8; 8];
    fill_random(&mut seed);
    u64::from_le_bytes(seed)
}

fn driver_config(config: &crate::CoreConfig, id: u64, voters: Vec<u64>, seed: u64) -> (RaftDriverConfig, u64) {
    RaftDriverConfig::from_timeouts_ms(id, voters, config.election_timeout_ms, config.message_timeout_ms, seed)
        .unwrap_or_else(|e| panic!("consensus timeouts: {e}"))
}

/// Every entry a peer's message carries must be a normal Raft entry holding a ledger entry whose
/// (seqno, view) is the entry's (index, term).
/// The Raft entry of a ledger entry: index and term from its IV (invariant 1). The bytes move
/// into the entry (no copy: a recovered ledger can be gigabytes).
fn raft_entry(bytes: bytes::Bytes) -> Entry {
    let view = EntryView::parse(&bytes).expect("a replayed entry parses");
    let tx = view.tx_id();
    Entry { index: tx.seqno, term: tx.view, data: bytes, ..Default::default() }
}

impl Consensus {
    /// A new service: this node is the only voter, hard state term 1 (the election wins
    /// view 2, CCF's first).
    pub(super) fn start(config: &crate::CoreConfig, id: u64, fill: &mut crate::FillRandom, now_ms: u64) -> Self {
        let (cfg, tick_ms) = driver_config(config, id, vec![id], draw_seed(fill));
        let driver = RaftDriver::new(&cfg, &logger()).expect("validated");
        Self::with_driver(driver, tick_ms, now_ms, (1, 0), 0)
    }

    /// A joining node: empty log, empty configuration; the leader fills both.
    pub(super) fn join(config: &crate::CoreConfig, id: u64, fill: &mut crate::FillRandom, now_ms: u64) -> Self {
        let (cfg, tick_ms) = driver_config(config, id, vec![id], draw_seed(fill));
        let driver = RaftDriver::restore(&cfg, MemStorage::new(), 0, &logger()).expect("validated");
        Self::with_driver(driver, tick_ms, now_ms, (0, 0), 0)
    }

    /// A restart: the log is every replayed entry after `base` (index and term of the snapshot
    /// the node started from, `(0, 0)` for a whole ledger); the hard state the persisted one
    /// (the commit raised to `known_commit`); the configuration the consensus table's.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn resume(
        config: &crate::CoreConfig,
        id: u64,
        fill: &mut crate::FillRandom,
        now_ms: u64,
        base: (u64, u64),
        log: impl Iterator<Item = bytes::Bytes>,
        state: Option<RaftStateFile>,
        known_commit: u64,
        conf_state: ConfState,
    ) -> Self {
        let (cfg, tick_ms) = driver_config(config, id, vec![id], draw_seed(fill));
        let storage = MemStorage::new();
        if base.0 > 0 {
            // A log that starts after a snapshot: raft-rs knows index and term of its base and
            // never asks for entries before it (this node sends no Raft snapshots).
            let mut snapshot = Snapshot::default();
            let meta = snapshot.mut_metadata();
            (meta.index, meta.term) = base;
            meta.set_conf_state(conf_state.clone());
            storage.wl().apply_snapshot(snapshot).expect("a fresh storage takes any snapshot");
        }
        let entries: Vec<Entry> = log.map(raft_entry).collect();
        if let Some(first) = entries.first() {
            assert_eq!(first.index, base.0 + 1, "the log starts right after its base");
        }
        let (last, last_term) = entries.last().map_or(base, |e| (e.index, e.term));
        let mut hs = HardState::default();
        match state {
            Some(s) => {
                assert!(
                    s.term >= last_term,
                    "raft_state.json term {} is below the view {last_term} of the last ledger entry: the hard state \
                     must be persisted before entries of a new term",
                    s.term
                );
                hs.term = s.term;
                hs.vote = s.vote;
            }
            None => hs.term = last_term,
        }
        hs.commit = known_commit.min(last).max(base.0);
        {
            let mut w = storage.wl();
            w.append(&entries).expect("replayed entries are contiguous from 1");
            w.set_hardstate(hs.clone());
            w.set_conf_state(conf_state);
        }
        let driver = RaftDriver::restore(&cfg, storage, hs.commit, &logger()).expect("validated");
        Self::with_driver(driver, tick_ms, now_ms, (hs.term, hs.vote), last)
    }

    fn with_driver(driver: RaftDriver, tick_ms: u64, now_ms: u64, persisted: (u64, u64), last: u64) -> Self {
        let role = driver.role();
        Consensus {
            driver,
            tick_ms,
            last_tick_ms: now_ms,
            persisted,
            appended_last: last,
            unsynced: VecDeque::new(),
            sync_due: None,
            dirty: false,
            dirty_ready: 0,
            held: Vec::new(),
            last_ready: 0,
            role,
            rejected_frames: 0,
        }
    }

    /// Elects this node, the only voter, at once.
    pub(super) fn campaign_alone(&mut self) -> Option<OpeningEntry> {
        self.driver.campaign().expect("campaign")
    }

    pub(super) fn is_leader(&self) -> bool {
        self.driver.role() == StateRole::Leader
    }

    pub(super) fn term(&self) -> u64 {
        self.driver.term()
    }

    pub(super) fn pending_opening(&self) -> Option<OpeningEntry> {
        self.driver.pending_opening()
    }

    /// Hands an entry this primary wrote to Raft: the bytes of the view's opening entry, or a
    /// proposal. Returns its index.
    pub(super) fn append_own(&mut self, bytes: Vec<u8>) -> u64 {
        if let Some(opening) = self.driver.pending_opening() {
            self.driver.fill_opening_entry(bytes);
            return opening.index;
        }
        self.driver.propose(bytes).unwrap_or_else(|e| panic!("the primary's proposal was refused: {e}"))
    }

    pub(super) fn report_unreachable(&mut self, to: u64) {
        self.driver.report_unreachable(to);
    }

    /// Whether this node is the only voter (it elects itself, and needs no ticks as leader).
    pub(super) fn alone(&self) -> bool {
        let conf = self.driver.raw().raft.prs().conf();
        let voters: Vec<u64> = conf.voters().ids().iter().collect();
        voters == [self.driver.id()] && conf.learners().is_empty()
    }

    /// The next time a Raft tick is due, unless this node is a lone leader (nothing to time).
    pub(super) fn next_tick_ms(&self) -> Option<u64> {
        (!(self.alone() && self.is_leader())).then_some(self.last_tick_ms + self.tick_ms)
    }

    /// Ticks due by `now_ms`.
    fn ticks_due(&mut self, now_ms: u64) -> u64 {
        if now_ms < self.last_tick_ms + self.tick_ms {
            return 0;
        }
        let ticks = (now_ms - self.last_tick_ms) / self.tick_ms;
        self.last_tick_ms += ticks * self.tick_ms;
        ticks.min(MAX_TICKS_PER_EVENT)
    }

    pub(super) fn status(&self) -> RaftStatus {
        let raft = &self.driver.raw().raft;
        let role = match raft.state {
            StateRole::Leader => "Leader",
            StateRole::Follower => "Follower",
            StateRole::Candidate => "Candidate",
            StateRole::PreCandidate => "PreCandidate",
        };
        let conf = raft.prs().conf();
        RaftStatus {
            raft_id: raft.id,
            role,
            term: raft.term,
            leader_id: self.driver.leader_id(),
            raft_commit: raft.raft_log.committed,
            last_index: raft.raft_log.last_index(),
            voters: conf.voters().ids().iter().collect(),
            learners: conf.learners().iter().copied().collect(),
            progress: match raft.state {
                StateRole::Leader => {
                    let mut progress: Vec<PeerProgress> = raft
                        .prs()
                        .iter()
                        .map(|(&raft_id, p)| PeerProgress { raft_id, matched: p.matched, next_index: p.next_idx })
                        .collect();
                    progress.sort_by_key(|p| p.raft_id);
                    progress
                }
                _ => Vec::new(),
            },
            rejected_frames: self.rejected_frames,
        }
    }

    /// The entries `(low, high]` of the in-memory log mirror, sharing their bytes.
    pub(super) fn log_entries(&self, low: u64, high: u64) -> Vec<Entry> {
        if high <= low {
            return Vec::new();
        }
        self.driver
            .store()
            .entries(low + 1, high + 1, None, GetEntriesContext::empty(false))
            .unwrap_or_else(|e| panic!("log entries ({low}, {high}]: {e}"))
    }

    /// The entries `(low, high]` of the in-memory log mirror.
    pub(super) fn log_range(&self, low: u64, high: u64) -> Vec<Vec<u8>> {
        if high <= low {
            return Vec::new();
        }
        let entries = self
            .driver
            .store()
            .entries(low + 1, high + 1, None, GetEntriesContext::empty(false))
            .unwrap_or_else(|e| panic!("log entries ({low}, {high}]: {e}"));
        entries.into_iter().map(|e| e.data.to_vec()).collect()
    }
}

impl NodeCore {
    /// Raft ticks for the time passed, and a joining node's retry.
    pub(super) fn on_tick(&mut self) {
        let ticks = self.consensus.ticks_due(self.now_ms);
        for _ in 0..ticks {
            if let Some(opening) = self.consensus.driver.tick() {
                self.on_opening(opening);
            }
        }
        self.join_tick();
        self.reconfigure();
    }

    /// A frame from peer `from`: decoded (sender and recipient checked) and stepped.
    pub(super) fn on_peer_frame(&mut self, from: u64, frame: &[u8]) {
        if self.members.is_joining() {
            return; // not admitted yet: Raft will resend
        }
        let message = match crate::consensus::accept_peer_frame(frame, self.consensus.driver.id(), from) {
            Ok(m) => m,
            // A malformed or misaddressed frame is dropped; the peer's Raft resends.
            Err(crate::consensus::FrameRefusal::Wire(_)) => return,
            // Checked before raft-rs accepts anything (`consensus/peer_frame.rs`). Counted in
            // `/node/consensus` (`rejected_frames`); the core has no log of its own.
            Err(_) => {
                self.consensus.rejected_frames += 1;
                return;
            }
        };
        match self.consensus.driver.step(message) {
            Ok(Some(opening)) => self.on_opening(opening),
            Ok(None) => {}
            // A response from a peer no longer in the configuration, or a stale message.
            Err(_) => {}
        }
    }

    /// After a restart: a lone voter elects itself at once and signs first in the new view.
    pub(super) fn consensus_resumed(&mut self) {
        if self.consensus.alone()
            && self.members.is_voter(self.consensus.driver.id())
            && let Some(opening) = self.consensus.campaign_alone()
        {
            self.on_opening(opening);
        }
    }

    /// This node just became primary in a new view: what earlier primaries left unsigned is
    /// applied, then the view's opening entry is a signature over all of it (design §6).
    pub(super) fn on_opening(&mut self, opening: OpeningEntry) {
        assert_eq!(opening.index, self.consensus.appended_last + 1, "the opening entry follows the log");
        self.apply_unsigned_tail();
        assert_eq!(self.history.last().seqno + 1, opening.index, "every log entry is applied before signing");
        self.view = opening.term;
        // As raft-rs's `pending_conf_index`: an earlier primary's configuration change may be
        // in the log, uncommitted; the next change waits until everything up to here commits.
        self.members.note_pending_change(opening.index);
        self.sign();
    }

    /// The shell synced the ledger up to `seqno`.
    pub(super) fn on_durable(&mut self, seqno: u64) {
        self.durable_seqno = self.durable_seqno.max(seqno).min(self.consensus.appended_last);
        let mut persisted = None;
        while let Some(&(number, last)) = self.consensus.unsynced.front() {
            if last > seqno {
                break;
            }
            self.consensus.unsynced.pop_front();
            persisted = Some(number);
        }
        if self.consensus.unsynced.is_empty() && self.consensus.sync_due.is_none() && !self.consensus.dirty {
            persisted = Some(self.consensus.last_ready);
        }
        if let Some(number) = persisted {
            self.consensus.driver.on_persist_ready(number);
            self.release_held(number);
        }
    }

    fn release_held(&mut self, number: u64) {
        let held = std::mem::take(&mut self.consensus.held);
        let (ready, waiting): (Vec<_>, Vec<_>) = held.into_iter().partition(|(n, _)| *n <= number);
        self.consensus.held = waiting;
        for (_, message) in ready {
            self.send(message);
        }
    }

    fn send(&mut self, message: Message) {
        let to = message.to;
        match wire::encode(&message) {
            Ok(frame) => self.out.push(Action::Send { to, frame }),
            Err(e) => panic!("raft message to {to} cannot be encoded: {e}"),
        }
    }

    /// Offers committed snapshot `name` at `at` to followers that need entries older than this
    /// node's log holds.
    pub(super) fn offer_snapshot(&mut self, name: SnapshotName, at: TxId) {
        let Some(rpc_address) = self.identity.rpc_addresses.first().cloned() else { return };
        let mut snapshot =
            Snapshot { data: SnapshotOffer::new(name, rpc_address).encode().into(), ..Default::default() };
        let meta = snapshot.mut_metadata();
        (meta.index, meta.term) = (at.seqno, at.view);
        self.consensus.driver.store_mut().offer(snapshot);
    }

    /// Hands out every pending `Ready`, then asks for one `Sync` if entries were appended.
    pub(super) fn drive(&mut self) {
        while self.installing.is_none()
            && self.consensus.pending_opening().is_none()
            && self.consensus.driver.has_ready()
        {
            self.on_ready();
        }
        if self.installing.is_some() {
            return;
        }
        if let Some(number) = self.consensus.sync_due.take() {
            self.consensus.unsynced.push_back((number, self.consensus.appended_last));
            self.out.push(Action::Sync);
        }
    }

    fn on_ready(&mut self) {
        let mut rd = self.consensus.driver.ready();
        let number = rd.number();
        self.consensus.last_ready = number;
        let soft = rd.ss().map(|ss| ss.raft_state);
        // A Ready carrying a snapshot offer also carries the commit raft-rs moved to it; this
        // node does not hold that state yet, so the hard state keeps the commit it knew.
        let offered = !rd.snapshot().is_empty();
        // The hard state first: a lone voter can campaign, win and append in one tick, and its
        // messages for the new term must not leave before the term and vote are durable.
        if let Some(hs) = rd.hs().cloned() {
            self.consensus.driver.store_mut().wl().set_hardstate(hs.clone());
            if (hs.term, hs.vote) != self.consensus.persisted {
                self.consensus.persisted = (hs.term, hs.vote);
                let commit = if offered { self.commit.seqno } else { hs.commit };
                let file = RaftStateFile { version: 1, term: hs.term, vote: hs.vote, commit };
                self.out.push(Action::PersistRaftState { json: serde_json::to_vec(&file).expect("json") });
            }
        }
        let mut snapshots_sent = Vec::new();
        for mut message in rd.take_messages() {
            if message.get_msg_type() == raft::eraftpb::MessageType::MsgSnapshot {
                // The configuration sent is the current one, not the one at the snapshot: the
                // recipient's raft-rs only checks that it names the recipient (which a node
                // that joined after the snapshot is not, at the snapshot), and the recipient
                // starts again from the snapshot file and its own consensus table anyway.
                let conf = self.consensus.driver.raw().raft.prs().conf().to_conf_state();
                message.mut_snapshot().mut_metadata().set_conf_state(conf);
                snapshots_sent.push(message.to);
            }
            self.send(message);
        }
        if !rd.snapshot().is_empty() {
            // The leader holds no entries as old as this log needs (it started from a snapshot
            // after them): start again from its snapshot. Nothing else of this Ready is kept.
            let snapshot = rd.snapshot();
            let (name, rpc_address) = SnapshotOffer::decode(&snapshot.data, snapshot.get_metadata().index)
                .expect("checked when the message arrived");
            self.installing = Some(name);
            self.out.push(Action::InstallSnapshot { name, rpc_address });
            return;
        }
        let entries = rd.take_entries();
        let appended = !entries.is_empty();
        let signed = appended && self.append_entries(entries);
        if let Some(role) = soft {
            if self.consensus.role == StateRole::Leader && role != StateRole::Leader {
                self.step_down();
            }
            self.consensus.role = role;
        }
        let committed = rd.take_committed_entries();
        if let Some(last) = committed.last().map(|e| e.index) {
            for entry in &committed {
                self.apply_committed_membership(entry);
            }
            self.advance_commit(last);
            // raft-rs reads `(applied, committed]` on every campaign: keep `applied` current.
            self.consensus.driver.advance_apply_to(last);
        }
        let persisted_messages = rd.take_persisted_messages();
        self.consensus.driver.advance_append_async(rd);
        // A snapshot offer is only a descriptor: it is "delivered" once sent; the follower
        // fetches the file itself, and the leader probes it again from the snapshot on.
        for to in snapshots_sent {
            self.consensus.driver.report_snapshot(to, raft::SnapshotStatus::Finish);
        }
        if appended {
            self.consensus.dirty = true;
            self.consensus.dirty_ready = number;
        }
        // A backup syncs whatever it appended (it acknowledges only durable entries); a
        // primary syncs when a signature is appended, covering every entry before it.
        if self.consensus.dirty && (signed || self.consensus.role != StateRole::Leader) {
            self.consensus.sync_due = Some(number);
            self.consensus.dirty = false;
        }
        if !appended && !self.consensus.dirty && self.consensus.unsynced.is_empty() && self.consensus.sync_due.is_none()
        {
            // Nothing of this Ready waits for the disk (its hard state was persisted above).
            self.consensus.driver.on_persist_ready(number);
            for message in persisted_messages {
                self.send(message);
            }
        } else {
            self.consensus.held.extend(persisted_messages.into_iter().map(|m| (number, m)));
        }
    }

    /// Appends Raft entries to the ledger: a conflicting suffix is truncated first (and the
    /// state rolled back), then every entry is checked and appended. Entries this primary wrote
    /// are already applied; others wait in the apply queue for a signature. Returns whether a
    /// signature was among them.
    fn append_entries(&mut self, entries: Vec<Entry>) -> bool {
        let mut signed = false;
        let first = entries[0].index;
        if first <= self.consensus.appended_last {
            let keep = first - 1;
            assert!(keep >= self.commit.seqno, "Raft truncated committed entry {first} (commit {})", self.commit);
            self.out.push(Action::TruncateLedger { seqno: keep });
            self.rollback_to(keep);
            self.consensus.appended_last = keep;
            self.durable_seqno = self.durable_seqno.min(keep);
            // A sync asked for before the cut covers at most what is left of the log (the
            // shell's next sync reports the new, shorter end).
            for record in &mut self.consensus.unsynced {
                record.1 = record.1.min(keep);
            }
        }
        assert_eq!(first, self.consensus.appended_last + 1, "Raft entries follow the log");
        self.consensus.driver.store_mut().wl().append(&entries).expect("entries follow the mirror");
        for entry in entries {
            let bytes = entry.data.to_vec();
            let view = EntryView::parse(&bytes)
                .unwrap_or_else(|e| panic!("Raft entry {} is not a ledger entry: {e}", entry.index));
            let tx = view.tx_id();
            assert_eq!(
                (tx.seqno, tx.view),
                (entry.index, entry.term),
                "a Raft entry's (index, term) must be its IV's (seqno, view)"
            );
            let flags = view.header.flags;
            let applied = self.history.last().seqno;
            let own = entry.index <= applied && self.facts.digest(entry.index) == Some(sha256(&bytes));
            self.consensus.appended_last = entry.index;
            if own {
                signed |= self.facts.signatures.contains_key(&entry.index);
            } else {
                self.count_chunk_bytes(flags, bytes.len() as u64);
                let signature = is_signature_entry(&bytes);
                signed |= signature;
                self.replica.queue.push(bytes.clone());
                if signature {
                    self.apply_signed_queue();
                }
            }
            self.out.push(Action::Append(EncodedEntry { bytes, tx_id: tx, flags }));
        }
        signed
    }

    pub(super) fn count_chunk_bytes(&mut self, flags: cairn_ledger::format::EntryFlags, len: u64) {
        if flags.chunk_before() {
            self.open_chunk_bytes = 0;
        }
        if self.open_chunk_bytes == 0 {
            self.open_chunk_bytes = super::CHUNK_HEADER_BYTES;
        }
        self.open_chunk_bytes += len;
        if flags.chunk_after() {
            self.open_chunk_bytes = 0;
        }
    }
}

use crate::Action;
