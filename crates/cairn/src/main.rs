//! `cairn`: the command-line entry point. Exit codes: 0 success, 1 a check failed (e.g. the
//! ledger does not verify), 2 bad usage or input (clap's convention).
mod keygen;
mod ledger_cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "cairn", version, about = "Cairn: a replicated, tamper-evident, confidential key-value ledger")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Offline ledger tools: generate, show, verify.
    #[command(subcommand)]
    Ledger(ledger_cli::LedgerCommand),
    /// Identity key and certificate for a member or user (members also get an encryption key).
    Keygen(keygen::KeygenArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ledger(cmd) => ledger_cli::run(cmd),
        Command::Keygen(args) => keygen::run(args),
    };
    match result {
        Ok(code) => code,
        // A closed pipe (`cairn ledger show | head`) is not an error.
        Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
