//! What the shell needs from the node configuration (mapped from `cairn-config` by the binary).
use cairn_fs::Durability;
use cairn_node::CoreConfig;
use std::net::SocketAddr;
use std::path::PathBuf;

/// `command.start`: the service to create when the node has no state yet.
#[derive(Debug, Clone)]
pub struct StartSpec {
    /// (certificate PEM, encryption public key PEM, member data JSON) per member.
    pub members: Vec<(String, Option<String>, Option<serde_json::Value>)>,
    pub recovery_threshold: u64,
    pub service_cert_validity_days: u32,
}

/// `command.join`: the service to join when the node has no state yet.
#[derive(Debug, Clone)]
pub struct JoinSpec {
    /// `host:port` of an RPC interface of a node of the service.
    pub target_rpc_address: String,
    pub retry_ms: u64,
    /// The service certificate (`command.service_certificate_file`): the target is pinned to it.
    pub service_cert_pem: String,
    /// `fetch_recent_snapshot`: download the newest committed snapshot from the target (or the
    /// primary it redirects to) before joining, and start from it instead of replaying the
    /// whole ledger.
    pub fetch_recent_snapshot: bool,
    /// The join token read from `command.join_token_file` (absent file: none; the node is
    /// recorded `Pending` and members decide).
    pub join_token: Option<cairn_node::JoinToken>,
}

/// `command.recover`: the service a `Recover` node brings back (SPEC §7).
#[derive(Debug, Clone)]
pub struct RecoverSpec {
    /// `previous_service_identity_file`: the certificate the ledger's service must have.
    pub previous_service_identity_pem: String,
    /// Where it was read from (for messages).
    pub previous_service_identity_file: std::path::PathBuf,
    /// `initial_service_certificate_validity_days` of the new service certificate.
    pub service_cert_validity_days: u32,
}

#[derive(Debug, Clone)]
pub struct ShellConfig {
    pub rpc_bind: SocketAddr,
    /// `host:port` addresses clients reach the RPC interface at (published addresses).
    pub rpc_published: Vec<String>,
    /// `network.node_to_node_interface` address other nodes reach this node at.
    pub node_to_node_published: String,
    /// `network.node_to_node_interface.bind_address`.
    pub node_to_node_bind: SocketAddr,
    /// Present when `command.type = Join`.
    pub join: Option<JoinSpec>,
    /// Present when `command.type = Recover`.
    pub recover: Option<RecoverSpec>,
    /// `node_certificate.subject_name` without its `CN=` (CCF: "CN=CCF Node").
    pub node_cert_common_name: String,
    /// `node_certificate.subject_alt_names` as host names/IPs; empty = 127.0.0.1, localhost and
    /// the hosts of the published and bind addresses.
    pub node_cert_subject_alt_names: Vec<String>,
    pub service_certificate_file: PathBuf,
    /// `command.join_token_file`: where a node creating a service writes its join token.
    pub join_token_file: PathBuf,
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
    /// `max_open_sessions_hard`: connections beyond it are closed at once (after evicting an
    /// idle one, if any).
    pub max_connections: usize,
    /// `max_open_sessions_soft`: from here on, a new connection evicts the oldest idle one, or
    /// is answered 503 if every connection is busy.
    pub soft_connections: usize,
    /// `idle_connection_timeout`: a connection with no request in flight for this long is
    /// closed.
    pub idle_timeout: std::time::Duration,
}
