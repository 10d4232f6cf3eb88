//! Three `NodeCore`s in one process with an instant, lossless network and disks that sync at
//! once: the join protocol, learner promotion, replication, commit on a majority, and a new
//! primary after the old one disappears. The cluster simulator (`cairn-sim`) adds faults;
//! these tests pin the happy paths with exact expectations.
mod support;

use cairn_crypto::{Certificate, CertificateRequest, EncryptionKeyPair, SigningKey};
use cairn_gov::{GovRequestHeader, sign_request};
use cairn_ledger::format::{EncodedEntry, TxId};
use cairn_ledger::snapshot::{SnapshotName, decode_snapshot, verify_committed_snapshot};
use cairn_ledger::{LedgerSecrets, ServiceIdentity, tables};
use cairn_node::{
    Action, Caller, CoreConfig, Event, JoinParams, LogTable, NodeCore, NodeIdentity, Request, Response, StartParams,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use support::{FIRST_SECRET, START_MS, TX_ID_HEADER, identities, join_token, seeded_fill_random, user};

const TICK_MS: u64 = 10;

fn config() -> CoreConfig {
    CoreConfig {
        signature_tx_count: 10,
        signature_delay_ms: 20,
        snapshot_tx_count: 1_000_000,
        election_timeout_ms: 1000,
        message_timeout_ms: 100,
        join_retry_ms: 100,
        ..CoreConfig::default()
    }
}

struct SimNode {
    core: NodeCore,
    /// Its RPC address (where the harness "fetches" the snapshots it offers).
    rpc: String,
    /// Entries `ledger_base + 1 ..` (a node that started from a snapshot has none before it).
    ledger: Vec<EncodedEntry>,
    ledger_base: u64,
    /// Ledger entries set aside when the node started again from a leader's snapshot.
    superseded: Vec<EncodedEntry>,
    /// The snapshots directory: committed snapshot files, and written ones waiting for commit.
    snapshots: BTreeMap<SnapshotName, Vec<u8>>,
    replies: BTreeMap<u64, Response>,
    up: bool,
    /// What the shell would have in `node_data`: the node key, the endorsed certificate, the
    /// service certificate and key, the ledger-secret chain and the Raft hard state.
    key_pem: String,
    files: BTreeMap<&'static str, Vec<u8>>,
}

impl SimNode {
    fn new(core: NodeCore, key_pem: String, rpc: String) -> SimNode {
        SimNode {
            core,
            rpc,
            ledger: Vec::new(),
            ledger_base: 0,
            superseded: Vec::new(),
            snapshots: BTreeMap::new(),
            replies: BTreeMap::new(),
            up: true,
            key_pem,
            files: BTreeMap::new(),
        }
    }

    fn last_seqno(&self) -> u64 {
        self.ledger_base + self.ledger.len() as u64
    }

    /// The newest committed snapshot file.
    fn committed_snapshot(&self) -> Option<(SnapshotName, Vec<u8>)> {
        self.snapshots.iter().rev().find(|(n, _)| n.committed).map(|(n, b)| (*n, b.clone()))
    }
}

struct Cluster {
    nodes: BTreeMap<u64, SimNode>,
    /// (from, to, frame)
    network: VecDeque<(u64, u64, Vec<u8>)>,
    /// Joiners' pending requests: (joiner raft id, body)
    joins: VecDeque<(u64, Vec<u8>)>,
    /// Nodes told to start again from a leader's snapshot: (raft id, snapshot name, where).
    installs: VecDeque<(u64, SnapshotName, String)>,
    now_ms: u64,
    next_request: u64,
}

fn not_before() -> i64 {
    (START_MS / 1000) as i64 - 60
}

impl Cluster {
    fn start() -> (Cluster, u64) {
        let service = ServiceIdentity::create(not_before(), 365).expect("service");
        let signer = Arc::new(service.new_local_node(not_before(), 365).expect("node"));
        let identity = NodeIdentity {
            signer,
            service_cert_pem: service.cert.pem().to_string(),
            service_key: Some(Arc::new(service.key)),
            rpc_addresses: vec!["127.0.0.1:8000".into()],
            node_to_node_address: "127.0.0.1:9000".into(),
            encryption_key: Some(Arc::new(EncryptionKeyPair::generate().expect("rsa"))),
        };
        let id = identity.raft_id();
        let key_pem = identity.signer.key.to_pem();
        let mut files = BTreeMap::new();
        files.insert("node_cert", identity.signer.cert_pem.clone().into_bytes());
        files.insert("service_cert", identity.service_cert_pem.clone().into_bytes());
        files.insert("service_key", identity.service_key.as_ref().unwrap().to_pem().into_bytes());
        let core = NodeCore::start(StartParams {
            identity,
            config: config(),
            members: vec![identities().member.clone()],
            recovery_threshold: 1,
            ledger_secret: FIRST_SECRET,
            join_token_digest: join_token().digest(),
            now_ms: START_MS,
            fill_random: seeded_fill_random(1),
        })
        .expect("start");
        let mut cluster = Cluster {
            nodes: BTreeMap::new(),
            network: VecDeque::new(),
            joins: VecDeque::new(),
            installs: VecDeque::new(),
            now_ms: START_MS,
            next_request: 0,
        };
        let mut node = SimNode::new(core, key_pem, "127.0.0.1:8000".into());
        node.files = files;
        cluster.nodes.insert(id, node);
        cluster.perform(id);
        (cluster, id)
    }

    /// Node `n` asks to join with the service's join token.
    fn join(&mut self, n: u64) -> u64 {
        self.join_with(n, Some(join_token()))
    }

    fn join_with(&mut self, n: u64, token: Option<cairn_node::JoinToken>) -> u64 {
        let key = SigningKey::generate().expect("key");
        let req = CertificateRequest {
            common_name: format!("joiner {n}"),
            subject_alt_names: vec![],
            not_before_unix_s: not_before(),
            validity_days: 365,
            is_ca: false,
        };
        let cert = Certificate::self_signed(&key, &req).expect("cert");
        let encryption = EncryptionKeyPair::generate().expect("rsa");
        let key_pem = key.to_pem();
        let core = NodeCore::join(JoinParams {
            node_key: key,
            self_signed_cert_pem: cert.pem().to_string(),
            encryption_key: Arc::new(encryption),
            config: config(),
            rpc_addresses: vec![format!("127.0.0.1:800{n}")],
            node_to_node_address: format!("127.0.0.1:900{n}"),
            join_token: token,
            now_ms: self.now_ms,
            fill_random: seeded_fill_random(100 + n),
        });
        let id = core.raft_status().raft_id;
        self.nodes.insert(id, SimNode::new(core, key_pem, format!("127.0.0.1:800{n}")));
        self.perform(id);
        id
    }

    fn perform(&mut self, id: u64) {
        loop {
            let node = self.nodes.get_mut(&id).expect("node");
            let actions = node.core.take_actions();
            if actions.is_empty() {
                return;
            }
            for action in actions {
                let node = self.nodes.get_mut(&id).expect("node");
                match action {
                    Action::Append(e) => {
                        assert_eq!(e.tx_id.seqno, node.last_seqno() + 1, "node {id} appends in order");
                        node.ledger.push(e);
                    }
                    Action::TruncateLedger { seqno } => {
                        assert!(seqno >= node.ledger_base, "node {id} truncates below its snapshot");
                        node.ledger.truncate((seqno - node.ledger_base) as usize);
                    }
                    Action::Sync => {
                        let last = node.last_seqno();
                        node.core.handle(Event::Durable { seqno: last });
                    }
                    Action::EncodeSnapshot(job) => node.core.handle(Event::SnapshotEncoded(job.encode())),
                    Action::RestorePrivateState(job) => node.core.handle(Event::PrivateStateRestored(job.run())),
                    Action::WriteSnapshot { name, bytes } => {
                        node.snapshots.insert(name, bytes);
                    }
                    Action::CommitSnapshot { name, receipt } => {
                        let mut bytes = node.snapshots.remove(&name).expect("a written snapshot is committed");
                        bytes.extend_from_slice(&receipt);
                        node.snapshots.insert(name.committed(), bytes);
                    }
                    Action::Reply { id: rid, response } => {
                        node.replies.insert(rid, response);
                    }
                    Action::Send { to, frame } => self.network.push_back((id, to, frame)),
                    Action::SendJoinRequest { body } => self.joins.push_back((id, body)),
                    Action::InstallSnapshot { name, rpc_address } => self.installs.push_back((id, name, rpc_address)),
                    Action::PersistRaftState { json } => {
                        node.files.insert("raft_state", json);
                    }
                    Action::PersistLedgerSecrets { json } => {
                        node.files.insert("secrets", json);
                    }
                    Action::PersistJoinedIdentity { node_cert_pem, service_cert_pem, service_key_pem } => {
                        node.files.insert("node_cert", node_cert_pem.into_bytes());
                        node.files.insert("service_cert", service_cert_pem.into_bytes());
                        node.files.insert("service_key", service_key_pem.into_bytes());
                    }
                    _ => {}
                }
            }
        }
    }

    fn primary(&self) -> Option<u64> {
        let leaders: Vec<u64> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.up && n.core.raft_status().role == "Leader")
            .map(|(id, _)| *id)
            .collect();
        assert!(leaders.len() <= 1 || self.terms_differ(&leaders), "two leaders in one term: {leaders:?}");
        leaders.into_iter().max_by_key(|id| self.nodes[id].core.raft_status().term)
    }

    fn terms_differ(&self, leaders: &[u64]) -> bool {
        let mut terms: Vec<u64> = leaders.iter().map(|id| self.nodes[id].core.raft_status().term).collect();
        terms.dedup();
        terms.len() == leaders.len()
    }

    /// Delivers every frame and join request, then advances the clock one tick.
    fn step(&mut self) {
        while let Some((from, to, frame)) = self.network.pop_front() {
            if !self.nodes.get(&to).is_some_and(|n| n.up) || !self.nodes[&from].up {
                continue;
            }
            self.nodes.get_mut(&to).unwrap().core.handle(Event::PeerFrame { from, frame });
            self.perform(to);
        }
        while let Some((joiner, body)) = self.joins.pop_front() {
            let answer = match self.primary() {
                Some(p) => {
                    let request: cairn_node::JoinRequest = serde_json::from_slice(&body).unwrap();
                    let der = Certificate::from_pem(&request.certificate).unwrap().der().to_vec();
                    let caller = Caller::with_cert(Some(cairn_crypto::sha256(&der).to_hex()));
                    self.request(p, caller, Request::Join { body })
                }
                None => Response { status: 0, headers: vec![], body: Value::Null },
            };
            let body = serde_json::to_vec(&answer.body).unwrap();
            self.nodes.get_mut(&joiner).unwrap().core.handle(Event::JoinResponse { status: answer.status, body });
            self.perform(joiner);
        }
        while let Some((id, name, rpc)) = self.installs.pop_front() {
            // What the shell does: fetch the file from the node that offered it, set the ledger
            // aside, start again from the snapshot (with the persisted Raft hard state).
            let offering = self.nodes.values().find(|n| n.rpc == rpc).expect("the offer names a node's RPC address");
            let file = offering.snapshots.get(&name).cloned().expect("the offering node holds the offered snapshot");
            let node = self.nodes.get_mut(&id).unwrap();
            node.superseded.append(&mut node.ledger);
            self.restart_from_snapshot(id, name, file);
        }
        self.now_ms += TICK_MS;
        let ids: Vec<u64> = self.nodes.keys().copied().collect();
        for id in ids {
            if self.nodes[&id].up {
                self.nodes.get_mut(&id).unwrap().core.handle(Event::Tick { now_ms: self.now_ms });
                self.perform(id);
            }
        }
    }

    fn run_until(&mut self, what: &str, max_steps: usize, mut done: impl FnMut(&Cluster) -> bool) {
        for _ in 0..max_steps {
            if done(self) {
                return;
            }
            self.step();
        }
        let states: Vec<_> = self.nodes.iter().map(|(id, n)| (id, n.core.raft_status(), n.core.commit())).collect();
        panic!("{what}: not within {max_steps} steps; nodes: {states:#?}");
    }

    fn request(&mut self, id: u64, caller: Caller, request: Request) -> Response {
        let rid = self.next_request;
        self.next_request += 1;
        self.nodes.get_mut(&id).unwrap().core.handle(Event::Request { id: rid, caller, request });
        self.perform(id);
        self.nodes.get_mut(&id).unwrap().replies.remove(&rid).expect("a request is answered at once")
    }

    fn member_request(&self, msg_type: &str, proposal_id: Option<&str>, payload: &Value) -> Vec<u8> {
        let ids = identities();
        let header = GovRequestHeader {
            msg_type: msg_type.into(),
            created_at: self.now_ms / 1000,
            proposal_id: proposal_id.map(str::to_string),
        };
        sign_request(&ids.member_key, &ids.member_id, &header, &serde_json::to_vec(payload).unwrap())
    }

    fn govern(&mut self, actions: Value) {
        let p = self.primary().expect("a primary");
        let body = self.member_request("proposal", None, &json!({ "actions": actions }));
        let proposed = self.request(p, Caller::default(), Request::Propose { body });
        assert_eq!(proposed.status, 200, "{:?}", proposed.body);
        let proposal_id = proposed.body["proposalId"].as_str().unwrap().to_string();
        let body = self.member_request("ballot", Some(&proposal_id), &json!({"ballot": "approve"}));
        let member_id = identities().member_id.clone();
        let voted = self.request(p, Caller::default(), Request::Ballot { proposal_id, member_id, body });
        assert_eq!(voted.body["proposalState"], "Accepted", "{:?}", voted.body);
    }

    fn write(&mut self, key: u64, msg: &str) -> TxId {
        let p = self.primary().expect("a primary");
        let r = self.request(p, user(), Request::LogWrite { table: LogTable::Private, id: key, msg: msg.into() });
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.headers.iter().find(|(n, _)| *n == TX_ID_HEADER).unwrap().1.parse().unwrap()
    }

    /// Restarts node `id` from its files and the first `keep` entries of its ledger (all synced
    /// in this harness; fewer model a crash that lost the rest), as the shell's startup does.
    fn restart(&mut self, id: u64, keep: usize) {
        let node = self.nodes.get_mut(&id).unwrap();
        node.ledger.truncate(keep);
        let text = |name: &str| String::from_utf8(node.files[name].clone()).unwrap();
        let signer =
            Arc::new(cairn_ledger::NodeSigner::new(SigningKey::from_pem(&node.key_pem).unwrap(), text("node_cert")));
        let identity = NodeIdentity {
            signer,
            service_cert_pem: text("service_cert"),
            service_key: Some(Arc::new(SigningKey::from_pem(&text("service_key")).unwrap())),
            rpc_addresses: vec![node.rpc.clone()],
            node_to_node_address: "127.0.0.1:9000".into(),
            encryption_key: None,
        };
        let secrets = NodeCore::parse_secrets_json(&node.files["secrets"]).unwrap();
        let mut replayed = match node.ledger_base {
            0 => cairn_node::Replayer::new(secrets.clone()),
            base => {
                // The shell's rule: a ledger that starts after seqno 1 needs the committed
                // snapshot at its base.
                let (name, file) = node.committed_snapshot().expect("the snapshot the node started from");
                assert_eq!(name.seqno, base);
                snapshot_replayer(&name, &file, &text("service_cert"), &secrets)
            }
        };
        for e in &node.ledger {
            replayed.push(e.bytes.clone()).unwrap();
        }
        node.core = NodeCore::resume(cairn_node::ResumeParams {
            replayed,
            identity,
            config: config(),
            secrets,
            open_chunk_bytes: 0,
            raft_state_json: node.files.get("raft_state").cloned(),
            now_ms: self.now_ms,
            fill_random: seeded_fill_random(500 + keep.min(1000) as u64),
        });
        node.up = true;
        self.perform(id);
    }

    /// What the shell does for a node that joined after fetching a committed snapshot: its
    /// empty ledger starts after the snapshot, and the core resumes from the snapshot.
    fn restart_from_snapshot(&mut self, id: u64, name: SnapshotName, file: Vec<u8>) {
        let node = self.nodes.get_mut(&id).unwrap();
        assert!(node.ledger.is_empty(), "a node starts from a snapshot with an empty ledger");
        node.ledger_base = name.seqno;
        node.snapshots.insert(name, file);
        self.restart(id, 0);
    }

    /// Node `n` joins an open service (trusted by governance); with `snapshot`, it then starts
    /// from that committed snapshot file, as the shell does after fetching it before joining.
    fn join_trusted(&mut self, n: u64, snapshot: Option<(SnapshotName, Vec<u8>)>) -> u64 {
        let id = self.join(n);
        self.step();
        let node_id = self.nodes[&id].core.node_id().to_string();
        self.govern(json!([{"name": "transition_node_to_trusted", "args": {"node_id": node_id}}]));
        if let Some((name, file)) = snapshot {
            self.run_until("the joiner is admitted", 500, |cl| cl.nodes[&id].files.contains_key("secrets"));
            self.restart_from_snapshot(id, name, file);
        }
        id
    }

    /// Stops primaries in turn (each comes back as a backup) until `target` leads.
    fn make_primary(&mut self, target: u64) {
        for _ in 0..16 {
            let p = self.primary().expect("a primary");
            if p == target {
                return;
            }
            self.nodes.get_mut(&p).unwrap().up = false;
            self.run_until("another primary", 3000, |cl| cl.primary().is_some_and(|q| q != p));
            self.restart(p, usize::MAX);
            self.run_until("the stopped node follows again", 2000, |cl| {
                let lead = cl.primary().unwrap_or(0);
                cl.nodes[&p].core.raft_status().leader_id == Some(lead)
            });
        }
        assert_eq!(self.primary(), Some(target), "{target} never became primary");
    }

    fn committed_everywhere(&self, seqno: u64) -> bool {
        self.nodes.values().filter(|n| n.up).all(|n| n.core.commit().seqno >= seqno)
    }
}

