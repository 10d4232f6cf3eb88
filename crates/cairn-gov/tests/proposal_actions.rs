//! Proposal validation (errors name the JSON path) and applying actions (all or nothing).

mod common;

use cairn_gov::{Effect, GovError, ProposalState, ServiceConfig, parse_proposal, proposal, service_status};
use cairn_ledger::tables::{NODES_INFO, NodeInfo, NodeStatus, ServiceStatus, USERS_CERTS, USERS_INFO};
use common::{Harness, Identity, action, pool};
use serde_json::json;

fn user() -> &'static Identity {
    &pool()[6]
}

#[test]
fn validation_errors_name_the_field_path() {
    let cert = user().cert.pem();
    let id = "a".repeat(64);
    let snapshot = json!({ "name": "trigger_snapshot", "args": {} });
    let table: Vec<(String, &str)> = vec![
        ("not json".into(), "body"),
        (json!({}).to_string(), "actions"),
        (json!({ "actions": {} }).to_string(), "actions"),
        (json!({ "actions": [] }).to_string(), "actions"),
        (json!({ "actions": vec![snapshot.clone(); 65] }).to_string(), "actions"),
        (json!({ "actions": [7] }).to_string(), "actions[0]"),
        (json!({ "actions": [{ "args": {} }] }).to_string(), "actions[0].name"),
        (json!({ "actions": [{ "name": "frobnicate", "args": {} }] }).to_string(), "actions[0].name"),
        (json!({ "actions": [{ "name": "trigger_snapshot", "args": [] }] }).to_string(), "actions[0].args"),
        (json!({ "actions": [snapshot, { "name": "set_user", "args": {} }] }).to_string(), "actions[1].args.cert"),
        (json!({ "actions": [{ "name": "set_user", "args": { "cert": "not a pem" } }] }).to_string(), "actions[0].args.cert"),
        (json!({ "actions": [{ "name": "set_user", "args": { "cert": 5 } }] }).to_string(), "actions[0].args.cert"),
        (
            json!({ "actions": [{ "name": "set_member", "args": { "cert": cert, "encryption_pub_key": "x" } }] }).to_string(),
            "actions[0].args.encryption_pub_key",
        ),
        (json!({ "actions": [{ "name": "remove_member", "args": { "member_id": "m1" } }] }).to_string(), "actions[0].args.member_id"),
        (json!({ "actions": [{ "name": "remove_user", "args": {} }] }).to_string(), "actions[0].args.user_id"),
        (
            json!({ "actions": [{ "name": "transition_node_to_trusted", "args": { "node_id": id.to_uppercase() } }] }).to_string(),
            "actions[0].args.node_id",
        ),
        (
            json!({ "actions": [{ "name": "transition_node_to_trusted", "args": { "node_id": id, "valid_from": 3 } }] }).to_string(),
            "actions[0].args.valid_from",
        ),
        (json!({ "actions": [{ "name": "remove_node", "args": {} }] }).to_string(), "actions[0].args.node_id"),
        (json!({ "actions": [{ "name": "set_recovery_threshold", "args": {} }] }).to_string(), "actions[0].args.recovery_threshold"),
        (
            json!({ "actions": [{ "name": "set_recovery_threshold", "args": { "recovery_threshold": 0 } }] }).to_string(),
            "actions[0].args.recovery_threshold",
        ),
        (
            json!({ "actions": [{ "name": "set_recovery_threshold", "args": { "recovery_threshold": -1 } }] }).to_string(),
            "actions[0].args.recovery_threshold",
        ),
        (
            json!({ "actions": [{ "name": "transition_service_to_open", "args": {} }] }).to_string(),
            "actions[0].args.next_service_identity",
        ),
        (
            json!({ "actions": [{ "name": "transition_service_to_open", "args": { "next_service_identity": cert, "previous_service_identity": "junk" } }] }).to_string(),
            "actions[0].args.previous_service_identity",
        ),
    ];
    let members = [&pool()[0]];
    let mut h = Harness::new(&members, 1);
    for (body, path) in table {
        match parse_proposal(body.as_bytes()) {
            Err(GovError::Validation { path: got, reason }) => assert_eq!(got, path, "{body}: {reason}"),
            other => panic!("{body}: expected a validation error at {path}, got {other:?}"),
        }
        // Submitting it is refused the same way, and nothing is recorded.
        let bytes = members[0].sign("proposal", h.now_s, None, body.as_bytes());
        let e = h.submit_proposal_bytes(&bytes).unwrap_err();
        assert!(matches!(&e, GovError::Validation { path: got, .. } if got == path), "{body}: {e}");
        assert_eq!((e.http_status(), e.code()), (400, "ProposalFailedToValidate"));
        h.now_s += 1;
    }
    assert_eq!(h.store.len(cairn_ledger::tables::PROPOSALS), 0);
}

