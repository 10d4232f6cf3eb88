//! A full CCF-style configuration (modelled on CCF's `samples/config/start_config.json`, with the
//! enclave, attestation, logging and other host keys CCF operators write) loads: every key Cairn
//! honours is read, every key it ignores gives exactly one warning, and nothing else warns.
mod common;

use cairn_config::ccf_keys::{CCF_KEYS, KeyUse};
use cairn_config::{CommandKind, NodeConfig};
use common::{minimal_join, minimal_start, set, warning_key};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const FULL_START: &str = include_str!("fixtures/ccf_start_full.json");

/// The ignored keys present in `FULL_START`, by their actual path.
const IGNORED_IN_FULL_START: [&str; 26] = [
    "enclave",
    "network.rpc_interfaces.primary_rpc_interface.protocol",
    "network.rpc_interfaces.primary_rpc_interface.app_protocol",
    "network.rpc_interfaces.primary_rpc_interface.http_configuration.max_header_size",
    "network.rpc_interfaces.primary_rpc_interface.http_configuration.max_headers_count",
    "network.rpc_interfaces.primary_rpc_interface.forwarding_timeout_ms",
    "network.rpc_interfaces.operator_rpc_interface.endorsement",
    "network.rpc_interfaces.operator_rpc_interface.enabled_operator_features",
    "command.start.constitution_files",
    "command.start.members[2].recovery_role",
    "command.start.service_configuration.reconfiguration_type",
    "logging",
    "consensus.type",
    "jwt",
    "attestation",
    "output_files.pid_file",
    "output_files.node_to_node_address_file",
    "output_files.rpc_addresses_file",
    "tick_interval",
    "slow_io_logging_threshold",
    "client_connection_timeout",
    "worker_threads",
    "memory",
    "node_data_json_file",
    "service_data_json_file",
    "ignore_first_sigterm",
];

fn sorted_warning_keys(warnings: &[String]) -> Vec<String> {
    let mut keys: Vec<String> = warnings.iter().map(|w| warning_key(w).to_owned()).collect();
    keys.sort();
    keys
}

fn assert_one_warning_per_ignored_key(warnings: &[String]) {
    let mut expected: Vec<String> = IGNORED_IN_FULL_START.iter().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(sorted_warning_keys(warnings), expected);
    for w in warnings {
        assert!(w.contains(": CCF option ignored by Cairn ("), "{w}");
    }
}

#[test]
fn full_ccf_start_config_warns_once_per_ignored_key() {
    let loaded = NodeConfig::parse(FULL_START).unwrap();
    assert_one_warning_per_ignored_key(&loaded.warnings);
}

#[test]
fn full_ccf_start_config_honours_every_key_cairn_uses() {
    let c = NodeConfig::parse(FULL_START).unwrap().config;
    assert_eq!(c.network.node_to_node_interface.advertised_address(), "node0.ledger.example:8201");
    let names: Vec<&str> = c.network.rpc_interfaces.keys().map(String::as_str).collect();
    assert_eq!(names, ["operator_rpc_interface", "primary_rpc_interface"]);
    let primary = &c.network.rpc_interfaces["primary_rpc_interface"];
    assert_eq!(primary.advertised_address(), "node0.ledger.example:443");
    assert_eq!((primary.max_open_sessions_soft, primary.max_open_sessions_hard), (800, 900));
    assert_eq!(primary.max_body_size_bytes, 2 * 1024 * 1024);
    assert_eq!(c.idle_connection_timeout_ms, 45_000);
    let operator = &c.network.rpc_interfaces["operator_rpc_interface"];
    assert_eq!((operator.max_open_sessions_hard, operator.max_body_size_bytes), (1010, 1024 * 1024));

    assert_eq!(c.command.kind, CommandKind::Start);
    let start = c.command.start.as_ref().unwrap();
    assert_eq!(start.members.len(), 3);
    assert_eq!(start.recovery_member_count(), 2);
    assert_eq!(start.members[1].data_json_file.as_deref(), Some(Path::new("member1_data.json")));
    assert_eq!((start.recovery_threshold, start.initial_service_certificate_validity_days), (2, 7));

    assert_eq!(c.ledger.chunk_size_bytes, 4 * 1024 * 1024);
    assert_eq!(c.snapshots.tx_count, 20_000);
    assert_eq!((c.ledger_signatures.tx_count, c.ledger_signatures.delay_ms), (1000, 1000));
    assert_eq!((c.consensus.message_timeout_ms, c.consensus.election_timeout_ms), (200, 5000));
    assert_eq!(c.node_certificate.subject_name, "CN=Ledger Node 0");
    assert_eq!(c.node_certificate.subject_alt_names, ["iPAddress:127.0.0.1", "dNSName:node0.ledger.example"]);
    assert_eq!(c.node_certificate.initial_validity_days, 3);
    assert_eq!(c.node_certificate_file, PathBuf::from("node0.pem"), "from output_files.node_certificate_file");
}

