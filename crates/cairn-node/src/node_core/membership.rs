//! Membership (design §2.2, §9): the consensus table as the Raft configuration, the join
//! protocol on both sides, learner promotion, and the address book handed to the transport.
//!
//! - Every node turns each *Raft-committed* write to `public:cairn.consensus.nodes` into one
//!   single-change `ConfChangeV2`, in log order, so all nodes apply the same configurations at
//!   the same indices. A primary proposes no new change while its last one is uncommitted.
//! - A joiner POSTs its certificate, addresses and join token (if it has one); the primary
//!   applies [`join_decision`]: `Trusted` and a learner at once while the service is `Opening`
//!   or `Recovering` and the token is valid, 403 with nothing recorded for a wrong token,
//!   `Pending` otherwise (members decide with `transition_node_to_trusted`). Once a trusting
//!   transaction is committed the answer carries the network information: endorsed
//!   certificate, service key, ledger secrets and the peers. A `Pending` answer carries the
//!   status and node id only.
//! - The primary promotes a learner to voter once it has replicated up to the commit.
use super::NodeCore;
use crate::membership::recorded_digest;
use crate::{
    Action, ApiError, CONSENSUS_NODES, ConsensusNode, CoreConfig, FillRandom, JoinAnswer, JoinDecision, JoinRequest,
    JoinToken, NetworkInfo, NodeIdentity, NodeState, PeerInfo, RaftRole, Response, TokenCheck, join_decision,
    raft_id_of,
};
use cairn_crypto::{Certificate, CertificateRequest, SigningKey};
use cairn_kv::{Store, WriteSet};
use cairn_ledger::format::{EntryFlags, EntryView};
use cairn_ledger::tables::{self, NodeInfo, NodeStatus};
use cairn_ledger::{LedgerSecret, LedgerSecrets, NodeSigner};
use raft::eraftpb::{ConfChangeSingle, ConfChangeType, ConfChangeV2, ConfState, Entry};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Join requests of nodes not trusted yet (node id → `JoinRequest` JSON): what a later
/// `transition_node_to_trusted` needs to add the node to the configuration.
pub const JOIN_REQUESTS: &str = "public:cairn.nodes.join_requests";

/// The error code of a join refused for a wrong token (403).
pub const JOIN_TOKEN_INVALID: &str = "JoinTokenInvalid";

/// At most this many nodes may wait `Pending` (strangers without the join token): each is a
/// ledger row members must look at. More are refused with 429 until members trust or remove some.
pub const MAX_PENDING_JOINS: usize = 64;

/// Endorsed node certificates are valid this long.
const NODE_CERT_VALIDITY_DAYS: u32 = 365;

/// What a node needs to join an existing service (`command.type = Join`).
pub struct JoinParams {
    /// The node's key; its self-signed certificate proves it in the TLS handshake.
    pub node_key: SigningKey,
    pub self_signed_cert_pem: String,
    /// The node's RSA key; its public half goes in the join request (`nodes.info`
    /// `encryption_pub_key`), a ledger rekey seals the new secret to it.
    pub encryption_key: Arc<cairn_crypto::EncryptionKeyPair>,
    pub config: CoreConfig,
    pub rpc_addresses: Vec<String>,
    pub node_to_node_address: String,
    /// The service's join token (`command.join_token_file`), if the operator gave one: with it
    /// the node is trusted at once while the service is `Opening` or `Recovering`.
    pub join_token: Option<JoinToken>,
    pub now_ms: u64,
    pub fill_random: FillRandom,
}

struct Joining {
    body: Vec<u8>,
    next_attempt_ms: u64,
    node_key_pem: String,
}

pub(super) struct Membership {
    /// The consensus table as of the last Raft-committed change this node applied.
    rows: BTreeMap<String, ConsensusNode>,
    joining: Option<Joining>,
    /// A joined node is `PartOfNetwork` once its commit reaches this.
    join_commit: Option<u64>,
    /// Seqno of this primary's last proposed change to the consensus table.
    pending_change: u64,
    /// Every node this node may have to talk to: the join answer's peers, and every row ever
    /// seen in the consensus table (committed or not). A node leaves the address book only
    /// when its removal commits: a node catching up must keep reaching a primary its
    /// committed prefix does not name yet.
    address_book: BTreeMap<u64, PeerInfo>,
    /// The address book last handed to the shell.
    emitted: Vec<PeerInfo>,
    /// `remove_node`s waiting for the previous configuration change to commit.
    pending_removals: Vec<String>,
}