/// The state a node starts from: the committed snapshot `file`, verified against the service
/// certificate and decoded with the ledger secret of its seqno.
fn snapshot_replayer(
    name: &SnapshotName,
    file: &[u8],
    service_cert_pem: &str,
    secrets: &LedgerSecrets,
) -> cairn_node::Replayer {
    let cert = Certificate::from_pem(service_cert_pem).unwrap();
    let committed = verify_committed_snapshot(name, file, &cert).expect("the snapshot verifies");
    let secret = secrets.secret_for(name.seqno).expect("a secret covers the snapshot");
    let decoded = decode_snapshot(committed.entry(file), secret).expect("the snapshot decodes");
    let mut replayer =
        cairn_node::Replayer::from_snapshot(secrets.clone(), decoded).expect("a node starts from the snapshot");
    replayer.log_base_snapshot = Some(*name);
    replayer
}

#[test]
fn two_nodes_join_become_voters_and_replicate_then_survive_the_primary() {
    let (mut cluster, first) = Cluster::start();
    cluster.run_until("the first node commits its genesis", 10, |c| c.nodes[&first].core.commit().seqno >= 2);
    let a = cluster.join(2);
    let b = cluster.join(3);
    cluster.run_until("both joiners are voters", 500, |c| c.nodes[&first].core.raft_status().voters.len() == 3);
    cluster.run_until("every node is part of the network", 500, |c| {
        c.nodes.values().all(|n| n.core.node_state() == cairn_node::NodeState::PartOfNetwork)
    });
    let user_cert = identities().user_cert.pem().to_string();
    cluster.govern(json!([{"name": "set_user", "args": {"cert": user_cert}}]));
    let service_cert = cluster.nodes[&first]
        .core
        .store()
        .get(tables::SERVICE_INFO, &tables::SINGLETON_KEY)
        .map(|v| serde_json::from_slice::<Value>(v).unwrap()["cert"].as_str().unwrap().to_string());
    cluster.govern(
        json!([{"name": "transition_service_to_open", "args": {"next_service_identity": service_cert.unwrap()}}]),
    );
    let mut written = Vec::new();
    for i in 0..25 {
        written.push((i, cluster.write(i, &format!("v{i}"))));
    }
    let last = written.last().unwrap().1;
    cluster.run_until("every write committed on every node", 200, |c| c.committed_everywhere(last.seqno));
    for n in cluster.nodes.values() {
        for (key, _) in &written {
            let got = n.core.store().get(LogTable::Private.table_name(), &LogTable::key(*key));
            assert_eq!(got, Some(format!("v{key}").as_bytes()), "node {} key {key}", n.core.node_id());
        }
    }
    let ledgers: Vec<Vec<Vec<u8>>> =
        cluster.nodes.values().map(|n| n.ledger.iter().map(|e| e.bytes.clone()).collect()).collect();
    let shortest = ledgers.iter().map(Vec::len).min().unwrap();
    assert!(ledgers.iter().all(|l| l[..shortest] == ledgers[0][..shortest]), "ledgers agree on their common prefix");

    // The primary disappears: one of the two others takes over in a later view.
    cluster.nodes.get_mut(&first).unwrap().up = false;
    let old_view = cluster.nodes[&a].core.raft_status().term;
    cluster.run_until("a new primary", 1000, |c| c.primary().is_some_and(|p| p != first));
    let p = cluster.primary().unwrap();
    assert!([a, b].contains(&p));
    assert!(cluster.nodes[&p].core.raft_status().term > old_view);
    let after = cluster.write(1000, "after failover");
    cluster.run_until("the write after failover commits", 500, |c| {
        c.nodes.values().filter(|n| n.up).all(|n| n.core.commit().seqno >= after.seqno)
    });
    for (key, _) in &written {
        let got = cluster.nodes[&p].core.store().get(LogTable::Private.table_name(), &LogTable::key(*key));
        assert_eq!(got, Some(format!("v{key}").as_bytes()), "committed write {key} survives the failover");
    }
}

