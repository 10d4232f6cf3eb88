//! `CairnClient`: typed async calls to one node's HTTPS endpoints (SPEC §6, CCF-style).
//!
//! One `reqwest::Client` per `CairnClient` holds the keep-alive connection pool; cloning a
//! `CairnClient` shares it, so a load driver clones one client into many tasks. Redirects are
//! never followed (a 3xx is reported, not chased to a node the caller did not name). Governance
//! calls carry `?api-version=2023-06-01-preview` as CCF clients do, and take request bodies that
//! are already COSE Sign1 signed (`cairn_gov::sign_request`).
use crate::{ClientError, ClientIdentity, ClientOptions, LogTable, NetworkInfo, NodeStateInfo, PollBackoff};
use crate::{ProposalInfo, RecoverySubmission, TransportKind, TxStatus, build_tls_config};
use base64::Engine;
use cairn_ledger::format::TxId;
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// The API version CCF's governance clients send.
pub const GOV_API_VERSION: &str = "2023-06-01-preview";
/// The response header carrying a write's transaction id.
pub const TX_ID_HEADER: &str = "x-ms-ccf-transaction-id";

/// A request body and its content type.
enum Body {
    Empty,
    Json(Vec<u8>),
    Cose(Vec<u8>),
}

/// A 2xx answer.
struct Answer {
    headers: HeaderMap,
    body: Vec<u8>,
}

#[derive(Clone)]
pub struct CairnClient {
    http: reqwest::Client,
    base_url: String,
    max_response_bytes: usize,
}

impl std::fmt::Debug for CairnClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CairnClient").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

/// Refuses path segments that would need escaping: every id the API uses (member, proposal,
/// node ids) is hex or a plain name.
fn path_segment<'a>(what: &'static str, id: &'a str) -> Result<&'a str, ClientError> {
    // `.` and `..` would be resolved away by URL normalisation, reaching another path.
    let dots_only = id.chars().all(|c| c == '.');
    if !id.is_empty() && !dots_only && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        Ok(id)
    } else {
        Err(ClientError::Config { what, reason: format!("{id:?} is not a plain identifier") })
    }
}

fn gov_path(path: &str) -> String {
    format!("{path}?api-version={GOV_API_VERSION}")
}

impl CairnClient {
    /// A client for the node at `base_url` (`https://127.0.0.1:8000`), trusting only
    /// `service_cert_pem`, presenting `identity` if given. Default bounds (`ClientOptions`).
    pub fn new(base_url: &str, service_cert_pem: &str, identity: Option<ClientIdentity>) -> Result<Self, ClientError> {
        Self::with_options(base_url, service_cert_pem, identity, ClientOptions::default())
    }

    pub fn with_options(
        base_url: &str,
        service_cert_pem: &str,
        identity: Option<ClientIdentity>,
        options: ClientOptions,
    ) -> Result<Self, ClientError> {
        let base_url = base_url.trim_end_matches('/').to_string();
        let parsed = reqwest::Url::parse(&base_url)
            .map_err(|e| ClientError::Config { what: "node URL", reason: format!("{base_url:?}: {e}") })?;
        if parsed.scheme() != "https" || parsed.host().is_none() {
            return Err(ClientError::Config {
                what: "node URL",
                reason: format!("{base_url:?}: expected https://HOST:PORT"),
            });
        }
        let tls = build_tls_config(service_cert_pem, identity.as_ref())?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .pool_idle_timeout(options.pool_idle_timeout)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| ClientError::Config { what: "HTTP client", reason: e.to_string() })?;
        Ok(CairnClient { http, base_url, max_response_bytes: options.max_response_bytes })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends one request; a non-2xx answer becomes `ClientError::Http`.
    async fn call(&self, method: Method, path: &str, body: Body) -> Result<Answer, ClientError> {
        let method_name = match method {
            Method::GET => "GET",
            Method::POST => "POST",
            _ => "REQUEST",
        };
        let url = format!("{}{path}", self.base_url);
        let retry_get = method == Method::GET;
        let mut request = self.http.request(method, &url);
        request = match body {
            Body::Empty => request,
            Body::Json(bytes) => request.header(CONTENT_TYPE, "application/json").body(bytes),
            Body::Cose(bytes) => request.header(CONTENT_TYPE, "application/cose").body(bytes),
        };
        // A kept-alive connection the node closed as idle (`idle_connection_timeout`) just as
        // this request went out breaks before any answer: a GET is sent again, once, on a new
        // connection (as browsers do). Writes are not: the node may have executed them.
        let again = if retry_get { request.try_clone() } else { None };
        let sent = match (request.send().await, again) {
            (Err(e), Some(again)) if ClientError::transport_kind(&e) == TransportKind::Broken => again.send().await,
            (sent, _) => sent,
        };
        let mut response = sent.map_err(|e| ClientError::from_reqwest(method_name, &url, e))?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| ClientError::from_reqwest(method_name, &url, e))? {
            if body.len() + chunk.len() > self.max_response_bytes {
                return Err(ClientError::ResponseTooLarge {
                    method: method_name,
                    url,
                    limit_bytes: self.max_response_bytes,
                });
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(ClientError::from_http_answer(method_name, &url, status.as_u16(), &body));
        }
        Ok(Answer { headers, body })
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str, field: &'static str) -> Result<T, ClientError> {
        let answer = self.call(Method::GET, path, Body::Empty).await?;
        self.decode(&answer.body, "GET", path, field)
    }

