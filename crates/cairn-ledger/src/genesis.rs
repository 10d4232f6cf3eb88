//! The service "create" transaction: the first transaction of a service (and of each recovered
//! service). Writes the service identity and the first node as CCF does.
use crate::tables::{self, NodeInfo, NodeStatus, ServiceInfo, ServiceStatus};
use cairn_kv::WriteSet;

/// What the create transaction records.
#[derive(Debug, Clone)]
pub struct GenesisRecord<'a> {
    pub service_cert_pem: &'a str,
    pub node_id: &'a str,
    pub node_cert_pem: &'a str,
    pub node_public_key_pem: Option<String>,
    /// The first node's RSA encryption public key (PEM), if it has one.
    pub node_encryption_pub_key: Option<String>,
    /// The first node's RPC address (where backups forward to it).
    pub rpc_address: Option<String>,
    pub recovery_count: u64,
    pub status: ServiceStatus,
    pub create_txid: String,
}

impl GenesisRecord<'_> {
    pub fn write_set(&self) -> WriteSet {
        let mut ws = WriteSet::new();
        let info = ServiceInfo {
            cert: self.service_cert_pem.to_string(),
            status: self.status,
            recovery_count: self.recovery_count,
            previous_service_identity_version: None,
            create_txid: Some(self.create_txid.clone()),
        };
        ws.put(tables::SERVICE_INFO, tables::SINGLETON_KEY.to_vec(), serde_json::to_vec(&info).expect("json"));
        let node = NodeInfo {
            status: NodeStatus::Trusted,
            public_key: self.node_public_key_pem.clone(),
            rpc_address: self.rpc_address.clone(),
            ledger_secret_seqno: 0,
            retired_committed: false,
            encryption_pub_key: self.node_encryption_pub_key.clone(),
        };
        ws.put(tables::NODES_INFO, self.node_id.as_bytes().to_vec(), serde_json::to_vec(&node).expect("json"));
        ws.put(
            tables::ENDORSED_CERTIFICATES,
            self.node_id.as_bytes().to_vec(),
            tables::endorsed_certificate_value(self.node_cert_pem),
        );
        ws
    }
}

/// A write set that moves the service to `status`, keeping the rest of `info`.
pub fn service_status_write_set(info: &ServiceInfo, status: ServiceStatus) -> WriteSet {
    let mut ws = WriteSet::new();
    let info = ServiceInfo { status, ..info.clone() };
    ws.put(tables::SERVICE_INFO, tables::SINGLETON_KEY.to_vec(), serde_json::to_vec(&info).expect("json"));
    ws
}
