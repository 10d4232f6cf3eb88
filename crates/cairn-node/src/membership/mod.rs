//! Who is in the network: the consensus table (`public:cairn.consensus.nodes`, one row per
//! node with its Raft id and role), the address book handed to the transport, and the join
//! protocol's request and answer (`POST /node/join`, design §9).
mod consensus_node;
mod join_messages;
mod join_token;
mod peer_info;

pub use consensus_node::{CONSENSUS_NODES, ConsensusNode, RaftRole, raft_id_of};
pub use join_messages::{JoinAnswer, JoinRequest, NetworkInfo};
pub use join_token::{
    JOIN_TOKEN_DIGEST, JoinDecision, JoinToken, JoinTokenError, TokenCheck, digest_write_set, join_decision,
    recorded_digest,
};
pub use peer_info::PeerInfo;
