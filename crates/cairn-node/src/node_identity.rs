//! Who this node is: its signing identity (endorsed by the service), the service certificate,
//! the service key when this node holds it (every node of the service does once it has
//! started or joined; CCF shares the network identity the same way), and its addresses.
use cairn_crypto::{EncryptionKeyPair, SigningKey};
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
    /// The node's RSA key: a ledger rekey seals the new secret to its public half (recorded in
    /// `nodes.info` as `encryption_pub_key`). `None` for a node created before Cairn kept one:
    /// a rekey then refuses to leave it behind.
    pub encryption_key: Option<Arc<EncryptionKeyPair>>,
}

impl NodeIdentity {
    pub fn node_id(&self) -> &str {
        &self.signer.node_id
    }

    /// The PEM public half of [`NodeIdentity::encryption_key`].
    pub fn encryption_pub_key_pem(&self) -> Option<String> {
        self.encryption_key.as_ref().map(|k| k.public_key().to_pem())
    }

    /// This node's Raft id ([`crate::raft_id_of`] its node id).
    pub fn raft_id(&self) -> u64 {
        crate::raft_id_of(self.node_id())
    }
}
