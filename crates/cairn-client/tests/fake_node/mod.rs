//! An in-process HTTPS node speaking the subset of SPEC §6 the client tests need, over real
//! TLS: a service CA, a node certificate endorsed by it (SAN 127.0.0.1 / localhost), and
//! mandatory client certificates from a given set of trusted user certificates (or none).
//!
//! Behaviour: writes get ids `2.1`, `2.2`, ...; `/node/tx` reports a transaction Pending for its
//! first two polls, then Committed; `2.999` is Invalid; view 3 is always Unknown. Every request
//! is recorded so tests can check what the client sent.
#![allow(dead_code)]
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use cairn_crypto::{Certificate, CertificateRequest, SigningKey};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;

pub struct Identity {
    pub key: SigningKey,
    pub cert: Certificate,
}

fn now_s() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn request(name: &str, sans: &[&str], is_ca: bool) -> CertificateRequest {
    CertificateRequest {
        common_name: name.into(),
        subject_alt_names: sans.iter().map(|s| s.to_string()).collect(),
        not_before_unix_s: now_s() - 60,
        validity_days: 1,
        is_ca,
    }
}

pub fn self_signed(name: &str, is_ca: bool) -> Identity {
    let key = SigningKey::generate().unwrap();
    let cert = Certificate::self_signed(&key, &request(name, &[], is_ca)).unwrap();
    Identity { key, cert }
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path_and_query: String,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Default)]
pub struct FakeState {
    pub seqno: u64,
    pub records: HashMap<u64, String>,
    pub polls: HashMap<String, u32>,
    pub requests: Vec<Recorded>,
    pub proposals: Vec<Value>,
    /// Base64 text `GET /gov/recovery/encrypted-shares/{member}` returns.
    pub encrypted_share_b64: Option<String>,
}

pub struct FakeNode {
    pub url: String,
    pub service: Identity,
    pub state: Arc<Mutex<FakeState>>,
}

fn error(status: u16, code: &str, message: &str) -> Response {
    let body = json!({ "error": { "code": code, "message": message } });
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

fn query_param<'a>(uri: &'a Uri, name: &str) -> Option<&'a str> {
    uri.query()?.split('&').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

