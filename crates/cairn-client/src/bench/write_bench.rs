//! Closed-loop write load: `clients` tokio tasks, each looping "write one record, wait until that
//! transaction is Committed" until the run ends. Each task writes its own ids
//! (`client << 40 | n`), so no two writes of a run touch the same key.
//!
//! Timeline: `[start, start + warmup)` is warm-up (not measured), `[start + warmup, end)` is the
//! measured window; an operation belongs to the window it *started* in. No operation starts at
//! or after `end`; those in flight finish (bounded by `commit_timeout`), and the measured
//! duration runs from the window start to the last completion, so the throughput is never
//! inflated by work done outside the measured time.
//!
//! Failures are counted by `ClientError::category` and never stop a client; after a failed
//! write a client pauses `ERROR_PAUSE` so a dead node is not hammered in a tight loop.
use super::LatencySummary;
use crate::{CairnClient, ClientError, LogTable};
use cairn_ledger::format::TxId;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Pause after a failed operation.
pub const ERROR_PAUSE: Duration = Duration::from_millis(10);

/// What a bench client does: write a record, wait for its commit. `CairnClient` in production,
/// a scripted fake in tests.
pub trait WriteTarget: Clone + Send + Sync + 'static {
    fn write(&self, id: u64, msg: String) -> impl Future<Output = Result<TxId, ClientError>> + Send;
    fn wait_committed(&self, txid: TxId, timeout: Duration) -> impl Future<Output = Result<(), ClientError>> + Send;
}

/// `CairnClient` writing to one log table.
#[derive(Clone)]
pub struct LogWriter {
    pub client: CairnClient,
    pub table: LogTable,
}

impl WriteTarget for LogWriter {
    async fn write(&self, id: u64, msg: String) -> Result<TxId, ClientError> {
        self.client.log_write(self.table, id, &msg).await
    }
    fn wait_committed(&self, txid: TxId, timeout: Duration) -> impl Future<Output = Result<(), ClientError>> + Send {
        self.client.wait_committed(txid, timeout)
    }
}

#[derive(Debug, Clone)]
pub struct WriteBenchConfig {
    pub clients: usize,
    pub duration: Duration,
    pub warmup: Duration,
    pub value_bytes: usize,
    pub commit_timeout: Duration,
    /// Each client numbers its writes from here (`record_id(client, first_write + n)`): runs
    /// that must not overwrite an earlier run's records use distinct ranges.
    pub first_write: u64,
}

/// The result of a run; `Serialize` gives the `--json` object.
#[derive(Debug, Clone, Serialize)]
pub struct WriteBenchReport {
    pub clients: usize,
    pub value_bytes: usize,
    pub warmup_s: f64,
    /// From the start of the measured window to the last completion.
    pub measured_s: f64,
    /// Writes started in the measured window that were then seen Committed.
    pub committed_tx: usize,
    pub tx_per_s: f64,
    /// Write sent → seen Committed on `/node/tx`, committed writes only.
    pub commit_latency_ms: Option<LatencySummary>,
    /// Write sent → acknowledged with a transaction id, every acknowledged write.
    pub ack_latency_ms: Option<LatencySummary>,
    /// Failed operations started in the measured window, by `ClientError::category`.
    pub errors: BTreeMap<String, u64>,
    pub error_count: u64,
    /// Operations (successful or not) started during warm-up.
    pub warmup_ops: u64,
}

impl WriteBenchReport {
    /// One line for humans.
    pub fn summary_line(&self) -> String {
        let lat = |s: &Option<LatencySummary>| match s {
            Some(s) => format!("p50 {:.2} p90 {:.2} p99 {:.2} max {:.2} ms", s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms),
            None => "none".to_string(),
        };
        let errors = if self.errors.is_empty() {
            "0".to_string()
        } else {
            let by_kind: Vec<String> = self.errors.iter().map(|(k, n)| format!("{k}={n}")).collect();
            format!("{} ({})", self.error_count, by_kind.join(", "))
        };
        format!(
            "bench write: {} clients, {:.1} s, {} B values: {} committed, {:.1} tx/s; commit latency {}; ack latency {}; errors {}",
            self.clients,
            self.measured_s,
            self.value_bytes,
            self.committed_tx,
            self.tx_per_s,
            lat(&self.commit_latency_ms),
            lat(&self.ack_latency_ms),
            errors
        )
    }
}

