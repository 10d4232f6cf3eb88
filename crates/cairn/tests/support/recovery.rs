//! Disaster-recovery scenarios with real processes: `Recover` workspaces on copies of a node's
//! files, records written and read back concurrently, members opening a recovered service and
//! submitting their shares with `cairn member share submit`.
use super::cluster::{ClusterOptions, config, wait_for};
use super::member::Member;
use super::node_process::NodeProcess;
use super::{cairn_in, free_port};
use cairn_client::{CairnClient, LogTable, TxId};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub fn opts() -> ClusterOptions {
    ClusterOptions {
        members: 3,
        recovery_threshold: 2,
        snapshot_tx_count: 1_500,
        signature_tx_count: 50,
        chunk_size: "256KB",
        fetch_recent_snapshot: false,
        ..ClusterOptions::default()
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// A `Recover` workspace on copies of `node`'s ledger and snapshots, with the member and user
/// keys and the previous service certificate.
pub fn recover_node(dir: &Path, node: &Path, keys: &Path) -> NodeProcess {
    std::fs::create_dir_all(dir).unwrap();
    copy_dir(&node.join("ledger"), &dir.join("ledger"));
    if node.join("snapshots").exists() {
        copy_dir(&node.join("snapshots"), &dir.join("snapshots"));
    }
    for entry in std::fs::read_dir(keys).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".pem") && (name.starts_with('m') || name.starts_with("u0")) {
            std::fs::copy(keys.join(&name), dir.join(&name)).unwrap();
        }
    }
    std::fs::copy(node.join("service_cert.pem"), dir.join("previous_service_cert.pem")).unwrap();
    let port = free_port();
    let command = json!({
        "type": "Recover",
        "service_certificate_file": "service_cert.pem",
        "recover": {"previous_service_identity_file": "previous_service_cert.pem"}
    });
    NodeProcess::with_config(dir, port, &config(&opts(), port, command))
}

/// Writes private and public records `from..=to` from 8 concurrent lanes; returns each
/// record's (private, public) transaction ids, by record id.
pub async fn write_records(client: &CairnClient, from: u64, to: u64) -> Vec<(TxId, TxId)> {
    let client = Arc::new(client.clone());
    let mut tasks = Vec::new();
    for lane in 0..8u64 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut txs = Vec::new();
            for id in (from..=to).filter(|id| id % 8 == lane) {
                let private = client.log_write(LogTable::Private, id, &format!("private {id}")).await.unwrap();
                let public = client.log_write(LogTable::Public, id, &format!("public {id}")).await.unwrap();
                txs.push((id, (private, public)));
            }
            txs
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    all.into_iter().map(|(_, txs)| txs).collect()
}

