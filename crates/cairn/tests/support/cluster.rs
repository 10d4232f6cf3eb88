//! Several real nodes of one service on 127.0.0.1: node 0 `Start`s it (one member `m0`, user
//! key `u0`), the others `Join` a running node. Every workspace holds copies of the member and
//! user keys and of the service certificate, so `NodeProcess::client` works on any of them.
use super::node_process::NodeProcess;
use super::{cairn_in, free_port};
use cairn_client::CairnClient;
use cairn_ledger::format::TxId;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

pub struct ClusterOptions {
    pub message_timeout: &'static str,
    pub election_timeout: &'static str,
    pub signature_tx_count: u64,
    pub signature_delay: &'static str,
    pub snapshot_tx_count: u64,
    pub chunk_size: &'static str,
    pub join_retry: &'static str,
    /// `command.join.fetch_recent_snapshot` of joining nodes.
    pub fetch_recent_snapshot: bool,
    /// Members `m0..` of the service (each with an encryption key) and the recovery threshold.
    pub members: usize,
    pub recovery_threshold: u64,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            message_timeout: "100ms",
            election_timeout: "1000ms",
            signature_tx_count: 100,
            signature_delay: "5ms",
            snapshot_tx_count: 1000,
            chunk_size: "64KB",
            join_retry: "200ms",
            fetch_recent_snapshot: true,
            members: 1,
            recovery_threshold: 1,
        }
    }
}

pub fn config(opts: &ClusterOptions, rpc_port: u16, command: Value) -> Value {
    json!({
        "network": {
            "node_to_node_interface": {"bind_address": format!("127.0.0.1:{}", free_port())},
            "rpc_interfaces": {"primary": {"bind_address": format!("127.0.0.1:{rpc_port}")}}
        },
        "command": command,
        "ledger": {"directory": "ledger", "chunk_size": opts.chunk_size},
        "snapshots": {"directory": "snapshots", "tx_count": opts.snapshot_tx_count},
        "ledger_signatures": {"tx_count": opts.signature_tx_count, "delay": opts.signature_delay},
        "consensus": {"message_timeout": opts.message_timeout, "election_timeout": opts.election_timeout},
        "node_data_directory": "node_data"
    })
}

/// The workspace of the node that starts the service: member keys `m0..` (`opts.members`), user
/// key `u0` and a `Start` config.
pub fn create_start_node(dir: &Path, opts: &ClusterOptions) -> NodeProcess {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..opts.members.max(1) {
        cairn_in(dir, &["keygen", "member", "--name", &format!("m{i}")]);
    }
    cairn_in(dir, &["keygen", "user", "--name", "u0"]);
    let port = free_port();
    let members: Vec<Value> = (0..opts.members.max(1))
        .map(|i| json!({"certificate_file": format!("m{i}_cert.pem"), "encryption_public_key_file": format!("m{i}_enc_pubk.pem")}))
        .collect();
    let command = json!({
        "type": "Start",
        "service_certificate_file": "service_cert.pem",
        "start": {
            "members": members,
            "service_configuration": {"recovery_threshold": opts.recovery_threshold}
        }
    });
    NodeProcess::with_config(dir, port, &config(opts, port, command))
}

/// The workspace of a node joining the node at `target_port`: the service certificate, the join
/// token and the member and user keys are copied from `first` (node 0's workspace).
pub fn create_join_node(dir: &Path, first: &Path, target_port: u16, opts: &ClusterOptions) -> NodeProcess {
    std::fs::create_dir_all(dir).unwrap();
    for name in ["service_cert.pem", "m0_cert.pem", "m0_privk.pem", "m0_enc_pubk.pem", "u0_cert.pem", "u0_privk.pem"] {
        std::fs::copy(first.join(name), dir.join(name)).unwrap_or_else(|e| panic!("copy {name}: {e}"));
    }
    // The join token node 0 wrote (`command.join_token_file`, default `join_token`), handed to
    // the joiner as an operator would: with it, a node joining an Opening service is trusted.
    std::fs::copy(first.join("join_token"), dir.join("join_token")).expect("node 0's join token");
    let port = free_port();
    let command = json!({
        "type": "Join",
        "service_certificate_file": "service_cert.pem",
        "join": {
            "target_rpc_address": format!("127.0.0.1:{target_port}"),
            "retry_timeout": opts.join_retry,
            "fetch_recent_snapshot": opts.fetch_recent_snapshot
        }
    });
    NodeProcess::with_config(dir, port, &config(opts, port, command))
}

/// Polls `check` every 20 ms until it returns `Some`, panicking with `what` after `limit`.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Committed chunk files (`ledger_A-B.committed`) of a ledger directory, as (A, B, name), sorted.
pub fn committed_chunks(ledger: &Path) -> Vec<(u64, u64, String)> {
    let mut chunks: Vec<_> = std::fs::read_dir(ledger)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let range = name.strip_prefix("ledger_")?.strip_suffix(".committed")?;
            let (a, b) = range.split_once('-')?;
            Some((a.parse().ok()?, b.parse().ok()?, name))
        })
        .collect();
    chunks.sort();
    chunks
}

/// Lines of a node's logs (all starts) that mention a panic, with a little context.
pub fn panics_in_logs(node: &NodeProcess) -> Vec<String> {
    let mut found = Vec::new();
    for n in 0..node.starts {
        let log = std::fs::read_to_string(node.dir.join(format!("node-{n}.log"))).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.contains("panicked") {
                let end = (i + 6).min(lines.len());
                found.push(format!("node-{n}.log:{}: {}", i + 1, lines[i..end].join("\n    ")));
            }
        }
    }
    found
}

pub fn role_term(c: &Value) -> (String, u64) {
    (c["role"].as_str().unwrap_or("?").to_string(), c["term"].as_u64().unwrap_or(0))
}

pub fn voters(c: &Value) -> Vec<u64> {
    c["voters"].as_array().map(|v| v.iter().filter_map(Value::as_u64).collect()).unwrap_or_default()
}

/// Index of the node reporting itself Leader (among `candidates`), with its term.
pub async fn find_leader(nodes: &[CairnClient], candidates: &[usize], min_term: u64) -> Option<(usize, u64)> {
    for &i in candidates {
        if let Ok(c) = nodes[i].consensus().await {
            let (role, term) = role_term(&c);
            if role == "Leader" && term > min_term {
                return Some((i, term));
            }
        }
    }
    None
}

/// Waits until every node in `which` reports the same commit; returns it.
pub async fn wait_same_commit(clients: &[CairnClient], which: &[usize], limit: Duration) -> TxId {
    wait_for("the same commit on every node", limit, || async {
        let mut commits = Vec::new();
        for &i in which {
            commits.push(clients[i].commit().await.ok()?);
        }
        let first = commits[0];
        (first.seqno > 0 && commits.iter().all(|c| *c == first)).then_some(first)
    })
    .await
}
