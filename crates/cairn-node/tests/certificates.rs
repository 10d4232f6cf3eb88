//! Certificate renewal by governance (issue 17), in the core: members renew the service and
//! node certificates (same keys, new dates); the node serves them once committed; receipts
//! from before verify against the renewed service certificate; proposals with a period above
//! the maximum, a bad `valid_from` or an unknown node are refused when proposed.
mod support;

use cairn_crypto::Certificate;
use cairn_ledger::receipt::Receipt;
use cairn_node::{Action, Caller, Request};
use serde_json::json;
use support::*;

const DAY_S: i64 = 86_400;

fn served(actions: &[Action]) -> Option<(Certificate, Certificate)> {
    actions.iter().rev().find_map(|a| match a {
        Action::ServeCertificates { node_cert_pem, service_cert_pem } => {
            Some((Certificate::from_pem(node_cert_pem).unwrap(), Certificate::from_pem(service_cert_pem).unwrap()))
        }
        _ => None,
    })
}

fn network(node: &mut Node) -> serde_json::Value {
    node.ask(Caller::default(), Request::Network).body
}

#[test]
fn members_renew_the_service_and_node_certificates_and_the_node_serves_them_once_committed() {
    let (mut node, _) = Node::start(config(5, 1000, 1_000_000), 1);
    node.open_service();
    let before = node.write_tx(1, "before the renewal");
    node.settle();
    let old_receipt: Receipt = serde_json::from_value(node.receipt(before).body).unwrap();
    let old_service = identities().service_cert.clone();
    let old_node = Certificate::from_pem(&identities().signer.cert_pem).unwrap();
    let now_s = (node.now_ms / 1000) as i64;
    let valid_from = cairn_gov::format_valid_from(now_s);
    assert_eq!(
        network(&mut node)["service_certificate_valid_to"],
        json!(rfc3339(old_service.validity_unix_s().1)),
        "the service certificate's notAfter"
    );

    let (_, mut actions) = node.propose_and_approve(json!([
        {"name": "set_service_certificate_validity", "args": {"valid_from": valid_from, "validity_period_days": 30}},
        {"name": "set_all_nodes_certificate_validity", "args": {"valid_from": valid_from}},
    ]));
    assert!(served(&actions).is_none(), "nothing is served before the renewal is committed");
    actions.extend(node.settle());
    let (node_cert, service_cert) = served(&actions).expect("the renewed chain is served once committed");

    // Same keys and subjects, new dates: 30 days for the service, the maximum (365) for nodes.
    assert!(service_cert.same_key(&old_service) && service_cert != old_service);
    assert_eq!(service_cert.validity_unix_s(), (now_s, now_s + 30 * DAY_S));
    assert!(node_cert.same_key(&old_node) && node_cert != old_node);
    assert_eq!(node_cert.validity_unix_s(), (now_s, now_s + 365 * DAY_S));
    assert_eq!(node_cert.subject_alt_names(), old_node.subject_alt_names());
    node_cert.verify_issued_by(&service_cert.verifying_key().unwrap()).unwrap();
    let net = network(&mut node);
    assert_eq!(net["service_certificate"], service_cert.pem());
    assert_eq!(net["service_certificate_valid_to"], json!(rfc3339(now_s + 30 * DAY_S)));
    let nodes = node.ask(Caller::default(), Request::NetworkNodes).body;
    assert_eq!(nodes["nodes"][0]["certificate_valid_to"], json!(rfc3339(now_s + 365 * DAY_S)));

    // The identity did not change: receipts from before and after verify against the renewed
    // certificate (and the old one).
    old_receipt.verify(&service_cert).expect("a receipt from before the renewal, against the renewed certificate");
    let after = node.write_tx(2, "after the renewal");
    node.settle();
    let new_receipt: Receipt = serde_json::from_value(node.receipt(after).body).unwrap();
    new_receipt.verify(&service_cert).unwrap();
    new_receipt.verify(&old_service).unwrap();
    // Serving is not repeated for the same certificates.
    node.write_tx(3, "later");
    assert!(served(&node.settle()).is_none());
}

fn propose(node: &mut Node, actions: serde_json::Value) -> cairn_node::Response {
    let body = node.member_request("proposal", None, &json!({ "actions": actions }));
    node.ask(Caller::default(), Request::Propose { body })
}

#[test]
fn renewals_outside_the_maximum_with_a_bad_date_or_an_unknown_node_are_refused_when_proposed() {
    let mut config = config(5, 1000, 1_000_000);
    config.maximum_certificate_validity_days = (60, 90);
    let (mut node, _) = Node::start(config, 2);
    node.open_service();
    let before = network(&mut node);
    let from = "20270101000000Z";
    let cases = [
        (
            json!([{"name": "set_service_certificate_validity", "args": {"valid_from": from, "validity_period_days": 61}}]),
            "between 1 and maximum_service_certificate_validity_days (60)",
        ),
        (
            json!([{"name": "set_all_nodes_certificate_validity", "args": {"valid_from": from, "validity_period_days": 91}}]),
            "between 1 and maximum_node_certificate_validity_days (90)",
        ),
        (
            json!([{"name": "set_service_certificate_validity", "args": {"valid_from": from, "validity_period_days": 0}}]),
            "at least 1",
        ),
        (
            json!([{"name": "set_service_certificate_validity", "args": {"valid_from": "2027-01-01"}}]),
            "actions[0].args.valid_from",
        ),
        (
            json!([{"name": "set_node_certificate_validity", "args": {"node_id": "ab".repeat(32), "valid_from": from}}]),
            "is not known",
        ),
        (json!([{"name": "set_node_certificate_validity", "args": {"valid_from": from}}]), "node_id"),
    ];
    for (actions, expected) in cases {
        let r = propose(&mut node, actions.clone());
        assert_eq!(r.status, 400, "{actions}: {:?}", r.body);
        let text = r.body.to_string();
        assert!(text.contains(expected), "{actions}: {text}");
    }
    assert_eq!(network(&mut node), before, "nothing changed");
    // Within the maximum, and for this node by id: accepted.
    let id = identities().signer.node_id.clone();
    node.propose_and_approve(json!([
        {"name": "set_node_certificate_validity", "args": {"node_id": id, "valid_from": "270101000000Z", "validity_period_days": 90}}
    ]));
    let (node_cert, _) = served(&node.settle()).expect("served");
    let jan_2027 = cairn_gov::parse_valid_from("20270101000000Z").unwrap();
    assert_eq!(node_cert.validity_unix_s(), (jan_2027, jan_2027 + 90 * DAY_S));
}

fn rfc3339(unix_s: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_s)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}
