//! `MemberSession`: a member's identity key and id with a client, so each governance call is
//! "build payload, sign (COSE Sign1, `cairn_gov::sign_request`), send". `created_at` is the
//! current time in unix seconds. The member id is CCF's: hex SHA-256 of the certificate DER.
//!
//! Recovery shares never leave the member's machine in clear: the encrypted share is fetched,
//! decrypted locally with the member's RSA key (`cairn_gov::decrypt_share`), and only then
//! signed and submitted.
use crate::proposal_body::{self, ballot_payload, check_proposal, recovery_share_payload};
use crate::{CairnClient, ClientError, ProposalInfo, RecoverySubmission};
use cairn_crypto::{Certificate, EncryptionKeyPair, Share, SigningKey};
use cairn_gov::{GovRequestHeader, MSG_BALLOT, MSG_PROPOSAL, MSG_RECOVERY_SHARE, MSG_WITHDRAWAL, sign_request};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{0}")]
    BadProposal(String),
    #[error("cannot decrypt the recovery share of member {member_id} with the given encryption key: {reason}")]
    ShareDecryption { member_id: String, reason: String },
}

impl MemberError {
    /// The `cairn member` exit code: 2 for bad local input (malformed proposal, a key that does
    /// not decrypt the share, a bad certificate or URL), 1 for everything the service or the
    /// network did (refusals, unreachable node, unexpected answers).
    pub fn exit_code(&self) -> u8 {
        match self {
            MemberError::BadProposal(_) | MemberError::ShareDecryption { .. } => 2,
            MemberError::Client(ClientError::Config { .. }) => 2,
            MemberError::Client(_) => 1,
        }
    }
}

pub struct MemberSession {
    client: CairnClient,
    key: SigningKey,
    member_id: String,
}

fn now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl MemberSession {
    pub fn new(client: CairnClient, cert: &Certificate, key: SigningKey) -> Self {
        MemberSession { client, key, member_id: cairn_gov::identity_id(cert) }
    }

    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    pub fn client(&self) -> &CairnClient {
        &self.client
    }

    fn sign(&self, msg_type: &str, proposal_id: Option<&str>, payload: &[u8]) -> Vec<u8> {
        let header = GovRequestHeader {
            msg_type: msg_type.to_string(),
            created_at: now_s(),
            proposal_id: proposal_id.map(str::to_string),
        };
        sign_request(&self.key, &self.member_id, &header, payload)
    }

    /// Checks, signs and submits `proposal` (`{"actions": [...]}`).
    pub async fn propose(&self, proposal: &serde_json::Value) -> Result<ProposalInfo, MemberError> {
        check_proposal(proposal).map_err(MemberError::BadProposal)?;
        let payload = serde_json::to_vec(proposal).expect("json");
        Ok(self.client.propose(self.sign(MSG_PROPOSAL, None, &payload)).await?)
    }

    pub async fn vote(&self, proposal_id: &str, approve: bool) -> Result<ProposalInfo, MemberError> {
        let cose = self.sign(MSG_BALLOT, Some(proposal_id), &ballot_payload(approve));
        Ok(self.client.submit_ballot(proposal_id, &self.member_id, cose).await?)
    }

    pub async fn withdraw(&self, proposal_id: &str) -> Result<ProposalInfo, MemberError> {
        let cose = self.sign(MSG_WITHDRAWAL, Some(proposal_id), b"");
        Ok(self.client.withdraw(proposal_id, cose).await?)
    }

    /// Downloads this member's encrypted recovery share and decrypts it locally.
    pub async fn fetch_share(&self, encryption_key: &EncryptionKeyPair) -> Result<Share, MemberError> {
        let encrypted = self.client.encrypted_share(&self.member_id).await?;
        cairn_gov::decrypt_share(&encrypted, encryption_key)
            .map_err(|e| MemberError::ShareDecryption { member_id: self.member_id.clone(), reason: e.to_string() })
    }

    /// Fetches, decrypts, signs and submits this member's recovery share.
    pub async fn submit_share(&self, encryption_key: &EncryptionKeyPair) -> Result<RecoverySubmission, MemberError> {
        let share = self.fetch_share(encryption_key).await?;
        let cose = self.sign(MSG_RECOVERY_SHARE, None, &recovery_share_payload(&share.to_bytes()));
        Ok(self.client.submit_recovery_share(&self.member_id, cose).await?)
    }

    /// Proposes `transition_service_to_open` and, while the proposal is still Open, votes for it.
    /// Returns the proposal as last reported.
    pub async fn open_service(
        &self,
        next_service_identity: &str,
        previous_service_identity: Option<&str>,
    ) -> Result<ProposalInfo, MemberError> {
        let proposal = proposal_body::open_service_proposal(next_service_identity, previous_service_identity);
        self.propose_and_vote(&proposal).await
    }

    /// Proposes the renewal of the service certificate and every node certificate, valid from
    /// `valid_from_unix_s` for `days` (`None`: the configured maximums), and votes for it.
    pub async fn renew_certificates(
        &self,
        valid_from_unix_s: i64,
        days: Option<u64>,
    ) -> Result<ProposalInfo, MemberError> {
        self.propose_and_vote(&proposal_body::renew_certificates_proposal(valid_from_unix_s, days)).await
    }

    /// Proposes `proposal` and, while it is still Open, votes for it.
    async fn propose_and_vote(&self, proposal: &serde_json::Value) -> Result<ProposalInfo, MemberError> {
        let created = self.propose(proposal).await?;
        if created.proposal_state != "Open" {
            return Ok(created);
        }
        self.vote(&created.proposal_id, true).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_separate_bad_input_from_refusals_and_failures() {
        let refused = ClientError::from_http_answer("POST", "u", 403, br#"{"error":{"code":"x","message":"y"}}"#);
        let table = [
            (MemberError::BadProposal("empty".into()), 2),
            (MemberError::ShareDecryption { member_id: "m".into(), reason: "r".into() }, 2),
            (MemberError::Client(ClientError::Config { what: "node URL", reason: "r".into() }), 2),
            (MemberError::Client(refused), 1),
            (
                MemberError::Client(ClientError::Decode {
                    method: "GET",
                    url: "u".into(),
                    field: "f",
                    reason: "r".into(),
                }),
                1,
            ),
        ];
        for (e, code) in table {
            assert_eq!(e.exit_code(), code, "{e}");
        }
    }
}