fn rows_of(store: &Store) -> BTreeMap<String, ConsensusNode> {
    store
        .iter_table(CONSENSUS_NODES)
        .filter_map(|(k, v)| {
            let row: ConsensusNode = serde_json::from_slice(&v.value).ok()?;
            Some((String::from_utf8_lossy(k).into_owned(), row))
        })
        .collect()
}

impl Membership {
    pub(super) fn from_store(store: &Store) -> Self {
        let mut members = Membership {
            rows: rows_of(store),
            joining: None,
            join_commit: None,
            pending_change: 0,
            address_book: BTreeMap::new(),
            emitted: Vec::new(),
            pending_removals: Vec::new(),
        };
        let peers = members.peers();
        members.learn(peers);
        members
    }

    /// The write set adding this node's own row (the creating node, a voter).
    pub(super) fn own_row(&self, identity: &NodeIdentity, role: RaftRole) -> WriteSet {
        let row = ConsensusNode {
            raft_id: identity.raft_id(),
            role,
            node_to_node_address: identity.node_to_node_address.clone(),
        };
        let mut ws = WriteSet::new();
        ws.put(CONSENSUS_NODES, identity.node_id().as_bytes().to_vec(), serde_json::to_vec(&row).expect("json"));
        ws
    }

    pub(super) fn conf_state(&self) -> ConfState {
        let mut cs = ConfState::default();
        for row in self.rows.values() {
            match row.role {
                RaftRole::Voter => cs.voters.push(row.raft_id),
                RaftRole::Learner => cs.learners.push(row.raft_id),
            }
        }
        cs
    }

    pub(super) fn is_voter(&self, raft_id: u64) -> bool {
        self.rows.values().any(|r| r.raft_id == raft_id && r.role == RaftRole::Voter)
    }

    /// A configuration change may be pending up to `seqno`: no new one until it commits.
    pub(super) fn note_pending_change(&mut self, seqno: u64) {
        self.pending_change = self.pending_change.max(seqno);
    }

    pub(super) fn is_joining(&self) -> bool {
        self.joining.is_some()
    }

    pub(super) fn next_join_attempt_ms(&self) -> Option<u64> {
        self.joining.as_ref().map(|j| j.next_attempt_ms)
    }

    pub(super) fn peers(&self) -> Vec<PeerInfo> {
        self.rows
            .iter()
            .map(|(id, row)| PeerInfo {
                raft_id: row.raft_id,
                node_id: id.clone(),
                node_to_node_address: row.node_to_node_address.clone(),
            })
            .collect()
    }

    fn learn(&mut self, peers: impl IntoIterator<Item = PeerInfo>) {
        for peer in peers {
            self.address_book.insert(peer.raft_id, peer);
        }
    }

    /// The node id of Raft id `raft_id`, if it is in the configuration.
    pub(super) fn node_id_of(&self, raft_id: u64) -> Option<&str> {
        self.rows.iter().find(|(_, r)| r.raft_id == raft_id).map(|(id, _)| id.as_str())
    }
}

