//! Issue 11, finding 7, with real processes: a damaged `node_data/raft_state.json` stops the
//! start with an error naming the file and what to do, not a panic in the core; with the file
//! restored the node starts again and every record reads back. A flipped byte in a ledger
//! chunk stops the start with an error naming the chunk file and the entry's offset.
mod support;

use cairn_client::LogTable;
use std::process::Command;
use std::time::Duration;
use support::cairn_bin;
use support::member::open_service_with_user;
use support::node_process::{NodeOptions, NodeProcess};

/// An open one-node service in `dir` with `records` (table, id, value) committed.
fn service_with(dir: &std::path::Path, records: &[(LogTable, u64, &str)]) -> (NodeProcess, tokio::runtime::Runtime) {
    let mut node = NodeProcess::create(dir, &NodeOptions::default());
    node.start();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(open_service_with_user(dir, &node.client(Some("m0"))));
    let user = node.client(Some("u0"));
    for (table, id, value) in records {
        let tx = rt.block_on(user.log_write(*table, *id, value)).unwrap();
        rt.block_on(user.wait_committed(tx, Duration::from_secs(20))).unwrap();
    }
    (node, rt)
}

#[test]
fn a_damaged_raft_state_file_stops_the_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut node, rt) = service_with(dir.path(), &[(LogTable::Private, 1, "kept")]);
    node.kill();

    let file = dir.path().join("node_data/raft_state.json");
    let good = std::fs::read(&file).expect("the node persisted its Raft state");
    for damaged in [
        &b"{\"version\": 1, \"term\": "[..],
        b"not json at all",
        b"{\"version\": 99, \"term\": 1, \"vote\": 0, \"commit\": 0}",
    ] {
        std::fs::write(&file, damaged).unwrap();
        let out =
            Command::new(cairn_bin()).args(["node", "--config", "node.json"]).current_dir(dir.path()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "started on a damaged raft_state.json: {stderr}");
        assert!(stderr.contains("raft_state.json") && stderr.contains("Restore the file"), "{stderr}");
        assert!(!stderr.contains("panicked"), "a typed error, not a panic: {stderr}");
    }
    std::fs::write(&file, &good).unwrap();
    node.start();
    let user = node.client(Some("u0"));
    assert_eq!(rt.block_on(user.log_read(LogTable::Private, 1)).unwrap().as_deref(), Some("kept"));
}

#[test]
fn a_flipped_byte_in_a_chunk_is_reported_with_the_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = vec![(LogTable::Public, 1, "MARKER-public-record")];
    records.extend((2..20).map(|i| (LogTable::Public, i, "more")));
    let (mut node, _rt) = service_with(dir.path(), &records);
    node.stop();
    let ledger = dir.path().join("ledger");
    let (chunk, at) = std::fs::read_dir(&ledger)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find_map(|p| {
            let bytes = std::fs::read(&p).ok()?;
            let at = bytes.windows(6).position(|w| w == b"MARKER")?;
            Some((p, at))
        })
        .expect("the public record is in a chunk");
    let mut bytes = std::fs::read(&chunk).unwrap();
    bytes[at] ^= 0x20;
    std::fs::write(&chunk, &bytes).unwrap();
    let out =
        Command::new(cairn_bin()).args(["node", "--config", "node.json"]).current_dir(dir.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started on a damaged chunk: {stderr}");
    let name = chunk.file_name().unwrap().to_string_lossy().into_owned();
    assert!(stderr.contains(&name) && stderr.contains("at offset"), "names the chunk and offset: {stderr}");
}
