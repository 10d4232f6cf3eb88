//! [`NodeCore`]: one node's deterministic state machine. It owns the key-value store, the
//! history (the producer of ledger entries), the node's Raft state machine (raft-rs, whose log
//! *is* the ledger: index = seqno, term = view), the signature policy, commit tracking,
//! snapshot scheduling and the request handlers; it performs no I/O.
//!
//! Design: `docs/internals/replication.md`. The parts:
//! - `raft_loop`: the Ready loop (send, persist the hard state, append, sync, commit);
//! - `apply`: a backup's signature-gated apply, checkpoints and rollback;
//! - `membership`: join, the consensus table as Raft configuration, learner promotion;
//! - `gov_api`: the governance endpoints.
//!
//! Invariants (checked by `check_invariants`):
//! - `commit.seqno <= durable_seqno`-or-Raft-committed, and `commit` is a signature
//!   transaction (or 0 before the first one): a transaction is committed only once a signature
//!   covering it is committed by Raft (durable on a majority).
//! - `store.version() == last.seqno`, the Merkle tree covers exactly seqnos `0..=last.seqno`,
//!   and `facts.write_set_digests` has one entry per seqno; entries after `last` and up to the
//!   last appended index wait in the apply queue.
//! - The first entry a primary appends in a view is a signature (or the genesis transaction).
//!
//! A signature due by count or delay is appended between events (after a request is handled,
//! or on a tick), never in the middle of one: a rekey must switch the secret before the next
//! entry, and a snapshot's evidence transaction must not itself trigger the next signature
//! (which could take the next snapshot, and so on).
use crate::replay::{Replayer, TxFacts};
use crate::{
    Action, ApiError, Caller, CoreConfig, Event, FillRandom, LogTable, NodeIdentity, NodeState, Request, Response,
    SignaturePolicy, TxStatus, ViewHistory, app_log,
};
use cairn_crypto::{Sha256, sha256};
use cairn_kv::{Store, WriteSet};
use cairn_ledger::format::{EncodedEntry, EntryFlags, TxId};
use cairn_ledger::genesis::GenesisRecord;
use cairn_ledger::receipt::Receipt;
use cairn_ledger::snapshot::SnapshotName;
use cairn_ledger::tables::{self, ServiceInfo, ServiceStatus};
use cairn_ledger::{History, LedgerSecret, LedgerSecrets, SignatureRecord};
use serde_json::json;
use std::sync::Arc;

mod apply;
mod certificates;
mod gov_api;
mod membership;
mod raft_loop;
mod recovery;

pub use membership::{JOIN_REQUESTS, JOIN_TOKEN_INVALID, JoinParams, MAX_PENDING_JOINS};
pub use raft_loop::{PeerProgress, RaftStateFile, RaftStatus};
pub use recovery::RecoverParams;

/// Header carrying the transaction id of a write, as CCF names it.
pub const TX_ID_HEADER: &str = "x-ms-ccf-transaction-id";

/// On a `503 NotPrimary` answer: the primary's RPC address, where the shell forwards the
/// request.
pub const PRIMARY_RPC_HEADER: &str = "x-cairn-primary-rpc";

/// What a node needs to create a new service (`command.type = Start`).
pub struct StartParams {
    pub identity: NodeIdentity,
    pub config: CoreConfig,
    pub members: Vec<cairn_gov::InitialMember>,
    pub recovery_threshold: u64,
    pub ledger_secret: [u8; 32],
    /// SHA-256 of the join token this start wrote (`command.join_token_file`): the create
    /// transaction records it, and only it (`membership/join_token.rs`).
    pub join_token_digest: Sha256,
    pub now_ms: u64,
    pub fill_random: FillRandom,
}

/// What a node needs to resume after a restart (same service, same node; not a disaster
/// recovery): the state replayed from its ledger (and snapshot) and its Raft hard state.
pub struct ResumeParams {
    /// Every entry of the local ledger, replayed; the unsigned tail is kept (it stays in the
    /// Raft log: a later primary signs over it or truncates it).
    pub replayed: Replayer,
    pub identity: NodeIdentity,
    pub config: CoreConfig,
    pub secrets: LedgerSecrets,
    /// Bytes of the ledger's open chunk (for the chunk size rule).
    pub open_chunk_bytes: u64,
    /// `node_data/raft_state.json`, if present (absent: a node that never voted).
    pub raft_state_json: Option<Vec<u8>>,
    pub now_ms: u64,
    pub fill_random: FillRandom,
}

/// A snapshot written but not yet committed: committed once a signature after its evidence is.
#[derive(Debug, Clone)]
struct PendingSnapshot {
    name: SnapshotName,
    evidence_seqno: u64,
}

