//! Helpers shared by the integration tests: minimal valid configurations and in-place edits of a
//! JSON value by dotted path (`command.start.members[0].certificate_file`).
#![allow(dead_code)]
use serde_json::{Value, json};

/// The smallest valid `Start` configuration (one recovery member).
pub fn minimal_start() -> Value {
    json!({
        "network": {
            "node_to_node_interface": {"bind_address": "127.0.0.1:8081"},
            "rpc_interfaces": {"primary": {"bind_address": "127.0.0.1:8080"}}
        },
        "command": {
            "type": "Start",
            "start": {
                "members": [{"certificate_file": "member0_cert.pem", "encryption_public_key_file": "member0_enc_pubk.pem"}]
            }
        }
    })
}

/// The smallest valid `Join` configuration.
pub fn minimal_join() -> Value {
    let mut v = minimal_start();
    v["command"] = json!({"type": "Join", "join": {"target_rpc_address": "127.0.0.1:8000"}});
    v
}

/// The smallest valid `Recover` configuration.
pub fn minimal_recover() -> Value {
    let mut v = minimal_start();
    v["command"] =
        json!({"type": "Recover", "recover": {"previous_service_identity_file": "previous_service_cert.pem"}});
    v
}

/// One step of a path: an object key or an array index.
enum Step {
    Key(String),
    Index(usize),
}

fn steps(path: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        out.push(Step::Key(key.to_owned()));
        for index in rest.split('[').filter(|s| !s.is_empty()) {
            out.push(Step::Index(index.trim_end_matches(']').parse().expect("index")));
        }
    }
    out
}

/// Sets the value at `path`, creating missing objects on the way.
pub fn set(root: &mut Value, path: &str, new: Value) {
    let mut at = root;
    for step in steps(path) {
        at = match step {
            Step::Key(k) => {
                if !at.is_object() {
                    *at = json!({});
                }
                at.as_object_mut().unwrap().entry(k).or_insert(Value::Null)
            }
            Step::Index(i) => {
                let items = at.as_array_mut().expect("array");
                if i == items.len() {
                    items.push(Value::Null);
                }
                &mut items[i]
            }
        };
    }
    *at = new;
}

/// Removes the key at `path` (which must end with a key).
pub fn remove(root: &mut Value, path: &str) {
    let (parent, key) = path.rsplit_once('.').map_or(("", path), |(p, k)| (p, k));
    let mut at = root;
    if !parent.is_empty() {
        for step in steps(parent) {
            at = match step {
                Step::Key(k) => at.get_mut(&k).expect("parent key"),
                Step::Index(i) => &mut at.as_array_mut().expect("array")[i],
            };
        }
    }
    at.as_object_mut().expect("object").remove(key).expect("key to remove");
}

/// The key path a warning is about (the text before the first `": "`).
pub fn warning_key(warning: &str) -> &str {
    warning.split_once(": ").map_or(warning, |(k, _)| k)
}
