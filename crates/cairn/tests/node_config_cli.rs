//! `cairn node --config` refuses a bad configuration before doing anything: exit 2, a message
//! naming the key, and no ledger or identity files created.
use std::process::Command;

fn run_node(dir: &std::path::Path, config: &str) -> (i32, String) {
    std::fs::write(dir.join("node.json"), config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["node", "--config", "node.json"])
        .current_dir(dir)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn bad_configurations_exit_2_naming_the_key_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let base = r#"{"network":{"node_to_node_interface":{"bind_address":"127.0.0.1:0"},
        "rpc_interfaces":{"primary":{"bind_address":"127.0.0.1:0"}}},
        "command":{"type":"Start","start":{"members":[{"certificate_file":"m0_cert.pem","encryption_public_key_file":"m0_enc_pubk.pem"}]}} LEDGER}"#;
    std::fs::write(dir.path().join("m0_cert.pem"), "not used before the checks").unwrap();
    std::fs::write(dir.path().join("m0_enc_pubk.pem"), "not used before the checks").unwrap();
    let table = [
        (r#","ledger":{"chunk_size":"5XB"}"#, "ledger.chunk_size"),
        (r#","ledger_signatures":{"delay":"10 parsecs"}"#, "ledger_signatures.delay"),
        (r#","ledger":{"chunksize":"5MB"}"#, "ledger.chunksize"),
        (r#","snapshots":{"tx_count":"ten"}"#, "snapshots.tx_count"),
        (r#","ledger":{"durability":"sometimes"}"#, "ledger.durability"),
    ];
    for (extra, key) in table {
        let (code, stderr) = run_node(dir.path(), &base.replace("LEDGER", extra));
        assert_eq!(code, 2, "{extra}: {stderr}");
        assert!(stderr.contains(key), "{extra}: stderr does not name {key}: {stderr}");
    }
    let no_recovery_member =
        base.replace(r#","encryption_public_key_file":"m0_enc_pubk.pem""#, "").replace("LEDGER", "");
    let (code, stderr) = run_node(dir.path(), &no_recovery_member);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("command.start.members: no member has an encryption_public_key_file"), "{stderr}");
    let missing = base.replace("m0_cert.pem", "nobody_cert.pem").replace("LEDGER", "");
    let (code, stderr) = run_node(dir.path(), &missing);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("command.start.members[0].certificate_file"), "{stderr}");
    for created in ["ledger", "node_data", "snapshots", "service_cert.pem"] {
        assert!(!dir.path().join(created).exists(), "{created} created by a refused start");
    }
}
