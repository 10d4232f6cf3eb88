//! [`SimNode`]: one node's process and disks. It performs the core's actions in order, as
//! `cairn-server/src/core_loop.rs` does, except that an `Action::Sync` takes virtual time: the
//! node is busy until the runner reports the fsync done (`finish_sync`), and events that arrive
//! meanwhile wait in its inbox, as requests wait in the production core's channel.
//!
//! Everything that leaves the node (frames, replies, join requests, "I started a sync") is
//! returned to the runner as an [`Output`].
use crate::checkers::{NodeView, RaftObs, Role, entry_is_signature, entry_tx_id};
use crate::disk::SimDisk;
use crate::fixtures;
use crate::options::Bug;
use cairn_crypto::Sha256;
use cairn_ledger::LedgerConfig;
use cairn_ledger::format::TxId;
use cairn_ledger::snapshot::SnapshotName;
use cairn_ledger::storage::Storage;
use cairn_node::{
    Action, AfterReplay, CoreConfig, Event, LogTable, NodeCore, NodeIdentity, RecoverySnapshot, Replayer, RequestId,
    Response, StartCommand, StartFacts, StartPlan, after_replay, plan_start,
};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

pub const LEDGER_SECRETS_FILE: &str = "ledger_secrets.json";
pub const RAFT_STATE_FILE: &str = "raft_state.json";
pub const NODE_CERT_FILE: &str = "nodecert.pem";
pub const SERVICE_CERT_FILE: &str = "service_cert.pem";
pub const SERVICE_KEY_FILE: &str = "service_key.pem";

/// What the node asks the outside world to do.
#[derive(Debug)]
pub enum Output {
    Send {
        to_raft: u64,
        frame: Vec<u8>,
    },
    Reply {
        id: RequestId,
        response: Response,
    },
    JoinRequest {
        body: Vec<u8>,
    },
    /// A sync started; the runner calls `finish_sync` after the fsync latency.
    SyncStarted,
    /// `Bug::AckBeforeFsync`: durability was reported already; the runner calls `late_sync`
    /// later to actually sync.
    LateSync,
}

pub struct SimNode {
    pub index: usize,
    /// Which fixture key the node has (its index, until a disaster recovery gives every node a
    /// new one).
    pub key_slot: usize,
    pub raft_id: u64,
    /// Counts starts: 0 for the first process, +1 at each crash.
    pub incarnation: u64,
    pub core: Option<NodeCore>,
    pub disk: SimDisk,
    pub bug: Option<Bug>,
    /// Actions taken from the core and not yet performed.
    backlog: VecDeque<Action>,
    /// Waiting for an fsync to complete.
    pub syncing: bool,
    /// Events that arrived while the node was busy.
    inbox: VecDeque<Event>,
    /// Work the shell does on threads of its own (a snapshot encoded, a private state
    /// restored), done: it reaches the core at the node's next pump, a later step of the run,
    /// so a crash in between loses it as a real process loses its threads.
    background: VecDeque<Event>,
    /// `Bug::AckBeforeFsync`: the highest commit the core asked for beyond what is durable.
    deferred_commit: u64,
    /// Virtual time the node's next tick is scheduled at.
    pub next_tick_at: Option<u64>,
    /// A bit of one of its committed chunks was flipped (and where).
    pub corrupted: Option<(String, u64)>,
    /// It refused to restart after that: down for good.
    pub dead: Option<String>,
    /// A ledger I/O failure is armed: the next error is expected, and fatal to the process.
    pub io_fault_armed: bool,
    /// This node started a disaster recovery with this ledger secret and join token digest: a
    /// restart before its create transaction reached the disk performs it again.
    recovering: Option<([u8; 32], Sha256)>,
    /// Its last recovery's public read started from a committed snapshot.
    pub recovered_from_snapshot: bool,
}