#[test]
fn a_join_without_proof_of_the_key_is_refused_and_writes_nothing() {
    let (mut cluster, first) = Cluster::start();
    cluster.run_until("the first node commits its genesis", 10, |c| c.nodes[&first].core.commit().seqno >= 2);
    // The request names a certificate the caller does not present in its TLS handshake.
    let (body, _presented, _) = stranger_join(None);
    let last = cluster.nodes[&first].core.last();
    for caller in [Caller::default(), user()] {
        let answer = cluster.request(first, caller, Request::Join { body: body.clone() });
        assert_eq!(answer.status, 401, "{:?}", answer.body);
    }
    assert_eq!(cluster.nodes[&first].core.last(), last, "a refused join appends nothing");
    let garbage = cluster.request(first, Caller::default(), Request::Join { body: b"{".to_vec() });
    assert_eq!(garbage.status, 400);
}

#[test]
fn forwarded_requests_are_served_only_from_trusted_nodes() {
    let (mut cluster, first) = Cluster::start();
    cluster.run_until("the first node commits its genesis", 10, |c| c.nodes[&first].core.commit().seqno >= 2);
    let node_id = cluster.nodes[&first].core.node_id().to_string();
    let pem = cluster.nodes[&first]
        .core
        .store()
        .get(tables::ENDORSED_CERTIFICATES, node_id.as_bytes())
        .map(tables::endorsed_certificate_pem)
        .expect("the first node is endorsed");
    let node_cert_id = cairn_crypto::sha256(Certificate::from_pem(&pem).unwrap().der()).to_hex();
    let forwarded = |by: &str| Caller { cert_id: None, forwarded_by: Some(by.to_string()) };
    let stranger_id = cairn_gov::identity_id(&identities().stranger_cert);
    for (by, status) in [(node_cert_id.as_str(), 200), (stranger_id.as_str(), 403), ("00", 403)] {
        let answer = cluster.request(first, forwarded(by), Request::Commit);
        assert_eq!(answer.status, status, "forwarded by {by}: {:?}", answer.body);
    }
}

