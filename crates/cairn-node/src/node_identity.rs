//! Who this node is: its signing identity (endorsed by the service) and the service certificate.
use cairn_ledger::NodeSigner;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct NodeIdentity {
    pub signer: Arc<NodeSigner>,
    pub service_cert_pem: String,
    /// Addresses clients reach this node's RPC interfaces at.
    pub rpc_addresses: Vec<String>,
}

impl NodeIdentity {
    pub fn node_id(&self) -> &str {
        &self.signer.node_id
    }
}
