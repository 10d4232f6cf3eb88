//! `CairnClient` against an in-process HTTPS node (real TLS, pinned service certificate,
//! client certificates): every typed call, the error kinds, and the write load driver.
mod fake_node;

use cairn_client::bench::{LogWriter, WriteBenchConfig, run_write_bench};
use cairn_client::{CairnClient, ClientError, ClientIdentity, LogTable, TransportKind, TxId, TxStatus};
use fake_node::{FakeNode, Identity, self_signed};
use std::time::Duration;

fn identity(id: &Identity) -> ClientIdentity {
    ClientIdentity { cert_pem: id.cert.pem().to_string(), key_pem: id.key.to_pem() }
}

async fn node_and_user() -> (FakeNode, CairnClient) {
    let user = self_signed("user0", false);
    let node = FakeNode::start(&[&user.cert]).await;
    let client = CairnClient::new(&node.url, node.service.cert.pem(), Some(identity(&user))).unwrap();
    (node, client)
}

#[tokio::test]
async fn user_writes_reads_and_waits_for_commit_over_pinned_tls() {
    let (node, client) = node_and_user().await;
    let first = client.log_write(LogTable::Private, 42, "hello").await.unwrap();
    let second = client.log_write(LogTable::Public, 43, "world").await.unwrap();
    assert_eq!((first, second), (TxId::new(2, 1), TxId::new(2, 2)));
    assert_eq!(client.log_read(LogTable::Private, 42).await.unwrap().as_deref(), Some("hello"));
    assert_eq!(client.log_read(LogTable::Private, 7).await.unwrap(), None, "404 reads as absent");

    assert_eq!(client.tx_status(first).await.unwrap(), TxStatus::Pending);
    client.wait_committed(first, Duration::from_secs(5)).await.unwrap();
    assert_eq!(client.tx_status(first).await.unwrap(), TxStatus::Committed);
    assert_eq!(client.commit().await.unwrap(), TxId::new(2, 2));
    assert_eq!(client.network().await.unwrap().service_status, "Open");

    let sent = node.requests();
    let write = sent.iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(write.content_type.as_deref(), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&write.body).unwrap();
    assert_eq!(body, serde_json::json!({"id": 42, "msg": "hello"}));
}

#[tokio::test]
async fn waiting_ends_with_invalid_or_timeout() {
    let (_node, client) = node_and_user().await;
    match client.wait_committed(TxId::new(2, 999), Duration::from_secs(5)).await {
        Err(ClientError::TxInvalid { txid }) => assert_eq!(txid, TxId::new(2, 999)),
        other => panic!("expected TxInvalid, got {other:?}"),
    }
    let started = std::time::Instant::now();
    match client.wait_committed(TxId::new(3, 1), Duration::from_millis(50)).await {
        Err(ClientError::CommitTimeout { last_status, .. }) => assert_eq!(last_status, "Unknown"),
        other => panic!("expected CommitTimeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(2), "the timeout bounds the wait");
}

#[tokio::test]
async fn server_refusals_keep_code_and_message_and_redirects_are_not_followed() {
    let (_node, client) = node_and_user().await;
    match client.receipt(TxId::new(2, 1)).await {
        Err(e) => {
            assert_eq!(e.http_status(), Some(404));
            assert_eq!(e.server_code(), Some("ResourceNotFound"));
        }
        Ok(v) => panic!("unexpected receipt {v}"),
    }
    assert!(!client.is_primary().await.unwrap(), "a 308 means not primary, and is not chased");
}

#[tokio::test]
async fn unreachable_node_is_a_connect_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let service = self_signed("service", true);
    let client = CairnClient::new(&format!("https://127.0.0.1:{port}"), service.cert.pem(), None).unwrap();
    match client.commit().await {
        Err(ClientError::Transport { kind, .. }) => assert_eq!(kind, TransportKind::Connect),
        other => panic!("expected a connect error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_node_not_endorsed_by_the_pinned_service_certificate_is_refused() {
    let (node, _) = node_and_user().await;
    let other_service = self_signed("other service", true);
    let user = self_signed("user1", false);
    let client = CairnClient::new(&node.url, other_service.cert.pem(), Some(identity(&user))).unwrap();
    let e = client.commit().await.unwrap_err();
    assert!(e.is_transport(), "{e}");
    assert!(e.to_string().contains("certificate"), "the cause is named: {e}");
    assert!(node.requests().is_empty(), "no request reached the node");
}

#[tokio::test]
async fn a_client_without_an_accepted_certificate_gets_no_answer() {
    let (node, _) = node_and_user().await;
    let stranger = self_signed("stranger", false);
    for id in [None, Some(identity(&stranger))] {
        let client = CairnClient::new(&node.url, node.service.cert.pem(), id).unwrap();
        let e = client.commit().await.unwrap_err();
        assert!(e.is_transport(), "{e}");
    }
    assert!(node.requests().is_empty());
}

#[tokio::test]
async fn gov_calls_send_cose_bodies_with_the_api_version() {
    let node = FakeNode::start(&[]).await;
    let client = CairnClient::new(&node.url, node.service.cert.pem(), None).unwrap();
    let created = client.propose(b"cose-proposal".to_vec()).await.unwrap();
    assert_eq!((created.proposal_id.as_str(), created.proposal_state.as_str()), ("p0", "Open"));
    let voted = client.submit_ballot("p0", "m0", b"cose-ballot".to_vec()).await.unwrap();
    assert_eq!(voted.proposal_state, "Accepted");
    let listed = client.proposals().await.unwrap();
    assert_eq!(listed.len(), 1);
    let refused = client.submit_ballot("p9", "m0", b"x".to_vec()).await.unwrap_err();
    assert_eq!(refused.server_code(), Some("ProposalNotFound"));
    assert!(matches!(client.submit_ballot("p/../x", "m0", vec![]).await, Err(ClientError::Config { .. })));
    for r in node.requests().iter().filter(|r| r.method == "POST") {
        assert_eq!(r.content_type.as_deref(), Some("application/cose"), "{}", r.path_and_query);
        assert!(r.path_and_query.ends_with("?api-version=2023-06-01-preview"), "{}", r.path_and_query);
    }
}

#[tokio::test]
async fn write_bench_against_a_node_counts_committed_writes() {
    let (node, client) = node_and_user().await;
    let config = WriteBenchConfig {
        clients: 3,
        duration: Duration::from_millis(300),
        warmup: Duration::from_millis(50),
        value_bytes: 32,
        commit_timeout: Duration::from_secs(5),
        first_write: 0,
    };
    let report = run_write_bench(LogWriter { client, table: LogTable::Private }, &config).await;
    assert!(report.committed_tx > 0, "{}", report.summary_line());
    assert_eq!(report.error_count, 0, "{:?}", report.errors);
    let commit = report.commit_latency_ms.as_ref().unwrap();
    let ack = report.ack_latency_ms.as_ref().unwrap();
    assert!(ack.p50_ms <= commit.p50_ms, "a commit is seen after its acknowledgement");
    let stored = node.state.lock().unwrap().records.len() as u64;
    assert_eq!(stored, report.committed_tx as u64 + report.warmup_ops, "each write used a fresh id");
    let json = serde_json::to_value(&report).unwrap();
    assert!(json["tx_per_s"].as_f64().unwrap() > 0.0);
}
