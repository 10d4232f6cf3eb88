//! The etcd side of the etcd comparison (`cairn bench etcd`): the same closed-loop load as
//! `cairn bench write` (`run_write_bench`: same clients, warm-up, measured window, exact
//! percentiles and report), writing through etcd v3's JSON gateway (`POST /v3/kv/put`, key and
//! value base64, as etcd 3.4 serves it on its client URLs) instead of to a Cairn node.
//!
//! etcd answers a put only once the entry is committed by raft (a majority appended it to its
//! WAL and fsynced) and applied on the member that took the request, so the put's answer is the
//! commit: `wait_committed` has nothing left to wait for, and commit latency = put latency
//! (ack latency is the same measure, less a few nanoseconds).
//!
//! Keys are `cairn-bench/<id as 16 hex digits>` (ids from `record_id`, so no two puts of a run
//! touch the same key), values are `record_value(id, value_bytes)`. Client `c` sends all its puts
//! to endpoint `c mod endpoints`: with every member listed, followers forward to the leader as
//! etcd's own clients spread over members would. Plain `http://` only (the scripts run etcd
//! without TLS).
use super::WriteTarget;
use crate::{ClientError, TxId};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// The v3 JSON gateway path of a put in etcd 3.4 (3.3 used `/v3beta/kv/put`).
pub const PUT_PATH: &str = "/v3/kv/put";
/// Largest put answer read (a put answer is a header of four integers).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Puts to an etcd cluster through its JSON gateway; cloning shares the connection pool.
#[derive(Clone)]
pub struct EtcdWriter {
    http: reqwest::Client,
    /// `<endpoint>/v3/kv/put` for each endpoint.
    put_urls: Arc<Vec<String>>,
}

/// The part of a put answer the driver reads: etcd's response header (64-bit integers are
/// JSON strings in the gateway's answers; numbers are accepted too).
#[derive(Deserialize)]
struct PutAnswer {
    header: Option<AnswerHeader>,
}

#[derive(Deserialize)]
struct AnswerHeader {
    revision: Option<serde_json::Value>,
    raft_term: Option<serde_json::Value>,
}

fn as_u64(v: &Option<serde_json::Value>) -> Option<u64> {
    match v.as_ref()? {
        serde_json::Value::String(s) => s.parse().ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// The key of record `id`.
pub fn etcd_key(id: u64) -> String {
    format!("cairn-bench/{id:016x}")
}

/// The JSON body of the put of `key` = `value`.
pub fn put_body(key: &str, value: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "key": BASE64.encode(key),
        "value": BASE64.encode(value),
    }))
    .expect("a JSON object of two strings serializes")
}

/// The transaction id of a put answer: (raft term, revision), the revision being etcd's
/// store-wide sequence number that the put created.
pub fn parse_put_answer(body: &[u8]) -> Result<TxId, String> {
    let answer: PutAnswer = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let header = answer.header.ok_or("no header")?;
    let revision = as_u64(&header.revision).ok_or("no revision")?;
    Ok(TxId::new(as_u64(&header.raft_term).unwrap_or(0), revision))
}

