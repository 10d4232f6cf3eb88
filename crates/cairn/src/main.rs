//! `cairn`: the command-line entry point. Exit codes: 0 success, 1 a check failed (e.g. the
//! ledger does not verify), 2 bad usage or input (clap's convention).
mod bench_cli;
mod keygen;
mod ledger_cli;
mod member_cli;
mod node_cli;
mod sandbox_cli;
mod sigbus_notice;

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
    /// Run a node (CCF's cchost): `cairn node --config node.json`.
    Node(node_cli::NodeArgs),
    /// A member's client: proposals, ballots, recovery shares.
    Member(member_cli::MemberArgs),
    /// A local service with a member, a user and a sample workload.
    Sandbox(sandbox_cli::SandboxArgs),
    /// Load drivers against a running service.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Concurrent clients writing records; reports tx/s and the latency of committed writes.
    Write(bench_cli::BenchWriteArgs),
    /// The same load against an etcd cluster (v3 JSON gateway), for comparison.
    Etcd(bench_cli::BenchEtcdArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ledger(cmd) => ledger_cli::run(cmd),
        Command::Keygen(args) => keygen::run(args),
        Command::Node(args) => node_cli::run(args),
        Command::Member(args) => member_cli::run(args),
        Command::Sandbox(args) => sandbox_cli::run(args),
        Command::Bench(BenchCommand::Write(args)) => bench_cli::run(args),
        Command::Bench(BenchCommand::Etcd(args)) => bench_cli::run_etcd(args),
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
