//! `cairn node --config node.json`: runs a node (CCF's `cchost`). A bad configuration exits 2
//! naming the key; a node that stops on a fatal error exits 1.
use anyhow::Context;
use cairn_config::NodeConfig;
use cairn_node::CoreConfig;
use cairn_server::{JoinSpec, RecoverSpec, ShellConfig, StartSpec};
use clap::Args;
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct NodeArgs {
    /// The node configuration file (CCF's JSON format; see docs/operations/configuration.md).
    #[arg(long)]
    config: PathBuf,
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
}

pub fn shell_config(c: &NodeConfig) -> anyhow::Result<ShellConfig> {
    let (name, rpc) =
        c.network.rpc_interfaces.iter().next().context("network.rpc_interfaces: at least one interface")?;
    let rpc_bind = rpc
        .bind_address
        .to_socket_addrs()
        .with_context(|| format!("network.rpc_interfaces.{name}.bind_address: {:?}", rpc.bind_address))?
        .next()
        .with_context(|| {
            format!("network.rpc_interfaces.{name}.bind_address: {:?} resolves to nothing", rpc.bind_address)
        })?;
    let mut members = Vec::new();
    let mut recovery_threshold = 1;
    let mut validity_days = 1;
    if let Some(start) = &c.command.start {
        for (i, m) in start.members.iter().enumerate() {
            let cert = std::fs::read_to_string(&m.certificate_file).with_context(|| {
                format!("command.start.members[{i}].certificate_file: {}", m.certificate_file.display())
            })?;
            let enc = match &m.encryption_public_key_file {
                Some(p) => Some(std::fs::read_to_string(p).with_context(|| {
                    format!("command.start.members[{i}].encryption_public_key_file: {}", p.display())
                })?),
                None => None,
            };
            let data = match &m.data_json_file {
                Some(p) => {
                    let text = std::fs::read_to_string(p)
                        .with_context(|| format!("command.start.members[{i}].data_json_file: {}", p.display()))?;
                    Some(serde_json::from_str(&text).with_context(|| {
                        format!("command.start.members[{i}].data_json_file: {} is not JSON", p.display())
                    })?)
                }
                None => None,
            };
            members.push((cert, enc, data));
        }
        recovery_threshold = start.recovery_threshold;
        validity_days = start.initial_service_certificate_validity_days;
    }
    let n2n = &c.network.node_to_node_interface;
    let node_to_node_bind = n2n
        .bind_address
        .to_socket_addrs()
        .with_context(|| format!("network.node_to_node_interface.bind_address: {:?}", n2n.bind_address))?
        .next()
        .with_context(|| {
            format!("network.node_to_node_interface.bind_address: {:?} resolves to nothing", n2n.bind_address)
        })?;
    let join = match &c.command.join {
        Some(j) => {
            let path = &c.command.service_certificate_file;
            let service_cert_pem = std::fs::read_to_string(path)
                .with_context(|| format!("command.service_certificate_file: {}", path.display()))?;
            Some(JoinSpec {
                target_rpc_address: j.target_rpc_address.clone(),
                retry_ms: j.retry_timeout_ms,
                service_cert_pem,
                join_token: cairn_server::read_join_token(&c.command.join_token_file)?,
                fetch_recent_snapshot: j.fetch_recent_snapshot,
            })
        }
        None => None,
    };
    let recover = match &c.command.recover {
        Some(r) => {
            let path = &r.previous_service_identity_file;
            Some(RecoverSpec {
                previous_service_identity_pem: std::fs::read_to_string(path)
                    .with_context(|| format!("command.recover.previous_service_identity_file: {}", path.display()))?,
                previous_service_identity_file: path.clone(),
                service_cert_validity_days: u32::try_from(r.initial_service_certificate_validity_days)
                    .context("command.recover.initial_service_certificate_validity_days: too large")?,
            })
        }
        None => None,
    };
    Ok(ShellConfig {
        rpc_bind,
        node_to_node_bind,
        join,
        recover,
        rpc_published: rpc.published_address.iter().cloned().collect(),
        node_to_node_published: c.network.node_to_node_interface.advertised_address().to_string(),
        node_cert_common_name: cert_common_name(&c.node_certificate.subject_name)?,
        node_cert_subject_alt_names: c
            .node_certificate
            .subject_alt_names
            .iter()
            .map(|san| san.split_once(':').map_or(san.clone(), |(_, v)| v.to_string()))
            .collect(),
        service_certificate_file: c.command.service_certificate_file.clone(),
        join_token_file: c.command.join_token_file.clone(),
        node_certificate_file: c.node_certificate_file.clone(),
        node_data_directory: c.node_data_directory.clone(),
        ledger_directory: c.ledger.directory.clone(),
        ledger_read_only_directories: c.ledger.read_only_directories.clone(),
        snapshots_directory: c.snapshots.directory.clone(),
        snapshots_read_only_directory: c.snapshots.read_only_directory.clone(),
        durability: match c.ledger.durability {
            cairn_config::Durability::Fsync => cairn_fs::Durability::Fsync,
            cairn_config::Durability::Flush => cairn_fs::Durability::Flush,
        },
        core: CoreConfig {
            signature_tx_count: c.ledger_signatures.tx_count,
            signature_delay_ms: c.ledger_signatures.delay_ms,
            snapshot_tx_count: c.snapshots.tx_count,
            chunk_size_bytes: c.ledger.chunk_size_bytes,
            election_timeout_ms: c.consensus.election_timeout_ms,
            message_timeout_ms: c.consensus.message_timeout_ms,
            join_retry_ms: c.command.join.as_ref().map_or(1000, |j| j.retry_timeout_ms),
            maximum_certificate_validity_days: c.command.start.as_ref().map_or((365, 365), |s| {
                (s.maximum_service_certificate_validity_days, s.maximum_node_certificate_validity_days)
            }),
        },
        start: StartSpec {
            members,
            recovery_threshold,
            service_cert_validity_days: u32::try_from(validity_days)
                .context("command.start.initial_service_certificate_validity_days: too large")?,
        },
        max_body_bytes: usize::try_from(rpc.max_body_size_bytes)
            .with_context(|| format!("network.rpc_interfaces.{name}.http_configuration.max_body_size: too large"))?,
        max_connections: usize::try_from(rpc.max_open_sessions_hard)
            .with_context(|| format!("network.rpc_interfaces.{name}.max_open_sessions_hard: too large"))?,
        soft_connections: usize::try_from(rpc.max_open_sessions_soft)
            .with_context(|| format!("network.rpc_interfaces.{name}.max_open_sessions_soft: too large"))?,
        idle_timeout: std::time::Duration::from_millis(c.idle_connection_timeout_ms),
    })
}

