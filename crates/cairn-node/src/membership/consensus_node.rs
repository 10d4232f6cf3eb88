//! [`ConsensusNode`]: a row of `public:cairn.consensus.nodes` (design §2.2). The key is the
//! node id; the value names the node's Raft id and whether it votes. Every node turns each
//! committed change of this table into one raft-rs configuration change, in log order, so the
//! Raft configuration is ledger data and never stored anywhere else.
use serde::{Deserialize, Serialize};

/// The Cairn table holding the Raft configuration.
pub const CONSENSUS_NODES: &str = "public:cairn.consensus.nodes";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RaftRole {
    /// Receives the log, does not vote or count for commit.
    Learner,
    Voter,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsensusNode {
    pub raft_id: u64,
    pub role: RaftRole,
    pub node_to_node_address: String,
}

/// A node's Raft id: the first 8 bytes (big-endian) of its hex node id, never 0.
///
/// # Panics
/// If `node_id` is not at least 16 hex digits (node ids are SHA-256 key ids).
pub fn raft_id_of(node_id: &str) -> u64 {
    let prefix = node_id.get(..16).expect("a node id has at least 16 hex digits");
    let id = u64::from_str_radix(prefix, 16).expect("a node id is hex");
    id.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raft_id_is_the_big_endian_prefix_of_the_node_id() {
        assert_eq!(raft_id_of("00000000000000ffabcdef"), 255);
        assert_eq!(raft_id_of("0000000000000000ff"), 1, "0 is reserved");
        assert_eq!(raft_id_of("8000000000000000"), 1 << 63);
    }

    #[test]
    fn role_serialises_in_snake_case() {
        let row = ConsensusNode { raft_id: 7, role: RaftRole::Learner, node_to_node_address: "a:1".into() };
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(json, r#"{"raft_id":7,"role":"learner","node_to_node_address":"a:1"}"#);
    }
}
