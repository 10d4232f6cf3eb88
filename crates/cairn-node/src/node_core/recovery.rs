//! Disaster recovery in the core (SPEC §7). The shell reads the previous service's ledger
//! publicly (`Replayer::public_only`), sets aside what follows its last signature, creates a new
//! service identity and calls [`NodeCore::recover`]:
//!
//! 1. **Public phase.** The node becomes the only voter of a new network, in view
//!    `last view + 2`, and writes the recovered service's create transaction (a new chunk):
//!    the new service certificate with status `Recovering` and `recovery_count + 1`, the previous
//!    identity, every previous node retired and out of the consensus table, this node trusted,
//!    a new join token digest. It holds only the new service's ledger secret (valid from the
//!    create transaction on), so the previous entries stay publicly read (`PartOfPublicNetwork`);
//!    nodes that join read them the same way. No snapshot is taken in this phase.
//! 2. Members open the service (`transition_service_to_open` with the previous identity →
//!    `WaitingForRecoveryShares`) and submit their shares (`cairn_gov::submit_recovery_share`:
//!    checked against their commitments, sealed in a committed table, so a new primary counts
//!    them).
//! 3. **Private phase.** Once the submitted shares reach the threshold (the submission that
//!    reaches it is recorded like the others), the primary restores the previous secret chain
//!    from the shares and the historical-secret records and hands the decryption of every
//!    previous entry's private domain to the shell (`PrivateRestoreJob`, off the core thread:
//!    Raft and `GET /node/state` go on; the node reports `ReadingPrivateLedger` with
//!    `recovery_progress`). A primary elected meanwhile starts it again from the committed
//!    shares (no member resubmits). When it comes back, the primary writes one transaction:
//!    status `Open`, the previous latest secret sealed under the new one (the chain goes on),
//!    fresh shares, the submitted shares removed, and the restored chain in the private table
//!    `cairn.internal.recovered_ledger_secrets`. Every node that applies that transaction (a
//!    backup, or a node replaying it after a restart) restores the same private state from its
//!    own copy of the previous entries (after its log's base snapshot, whose private domain it
//!    kept, when its log starts after one), before the transaction's own writes (in the core,
//!    not yet off it). Then a snapshot is taken and the `.recovery` suffixes dropped.
//!
//! Invariant: between 1 and 3 the node's first secret starts after the previous service's last
//! entry (`received_entry::before_known_secrets`); from 3 on its secrets cover seqno 1, or the
//! log's base when the log starts after a snapshot (`private_state_pending`).
use super::{NodeCore, TX_ID_HEADER, raft_loop};
use crate::private_recovery::{
    historical_secret_records, overlay, private_base, recover_private_state, with_recovered_secrets,
};
use crate::received_entry::before_known_secrets;
use crate::recovery_snapshot::RecoverySnapshot;
use crate::{
    Action, ApiError, CoreConfig, FillRandom, NodeIdentity, NodeState, PrivateRestoreJob, PrivateStateRestored,
    RaftRole, Replayer, Response,
};
use cairn_crypto::Sha256;
use cairn_gov::SignedRequest;
use cairn_kv::WriteSet;
use cairn_ledger::format::{EntryFlags, TxId};
use cairn_ledger::genesis::GenesisRecord;
use cairn_ledger::tables::{self, NodeInfo, NodeStatus, ServiceInfo, ServiceStatus};
use cairn_ledger::{LedgerSecret, LedgerSecrets};
use raft::eraftpb::ConfState;
use serde_json::json;

/// What a node needs to recover a service (`command.type = Recover`).
pub struct RecoverParams {
    /// The previous service's whole ledger, read by `Replayer::public_only`, cut after its last
    /// signature.
    pub replayed: Replayer,
    /// The committed snapshot of the previous service the public read started from, if any:
    /// the private phase starts from its private domain.
    pub snapshot: Option<RecoverySnapshot>,
    /// The new service's identity (service key and certificate, this node's certificate
    /// endorsed by it).
    pub identity: NodeIdentity,
    pub config: CoreConfig,
    /// The new service's ledger secret.
    pub ledger_secret: [u8; 32],
    /// SHA-256 of the join token this recovery wrote.
    pub join_token_digest: Sha256,
    /// Bytes of the ledger's open chunk.
    pub open_chunk_bytes: u64,
    pub now_ms: u64,
    pub fill_random: FillRandom,
}

