//! A single node under load, SIGKILLed at random moments and restarted from its own files:
//! every write whose status was `Committed` before a kill reads back identical afterwards, and no
//! committed transaction ever becomes `Invalid`. Set `CAIRN_E2E_SEED` to replay a run's kill
//! schedule.
mod support;

use cairn_client::{CairnClient, ClientError, LogTable, TxStatus};
use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::member::open_service_with_user;
use support::node_process::{NodeOptions, NodeProcess};

const CLIENTS: usize = 16;
const MIN_KILLS: usize = 20;
const MIN_WRITES: u64 = 10_000;

#[derive(Debug, Clone)]
struct Committed {
    table: LogTable,
    id: u64,
    msg: String,
    txid: cairn_ledger::format::TxId,
}

/// One client: write, wait for `Committed`, record; until `stop` or the node goes away.
async fn writer(client: CairnClient, next_id: Arc<AtomicU64>, stop: Arc<AtomicBool>, out: Arc<Mutex<Vec<Committed>>>) {
    while !stop.load(Ordering::Relaxed) {
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        let table = if id.is_multiple_of(2) { LogTable::Private } else { LogTable::Public };
        let msg = format!("record {id} {}", "x".repeat((id % 97) as usize));
        let Ok(txid) = client.log_write(table, id, &msg).await else { return };
        loop {
            match client.tx_status(txid).await {
                Ok(TxStatus::Committed) => {
                    out.lock().unwrap().push(Committed { table, id, msg, txid });
                    break;
                }
                Ok(TxStatus::Invalid) => break,
                Ok(_) => tokio::time::sleep(Duration::from_millis(2)).await,
                Err(_) => return,
            }
        }
    }
}

async fn check_reads_back(client: &CairnClient, records: &[Committed]) -> Result<(), String> {
    for r in records {
        let got = client.log_read(r.table, r.id).await.map_err(|e: ClientError| e.to_string())?;
        if got.as_deref() != Some(r.msg.as_str()) {
            return Err(format!("record {} ({:?}, committed at {}) reads back {got:?}", r.id, r.table, r.txid));
        }
        let status = client.tx_status(r.txid).await.map_err(|e| e.to_string())?;
        if status != TxStatus::Committed {
            return Err(format!("committed tx {} of record {} is now {status:?}", r.txid, r.id));
        }
    }
    Ok(())
}

#[test]
fn sigkill_at_random_moments_never_loses_a_committed_write() {
    let seed: u64 = std::env::var("CAIRN_E2E_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    println!("CAIRN_E2E_SEED={seed}");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut node = NodeProcess::create(dir.path(), &NodeOptions::default());
    node.start();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(open_service_with_user(dir.path(), &node.client(Some("m0"))));

    let next_id = Arc::new(AtomicU64::new(0));
    let mut all: Vec<Committed> = Vec::new();
    let mut receipt_before: Option<(cairn_ledger::format::TxId, serde_json::Value)> = None;
    let mut kills = 0;
    while kills < MIN_KILLS || (all.len() as u64) < MIN_WRITES {
        let stop = Arc::new(AtomicBool::new(false));
        let out = Arc::new(Mutex::new(Vec::new()));
        let user = node.client(Some("u0"));
        let tasks: Vec<_> =
            (0..CLIENTS).map(|_| rt.spawn(writer(user.clone(), next_id.clone(), stop.clone(), out.clone()))).collect();
        let uptime = Duration::from_millis(rng.random_range(100..1200));
        std::thread::sleep(uptime);
        let first = out.lock().unwrap().first().cloned();
        if receipt_before.is_none()
            && let Some(r) = first
        {
            let receipt = rt.block_on(user.receipt(r.txid)).expect("receipt of a committed write");
            receipt_before = Some((r.txid, receipt));
        }
        node.kill();
        kills += 1;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            rt.block_on(t).unwrap();
        }
        let round = std::mem::take(&mut *out.lock().unwrap());
        node.start();
        let client = node.client(Some("u0"));
        if let Err(e) = rt.block_on(check_reads_back(&client, &round)) {
            panic!("seed {seed}, kill {kills} after {uptime:?}: {e}\nlog:\n{}", node.last_log());
        }
        println!("kill {kills} after {uptime:?}: {} writes committed this round", round.len());
        all.extend(round);
    }
    let client = node.client(Some("u0"));
    if let Err(e) = rt.block_on(check_reads_back(&client, &all)) {
        panic!("seed {seed}, final check: {e}");
    }
    println!("{} committed writes survived {kills} SIGKILLs", all.len());

    // A receipt obtained before the restarts still verifies offline against the same service
    // certificate, and the node still serves one for that transaction.
    let (txid, receipt) = receipt_before.expect("a receipt was fetched in the first round");
    let path = dir.path().join("receipt.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&receipt).unwrap()).unwrap();
    support::cairn_in(dir.path(), &["ledger", "verify-receipt", "receipt.json", "--service-cert", "service_cert.pem"]);
    let again = rt.block_on(client.receipt(txid)).expect("receipt after restarts");
    std::fs::write(&path, serde_json::to_vec_pretty(&again).unwrap()).unwrap();
    support::cairn_in(dir.path(), &["ledger", "verify-receipt", "receipt.json", "--service-cert", "service_cert.pem"]);
    node.stop();
}
