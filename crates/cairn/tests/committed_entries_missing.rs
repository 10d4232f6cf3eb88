//! Issue 11, finding 1, with a real process: a single node whose open chunk was lost (deleted, as
//! an operator's mistake or a failed disk would) while a committed snapshot proves later entries
//! committed refuses to start, naming what is missing, instead of reusing committed seqnos.
mod support;

use cairn_client::LogTable;
use std::process::Command;
use std::time::Duration;
use support::cairn_bin;
use support::member::open_service_with_user;
use support::node_process::{NodeOptions, NodeProcess};

#[test]
fn a_lone_node_missing_committed_entries_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let opts =
        NodeOptions { snapshot_tx_count: 20, chunk_size: "4KB", signature_tx_count: 5, ..NodeOptions::default() };
    let mut node = NodeProcess::create(dir.path(), &opts);
    node.start();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(open_service_with_user(dir.path(), &node.client(Some("m0"))));
    let user = node.client(Some("u0"));
    let mut last = None;
    for i in 0..60 {
        last = Some(rt.block_on(user.log_write(LogTable::Private, i, &format!("record {i}"))).unwrap());
    }
    rt.block_on(user.wait_committed(last.unwrap(), Duration::from_secs(20))).unwrap();
    let snapshots = || -> Vec<String> {
        std::fs::read_dir(dir.path().join("snapshots"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".committed"))
            .collect()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while snapshots().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no committed snapshot");
        std::thread::sleep(Duration::from_millis(50));
    }
    node.kill();
    // The newest chunk files go: the ledger now ends before the snapshot's evidence.
    let ledger = dir.path().join("ledger");
    let mut chunks: Vec<(u64, String)> = std::fs::read_dir(&ledger)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let start = name.strip_prefix("ledger_")?.split(['-', '.']).next()?.parse().ok()?;
            Some((start, name))
        })
        .collect();
    chunks.sort();
    let evidence: u64 = snapshots()
        .iter()
        .filter_map(|n| n.strip_prefix("snapshot_")?.split(['_', '.']).nth(1)?.parse().ok())
        .max()
        .unwrap();
    let moved = std::env::temp_dir().join(format!("cairn-lost-chunks-{}", std::process::id()));
    std::fs::create_dir_all(&moved).unwrap();
    // Every chunk from the one holding the evidence transaction on.
    let from = chunks.iter().map(|(start, _)| *start).filter(|s| *s <= evidence).max().unwrap();
    assert!(from > 1, "the evidence is not in the first chunk: {chunks:?}");
    for (_, name) in chunks.iter().filter(|(start, _)| *start >= from) {
        std::fs::rename(ledger.join(name), moved.join(name)).unwrap();
    }
    let mut child = Command::new(cairn_bin())
        .args(["node", "--config", "node.json"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run cairn node");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the node started instead of refusing (chunks from {from} moved, evidence {evidence})");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the node must refuse to start: {stderr}");
    assert!(stderr.contains("committed entries are missing"), "{stderr}");
    assert!(stderr.contains("committed snapshot"), "names what proves it: {stderr}");
    assert!(stderr.contains("command.type = Recover"), "says what the operator can do: {stderr}");
    // Put the chunks back: the node starts again and every record reads back.
    for entry in std::fs::read_dir(&moved).unwrap() {
        let entry = entry.unwrap();
        std::fs::rename(entry.path(), ledger.join(entry.file_name())).unwrap();
    }
    node.start();
    let user = node.client(Some("u0"));
    for i in 0..60 {
        let value = rt.block_on(user.log_read(LogTable::Private, i)).unwrap();
        assert_eq!(value.as_deref(), Some(format!("record {i}").as_str()));
    }
    let _ = std::fs::remove_dir_all(&moved);
}