/// A private restore handed to the shell: which run, in which view, and what the opening
/// transaction needs once it comes back.
pub(super) struct PrivateRestoreRun {
    run: u64,
    view: u64,
    chain_json: Vec<u8>,
    merged: LedgerSecrets,
    progress: std::sync::Arc<crate::RestoreProgress>,
    started_ms: u64,
}

/// The private state restored at `seqno`, and the secrets the node held before (a rollback of
/// that transaction goes back to them).
pub(super) struct Restored {
    pub(super) seqno: u64,
    secrets_before: LedgerSecrets,
}

fn gov_error(e: cairn_gov::GovError) -> ApiError {
    ApiError::new(e.http_status(), e.code(), e.to_string())
}

impl NodeCore {
    /// A deliberate recovery bug for the simulator's checkers to catch: this node's private
    /// replay skips the previous service's last `entries` entries (as if it skipped the last
    /// chunk).
    #[cfg(feature = "fault-injection")]
    pub fn inject_skip_private_replay_tail(&mut self, entries: u64) {
        self.skip_private_replay_tail = entries;
    }

    /// How many of the previous service's `n` entries the private replay reads (all of them,
    /// but for the injected bug).
    fn private_replay_len(&self, n: usize) -> usize {
        n.saturating_sub(self.skip_private_replay_tail as usize)
    }

    /// Starts the recovered service (module documentation, step 1).
    pub fn recover(p: RecoverParams) -> Result<NodeCore, ApiError> {
        let mut replayed = p.replayed;
        let last = replayed.last;
        let bad = |m: String| ApiError::bad_request("InvalidLedger", m);
        if replayed.unsigned_tail() > 0 || replayed.last_signature() != last.seqno || last.seqno == 0 {
            return Err(bad(format!(
                "a recovery starts from a ledger that ends with a signature (last signature {}, last entry {}, {} \
                 unsigned after it)",
                replayed.last_signature(),
                last.seqno,
                replayed.unsigned_tail()
            )));
        }
        let previous: ServiceInfo = replayed
            .store
            .get(tables::SERVICE_INFO, &tables::SINGLETON_KEY)
            .and_then(|v| serde_json::from_slice(v).ok())
            .ok_or_else(|| bad(format!("the ledger holds no readable {}", tables::SERVICE_INFO)))?;
        if let Some(s) = p.snapshot.as_ref().filter(|s| s.seqno > last.seqno) {
            return Err(bad(format!(
                "the recovery snapshot {} is after the ledger's last signature {}",
                s.name, last.seqno
            )));
        }
        // A ledger that starts after a snapshot (a node that joined from one): the snapshot is
        // the previous service's at exactly that seqno, and the Raft log starts after it.
        let base = replayed.log_base;
        if base.seqno > 0 && p.snapshot.as_ref().is_none_or(|s| s.seqno != base.seqno) {
            return Err(bad(format!(
                "the ledger starts after seqno {}: the recovery needs the previous service's committed snapshot at \
                 that seqno",
                base.seqno
            )));
        }
        let base_offer = replayed.log_base_snapshot.take().map(|name| (name, base));
        let (log, _) = replayed.take_log();
        let created = last.seqno + 1;
        let secrets = LedgerSecrets::from_entries([(created, LedgerSecret::new(p.ledger_secret))]).expect("one secret");
        let mut fill_random = p.fill_random;
        let me = p.identity.raft_id();
        let conf = ConfState { voters: vec![me], ..Default::default() };
        // Hard state term = last view + 1: the election wins last view + 2 (SPEC §7.1).
        let state = raft_loop::RaftStateFile { version: 1, term: last.view + 1, vote: 0, commit: last.seqno };
        let consensus = raft_loop::Consensus::resume(
            &p.config,
            me,
            &mut fill_random,
            p.now_ms,
            (base.seqno, base.view),
            log.into_iter(),
            Some(state),
            last.seqno,
            conf,
        );
        let mut core = NodeCore::assemble(
            replayed,
            p.identity,
            p.config,
            secrets,
            p.open_chunk_bytes,
            p.now_ms,
            fill_random,
            consensus,
            Vec::new(),
        );
        core.recovery_snapshot = p.snapshot;
        core.log_base = base.seqno;
        if let Some((name, at)) = base_offer {
            // Nodes that join need the entries before the log's first: they start from it.
            core.offer_snapshot(name, at);
        }
        core.persist_secrets();
        let opening = core.consensus.campaign_alone().expect("a lone voter elects itself");
        assert_eq!(opening.index, created, "the create transaction follows the previous service's last signature");
        core.view = opening.term;
        core.out.push(Action::SetLedgerRecovery { recovery: true });
        let ws = core.recovery_create_write_set(&previous, TxId::new(core.view, created), &p.join_token_digest);
        core.execute(ws, EntryFlags(EntryFlags::FORCE_LEDGER_CHUNK_BEFORE), Sha256::ZERO);
        core.members = super::membership::Membership::from_store(&core.store);
        core.sign();
        core.emit_peers();
        core.drive();
        core.check_invariants();
        Ok(core)
    }

