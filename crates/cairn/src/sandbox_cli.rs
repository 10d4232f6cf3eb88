//! `cairn sandbox`: a local service on 127.0.0.1 with a generated member and user, opened
//! through governance, with a sample workload whose records are read back and whose receipt is
//! verified offline. Re-running it on the same workspace restarts the same service.
//! `--nodes N` (3 by default) runs N nodes in this process: node 0 starts the service and the
//! others join it while it is opening.
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
    /// Number of nodes: node 0 starts the service, the others join it.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Where keys, configuration, ledger and snapshots live.
    #[arg(long, default_value = "workspace/sandbox")]
    workspace: PathBuf,
    /// RPC port of node 0 (node i uses port + i, and port + 100 + i between nodes).
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

/// RPC port of node `i`; its node-to-node port is 100 above.
fn rpc_port(base: u16, i: usize) -> u16 {
    base + i as u16
}

fn node_to_node_port(base: u16, i: usize) -> u16 {
    base + 100 + i as u16
}

/// Keys and `node<i>.json` for each node of a fresh workspace (absolute paths, so it runs from
/// anywhere). Node 0 starts the service; the others join it.
fn prepare(ws: &Path, port: u16, nodes: usize) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(ws).with_context(|| format!("creating {}", ws.display()))?;
    let ws = ws.canonicalize()?;
    if !ws.join("member0_cert.pem").exists() {
        write_identity(Role::Member, "member0", &ws, 365)?;
        write_identity(Role::User, "user0", &ws, 365)?;
    }
    let p = |name: &str| ws.join(name).display().to_string();
    let mut paths = Vec::new();
    for i in 0..nodes {
        let config_path = ws.join(format!("node{i}.json"));
        paths.push(config_path.clone());
        if config_path.exists() {
            continue;
        }
        let command = if i == 0 {
            json!({
                "type": "Start",
                "service_certificate_file": p("service_cert.pem"),
                "join_token_file": p("join_token"),
                "start": {
                    "members": [{"certificate_file": p("member0_cert.pem"), "encryption_public_key_file": p("member0_enc_pubk.pem")}],
                    "service_configuration": {"recovery_threshold": 1},
                    // Long enough for a local network (CCF's default is one day): see the
                    // renewal command printed at the end.
                    "initial_service_certificate_validity_days": SANDBOX_CERTIFICATE_VALIDITY_DAYS
                }
            })
        } else {
            json!({
                "type": "Join",
                "service_certificate_file": p("service_cert.pem"),
                "join_token_file": p("join_token"),
                "join": {"target_rpc_address": format!("127.0.0.1:{}", rpc_port(port, 0)), "retry_timeout": "200ms"}
            })
        };
        let dir = |what: &str| ws.join(format!("node{i}")).join(what).display().to_string();
        let config = json!({
            "network": {
                "node_to_node_interface": {"bind_address": format!("127.0.0.1:{}", node_to_node_port(port, i))},
                "rpc_interfaces": {"primary": {"bind_address": format!("127.0.0.1:{}", rpc_port(port, i))}}
            },
            "command": command,
            "ledger": {"directory": dir("ledger"), "chunk_size": "1MB"},
            "snapshots": {"directory": dir("snapshots"), "tx_count": 10000},
            "ledger_signatures": {"tx_count": 5000, "delay": "5ms"},
            "consensus": {"message_timeout": "100ms", "election_timeout": "2000ms"},
            "node_data_directory": dir("node_data"),
            "node_certificate_file": dir("nodecert.pem")
        });
        std::fs::write(&config_path, serde_json::to_vec_pretty(&config)?)?;
    }
    Ok(paths)
}

pub fn run(a: SandboxArgs) -> anyhow::Result<ExitCode> {
    if a.nodes == 0 || a.nodes > 7 {
        eprintln!("error: --nodes {}: between 1 and 7", a.nodes);
        return Ok(ExitCode::from(2));
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
    let config_paths = prepare(&a.workspace, a.port, a.nodes)?;
    let ws = config_paths[0].parent().expect("config in workspace").to_path_buf();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(sandbox(a, config_paths, ws))
}

/// Validity of the sandbox's service certificate, in days.
const SANDBOX_CERTIFICATE_VALIDITY_DAYS: u64 = 30;

fn format_unix(unix_s: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_s)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

fn load_shell(path: &Path) -> anyhow::Result<cairn_server::ShellConfig> {
    let loaded = NodeConfig::load(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    shell_config(&loaded.config)
}

/// Waits until `n` voters are in the Raft configuration and node 0 knows a primary (after a
/// restart the nodes elect one first: until then node 0 can neither serve nor forward writes).
async fn wait_for_voters(client: &CairnClient, n: usize) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let consensus = client.consensus().await?;
        let voters = consensus["voters"].as_array().map_or(0, Vec::len);
        if voters >= n && client.network().await?.primary_id.is_some() {
            return Ok(());
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "only {voters} of {n} voters after 30 s: {consensus}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sandbox(a: SandboxArgs, config_paths: Vec<PathBuf>, ws: PathBuf) -> anyhow::Result<ExitCode> {
    let node = cairn_server::start_node(load_shell(&config_paths[0])?).await?;
    let url = format!("https://{}", node.rpc_address);
    let cert_path = ws.join("service_cert.pem");
    let service_cert = node.service_cert_pem.clone();
    let mut nodes = vec![node];
    // The joiners read the service certificate and the join token node 0 just wrote.
    let mut joiners = Vec::new();
    for path in &config_paths[1..] {
        joiners.push(tokio::spawn(cairn_server::start_node(load_shell(path)?)));
    }
    for joiner in joiners {
        nodes.push(joiner.await.context("joining node task")??);
    }
    let member_cert = Certificate::from_pem(&read(&ws.join("member0_cert.pem"))?)?;
    let member_key = SigningKey::from_pem(&read(&ws.join("member0_privk.pem"))?)?;
    let member = MemberSession::new(CairnClient::new(&url, &service_cert, None)?, &member_cert, member_key);
    wait_for_voters(member.client(), nodes.len()).await?;
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
    println!("Cairn sandbox: {} node(s), service Open", nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        println!("  node {i}       https://{} (node-to-node {})", n.rpc_address, n.node_to_node_address);
    }
    println!("  service cert {}", cert_path.display());
    println!("  join token   {}/join_token (mode 0600: hand it only to nodes you start with Join)", ws.display());
    println!("  member       {}/member0_{{cert,privk,enc_privk}}.pem", ws.display());
    println!("  user         {}/user0_{{cert,privk}}.pem", ws.display());
    println!("  ledgers      {}/node*/ledger", ws.display());
    let valid_to = Certificate::from_pem(&service_cert)?.validity_unix_s().1;
    println!(
        "  certificates valid until {} (unix {valid_to}); renew: cairn member --url {url} --service-cert {} \
         --cert {ws}/member0_cert.pem --key {ws}/member0_privk.pem renew-certificates --days 30",
        format_unix(valid_to),
        cert_path.display(),
        ws = ws.display()
    );
    if !a.workload.is_zero() {
        let config = WriteBenchConfig {
            clients: a.clients,
            duration: a.workload,
            warmup: Duration::ZERO,
            value_bytes: 64,
            commit_timeout: Duration::from_secs(10),
            first_write: 0,
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
    for node in nodes.into_iter().rev() {
        node.stop().await?;
    }
    Ok(ExitCode::SUCCESS)
}