/// The record written under `id`: the id in hex, padded with `x` to exactly `value_bytes`.
pub fn record_value(id: u64, value_bytes: usize) -> String {
    let mut v = format!("{id:016x}");
    v.truncate(value_bytes);
    v.extend(std::iter::repeat_n('x', value_bytes - v.len()));
    v
}

/// The id of the `n`-th write of client `client`.
pub fn record_id(client: usize, n: u64) -> u64 {
    ((client as u64) << 40) | (n & ((1 << 40) - 1))
}

#[derive(Default)]
struct ClientTally {
    ack: Vec<Duration>,
    commit: Vec<Duration>,
    errors: BTreeMap<String, u64>,
    warmup_ops: u64,
    last_finish: Option<Instant>,
}

async fn run_client<T: WriteTarget>(
    target: T,
    client: usize,
    config: WriteBenchConfig,
    measure_start: Instant,
    end: Instant,
) -> ClientTally {
    let mut tally = ClientTally::default();
    let mut n = config.first_write;
    loop {
        let started = Instant::now();
        if started >= end {
            break;
        }
        let measured = started >= measure_start;
        let id = record_id(client, n);
        n += 1;
        let outcome = match target.write(id, record_value(id, config.value_bytes)).await {
            Err(e) => Err(e),
            Ok(txid) => {
                if measured {
                    tally.ack.push(started.elapsed());
                }
                target.wait_committed(txid, config.commit_timeout).await
            }
        };
        let finished = Instant::now();
        if !measured {
            tally.warmup_ops += 1;
        } else {
            tally.last_finish = Some(finished);
            match &outcome {
                Ok(()) => tally.commit.push(finished - started),
                Err(e) => *tally.errors.entry(e.category()).or_default() += 1,
            }
        }
        if outcome.is_err() {
            tokio::time::sleep(ERROR_PAUSE).await;
        }
    }
    tally
}

