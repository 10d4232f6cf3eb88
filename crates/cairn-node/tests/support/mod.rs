//! A deterministic harness for driving [`NodeCore`] without I/O: fixed identities (made once
//! per test binary), a seeded ChaCha rng for `fill_random`, a fixed clock, and [`Node`], a fake
//! shell that feeds events, returns the exact actions, and keeps what a real shell would have
//! written (ledger entries, the ledger-secret chain, snapshot files) so tests can replay it.
//!
//! Actions are compared as [`Step`]s: the action reduced to what a test asserts on (which
//! transaction was appended and whether it is a signature, which request was answered with
//! which status, ...), so a test can `assert_eq!` the whole list the core returned.

#![allow(dead_code)] // each test binary uses part of the harness

use cairn_crypto::{Certificate, CertificateRequest, EncryptionKeyPair, SigningKey};
use cairn_gov::{GovRequestHeader, InitialMember, identity_id, sign_request};
use cairn_ledger::format::{EncodedEntry, EntryView, TxId};
use cairn_ledger::snapshot::SnapshotName;
use cairn_ledger::{LedgerSecrets, NodeSigner, ServiceIdentity, tables};
use cairn_node::{
    Action, Caller, CoreConfig, Event, FillRandom, LogTable, NodeCore, NodeIdentity, Replayer, Request, RequestId,
    Response, ResumeParams, StartParams,
};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};

/// The service clock at start (unix ms); governance requests are signed at this time.
pub const START_MS: u64 = 1_700_000_000_000;

/// The ledger secret the service starts with.
pub const FIRST_SECRET: [u8; 32] = [7; 32];

/// The header a write's reply carries its transaction id in (CCF's name).
pub const TX_ID_HEADER: &str = "x-ms-ccf-transaction-id";

/// Keys and certificates shared by every test (key generation is the slow part).
pub struct Identities {
    pub service_cert: Certificate,
    /// The service key: every node of the service holds it (it endorses joiners and renews
    /// certificates).
    pub service_key: Arc<SigningKey>,
    pub signer: Arc<NodeSigner>,
    pub member_key: SigningKey,
    pub member_id: String,
    pub member: InitialMember,
    /// The member's RSA key: decrypts its recovery share.
    pub member_encryption: EncryptionKeyPair,
    /// Registered by [`Node::open_service`].
    pub user_cert: Certificate,
    /// Never registered.
    pub stranger_cert: Certificate,
}

fn request(common_name: &str, is_ca: bool) -> CertificateRequest {
    CertificateRequest {
        common_name: common_name.into(),
        subject_alt_names: vec![],
        not_before_unix_s: (START_MS / 1000) as i64 - 60,
        validity_days: 365,
        is_ca,
    }
}

fn self_signed(common_name: &str) -> (SigningKey, Certificate) {
    let key = SigningKey::generate().expect("key");
    let cert = Certificate::self_signed(&key, &request(common_name, false)).expect("cert");
    (key, cert)
}

pub fn identities() -> &'static Identities {
    static IDENTITIES: OnceLock<Identities> = OnceLock::new();
    IDENTITIES.get_or_init(|| {
        // As cairn-server's `create_identity`: a CA service certificate endorsing the node's.
        let service = ServiceIdentity::create((START_MS / 1000) as i64 - 60, 365).expect("service identity");
        let signer = Arc::new(service.new_local_node((START_MS / 1000) as i64 - 60, 365).expect("node identity"));
        let (service_cert, service_key) = (service.cert, Arc::new(service.key));
        // As `cairn keygen member` / `cairn keygen user`.
        let (member_key, member_cert) = self_signed("m0");
        let encryption = EncryptionKeyPair::generate().expect("member encryption key");
        let member = InitialMember {
            cert_pem: member_cert.pem().to_string(),
            encryption_public_key_pem: Some(encryption.public_key().to_pem()),
            member_data: None,
        };
        let (_, user_cert) = self_signed("u0");
        let (_, stranger_cert) = self_signed("stranger");
        Identities {
            service_cert,
            service_key,
            signer,
            member_key,
            member_id: identity_id(&member_cert),
            member,
            member_encryption: encryption,
            user_cert,
            stranger_cert,
        }
    })
}

