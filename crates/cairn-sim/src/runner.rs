//! The run: builds the cluster (node 0 starts the service, the others join, the member opens
//! the service for the user), then injects faults and load for `duration_ms` of virtual time,
//! then heals everything, checks liveness, stops the load, lets the cluster quiesce and runs
//! the end-of-run checkers. One seed, one thread, one [`EventQueue`].
use crate::checkers::liveness::Liveness;
use crate::checkers::{self, Checkers, NodeView, Role, Violation};
use crate::clock::EventQueue;
use crate::fixtures::{self, START_MS};
use crate::host::{NODE_CERT_FILE, Output, SERVICE_CERT_FILE, SERVICE_KEY_FILE, SimNode};
use crate::network::{NetFaults, SimNetwork};
use crate::options::{Bug, RunSummary, SimFailure, SimOptions};
use crate::rng::{node_fill_random, sim_rng};
use crate::workload::Workload;
use cairn_ledger::LedgerConfig;
use cairn_node::{Caller, CoreConfig, Event, NodeCore, NodeState, Request, RequestId, Response};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

mod disaster;

/// Client ↔ node latency (clients are not partitioned; a down node just does not answer).
const CLIENT_DELAY_MS: std::ops::RangeInclusive<u64> = 1..=5;
/// How long the cluster may take to form (joins) and to open the service, virtual ms.
const SETUP_LIMIT_MS: u64 = 30_000;
/// How long the healed, unloaded cluster may take to agree on one commit.
const QUIESCE_LIMIT_MS: u64 = 15_000;
/// A node tells Raft a peer is unreachable at most this often.
const UNREACHABLE_EVERY_MS: u64 = 100;

/// The core configuration every simulated node runs with: short timeouts and small chunks, so
/// a few virtual seconds see elections, many signatures and committed chunks. Snapshots are
/// effectively off (restarts replay the whole ledger; joiners start from seqno 1).
#[allow(clippy::needless_update, reason = "fields the core adds later keep their defaults")]
pub fn sim_core_config() -> CoreConfig {
    CoreConfig {
        signature_tx_count: 20,
        signature_delay_ms: 50,
        snapshot_tx_count: 1_000_000,
        chunk_size_bytes: 16 * 1024,
        election_timeout_ms: 1_000,
        message_timeout_ms: 100,
        join_retry_ms: 200,
        ..CoreConfig::default()
    }
}

#[derive(Debug)]
enum SimEvent {
    Tick { node: usize, inc: u64 },
    SyncDone { node: usize, inc: u64 },
    LateSync { node: usize, inc: u64 },
    Frame { from: usize, to: usize, to_inc: u64, frame: Vec<u8> },
    Unreachable { node: usize, inc: u64, to_raft: u64 },
    JoinDeliver { from: usize, from_inc: u64, to: usize, body: Vec<u8> },
    JoinAnswer { to: usize, to_inc: u64, status: u16, body: Vec<u8> },
    ClientWake { client: usize },
    ClientDeliver { node: usize, id: RequestId, caller: Caller, request: Request },
    ClientReply { client: usize, id: RequestId, response: Response },
    Crash,
    Restart { node: usize, inc: u64 },
    Partition,
    Heal,
    IoError,
}

#[derive(Debug, Clone, Copy)]
enum Pending {
    Client(usize),
    Join { joiner: usize, inc: u64 },
    Setup,
}

struct Sim {
    seed: u64,
    opts: SimOptions,
    config: CoreConfig,
    queue: EventQueue<SimEvent>,
    rng: ChaCha8Rng,
    net: SimNetwork,
    nodes: Vec<SimNode>,
    raft_index: BTreeMap<u64, usize>,
    checkers: Checkers,
    workload: Workload,
    pending: BTreeMap<RequestId, Pending>,
    replies: BTreeMap<RequestId, Response>,
    next_id: RequestId,
    faults_on: bool,
    next_deep_ms: Vec<u64>,
    last_unreachable: BTreeMap<(usize, u64), u64>,
    liveness: Option<Liveness>,
    summary: RunSummary,
    failure: Option<SimFailure>,
    /// The node whose code runs now (named if it panics).
    current_node: Option<usize>,
    /// The join token node 0's start drew (from the seed), presented by every joiner.
    join_token: Option<cairn_node::JoinToken>,
    /// The node joiners ask (node 0, or the node that recovered the service).
    join_target: usize,
    ledger: LedgerConfig,
}

/// Runs one seed. `Err` names the checker that failed and how to replay the run.
pub fn run(seed: u64, opts: SimOptions) -> Result<RunSummary, SimFailure> {
    assert!((1..=fixtures::MAX_NODES).contains(&opts.nodes), "1..={} nodes", fixtures::MAX_NODES);
    assert!(!opts.disaster || opts.nodes <= 3, "a disaster recovery runs with at most 3 nodes");
    let mut sim = Sim::new(seed, opts);
    let outcome = catch_unwind(AssertUnwindSafe(|| sim.run_all()));
    if let Err(panic) = outcome {
        let what = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into());
        let node = sim.current_node.unwrap_or(usize::MAX);
        sim.fail(Violation::NodeCrashed { node, at_ms: sim.now() - START_MS, what: format!("panicked: {what}") });
    }
    match sim.failure {
        Some(f) => Err(f),
        None => Ok(sim.summary),
    }
}

