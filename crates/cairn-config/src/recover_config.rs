//! `command.recover`: the service a `Recover` node resurrects. [`RecoverConfig`].
//!
//! Invariants (`check_invariants`): `initial_service_certificate_validity_days ≥ 1`; the previous
//! identity path is non-empty.
use crate::config_error::ConfigError;
use crate::json_reader::ObjectReader;
use serde_json::{Value, json};
use std::path::PathBuf;

/// `command.recover`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoverConfig {
    /// `initial_service_certificate_validity_days` [1]: validity of the new service certificate.
    pub initial_service_certificate_validity_days: u64,
    /// `previous_service_identity_file`: the certificate (PEM) of the service being recovered
    /// (required).
    pub previous_service_identity_file: PathBuf,
}

impl RecoverConfig {
    /// Reads `command.recover` (required for `Recover`).
    pub(crate) fn read(reader: Option<ObjectReader<'_>>, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let mut r = reader
            .ok_or_else(|| ConfigError::Missing { key: "command.recover.previous_service_identity_file".to_owned() })?;
        let initial_service_certificate_validity_days =
            r.positive_u64("initial_service_certificate_validity_days")?.unwrap_or(1);
        let previous = r
            .path_string("previous_service_identity_file")?
            .ok_or_else(|| ConfigError::Missing { key: r.key_path("previous_service_identity_file") })?;
        r.finish(warnings)?;
        Ok(RecoverConfig {
            initial_service_certificate_validity_days,
            previous_service_identity_file: PathBuf::from(previous),
        })
    }

    /// Panics if an invariant in the module documentation does not hold.
    pub fn check_invariants(&self) {
        assert!(self.initial_service_certificate_validity_days >= 1);
        assert!(!self.previous_service_identity_file.as_os_str().is_empty());
    }

    /// The section as CCF-style JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "initial_service_certificate_validity_days": self.initial_service_certificate_validity_days,
            "previous_service_identity_file": self.previous_service_identity_file,
        })
    }
}