impl NodeCore {
    /// A node asking to join: `Pending` until a primary admits it and its answer arrives.
    /// Until then it has no ledger secret and no service identity; it only retries the join.
    pub fn join(p: JoinParams) -> NodeCore {
        let node_key_pem = p.node_key.to_pem();
        let signer = Arc::new(NodeSigner::new(p.node_key, p.self_signed_cert_pem.clone()));
        let identity = NodeIdentity {
            signer,
            service_cert_pem: String::new(),
            service_key: None,
            rpc_addresses: p.rpc_addresses.clone(),
            node_to_node_address: p.node_to_node_address.clone(),
            encryption_key: Some(p.encryption_key.clone()),
        };
        let request = JoinRequest {
            certificate: p.self_signed_cert_pem,
            public_encryption_key: p.encryption_key.public_key().to_pem(),
            rpc_addresses: p.rpc_addresses,
            node_to_node_address: p.node_to_node_address,
            join_token: p.join_token.as_ref().map(JoinToken::to_hex),
        };
        let mut fill_random = p.fill_random;
        let consensus = super::raft_loop::Consensus::join(&p.config, identity.raft_id(), &mut fill_random, p.now_ms);
        // No secret yet: a placeholder that never encrypts anything (a joiner appends nothing
        // before it is admitted and receives the service's chain).
        let secrets = LedgerSecrets::single(LedgerSecret::new([0; 32]));
        let empty = crate::Replayer::new(secrets.clone());
        let mut core =
            NodeCore::assemble(empty, identity, p.config, secrets, 0, p.now_ms, fill_random, consensus, Vec::new());
        core.state = NodeState::Pending;
        core.members.joining = Some(Joining {
            body: serde_json::to_vec(&request).expect("json"),
            next_attempt_ms: p.now_ms,
            node_key_pem,
        });
        core.join_tick();
        core
    }

    /// A joining node asks again when its retry time comes.
    pub(super) fn join_tick(&mut self) {
        let now = self.now_ms;
        let retry = self.config.join_retry_ms;
        let Some(joining) = self.members.joining.as_mut() else { return };
        if now < joining.next_attempt_ms {
            return;
        }
        joining.next_attempt_ms = now + retry;
        let body = joining.body.clone();
        self.out.push(Action::SendJoinRequest { body });
    }

    /// The primary's answer to this node's join request.
    pub(super) fn on_join_response(&mut self, status: u16, body: &[u8]) {
        if self.members.joining.is_none() || status != 200 {
            return;
        }
        let Ok(answer) = serde_json::from_slice::<JoinAnswer>(body) else { return };
        let Some(info) = answer.network_info else { return };
        if answer.node_id != self.identity.node_id() || info.raft_id != self.identity.raft_id() {
            return;
        }
        let Ok(chain) = serde_json::from_value::<cairn_gov::LedgerSecretChain>(info.ledger_secrets.clone()) else {
            return;
        };
        let Ok(secrets) =
            LedgerSecrets::from_entries(chain.iter().map(|s| (s.valid_from_seqno, LedgerSecret::new(s.secret))))
        else {
            return;
        };
        let Ok(service_key) = SigningKey::from_pem(&info.service_key) else { return };
        let joining = self.members.joining.take().expect("checked above");
        let node_key = SigningKey::from_pem(&joining.node_key_pem).expect("our own key");
        let signer = Arc::new(NodeSigner::new(node_key, info.endorsed_certificate.clone()));
        self.identity.signer = signer.clone();
        self.identity.service_cert_pem = info.service_certificate.clone();
        self.identity.service_key = Some(Arc::new(service_key));
        self.served_node_cert_pem = info.endorsed_certificate.clone();
        let latest = secrets.latest().expect("a chain has a secret").clone();
        self.secrets = secrets;
        self.history = cairn_ledger::History::new(latest, signer);
        self.out.push(Action::PersistJoinedIdentity {
            node_cert_pem: info.endorsed_certificate,
            service_cert_pem: info.service_certificate,
            service_key_pem: info.service_key,
        });
        self.persist_secrets();
        if self.private_state_pending() {
            // A recovered service that has not restored its private state (recovery.rs): this
            // node's chunks carry `.recovery` until it does.
            self.out.push(Action::SetLedgerRecovery { recovery: true });
        }
        self.members.join_commit = Some(info.commit_seqno);
        self.members.learn(info.peers);
        self.emit_peers();
        self.on_commit_advanced();
    }

