//! Power loss for a real 3-node network. Each node's ledger, snapshots and node files live on
//! its own power-loss filesystem (`crates/cairn-powerloss`: a FUSE pass-through that forgets
//! every change no `fsync` covered when the power is cut, optionally tearing the last write).
//! Under load the power is cut ≥ 20 times (more, up to 40, until one has torn a write),
//! alternately for all three nodes at once and for one node; the nodes restart from what their disks kept, and every write acknowledged as
//! `Committed` must read back identical with its transaction still `Committed`.
//!
//! `ledger.durability = fsync` (the default) must lose nothing. The same run with `flush`
//! (`cargo test -p cairn --test power_loss -- --ignored --nocapture`) reports what it lost.
//! Set `CAIRN_E2E_SEED` to replay a run's schedule. Needs `/dev/fuse` and root.
mod support;

use cairn_client::{CairnClient, LogTable, TxStatus};
use cairn_ledger::format::TxId;
use cairn_powerloss::{PowerLossMount, fuse_available};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::cluster::{ClusterOptions, create_join_node, create_start_node, find_leader, voters, wait_for};
use support::failure_report::FailureReport;
use support::member::open_service_with_user;
use support::node_process::NodeProcess;

const CUTS: usize = 20;
/// Cuts go on past `CUTS` (up to this many) until one has torn a write: most cuts land
/// between a write and its fsync and tear nothing.
const MAX_CUTS: usize = 40;
const CLIENTS: usize = 8;
/// How long a client polls one write's status before giving up on it (not acknowledged).
const STATUS_LIMIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
struct Written {
    table: LogTable,
    id: u64,
    msg: String,
    txid: TxId,
}

#[derive(Default)]
struct Load {
    next_id: AtomicU64,
    stop: AtomicBool,
    committed: Mutex<Vec<Written>>,
}

