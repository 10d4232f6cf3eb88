//! The checks `NodeConfig::load` adds to `parse`: every file the node will *read* exists and is a
//! file, every read-only directory exists and is a directory. Paths are checked as written, i.e.
//! relative to the current working directory, which is how the node resolves them too (as CCF's
//! `cchost` does). Files the node *writes* (service and node certificates, its own ledger,
//! snapshot and node-data directories) are not checked: they may not exist yet.
//!
//! This is the only module of the crate that touches the file system.
use crate::command_config::CommandKind;
use crate::config_error::ConfigError;
use crate::node_config::NodeConfig;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// What a path must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    File,
    Directory,
}

/// Every (key path, path, expectation) the node will read at start, in file order.
fn inputs(config: &NodeConfig) -> Vec<(String, PathBuf, Expect)> {
    let mut out = Vec::new();
    for (i, dir) in config.ledger.read_only_directories.iter().enumerate() {
        out.push((format!("ledger.read_only_directories[{i}]"), dir.clone(), Expect::Directory));
    }
    if let Some(dir) = &config.snapshots.read_only_directory {
        out.push(("snapshots.read_only_directory".to_owned(), dir.clone(), Expect::Directory));
    }
    let command = &config.command;
    if command.kind == CommandKind::Join {
        out.push((
            "command.service_certificate_file".to_owned(),
            command.service_certificate_file.clone(),
            Expect::File,
        ));
    }
    if let Some(start) = &command.start {
        for (i, m) in start.members.iter().enumerate() {
            let key = format!("command.start.members[{i}]");
            out.push((format!("{key}.certificate_file"), m.certificate_file.clone(), Expect::File));
            if let Some(p) = &m.encryption_public_key_file {
                out.push((format!("{key}.encryption_public_key_file"), p.clone(), Expect::File));
            }
            if let Some(p) = &m.data_json_file {
                out.push((format!("{key}.data_json_file"), p.clone(), Expect::File));
            }
        }
    }
    if let Some(recover) = &command.recover {
        out.push((
            "command.recover.previous_service_identity_file".to_owned(),
            recover.previous_service_identity_file.clone(),
            Expect::File,
        ));
    }
    out
}

fn check_one(key: String, path: &Path, expect: Expect) -> Result<(), ConfigError> {
    let path_buf = path.to_path_buf();
    match (std::fs::metadata(path), expect) {
        (Ok(m), Expect::File) if m.is_dir() => Err(ConfigError::NotAFile { key, file: path_buf }),
        (Ok(m), Expect::Directory) if !m.is_dir() => Err(ConfigError::NotADirectory { key, dir: path_buf }),
        (Ok(_), _) => Ok(()),
        (Err(e), Expect::File) if e.kind() == ErrorKind::NotFound => {
            Err(ConfigError::FileNotFound { key, file: path_buf })
        }
        (Err(e), Expect::Directory) if e.kind() == ErrorKind::NotFound => {
            Err(ConfigError::DirectoryNotFound { key, dir: path_buf })
        }
        (Err(source), _) => Err(ConfigError::Inaccessible { key, path: path_buf, source }),
    }
}

/// Checks every input of `config`; the first problem is returned, in file order.
pub(crate) fn check_inputs_exist(config: &NodeConfig) -> Result<(), ConfigError> {
    for (key, path, expect) in inputs(config) {
        check_one(key, &path, expect)?;
    }
    Ok(())
}
