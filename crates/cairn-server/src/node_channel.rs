//! Node-to-node transport (`docs/internals/replication.md` §8): [`NodeChannel`] keeps one
//! mutually authenticated TLS connection to each peer (outbound, for its frames) and accepts
//! connections from peers (inbound, for theirs). Both ends must present a certificate endorsed
//! by the service; a node is named by the key id of its certificate, the application's raft id
//! comes from [`NodeChannel::set_peers`].
//!
//! On the stream each frame is `u32 little-endian length | bytes`; the bytes are opaque here.
//! `send` never waits: each peer has a bounded queue drained by its writer task, which
//! reconnects with jittered exponential backoff. Inbound frames go to the owner's bounded mpsc
//! with back-pressure. Dropping (or [`NodeChannel::close`]) stops every task.
mod config;
mod endorsement;
mod error;
mod events;
mod framing;
mod inbound;
mod node_tls;
mod peer_queue;
mod presented_certificate;
mod status;
mod writer;

pub use config::{DEFAULT_MAX_FRAME_BYTES, NodeChannelConfig, NodeIdentity, PeerAddress};
pub use error::{LinkError, NodeChannelError};
pub use events::{ChannelEvent, DropReason, InboundFrame, SendOutcome};
pub use node_tls::{NODE_ALPN, NodeTls};
pub use status::{ChannelStatus, PeerStatus};

use inbound::{Inbound, InboundStats};
use peer_queue::PeerQueue;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use writer::Writer;

/// One outbound peer: its target (watched by the writer), queue and writer task.
struct PeerLink {
    target: watch::Sender<PeerAddress>,
    queue: Arc<PeerQueue>,
    writer: JoinHandle<()>,
}

impl Drop for PeerLink {
    fn drop(&mut self) {
        self.writer.abort();
    }
}

/// Owns the listener task, one writer task and queue per peer, and the node id → raft id map.
pub struct NodeChannel {
    node_id: String,
    local_addr: SocketAddr,
    config: Arc<NodeChannelConfig>,
    connector: TlsConnector,
    events: mpsc::Sender<ChannelEvent>,
    runtime: Handle,
    peers: Mutex<BTreeMap<u64, PeerLink>>,
    raft_ids: Arc<RwLock<HashMap<String, u64>>>,
    inbound: Arc<InboundStats>,
    listener: JoinHandle<()>,
    /// The node certificate this node presents (renewed in place).
    presented: Arc<presented_certificate::PresentedCertificate>,
}

