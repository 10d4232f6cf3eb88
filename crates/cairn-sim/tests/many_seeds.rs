//! Many seeds of 3- and 5-node clusters with every fault on: the CI run of the simulator
//! (design §10). Every 3-node seed ends with a whole disaster recovery (`SimOptions::disaster`:
//! power cut under load, survey, recover, join, open with the share, faults during it); odd
//! seeds take snapshots, so their recoveries start from the newest committed one. Each test
//! function takes a slice of the seeds so the test harness runs them on every core. Every failing seed is listed with its replay command.
//!
//! Knobs (environment): `CAIRN_SIM_SEEDS` seeds per cluster size (default 250, so 500 in
//! all), `CAIRN_SIM_DURATION_MS` virtual time with faults per seed (default 10000; the
//! final heal, liveness window and quiescing add about 1 s).
use cairn_sim::{SimOptions, run};

const SLICES: u64 = 4;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn run_slice(nodes: usize, slice: u64) {
    let per_size = env("CAIRN_SIM_SEEDS", 250);
    let duration_ms = env("CAIRN_SIM_DURATION_MS", 10_000);
    let per_slice = per_size.div_ceil(SLICES);
    let seeds = (slice * per_slice)..((slice + 1) * per_slice).min(per_size);
    let opts = SimOptions { nodes, duration_ms, disaster: nodes <= 3, ..SimOptions::default() };
    // Half the seeds snapshot: their disaster recoveries start from the newest committed one.
    let snapshotting = SimOptions { snapshot_tx_count: 40, ..opts.clone() };
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    let mut committed = 0;
    let mut recoveries = 0;
    let mut from_snapshot = 0;
    let count = seeds.end.saturating_sub(seeds.start);
    for seed in seeds {
        let opts = if seed % 2 == 1 { snapshotting.clone() } else { opts.clone() };
        match run(seed, opts) {
            Ok(summary) => {
                committed += summary.writes_committed;
                recoveries += summary.disaster_recoveries;
                from_snapshot += summary.recoveries_from_snapshot;
            }
            Err(failure) => failures.push(failure.to_string()),
        }
    }
    eprintln!(
        "{nodes} nodes, slice {slice}: {count} seeds, {} failed, {committed} writes committed, {recoveries} disaster \
         recoveries ({from_snapshot} from a snapshot), {:.1}s",
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{} of {count} seeds failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn three_nodes_slice_0() {
    run_slice(3, 0);
}
#[test]
fn three_nodes_slice_1() {
    run_slice(3, 1);
}
#[test]
fn three_nodes_slice_2() {
    run_slice(3, 2);
}
#[test]
fn three_nodes_slice_3() {
    run_slice(3, 3);
}
#[test]
fn five_nodes_slice_0() {
    run_slice(5, 0);
}
#[test]
fn five_nodes_slice_1() {
    run_slice(5, 1);
}
#[test]
fn five_nodes_slice_2() {
    run_slice(5, 2);
}
#[test]
fn five_nodes_slice_3() {
    run_slice(5, 3);
}