#[test]
fn a_backup_restarts_from_its_ledger_or_from_nothing_and_catches_up() {
    let (mut cluster, first) = Cluster::start();
    cluster.run_until("the first node commits its genesis", 10, |c| c.nodes[&first].core.commit().seqno >= 2);
    let a = cluster.join(2);
    let b = cluster.join(3);
    cluster.run_until("three voters", 500, |c| c.nodes[&first].core.raft_status().voters.len() == 3);
    let user_cert = identities().user_cert.pem().to_string();
    cluster.govern(json!([{"name": "set_user", "args": {"cert": user_cert}}]));
    let service_cert = String::from_utf8(cluster.nodes[&first].files["service_cert"].clone()).unwrap();
    cluster.govern(json!([{"name": "transition_service_to_open", "args": {"next_service_identity": service_cert}}]));
    // `a` restarts from its whole ledger; `b` as if it had crashed before anything reached its
    // disk (a joined node with its files but an empty ledger must resume, not start a service).
    for (node, keep, key) in [(a, usize::MAX, 100), (b, 0, 200)] {
        cluster.nodes.get_mut(&node).unwrap().up = false;
        let tx = cluster.write(key, &format!("while {node} is down"));
        cluster.run_until("the write commits without the stopped node", 300, |c| {
            c.nodes[&first].core.commit().seqno >= tx.seqno
        });
        cluster.restart(node, keep);
        let after = cluster.write(key + 1, "after the restart");
        cluster.run_until("the restarted node catches up", 1000, |c| c.committed_everywhere(after.seqno));
        for key in [key, key + 1] {
            let first_value =
                cluster.nodes[&first].core.store().get(LogTable::Private.table_name(), &LogTable::key(key));
            let restarted = cluster.nodes[&node].core.store().get(LogTable::Private.table_name(), &LogTable::key(key));
            assert_eq!(restarted, first_value, "node {node}, key {key}");
            assert!(first_value.is_some());
        }
    }
}