    /// The recovered service's create transaction (module documentation, step 1).
    fn recovery_create_write_set(&self, previous: &ServiceInfo, create: TxId, token: &Sha256) -> WriteSet {
        let genesis = GenesisRecord {
            service_cert_pem: &self.identity.service_cert_pem,
            node_id: &self.identity.signer.node_id,
            node_cert_pem: &self.identity.signer.cert_pem,
            node_public_key_pem: None,
            node_encryption_pub_key: self.identity.encryption_pub_key_pem(),
            rpc_address: self.identity.rpc_addresses.first().cloned(),
            recovery_count: previous.recovery_count + 1,
            status: ServiceStatus::Recovering,
            create_txid: create.to_string(),
        };
        let mut ws = genesis.write_set();
        ws.put(tables::PREVIOUS_SERVICE_IDENTITY, tables::SINGLETON_KEY.to_vec(), previous.cert.as_bytes().to_vec());
        let me = self.identity.node_id().as_bytes();
        for (node_id, value) in self.store.iter_table(tables::NODES_INFO) {
            let Ok(info) = serde_json::from_slice::<NodeInfo>(&value.value) else { continue };
            if node_id != me && info.status != NodeStatus::Retired {
                let retired = NodeInfo { status: NodeStatus::Retired, ..info };
                ws.put(tables::NODES_INFO, node_id.to_vec(), serde_json::to_vec(&retired).expect("json"));
            }
        }
        for (node_id, _) in self.store.iter_table(crate::CONSENSUS_NODES) {
            ws.remove(crate::CONSENSUS_NODES, node_id.to_vec());
        }
        for (member_id, _) in self.store.iter_table(tables::ENCRYPTED_SUBMITTED_SHARES) {
            ws.remove(tables::ENCRYPTED_SUBMITTED_SHARES, member_id.to_vec());
        }
        let ws = overlay(ws, &self.members.own_row(&self.identity, RaftRole::Voter));
        overlay(ws, &crate::membership::digest_write_set(token))
    }

    /// Whether the previous service's private state is still encrypted (public phase).
    pub(super) fn private_state_pending(&self) -> bool {
        before_known_secrets(&self.secrets, self.log_base.max(1))
    }

    /// The node state as operators see it: `PartOfPublicNetwork` while the recovered service
    /// has not restored its private state.
    pub(super) fn reported_state(&self) -> NodeState {
        match self.state {
            NodeState::PartOfNetwork if self.private_restore.is_some() => NodeState::ReadingPrivateLedger,
            NodeState::PartOfNetwork if self.private_state_pending() => NodeState::PartOfPublicNetwork,
            state => state,
        }
    }

    /// `POST /gov/recovery/members/{member}:recover` (module documentation, steps 2 and 3).
    pub(super) fn gov_submit_share(&mut self, member_id: &str, body: &[u8]) -> Result<Response, ApiError> {
        self.require_primary()?;
        let req = SignedRequest::parse(body).map_err(gov_error)?;
        let current = *self.secrets.latest().expect("a node has a ledger secret").raw();
        let mut tx = self.store.begin();
        let submission = cairn_gov::submit_recovery_share(
            &mut tx,
            member_id,
            &req,
            self.now_ms / 1000,
            &current,
            &mut *self.fill_random,
        )
        .map_err(gov_error)?;
        let body = json!({
            "message": submission.message(),
            "submittedCount": submission.submitted,
            "recoveryThreshold": submission.threshold,
        });
        // The share that reaches the threshold is recorded like the others: the private phase
        // starts after this event (`maybe_start_private_restore`), off the core thread.
        let id = self.execute(tx.into_parts().1, EntryFlags::default(), Sha256::ZERO);
        Ok(Response::ok(body).with_header(TX_ID_HEADER, id.to_string()))
    }