#[test]
fn every_ccf_action_name_parses() {
    let cert = user().cert.pem();
    let id = "b".repeat(64);
    let names = [
        ("set_member", json!({ "cert": cert, "member_data": { "role": "x" } })),
        ("remove_member", json!({ "member_id": id })),
        ("set_user", json!({ "cert": cert, "user_data": null })),
        ("remove_user", json!({ "user_id": id })),
        ("transition_node_to_trusted", json!({ "node_id": id, "valid_from": "20250101000000Z" })),
        ("remove_node", json!({ "node_id": id })),
        ("set_recovery_threshold", json!({ "recovery_threshold": 2 })),
        ("trigger_ledger_rekey", json!({})),
        ("trigger_recovery_shares_refresh", json!({})),
        ("trigger_snapshot", json!({})),
        ("transition_service_to_open", json!({ "next_service_identity": cert })),
    ];
    for (name, args) in names {
        let actions = parse_proposal(action(name, args).to_string().as_bytes()).unwrap();
        assert_eq!(actions.len(), 1);
        assert_eq!(actions[0].name(), name);
    }
}

#[test]
fn accepted_proposal_that_cannot_apply_fails_and_keeps_no_action_write() {
    let ms = [&pool()[0], &pool()[1]];
    let mut h = Harness::new(&ms, 1);
    // set_user applies, then the threshold exceeds the 2 recovery members: the whole proposal fails.
    let body = json!({ "actions": [
        { "name": "set_user", "args": { "cert": user().cert.pem() } },
        { "name": "set_recovery_threshold", "args": { "recovery_threshold": 3 } },
    ]});
    let out = h.pass(&ms, &body);
    assert_eq!(out.info.proposal_state, ProposalState::Failed);
    assert!(out.effects.is_empty());
    let reason = out.info.failure.as_ref().unwrap().reason.clone();
    assert!(reason.contains("recovery threshold 3") && reason.contains("2"), "{reason}");
    assert_eq!(h.store.get(USERS_CERTS, user().id.as_bytes()), None, "no action write kept");
    assert_eq!(ServiceConfig::read(&mut &h.store).unwrap().unwrap().recovery_threshold, 1);
    let stored = proposal(&h.store, &out.info.proposal_id).unwrap().unwrap();
    assert_eq!(stored, out.info, "the Failed state and its reason are recorded");
    assert_eq!(
        serde_json::to_value(&stored).unwrap()["failure"]["reason"],
        json!(reason),
        "API JSON carries the failure"
    );

    // Removing a member below the threshold fails the same way.
    h.now_s += 1;
    assert_eq!(
        h.pass(&ms, &action("set_recovery_threshold", json!({ "recovery_threshold": 2 }))).info.proposal_state,
        ProposalState::Accepted
    );
    h.now_s += 1;
    let out = h.pass(&ms, &action("remove_member", json!({ "member_id": ms[1].id })));
    assert_eq!(out.info.proposal_state, ProposalState::Failed);
    assert!(cairn_gov::member_cert(&mut &h.store, &ms[1].id).unwrap().is_some());
}

