//! Who may propose and vote, and when: signer checks, the created_at window and replays.

mod common;

use cairn_gov::{GovError, MAX_CLOCK_SKEW_S, ProposalState, SignedRequest, authenticate_member, proposal};
use cairn_kv::Tx;
use common::{Harness, Identity, action, pool};

fn snapshot() -> serde_json::Value {
    action("trigger_snapshot", serde_json::json!({}))
}

fn two_members() -> (Harness, &'static Identity, &'static Identity, &'static Identity) {
    let (a, b, outsider) = (&pool()[0], &pool()[1], &pool()[6]);
    (Harness::new(&[a, b], 1), a, b, outsider)
}

#[test]
fn non_member_cannot_propose_or_vote() {
    let (mut h, a, _, outsider) = two_members();
    let e = h.propose(outsider, &snapshot()).unwrap_err();
    assert_eq!(e, GovError::UnknownSigner { member_id: outsider.id.clone() });
    assert_eq!((e.http_status(), e.code()), (401, "InvalidAuthenticationInfo"));
    let id = h.propose(a, &snapshot()).unwrap().info.proposal_id;
    let e = h.vote(outsider, &id, "approve").unwrap_err();
    assert_eq!(e, GovError::UnknownSigner { member_id: outsider.id.clone() });
    assert_eq!(proposal(&h.store, &id).unwrap().unwrap().ballot_count, 0);
}

/// A request that names member `kid` but is signed with `signer`'s key.
fn forged(
    kid: &Identity,
    signer: &Identity,
    msg_type: &str,
    created_at: u64,
    proposal_id: Option<&str>,
    body: &str,
) -> Vec<u8> {
    let header = cairn_gov::GovRequestHeader {
        msg_type: msg_type.into(),
        created_at,
        proposal_id: proposal_id.map(str::to_string),
    };
    cairn_gov::sign_request(&signer.key, &kid.id, &header, body.as_bytes())
}