    /// Step 3 starts on the primary once the shares are in (and again on a primary elected
    /// before it finished): restore the previous secret chain, and hand the decryption of the
    /// previous entries to the shell (`PrivateRestoreJob`). `GET /node/state` says
    /// `ReadingPrivateLedger`, with the job's progress, until it comes back.
    pub(super) fn maybe_start_private_restore(&mut self) {
        if !self.private_state_pending()
            || self.private_restore.is_some()
            || self.restore_failure.is_some()
            || !self.is_primary()
            || self.known_service_info().map(|i| i.status).ok() != Some(ServiceStatus::WaitingForRecoveryShares)
        {
            return;
        }
        let current = *self.secrets.latest().expect("a node has a ledger secret").raw();
        let shares = match cairn_gov::submitted_shares(&mut &self.store, &current) {
            Ok(Some(shares)) => shares,
            Ok(None) => return,
            Err(e) => return self.restore_failure = Some(e.to_string()),
        };
        match self.private_restore_job(&shares) {
            Ok((job, run)) => {
                self.private_restore = Some(run);
                self.out.push(Action::RestorePrivateState(job));
            }
            Err(e) => self.restore_failure = Some(e),
        }
    }

    fn private_restore_job(
        &mut self,
        shares: &[cairn_crypto::Share],
    ) -> Result<(PrivateRestoreJob, PrivateRestoreRun), String> {
        let previous_last = self.secrets.entries()[0].0 - 1;
        let base = self.log_base;
        if base > 0 && self.recovery_snapshot.is_none() {
            return Err(format!(
                "this node's log starts after seqno {base} and it holds no snapshot of the previous service there: \
                 another node must restore the private state"
            ));
        }
        let log = self.consensus.log_entries(base, previous_last);
        let mut historical = historical_secret_records(log.iter().map(|e| &e.data[..])).map_err(|e| e.to_string())?;
        // A ledger that starts after the recovery snapshot: the walk back ends at the record the
        // snapshot holds (the secret valid at its seqno is sealed there or in a later entry).
        if let Some(record) = self.recovery_snapshot.as_ref().and_then(|s| s.historical_secret()) {
            let record = cairn_gov::HistoricalSecretRecord::parse(record).map_err(|e| e.to_string())?;
            historical.push(record);
        }
        let chain =
            cairn_gov::recover_secret_chain(&mut self.store.begin(), shares, &historical).map_err(|e| e.to_string())?;
        let chain_json = serde_json::to_vec(&chain).expect("json");
        let merged = with_recovered_secrets(&chain_json, &self.secrets, base)?;
        // From the recovery snapshot's private domain, if the public read started from one.
        let after = self.recovery_snapshot.as_ref().map_or(base, |s| s.seqno);
        assert!(after >= base, "the recovery snapshot is at or after the log's base");
        let skip = (after - base) as usize;
        let end = self.private_replay_len(log.len()).max(skip);
        let entries = log[skip..end].iter().map(|e| e.data.clone()).collect();
        self.restore_runs += 1;
        let (job, progress) = PrivateRestoreJob::new(
            self.restore_runs,
            entries,
            after + 1,
            self.recovery_snapshot.clone(),
            merged.clone(),
        );
        let run = PrivateRestoreRun {
            run: self.restore_runs,
            view: self.view,
            chain_json,
            merged,
            progress,
            started_ms: self.now_ms,
        };
        Ok((job, run))
    }

    /// The private state is restored: the transaction that opens the service (module
    /// documentation, step 3), if this node is still the primary that asked for it.
    pub(super) fn on_private_state_restored(&mut self, done: PrivateStateRestored) {
        if self.private_restore.as_ref().is_none_or(|r| r.run != done.run) {
            return;
        }
        let run = self.private_restore.take().expect("checked");
        if !self.is_primary() || self.view != run.view || !self.private_state_pending() {
            return; // another primary restores it (or already did)
        }
        let restored = match done.result {
            Ok(restored) => restored,
            Err(e) => return self.restore_failure = Some(e),
        };
        if let Err(e) = self.open_recovered_service(restored, run) {
            self.restore_failure = Some(e.message);
        }
    }