/// One client: writes through `clients[at]` (moving to the next node on any error) and polls
/// the status until Committed (recorded), Invalid, or `STATUS_LIMIT`.
async fn writer(clients: Vec<CairnClient>, mut at: usize, load: Arc<Load>) {
    while !load.stop.load(Ordering::Relaxed) {
        let id = load.next_id.fetch_add(1, Ordering::Relaxed);
        let table = if id.is_multiple_of(2) { LogTable::Private } else { LogTable::Public };
        let msg = format!("record {id} {}", "p".repeat((id % 83) as usize));
        let Ok(txid) = clients[at].log_write(table, id, &msg).await else {
            at = (at + 1) % clients.len();
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let deadline = Instant::now() + STATUS_LIMIT;
        while Instant::now() < deadline && !load.stop.load(Ordering::Relaxed) {
            match clients[at].tx_status(txid).await {
                Ok(TxStatus::Committed) => {
                    load.committed.lock().unwrap().push(Written { table, id, msg, txid });
                    break;
                }
                Ok(TxStatus::Invalid) => break,
                Ok(_) => tokio::time::sleep(Duration::from_millis(3)).await,
                Err(_) => break,
            }
        }
    }
}

/// Every record that does not read back identical, or whose transaction is no longer
/// Committed, on `client`.
async fn losses(client: &CairnClient, records: &[Written]) -> Vec<String> {
    let mut lost = Vec::new();
    for r in records {
        let got = client.log_read(r.table, r.id).await;
        let status = client.tx_status(r.txid).await;
        match (got, status) {
            (Ok(Some(msg)), Ok(TxStatus::Committed)) if msg == r.msg => {}
            (got, status) => lost.push(format!(
                "record {} ({:?}, Committed at {}): reads {:?}, status {:?}",
                r.id,
                r.table,
                r.txid,
                got.map(|m| m.map(|m| m.chars().take(24).collect::<String>())),
                status
            )),
        }
    }
    lost
}

/// Puts a node's ledger, snapshots and node files on `mnt` with `durability`.
fn place_on(node: &NodeProcess, mnt: &Path, durability: &str) {
    let path = node.dir.join("node.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["ledger"]["directory"] = json!(mnt.join("ledger"));
    config["ledger"]["durability"] = json!(durability);
    config["snapshots"]["directory"] = json!(mnt.join("snapshots"));
    config["node_data_directory"] = json!(mnt.join("node_data"));
    std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
}

/// Starts every stopped node in `which` and waits until each answers; a node that exits
/// instead (it refused its files) is reported, with its log's last lines.
fn restart(nodes: &mut [NodeProcess], which: &[usize]) -> Result<(), String> {
    for &i in which {
        nodes[i].spawn();
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for &i in which {
        let start = Instant::now();
        loop {
            if !nodes[i].is_running() {
                let log = nodes[i].last_log();
                let tail: Vec<&str> = log.lines().rev().take(8).collect();
                return Err(format!(
                    "node {i} did not restart: {}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                ));
            }
            if rt.block_on(nodes[i].client(None).node_state()).is_ok() {
                break;
            }
            if start.elapsed() > Duration::from_secs(60) {
                let log = nodes[i].last_log();
                let tail: Vec<&str> = log.lines().rev().take(8).collect();
                let tail = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
                return Err(format!("node {i} not answering 60 s after restart:\n{tail}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(())
}

struct Outcome {
    cuts: usize,
    committed: usize,
    bytes_dropped: u64,
    entries_dropped: usize,
    torn: usize,
    lost: Vec<String>,
    refused: Option<String>,
}

fn run(durability: &str, seed: u64) -> Outcome {
    if let Err(why) = fuse_available() {
        panic!("the power-loss test needs FUSE: {why}");
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let report = FailureReport::new("power-loss test", seed, 3, 15);
    let root = report.root();
    let dir = |n: usize| root.join(format!("n{n}"));
    let disks: Vec<PowerLossMount> = (0..3)
        .map(|n| {
            let mnt = root.join(format!("mnt{n}"));
            std::fs::create_dir_all(&mnt).unwrap();
            PowerLossMount::mount(&root.join(format!("backing{n}")), &mnt).expect("mount the power-loss filesystem")
        })
        .collect();
    let mnts: Vec<PathBuf> = disks.iter().map(|d| d.mountpoint().to_path_buf()).collect();
    let opts = ClusterOptions { snapshot_tx_count: 400, chunk_size: "32KB", ..ClusterOptions::default() };

    let mut nodes = vec![create_start_node(&dir(0), &opts)];
    place_on(&nodes[0], &mnts[0], durability);
    nodes[0].start();
    for n in 1..3 {
        nodes.push(create_join_node(&dir(n), &dir(0), nodes[0].port, &opts));
        place_on(&nodes[n], &mnts[n], durability);
        nodes[n].spawn();
    }
    for node in &mut nodes[1..] {
        node.wait_ready(Duration::from_secs(60));
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let users: Vec<CairnClient> = nodes.iter().map(|n| n.client(Some("u0"))).collect();
    let anon: Vec<CairnClient> = nodes.iter().map(|n| n.client(None)).collect();
    rt.block_on(wait_for("3 voters", Duration::from_secs(30), || async {
        let c = anon[0].consensus().await.ok()?;
        (voters(&c).len() == 3).then_some(())
    }));
    rt.block_on(open_service_with_user(&dir(0), &nodes[0].client(Some("m0"))));

    let mut out = Outcome {
        cuts: 0,
        committed: 0,
        bytes_dropped: 0,
        entries_dropped: 0,
        torn: 0,
        lost: Vec::new(),
        refused: None,
    };
    let mut all: Vec<Written> = Vec::new();
    let next_id = Arc::new(AtomicU64::new(0));
    let mut cut = 0;
    while cut < CUTS || (out.torn == 0 && cut < MAX_CUTS) {
        cut += 1;
        let load = Arc::new(Load { next_id: AtomicU64::new(next_id.load(Ordering::Relaxed)), ..Load::default() });
        let writers: Vec<_> = (0..CLIENTS).map(|w| rt.spawn(writer(users.clone(), w % 3, load.clone()))).collect();
        let uptime = Duration::from_millis(rng.random_range(400..1500));
        std::thread::sleep(uptime);

        // The power goes out on all three disks at once, or on one node's.
        let victims: Vec<usize> = if cut % 2 == 1 { vec![0, 1, 2] } else { vec![rng.random_range(0..3)] };
        for &v in &victims {
            disks[v].cut_power();
        }
        for &v in &victims {
            nodes[v].kill();
        }
        load.stop.store(true, Ordering::Relaxed);
        for w in writers {
            rt.block_on(w).unwrap();
        }
        next_id.store(load.next_id.load(Ordering::Relaxed), Ordering::Relaxed);
        let round = std::mem::take(&mut *load.committed.lock().unwrap());
        let mut dropped = Vec::new();
        for &v in &victims {
            let torn = (victims.len() == 3 || rng.random_bool(0.5)).then(|| rng.random());
            let r = disks[v].restore_power(torn);
            assert!(r.errors.is_empty(), "seed {seed}: the power-loss filesystem failed to undo: {:?}", r.errors);
            out.bytes_dropped += r.bytes_dropped;
            out.entries_dropped += r.entries_undone;
            out.torn += usize::from(r.torn.is_some());
            dropped.push(format!("n{v}: {r}"));
        }
        out.cuts += 1;
        println!("cut {} after {uptime:?}: {} writes committed this round; {}", cut, round.len(), dropped.join("; "));
        all.extend(round);

        if let Err(why) = restart(&mut nodes, &victims) {
            out.refused = Some(why);
            break;
        }
        let Some((leader, _)) = rt.block_on(async {
            let limit = Instant::now() + Duration::from_secs(60);
            while Instant::now() < limit {
                if let Some(found) = find_leader(&anon, &[0, 1, 2], 0).await {
                    return Some(found);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            None
        }) else {
            out.refused = Some(format!("no leader within 60 s after cut {}", cut));
            break;
        };
        // This round's writes and a sample of the earlier ones, on the leader.
        let sample: Vec<Written> =
            (0..200.min(all.len())).map(|_| all[rng.random_range(0..all.len())].clone()).collect();
        let lost = rt.block_on(losses(&users[leader], &sample));
        if !lost.is_empty() {
            out.lost.extend(lost);
            break;
        }
    }

    // Every acknowledged write, on every node, once all three agree on the commit.
    out.committed = all.len();
    if out.refused.is_none() && out.lost.is_empty() {
        rt.block_on(support::cluster::wait_same_commit(&anon, &[0, 1, 2], Duration::from_secs(60)));
        for (n, user) in users.iter().enumerate() {
            let lost = rt.block_on(losses(user, &all));
            out.lost.extend(lost.into_iter().map(|l| format!("node {n}: {l}")));
        }
    }
    for node in &mut nodes {
        if node.is_running() {
            node.kill();
        }
    }
    drop(nodes);
    drop(disks);
    drop(report);
    out
}

fn seed() -> u64 {
    let seed = std::env::var("CAIRN_E2E_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    println!("CAIRN_E2E_SEED={seed}");
    seed
}

#[test]
fn power_cuts_under_load_lose_no_committed_write_with_fsync() {
    let seed = seed();
    let out = run("fsync", seed);
    assert!(out.refused.is_none(), "seed {seed}: {}", out.refused.unwrap());
    assert!(out.lost.is_empty(), "seed {seed}: {} committed writes lost:\n{}", out.lost.len(), out.lost.join("\n"));
    assert!(out.cuts >= CUTS, "seed {seed}: only {} power cuts", out.cuts);
    assert!(out.committed > 0, "seed {seed}: no write was ever committed");
    // A harness that never drops anything proves nothing: under load there are always
    // appends in flight that no fsync covered yet.
    assert!(out.bytes_dropped > 0, "seed {seed}: {} power cuts dropped nothing", out.cuts);
    assert!(out.torn > 0, "seed {seed}: no write was torn");
    println!(
        "{} power cuts: {} committed writes all read back on every node; {} unsynced bytes and {} directory entries dropped, {} torn writes",
        out.cuts, out.committed, out.bytes_dropped, out.entries_dropped, out.torn
    );
}

#[test]
#[ignore = "flush mode can lose committed writes by design; run by hand to see what it loses"]
fn power_cuts_with_flush_durability_report_what_they_lose() {
    let seed = seed();
    let out = run("flush", seed);
    println!(
        "flush: {} power cuts, {} writes acknowledged, {} unsynced bytes and {} directory entries dropped, {} torn",
        out.cuts, out.committed, out.bytes_dropped, out.entries_dropped, out.torn
    );
    println!("flush: {} acknowledged writes lost", out.lost.len());
    for l in out.lost.iter().take(10) {
        println!("  {l}");
    }
    if let Some(why) = &out.refused {
        println!("flush: a node could not go on: {why}");
    }
    assert!(out.bytes_dropped > 0, "seed {seed}: the harness dropped nothing");
}
