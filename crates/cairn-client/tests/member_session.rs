//! `MemberSession` against an in-process HTTPS node: every governance request it sends is a
//! COSE Sign1 that `cairn_gov` parses and verifies against the member's certificate, with the
//! right message type, proposal id, payload and a current `created_at`; recovery shares are
//! decrypted locally and submitted as the original 44 bytes.
mod fake_node;

use base64::Engine;
use cairn_client::{CairnClient, MemberError, MemberSession};
use cairn_crypto::{EncryptionKeyPair, SharedSecret, split};
use cairn_gov::SignedRequest;
use fake_node::{FakeNode, Identity, Recorded, self_signed};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

async fn session() -> (FakeNode, Identity, MemberSession) {
    let node = FakeNode::start(&[]).await;
    let member = self_signed("member0", false);
    let client = CairnClient::new(&node.url, node.service.cert.pem(), None).unwrap();
    let key = cairn_crypto::SigningKey::from_pem(&member.key.to_pem()).unwrap();
    let session = MemberSession::new(client, &member.cert, key);
    (node, member, session)
}

/// Parses and verifies one recorded governance request.
fn signed(r: &Recorded, member: &Identity) -> SignedRequest {
    let req = SignedRequest::parse(&r.body).unwrap_or_else(|e| panic!("{}: {e}", r.path_and_query));
    req.verify(&member.cert).unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert!(req.header.created_at.abs_diff(now) <= 5, "created_at is now");
    req
}

fn posts(node: &FakeNode) -> Vec<Recorded> {
    node.requests().into_iter().filter(|r| r.method == "POST").collect()
}

#[tokio::test]
async fn propose_vote_and_withdraw_are_signed_by_the_member() {
    let (node, member, session) = session().await;
    assert_eq!(session.member_id(), cairn_gov::identity_id(&member.cert));
    let proposal = json!({"actions": [{"name": "trigger_snapshot", "args": {}}]});
    let created = session.propose(&proposal).await.unwrap();
    let voted = session.vote(&created.proposal_id, true).await.unwrap();
    assert_eq!(voted.proposal_state, "Accepted");
    let withdrawn = session.withdraw(&created.proposal_id).await.unwrap();
    assert_eq!(withdrawn.proposal_state, "Withdrawn");

    let sent = posts(&node);
    assert_eq!(sent.len(), 3);
    let expectations: [(&str, Option<&str>, Value, &str); 3] = [
        ("proposal", None, proposal.clone(), "/gov/members/proposals:create"),
        ("ballot", Some("p0"), json!({"ballot": "approve"}), "/ballots/"),
        ("withdrawal", Some("p0"), Value::Null, "/gov/members/proposals/p0:withdraw"),
    ];
    for (r, (msg_type, proposal_id, payload, path)) in sent.iter().zip(expectations) {
        let req = signed(r, &member);
        assert_eq!(req.header.msg_type, msg_type);
        assert_eq!(req.header.proposal_id.as_deref(), proposal_id);
        assert_eq!(req.member_id, session.member_id());
        if payload.is_null() {
            assert!(req.payload.is_empty());
        } else {
            assert_eq!(serde_json::from_slice::<Value>(&req.payload).unwrap(), payload);
        }
        assert!(r.path_and_query.contains(path), "{}", r.path_and_query);
    }
    assert!(sent[1].path_and_query.contains(&format!("/ballots/{}:submit", session.member_id())));
}

#[tokio::test]
async fn a_malformed_proposal_is_refused_before_anything_is_sent() {
    let (node, _, session) = session().await;
    let err = session.propose(&json!({"actions": []})).await.unwrap_err();
    assert!(matches!(err, MemberError::BadProposal(_)));
    assert_eq!(err.exit_code(), 2);
    assert!(node.requests().is_empty());
}

#[tokio::test]
async fn open_service_proposes_the_transition_and_votes_for_it() {
    let (node, member, session) = session().await;
    let next = self_signed("new service", true);
    let previous = self_signed("old service", true);
    let p = session.open_service(next.cert.pem(), Some(previous.cert.pem())).await.unwrap();
    assert_eq!(p.proposal_state, "Accepted");
    let sent = posts(&node);
    assert_eq!(sent.len(), 2);
    let proposal: Value = serde_json::from_slice(&signed(&sent[0], &member).payload).unwrap();
    assert_eq!(proposal["actions"][0]["name"], "transition_service_to_open");
    assert_eq!(proposal["actions"][0]["args"]["next_service_identity"], next.cert.pem());
    assert_eq!(proposal["actions"][0]["args"]["previous_service_identity"], previous.cert.pem());
    assert_eq!(signed(&sent[1], &member).header.msg_type, "ballot");
}

#[tokio::test]
async fn recovery_share_is_decrypted_locally_and_submitted_signed() {
    let (node, member, session) = session().await;
    let enc = EncryptionKeyPair::generate().unwrap();
    let mut counter = 0u8;
    let secret = SharedSecret::random(|b| b.fill(7));
    let shares = split(&secret, 3, 2, |b| {
        for x in b.iter_mut() {
            counter = counter.wrapping_add(31);
            *x = counter;
        }
    })
    .unwrap();
    let share = shares[1].to_bytes();
    let encrypted = enc.public_key().encrypt(&share).unwrap();
    node.state.lock().unwrap().encrypted_share_b64 = Some(B64.encode(&encrypted));

    let fetched = session.fetch_share(&enc).await.unwrap();
    assert_eq!(fetched.to_bytes(), share);
    let submitted = session.submit_share(&enc).await.unwrap();
    assert_eq!((submitted.submitted_count, submitted.recovery_threshold), (1, 1));

    let sent = posts(&node);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].path_and_query,
        format!("/gov/recovery/members/{}:recover?api-version=2023-06-01-preview", session.member_id())
    );
    let req = signed(&sent[0], &member);
    assert_eq!(req.header.msg_type, "recovery_share");
    let payload: Value = serde_json::from_slice(&req.payload).unwrap();
    assert_eq!(B64.decode(payload["share"].as_str().unwrap()).unwrap(), share);

    let wrong = EncryptionKeyPair::generate().unwrap();
    let err = session.submit_share(&wrong).await.unwrap_err();
    assert!(matches!(err, MemberError::ShareDecryption { .. }), "{err}");
    assert_eq!(err.exit_code(), 2);
    assert_eq!(posts(&node).len(), 1, "nothing submitted with the wrong key");
}

#[tokio::test]
async fn a_missing_share_is_a_refusal() {
    let (_node, _, session) = session().await;
    let err = session.fetch_share(&EncryptionKeyPair::generate().unwrap()).await.unwrap_err();
    match &err {
        MemberError::Client(e) => assert_eq!(e.http_status(), Some(404)),
        other => panic!("{other}"),
    }
    assert_eq!(err.exit_code(), 1);
}