    /// Writes the opening transaction over the restored private state.
    fn open_recovered_service(&mut self, restored: WriteSet, run: PrivateRestoreRun) -> Result<TxId, ApiError> {
        let mut tx = self.store.begin();
        cairn_gov::clear_submitted_shares(&mut tx).map_err(gov_error)?;
        let info = ServiceInfo { status: ServiceStatus::Open, ..self.service_info() };
        tx.put(tables::SERVICE_INFO, tables::SINGLETON_KEY.to_vec(), serde_json::to_vec(&info).expect("json"));
        tx.put(tables::RECOVERED_LEDGER_SECRETS, tables::SINGLETON_KEY.to_vec(), run.chain_json);
        let before = std::mem::replace(&mut self.secrets, run.merged);
        // The chain goes on: the previous latest secret sealed under the new service's, and
        // fresh shares of the new one (the service is Open in this transaction).
        cairn_gov::rekey(&mut tx, &self.secret_chain(), &mut *self.fill_random).map_err(|e| {
            self.secrets = before.clone();
            gov_error(e)
        })?;
        let ws = tx.into_parts().1;
        self.recovery_snapshot = None;
        self.persist_secrets();
        let seqno = self.history.last().seqno + 1;
        self.restored = Some(Restored { seqno, secrets_before: before });
        let id = self.execute_over(restored, ws);
        self.after_private_state_restored();
        Ok(id)
    }

    /// `recovery_progress` of `GET /node/state` while the private ledger is read.
    pub(super) fn private_restore_progress(&self) -> Option<serde_json::Value> {
        let run = self.private_restore.as_ref()?;
        let (seqno, read) = run.progress.read();
        let elapsed_s = (self.now_ms.saturating_sub(run.started_ms) as f64 / 1000.0).max(1e-3);
        let rate = read as f64 / elapsed_s;
        let left = run.progress.bytes_total.saturating_sub(read) as f64;
        let eta = (rate > 0.0).then(|| (left / rate * 10.0).round() / 10.0);
        Some(json!({
            "phase": "private",
            "seqno": seqno,
            "target_seqno": run.progress.target_seqno,
            "bytes_read": read,
            "bytes_total": run.progress.bytes_total,
            "rate_bytes_per_s": rate.round() as u64,
            "eta_s": eta,
        }))
    }

    /// A backup (or a new primary's unsigned tail) applies the transaction that opened the
    /// recovered service: restore the same private state from this node's own copy of the
    /// previous entries. Returns the write set to apply at `seqno`.
    pub(super) fn restore_on_apply(&mut self, ws: WriteSet, seqno: u64) -> WriteSet {
        let Some(Some(json)) = ws.get(tables::RECOVERED_LEDGER_SECRETS, &tables::SINGLETON_KEY) else { return ws };
        if !self.private_state_pending() {
            return ws;
        }
        let fail = |e: &dyn std::fmt::Display| -> ! { panic!("entry {seqno} opens the recovered service: {e}") };
        let base = self.log_base;
        let merged = with_recovered_secrets(json, &self.secrets, base).unwrap_or_else(|e| fail(&e));
        let previous_last = self.secrets.entries()[0].0 - 1;
        let log = self.consensus.log_entries(base, previous_last);
        let replayed = &log[..self.private_replay_len(log.len())];
        // A log that starts after the previous service's snapshot: its private domain first.
        let private_base =
            private_base(self.recovery_snapshot.take().as_ref(), base, &merged).unwrap_or_else(|e| fail(&e));
        let restored = recover_private_state(private_base, replayed.iter().map(|e| &e.data[..]), base + 1, &merged)
            .unwrap_or_else(|e| fail(&e));
        let before = std::mem::replace(&mut self.secrets, merged);
        self.restored = Some(Restored { seqno, secrets_before: before });
        self.persist_secrets();
        self.after_private_state_restored();
        overlay(restored.write_set, &ws)
    }

    fn after_private_state_restored(&mut self) {
        self.out.push(Action::SetLedgerRecovery { recovery: false });
        self.snapshot_requested = true;
    }

    /// A rollback to `seqno` undid the transaction that restored the private state: back to the
    /// secrets held before it (it is restored again when the transaction is applied again).
    pub(super) fn undo_restore_after(&mut self, seqno: u64) {
        if self.restored.as_ref().is_some_and(|r| r.seqno > seqno) {
            let r = self.restored.take().expect("checked");
            self.secrets = r.secrets_before;
            self.snapshot_requested = false;
            self.persist_secrets();
            self.out.push(Action::SetLedgerRecovery { recovery: true });
        }
    }
}
