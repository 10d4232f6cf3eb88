//! `cairn sandbox`: a local service on 127.0.0.1 with a generated member and user, opened
//! through governance, with a sample workload whose records are read back and whose receipt is
//! verified offline. Re-running it on the same workspace restarts the same service.
//! One node until replication lands (`--nodes` > 1 is refused).
use crate::keygen::{Role, write_identity};
use crate::node_cli::shell_config;
use anyhow::{Context, bail};
use cairn_client::bench::{LogWriter, WriteBenchConfig, run_write_bench};
use cairn_client::{CairnClient, ClientIdentity, LogTable, MemberSession};
use cairn_config::NodeConfig;
use cairn_crypto::{Certificate, SigningKey};
use cairn_ledger::receipt::Receipt;
use clap::Args;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct SandboxArgs {
    /// Number of nodes (1 until replication is implemented).
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// Where keys, configuration, ledger and snapshots live.
    #[arg(long, default_value = "workspace/sandbox")]
    workspace: PathBuf,
    /// RPC port of the node.
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// How long the sample workload writes (`0s` for none).
    #[arg(long, default_value = "5s", value_parser = cairn_client::parse_duration)]
    workload: Duration,
    /// Concurrent clients of the sample workload.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Keep serving after the workload until Ctrl-C.
    #[arg(long)]
    keep_running: bool,
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Keys and `node.json` for a fresh workspace (absolute paths, so it runs from anywhere).
fn prepare(ws: &Path, port: u16) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(ws).with_context(|| format!("creating {}", ws.display()))?;
    let ws = ws.canonicalize()?;
    let config_path = ws.join("node.json");
    if config_path.exists() {
        return Ok(config_path);
    }
    write_identity(Role::Member, "member0", &ws, 365)?;
    write_identity(Role::User, "user0", &ws, 365)?;
    let p = |name: &str| ws.join(name).display().to_string();
    let config = json!({
        "network": {
            "node_to_node_interface": {"bind_address": "127.0.0.1:0"},
            "rpc_interfaces": {"primary": {"bind_address": format!("127.0.0.1:{port}")}}
        },
        "command": {
            "type": "Start",
            "service_certificate_file": p("service_cert.pem"),
            "start": {
                "members": [{"certificate_file": p("member0_cert.pem"), "encryption_public_key_file": p("member0_enc_pubk.pem")}],
                "service_configuration": {"recovery_threshold": 1}
            }
        },
        "ledger": {"directory": p("ledger"), "chunk_size": "1MB"},
        "snapshots": {"directory": p("snapshots"), "tx_count": 10000},
        "ledger_signatures": {"tx_count": 5000, "delay": "5ms"},
        "node_data_directory": p("node_data"),
        "node_certificate_file": p("nodecert.pem")
    });
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config)?)?;
    Ok(config_path)
}

pub fn run(a: SandboxArgs) -> anyhow::Result<ExitCode> {
    if a.nodes != 1 {
        eprintln!(
            "error: --nodes {}: multi-node networks need replication, which is not implemented yet; use --nodes 1",
            a.nodes
        );
        return Ok(ExitCode::from(2));
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
    let config_path = prepare(&a.workspace, a.port)?;
    let ws = config_path.parent().expect("config in workspace").to_path_buf();
    let loaded = NodeConfig::load(&config_path).map_err(|e| anyhow::anyhow!("{}: {e}", config_path.display()))?;
    let shell = shell_config(&loaded.config)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(sandbox(a, shell, ws))
}

async fn sandbox(a: SandboxArgs, shell: cairn_server::ShellConfig, ws: PathBuf) -> anyhow::Result<ExitCode> {
    let node = cairn_server::start_node(shell).await?;
    let url = format!("https://{}", node.rpc_address);
    let cert_path = ws.join("service_cert.pem");
    let service_cert = node.service_cert_pem.clone();
    let member_cert = Certificate::from_pem(&read(&ws.join("member0_cert.pem"))?)?;
    let member_key = SigningKey::from_pem(&read(&ws.join("member0_privk.pem"))?)?;
    let member = MemberSession::new(CairnClient::new(&url, &service_cert, None)?, &member_cert, member_key);
    let network = member.client().network().await?;
    if network.service_status != "Open" {
        let user_cert = read(&ws.join("user0_cert.pem"))?;
        let p = member.propose(&json!({"actions": [{"name": "set_user", "args": {"cert": user_cert}}]})).await?;
        let p = member.vote(&p.proposal_id, true).await?;
        if p.proposal_state != "Accepted" {
            bail!("set_user proposal ended {}", p.proposal_state);
        }
        let p = member.open_service(&service_cert, None).await?;
        if p.proposal_state != "Accepted" {
            bail!("transition_service_to_open ended {}", p.proposal_state);
        }
    }
    let identity =
        ClientIdentity { cert_pem: read(&ws.join("user0_cert.pem"))?, key_pem: read(&ws.join("user0_privk.pem"))? };
    let user = CairnClient::new(&url, &service_cert, Some(identity))?;
    println!("Cairn sandbox: 1 node, service Open");
    println!("  node         {url}");
    println!("  service cert {}", cert_path.display());
    println!("  member       {}/member0_{{cert,privk,enc_privk}}.pem", ws.display());
    println!("  user         {}/user0_{{cert,privk}}.pem", ws.display());
    println!("  ledger       {}/ledger", ws.display());
    if !a.workload.is_zero() {
        let config = WriteBenchConfig {
            clients: a.clients,
            duration: a.workload,
            warmup: Duration::ZERO,
            value_bytes: 64,
            commit_timeout: Duration::from_secs(10),
        };
        let report = run_write_bench(LogWriter { client: user.clone(), table: LogTable::Private }, &config).await;
        println!("workload: {}", report.summary_line());
    }
    let tx = user.log_write(LogTable::Private, u64::MAX, "hello from the sandbox").await?;
    user.wait_committed(tx, Duration::from_secs(10)).await?;
    let back = user.log_read(LogTable::Private, u64::MAX).await?;
    anyhow::ensure!(back.as_deref() == Some("hello from the sandbox"), "read back {back:?}");
    let receipt: Receipt = serde_json::from_value(user.receipt(tx).await?)?;
    let verified = receipt.verify(&Certificate::from_pem(&service_cert)?)?;
    let receipt_path = ws.join("receipt.json");
    std::fs::write(&receipt_path, serde_json::to_vec_pretty(&receipt)?)?;
    println!(
        "record written at {tx}, committed, read back; receipt {} verifies (root {})",
        receipt_path.display(),
        verified.root.to_hex()
    );
    println!(
        "try: curl --cacert {} --cert {ws}/user0_cert.pem --key {ws}/user0_privk.pem '{url}/app/log/private?id={}'",
        cert_path.display(),
        u64::MAX,
        ws = ws.display()
    );
    if a.keep_running {
        println!("serving until Ctrl-C");
        tokio::signal::ctrl_c().await?;
    }
    node.stop().await?;
    Ok(ExitCode::SUCCESS)
}
