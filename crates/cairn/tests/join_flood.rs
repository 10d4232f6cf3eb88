//! Issue 11, finding 3, with a real process: 1000 `POST /node/join` requests from fresh
//! self-signed certificates, half of them 1 MB bodies, against an open service. The bodies
//! over the field bounds are refused (400) and record nothing; at most `MAX_PENDING_JOINS`
//! requests are recorded `Pending`, the rest get 429; the ledger grows by no more than that
//! cap allows, and the node keeps serving its users.
mod support;

use cairn_client::{ClientIdentity, LogTable, build_tls_config};
use cairn_crypto::{Certificate, CertificateRequest, EncryptionKeyPair, SigningKey};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;
use support::member::open_service_with_user;
use support::node_process::{NodeOptions, NodeProcess};

const REQUESTS: usize = 1000;

fn ledger_bytes(node: &NodeProcess) -> u64 {
    std::fs::read_dir(node.dir.join("ledger")).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum()
}

#[test]
fn a_thousand_strangers_joining_cannot_grow_the_ledger_past_the_pending_cap() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = NodeProcess::create(dir.path(), &NodeOptions::default());
    node.start();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(open_service_with_user(dir.path(), &node.client(Some("m0"))));
    let before = ledger_bytes(&node);
    let enc = EncryptionKeyPair::generate().unwrap().public_key().to_pem();
    let statuses = rt.block_on(async {
        let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
        for i in 0..REQUESTS {
            let key = SigningKey::generate().unwrap();
            let req = CertificateRequest {
                common_name: format!("stranger {i}"),
                subject_alt_names: vec![],
                not_before_unix_s: support::member::now_s() as i64 - 60,
                validity_days: 1,
                is_ca: false,
            };
            let cert = Certificate::self_signed(&key, &req).unwrap();
            let identity = ClientIdentity { cert_pem: cert.pem().to_string(), key_pem: key.to_pem() };
            let tls = build_tls_config(&node.service_cert(), Some(&identity)).unwrap();
            let client = reqwest::Client::builder().use_preconfigured_tls(tls).build().unwrap();
            // Every other body is about 1 MB: an address far over its bound.
            let address = if i % 2 == 0 { "h".repeat(1_000_000) } else { format!("10.0.0.{}:8000", i % 250) };
            let body = json!({
                "certificate": cert.pem(),
                "public_encryption_key": enc,
                "rpc_addresses": [address],
                "node_to_node_address": "10.0.0.1:8001",
            });
            let status = client
                .post(format!("{}/node/join", node.url()))
                .json(&body)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            *statuses.entry(status).or_default() += 1;
        }
        statuses
    });
    let pending = cairn_node::MAX_PENDING_JOINS;
    assert_eq!(statuses.get(&400).copied(), Some(REQUESTS / 2), "every 1 MB body refused: {statuses:?}");
    assert_eq!(statuses.get(&200).copied(), Some(pending), "at most {pending} recorded Pending: {statuses:?}");
    assert_eq!(statuses.get(&429).copied(), Some(REQUESTS / 2 - pending), "the rest told to wait: {statuses:?}");
    // Each recorded request is one certificate, one key and short addresses (a few KB) plus its
    // share of signatures: far below 64 KB each.
    let grown = ledger_bytes(&node) - before;
    assert!(grown < pending as u64 * 64 * 1024, "the ledger grew by {grown} bytes for {pending} pending joins");
    // The node still serves its users.
    let user = node.client(Some("u0"));
    let tx = rt.block_on(user.log_write(LogTable::Private, 1, "after the flood")).unwrap();
    rt.block_on(user.wait_committed(tx, Duration::from_secs(10))).unwrap();
    println!("{REQUESTS} join requests: {statuses:?}; the ledger grew by {grown} bytes");
}