/// Runs `seeds` in order with the same options; stops at the first failure.
pub fn run_seeds(seeds: std::ops::Range<u64>, opts: &SimOptions) -> Result<Vec<RunSummary>, SimFailure> {
    seeds.map(|seed| run(seed, opts.clone())).collect()
}

impl Sim {
    fn new(seed: u64, opts: SimOptions) -> Self {
        let mut config = sim_core_config();
        if opts.snapshot_tx_count > 0 {
            config.snapshot_tx_count = opts.snapshot_tx_count;
        }
        let ledger = LedgerConfig { chunk_size_bytes: config.chunk_size_bytes, recovery: false };
        let mut nodes: Vec<SimNode> = (0..opts.nodes).map(|i| SimNode::new(i, ledger, opts.bug)).collect();
        if opts.bug == Some(Bug::SyncLiesOnMajority) {
            for node in nodes.iter_mut().take(opts.nodes / 2 + 1) {
                node.disk.set_sync_lies(true);
            }
        }
        let raft_index = nodes.iter().map(|n| (n.raft_id, n.index)).collect();
        Sim {
            seed,
            config,
            queue: EventQueue::new(START_MS),
            rng: sim_rng(seed),
            net: SimNetwork::new(opts.nodes, NetFaults::reliable(1)),
            raft_index,
            checkers: Checkers::new(),
            workload: Workload::new(opts.clients, opts.nodes),
            pending: BTreeMap::new(),
            replies: BTreeMap::new(),
            next_id: 1,
            faults_on: false,
            next_deep_ms: vec![0; opts.nodes],
            last_unreachable: BTreeMap::new(),
            liveness: None,
            summary: RunSummary { seed, ..RunSummary::default() },
            failure: None,
            nodes: std::mem::take(&mut nodes),
            opts,
            current_node: None,
            join_token: None,
            join_target: 0,
            ledger,
        }
    }
}

impl Sim {
    fn now(&self) -> u64 {
        self.queue.now_ms()
    }

    fn fail(&mut self, violation: Violation) {
        if self.failure.is_none() {
            self.failure = Some(SimFailure {
                seed: self.seed,
                at_ms: self.now().saturating_sub(START_MS),
                violation,
                replay: self.opts.replay_command(self.seed),
            });
        }
    }

    fn failed(&self) -> bool {
        self.failure.is_some()
    }

    fn delay(&mut self, range: std::ops::RangeInclusive<u64>) -> u64 {
        self.rng.random_range(range)
    }

    fn run_all(&mut self) {
        self.setup();
        if self.failed() {
            return;
        }
        // Load and faults.
        self.faults_on = true;
        self.net.faults = self.opts.faults.network.clone();
        for c in 0..self.workload.len() {
            let d = self.delay(0..=20);
            self.queue.schedule_in(d, SimEvent::ClientWake { client: c });
        }
        let f = self.opts.faults.clone();
        if f.crash_every_ms > 0 {
            let d = self.delay(f.crash_every_ms / 2..=f.crash_every_ms * 3 / 2);
            self.queue.schedule_in(d, SimEvent::Crash);
        }
        if f.io_error_every_ms > 0 {
            let d = self.delay(f.io_error_every_ms / 2..=f.io_error_every_ms * 3 / 2);
            self.queue.schedule_in(d, SimEvent::IoError);
        }
        if f.partition_every_ms > 0 && self.opts.nodes > 1 {
            let d = self.delay(f.partition_every_ms / 2..=f.partition_every_ms * 3 / 2);
            self.queue.schedule_in(d, SimEvent::Partition);
        }
        let end = self.now() + self.opts.duration_ms;
        self.run_until(end, |_| false);
        if self.failed() {
            return;
        }
        // Heal: no more faults, every node up, a reliable network.
        self.faults_on = false;
        self.net.heal();
        let (lo, hi) = (self.opts.faults.network.min_delay_ms, self.opts.faults.network.max_delay_ms);
        self.net.faults = NetFaults { drop_prob: 0.0, dup_prob: 0.0, min_delay_ms: lo, max_delay_ms: hi };
        for n in 0..self.nodes.len() {
            if !self.nodes[n].is_up() && self.nodes[n].dead.is_none() {
                let inc = self.nodes[n].incarnation;
                self.queue.schedule_in(0, SimEvent::Restart { node: n, inc });
            }
        }
        let window = 3 * self.config.election_timeout_ms;
        let liveness = Liveness::new(self.now(), window, &self.live_views());
        self.liveness = Some(liveness);
        let deadline = self.now() + window;
        self.run_until(deadline, |s| s.liveness.as_ref().is_some_and(|l| l.reached_at_ms.is_some()));
        if self.failed() {
            return;
        }
        let liveness = self.liveness.take().expect("set above");
        if let Err(v) = liveness.check(&self.live_views()) {
            self.fail(v);
            return;
        }
        self.summary.recovery_ms = liveness.reached_at_ms.map(|t| t - liveness.healed_at_ms);
        // Quiesce: no new writes; wait until every node holds the same commit at its last entry.
        self.workload.stopped = true;
        let deadline = self.now() + QUIESCE_LIMIT_MS;
        self.run_until(deadline, |s| s.quiet());
        if self.failed() {
            return;
        }
        self.final_checks();
        if self.opts.disaster && !self.failed() {
            self.disaster();
        }
    }

