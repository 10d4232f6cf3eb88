//! Minimal configurations get every documented default (SPEC §2), and a configuration written
//! back with `to_json` reads back equal.
mod common;

use cairn_config::{
    CommandConfig, CommandKind, ConsensusSection, Durability, JoinConfig, LedgerSection, MemberConfig, NetworkConfig,
    NodeCertificateSection, NodeConfig, NodeToNodeInterface, RecoverConfig, RpcInterface, SignaturesSection,
    SnapshotsSection, StartConfig,
};
use common::{minimal_join, minimal_recover, minimal_start, set};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The configuration SPEC §2 promises for `minimal_start()`, spelled out field by field.
fn expected_minimal_start() -> NodeConfig {
    NodeConfig {
        network: NetworkConfig {
            node_to_node_interface: NodeToNodeInterface {
                bind_address: "127.0.0.1:8081".into(),
                published_address: None,
            },
            rpc_interfaces: BTreeMap::from([(
                "primary".to_owned(),
                RpcInterface {
                    bind_address: "127.0.0.1:8080".into(),
                    published_address: None,
                    max_open_sessions_soft: 1000,
                    max_open_sessions_hard: 1010,
                    max_body_size_bytes: 1024 * 1024,
                },
            )]),
        },
        command: CommandConfig {
            kind: CommandKind::Start,
            service_certificate_file: PathBuf::from("service_cert.pem"),
            join_token_file: PathBuf::from("join_token"),
            start: Some(StartConfig {
                members: vec![MemberConfig {
                    certificate_file: PathBuf::from("member0_cert.pem"),
                    encryption_public_key_file: Some(PathBuf::from("member0_enc_pubk.pem")),
                    data_json_file: None,
                }],
                recovery_threshold: 1,
                initial_service_certificate_validity_days: 1,
                maximum_service_certificate_validity_days: 365,
                maximum_node_certificate_validity_days: 365,
            }),
            join: None,
            recover: None,
        },
        ledger: LedgerSection {
            directory: PathBuf::from("ledger"),
            read_only_directories: vec![],
            chunk_size_bytes: 5 * 1024 * 1024,
            durability: Durability::Fsync,
        },
        snapshots: SnapshotsSection {
            directory: PathBuf::from("snapshots"),
            tx_count: 10_000,
            read_only_directory: None,
        },
        ledger_signatures: SignaturesSection { tx_count: 5000, delay_ms: 1000 },
        consensus: ConsensusSection { message_timeout_ms: 100, election_timeout_ms: 4000 },
        node_certificate: NodeCertificateSection {
            subject_name: "CN=CCF Node".into(),
            subject_alt_names: vec![],
            initial_validity_days: 1,
        },
        node_data_directory: PathBuf::from("node_data"),
        node_certificate_file: PathBuf::from("nodecert.pem"),
        idle_connection_timeout_ms: 60_000,
    }
}

#[test]
fn minimal_start_config_gets_every_default() {
    let loaded = NodeConfig::parse(&minimal_start().to_string()).unwrap();
    assert_eq!(loaded.config, expected_minimal_start());
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let rpc = &loaded.config.network.rpc_interfaces["primary"];
    assert_eq!(rpc.advertised_address(), "127.0.0.1:8080", "published_address defaults to bind_address");
    assert_eq!(loaded.config.network.node_to_node_interface.advertised_address(), "127.0.0.1:8081");
}

#[test]
fn minimal_join_config_gets_join_defaults() {
    let config = NodeConfig::parse(&minimal_join().to_string()).unwrap().config;
    let mut expected = expected_minimal_start();
    expected.command = CommandConfig {
        kind: CommandKind::Join,
        service_certificate_file: PathBuf::from("service_cert.pem"),
        join_token_file: PathBuf::from("join_token"),
        start: None,
        join: Some(JoinConfig {
            target_rpc_address: "127.0.0.1:8000".into(),
            retry_timeout_ms: 1000,
            fetch_recent_snapshot: true,
        }),
        recover: None,
    };
    assert_eq!(config, expected);
}