/// Runs the load and summarises it. Must be called inside a tokio runtime.
pub async fn run_write_bench<T: WriteTarget>(target: T, config: &WriteBenchConfig) -> WriteBenchReport {
    let start = Instant::now();
    let measure_start = start + config.warmup;
    let end = measure_start + config.duration;
    let tasks: Vec<_> = (0..config.clients)
        .map(|c| tokio::spawn(run_client(target.clone(), c, config.clone(), measure_start, end)))
        .collect();
    let mut ack = Vec::new();
    let mut commit = Vec::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut warmup_ops = 0;
    let mut last_finish = measure_start;
    for task in tasks {
        let tally = task.await.expect("bench client task panicked");
        ack.extend(tally.ack);
        commit.extend(tally.commit);
        for (k, n) in tally.errors {
            *errors.entry(k).or_default() += n;
        }
        warmup_ops += tally.warmup_ops;
        last_finish = last_finish.max(tally.last_finish.unwrap_or(measure_start));
    }
    // At least the configured window: a run where every client failed fast still measured it.
    let measured_s = (last_finish - measure_start).max(config.duration).as_secs_f64();
    let committed_tx = commit.len();
    WriteBenchReport {
        clients: config.clients,
        value_bytes: config.value_bytes,
        warmup_s: config.warmup.as_secs_f64(),
        measured_s,
        committed_tx,
        tx_per_s: if measured_s > 0.0 { committed_tx as f64 / measured_s } else { 0.0 },
        commit_latency_ms: LatencySummary::of(&mut commit),
        ack_latency_ms: LatencySummary::of(&mut ack),
        error_count: errors.values().sum(),
        errors,
        warmup_ops,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::{Arc, Mutex};

    /// A fake node: acknowledges after `ack_delay`, commits after `commit_delay`; every
    /// `fail_every`-th write is refused with 503, every `invalid_every`-th commit is Invalid.
    #[derive(Clone)]
    struct FakeNode {
        ack_delay: Duration,
        commit_delay: Duration,
        fail_every: u64,
        invalid_every: u64,
        state: Arc<Mutex<FakeState>>,
    }

    #[derive(Default)]
    struct FakeState {
        writes: u64,
        ids: Vec<u64>,
        values_ok: bool,
    }

    impl FakeNode {
        fn new(ack_ms: u64, commit_ms: u64, fail_every: u64, invalid_every: u64) -> Self {
            FakeNode {
                ack_delay: Duration::from_millis(ack_ms),
                commit_delay: Duration::from_millis(commit_ms),
                fail_every,
                invalid_every,
                state: Arc::new(Mutex::new(FakeState { values_ok: true, ..Default::default() })),
            }
        }
    }

    impl WriteTarget for FakeNode {
        async fn write(&self, id: u64, msg: String) -> Result<TxId, ClientError> {
            tokio::time::sleep(self.ack_delay).await;
            let mut s = self.state.lock().unwrap();
            s.writes += 1;
            s.ids.push(id);
            s.values_ok &= msg == record_value(id, msg.len());
            if self.fail_every > 0 && s.writes.is_multiple_of(self.fail_every) {
                let body = br#"{"error":{"code":"ServiceUnavailable","message":"no primary"}}"#;
                return Err(ClientError::from_http_answer("POST", "fake", 503, body));
            }
            Ok(TxId::new(2, s.writes))
        }
        async fn wait_committed(&self, txid: TxId, _: Duration) -> Result<(), ClientError> {
            tokio::time::sleep(self.commit_delay).await;
            if self.invalid_every > 0 && txid.seqno.is_multiple_of(self.invalid_every) {
                return Err(ClientError::TxInvalid { txid });
            }
            Ok(())
        }
    }

    fn config(clients: usize, duration_ms: u64, warmup_ms: u64) -> WriteBenchConfig {
        WriteBenchConfig {
            clients,
            duration: Duration::from_millis(duration_ms),
            warmup: Duration::from_millis(warmup_ms),
            value_bytes: 24,
            commit_timeout: Duration::from_secs(1),
            first_write: 0,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn closed_loop_clients_measure_ack_and_commit_latency_separately() {
        // 4 clients, 2 ms to ack + 3 ms to commit = 5 ms per op, 100 ms window after 20 ms warm-up:
        // each client completes 20 measured ops, so 80 in all.
        let node = FakeNode::new(2, 3, 0, 0);
        let report = run_write_bench(node.clone(), &config(4, 100, 20)).await;
        assert_eq!(report.committed_tx, 4 * 100 / 5);
        assert_eq!(report.warmup_ops, 4 * 20 / 5);
        assert_eq!(report.error_count, 0);
        let commit = report.commit_latency_ms.as_ref().unwrap();
        let ack = report.ack_latency_ms.as_ref().unwrap();
        assert_eq!((commit.p50_ms, commit.max_ms), (5.0, 5.0));
        assert_eq!((ack.p50_ms, ack.max_ms), (2.0, 2.0));
        assert_eq!(report.measured_s, 0.1);
        assert_eq!(report.tx_per_s, report.committed_tx as f64 / 0.1);
        let s = node.state.lock().unwrap();
        assert!(s.values_ok, "every record value is the padded id");
        let unique: HashSet<u64> = s.ids.iter().copied().collect();
        assert_eq!(unique.len(), s.ids.len(), "ids are unique across clients");
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_and_invalid_transactions_are_counted_not_fatal() {
        let node = FakeNode::new(1, 1, 5, 7);
        let report = run_write_bench(node.clone(), &config(2, 200, 0)).await;
        let refused = report.errors.get("http:503:ServiceUnavailable").copied().unwrap_or(0);
        let invalid = report.errors.get("tx_invalid").copied().unwrap_or(0);
        assert!(refused > 0 && invalid > 0, "{:?}", report.errors);
        assert_eq!(report.error_count, refused + invalid);
        let writes = node.state.lock().unwrap().writes;
        assert_eq!(report.committed_tx as u64 + refused + invalid, writes, "every write is accounted for");
        assert_eq!(report.ack_latency_ms.as_ref().unwrap().count as u64, writes - refused);
        assert!(report.summary_line().contains("http:503:ServiceUnavailable="));
    }

    #[test]
    fn record_values_have_exactly_the_requested_size_and_ids_do_not_collide() {
        for size in [0, 1, 16, 17, 1000] {
            let v = record_value(0xabc, size);
            assert_eq!(v.len(), size);
            assert!(format!("{:016x}", 0xabc).starts_with(&v[..size.min(16)]));
        }
        let ids: HashSet<u64> = (0..8).flat_map(|c| (0..1000).map(move |n| record_id(c, n))).collect();
        assert_eq!(ids.len(), 8000);
    }
}