#[test]
fn a_node_joins_from_a_committed_snapshot_catches_up_and_restarts_from_it() {
    let (mut cluster, first) = Cluster::start();
    cluster.run_until("the first node commits its genesis", 10, |c| c.nodes[&first].core.commit().seqno >= 2);
    let a = cluster.join(2);
    cluster.run_until("two voters", 500, |c| c.nodes[&first].core.raft_status().voters.len() == 2);
    let user_cert = identities().user_cert.pem().to_string();
    cluster.govern(json!([{"name": "set_user", "args": {"cert": user_cert}}]));
    let service_cert = String::from_utf8(cluster.nodes[&first].files["service_cert"].clone()).unwrap();
    cluster.govern(json!([{"name": "transition_service_to_open", "args": {"next_service_identity": service_cert}}]));
    let before: Vec<TxId> = (0..30).map(|i| cluster.write(i, &format!("before {i}"))).collect();
    cluster.govern(json!([{"name": "trigger_snapshot", "args": {}}]));
    for i in 30..60 {
        cluster.write(i, &format!("before {i}"));
    }
    cluster.run_until("the primary commits a snapshot", 300, |c| c.nodes[&first].committed_snapshot().is_some());
    let (name, file) = cluster.nodes[&first].committed_snapshot().unwrap();
    assert!(name.seqno > before.last().unwrap().seqno, "the snapshot covers the first writes");

    // A joiner is admitted, then (as the shell does after fetching the snapshot) starts from it
    // with an empty ledger that begins after the snapshot.
    let c = cluster.join_trusted(3, Some((name, file)));
    assert_eq!(cluster.nodes[&c].core.last().seqno, name.seqno, "the joiner starts at the snapshot");
    let after = cluster.write(1000, "after the join");
    cluster.run_until("the joiner catches up", 1000, |cl| cl.committed_everywhere(after.seqno));
    cluster.run_until("the joiner becomes a voter", 500, |cl| cl.nodes[&first].core.raft_status().voters.len() == 3);
    let joiner = &cluster.nodes[&c];
    assert_eq!(joiner.ledger_base, name.seqno);
    assert_eq!(
        joiner.ledger.first().map(|e| e.tx_id.seqno),
        Some(name.seqno + 1),
        "its ledger starts after the snapshot"
    );
    let primary_entries: Vec<&Vec<u8>> =
        cluster.nodes[&first].ledger[name.seqno as usize..].iter().map(|e| &e.bytes).collect();
    let joiner_entries: Vec<&Vec<u8>> = joiner.ledger.iter().map(|e| &e.bytes).collect();
    let common = primary_entries.len().min(joiner_entries.len());
    assert_eq!(joiner_entries[..common], primary_entries[..common], "the same entries after the snapshot");
    for key in (0..60).chain([1000]) {
        let table = LogTable::Private.table_name();
        let expected = cluster.nodes[&first].core.store().get(table, &LogTable::key(key));
        assert!(expected.is_some());
        assert_eq!(cluster.nodes[&c].core.store().get(table, &LogTable::key(key)), expected, "key {key}");
    }
    for id in [first, a, c] {
        let root = cluster.nodes[&id].core.merkle_root_at(after.seqno);
        assert_eq!(root, cluster.nodes[&first].core.merkle_root_at(after.seqno), "node {id}'s Merkle root");
    }

    // Receipts: from the snapshot on, the joiner proves them like the primary; before it, it
    // says it holds no ledger there.
    let receipt = |cl: &mut Cluster, id: u64, tx: TxId| {
        cl.request(id, Caller::default(), Request::Receipt { tx: tx.to_string() })
    };
    let on_joiner = receipt(&mut cluster, c, after);
    assert_eq!(on_joiner.status, 200, "{:?}", on_joiner.body);
    assert_eq!(on_joiner.body, receipt(&mut cluster, first, after).body);
    let old = receipt(&mut cluster, c, before[0]);
    assert_eq!((old.status, old.body["error"]["code"].as_str()), (404, Some("ReceiptUnavailable")), "{:?}", old.body);
    let message = old.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("snapshot at seqno {}", name.seqno)), "{message}");
    assert_eq!(receipt(&mut cluster, first, before[0]).status, 200);

    // The joiner restarts from the snapshot plus its own ledger, and catches up again.
    cluster.nodes.get_mut(&c).unwrap().up = false;
    let while_down = cluster.write(1001, "while the joiner is down");
    cluster.run_until("the write commits without the joiner", 300, |cl| {
        cl.nodes[&first].core.commit().seqno >= while_down.seqno
    });
    cluster.restart(c, usize::MAX);
    let last = cluster.write(1002, "after the joiner's restart");
    cluster.run_until("the restarted joiner catches up", 1000, |cl| cl.committed_everywhere(last.seqno));
    let table = LogTable::Private.table_name();
    assert_eq!(
        cluster.nodes[&c].core.store().get(table, &LogTable::key(1002)),
        Some(&b"after the joiner's restart"[..])
    );
    assert_eq!(cluster.nodes[&c].core.store().get(table, &LogTable::key(5)), Some(&b"before 5"[..]));
}

/// A primary that started from a snapshot holds no entries before it. A node that needs older
/// ones (here a new node joining without a snapshot) gets the primary's snapshot offer instead
/// of entries, starts again from that snapshot, and catches up.
#[test]
fn a_primary_that_started_from_a_snapshot_brings_a_node_behind_it_up_through_its_snapshot() {
    let (mut cluster, first) = Cluster::start();
    cluster.run_until("the first node commits its genesis", 10, |c| c.nodes[&first].core.commit().seqno >= 2);
    cluster.join(2);
    cluster.run_until("two voters", 500, |c| c.nodes[&first].core.raft_status().voters.len() == 2);
    let user_cert = identities().user_cert.pem().to_string();
    cluster.govern(json!([{"name": "set_user", "args": {"cert": user_cert}}]));
    let service_cert = String::from_utf8(cluster.nodes[&first].files["service_cert"].clone()).unwrap();
    cluster.govern(json!([{"name": "transition_service_to_open", "args": {"next_service_identity": service_cert}}]));
    for i in 0..20 {
        cluster.write(i, &format!("early {i}"));
    }
    cluster.govern(json!([{"name": "trigger_snapshot", "args": {}}]));
    for i in 20..30 {
        cluster.write(i, &format!("early {i}"));
    }
    cluster.run_until("a committed snapshot", 300, |c| c.nodes[&first].committed_snapshot().is_some());
    let (name, file) = cluster.nodes[&first].committed_snapshot().unwrap();

    // C joins from the snapshot and becomes a voter.
    let c = cluster.join_trusted(3, Some((name, file)));
    // Every node must know the promotion committed before a primary stops (a configuration
    // change applies at commit: a backup that has not learnt it still counts two voters).
    cluster.run_until("three voters everywhere", 1000, |cl| {
        cl.nodes.values().all(|n| n.core.raft_status().voters.len() == 3)
    });

    cluster.make_primary(c);
    assert!(cluster.nodes[&c].ledger_base > 0, "the primary's log starts after its snapshot");

    // D joins without a snapshot: C cannot send it entries from seqno 1, so it offers its
    // snapshot; D starts again from it and catches up.
    let d = cluster.join_trusted(4, None);
    let after = cluster.write(500, "after D joined");
    cluster.run_until("D catches up through the snapshot", 2000, |cl| cl.committed_everywhere(after.seqno));
    let node_d = &cluster.nodes[&d];
    assert_eq!(node_d.ledger_base, name.seqno, "D started from the snapshot C offered");
    assert!(node_d.superseded.is_empty(), "D had nothing to set aside");
    for key in (0..30).chain([500]) {
        let table = LogTable::Private.table_name();
        let expected = cluster.nodes[&c].core.store().get(table, &LogTable::key(key));
        assert!(expected.is_some(), "key {key}");
        assert_eq!(cluster.nodes[&d].core.store().get(table, &LogTable::key(key)), expected, "key {key}");
    }
    cluster.run_until("four voters", 1000, |cl| cl.nodes[&c].core.raft_status().voters.len() == 4);
    let last = cluster.write(501, "with four voters");
    cluster.run_until("the last write commits everywhere", 1000, |cl| cl.committed_everywhere(last.seqno));
}

