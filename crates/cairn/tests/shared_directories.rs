//! Issue 11, finding 6, with real processes: nodes that share a directory. Files are written
//! through temp names of their own (`cairn sandbox` twice on one workspace, its nodes sharing
//! `service_cert.pem` and `join_token`, starts both times), and a second process given a node's
//! `node_data_directory`, `ledger.directory` or `snapshots.directory` refuses to start, naming
//! the directory and the process that holds it, without touching its files.
mod support;

use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;
use support::cluster::{ClusterOptions, create_start_node};
use support::{cairn_bin, free_port};

#[test]
fn the_sandbox_starts_twice_on_one_workspace() {
    let tmp = tempfile::tempdir().unwrap();
    let workspace = tmp.path().join("sandbox");
    // Node i uses port + i and port + 100 + i: a base whose neighbours are free.
    let port = (0..50)
        .map(|_| free_port())
        .find(|p| {
            *p < 65_000
                && [1, 2, 100, 101, 102].iter().all(|d| std::net::TcpListener::bind(("127.0.0.1", p + d)).is_ok())
        })
        .expect("a free port range");
    for round in 1..=2 {
        let out = Command::new(cairn_bin())
            .args(["sandbox", "--nodes", "3", "--workload", "1s", "--clients", "4", "--port", &port.to_string()])
            .arg("--workspace")
            .arg(&workspace)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sandbox round {round} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let leftovers: Vec<String> = std::fs::read_dir(&workspace)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left behind: {leftovers:?}");
}

#[test]
fn a_second_process_on_a_nodes_directories_refuses_to_start_naming_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let mut node = create_start_node(&tmp.path().join("n0"), &ClusterOptions::default());
    node.start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = node.client(None);
    rt.block_on(support::cluster::wait_for("the node serving", Duration::from_secs(30), || async {
        (c.node_state().await.ok()?.state == "PartOfNetwork").then_some(())
    }));
    let holder = node.pid().unwrap();
    let config: Value = serde_json::from_slice(&std::fs::read(node.dir.join("node.json")).unwrap()).unwrap();
    let listing = |d: &str| {
        let mut names: Vec<String> = std::fs::read_dir(node.dir.join(d))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    // Same configuration, other ports: each shared directory in turn.
    for (key, shared) in
        [("node_data_directory", "node_data"), ("ledger.directory", "ledger"), ("snapshots.directory", "snapshots")]
    {
        let mut second = config.clone();
        let (rpc, n2n) = (free_port(), free_port());
        second["network"]["node_to_node_interface"]["bind_address"] = json!(format!("127.0.0.1:{n2n}"));
        for (_, i) in second["network"]["rpc_interfaces"].as_object_mut().unwrap() {
            i["bind_address"] = json!(format!("127.0.0.1:{rpc}"));
        }
        // Only `shared` is the running node's; the other directories are the second's own.
        second["node_data_directory"] = json!("other_node_data");
        second["ledger"]["directory"] = json!("other_ledger");
        second["snapshots"]["directory"] = json!("other_snapshots");
        match key {
            "node_data_directory" => second["node_data_directory"] = json!(shared),
            "ledger.directory" => second["ledger"]["directory"] = json!(shared),
            _ => second["snapshots"]["directory"] = json!(shared),
        }
        second["node_certificate_file"] = json!("other_nodecert.pem");
        second["command"]["service_certificate_file"] = json!("other_service_cert.pem");
        std::fs::write(node.dir.join("second.json"), serde_json::to_vec_pretty(&second).unwrap()).unwrap();
        let before = listing(shared);
        let out = Command::new(cairn_bin())
            .args(["node", "--config", "second.json"])
            .current_dir(&node.dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{key}: the second process started");
        assert!(stderr.contains(&format!("{key} {shared} is in use by another process")), "{key}: {stderr}");
        assert!(stderr.contains(&format!("pid {holder}")), "{key}: the holder is named: {stderr}");
        assert_eq!(listing(shared), before, "{key}: the second process touched nothing");
    }
    // The first node still serves.
    assert_eq!(rt.block_on(c.node_state()).unwrap().state, "PartOfNetwork");
}
