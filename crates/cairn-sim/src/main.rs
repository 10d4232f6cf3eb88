//! `cairn-sim`: runs the deterministic cluster simulator for one seed or a range of seeds.
//!
//! ```text
//! cargo run -p cairn-sim --release -- --seed 0x2a --nodes 3
//! cargo run -p cairn-sim --release -- --seeds 0..10000 --nodes 5 --duration-ms 30000
//! cargo run -p cairn-sim --release -- --seeds 0..200 --disaster
//! ```
use cairn_sim::{Bug, FaultOptions, SimOptions, run};
use clap::{Parser, ValueEnum};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BugArg {
    AckBeforeFsync,
    SyncLiesOnMajority,
    SkipPrivateReplayTail,
}

#[derive(Parser, Debug)]
#[command(name = "cairn-sim", about = "Deterministic cluster simulator: real NodeCores, virtual time, one seed")]
struct Args {
    /// One seed (decimal or 0x hex).
    #[arg(long, value_parser = parse_u64, conflicts_with = "seeds")]
    seed: Option<u64>,
    /// A range of seeds `A..B` (B excluded).
    #[arg(long, value_parser = parse_range)]
    seeds: Option<std::ops::Range<u64>>,
    /// Cluster size (1 to 7).
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Virtual time with faults and load, before the final heal.
    #[arg(long, default_value_t = 10_000)]
    duration_ms: u64,
    /// Concurrent writing clients.
    #[arg(long, default_value_t = 3)]
    clients: usize,
    /// Inject a deliberate bug (the checkers should catch it).
    #[arg(long, value_enum)]
    bug: Option<BugArg>,
    /// No crashes, partitions or message loss.
    #[arg(long)]
    no_faults: bool,
    /// Take a snapshot every this many transactions (0: off).
    #[arg(long, default_value_t = 0)]
    snapshot_tx_count: u64,
    /// After the run, a whole disaster recovery (every node loses power under load; recover,
    /// join, open with shares; faults during the recovery too). At most 3 nodes.
    #[arg(long)]
    disaster: bool,
    /// Print every event (time, event, node state) to stderr.
    #[arg(long)]
    trace: bool,
    /// Keep going after a failing seed.
    #[arg(long)]
    keep_going: bool,
}

fn parse_u64(s: &str) -> Result<u64, String> {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).map_err(|e| e.to_string()),
        None => s.parse().map_err(|e: std::num::ParseIntError| e.to_string()),
    }
}

fn parse_range(s: &str) -> Result<std::ops::Range<u64>, String> {
    let (a, b) = s.split_once("..").ok_or("expected A..B")?;
    Ok(parse_u64(a)?..parse_u64(b)?)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let opts = SimOptions {
        nodes: args.nodes,
        duration_ms: args.duration_ms,
        clients: args.clients,
        faults: if args.no_faults { FaultOptions::none() } else { FaultOptions::default() },
        bug: args.bug.map(|b| match b {
            BugArg::AckBeforeFsync => Bug::AckBeforeFsync,
            BugArg::SyncLiesOnMajority => Bug::SyncLiesOnMajority,
            BugArg::SkipPrivateReplayTail => Bug::SkipPrivateReplayTail,
        }),
        disaster: args.disaster,
        trace: args.trace,
        snapshot_tx_count: args.snapshot_tx_count,
        ..SimOptions::default()
    };
    let seeds = match (args.seed, args.seeds) {
        (Some(s), _) => s..s + 1,
        (None, Some(r)) => r,
        (None, None) => 0..1,
    };
    let (total, started) = (seeds.end.saturating_sub(seeds.start), Instant::now());
    let mut failures = 0u64;
    for seed in seeds {
        let t = Instant::now();
        match run(seed, opts.clone()) {
            Ok(s) => {
                if total == 1 {
                    println!("{s:#?}");
                }
                println!(
                    "cairn-sim: ok seed={seed:#x} {} ms virtual, {} events, {} crashes ({} power cuts, {} rotted, \
                     {} refused restart, {} I/O errors), {} partitions, {}/{} writes committed, commit {}, term {}, \
                     recovered in {:?} ms, {} disaster recoveries ({} from a snapshot) ({:.2}s)",
                    s.virtual_ms,
                    s.events,
                    s.crashes,
                    s.power_cuts,
                    s.corrupted,
                    s.refused_restarts,
                    s.io_errors,
                    s.partitions,
                    s.writes_committed,
                    s.writes_sent,
                    s.highest_commit,
                    s.highest_term,
                    s.recovery_ms,
                    s.disaster_recoveries,
                    s.recoveries_from_snapshot,
                    t.elapsed().as_secs_f64()
                );
            }
            Err(f) => {
                failures += 1;
                eprintln!("{f}");
                if !args.keep_going {
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    println!("cairn-sim: {total} seeds, {failures} failed, {:.1}s", started.elapsed().as_secs_f64());
    if failures > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
