//! Applying an accepted proposal's actions, in order, to a transaction — the built-in
//! constitution's `apply`.
//!
//! The caller applies to a copy of the transaction and keeps the copy only if every action and
//! the final checks succeed, so a failed proposal leaves no action write behind. Final checks,
//! after all actions:
//! - `1 ≤ recovery_threshold ≤ recovery members` (Active members with an encryption key);
//! - if an action changed the members or the threshold, or asked for a refresh, and the service
//!   is Open at the end, fresh recovery shares are issued in the same transaction
//!   (`transition_service_to_open` from Opening counts as such an action).

use crate::action::Action;
use crate::certificate_validity::CertificateKind;
use crate::cose_request::identity_id;
use crate::kv_read::{KvRead, read_json, write_json};
use crate::member::{put_member, recovery_members, remove_member};
use crate::recovery_shares::issue_recovery_shares;
use crate::service_config::ServiceConfig;
use crate::service_state::{previous_service_identity, service_info, service_status, write_service_info};
use crate::{Effect, GovContext, GovError, InitialMember};
use cairn_crypto::Certificate;
use cairn_kv::Tx;
use cairn_ledger::tables::{NODES_INFO, NodeInfo, NodeStatus, ServiceStatus, USERS_CERTS, USERS_INFO};
use serde_json::json;

/// What applying the actions so far requires at the end.
#[derive(Default)]
struct Pending {
    effects: Vec<Effect>,
    reissue_shares: bool,
}

/// Applies `actions` to `tx`; on error returns the failure reason (naming the action).
pub(crate) fn apply_actions(tx: &mut Tx, actions: &[Action], ctx: &mut GovContext<'_>) -> Result<Vec<Effect>, String> {
    let mut pending = Pending::default();
    for (i, action) in actions.iter().enumerate() {
        apply_one(tx, action, &mut pending).map_err(|e| format!("actions[{i}] ({}): {e}", action.name()))?;
    }
    finish(tx, pending, ctx).map_err(|e| e.to_string())
}

fn finish(tx: &mut Tx, mut pending: Pending, ctx: &mut GovContext<'_>) -> Result<Vec<Effect>, GovError> {
    let k = ServiceConfig::read_required(tx)?.recovery_threshold;
    let n = recovery_members(tx)?.len() as u64;
    if k == 0 || k > n {
        return Err(GovError::InvalidConfiguration(format!(
            "recovery threshold {k} must be between 1 and the number of recovery members \
             (Active members with an encryption key), {n}"
        )));
    }
    if pending.reissue_shares && service_status(tx)? == Some(ServiceStatus::Open) {
        issue_recovery_shares(tx, ctx.ledger_secrets, &mut *ctx.fill_random)?;
        pending.effects.push(Effect::RecoverySharesIssued);
    }
    Ok(pending.effects)
}

fn apply_one(tx: &mut Tx, action: &Action, pending: &mut Pending) -> Result<(), GovError> {
    match action {
        Action::SetMember { cert, encryption_pub_key, member_data } => {
            let member = InitialMember {
                cert_pem: cert.pem().to_string(),
                encryption_public_key_pem: encryption_pub_key.clone(),
                member_data: member_data.clone(),
            };
            put_member(tx, &member)?;
            pending.reissue_shares = true;
        }
        Action::RemoveMember { member_id } => {
            pending.reissue_shares |= remove_member(tx, member_id)?;
        }
        Action::SetUser { cert, user_data } => {
            let id = identity_id(cert);
            tx.put(USERS_CERTS, id.as_bytes(), cert.pem().as_bytes());
            match user_data {
                Some(data) => write_json(tx, USERS_INFO, id.as_bytes(), &json!({ "user_data": data })),
                None => tx.remove(USERS_INFO, id.as_bytes()),
            }
        }
        Action::RemoveUser { user_id } => {
            tx.remove(USERS_CERTS, user_id.as_bytes());
            tx.remove(USERS_INFO, user_id.as_bytes());
        }
        Action::TransitionNodeToTrusted { node_id, valid_from } => {
            let mut info: NodeInfo = read_json(tx, NODES_INFO, node_id.as_bytes())?
                .ok_or_else(|| GovError::InvalidInput(format!("node {node_id} is not known")))?;
            match info.status {
                NodeStatus::Retired => return Err(GovError::InvalidInput(format!("node {node_id} is retired"))),
                NodeStatus::Trusted => {}
                NodeStatus::Pending => {
                    info.status = NodeStatus::Trusted;
                    write_json(tx, NODES_INFO, node_id.as_bytes(), &info);
                }
            }
            pending.effects.push(Effect::NodeTrusted { node_id: node_id.clone(), valid_from: valid_from.clone() });
        }
        Action::RemoveNode { node_id } => {
            if let Some(mut info) = read_json::<NodeInfo>(tx, NODES_INFO, node_id.as_bytes())? {
                info.status = NodeStatus::Retired;
                write_json(tx, NODES_INFO, node_id.as_bytes(), &info);
                pending.effects.push(Effect::NodeRetired { node_id: node_id.clone() });
            }
        }
        Action::SetRecoveryThreshold { recovery_threshold } => {
            let mut config = ServiceConfig::read_required(tx)?;
            config.recovery_threshold = *recovery_threshold;
            config.write(tx);
            pending.reissue_shares = true;
        }
        Action::TriggerLedgerRekey => pending.effects.push(Effect::TriggerLedgerRekey),
        Action::TriggerSnapshot => pending.effects.push(Effect::TriggerSnapshot),
        Action::TriggerRecoverySharesRefresh => pending.reissue_shares = true,
        Action::TransitionServiceToOpen { previous_service_identity: previous, next_service_identity: next } => {
            open_service(tx, previous.as_ref(), next, pending)?;
        }
        Action::SetServiceCertificateValidity { validity } => {
            let days = validity.days(CertificateKind::Service, &ServiceConfig::read_required(tx)?)?;
            let valid_from_unix_s = validity.valid_from_unix_s;
            pending.effects.push(Effect::RenewServiceCertificate { valid_from_unix_s, days });
        }
        Action::SetNodeCertificateValidity { node_id, validity } => {
            let days = validity.days(CertificateKind::Node, &ServiceConfig::read_required(tx)?)?;
            trusted_node(tx, node_id)?;
            let (node_ids, valid_from_unix_s) = (Some(vec![node_id.clone()]), validity.valid_from_unix_s);
            pending.effects.push(Effect::RenewNodeCertificates { node_ids, valid_from_unix_s, days });
        }
        Action::SetAllNodesCertificateValidity { validity } => {
            let days = validity.days(CertificateKind::Node, &ServiceConfig::read_required(tx)?)?;
            let node_ids = None;
            let valid_from_unix_s = validity.valid_from_unix_s;
            pending.effects.push(Effect::RenewNodeCertificates { node_ids, valid_from_unix_s, days });
        }
    }
    Ok(())
}

