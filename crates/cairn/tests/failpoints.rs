//! Issue 11: a real node crashes (aborts, as with SIGKILL) at each of the shell's crash points
//! (`cairn_server::crash_point`), under load where the point is reached under load, and is
//! restarted: nothing acknowledged as committed is lost, and the node starts again (or refuses
//! with a clear reason). The test build of the `cairn` binary carries the crash points; the
//! `FAILPOINTS` environment variable arms one.
//!
//! Which test reaches which point is the table [`COVERAGE`]; a crash point without a row fails
//! `every_crash_point_is_covered`. The two snapshot-install points are reached in
//! `snapshot_offer.rs`, whose joiner crashes at each before it starts from the offered snapshot.
mod support;

use cairn_client::{CairnClient, LogTable};
use cairn_server::crash_point::{self as cp, CRASH_POINTS};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use support::cluster::{ClusterOptions, create_join_node, create_start_node, wait_for};
use support::node_process::NodeProcess;
use support::recovery::{open_with_shares, open_with_user, recover_node, rt, start_recovering, wait_open};

/// Crash point → the test that crashes a node there.
const COVERAGE: &[(&str, &str)] = &[
    (cp::NODE_FILE_BEFORE_RENAME, "a_node_crashing_at_a_node_file_write_restarts_with_every_committed_record"),
    (cp::NODE_FILE_BEFORE_DIR_SYNC, "a_node_crashing_at_a_node_file_write_restarts_with_every_committed_record"),
    (cp::SNAPSHOT_AFTER_WRITE, "a_node_crashing_around_a_snapshot_under_load_loses_nothing_committed"),
    (cp::SNAPSHOT_BEFORE_COMMIT, "a_node_crashing_around_a_snapshot_under_load_loses_nothing_committed"),
    (cp::SNAPSHOT_AFTER_COMMIT, "a_node_crashing_around_a_snapshot_under_load_loses_nothing_committed"),
    (cp::JOIN_BETWEEN_IDENTITY_FILES, "a_joiner_crashing_between_its_identity_files_joins_on_restart"),
    (cp::SET_ASIDE_BETWEEN_RENAMES, "a_recovery_crashing_while_it_sets_chunks_aside_completes_on_restart"),
    (cp::INSTALL_AFTER_MARKER, "snapshot_offer.rs"),
    (cp::INSTALL_AFTER_SUPERSEDE, "snapshot_offer.rs"),
];

#[test]
fn every_crash_point_is_covered() {
    for point in CRASH_POINTS {
        assert!(COVERAGE.iter().any(|(p, _)| p == point), "crash point {point} has no test");
    }
    assert_eq!(COVERAGE.len(), CRASH_POINTS.len());
}

fn opts() -> ClusterOptions {
    ClusterOptions {
        members: 3,
        recovery_threshold: 2,
        snapshot_tx_count: 20,
        signature_tx_count: 5,
        ..ClusterOptions::default()
    }
}

fn armed(point: &str) -> String {
    format!("{point}=return")
}

