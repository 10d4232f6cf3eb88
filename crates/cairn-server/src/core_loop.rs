//! The core thread: owns the [`NodeCore`], the ledger writer and the snapshot directory, takes
//! requests from a bounded channel in batches, and performs the core's actions in order.
//! Batching is what makes group commit: every write that arrives while the ledger is being
//! fsynced is appended in the next batch and covered by the next signature's single fsync.
//!
//! Any I/O failure is fatal: the loop stops and the node exits (after a failed fsync the kernel
//! may have dropped dirty pages, so nothing written since can be trusted as durable).
use crate::crash_point::crash_point;
use crate::node_channel::{ChannelEvent, DropReason, NodeChannel, PeerAddress, SendOutcome};
use crate::node_files::{
    LEDGER_SECRETS_FILE, NODE_CERT_FILE, NodeFiles, RAFT_STATE_FILE, SERVICE_CERT_FILE, SERVICE_KEY_FILE,
    SNAPSHOT_INSTALL_FILE,
};
use crate::served_certificates::ServedCertificates;
use crate::snapshot_fetch::{SnapshotFetchLimits, SnapshotFetcher, SnapshotService, fetch_named_snapshot};
use anyhow::Context;
use cairn_fs::{FsStorage, SnapshotDirectory};
use cairn_ledger::LedgerWriter;
use cairn_ledger::snapshot::SnapshotName;
use cairn_node::{Action, Caller, Event, NodeCore, Request, RequestId, Response};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

/// The longest the loop sleeps with nothing due.
const IDLE_WAKE: Duration = Duration::from_secs(60);
/// Most requests taken into one batch.
const MAX_BATCH: usize = 4096;

/// A request for the core and where to send its answer.
pub struct CoreMsg {
    pub caller: Caller,
    pub request: Request,
    pub reply: oneshot::Sender<Response>,
}

/// A recovered service's public phase began or ended (`Action::SetLedgerRecovery`): the
/// writer's `.recovery` suffixes, and the `node_data` marker a restart reads them by.
pub(crate) fn set_ledger_recovery(
    writer: &mut cairn_ledger::LedgerWriter<cairn_fs::FsStorage>,
    files: &crate::NodeFiles,
    recovery: bool,
) -> anyhow::Result<()> {
    use crate::node_files::RECOVERY_MARKER_FILE;
    if recovery {
        files.write(RECOVERY_MARKER_FILE, b"a recovered service that has not restored its private state\n", false)?;
        writer.begin_recovery();
    } else {
        writer.end_recovery().context("dropping the .recovery suffix of the ledger chunks")?;
        crate::node_files::remove_file(files, RECOVERY_MARKER_FILE)?;
        tracing::info!("private state restored: ledger chunks no longer carry .recovery");
    }
    Ok(())
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

pub struct CoreLoop {
    pub core: NodeCore,
    pub writer: LedgerWriter<FsStorage>,
    pub snapshots: SnapshotDirectory,
    pub files: NodeFiles,
    /// The node-to-node transport (absent in tests that run a lone node without one).
    channel: Option<Arc<NodeChannel>>,
    /// Actions the join phase left for the loop to perform first.
    initial: Vec<Action>,
    /// Fetches a snapshot a primary offers in place of entries (absent in lone-node tests).
    fetcher: Option<SnapshotFetcher>,
    /// The core asked to start again from this offered snapshot (name, where to fetch it).
    install: Option<(SnapshotName, String)>,
    /// The certificates the RPC interface serves (absent in tests without one).
    served: Option<ServedCertificates>,
    pending: HashMap<RequestId, oneshot::Sender<Response>>,
    next_id: RequestId,
    /// Work done off this thread (`Action::EncodeSnapshot`, `Action::RestorePrivateState`)
    /// comes back here as the event that reports it.
    background_tx: mpsc::UnboundedSender<Event>,
    background_rx: mpsc::UnboundedReceiver<Event>,
}

/// Runs `work` while the node has no core to answer with (between a snapshot offer and the
/// next start): every request that arrives meanwhile gets `503 InstallingSnapshot` at once, and
/// peer frames are dropped (Raft resends).
async fn refusing<T>(
    work: impl std::future::Future<Output = T>,
    rx: &mut mpsc::Receiver<CoreMsg>,
    peers: &mut mpsc::Receiver<ChannelEvent>,
) -> T {
    tokio::pin!(work);
    loop {
        tokio::select! {
            out = &mut work => return out,
            Some(msg) = rx.recv() => {
                let e = cairn_node::ApiError::unavailable("InstallingSnapshot", "this node is starting again from a snapshot");
                let _ = msg.reply.send(Response::from(e));
            }
            Some(_) = peers.recv() => {}
        }
    }
}

/// Waits `pause` (a back-off before the node starts again) answering requests as [`refusing`].
pub fn pause_refusing(
    pause: Duration,
    rx: &mut mpsc::Receiver<CoreMsg>,
    peers: &mut mpsc::Receiver<ChannelEvent>,
) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("pause runtime")?;
    rt.block_on(async { refusing(tokio::time::sleep(pause), rx, peers).await });
    Ok(())
}