/// Points every input file of the fixture into `dir` and creates them there.
fn fixture_with_files_in(dir: &Path) -> Value {
    let mut v: Value = serde_json::from_str(FULL_START).unwrap();
    let keys = [
        "command.start.members[0].certificate_file",
        "command.start.members[0].encryption_public_key_file",
        "command.start.members[1].certificate_file",
        "command.start.members[1].encryption_public_key_file",
        "command.start.members[1].data_json_file",
        "command.start.members[2].certificate_file",
    ];
    for (i, key) in keys.iter().enumerate() {
        let file = dir.join(format!("input_{i}.pem"));
        std::fs::write(&file, "contents are not checked by the configuration").unwrap();
        set(&mut v, key, json!(file));
    }
    v
}

#[test]
fn full_ccf_start_config_loads_when_its_files_exist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("start.json");
    std::fs::write(&path, fixture_with_files_in(dir.path()).to_string()).unwrap();
    let loaded = NodeConfig::load(&path).unwrap();
    assert_one_warning_per_ignored_key(&loaded.warnings);
    assert_eq!(loaded.config.command.start.unwrap().members[0].certificate_file, dir.path().join("input_0.pem"));
}

/// A concrete path for a table pattern (`*` → `primary`, `[]` → `[0]`).
fn concrete(pattern: &str) -> String {
    pattern.replace(".*", ".primary").replace("[]", "[0]")
}

#[test]
fn every_ignored_ccf_key_gives_exactly_one_warning_naming_it() {
    let ignored: Vec<&str> =
        CCF_KEYS.iter().filter(|k| matches!(k.key_use, KeyUse::Ignored(_))).map(|k| k.pattern).collect();
    assert!(ignored.len() > 50, "the table lists CCF's ignored keys");
    for pattern in ignored {
        let path = concrete(pattern);
        let mut v = if pattern.starts_with("command.join.") { minimal_join() } else { minimal_start() };
        // Ignored keys are not validated: any JSON value is accepted, objects included.
        set(&mut v, &path, json!({"any": ["value"]}));
        let loaded = NodeConfig::parse(&v.to_string()).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(loaded.warnings.len(), 1, "{path}: {:?}", loaded.warnings);
        assert_eq!(warning_key(&loaded.warnings[0]), path);
    }
}

#[test]
fn sections_of_other_command_types_are_skipped_with_one_warning() {
    let mut v = minimal_join();
    set(&mut v, "command.start", minimal_start()["command"]["start"].clone());
    set(&mut v, "command.recover", json!({"previous_service_identity_file": "old.pem", "typo": 1}));
    let loaded = NodeConfig::parse(&v.to_string()).unwrap();
    assert_eq!(sorted_warning_keys(&loaded.warnings), ["command.recover", "command.start"]);
    assert!(loaded.config.command.start.is_none() && loaded.config.command.recover.is_none());
}