#[test]
fn request_naming_a_member_but_signed_with_another_key_is_refused() {
    let (mut h, a, b, outsider) = two_members();
    for signer in [b, outsider] {
        let bytes = forged(a, signer, "proposal", h.now_s, None, &snapshot().to_string());
        let e = h.submit_proposal_bytes(&bytes).unwrap_err();
        assert_eq!(e, GovError::BadSignature { member_id: a.id.clone() });
        assert_eq!(e.http_status(), 401);
    }
    let id = h.propose(a, &snapshot()).unwrap().info.proposal_id;
    let bytes = forged(b, outsider, "ballot", h.now_s, Some(&id), r#"{"ballot":"approve"}"#);
    let e = h.submit_ballot_bytes(&id, &b.id, &bytes).unwrap_err();
    assert_eq!(e, GovError::BadSignature { member_id: b.id.clone() });
}

#[test]
fn ballot_for_another_member_path_or_proposal_is_refused() {
    let (mut h, a, b, _) = two_members();
    let id = h.propose(a, &snapshot()).unwrap().info.proposal_id;
    let bytes = b.sign("ballot", h.now_s, Some(&id), br#"{"ballot":"approve"}"#);
    let e = h.submit_ballot_bytes(&id, &a.id, &bytes).unwrap_err();
    assert!(matches!(e, GovError::Forbidden(_)), "{e}");
    assert_eq!((e.http_status(), e.code()), (403, "AuthorizationFailed"));
    let other = "ab".repeat(32);
    let bytes = b.sign("ballot", h.now_s + 1, Some(&other), br#"{"ballot":"approve"}"#);
    let e = h.submit_ballot_bytes(&id, &b.id, &bytes).unwrap_err();
    assert!(matches!(e, GovError::InvalidInput(ref m) if m.contains("signed for proposal")), "{e}");
    // A proposal request is not a ballot.
    let bytes = b.sign("proposal", h.now_s + 2, None, br#"{"ballot":"approve"}"#);
    let e = h.submit_ballot_bytes(&id, &b.id, &bytes).unwrap_err();
    assert_eq!(e, GovError::WrongMessageType { expected: "ballot", got: "proposal".into() });
    assert_eq!(proposal(&h.store, &id).unwrap().unwrap().ballot_count, 0);
}

#[test]
fn malformed_ballot_body_is_refused() {
    let (mut h, a, b, _) = two_members();
    let id = h.propose(a, &snapshot()).unwrap().info.proposal_id;
    for (i, body) in ["", "{}", r#"{"ballot":"yes"}"#, r#"{"ballot":true}"#, "[1]"].into_iter().enumerate() {
        let bytes = b.sign("ballot", h.now_s + i as u64, Some(&id), body.as_bytes());
        let e = h.submit_ballot_bytes(&id, &b.id, &bytes).unwrap_err();
        assert!(matches!(e, GovError::InvalidInput(_)), "{body:?}: {e}");
        assert_eq!(e.code(), "InvalidInput");
    }
}

#[test]
fn replayed_request_bytes_are_refused() {
    let (mut h, a, b, _) = two_members();
    let bytes = a.sign("proposal", h.now_s, None, snapshot().to_string().as_bytes());
    let id = h.submit_proposal_bytes(&bytes).unwrap().info.proposal_id;
    let e = h.submit_proposal_bytes(&bytes).unwrap_err();
    assert!(matches!(e, GovError::Replay { .. }), "{e}");
    assert_eq!((e.http_status(), e.code()), (400, "ProposalReplay"));
    // Also a little later, while created_at is still inside the window.
    h.now_s += MAX_CLOCK_SKEW_S;
    assert!(matches!(h.submit_proposal_bytes(&bytes), Err(GovError::Replay { .. })));
    // After the window, the clock check refuses it.
    h.now_s += 1;
    assert!(matches!(h.submit_proposal_bytes(&bytes), Err(GovError::CreatedTooLongAgo { .. })));

    // Ballots too: a replayed approval is refused, not counted twice.
    let ballot = b.sign("ballot", h.now_s, Some(&id), br#"{"ballot":"approve"}"#);
    h.submit_ballot_bytes(&id, &b.id, &ballot).unwrap();
    assert!(matches!(h.submit_ballot_bytes(&id, &b.id, &ballot), Err(GovError::Replay { .. })));
}

#[test]
fn created_at_outside_the_clock_window_is_refused() {
    let (mut h, a, _, _) = two_members();
    let now = h.now_s;
    let table: &[(u64, Option<&str>)] = &[
        (now - MAX_CLOCK_SKEW_S - 1, Some("ProposalCreatedTooLongAgo")),
        (now - MAX_CLOCK_SKEW_S, None),
        (now, None),
        (now + MAX_CLOCK_SKEW_S, None),
        (now + MAX_CLOCK_SKEW_S + 1, Some("InvalidCreatedAt")),
        (0, Some("ProposalCreatedTooLongAgo")),
        (u64::MAX, Some("InvalidCreatedAt")),
    ];
    for &(created_at, expected) in table {
        let bytes = a.sign("proposal", created_at, None, snapshot().to_string().as_bytes());
        match (h.submit_proposal_bytes(&bytes), expected) {
            (Ok(out), None) => assert_eq!(out.info.proposal_state, ProposalState::Open),
            (Err(e), Some(code)) => {
                assert_eq!((e.http_status(), e.code()), (400, code), "created_at {created_at}: {e}")
            }
            (other, _) => panic!("created_at {created_at}: expected {expected:?}, got {other:?}"),
        }
    }
}

#[test]
fn replay_window_drops_expired_entries() {
    let (mut h, a, _, _) = two_members();
    let count = |h: &Harness| h.store.len(cairn_ledger::tables::COSE_RECENT_PROPOSALS);
    for _ in 0..3 {
        h.propose(a, &snapshot()).unwrap();
        h.now_s += 1;
    }
    assert_eq!(count(&h), 3);
    h.now_s += MAX_CLOCK_SKEW_S + 10;
    h.propose(a, &snapshot()).unwrap();
    assert_eq!(count(&h), 1, "entries older than the window are dropped when a request is recorded");
}

#[test]
fn ballot_on_a_closed_proposal_is_refused() {
    let (mut h, a, b, _) = two_members();
    let id = h.propose(a, &snapshot()).unwrap().info.proposal_id;
    assert_eq!(h.vote(a, &id, "reject").unwrap().info.proposal_state, ProposalState::Rejected);
    let e = h.vote(b, &id, "approve").unwrap_err();
    assert_eq!(e, GovError::ProposalNotOpen { proposal_id: id.clone(), state: "Rejected".into() });
    let e = h.vote(b, "cd".repeat(32).as_str(), "approve").unwrap_err();
    assert_eq!((e.http_status(), e.code()), (404, "ProposalNotFound"));
}

#[test]
fn share_submission_requests_authenticate_the_same_way() {
    let (mut h, a, _, outsider) = two_members();
    let run = |h: &mut Harness, bytes: &[u8]| {
        let req = SignedRequest::parse(bytes)?;
        let now = h.now_s;
        h.with_tx(|tx: &mut Tx, _| authenticate_member(tx, &req, "recovery_share", now))
    };
    let ok = a.sign("recovery_share", h.now_s, None, br#"{"share":"AAAA"}"#);
    assert_eq!(run(&mut h, &ok).unwrap(), a.id);
    assert!(matches!(run(&mut h, &ok), Err(GovError::Replay { .. })));
    let bad = outsider.sign("recovery_share", h.now_s, None, b"{}");
    assert!(matches!(run(&mut h, &bad), Err(GovError::UnknownSigner { .. })));
}
