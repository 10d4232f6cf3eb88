//! A member acting through the API: signs proposals and ballots with its identity key.
use cairn_client::CairnClient;
use cairn_crypto::{Certificate, SigningKey};
use cairn_gov::{GovRequestHeader, sign_request};
use serde_json::{Value, json};
use std::path::Path;

pub struct Member {
    pub id: String,
    pub key: SigningKey,
}

pub fn now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

impl Member {
    pub fn load(dir: &Path, name: &str) -> Member {
        let cert =
            Certificate::from_pem(&std::fs::read_to_string(dir.join(format!("{name}_cert.pem"))).unwrap()).unwrap();
        let key =
            SigningKey::from_pem(&std::fs::read_to_string(dir.join(format!("{name}_privk.pem"))).unwrap()).unwrap();
        Member { id: cairn_gov::identity_id(&cert), key }
    }

    pub fn sign(&self, msg_type: &str, proposal_id: Option<&str>, payload: &Value) -> Vec<u8> {
        let header = GovRequestHeader {
            msg_type: msg_type.into(),
            created_at: now_s(),
            proposal_id: proposal_id.map(str::to_string),
        };
        sign_request(&self.key, &self.id, &header, &serde_json::to_vec(payload).unwrap())
    }

    /// Proposes `actions` and votes for it; returns (proposal id, state after the vote).
    pub async fn propose_and_approve(&self, client: &CairnClient, actions: Value) -> (String, String) {
        let p = client.propose(self.sign("proposal", None, &json!({ "actions": actions }))).await.expect("propose");
        let ballot = self.sign("ballot", Some(&p.proposal_id), &json!({"ballot": "approve"}));
        let after = client.submit_ballot(&p.proposal_id, &self.id, ballot).await.expect("vote");
        (p.proposal_id, after.proposal_state)
    }
}

/// Opens a fresh single-member service and registers user `u0`.
pub async fn open_service_with_user(dir: &Path, client: &CairnClient) {
    let m0 = Member::load(dir, "m0");
    let user_cert = std::fs::read_to_string(dir.join("u0_cert.pem")).unwrap();
    let (_, state) = m0.propose_and_approve(client, json!([{"name": "set_user", "args": {"cert": user_cert}}])).await;
    assert_eq!(state, "Accepted");
    let service_cert = std::fs::read_to_string(dir.join("service_cert.pem")).unwrap();
    let (_, state) = m0
        .propose_and_approve(
            client,
            json!([{"name": "transition_service_to_open", "args": {"next_service_identity": service_cert}}]),
        )
        .await;
    assert_eq!(state, "Accepted");
}
