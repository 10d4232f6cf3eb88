//! The built-in constitution: a strict majority of Active members decides.

mod common;

use ProposalState::{Accepted, Open, Rejected};
use cairn_gov::{Effect, GovError, ProposalState, proposal, proposals};
use common::{Harness, Identity, action, pool};

fn members(n: usize) -> Vec<&'static Identity> {
    pool()[..n].iter().collect()
}

/// (active members, approvals, rejections, state after the ballots). Rejections are cast first,
/// then approvals; once the proposal closes, further ballots are refused with ProposalNotOpen.
const MAJORITY_TABLE: &[(usize, usize, usize, ProposalState)] = &[
    (1, 0, 0, Open),
    (1, 1, 0, Accepted),
    (1, 0, 1, Rejected),
    (2, 1, 0, Open),
    (2, 2, 0, Accepted),
    (2, 0, 1, Rejected),
    (2, 1, 1, Rejected),
    (3, 1, 0, Open),
    (3, 2, 0, Accepted),
    (3, 1, 1, Open),
    (3, 2, 1, Accepted),
    (3, 0, 2, Rejected),
    (3, 1, 2, Rejected),
    (4, 2, 0, Open),
    (4, 3, 0, Accepted),
    (4, 0, 1, Open),
    (4, 2, 1, Open),
    (4, 3, 1, Accepted),
    (4, 0, 2, Rejected),
    (4, 2, 2, Rejected),
    (5, 2, 2, Open),
    (5, 3, 2, Accepted),
    (5, 0, 3, Rejected),
    (5, 3, 0, Accepted),
    (6, 3, 0, Open),
    (6, 3, 2, Open),
    (6, 4, 2, Accepted),
    (6, 0, 3, Rejected),
    (6, 4, 0, Accepted),
    (7, 3, 3, Open),
    (7, 4, 3, Accepted),
    (7, 0, 4, Rejected),
    (7, 7, 0, Accepted),
];

#[test]
fn strict_majority_of_active_members_decides() {
    for &(n, approvals, rejections, expected) in MAJORITY_TABLE {
        let ms = members(n);
        let mut h = Harness::new(&ms, 1);
        let created = h.propose(ms[0], &action("trigger_snapshot", serde_json::json!({}))).unwrap();
        assert_eq!(created.info.proposal_state, Open, "n = {n}: a new proposal is Open");
        assert_eq!(created.info.ballot_count, 0, "n = {n}: the proposer does not vote implicitly");
        let id = created.info.proposal_id.clone();
        let ballots = ms[..rejections]
            .iter()
            .map(|m| (*m, "reject"))
            .chain(ms[rejections..rejections + approvals].iter().map(|m| (*m, "approve")));
        let mut state = Open;
        let mut accepted_effects = None;
        for (m, ballot) in ballots {
            match h.vote(m, &id, ballot) {
                Ok(outcome) => {
                    assert_eq!(state, Open, "n = {n}: a ballot on a closed proposal was accepted");
                    state = outcome.info.proposal_state;
                    if state == Accepted {
                        accepted_effects = Some(outcome.effects);
                    }
                }
                Err(e) => {
                    assert_ne!(state, Open, "n = {n}: ballot refused on an Open proposal: {e}");
                    assert!(matches!(e, GovError::ProposalNotOpen { .. }), "{e}");
                    assert_eq!((e.http_status(), e.code()), (400, "ProposalNotOpen"));
                }
            }
        }
        let row = format!("(n, approvals, rejections) = ({n}, {approvals}, {rejections})");
        assert_eq!(state, expected, "{row}");
        let stored = proposal(&h.store, &id).unwrap().unwrap();
        assert_eq!(stored.proposal_state, expected, "{row}");
        assert_eq!(stored.final_votes.is_some(), expected != Open, "{row}");
        assert_eq!(accepted_effects, (expected == Accepted).then(|| vec![Effect::TriggerSnapshot]), "{row}");
    }
}

