//! `cairn ledger ...`: offline tools over ledger directories.
mod generate;
mod limits;
mod show;
mod verify;
mod verify_receipt;

use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Write a valid ledger (fresh service identity and node key) with a sample workload.
    Generate(generate::GenerateArgs),
    /// Print entries, tables and transaction ids.
    Show(show::ShowArgs),
    /// Verify ledger directories at a chosen level; exits 1 at the first failure.
    Verify(verify::VerifyArgs),
    /// Measure this machine's read, SHA-256 and AES-GCM limits over ledger files (benchmarks).
    Limits(limits::LimitsArgs),
    /// Verify a transaction receipt (JSON) against the service certificate; exits 1 if it fails.
    VerifyReceipt(verify_receipt::VerifyReceiptArgs),
}

pub fn run(cmd: LedgerCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        LedgerCommand::Generate(a) => generate::run(a),
        LedgerCommand::Show(a) => show::run(a),
        LedgerCommand::Verify(a) => verify::run(a),
        LedgerCommand::Limits(a) => limits::run(a),
        LedgerCommand::VerifyReceipt(a) => verify_receipt::run(a),
    }
}

/// Parses sizes such as `5MB`, `512KB`, `1GiB`, `4096`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().map_err(|_| {
        format!("size {text:?}: expected a number with an optional unit (B, KB, MB, GB, KiB, MiB, GiB)")
    })?;
    let mult = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1000,
        "MB" => 1000 * 1000,
        "GB" => 1000 * 1000 * 1000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => return Err(format!("size {text:?}: unknown unit {other:?}")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("size {text:?} overflows"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_ccf_units() {
        assert_eq!(parse_size("5MB"), Ok(5_000_000));
        assert_eq!(parse_size("4KiB"), Ok(4096));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("MB").is_err());
    }
}