    /// Every node up (but those that refused to start after bit rot) and idle, the same commit
    /// everywhere, at everyone's last entry.
    fn quiet(&self) -> bool {
        let mut alive = self.nodes.iter().filter(|n| n.dead.is_none());
        if self.workload.busy() || alive.clone().any(|n| !n.is_up() || n.syncing) {
            return false;
        }
        let Some(first) = alive.next() else { return true };
        let commit = first.core().commit();
        self.nodes
            .iter()
            .filter(|n| n.dead.is_none())
            .all(|n| n.core().commit() == commit && n.disk.writer().last() == commit)
    }

    fn live_views(&self) -> Vec<&dyn NodeView> {
        self.nodes.iter().filter(|n| n.is_up()).map(|n| n as &dyn NodeView).collect()
    }

    fn final_checks(&mut self) {
        let quiet = self.quiet();
        let mut result = Ok(());
        for n in 0..self.nodes.len() {
            if self.nodes[n].is_up() {
                // One last deep look at every node.
                if let Err(v) = self.checkers.observe(&self.nodes[n], true) {
                    result = Err(v);
                    break;
                }
            }
        }
        let views = self.live_views();
        let result = result
            .and_then(|()| checkers::committed_never_lost::check(&views, &self.workload.committed))
            .and_then(|()| checkers::committed_chunks_identical::check(&views))
            .and_then(|()| self.checkers.monotonic.check_final(&views))
            .and_then(|()| {
                if quiet {
                    return Ok(());
                }
                let state: Vec<String> = self
                    .nodes
                    .iter()
                    .map(|n| match &n.core {
                        Some(c) => format!("node {}: commit {} last {}", n.index, c.commit(), n.disk.writer().last()),
                        None => format!("node {}: down", n.index),
                    })
                    .collect();
                Err(Violation::Liveness {
                    healed_at_ms: 0,
                    deadline_ms: QUIESCE_LIMIT_MS,
                    what: format!("the unloaded cluster did not converge: {}", state.join("; ")),
                })
            });
        drop(views);
        self.summary.committed_chunks =
            self.nodes.iter().filter(|n| n.is_up()).map(|n| n.disk.committed_chunks().len()).min().unwrap_or(0);
        self.summary.virtual_ms = self.now() - START_MS;
        self.summary.network = self.net.stats;
        self.summary.writes_sent = self.workload.stats.writes_sent;
        self.summary.writes_committed = self.workload.stats.writes_committed;
        self.summary.highest_commit = self.checkers.monotonic.max_commit().seqno;
        self.summary.leaders_elected = self.checkers.election.leaders().len() as u64;
        self.summary.highest_term = self.checkers.election.leaders().keys().next_back().copied().unwrap_or(0);
        if let Err(v) = result {
            self.fail(v);
        }
    }

    // ----- setup -----

