//! Typed errors of the node-to-node channel: [`NodeChannelError`] for construction,
//! [`LinkError`] for one connection (always naming the peer).
use std::net::SocketAddr;

/// Why a [`super::NodeChannel`] could not be started.
#[derive(Debug, thiserror::Error)]
pub enum NodeChannelError {
    #[error("node identity: {field}: {reason}")]
    Identity { field: &'static str, reason: String },
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error("binding the node-to-node interface {address}: {source}")]
    Bind { address: SocketAddr, source: std::io::Error },
}

/// Why one connection to or from a peer failed or ended. `peer` is `raft id N` for outbound
/// connections, the node id (or socket address before authentication) for inbound ones.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("{peer}: connecting to {address}: {source}")]
    Connect { peer: String, address: String, source: std::io::Error },
    #[error("{peer}: TLS handshake with {address}: {source}")]
    Handshake { peer: String, address: String, source: std::io::Error },
    #[error("{peer}: connect and handshake with {address} timed out")]
    Timeout { peer: String, address: String },
    #[error("{peer}: presented no certificate")]
    NoCertificate { peer: String },
    #[error("{peer}: expected node id {expected}, the certificate names {actual}")]
    UnexpectedNode { peer: String, expected: String, actual: String },
    #[error("{peer}: frame of {length} bytes exceeds the maximum of {max}")]
    FrameTooLarge { peer: String, length: u64, max: usize },
    #[error("{peer}: connection lost: {source}")]
    Io { peer: String, source: std::io::Error },
    #[error("{peer}: closed the connection")]
    Closed { peer: String },
    #[error("{peer}: sent unexpected bytes on an outbound connection")]
    UnexpectedData { peer: String },
}
