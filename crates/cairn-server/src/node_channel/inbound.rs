//! The listener task: accepts TLS connections from endorsed nodes (bounded count), reads their
//! frames and pushes them into the owner's bounded mpsc, awaiting room (back-pressure on the
//! socket, nothing dropped). A newer connection from the same node id supersedes the older.
//!
//! The slots are `ConnectionSlots`: a connection that has not authenticated yet (TLS handshake
//! with an endorsed node certificate) is evicted by a newcomer when every slot is taken, so
//! strangers holding the port open cannot keep the service's nodes out (issue 11, finding 4).
//! Refusals are logged at most once per 10 s, with the count suppressed in between.
use super::config::NodeChannelConfig;
use super::endorsement::node_id_of;
use super::error::LinkError;
use super::events::{ChannelEvent, InboundFrame};
use super::framing::read_frame;
use crate::connection_slots::{Admission, ConnectionSlots, Slot};
use crate::rate_limited_log::RateLimitedLog;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// Counters of the inbound side.
pub(crate) struct InboundStats {
    pub(crate) open: AtomicUsize,
    pub(crate) refused: AtomicU64,
    pub(crate) last_error: Mutex<Option<String>>,
    refusal_log: RateLimitedLog,
}

impl Default for InboundStats {
    fn default() -> Self {
        InboundStats {
            open: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
            last_error: Mutex::new(None),
            refusal_log: RateLimitedLog::new(Duration::from_secs(10)),
        }
    }
}

impl InboundStats {
    fn refuse(&self, error: &LinkError) {
        if let Some(suppressed) = self.refusal_log.allow() {
            tracing::warn!(suppressed, "node-to-node inbound connection refused or closed: {error}");
        }
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
        let max = self.config.max_inbound_connections;
        let slots = ConnectionSlots::new(max, max);
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
            let slot = match slots.admit() {
                Admission::Admitted(slot) | Admission::OverSoftLimit(slot) => slot,
                Admission::Refused => {
                    let io = std::io::Error::other("too many authenticated inbound connections");
                    self.stats.refuse(&LinkError::Io { peer: addr.to_string(), source: io });
                    continue;
                }
            };
            self.stats.open.fetch_add(1, Ordering::Relaxed);
            let guard = OpenGuard(self.stats.clone());
            let this = self.clone();
            tasks.spawn(async move {
                let _guard = guard;
                if let Err(e) = this.serve(tcp, addr, slot).await {
                    this.stats.refuse(&e);
                }
            });
        }
    }

    async fn serve(&self, tcp: TcpStream, addr: SocketAddr, mut slot: Slot) -> Result<(), LinkError> {
        let _ = tcp.set_nodelay(true);
        let address = addr.to_string();
        let evicted = slot.take_eviction().expect("a new slot has its eviction signal");
        let handshake = tokio::time::timeout(self.config.handshake_timeout, self.acceptor.accept(tcp));
        let mut tls = tokio::select! {
            h = handshake => match h {
                Ok(Ok(tls)) => tls,
                Ok(Err(source)) => return Err(LinkError::Handshake { peer: address.clone(), address, source }),
                Err(_) => return Err(LinkError::Timeout { peer: address.clone(), address }),
            },
            _ = evicted => {
                let io = std::io::Error::other("evicted before authenticating: every slot was taken");
                return Err(LinkError::Io { peer: address, source: io });
            }
        };
        let node_id = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|der| node_id_of(der))
            .ok_or_else(|| LinkError::NoCertificate { peer: address.clone() })?;
        let peer = format!("node {node_id} ({address})");
        slot.busy(); // authenticated: no longer evictable
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
