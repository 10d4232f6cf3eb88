//! `NodeConfig::load` checks the files a node will read, naming each by its key path; `parse`
//! does not look at the file system at all.
mod common;

use cairn_config::{ConfigError, NodeConfig};
use common::{minimal_join, minimal_recover, minimal_start, set};
use serde_json::{Value, json};
use std::path::Path;

/// Writes `config` into `dir` and loads it.
fn load_in(dir: &Path, config: &Value) -> Result<cairn_config::LoadedConfig, ConfigError> {
    let path = dir.join("node.json");
    std::fs::write(&path, config.to_string()).unwrap();
    NodeConfig::load(&path)
}

/// A `Start` config whose two members' files all exist in `dir`.
fn start_with_existing_files(dir: &Path) -> Value {
    let mut v = minimal_start();
    let mut members = Vec::new();
    for i in 0..2 {
        let cert = dir.join(format!("m{i}_cert.pem"));
        let key = dir.join(format!("m{i}_enc_pubk.pem"));
        std::fs::write(&cert, "cert").unwrap();
        std::fs::write(&key, "key").unwrap();
        members.push(json!({"certificate_file": cert, "encryption_public_key_file": key}));
    }
    set(&mut v, "command.start.members", json!(members));
    v
}

#[test]
fn missing_inputs_are_named_by_their_key_path() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let existing_file = d.join("a_file");
    std::fs::write(&existing_file, "x").unwrap();
    let missing = d.join("nowhere");
    let shown = |p: &Path| format!("{:?}", p.display().to_string());
    // (edits to a Start config with existing files, expected message)
    let table: Vec<(Vec<(&str, Value)>, String)> = vec![
        (
            vec![("command.start.members[1].certificate_file", json!("m1_cert.pem"))],
            r#"command.start.members[1].certificate_file: file "m1_cert.pem" not found"#.to_owned(),
        ),
        (
            vec![("command.start.members[0].encryption_public_key_file", json!(missing))],
            format!("command.start.members[0].encryption_public_key_file: file {} not found", shown(&missing)),
        ),
        (
            vec![("command.start.members[1].data_json_file", json!(missing))],
            format!("command.start.members[1].data_json_file: file {} not found", shown(&missing)),
        ),
        (
            vec![("command.start.members[0].certificate_file", json!(d))],
            format!("command.start.members[0].certificate_file: {} is a directory, not a file", shown(d)),
        ),
        (
            vec![("ledger.read_only_directories", json!([d, missing]))],
            format!("ledger.read_only_directories[1]: directory {} not found", shown(&missing)),
        ),
        (
            vec![("snapshots.read_only_directory", json!(existing_file))],
            format!("snapshots.read_only_directory: {} is not a directory", shown(&existing_file)),
        ),
        (
            vec![("command", minimal_join()["command"].clone()), ("command.service_certificate_file", json!(missing))],
            format!("command.service_certificate_file: file {} not found", shown(&missing)),
        ),
        (
            vec![
                ("command", minimal_recover()["command"].clone()),
                ("command.recover.previous_service_identity_file", json!(missing)),
            ],
            format!("command.recover.previous_service_identity_file: file {} not found", shown(&missing)),
        ),
    ];
    for (edits, expected) in table {
        let mut v = start_with_existing_files(d);
        for (path, value) in edits {
            set(&mut v, path, value);
        }
        NodeConfig::parse(&v.to_string()).unwrap_or_else(|e| panic!("parse must not check files: {e}"));
        let message = load_in(d, &v).unwrap_err().to_string();
        assert_eq!(message, expected);
    }
}

#[test]
fn files_the_node_writes_need_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let previous = d.join("previous_service_cert.pem");
    std::fs::write(&previous, "cert").unwrap();
    let mut recover = minimal_recover();
    set(&mut recover, "command.recover.previous_service_identity_file", json!(previous));
    for mut v in [start_with_existing_files(d), recover] {
        // Outputs (and the node's own directories) may be created by the node.
        set(&mut v, "command.service_certificate_file", json!(d.join("new_service_cert.pem")));
        set(&mut v, "node_certificate_file", json!(d.join("out/nodecert.pem")));
        set(&mut v, "ledger.directory", json!(d.join("ledger-not-yet")));
        set(&mut v, "snapshots.directory", json!(d.join("snapshots-not-yet")));
        set(&mut v, "node_data_directory", json!(d.join("node-data-not-yet")));
        load_in(d, &v).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn an_unreadable_configuration_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.json");
    let err = NodeConfig::load(&path).unwrap_err();
    assert!(matches!(err, ConfigError::Unreadable { .. }), "{err}");
    assert!(err.to_string().starts_with(&format!("cannot read configuration file {}", path.display())), "{err}");
}

#[test]
fn an_oversized_configuration_file_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.json");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(cairn_config::MAX_CONFIG_FILE_BYTES + 1).unwrap();
    let err = NodeConfig::load(&path).unwrap_err().to_string();
    assert!(err.contains("limit for a configuration file"), "{err}");
}