    fn setup(&mut self) {
        let now = self.now();
        // Node 0 creates the service: its identity files first, as the production shell does.
        let f = fixtures::fixtures();
        let n0 = &mut self.nodes[0];
        for (name, data) in [
            (SERVICE_KEY_FILE, f.service.key.to_pem()),
            (SERVICE_CERT_FILE, f.service.cert.pem().to_string()),
            (NODE_CERT_FILE, f.first_signer.cert_pem.clone()),
        ] {
            n0.disk.write_node_file(name, data.as_bytes()).expect("node_data write");
        }
        let identity = n0.persisted_identity().expect("written above");
        let mut secret = [0u8; 32];
        self.rng.fill(&mut secret);
        let mut token = [0u8; 32];
        self.rng.fill(&mut token);
        let join_token = cairn_node::JoinToken::from_bytes(token);
        let join_token_digest = join_token.digest();
        self.join_token = Some(join_token);
        let seed = self.seed;
        let config = self.config.clone();
        self.current_node = Some(0);
        let core = NodeCore::start(cairn_node::StartParams {
            identity,
            config: config.clone(),
            members: vec![f.member.clone()],
            recovery_threshold: 1,
            ledger_secret: secret,
            join_token_digest,
            now_ms: now,
            fill_random: node_fill_random(seed, 0, 0),
        });
        match core {
            Ok(core) => self.nodes[0].core = Some(core),
            Err(e) => {
                self.fail(Violation::NodeCrashed { node: 0, at_ms: 0, what: format!("start: {}", e.message) });
                return;
            }
        }
        self.with_node(0, |n, now, out| n.pump(now, out));
        for i in 1..self.nodes.len() {
            self.start_joiner(i);
        }
        let deadline = self.now() + SETUP_LIMIT_MS;
        self.run_until(deadline, |s| s.all_joined());
        if self.failed() {
            return;
        }
        if !self.all_joined() {
            let states: Vec<String> =
                self.nodes.iter().map(|n| format!("{:?}", n.core.as_ref().map(|c| c.node_state()))).collect();
            self.fail(Violation::Liveness {
                healed_at_ms: 0,
                deadline_ms: SETUP_LIMIT_MS,
                what: format!("setup: not every node joined: {}", states.join(", ")),
            });
            return;
        }
        let user_cert = f.user_cert.pem().to_string();
        self.govern(json!([{"name": "set_user", "args": {"cert": user_cert}}]));
        let service_cert = f.service.cert.pem().to_string();
        self.govern(json!([{"name": "transition_service_to_open", "args": {"next_service_identity": service_cert}}]));
    }

    /// Whether every node is part of the network and counted as a voter by the primary's view.
    fn all_joined(&self) -> bool {
        self.nodes.iter().all(|n| n.core.as_ref().is_some_and(|c| c.node_state() == NodeState::PartOfNetwork))
            && self.nodes.iter().all(|n| n.core().raft_status().voters.len() == self.nodes.len())
    }

    /// Node `i` asks to join the service through node 0.
    fn start_joiner(&mut self, i: usize) {
        let now = self.now();
        let seed = self.seed;
        let inc = self.nodes[i].incarnation;
        let slot = self.nodes[i].key_slot;
        let key = fixtures::node_key(slot);
        let cert = fixtures::self_signed_node_cert(slot);
        self.current_node = Some(i);
        let core = NodeCore::join(cairn_node::JoinParams {
            node_key: key,
            self_signed_cert_pem: cert.pem().to_string(),
            encryption_key: fixtures::node_encryption_key(slot),
            rpc_addresses: vec![fixtures::rpc_address(i)],
            node_to_node_address: fixtures::node_to_node_address(i),
            config: self.config.clone(),
            join_token: self.join_token.clone(),
            now_ms: now,
            fill_random: node_fill_random(seed, i, inc),
        });
        self.nodes[i].core = Some(core);
        self.with_node(i, |n, now, out| n.pump(now, out));
    }

    /// Proposes `actions` as the member and approves them, through the primary.
    fn govern(&mut self, actions: serde_json::Value) {
        let body = fixtures::member_request("proposal", None, &json!({ "actions": actions }), self.now());
        let Some(proposed) = self.ask(Request::Propose { body }) else { return };
        if proposed.status != 200 {
            self.fail(Violation::Liveness {
                healed_at_ms: 0,
                deadline_ms: 0,
                what: format!("setup: proposal refused: {}", proposed.body),
            });
            return;
        }
        let proposal_id = proposed.body["proposalId"].as_str().unwrap_or_default().to_string();
        let body = fixtures::member_request("ballot", Some(&proposal_id), &json!({"ballot": "approve"}), self.now());
        let member_id = fixtures::fixtures().member_id.clone();
        let Some(voted) = self.ask(Request::Ballot { proposal_id, member_id, body }) else { return };
        if voted.status != 200 || voted.body["proposalState"] != "Accepted" {
            self.fail(Violation::Liveness {
                healed_at_ms: 0,
                deadline_ms: 0,
                what: format!("setup: ballot not accepted: {}", voted.body),
            });
        }
    }

    /// Sends a setup request to the current leader and runs until it answers.
    fn ask(&mut self, request: Request) -> Option<Response> {
        self.ask_as(Caller::default(), request)
    }

    /// [`Sim::ask`] from `caller`.
    fn ask_as(&mut self, caller: Caller, request: Request) -> Option<Response> {
        let leader = self.leader().unwrap_or(self.join_target);
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert(id, Pending::Setup);
        self.queue.schedule_in(1, SimEvent::ClientDeliver { node: leader, id, caller, request });
        let deadline = self.now() + SETUP_LIMIT_MS;
        self.run_until(deadline, |s| s.replies.contains_key(&id));
        let reply = self.replies.remove(&id);
        if reply.is_none() && !self.failed() {
            self.fail(Violation::Liveness {
                healed_at_ms: 0,
                deadline_ms: SETUP_LIMIT_MS,
                what: "setup: a governance request got no answer".into(),
            });
        }
        reply
    }