#[test]
fn minimal_recover_config_gets_recover_defaults() {
    let config = NodeConfig::parse(&minimal_recover().to_string()).unwrap().config;
    assert_eq!(
        config.command.recover,
        Some(RecoverConfig {
            initial_service_certificate_validity_days: 1,
            previous_service_identity_file: PathBuf::from("previous_service_cert.pem"),
        })
    );
    assert_eq!((config.command.kind, config.command.start.is_none()), (CommandKind::Recover, true));
}

#[test]
fn hard_session_bound_below_the_default_soft_bound_lowers_the_soft_bound() {
    let mut v = minimal_start();
    set(&mut v, "network.rpc_interfaces.primary.max_open_sessions_hard", json!(64));
    let rpc = NodeConfig::parse(&v.to_string()).unwrap().config.network.rpc_interfaces["primary"].clone();
    assert_eq!((rpc.max_open_sessions_soft, rpc.max_open_sessions_hard), (64, 64));
}

#[test]
fn sizes_accept_integers_and_unit_strings() {
    let table = [(json!(4096), 4096u64), (json!("4096"), 4096), (json!("512KB"), 512 * 1024), (json!("1GiB"), 1 << 30)];
    for (value, bytes) in table {
        let mut v = minimal_start();
        set(&mut v, "ledger.chunk_size", value.clone());
        assert_eq!(NodeConfig::parse(&v.to_string()).unwrap().config.ledger.chunk_size_bytes, bytes, "{value}");
    }
}

#[test]
fn older_lowercase_command_type_is_accepted() {
    let mut v = minimal_start();
    set(&mut v, "command.type", json!("start"));
    assert_eq!(NodeConfig::parse(&v.to_string()).unwrap().config.command.kind, CommandKind::Start);
}

#[test]
fn explicit_null_reads_as_absent_where_ccf_allows_null() {
    let mut v = minimal_start();
    set(&mut v, "snapshots.read_only_directory", json!(null));
    set(&mut v, "command.start.members[0].data_json_file", json!(null));
    assert_eq!(NodeConfig::parse(&v.to_string()).unwrap().config, expected_minimal_start());
}

#[test]
fn members_without_encryption_keys_are_refused_as_nobody_could_hold_recovery_shares() {
    let mut v = minimal_start();
    set(&mut v, "command.start.members", json!([{"certificate_file": "m0.pem"}, {"certificate_file": "m1.pem"}]));
    let err = NodeConfig::parse(&v.to_string()).unwrap_err().to_string();
    assert!(err.starts_with("command.start.members: no member has an encryption_public_key_file"), "{err}");
}

#[test]
fn configurations_written_with_to_json_read_back_equal_and_without_warnings() {
    let mut edited = minimal_start();
    set(&mut edited, "ledger.chunk_size", json!(1000));
    set(&mut edited, "ledger.durability", json!("flush"));
    set(&mut edited, "ledger.read_only_directories", json!(["/backup/ledger"]));
    set(&mut edited, "snapshots.read_only_directory", json!("/backup/snapshots"));
    set(
        &mut edited,
        "network.rpc_interfaces.backup",
        json!({"bind_address": "[::1]:0", "published_address": "node.example:443"}),
    );
    set(&mut edited, "node_certificate.subject_alt_names", json!(["dNSName:node.example", "iPAddress:10.0.0.1"]));
    set(&mut edited, "command.start.members[1]", json!({"certificate_file": "m1.pem", "data_json_file": "m1.json"}));
    for original in [minimal_start(), minimal_join(), minimal_recover(), edited] {
        let first = NodeConfig::parse(&original.to_string()).unwrap().config;
        let again = NodeConfig::parse(&first.to_json().to_string()).unwrap();
        assert_eq!(again.config, first, "{original}");
        assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    }
}