    /// `POST /node/join` on the primary.
    pub(super) fn on_join_request(&mut self, caller: &crate::Caller, body: &[u8]) -> Result<Response, ApiError> {
        self.require_primary()?;
        let request: JoinRequest =
            serde_json::from_slice(body).map_err(|e| ApiError::bad_request("InvalidInput", format!("join: {e}")))?;
        request
            .check_bounds()
            .map_err(|(field, why)| ApiError::bad_request("InvalidInput", format!("{field}: {why}")))?;
        let cert = Certificate::from_pem(&request.certificate)
            .map_err(|e| ApiError::bad_request("InvalidInput", format!("certificate: {e}")))?;
        // The TLS client certificate proves the joiner holds the key it asks to be endorsed.
        let presented = cairn_crypto::sha256(cert.der()).to_hex();
        if caller.cert_id.as_deref() != Some(presented.as_str()) {
            return Err(ApiError::unauthenticated(
                "join: the TLS client certificate must be the certificate in the request",
            ));
        }
        let key =
            cert.verifying_key().map_err(|e| ApiError::bad_request("InvalidInput", format!("certificate: {e}")))?;
        let token = TokenCheck::of(request.join_token.as_deref(), recorded_digest(&self.store).as_ref());
        let decision = join_decision(self.known_service_info()?.status, token);
        if decision == JoinDecision::Refused {
            // Checked before anything is looked up or recorded; the message names no secret.
            return Err(ApiError::new(
                403,
                JOIN_TOKEN_INVALID,
                "join: the join token is not this service's (a token is valid only for the Start or Recover that \
                 wrote it); join without a token to be recorded Pending for the members to decide",
            ));
        }
        let node_id = key.key_id();
        let raft_id = raft_id_of(&node_id);
        if self.store.get(tables::NODES_INFO, node_id.as_bytes()).is_none() {
            if self.members.rows.values().any(|r| r.raft_id == raft_id) {
                return Err(ApiError::bad_request("InvalidInput", format!("raft id {raft_id} is taken")));
            }
            if decision != JoinDecision::Trusted && self.pending_joins() >= MAX_PENDING_JOINS {
                return Err(ApiError::new(
                    429,
                    "TooManyPendingJoins",
                    format!(
                        "{MAX_PENDING_JOINS} nodes already wait Pending: members must trust (transition_node_to_trusted) \
                         or remove (remove_node) some before more are recorded; a node with the join token is not \
                         limited while the service is Opening or Recovering"
                    ),
                ));
            }
            self.admit(&node_id, &cert, &request.without_token(), decision == JoinDecision::Trusted)?;
        }
        self.join_answer(&node_id)
    }

    /// Nodes recorded `Pending`.
    fn pending_joins(&self) -> usize {
        self.store
            .iter_table(tables::NODES_INFO)
            .filter(|(_, v)| {
                serde_json::from_slice::<NodeInfo>(&v.value).is_ok_and(|i| i.status == NodeStatus::Pending)
            })
            .count()
    }

    /// Records a joining node: `Trusted` (endorsed, and a learner) when `trusted`, `Pending`
    /// otherwise (no endorsement, no keys: members decide).
    fn admit(
        &mut self,
        node_id: &str,
        cert: &Certificate,
        request: &JoinRequest,
        trusted: bool,
    ) -> Result<(), ApiError> {
        let status = if trusted { NodeStatus::Trusted } else { NodeStatus::Pending };
        let info = NodeInfo {
            status,
            public_key: None,
            rpc_address: request.rpc_addresses.first().cloned(),
            ledger_secret_seqno: 0,
            retired_committed: false,
            encryption_pub_key: Some(request.public_encryption_key.clone()),
        };
        let mut ws = WriteSet::new();
        ws.put(tables::NODES_INFO, node_id.as_bytes().to_vec(), serde_json::to_vec(&info).expect("json"));
        ws.put(JOIN_REQUESTS, node_id.as_bytes().to_vec(), serde_json::to_vec(request).expect("json"));
        if trusted {
            // Only trusted nodes get a service-endorsed certificate: peers and forwarded
            // requests are authenticated by that endorsement.
            ws = ws.merged(self.endorsement(node_id, cert)?);
            ws = ws.merged(self.consensus_row(node_id, RaftRole::Learner, &request.node_to_node_address));
        }
        self.propose_membership(ws);
        Ok(())
    }

