//! [`Action`]: one step of a proposal, parsed and validated from CCF's proposal JSON
//! `{"actions": [{"name": "set_user", "args": {...}}, ...]}` when the proposal is submitted.
//!
//! Validation checks everything that does not depend on the state (names, argument types,
//! certificates and keys parse); a failure is a [`GovError::Validation`] naming the JSON path
//! (`actions[1].args.cert`). State-dependent checks (the node exists, the threshold fits the
//! members) happen when an accepted proposal is applied (`proposal_apply.rs`).
//! Unknown arguments are ignored, as CCF's constitution does. Bounded: at most [`MAX_ACTIONS`]
//! actions per proposal.

use crate::GovError;
use crate::certificate_validity::{CertificateValidity, parse_valid_from};
use crate::cose_request::is_identity_id;
use cairn_crypto::{Certificate, EncryptionPublicKey};
use serde_json::{Map, Value};

/// Most actions one proposal may carry.
pub const MAX_ACTIONS: usize = 64;
/// Largest recovery threshold: Shamir sharing supports at most 255 shares.
pub const MAX_RECOVERY_THRESHOLD: u64 = 255;

/// A validated proposal action (CCF's action names and arguments).
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    SetMember { cert: Certificate, encryption_pub_key: Option<String>, member_data: Option<Value> },
    RemoveMember { member_id: String },
    SetUser { cert: Certificate, user_data: Option<Value> },
    RemoveUser { user_id: String },
    TransitionNodeToTrusted { node_id: String, valid_from: Option<String> },
    RemoveNode { node_id: String },
    SetRecoveryThreshold { recovery_threshold: u64 },
    TriggerLedgerRekey,
    TriggerRecoverySharesRefresh,
    TriggerSnapshot,
    TransitionServiceToOpen { previous_service_identity: Option<Certificate>, next_service_identity: Certificate },
    SetServiceCertificateValidity { validity: CertificateValidity },
    SetNodeCertificateValidity { node_id: String, validity: CertificateValidity },
    SetAllNodesCertificateValidity { validity: CertificateValidity },
}

impl Action {
    /// CCF's name of the action.
    pub fn name(&self) -> &'static str {
        match self {
            Action::SetMember { .. } => "set_member",
            Action::RemoveMember { .. } => "remove_member",
            Action::SetUser { .. } => "set_user",
            Action::RemoveUser { .. } => "remove_user",
            Action::TransitionNodeToTrusted { .. } => "transition_node_to_trusted",
            Action::RemoveNode { .. } => "remove_node",
            Action::SetRecoveryThreshold { .. } => "set_recovery_threshold",
            Action::TriggerLedgerRekey => "trigger_ledger_rekey",
            Action::TriggerRecoverySharesRefresh => "trigger_recovery_shares_refresh",
            Action::TriggerSnapshot => "trigger_snapshot",
            Action::TransitionServiceToOpen { .. } => "transition_service_to_open",
            Action::SetServiceCertificateValidity { .. } => "set_service_certificate_validity",
            Action::SetNodeCertificateValidity { .. } => "set_node_certificate_validity",
            Action::SetAllNodesCertificateValidity { .. } => "set_all_nodes_certificate_validity",
        }
    }
}

/// The arguments of action `index`, with typed getters whose errors name the field path.
struct Args<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl Args<'_> {
    fn field(&self, name: &str) -> String {
        format!("{}.{name}", self.path)
    }

    fn optional(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    fn optional_str(&self, name: &str) -> Result<Option<&str>, GovError> {
        match self.optional(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(GovError::validation(self.field(name), "must be a string")),
        }
    }

    fn required_str(&self, name: &str) -> Result<&str, GovError> {
        self.optional_str(name)?.ok_or_else(|| GovError::validation(self.field(name), "missing"))
    }

    fn required_u64(&self, name: &str) -> Result<u64, GovError> {
        match self.optional(name) {
            None => Err(GovError::validation(self.field(name), "missing")),
            Some(v) => {
                v.as_u64().ok_or_else(|| GovError::validation(self.field(name), "must be a non-negative integer"))
            }
        }
    }

    fn certificate(&self, name: &str, pem: &str) -> Result<Certificate, GovError> {
        Certificate::from_pem(pem).map_err(|e| GovError::validation(self.field(name), e.to_string()))
    }

    fn required_cert(&self, name: &str) -> Result<Certificate, GovError> {
        self.certificate(name, self.required_str(name)?)
    }

    fn optional_cert(&self, name: &str) -> Result<Option<Certificate>, GovError> {
        self.optional_str(name)?.map(|pem| self.certificate(name, pem)).transpose()
    }

    /// `valid_from` (required) and `validity_period_days` (optional, at least 1; the maximum
    /// is checked against the service configuration when proposed and when applied).
    fn validity(&self) -> Result<CertificateValidity, GovError> {
        let valid_from = self.required_str("valid_from")?;
        let valid_from_unix_s =
            parse_valid_from(valid_from).map_err(|e| GovError::validation(self.field("valid_from"), e))?;
        let validity_period_days = match self.optional("validity_period_days") {
            None => None,
            Some(v) => match v.as_u64() {
                Some(days) if days >= 1 => Some(days),
                _ => {
                    return Err(GovError::validation(
                        self.field("validity_period_days"),
                        "must be a whole number of days, at least 1",
                    ));
                }
            },
        };
        Ok(CertificateValidity { valid_from_unix_s, validity_period_days })
    }

    /// A member, user or node id: 64 lowercase hex digits.
    fn required_id(&self, name: &str) -> Result<String, GovError> {
        let id = self.required_str(name)?;
        if !is_identity_id(id) {
            return Err(GovError::validation(self.field(name), "must be 64 lowercase hex digits"));
        }
        Ok(id.to_string())
    }
}

