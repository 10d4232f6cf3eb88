//! `cairn bench write`: closed-loop write load against one node. C clients each write a record
//! (their own ids), wait until `/node/tx` reports it Committed, and repeat; the summary gives
//! committed tx/s, exact p50/p90/p99/max of write→committed and of write→acknowledged latency,
//! and errors by kind. The load itself is `cairn_client::bench`.
//!
//! Exit codes: 0 when at least one write committed in the measured window, 1 when none did,
//! 2 for bad input (files, URL).
use anyhow::Context;
use cairn_client::bench::etcd::EtcdWriter;
use cairn_client::bench::{LogWriter, WriteBenchConfig, run_write_bench};
use cairn_client::{CairnClient, ClientIdentity, LogTable, parse_duration};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Largest `--value-bytes` (the node bounds request bodies; 1 MiB is far above any sane record).
const MAX_VALUE_BYTES: usize = 1 << 20;

#[derive(Args, Debug)]
pub struct BenchWriteArgs {
    /// Node URL, e.g. https://127.0.0.1:8000.
    #[arg(long)]
    url: String,
    /// The service certificate (the only trust root).
    #[arg(long)]
    service_cert: PathBuf,
    /// User certificate (NAME_cert.pem from `cairn keygen user`).
    #[arg(long)]
    user_cert: PathBuf,
    /// User private key (NAME_privk.pem).
    #[arg(long)]
    user_key: PathBuf,
    /// Table to write: private (encrypted in the ledger) or public.
    #[arg(long, default_value = "private")]
    table: LogTable,
    #[command(flatten)]
    load: LoadArgs,
}

/// The load shape `bench write` and `bench etcd` share (one engine: `run_write_bench`).
#[derive(Args, Debug)]
pub struct LoadArgs {
    /// Concurrent clients (each one write in flight at a time).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=4096))]
    clients: u16,
    /// Measured duration, e.g. 10s, 500ms, 2m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Warm-up before measuring (writes made but not counted).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    warmup: Duration,
    /// Size of each record's value in bytes.
    #[arg(long, alias = "value-size", default_value_t = 64)]
    value_bytes: usize,
    /// Give up waiting for one write's commit after this long (counted as an error).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    commit_timeout: Duration,
    /// Number each client's writes from N (record ids are per client and write number): runs
    /// that must not overwrite an earlier run's records use distinct ranges.
    #[arg(long, default_value_t = 0)]
    first_write: u64,
    /// Print the result as one JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
}

impl LoadArgs {
    /// The checked engine configuration.
    fn config(&self) -> anyhow::Result<WriteBenchConfig> {
        anyhow::ensure!(
            self.value_bytes <= MAX_VALUE_BYTES,
            "--value-bytes {}: at most {MAX_VALUE_BYTES}",
            self.value_bytes
        );
        anyhow::ensure!(!self.duration.is_zero(), "--duration must be more than 0");
        Ok(WriteBenchConfig {
            clients: usize::from(self.clients),
            duration: self.duration,
            warmup: self.warmup,
            value_bytes: self.value_bytes,
            commit_timeout: self.commit_timeout,
            first_write: self.first_write,
        })
    }
}

fn read(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {what} {}", path.display()))
}

pub fn run(args: BenchWriteArgs) -> anyhow::Result<ExitCode> {
    let config = args.load.config()?;
    let service_cert = read(&args.service_cert, "service certificate")?;
    let identity = ClientIdentity {
        cert_pem: read(&args.user_cert, "user certificate")?,
        key_pem: read(&args.user_key, "user key")?,
    };
    let client = CairnClient::new(&args.url, &service_cert, Some(identity))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    let report = runtime.block_on(run_write_bench(LogWriter { client, table: args.table }, &config));
    if args.load.json {
        let mut value = serde_json::to_value(&report)?;
        value["url"] = serde_json::json!(args.url);
        value["table"] = serde_json::json!(match args.table {
            LogTable::Private => "private",
            LogTable::Public => "public",
        });
        println!("{value}");
    } else {
        println!("{} [{}]", report.summary_line(), args.url);
    }
    Ok(if report.committed_tx > 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `cairn bench etcd`: the load of `bench write` (same clients, windows, percentiles, report)
/// against an etcd cluster, for the comparison in BENCHMARKS.md. Each client puts a record
/// through etcd's v3 JSON gateway (`POST /v3/kv/put`); etcd answers a put only after its raft
/// commit (majority WAL fsync), so commit latency = put latency. Same exit codes as `bench write`.
#[derive(Args, Debug)]
pub struct BenchEtcdArgs {
    /// etcd client URLs, comma separated, e.g. http://127.0.0.1:2379,http://127.0.0.1:22379;
    /// client C puts through endpoint C mod N.
    #[arg(long, value_delimiter = ',', required = true)]
    endpoints: Vec<String>,
    #[command(flatten)]
    load: LoadArgs,
}

pub fn run_etcd(args: BenchEtcdArgs) -> anyhow::Result<ExitCode> {
    // etcd's default --max-request-bytes is 1.5 MiB, so the bound of `bench write` fits.
    let config = args.load.config()?;
    let writer = EtcdWriter::new(&args.endpoints, args.load.commit_timeout)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    let report = runtime.block_on(run_write_bench(writer, &config));
    if args.load.json {
        let mut value = serde_json::to_value(&report)?;
        value["target"] = serde_json::json!("etcd");
        value["endpoints"] = serde_json::json!(args.endpoints);
        println!("{value}");
    } else {
        let line = report.summary_line().replacen("bench write", "bench etcd", 1);
        println!("{line} [{}]", args.endpoints.join(","));
    }
    Ok(if report.committed_tx > 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