pub fn node_identity() -> NodeIdentity {
    let ids = identities();
    NodeIdentity {
        signer: ids.signer.clone(),
        service_cert_pem: ids.service_cert.pem().to_string(),
        service_key: Some(ids.service_key.clone()),
        rpc_addresses: vec!["127.0.0.1:8000".into()],
        node_to_node_address: "127.0.0.1:8001".into(),
        encryption_key: None,
    }
}

/// The join token the tests' first node recorded (its digest) and their joiners present.
pub fn join_token() -> cairn_node::JoinToken {
    cairn_node::JoinToken::from_bytes([0x5a; 32])
}

pub fn user() -> Caller {
    Caller::with_cert(Some(identity_id(&identities().user_cert)))
}

pub fn stranger() -> Caller {
    Caller::with_cert(Some(identity_id(&identities().stranger_cert)))
}

/// Randomness for the core from a ChaCha20 rng seeded with `seed`.
pub fn seeded_fill_random(seed: u64) -> FillRandom {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    Box::new(move |buf: &mut [u8]| rng.fill_bytes(buf))
}

pub fn config(signature_tx_count: u64, signature_delay_ms: u64, snapshot_tx_count: u64) -> CoreConfig {
    CoreConfig { signature_tx_count, signature_delay_ms, snapshot_tx_count, ..CoreConfig::default() }
}

/// Whether `entry` is a signature transaction (it writes the signatures table).
pub fn is_signature(entry: &EncodedEntry) -> bool {
    let (_, ws) = EntryView::parse(&entry.bytes).and_then(|e| e.decode_public()).expect("appended entries parse");
    ws.has_table(tables::SIGNATURES)
}

/// What kind of transaction an `Append` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tx,
    Signature,
}

/// An action reduced to what tests compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Append(TxId, Kind),
    Sync,
    CommitLedger(u64),
    Reply(RequestId, u16),
    WriteSnapshot(SnapshotName),
    CommitSnapshot(SnapshotName),
    /// With the number of secrets in the persisted chain.
    PersistLedgerSecrets(usize),
}

pub fn tx(view: u64, seqno: u64) -> Step {
    Step::Append(TxId::new(view, seqno), Kind::Tx)
}

pub fn sig(view: u64, seqno: u64) -> Step {
    Step::Append(TxId::new(view, seqno), Kind::Signature)
}

/// The actions a lone node's tests compare, as steps. Raft bookkeeping (`PersistRaftState`,
/// `SetPeers`; a lone node sends nothing) is left out: `raft_state_is_persisted_before_entries`
/// checks it.
pub fn steps(actions: &[Action]) -> Vec<Step> {
    actions
        .iter()
        .filter(|a| {
            !matches!(
                a,
                Action::PersistRaftState { .. }
                    | Action::SetPeers { .. }
                    | Action::SetLedgerRecovery { .. }
                    | Action::ServeCertificates { .. }
            )
        })
        .map(|a| match a {
            Action::Append(e) => Step::Append(e.tx_id, if is_signature(e) { Kind::Signature } else { Kind::Tx }),
            Action::Sync => Step::Sync,
            Action::CommitLedger { seqno } => Step::CommitLedger(*seqno),
            Action::Reply { id, response } => Step::Reply(*id, response.status),
            Action::WriteSnapshot { name, .. } => Step::WriteSnapshot(*name),
            Action::CommitSnapshot { name, .. } => Step::CommitSnapshot(*name),
            Action::PersistLedgerSecrets { json } => {
                Step::PersistLedgerSecrets(NodeCore::parse_secrets_json(json).expect("persisted chain parses").len())
            }
            other => panic!("a lone node does not {other:?}"),
        })
        .collect()
}

/// The reply to request `id` among `actions`.
pub fn reply(actions: &[Action], id: RequestId) -> &Response {
    let mut replies = actions.iter().filter_map(|a| match a {
        Action::Reply { id: i, response } if *i == id => Some(response),
        _ => None,
    });
    let r = replies.next().unwrap_or_else(|| panic!("no reply to request {id} in {:?}", steps(actions)));
    assert!(replies.next().is_none(), "request {id} answered twice");
    r
}

pub fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
}

/// The signature seqnos among the `Append`s of `actions`.
pub fn signature_seqnos(actions: &[Action]) -> Vec<u64> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Append(e) if is_signature(e) => Some(e.tx_id.seqno),
            _ => None,
        })
        .collect()
}