pub async fn check_records(client: &CairnClient, ids: impl Iterator<Item = u64>, node: &str) {
    let ids: Vec<u64> = ids.collect();
    let client = Arc::new(client.clone());
    let mut tasks = Vec::new();
    for lane in 0..8usize {
        let client = client.clone();
        let ids: Vec<u64> = ids.iter().copied().skip(lane).step_by(8).collect();
        let node = node.to_string();
        tasks.push(tokio::spawn(async move {
            for id in ids {
                let private = client.log_read(LogTable::Private, id).await.unwrap();
                assert_eq!(private.as_deref(), Some(format!("private {id}").as_str()), "{node}: private {id}");
                let public = client.log_read(LogTable::Public, id).await.unwrap();
                assert_eq!(public.as_deref(), Some(format!("public {id}").as_str()), "{node}: public {id}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// Members m0 and m1 open the recovered service (previous → next identity), then submit their
/// shares with the CLI; returns the answers of the submissions.
pub fn open_with_shares(node: &NodeProcess, previous_cert: &str) -> Vec<String> {
    let rt = rt();
    let client = node.client(None);
    let args = json!({"previous_service_identity": previous_cert, "next_service_identity": node.service_cert()});
    let actions = json!([{"name": "transition_service_to_open", "args": args}]);
    assert_eq!(rt.block_on(pass_with_two(&client, &node.dir, actions)), "Accepted");
    let status = rt.block_on(client.network()).unwrap().service_status;
    assert_eq!(status, "WaitingForRecoveryShares");
    let mut answers = Vec::new();
    for m in ["m0", "m1"] {
        let out = member_cli(node, m, &["share", "submit"]);
        assert!(out.status.success(), "{m}: {}", String::from_utf8_lossy(&out.stderr));
        answers.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    answers
}

/// `cairn member ... ARGS` as member `m` (`mN_*.pem` in the node's workspace), which must
/// succeed.
pub fn member_cli(node: &NodeProcess, m: &str, args: &[&str]) -> std::process::Output {
    cairn_in(&node.dir, &member_args(node, m, args).iter().map(String::as_str).collect::<Vec<_>>())
}

/// [`member_cli`] that may fail.
pub fn try_member_cli(node: &NodeProcess, m: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(super::cairn_bin())
        .args(member_args(node, m, args))
        .current_dir(&node.dir)
        .output()
        .expect("run cairn")
}

fn member_args(node: &NodeProcess, m: &str, args: &[&str]) -> Vec<String> {
    let mut all: Vec<String> =
        ["member", "--url", &node.url(), "--service-cert", "service_cert.pem"].iter().map(|s| s.to_string()).collect();
    all.extend(["--cert".into(), format!("{m}_cert.pem"), "--key".into(), format!("{m}_privk.pem")]);
    all.extend(["--enc-key".into(), format!("{m}_enc_privk.pem")]);
    all.extend(args.iter().map(|s| s.to_string()));
    all
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

pub async fn wait_open(client: &CairnClient, what: &str) {
    wait_for(what, Duration::from_secs(60), || async {
        let network = client.network().await.ok()?;
        let state = client.node_state().await.ok()?;
        (network.service_status == "Open" && state.state == "PartOfNetwork").then_some(())
    })
    .await;
}

pub fn create_seqno(client: &CairnClient, rt: &tokio::runtime::Runtime) -> u64 {
    let network = rt.block_on(client.network()).unwrap();
    let create: TxId = network.current_service_create_txid.expect("a create txid").parse().unwrap();
    create.seqno
}

/// Starts a `Recover` node and waits until it has read the ledger and created the recovered
/// service (`PartOfPublicNetwork`): it answers `GET /node/state` while it reads.
pub fn start_recovering(node: &mut NodeProcess) {
    node.start();
    let client = node.client(None);
    rt().block_on(wait_for("the recovered service", Duration::from_secs(60), || async {
        (client.node_state().await.ok()?.state == "PartOfPublicNetwork").then_some(())
    }));
}

/// Members m0 (proposer, first ballot) and m1 (second ballot) of `dir` pass `actions` through
/// `client`; returns the proposal's state after m1's ballot.
pub async fn pass_with_two(client: &CairnClient, dir: &Path, actions: serde_json::Value) -> String {
    let (m0, m1) = (Member::load(dir, "m0"), Member::load(dir, "m1"));
    let (id, _) = m0.propose_and_approve(client, actions).await;
    let ballot = m1.sign("ballot", Some(&id), &json!({"ballot": "approve"}));
    client.submit_ballot(&id, &m1.id, ballot).await.unwrap().proposal_state
}

/// Registers user u0 and opens the service started in `dir` (members m0 and m1 approve).
pub fn open_with_user(node: &NodeProcess) {
    let rt = rt();
    let gov = node.client(None);
    let user_cert = std::fs::read_to_string(node.dir.join("u0_cert.pem")).unwrap();
    let cert = node.service_cert();
    for actions in [
        json!([{"name": "set_user", "args": {"cert": user_cert}}]),
        json!([{"name": "transition_service_to_open", "args": {"next_service_identity": cert}}]),
    ] {
        assert_eq!(rt.block_on(pass_with_two(&gov, &node.dir, actions)), "Accepted");
    }
}
