//! [`PeerInfo`]: one entry of the transport's address book.
use serde::{Deserialize, Serialize};

/// A node this node may exchange Raft frames with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    pub raft_id: u64,
    /// SHA-256 key id of the node's certificate (its CCF node id).
    pub node_id: String,
    /// `network.node_to_node_interface` published address, `host:port`.
    pub node_to_node_address: String,
}
