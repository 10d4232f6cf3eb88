//! Status snapshots for `/node/consensus`-style reporting: [`ChannelStatus`] and one
//! [`PeerStatus`] per outbound peer.
use serde::Serialize;
use std::net::SocketAddr;

/// The outbound side of one peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerStatus {
    pub raft_id: u64,
    pub node_id: String,
    pub address: String,
    /// An authenticated connection is up.
    pub connected: bool,
    pub queued_frames: usize,
    pub queued_bytes: usize,
    /// Frames refused by `send` because the queue was full.
    pub dropped_frames: u64,
    /// Successful connections after the first.
    pub reconnects: u64,
    /// Failed connect or handshake attempts.
    pub connect_failures: u64,
    /// The last connect or connection error, cleared on a successful connection.
    pub last_error: Option<String>,
}

/// The whole channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelStatus {
    pub node_id: String,
    pub local_addr: SocketAddr,
    /// Sorted by raft id.
    pub peers: Vec<PeerStatus>,
    /// Inbound connections open (in handshake or authenticated).
    pub inbound_connections: usize,
    /// Inbound connections refused (handshake failure, too many connections) or closed for a
    /// framing error.
    pub inbound_refused: u64,
    pub last_inbound_error: Option<String>,
}
