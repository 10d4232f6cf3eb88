//! Certificates that outlive a day (issue 17), with real processes and libfaketime moving the
//! clocks of nodes and clients (no test depends on the machine's real date):
//! - a service started with the defaults (service certificate valid one day, as CCF) is renewed
//!   by its members (one proposal signed with CCF's own `ccf_cose_sign1`); two days later
//!   `curl --cacert` and Python's `ssl` reach it with the renewed `service_cert.pem`, and fail
//!   with the original one ("certificate has expired"); a receipt from before the renewal
//!   verifies against the renewed certificate;
//! - without a renewal, the node's log warns in the certificate's last quarter;
//! - a renewal above the maximum is refused when proposed.
mod support;

use cairn_crypto::Certificate;
use cairn_ledger::receipt::Receipt;
use serde_json::json;
use std::path::Path;
use std::time::Duration;
use support::cluster::{ClusterOptions, create_start_node, wait_for};
use support::fake_clock::{FakeClock, run_shifted};
use support::member::{Member, now_s};
use support::node_process::NodeProcess;
use support::recovery::{open_with_user, rt};

/// A one-node service with the default certificate validity, its clock on `clock`, open.
fn service_on(dir: &Path, clock: &FakeClock) -> NodeProcess {
    std::fs::create_dir_all(dir).unwrap();
    let opts = ClusterOptions { members: 2, recovery_threshold: 1, ..ClusterOptions::default() };
    let mut node = create_start_node(dir, &opts);
    let env = clock.env();
    node.spawn_with_env(&env.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>());
    node.wait_ready(Duration::from_secs(60));
    open_with_user(&node);
    node
}

fn curl_state(offset: &str, node: &NodeProcess, cacert: &Path) -> std::process::Output {
    let url = format!("{}/node/state", node.url());
    run_shifted(offset, "curl", &["-sS", "--fail", "--cacert", &cacert.display().to_string(), &url], &node.dir)
}