pub struct NodeCore {
    config: CoreConfig,
    identity: NodeIdentity,
    store: Store,
    history: History,
    /// Ledger secrets with the first seqno each encrypts, ascending.
    secrets: LedgerSecrets,
    views: ViewHistory,
    facts: TxFacts,
    /// The view this node writes in when primary (its Raft term when it became leader).
    view: u64,
    durable_seqno: u64,
    commit: TxId,
    startup_seqno: u64,
    policy: SignaturePolicy,
    open_chunk_bytes: u64,
    now_ms: u64,
    state: NodeState,
    last_snapshot_seqno: u64,
    snapshot_requested: bool,
    pending_snapshots: Vec<PendingSnapshot>,
    /// The private restore handed to the shell (a recovered service's primary, step 3).
    private_restore: Option<recovery::PrivateRestoreRun>,
    /// Runs of it started so far (each result names its run).
    restore_runs: u64,
    /// Why the private state could not be restored (shown in `GET /node/state`).
    restore_failure: Option<String>,
    /// The snapshot being encoded off the core thread (its seqno and Merkle leaf): at most one.
    snapshot_encoding: Option<(u64, Sha256)>,
    /// The last snapshot the shell could not write or commit, and why (until a later one is
    /// committed): shown in `GET /node/state`.
    snapshot_failure: Option<(SnapshotName, String)>,
    fill_random: FillRandom,
    out: Vec<Action>,
    consensus: raft_loop::Consensus,
    replica: apply::Replica,
    members: membership::Membership,
    /// A Raft snapshot arrived: the shell starts the node again from it; this core is done.
    installing: Option<SnapshotName>,
    /// Where this node restored a recovered service's private state (`recovery.rs`).
    restored: Option<recovery::Restored>,
    /// The previous service's committed snapshot a recovery's public read started from, kept
    /// (encrypted) until the shares restore the secret that opens its private domain.
    recovery_snapshot: Option<crate::RecoverySnapshot>,
    /// Why the last certificate renewal could not be issued (shown in `GET /node/state`).
    renewal_failure: Option<String>,
    /// The node certificate (PEM) the shell serves (`certificates.rs`); the service certificate
    /// it serves is `identity.service_cert_pem`. The signer keeps the certificate the node
    /// started with (same key).
    served_node_cert_pem: String,
    /// The seqno this node's log starts after (a snapshot's; 0 for a whole ledger): a
    /// recovery's private replay reads the previous service's entries from the next one, over
    /// `recovery_snapshot`'s private domain.
    log_base: u64,
    /// A deliberate bug (simulator only, `inject_skip_private_replay_tail`): the private replay
    /// of a recovery skips this many of the previous service's last entries. Always 0 otherwise.
    skip_private_replay_tail: u64,
}

/// Bytes of a chunk file's header (the positions-table offset).
const CHUNK_HEADER_BYTES: u64 = 8;

impl NodeCore {
    /// Creates a new service: this node is the only voter; it elects itself (view 2), writes
    /// the genesis ("create") transaction as the view's opening entry, then a signature.
    pub fn start(p: StartParams) -> Result<NodeCore, ApiError> {
        let secrets = LedgerSecrets::single(LedgerSecret::new(p.ledger_secret));
        let empty = Replayer::new(secrets.clone());
        let mut fill_random = p.fill_random;
        let consensus = raft_loop::Consensus::start(&p.config, p.identity.raft_id(), &mut fill_random, p.now_ms);
        let mut core =
            NodeCore::assemble(empty, p.identity, p.config, secrets, 0, p.now_ms, fill_random, consensus, Vec::new());
        core.persist_secrets();
        let opening = core.consensus.campaign_alone().expect("a lone voter elects itself");
        core.view = opening.term;
        let genesis = GenesisRecord {
            service_cert_pem: &core.identity.service_cert_pem,
            node_id: &core.identity.signer.node_id,
            node_cert_pem: &core.identity.signer.cert_pem,
            node_public_key_pem: None,
            node_encryption_pub_key: core.identity.encryption_pub_key_pem(),
            rpc_address: core.identity.rpc_addresses.first().cloned(),
            recovery_count: 0,
            status: ServiceStatus::Opening,
            create_txid: TxId::new(core.view, opening.index).to_string(),
        };
        let mut tx = core.store.begin();
        cairn_gov::initial_governance(&mut tx, &p.members, p.recovery_threshold)
            .map_err(|e| ApiError::bad_request("InvalidConfiguration", e.to_string()))?;
        let mut service_config = cairn_gov::ServiceConfig::read_required(&mut tx).expect("just written");
        let (service_days, node_days) = core.config.maximum_certificate_validity_days;
        for (kind, days) in
            [(cairn_gov::CertificateKind::Service, service_days), (cairn_gov::CertificateKind::Node, node_days)]
        {
            service_config.other.insert(kind.maximum_field().into(), days.into());
        }
        service_config.write(&mut tx);
        let me = core.members.own_row(&core.identity, crate::RaftRole::Voter);
        let token = crate::membership::digest_write_set(&p.join_token_digest);
        let ws = genesis.write_set().merged(tx.into_parts().1).merged(me).merged(token);
        core.execute(ws, EntryFlags(EntryFlags::FORCE_LEDGER_CHUNK_BEFORE), Sha256::ZERO);
        core.sign();
        core.drive();
        core.check_invariants();
        Ok(core)
    }

