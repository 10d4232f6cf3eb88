//! The HTTPS API of a real node process: who may call what (users by TLS client certificate,
//! members by COSE Sign1 signatures), malformed and oversized bodies, replayed governance
//! requests, and the CCF error shape `{error: {code, message}}`.
mod support;

use cairn_client::{ClientIdentity, LogTable, build_tls_config};
use serde_json::{Value, json};
use support::member::{Member, open_service_with_user};
use support::node_process::{NodeOptions, NodeProcess};

/// A raw HTTPS client (to send what the typed client never would).
fn raw_client(node: &NodeProcess, identity: Option<&str>) -> reqwest::Client {
    let identity = identity.map(|n| ClientIdentity {
        cert_pem: std::fs::read_to_string(node.dir.join(format!("{n}_cert.pem"))).unwrap(),
        key_pem: std::fs::read_to_string(node.dir.join(format!("{n}_privk.pem"))).unwrap(),
    });
    let tls = build_tls_config(&node.service_cert(), identity.as_ref()).unwrap();
    reqwest::Client::builder().use_preconfigured_tls(tls).build().unwrap()
}

async fn post(c: &reqwest::Client, url: String, body: Vec<u8>) -> (u16, Value) {
    let r = c.post(url).body(body).header("content-type", "application/json").send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_else(|| panic!("expected a CCF error body, got {v}"))
}