fn python_state(offset: &str, node: &NodeProcess, cacert: &Path) -> std::process::Output {
    let script = "import ssl, sys, urllib.request\n\
                  ctx = ssl.create_default_context(cafile=sys.argv[1])\n\
                  print(urllib.request.urlopen(sys.argv[2] + '/node/state', context=ctx).read().decode())";
    let cafile = cacert.display().to_string();
    run_shifted(offset, "python3", &["-c", script, &cafile, &node.url()], &node.dir)
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `actions` proposed by member `m1` with CCF's `ccf_cose_sign1`, then approved by `m0`.
fn propose_with_ccf_tool(node: &NodeProcess, actions: serde_json::Value) -> String {
    let venv = support::ccf_venv();
    let proposal = node.dir.join("renewal_proposal.json");
    std::fs::write(&proposal, serde_json::to_vec(&json!({ "actions": actions })).unwrap()).unwrap();
    let out = std::process::Command::new(venv.join("bin/ccf_cose_sign1"))
        .args(["--content", &proposal.display().to_string()])
        .args(["--signing-cert", "m1_cert.pem", "--signing-key", "m1_privk.pem"])
        .args(["--ccf-gov-msg-type", "proposal", "--ccf-gov-msg-created_at", &created_at_iso()])
        .current_dir(&node.dir)
        .output()
        .expect("run ccf_cose_sign1");
    assert!(out.status.success(), "ccf_cose_sign1: {}", String::from_utf8_lossy(&out.stderr));
    let rt = rt();
    let client = node.client(None);
    let created = rt.block_on(client.propose(out.stdout)).expect("a proposal signed by CCF's tool");
    let mut state = created.proposal_state;
    for name in ["m1", "m0"] {
        let m = Member::load(&node.dir, name);
        let ballot = m.sign("ballot", Some(&created.proposal_id), &json!({"ballot": "approve"}));
        state = rt.block_on(client.submit_ballot(&created.proposal_id, &m.id, ballot)).unwrap().proposal_state;
    }
    state
}

/// Now in ISO 8601, as `ccf_cose_sign1 --ccf-gov-msg-created_at` takes it (whole seconds).
fn created_at_iso() -> String {
    let now = time::OffsetDateTime::from_unix_timestamp(now_s() as i64).unwrap();
    now.format(&time::format_description::well_known::Rfc3339).unwrap()
}

/// `cairn member ARGS` as member `m` of `node`'s workspace.
fn member_cli(node: &NodeProcess, m: &str, args: &[&str]) -> String {
    let cert = format!("{m}_cert.pem");
    let key = format!("{m}_privk.pem");
    let mut all = vec!["member", "--url", "", "--service-cert", "service_cert.pem", "--cert", &cert, "--key", &key];
    let url = node.url();
    all[2] = &url;
    all.extend(args);
    String::from_utf8_lossy(&support::cairn_in(&node.dir, &all).stdout).trim().to_string()
}

#[test]
fn a_renewed_service_is_reachable_by_standard_tls_clients_two_days_later() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(tmp.path());
    let node = service_on(&tmp.path().join("n0"), &clock);
    let rt = rt();
    let original = tmp.path().join("original_service_cert.pem");
    std::fs::copy(node.dir.join("service_cert.pem"), &original).unwrap();
    let old_cert = Certificate::from_pem(&node.service_cert()).unwrap();
    let (not_before, not_after) = old_cert.validity_unix_s();
    assert_eq!(not_after - not_before, 86_400, "the default validity is one day, as CCF's");
    let user = node.client(Some("u0"));
    let tx = rt.block_on(user.log_write(cairn_client::LogTable::Private, 1, "before the renewal")).unwrap();
    rt.block_on(user.wait_committed(tx, Duration::from_secs(10))).unwrap();
    let receipt: Receipt = serde_json::from_value(rt.block_on(user.receipt(tx)).unwrap()).unwrap();
    assert!(curl_state("+0", &node, &original).status.success());
    // Two days later, without a renewal: standard TLS clients refuse the expired certificate.
    let expired = curl_state("+2d", &node, &original);
    assert!(!expired.status.success() && text(&expired).contains("expired"), "{}", text(&expired));

    // A renewal above the maximum (365 days) is refused when proposed, and changes nothing.
    let m0 = Member::load(&node.dir, "m0");
    let too_long = json!([{"name": "set_service_certificate_validity",
        "args": {"valid_from": cairn_gov::format_valid_from(now_s() as i64), "validity_period_days": 366}}]);
    let refused = rt.block_on(node.client(None).propose(m0.sign("proposal", None, &json!({ "actions": too_long }))));
    let refused = refused.expect_err("refused").to_string();
    assert!(refused.contains("maximum_service_certificate_validity_days"), "{refused}");
    assert_eq!(node.service_cert(), old_cert.pem());

    // Members renew: the service certificate with `cairn member renew-certificates`, and the
    // node certificate again with a proposal signed by CCF's ccf_cose_sign1.
    let nodes_before = rt.block_on(node.client(None).network_nodes()).unwrap();
    let proposed = member_cli(&node, "m0", &["renew-certificates", "--days", "30"]);
    let (proposal, state) = proposed.split_once(' ').expect("PROPOSAL_ID STATE");
    assert_eq!(state, "Open", "two members: one vote is not a majority");
    let voted = member_cli(&node, "m1", &["vote", "--proposal", proposal, "--approve"]);
    assert!(voted.ends_with("Accepted"), "{voted}");
    let node_id = rt.block_on(node.client(None).node_state()).unwrap().node_id;
    let valid_from = cairn_gov::format_valid_from(now_s() as i64 - 60);
    let ccf_signed = json!([{"name": "set_node_certificate_validity",
        "args": {"node_id": node_id, "valid_from": valid_from, "validity_period_days": 60}}]);
    assert_eq!(propose_with_ccf_tool(&node, ccf_signed), "Accepted");

    // The node rewrites its service certificate file and serves the renewed chain.
    let renewed = rt.block_on(wait_for("the renewed certificate file", Duration::from_secs(20), || async {
        let cert = Certificate::from_pem(&node.service_cert()).ok()?;
        (cert != old_cert).then_some(cert)
    }));
    assert!(renewed.same_key(&old_cert), "the same service identity");
    let (from, to) = renewed.validity_unix_s();
    assert_eq!(to - from, 30 * 86_400);
    let network = rt.block_on(node.client(None).network()).unwrap();
    assert_eq!(network.service_certificate, renewed.pem());
    let renewed_file = node.dir.join("service_cert.pem");
    // The node certificate renewed twice (365 then 60 days): its valid_to moved.
    rt.block_on(wait_for("the renewed node certificate", Duration::from_secs(20), || async {
        let nodes = node.client(None).network_nodes().await.ok()?;
        (nodes[0]["certificate_valid_to"] != nodes_before[0]["certificate_valid_to"]).then_some(())
    }));

    // Two days later, for the node and its clients.
    clock.set("+2d");
    for (what, out) in
        [("curl", curl_state("+2d", &node, &renewed_file)), ("python ssl", python_state("+2d", &node, &renewed_file))]
    {
        assert!(out.status.success(), "{what} with the renewed certificate: {}", text(&out));
        assert!(text(&out).contains("PartOfNetwork"), "{what}: {}", text(&out));
    }
    let python_expired = python_state("+2d", &node, &original);
    assert!(!python_expired.status.success() && text(&python_expired).contains("expired"), "{}", text(&python_expired));
    // A receipt from before the renewal verifies against the renewed certificate.
    receipt.verify(&renewed).expect("the pre-renewal receipt against the renewed certificate");
    let receipt_file = node.dir.join("receipt.json");
    std::fs::write(&receipt_file, serde_json::to_vec(&receipt).unwrap()).unwrap();
    let verify = run_shifted(
        "+2d",
        support::cairn_bin(),
        &["ledger", "verify-receipt", "--service-cert", "service_cert.pem", "receipt.json"],
        &node.dir,
    );
    assert!(verify.status.success(), "cairn ledger verify-receipt two days later: {}", text(&verify));
}