    /// The row endorsing `cert` (its key) with the service key.
    fn endorsement(&self, node_id: &str, cert: &Certificate) -> Result<WriteSet, ApiError> {
        let service_key = self
            .identity
            .service_key
            .clone()
            .ok_or_else(|| ApiError::new(500, "InternalError", "this node does not hold the service key"))?;
        let service_cert = Certificate::from_pem(&self.identity.service_cert_pem)
            .map_err(|e| ApiError::new(500, "InternalError", e.to_string()))?;
        let req = CertificateRequest {
            common_name: cairn_ledger::NODE_COMMON_NAME.into(),
            subject_alt_names: vec!["127.0.0.1".into(), "localhost".into()],
            not_before_unix_s: (self.now_ms / 1000) as i64 - 60,
            validity_days: NODE_CERT_VALIDITY_DAYS,
            is_ca: false,
        };
        let endorsed = Certificate::endorsed(&cert.public_key_der(), &req, &service_cert, &service_key)
            .map_err(|e| ApiError::new(500, "InternalError", format!("endorsing the node: {e}")))?;
        let mut ws = WriteSet::new();
        ws.put(
            tables::ENDORSED_CERTIFICATES,
            node_id.as_bytes().to_vec(),
            tables::endorsed_certificate_value(endorsed.pem()),
        );
        Ok(ws)
    }

    fn consensus_row(&self, node_id: &str, role: RaftRole, address: &str) -> WriteSet {
        let row = ConsensusNode { raft_id: raft_id_of(node_id), role, node_to_node_address: address.to_string() };
        let mut ws = WriteSet::new();
        ws.put(CONSENSUS_NODES, node_id.as_bytes().to_vec(), serde_json::to_vec(&row).expect("json"));
        ws
    }

    fn propose_membership(&mut self, ws: WriteSet) {
        let tx = self.execute(ws, EntryFlags::default(), cairn_crypto::Sha256::ZERO);
        self.members.pending_change = tx.seqno;
    }

    /// The answer for `node_id`: its status, and the network information once its trusting
    /// transaction is committed.
    fn join_answer(&self, node_id: &str) -> Result<Response, ApiError> {
        let raw = self.store.get(tables::NODES_INFO, node_id.as_bytes()).expect("admitted above");
        let info: NodeInfo =
            serde_json::from_slice(raw).map_err(|e| ApiError::new(500, "InternalError", e.to_string()))?;
        let committed_row = self
            .store
            .get_versioned(CONSENSUS_NODES, node_id.as_bytes())
            .filter(|v| v.version <= self.commit.seqno)
            .and_then(|v| serde_json::from_slice::<ConsensusNode>(&v.value).ok());
        let network_info = match (info.status, committed_row) {
            (NodeStatus::Trusted, Some(row)) => Some(self.network_info(node_id, row.raft_id)?),
            _ => None,
        };
        let node_status = format!("{:?}", info.status);
        let answer = JoinAnswer { node_status, node_id: node_id.to_string(), network_info };
        Ok(Response::ok(serde_json::to_value(answer).expect("json")))
    }

    fn network_info(&self, node_id: &str, raft_id: u64) -> Result<NetworkInfo, ApiError> {
        let cert = self
            .store
            .get(tables::ENDORSED_CERTIFICATES, node_id.as_bytes())
            .map(tables::endorsed_certificate_pem)
            .ok_or_else(|| ApiError::new(500, "InternalError", "no endorsed certificate"))?;
        let service_key = self.identity.service_key.as_ref().expect("checked at admission").to_pem();
        Ok(NetworkInfo {
            raft_id,
            endorsed_certificate: cert,
            service_certificate: self.identity.service_cert_pem.clone(),
            service_key,
            ledger_secrets: serde_json::to_value(self.secret_chain()).expect("json"),
            peers: self.members.peers(),
            commit_seqno: self.commit.seqno,
        })
    }