/// The rows of a records table: (key, value, version).
pub fn records(store: &cairn_kv::Store, table: LogTable) -> Vec<(Vec<u8>, Vec<u8>, u64)> {
    store.iter_table(table.table_name()).map(|(k, v)| (k.to_vec(), v.value.to_vec(), v.version)).collect()
}

/// A fake shell around a [`NodeCore`]: performs nothing by itself (tests send `Durable`
/// explicitly) but keeps what the shell would have written.
pub struct Node {
    pub core: NodeCore,
    /// Every entry appended, in order: the ledger.
    pub ledger: Vec<EncodedEntry>,
    /// The last ledger-secret chain the core asked to persist.
    pub persisted_secrets: Vec<u8>,
    /// The last Raft hard state the core asked to persist.
    pub raft_state: Option<Vec<u8>>,
    /// Snapshot files written (uncommitted), by name.
    pub snapshots: Vec<(SnapshotName, Vec<u8>)>,
    /// Committed snapshot files: entry ‖ receipt.
    pub committed_snapshots: Vec<(SnapshotName, Vec<u8>)>,
    /// Every action the core returned, as steps, in order.
    pub journal: Vec<Step>,
    /// The last `SetLedgerRecovery` (chunks carry `.recovery`).
    pub ledger_recovery: bool,
    /// `Some`: snapshot jobs the core asks for are kept here, not encoded (a test hands them
    /// back when it likes); `None` (the default): encoded and handed back at once.
    pub held_snapshot_jobs: Option<Vec<cairn_node::SnapshotJob>>,
    /// The same for private restore jobs.
    pub held_restore_jobs: Option<Vec<cairn_node::PrivateRestoreJob>>,
    pub now_ms: u64,
    next_id: RequestId,
}

impl Node {
    fn wrap(core: NodeCore, now_ms: u64) -> Node {
        Node {
            core,
            ledger: Vec::new(),
            persisted_secrets: Vec::new(),
            raft_state: None,
            snapshots: Vec::new(),
            committed_snapshots: Vec::new(),
            journal: Vec::new(),
            ledger_recovery: false,
            held_snapshot_jobs: None,
            held_restore_jobs: None,
            now_ms,
            next_id: 0,
        }
    }

    /// Starts a new service; returns the node and the actions of the start.
    pub fn start(config: CoreConfig, seed: u64) -> (Node, Vec<Action>) {
        Node::start_with(config, seed, vec![identities().member.clone()], 1)
    }

    /// Starts a new service with `members` and `recovery_threshold`.
    pub fn start_with(
        config: CoreConfig,
        seed: u64,
        members: Vec<InitialMember>,
        recovery_threshold: u64,
    ) -> (Node, Vec<Action>) {
        let core = NodeCore::start(StartParams {
            identity: node_identity(),
            config,
            members,
            recovery_threshold,
            ledger_secret: FIRST_SECRET,
            join_token_digest: join_token().digest(),
            now_ms: START_MS,
            fill_random: seeded_fill_random(seed),
        })
        .expect("start");
        let mut node = Node::wrap(core, START_MS);
        let actions = node.absorb();
        (node, actions)
    }

    /// A disaster recovery of `ledger` (SPEC §7) under `identity` (a new service's), at
    /// `now_ms`: the public replay, the cut after the last signature, and `NodeCore::recover`.
    pub fn recover(
        ledger: &[EncodedEntry],
        identity: NodeIdentity,
        config: CoreConfig,
        seed: u64,
        now_ms: u64,
    ) -> Result<Node, cairn_node::ApiError> {
        Node::recover_from(ledger, None, identity, config, seed, now_ms)
    }

