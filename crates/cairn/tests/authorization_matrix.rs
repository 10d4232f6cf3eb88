//! Issue 11: every route × every kind of caller, with the status each must get, as one table.
//! A route added to `cairn-server/src/http_api.rs` without a row here fails
//! `every_route_has_a_row` (the routes are read from the router's source).
//!
//! Callers: anonymous (no client certificate), the user u0, the member m0, a stranger (a valid
//! self-signed certificate nobody registered), and the node's own certificate (endorsed by the
//! service). Each request is the minimal one for the route (bodies that are not a valid signed
//! governance request, for instance): the point is who gets past authentication, and that no
//! one gets a 5xx.
mod support;

use cairn_client::{ClientIdentity, build_tls_config};
use std::collections::BTreeSet;
use support::member::open_service_with_user;
use support::node_process::{NodeOptions, NodeProcess};

#[derive(Clone, Copy, Debug)]
enum Who {
    Anonymous,
    User,
    Member,
    Stranger,
    Node,
}

const WHO: [Who; 5] = [Who::Anonymous, Who::User, Who::Member, Who::Stranger, Who::Node];

/// (method, route as in the router, concrete path and query, body, expected status for
/// anonymous, user, member, stranger, node).
type Row = (&'static str, &'static str, &'static str, &'static str, [u16; 5]);

