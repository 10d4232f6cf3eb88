//! `node_certificate`: what goes into the node's identity certificate. [`NodeCertificateSection`].
//!
//! Invariants (`check_invariants`): the subject name is non-empty; every subject alternative name
//! is `iPAddress:<ip>` or `dNSName:<name>` (CCF's spelling); `initial_validity_days > 0`. The key
//! curve is always P-384 (`curve_id` may only say `Secp384R1`).
use crate::config_error::ConfigError;
use crate::json_reader::ObjectReader;
use serde_json::{Value, json};
use std::net::IpAddr;

/// `node_certificate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeCertificateSection {
    /// `subject_name` [`CN=CCF Node`].
    pub subject_name: String,
    /// `subject_alt_names` [[]]: `iPAddress:...` / `dNSName:...`; when empty, CCF names the
    /// published address of the first RPC interface, and so should the node.
    pub subject_alt_names: Vec<String>,
    /// `initial_validity_days` [1].
    pub initial_validity_days: u64,
}

impl Default for NodeCertificateSection {
    fn default() -> Self {
        NodeCertificateSection {
            subject_name: Self::DEFAULT_SUBJECT_NAME.to_owned(),
            subject_alt_names: Vec::new(),
            initial_validity_days: 1,
        }
    }
}

/// `Ok(())` if `san` is `iPAddress:<ip>` or `dNSName:<name>`.
fn check_subject_alt_name(san: &str) -> Result<(), String> {
    if let Some(ip) = san.strip_prefix("iPAddress:") {
        return ip.parse::<IpAddr>().map(|_| ()).map_err(|_| format!("{ip:?} is not an IP address"));
    }
    if let Some(name) = san.strip_prefix("dNSName:") {
        let ok =
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '*' | '_'));
        return if ok { Ok(()) } else { Err(format!("{name:?} is not a DNS name")) };
    }
    Err(format!("{san:?} must start with \"iPAddress:\" or \"dNSName:\""))
}

impl NodeCertificateSection {
    pub const DEFAULT_SUBJECT_NAME: &str = "CN=CCF Node";

    /// Reads `node_certificate` (optional: every key has a default).
    pub(crate) fn read(reader: Option<ObjectReader<'_>>, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let mut section = NodeCertificateSection::default();
        let Some(mut r) = reader else { return Ok(section) };
        if let Some(name) = r.string("subject_name")? {
            if !name.contains('=') {
                return Err(ConfigError::bad_value(
                    r.key_path("subject_name"),
                    format!("{name:?} is not a distinguished name such as \"CN=CCF Node\""),
                ));
            }
            section.subject_name = name;
        }
        let sans_key = r.key_path("subject_alt_names");
        for (i, san) in r.string_array("subject_alt_names")?.unwrap_or_default().into_iter().enumerate() {
            check_subject_alt_name(&san)
                .map_err(|reason| ConfigError::bad_value(format!("{sans_key}[{i}]"), reason))?;
            section.subject_alt_names.push(san);
        }
        let curve = r.string("curve_id")?;
        if let Some(curve) = curve.filter(|c| !c.eq_ignore_ascii_case("Secp384R1")) {
            return Err(ConfigError::bad_value(
                r.key_path("curve_id"),
                format!("{curve:?} is not supported: Cairn node identities are P-384 (\"Secp384R1\")"),
            ));
        }
        if let Some(days) = r.positive_u64("initial_validity_days")? {
            section.initial_validity_days = days;
        }
        r.finish(warnings)?;
        Ok(section)
    }

    /// Panics if an invariant in the module documentation does not hold.
    pub fn check_invariants(&self) {
        assert!(self.subject_name.contains('='));
        for san in &self.subject_alt_names {
            check_subject_alt_name(san).expect("subject alternative name");
        }
        assert!(self.initial_validity_days > 0);
    }

    /// The section as CCF-style JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "subject_name": self.subject_name,
            "subject_alt_names": self.subject_alt_names,
            "curve_id": "Secp384R1",
            "initial_validity_days": self.initial_validity_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_alt_names_use_ccf_spelling() {
        let table = [
            ("iPAddress:127.0.0.1", true),
            ("iPAddress:::1", true),
            ("dNSName:ccf.dummy.com", true),
            ("dNSName:*.example.com", true),
            ("iPAddress:ccf.dummy.com", false),
            ("dNSName:", false),
            ("DNS:ccf.dummy.com", false),
            ("127.0.0.1", false),
        ];
        for (san, ok) in table {
            assert_eq!(check_subject_alt_name(san).is_ok(), ok, "{san}");
        }
    }
}
