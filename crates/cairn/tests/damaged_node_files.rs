//! Issue 11, finding 7, with a real process: a damaged `node_data/raft_state.json` stops the
//! start with an error naming the file and what to do, not a panic in the core; with the file
//! restored the node starts again and every record reads back.
mod support;

use cairn_client::LogTable;
use std::process::Command;
use std::time::Duration;
use support::cairn_bin;
use support::member::open_service_with_user;
use support::node_process::{NodeOptions, NodeProcess};

#[test]
fn a_damaged_raft_state_file_stops_the_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = NodeProcess::create(dir.path(), &NodeOptions::default());
    node.start();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(open_service_with_user(dir.path(), &node.client(Some("m0"))));
    let user = node.client(Some("u0"));
    let tx = rt.block_on(user.log_write(LogTable::Private, 1, "kept")).unwrap();
    rt.block_on(user.wait_committed(tx, Duration::from_secs(20))).unwrap();
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
