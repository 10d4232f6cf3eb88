//! [`NodeConfig`]: a node's configuration file (SPEC §2), CCF's JSON format with CCF's key names,
//! so a CCF operator's `cchost` configuration works unchanged.
//!
//! [`NodeConfig::parse`] is pure: it reads the JSON text, applies defaults, validates every value
//! and rejects unknown keys, each error naming the key's JSON path; CCF keys Cairn does not need
//! produce one warning each. [`NodeConfig::load`] reads the file and also checks that the files
//! the node will read exist (`file_checks`). Paths are kept as written: like CCF, the node resolves
//! them relative to its working directory.
//!
//! Invariants (`check_invariants`): those of every section, checked at the end of every parse (a
//! violation there is a bug in this crate, hence a panic); `node_data_directory` and
//! `node_certificate_file` are non-empty.
use crate::command_config::CommandConfig;
use crate::config_error::ConfigError;
use crate::consensus_section::ConsensusSection;
use crate::file_checks::check_inputs_exist;
use crate::json_reader::ObjectReader;
use crate::ledger_section::LedgerSection;
use crate::network_config::NetworkConfig;
use crate::node_certificate_section::NodeCertificateSection;
use crate::signatures_section::SignaturesSection;
use crate::snapshots_section::SnapshotsSection;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The largest configuration file `load` reads (a bound against pointing it at the wrong file).
pub const MAX_CONFIG_FILE_BYTES: u64 = 1 << 20;

/// A node's configuration, with every default applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    pub network: NetworkConfig,
    pub command: CommandConfig,
    pub ledger: LedgerSection,
    pub snapshots: SnapshotsSection,
    pub ledger_signatures: SignaturesSection,
    pub consensus: ConsensusSection,
    pub node_certificate: NodeCertificateSection,
    /// `node_data_directory` [`node_data`] (Beyond CCF): where the node keeps its identity key and
    /// certificate and its local ledger-secret file; a restart needs them.
    pub node_data_directory: PathBuf,
    /// `node_certificate_file` (Cairn) or `output_files.node_certificate_file` (CCF)
    /// [`nodecert.pem`]: where the node writes its certificate.
    pub node_certificate_file: PathBuf,
    /// `idle_connection_timeout` [`60s`] (CCF's key): an RPC connection with no request in
    /// flight and none started for this long is closed (idle sessions and slowloris headers
    /// alike).
    pub idle_connection_timeout_ms: u64,
}

/// The outcome of a successful parse: the configuration and one warning per ignored key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedConfig {
    pub config: NodeConfig,
    /// Each starts with the key's JSON path, e.g. `enclave: CCF option ignored by Cairn (...)`.
    pub warnings: Vec<String>,
}

impl NodeConfig {
    pub const DEFAULT_NODE_DATA_DIRECTORY: &str = "node_data";
    pub const DEFAULT_NODE_CERTIFICATE_FILE: &str = "nodecert.pem";
    pub const DEFAULT_IDLE_CONNECTION_TIMEOUT_MS: u64 = 60_000;

    /// Parses a configuration from JSON text without looking at the file system.
    pub fn parse(json_text: &str) -> Result<LoadedConfig, ConfigError> {
        let value: Value = serde_json::from_str(json_text).map_err(|e| {
            let text = e.to_string();
            let reason = text.rsplit_once(" at line ").map_or(text.as_str(), |(head, _)| head).to_owned();
            ConfigError::InvalidJson { line: e.line(), column: e.column(), reason }
        })?;
        let mut warnings = Vec::new();
        let config = Self::read(&value, &mut warnings)?;
        config.check_invariants();
        Ok(LoadedConfig { config, warnings })
    }

    /// Reads the configuration file at `path`, parses it, and checks that the files the node will
    /// read (members' certificates and keys, the service certificate to join, the previous service
    /// identity, read-only directories) exist, relative to the current working directory.
    pub fn load(path: impl AsRef<Path>) -> Result<LoadedConfig, ConfigError> {
        let path = path.as_ref();
        let unreadable = |source| ConfigError::Unreadable { path: path.to_path_buf(), source };
        let size = std::fs::metadata(path).map_err(unreadable)?.len();
        if size > MAX_CONFIG_FILE_BYTES {
            let message =
                format!("{size} bytes is over the {MAX_CONFIG_FILE_BYTES}-byte limit for a configuration file");
            return Err(unreadable(std::io::Error::new(std::io::ErrorKind::InvalidData, message)));
        }
        let text = std::fs::read_to_string(path).map_err(unreadable)?;
        let loaded = Self::parse(&text)?;
        check_inputs_exist(&loaded.config)?;
        Ok(loaded)
    }

