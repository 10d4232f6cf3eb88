//! `RaftDriver` in a three-node cluster run by hand: no threads, no clock, no I/O. The harness
//! ticks every node, drains each `Ready` (persisting into the node's `MemStorage` as raft-rs
//! requires), and delivers messages in FIFO order, dropping those to or from isolated nodes.
//!
//! Checked on every run, whatever the test:
//! - no empty `EntryNormal` appears in a `Ready` (entries, committed entries, messages) or in a
//!   `LightReady`: the new leader's opening entry is filled before it leaves the node (§6);
//! - the driver's invariants hold after every `Ready`;
//! - a failure prints the seed (`raft_driver: FAILED seed=0x…`).
use cairn_node::consensus::{DriverConfigError, OpeningEntry, ProposeError, RaftDriver, RaftDriverConfig};
use raft::StateRole;
use raft::eraftpb::{Entry, EntryType, Message};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::hash::{DefaultHasher, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

const VOTERS: [u64; 3] = [1, 2, 3];
/// Election timeouts drawn in [10, 20) ticks; heartbeat every 2 ticks.
const ELECTION_TIMEOUT_TICKS: usize = 20;
/// Ticks within which some leader must be elected.
const ELECTION_BOUND_TICKS: usize = 20 * ELECTION_TIMEOUT_TICKS;
/// Deliveries per settle before the harness calls it a livelock.
const SETTLE_BOUND_ROUNDS: usize = 1_000;

/// Runs `test` with `seed`, printing the seed if it panics.
fn with_seed<T>(seed: u64, test: impl FnOnce(u64) -> T) -> T {
    match catch_unwind(AssertUnwindSafe(|| test(seed))) {
        Ok(value) => value,
        Err(panic) => {
            eprintln!("raft_driver: FAILED seed={seed:#x}");
            resume_unwind(panic)
        }
    }
}

struct Cluster {
    seed: u64,
    nodes: BTreeMap<u64, RaftDriver>,
    isolated: BTreeSet<u64>,
    in_flight: VecDeque<Message>,
    /// Hash of every message sent, with the tick it was sent at.
    trace: DefaultHasher,
    ticks: u64,
    /// Entries each node has seen committed, by index.
    committed: BTreeMap<u64, BTreeMap<u64, Entry>>,
    openings: Vec<(u64, OpeningEntry)>,
}

impl Cluster {
    fn new(seed: u64) -> Self {
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let nodes = VOTERS
            .iter()
            .map(|&id| {
                let config = RaftDriverConfig {
                    id,
                    voters: VOTERS.to_vec(),
                    election_timeout_ticks: ELECTION_TIMEOUT_TICKS,
                    heartbeat_ticks: 2,
                    rng_seed: seed,
                };
                (id, RaftDriver::new(&config, &logger).expect("valid config"))
            })
            .collect();
        Self {
            seed,
            nodes,
            isolated: BTreeSet::new(),
            in_flight: VecDeque::new(),
            trace: DefaultHasher::new(),
            ticks: 0,
            committed: VOTERS.iter().map(|&id| (id, BTreeMap::new())).collect(),
            openings: Vec::new(),
        }
    }

    fn node(&mut self, id: u64) -> &mut RaftDriver {
        self.nodes.get_mut(&id).expect("known node")
    }

    /// Fills a new leader's opening entry, as the core will with its first signature.
    fn fill(&mut self, id: u64, opening: Option<OpeningEntry>) {
        if let Some(opening) = opening {
            let data = format!("opening of {id} at ({}, {})", opening.index, opening.term);
            self.node(id).fill_opening_entry(data.into_bytes());
            self.openings.push((id, opening));
        }
    }

    /// One tick on every node, then every message delivered until the cluster is quiet.
    fn tick(&mut self) {
        self.ticks += 1;
        for id in VOTERS {
            let opening = self.node(id).tick();
            self.fill(id, opening);
        }
        self.settle();
    }

    fn ticks_n(&mut self, n: usize) {
        for _ in 0..n {
            self.tick();
        }
    }

    fn settle(&mut self) {
        for _ in 0..SETTLE_BOUND_ROUNDS {
            for id in VOTERS {
                self.drain_ready(id);
            }
            if self.in_flight.is_empty() {
                return;
            }
            while let Some(message) = self.in_flight.pop_front() {
                self.deliver(message);
            }
        }
        panic!("seed={:#x}: the cluster did not settle", self.seed);
    }

    fn deliver(&mut self, message: Message) {
        if self.isolated.contains(&message.from) || self.isolated.contains(&message.to) {
            return;
        }
        let to = message.to;
        let opening = self.node(to).step(message).expect("a peer message is accepted");
        self.fill(to, opening);
    }

    /// The Ready loop of raft-rs's docs, with `MemStorage` as the disk.
    fn drain_ready(&mut self, id: u64) {
        while self.node(id).has_ready() {
            let seed = self.seed;
            let node = self.nodes.get_mut(&id).expect("known node");
            let mut ready = node.ready();
            let mut sent = ready.take_messages();
            let store = node.store().mem().clone();
            if !ready.snapshot().is_empty() {
                store.wl().apply_snapshot(ready.snapshot().clone()).expect("snapshot applies");
            }
            assert_filled(seed, "Ready entries", ready.entries());
            store.wl().append(ready.entries()).expect("entries append");
            if let Some(hard_state) = ready.hs() {
                store.wl().set_hardstate(hard_state.clone());
            }
            sent.extend(ready.take_persisted_messages());
            let mut committed = ready.take_committed_entries();
            let mut light = node.advance(ready);
            if let Some(commit) = light.commit_index() {
                store.wl().mut_hard_state().set_commit(commit);
            }
            sent.extend(light.take_messages());
            committed.extend(light.take_committed_entries());
            node.advance_apply();
            node.check_invariants();
            assert_filled(seed, "committed entries", &committed);
            let seen = self.committed.get_mut(&id).expect("known node");
            for entry in committed {
                if let Some(earlier) = seen.insert(entry.index, entry.clone()) {
                    assert_eq!(earlier, entry, "seed={seed:#x}: node {id} committed two entries at {}", entry.index);
                }
            }
            for message in sent {
                assert_filled(seed, "an outgoing message", message.get_entries());
                self.trace.write_u64(self.ticks);
                self.trace.write(format!("{message:?}").as_bytes());
                self.in_flight.push_back(message);
            }
        }
    }

    /// The leader of the highest term among non-isolated nodes, if any.
    fn leader(&self) -> Option<u64> {
        let leaders: Vec<&RaftDriver> = self
            .nodes
            .values()
            .filter(|node| node.role() == StateRole::Leader && !self.isolated.contains(&node.id()))
            .collect();
        let max_term = leaders.iter().map(|node| node.term()).max()?;
        let in_max_term: Vec<u64> = leaders.iter().filter(|n| n.term() == max_term).map(|n| n.id()).collect();
        assert_eq!(in_max_term.len(), 1, "seed={:#x}: two leaders in term {max_term}", self.seed);
        Some(in_max_term[0])
    }

    /// Ticks until a leader of a term after `after_term` is elected; returns it.
    fn elect(&mut self, after_term: u64) -> u64 {
        for _ in 0..ELECTION_BOUND_TICKS {
            if let Some(leader) = self.leader().filter(|&leader| self.nodes[&leader].term() > after_term) {
                return leader;
            }
            self.tick();
        }
        panic!("seed={:#x}: no leader after {ELECTION_BOUND_TICKS} ticks", self.seed);
    }

    fn follower_of(&self, leader: u64) -> u64 {
        *VOTERS.iter().find(|&&id| id != leader).expect("three voters")
    }

    fn trace_hash(&self) -> u64 {
        self.trace.finish()
    }
}

fn assert_filled(seed: u64, place: &str, entries: &[Entry]) {
    for entry in entries {
        assert!(
            !(entry.get_entry_type() == EntryType::EntryNormal && entry.data.is_empty()),
            "seed={seed:#x}: empty EntryNormal at ({}, {}) in {place}",
            entry.index,
            entry.term
        );
    }
}

/// A run with elections, proposals and an isolated leader; returns the hash of its trace.
fn scripted_run(seed: u64) -> u64 {
    let mut cluster = Cluster::new(seed);
    let first = cluster.elect(0);
    for k in 0..5u8 {
        cluster.node(first).propose(vec![k + 1]).expect("the leader accepts");
        cluster.ticks_n(3);
    }
    let term = cluster.node(first).term();
    cluster.isolated.insert(first);
    let second = cluster.elect(term);
    cluster.isolated.clear();
    cluster.node(second).propose(b"after".to_vec()).expect("the new leader accepts");
    cluster.ticks_n(2 * ELECTION_TIMEOUT_TICKS);
    cluster.trace_hash()
}

#[test]
fn same_seed_same_message_trace() {
    for seed in [0u64, 1, 0xC0FFEE] {
        with_seed(seed, |seed| {
            let first = scripted_run(seed);
            assert_eq!(first, scripted_run(seed), "one seed gave two traces");
            assert_ne!(first, scripted_run(seed + 1), "seeds {seed:#x} and {:#x} gave one trace", seed + 1);
        });
    }
}

#[test]
fn three_nodes_elect_one_leader_and_replicate_a_proposal() {
    with_seed(7, |seed| {
        let mut cluster = Cluster::new(seed);
        let leader = cluster.elect(0);
        let term = cluster.node(leader).term();
        assert!(term >= 2, "the first election wins term 2 or later, got {term}");
        for id in VOTERS {
            assert_eq!(cluster.node(id).leader_id(), Some(leader), "node {id} knows the leader");
            assert_eq!(cluster.node(id).term(), term);
        }
        let index = cluster.node(leader).propose(b"hello".to_vec()).expect("the leader accepts");
        cluster.ticks_n(3);
        let opening = cluster.openings.last().expect("the leader filled its opening entry").1;
        assert_eq!((opening.term, opening.index + 1), (term, index));
        for id in VOTERS {
            assert!(cluster.node(id).commit_index() >= index, "node {id} committed the proposal");
            let seen = &cluster.committed[&id];
            assert_eq!(seen[&index].get_data(), b"hello");
            let opening_data = format!("opening of {leader} at ({}, {term})", opening.index);
            assert_eq!(seen[&opening.index].get_data(), opening_data.as_bytes());
        }
    });
}

#[test]
fn leader_empty_entry_is_filled_before_ready() {
    const ELECTIONS: usize = 100;
    with_seed(0x5EED, |seed| {
        let mut cluster = Cluster::new(seed);
        let mut leader = cluster.elect(0);
        for _ in 0..ELECTIONS {
            let term = cluster.node(leader).term();
            cluster.isolated.insert(leader);
            let next = cluster.elect(term);
            cluster.isolated.clear();
            leader = next;
        }
        cluster.node(leader).propose(b"last".to_vec()).expect("the leader accepts");
        cluster.ticks_n(2 * ELECTION_TIMEOUT_TICKS);
        assert!(cluster.openings.len() > ELECTIONS, "{} openings", cluster.openings.len());
        let last_index = cluster.node(leader).last_index();
        for id in VOTERS {
            assert_eq!(cluster.node(id).commit_index(), last_index, "node {id} caught up");
            let log = cluster.node(id).store();
            let entries = raft::Storage::entries(log, 1, last_index + 1, None, raft::GetEntriesContext::empty(false))
                .expect("the whole log is readable");
            assert_filled(seed, "a node's log", &entries);
        }
    });
}

#[test]
fn propose_index_is_last_index_plus_one() {
    with_seed(11, |seed| {
        let mut cluster = Cluster::new(seed);
        let leader = cluster.elect(0);
        let mut proposed = Vec::new();
        for k in 0..10u8 {
            let expected = cluster.node(leader).last_index() + 1;
            let index = cluster.node(leader).propose(vec![b'p', k]).expect("the leader accepts");
            assert_eq!(index, expected);
            proposed.push((index, vec![b'p', k]));
            if k % 3 == 0 {
                cluster.tick();
            }
        }
        cluster.ticks_n(3);
        for id in VOTERS {
            for (index, data) in &proposed {
                assert_eq!(cluster.committed[&id][index].get_data(), data.as_slice(), "node {id} at {index}");
            }
        }
    });
}

#[test]
fn propose_refused_on_a_follower() {
    with_seed(3, |seed| {
        let mut cluster = Cluster::new(seed);
        assert_eq!(cluster.node(1).propose(b"early".to_vec()), Err(ProposeError::NotLeader { leader_id: None }));
        let leader = cluster.elect(0);
        let follower = cluster.follower_of(leader);
        let last_index = cluster.node(follower).last_index();
        assert_eq!(
            cluster.node(follower).propose(b"x".to_vec()),
            Err(ProposeError::NotLeader { leader_id: Some(leader) })
        );
        assert_eq!(cluster.node(follower).last_index(), last_index, "a refused proposal leaves no entry");
        assert_eq!(cluster.node(leader).propose(Vec::new()), Err(ProposeError::EmptyEntry));
    });
}

#[test]
fn propose_refused_while_transferring_leadership() {
    with_seed(5, |seed| {
        let mut cluster = Cluster::new(seed);
        let leader = cluster.elect(0);
        let transferee = cluster.follower_of(leader);
        cluster.ticks_n(2);
        let opening = cluster.node(leader).transfer_leader(transferee);
        assert_eq!(opening, None);
        let last_index = cluster.node(leader).last_index();
        assert_eq!(
            cluster.node(leader).propose(b"x".to_vec()),
            Err(ProposeError::TransferringLeadership { transferee })
        );
        assert_eq!(cluster.node(leader).last_index(), last_index);
        cluster.settle();
        assert_eq!(cluster.leader(), Some(transferee), "the transfer completes");
        assert!(cluster.node(transferee).propose(b"y".to_vec()).is_ok());
    });
}

#[test]
fn timeouts_in_ms_become_ticks() {
    let (config, tick_ms) = RaftDriverConfig::from_timeouts_ms(1, vec![1, 2, 3], 4_000, 100, 9).expect("valid");
    assert_eq!(tick_ms, 50);
    assert_eq!(config.heartbeat_ticks, 2);
    assert_eq!(config.election_timeout_ticks, 80);
    assert_eq!((config.min_election_ticks(), config.max_election_ticks()), (40, 80));
}

#[test]
fn invalid_configurations_are_refused() {
    // (id, voters, election_timeout_ms, message_timeout_ms, expected error)
    let table: [(u64, Vec<u64>, u64, u64, DriverConfigError); 6] = [
        (0, vec![0, 1], 4_000, 100, DriverConfigError::ZeroId),
        (1, vec![0, 1], 4_000, 100, DriverConfigError::ZeroId),
        (4, vec![1, 2], 4_000, 100, DriverConfigError::NotAVoter { id: 4 }),
        (2, vec![1, 2, 2], 4_000, 100, DriverConfigError::DuplicateVoter { id: 2 }),
        (1, vec![1], 4_000, 1, DriverConfigError::MessageTimeoutTooShort { message_timeout_ms: 1 }),
        (
            1,
            vec![1],
            200,
            100,
            DriverConfigError::ElectionTimeoutTooShort { heartbeat_ticks: 2, min_election_ticks: 2 },
        ),
    ];
    for (id, voters, election_ms, message_ms, expected) in table {
        let result = RaftDriverConfig::from_timeouts_ms(id, voters.clone(), election_ms, message_ms, 0);
        assert_eq!(result, Err(expected), "id {id}, voters {voters:?}, {election_ms} ms / {message_ms} ms");
    }
}

#[test]
fn election_timeouts_stay_in_range_and_follow_the_seed() {
    let timeouts = |seed: u64| -> Vec<usize> {
        let mut cluster = Cluster::new(seed);
        let mut seen = Vec::new();
        for _ in 0..4 * ELECTION_TIMEOUT_TICKS {
            cluster.tick();
            seen.extend(VOTERS.iter().map(|&id| cluster.node(id).election_timeout_ticks()));
        }
        seen
    };
    let first = timeouts(21);
    assert!(first.iter().all(|t| (ELECTION_TIMEOUT_TICKS / 2..ELECTION_TIMEOUT_TICKS).contains(t)));
    assert_eq!(first, timeouts(21));
}

fn single_voter() -> RaftDriver {
    let config = RaftDriverConfig {
        id: 1,
        voters: vec![1],
        election_timeout_ticks: ELECTION_TIMEOUT_TICKS,
        heartbeat_ticks: 2,
        rng_seed: 1,
    };
    RaftDriver::new(&config, &slog::Logger::root(slog::Discard, slog::o!())).expect("valid config")
}

#[test]
fn single_voter_campaign_opens_index_1_in_term_2() {
    let mut node = single_voter();
    let opening = node.campaign().expect("a voter may campaign");
    assert_eq!(opening, Some(OpeningEntry { term: 2, index: 1 }), "CCF's first view is 2");
    assert_eq!(node.pending_opening(), opening);
    node.fill_opening_entry(b"create".to_vec());
    assert_eq!(node.pending_opening(), None);
    let mut ready = node.ready();
    let entries = ready.take_entries();
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].index, entries[0].term, entries[0].get_data()), (1, 2, &b"create"[..]));
}

#[test]
#[should_panic(expected = "must be filled before the node is used again")]
fn ready_with_an_unfilled_opening_entry_panics() {
    let mut node = single_voter();
    assert!(node.campaign().expect("a voter may campaign").is_some());
    let _ = node.ready();
}