#[test]
fn users_and_nodes_change_by_proposal() {
    let ms = [&pool()[0]];
    let mut h = Harness::new(&ms, 1);
    let node_id = "c".repeat(64);
    let mut tx = h.store.begin();
    let pending = NodeInfo {
        status: NodeStatus::Pending,
        public_key: None,
        rpc_address: None,
        ledger_secret_seqno: 0,
        retired_committed: false,
        encryption_pub_key: None,
    };
    tx.put(NODES_INFO, node_id.as_bytes(), serde_json::to_vec(&pending).unwrap());
    h.commit(tx);

    let body = json!({ "actions": [
        { "name": "set_user", "args": { "cert": user().cert.pem(), "user_data": { "team": "a" } } },
        { "name": "transition_node_to_trusted", "args": { "node_id": node_id, "valid_from": "20250101000000Z" } },
    ]});
    let out = h.pass(&ms, &body);
    assert_eq!(out.info.proposal_state, ProposalState::Accepted);
    assert_eq!(
        out.effects,
        vec![Effect::NodeTrusted { node_id: node_id.clone(), valid_from: Some("20250101000000Z".into()) }]
    );
    assert_eq!(h.store.get(USERS_CERTS, user().id.as_bytes()), Some(user().cert.pem().as_bytes()));
    assert_eq!(h.store.get(USERS_INFO, user().id.as_bytes()), Some(&br#"{"user_data":{"team":"a"}}"#[..]));
    let node: NodeInfo = serde_json::from_slice(h.store.get(NODES_INFO, node_id.as_bytes()).unwrap()).unwrap();
    assert_eq!(node.status, NodeStatus::Trusted);

    h.now_s += 1;
    let body = json!({ "actions": [
        { "name": "remove_user", "args": { "user_id": user().id } },
        { "name": "remove_node", "args": { "node_id": node_id } },
        { "name": "trigger_ledger_rekey", "args": {} },
    ]});
    let out = h.pass(&ms, &body);
    assert_eq!(out.effects, vec![Effect::NodeRetired { node_id: node_id.clone() }, Effect::TriggerLedgerRekey]);
    assert_eq!(h.store.get(USERS_CERTS, user().id.as_bytes()), None);
    assert_eq!(h.store.get(USERS_INFO, user().id.as_bytes()), None);
    let node: NodeInfo = serde_json::from_slice(h.store.get(NODES_INFO, node_id.as_bytes()).unwrap()).unwrap();
    assert_eq!(node.status, NodeStatus::Retired);

    // Trusting an unknown or retired node fails the proposal.
    for id in ["d".repeat(64), node_id] {
        h.now_s += 1;
        let out = h.pass(&ms, &action("transition_node_to_trusted", json!({ "node_id": id })));
        assert_eq!(out.info.proposal_state, ProposalState::Failed, "{id}");
    }
}

#[test]
fn opening_requires_this_service_identity_and_happens_once() {
    let ms = [&pool()[0]];
    let mut h = Harness::new(&ms, 1);
    h.set_service_status(ServiceStatus::Opening);
    let wrong = action("transition_service_to_open", json!({ "next_service_identity": user().cert.pem() }));
    assert_eq!(h.pass(&ms, &wrong).info.proposal_state, ProposalState::Failed);
    assert_eq!(service_status(&mut &h.store).unwrap(), Some(ServiceStatus::Opening));
    h.now_s += 1;
    let open = action("transition_service_to_open", json!({ "next_service_identity": h.service_cert.pem() }));
    let out = h.pass(&ms, &open);
    assert_eq!(out.info.proposal_state, ProposalState::Accepted);
    assert_eq!(out.effects, vec![Effect::ServiceOpened, Effect::RecoverySharesIssued]);
    assert_eq!(service_status(&mut &h.store).unwrap(), Some(ServiceStatus::Open));
    h.now_s += 1;
    let again = h.pass(&ms, &open);
    assert_eq!(again.info.proposal_state, ProposalState::Failed);
    assert!(again.info.failure.unwrap().reason.contains("already Open"));
}

#[test]
fn genesis_refuses_inconsistent_members_or_threshold() {
    let with_key = pool()[0].initial();
    let without_key = pool()[6].initial();
    let table: Vec<(Vec<cairn_gov::InitialMember>, u64, &str)> = vec![
        (vec![], 1, "at least one member"),
        (vec![with_key.clone()], 0, "between 1 and"),
        (vec![with_key.clone(), without_key.clone()], 2, "between 1 and"),
        (vec![without_key.clone()], 1, "between 1 and"),
        (vec![with_key.clone(), with_key.clone()], 1, "same certificate"),
        (
            vec![cairn_gov::InitialMember { cert_pem: "junk".into(), ..with_key.clone() }],
            1,
            "members[0]: invalid configuration: member certificate",
        ),
    ];
    for (members, threshold, expected) in table {
        let store = cairn_kv::Store::new();
        let mut tx = store.begin();
        let e = cairn_gov::initial_governance(&mut tx, &members, threshold).unwrap_err();
        assert!(e.to_string().contains(expected), "{} members, threshold {threshold}: {e}", members.len());
    }
    let store = cairn_kv::Store::new();
    let mut tx = store.begin();
    cairn_gov::initial_governance(&mut tx, std::slice::from_ref(&with_key), 1).unwrap();
    let e = cairn_gov::initial_governance(&mut tx, &[with_key], 1).unwrap_err();
    assert!(e.to_string().contains("already initialised"), "{e}");
}