    /// [`Node::recover`] whose public read starts from committed snapshot `snapshot` (name,
    /// file bytes, the previous service's certificate), as `recover_start.rs` does.
    pub fn recover_from(
        ledger: &[EncodedEntry],
        snapshot: Option<(SnapshotName, &[u8], &cairn_crypto::Certificate)>,
        identity: NodeIdentity,
        config: CoreConfig,
        seed: u64,
        now_ms: u64,
    ) -> Result<Node, cairn_node::ApiError> {
        let mut replayed = Replayer::public_only();
        // A ledger that starts after the snapshot (a node that joined from it) starts from it.
        let after_snapshot = ledger.first().is_some_and(|e| e.tx_id.seqno > 1);
        let snapshot = snapshot.map(|(name, file, previous)| {
            let evidence = ledger.iter().find(|e| e.tx_id.seqno == name.evidence_seqno).map(|e| e.bytes.as_slice());
            let (snapshot, decoded) = cairn_node::RecoverySnapshot::check(name, file, previous, evidence)
                .unwrap_or_else(|e| panic!("snapshot {name}: {e}"));
            replayed = match after_snapshot {
                true => Replayer::public_from_snapshot(name, decoded).unwrap_or_else(|e| panic!("{name}: {e}")),
                false => Replayer::public_only().with_snapshot_store(decoded.into_store(), snapshot.seqno),
            };
            snapshot
        });
        for e in ledger {
            replayed.push(e.bytes.clone()).unwrap_or_else(|err| panic!("reading {} publicly: {err}", e.tx_id));
        }
        if let Some(s) = snapshot.as_ref().filter(|_| !after_snapshot) {
            s.check_against(&replayed).unwrap_or_else(|e| panic!("snapshot {}: {e}", s.name));
        }
        let kept = ledger.iter().take_while(|e| e.tx_id.seqno <= replayed.last.seqno).count();
        replayed.drop_unsigned_tail();
        let core = NodeCore::recover(cairn_node::RecoverParams {
            replayed,
            snapshot,
            identity,
            config,
            ledger_secret: [9; 32],
            join_token_digest: join_token().digest(),
            open_chunk_bytes: 0,
            now_ms,
            fill_random: seeded_fill_random(seed),
        })?;
        let mut node = Node::wrap(core, now_ms);
        node.ledger = ledger[..kept].to_vec();
        node.absorb();
        Ok(node)
    }

    /// [`Node::restart_as`] of a node whose ledger starts after committed snapshot `snapshot`
    /// of the service before its last recovery (name, file, that service's certificate), as
    /// `snapshot_start::previous_service_start` does: decoded whole if the persisted secrets
    /// reach its seqno, else publicly with its private domain kept for the opening transaction.
    pub fn restart_after_previous_snapshot(
        &self,
        snapshot: (SnapshotName, &[u8], &cairn_crypto::Certificate),
        identity: NodeIdentity,
        config: CoreConfig,
        seed: u64,
        now_ms: u64,
    ) -> Node {
        let (name, file, previous) = snapshot;
        let secrets = NodeCore::parse_secrets_json(&self.persisted_secrets).expect("persisted chain");
        let (recovery_snapshot, public) = cairn_node::RecoverySnapshot::check_installed(name, file, previous, None)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut replayed = match secrets.secret_for(name.seqno) {
            Some(secret) => {
                let committed = cairn_ledger::snapshot::verify_committed_snapshot(&name, file, previous).unwrap();
                let decoded = cairn_ledger::snapshot::decode_snapshot(committed.entry(file), secret).unwrap();
                Replayer::from_snapshot(secrets.clone(), decoded).unwrap()
            }
            None => {
                let mut r = Replayer::from_snapshot(secrets.clone(), public).unwrap();
                r.recovery_snapshot = Some(recovery_snapshot);
                r
            }
        };
        replayed.log_base_snapshot = Some(name);
        for e in &self.ledger {
            replayed.push(e.bytes.clone()).unwrap_or_else(|err| panic!("replaying {}: {err}", e.tx_id));
        }
        self.resume_from(replayed, secrets, identity, config, (seed, now_ms)).0
    }

    /// A core resumed from `replayed` with this node's persisted files, at `now_ms`.
    fn resume_from(
        &self,
        replayed: Replayer,
        secrets: LedgerSecrets,
        identity: NodeIdentity,
        config: CoreConfig,
        (seed, now_ms): (u64, u64),
    ) -> (Node, Vec<Action>) {
        let core = NodeCore::resume(ResumeParams {
            replayed,
            identity,
            config,
            secrets,
            open_chunk_bytes: 0,
            raft_state_json: self.raft_state.clone(),
            now_ms,
            fill_random: seeded_fill_random(seed),
        });
        let mut node = Node::wrap(core, now_ms);
        node.persisted_secrets = self.persisted_secrets.clone();
        node.raft_state = self.raft_state.clone();
        node.ledger = self.ledger.clone();
        let actions = node.absorb();
        (node, actions)
    }

    /// Restarts from this node's ledger, persisted secrets and Raft state, as if every
    /// appended entry had reached the disk, at `now_ms`. The whole ledger is kept (a lone
    /// node signs over its unsigned tail in the new view).
    pub fn restart(&self, config: CoreConfig, seed: u64, now_ms: u64) -> (Node, Vec<Action>) {
        self.restart_as(node_identity(), config, seed, now_ms)
    }

