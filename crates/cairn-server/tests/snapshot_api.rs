//! `GET /node/snapshot` and `fetch_recent_snapshot` against a real single node started
//! in-process: it commits snapshots of its own (small `snapshots.tx_count`), serves the newest,
//! and a fetcher stores it only when it verifies against the service certificate.
use cairn_client::{CairnClient, MemberSession, build_tls_config};
use cairn_crypto::{Certificate, CertificateRequest, EncryptionKeyPair, SigningKey};
use cairn_fs::{Durability, SnapshotDirectory};
use cairn_ledger::snapshot::{SnapshotName, verify_committed_snapshot};
use cairn_node::CoreConfig;
use cairn_server::{ShellConfig, SnapshotFetchLimits, StartSpec, fetch_recent_snapshot, start_node};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn self_signed(name: &str) -> (SigningKey, Certificate) {
    let key = SigningKey::generate().unwrap();
    let req = CertificateRequest {
        common_name: name.into(),
        subject_alt_names: vec![],
        not_before_unix_s: now() - 3600,
        validity_days: 30,
        is_ca: false,
    };
    let cert = Certificate::self_signed(&key, &req).unwrap();
    (key, cert)
}

fn config(dir: &Path, member_cert: &Certificate) -> ShellConfig {
    ShellConfig {
        rpc_bind: "127.0.0.1:0".parse().unwrap(),
        rpc_published: vec![],
        node_to_node_published: "127.0.0.1:0".into(),
        node_to_node_bind: "127.0.0.1:0".parse().unwrap(),
        join: None,
        recover: None,
        node_cert_common_name: "CCF Node".into(),
        node_cert_subject_alt_names: vec![],
        service_certificate_file: dir.join("service_cert.pem"),
        join_token_file: dir.join("join_token"),
        node_certificate_file: dir.join("node_cert.pem"),
        node_data_directory: dir.join("data"),
        ledger_directory: dir.join("ledger"),
        ledger_read_only_directories: vec![],
        snapshots_directory: dir.join("snapshots"),
        snapshots_read_only_directory: None,
        durability: Durability::Fsync,
        core: CoreConfig {
            signature_tx_count: 2,
            signature_delay_ms: 50,
            snapshot_tx_count: 4,
            ..CoreConfig::default()
        },
        start: StartSpec {
            members: vec![(
                member_cert.pem().to_string(),
                Some(EncryptionKeyPair::generate().unwrap().public_key().to_pem()),
                None,
            )],
            recovery_threshold: 1,
            service_cert_validity_days: 30,
        },
        max_body_bytes: 1 << 20,
        max_connections: 64,
        soft_connections: 64,
        idle_timeout: std::time::Duration::from_secs(60),
    }
}

fn committed_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().file_name().into_string().unwrap()).collect())
        .unwrap_or_default();
    names.retain(|n| n.ends_with(".committed"));
    names.sort();
    names
}