impl SimNode {
    pub fn new(index: usize, ledger: LedgerConfig, bug: Option<Bug>) -> Self {
        let signer_key = fixtures::node_key(index);
        let raft_id = cairn_node::raft_id_of(&signer_key.verifying_key().key_id());
        SimNode {
            index,
            key_slot: index,
            raft_id,
            incarnation: 0,
            core: None,
            disk: SimDisk::new(ledger),
            bug,
            backlog: VecDeque::new(),
            syncing: false,
            inbox: VecDeque::new(),
            background: VecDeque::new(),
            deferred_commit: 0,
            next_tick_at: None,
            corrupted: None,
            dead: None,
            io_fault_armed: false,
            recovering: None,
            recovered_from_snapshot: false,
        }
    }

    pub fn is_up(&self) -> bool {
        self.core.is_some()
    }

    pub fn core(&self) -> &NodeCore {
        self.core.as_ref().expect("the node is up")
    }

    /// The node receives `event`: handled now, or queued while it waits for an fsync.
    pub fn deliver(&mut self, event: Event, now_ms: u64, out: &mut Vec<Output>) -> Result<(), String> {
        if !self.is_up() {
            return Ok(());
        }
        self.inbox.push_back(event);
        self.pump(now_ms, out)
    }

    /// Performs actions and handles queued events until the node waits for an fsync or has
    /// nothing left to do.
    pub fn pump(&mut self, now_ms: u64, out: &mut Vec<Output>) -> Result<(), String> {
        self.inbox.extend(self.background.drain(..));
        loop {
            if self.syncing || !self.is_up() {
                return Ok(());
            }
            if self.backlog.is_empty() {
                let core = self.core.as_mut().expect("up");
                self.backlog.extend(core.take_actions());
            }
            if let Some(action) = self.backlog.pop_front() {
                self.perform(action, out)?;
                continue;
            }
            let Some(event) = self.inbox.pop_front() else { return Ok(()) };
            let core = self.core.as_mut().expect("up");
            core.handle(event);
            // As the production loop: a tick after every batch of events.
            core.handle(Event::Tick { now_ms });
            core.check_invariants();
        }
    }

