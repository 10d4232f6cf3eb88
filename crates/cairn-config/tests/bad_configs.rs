//! Bad configurations, one row each: the edit to a minimal valid configuration and a substring
//! the error must contain (the key's JSON path and the reason).
mod common;

use cairn_config::NodeConfig;
use common::{minimal_join, minimal_start, remove, set};
use serde_json::{Value, json};

enum Edit {
    Set(&'static str, Value),
    Remove(&'static str),
}
use Edit::{Remove, Set};

struct Row {
    edits: Vec<Edit>,
    expected: &'static str,
}

fn row(edits: Vec<Edit>, expected: &'static str) -> Row {
    Row { edits, expected }
}

fn rows() -> Vec<Row> {
    let join = || Set("command", minimal_join()["command"].clone());
    vec![
        row(
            vec![Set("ledger.chunk_size", json!("5XB"))],
            r#"ledger.chunk_size: "5XB" is not a size (use B, KB, MB, GB"#,
        ),
        row(vec![Set("ledger.chunk_size", json!(0))], "ledger.chunk_size: must be larger than 0 bytes"),
        row(vec![Set("ledger.chunk_size", json!("0MB"))], "ledger.chunk_size: must be larger than 0 bytes"),
        row(vec![Set("ledger.chunk_size", json!(-1))], r#"ledger.chunk_size: "-1" is not a size"#),
        row(vec![Set("ledger.chunk_size", json!(true))], "ledger.chunk_size: expected a size string"),
        row(
            vec![Set("ledger_signatures.delay", json!("10 parsecs"))],
            r#"ledger_signatures.delay: "10 parsecs" is not a duration (use us, ms, s, min or h"#,
        ),
        row(vec![Set("ledger_signatures.delay", json!(1000))], "ledger_signatures.delay: expected a duration string"),
        row(vec![Set("ledger_signatures.delay", json!("0s"))], "ledger_signatures.delay: must be at least 1ms"),
        row(
            vec![Set("ledger_signatures.tx_count", json!(-5))],
            "ledger_signatures.tx_count: expected a positive integer, got -5",
        ),
        row(
            vec![Set("ledger_signatures.tx_count", json!(1.5))],
            "ledger_signatures.tx_count: expected a positive integer, got 1.5",
        ),
        row(
            vec![Set("snapshots.tx_count", json!("ten"))],
            r#"snapshots.tx_count: expected a positive integer, got "ten""#,
        ),
        row(vec![Set("snapshots.tx_count", json!(0))], "snapshots.tx_count: must be at least 1, got 0"),
        row(
            vec![Set("snapshots.read_only_directory", json!(7))],
            "snapshots.read_only_directory: expected a string or null, got 7",
        ),
        row(vec![Set("ledger.chunksize", json!("5MB"))], "unknown key ledger.chunksize"),
        row(vec![Set("ledgr", json!({}))], "unknown key ledgr"),
        row(vec![Set("ledger", json!("ledger"))], r#"ledger: expected an object, got "ledger""#),
        row(vec![Set("ledger.directory", json!(""))], "ledger.directory: path is empty"),
        row(
            vec![Set("ledger.read_only_directories", json!("old"))],
            r#"ledger.read_only_directories: expected an array of strings, got "old""#,
        ),
        row(
            vec![Set("ledger.read_only_directories", json!(["old", 3]))],
            "ledger.read_only_directories[1]: expected a string, got 3",
        ),
        row(
            vec![Set("ledger.read_only_directories", json!(["ledger"]))],
            r#"ledger.read_only_directories[0]: "ledger" is the main ledger.directory"#,
        ),
        row(
            vec![Set("ledger.durability", json!("sometimes"))],
            r#"ledger.durability: "sometimes" is not "fsync" or "flush""#,
        ),
        row(vec![Remove("network")], "network: missing"),
        row(vec![Remove("network.node_to_node_interface")], "network.node_to_node_interface: missing"),
        row(
            vec![Remove("network.rpc_interfaces.primary.bind_address")],
            "network.rpc_interfaces.primary.bind_address: missing",
        ),
        row(
            vec![Set("network.rpc_interfaces", json!({}))],
            "network.rpc_interfaces: at least one RPC interface is required",
        ),
        row(
            vec![Set("network.rpc_interfaces.primary", json!("127.0.0.1:8080"))],
            r#"network.rpc_interfaces.primary: expected an object, got "127.0.0.1:8080""#,
        ),
        row(
            vec![Set("network.rpc_interfaces.primary.bind", json!("x"))],
            "unknown key network.rpc_interfaces.primary.bind",
        ),
        row(
            vec![Set("network.node_to_node_interface.bind_address", json!("127.0.0.1"))],
            r#"network.node_to_node_interface.bind_address: "127.0.0.1" is not host:port"#,
        ),
        row(
            vec![Set("network.rpc_interfaces.primary.published_address", json!("127.0.0.1:70000"))],
            r#"network.rpc_interfaces.primary.published_address: "127.0.0.1:70000": port "70000" is not a number"#,
        ),
        row(
            vec![Set("network.rpc_interfaces.primary.bind_address", json!("127.0.0.1:8081"))],
            "network.rpc_interfaces.primary.bind_address: \"127.0.0.1:8081\" is already bound by network.node_to_node_interface.bind_address",
        ),
        row(
            vec![Set("network.rpc_interfaces.primary.max_open_sessions_soft", json!(2000))],
            "network.rpc_interfaces.primary.max_open_sessions_soft: 2000 is above max_open_sessions_hard 1010",
        ),
        row(
            vec![Set("network.rpc_interfaces.primary.max_open_sessions_hard", json!(0))],
            "network.rpc_interfaces.primary.max_open_sessions_hard: must be at least 1, got 0",
        ),
        row(
            vec![Set("network.rpc_interfaces.primary.http_configuration.max_body_size", json!("1 parsec"))],
            r#"network.rpc_interfaces.primary.http_configuration.max_body_size: "1 parsec" is not a size"#,
        ),
        row(vec![Remove("command")], "command: missing"),
        row(vec![Remove("command.type")], "command.type: missing"),
        row(
            vec![Set("command.type", json!("Restart"))],
            r#"command.type: "Restart" is not "Start", "Join" or "Recover""#,
        ),
        row(vec![Remove("command.start")], "command.start: missing"),
        row(vec![Set("command.start.members", json!([]))], "command.start.members: at least one member is required"),
        row(
            vec![Set("command.start.members", json!({}))],
            "command.start.members: expected an array of objects, got an object",
        ),
        row(
            vec![Remove("command.start.members[0].certificate_file")],
            "command.start.members[0].certificate_file: missing",
        ),
        row(vec![Set("command.start.members[0].cert", json!("x"))], "unknown key command.start.members[0].cert"),
        row(
            vec![Set("command.start.members[1]", json!({"certificate_file": "member0_cert.pem"}))],
            r#"command.start.members[1].certificate_file: "member0_cert.pem" is already the certificate of members[0]"#,
        ),
        row(
            vec![Set("command.start.service_configuration.recovery_threshold", json!(0))],
            "command.start.service_configuration.recovery_threshold: must be at least 1, got 0",
        ),
        row(
            vec![Set("command.start.service_configuration.recovery_threshold", json!(2))],
            "command.start.service_configuration.recovery_threshold: 2 is more than the 1 recovery member(s)",
        ),
        row(vec![Set("command.type", json!("Join"))], "command.join.target_rpc_address: missing"),
        row(vec![Set("command.type", json!("Recover"))], "command.recover.previous_service_identity_file: missing"),
        row(
            vec![join(), Set("command.join.target_rpc_address", json!("[::1"))],
            "command.join.target_rpc_address: \"[::1\"",
        ),
        row(
            vec![join(), Set("command.join.retry_timeout", json!("1000"))],
            r#"command.join.retry_timeout: "1000" is not a duration"#,
        ),
        row(
            vec![join(), Set("command.join.fetch_recent_snapshot", json!("yes"))],
            r#"command.join.fetch_recent_snapshot: expected true or false, got "yes""#,
        ),
        row(vec![Set("consensus.message_timeout", json!("0ms"))], "consensus.message_timeout: must be at least 1ms"),
        row(
            vec![Set("consensus.election_timeout", json!("50ms"))],
            "consensus.election_timeout: 50ms must be longer than consensus.message_timeout (100ms)",
        ),
        row(
            vec![Set("node_certificate.curve_id", json!("Secp256R1"))],
            r#"node_certificate.curve_id: "Secp256R1" is not supported"#,
        ),
        row(
            vec![Set("node_certificate.subject_alt_names", json!(["DNS:node.example"]))],
            r#"node_certificate.subject_alt_names[0]: "DNS:node.example" must start with "iPAddress:" or "dNSName:""#,
        ),
        row(
            vec![Set("node_certificate.initial_validity_days", json!(0))],
            "node_certificate.initial_validity_days: must be at least 1",
        ),
        row(
            vec![
                Set("node_certificate_file", json!("a.pem")),
                Set("output_files.node_certificate_file", json!("b.pem")),
            ],
            r#"node_certificate_file: "a.pem" differs from output_files.node_certificate_file "b.pem""#,
        ),
        row(vec![Set("output_files.pid", json!("node.pid"))], "unknown key output_files.pid"),
        row(vec![Set("node_data_directory", json!(null))], "node_data_directory: expected a string, got null"),
    ]
}

#[test]
fn each_bad_configuration_is_rejected_naming_the_key_and_the_reason() {
    let rows = rows();
    assert!(rows.len() >= 20);
    for (i, r) in rows.iter().enumerate() {
        let mut config = minimal_start();
        for edit in &r.edits {
            match edit {
                Set(path, value) => set(&mut config, path, value.clone()),
                Remove(path) => remove(&mut config, path),
            }
        }
        let err =
            NodeConfig::parse(&config.to_string()).err().unwrap_or_else(|| panic!("row {i} was accepted: {config}"));
        let message = err.to_string();
        assert!(message.contains(r.expected), "row {i}:\n  got      {message}\n  expected {}", r.expected);
        if let Some(key) = err.key() {
            assert!(message.contains(key), "row {i}: {message} does not name {key}");
        }
    }
}

#[test]
fn the_unedited_base_configuration_is_valid() {
    // Guards the table above: every row fails because of its edit, not because of the base.
    let loaded = NodeConfig::parse(&minimal_start().to_string()).expect("base configuration");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn text_that_is_not_a_json_object_is_rejected_with_its_position() {
    let table: [(&str, &str); 5] = [
        (
            "{\n  \"network\": {\n    \"node_to_node_interface\": ,\n",
            "invalid JSON at line 3, column 31: expected value",
        ),
        ("{\"ledger\": {}} trailing", "invalid JSON at line 1, column 16: trailing characters"),
        ("", "invalid JSON at line 1, column 0: EOF while parsing a value"),
        ("[]", "(top level): expected an object, got an array"),
        ("\"config\"", "(top level): expected an object, got \"config\""),
    ];
    for (text, expected) in table {
        let message = NodeConfig::parse(text).unwrap_err().to_string();
        assert!(message.contains(expected), "{text:?}:\n  got      {message}\n  expected {expected}");
    }
}