/// Why [`CoreLoop::run`] returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoopExit {
    /// Every request sender is gone.
    Shutdown,
    /// The node must start again from its files: it set its ledger aside for an offered
    /// snapshot (`fetched`), or could not fetch it (then the ledger is unchanged and the
    /// primary offers it again). `peers`: the ones it knew, which its new state may not name.
    StartAgain { peers: Vec<cairn_node::PeerInfo>, fetched: bool },
}

/// What wakes the core thread.
enum Input {
    Request(CoreMsg),
    Peer(ChannelEvent),
    /// Every request sender is gone: shutdown.
    Closed,
    /// The deadline passed.
    Timeout,
    /// Work done off the core thread.
    Background(Event),
}

impl CoreLoop {
    /// Serves renewed certificates through `served` (`Action::ServeCertificates`) and warns
    /// before they expire.
    pub fn with_served_certificates(mut self, served: ServedCertificates) -> Self {
        self.served = Some(served);
        self
    }

    pub fn new(
        core: NodeCore,
        writer: LedgerWriter<FsStorage>,
        snapshots: SnapshotDirectory,
        files: NodeFiles,
        channel: Option<Arc<NodeChannel>>,
        fetcher: Option<SnapshotFetcher>,
        initial: Vec<Action>,
    ) -> Self {
        let (background_tx, background_rx) = mpsc::unbounded_channel();
        CoreLoop {
            core,
            writer,
            snapshots,
            files,
            channel,
            initial,
            fetcher,
            install: None,
            served: None,
            pending: HashMap::new(),
            next_id: 0,
            background_tx,
            background_rx,
        }
    }