    /// `transition_node_to_trusted` was applied: the node becomes a learner.
    pub(super) fn on_node_trusted(&mut self, node_id: &str) {
        let Some(raw) = self.store.get(JOIN_REQUESTS, node_id.as_bytes()) else { return };
        let Ok(request) = serde_json::from_slice::<JoinRequest>(raw) else { return };
        if self.store.get(CONSENSUS_NODES, node_id.as_bytes()).is_some() {
            return;
        }
        let Ok(cert) = Certificate::from_pem(&request.certificate) else { return };
        let Ok(endorsement) = self.endorsement(node_id, &cert) else { return };
        let ws = endorsement.merged(self.consensus_row(node_id, RaftRole::Learner, &request.node_to_node_address));
        self.propose_membership(ws);
    }

    /// The RPC address of the primary, for a backup's forwarding shell.
    pub(super) fn primary_rpc_address(&self) -> Option<String> {
        let leader = self.consensus.driver.leader_id()?;
        let node_id = self.members.node_id_of(leader)?;
        let raw = self.store.get(tables::NODES_INFO, node_id.as_bytes())?;
        serde_json::from_slice::<NodeInfo>(raw).ok()?.rpc_address
    }

    /// `remove_node` was applied: the node leaves the configuration.
    pub(super) fn on_node_retired(&mut self, node_id: &str) {
        self.members.pending_removals.push(node_id.to_string());
        self.reconfigure();
    }

    /// Proposes the next queued voter change once the previous one is committed (raft-rs
    /// applies changes at commit, one at a time: two in flight could let two disjoint
    /// majorities form).
    fn propose_next_removal(&mut self) -> bool {
        if !self.is_primary() || self.members.pending_change > self.commit.seqno {
            return false;
        }
        while let Some(node_id) = self.members.pending_removals.first().cloned() {
            self.members.pending_removals.remove(0);
            if self.store.get(CONSENSUS_NODES, node_id.as_bytes()).is_none() {
                continue;
            }
            let mut ws = WriteSet::new();
            ws.remove(CONSENSUS_NODES, node_id.as_bytes().to_vec());
            self.propose_membership(ws);
            return true;
        }
        false
    }

    /// Queued removals first, then learner promotions; one change at a time. First, the
    /// consensus table is reconciled with `nodes.info`: a governance transaction and the
    /// configuration change it asks for are separate entries, and a change of primary between
    /// them must not leave a trusted node outside the configuration or a retired one inside.
    pub(super) fn reconfigure(&mut self) {
        if !self.is_primary() {
            return;
        }
        self.reconcile_membership();
        if !self.propose_next_removal() {
            self.promote_learners();
        }
    }

    fn reconcile_membership(&mut self) {
        let mut trusted_outside = Vec::new();
        for (node_id, value) in self.store.iter_table(tables::NODES_INFO) {
            let Ok(info) = serde_json::from_slice::<NodeInfo>(&value.value) else { continue };
            let id = String::from_utf8_lossy(node_id).into_owned();
            let in_configuration = self.store.get(CONSENSUS_NODES, node_id).is_some();
            match info.status {
                NodeStatus::Retired if in_configuration && !self.members.pending_removals.contains(&id) => {
                    self.members.pending_removals.push(id)
                }
                NodeStatus::Trusted if !in_configuration && self.store.get(JOIN_REQUESTS, node_id).is_some() => {
                    trusted_outside.push(id)
                }
                _ => {}
            }
        }
        for node_id in trusted_outside {
            self.on_node_trusted(&node_id);
        }
    }