#[test]
fn second_ballot_by_the_same_member_is_refused() {
    let ms = members(3);
    let mut h = Harness::new(&ms, 1);
    let id = h.propose(ms[0], &action("trigger_snapshot", serde_json::json!({}))).unwrap().info.proposal_id;
    h.vote(ms[1], &id, "approve").unwrap();
    for ballot in ["approve", "reject"] {
        let e = h.vote(ms[1], &id, ballot).unwrap_err();
        assert_eq!(e, GovError::VoteAlreadyExists { proposal_id: id.clone(), member_id: ms[1].id.clone() });
        assert_eq!((e.http_status(), e.code()), (400, "VoteAlreadyExists"));
    }
    let info = proposal(&h.store, &id).unwrap().unwrap();
    assert_eq!((info.proposal_state, info.ballot_count), (Open, 1));
}

#[test]
fn proposer_withdraws_an_open_proposal_and_no_one_else_can() {
    let ms = members(3);
    let mut h = Harness::new(&ms, 1);
    let id = h.propose(ms[0], &action("trigger_snapshot", serde_json::json!({}))).unwrap().info.proposal_id;
    let e = h.withdraw(ms[1], &id).unwrap_err();
    assert!(matches!(e, GovError::Forbidden(_)), "{e}");
    assert_eq!(e.http_status(), 403);
    let out = h.withdraw(ms[0], &id).unwrap();
    assert_eq!(out.info.proposal_state, ProposalState::Withdrawn);
    assert_eq!(h.withdraw(ms[0], &id).unwrap().info.proposal_state, ProposalState::Withdrawn, "idempotent");
    let e = h.vote(ms[1], &id, "approve").unwrap_err();
    assert!(matches!(e, GovError::ProposalNotOpen { .. }), "{e}");
    let e = h.withdraw(ms[0], "0".repeat(64).as_str()).unwrap_err();
    assert_eq!((e.http_status(), e.code()), (404, "ProposalNotFound"));
}

#[test]
fn closing_a_proposal_drops_earlier_closed_ones_but_keeps_open_ones() {
    let ms = members(1);
    let mut h = Harness::new(&ms, 1);
    let snapshot = action("trigger_snapshot", serde_json::json!({}));
    let first = h.pass(&ms, &snapshot).info.proposal_id;
    h.now_s += 1;
    let open = h.propose(ms[0], &snapshot).unwrap().info.proposal_id;
    h.now_s += 1;
    let second = h.pass(&ms, &snapshot).info.proposal_id;
    assert!(proposal(&h.store, &first).unwrap().is_none(), "older closed proposal dropped");
    let ids: Vec<_> = proposals(&h.store.snapshot_view()).unwrap().into_iter().map(|p| p.proposal_id).collect();
    let mut expected = vec![open, second];
    expected.sort();
    assert_eq!(ids, expected);
}

#[test]
fn removed_member_no_longer_counts_toward_the_majority() {
    let ms = members(3);
    let mut h = Harness::new(&ms, 1);
    // Remove member 2 (no encryption key issues: members 0..3 all have keys, threshold 1).
    let out = h.pass(&ms[..2], &action("remove_member", serde_json::json!({ "member_id": ms[2].id })));
    assert_eq!(out.info.proposal_state, Accepted);
    // Now 2 active members: one approval is not enough, two are.
    let id = h.propose(ms[0], &action("trigger_snapshot", serde_json::json!({}))).unwrap().info.proposal_id;
    let e = h.vote(ms[2], &id, "approve").unwrap_err();
    assert_eq!(e, GovError::UnknownSigner { member_id: ms[2].id.clone() });
    assert_eq!(h.vote(ms[0], &id, "approve").unwrap().info.proposal_state, Open);
    assert_eq!(h.vote(ms[1], &id, "approve").unwrap().info.proposal_state, Accepted);
}
