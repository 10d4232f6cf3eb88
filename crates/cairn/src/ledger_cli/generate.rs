use super::parse_size;
use anyhow::Context;
use cairn_fs::{Durability, FsStorage};
use cairn_ledger::generator::{GenerateOptions, generate_ledger};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Args)]
pub struct GenerateArgs {
    /// Output directory (created; must hold no ledger chunks).
    #[arg(long)]
    out: PathBuf,
    /// Number of application transactions.
    #[arg(long, default_value_t = 1000)]
    transactions: u64,
    /// Bytes per record value.
    #[arg(long, default_value_t = 100)]
    value_size: usize,
    /// Share of records written to the private table, in percent.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u8).range(0..=100))]
    private_percent: u8,
    /// A signature transaction every K transactions (`ledger_signatures.tx_count`).
    #[arg(long, default_value_t = 100)]
    signature_interval: u64,
    /// Chunk size (`ledger.chunk_size`), e.g. 5MB.
    #[arg(long, default_value = "5MB", value_parser = parse_size)]
    chunk_size: u64,
    /// Seed of the workload and the ledger secret.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Leave the last chunk open and uncommitted, as a running node would.
    #[arg(long)]
    leave_open: bool,
    /// `flush` skips fsync (faster, not crash-safe).
    #[arg(long, default_value = "fsync")]
    durability: String,
}

pub fn run(a: GenerateArgs) -> anyhow::Result<ExitCode> {
    let durability = match a.durability.as_str() {
        "fsync" => Durability::Fsync,
        "flush" => Durability::Flush,
        other => anyhow::bail!("--durability {other:?}: expected fsync or flush"),
    };
    let storage = FsStorage::open(&a.out, durability, false).with_context(|| format!("opening {}", a.out.display()))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let opts = GenerateOptions {
        transactions: a.transactions,
        value_size_bytes: a.value_size,
        private_percent: a.private_percent,
        signature_interval: a.signature_interval,
        chunk_size_bytes: a.chunk_size,
        seed: a.seed,
        leave_open: a.leave_open,
        now_unix_s: now - 3600,
        view: 2,
    };
    let started = Instant::now();
    let (g, _) = generate_ledger(storage, &opts, |_, _, _, _| {}).context("generating the ledger")?;
    let secs = started.elapsed().as_secs_f64();
    std::fs::write(a.out.join("service_cert.pem"), g.service_cert.pem()).context("writing service_cert.pem")?;
    std::fs::write(a.out.join("node_cert.pem"), g.node_cert.pem()).context("writing node_cert.pem")?;
    std::fs::write(a.out.join("ledger_secret.bin"), g.ledger_secret).context("writing ledger_secret.bin")?;
    println!(
        "generated {} transactions up to {} (last signature {}, committed {}) in {:.2}s into {}",
        a.transactions,
        g.last,
        g.last_signature,
        g.committed_seqno,
        secs,
        a.out.display()
    );
    println!("service certificate: {}", a.out.join("service_cert.pem").display());
    println!("ledger secret (tests and verification only): {}", a.out.join("ledger_secret.bin").display());
    Ok(ExitCode::SUCCESS)
}
