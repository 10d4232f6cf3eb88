//! What a real node writes is what CCF's `read_ledger.py` (ccf==6.0.28) accepts: its committed
//! chunks and its committed snapshots. A restart then resumes from the newest snapshot.
mod support;

use cairn_client::LogTable;
use serde_json::json;
use std::process::Command;
use support::member::{Member, open_service_with_user};
use support::node_process::{NodeOptions, NodeProcess};

#[test]
fn read_ledger_py_verifies_a_nodes_committed_chunks_and_snapshots() {
    let venv = support::ccf_venv();
    let dir = tempfile::tempdir().unwrap();
    let opts =
        NodeOptions { snapshot_tx_count: 300, chunk_size: "16KB", signature_tx_count: 50, ..NodeOptions::default() };
    let mut node = NodeProcess::create(dir.path(), &opts);
    node.start();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        open_service_with_user(dir.path(), &node.client(Some("m0"))).await;
        let client = node.client(Some("u0"));
        let mut last = None;
        for id in 0..1000u64 {
            let table = if id % 3 == 0 { LogTable::Public } else { LogTable::Private };
            last = Some(client.log_write(table, id, &format!("value {id}")).await.unwrap());
        }
        client.wait_committed(last.unwrap(), std::time::Duration::from_secs(30)).await.unwrap();
        // A member-triggered snapshot too.
        let m0 = Member::load(dir.path(), "m0");
        let (_, state) =
            m0.propose_and_approve(&node.client(None), json!([{"name": "trigger_snapshot", "args": {}}])).await;
        assert_eq!(state, "Accepted");
        let more = client.log_write(LogTable::Private, 5000, "after").await.unwrap();
        client.wait_committed(more, std::time::Duration::from_secs(30)).await.unwrap();
        // Let a later signature commit the snapshot evidence.
        std::thread::sleep(std::time::Duration::from_millis(200));
        let more = client.log_write(LogTable::Private, 5001, "after 2").await.unwrap();
        client.wait_committed(more, std::time::Duration::from_secs(30)).await.unwrap();
    });
    node.stop();

    let ledger = dir.path().join("ledger");
    let read_ledger = |args: &[&str]| {
        let out =
            Command::new(venv.join("bin/python")).arg(venv.join("bin/read_ledger.py")).args(args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "read_ledger.py {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let committed_chunks = std::fs::read_dir(&ledger)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".committed"))
        .count();
    assert!(committed_chunks >= 3, "expected several committed chunks");
    let stdout = read_ledger(&["-q", ledger.to_str().unwrap()]);
    assert!(stdout.contains("Ledger verification complete"), "{stdout}");

    let mut snapshots: Vec<_> = std::fs::read_dir(dir.path().join("snapshots"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".committed"))
        .collect();
    snapshots.sort();
    assert!(snapshots.len() >= 3, "expected periodic and triggered committed snapshots, got {snapshots:?}");
    for s in &snapshots {
        read_ledger(&["-s", s.to_str().unwrap()]);
    }

    // The restart resumes from the newest snapshot and serves the same records.
    node.start();
    assert!(node.last_log().contains("restarting from snapshot"), "{}", node.last_log());
    let client = node.client(Some("u0"));
    rt.block_on(async {
        for id in [0u64, 1, 2, 500, 999] {
            let table = if id % 3 == 0 { LogTable::Public } else { LogTable::Private };
            assert_eq!(client.log_read(table, id).await.unwrap(), Some(format!("value {id}")), "record {id}");
        }
        assert_eq!(client.log_read(LogTable::Private, 5001).await.unwrap().as_deref(), Some("after 2"));
    });
    node.stop();
}