/// A backup that was down since before the snapshot a new primary started from comes back with
/// a ledger that ends before it: the primary offers its snapshot, and the backup sets its
/// ledger aside (kept, never deleted) and starts again from the snapshot.
#[test]
fn a_backup_behind_the_primarys_snapshot_sets_its_ledger_aside_and_starts_from_it() {
    let (mut cluster, first) = Cluster::start();
    cluster.run_until("the first node commits its genesis", 10, |c| c.nodes[&first].core.commit().seqno >= 2);
    for n in [2, 4, 5] {
        cluster.join(n);
    }
    cluster.run_until("four voters everywhere", 2000, |cl| {
        cl.nodes.values().all(|n| n.core.raft_status().voters.len() == 4)
    });
    let e = *cluster.nodes.iter().find(|(_, n)| n.rpc == "127.0.0.1:8005").unwrap().0;
    let user_cert = identities().user_cert.pem().to_string();
    cluster.govern(json!([{"name": "set_user", "args": {"cert": user_cert}}]));
    let service_cert = String::from_utf8(cluster.nodes[&first].files["service_cert"].clone()).unwrap();
    cluster.govern(json!([{"name": "transition_service_to_open", "args": {"next_service_identity": service_cert}}]));
    let early = cluster.write(0, "before E stops");
    cluster.run_until("committed everywhere", 500, |cl| cl.committed_everywhere(early.seqno));

    // E stops; the others go on, and the primary commits a snapshot beyond E's ledger.
    cluster.nodes.get_mut(&e).unwrap().up = false;
    let e_held = cluster.nodes[&e].ledger.len();
    for i in 1..30 {
        cluster.write(i, &format!("while E is down {i}"));
    }
    cluster.govern(json!([{"name": "trigger_snapshot", "args": {}}]));
    cluster.write(30, "commits the snapshot");
    cluster.run_until("a committed snapshot", 500, |cl| cl.nodes[&first].committed_snapshot().is_some());
    let (name, file) = cluster.nodes[&first].committed_snapshot().unwrap();
    assert!(name.seqno > e_held as u64, "the snapshot is beyond E's ledger");

    // C joins from it, becomes a voter, and is made primary by stopping the others in turn.
    let c = cluster.join_trusted(3, Some((name, file)));
    cluster.run_until("five voters on the running nodes", 2000, |cl| {
        cl.nodes.values().filter(|n| n.up).all(|n| n.core.raft_status().voters.len() == 5)
    });
    cluster.make_primary(c);

    // E comes back from its own (old) ledger: C holds nothing that old and offers its snapshot.
    let before: Vec<Vec<u8>> = cluster.nodes[&e].ledger.iter().map(|x| x.bytes.clone()).collect();
    cluster.restart(e, usize::MAX);
    let after = cluster.write(100, "after E is back");
    cluster.run_until("E catches up through the snapshot", 3000, |cl| cl.committed_everywhere(after.seqno));
    let node_e = &cluster.nodes[&e];
    assert_eq!(node_e.ledger_base, name.seqno, "E started again from the snapshot C offered");
    let kept: Vec<Vec<u8>> = node_e.superseded.iter().map(|x| x.bytes.clone()).collect();
    assert_eq!(kept, before, "E's old ledger was set aside whole, not lost");
    let table = LogTable::Private.table_name();
    for key in (0..=30).chain([100]) {
        let expected = cluster.nodes[&c].core.store().get(table, &LogTable::key(key));
        assert!(expected.is_some(), "key {key}");
        assert_eq!(cluster.nodes[&e].core.store().get(table, &LogTable::key(key)), expected, "key {key}");
    }
}

/// A self-signed joiner's request body and the caller it is sent as (its TLS certificate).
fn stranger_join(token: Option<String>) -> (Vec<u8>, Caller, String) {
    let key = SigningKey::generate().expect("key");
    let req = CertificateRequest {
        common_name: "stranger".into(),
        subject_alt_names: vec![],
        not_before_unix_s: not_before(),
        validity_days: 365,
        is_ca: false,
    };
    let cert = Certificate::self_signed(&key, &req).expect("cert");
    let body = serde_json::to_vec(&cairn_node::JoinRequest {
        certificate: cert.pem().to_string(),
        public_encryption_key: String::new(),
        rpc_addresses: vec!["127.0.0.1:7999".into()],
        node_to_node_address: "127.0.0.1:7998".into(),
        join_token: token,
    })
    .unwrap();
    let caller = Caller::with_cert(Some(cairn_crypto::sha256(cert.der()).to_hex()));
    (body, caller, cert.verifying_key().unwrap().key_id())
}

/// Whether `needle` appears anywhere in node `id`'s ledger entries or snapshots.
fn node_files_contain(cluster: &Cluster, id: u64, needle: &[u8]) -> bool {
    let node = &cluster.nodes[&id];
    let found = |bytes: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    node.ledger.iter().any(|e| found(&e.bytes))
        || node.snapshots.values().any(|s| found(s))
        || node.files.values().any(|f| found(f))
}

#[test]
fn a_join_without_a_token_while_opening_stays_pending_until_members_trust_it() {
    let (mut cluster, first) = Cluster::start();
    cluster.run_until("the first node commits its genesis", 10, |c| c.nodes[&first].core.commit().seqno >= 2);
    // A stranger asking again and again: Pending, never the network information.
    let (body, caller, _) = stranger_join(None);
    for _ in 0..3 {
        let answer = cluster.request(first, caller.clone(), Request::Join { body: body.clone() });
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        assert_eq!(answer.body["node_status"], "Pending");
        assert!(answer.body.get("network_info").is_none(), "a Pending answer carries no keys: {:?}", answer.body);
        cluster.step();
    }
    // A node without the token: recorded Pending, neither voter nor learner.
    let joiner = cluster.join_with(2, None);
    cluster.run_until("the Pending row commits", 50, |c| c.nodes[&first].core.commit().seqno >= 4);
    for _ in 0..20 {
        cluster.step();
    }
    let status = cluster.nodes[&first].core.raft_status();
    assert!(!status.voters.contains(&joiner) && !status.learners.contains(&joiner), "{status:?}");
    assert_eq!(cluster.nodes[&joiner].core.node_state(), cairn_node::NodeState::Pending);
    assert!(!cluster.nodes[&joiner].files.contains_key("secrets"), "a Pending joiner received no secrets");
    // Members trust it: it becomes a learner, then a voter, and part of the network.
    let node_id = cluster.nodes[&joiner].core.node_id().to_string();
    cluster.govern(json!([{"name": "transition_node_to_trusted", "args": {"node_id": node_id}}]));
    cluster.run_until("the trusted joiner is a voter", 500, |c| {
        c.nodes[&first].core.raft_status().voters.contains(&joiner)
    });
    cluster.run_until("the joiner is part of the network", 500, |c| {
        c.nodes[&joiner].core.node_state() == cairn_node::NodeState::PartOfNetwork
    });
}

