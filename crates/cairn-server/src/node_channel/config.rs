//! What a [`super::NodeChannel`] is told at construction: its identity and its limits, plus the
//! application's view of a peer ([`PeerAddress`]).
use std::net::SocketAddr;
use std::time::Duration;

/// Default largest frame accepted on the wire: 64 MiB of payload plus 1 KiB of headers.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 64 * 1024 * 1024 + 1024;

/// The node's TLS identity: its certificate (endorsed by the service) and private key, and the
/// service certificate every peer's certificate must be signed by. All PEM.
#[derive(Clone)]
pub struct NodeIdentity {
    pub cert_pem: String,
    pub key_pem: String,
    pub service_cert_pem: String,
}

impl std::fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeIdentity").field("cert_pem", &self.cert_pem).finish_non_exhaustive()
    }
}

/// Where a peer (known to the application by its raft id) listens, and which node id its
/// certificate must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAddress {
    /// `cairn_crypto` key id of the peer's certificate public key (hex SHA-256 of the SPKI).
    pub node_id: String,
    /// `host:port` of the peer's node-to-node interface.
    pub address: String,
}

/// Limits and timings of a [`super::NodeChannel`].
#[derive(Debug, Clone)]
pub struct NodeChannelConfig {
    /// The node-to-node interface to listen on (port 0 picks a free port).
    pub bind: SocketAddr,
    /// Largest frame accepted or sent; a larger claimed length closes the connection.
    pub max_frame_bytes: usize,
    /// Most frames queued for one peer; more are dropped.
    pub queue_frames: usize,
    /// Most bytes queued for one peer; more are dropped.
    pub queue_bytes: usize,
    /// Most inbound connections (authenticated or in handshake) at once; more are closed.
    pub max_inbound_connections: usize,
    /// First reconnect delay; doubled after each failure up to `backoff_max` (jittered).
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Bound on TCP connect plus TLS handshake, in both directions.
    pub handshake_timeout: Duration,
}

impl NodeChannelConfig {
    /// The defaults for a channel listening on `bind`.
    pub fn new(bind: SocketAddr) -> Self {
        NodeChannelConfig {
            bind,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            queue_frames: 1024,
            queue_bytes: 64 * 1024 * 1024,
            max_inbound_connections: 64,
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
            handshake_timeout: Duration::from_secs(5),
        }
    }
}