/// Writes records `from..` until `stop` or the node stops answering; returns every record
/// acknowledged as committed.
fn load(client: CairnClient, from: u64, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<(u64, String)>> {
    std::thread::spawn(move || {
        let rt = rt();
        let mut committed = Vec::new();
        let mut failures = 0;
        let mut id = from;
        while !stop.load(Ordering::Relaxed) && failures < 20 {
            let msg = format!("record {id}");
            let ok = rt.block_on(async {
                let tx = client.log_write(LogTable::Private, id, &msg).await.ok()?;
                client.wait_committed(tx, Duration::from_secs(5)).await.ok()
            });
            match ok {
                Some(()) => {
                    committed.push((id, msg));
                    failures = 0;
                }
                None => {
                    failures += 1;
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            id += 1;
        }
        committed
    })
}

/// Half a second of load on `node`, records from `from`: what was committed.
fn committed_writes(node: &NodeProcess, from: u64) -> Vec<(u64, String)> {
    let stop = Arc::new(AtomicBool::new(false));
    let writer = load(node.client(Some("u0")), from, stop.clone());
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let records = writer.join().unwrap();
    assert!(!records.is_empty(), "writes committed");
    records
}

fn check_all(node: &NodeProcess, records: &[(u64, String)], what: &str) {
    let user = node.client(Some("u0"));
    let rt = rt();
    for (id, msg) in records {
        let got = rt.block_on(user.log_read(LogTable::Private, *id)).unwrap_or_else(|e| panic!("{what}: {id}: {e}"));
        assert_eq!(got.as_deref(), Some(msg.as_str()), "{what}: record {id}, acknowledged as committed");
    }
}

fn assert_crashed_at(node: &mut NodeProcess, point: &str) {
    if !node.wait_exit(Duration::from_secs(60)) {
        let log = node.last_log();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        panic!(
            "the node did not reach crash point {point}; its log ends:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    let log = node.last_log();
    assert!(log.contains(&format!("crash point {point}: aborting")), "{point}: {log}");
}

/// Waits until the node answers (true) or has crashed at `point` while starting (false).
fn answers_before_crashing(node: &mut NodeProcess, point: &str) -> bool {
    let rt = rt();
    let start = std::time::Instant::now();
    loop {
        if !node.is_running() {
            assert_crashed_at(node, point);
            return false;
        }
        if node.dir.join("service_cert.pem").exists() && rt.block_on(node.client(None).node_state()).is_ok() {
            return true;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "node neither answered nor crashed at {point}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_node_crashing_at_a_node_file_write_restarts_with_every_committed_record() {
    let tmp = tempfile::tempdir().unwrap();
    let mut node = create_start_node(&tmp.path().join("n0"), &opts());
    node.start();
    open_with_user(&node);
    let mut records = Vec::new();
    for (round, point) in [cp::NODE_FILE_BEFORE_RENAME, cp::NODE_FILE_BEFORE_DIR_SYNC].into_iter().enumerate() {
        let stop = Arc::new(AtomicBool::new(false));
        let writer = load(node.client(Some("u0")), 1000 * round as u64, stop.clone());
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::Relaxed);
        records.extend(writer.join().unwrap());
        node.kill();
        // Every start writes node files (the service certificate, the Raft state of its new
        // term): the first one crashes.
        node.spawn_with_env(&[("FAILPOINTS", &armed(point))]);
        assert_crashed_at(&mut node, point);
        node.start();
        check_all(&node, &records, point);
    }
    assert!(records.len() > 10, "{} records written", records.len());
}

#[test]
fn a_node_crashing_around_a_snapshot_under_load_loses_nothing_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let mut node = create_start_node(&tmp.path().join("n0"), &opts());
    node.start();
    open_with_user(&node);
    // A committed write first: the service's opening is committed before the first crash.
    let mut records = committed_writes(&node, 100_000);
    for (round, point) in
        [cp::SNAPSHOT_AFTER_WRITE, cp::SNAPSHOT_BEFORE_COMMIT, cp::SNAPSHOT_AFTER_COMMIT].into_iter().enumerate()
    {
        node.kill();
        node.spawn_with_env(&[("FAILPOINTS", &armed(point))]);
        // The previous round's writes may make a snapshot due at once: then the node reaches
        // the point while it starts, before it answers, which exercises the same crash.
        if answers_before_crashing(&mut node, point) {
            let stop = Arc::new(AtomicBool::new(false));
            let writer = load(node.client(Some("u0")), 1000 * round as u64, stop.clone());
            assert_crashed_at(&mut node, point);
            stop.store(true, Ordering::Relaxed);
            records.extend(writer.join().unwrap());
        }
        node.start();
        check_all(&node, &records, point);
    }
    assert!(records.len() > 10, "{} records written", records.len());
}

#[test]
fn a_joiner_crashing_between_its_identity_files_joins_on_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |n: &str| tmp.path().join(n);
    let mut n0 = create_start_node(&dir("n0"), &opts());
    n0.start();
    open_with_user(&n0);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = load(n0.client(Some("u0")), 0, stop.clone());
    let mut n1 = create_join_node(&dir("n1"), &dir("n0"), n0.port, &opts());
    let point = cp::JOIN_BETWEEN_IDENTITY_FILES;
    n1.spawn_with_env(&[("FAILPOINTS", &armed(point))]);
    // The service is open: members trust the joiner, which then writes its identity files.
    let gov = n0.client(None);
    let trust = rt().block_on(async {
        let id = wait_for("the join request", Duration::from_secs(30), || async {
            let list = gov.network_nodes().await.ok()?;
            list.iter().find(|n| n["status"] == "Pending").map(|n| n["node_id"].as_str().unwrap().to_string())
        })
        .await;
        let actions = serde_json::json!([{"name": "transition_node_to_trusted", "args": {"node_id": id}}]);
        support::recovery::pass_with_two(&gov, &n0.dir, actions).await
    });
    assert_eq!(trust, "Accepted");
    assert_crashed_at(&mut n1, point);
    n1.start();
    let c = n1.client(None);
    rt().block_on(wait_for("the joiner in the network", Duration::from_secs(60), || async {
        (c.node_state().await.ok()?.state == "PartOfNetwork").then_some(())
    }));
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let records = writer.join().unwrap();
    assert!(!records.is_empty());
    let last = n0.client(None);
    let commit = rt().block_on(last.commit()).unwrap();
    rt().block_on(wait_for("the joiner caught up", Duration::from_secs(30), || async {
        (c.commit().await.ok()?.seqno >= commit.seqno).then_some(())
    }));
    check_all(&n0, &records, "the primary");
    check_all(&n1, &records, "the joiner");
}

#[test]
fn a_recovery_crashing_while_it_sets_chunks_aside_completes_on_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |n: &str| tmp.path().join(n);
    let mut old = create_start_node(&dir("old"), &opts());
    old.start();
    open_with_user(&old);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = load(old.client(Some("u0")), 0, stop.clone());
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let records = writer.join().unwrap();
    let old_cert = old.service_cert();
    assert!(!records.is_empty());
    old.kill();
    // A copy of the ledger with two chunks an earlier, aborted recovery left behind.
    let mut rec = recover_node(&dir("rec"), &dir("old"), &dir("old"));
    for leftover in ["ledger_900000-900010.recovery", "ledger_900011.recovery"] {
        std::fs::write(rec.dir.join("ledger").join(leftover), b"left by an aborted recovery").unwrap();
    }
    let point = cp::SET_ASIDE_BETWEEN_RENAMES;
    rec.spawn_with_env(&[("FAILPOINTS", &armed(point))]);
    assert_crashed_at(&mut rec, point);
    start_recovering(&mut rec);
    let names: Vec<String> = std::fs::read_dir(rec.dir.join("ledger"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.iter().filter(|n| n.starts_with("ledger_9000") && n.ends_with(".ignored")).count(),
        2,
        "{names:?}"
    );
    open_with_shares(&rec, &old_cert);
    rt().block_on(wait_open(&rec.client(None), "the recovered service open"));
    check_all(&rec, &records, "the recovered service");
}