#[test]
fn a_join_with_a_wrong_token_is_refused_and_recorded_nowhere() {
    let (mut cluster, first) = Cluster::start();
    cluster.run_until("the first node commits its genesis", 10, |c| c.nodes[&first].core.commit().seqno >= 2);
    let wrong = cairn_node::JoinToken::from_bytes([0x77; 32]).to_hex();
    let last = cluster.nodes[&first].core.last();
    for token in [wrong.clone(), "not-hex".to_string(), join_token().to_hex().to_uppercase()] {
        let (body, caller, node_id) = stranger_join(Some(token.clone()));
        let answer = cluster.request(first, caller, Request::Join { body });
        assert_eq!(answer.status, 403, "{:?}", answer.body);
        assert_eq!(answer.body["error"]["code"], cairn_node::JOIN_TOKEN_INVALID);
        assert!(!answer.body.to_string().contains(&token), "the answer repeats no token");
        let store = cluster.nodes[&first].core.store();
        assert!(store.get(tables::NODES_INFO, node_id.as_bytes()).is_none(), "the refused node is not recorded");
    }
    assert_eq!(cluster.nodes[&first].core.last(), last, "a refused join appends nothing");
}

#[test]
fn a_valid_token_trusts_at_once_while_opening_and_stays_out_of_the_ledger() {
    let (mut cluster, first) = Cluster::start();
    cluster.run_until("the first node commits its genesis", 10, |c| c.nodes[&first].core.commit().seqno >= 2);
    let joiner = cluster.join(2);
    cluster.run_until("the joiner is part of the network", 500, |c| {
        c.nodes[&joiner].core.node_state() == cairn_node::NodeState::PartOfNetwork
    });
    let token = join_token();
    let digest = token.digest().to_hex();
    for id in [first, joiner] {
        assert!(!node_files_contain(&cluster, id, token.to_hex().as_bytes()), "token hex in node {id}'s files");
        assert!(!node_files_contain(&cluster, id, &[0x5a; 32]), "token bytes in node {id}'s files");
        // Only the digest is recorded (so a new primary can check tokens too).
        let recorded = cluster.nodes[&id].core.store().get(cairn_node::JOIN_TOKEN_DIGEST, &[0; 8]).unwrap();
        assert!(String::from_utf8_lossy(recorded).contains(&digest));
    }
}

#[test]
fn a_valid_token_once_the_service_is_open_is_pending_until_members_trust_it() {
    let (mut cluster, first) = Cluster::start();
    cluster.run_until("the first node commits its genesis", 10, |c| c.nodes[&first].core.commit().seqno >= 2);
    let info = cluster.nodes[&first].core.store().get(tables::SERVICE_INFO, &tables::SINGLETON_KEY).unwrap();
    let service_cert = serde_json::from_slice::<Value>(info).unwrap()["cert"].as_str().unwrap().to_string();
    cluster.govern(json!([{"name": "transition_service_to_open", "args": {"next_service_identity": service_cert}}]));
    let (body, caller, _) = stranger_join(Some(join_token().to_hex()));
    let answer = cluster.request(first, caller, Request::Join { body });
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["node_status"], "Pending");
    assert!(answer.body.get("network_info").is_none());
    let joiner = cluster.join(3);
    for _ in 0..50 {
        cluster.step();
    }
    assert_eq!(cluster.nodes[&joiner].core.node_state(), cairn_node::NodeState::Pending);
    let status = cluster.nodes[&first].core.raft_status();
    assert!(!status.voters.contains(&joiner) && !status.learners.contains(&joiner), "{status:?}");
}

#[test]
fn a_ledger_rekey_on_three_nodes_reaches_every_backup_and_survives_a_failover() {
    let (mut cluster, first) = Cluster::start();
    cluster.run_until("the first node commits its genesis", 10, |c| c.nodes[&first].core.commit().seqno >= 2);
    let a = cluster.join(2);
    let b = cluster.join(3);
    cluster.run_until("both joiners are voters", 500, |c| c.nodes[&first].core.raft_status().voters.len() == 3);
    let user_cert = identities().user_cert.pem().to_string();
    cluster.govern(json!([{"name": "set_user", "args": {"cert": user_cert}}]));
    let service_cert = cluster.nodes[&first].core.secrets().len();
    assert_eq!(service_cert, 1);
    let cert = cluster.nodes[&first]
        .core
        .store()
        .get(tables::SERVICE_INFO, &tables::SINGLETON_KEY)
        .map(|v| serde_json::from_slice::<Value>(v).unwrap()["cert"].as_str().unwrap().to_string())
        .unwrap();
    cluster.govern(json!([{"name": "transition_service_to_open", "args": {"next_service_identity": cert}}]));
    let before = cluster.write(1, "before the rekey");
    cluster.govern(json!([{"name": "trigger_ledger_rekey", "args": {}}]));
    let after = cluster.write(2, "after the rekey");
    cluster.run_until("the write after the rekey commits everywhere", 500, |c| c.committed_everywhere(after.seqno));
    for n in cluster.nodes.values() {
        assert_eq!(n.core.secrets().len(), 2, "node {} holds the new secret", n.core.node_id());
        let got = n.core.store().get(LogTable::Private.table_name(), &LogTable::key(2));
        assert_eq!(
            got,
            Some(&b"after the rekey"[..]),
            "node {} reads the entry under the new secret",
            n.core.node_id()
        );
        // The sealed rows name only the other nodes, and carry no plaintext secret.
        let rows: Vec<String> = n
            .core
            .store()
            .iter_table(tables::ENCRYPTED_LEDGER_SECRETS)
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .collect();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(!rows.contains(&cluster.nodes[&first].core.node_id().to_string()));
    }
    assert!(before.seqno < after.seqno);
    // The primary goes away; a backup takes over and writes under the new secret.
    cluster.nodes.get_mut(&first).unwrap().up = false;
    cluster.run_until("a new primary", 1000, |c| c.primary().is_some_and(|p| p != first));
    let p = cluster.primary().unwrap();
    assert!([a, b].contains(&p));
    let later = cluster.write(3, "under the new primary");
    cluster.run_until("the write commits on the survivors", 500, |c| {
        c.nodes.values().filter(|n| n.up).all(|n| n.core.commit().seqno >= later.seqno)
    });
}