    fn perform(&mut self, action: Action, out: &mut Vec<Output>) -> Result<(), String> {
        let writer = self.disk.writer_mut();
        match action {
            Action::Append(entry) => {
                writer.append(&entry).map_err(|e| format!("appending {}: {e}", entry.tx_id))?;
            }
            Action::Sync => match self.bug {
                Some(Bug::AckBeforeFsync) => {
                    writer.flush().map_err(|e| format!("flushing: {e}"))?;
                    let seqno = writer.last().seqno;
                    self.core.as_mut().expect("up").handle(Event::Durable { seqno });
                    out.push(Output::LateSync);
                }
                _ => {
                    self.syncing = true;
                    out.push(Output::SyncStarted);
                }
            },
            Action::CommitLedger { seqno } => {
                if self.bug == Some(Bug::AckBeforeFsync) && seqno > writer.durable_seqno() {
                    self.deferred_commit = self.deferred_commit.max(seqno);
                } else {
                    writer.commit(seqno).map_err(|e| format!("committing up to {seqno}: {e}"))?;
                }
            }
            Action::TruncateLedger { seqno } => {
                writer.truncate(seqno).map_err(|e| format!("truncating after {seqno}: {e}"))?;
                self.deferred_commit = self.deferred_commit.min(seqno);
            }
            Action::Reply { id, response } => out.push(Output::Reply { id, response }),
            // Done at once; the core hears of it at the next pump (`background`).
            Action::EncodeSnapshot(job) => self.background.push_back(Event::SnapshotEncoded(job.encode())),
            Action::RestorePrivateState(job) => self.background.push_back(Event::PrivateStateRestored(job.run())),
            Action::WriteSnapshot { name, bytes } => {
                self.disk.write_snapshot(&name.to_string(), &bytes).map_err(|e| format!("snapshot {name}: {e}"))?
            }
            Action::CommitSnapshot { name, receipt } => self
                .disk
                .commit_snapshot(&name.to_string(), &name.committed().to_string(), &receipt)
                .map_err(|e| format!("committing snapshot {name}: {e}"))?,
            Action::PersistLedgerSecrets { json } => {
                self.disk.write_node_file(LEDGER_SECRETS_FILE, &json).map_err(|e| format!("ledger secrets: {e}"))?
            }
            Action::PersistRaftState { json } => {
                self.disk.write_node_file(RAFT_STATE_FILE, &json).map_err(|e| format!("raft state: {e}"))?
            }
            Action::PersistJoinedIdentity { node_cert_pem, service_cert_pem, service_key_pem } => {
                let mut write = |name: &str, data: &str| {
                    self.disk.write_node_file(name, data.as_bytes()).map_err(|e| format!("{name}: {e}"))
                };
                write(SERVICE_KEY_FILE, &service_key_pem)?;
                write(SERVICE_CERT_FILE, &service_cert_pem)?;
                // Last: its presence means the identity is complete.
                write(NODE_CERT_FILE, &node_cert_pem)?;
            }
            Action::Send { to, frame } => out.push(Output::Send { to_raft: to, frame }),
            Action::SetPeers { .. } => {}
            Action::SetLedgerRecovery { recovery: true } => {
                writer.begin_recovery();
                self.disk.set_recovery(true);
            }
            Action::SetLedgerRecovery { recovery: false } => {
                writer.end_recovery().map_err(|e| format!("dropping .recovery suffixes: {e}"))?;
                self.disk.set_recovery(false);
            }
            Action::SendJoinRequest { body } => out.push(Output::JoinRequest { body }),
            // Every simulated node holds its whole ledger, so no primary lacks entries a
            // follower needs: a snapshot offer here is a bug, reported as a crashed node.
            Action::InstallSnapshot { name, rpc_address } => {
                return Err(format!("offered snapshot {name} by {rpc_address}, yet every node holds its whole ledger"));
            }
            // The simulated nodes serve no TLS and keep no certificate files.
            Action::ServeCertificates { .. } => {}
        }
        Ok(())
    }

    /// The fsync started by the last `Action::Sync` completes now.
    pub fn finish_sync(&mut self, now_ms: u64, out: &mut Vec<Output>) -> Result<(), String> {
        if !self.syncing || !self.is_up() {
            return Ok(());
        }
        let seqno = self.disk.writer_mut().sync().map_err(|e| format!("syncing the ledger: {e}"))?;
        self.syncing = false;
        self.core.as_mut().expect("up").handle(Event::Durable { seqno });
        self.pump(now_ms, out)
    }

    /// `Bug::AckBeforeFsync`: the real sync, long after durability was reported.
    pub fn late_sync(&mut self) -> Result<(), String> {
        if !self.is_up() {
            return Ok(());
        }
        let writer = self.disk.writer_mut();
        writer.sync().map_err(|e| format!("syncing the ledger: {e}"))?;
        let commit = self.deferred_commit.min(writer.durable_seqno());
        if commit > writer.committed_seqno() {
            writer.commit(commit).map_err(|e| format!("committing up to {commit}: {e}"))?;
        }
        Ok(())
    }

    /// Power loss: the process is gone, each disk keeps what its durability model says.
    pub fn crash(&mut self, rng: &mut impl rand::Rng) {
        self.forget_process();
        self.disk.crash(rng);
    }

    /// The process is gone (its core, its queues, its armed fault); a new incarnation begins.
    fn forget_process(&mut self) {
        self.core = None;
        self.backlog.clear();
        self.inbox.clear();
        self.background.clear();
        self.syncing = false;
        self.deferred_commit = 0;
        self.next_tick_at = None;
        self.io_fault_armed = false;
        self.incarnation += 1;
    }