/// The checks of `actions` that depend on the state, made when the proposal is submitted (and
/// again when it applies): a renewal's period within the configured maximum, its node Trusted.
/// A failure is a validation error naming the action.
pub(crate) fn check_proposable(tx: &mut Tx, actions: &[Action]) -> Result<(), GovError> {
    for (i, action) in actions.iter().enumerate() {
        let checked = match action {
            Action::SetServiceCertificateValidity { validity } => {
                validity.days(CertificateKind::Service, &ServiceConfig::read_required(tx)?).map(drop)
            }
            Action::SetNodeCertificateValidity { node_id, validity } => validity
                .days(CertificateKind::Node, &ServiceConfig::read_required(tx)?)
                .and_then(|_| trusted_node(tx, node_id)),
            Action::SetAllNodesCertificateValidity { validity } => {
                validity.days(CertificateKind::Node, &ServiceConfig::read_required(tx)?).map(drop)
            }
            _ => Ok(()),
        };
        checked.map_err(|e| GovError::validation(format!("actions[{i}].args"), e.to_string()))?;
    }
    Ok(())
}

/// Checks that `node_id` is a Trusted node (a renewal endorses only those).
pub(crate) fn trusted_node(src: &mut impl KvRead, node_id: &str) -> Result<(), GovError> {
    let info: NodeInfo = read_json(src, NODES_INFO, node_id.as_bytes())?
        .ok_or_else(|| GovError::InvalidInput(format!("node {node_id} is not known")))?;
    match info.status {
        NodeStatus::Trusted => Ok(()),
        status => Err(GovError::InvalidInput(format!("node {node_id} is {status:?}, not Trusted"))),
    }
}

fn open_service(
    tx: &mut Tx,
    previous: Option<&Certificate>,
    next: &Certificate,
    pending: &mut Pending,
) -> Result<(), GovError> {
    let mut info =
        service_info(tx)?.ok_or_else(|| GovError::InvalidInput("the service has no service info row yet".into()))?;
    let current =
        Certificate::from_pem(&info.cert).map_err(|e| GovError::InvalidInput(format!("service cert: {e}")))?;
    // Identities are keys: a renewed certificate (same key, new dates) names the same service.
    if !current.same_key(next) {
        return Err(GovError::InvalidInput("next_service_identity is not this service's certificate".into()));
    }
    match info.status {
        ServiceStatus::Opening => {
            info.status = ServiceStatus::Open;
            pending.reissue_shares = true;
            pending.effects.push(Effect::ServiceOpened);
        }
        ServiceStatus::Recovering => {
            let previous = previous.ok_or_else(|| {
                GovError::InvalidInput("previous_service_identity is required to open a recovered service".into())
            })?;
            let recorded = previous_service_identity(tx)?.ok_or_else(|| {
                GovError::InvalidInput("no previous service identity is recorded for this recovery".into())
            })?;
            if !recorded.same_key(previous) {
                return Err(GovError::InvalidInput(
                    "previous_service_identity is not the identity recorded by the recovery".into(),
                ));
            }
            info.status = ServiceStatus::WaitingForRecoveryShares;
            pending.effects.push(Effect::AwaitingRecoveryShares);
        }
        status @ (ServiceStatus::Open | ServiceStatus::WaitingForRecoveryShares) => {
            return Err(GovError::InvalidInput(format!("the service is already {status:?}")));
        }
    }
    write_service_info(tx, &info);
    Ok(())
}
