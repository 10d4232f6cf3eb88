//! Governance request payloads a member sends, in CCF's shapes: a proposal is
//! `{"actions":[{"name": ACTION, "args": {...}}, ...]}`; a ballot is `{"ballot":"approve"|"reject"}`;
//! a recovery share submission is `{"share": base64 of the 44-byte share}`.
//!
//! Proposals are checked for shape before they are signed, so a typo fails locally with the
//! reason instead of as a refusal from the service.
use base64::Engine;
use serde_json::{Value, json};

/// The action `open-service` proposes.
pub const TRANSITION_SERVICE_TO_OPEN: &str = "transition_service_to_open";

/// Checks that `proposal` is `{"actions": [ {"name": non-empty string, "args"?: object}, ... ]}`
/// with at least one action.
pub fn check_proposal(proposal: &Value) -> Result<(), String> {
    let actions = proposal
        .get("actions")
        .and_then(Value::as_array)
        .ok_or_else(|| "proposal: expected an object with an \"actions\" array".to_string())?;
    if actions.is_empty() {
        return Err("proposal: \"actions\" is empty".into());
    }
    for (i, action) in actions.iter().enumerate() {
        match action.get("name").and_then(Value::as_str) {
            Some(name) if !name.is_empty() => {}
            _ => return Err(format!("proposal: actions[{i}].name must be a non-empty string")),
        }
        if action.get("args").is_some_and(|a| !a.is_object()) {
            return Err(format!("proposal: actions[{i}].args must be an object"));
        }
    }
    Ok(())
}

/// The one-action proposal for `--action NAME [--args JSON]` (no args: `{}`).
pub fn proposal_from_action(name: &str, args_json: Option<&str>) -> Result<Value, String> {
    let args: Value = match args_json {
        None => json!({}),
        Some(text) => serde_json::from_str(text).map_err(|e| format!("--args: not JSON: {e}"))?,
    };
    let proposal = json!({ "actions": [ { "name": name, "args": args } ] });
    check_proposal(&proposal)?;
    Ok(proposal)
}

/// `transition_service_to_open` with `{next_service_identity, previous_service_identity?}` (PEMs).
pub fn open_service_proposal(next_service_identity: &str, previous_service_identity: Option<&str>) -> Value {
    let mut args = json!({ "next_service_identity": next_service_identity });
    if let Some(previous) = previous_service_identity {
        args["previous_service_identity"] = json!(previous);
    }
    json!({ "actions": [ { "name": TRANSITION_SERVICE_TO_OPEN, "args": args } ] })
}

/// `set_service_certificate_validity` and `set_all_nodes_certificate_validity` in one proposal:
/// every certificate of the service renewed from `valid_from_unix_s` for `days` (`None`: the
/// service's configured maximums).
pub fn renew_certificates_proposal(valid_from_unix_s: i64, days: Option<u64>) -> Value {
    let mut args = json!({ "valid_from": cairn_gov::format_valid_from(valid_from_unix_s) });
    if let Some(days) = days {
        args["validity_period_days"] = json!(days);
    }
    json!({ "actions": [
        { "name": "set_service_certificate_validity", "args": args },
        { "name": "set_all_nodes_certificate_validity", "args": args },
    ] })
}

/// The payload of a ballot.
pub fn ballot_payload(approve: bool) -> Vec<u8> {
    serde_json::to_vec(&json!({ "ballot": if approve { "approve" } else { "reject" } })).expect("json")
}

/// The payload of a recovery share submission.
pub fn recovery_share_payload(share: &[u8]) -> Vec<u8> {
    let share = base64::engine::general_purpose::STANDARD.encode(share);
    serde_json::to_vec(&json!({ "share": share })).expect("json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_shorthand_builds_a_one_action_proposal() {
        let table = [
            ("trigger_snapshot", None, json!({})),
            ("set_recovery_threshold", Some(r#"{"recovery_threshold":2}"#), json!({"recovery_threshold": 2})),
        ];
        for (name, args, want_args) in table {
            let p = proposal_from_action(name, args).unwrap();
            assert_eq!(p["actions"].as_array().unwrap().len(), 1);
            assert_eq!(p["actions"][0]["name"], name);
            assert_eq!(p["actions"][0]["args"], want_args);
        }
    }

    #[test]
    fn malformed_proposals_are_refused_locally_with_the_reason() {
        let table = [
            (proposal_from_action("x", Some("{not json")), "not JSON"),
            (proposal_from_action("x", Some("[1,2]")), "args must be an object"),
            (proposal_from_action("", None), "name must be a non-empty string"),
            (check_proposal(&json!({"actions": []})).map(|_| json!(null)), "is empty"),
            (check_proposal(&json!({"action": []})).map(|_| json!(null)), "\"actions\" array"),
            (check_proposal(&json!([1])).map(|_| json!(null)), "\"actions\" array"),
            (check_proposal(&json!({"actions": [{"args": {}}]})).map(|_| json!(null)), "actions[0].name"),
        ];
        for (got, reason) in table {
            let err = got.unwrap_err();
            assert!(err.contains(reason), "{err} should mention {reason}");
        }
    }

    #[test]
    fn open_service_proposal_names_both_identities_only_when_given() {
        let with = open_service_proposal("NEW", Some("OLD"));
        check_proposal(&with).unwrap();
        assert_eq!(with["actions"][0]["name"], TRANSITION_SERVICE_TO_OPEN);
        assert_eq!(
            with["actions"][0]["args"],
            json!({"next_service_identity": "NEW", "previous_service_identity": "OLD"})
        );
        let without = open_service_proposal("NEW", None);
        assert_eq!(without["actions"][0]["args"], json!({"next_service_identity": "NEW"}));
    }

    #[test]
    fn ballots_and_share_payloads_have_ccf_shapes() {
        for (approve, word) in [(true, "approve"), (false, "reject")] {
            let v: Value = serde_json::from_slice(&ballot_payload(approve)).unwrap();
            assert_eq!(v, json!({ "ballot": word }));
        }
        let share = [7u8; 44];
        let v: Value = serde_json::from_slice(&recovery_share_payload(&share)).unwrap();
        let decoded = base64::engine::general_purpose::STANDARD.decode(v["share"].as_str().unwrap()).unwrap();
        assert_eq!(decoded, share);
    }
}