    /// The identity this node has on disk (started, or joined and admitted), if any.
    pub fn persisted_identity(&self) -> Option<NodeIdentity> {
        let read = |name: &str| self.disk.read_node_file(name).map(|b| String::from_utf8(b).expect("PEM is text"));
        let node_cert_pem = read(NODE_CERT_FILE)?;
        let service_cert_pem = read(SERVICE_CERT_FILE)?;
        let service_key = read(SERVICE_KEY_FILE).map(|pem| Arc::new(fixtures::key(&pem)));
        let signer = Arc::new(cairn_ledger::NodeSigner::new(fixtures::node_key(self.key_slot), node_cert_pem));
        Some(NodeIdentity {
            signer,
            service_cert_pem,
            service_key,
            rpc_addresses: vec![fixtures::rpc_address(self.index)],
            node_to_node_address: fixtures::node_to_node_address(self.index),
            encryption_key: Some(fixtures::node_encryption_key(self.key_slot)),
        })
    }

    /// The node takes fixture key `slot`: a new node id and Raft id (a machine replaced in a
    /// disaster recovery).
    pub fn assume_slot(&mut self, slot: usize) {
        self.key_slot = slot;
        self.raft_id = cairn_node::raft_id_of(&fixtures::node_key(slot).verifying_key().key_id());
    }

    /// A new, empty machine in this node's place (it joins with [`SimNode::assume_slot`]'s key).
    pub fn wipe(&mut self, ledger: LedgerConfig) {
        self.forget_process();
        self.corrupted = None;
        self.dead = None;
        self.disk = SimDisk::new(ledger);
    }

    /// The operator's survey of a stopped node's ledger: it opens (the production scan and
    /// repairs), its public domain replays, and the last signature is `(view, seqno)`.
    pub fn survey(&mut self) -> Result<TxId, String> {
        assert!(!self.is_up(), "surveying a running node");
        if !self.disk.is_open() {
            self.disk.reopen().map_err(|e| format!("the ledger does not open: {e}"))?;
        }
        Ok(self.public_replay()?.last)
    }

    fn public_replay(&self) -> Result<Replayer, String> {
        self.public_replay_from(None)
    }

    /// The public read, applying entries after `base` (a recovery snapshot and its store).
    fn public_replay_from(&self, base: Option<(&RecoverySnapshot, cairn_kv::Store)>) -> Result<Replayer, String> {
        let writer = self.disk.writer();
        let mut replayer = Replayer::public_only();
        if let Some((snapshot, store)) = base {
            replayer = replayer.with_snapshot_store(store, snapshot.seqno);
        }
        cairn_node::read_ledger(writer, 1, &mut replayer, |_, _, _| {})
            .map_err(|e| format!("reading the public ledger: {e}"))?;
        Ok(replayer)
    }

    /// As `recover_start::recovery_snapshot`: the newest committed snapshot on this disk that
    /// verifies against the previous service's certificate and this ledger.
    fn recovery_snapshot(&self, previous: &cairn_crypto::Certificate) -> Option<(RecoverySnapshot, cairn_kv::Store)> {
        let writer = self.disk.writer();
        let mut names: Vec<SnapshotName> = (self.disk.snapshots.list().ok()?.iter())
            .filter_map(|f| f.parse::<SnapshotName>().ok())
            .filter(|n| n.committed && n.evidence_seqno <= writer.last().seqno)
            .collect();
        names.sort();
        names.into_iter().rev().find_map(|name| {
            let file = self.disk.snapshots.read_all(&name.to_string()).ok()?;
            let evidence = writer.read_entry(name.evidence_seqno).ok()?;
            RecoverySnapshot::check(name, &file, previous, evidence.as_deref()).ok().map(|(s, d)| (s, d.into_store()))
        })
    }

