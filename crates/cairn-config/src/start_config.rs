//! `command.start`: the service a `Start` node creates. [`StartConfig`] and [`MemberConfig`].
//!
//! Invariants (`check_invariants`): at least one member; no two members share a certificate file;
//! `recovery_threshold ≥ 1` and, when some members can recover (have an encryption key), at most
//! their number; `initial_service_certificate_validity_days ≥ 1`.
use crate::config_error::ConfigError;
use crate::json_reader::ObjectReader;
use serde_json::{Value, json};
use std::path::PathBuf;

/// One entry of `command.start.members`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberConfig {
    /// `certificate_file`: the member's identity certificate (PEM; required).
    pub certificate_file: PathBuf,
    /// `encryption_public_key_file`: the member's RSA public key (PEM); a member with one is a
    /// recovery member and receives a recovery share.
    pub encryption_public_key_file: Option<PathBuf>,
    /// `data_json_file`: JSON recorded with the member.
    pub data_json_file: Option<PathBuf>,
}

impl MemberConfig {
    /// A member with a certificate and nothing else.
    pub fn new(certificate_file: impl Into<PathBuf>) -> Self {
        MemberConfig {
            certificate_file: certificate_file.into(),
            encryption_public_key_file: None,
            data_json_file: None,
        }
    }

    fn read(mut r: ObjectReader<'_>, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let certificate_file = r
            .path_string("certificate_file")?
            .ok_or_else(|| ConfigError::Missing { key: r.key_path("certificate_file") })?;
        let member = MemberConfig {
            certificate_file: PathBuf::from(certificate_file),
            encryption_public_key_file: r.nullable_path_string("encryption_public_key_file")?.map(PathBuf::from),
            data_json_file: r.nullable_path_string("data_json_file")?.map(PathBuf::from),
        };
        r.finish(warnings)?;
        Ok(member)
    }

    fn to_json(&self) -> Value {
        json!({
            "certificate_file": self.certificate_file,
            "encryption_public_key_file": self.encryption_public_key_file,
            "data_json_file": self.data_json_file,
        })
    }
}

/// `command.start`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartConfig {
    /// `members`: the initial consortium (at least one).
    pub members: Vec<MemberConfig>,
    /// `service_configuration.recovery_threshold` [1]: shares needed to recover the service.
    pub recovery_threshold: u64,
    /// `initial_service_certificate_validity_days` [1].
    pub initial_service_certificate_validity_days: u64,
    /// `service_configuration.maximum_service_certificate_validity_days` [365]: the longest
    /// validity a `set_service_certificate_validity` proposal may give.
    pub maximum_service_certificate_validity_days: u64,
    /// `service_configuration.maximum_node_certificate_validity_days` [365].
    pub maximum_node_certificate_validity_days: u64,
}

impl StartConfig {
    /// Members with an encryption public key: the ones who receive recovery shares.
    pub fn recovery_member_count(&self) -> usize {
        self.members.iter().filter(|m| m.encryption_public_key_file.is_some()).count()
    }

    /// Reads `command.start` (required for `Start`).
    pub(crate) fn read(mut r: ObjectReader<'_>, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let members_key = r.key_path("members");
        let entries = r.object_array("members")?.ok_or_else(|| ConfigError::Missing { key: members_key.clone() })?;
        if entries.is_empty() {
            return Err(ConfigError::bad_value(members_key, "at least one member is required"));
        }
        let mut members: Vec<MemberConfig> = Vec::with_capacity(entries.len());
        for (i, entry) in entries.into_iter().enumerate() {
            let member = MemberConfig::read(entry, warnings)?;
            if let Some(j) = members.iter().position(|m| m.certificate_file == member.certificate_file) {
                return Err(ConfigError::bad_value(
                    format!("{members_key}[{i}].certificate_file"),
                    format!(
                        "{:?} is already the certificate of members[{j}]",
                        member.certificate_file.display().to_string()
                    ),
                ));
            }
            members.push(member);
        }

        let mut recovery_threshold = 1;
        let (mut maximum_service_certificate_validity_days, mut maximum_node_certificate_validity_days) = (365, 365);
        let mut threshold_key = format!("{}.recovery_threshold", r.key_path("service_configuration"));
        if let Some(mut sc) = r.object("service_configuration")? {
            threshold_key = sc.key_path("recovery_threshold");
            if let Some(t) = sc.positive_u64("recovery_threshold")? {
                recovery_threshold = t;
            }
            if let Some(days) = sc.positive_u64("maximum_service_certificate_validity_days")? {
                maximum_service_certificate_validity_days = days;
            }
            if let Some(days) = sc.positive_u64("maximum_node_certificate_validity_days")? {
                maximum_node_certificate_validity_days = days;
            }
            sc.finish(warnings)?;
        }
        let initial_service_certificate_validity_days =
            r.positive_u64("initial_service_certificate_validity_days")?.unwrap_or(1);
        let start = StartConfig {
            members,
            recovery_threshold,
            initial_service_certificate_validity_days,
            maximum_service_certificate_validity_days,
            maximum_node_certificate_validity_days,
        };

        let recovery_members = start.recovery_member_count() as u64;
        if recovery_members == 0 {
            // Governance refuses a service nobody could recover (recovery shares need at least
            // one member with an encryption key); refuse it here, naming the key.
            return Err(ConfigError::bad_value(
                members_key,
                "no member has an encryption_public_key_file: at least one recovery member is needed to hold recovery shares".to_string(),
            ));
        } else if recovery_threshold > recovery_members {
            return Err(ConfigError::bad_value(
                threshold_key,
                format!(
                    "{recovery_threshold} is more than the {recovery_members} recovery member(s) (members with an encryption_public_key_file)"
                ),
            ));
        }
        r.finish(warnings)?;
        Ok(start)
    }

    /// Panics if an invariant in the module documentation does not hold.
    pub fn check_invariants(&self) {
        assert!(!self.members.is_empty());
        for (i, m) in self.members.iter().enumerate() {
            assert!(
                !self.members[..i].iter().any(|o| o.certificate_file == m.certificate_file),
                "members[{i}] repeated"
            );
        }
        let recovery_members = self.recovery_member_count() as u64;
        assert!(self.recovery_threshold >= 1);
        assert!(recovery_members == 0 || self.recovery_threshold <= recovery_members);
        assert!(self.initial_service_certificate_validity_days >= 1);
    }

    /// The section as CCF-style JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "members": self.members.iter().map(MemberConfig::to_json).collect::<Vec<_>>(),
            "service_configuration": {"recovery_threshold": self.recovery_threshold},
            "initial_service_certificate_validity_days": self.initial_service_certificate_validity_days,
        })
    }
}
