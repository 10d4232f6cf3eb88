//! The `cairn ledger` commands as an operator runs them: real binary, real files.
use std::path::Path;
use std::process::{Command, Output};

fn cairn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cairn")).args(args).output().expect("run cairn")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn generate(dir: &Path, extra: &[&str]) {
    let mut args = vec![
        "ledger",
        "generate",
        "--out",
        dir.to_str().unwrap(),
        "--transactions",
        "300",
        "--signature-interval",
        "20",
        "--chunk-size",
        "10KB",
    ];
    args.extend_from_slice(extra);
    let out = cairn(&args);
    assert!(out.status.success(), "{}", text(&out));
}

/// The committed chunk files of `dir`, in seqno order.
fn committed_chunks(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut chunks: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_str().unwrap().ends_with(".committed"))
        .collect();
    chunks.sort_by_key(|p| {
        p.file_name().unwrap().to_str().unwrap().split(['_', '-']).nth(1).unwrap().parse::<u64>().unwrap()
    });
    chunks
}

#[test]
fn verify_reports_the_file_and_offset_of_a_truncated_committed_chunk_and_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    generate(&dir, &[]);
    let chunks = committed_chunks(&dir);
    let victim = &chunks[2];
    let bytes = std::fs::read(victim).unwrap();
    std::fs::write(victim, &bytes[..bytes.len() - 3]).unwrap();
    let out = cairn(&["ledger", "verify", dir.to_str().unwrap(), "--level", "parse"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let name = victim.file_name().unwrap().to_str().unwrap();
    // Three bytes short: the positions table no longer holds whole u32s, at its own offset.
    let table_offset = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    assert!(text(&out).contains(&format!("[parse] {name} offset {table_offset}: positions table")), "{}", text(&out));
}

#[test]
fn verify_names_a_ledger_hole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    generate(&dir, &[]);
    let chunks = committed_chunks(&dir);
    let missing = chunks[1].file_name().unwrap().to_str().unwrap().to_string();
    std::fs::rename(&chunks[1], tmp.path().join(&missing)).unwrap();
    let out = cairn(&["ledger", "verify", dir.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let range = missing.trim_start_matches("ledger_").trim_end_matches(".committed").replace('-', "..=");
    assert_eq!(summary["holes"], serde_json::json!([range]));
    assert!(summary["failure"].as_str().unwrap().contains("ledger hole"), "{summary}");
}

#[test]
fn private_level_without_a_secret_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    generate(tmp.path(), &[]);
    let out = cairn(&["ledger", "verify", tmp.path().to_str().unwrap(), "--level", "private"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--ledger-secret"));
    let out = cairn(&["ledger", "verify", tmp.path().to_str().unwrap(), "--level", "everything"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn show_one_transaction_decrypts_its_private_record_with_the_secret() {
    let tmp = tempfile::tempdir().unwrap();
    generate(tmp.path(), &["--private-percent", "100"]);
    let secret = tmp.path().join("ledger_secret.bin");
    let out = cairn(&[
        "ledger",
        "show",
        tmp.path().to_str().unwrap(),
        "--tx",
        "2.5",
        "--json",
        "--ledger-secret",
        secret.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let row: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(row["txid"], "2.5");
    assert_eq!(row["tables"]["records"]["0"].as_str().unwrap().len(), 100);
    // Without the secret the record stays hidden.
    let out = cairn(&["ledger", "show", tmp.path().to_str().unwrap(), "--tx", "2.5", "--json"]);
    let row: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(row["tables"].get("records").is_none(), "{row}");
    let out = cairn(&["ledger", "show", tmp.path().to_str().unwrap(), "--tx", "2.99999"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn generate_refuses_a_directory_that_already_holds_a_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    generate(tmp.path(), &[]);
    let out = cairn(&["ledger", "generate", "--out", tmp.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("already holds ledger chunks"), "{}", text(&out));
}