    fn read(value: &Value, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let mut root = ObjectReader::root(value)?;
        let network = NetworkConfig::read(root.object("network")?, warnings)?;
        let command = CommandConfig::read(root.object("command")?, warnings)?;
        let ledger = LedgerSection::read(root.object("ledger")?, warnings)?;
        let snapshots = SnapshotsSection::read(root.object("snapshots")?, warnings)?;
        let ledger_signatures = SignaturesSection::read(root.object("ledger_signatures")?, warnings)?;
        let consensus = ConsensusSection::read(root.object("consensus")?, warnings)?;
        let node_certificate = NodeCertificateSection::read(root.object("node_certificate")?, warnings)?;
        let node_data_directory = root.path_string("node_data_directory")?;
        let node_certificate_file = Self::read_node_certificate_file(&mut root, warnings)?;
        let idle_connection_timeout_ms =
            root.duration_ms("idle_connection_timeout")?.unwrap_or(Self::DEFAULT_IDLE_CONNECTION_TIMEOUT_MS);
        if idle_connection_timeout_ms == 0 {
            return Err(ConfigError::bad_value("idle_connection_timeout", "must be at least 1ms"));
        }
        root.finish(warnings)?;
        Ok(NodeConfig {
            network,
            command,
            ledger,
            snapshots,
            ledger_signatures,
            consensus,
            node_certificate,
            node_data_directory: PathBuf::from(
                node_data_directory.unwrap_or_else(|| Self::DEFAULT_NODE_DATA_DIRECTORY.to_owned()),
            ),
            node_certificate_file: PathBuf::from(node_certificate_file),
            idle_connection_timeout_ms,
        })
    }

    /// `node_certificate_file` (Cairn's spelling) or `output_files.node_certificate_file` (CCF's);
    /// both may be given if they agree.
    fn read_node_certificate_file(
        root: &mut ObjectReader<'_>,
        warnings: &mut Vec<String>,
    ) -> Result<String, ConfigError> {
        let cairn = root.path_string("node_certificate_file")?;
        let mut ccf = None;
        if let Some(mut output) = root.object("output_files")? {
            ccf = output.path_string("node_certificate_file")?;
            output.finish(warnings)?;
        }
        match (cairn, ccf) {
            (Some(a), Some(b)) if a != b => Err(ConfigError::bad_value(
                "node_certificate_file",
                format!("{a:?} differs from output_files.node_certificate_file {b:?} (give one, or the same path)"),
            )),
            (Some(a), _) | (None, Some(a)) => Ok(a),
            (None, None) => Ok(Self::DEFAULT_NODE_CERTIFICATE_FILE.to_owned()),
        }
    }

    /// Panics if an invariant of this type or of any section does not hold.
    pub fn check_invariants(&self) {
        self.network.check_invariants();
        self.command.check_invariants();
        self.ledger.check_invariants();
        self.snapshots.check_invariants();
        self.ledger_signatures.check_invariants();
        self.consensus.check_invariants();
        self.node_certificate.check_invariants();
        assert!(!self.node_data_directory.as_os_str().is_empty());
        assert!(!self.node_certificate_file.as_os_str().is_empty());
        assert!(self.idle_connection_timeout_ms > 0);
    }

    /// The whole configuration as JSON in CCF's format, with every default written out;
    /// `NodeConfig::parse` reads it back to an equal configuration, without warnings.
    pub fn to_json(&self) -> Value {
        json!({
            "network": self.network.to_json(),
            "command": self.command.to_json(),
            "ledger": self.ledger.to_json(),
            "snapshots": self.snapshots.to_json(),
            "ledger_signatures": self.ledger_signatures.to_json(),
            "consensus": self.consensus.to_json(),
            "node_certificate": self.node_certificate.to_json(),
            "node_data_directory": self.node_data_directory,
            "output_files": {"node_certificate_file": self.node_certificate_file},
            "idle_connection_timeout": crate::duration_text::format_duration_ms(self.idle_connection_timeout_ms),
        })
    }
}
