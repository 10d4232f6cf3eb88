//! The join token with real processes (SPEC §2): a stranger with nothing but openssl and curl
//! gets `Pending` and no network information from an `Opening` service, however often it asks,
//! and 403 with a wrong token (recorded nowhere); a `cairn node` joining without the token stays
//! `Pending` (neither voter nor learner) until members trust it; one with the token joins at
//! once; one with a wrong token stops with a clear error; once the service is `Open` the token
//! no longer trusts anyone. The token appears in no
//! file of any node but the token file itself, and in no log; a second `Start` writes another.
mod support;

use cairn_client::CairnClient;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::cluster::{ClusterOptions, create_join_node, create_start_node, voters, wait_for};
use support::member::{Member, open_service_with_user};
use support::node_process::NodeProcess;

/// A stranger's key and self-signed certificate, made with openssl alone.
fn openssl_identity(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1", "-nodes"])
        .args(["-keyout", "key.pem", "-out", "cert.pem", "-days", "30", "-subj", "/CN=stranger"])
        .current_dir(dir)
        .output()
        .expect("openssl (Debian: openssl)");
    assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
}

/// `POST /node/join` as the stranger, with curl pinned to the service certificate; returns
/// (HTTP status, body).
fn curl_join(stranger: &Path, node: &NodeProcess, token: Option<&str>) -> (u16, Value) {
    let mut body = json!({
        "certificate": std::fs::read_to_string(stranger.join("cert.pem")).unwrap(),
        "public_encryption_key": "",
        "rpc_addresses": ["127.0.0.1:1"],
        "node_to_node_address": "127.0.0.1:2"
    });
    if let Some(t) = token {
        body["join_token"] = json!(t);
    }
    std::fs::write(stranger.join("join.json"), body.to_string()).unwrap();
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "--cacert"])
        .arg(node.dir.join("service_cert.pem"))
        .args(["--cert", "cert.pem", "--key", "key.pem", "-H", "content-type: application/json"])
        .args(["--data-binary", "@join.json"])
        .arg(format!("{}/node/join", node.url()))
        .current_dir(stranger)
        .output()
        .expect("curl (Debian: curl)");
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').expect("curl's status line");
    (code.parse().unwrap(), serde_json::from_str(body).unwrap_or(Value::Null))
}

/// The row of the node whose RPC address has port `port`, as node 0 reports it.
async fn node_row(client: &CairnClient, port: u16) -> Option<Value> {
    let nodes = client.network_nodes().await.ok()?;
    let addr = format!("127.0.0.1:{port}");
    nodes.into_iter().find(|n| n["rpc_addresses"].as_array().is_some_and(|a| a.iter().any(|x| x == &json!(addr))))
}

fn raft_config(c: &Value) -> Vec<u64> {
    let mut ids = voters(c);
    ids.extend(c["learners"].as_array().into_iter().flatten().filter_map(Value::as_u64));
    ids
}

