//! `cairn ledger verify-receipt RECEIPT.json --service-cert service_cert.pem`: checks a CCF
//! receipt (what `GET /node/receipt` returns) offline against the service identity.
//! Exit codes: 0 verifies, 1 a check failed (named), 2 unreadable or malformed input.
use anyhow::Context;
use cairn_crypto::{Certificate, sha256};
use cairn_ledger::receipt::Receipt;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct VerifyReceiptArgs {
    /// The receipt JSON file.
    receipt: PathBuf,
    /// The service certificate (PEM) the receipt must chain to.
    #[arg(long)]
    service_cert: PathBuf,
}

pub fn run(a: VerifyReceiptArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read(&a.receipt).with_context(|| format!("reading receipt {}", a.receipt.display()))?;
    let receipt: Receipt =
        serde_json::from_slice(&text).with_context(|| format!("{} is not a receipt", a.receipt.display()))?;
    let pem = std::fs::read_to_string(&a.service_cert)
        .with_context(|| format!("reading service certificate {}", a.service_cert.display()))?;
    let service_cert = Certificate::from_pem(&pem)
        .with_context(|| format!("{} is not a PEM certificate", a.service_cert.display()))?;
    let identity = format!(
        "{} (SHA-256 {})",
        service_cert.common_name().unwrap_or_else(|| "<no common name>".into()),
        sha256(service_cert.der()).to_hex()
    );
    match receipt.verify(&service_cert) {
        Ok(verified) => {
            let what = match (verified.tx_id, receipt.transaction_id) {
                (Some(tx), _) => tx.to_string(),
                (None, Some(claimed)) => {
                    format!("signature transaction (said to be {claimed}, which it does not prove)")
                }
                (None, None) => "a signature transaction".to_string(),
            };
            println!("receipt for {what} verifies against {identity}: signed root {}", verified.root);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("receipt verification FAILED against {identity}: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
