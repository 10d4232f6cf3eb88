//! Disaster recovery with real processes (SPEC §7): a 3-node service with 3 members
//! (threshold 2) and thousands of private and public records loses every node (SIGKILL); two
//! operators start `Recover` nodes on copies of two nodes' files, the better one is kept, a new
//! node joins it, members open it and submit two shares with `cairn member share submit`, and
//! every record reads back identical on both nodes. Two more recoveries follow.
mod support;

use cairn_client::{CairnClient, LogTable, TxId};
use cairn_crypto::Certificate;
use cairn_ledger::receipt::Receipt;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use support::cluster::{ClusterOptions, config, create_join_node, create_start_node, panics_in_logs, wait_for};
use support::member::Member;
use support::node_process::NodeProcess;
use support::{cairn_in, free_port};

const RECORDS: u64 = 5_000;

fn opts() -> ClusterOptions {
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

fn copy_dir(from: &Path, to: &Path) {
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
fn recover_node(dir: &Path, node: &Path, keys: &Path) -> NodeProcess {
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

async fn write_records(client: &CairnClient, from: u64, to: u64) -> Vec<TxId> {
    let client = Arc::new(client.clone());
    let mut tasks = Vec::new();
    for lane in 0..8u64 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut txs = Vec::new();
            for id in (from..=to).filter(|id| id % 8 == lane) {
                txs.push((id, client.log_write(LogTable::Private, id, &format!("private {id}")).await.unwrap()));
                client.log_write(LogTable::Public, id, &format!("public {id}")).await.unwrap();
            }
            txs
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    all.into_iter().map(|(_, tx)| tx).collect()
}

async fn check_records(client: &CairnClient, ids: impl Iterator<Item = u64>, node: &str) {
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
fn open_with_shares(node: &NodeProcess, previous_cert: &str) -> Vec<String> {
    let rt = rt();
    let client = node.client(None);
    let m0 = Member::load(&node.dir, "m0");
    let m1 = Member::load(&node.dir, "m1");
    let args = json!({"previous_service_identity": previous_cert, "next_service_identity": node.service_cert()});
    let actions = json!([{"name": "transition_service_to_open", "args": args}]);
    let (id, state) = rt.block_on(m0.propose_and_approve(&client, actions));
    assert_eq!(state, "Open", "one ballot of three is not a majority");
    let ballot = m1.sign("ballot", Some(&id), &json!({"ballot": "approve"}));
    let after = rt.block_on(client.submit_ballot(&id, &m1.id, ballot)).unwrap();
    assert_eq!(after.proposal_state, "Accepted");
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

fn member_cli(node: &NodeProcess, m: &str, args: &[&str]) -> std::process::Output {
    let (cert, key, enc) = (format!("{m}_cert.pem"), format!("{m}_privk.pem"), format!("{m}_enc_privk.pem"));
    let url = node.url();
    let mut all = vec!["member", "--url", &url, "--service-cert", "service_cert.pem", "--cert", &cert, "--key", &key];
    all.extend(["--enc-key", &enc]);
    all.extend(args);
    cairn_in(&node.dir, &all)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

async fn wait_open(client: &CairnClient, what: &str) {
    wait_for(what, Duration::from_secs(60), || async {
        let network = client.network().await.ok()?;
        let state = client.node_state().await.ok()?;
        (network.service_status == "Open" && state.state == "PartOfNetwork").then_some(())
    })
    .await;
}

fn create_seqno(client: &CairnClient, rt: &tokio::runtime::Runtime) -> u64 {
    let network = rt.block_on(client.network()).unwrap();
    let create: TxId = network.current_service_create_txid.expect("a create txid").parse().unwrap();
    create.seqno
}

#[test]
fn three_recoveries_bring_back_every_record_under_new_identities() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |name: &str| -> PathBuf { tmp.path().join(name) };
    let rt = rt();

    // The service: 3 nodes, 3 members (threshold 2), records, snapshots.
    let mut n0 = create_start_node(&dir("n0"), &opts());
    n0.start();
    let mut n1 = create_join_node(&dir("n1"), &dir("n0"), n0.port, &opts());
    let mut n2 = create_join_node(&dir("n2"), &dir("n0"), n0.port, &opts());
    n1.start();
    n2.start();
    let gov = n0.client(None);
    let m0 = Member::load(&dir("n0"), "m0");
    let m1 = Member::load(&dir("n0"), "m1");
    let user_cert = std::fs::read_to_string(dir("n0").join("u0_cert.pem")).unwrap();
    let old_cert = n0.service_cert();
    for actions in [
        json!([{"name": "set_user", "args": {"cert": user_cert}}]),
        json!([{"name": "transition_service_to_open", "args": {"next_service_identity": old_cert}}]),
    ] {
        let (id, _) = rt.block_on(m0.propose_and_approve(&gov, actions));
        let ballot = m1.sign("ballot", Some(&id), &json!({"ballot": "approve"}));
        assert_eq!(rt.block_on(gov.submit_ballot(&id, &m1.id, ballot)).unwrap().proposal_state, "Accepted");
    }
    let user = n0.client(Some("u0"));
    let txs = rt.block_on(write_records(&user, 1, RECORDS));
    let last = *txs.iter().max().unwrap();
    rt.block_on(user.wait_committed(last, Duration::from_secs(30))).unwrap();
    let old_receipt: Value = rt.block_on(user.receipt(txs[99])).unwrap();
    let snapshots = std::fs::read_dir(dir("n0").join("snapshots")).unwrap().count();
    assert!(snapshots >= 2, "at least two snapshots before the disaster ({snapshots})");
    // Everything replicated before the disaster.
    for node in [&n1, &n2] {
        let c = node.client(None);
        rt.block_on(wait_for("backups caught up", Duration::from_secs(30), || async {
            (c.commit().await.ok()? >= last).then_some(())
        }));
    }

    // The disaster.
    for node in [&mut n0, &mut n1, &mut n2] {
        node.kill();
    }

    // Two operators each recover a copy of one node's files; the better ledger is kept.
    let mut a = recover_node(&dir("ra"), &dir("n1"), &dir("n0"));
    let mut b = recover_node(&dir("rb"), &dir("n2"), &dir("n0"));
    a.start();
    b.start();
    let (sa, sb) = (create_seqno(&a.client(None), &rt), create_seqno(&b.client(None), &rt));
    let (keep, mut other) = if sa >= sb { (a, b) } else { (b, a) };
    other.stop();
    let primary = keep.client(None);
    let state = rt.block_on(primary.node_state()).unwrap();
    assert_eq!(state.state, "PartOfPublicNetwork");
    let network = rt.block_on(primary.network()).unwrap();
    assert_eq!((network.service_status.as_str(), network.recovery_count), ("Recovering", 1));
    assert_ne!(network.service_certificate, old_cert, "a new service identity");
    assert!(network.current_view >= 4, "view = last view + 2 ({})", network.current_view);
    assert!(keep.service_cert() != old_cert);
    // Users are not served until the private state is back.
    let user = keep.client(Some("u0"));
    assert!(rt.block_on(user.log_read(LogTable::Private, 1)).is_err());

    // A wrong previous identity is refused.
    let wrong = json!([{"name": "transition_service_to_open", "args":
        {"previous_service_identity": keep.service_cert(), "next_service_identity": keep.service_cert()}}]);
    let (id, _) = rt.block_on(m0.propose_and_approve(&primary, wrong));
    let ballot = m1.sign("ballot", Some(&id), &json!({"ballot": "approve"}));
    let failed = rt.block_on(primary.submit_ballot(&id, &m1.id, ballot)).unwrap();
    assert_eq!(failed.proposal_state, "Failed", "{failed:?}");

    // A new node joins the recovered service (trusted at once with its join token).
    let mut joiner = create_join_node(&dir("rj"), &keep.dir, keep.port, &opts());
    joiner.start();
    let joined = joiner.client(None);
    rt.block_on(wait_for("the joiner in the public network", Duration::from_secs(60), || async {
        (joined.node_state().await.ok()?.state == "PartOfPublicNetwork").then_some(())
    }));

    // Non-members cannot fetch or submit shares.
    let m0_id = Member::load(&keep.dir, "m0").id;
    assert!(rt.block_on(keep.client(None).encrypted_share(&m0_id)).is_err(), "anonymous");
    assert!(rt.block_on(keep.client(Some("u0")).encrypted_share(&m0_id)).is_err(), "a user");

    let answers = open_with_shares(&keep, &old_cert);
    assert!(answers[0].contains("1/2 recovery shares successfully submitted"), "{answers:?}");
    assert!(answers[1].contains("2/2 recovery shares successfully submitted"), "{answers:?}");
    rt.block_on(wait_open(&primary, "the recovered primary open"));
    rt.block_on(wait_open(&joined, "the joiner open"));

    // Every record on both nodes, identical.
    let user = keep.client(Some("u0"));
    rt.block_on(check_records(&user, 1..=RECORDS, "recovered primary"));
    let joiner_user = CairnClient::new(
        &joiner.url(),
        &keep.service_cert(),
        Some(cairn_client::ClientIdentity {
            cert_pem: std::fs::read_to_string(keep.dir.join("u0_cert.pem")).unwrap(),
            key_pem: std::fs::read_to_string(keep.dir.join("u0_privk.pem")).unwrap(),
        }),
    )
    .unwrap();
    rt.block_on(check_records(&joiner_user, 1..=RECORDS, "joiner"));
    // A receipt from before the disaster verifies against the old certificate, as does the
    // recovered service's receipt for the same transaction.
    let old = Certificate::from_pem(&old_cert).unwrap();
    serde_json::from_value::<Receipt>(old_receipt).unwrap().verify(&old).unwrap();
    let again: Receipt = serde_json::from_value(rt.block_on(user.receipt(txs[99])).unwrap()).unwrap();
    again.verify(&old).unwrap();
    assert_eq!(rt.block_on(primary.previous_service_identity()).unwrap(), old_cert);
    assert!(
        !std::fs::read_dir(keep.dir.join("ledger")).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".recovery")),
        ".recovery suffixes dropped once open"
    );

    // Recoveries 2 and 3, with a write made before each.
    let mut previous = keep;
    let mut others = vec![joiner, other];
    for (n, count) in [("r2", 2u64), ("r3", 3)] {
        let user = previous.client(Some("u0"));
        let id = 1_000_000 + count;
        let tx = rt.block_on(user.log_write(LogTable::Private, id, &format!("between {count}"))).unwrap();
        rt.block_on(user.wait_committed(tx, Duration::from_secs(30))).unwrap();
        let previous_cert = previous.service_cert();
        for o in others.iter_mut() {
            if o.is_running() {
                o.kill();
            }
        }
        previous.kill();
        let mut next = recover_node(&dir(n), &previous.dir, &previous.dir);
        next.start();
        open_with_shares(&next, &previous_cert);
        let client = next.client(None);
        rt.block_on(wait_open(&client, "the recovered service open"));
        assert_eq!(rt.block_on(client.network()).unwrap().recovery_count, count);
        let user = next.client(Some("u0"));
        for id in 1_000_002..=id {
            let value = rt.block_on(user.log_read(LogTable::Private, id)).unwrap();
            assert_eq!(value.as_deref(), Some(format!("between {}", id - 1_000_000).as_str()));
        }
        rt.block_on(check_records(&user, (1..=RECORDS).step_by(97), n));
        let again: Receipt = serde_json::from_value(rt.block_on(user.receipt(txs[99])).unwrap()).unwrap();
        again.verify(&old).unwrap();
        others.push(previous);
        previous = next;
    }
    for node in others.iter().chain([&previous]) {
        assert!(panics_in_logs(node).is_empty(), "{}: {:?}", node.dir.display(), panics_in_logs(node));
    }
}