fn all_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().file_name().into_string().unwrap()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joiner_fetches_the_newest_committed_snapshot_and_refuses_a_tampered_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (member_key, member_cert) = self_signed("m0");
    let node = start_node(config(tmp.path(), &member_cert)).await.unwrap();
    let pem = node.service_cert_pem.clone();
    let base = format!("https://{}", node.rpc_address);
    let target = node.rpc_address.to_string();
    let served = tmp.path().join("snapshots");
    let tls = || build_tls_config(&pem, None).unwrap();
    let fetcher = reqwest::Client::builder().use_preconfigured_tls(tls()).build().unwrap();
    let raw = reqwest::Client::builder()
        .use_preconfigured_tls(tls())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let limits = SnapshotFetchLimits::default();

    // No snapshot yet, and this node is the primary: 404, and the fetch finds nothing.
    if committed_files(&served).is_empty() {
        let r = raw.get(format!("{base}/node/snapshot")).send().await.unwrap();
        assert_eq!(r.status(), 404);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "ResourceNotFound", "{body}");
        let mut joiner = SnapshotDirectory::open(tmp.path().join("joiner0"), None).unwrap();
        let fetched = fetch_recent_snapshot(&fetcher, &target, &pem, &mut joiner, &limits).await.unwrap();
        assert_eq!(fetched, None);
    }

    // Governance transactions until the node has committed a snapshot.
    let client = CairnClient::new(&base, &pem, None).unwrap();
    let member = MemberSession::new(client, &member_cert, member_key);
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in 0.. {
        if committed_files(&served).len() >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no committed snapshot after {i} proposals: {:?}", all_files(&served));
        let (_, user) = self_signed(&format!("u{i}"));
        let p = member.propose(&json!({"actions": [{"name": "set_user", "args": {"cert": user.pem()}}]})).await;
        if let Ok(p) = p
            && p.proposal_state == "Open"
        {
            let _ = member.vote(&p.proposal_id, true).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let any snapshot in progress commit, so the set of committed files no longer changes.
    while !all_files(&served).iter().all(|n| n.ends_with(".committed")) {
        assert!(Instant::now() < deadline, "snapshots never committed: {:?}", all_files(&served));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let newest = committed_files(&served).iter().map(|n| n.parse::<SnapshotName>().unwrap()).max().unwrap();

    // The newest committed snapshot is offered by a relative redirect.
    let r = raw.get(format!("{base}/node/snapshot")).send().await.unwrap();
    assert_eq!(r.status(), 307);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let newest_now = committed_files(&served).iter().map(|n| n.parse::<SnapshotName>().unwrap()).max().unwrap();
    assert!(
        location == format!("/node/snapshot/{newest}") || location == format!("/node/snapshot/{newest_now}"),
        "{location}"
    );

    // The file itself, whole, by range and by HEAD.
    let on_disk = std::fs::read(served.join(newest.to_string())).unwrap();
    let r = raw.get(format!("{base}/node/snapshot/{newest}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert_eq!(r.headers()["content-length"], on_disk.len().to_string().as_str());
    assert_eq!(r.bytes().await.unwrap(), on_disk);
    let r = raw.get(format!("{base}/node/snapshot/{newest}")).header("range", "bytes=2-9").send().await.unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], format!("bytes 2-9/{}", on_disk.len()).as_str());
    assert_eq!(r.bytes().await.unwrap(), on_disk[2..10]);
    let r = raw.get(format!("{base}/node/snapshot/{newest}")).header("range", "bytes=999999999-").send().await.unwrap();
    assert_eq!(r.status(), 416);
    let r = raw.head(format!("{base}/node/snapshot/{newest}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], on_disk.len().to_string().as_str());

    // Unknown and malformed names.
    let r = raw.get(format!("{base}/node/snapshot/snapshot_1_999999.committed")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    for bad in ["not-a-snapshot", "snapshot_3_4", "snapshot_05_6.committed", "..%2Fledger"] {
        let r = raw.get(format!("{base}/node/snapshot/{bad}")).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "InvalidInput", "{body}");
        assert!(body["error"]["message"].as_str().unwrap().starts_with("snapshot_name:"), "{body}");
    }

    // The fetch follows the redirect, verifies and stores the file; again is idempotent.
    let joiner_dir = tmp.path().join("joiner1");
    let mut joiner = SnapshotDirectory::open(&joiner_dir, None).unwrap();
    let fetched = fetch_recent_snapshot(&fetcher, &target, &pem, &mut joiner, &limits).await.unwrap().unwrap();
    assert!(fetched >= newest && fetched.committed, "{fetched} vs {newest}");
    let stored = joiner.read(&fetched).unwrap();
    assert_eq!(stored, std::fs::read(served.join(fetched.to_string())).unwrap());
    verify_committed_snapshot(&fetched, &stored, &Certificate::from_pem(&pem).unwrap()).unwrap();
    assert_eq!(joiner.committed_newest_first().unwrap(), [fetched]);
    let tiny = SnapshotFetchLimits { max_bytes: 100, ..limits };
    let err = fetch_recent_snapshot(&fetcher, &target, &pem, &mut joiner, &tiny).await.unwrap_err();
    assert!(format!("{err:#}").contains("exceeds the limit of 100"), "{err:#}");

    // A tampered byte in the served snapshots: the fetch fails naming it, and stores nothing.
    for name in committed_files(&served) {
        let path = served.join(&name);
        let mut bytes = std::fs::read(&path).unwrap();
        let entry_len = cairn_ledger::snapshot::snapshot_entry_len(&bytes).unwrap();
        bytes[entry_len - 1] ^= 0x01;
        std::fs::write(&path, bytes).unwrap();
    }
    let tampered_dir = tmp.path().join("joiner2");
    let mut tampered = SnapshotDirectory::open(&tampered_dir, None).unwrap();
    let err = fetch_recent_snapshot(&fetcher, &target, &pem, &mut tampered, &limits).await.unwrap_err();
    let shown = format!("{err:#}");
    assert!(shown.contains("does not verify") && shown.contains("snapshot_"), "{shown}");
    assert!(all_files(&tampered_dir).is_empty(), "nothing stored: {:?}", all_files(&tampered_dir));

    node.stop().await.unwrap();
}
