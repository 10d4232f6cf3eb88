//! CCF's service table names and the JSON values Cairn reads and writes in them.
//! Keys are raw bytes: node and member ids are ASCII hex; singleton tables use 8 zero bytes.
use serde::{Deserialize, Serialize};

pub const SIGNATURES: &str = "public:ccf.internal.signatures";
pub const TREE: &str = "public:ccf.internal.tree";
pub const SERVICE_INFO: &str = "public:ccf.gov.service.info";
pub const NODES_INFO: &str = "public:ccf.gov.nodes.info";
pub const ENDORSED_CERTIFICATES: &str = "public:ccf.gov.nodes.endorsed_certificates";
pub const MEMBERS_CERTS: &str = "public:ccf.gov.members.certs";
pub const MEMBERS_ENCRYPTION_KEYS: &str = "public:ccf.gov.members.encryption_public_keys";
pub const USERS_CERTS: &str = "public:ccf.gov.users.certs";
pub const PROPOSALS: &str = "public:ccf.gov.proposals";
pub const RECOVERY_SHARES: &str = "public:ccf.internal.recovery_shares";
pub const HISTORICAL_ENCRYPTED_LEDGER_SECRET: &str = "public:ccf.internal.historical_encrypted_ledger_secret";
pub const PREVIOUS_SERVICE_IDENTITY: &str = "public:ccf.gov.service.previous_service_identity";
pub const SNAPSHOT_EVIDENCE: &str = "public:ccf.internal.snapshot_evidence";
pub const MEMBERS_INFO: &str = "public:ccf.gov.members.info";
pub const USERS_INFO: &str = "public:ccf.gov.users.info";
pub const PROPOSALS_INFO: &str = "public:ccf.gov.proposals_info";
pub const SERVICE_CONFIG: &str = "public:ccf.gov.service.config";
pub const COSE_RECENT_PROPOSALS: &str = "public:ccf.gov.cose_recent_proposals";
/// Recovery shares members submitted while a recovered service waits for them (member id →
/// the 44-byte share sealed under the recovering service's current ledger secret), CCF's table:
/// a committed submission survives a change of primary.
pub const ENCRYPTED_SUBMITTED_SHARES: &str = "public:ccf.internal.encrypted_submitted_shares";
/// Written once, by the transaction that opens a recovered service: the previous service's
/// ledger-secret chain (`LedgerSecretChain` JSON) as the shares restored it. A private table,
/// so the ledger holds it encrypted under the new service's secret; every node that applies the
/// transaction restores the private state of the old entries with it.
pub const RECOVERED_LEDGER_SECRETS: &str = "cairn.internal.recovered_ledger_secrets";
/// Written by a ledger rekey, CCF's table: node id → `{"version": <first seqno of the new
/// secret>, "encrypted_ledger_secret": <base64 RSA-OAEP-SHA256 of it to the node's
/// `encryption_pub_key`>}`, one row per other node of the configuration. Each backup opens its
/// own row when it applies the rekey transaction, before the entries the new secret encrypts.
pub const ENCRYPTED_LEDGER_SECRETS: &str = "public:ccf.internal.encrypted_ledger_secrets";

/// Tables whose rows the verifier must follow to check signatures.
pub const VERIFIER_TABLES: [&str; 4] = [SIGNATURES, SERVICE_INFO, NODES_INFO, ENDORSED_CERTIFICATES];

/// The key of singleton tables.
pub const SINGLETON_KEY: [u8; 8] = [0; 8];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceStatus {
    Opening,
    Open,
    Recovering,
    WaitingForRecoveryShares,
}

impl ServiceStatus {
    /// The transitions CCF's ledger validator accepts (`None` = no status seen yet).
    pub fn transition_allowed(from: Option<ServiceStatus>, to: ServiceStatus) -> bool {
        use ServiceStatus::*;
        match (from, to) {
            (_, Opening) | (None, _) => true,
            (Some(a), b) if a == b => true,
            (Some(Opening), Open | WaitingForRecoveryShares) => true,
            (Some(Recovering), WaitingForRecoveryShares) => true,
            (Some(WaitingForRecoveryShares), Open) => true,
            (Some(Open), Recovering) => true,
            _ => false,
        }
    }
}

/// `public:ccf.gov.service.info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInfo {
    pub cert: String,
    pub status: ServiceStatus,
    #[serde(default)]
    pub recovery_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_service_identity_version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_txid: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeStatus {
    Pending,
    Trusted,
    Retired,
}

/// `public:ccf.gov.nodes.info`. No `cert` field: certificates live in the endorsed table
/// (CCF 2.x+), and CCF's validator refuses a node with both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub status: NodeStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc_address: Option<String>,
    #[serde(default)]
    pub ledger_secret_seqno: u64,
    #[serde(default)]
    pub retired_committed: bool,
    /// The node's RSA encryption public key (PEM), CCF's `encryption_pub_key`: a ledger rekey
    /// seals the new secret to it (`ENCRYPTED_LEDGER_SECRETS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_pub_key: Option<String>,
}

/// Value of an endorsed-certificate row: PEM followed by a NUL byte, as CCF stores it.
pub fn endorsed_certificate_value(pem: &str) -> Vec<u8> {
    let mut v = pem.as_bytes().to_vec();
    v.push(0);
    v
}

/// The PEM text of an endorsed-certificate row (NUL and trailing bytes dropped).
pub fn endorsed_certificate_pem(value: &[u8]) -> String {
    let end = value.iter().position(|b| *b == 0).unwrap_or(value.len());
    String::from_utf8_lossy(&value[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ServiceStatus::*;

    #[test]
    fn service_status_transitions_follow_ccf_validator() {
        let table = [
            (None, Open, true),
            (Some(Opening), Open, true),
            (Some(Opening), WaitingForRecoveryShares, true),
            (Some(Opening), Recovering, false),
            (Some(Recovering), WaitingForRecoveryShares, true),
            (Some(Recovering), Open, false),
            (Some(WaitingForRecoveryShares), Open, true),
            (Some(Open), Recovering, true),
            (Some(Open), WaitingForRecoveryShares, false),
            (Some(Open), Opening, true),
            (Some(Open), Open, true),
        ];
        for (from, to, ok) in table {
            assert_eq!(ServiceStatus::transition_allowed(from, to), ok, "{from:?} -> {to:?}");
        }
    }

    #[test]
    fn service_info_json_uses_ccf_field_names() {
        let info = ServiceInfo {
            cert: "PEM".into(),
            status: Open,
            recovery_count: 1,
            previous_service_identity_version: None,
            create_txid: Some("2.1".into()),
        };
        let json = serde_json::to_string(&info).unwrap();
        assert_eq!(json, r#"{"cert":"PEM","status":"Open","recovery_count":1,"create_txid":"2.1"}"#);
        assert_eq!(endorsed_certificate_pem(&endorsed_certificate_value("abc")), "abc");
    }
}