    /// Runs until every request sender is dropped (shutdown), the node must start again from
    /// a snapshot, or an I/O error (returned).
    pub fn run(
        mut self,
        rx: &mut mpsc::Receiver<CoreMsg>,
        peers: &mut mpsc::Receiver<ChannelEvent>,
    ) -> anyhow::Result<LoopExit> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("core runtime")?;
        for action in std::mem::take(&mut self.initial) {
            self.perform_one(action)?;
        }
        self.perform()?;
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut peer_batch = Vec::new();
        loop {
            // An idle node with nothing due still wakes once a minute (the certificate checks).
            let wait = self
                .core
                .next_deadline_ms()
                .map(|d| Duration::from_millis(d.saturating_sub(now_ms())))
                .map_or(IDLE_WAKE, |w| w.min(IDLE_WAKE));
            let background_rx = &mut self.background_rx;
            let first = rt.block_on(async {
                let sleep = tokio::time::sleep(wait);
                tokio::select! {
                    m = rx.recv() => m.map_or(Input::Closed, Input::Request),
                    Some(e) = peers.recv() => Input::Peer(e),
                    Some(e) = background_rx.recv() => Input::Background(e),
                    _ = sleep => Input::Timeout,
                }
            });
            match first {
                Input::Closed => break,
                Input::Timeout => {}
                Input::Request(msg) => batch.push(msg),
                Input::Peer(e) => peer_batch.push(e),
                Input::Background(e) => self.core.handle(e),
            }
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(m) => batch.push(m),
                    Err(_) => break,
                }
            }
            while peer_batch.len() < MAX_BATCH {
                match peers.try_recv() {
                    Ok(e) => peer_batch.push(e),
                    Err(_) => break,
                }
            }
            for event in peer_batch.drain(..) {
                match event {
                    // A service-endorsed node this node does not know yet (it joined while this
                    // node was away): its Raft id follows from its node id.
                    ChannelEvent::Frame(f) => {
                        let from = f.from_raft_id.unwrap_or_else(|| cairn_node::raft_id_of(&f.from_node_id));
                        self.core.handle(Event::PeerFrame { from, frame: f.frame })
                    }
                    ChannelEvent::Unreachable { raft_id } => self.core.handle(Event::PeerUnreachable { to: raft_id }),
                }
            }
            for msg in batch.drain(..) {
                let id = self.next_id;
                self.next_id += 1;
                self.pending.insert(id, msg.reply);
                self.core.handle(Event::Request { id, caller: msg.caller, request: msg.request });
            }
            self.core.handle(Event::Tick { now_ms: now_ms() });
            if let Some(served) = &mut self.served {
                served.warn_if_expiring((now_ms() / 1000) as i64);
            }
            self.perform()?;
            if let Some((name, rpc_address)) = self.install.take() {
                let fetched = self.install_snapshot(&rt, name, &rpc_address, rx, peers)?;
                return Ok(LoopExit::StartAgain { peers: self.core.address_book(), fetched });
            }
        }
        tracing::info!("core loop stopping: signing and syncing what was acknowledged");
        self.core.sign_pending();
        self.perform()?;
        self.writer.sync().context("final ledger sync")?;
        Ok(LoopExit::Shutdown)
    }

    /// The primary offered snapshot `name` (it holds no older entries than that): fetch and
    /// verify it, record it in `node_data` (so every start until the ledger holds entries again
    /// uses exactly it), then set the ledger aside so the next start begins after it. Returns
    /// whether it was fetched: a fetch that fails changes nothing (the node starts again from
    /// its ledger, after a back-off, and the primary offers the snapshot again).
    fn install_snapshot(
        &mut self,
        rt: &tokio::runtime::Runtime,
        name: SnapshotName,
        rpc_address: &str,
        rx: &mut mpsc::Receiver<CoreMsg>,
        peers: &mut mpsc::Receiver<ChannelEvent>,
    ) -> anyhow::Result<bool> {
        let fetcher = self.fetcher.as_ref().context("a snapshot was offered but this node cannot fetch one")?;
        let limits = SnapshotFetchLimits::default();
        let fetch = fetch_named_snapshot(
            &fetcher.client,
            rpc_address,
            name,
            &fetcher.service_cert_pem,
            &mut self.snapshots,
            &limits,
        );
        let fetched = rt.block_on(refusing(fetch, rx, peers));
        match fetched {
            Ok(service) => {
                if let SnapshotService::Previous(pem) = &service {
                    // Every start from it verifies it against that service's certificate.
                    self.files.write(crate::node_files::PREVIOUS_SERVICE_CERT_FILE, pem.as_bytes(), false)?;
                    tracing::info!(snapshot = %name, "the offered snapshot is the service's before its recovery");
                }
                let peers = serde_json::to_vec(&self.core.address_book()).expect("json");
                self.files.write(crate::node_files::INSTALL_PEERS_FILE, &peers, false)?;
                self.files.write(SNAPSHOT_INSTALL_FILE, name.to_string().as_bytes(), false)?;
                crash_point(crate::crash_point::INSTALL_AFTER_MARKER);
                let renamed = self
                    .writer
                    .supersede(name.seqno)
                    .with_context(|| format!("setting the ledger aside to start from snapshot {name}"))?;
                crash_point(crate::crash_point::INSTALL_AFTER_SUPERSEDE);
                tracing::warn!(
                    snapshot = %name,
                    set_aside = ?renamed,
                    "the primary holds no entries this old: starting again from its snapshot; the ledger chunks \
                     were renamed .superseded"
                );
                Ok(true)
            }
            Err(e) => {
                tracing::warn!(snapshot = %name, from = rpc_address, "could not fetch the offered snapshot, starting again from the ledger: {e:#}");
                Ok(false)
            }
        }
    }

    /// Runs `work` on a thread of its own; the event it returns reaches the core through the
    /// loop (dropped if the loop stopped: the work is then simply not used).
    fn in_background(&self, name: &str, work: impl FnOnce() -> Event + Send + 'static) -> anyhow::Result<()> {
        let done = self.background_tx.clone();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let _ = done.send(work());
            })
            .with_context(|| format!("starting the {name} thread"))?;
        Ok(())
    }

    /// Performs the core's actions, feeding back durability, until it has nothing more to do.
    /// Every `Sync` asked for in one round of actions is answered by one fsync at the end of the
    /// round (group commit across the whole batch of requests and peer frames): nothing in a
    /// round waits for durability, since what does (a follower's acknowledgements, the commit)
    /// is only released by the `Durable` that follows.
    fn perform(&mut self) -> anyhow::Result<()> {
        loop {
            let actions = self.core.take_actions();
            if actions.is_empty() {
                return Ok(());
            }
            let mut sync = false;
            for action in actions {
                match action {
                    Action::Sync => sync = true,
                    other => self.perform_one(other)?,
                }
            }
            if sync {
                let seqno = self.writer.sync().context("syncing the ledger")?;
                self.core.handle(Event::Durable { seqno });
            }
        }
    }

    fn snapshot_failed(&mut self, name: cairn_ledger::snapshot::SnapshotName, reason: String) {
        tracing::error!(snapshot = %name, "snapshot skipped, the node keeps serving: {reason}");
        self.core.handle(Event::SnapshotFailed { name, reason });
    }

    fn perform_one(&mut self, action: Action) -> anyhow::Result<()> {
        match action {
            Action::Append(entry) => {
                self.writer.append(&entry).with_context(|| format!("appending {} to the ledger", entry.tx_id))?
            }
            Action::Sync => {
                let seqno = self.writer.sync().context("syncing the ledger")?;
                self.core.handle(Event::Durable { seqno });
            }
            Action::CommitLedger { seqno } => {
                self.writer.commit(seqno).with_context(|| format!("committing the ledger up to {seqno}"))?
            }
            Action::Reply { id, response } => {
                if let Some(reply) = self.pending.remove(&id) {
                    // The client may have gone away; that is not the node's problem.
                    let _ = reply.send(response);
                }
            }
            // A snapshot that cannot be written (a full disk) is skipped, not fatal: the ledger
            // holds everything, and the node keeps serving (issue 11, finding 7).
            Action::EncodeSnapshot(job) => {
                let seqno = job.seqno();
                self.in_background("cairn-snapshot", move || {
                    let started = std::time::Instant::now();
                    let encoded = job.encode();
                    let elapsed_ms = started.elapsed().as_millis() as u64;
                    tracing::debug!(seqno, bytes = encoded.bytes.len(), elapsed_ms, "snapshot encoded");
                    Event::SnapshotEncoded(encoded)
                })?
            }
            Action::RestorePrivateState(job) => {
                tracing::info!(?job, "reading the private ledger");
                self.in_background("cairn-private-restore", move || {
                    let started = std::time::Instant::now();
                    let done = job.run();
                    let elapsed_ms = started.elapsed().as_millis() as u64;
                    match &done.result {
                        Ok(_) => tracing::info!(elapsed_ms, "private ledger read"),
                        Err(e) => tracing::error!(elapsed_ms, "the private state could not be restored: {e}"),
                    }
                    Event::PrivateStateRestored(done)
                })?
            }
            Action::WriteSnapshot { name, bytes } => match self.snapshots.write(&name, &bytes) {
                Ok(()) => {
                    tracing::info!(snapshot = %name, bytes = bytes.len(), "snapshot written");
                    crash_point(crate::crash_point::SNAPSHOT_AFTER_WRITE);
                }
                Err(e) => self.snapshot_failed(name, format!("writing it: {e}")),
            },
            Action::CommitSnapshot { name, receipt } => {
                crash_point(crate::crash_point::SNAPSHOT_BEFORE_COMMIT);
                match self.snapshots.commit(&name, &receipt) {
                    Ok(_) => {
                        tracing::info!(snapshot = %name, "snapshot committed");
                        crash_point(crate::crash_point::SNAPSHOT_AFTER_COMMIT);
                    }
                    Err(e) => self.snapshot_failed(name, format!("committing it: {e}")),
                }
            }
            Action::PersistLedgerSecrets { json } => self.files.write(LEDGER_SECRETS_FILE, &json, true)?,
            Action::PersistRaftState { json } => self.files.write(RAFT_STATE_FILE, &json, false)?,
            Action::TruncateLedger { seqno } => {
                self.writer.truncate(seqno).with_context(|| format!("truncating the ledger after {seqno}"))?
            }
            Action::PersistJoinedIdentity { node_cert_pem, service_cert_pem, service_key_pem } => {
                self.files.write(SERVICE_KEY_FILE, service_key_pem.as_bytes(), true)?;
                crash_point(crate::crash_point::JOIN_BETWEEN_IDENTITY_FILES);
                self.files.write(SERVICE_CERT_FILE, service_cert_pem.as_bytes(), false)?;
                self.files.write(NODE_CERT_FILE, node_cert_pem.as_bytes(), false)?;
            }
            Action::Send { to, frame } => {
                let outcome = match &self.channel {
                    Some(channel) => channel.send(to, frame),
                    None => SendOutcome::Dropped(DropReason::UnknownPeer),
                };
                if let SendOutcome::Dropped(reason) = outcome {
                    tracing::debug!(to, ?reason, "Raft frame dropped");
                    self.core.handle(Event::PeerUnreachable { to });
                }
            }
            Action::SetPeers { peers } => {
                tracing::info!(peers = ?peers.iter().map(|p| (p.raft_id, &p.node_to_node_address)).collect::<Vec<_>>(), "peers");
                if let Some(channel) = &self.channel {
                    channel.set_peers(
                        peers
                            .into_iter()
                            .map(|p| (p.raft_id, PeerAddress { node_id: p.node_id, address: p.node_to_node_address })),
                    );
                }
            }
            Action::SendJoinRequest { .. } => tracing::warn!("a join request after the join phase is ignored"),
            Action::InstallSnapshot { name, rpc_address } => self.install = Some((name, rpc_address)),
            Action::ServeCertificates { node_cert_pem, service_cert_pem } => match &mut self.served {
                // A chain that cannot be served leaves the current one in place: the node keeps
                // running, and says why.
                Some(served) => {
                    if let Some(channel) = &self.channel
                        && let Err(e) = channel.present_certificate(&node_cert_pem)
                    {
                        tracing::error!("the node-to-node interface keeps its previous certificate: {e}");
                    }
                    if let Err(e) = served.serve(&self.files, node_cert_pem, service_cert_pem) {
                        tracing::error!("the renewed certificates are not served, the previous ones still are: {e:#}");
                    }
                }
                None => tracing::info!("certificates renewed (this loop serves no RPC interface)"),
            },
            Action::SetLedgerRecovery { recovery } => set_ledger_recovery(&mut self.writer, &self.files, recovery)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn between_two_cores_requests_get_503_at_once_and_the_work_completes() {
        let (tx, mut rx) = mpsc::channel::<CoreMsg>(4);
        let (_peer_tx, mut peers) = mpsc::channel::<ChannelEvent>(4);
        let (reply, answer) = oneshot::channel();
        tx.try_send(CoreMsg { caller: Caller::default(), request: Request::Commit, reply }).unwrap();
        let started = std::time::Instant::now();
        pause_refusing(Duration::from_millis(200), &mut rx, &mut peers).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(200), "the pause lasts its whole length");
        let response = answer.blocking_recv().expect("answered during the pause");
        assert_eq!((response.status, response.body["error"]["code"].as_str()), (503, Some("InstallingSnapshot")));
    }
}