impl std::fmt::Debug for NodeChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeChannel")
            .field("node_id", &self.node_id)
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl NodeChannel {
    /// Binds `config.bind` and starts accepting; inbound frames and unreachability notices go
    /// to `events`. No peers until [`NodeChannel::set_peers`]. Must run inside a tokio runtime.
    pub async fn start(
        identity: &NodeIdentity,
        config: NodeChannelConfig,
        events: mpsc::Sender<ChannelEvent>,
    ) -> Result<Self, NodeChannelError> {
        let tls = NodeTls::new(identity)?;
        let listener = TcpListener::bind(config.bind)
            .await
            .map_err(|source| NodeChannelError::Bind { address: config.bind, source })?;
        let local_addr =
            listener.local_addr().map_err(|source| NodeChannelError::Bind { address: config.bind, source })?;
        let config = Arc::new(config);
        let raft_ids = Arc::new(RwLock::new(HashMap::new()));
        let stats = Arc::new(InboundStats::default());
        let inbound = Arc::new(Inbound::new(
            TlsAcceptor::from(tls.server.clone()),
            events.clone(),
            raft_ids.clone(),
            config.clone(),
            stats.clone(),
        ));
        let runtime = Handle::current();
        let listener = runtime.spawn(inbound.run(listener));
        tracing::info!(node_id = %tls.node_id, %local_addr, "node-to-node interface listening");
        Ok(NodeChannel {
            node_id: tls.node_id,
            local_addr,
            connector: TlsConnector::from(tls.client),
            config,
            events,
            runtime,
            peers: Mutex::new(BTreeMap::new()),
            raft_ids,
            inbound: stats,
            listener,
            presented: tls.presented,
        })
    }

    /// Presents `cert_pem` (this node's renewed certificate: the same key, new dates) on every
    /// connection made from now on; connections already up keep theirs.
    pub fn present_certificate(&self, cert_pem: &str) -> Result<(), NodeChannelError> {
        let cert = cairn_crypto::Certificate::from_pem(cert_pem)
            .map_err(|e| NodeChannelError::Identity { field: "cert_pem", reason: e.to_string() })?;
        self.presented.replace(rustls::pki_types::CertificateDer::from(cert.der().to_vec()))
    }

    /// The certificate this node presents now (DER).
    pub fn presented_certificate(&self) -> Vec<u8> {
        self.presented.certificate().to_vec()
    }

    /// This node's id (key id of its certificate).
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The address the listener is bound to (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    fn links(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, PeerLink>> {
        self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the peer set: new raft ids get a queue and a writer that connects at once;
    /// changed addresses or node ids make the writer reconnect (queued frames kept); absent raft
    /// ids are stopped and their queued frames discarded. An entry naming this node is ignored.
    pub fn set_peers(&self, peers: impl IntoIterator<Item = (u64, PeerAddress)>) {
        let peers: BTreeMap<u64, PeerAddress> = peers.into_iter().filter(|(_, p)| p.node_id != self.node_id).collect();
        {
            let mut raft_ids = self.raft_ids.write().unwrap_or_else(|p| p.into_inner());
            *raft_ids = peers.iter().map(|(raft_id, p)| (p.node_id.clone(), *raft_id)).collect();
        }
        let mut links = self.links();
        links.retain(|raft_id, _| peers.contains_key(raft_id));
        for (raft_id, address) in peers {
            if let Some(link) = links.get(&raft_id) {
                link.target.send_if_modified(|current| {
                    let changed = *current != address;
                    *current = address.clone();
                    changed
                });
                continue;
            }
            let queue = Arc::new(PeerQueue::new(self.config.queue_frames, self.config.queue_bytes));
            let (target, watched) = watch::channel(address);
            let writer = Writer {
                raft_id,
                queue: queue.clone(),
                target: watched,
                connector: self.connector.clone(),
                events: self.events.clone(),
                config: self.config.clone(),
            };
            let writer = self.runtime.spawn(writer.run());
            links.insert(raft_id, PeerLink { target, queue, writer });
        }
    }

    /// Queues `frame` for `to`; never waits. A frame not queued is dropped (the core may
    /// `report_unreachable`).
    pub fn send(&self, to: u64, frame: Vec<u8>) -> SendOutcome {
        if frame.len() > self.config.max_frame_bytes {
            return SendOutcome::Dropped(DropReason::TooLarge);
        }
        let links = self.links();
        let Some(link) = links.get(&to) else {
            return SendOutcome::Dropped(DropReason::UnknownPeer);
        };
        if link.queue.push(frame) { SendOutcome::Queued } else { SendOutcome::Dropped(DropReason::QueueFull) }
    }

    /// A snapshot of the connection state and counters.
    pub fn status(&self) -> ChannelStatus {
        let peers = self
            .links()
            .iter()
            .map(|(raft_id, link)| {
                let target = link.target.borrow().clone();
                let (queued_frames, queued_bytes) = link.queue.len();
                PeerStatus {
                    raft_id: *raft_id,
                    node_id: target.node_id,
                    address: target.address,
                    connected: link.queue.connected.load(Ordering::Relaxed),
                    queued_frames,
                    queued_bytes,
                    dropped_frames: link.queue.dropped.load(Ordering::Relaxed),
                    reconnects: link.queue.reconnects.load(Ordering::Relaxed),
                    connect_failures: link.queue.connect_failures.load(Ordering::Relaxed),
                    last_error: link.queue.error(),
                }
            })
            .collect();
        ChannelStatus {
            node_id: self.node_id.clone(),
            local_addr: self.local_addr,
            peers,
            inbound_connections: self.inbound.open.load(Ordering::Relaxed),
            inbound_refused: self.inbound.refused.load(Ordering::Relaxed),
            last_inbound_error: self.inbound.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }

    /// Stops every task and waits until they are gone (the listening port is then free).
    pub async fn close(mut self) {
        self.listener.abort();
        let _ = (&mut self.listener).await;
        let links = std::mem::take(&mut *self.links());
        for (_, mut link) in links {
            link.writer.abort();
            let _ = (&mut link.writer).await;
        }
    }
}

impl Drop for NodeChannel {
    fn drop(&mut self) {
        self.listener.abort();
        // Each `PeerLink` aborts its writer when dropped.
    }
}