impl EtcdWriter {
    /// A writer to `endpoints` (`http://127.0.0.1:2379`, ...), each request bounded by
    /// `request_timeout` (a put that has not answered by then counts as a transport timeout).
    pub fn new(endpoints: &[String], request_timeout: Duration) -> Result<EtcdWriter, ClientError> {
        if endpoints.is_empty() {
            return Err(ClientError::Config { what: "etcd endpoints", reason: "none given".into() });
        }
        let mut put_urls = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            let endpoint = endpoint.trim().trim_end_matches('/');
            let parsed = reqwest::Url::parse(endpoint)
                .map_err(|e| ClientError::Config { what: "etcd endpoint", reason: format!("{endpoint:?}: {e}") })?;
            if parsed.scheme() != "http" || parsed.host().is_none() || parsed.path() != "/" {
                return Err(ClientError::Config {
                    what: "etcd endpoint",
                    reason: format!("{endpoint:?}: expected http://HOST:PORT"),
                });
            }
            put_urls.push(format!("{endpoint}{PUT_PATH}"));
        }
        // No TLS is ever used (http:// only), but reqwest's rustls backend wants a provider.
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Config { what: "TLS", reason: e.to_string() })?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(request_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| ClientError::Config { what: "HTTP client", reason: e.to_string() })?;
        Ok(EtcdWriter { http, put_urls: Arc::new(put_urls) })
    }

    /// The put URL client `client` uses.
    pub fn put_url(&self, client: usize) -> &str {
        &self.put_urls[client % self.put_urls.len()]
    }

    /// Puts `key` = `value` through `url` and returns the answer's (raft term, revision).
    async fn put(&self, url: &str, key: &str, value: &str) -> Result<TxId, ClientError> {
        let mut response = self
            .http
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .body(put_body(key, value))
            .send()
            .await
            .map_err(|e| ClientError::from_reqwest("POST", url, e))?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| ClientError::from_reqwest("POST", url, e))? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(ClientError::ResponseTooLarge {
                    method: "POST",
                    url: url.to_string(),
                    limit_bytes: MAX_ANSWER_BYTES,
                });
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            // etcd's gateway error body is {"error": "...", "code": <gRPC code>, "message": "..."};
            // not CCF's, so it is kept as text under the code HTTP<status>.
            return Err(ClientError::from_http_answer("POST", url, status.as_u16(), &body));
        }
        parse_put_answer(&body).map_err(|reason| ClientError::Decode {
            method: "POST",
            url: url.to_string(),
            field: "put answer header",
            reason,
        })
    }
}

impl WriteTarget for EtcdWriter {
    async fn write(&self, id: u64, msg: String) -> Result<TxId, ClientError> {
        // The client index is the id's top bits (`record_id`).
        let url = self.put_url((id >> 40) as usize);
        self.put(url, &etcd_key(id), &msg).await
    }

    /// The put was answered after its commit: nothing to wait for.
    async fn wait_committed(&self, _txid: TxId, _timeout: Duration) -> Result<(), ClientError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::record_id;

    #[test]
    fn put_bodies_carry_base64_key_and_value() {
        let body: serde_json::Value = serde_json::from_slice(&put_body("cairn-bench/01", "xyz")).unwrap();
        assert_eq!(body["key"], BASE64.encode("cairn-bench/01"));
        assert_eq!(body["value"], "eHl6");
        assert_eq!(etcd_key(0xab), "cairn-bench/00000000000000ab");
    }

    #[test]
    fn put_answers_give_term_and_revision() {
        // As etcd 3.4's gateway answers (int64 as strings), and with plain numbers.
        let answer = br#"{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"42","raft_term":"3"}}"#;
        assert_eq!(parse_put_answer(answer), Ok(TxId::new(3, 42)));
        assert_eq!(parse_put_answer(br#"{"header":{"revision":7}}"#), Ok(TxId::new(0, 7)));
        assert!(parse_put_answer(br#"{"header":{}}"#).is_err());
        assert!(parse_put_answer(b"not json").is_err());
    }

    #[test]
    fn endpoints_are_checked_and_clients_spread_over_them() {
        let endpoints: Vec<String> = ["http://127.0.0.1:2379", "http://127.0.0.1:22379/"].map(String::from).into();
        let w = EtcdWriter::new(&endpoints, Duration::from_secs(1)).unwrap();
        assert_eq!(w.put_url(0), "http://127.0.0.1:2379/v3/kv/put");
        assert_eq!(w.put_url(1), "http://127.0.0.1:22379/v3/kv/put");
        assert_eq!(w.put_url((record_id(2, 5) >> 40) as usize), "http://127.0.0.1:2379/v3/kv/put");
        for bad in ["https://127.0.0.1:2379", "127.0.0.1:2379", "http://127.0.0.1:2379/v3", ""] {
            assert!(EtcdWriter::new(&[bad.to_string()], Duration::from_secs(1)).is_err(), "{bad}");
        }
        assert!(EtcdWriter::new(&[], Duration::from_secs(1)).is_err());
    }
}