/// Every RPC session and ledger chunk holds a file descriptor: the soft `RLIMIT_NOFILE` (often
/// 1024) is raised to the hard limit, and a warning says so if it stays below what
/// `max_open_sessions_hard` needs.
fn raise_open_file_limit(shell: &cairn_server::ShellConfig) {
    let needed = shell.max_connections as u64 + 256;
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < needed => tracing::warn!(
            limit,
            max_open_sessions_hard = shell.max_connections,
            "the open-file limit is below what the sessions need: raise it (ulimit -n) or lower max_open_sessions_hard"
        ),
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(e) => tracing::warn!("could not raise the open-file limit: {e}"),
    }
}

/// `CN=NAME` (CCF's subject-name form) → `NAME`; other attributes are refused.
fn cert_common_name(subject: &str) -> anyhow::Result<String> {
    match subject.strip_prefix("CN=") {
        Some(cn) if !cn.is_empty() && !cn.contains(',') => Ok(cn.to_string()),
        _ => anyhow::bail!("node_certificate.subject_name: {subject:?}: Cairn supports \"CN=<name>\" only"),
    }
}

/// Settings read and checked but not applied by a single node yet, said once at start.
fn warn_unapplied(c: &NodeConfig) {
    if c.node_certificate.initial_validity_days != 1 {
        tracing::warn!(
            "node_certificate.initial_validity_days: node certificates are issued for 365 days (members renew them with set_node_certificate_validity or set_all_nodes_certificate_validity)"
        );
    }
}

pub fn run(a: NodeArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    let loaded = match NodeConfig::load(&a.config) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {}: {e}", a.config.display());
            return Ok(ExitCode::from(2));
        }
    };
    for w in &loaded.warnings {
        tracing::warn!("{}: {w}", a.config.display());
    }
    let config = loaded.config;
    warn_unapplied(&config);
    let shell = match shell_config(&config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}: {e:#}", a.config.display());
            return Ok(ExitCode::from(2));
        }
    };
    raise_open_file_limit(&shell);
    crate::sigbus_notice::install();
    match cairn_server::run_node(shell) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            Ok(ExitCode::from(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_names_are_cn_only() {
        let table = [
            ("CN=CCF Node", Some("CCF Node")),
            ("CN=node-1.example", Some("node-1.example")),
            ("CN=", None),
            ("O=Contoso", None),
            ("CN=a,O=b", None),
        ];
        for (subject, want) in table {
            assert_eq!(cert_common_name(subject).ok().as_deref(), want, "{subject}");
        }
    }
}
