//! Proposal state, in two JSON forms:
//! - [`ProposalRecord`], the value of `public:ccf.gov.proposals_info` (CCF's field names:
//!   `{proposer_id, state, ballots: {member: "approve"|"reject"}, final_votes?, failure?}`);
//! - [`ProposalInfo`], what `/gov/members/proposals/{id}` answers (CCF's API names:
//!   `{proposalId, proposerId, proposalState, ballotCount, finalVotes?, failure?}`).
//!
//! Invariant: `final_votes` is set exactly when a tally closed the proposal (Accepted, Rejected,
//! Failed); `failure` is set exactly when it is Failed.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// CCF's proposal states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProposalState {
    Open,
    Accepted,
    Withdrawn,
    Rejected,
    Failed,
    Dropped,
}

impl fmt::Display for ProposalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A member's vote. CCF stores a JavaScript ballot function; Cairn's built-in constitution
/// needs only the two outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ballot {
    Approve,
    Reject,
}

/// Why an accepted proposal could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub reason: String,
}

/// Value of `public:ccf.gov.proposals_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalRecord {
    pub proposer_id: String,
    pub state: ProposalState,
    #[serde(default)]
    pub ballots: BTreeMap<String, Ballot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_votes: Option<BTreeMap<String, bool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

/// A proposal as the governance API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProposalInfo {
    pub proposal_id: String,
    pub proposer_id: String,
    pub proposal_state: ProposalState,
    pub ballot_count: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_votes: Option<BTreeMap<String, bool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

impl ProposalInfo {
    pub fn new(proposal_id: &str, record: &ProposalRecord) -> ProposalInfo {
        ProposalInfo {
            proposal_id: proposal_id.to_string(),
            proposer_id: record.proposer_id.clone(),
            proposal_state: record.state,
            ballot_count: record.ballots.len(),
            final_votes: record.final_votes.clone(),
            failure: record.failure.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_and_api_forms_use_ccf_field_names() {
        let record = ProposalRecord {
            proposer_id: "m1".into(),
            state: ProposalState::Failed,
            ballots: BTreeMap::from([("m2".into(), Ballot::Approve), ("m3".into(), Ballot::Reject)]),
            final_votes: Some(BTreeMap::from([("m2".into(), true), ("m3".into(), false)])),
            failure: Some(Failure { reason: "threshold".into() }),
        };
        assert_eq!(
            serde_json::to_string(&record).unwrap(),
            r#"{"proposer_id":"m1","state":"Failed","ballots":{"m2":"approve","m3":"reject"},"final_votes":{"m2":true,"m3":false},"failure":{"reason":"threshold"}}"#
        );
        assert_eq!(
            serde_json::to_string(&ProposalInfo::new("p1", &record)).unwrap(),
            r#"{"proposalId":"p1","proposerId":"m1","proposalState":"Failed","ballotCount":2,"finalVotes":{"m2":true,"m3":false},"failure":{"reason":"threshold"}}"#
        );
        let open = ProposalRecord { state: ProposalState::Open, final_votes: None, failure: None, ..record };
        assert_eq!(
            serde_json::to_string(&ProposalInfo::new("p1", &open)).unwrap(),
            r#"{"proposalId":"p1","proposerId":"m1","proposalState":"Open","ballotCount":2}"#
        );
    }
}