fn handle(state: &Mutex<FakeState>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let mut s = state.lock().unwrap();
    s.requests.push(Recorded {
        method: method.to_string(),
        path_and_query: uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
        content_type: headers.get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string),
        body: body.to_vec(),
    });
    let path = uri.path();
    if path.starts_with("/gov/") && query_param(&uri, "api-version") != Some("2023-06-01-preview") {
        return error(400, "MissingApiVersion", "api-version is required");
    }
    let cose = headers.get("content-type").is_some_and(|v| v == "application/cose");
    match (method.clone(), path) {
        (Method::POST, "/app/log/private" | "/app/log/public") => {
            let Ok(v) = serde_json::from_slice::<Value>(&body) else {
                return error(400, "InvalidInput", "body is not JSON");
            };
            let (Some(id), Some(msg)) = (v["id"].as_u64(), v["msg"].as_str()) else {
                return error(400, "InvalidInput", "expected {id, msg}");
            };
            s.records.insert(id, msg.to_string());
            s.seqno += 1;
            let txid = format!("2.{}", s.seqno);
            ([("x-ms-ccf-transaction-id", txid)], axum::Json(json!({}))).into_response()
        }
        (Method::GET, "/app/log/private" | "/app/log/public") => {
            let id: Option<u64> = query_param(&uri, "id").and_then(|v| v.parse().ok());
            match id.and_then(|id| s.records.get(&id)) {
                Some(msg) => axum::Json(json!({ "msg": msg })).into_response(),
                None => error(404, "ResourceNotFound", "no such record"),
            }
        }
        (Method::GET, "/node/tx") => {
            let txid = query_param(&uri, "transaction_id").unwrap_or_default().to_string();
            let status = if txid == "2.999" {
                "Invalid"
            } else if txid.starts_with("3.") {
                "Unknown"
            } else {
                let polls = s.polls.entry(txid.clone()).or_default();
                *polls += 1;
                if *polls <= 2 { "Pending" } else { "Committed" }
            };
            axum::Json(json!({ "transaction_id": txid, "status": status })).into_response()
        }
        (Method::GET, "/node/commit") => {
            axum::Json(json!({ "transaction_id": format!("2.{}", s.seqno) })).into_response()
        }
        (Method::GET, "/node/primary") => {
            (StatusCode::PERMANENT_REDIRECT, [("location", "https://127.0.0.1:1/node/primary")]).into_response()
        }
        (Method::GET, "/node/network") => axum::Json(json!({
            "service_status": "Open", "service_certificate": "PEM", "current_view": 2, "primary_id": "n0",
            "recovery_count": 0, "current_service_create_txid": "2.1"
        }))
        .into_response(),
        (Method::POST, "/gov/members/proposals:create") if cose => {
            let id = format!("p{}", s.proposals.len());
            let p = json!({ "proposalId": id, "proposerId": "m", "proposalState": "Open", "ballotCount": 0 });
            s.proposals.push(p.clone());
            axum::Json(p).into_response()
        }
        (Method::POST, p) if cose && p.starts_with("/gov/members/proposals/") && p.contains("/ballots/") => {
            let id = p.trim_start_matches("/gov/members/proposals/").split('/').next().unwrap().to_string();
            match s.proposals.iter_mut().find(|p| p["proposalId"] == id) {
                Some(p) => {
                    p["proposalState"] = json!("Accepted");
                    p["ballotCount"] = json!(1);
                    axum::Json(p.clone()).into_response()
                }
                None => error(404, "ProposalNotFound", "no such proposal"),
            }
        }
        (Method::POST, p) if cose && p.starts_with("/gov/members/proposals/") && p.ends_with(":withdraw") => {
            let id = p.trim_start_matches("/gov/members/proposals/").trim_end_matches(":withdraw").to_string();
            match s.proposals.iter_mut().find(|p| p["proposalId"] == id) {
                Some(p) => {
                    p["proposalState"] = json!("Withdrawn");
                    axum::Json(p.clone()).into_response()
                }
                None => error(404, "ProposalNotFound", "no such proposal"),
            }
        }
        (Method::GET, "/gov/members/proposals") => axum::Json(json!({ "value": s.proposals })).into_response(),
        (Method::GET, p) if p.starts_with("/gov/recovery/encrypted-shares/") => match &s.encrypted_share_b64 {
            Some(b64) => axum::Json(json!({ "memberId": "m", "encryptedShare": b64 })).into_response(),
            None => error(404, "ResourceNotFound", "no share"),
        },
        (Method::POST, p) if cose && p.starts_with("/gov/recovery/members/") && p.ends_with(":recover") => {
            axum::Json(json!({ "message": "1/1 recovery shares successfully submitted", "submittedCount": 1,
                               "recoveryThreshold": 1 }))
            .into_response()
        }
        _ => error(404, "ResourceNotFound", &format!("{method} {path}")),
    }
}

impl FakeNode {
    /// Starts the node on 127.0.0.1:0. `users`: client certificates it accepts; empty means
    /// client certificates are optional and unchecked.
    pub async fn start(users: &[&Certificate]) -> FakeNode {
        let service = self_signed("service", true);
        let node_key = SigningKey::generate().unwrap();
        let node_cert = Certificate::endorsed(
            &node_key.public_key_der(),
            &request("node0", &["127.0.0.1", "localhost"], false),
            &service.cert,
            &service.key,
        )
        .unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if users.is_empty() {
            builder.with_no_client_auth()
        } else {
            let mut roots = rustls::RootCertStore::empty();
            for u in users {
                roots.add(u.der().to_vec().into()).unwrap();
            }
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap();
            builder.with_client_cert_verifier(verifier)
        };
        let key_der: rustls::pki_types::PrivateKeyDer<'static> =
            rustls::pki_types::pem::PemObject::from_pem_slice(node_key.to_pem().as_bytes()).unwrap();
        let mut config = builder.with_single_cert(vec![node_cert.der().to_vec().into()], key_der).unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

        let state = Arc::new(Mutex::new(FakeState::default()));
        let app_state = state.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = app_state.clone();
            async move { handle(&state, method, uri, headers, body) }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://127.0.0.1:{}", listener.local_addr().unwrap().port());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let acceptor = acceptor.clone();
                let app = app.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let service = hyper_util::service::TowerToHyperService::new(app);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        FakeNode { url, service, state }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }
}
