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
    rt().block_on(wait_for("the expiry warning", Duration::from_secs(20), || async {
        node.last_log().contains("the service certificate expires soon").then_some(())
    }));
    let log = node.last_log();
    assert!(log.contains("cairn member renew-certificates"), "the warning names the command: {log}");
}
