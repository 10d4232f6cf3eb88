//! `command`: how the node starts. [`CommandConfig`] and [`CommandKind`].
//!
//! Invariant (`check_invariants`): exactly the section matching `kind` is present (`start` for
//! `Start`, `join` for `Join`, `recover` for `Recover`); the others are `None`. A file may carry
//! the sections of the other kinds (CCF ignores them too): they are skipped with a warning.
use crate::config_error::ConfigError;
use crate::join_config::JoinConfig;
use crate::json_reader::ObjectReader;
use crate::recover_config::RecoverConfig;
use crate::start_config::StartConfig;
use serde_json::{Value, json};
use std::path::PathBuf;

/// `command.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    /// Create a new service (`command.start`).
    Start,
    /// Join an existing service (`command.join`).
    Join,
    /// Recover a service from its ledger after a disaster (`command.recover`).
    Recover,
}

impl CommandKind {
    /// CCF's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandKind::Start => "Start",
            CommandKind::Join => "Join",
            CommandKind::Recover => "Recover",
        }
    }

    /// Reads CCF's spelling, case-insensitively (older CCF samples write `"start"`).
    pub fn from_name(text: &str) -> Option<Self> {
        [CommandKind::Start, CommandKind::Join, CommandKind::Recover]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(text))
    }
}

/// `command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandConfig {
    /// `type` (required).
    pub kind: CommandKind,
    /// `service_certificate_file` [`service_cert.pem`]: for `Start` and `Recover`, where the node
    /// writes the (new) service certificate; for `Join`, the certificate of the service to join.
    pub service_certificate_file: PathBuf,
    /// `join_token_file` [`join_token`] (**beyond CCF**, SPEC §2): `Start` and `Recover` write a
    /// fresh join token there (mode 0600); `Join` presents the token it reads there (a missing
    /// file: no token, the node joins `Pending`).
    pub join_token_file: PathBuf,
    /// `start`, present iff `kind` is `Start`.
    pub start: Option<StartConfig>,
    /// `join`, present iff `kind` is `Join`.
    pub join: Option<JoinConfig>,
    /// `recover`, present iff `kind` is `Recover`.
    pub recover: Option<RecoverConfig>,
}

impl CommandConfig {
    pub const DEFAULT_SERVICE_CERTIFICATE_FILE: &str = "service_cert.pem";
    pub const DEFAULT_JOIN_TOKEN_FILE: &str = "join_token";

    /// Reads `command` (required).
    pub(crate) fn read(reader: Option<ObjectReader<'_>>, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let mut r = reader.ok_or_else(|| ConfigError::Missing { key: "command".to_owned() })?;
        let name = r.required_string("type")?;
        let kind = CommandKind::from_name(&name).ok_or_else(|| {
            ConfigError::bad_value(r.key_path("type"), format!("{name:?} is not \"Start\", \"Join\" or \"Recover\""))
        })?;
        let service_certificate_file = PathBuf::from(
            r.path_string("service_certificate_file")?
                .unwrap_or_else(|| Self::DEFAULT_SERVICE_CERTIFICATE_FILE.to_owned()),
        );
        let join_token_file = PathBuf::from(
            r.path_string("join_token_file")?.unwrap_or_else(|| Self::DEFAULT_JOIN_TOKEN_FILE.to_owned()),
        );
        let mut command =
            CommandConfig { kind, service_certificate_file, join_token_file, start: None, join: None, recover: None };
        for section in ["start", "join", "recover"] {
            if section == kind.as_str().to_ascii_lowercase() {
                continue;
            }
            if r.skip(section) {
                warnings.push(format!("{}: ignored because command.type is {}", r.key_path(section), kind.as_str()));
            }
        }
        match kind {
            CommandKind::Start => {
                let start = r.object("start")?.ok_or_else(|| ConfigError::Missing { key: r.key_path("start") })?;
                command.start = Some(StartConfig::read(start, warnings)?);
            }
            CommandKind::Join => command.join = Some(JoinConfig::read(r.object("join")?, warnings)?),
            CommandKind::Recover => command.recover = Some(RecoverConfig::read(r.object("recover")?, warnings)?),
        }
        r.finish(warnings)?;
        Ok(command)
    }

    /// Panics if an invariant in the module documentation does not hold.
    pub fn check_invariants(&self) {
        assert!(!self.service_certificate_file.as_os_str().is_empty());
        assert!(!self.join_token_file.as_os_str().is_empty());
        let present = (self.start.is_some(), self.join.is_some(), self.recover.is_some());
        let expected = match self.kind {
            CommandKind::Start => (true, false, false),
            CommandKind::Join => (false, true, false),
            CommandKind::Recover => (false, false, true),
        };
        assert_eq!(present, expected, "sections present for command.type {}", self.kind.as_str());
        self.start.iter().for_each(StartConfig::check_invariants);
        self.join.iter().for_each(JoinConfig::check_invariants);
        self.recover.iter().for_each(RecoverConfig::check_invariants);
    }

    /// The section as CCF-style JSON.
    pub fn to_json(&self) -> Value {
        let mut out = json!({
            "type": self.kind.as_str(),
            "service_certificate_file": self.service_certificate_file,
            "join_token_file": self.join_token_file,
        });
        if let Some(s) = &self.start {
            out["start"] = s.to_json();
        }
        if let Some(j) = &self.join {
            out["join"] = j.to_json();
        }
        if let Some(r) = &self.recover {
            out["recover"] = r.to_json();
        }
        out
    }
}