    /// [`Node::restart`] of a node with `identity` (a recovered service's node).
    pub fn restart_as(
        &self,
        identity: NodeIdentity,
        config: CoreConfig,
        seed: u64,
        now_ms: u64,
    ) -> (Node, Vec<Action>) {
        let secrets = NodeCore::parse_secrets_json(&self.persisted_secrets).expect("persisted chain");
        let replayed = replay(&self.ledger, secrets.clone());
        self.resume_from(replayed, secrets, identity, config, (seed, now_ms))
    }

    /// Takes the core's actions and keeps what a shell would have written.
    /// A snapshot the core asks to encode is encoded at once and handed back (as the shell's
    /// encoder thread does), so the actions returned include its evidence and file.
    fn absorb(&mut self) -> Vec<Action> {
        self.core.check_invariants();
        let mut actions = Vec::new();
        loop {
            let mut taken = self.core.take_actions();
            if !taken.iter().any(|a| matches!(a, Action::EncodeSnapshot(_) | Action::RestorePrivateState(_))) {
                actions.append(&mut taken);
                break;
            }
            let holding = self.held_snapshot_jobs.is_some() || self.held_restore_jobs.is_some();
            let mut encoded = Vec::new();
            for action in taken {
                match (action, self.held_snapshot_jobs.as_mut()) {
                    (Action::EncodeSnapshot(job), Some(held)) => held.push(job),
                    (Action::EncodeSnapshot(job), None) => encoded.push(Event::SnapshotEncoded(job.encode())),
                    (Action::RestorePrivateState(job), _) => match self.held_restore_jobs.as_mut() {
                        Some(held) => held.push(job),
                        None => encoded.push(Event::PrivateStateRestored(job.run())),
                    },
                    (other, _) => actions.push(other),
                }
            }
            for e in encoded {
                self.core.handle(e);
            }
            if holding {
                break;
            }
        }
        for action in &actions {
            match action {
                Action::Append(e) => {
                    let expected = self.ledger.last().map_or(1, |l| l.tx_id.seqno + 1);
                    assert_eq!(e.tx_id.seqno, expected, "entries are appended in seqno order without gaps");
                    self.ledger.push(e.clone());
                }
                Action::PersistLedgerSecrets { json } => self.persisted_secrets = json.clone(),
                Action::PersistRaftState { json } => self.raft_state = Some(json.clone()),
                Action::TruncateLedger { seqno } => self.ledger.retain(|e| e.tx_id.seqno <= *seqno),
                Action::WriteSnapshot { name, bytes } => self.snapshots.push((*name, bytes.clone())),
                Action::CommitSnapshot { name, receipt } => {
                    let (_, bytes) = self
                        .snapshots
                        .iter()
                        .find(|(n, _)| n == name)
                        .unwrap_or_else(|| panic!("snapshot {name} committed before it was written"));
                    self.committed_snapshots.push((name.committed(), [bytes.as_slice(), receipt].concat()));
                }
                Action::SetLedgerRecovery { recovery } => self.ledger_recovery = *recovery,
                Action::Sync
                | Action::CommitLedger { .. }
                | Action::Reply { .. }
                | Action::SetPeers { .. }
                | Action::ServeCertificates { .. } => {}
                other => panic!("a lone node does not {other:?}"),
            }
        }
        self.journal.extend(steps(&actions));
        actions
    }

    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        self.core.handle(event);
        self.absorb()
    }

    /// Sends `request` from `caller`; returns its id and the actions.
    pub fn request(&mut self, caller: Caller, request: Request) -> (RequestId, Vec<Action>) {
        let id = self.next_id;
        self.next_id += 1;
        (id, self.handle(Event::Request { id, caller, request }))
    }

    /// Sends `request` and returns its reply only (the other actions are kept by the node).
    pub fn ask(&mut self, caller: Caller, request: Request) -> Response {
        let (id, actions) = self.request(caller, request);
        reply(&actions, id).clone()
    }

    /// Writes `msg` under `id` in the private records table as the registered user.
    pub fn write(&mut self, id: u64, msg: &str) -> (RequestId, Vec<Action>) {
        self.request(user(), Request::LogWrite { table: LogTable::Private, id, msg: msg.into() })
    }

    /// Like [`Node::write`]; returns the transaction id the reply names.
    pub fn write_tx(&mut self, id: u64, msg: &str) -> TxId {
        let (rid, actions) = self.write(id, msg);
        let r = reply(&actions, rid);
        assert_eq!(r.status, 200, "write {id}: {:?}", r.body);
        header(r, TX_ID_HEADER).expect("a write names its transaction").parse().expect("tx id")
    }

    pub fn tick(&mut self, now_ms: u64) -> Vec<Action> {
        self.now_ms = self.now_ms.max(now_ms);
        self.handle(Event::Tick { now_ms })
    }

    pub fn durable(&mut self, seqno: u64) -> Vec<Action> {
        self.handle(Event::Durable { seqno })
    }

    pub fn last_seqno(&self) -> u64 {
        self.ledger.last().map_or(0, |e| e.tx_id.seqno)
    }

    /// Signs whatever is unsigned (a tick at the signature deadline) and makes everything
    /// durable; afterwards everything appended is committed.
    pub fn settle(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        // A signature may take a snapshot, whose evidence transaction waits for the next one.
        for _ in 0..3 {
            let Some(deadline) = self.core.next_deadline_ms() else { break };
            actions.extend(self.tick(deadline));
        }
        let last = self.last_seqno();
        actions.extend(self.durable(last));
        assert_eq!(self.core.commit().seqno, last, "settled: everything is committed");
        actions
    }

    pub fn tx_status(&mut self, tx: TxId) -> String {
        let r = self.ask(Caller::default(), Request::TxStatus { tx: tx.to_string() });
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body["status"].as_str().expect("status").to_string()
    }

    pub fn receipt(&mut self, tx: TxId) -> Response {
        self.ask(user(), Request::Receipt { tx: tx.to_string() })
    }

    /// A governance request signed by the member at the node's current time.
    pub fn member_request(&self, msg_type: &str, proposal_id: Option<&str>, payload: &Value) -> Vec<u8> {
        let ids = identities();
        let header = GovRequestHeader {
            msg_type: msg_type.into(),
            created_at: self.now_ms / 1000,
            proposal_id: proposal_id.map(str::to_string),
        };
        sign_request(&ids.member_key, &ids.member_id, &header, &serde_json::to_vec(payload).expect("json"))
    }

    /// Proposes `actions` and approves it (the only member is a majority). Returns the ballot's
    /// reply and every action of the ballot.
    pub fn propose_and_approve(&mut self, actions: Value) -> (Response, Vec<Action>) {
        let body = self.member_request("proposal", None, &json!({ "actions": actions }));
        let proposed = self.ask(Caller::default(), Request::Propose { body });
        assert_eq!(proposed.status, 200, "propose: {:?}", proposed.body);
        assert_eq!(proposed.body["proposalState"], "Open");
        let proposal_id = proposed.body["proposalId"].as_str().expect("proposal id").to_string();
        let body = self.member_request("ballot", Some(&proposal_id), &json!({"ballot": "approve"}));
        let member_id = identities().member_id.clone();
        let (id, actions) = self.request(Caller::default(), Request::Ballot { proposal_id, member_id, body });
        let voted = reply(&actions, id).clone();
        assert_eq!(voted.status, 200, "ballot: {:?}", voted.body);
        assert_eq!(voted.body["proposalState"], "Accepted", "{:?}", voted.body);
        (voted, actions)
    }

    pub fn register_user(&mut self) {
        let cert = identities().user_cert.pem().to_string();
        self.propose_and_approve(json!([{"name": "set_user", "args": {"cert": cert}}]));
    }

    /// Registers the user and opens the service, then settles (as `open_service_with_user`
    /// does through the API).
    pub fn open_service(&mut self) {
        self.register_user();
        let service_cert = identities().service_cert.pem().to_string();
        self.propose_and_approve(json!([
            {"name": "transition_service_to_open", "args": {"next_service_identity": service_cert}}
        ]));
        self.settle();
    }
}

/// Replays `ledger` into a fresh [`Replayer`] with `secrets`.
pub fn replay(ledger: &[EncodedEntry], secrets: LedgerSecrets) -> Replayer {
    let mut replayer = Replayer::new(secrets);
    for e in ledger {
        replayer.push(e.bytes.clone()).unwrap_or_else(|err| panic!("replaying {}: {err}", e.tx_id));
    }
    replayer.check_invariants();
    replayer
}