    /// A Raft-committed entry: each write to the consensus table is one configuration change.
    pub(super) fn apply_committed_membership(&mut self, entry: &Entry) {
        let Ok(view) = EntryView::parse(&entry.data) else { return };
        let Ok((_, public)) = view.decode_public() else { return };
        let Some(map) = public.maps.get(CONSENSUS_NODES) else { return };
        let mut changed = false;
        // Additions before removals: a recovered service's create transaction replaces every
        // previous node by the recovering one, and a configuration is never left without a voter.
        let (adds, removes): (Vec<_>, Vec<_>) = map.writes.iter().partition(|(_, v)| v.is_some());
        for (key, value) in adds.into_iter().chain(removes) {
            let node_id = String::from_utf8_lossy(key).into_owned();
            let change = match value {
                Some(bytes) => {
                    let Ok(row) = serde_json::from_slice::<ConsensusNode>(bytes) else { continue };
                    let kind = match row.role {
                        RaftRole::Voter => ConfChangeType::AddNode,
                        RaftRole::Learner => ConfChangeType::AddLearnerNode,
                    };
                    let id = row.raft_id;
                    self.members.rows.insert(node_id, row);
                    (kind, id)
                }
                None => match self.members.rows.remove(&node_id) {
                    Some(row) => {
                        self.members.address_book.remove(&row.raft_id);
                        (ConfChangeType::RemoveNode, row.raft_id)
                    }
                    None => continue,
                },
            };
            let mut single = ConfChangeSingle::default();
            single.set_change_type(change.0);
            single.node_id = change.1;
            let mut cc = ConfChangeV2::default();
            cc.set_changes(vec![single].into());
            // A change that is already in effect (after a restart) is refused or a no-op.
            let _ = self.consensus.driver.apply_conf_change(&cc);
            changed = true;
        }
        if changed {
            self.emit_peers();
        }
    }

    /// Hands the shell the address book when it changed: committed rows, rows of the applied
    /// (possibly uncommitted) state, and what the join answer named.
    /// Every node this node may have to talk to (its address book), for a shell that starts
    /// the node again (from a snapshot) and must not forget peers its new state does not name.
    pub fn address_book(&self) -> Vec<PeerInfo> {
        self.members.address_book.values().cloned().collect()
    }

    /// Adds `peers` to the address book (see [`NodeCore::address_book`]).
    pub fn learn_peers(&mut self, peers: Vec<PeerInfo>) {
        self.members.learn(peers);
        self.emit_peers();
    }

    pub(super) fn emit_peers(&mut self) {
        let committed = self.members.peers();
        let applied: Vec<PeerInfo> = rows_of(&self.store)
            .into_iter()
            .map(|(node_id, row)| PeerInfo {
                raft_id: row.raft_id,
                node_id,
                node_to_node_address: row.node_to_node_address,
            })
            .collect();
        self.members.learn(committed.into_iter().chain(applied));
        let me = self.consensus.driver.id();
        let peers: Vec<PeerInfo> = self.members.address_book.values().filter(|p| p.raft_id != me).cloned().collect();
        if peers != self.members.emitted {
            self.members.emitted = peers.clone();
            self.out.push(Action::SetPeers { peers });
        }
    }

    /// The commit moved: a joined node becomes `PartOfNetwork` once it reaches the commit its
    /// answer named.
    pub(super) fn on_commit_advanced(&mut self) {
        if self.state == NodeState::Pending
            && self.members.joining.is_none()
            && self.members.join_commit.is_some_and(|c| self.commit.seqno >= c)
        {
            self.state = NodeState::PartOfNetwork;
        }
    }

    /// The primary promotes one learner at a time once it holds every committed entry.
    fn promote_learners(&mut self) {
        if !self.is_primary() || self.members.pending_change > self.commit.seqno {
            return;
        }
        let commit = self.commit.seqno;
        let prs = self.consensus.driver.raw().raft.prs();
        let ready = self.members.rows.iter().find(|(_, row)| {
            row.role == RaftRole::Learner && prs.get(row.raft_id).is_some_and(|p| p.matched >= commit && commit > 0)
        });
        let Some((node_id, row)) = ready.map(|(id, row)| (id.clone(), row.clone())) else { return };
        let ws = self.consensus_row(&node_id, RaftRole::Voter, &row.node_to_node_address);
        self.propose_membership(ws);
    }

    /// Writes and governance need the primary (the shell forwards them; CCF does the same).
    pub(super) fn require_primary(&self) -> Result<(), ApiError> {
        if self.is_primary() {
            return Ok(());
        }
        let primary = self.consensus.driver.leader_id().and_then(|id| self.members.node_id_of(id));
        Err(ApiError::unavailable(
            "NotPrimary",
            match primary {
                Some(id) => format!("this node is not the primary; the primary is {id}"),
                None => "this node is not the primary and knows of none".to_string(),
            },
        ))
    }
}