    /// The node that says it is leader in the highest term.
    fn leader(&self) -> Option<usize> {
        self.nodes
            .iter()
            .filter(|n| n.is_up())
            .map(|n| (n.raft(), n.index))
            .filter(|(r, _)| r.role == Role::Leader)
            .max_by_key(|(r, _)| r.term)
            .map(|(_, i)| i)
    }

    // ----- the event loop -----

    /// Processes events up to `until_ms` or until `done` holds (checked after each event).
    fn run_until(&mut self, until_ms: u64, done: impl Fn(&Sim) -> bool) {
        while !self.failed() && !done(self) {
            let Some((_, event)) = self.queue.pop_until(until_ms) else {
                self.queue.advance_to(until_ms);
                return;
            };
            self.summary.events += 1;
            if self.opts.trace {
                self.trace(&event);
            }
            self.process(event);
            if let Some(l) = self.liveness.as_mut() {
                let views: Vec<&dyn NodeView> =
                    self.nodes.iter().filter(|n| n.is_up()).map(|n| n as &dyn NodeView).collect();
                l.observe(self.queue.now_ms(), &views);
            }
        }
    }

    fn process(&mut self, event: SimEvent) {
        match event {
            SimEvent::Tick { node, inc } => {
                let n = &mut self.nodes[node];
                if n.incarnation != inc || n.next_tick_at != Some(self.queue.now_ms()) {
                    return;
                }
                n.next_tick_at = None;
                self.with_node(node, |n, now, out| n.deliver(Event::Tick { now_ms: now }, now, out));
            }
            SimEvent::SyncDone { node, inc } => {
                if self.nodes[node].incarnation == inc {
                    self.with_node(node, |n, now, out| n.finish_sync(now, out));
                }
            }
            SimEvent::LateSync { node, inc } => {
                if self.nodes[node].incarnation == inc {
                    self.with_node(node, |n, _, _| n.late_sync());
                }
            }
            SimEvent::Frame { from, to, to_inc, frame } => {
                let up = self.nodes[to].is_up() && self.nodes[to].incarnation == to_inc;
                if up && !self.net.is_blocked(from, to) {
                    let from_raft = self.nodes[from].raft_id;
                    self.with_node(to, |n, now, out| n.deliver(Event::PeerFrame { from: from_raft, frame }, now, out));
                } else {
                    let to_raft = self.nodes[to].raft_id;
                    self.report_unreachable(from, to_raft);
                }
            }
            SimEvent::Unreachable { node, inc, to_raft } => {
                if self.nodes[node].incarnation == inc {
                    self.with_node(node, |n, now, out| n.deliver(Event::PeerUnreachable { to: to_raft }, now, out));
                }
            }
            SimEvent::JoinDeliver { from, from_inc, to, body } => {
                if self.nodes[to].is_up() && !self.net.is_blocked(from, to) {
                    let id = self.next_id;
                    self.next_id += 1;
                    self.pending.insert(id, Pending::Join { joiner: from, inc: from_inc });
                    let caller = join_caller(&body);
                    self.with_node(to, |n, now, out| {
                        n.deliver(Event::Request { id, caller, request: Request::Join { body } }, now, out)
                    });
                } else {
                    let d = self.delay(50..=200);
                    self.queue
                        .schedule_in(d, SimEvent::JoinAnswer { to: from, to_inc: from_inc, status: 0, body: vec![] });
                }
            }
            SimEvent::JoinAnswer { to, to_inc, status, body } => {
                if self.nodes[to].incarnation == to_inc {
                    self.with_node(to, |n, now, out| n.deliver(Event::JoinResponse { status, body }, now, out));
                }
            }
            SimEvent::ClientWake { client } => self.client_wake(client),
            SimEvent::ClientDeliver { node, id, caller, request } => {
                if self.nodes[node].is_up() {
                    self.with_node(node, |n, now, out| n.deliver(Event::Request { id, caller, request }, now, out));
                } else {
                    self.pending.remove(&id);
                }
            }
            SimEvent::ClientReply { client, id, response } => {
                let leader = self.leader();
                let now = self.now();
                if let Some(d) = self.workload.on_reply(client, id, &response, now, &mut self.rng, leader) {
                    self.queue.schedule_in(d, SimEvent::ClientWake { client });
                }
            }
            SimEvent::Crash => {
                self.crash();
                if self.opts.trace {
                    let down: Vec<usize> = (0..self.nodes.len()).filter(|&n| !self.nodes[n].is_up()).collect();
                    eprintln!("{:>7} down now: {down:?}", self.now() - START_MS);
                }
            }
            SimEvent::Restart { node, inc } => {
                if self.nodes[node].is_up() || self.nodes[node].incarnation != inc || self.nodes[node].dead.is_some() {
                    return;
                }
                let (seed, config, now) = (self.seed, self.config.clone(), self.now());
                self.current_node = Some(node);
                let joined = match self.nodes[node].restart(seed, &config, now) {
                    Ok(joined) => joined,
                    Err(what) if self.nodes[node].corrupted.is_some() => {
                        // Bit rot detected: refusing to start is the right answer.
                        if self.opts.trace {
                            eprintln!("{:>7} n{node} refuses to start: {what}", now - START_MS);
                        }
                        self.summary.refused_restarts += 1;
                        self.nodes[node].dead = Some(what);
                        return;
                    }
                    Err(what) => {
                        self.fail(Violation::RestartRefused { node, at_ms: now - START_MS, what });
                        return;
                    }
                };
                if joined {
                    self.with_node(node, |n, now, out| n.pump(now, out));
                } else {
                    // Never admitted: it asks to join again.
                    self.start_joiner(node);
                }
            }
            SimEvent::Partition => {
                self.partition();
                if self.opts.trace {
                    let cut: Vec<String> = (0..self.nodes.len())
                        .flat_map(|a| (0..self.nodes.len()).map(move |b| (a, b)))
                        .filter(|&(a, b)| self.net.is_blocked(a, b))
                        .map(|(a, b)| format!("{a}->{b}"))
                        .collect();
                    eprintln!("{:>7} cut: {}", self.now() - START_MS, cut.join(" "));
                }
            }
            SimEvent::Heal => self.net.heal(),
            SimEvent::IoError => self.arm_io_error(),
        }
    }