#[test]
fn without_a_renewal_the_node_warns_in_the_certificates_last_quarter() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(tmp.path());
    let node = service_on(&tmp.path().join("n0"), &clock);
    assert!(!node.last_log().contains("expires soon"), "no warning while most of the validity is left");
    // 20 hours into a one-day validity: less than a quarter left.
    clock.set("+20h");
    let client = node.client(None);
    rt().block_on(wait_for("the expiry warning", Duration::from_secs(20), || async {
        // A request wakes the idle node at once (it checks at least once a minute anyway).
        let _ = client.node_state().await;
        node.last_log().contains("the service certificate expires soon").then_some(())
    }));
    let log = node.last_log();
    assert!(log.contains("cairn member renew-certificates"), "the warning names the command: {log}");
}

/// `actions` proposed by m0 and approved by m0 and m1 of `dir`, signed at `created_at`.
fn pass_at(client: &cairn_client::CairnClient, dir: &Path, actions: serde_json::Value, created_at: u64) -> String {
    let sign = |m: &Member, msg_type: &str, proposal_id: Option<&str>, payload: serde_json::Value| {
        let header = cairn_gov::GovRequestHeader {
            msg_type: msg_type.into(),
            created_at,
            proposal_id: proposal_id.map(str::to_string),
        };
        cairn_gov::sign_request(&m.key, &m.id, &header, &serde_json::to_vec(&payload).unwrap())
    };
    let rt = rt();
    let (m0, m1) = (Member::load(dir, "m0"), Member::load(dir, "m1"));
    let created = rt.block_on(client.propose(sign(&m0, "proposal", None, json!({ "actions": actions })))).unwrap();
    let mut state = created.proposal_state;
    for m in [&m0, &m1] {
        let ballot = sign(m, "ballot", Some(&created.proposal_id), json!({"ballot": "approve"}));
        state = rt.block_on(client.submit_ballot(&created.proposal_id, &m.id, ballot)).unwrap().proposal_state;
    }
    state
}