    /// `command.type = Recover` on this (stopped, surveyed) node's ledger, as
    /// `cairn-server/src/recover_start.rs` does: the public read, the tail after the last
    /// signature set aside, the new identity's files (the ledger secret last), then
    /// `NodeCore::recover`. The caller then `pump`s the new core's first actions.
    #[allow(clippy::too_many_arguments)]
    pub fn recover(
        &mut self,
        seed: u64,
        config: &CoreConfig,
        now_ms: u64,
        service: &cairn_ledger::ServiceIdentity,
        ledger_secret: [u8; 32],
        join_token_digest: Sha256,
        bug: Option<Bug>,
    ) -> Result<(), String> {
        // From the newest committed snapshot that verifies, as a real Recover node.
        let previous = &fixtures::fixtures().service.cert;
        let (mut snapshot, store) = self.recovery_snapshot(previous).unzip();
        let mut replayer = self.public_replay_from(snapshot.as_ref().zip(store))?;
        if let Some(s) = &snapshot
            && s.check_against(&replayer).is_err()
        {
            snapshot = None;
            replayer = self.public_replay()?;
        }
        self.recovered_from_snapshot = snapshot.is_some();
        replayer.drop_unsigned_tail();
        let last_signed = replayer.last.seqno;
        self.disk.writer_mut().truncate(last_signed).map_err(|e| format!("setting aside the tail: {e}"))?;
        let node_key = fixtures::node_key(self.key_slot);
        let names = vec![fixtures::rpc_address(self.index)];
        let not_before = (now_ms / 1000) as i64 - 60;
        let node_cert =
            service.endorse_node(&node_key, names, not_before, 365).map_err(|e| format!("node certificate: {e}"))?;
        let chain = cairn_gov::LedgerSecretChain::new(last_signed + 1, ledger_secret);
        for (name, data) in [
            (SERVICE_KEY_FILE, service.key.to_pem().into_bytes()),
            (SERVICE_CERT_FILE, service.cert.pem().as_bytes().to_vec()),
            (NODE_CERT_FILE, node_cert.pem().as_bytes().to_vec()),
            (LEDGER_SECRETS_FILE, serde_json::to_vec(&chain).expect("json")),
        ] {
            self.disk.write_node_file(name, &data).map_err(|e| format!("{name}: {e}"))?;
        }
        self.recovering = Some((ledger_secret, join_token_digest));
        let identity = self.persisted_identity().expect("written above");
        let mut core = NodeCore::recover(cairn_node::RecoverParams {
            replayed: replayer,
            snapshot,
            identity,
            config: config.clone(),
            ledger_secret,
            join_token_digest,
            open_chunk_bytes: self.disk.writer().open_chunk_bytes(),
            now_ms,
            fill_random: crate::rng::node_fill_random(seed, self.index, self.incarnation),
        })
        .map_err(|e| format!("recover: {}", e.message))?;
        if bug == Some(Bug::SkipPrivateReplayTail) {
            core.inject_skip_private_replay_tail(crate::options::SKIPPED_TAIL_ENTRIES);
        }
        self.core = Some(core);
        Ok(())
    }

