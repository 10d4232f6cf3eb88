//! End to end with real `cairn` processes: a node that joined from a snapshot becomes primary,
//! so it holds no ledger entries before that snapshot. A node that joins without fetching a
//! snapshot (`fetch_recent_snapshot: false`) needs entries from seqno 1; the primary offers its
//! snapshot instead (a Raft snapshot naming the file), and the joiner fetches it over HTTPS,
//! verifies it, and starts again from it, then catches up and serves every record. Two such
//! joiners crash on the way (crash points `install_after_marker` and `install_after_supersede`,
//! `tests/failpoints.rs`) and start again in a new process from the snapshot they installed:
//! the peers they knew are kept beside the install marker, as the snapshot's configuration may
//! not name the primary that offered it.
mod support;

use cairn_client::{CairnClient, LogTable};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use support::cluster::{ClusterOptions, create_join_node, create_start_node, find_leader, wait_for, wait_same_commit};
use support::member::{Member, open_service_with_user};
use support::node_process::NodeProcess;

/// Writes `count` records with ids from `first` through `client`, each committed.
async fn write_committed(client: &CairnClient, first: u64, count: u64) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    for id in first..first + count {
        let msg = format!("record {id}");
        let txid = client.log_write(LogTable::Private, id, &msg).await.expect("write");
        client.wait_committed(txid, Duration::from_secs(20)).await.expect("committed");
        out.push((id, msg));
    }
    out
}

fn committed_snapshots(node: &NodeProcess) -> Vec<String> {
    let names = std::fs::read_dir(node.dir.join("snapshots")).map(|d| {
        d.filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| n.ends_with(".committed")).collect()
    });
    names.unwrap_or_default()
}