#[test]
fn a_service_whose_certificates_expired_is_recovered() {
    use support::cluster::create_join_node;
    use support::recovery::{
        check_records, open_with_shares, recover_node, start_recovering, wait_open, write_records,
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = |name: &str| tmp.path().join(name);
    let rt = rt();
    // The old service lived three days ago (every clock then is three days before ours): its
    // one-day service certificate expired two days ago.
    let then = now_s() - 3 * 86_400;
    let env = support::fake_clock::fixed_env("-3d");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // A generous election timeout: the primary the test writes through stays primary on a
    // loaded machine.
    let opts = ClusterOptions {
        members: 3,
        recovery_threshold: 2,
        snapshot_tx_count: 100,
        election_timeout: "4000ms",
        ..ClusterOptions::default()
    };
    std::fs::create_dir_all(dir("n0")).unwrap();
    let mut nodes = vec![create_start_node(&dir("n0"), &opts)];
    nodes[0].spawn_with_env(&env);
    nodes[0].wait_ready(Duration::from_secs(60));
    for name in ["n1", "n2"] {
        let mut node = create_join_node(&dir(name), &dir("n0"), nodes[0].port, &opts);
        node.spawn_with_env(&env);
        node.wait_ready(Duration::from_secs(60));
        nodes.push(node);
    }
    let gov = nodes[0].client(None);
    let user_cert = std::fs::read_to_string(dir("n0").join("u0_cert.pem")).unwrap();
    let old_cert = nodes[0].service_cert();
    assert_eq!(pass_at(&gov, &dir("n0"), json!([{"name": "set_user", "args": {"cert": user_cert}}]), then), "Accepted");
    let open = json!([{"name": "transition_service_to_open", "args": {"next_service_identity": old_cert}}]);
    assert_eq!(pass_at(&gov, &dir("n0"), open, then), "Accepted");
    let user = nodes[0].client(Some("u0"));
    let txs = rt.block_on(write_records(&user, 1, 300));
    let last = txs.iter().map(|(a, b)| *a.max(b)).max().unwrap();
    rt.block_on(user.wait_committed(last, Duration::from_secs(30))).unwrap();
    let receipt: Receipt = serde_json::from_value(rt.block_on(user.receipt(txs[10].0)).unwrap()).unwrap();
    for node in &nodes {
        let c = node.client(None);
        rt.block_on(wait_for("caught up", Duration::from_secs(30), || async {
            (c.commit().await.ok()? >= last).then_some(())
        }));
    }
    for node in &mut nodes {
        node.kill();
    }
    let old = Certificate::from_pem(&old_cert).unwrap();
    assert!(old.validity_unix_s().1 < now_s() as i64 - 86_400, "the previous identity expired a day ago or more");
    assert!(std::fs::read_dir(dir("n0").join("snapshots")).unwrap().count() > 0, "snapshots of the expired era");

    // Recovered now: the expired identity is the previous one; its snapshots and receipts verify.
    let mut r = recover_node(&dir("r"), &dir("n0"), &dir("n0"));
    start_recovering(&mut r);
    assert!(r.last_log().contains("reading the public ledger from a committed snapshot"), "{}", r.last_log());
    let mut joiner = create_join_node(&dir("rj"), &dir("r"), r.port, &opts);
    joiner.start();
    let answers = open_with_shares(&r, &old_cert);
    assert!(answers[1].contains("2/2"), "{answers:?}");
    rt.block_on(wait_open(&r.client(None), "the recovered service open"));
    rt.block_on(wait_open(&joiner.client(None), "the joiner open"));
    rt.block_on(check_records(&r.client(Some("u0")), 1..=300, "recovered"));
    rt.block_on(check_records(&joiner.client(Some("u0")), 1..=300, "joiner"));
    receipt.verify(&old).expect("a receipt of the expired era against its certificate");
    let receipt_file = dir("r").join("old_receipt.json");
    std::fs::write(&receipt_file, serde_json::to_vec(&receipt).unwrap()).unwrap();
    support::cairn_in(
        &dir("r"),
        &["ledger", "verify-receipt", "--service-cert", "previous_service_cert.pem", "old_receipt.json"],
    );
    // The new service certificate is valid now.
    let new = Certificate::from_pem(&r.service_cert()).unwrap();
    let (from, to) = new.validity_unix_s();
    let now = now_s() as i64;
    assert!(from <= now && now < to, "valid now: {from}..{to}, now {now}");
    let curl = curl_state("+0", &r, &dir("r").join("service_cert.pem"));
    assert!(curl.status.success(), "{}", text(&curl));

    // Renewed on both nodes: the backup serves and writes the renewed certificate too.
    let proposed = member_cli(&r, "m0", &["renew-certificates", "--days", "90"]);
    let (proposal, _) = proposed.split_once(' ').expect("PROPOSAL_ID STATE");
    assert!(member_cli(&r, "m1", &["vote", "--proposal", proposal, "--approve"]).ends_with("Accepted"));
    for node in [&r, &joiner] {
        let renewed = rt.block_on(wait_for("the renewed certificate file", Duration::from_secs(20), || async {
            let cert = Certificate::from_pem(&node.service_cert()).ok()?;
            (cert != new).then_some(cert)
        }));
        assert!(renewed.same_key(&new));
        let (from, to) = renewed.validity_unix_s();
        assert_eq!(to - from, 90 * 86_400);
        let curl = curl_state("+60d", node, &node.dir.join("service_cert.pem"));
        assert!(curl.status.success(), "{}: {}", node.dir.display(), text(&curl));
    }
}