    fn decode<T: DeserializeOwned>(
        &self,
        body: &[u8],
        method: &'static str,
        path: &str,
        field: &'static str,
    ) -> Result<T, ClientError> {
        serde_json::from_slice(body).map_err(|e| ClientError::Decode {
            method,
            url: format!("{}{path}", self.base_url),
            field,
            reason: e.to_string(),
        })
    }

    // ---- application: the logging app ----

    /// `POST /app/log/{private|public}` `{id, msg}`; the transaction id the node assigned.
    pub async fn log_write(&self, table: LogTable, id: u64, msg: &str) -> Result<TxId, ClientError> {
        let body = serde_json::to_vec(&serde_json::json!({ "id": id, "msg": msg })).expect("json");
        let answer = self.call(Method::POST, table.path(), Body::Json(body)).await?;
        let decode_error = |reason: String| ClientError::Decode {
            method: "POST",
            url: format!("{}{}", self.base_url, table.path()),
            field: TX_ID_HEADER,
            reason,
        };
        let value = answer.headers.get(TX_ID_HEADER).ok_or_else(|| decode_error("header missing".into()))?;
        value.to_str().map_err(|e| decode_error(e.to_string()))?.parse::<TxId>().map_err(decode_error)
    }

    /// `GET /app/log/{private|public}?id=N`: the message, or `None` when the node answers 404.
    pub async fn log_read(&self, table: LogTable, id: u64) -> Result<Option<String>, ClientError> {
        #[derive(Deserialize)]
        struct Msg {
            msg: String,
        }
        match self.get_json::<Msg>(&format!("{}?id={id}", table.path()), "msg").await {
            Ok(m) => Ok(Some(m.msg)),
            Err(e) if e.http_status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    // ---- node ----

    /// `GET /node/tx?transaction_id=V.S`.
    pub async fn tx_status(&self, txid: TxId) -> Result<TxStatus, ClientError> {
        #[derive(Deserialize)]
        struct Status {
            status: TxStatus,
        }
        let s: Status = self.get_json(&format!("/node/tx?transaction_id={txid}"), "status").await?;
        Ok(s.status)
    }

    /// Polls `/node/tx` (1 ms, growing to 20 ms between polls) until `txid` is Committed.
    /// Errors: `TxInvalid` when the node reports Invalid, `CommitTimeout` after `timeout`, and any
    /// error of the polls themselves (a node that dies while we wait gives `Transport`).
    pub async fn wait_committed(&self, txid: TxId, timeout: Duration) -> Result<(), ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut backoff = PollBackoff::for_commit();
        loop {
            let status = self.tx_status(txid).await?;
            match status {
                TxStatus::Committed => return Ok(()),
                TxStatus::Invalid => return Err(ClientError::TxInvalid { txid }),
                TxStatus::Pending | TxStatus::Unknown => {}
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(ClientError::CommitTimeout {
                    txid,
                    timeout_ms: timeout.as_millis() as u64,
                    last_status: format!("{status:?}"),
                });
            }
            tokio::time::sleep(backoff.next_delay().min(deadline - now)).await;
        }
    }

    /// `GET /node/commit`: the last committed transaction id.
    pub async fn commit(&self) -> Result<TxId, ClientError> {
        #[derive(Deserialize)]
        struct Commit {
            transaction_id: String,
        }
        let c: Commit = self.get_json("/node/commit", "transaction_id").await?;
        c.transaction_id.parse().map_err(|reason| ClientError::Decode {
            method: "GET",
            url: format!("{}/node/commit", self.base_url),
            field: "transaction_id",
            reason,
        })
    }

    /// `GET /node/state`.
    pub async fn node_state(&self) -> Result<NodeStateInfo, ClientError> {
        self.get_json("/node/state", "node state").await
    }

    /// `GET /node/network`.
    pub async fn network(&self) -> Result<NetworkInfo, ClientError> {
        self.get_json("/node/network", "network").await
    }

    /// `GET /node/service/previous_identity`: the certificate (PEM) of the service a recovered
    /// service was recovered from.
    pub async fn previous_service_identity(&self) -> Result<String, ClientError> {
        #[derive(Deserialize)]
        struct Previous {
            previous_service_identity: String,
        }
        let p: Previous = self.get_json("/node/service/previous_identity", "previous service identity").await?;
        Ok(p.previous_service_identity)
    }

    /// `GET /node/consensus`: the node's Raft state (role, term, leader, commit, configuration).
    pub async fn consensus(&self) -> Result<serde_json::Value, ClientError> {
        self.get_json("/node/consensus", "consensus").await
    }

    /// `GET /node/network/nodes`: the `nodes` array as the node reports it.
    pub async fn network_nodes(&self) -> Result<Vec<serde_json::Value>, ClientError> {
        #[derive(Deserialize)]
        struct Nodes {
            nodes: Vec<serde_json::Value>,
        }
        Ok(self.get_json::<Nodes>("/node/network/nodes", "nodes").await?.nodes)
    }

    /// `GET /node/primary`: true on 200 (this node is the primary), false on a redirect to the
    /// primary or another HTTP refusal.
    pub async fn is_primary(&self) -> Result<bool, ClientError> {
        match self.call(Method::GET, "/node/primary", Body::Empty).await {
            Ok(_) => Ok(true),
            Err(ClientError::Http { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `GET /node/receipt?transaction_id=V.S`: the receipt JSON. A transaction that is not
    /// committed yet gives `ClientError::Http` with status 404.
    pub async fn receipt(&self, txid: TxId) -> Result<serde_json::Value, ClientError> {
        self.get_json(&format!("/node/receipt?transaction_id={txid}"), "receipt").await
    }

    // ---- governance (bodies already COSE Sign1 signed) ----

    async fn post_cose<T: DeserializeOwned>(
        &self,
        path: &str,
        cose: Vec<u8>,
        field: &'static str,
    ) -> Result<T, ClientError> {
        let path = gov_path(path);
        let answer = self.call(Method::POST, &path, Body::Cose(cose)).await?;
        self.decode(&answer.body, "POST", &path, field)
    }

    /// `POST /gov/members/proposals:create`.
    pub async fn propose(&self, cose: Vec<u8>) -> Result<ProposalInfo, ClientError> {
        self.post_cose("/gov/members/proposals:create", cose, "proposal").await
    }

    /// `POST /gov/members/proposals/{id}/ballots/{member_id}:submit`.
    pub async fn submit_ballot(
        &self,
        proposal_id: &str,
        member_id: &str,
        cose: Vec<u8>,
    ) -> Result<ProposalInfo, ClientError> {
        let path = format!(
            "/gov/members/proposals/{}/ballots/{}:submit",
            path_segment("proposal id", proposal_id)?,
            path_segment("member id", member_id)?
        );
        self.post_cose(&path, cose, "proposal").await
    }

    /// `POST /gov/members/proposals/{id}:withdraw`.
    pub async fn withdraw(&self, proposal_id: &str, cose: Vec<u8>) -> Result<ProposalInfo, ClientError> {
        let path = format!("/gov/members/proposals/{}:withdraw", path_segment("proposal id", proposal_id)?);
        self.post_cose(&path, cose, "proposal").await
    }

    /// `GET /gov/members/proposals/{id}`.
    pub async fn proposal(&self, proposal_id: &str) -> Result<ProposalInfo, ClientError> {
        let path = format!("/gov/members/proposals/{}", path_segment("proposal id", proposal_id)?);
        self.get_json(&gov_path(&path), "proposal").await
    }

    /// `GET /gov/members/proposals`: the `value` array.
    pub async fn proposals(&self) -> Result<Vec<ProposalInfo>, ClientError> {
        #[derive(Deserialize)]
        struct List {
            value: Vec<ProposalInfo>,
        }
        Ok(self.get_json::<List>(&gov_path("/gov/members/proposals"), "value").await?.value)
    }

    /// `GET /gov/service/info`.
    pub async fn service_info(&self) -> Result<serde_json::Value, ClientError> {
        self.get_json(&gov_path("/gov/service/info"), "service info").await
    }

    /// `GET /gov/recovery/encrypted-shares/{member_id}`: the encrypted share, base64-decoded.
    pub async fn encrypted_share(&self, member_id: &str) -> Result<Vec<u8>, ClientError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Encrypted {
            encrypted_share: String,
        }
        let path = gov_path(&format!("/gov/recovery/encrypted-shares/{}", path_segment("member id", member_id)?));
        let e: Encrypted = self.get_json(&path, "encryptedShare").await?;
        base64::engine::general_purpose::STANDARD.decode(e.encrypted_share.trim()).map_err(|err| ClientError::Decode {
            method: "GET",
            url: format!("{}{path}", self.base_url),
            field: "encryptedShare",
            reason: err.to_string(),
        })
    }

    /// `POST /gov/recovery/members/{member_id}:recover` with a signed `recovery_share` request.
    pub async fn submit_recovery_share(
        &self,
        member_id: &str,
        cose: Vec<u8>,
    ) -> Result<RecoverySubmission, ClientError> {
        let path = format!("/gov/recovery/members/{}:recover", path_segment("member id", member_id)?);
        self.post_cose(&path, cose, "recovery submission").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_accept_ids_and_refuse_anything_needing_escapes() {
        let table = [
            ("3f9a0c", true),
            ("member_0", true),
            ("p-1.2", true),
            ("", false),
            ("..", false),
            (".", false),
            ("a/b", false),
            ("a?b", false),
            ("a b", false),
            ("%2e", false),
        ];
        for (id, ok) in table {
            assert_eq!(path_segment("proposal id", id).is_ok(), ok, "{id:?}");
        }
    }

    #[test]
    fn urls_must_be_https_with_a_host() {
        let cert = {
            let key = cairn_crypto::SigningKey::generate().unwrap();
            let req = cairn_crypto::CertificateRequest {
                common_name: "service".into(),
                subject_alt_names: vec![],
                not_before_unix_s: 1_700_000_000,
                validity_days: 1,
                is_ca: true,
            };
            cairn_crypto::Certificate::self_signed(&key, &req).unwrap()
        };
        let table = [
            ("https://127.0.0.1:8000", true),
            ("https://localhost:8000/", true),
            ("http://127.0.0.1:8000", false),
            ("127.0.0.1:8000", false),
            ("", false),
        ];
        for (url, ok) in table {
            let got = CairnClient::new(url, cert.pem(), None);
            assert_eq!(got.is_ok(), ok, "{url:?}: {got:?}");
        }
        let c = CairnClient::new("https://localhost:8000/", cert.pem(), None).unwrap();
        assert_eq!(c.base_url(), "https://localhost:8000");
    }

    #[test]
    fn gov_paths_carry_the_ccf_api_version() {
        assert_eq!(gov_path("/gov/service/info"), "/gov/service/info?api-version=2023-06-01-preview");
    }
}