const MATRIX: &[Row] = &[
    ("POST", "/app/log/private", "/app/log/private", r#"{"id": 1, "msg": "x"}"#, [401, 200, 401, 401, 401]),
    ("POST", "/app/log/private", "/app/log/private", "{}", [401, 400, 401, 401, 401]),
    ("GET", "/app/log/private", "/app/log/private?id=1", "", [401, 200, 401, 401, 401]),
    ("GET", "/app/log/private", "/app/log/private", "", [401, 400, 401, 401, 401]),
    ("POST", "/app/log/public", "/app/log/public", r#"{"id": 1, "msg": "x"}"#, [401, 200, 401, 401, 401]),
    ("POST", "/app/log/public", "/app/log/public", "not json", [401, 400, 401, 401, 401]),
    ("GET", "/app/log/public", "/app/log/public?id=1", "", [401, 404, 401, 401, 401]),
    ("GET", "/app/log/public", "/app/log/public?id=x", "", [401, 400, 401, 401, 401]),
    ("GET", "/node/state", "/node/state", "", [200, 200, 200, 200, 200]),
    ("GET", "/node/network", "/node/network", "", [200, 200, 200, 200, 200]),
    ("GET", "/node/network/nodes", "/node/network/nodes", "", [200, 200, 200, 200, 200]),
    ("GET", "/node/primary", "/node/primary", "", [200, 200, 200, 200, 200]),
    ("GET", "/node/commit", "/node/commit", "", [200, 200, 200, 200, 200]),
    ("GET", "/node/consensus", "/node/consensus", "", [200, 200, 200, 200, 200]),
    ("POST", "/node/join", "/node/join", "{}", [400, 400, 400, 400, 400]),
    ("GET", "/node/snapshot", "/node/snapshot", "", [404, 404, 404, 404, 404]),
    ("GET", "/node/snapshot/{name}", "/node/snapshot/snapshot_1_2.committed", "", [404, 404, 404, 404, 404]),
    ("GET", "/node/snapshot/{name}", "/node/snapshot/..%2Fnode_data%2Fnode_privk.pem", "", [400, 400, 400, 400, 400]),
    ("GET", "/node/service/previous_identity", "/node/service/previous_identity", "", [404, 404, 404, 404, 404]),
    ("GET", "/node/tx", "/node/tx?transaction_id=2.1", "", [200, 200, 200, 200, 200]),
    ("GET", "/node/receipt", "/node/receipt?transaction_id=2.1", "", [200, 200, 200, 200, 200]),
    ("GET", "/gov/service/info", "/gov/service/info", "", [200, 200, 200, 200, 200]),
    ("GET", "/gov/members/proposals", "/gov/members/proposals", "", [200, 200, 200, 200, 200]),
    ("POST", "/gov/members/proposals:create", "/gov/members/proposals:create", "{}", [401, 401, 401, 401, 401]),
    ("GET", "/gov/members/proposals/{segment}", "/gov/members/proposals/nosuch", "", [404, 404, 404, 404, 404]),
    (
        "POST",
        "/gov/members/proposals/{segment}",
        "/gov/members/proposals/nosuch:withdraw",
        "{}",
        [401, 401, 401, 401, 401],
    ),
    (
        "POST",
        "/gov/members/proposals/{id}/ballots/{segment}",
        "/gov/members/proposals/nosuch/ballots/{m0}:submit",
        "{}",
        [401, 401, 401, 401, 401],
    ),
    (
        "GET",
        "/gov/recovery/encrypted-shares/{member}",
        "/gov/recovery/encrypted-shares/{m0}",
        "",
        [401, 401, 200, 401, 401],
    ),
    ("POST", "/gov/recovery/members/{segment}", "/gov/recovery/members/{m0}:recover", "{}", [401, 401, 401, 401, 401]),
];

fn client(node: &NodeProcess, who: Who) -> reqwest::Client {
    let files = match who {
        Who::Anonymous => None,
        Who::User => Some(("u0_cert.pem", "u0_privk.pem")),
        Who::Member => Some(("m0_cert.pem", "m0_privk.pem")),
        Who::Stranger => Some(("stranger_cert.pem", "stranger_privk.pem")),
        Who::Node => Some(("node_data/node_cert.pem", "node_data/node_privk.pem")),
    };
    let identity = files.map(|(c, k)| ClientIdentity {
        cert_pem: std::fs::read_to_string(node.dir.join(c)).unwrap(),
        key_pem: std::fs::read_to_string(node.dir.join(k)).unwrap(),
    });
    let tls = build_tls_config(&node.service_cert(), identity.as_ref()).unwrap();
    reqwest::Client::builder().use_preconfigured_tls(tls).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The routes `http_api.rs` registers: `.route("PATH", get(..).post(..))` → (METHOD, PATH).
fn routes_in_source() -> BTreeSet<(String, String)> {
    let src = include_str!("../../cairn-server/src/http_api.rs");
    let mut out = BTreeSet::new();
    for chunk in src.split(".route(").skip(1) {
        let path = chunk.split('"').nth(1).unwrap().to_string();
        // The handler expression runs to the route's closing parenthesis; method calls in it.
        let mut depth = 1;
        let end = chunk
            .char_indices()
            .find(|(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map(|(i, _)| i)
            .unwrap();
        let handler = &chunk[..end];
        for (method, needle) in
            [("GET", "get("), ("POST", "post("), ("PUT", "put("), ("DELETE", "delete("), ("PATCH", "patch(")]
        {
            let at_top = handler.match_indices(needle).any(|(i, _)| {
                let before = &handler[..i];
                let prev = before.chars().last();
                prev.is_none_or(|p| !p.is_alphanumeric() && p != '_')
            });
            if at_top {
                out.insert((method.to_string(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn every_route_has_a_row() {
    let routes = routes_in_source();
    assert!(routes.len() > 20, "the router's routes were found: {routes:?}");
    let rows: BTreeSet<(String, String)> = MATRIX.iter().map(|r| (r.0.to_string(), r.1.to_string())).collect();
    let missing: Vec<_> = routes.difference(&rows).collect();
    let extra: Vec<_> = rows.difference(&routes).collect();
    assert!(missing.is_empty(), "routes without a row in MATRIX: {missing:?}");
    assert!(extra.is_empty(), "rows for routes the router does not have: {extra:?}");
}

#[test]
fn every_route_answers_each_caller_as_the_matrix_says() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = NodeProcess::create(dir.path(), &NodeOptions::default());
    support::cairn_in(dir.path(), &["keygen", "user", "--name", "stranger"]);
    node.start();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(open_service_with_user(dir.path(), &node.client(Some("m0"))));
    let explore = std::env::var("CAIRN_AUTH_MATRIX_PRINT").is_ok();
    let mut wrong = Vec::new();
    rt.block_on(async {
        let clients: Vec<reqwest::Client> = WHO.iter().map(|w| client(&node, *w)).collect();
        let m0 = support::member::Member::load(dir.path(), "m0").id;
        for &(method, route, path, body, expected) in MATRIX {
            let mut got = [0u16; 5];
            for (i, c) in clients.iter().enumerate() {
                let url = format!("{}{}", node.url(), path.replace("{m0}", &m0));
                let req = match method {
                    "GET" => c.get(&url),
                    "POST" => c.post(&url).header("content-type", "application/json").body(body),
                    other => panic!("method {other}"),
                };
                got[i] = req.send().await.unwrap().status().as_u16();
            }
            if explore {
                // CAIRN_AUTH_MATRIX_PRINT=1: what each caller gets, to fill a new row.
                println!("{method} {route} {path} {body}: {got:?}");
            } else if got != expected {
                wrong.push(format!(
                    "{method} {path}: expected {expected:?}, got {got:?} (anonymous, user, member, stranger, node)"
                ));
            }
            assert!(got.iter().all(|s| *s < 500 || *s == 503), "{method} {path}: a server error {got:?}");
        }
    });
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    node.stop();
}