#[test]
fn users_and_members_are_authenticated_and_bad_requests_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = NodeProcess::create(dir.path(), &NodeOptions { members: 2, ..NodeOptions::default() });
    node.start();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let url = |p: &str| format!("{}{p}", node.url());
        let anonymous = raw_client(&node, None);
        let user = raw_client(&node, Some("u0"));
        let write = json!({"id": 1, "msg": "hello"}).to_string().into_bytes();

        // Before the user is registered: its certificate is unknown.
        let (status, body) = post(&user, url("/app/log/private"), write.clone()).await;
        assert_eq!((status, code(&body)), (401, "InvalidAuthenticationInfo"), "{body}");

        // Two members: a proposal needs both (strict majority of 2).
        let m0 = Member::load(dir.path(), "m0");
        let m1 = Member::load(dir.path(), "m1");
        let gov = node.client(None);
        let user_cert = std::fs::read_to_string(dir.path().join("u0_cert.pem")).unwrap();
        let actions = json!({"actions": [{"name": "set_user", "args": {"cert": user_cert}}]});
        let signed = m0.sign("proposal", None, &actions);
        let p = gov.propose(signed.clone()).await.expect("member proposes");
        assert_eq!(p.proposal_state, "Open");
        // The same signed bytes again: a replay.
        let replay = gov.propose(signed).await.expect_err("replayed proposal");
        assert_eq!(replay.http_status(), Some(400), "{replay}");
        assert_eq!(replay.server_code(), Some("ProposalReplay"), "{replay}");
        // A user is not a member: it cannot propose, even signing as itself.
        let user_key = Member::load(dir.path(), "u0");
        let refused = gov.propose(user_key.sign("proposal", None, &actions)).await.expect_err("non-member proposal");
        assert!(matches!(refused.http_status(), Some(401 | 403)), "{refused}");
        // ... nor vote.
        let ballot = user_key.sign("ballot", Some(&p.proposal_id), &json!({"ballot": "approve"}));
        let refused = gov.submit_ballot(&p.proposal_id, &user_key.id, ballot).await.expect_err("non-member ballot");
        assert!(matches!(refused.http_status(), Some(401 | 403)), "{refused}");
        // A member voting under another member's id.
        let ballot = m0.sign("ballot", Some(&p.proposal_id), &json!({"ballot": "approve"}));
        let refused = gov.submit_ballot(&p.proposal_id, &m1.id, ballot).await.expect_err("ballot under another id");
        assert!(matches!(refused.http_status(), Some(401 | 403)), "{refused}");
        // One approval of two is not a majority; two are.
        let after = gov
            .submit_ballot(&p.proposal_id, &m0.id, m0.sign("ballot", Some(&p.proposal_id), &json!({"ballot": "approve"})))
            .await
            .unwrap();
        assert_eq!(after.proposal_state, "Open");
        let after = gov
            .submit_ballot(&p.proposal_id, &m1.id, m1.sign("ballot", Some(&p.proposal_id), &json!({"ballot": "approve"})))
            .await
            .unwrap();
        assert_eq!(after.proposal_state, "Accepted");

        // Registered, but the service is not open yet.
        let (status, body) = post(&user, url("/app/log/private"), write.clone()).await;
        assert_eq!((status, code(&body)), (503, "FrontendNotOpen"), "{body}");
        let open = json!({"actions": [{"name": "transition_service_to_open", "args": {"next_service_identity": node.service_cert()}}]});
        let p = gov.propose(m0.sign("proposal", None, &open)).await.unwrap();
        for m in [&m0, &m1] {
            gov.submit_ballot(&p.proposal_id, &m.id, m.sign("ballot", Some(&p.proposal_id), &json!({"ballot": "approve"})))
                .await
                .unwrap();
        }
        assert_eq!(gov.network().await.unwrap().service_status, "Open");

        // Without a client certificate: 401, CCF's error shape.
        let (status, body) = post(&anonymous, url("/app/log/private"), write.clone()).await;
        assert_eq!((status, code(&body)), (401, "InvalidAuthenticationInfo"), "{body}");
        // A member certificate is not a user certificate.
        let (status, body) = post(&raw_client(&node, Some("m0")), url("/app/log/public"), write.clone()).await;
        assert_eq!((status, code(&body)), (401, "InvalidAuthenticationInfo"), "{body}");

        // Malformed bodies name the field.
        for (bad, field) in [(json!({"msg": "x"}), "id"), (json!({"id": 1, "msg": 7}), "msg"), (json!({"id": "one", "msg": "x"}), "id")] {
            let (status, body) = post(&user, url("/app/log/private"), bad.to_string().into_bytes()).await;
            assert_eq!(status, 400, "{body}");
            assert!(body["error"]["message"].as_str().unwrap().starts_with(&format!("{field}:")), "{body}");
        }
        let (status, body) = post(&user, url("/app/log/private"), b"{not json".to_vec()).await;
        assert_eq!(status, 400, "{body}");
        // Bodies are bounded.
        // The server answers 413 from the Content-Length and closes without reading the body,
        // so the client may see its write fail (EPIPE) instead of the answer: either is a refusal.
        let huge = json!({"id": 1, "msg": "x".repeat(2 << 20)}).to_string().into_bytes();
        let sent = user.post(url("/app/log/private")).body(huge).header("content-type", "application/json").send().await;
        match sent {
            Ok(r) => {
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                assert_eq!((status, code(&body)), (413, "RequestBodyTooLarge"), "{body}");
            }
            Err(e) => assert!(format!("{e:?}").contains("BrokenPipe") || e.is_request(), "{e:?}"),
        }

        // A declared Content-Length over the limit is refused at once, before any body byte.
        {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let cert = std::fs::read_to_string(node.dir.join("service_cert.pem")).unwrap();
            let tls = std::sync::Arc::new(cairn_client::build_tls_config(&cert, None).unwrap());
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", node.port)).await.unwrap();
            let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
            let mut s = tokio_rustls::TlsConnector::from(tls).connect(name, tcp).await.unwrap();
            s.write_all(b"POST /app/log/private HTTP/1.1\r\nHost: cairn\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n")
                .await
                .unwrap();
            let mut head = vec![0u8; 1024];
            let n = tokio::time::timeout(std::time::Duration::from_secs(2), s.read(&mut head))
                .await
                .expect("answered at once, not after waiting for the body")
                .unwrap();
            let head = String::from_utf8_lossy(&head[..n]);
            assert!(head.starts_with("HTTP/1.1 413"), "{head}");
            assert!(head.contains("RequestBodyTooLarge"), "{head}");
        }
        // A method an endpoint does not serve: 405 with CCF's error JSON.
        let r = anonymous.delete(url("/node/state")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 405);
        let body: Value = r.json().await.unwrap();
        assert_eq!(code(&body), "MethodNotAllowed", "{body}");

        // A good write answers with its transaction id, and commits.
        let client = node.client(Some("u0"));
        let tx = client.log_write(LogTable::Private, 1, "hello").await.unwrap();
        client.wait_committed(tx, std::time::Duration::from_secs(10)).await.unwrap();
        assert_eq!(client.log_read(LogTable::Private, 1).await.unwrap().as_deref(), Some("hello"));
        assert_eq!(client.log_read(LogTable::Public, 1).await.unwrap(), None);
        let missing = anonymous.get(url("/node/tx?transaction_id=banana")).send().await.unwrap();
        assert_eq!(missing.status().as_u16(), 400);
        let unknown = anonymous.get(url("/no/such/endpoint")).send().await.unwrap();
        assert_eq!(unknown.status().as_u16(), 404);
    });
    let _ = open_service_with_user; // the one-member helper is used by other tests
    node.stop();
}