    /// Restart after a crash: reopen the ledger (the production scan and repairs), then perform
    /// the production start plan (`cairn_node::plan_start`, from what this disk holds): replay
    /// every entry (the unsigned tail is kept: a replicated node keeps its log) and resume the
    /// core. `Ok(false)`: the plan is to join (the node never got admitted): the caller makes it
    /// join again. A refusal, and the rows the simulator does not perform yet (starting from a
    /// snapshot: its disks keep none; creating the service again: node 0's genesis is committed
    /// before faults begin), are `Err`, so a run that reaches one fails naming it.
    /// The caller then `pump`s the new core's first actions.
    pub fn restart(&mut self, seed: u64, config: &CoreConfig, now_ms: u64) -> Result<bool, String> {
        assert!(!self.is_up(), "restarting a running node");
        self.disk.reopen().map_err(|e| format!("the ledger does not open: {e}"))?;
        let identity = self.persisted_identity();
        let secrets_json = self.disk.read_node_file(LEDGER_SECRETS_FILE);
        let command = if self.index == 0 { StartCommand::Start } else { StartCommand::Join };
        let facts = StartFacts {
            command,
            has_identity: identity.is_some() && secrets_json.is_some(),
            ledger_first_seqno: self.disk.writer().first_seqno(),
            ledger_last_seqno: self.disk.writer().last().seqno,
            installed_snapshot: None,
        };
        match plan_start(&facts) {
            StartPlan::Join => return Ok(false),
            StartPlan::ResumeWholeLedger | StartPlan::ResumeFromNewestSnapshot => {}
            other => return Err(format!("start plan {other:?} (from {facts:?})")),
        }
        let (Some(identity), Some(secrets_json)) = (identity, secrets_json) else {
            unreachable!("the plan resumes only with an identity")
        };
        let secrets = NodeCore::parse_secrets_json(&secrets_json).map_err(|e| format!("{LEDGER_SECRETS_FILE}: {e}"))?;
        let writer = self.disk.writer();
        let mut replayer = Replayer::new(secrets.clone())
            .with_node_key(identity.node_id(), fixtures::node_encryption_key(self.key_slot));
        cairn_node::read_ledger(writer, 1, &mut replayer, |_, _, _| {})
            .map_err(|e| format!("replaying the ledger: {e}"))?;
        if let Some((secret, digest)) = self.recovering {
            let recorded = replayer
                .store
                .get(cairn_ledger::tables::SERVICE_INFO, &cairn_ledger::tables::SINGLETON_KEY)
                .and_then(|v| serde_json::from_slice::<cairn_ledger::tables::ServiceInfo>(v).ok())
                .map(|i| i.cert);
            if recorded.as_deref() != Some(identity.service_cert_pem.as_str()) {
                // As `recover_start::recover_from_replay`: the recovery's create transaction
                // never reached the disk; perform it again with the same identity.
                let service = fixtures::recovered_service();
                self.recover(seed, config, now_ms, service, secret, digest, self.bug)?;
                return Ok(true);
            }
        }
        if after_replay(command, replayer.last.seqno) == AfterReplay::CreateServiceAgain {
            return Err("start plan: no signature in node 0's ledger, create the service again".into());
        }
        let core = NodeCore::resume(cairn_node::ResumeParams {
            replayed: replayer,
            identity,
            config: config.clone(),
            secrets,
            open_chunk_bytes: writer.open_chunk_bytes(),
            raft_state_json: self.disk.read_node_file(RAFT_STATE_FILE),
            now_ms,
            fill_random: crate::rng::node_fill_random(seed, self.index, self.incarnation),
        });
        let mut core = core;
        if self.bug == Some(Bug::SkipPrivateReplayTail) {
            core.inject_skip_private_replay_tail(crate::options::SKIPPED_TAIL_ENTRIES);
        }
        self.core = Some(core);
        Ok(true)
    }
}

fn role_of(role: &str) -> Role {
    match role {
        "Leader" => Role::Leader,
        "Candidate" => Role::Candidate,
        "PreCandidate" => Role::PreCandidate,
        _ => Role::Follower,
    }
}