    /// Resumes after a restart from the state rebuilt from the ledger (and snapshot) and the
    /// persisted Raft hard state. Nothing is dropped: entries after the last signature stay in
    /// the log, queued. A node that is the only voter elects itself at once and signs over them
    /// in a new view; otherwise it waits for a primary (or an election timeout).
    pub fn resume(p: ResumeParams) -> NodeCore {
        let mut fill_random = p.fill_random;
        let raft_state = p.raft_state_json.as_deref().map(raft_loop::RaftStateFile::parse).transpose();
        let raft_state = raft_state.unwrap_or_else(|e| panic!("node_data/raft_state.json: {e}"));
        let mut replayed = p.replayed;
        let (log, tail) = replayed.take_log();
        // Lower bounds of what was committed: the persisted commit, the commit every replayed
        // signature records (its signer had seen it committed), and the snapshot's seqno (only
        // committed snapshots are used).
        let mut known_commit =
            raft_state.as_ref().map_or(0, |s| s.commit).max(replayed.recorded_commit).max(replayed.store_seqno);
        let members = membership::Membership::from_store(&replayed.store);
        let base_offer = replayed.log_base_snapshot.map(|name| (name, replayed.log_base));
        let (log_base, recovery_snapshot) = (replayed.log_base.seqno, replayed.recovery_snapshot.take());
        let me = p.identity.raft_id();
        if members.conf_state().voters == [me] {
            // The only voter: what is durable on its disk is durable on a majority.
            known_commit = replayed.last.seqno;
        }
        let consensus = raft_loop::Consensus::resume(
            &p.config,
            p.identity.raft_id(),
            &mut fill_random,
            p.now_ms,
            (replayed.log_base.seqno, replayed.log_base.view),
            log.into_iter().chain(tail.iter().cloned()),
            raft_state,
            known_commit,
            members.conf_state(),
        );
        // A replay that applied the transaction opening a recovered service restored the
        // previous service's secrets the node had not persisted yet.
        let restored_in_replay = replayed.secrets().len() > p.secrets.len();
        let secrets = if restored_in_replay { replayed.secrets().clone() } else { p.secrets };
        let mut core = NodeCore::assemble(
            replayed,
            p.identity,
            p.config,
            secrets,
            p.open_chunk_bytes,
            p.now_ms,
            fill_random,
            consensus,
            tail.iter().map(|b| b.to_vec()).collect(),
        );
        if let Some((name, at)) = base_offer {
            core.offer_snapshot(name, at);
        }
        core.log_base = log_base;
        if core.private_state_pending() {
            core.recovery_snapshot = recovery_snapshot;
        }
        core.commit = TxId::default();
        core.advance_commit(known_commit.min(core.history.last().seqno));
        core.out.clear();
        if restored_in_replay {
            core.persist_secrets();
        }
        core.emit_peers();
        core.consensus_resumed();
        core.drive();
        core.check_invariants();
        core
    }

    /// A core holding the `replayed` state (empty for a new service); `tail`: entries after it
    /// already in the Raft log, waiting for a signature.
    #[allow(clippy::too_many_arguments)]
    fn assemble(
        replayed: Replayer,
        identity: NodeIdentity,
        config: CoreConfig,
        secrets: LedgerSecrets,
        open_chunk_bytes: u64,
        now_ms: u64,
        fill_random: FillRandom,
        consensus: raft_loop::Consensus,
        tail: Vec<Vec<u8>>,
    ) -> NodeCore {
        replayed.check_invariants();
        let last = replayed.last;
        let latest = secrets.latest().expect("a node has a ledger secret").clone();
        let history = History::resume(latest, identity.signer.clone(), last, replayed.tree);
        assert_eq!(replayed.store.version(), last.seqno, "store must be at the last replayed seqno");
        let replica = apply::Replica::new(last.seqno, replayed.store.clone(), tail, replayed.checkpoints);
        let members = membership::Membership::from_store(&replayed.store);
        let served_node_cert_pem = identity.signer.cert_pem.clone();
        NodeCore {
            policy: SignaturePolicy::new(config.signature_tx_count, config.signature_delay_ms),
            // The last snapshot this ledger records (its evidence, or the snapshot the state
            // started from), not the restart's seqno: a node that restarts more often than
            // every `snapshot_tx_count` transactions still snapshots.
            last_snapshot_seqno: replayed
                .facts
                .claims
                .keys()
                .next_back()
                .copied()
                .unwrap_or(0)
                .max(replayed.store_seqno),
            config,
            identity,
            store: replayed.store,
            history,
            secrets,
            views: replayed.views,
            facts: replayed.facts,
            view: last.view,
            durable_seqno: last.seqno,
            commit: last,
            startup_seqno: last.seqno,
            open_chunk_bytes,
            now_ms,
            state: NodeState::PartOfNetwork,
            snapshot_requested: false,
            pending_snapshots: Vec::new(),
            snapshot_encoding: None,
            private_restore: None,
            restore_runs: 0,
            restore_failure: None,
            snapshot_failure: None,
            fill_random,
            out: Vec::new(),
            consensus,
            replica,
            members,
            installing: None,
            restored: None,
            recovery_snapshot: None,
            renewal_failure: None,
            served_node_cert_pem,
            log_base: 0,
            skip_private_replay_tail: 0,
        }
    }

