//! CCF's own reader (`read_ledger.py` from PyPI `ccf==6.0.28`) verifies the ledgers Cairn
//! writes. The virtualenv is created by `scripts/ccf-venv.sh` on first use.
use std::path::{Path, PathBuf};
use std::process::Command;

fn ccf_venv() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash").arg(root.join("scripts/ccf-venv.sh")).output().expect("run scripts/ccf-venv.sh");
    assert!(out.status.success(), "creating the CCF virtualenv failed:\n{}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn cairn(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_cairn")).args(args).output().expect("run cairn");
    assert!(
        out.status.success(),
        "cairn {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `cairn ledger generate --out OUT ARGS...`.
fn generate(out: &str, args: &[&str]) {
    let mut all = vec!["ledger", "generate", "--out", out];
    all.extend_from_slice(args);
    cairn(&all);
}

#[test]
fn read_ledger_py_verifies_every_committed_chunk_of_a_generated_ledger() {
    let venv = ccf_venv();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ledger");
    let out_s = out.to_str().unwrap();
    generate(
        out_s,
        &[
            "--transactions",
            "1500",
            "--value-size",
            "200",
            "--private-percent",
            "50",
            "--signature-interval",
            "40",
            "--chunk-size",
            "30KB",
            "--seed",
            "7",
        ],
    );
    let chunks: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("ledger_") && n.ends_with(".committed"))
        .collect();
    assert!(chunks.len() >= 5, "expected several committed chunks, got {chunks:?}");

    let result = Command::new(venv.join("bin/python"))
        .arg(venv.join("bin/read_ledger.py"))
        .args(["-q", out_s])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(result.status.success(), "read_ledger.py failed:\n{stdout}\n{}", String::from_utf8_lossy(&result.stderr));
    assert!(stdout.contains("Ledger verification complete"), "{stdout}");
    // 1500 / 40 = 37 workload signatures, +1 final, +2 at service creation and opening.
    assert!(stdout.contains("Found 40 signatures"), "{stdout}");

    // Our verifier agrees on the last signed transaction.
    let ours = cairn(&[
        "ledger",
        "verify",
        out_s,
        "--level",
        "private",
        "--ledger-secret",
        out.join("ledger_secret.bin").to_str().unwrap(),
        "--json",
    ]);
    let summary: serde_json::Value = serde_json::from_slice(&ours.stdout).unwrap();
    let last_signed = summary["last_signed_txid"].as_str().unwrap().to_string();
    assert!(stdout.contains(&format!("verified until {last_signed}")), "CCF: {stdout}\nCairn: {summary}");
}

#[test]
fn read_ledger_py_rejects_a_tampered_committed_chunk() {
    let venv = ccf_venv();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ledger");
    let out_s = out.to_str().unwrap();
    generate(
        out_s,
        &["--transactions", "200", "--private-percent", "0", "--signature-interval", "20", "--chunk-size", "8KB"],
    );
    let mut chunks: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_str().unwrap().ends_with(".committed"))
        .collect();
    chunks.sort();
    // Flip a byte of a public value in the middle of the second chunk: only the Merkle root
    // can notice.
    let victim = &chunks[1];
    let mut bytes = std::fs::read(victim).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(victim, &bytes).unwrap();
    let result = Command::new(venv.join("bin/python"))
        .arg(venv.join("bin/read_ledger.py"))
        .args(["-q", out_s])
        .output()
        .unwrap();
    assert!(!result.status.success(), "read_ledger.py accepted a tampered chunk");
    let ours = Command::new(env!("CARGO_BIN_EXE_cairn")).args(["ledger", "verify", out_s]).output().unwrap();
    assert_eq!(ours.status.code(), Some(1), "{}", String::from_utf8_lossy(&ours.stdout));
}