impl NodeView for SimNode {
    fn index(&self) -> usize {
        self.index
    }
    fn incarnation(&self) -> u64 {
        self.incarnation
    }
    fn raft(&self) -> RaftObs {
        let s = self.core().raft_status();
        RaftObs {
            raft_id: s.raft_id,
            role: role_of(s.role),
            term: s.term,
            leader: s.leader_id.unwrap_or(0),
            raft_commit: s.raft_commit,
        }
    }
    fn commit(&self) -> TxId {
        self.core().commit()
    }
    fn last(&self) -> TxId {
        self.disk.writer().last()
    }
    fn entry(&self, seqno: u64) -> Option<Vec<u8>> {
        self.disk.writer().read_entry(seqno).ok().flatten()
    }
    fn view_at(&self, seqno: u64) -> Option<u64> {
        entry_tx_id(&self.entry(seqno)?).map(|t| t.view)
    }
    fn is_signature(&self, seqno: u64) -> Option<bool> {
        entry_is_signature(&self.entry(seqno)?)
    }
    fn root_at(&self, seqno: u64) -> Option<Sha256> {
        self.core().merkle_root_at(seqno)
    }
    fn private_record(&self, id: u64) -> Option<Vec<u8>> {
        self.core().store().get(LogTable::Private.table_name(), &LogTable::key(id)).map(<[u8]>::to_vec)
    }
    fn committed_chunks(&self) -> BTreeMap<String, Vec<u8>> {
        self.disk.committed_chunks()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{START_MS, fixtures};
    use crate::rng::sim_rng;

    /// Node 0 alone, started as the runner starts it.
    fn started() -> SimNode {
        let mut node = SimNode::new(0, LedgerConfig { chunk_size_bytes: 4096, recovery: false }, None);
        let f = fixtures();
        for (name, data) in [
            (SERVICE_KEY_FILE, f.service.key.to_pem()),
            (SERVICE_CERT_FILE, f.service.cert.pem().to_string()),
            (NODE_CERT_FILE, f.first_signer.cert_pem.clone()),
        ] {
            node.disk.write_node_file(name, data.as_bytes()).unwrap();
        }
        let core = NodeCore::start(cairn_node::StartParams {
            identity: node.persisted_identity().unwrap(),
            config: crate::runner::sim_core_config(),
            members: vec![f.member.clone()],
            recovery_threshold: 1,
            ledger_secret: [1; 32],
            join_token_digest: cairn_node::JoinToken::from_bytes([2; 32]).digest(),
            now_ms: START_MS,
            fill_random: crate::rng::node_fill_random(1, 0, 0),
        })
        .unwrap();
        node.core = Some(core);
        node
    }

    #[test]
    fn a_sync_keeps_the_node_busy_until_the_fsync_completes() {
        let mut node = started();
        let mut out = Vec::new();
        node.pump(START_MS, &mut out).unwrap();
        assert!(node.syncing, "the genesis signature asks for a sync");
        assert!(matches!(out.last(), Some(Output::SyncStarted)));
        assert_eq!(node.core().commit().seqno, 0, "nothing is committed before the fsync");
        let durable_before = node.disk.writer().durable_seqno();
        // An event arriving meanwhile waits.
        node.deliver(Event::Tick { now_ms: START_MS + 1 }, START_MS + 1, &mut out).unwrap();
        assert_eq!(node.inbox.len(), 1);
        node.finish_sync(START_MS + 5, &mut out).unwrap();
        assert!(node.disk.writer().durable_seqno() > durable_before);
        assert!(node.inbox.is_empty(), "handled once the node is free");
        assert_eq!(node.core().commit().seqno, node.disk.writer().last().seqno, "a lone voter commits at once");
    }

    #[test]
    fn a_crashed_node_restarts_from_its_disks() {
        let mut node = started();
        let mut out = Vec::new();
        node.pump(START_MS, &mut out).unwrap();
        node.finish_sync(START_MS + 1, &mut out).unwrap();
        let commit = node.core().commit();
        assert!(commit.seqno > 0);
        node.crash(&mut sim_rng(5));
        assert!(!node.is_up());
        assert_eq!(node.incarnation, 1);
        let joined = node.restart(1, &crate::runner::sim_core_config(), START_MS + 100).unwrap();
        assert!(joined, "node 0 has its identity and secrets on disk");
        node.pump(START_MS + 100, &mut out).unwrap();
        assert!(node.core().commit().seqno >= commit.seqno, "synced and committed entries survive");
    }

    #[test]
    fn ack_before_fsync_reports_durable_at_once() {
        let mut node = started();
        node.bug = Some(Bug::AckBeforeFsync);
        let mut out = Vec::new();
        node.pump(START_MS, &mut out).unwrap();
        assert!(!node.syncing);
        assert!(out.iter().any(|o| matches!(o, Output::LateSync)));
        assert!(node.core().commit().seqno > 0, "committed on the lie");
        assert!(node.disk.writer().committed_seqno() < node.core().commit().seqno, "the ledger commit waits");
        node.late_sync().unwrap();
        assert_eq!(node.disk.writer().committed_seqno(), node.core().commit().seqno);
    }
}