#[test]
fn a_node_behind_a_primary_that_started_from_a_snapshot_starts_from_the_primarys_snapshot() {
    let root = tempfile::tempdir().unwrap();
    let dir = |n: usize| root.path().join(format!("n{n}"));
    let opts = ClusterOptions { snapshot_tx_count: 50, ..ClusterOptions::default() };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let started = Instant::now();

    // n0 starts, n1 joins; the service opens; writes until n0 commits a snapshot.
    let mut nodes = vec![create_start_node(&dir(0), &opts)];
    nodes[0].start();
    nodes.push(create_join_node(&dir(1), &dir(0), nodes[0].port, &opts));
    nodes[1].start();
    rt.block_on(open_service_with_user(&dir(0), &nodes[0].client(Some("m0"))));
    let member = Member::load(&dir(0), "m0");
    let mut records = rt.block_on(write_committed(&nodes[0].client(Some("u0")), 0, 60));
    rt.block_on(wait_for("a committed snapshot on n0", Duration::from_secs(20), || async {
        (!committed_snapshots(&nodes[0]).is_empty()).then_some(())
    }));

    // n2 joins from that snapshot (fetch_recent_snapshot is on by default) and is trusted.
    let trust_next_joiner = |nodes: &[NodeProcess], known: &BTreeSet<String>| {
        let gov = nodes[0..2].iter().map(|n| n.client(None)).collect::<Vec<_>>();
        rt.block_on(async {
            let (p, _) = wait_for("a primary", Duration::from_secs(20), || find_leader(&gov, &[0, 1], 0)).await;
            let id = wait_for("the join request", Duration::from_secs(30), || async {
                let list = gov[p].network_nodes().await.ok()?;
                list.iter()
                    .find(|n| n["status"] == "Pending" && !known.contains(n["node_id"].as_str().unwrap_or("")))
                    .map(|n| n["node_id"].as_str().unwrap().to_string())
            })
            .await;
            let actions = json!([{"name": "transition_node_to_trusted", "args": {"node_id": id}}]);
            let (_, state) = member.propose_and_approve(&gov[p], actions).await;
            assert_eq!(state, "Accepted");
            id
        })
    };
    let mut known: BTreeSet<String> =
        nodes.iter().map(|n| rt.block_on(n.client(None).node_state()).unwrap().node_id).collect();
    nodes.push(create_join_node(&dir(2), &dir(0), nodes[0].port, &opts));
    nodes[2].spawn();
    known.insert(trust_next_joiner(&nodes, &known));
    nodes[2].wait_ready(Duration::from_secs(60));
    assert!(nodes[2].last_log().contains("starting from a committed snapshot"), "{}", nodes[2].last_log());
    let anon: Vec<CairnClient> = nodes.iter().map(|n| n.client(None)).collect();
    rt.block_on(wait_same_commit(&anon, &[0, 1, 2], Duration::from_secs(30)));
    rt.block_on(wait_for("n2 a voter everywhere", Duration::from_secs(30), || async {
        for c in &anon {
            if support::cluster::voters(&c.consensus().await.ok()?).len() != 3 {
                return None;
            }
        }
        Some(())
    }));

    // Stop primaries (each comes back as a backup) until n2 leads.
    for _ in 0..16 {
        let (p, term) =
            rt.block_on(wait_for("a primary", Duration::from_secs(20), || find_leader(&anon, &[0, 1, 2], 0)));
        if p == 2 {
            break;
        }
        nodes[p].kill();
        let others: Vec<usize> = (0..3).filter(|&i| i != p).collect();
        rt.block_on(wait_for("another primary", Duration::from_secs(20), || find_leader(&anon, &others, term)));
        nodes[p].start();
        rt.block_on(wait_same_commit(&anon, &[0, 1, 2], Duration::from_secs(30)));
    }
    let (p, _) = rt.block_on(find_leader(&anon, &[0, 1, 2], 0)).expect("a primary");
    assert_eq!(p, 2, "n2 never became primary");
    println!("[{:>5.1?}] n2, which started from a snapshot, is primary", started.elapsed());

    // n3 joins through n2 without fetching a snapshot: n2 cannot send entries from seqno 1, so
    // it offers its snapshot; n3 fetches it, sets its (empty) ledger aside, starts from it.
    let no_fetch = ClusterOptions {
        fetch_recent_snapshot: false,
        ..ClusterOptions { snapshot_tx_count: 50, ..Default::default() }
    };
    // n3 crashes right after it wrote `snapshot_install.txt` (crash point
    // `install_after_marker`, `tests/failpoints.rs`), then starts again: from that snapshot.
    let join_through_n2 = |nodes: &mut Vec<NodeProcess>, known: &mut BTreeSet<String>, n: usize, point: &str| {
        nodes.push(create_join_node(&dir(n), &dir(0), nodes[2].port, &no_fetch));
        nodes[n].spawn_with_env(&[("FAILPOINTS", &format!("{point}=return"))]);
        let gov = nodes[2].client(None);
        let id = rt.block_on(async {
            let id = wait_for("the join request", Duration::from_secs(30), || async {
                let list = gov.network_nodes().await.ok()?;
                list.iter()
                    .find(|n| n["status"] == "Pending" && !known.contains(n["node_id"].as_str().unwrap_or("")))
                    .map(|n| n["node_id"].as_str().unwrap().to_string())
            })
            .await;
            let actions = json!([{"name": "transition_node_to_trusted", "args": {"node_id": id}}]);
            let (_, state) = member.propose_and_approve(&gov, actions).await;
            assert_eq!(state, "Accepted");
            id
        });
        known.insert(id);
        assert!(nodes[n].wait_exit(Duration::from_secs(60)), "n{n} did not crash at {point}");
        assert!(nodes[n].last_log().contains(&format!("crash point {point}")), "{}", nodes[n].last_log());
        nodes[n].start();
    };
    join_through_n2(&mut nodes, &mut known, 3, "install_after_marker");
    records.extend(rt.block_on(write_committed(&nodes[2].client(Some("u0")), 1000, 10)));
    let anon: Vec<CairnClient> = nodes.iter().map(|n| n.client(None)).collect();
    let commit = rt.block_on(wait_same_commit(&anon, &[0, 1, 2, 3], Duration::from_secs(60)));
    let log = std::fs::read_to_string(nodes[3].dir.join("node-0.log")).unwrap();
    assert!(!log.contains("fetched the service's newest committed snapshot"), "n3 was not to fetch one:\n{log}");
    assert!(log.contains("fetched a committed snapshot"), "n3 did not fetch the offered snapshot:\n{log}");
    let log = nodes[3].last_log();
    assert!(log.contains("starting from the snapshot the primary offered"), "n3 did not start from it:\n{log}");
    let user = nodes[3].client(Some("u0"));
    for (id, msg) in &records {
        let got = rt.block_on(user.log_read(LogTable::Private, *id)).expect("read");
        assert_eq!(got.as_deref(), Some(msg.as_str()), "n3, record {id}");
    }
    println!("[{:>5.1?}] n3 started from n2's snapshot and caught up to {commit}", started.elapsed());
    // n4 likewise, crashing once its empty ledger was set aside (`install_after_supersede`).
    join_through_n2(&mut nodes, &mut known, 4, "install_after_supersede");
    let anon: Vec<CairnClient> = nodes.iter().map(|n| n.client(None)).collect();
    rt.block_on(wait_same_commit(&anon, &[0, 1, 2, 3, 4], Duration::from_secs(60)));
    assert!(nodes[4].last_log().contains("starting from the snapshot the primary offered"), "{}", nodes[4].last_log());
    let user = nodes[4].client(Some("u0"));
    for (id, msg) in &records {
        let got = rt.block_on(user.log_read(LogTable::Private, *id)).expect("read");
        assert_eq!(got.as_deref(), Some(msg.as_str()), "n4, record {id}");
    }
    for (n, node) in nodes.iter().enumerate() {
        let panics = support::cluster::panics_in_logs(node);
        assert!(panics.is_empty(), "n{n} panicked:\n{}", panics.join("\n"));
    }
    for node in nodes.iter_mut().rev() {
        node.stop();
    }
}
