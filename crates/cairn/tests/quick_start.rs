//! The README's quick start is `cargo run --release -- sandbox` at the workspace root: that only
//! works while the default members hold exactly one binary, `cairn` (a second binary, like the
//! simulator's, once made it fail with "could not determine which binary to run").
use serde_json::Value;
use std::process::Command;

#[test]
fn cargo_run_at_the_workspace_root_runs_the_cairn_binary() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline", "--manifest-path", root])
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let defaults: Vec<&str> = meta["workspace_default_members"]
        .as_array()
        .expect("default members")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let binaries: Vec<&str> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| defaults.contains(&p["id"].as_str().unwrap_or_default()))
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter(|t| t["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "bin")))
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(binaries, ["cairn"], "binaries `cargo run` chooses from at the workspace root");
}
