use anyhow::Context;
use cairn_fs::{Durability, FsStorage};
use cairn_ledger::storage::Storage;
use cairn_ledger::verify::{VerifyLevel, VerifyOptions, VerifyReport, verify_ledger};
use cairn_ledger::{LedgerSecret, LedgerSecrets};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args)]
pub struct VerifyArgs {
    /// Ledger directories (a seqno range found in several is read once).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// parse | offsets | headers | merkle | signatures | private (each includes the previous).
    #[arg(long, default_value = "signatures", value_parser = parse_level)]
    level: VerifyLevel,
    /// Ledger secret(s), needed for `--level private`: a 32-byte raw file, or a node's
    /// `node_data/ledger_secrets.json` (the chain of secrets across rekeys).
    #[arg(long)]
    ledger_secret: Option<PathBuf>,
    /// Only `.committed` chunks.
    #[arg(long)]
    committed_only: bool,
    /// Also `.recovery` chunks.
    #[arg(long)]
    recovery: bool,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_level(text: &str) -> Result<VerifyLevel, String> {
    VerifyLevel::parse(text).ok_or_else(|| {
        format!("unknown level {text:?}: expected parse, offsets, headers, merkle, signatures or private")
    })
}

pub fn run(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let secrets = match &a.ledger_secret {
        Some(path) => read_ledger_secrets(path)?,
        None => LedgerSecrets::default(),
    };
    if a.level == VerifyLevel::Private && secrets.is_empty() {
        anyhow::bail!("--level private needs --ledger-secret FILE");
    }
    let storages: Vec<FsStorage> = a
        .dirs
        .iter()
        .map(|d| FsStorage::open(d, Durability::Flush, true).with_context(|| format!("opening {}", d.display())))
        .collect::<Result<_, _>>()?;
    let dirs: Vec<&dyn Storage> = storages.iter().map(|s| s as &dyn Storage).collect();
    let opts = VerifyOptions {
        level: a.level,
        ledger_secrets: secrets,
        committed_only: a.committed_only,
        include_recovery: a.recovery,
        threads: a.threads,
    };
    let bar = ProgressBar::with_draw_target(
        None,
        if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() },
    );
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}")
            .expect("template"),
    );
    let started = Instant::now();
    let outcome = verify_ledger(&dirs, &opts, &mut |p| {
        bar.set_length(p.bytes_total);
        bar.set_position(p.bytes_done);
        bar.set_message(format!("{} entries", p.entries));
    });
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    print_summary(&outcome.report, secs, a.json, outcome.failure.as_ref().map(|f| f.to_string()));
    match outcome.failure {
        None => Ok(ExitCode::SUCCESS),
        Some(f) => {
            eprintln!("verification FAILED {f}");
            Ok(ExitCode::from(1))
        }
    }
}

fn print_summary(r: &VerifyReport, secs: f64, json: bool, failure: Option<String>) {
    let rate = if secs > 0.0 { r.entries as f64 / secs } else { 0.0 };
    let mb_s = if secs > 0.0 { r.bytes as f64 / secs / 1e6 } else { 0.0 };
    if json {
        let v = serde_json::json!({
            "level": r.level.name(),
            "chunks": r.chunks,
            "entries": r.entries,
            "bytes": r.bytes,
            "first_seqno": r.first_seqno,
            "last_txid": r.last.map(|t| t.to_string()),
            "last_signed_txid": r.last_signed.map(|t| t.to_string()),
            "last_signed_seqno": r.last_signed.map(|t| t.seqno),
            "signatures": r.signatures,
            "private_domains_decrypted": r.private_domains_decrypted,
            "unsigned_tail": r.unsigned_tail,
            "holes": r.holes.iter().map(|(a, b)| format!("{a}..={b}")).collect::<Vec<_>>(),
            "seconds": secs,
            "tx_per_s": rate,
            "mb_per_s": mb_s,
            "failure": failure,
        });
        println!("{v}");
        return;
    }
    println!("level:            {}", r.level.name());
    println!("chunks:           {}", r.chunks);
    println!("entries:          {} ({} bytes)", r.entries, r.bytes);
    // Below `headers` the view of an entry is not read.
    let show_tx = |t: cairn_ledger::format::TxId| {
        if r.level >= VerifyLevel::Headers { t.to_string() } else { format!("seqno {}", t.seqno) }
    };
    println!("last entry:       {}", r.last.map_or("none".into(), show_tx));
    println!("last signed:      {}", r.last_signed.map_or("none".into(), |t| t.to_string()));
    println!("signatures:       {}", r.signatures);
    println!("unsigned tail:    {} entries", r.unsigned_tail);
    if r.private_domains_decrypted > 0 {
        println!("private decrypted:{}", r.private_domains_decrypted);
    }
    if r.holes.is_empty() {
        println!("holes:            none");
    } else {
        for (a, b) in &r.holes {
            println!("hole:             seqnos {a}..={b} missing");
        }
    }
    println!("time:             {secs:.2}s ({rate:.0} tx/s, {mb_s:.0} MB/s)");
    match failure {
        None => println!("result:           OK"),
        Some(f) => println!("result:           FAILED {f}"),
    }
}

/// A raw 32-byte secret (valid from seqno 1) or a `LedgerSecretChain` JSON file.
pub fn read_ledger_secrets(path: &std::path::Path) -> anyhow::Result<LedgerSecrets> {
    let raw = std::fs::read(path).with_context(|| format!("reading ledger secret {}", path.display()))?;
    if let Some(secret) = LedgerSecret::from_slice(&raw) {
        return Ok(LedgerSecrets::single(secret));
    }
    let chain: cairn_gov::LedgerSecretChain = serde_json::from_slice(&raw).with_context(|| {
        format!("{}: neither 32 raw bytes nor a ledger-secret chain (ledger_secrets.json)", path.display())
    })?;
    LedgerSecrets::from_entries(chain.iter().map(|s| (s.valid_from_seqno, LedgerSecret::new(s.secret))))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