    /// One line per event on stderr (`SimOptions::trace`): time, event, and the state of the
    /// node it concerns.
    fn trace(&self, event: &SimEvent) {
        let node_state = |n: usize| {
            let node = &self.nodes[n];
            match &node.core {
                Some(c) => {
                    let r = c.raft_status();
                    format!(
                        "[n{n}#{} {} t{} lead {:x} rc {} commit {} last {}{}]",
                        node.incarnation,
                        r.role,
                        r.term,
                        r.leader_id.unwrap_or(0) >> 48,
                        r.raft_commit,
                        c.commit(),
                        node.disk.writer().last(),
                        if node.syncing { " syncing" } else { "" }
                    )
                }
                None => format!("[n{n}#{} down]", node.incarnation),
            }
        };
        let t = self.now() - START_MS;
        let line = match event {
            SimEvent::Tick { node, .. } => format!("tick {}", node_state(*node)),
            SimEvent::SyncDone { node, .. } => format!("fsync done {}", node_state(*node)),
            SimEvent::LateSync { node, .. } => format!("late fsync {}", node_state(*node)),
            SimEvent::Frame { from, to, frame, .. } => {
                let kind = cairn_node::consensus::wire::decode(frame)
                    .map(|m| {
                        format!(
                            "{:?} term {} index {} commit {} entries {}",
                            m.msg_type,
                            m.term,
                            m.index,
                            m.commit,
                            m.entries.len()
                        )
                    })
                    .unwrap_or_else(|e| format!("undecodable: {e}"));
                format!("frame n{from}->n{to} {kind} {}", node_state(*to))
            }
            SimEvent::Unreachable { node, to_raft, .. } => {
                format!("unreachable {:x} {}", to_raft >> 48, node_state(*node))
            }
            SimEvent::JoinDeliver { from, to, .. } => format!("join request n{from}->n{to}"),
            SimEvent::JoinAnswer { to, status, .. } => format!("join answer {status} to n{to}"),
            SimEvent::ClientWake { client } => format!("client {client} wakes"),
            SimEvent::ClientDeliver { node, request, .. } => format!("request {request:?} {}", node_state(*node)),
            SimEvent::ClientReply { client, response, .. } => format!("client {client} reply {}", response.status),
            SimEvent::Crash => "CRASH".to_string(),
            SimEvent::Restart { node, .. } => format!("RESTART {}", node_state(*node)),
            SimEvent::Partition => "PARTITION".to_string(),
            SimEvent::Heal => "HEAL".to_string(),
            SimEvent::IoError => "IO ERROR ARMED".to_string(),
        };
        eprintln!("{t:>7} {line}");
    }

    /// Tells node `from` (soon, at most every `UNREACHABLE_EVERY_MS`) that frames to `to_raft`
    /// are being lost, as the production transport does when a connection fails.
    fn report_unreachable(&mut self, from: usize, to_raft: u64) {
        if !self.nodes[from].is_up() {
            return;
        }
        let last = self.last_unreachable.get(&(from, to_raft)).copied();
        if last.is_some_and(|l| self.now() < l + UNREACHABLE_EVERY_MS) {
            return;
        }
        self.last_unreachable.insert((from, to_raft), self.now());
        let inc = self.nodes[from].incarnation;
        self.queue.schedule_in(0, SimEvent::Unreachable { node: from, inc, to_raft });
    }