#[test]
fn a_peer_frame_carrying_a_bad_entry_is_dropped_and_counted_not_fatal() {
    let (mut cluster, first) = Cluster::start();
    cluster.run_until("the first node commits its genesis", 10, |c| c.nodes[&first].core.commit().seqno >= 2);
    let a = cluster.join(2);
    cluster.run_until("the joiner is a voter", 500, |c| c.nodes[&first].core.raft_status().voters.len() == 2);
    let term = cluster.nodes[&first].core.raft_status().term;
    let last = cluster.nodes[&a].core.raft_status().last_index;
    let good_entry = |index: u64| -> raft::eraftpb::Entry {
        let bytes = cluster.nodes[&first].ledger[index as usize - 1].bytes.clone();
        raft::eraftpb::Entry { index, term: 2, data: bytes.into(), ..Default::default() }
    };
    let cases: Vec<(&str, raft::eraftpb::Entry)> = vec![
        (
            "garbage bytes",
            raft::eraftpb::Entry { index: last + 1, term, data: vec![7u8; 40].into(), ..Default::default() },
        ),
        ("an entry whose seqno is not the index", raft::eraftpb::Entry { index: last + 1, term, ..good_entry(1) }),
        ("a truncated ledger entry", {
            let e = good_entry(1);
            let half = e.data.len() / 2;
            raft::eraftpb::Entry { index: last + 1, term, data: e.data.slice(..half), ..Default::default() }
        }),
    ];
    for (i, (what, entry)) in cases.into_iter().enumerate() {
        let mut m = raft::eraftpb::Message::default();
        m.set_msg_type(raft::eraftpb::MessageType::MsgAppend);
        (m.from, m.to, m.term, m.index, m.log_term, m.commit) = (first, a, term, last, term, 0);
        m.set_entries(vec![entry].into());
        let frame = cairn_node::consensus::wire::encode(&m).unwrap();
        let node = cluster.nodes.get_mut(&a).unwrap();
        node.core.handle(Event::PeerFrame { from: first, frame });
        assert_eq!(node.core.raft_status().rejected_frames, i as u64 + 1, "{what}: dropped and counted");
        assert_eq!(node.core.raft_status().last_index, last, "{what}: nothing appended");
    }
    // The node goes on replicating.
    let user_cert = identities().user_cert.pem().to_string();
    cluster.govern(json!([{"name": "set_user", "args": {"cert": user_cert}}]));
    let tip = cluster.nodes[&first].core.raft_status().last_index;
    cluster.run_until("the joiner keeps replicating", 500, |c| c.nodes[&a].core.raft_status().last_index >= tip);
}

#[test]
fn strangers_cannot_grow_the_ledger_without_bound() {
    let (mut cluster, first) = Cluster::start();
    cluster.run_until("the first node commits its genesis", 10, |c| c.nodes[&first].core.commit().seqno >= 2);
    // Oversized fields are refused before anything is recorded, naming the field.
    let (body, caller, node_id) = stranger_join(None);
    let mut request: cairn_node::JoinRequest = serde_json::from_slice(&body).unwrap();
    let cases = [
        ("node_to_node_address", {
            let mut r = request.clone();
            r.node_to_node_address = "x".repeat(100_000);
            r
        }),
        ("rpc_addresses", {
            let mut r = request.clone();
            r.rpc_addresses = vec!["127.0.0.1:1".into(); 1000];
            r
        }),
        ("public_encryption_key", {
            let mut r = request.clone();
            r.public_encryption_key = "k".repeat(1 << 20);
            r
        }),
    ];
    let last = cluster.nodes[&first].core.last();
    for (field, r) in cases {
        let answer = cluster.request(first, caller.clone(), Request::Join { body: serde_json::to_vec(&r).unwrap() });
        assert_eq!(answer.status, 400, "{field}: {:?}", answer.body);
        assert!(answer.body["error"]["message"].as_str().unwrap().starts_with(field), "{:?}", answer.body);
    }
    assert_eq!(cluster.nodes[&first].core.last(), last, "nothing recorded");
    assert!(cluster.nodes[&first].core.store().get(tables::NODES_INFO, node_id.as_bytes()).is_none());
    // At most MAX_PENDING_JOINS strangers wait Pending; the next is refused with 429.
    request.rpc_addresses.truncate(1);
    for i in 0..cairn_node::MAX_PENDING_JOINS {
        let (body, caller, _) = stranger_join(None);
        let answer = cluster.request(first, caller, Request::Join { body });
        assert_eq!((answer.status, answer.body["node_status"].as_str()), (200, Some("Pending")), "stranger {i}");
    }
    let (body, caller, _) = stranger_join(None);
    let answer = cluster.request(first, caller, Request::Join { body });
    assert_eq!((answer.status, answer.body["error"]["code"].as_str()), (429, Some("TooManyPendingJoins")));
    // A node with the join token is still admitted while the service is Opening.
    let joiner = cluster.join(2);
    cluster.run_until("the joiner with the token is part of the network", 800, |c| {
        c.nodes[&joiner].core.node_state() == cairn_node::NodeState::PartOfNetwork
    });
}

#[test]
fn a_node_that_has_not_received_the_service_yet_answers_503_not_a_crash() {
    let (mut cluster, first) = Cluster::start();
    cluster.run_until("the first node commits its genesis", 10, |c| c.nodes[&first].core.commit().seqno >= 2);
    // A joiner before any answer or entry: it knows no service record.
    let joiner = cluster.join(2);
    assert!(cluster.nodes[&joiner].core.store().get(tables::SERVICE_INFO, &tables::SINGLETON_KEY).is_none());
    let (body, caller, _) = stranger_join(Some(join_token().to_hex()));
    for (what, caller, request) in [
        ("network", Caller::default(), Request::Network),
        ("service info", Caller::default(), Request::ServiceInfo),
        ("a join request", caller, Request::Join { body }),
        ("a user read", support::user(), Request::LogRead { table: LogTable::Private, id: 1 }),
    ] {
        let r = cluster.request(joiner, caller, request);
        assert!(r.status == 503 || r.status == 401, "{what}: {} {:?}", r.status, r.body);
    }
    let r = cluster.request(joiner, Caller::default(), Request::Network);
    assert_eq!(r.body["error"]["code"], "ServiceNotKnownYet", "{:?}", r.body);
    // Once it has caught up it answers.
    cluster.run_until("the joiner is part of the network", 500, |c| {
        c.nodes[&joiner].core.node_state() == cairn_node::NodeState::PartOfNetwork
    });
    assert_eq!(cluster.request(joiner, Caller::default(), Request::Network).status, 200);
}
