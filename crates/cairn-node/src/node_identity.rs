//! Who this node is: its signing identity (endorsed by the service), the service certificate,
//! the service key when this node holds it (every node of the service does once it has
//! started or joined; CCF shares the network identity the same way), and its addresses.
use cairn_crypto::SigningKey;
use cairn_ledger::NodeSigner;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct NodeIdentity {
    pub signer: Arc<NodeSigner>,
    pub service_cert_pem: String,
    /// The service private key: needed to endorse joining nodes.
    pub service_key: Option<Arc<SigningKey>>,
    /// Addresses clients reach this node's RPC interfaces at.
    pub rpc_addresses: Vec<String>,
    /// `network.node_to_node_interface` published address.
    pub node_to_node_address: String,
}

impl NodeIdentity {
    pub fn node_id(&self) -> &str {
        &self.signer.node_id
    }

    /// This node's Raft id ([`crate::raft_id_of`] its node id).
    pub fn raft_id(&self) -> u64 {
        crate::raft_id_of(self.node_id())
    }
}