    fn client_wake(&mut self, client: usize) {
        let id = self.next_id;
        let leader = self.leader();
        let now = self.now();
        if let Some(send) = self.workload.wake(client, now, id, &mut self.rng, leader) {
            self.next_id += 1;
            self.pending.insert(id, Pending::Client(client));
            let d = self.delay(CLIENT_DELAY_MS);
            let caller = fixtures::user();
            self.queue.schedule_in(d, SimEvent::ClientDeliver { node: send.node, id, caller, request: send.request });
            self.queue.schedule_in(crate::workload::REQUEST_TIMEOUT_MS, SimEvent::ClientWake { client });
        } else if !self.workload.stopped || self.workload.busy() {
            // Nothing to do right now (waiting, or stopped but polling): look again later.
            self.queue.schedule_in(crate::workload::REQUEST_TIMEOUT_MS / 2, SimEvent::ClientWake { client });
        }
    }

    /// Runs `f` on node `i` (if up), routes what it produced, schedules its next tick, and
    /// runs the per-event checkers on it.
    fn with_node(&mut self, i: usize, f: impl FnOnce(&mut SimNode, u64, &mut Vec<Output>) -> Result<(), String>) {
        let now = self.now();
        let mut out = Vec::new();
        self.current_node = Some(i);
        let result = f(&mut self.nodes[i], now, &mut out);
        self.current_node = None;
        if let Err(what) = result {
            if self.nodes[i].io_fault_armed && what.contains("injected fault") {
                // The injected failure fired: like production, the node stops at once.
                if self.opts.trace {
                    eprintln!("{:>7} n{i} stops on an I/O error: {what}", now - START_MS);
                }
                self.summary.io_errors += 1;
                self.nodes[i].crash(&mut self.rng);
                let inc = self.nodes[i].incarnation;
                let f = &self.opts.faults;
                let d = self.rng.random_range(f.restart_min_ms..=f.restart_max_ms.max(f.restart_min_ms));
                self.queue.schedule_in(d, SimEvent::Restart { node: i, inc });
                return;
            }
            self.fail(Violation::NodeCrashed { node: i, at_ms: now - START_MS, what });
            return;
        }
        for o in out {
            self.route_output(i, o);
        }
        if !self.nodes[i].is_up() {
            return;
        }
        if let Some(d) = self.nodes[i].core().next_deadline_ms() {
            let at = d.max(now + 1);
            if self.nodes[i].next_tick_at.is_none_or(|t| at < t) {
                self.nodes[i].next_tick_at = Some(at);
                let inc = self.nodes[i].incarnation;
                self.queue.schedule(at, SimEvent::Tick { node: i, inc });
            }
        }
        let deep = now >= self.next_deep_ms[i];
        if deep {
            self.next_deep_ms[i] = now + self.opts.deep_check_every_ms;
        }
        if let Err(v) = self.checkers.observe(&self.nodes[i], deep) {
            self.fail(v);
        }
    }

    fn route_output(&mut self, from: usize, output: Output) {
        let inc = self.nodes[from].incarnation;
        match output {
            Output::Send { to_raft, frame } => {
                let Some(&to) = self.raft_index.get(&to_raft) else { return };
                let to_inc = self.nodes[to].incarnation;
                let copies = self.net.route(&mut self.rng, from, to);
                if !self.nodes[to].is_up() {
                    // Connection refused: nothing is delivered, even after a quick restart.
                    self.report_unreachable(from, to_raft);
                    return;
                }
                for d in copies {
                    self.queue.schedule_in(d, SimEvent::Frame { from, to, to_inc, frame: frame.clone() });
                }
            }
            Output::Reply { id, response } => match self.pending.remove(&id) {
                Some(Pending::Client(client)) => {
                    let d = self.delay(CLIENT_DELAY_MS);
                    self.queue.schedule_in(d, SimEvent::ClientReply { client, id, response });
                }
                Some(Pending::Join { joiner, inc }) => {
                    let d = self.delay(CLIENT_DELAY_MS);
                    let body = serde_json::to_vec(&response.body).expect("json");
                    self.queue.schedule_in(
                        d,
                        SimEvent::JoinAnswer { to: joiner, to_inc: inc, status: response.status, body },
                    );
                }
                Some(Pending::Setup) => {
                    self.replies.insert(id, response);
                }
                None => {}
            },
            Output::JoinRequest { body } => {
                let d = self.delay(CLIENT_DELAY_MS);
                let to = self.join_target;
                self.queue.schedule_in(d, SimEvent::JoinDeliver { from, from_inc: inc, to, body });
            }
            Output::SyncStarted => {
                let d = self.delay(0..=self.opts.faults.fsync_max_ms);
                self.queue.schedule_in(d, SimEvent::SyncDone { node: from, inc });
            }
            Output::LateSync => {
                let d = self.delay(0..=500);
                self.queue.schedule_in(d, SimEvent::LateSync { node: from, inc });
            }
        }
    }

    // ----- faults -----

