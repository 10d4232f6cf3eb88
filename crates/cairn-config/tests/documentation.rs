//! docs/operations/configuration.md stays true: it names every key of the key table, and its
//! sample configurations parse without warnings.
mod common;

use cairn_config::ccf_keys::CCF_KEYS;
use cairn_config::{CommandKind, NodeConfig};
use serde_json::Value;

fn doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/operations/configuration.md");
    std::fs::read_to_string(path).expect("docs/operations/configuration.md")
}

/// The bodies of the ```json blocks, in order.
fn json_blocks(text: &str) -> Vec<String> {
    text.split("```json\n").skip(1).map(|rest| rest.split("```").next().unwrap().to_owned()).collect()
}

#[test]
fn the_reference_names_every_key_of_the_table() {
    let text = doc();
    let missing: Vec<&str> =
        CCF_KEYS.iter().map(|k| k.pattern).filter(|p| !text.contains(&format!("| `{p}` |"))).collect();
    assert!(missing.is_empty(), "keys without a row in the reference: {missing:?}");
}

#[test]
fn the_sample_configurations_parse_without_warnings() {
    let blocks = json_blocks(&doc());
    assert_eq!(blocks.len(), 3, "sample Start config, Join command, Recover command");
    let start = NodeConfig::parse(&blocks[0]).unwrap_or_else(|e| panic!("sample Start config: {e}"));
    assert!(start.warnings.is_empty(), "{:?}", start.warnings);
    assert_eq!(start.config.command.kind, CommandKind::Start);
    for (block, kind) in blocks[1..].iter().zip([CommandKind::Join, CommandKind::Recover]) {
        let mut config: Value = serde_json::from_str(&blocks[0]).unwrap();
        config["command"] = serde_json::from_str(block).unwrap();
        let loaded = NodeConfig::parse(&config.to_string()).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        assert_eq!(loaded.config.command.kind, kind);
    }
}

#[test]
fn the_sample_start_config_spells_out_the_defaults() {
    let sample = NodeConfig::parse(&json_blocks(&doc())[0]).unwrap().config;
    let minimal = NodeConfig::parse(&common::minimal_start().to_string()).unwrap().config;
    assert_eq!(sample.ledger, minimal.ledger);
    assert_eq!(sample.snapshots, minimal.snapshots);
    assert_eq!(sample.ledger_signatures, minimal.ledger_signatures);
    assert_eq!(sample.consensus, minimal.consensus);
    assert_eq!(
        (sample.node_data_directory, sample.node_certificate_file),
        (minimal.node_data_directory, minimal.node_certificate_file)
    );
}
