//! The listener task: accepts TLS connections from endorsed nodes (bounded count), reads their
//! frames and pushes them into the owner's bounded mpsc, awaiting room (back-pressure on the
//! socket, nothing dropped). A newer connection from the same node id supersedes the older.
use super::config::NodeChannelConfig;
use super::endorsement::node_id_of;
use super::error::LinkError;
use super::events::{ChannelEvent, InboundFrame};
use super::framing::read_frame;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// Counters of the inbound side.
#[derive(Default)]
pub(crate) struct InboundStats {
    pub(crate) open: AtomicUsize,
    pub(crate) refused: AtomicU64,
    pub(crate) last_error: Mutex<Option<String>>,
}

impl InboundStats {
    fn refuse(&self, error: &LinkError) {
        tracing::warn!("node-to-node inbound connection refused or closed: {error}");
        self.refused.fetch_add(1, Ordering::Relaxed);
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.to_string());
    }
}

/// Owns what the listener and its connection tasks share.
pub(crate) struct Inbound {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) events: mpsc::Sender<ChannelEvent>,
    /// node id → raft id, as last given to `set_peers`.
    pub(crate) raft_ids: Arc<RwLock<HashMap<String, u64>>>,
    pub(crate) config: Arc<NodeChannelConfig>,
    pub(crate) stats: Arc<InboundStats>,
    /// node id → (connection serial, closer) of its current connection.
    live: Mutex<HashMap<String, (u64, oneshot::Sender<()>)>>,
    serial: AtomicU64,
}

/// Decrements the open-connection gauge when a connection task ends.
struct OpenGuard(Arc<InboundStats>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Inbound {
    pub(crate) fn new(
        acceptor: TlsAcceptor,
        events: mpsc::Sender<ChannelEvent>,
        raft_ids: Arc<RwLock<HashMap<String, u64>>>,
        config: Arc<NodeChannelConfig>,
        stats: Arc<InboundStats>,
    ) -> Self {
        Inbound {
            acceptor,
            events,
            raft_ids,
            config,
            stats,
            live: Mutex::new(HashMap::new()),
            serial: AtomicU64::new(0),
        }
    }

    /// Accepts until aborted; aborting drops the listener and every connection task.
    pub(crate) async fn run(self: Arc<Self>, listener: TcpListener) {
        let permits = Arc::new(Semaphore::new(self.config.max_inbound_connections));
        let mut tasks = JoinSet::new();
        loop {
            while tasks.try_join_next().is_some() {}
            let (tcp, addr) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("node-to-node accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                let io = std::io::Error::other("too many inbound connections");
                self.stats.refuse(&LinkError::Io { peer: addr.to_string(), source: io });
                continue;
            };
            self.stats.open.fetch_add(1, Ordering::Relaxed);
            let guard = OpenGuard(self.stats.clone());
            let this = self.clone();
            tasks.spawn(async move {
                let _permit = permit;
                let _guard = guard;
                if let Err(e) = this.serve(tcp, addr).await {
                    this.stats.refuse(&e);
                }
            });
        }
    }

    async fn serve(&self, tcp: TcpStream, addr: SocketAddr) -> Result<(), LinkError> {
        let _ = tcp.set_nodelay(true);
        let address = addr.to_string();
        let handshake = tokio::time::timeout(self.config.handshake_timeout, self.acceptor.accept(tcp));
        let mut tls = match handshake.await {
            Ok(Ok(tls)) => tls,
            Ok(Err(source)) => return Err(LinkError::Handshake { peer: address.clone(), address, source }),
            Err(_) => return Err(LinkError::Timeout { peer: address.clone(), address }),
        };
        let node_id = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|der| node_id_of(der))
            .ok_or_else(|| LinkError::NoCertificate { peer: address.clone() })?;
        let peer = format!("node {node_id} ({address})");
        tracing::debug!("node-to-node inbound connection from {peer}");
        let (serial, mut superseded) = self.register(&node_id);
        let result = loop {
            let read = tokio::select! {
                read = read_frame(&mut tls, self.config.max_frame_bytes, &peer) => read,
                _ = &mut superseded => {
                    tracing::debug!("{peer}: superseded by a newer connection");
                    break Ok(());
                }
            };
            let frame = match read {
                Ok(Some(frame)) => frame,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            };
            let from_raft_id = self.raft_ids.read().unwrap_or_else(|p| p.into_inner()).get(&node_id).copied();
            let event = ChannelEvent::Frame(InboundFrame { from_node_id: node_id.clone(), from_raft_id, frame });
            if self.events.send(event).await.is_err() {
                break Ok(());
            }
        };
        self.unregister(&node_id, serial);
        result
    }

    fn register(&self, node_id: &str) -> (u64, oneshot::Receiver<()>) {
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let (closer, closed) = oneshot::channel();
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        // Dropping the previous closer ends the older connection.
        live.insert(node_id.to_string(), (serial, closer));
        (serial, closed)
    }

    fn unregister(&self, node_id: &str, serial: u64) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if live.get(node_id).is_some_and(|(s, _)| *s == serial) {
            live.remove(node_id);
        }
    }
}