    /// Actions produced since the last call, in order.
    pub fn take_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.out)
    }

    pub fn handle(&mut self, event: Event) {
        if let Some(name) = self.installing {
            // Waiting for the shell to start the node again from the snapshot.
            if let Event::Request { id, .. } = event {
                let e =
                    ApiError::unavailable("InstallingSnapshot", format!("this node is starting from snapshot {name}"));
                self.out.push(Action::Reply { id, response: Response::from(e) });
            }
            return;
        }
        match event {
            Event::Tick { now_ms } => {
                self.now_ms = self.now_ms.max(now_ms);
                self.on_tick();
                self.sign_if_due();
            }
            Event::Durable { seqno } => self.on_durable(seqno),
            Event::Request { id, caller, request } => {
                let checked = self.check_forwarder(&caller).and_then(|()| self.on_request(&caller, request));
                let response = match checked {
                    Ok(r) => r,
                    Err(e) if e.code == "NotPrimary" => match self.primary_rpc_address() {
                        Some(address) => Response::from(e).with_header(PRIMARY_RPC_HEADER, address),
                        None => Response::from(e),
                    },
                    Err(e) => Response::from(e),
                };
                self.sign_if_due();
                self.drive();
                self.out.push(Action::Reply { id, response });
            }
            Event::PeerFrame { from, frame } => self.on_peer_frame(from, &frame),
            Event::PeerUnreachable { to } => self.consensus.report_unreachable(to),
            Event::JoinResponse { status, body } => self.on_join_response(status, &body),
            Event::SnapshotEncoded(encoded) => self.on_snapshot_encoded(encoded),
            Event::PrivateStateRestored(done) => self.on_private_state_restored(done),
            Event::SnapshotFailed { name, reason } => {
                // Its evidence stays in the ledger (harmless: no file claims it); the next
                // snapshot is due `snapshot_tx_count` transactions later, as after a success.
                self.pending_snapshots.retain(|p| p.name != name);
                self.snapshot_failure = Some((name, reason));
            }
        }
        self.drive();
        self.maybe_start_private_restore();
        // O(1) but for the view history (a handful of views): on in release builds too, as
        // TigerBeetle keeps its cheap assertions on (issue 11, finding 7).
        if self.installing.is_none() {
            self.check_invariants();
        }
    }

    fn sign_if_due(&mut self) {
        if self.is_primary() && self.policy.due(self.now_ms) {
            self.sign();
        }
    }

    /// Signs every unsigned transaction now (a graceful stop: what was acknowledged becomes
    /// committed once the shell performs the resulting `Sync`).
    pub fn sign_pending(&mut self) {
        if self.is_primary() && self.policy.unsigned() > 0 {
            self.sign();
            self.drive();
        }
    }

    /// When the shell should tick next: a signature waiting on the delay, or the next Raft tick
    /// when other nodes are in the configuration, or a join retry.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        let signature = self.policy.deadline_ms().filter(|_| self.is_primary());
        let raft = self.consensus.next_tick_ms();
        let join = self.members.next_join_attempt_ms();
        [signature, raft, join].into_iter().flatten().min()
    }

    pub fn last(&self) -> TxId {
        self.history.last()
    }

    /// The CCF commit: the last signature transaction Raft committed.
    pub fn commit(&self) -> TxId {
        self.commit
    }

    /// The view this node wrote in last as primary, or replicated in last.
    pub fn view(&self) -> u64 {
        self.view
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn secrets(&self) -> &LedgerSecrets {
        &self.secrets
    }

    pub fn node_id(&self) -> &str {
        self.identity.node_id()
    }

    pub fn node_state(&self) -> NodeState {
        self.reported_state()
    }

    /// The highest seqno known durable on this node's disk.
    pub fn durable_seqno(&self) -> u64 {
        self.durable_seqno
    }

    /// The Merkle root over seqnos `0..=seqno` (applied seqnos only).
    pub fn merkle_root_at(&self, seqno: u64) -> Option<Sha256> {
        (seqno <= self.history.last().seqno).then(|| self.history.tree().root_at(seqno + 1)).flatten()
    }

    /// The Raft view of this node, for operators and checkers.
    pub fn raft_status(&self) -> RaftStatus {
        self.consensus.status()
    }

    /// Serialised ledger-secret chain (`cairn_gov::LedgerSecretChain` JSON), as the shell
    /// persists it in `node_data/ledger_secrets.json`.
    pub fn secrets_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(&self.secret_chain()).expect("json")
    }

    /// Parses what [`NodeCore::secrets_json`] wrote (the chain's invariants are checked).
    pub fn parse_secrets_json(bytes: &[u8]) -> Result<LedgerSecrets, String> {
        let chain: cairn_gov::LedgerSecretChain = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        LedgerSecrets::from_entries(chain.iter().map(|s| (s.valid_from_seqno, LedgerSecret::new(s.secret))))
    }

    fn persist_secrets(&mut self) {
        let json = self.secrets_json();
        self.out.push(Action::PersistLedgerSecrets { json });
    }

    fn is_primary(&self) -> bool {
        self.consensus.is_leader() && self.consensus.pending_opening().is_none()
    }

    // ----- writing (primary) -----

    /// Appends one transaction with write set `ws` and proposes it; returns its id. Never signs:
    /// a signature it makes due is appended once the event is handled (see the module
    /// documentation). The caller has checked this node is primary.
    fn execute(&mut self, ws: WriteSet, flags: EntryFlags, claims: Sha256) -> TxId {
        let seqno = self.history.last().seqno + 1;
        self.store.apply(&ws, seqno).expect("the core's own writes apply in order");
        self.append_executed(ws, flags, claims)
    }

    /// As [`NodeCore::execute`], with `restored` (state no entry writes: a recovered service's
    /// private state) applied under `ws` in the store; the ledger records `ws` only.
    fn execute_over(&mut self, restored: WriteSet, ws: WriteSet) -> TxId {
        let seqno = self.history.last().seqno + 1;
        let store_ws = crate::private_recovery::overlay(restored, &ws);
        self.store.apply_owned(store_ws, seqno).expect("the core's own writes apply in order");
        self.append_executed(ws, EntryFlags::default(), Sha256::ZERO)
    }

    fn append_executed(&mut self, ws: WriteSet, flags: EntryFlags, claims: Sha256) -> TxId {
        let seqno = self.history.last().seqno + 1;
        let entry = self.history.append_tx_with_claims(self.view, &ws, flags, claims);
        if claims != Sha256::ZERO {
            self.facts.claims.insert(seqno, claims);
        }
        self.policy.record_tx(self.now_ms);
        let tx = entry.tx_id;
        self.record_own_entry(entry);
        tx
    }

    /// Bookkeeping for an entry this primary wrote, then hands it to Raft (the view's opening
    /// entry, or a proposal). It reaches the ledger as an `Append` from the Ready loop.
    fn record_own_entry(&mut self, entry: EncodedEntry) {
        self.count_chunk_bytes(entry.flags, entry.bytes.len() as u64);
        self.facts.push_digest(entry.digest());
        self.views.record(entry.tx_id.view, entry.tx_id.seqno);
        let index = self.consensus.append_own(entry.bytes);
        assert_eq!(index, entry.tx_id.seqno, "Raft index and seqno must agree");
    }

    /// Appends a signature over everything so far.
    fn sign(&mut self) {
        let chunk_after = self.open_chunk_bytes >= self.config.chunk_size_bytes;
        let (entry, record, ws) = self.history.append_signature_record(self.view, self.commit, chunk_after);
        let seqno = entry.tx_id.seqno;
        self.store.apply(&ws, seqno).expect("signature applies in order");
        self.facts.signatures.insert(seqno, SignatureRecord { cert: String::new(), ..record });
        self.record_own_entry(entry);
        self.replica.checkpoint(seqno, &self.store);
        self.policy.record_signature();
        let due = seqno - self.last_snapshot_seqno >= self.config.snapshot_tx_count;
        // No snapshot while a recovered service's private state is not restored (SPEC §7.4).
        if (due || self.snapshot_requested) && !self.private_state_pending() && self.snapshot_encoding.is_none() {
            self.snapshot_requested = false;
            self.take_snapshot(seqno);
        }
    }

    /// Asks the shell to encode a snapshot of the store at `seqno` (this signature): the
    /// evidence transaction follows when it is encoded ([`NodeCore::on_snapshot_encoded`]).
    fn take_snapshot(&mut self, seqno: u64) {
        let tx = TxId::new(self.views.view_of(seqno).expect("known seqno"), seqno);
        let secret = self.secrets.latest().expect("a node has a ledger secret").clone();
        let leaf = self.history.tree().leaf(seqno).expect("the snapshot seqno is in the tree");
        let views = cairn_ledger::snapshot::view_history_from_starts(self.views.starts());
        self.last_snapshot_seqno = seqno;
        self.snapshot_encoding = Some((seqno, leaf));
        let job = crate::SnapshotJob::new(self.store.snapshot_view(), tx, secret, leaf, views);
        self.out.push(Action::EncodeSnapshot(job));
    }

    /// The snapshot asked for is encoded: record its evidence and write it, if this node is
    /// still the primary of the ledger it was taken from (a snapshot whose seqno a new primary
    /// rolled back, or one this node can no longer write evidence for, is dropped; the next is
    /// due `snapshot_tx_count` transactions after it).
    fn on_snapshot_encoded(&mut self, encoded: crate::EncodedSnapshot) {
        if self.snapshot_encoding != Some((encoded.seqno, encoded.leaf)) {
            return;
        }
        self.snapshot_encoding = None;
        let seqno = encoded.seqno;
        if !self.is_primary() || self.history.tree().leaf(seqno) != Some(encoded.leaf) {
            return;
        }
        let evidence = cairn_ledger::snapshot::snapshot_evidence_write_set(&encoded.digest, seqno);
        let e = self.execute(evidence, EntryFlags::default(), encoded.digest);
        let name = SnapshotName::new(seqno, e.seqno);
        self.pending_snapshots.push(PendingSnapshot { name, evidence_seqno: e.seqno });
        self.out.push(Action::WriteSnapshot { name, bytes: encoded.bytes });
    }

    /// Raft committed up to `raft_commit`: the CCF commit moves to the last signature at or
    /// below it (design §4.1), and snapshots whose evidence is below that commit are committed.
    fn advance_commit(&mut self, raft_commit: u64) {
        let Some((&sig, _)) = self.facts.signatures.range(..=raft_commit).next_back() else { return };
        if sig <= self.commit.seqno {
            return;
        }
        self.commit = TxId::new(self.views.view_of(sig).expect("known seqno"), sig);
        self.out.push(Action::CommitLedger { seqno: sig });
        self.replica.forget_checkpoints_below(sig);
        let ready: Vec<PendingSnapshot> =
            self.pending_snapshots.iter().filter(|p| p.evidence_seqno < sig).cloned().collect();
        self.pending_snapshots.retain(|p| p.evidence_seqno >= sig);
        for p in ready {
            if self.snapshot_failure.as_ref().is_some_and(|(failed, _)| failed.seqno < p.name.seqno) {
                self.snapshot_failure = None;
            }
            let tx = TxId::new(self.views.view_of(p.evidence_seqno).expect("known"), p.evidence_seqno);
            let receipt = self.receipt_for(tx).expect("a committed evidence tx has a receipt");
            let bytes = serde_json::to_vec(&receipt).expect("json");
            self.out.push(Action::CommitSnapshot { name: p.name, receipt: bytes });
            let at = TxId::new(self.views.view_of(p.name.seqno).expect("known"), p.name.seqno);
            self.offer_snapshot(p.name.committed(), at);
        }
        self.on_commit_advanced();
        self.serve_renewed_certificates();
    }

    // ----- requests -----

    fn on_request(&mut self, caller: &Caller, request: Request) -> Result<Response, ApiError> {
        match request {
            Request::LogWrite { table, id, msg } => self.log_write(caller, table, id, msg),
            Request::LogRead { table, id } => self.log_read(caller, table, id),
            Request::UserCheck => self.require_user(caller).map(|()| Response::ok(json!({}))),
            Request::NodeState => Ok(self.node_state_response()),
            Request::Network => self.network(),
            Request::NetworkNodes => Ok(self.network_nodes()),
            // CCF's semantics: 200 on the primary; a backup redirects (308) to the primary it
            // knows; 503 when no primary is known.
            Request::Primary => match self.primary_node_id() {
                Some(id) if self.is_primary() => Ok(Response::ok(json!({ "node_id": id }))),
                Some(id) => {
                    let mut r = Response::ok(json!({ "node_id": id }));
                    r.status = 308;
                    if let Some(address) = self.primary_rpc_address() {
                        r = r.with_header("location", format!("https://{address}/node/primary"));
                    }
                    Ok(r)
                }
                None => Err(ApiError::unavailable("NoPrimary", "no primary is known")),
            },
            Request::Commit => Ok(Response::ok(json!({ "transaction_id": self.commit.to_string() }))),
            Request::TxStatus { tx } => self.tx_status(&tx),
            Request::Receipt { tx } => {
                let tx = parse_tx_id(&tx)?;
                Ok(Response::ok(serde_json::to_value(self.receipt_for(tx)?).expect("json")))
            }
            Request::ServiceInfo => self.gov_service_info(),
            Request::PreviousIdentity => self.previous_identity(),
            Request::Propose { body } => self.gov_propose(&body),
            Request::Ballot { proposal_id, member_id, body } => self.gov_ballot(&proposal_id, &member_id, &body),
            Request::Withdraw { proposal_id, body } => self.gov_withdraw(&proposal_id, &body),
            Request::Proposal { proposal_id } => self.gov_proposal(&proposal_id),
            Request::Proposals => self.gov_proposals(),
            Request::EncryptedShare { member_id } => self.gov_encrypted_share(caller, &member_id),
            Request::SubmitShare { member_id, body } => self.gov_submit_share(&member_id, &body),
            Request::Join { body } => self.on_join_request(caller, &body),
            Request::Consensus => Ok(Response::ok(serde_json::to_value(self.raft_status()).expect("json"))),
        }
    }

    fn service_info(&self) -> ServiceInfo {
        let raw =
            self.store.get(tables::SERVICE_INFO, &tables::SINGLETON_KEY).expect("service info written at genesis");
        serde_json::from_slice(raw).expect("service info is valid JSON")
    }

    /// The service's record for a request: a node that has just joined has not received the
    /// genesis transaction yet, and says so (503) instead of guessing.
    fn known_service_info(&self) -> Result<ServiceInfo, ApiError> {
        self.store
            .get(tables::SERVICE_INFO, &tables::SINGLETON_KEY)
            .and_then(|raw| serde_json::from_slice(raw).ok())
            .ok_or_else(|| {
                ApiError::unavailable(
                    "ServiceNotKnownYet",
                    "this node has not received the service's state yet: ask again shortly, or ask the primary",
                )
            })
    }

    /// The caller must present a registered user certificate, and the service must be open.
    fn require_user(&self, caller: &Caller) -> Result<(), ApiError> {
        let Some(id) = &caller.cert_id else {
            return Err(ApiError::unauthenticated("no TLS client certificate: user endpoints need a user certificate"));
        };
        if self.store.get(tables::USERS_CERTS, id.as_bytes()).is_none() {
            return Err(ApiError::unauthenticated(format!("client certificate {id} is not a registered user")));
        }
        if self.known_service_info()?.status != ServiceStatus::Open {
            return Err(ApiError::unavailable("FrontendNotOpen", "the service is not open yet"));
        }
        Ok(())
    }

    fn log_write(&mut self, caller: &Caller, table: LogTable, id: u64, msg: String) -> Result<Response, ApiError> {
        self.require_user(caller)?;
        self.require_primary()?;
        if msg.len() > app_log::MAX_MSG_BYTES {
            return Err(ApiError::bad_request(
                "InvalidInput",
                format!("msg: {} bytes exceeds {}", msg.len(), app_log::MAX_MSG_BYTES),
            ));
        }
        let mut ws = WriteSet::new();
        ws.put(table.table_name(), LogTable::key(id).to_vec(), msg.into_bytes());
        let tx = self.execute(ws, EntryFlags::default(), Sha256::ZERO);
        Ok(Response::ok(json!({})).with_header(TX_ID_HEADER, tx.to_string()))
    }

    fn log_read(&mut self, caller: &Caller, table: LogTable, id: u64) -> Result<Response, ApiError> {
        self.require_user(caller)?;
        match self.committed_store().get(table.table_name(), &LogTable::key(id)) {
            Some(v) => Ok(Response::ok(json!({ "msg": String::from_utf8_lossy(v) }))),
            None => Err(ApiError::not_found("ResourceNotFound", format!("no record with id {id}"))),
        }
    }

    /// The state as of the CCF commit: reads on every node (primary or backup) see committed
    /// transactions only, never ones a new primary may still roll back. Right after a restart,
    /// before a state at the commit is kept again, the current state is used.
    fn committed_store(&self) -> &Store {
        self.replica.store_at(self.commit.seqno).unwrap_or(&self.store)
    }

    /// A forwarded request is served only if the backup that forwarded it presented the
    /// certificate of a node that is trusted and in the configuration now (an endorsed
    /// certificate of a retired node no longer speaks for users).
    fn check_forwarder(&self, caller: &Caller) -> Result<(), ApiError> {
        let Some(forwarder) = &caller.forwarded_by else { return Ok(()) };
        let trusted = self.store.iter_table(tables::ENDORSED_CERTIFICATES).any(|(node_id, value)| {
            let pem = tables::endorsed_certificate_pem(&value.value);
            let matches =
                cairn_crypto::Certificate::from_pem(&pem).is_ok_and(|c| sha256(c.der()).to_hex() == *forwarder);
            let info = self
                .store
                .get(tables::NODES_INFO, node_id)
                .and_then(|v| serde_json::from_slice::<tables::NodeInfo>(v).ok());
            matches
                && info.is_some_and(|i| i.status == tables::NodeStatus::Trusted)
                && self.store.get(crate::CONSENSUS_NODES, node_id).is_some()
        });
        if trusted {
            Ok(())
        } else {
            Err(ApiError::forbidden("forwarded by a certificate that is not a trusted node of this service"))
        }
    }

    /// The primary's node id, if this node knows it.
    fn primary_node_id(&self) -> Option<String> {
        if self.is_primary() {
            return Some(self.identity.node_id().to_string());
        }
        let leader = self.consensus.driver.leader_id()?;
        self.members.node_id_of(leader).map(str::to_string)
    }

    fn last_signed_seqno(&self) -> u64 {
        self.facts.signatures.keys().next_back().copied().unwrap_or(0)
    }

    fn node_state_response(&self) -> Response {
        let mut body = json!({
            "node_id": self.identity.node_id(),
            "state": self.reported_state(),
            "last_signed_seqno": self.last_signed_seqno(),
            "startup_seqno": self.startup_seqno,
        });
        if let Some((name, reason)) = &self.snapshot_failure {
            body["snapshot_failure"] = json!({"snapshot": name.to_string(), "error": reason});
        }
        if let Some(progress) = self.private_restore_progress() {
            body["last_recovered_seqno"] = progress["seqno"].clone();
            body["recovery_target_seqno"] = progress["target_seqno"].clone();
            body["recovery_progress"] = progress;
        }
        if let Some(reason) = &self.restore_failure {
            body["recovery_failure"] = json!(reason);
        }
        if let Some(reason) = &self.renewal_failure {
            body["certificate_renewal_failure"] = json!(reason);
        }
        Response::ok(body)
    }

    /// `GET /node/network`: the current state, as CCF reports it, but for one case. A recovered
    /// service's private records arrive with the transaction that opens it, and users read
    /// committed state: it is reported `Open` once that transaction is committed, so a record
    /// read right after never misses.
    fn network(&self) -> Result<Response, ApiError> {
        let mut info = self.known_service_info()?;
        if info.status == ServiceStatus::Open && self.restored.as_ref().is_some_and(|r| r.seqno > self.commit.seqno) {
            info.status = ServiceStatus::WaitingForRecoveryShares;
        }
        Ok(Response::ok(json!({
            "service_status": info.status,
            "service_certificate_valid_to": certificates::valid_to(&info.cert),
            "service_certificate": info.cert,
            "current_view": self.consensus.term(),
            "primary_id": self.primary_node_id(),
            "recovery_count": info.recovery_count,
            "current_service_create_txid": info.create_txid,
        })))
    }

    fn network_nodes(&self) -> Response {
        let nodes: Vec<_> = self
            .store
            .iter_table(tables::NODES_INFO)
            .map(|(id, v)| {
                let id = String::from_utf8_lossy(id).into_owned();
                let info: serde_json::Value = serde_json::from_slice(&v.value).unwrap_or(json!({}));
                let primary = Some(id.as_str()) == self.primary_node_id().as_deref();
                let addresses = match info.get("rpc_address") {
                    Some(serde_json::Value::String(a)) => json!([a]),
                    _ if id == self.identity.node_id() => json!(self.identity.rpc_addresses),
                    _ => json!([]),
                };
                let valid_to = self
                    .store
                    .get(tables::ENDORSED_CERTIFICATES, id.as_bytes())
                    .and_then(|v| certificates::valid_to(&String::from_utf8_lossy(v)));
                json!({
                    "node_id": id,
                    "status": info["status"],
                    "primary": primary,
                    "rpc_addresses": addresses,
                    "certificate_valid_to": valid_to,
                })
            })
            .collect();
        Response::ok(json!({ "nodes": nodes }))
    }

    fn tx_status(&self, tx: &str) -> Result<Response, ApiError> {
        let id = parse_tx_id(tx)?;
        let status = self.status_of(id);
        Ok(Response::ok(json!({ "transaction_id": id.to_string(), "status": status })))
    }

    /// The status of `tx` against this node's whole log (applied entries and the queue) and
    /// its commit.
    fn status_of(&self, tx: TxId) -> TxStatus {
        let applied = self.history.last().seqno;
        let log_view = if tx.seqno <= applied {
            self.views.view_of(tx.seqno)
        } else if tx.seqno <= self.consensus.appended_last {
            raft::Storage::term(self.consensus.driver.store(), tx.seqno).ok()
        } else {
            None
        };
        TxStatus::of_log_view(tx, log_view, self.commit)
    }

    fn previous_identity(&self) -> Result<Response, ApiError> {
        match self.store.get(tables::PREVIOUS_SERVICE_IDENTITY, &tables::SINGLETON_KEY) {
            Some(v) => Ok(Response::ok(json!({ "previous_service_identity": String::from_utf8_lossy(v) }))),
            None => Err(ApiError::not_found("ResourceNotFound", "this service has no previous identity")),
        }
    }

    /// A receipt for committed transaction `tx`: the Merkle path to the root signed by the
    /// first signature after it.
    fn receipt_for(&self, tx: TxId) -> Result<Receipt, ApiError> {
        let status = self.status_of(tx);
        if status != TxStatus::Committed {
            return Err(ApiError::not_found(
                "TransactionNotCommitted",
                format!("transaction {tx} is {status:?}; receipts exist for committed transactions"),
            ));
        }
        let (_, sig) =
            self.facts.signatures.range(tx.seqno..).next().expect("a committed tx is covered by a signature");
        // The certificate of the node that signed, as the service endorsed it (the signer may be
        // another node: a backup, or an earlier primary).
        let cert = self
            .store
            .get(tables::ENDORSED_CERTIFICATES, sig.node.as_bytes())
            .map(tables::endorsed_certificate_pem)
            .unwrap_or_else(|| self.identity.signer.cert_pem.clone());
        let cert = &cert;
        if sig.seqno == tx.seqno {
            return Ok(Receipt::for_signature(sig, cert));
        }
        if crate::received_entry::before_known_secrets(&self.secrets, tx.seqno) {
            return Err(ApiError::unavailable(
                "ReceiptUnavailable",
                format!(
                    "{tx} belongs to the previous service, whose ledger secrets are restored when the recovery completes"
                ),
            ));
        }
        let secret = self.secret_for(tx.seqno);
        let claims = self.facts.claims.get(&tx.seqno).copied().unwrap_or(Sha256::ZERO);
        let Some(digest) =
            self.facts.digest(tx.seqno).filter(|_| tx.seqno >= self.history.tree().first_provable_leaf())
        else {
            return Err(ApiError::not_found(
                "ReceiptUnavailable",
                format!(
                    "this node started from a snapshot at seqno {} and holds no ledger before it: ask a node \
                     that holds the whole ledger for a receipt of {tx}",
                    self.history.tree().base()
                ),
            ));
        };
        Ok(Receipt::build(self.history.tree(), tx, digest, secret.commit_evidence(tx), claims, sig, cert))
    }

    fn secret_for(&self, seqno: u64) -> &Arc<LedgerSecret> {
        self.secrets.secret_for(seqno).expect("a secret covers every seqno")
    }

    pub fn check_invariants(&self) {
        let last = self.history.last();
        let appended = self.consensus.appended_last;
        assert!(self.commit.seqno <= last.seqno, "commit beyond the applied state");
        assert!(self.durable_seqno <= appended, "durable beyond the last entry");
        assert_eq!(last.seqno + self.replica.queue.len() as u64, appended.max(last.seqno), "queue ends at the log end");
        assert!(
            self.commit.seqno == 0 || self.facts.signatures.contains_key(&self.commit.seqno),
            "commit is a signature"
        );
        assert_eq!(self.store.version(), last.seqno, "store version follows the ledger");
        assert_eq!(self.history.tree().leaf_count(), last.seqno + 1, "tree covers every seqno");
        assert_eq!(self.facts.next_seqno(), last.seqno + 1, "one digest per seqno");
        self.policy.check_invariants();
        self.views.check_invariants();
    }
}

fn parse_tx_id(text: &str) -> Result<TxId, ApiError> {
    text.parse()
        .map_err(|e: String| ApiError::bad_request("InvalidQueryParameterValue", format!("transaction_id: {e}")))
}
