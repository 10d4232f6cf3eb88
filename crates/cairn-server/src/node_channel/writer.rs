//! The writer task of one peer: connects as a TLS client (the service endorsement replaces the
//! host-name check; the certificate must carry the expected node id), writes queued frames in
//! order, watches the connection for loss, and reconnects with jittered exponential backoff.
use super::config::{NodeChannelConfig, PeerAddress};
use super::endorsement::node_id_of;
use super::error::LinkError;
use super::events::ChannelEvent;
use super::framing::write_frame;
use super::peer_queue::PeerQueue;
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Owns what one peer's writer task needs.
pub(crate) struct Writer {
    pub(crate) raft_id: u64,
    pub(crate) queue: Arc<PeerQueue>,
    pub(crate) target: watch::Receiver<PeerAddress>,
    pub(crate) connector: TlsConnector,
    pub(crate) events: mpsc::Sender<ChannelEvent>,
    pub(crate) config: Arc<NodeChannelConfig>,
}

/// How a live connection ended.
enum End {
    /// `set_peers` changed the address or node id: reconnect at once.
    Retarget,
    Lost(LinkError),
    /// The channel is gone.
    Shutdown,
}

fn jittered(delay: Duration) -> Duration {
    let full = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(rand::random_range(full / 2..=full))
}

impl Writer {
    pub(crate) async fn run(mut self) {
        let peer = format!("raft id {}", self.raft_id);
        let mut delay = self.config.backoff_min;
        let mut ever_connected = false;
        let mut quiet = false;
        loop {
            let target = self.target.borrow_and_update().clone();
            match self.connect(&peer, &target).await {
                Ok(stream) => {
                    if ever_connected {
                        self.queue.reconnects.fetch_add(1, Ordering::Relaxed);
                    }
                    ever_connected = true;
                    quiet = false;
                    delay = self.config.backoff_min;
                    self.queue.set_error(None);
                    self.queue.connected.store(true, Ordering::Relaxed);
                    tracing::info!(raft_id = self.raft_id, node_id = %target.node_id, address = %target.address, "node-to-node connection up");
                    let end = self.pump(&peer, &target, stream).await;
                    self.queue.connected.store(false, Ordering::Relaxed);
                    match end {
                        End::Shutdown => return,
                        End::Retarget => continue,
                        End::Lost(e) => {
                            tracing::info!(raft_id = self.raft_id, "node-to-node connection lost: {e}");
                            self.queue.set_error(Some(e.to_string()));
                        }
                    }
                }
                Err(e) => {
                    self.queue.connect_failures.fetch_add(1, Ordering::Relaxed);
                    if quiet {
                        tracing::debug!(raft_id = self.raft_id, "node-to-node connect failed: {e}");
                    } else {
                        tracing::info!(raft_id = self.raft_id, "node-to-node connect failed: {e}");
                        quiet = true;
                    }
                    self.queue.set_error(Some(e.to_string()));
                }
            }
            if !self.report_unreachable() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(jittered(delay)) => {}
                changed = self.target.changed() => if changed.is_err() { return },
            }
            delay = (delay * 2).min(self.config.backoff_max);
        }
    }

    /// Tells the owner; `false` if the owner is gone. Advisory, so never waits.
    fn report_unreachable(&self) -> bool {
        match self.events.try_send(ChannelEvent::Unreachable { raft_id: self.raft_id }) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::debug!(raft_id = self.raft_id, "event queue full; unreachable notice not delivered");
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    async fn connect(&self, peer: &str, target: &PeerAddress) -> Result<TlsStream<TcpStream>, LinkError> {
        let address = target.address.clone();
        let attempt = async {
            let tcp = TcpStream::connect(&address).await.map_err(|source| LinkError::Connect {
                peer: peer.to_string(),
                address: address.clone(),
                source,
            })?;
            let _ = tcp.set_nodelay(true);
            let name = ServerName::from(rustls::pki_types::IpAddr::from(std::net::Ipv4Addr::LOCALHOST));
            let tls = self.connector.connect(name, tcp).await.map_err(|source| LinkError::Handshake {
                peer: peer.to_string(),
                address: address.clone(),
                source,
            })?;
            let actual = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|der| node_id_of(der))
                .ok_or_else(|| LinkError::NoCertificate { peer: peer.to_string() })?;
            if actual != target.node_id {
                return Err(LinkError::UnexpectedNode {
                    peer: peer.to_string(),
                    expected: target.node_id.clone(),
                    actual,
                });
            }
            Ok(tls)
        };
        match tokio::time::timeout(self.config.handshake_timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(LinkError::Timeout { peer: peer.to_string(), address }),
        }
    }

    /// Writes queued frames until the connection fails or the target changes. The peer never
    /// writes on this connection: a read returning anything (an alert, EOF) ends it.
    async fn pump(&mut self, peer: &str, target: &PeerAddress, stream: TlsStream<TcpStream>) -> End {
        let (mut reader, mut writer) = tokio::io::split(stream);
        let mut probe = [0u8; 1];
        loop {
            tokio::select! {
                frame = self.queue.next() => {
                    if let Err(e) = write_frame(&mut writer, &frame, peer).await {
                        return End::Lost(e);
                    }
                    if self.queue.len().0 == 0
                        && let Err(source) = writer.flush().await {
                            return End::Lost(LinkError::Io { peer: peer.to_string(), source });
                        }
                }
                read = reader.read(&mut probe) => {
                    return End::Lost(match read {
                        Ok(0) => LinkError::Closed { peer: peer.to_string() },
                        Ok(_) => LinkError::UnexpectedData { peer: peer.to_string() },
                        Err(source) => LinkError::Io { peer: peer.to_string(), source },
                    });
                }
                changed = self.target.changed() => {
                    if changed.is_err() {
                        return End::Shutdown;
                    }
                    if *self.target.borrow_and_update() != *target {
                        return End::Retarget;
                    }
                }
            }
        }
    }
}