/// Every file under `dir` except `skip`, whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8], skip: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path != skip && std::fs::read(&path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle)) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_token_trusts_a_joiner_and_only_while_the_service_is_opening() {
    let root = tempfile::tempdir().unwrap();
    let opts = ClusterOptions::default();
    let mut first = create_start_node(&root.path().join("n0"), &opts);
    tokio::task::block_in_place(|| first.start());
    let token_path = first.dir.join("join_token");
    let token = std::fs::read_to_string(&token_path).expect("Start writes the join token");
    let token = token.trim_end().to_string();
    assert_eq!(token.len(), 64, "64 hex characters");
    assert_eq!(std::fs::metadata(&token_path).unwrap().permissions().mode() & 0o777, 0o600);
    let c0 = first.client(None);
    assert_eq!(c0.network().await.unwrap().service_status, "Opening");

    // A stranger with openssl and curl: Pending, never the network information.
    let stranger = root.path().join("stranger");
    openssl_identity(&stranger);
    for _ in 0..3 {
        let (status, body) = tokio::task::block_in_place(|| curl_join(&stranger, &first, None));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["node_status"], "Pending", "{body}");
        assert!(body.get("network_info").is_none(), "a Pending answer carries no keys: {body}");
    }
    // The same stranger with a wrong token: 403, and a second stranger so refused is recorded nowhere.
    let wrong = "0".repeat(64);
    let (status, body) = tokio::task::block_in_place(|| curl_join(&stranger, &first, Some(&wrong)));
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "JoinTokenInvalid", "{body}");
    let refused = root.path().join("refused");
    openssl_identity(&refused);
    let (status, _) = tokio::task::block_in_place(|| curl_join(&refused, &first, Some(&wrong)));
    assert_eq!(status, 403);
    let log = first.last_log();
    assert!(log.contains("join refused: wrong join token") && log.contains("caller_cert_sha256"), "{log}");
    let nodes_before = c0.network_nodes().await.unwrap().len();
    assert_eq!(nodes_before, 2, "node 0 and the Pending stranger only: {:?}", c0.network_nodes().await);

    // A cairn node with a wrong token stops at once, saying why, and is recorded nowhere.
    let mut wrong_token = create_join_node(&root.path().join("wrong"), &first.dir, first.port, &opts);
    std::fs::write(wrong_token.dir.join("join_token"), format!("{}\n", "ab".repeat(32))).unwrap();
    wrong_token.spawn();
    wait_for("the node with a wrong token to exit", Duration::from_secs(30), || {
        let running = wrong_token.is_running();
        async move { (!running).then_some(()) }
    })
    .await;
    assert!(wrong_token.last_log().contains("refused this node's join token"), "{}", wrong_token.last_log());
    assert_eq!(c0.network_nodes().await.unwrap().len(), nodes_before, "the refused node is recorded nowhere");

    // A cairn node without the token: recorded Pending, neither voter nor learner.
    let mut no_token = create_join_node(&root.path().join("n1"), &first.dir, first.port, &opts);
    std::fs::remove_file(no_token.dir.join("join_token")).unwrap();
    no_token.spawn();
    let row = wait_for("the tokenless joiner's Pending row", Duration::from_secs(30), || async {
        node_row(&c0, no_token.port).await
    })
    .await;
    assert_eq!(row["status"], "Pending", "{row}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let consensus = c0.consensus().await.unwrap();
    assert_eq!(raft_config(&consensus).len(), 1, "only node 0 is in the Raft configuration: {consensus}");
    assert!(no_token.is_running());
    assert!(no_token.last_log().contains("command.join_token_file not found"), "{}", no_token.last_log());

    // A cairn node with the token: trusted at once.
    let mut with_token = create_join_node(&root.path().join("n2"), &first.dir, first.port, &opts);
    tokio::task::block_in_place(|| with_token.start());
    let c2 = with_token.client(None);
    wait_for("the joiner with the token is part of the network", Duration::from_secs(30), || async {
        c2.node_state().await.ok().filter(|s| s.state == "PartOfNetwork")
    })
    .await;

    // Members trust the tokenless node: it joins.
    let m0 = Member::load(&first.dir, "m0");
    let node_id = row["node_id"].as_str().unwrap().to_string();
    let (_, state) = m0
        .propose_and_approve(&c0, json!([{"name": "transition_node_to_trusted", "args": {"node_id": node_id}}]))
        .await;
    assert_eq!(state, "Accepted");
    tokio::task::block_in_place(|| no_token.wait_ready(Duration::from_secs(30)));
    let c1 = no_token.client(None);
    wait_for("the trusted node is part of the network", Duration::from_secs(30), || async {
        c1.node_state().await.ok().filter(|s| s.state == "PartOfNetwork")
    })
    .await;

    // Once Open, the token trusts no one.
    open_service_with_user(&first.dir, &c0).await;
    let late = root.path().join("late");
    openssl_identity(&late);
    let (status, body) = tokio::task::block_in_place(|| curl_join(&late, &first, Some(&token)));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["node_status"], "Pending", "{body}");
    assert!(body.get("network_info").is_none(), "{body}");
    let mut after_open = create_join_node(&root.path().join("n3"), &first.dir, first.port, &opts);
    after_open.spawn();
    let row =
        wait_for("the late joiner's row", Duration::from_secs(30), || async { node_row(&c0, after_open.port).await })
            .await;
    assert_eq!(row["status"], "Pending", "{row}");

    // The token is in no node file (ledger, snapshots, node data) but its own file, in no log.
    for dir in [&first.dir, &no_token.dir, &with_token.dir, &after_open.dir] {
        let found = files_containing(dir, token.as_bytes(), &dir.join("join_token"));
        assert!(found.is_empty(), "the token is in {found:?}");
    }
    after_open.kill(); // still in its join phase (Pending): nothing to shut down
    with_token.stop();
    no_token.stop();
    first.stop();

    // A second Start writes a different token.
    let mut second = create_start_node(&root.path().join("second"), &opts);
    tokio::task::block_in_place(|| second.start());
    let other = std::fs::read_to_string(second.dir.join("join_token")).unwrap();
    assert_ne!(other.trim_end(), token);
    second.stop();
}
