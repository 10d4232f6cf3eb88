//! What the shell needs from the node configuration (mapped from `cairn-config` by the binary).
use cairn_fs::Durability;
use cairn_node::CoreConfig;
use std::net::SocketAddr;
use std::path::PathBuf;

/// `command.start`: the service to create when the node has no state yet.
#[derive(Debug, Clone)]
pub struct StartSpec {
    /// (certificate PEM, encryption public key PEM) per member.
    pub members: Vec<(String, Option<String>)>,
    pub recovery_threshold: u64,
    pub service_cert_validity_days: u32,
}

#[derive(Debug, Clone)]
pub struct ShellConfig {
    pub rpc_bind: SocketAddr,
    /// Host names/IPs the RPC certificate is valid for (besides 127.0.0.1 and localhost).
    pub rpc_published: Vec<String>,
    pub service_certificate_file: PathBuf,
    pub node_certificate_file: PathBuf,
    pub node_data_directory: PathBuf,
    pub ledger_directory: PathBuf,
    pub ledger_read_only_directories: Vec<PathBuf>,
    pub snapshots_directory: PathBuf,
    pub snapshots_read_only_directory: Option<PathBuf>,
    pub durability: Durability,
    pub core: CoreConfig,
    pub start: StartSpec,
    pub max_body_bytes: usize,
    pub max_connections: usize,
}