fn parse_action(index: usize, value: &Value) -> Result<Action, GovError> {
    let path = format!("actions[{index}]");
    let object = value.as_object().ok_or_else(|| GovError::validation(&path, "must be an object"))?;
    let name = match object.get("name") {
        Some(Value::String(name)) => name.as_str(),
        Some(_) => return Err(GovError::validation(format!("{path}.name"), "must be a string")),
        None => return Err(GovError::validation(format!("{path}.name"), "missing")),
    };
    let empty = Map::new();
    let map = match object.get("args") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(map)) => map,
        Some(_) => return Err(GovError::validation(format!("{path}.args"), "must be an object")),
    };
    let args = Args { map, path: format!("{path}.args") };
    let action = match name {
        "set_member" => {
            let cert = args.required_cert("cert")?;
            let encryption_pub_key = args.optional_str("encryption_pub_key")?.map(str::to_string);
            if let Some(pem) = &encryption_pub_key {
                EncryptionPublicKey::from_pem(pem)
                    .map_err(|e| GovError::validation(args.field("encryption_pub_key"), e.to_string()))?;
            }
            Action::SetMember { cert, encryption_pub_key, member_data: args.optional("member_data").cloned() }
        }
        "remove_member" => Action::RemoveMember { member_id: args.required_id("member_id")? },
        "set_user" => {
            Action::SetUser { cert: args.required_cert("cert")?, user_data: args.optional("user_data").cloned() }
        }
        "remove_user" => Action::RemoveUser { user_id: args.required_id("user_id")? },
        "transition_node_to_trusted" => Action::TransitionNodeToTrusted {
            node_id: args.required_id("node_id")?,
            valid_from: args.optional_str("valid_from")?.map(str::to_string),
        },
        "remove_node" => Action::RemoveNode { node_id: args.required_id("node_id")? },
        "set_recovery_threshold" => {
            let recovery_threshold = args.required_u64("recovery_threshold")?;
            if !(1..=MAX_RECOVERY_THRESHOLD).contains(&recovery_threshold) {
                return Err(GovError::validation(
                    args.field("recovery_threshold"),
                    format!("must be between 1 and {MAX_RECOVERY_THRESHOLD}"),
                ));
            }
            Action::SetRecoveryThreshold { recovery_threshold }
        }
        "trigger_ledger_rekey" => Action::TriggerLedgerRekey,
        "trigger_recovery_shares_refresh" => Action::TriggerRecoverySharesRefresh,
        "trigger_snapshot" => Action::TriggerSnapshot,
        "transition_service_to_open" => Action::TransitionServiceToOpen {
            previous_service_identity: args.optional_cert("previous_service_identity")?,
            next_service_identity: args.required_cert("next_service_identity")?,
        },
        "set_service_certificate_validity" => Action::SetServiceCertificateValidity { validity: args.validity()? },
        "set_node_certificate_validity" => {
            Action::SetNodeCertificateValidity { node_id: args.required_id("node_id")?, validity: args.validity()? }
        }
        "set_all_nodes_certificate_validity" => Action::SetAllNodesCertificateValidity { validity: args.validity()? },
        other => return Err(GovError::validation(format!("{path}.name"), format!("unknown action {other:?}"))),
    };
    Ok(action)
}

/// Parses and validates a proposal body.
pub fn parse_proposal(payload: &[u8]) -> Result<Vec<Action>, GovError> {
    let body: Value =
        serde_json::from_slice(payload).map_err(|e| GovError::validation("body", format!("not JSON: {e}")))?;
    let actions = match body.get("actions") {
        Some(Value::Array(actions)) => actions,
        Some(_) => return Err(GovError::validation("actions", "must be an array")),
        None => return Err(GovError::validation("actions", "missing")),
    };
    if actions.is_empty() {
        return Err(GovError::validation("actions", "must not be empty"));
    }
    if actions.len() > MAX_ACTIONS {
        return Err(GovError::validation("actions", format!("{} actions; at most {MAX_ACTIONS}", actions.len())));
    }
    actions.iter().enumerate().map(|(i, a)| parse_action(i, a)).collect()
}