    fn crash(&mut self) {
        if !self.faults_on {
            return;
        }
        let f = self.opts.faults.clone();
        let power_cut = self.rng.random_bool(f.power_cut_prob.clamp(0.0, 1.0));
        let up: Vec<usize> = (0..self.nodes.len()).filter(|&n| self.nodes[n].is_up()).collect();
        let victims: Vec<usize> = if power_cut {
            self.summary.power_cuts += 1;
            up
        } else if up.is_empty() {
            Vec::new()
        } else {
            vec![up[self.rng.random_range(0..up.len())]]
        };
        for n in victims {
            self.summary.crashes += 1;
            self.nodes[n].crash(&mut self.rng);
            let corrupted = self.nodes.iter().filter(|n| n.corrupted.is_some()).count();
            if self.rng.random_bool(f.corrupt_prob.clamp(0.0, 1.0))
                && corrupted < (self.nodes.len() - 1) / 2
                && self.nodes[n].corrupted.is_none()
                && let Some(hit) = self.nodes[n].disk.corrupt_committed_chunk(&mut self.rng)
            {
                if self.opts.trace {
                    eprintln!("{:>7} ROT n{n}: {} at {}", self.now() - START_MS, hit.0, hit.1);
                }
                self.summary.corrupted += 1;
                self.nodes[n].corrupted = Some(hit);
            }
            let inc = self.nodes[n].incarnation;
            let d = self.delay(f.restart_min_ms..=f.restart_max_ms.max(f.restart_min_ms));
            self.queue.schedule_in(d, SimEvent::Restart { node: n, inc });
        }
        let d = self.delay(f.crash_every_ms / 2..=f.crash_every_ms * 3 / 2);
        self.queue.schedule_in(d.max(1), SimEvent::Crash);
    }

    /// Arms a ledger I/O failure on a random running node.
    fn arm_io_error(&mut self) {
        use cairn_ledger::storage::{InjectedError, StorageErrorKind, StorageOp};
        if !self.faults_on {
            return;
        }
        let up: Vec<usize> = (0..self.nodes.len()).filter(|&n| self.nodes[n].is_up()).collect();
        const OPS: [StorageOp; 7] = [
            StorageOp::Append,
            StorageOp::WriteAt,
            StorageOp::Truncate,
            StorageOp::Sync,
            StorageOp::Create,
            StorageOp::Rename,
            StorageOp::SyncDir,
        ];
        let op = OPS[self.rng.random_range(0..OPS.len())];
        let nth = self.rng.random_range(1..=10);
        let kind = if self.rng.random_bool(0.5) { StorageErrorKind::Other } else { StorageErrorKind::NoSpace };
        if !up.is_empty() {
            let n = up[self.rng.random_range(0..up.len())];
            self.nodes[n].disk.arm_ledger_fault(InjectedError::once(op, nth, kind));
            self.nodes[n].io_fault_armed = true;
            if self.opts.trace {
                eprintln!("{:>7} n{n}: call {nth} of {op:?} will fail ({kind:?})", self.now() - START_MS);
            }
        }
        let every = self.opts.faults.io_error_every_ms;
        let d = self.delay(every / 2..=every * 3 / 2);
        self.queue.schedule_in(d.max(1), SimEvent::IoError);
    }

    fn partition(&mut self) {
        if !self.faults_on {
            return;
        }
        let f = self.opts.faults.clone();
        let n = self.nodes.len();
        self.summary.partitions += 1;
        let flaky = self.rng.random_bool(0.2);
        if flaky {
            // One lossy link (each direction on its own), the rest fine.
            let a = self.rng.random_range(0..n);
            let b = (a + self.rng.random_range(1..n)) % n;
            self.net.heal();
            self.net.set_link_drop(a, b, 0.5);
        } else if self.rng.random_bool(f.one_way_prob.clamp(0.0, 1.0)) {
            // One node stops hearing everyone (it can still send) — or stops being heard.
            let x = self.rng.random_range(0..n);
            let deaf = self.rng.random_bool(0.5);
            self.net.heal();
            for y in (0..n).filter(|&y| y != x) {
                if deaf { self.net.block_one_way(y, x) } else { self.net.block_one_way(x, y) }
            }
        } else {
            let mut order: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                let j = self.rng.random_range(0..=i);
                order.swap(i, j);
            }
            let cut = self.rng.random_range(1..n);
            let groups = [order[..cut].to_vec(), order[cut..].to_vec()];
            self.net.partition(&groups);
        }
        self.queue.schedule_in(f.partition_ms, SimEvent::Heal);
        let d = self.delay(f.partition_every_ms / 2..=f.partition_every_ms * 3 / 2);
        self.queue.schedule_in(d.max(f.partition_ms + 1), SimEvent::Partition);
    }
}

/// The joiner's TLS identity: the id of the certificate its join request carries.
fn join_caller(body: &[u8]) -> Caller {
    let cert = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["certificate"].as_str().map(str::to_string))
        .and_then(|pem| cairn_crypto::Certificate::from_pem(&pem).ok());
    Caller::with_cert(cert.map(|c| cairn_gov::identity_id(&c)))
}
