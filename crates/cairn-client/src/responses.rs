//! The JSON shapes the node answers with (SPEC §6, CCF names), as the client reads them.
//! Fields the client does not interpret are kept in `extra` so a caller can print them; unknown
//! fields never make a response fail to decode.
use serde::{Deserialize, Serialize};

/// The status of a transaction id (`GET /node/tx`), CCF's four values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxStatus {
    Unknown,
    Pending,
    Committed,
    Invalid,
}

/// `GET /node/state`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeStateInfo {
    pub node_id: String,
    pub state: String,
    pub last_signed_seqno: u64,
    pub startup_seqno: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_target_seqno: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_recovered_seqno: Option<u64>,
    /// Beyond CCF: `{phase, seqno, target_seqno, bytes_read, bytes_total, rate_bytes_per_s, eta_s}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_progress: Option<serde_json::Value>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `GET /node/network`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkInfo {
    pub service_status: String,
    pub service_certificate: String,
    pub current_view: u64,
    #[serde(default)]
    pub primary_id: Option<String>,
    pub recovery_count: u64,
    #[serde(default)]
    pub current_service_create_txid: Option<String>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A proposal as the governance endpoints report it (create, ballot, withdraw, get, list).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProposalInfo {
    pub proposal_id: String,
    #[serde(default)]
    pub proposer_id: Option<String>,
    pub proposal_state: String,
    #[serde(default)]
    pub ballot_count: Option<u64>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `POST /gov/recovery/members/{member_id}:recover`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoverySubmission {
    pub message: String,
    pub submitted_count: u64,
    pub recovery_threshold: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_decode_from_ccf_shaped_json_and_keep_unknown_fields() {
        let p: ProposalInfo = serde_json::from_str(
            r#"{"proposalId":"ab12","proposerId":"m0","proposalState":"Open","ballotCount":1,"finalVotes":{}}"#,
        )
        .unwrap();
        assert_eq!((p.proposal_id.as_str(), p.proposal_state.as_str(), p.ballot_count), ("ab12", "Open", Some(1)));
        assert!(p.extra.contains_key("finalVotes"));

        let n: NetworkInfo = serde_json::from_str(
            r#"{"service_status":"Open","service_certificate":"PEM","current_view":4,"primary_id":null,
                "recovery_count":1,"current_service_create_txid":"4.20"}"#,
        )
        .unwrap();
        assert_eq!((n.current_view, n.primary_id, n.recovery_count), (4, None, 1));

        let s: NodeStateInfo = serde_json::from_str(
            r#"{"node_id":"n1","state":"ReadingPublicLedger","last_signed_seqno":10,"startup_seqno":3,
                "recovery_progress":{"phase":"public","seqno":5}}"#,
        )
        .unwrap();
        assert_eq!(s.recovery_progress.unwrap()["seqno"], 5);

        let statuses: Vec<TxStatus> = serde_json::from_str(r#"["Unknown","Pending","Committed","Invalid"]"#).unwrap();
        assert_eq!(statuses, [TxStatus::Unknown, TxStatus::Pending, TxStatus::Committed, TxStatus::Invalid]);
    }
}
