//! The HTTP API (SPEC §6): parses each request into a core [`Request`] (400 naming the field
//! when it is malformed), sends it to the core thread and turns the core's [`Response`] back
//! into HTTP. Bodies are read with a size bound (413 beyond it). Errors are CCF's JSON shape.
use crate::core_loop::CoreMsg;
use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::{get, post};
use cairn_node::{ApiError, Caller, LogTable, Request, Response};
use std::collections::HashMap;
use tokio::sync::{mpsc, oneshot};

#[derive(Clone)]
pub struct ApiState {
    pub core: mpsc::Sender<CoreMsg>,
    pub max_body_bytes: usize,
    /// HTTPS client (this node's certificate, pinned to the service) for forwarding to the
    /// primary; `None` disables forwarding.
    pub forwarder: Option<reqwest::Client>,
    /// The node-to-node channel, whose connection status `/node/consensus` adds.
    pub channel: Option<std::sync::Arc<crate::node_channel::NodeChannel>>,
    /// This node's snapshot directories, served by `GET /node/snapshot`; `None`: none served.
    pub snapshots: Option<crate::snapshot_api::SnapshotSource>,
}

fn to_http(r: Response) -> HttpResponse {
    let mut out = (StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), axum::Json(r.body))
        .into_response();
    for (name, value) in r.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            out.headers_mut().insert(name, v);
        }
    }
    out
}

pub(crate) fn error(e: ApiError) -> HttpResponse {
    to_http(Response::from(e))
}

/// Sends `request` to the core thread and waits for its answer.
pub(crate) async fn ask_core(state: &ApiState, caller: Caller, request: Request) -> Result<Response, ApiError> {
    let (reply, answer) = oneshot::channel();
    if state.core.send(CoreMsg { caller, request, reply }).await.is_err() {
        return Err(ApiError::unavailable("NodeStopping", "the node is shutting down"));
    }
    answer.await.map_err(|_| ApiError::unavailable("NodeStopping", "the node stopped before answering"))
}

async fn ask(state: &ApiState, caller: Caller, request: Request) -> HttpResponse {
    match ask_core(state, caller, request).await {
        Ok(r) => to_http(r),
        Err(e) => error(e),
    }
}

async fn read_body(state: &ApiState, body: Body) -> Result<Vec<u8>, ApiError> {
    read_bounded(body, state.max_body_bytes).await.map(|b| b.to_vec())
}

/// The whole body, at most `max` bytes (`http_configuration.max_body_size`). A declared
/// `Content-Length` above it is refused at once with 413, before any of the body is read (a
/// client announcing a huge body is not waited for).
pub(crate) async fn read_bounded(body: Body, max: usize) -> Result<axum::body::Bytes, ApiError> {
    use axum::body::HttpBody as _;
    let too_large = || {
        ApiError::new(
            413,
            "RequestBodyTooLarge",
            format!("request body exceeds {max} bytes (http_configuration.max_body_size)"),
        )
    };
    if body.size_hint().lower() > max as u64 {
        return Err(too_large());
    }
    axum::body::to_bytes(body, max).await.map_err(|_| too_large())
}

fn bad(field: &str, what: &str) -> ApiError {
    ApiError::bad_request("InvalidInput", format!("{field}: {what}"))
}

/// A malformed body: the field and what is wrong with it.
type FieldError = (String, &'static str);

/// `{"id": u64, "msg": string}`.
fn parse_log_write(body: &[u8]) -> Result<(u64, String), FieldError> {
    let field = |f: &str, what| (f.to_string(), what);
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| field("body", "not valid JSON"))?;
    let obj = v.as_object().ok_or_else(|| field("body", "expected a JSON object {\"id\", \"msg\"}"))?;
    let id = obj.get("id").ok_or_else(|| field("id", "missing"))?;
    let id = id.as_u64().ok_or_else(|| field("id", "expected an unsigned integer"))?;
    let msg = obj.get("msg").ok_or_else(|| field("msg", "missing"))?;
    let msg = msg.as_str().ok_or_else(|| field("msg", "expected a string"))?.to_string();
    if let Some(extra) = obj.keys().find(|k| *k != "id" && *k != "msg") {
        return Err(field(extra, "unknown field"));
    }
    Ok((id, msg))
}

fn query_param<'a>(q: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    q.get(name).map(String::as_str).ok_or_else(|| bad(name, "missing query parameter"))
}

async fn log_write(state: ApiState, caller: Caller, table: LogTable, body: Body) -> HttpResponse {
    let body = match read_body(&state, body).await {
        Ok(b) => b,
        Err(e) => return error(e),
    };
    match parse_log_write(&body) {
        Ok((id, msg)) => ask(&state, caller, Request::LogWrite { table, id, msg }).await,
        Err((field, what)) => refuse_after_authentication(&state, caller, bad(&field, what)).await,
    }
}

/// A malformed user request: the caller's authentication is checked first (a stranger gets
/// 401 whatever it sends, as in CCF), then `e`.
async fn refuse_after_authentication(state: &ApiState, caller: Caller, e: ApiError) -> HttpResponse {
    match ask_core(state, caller, Request::UserCheck).await {
        Ok(r) if r.status == 200 => error(e),
        Ok(r) => to_http(r),
        Err(auth) => error(auth),
    }
}

async fn log_read(state: ApiState, caller: Caller, table: LogTable, q: HashMap<String, String>) -> HttpResponse {
    let id =
        match query_param(&q, "id").and_then(|id| id.parse().map_err(|_| bad("id", "expected an unsigned integer"))) {
            Ok(id) => id,
            Err(e) => return refuse_after_authentication(&state, caller, e).await,
        };
    ask(&state, caller, Request::LogRead { table, id }).await
}

type Q = Query<HashMap<String, String>>;

/// Splits `"{id}:{action}"` path segments (CCF's custom-method style).
fn split_action<'a>(segment: &'a str, action: &str) -> Option<&'a str> {
    segment.strip_suffix(action).and_then(|s| s.strip_suffix(':')).filter(|s| !s.is_empty())
}

pub fn router(state: ApiState) -> Router {
    use LogTable::{Private, Public};
    let simple = |request: fn() -> Request| {
        move |State(s): State<ApiState>, Extension(c): Extension<Caller>| async move { ask(&s, c, request()).await }
    };
    let with_tx = |make: fn(String) -> Request| {
        move |State(s): State<ApiState>, Extension(c): Extension<Caller>, Query(q): Q| async move {
            match query_param(&q, "transaction_id") {
                Ok(tx) => ask(&s, c, make(tx.to_string())).await,
                Err(e) => error(e),
            }
        }
    };
    Router::new()
        .route(
            "/app/log/private",
            post(|State(s): State<ApiState>, Extension(c): Extension<Caller>, b: Body| log_write(s, c, Private, b))
                .get(|State(s): State<ApiState>, Extension(c): Extension<Caller>, Query(q): Q| {
                    log_read(s, c, Private, q)
                }),
        )
        .route(
            "/app/log/public",
            post(|State(s): State<ApiState>, Extension(c): Extension<Caller>, b: Body| log_write(s, c, Public, b)).get(
                |State(s): State<ApiState>, Extension(c): Extension<Caller>, Query(q): Q| log_read(s, c, Public, q),
            ),
        )
        .route("/node/state", get(simple(|| Request::NodeState)))
        .route("/node/network", get(simple(|| Request::Network)))
        .route("/node/network/nodes", get(simple(|| Request::NetworkNodes)))
        .route("/node/primary", get(simple(|| Request::Primary)))
        .route("/node/commit", get(simple(|| Request::Commit)))
        .route("/node/consensus", get(node_consensus))
        .route("/node/join", post(node_join))
        .route("/node/snapshot", get(crate::snapshot_api::newest_snapshot))
        .route("/node/snapshot/{name}", get(crate::snapshot_api::snapshot_file))
        .route("/node/service/previous_identity", get(simple(|| Request::PreviousIdentity)))
        .route("/node/tx", get(with_tx(|tx| Request::TxStatus { tx })))
        .route("/node/receipt", get(with_tx(|tx| Request::Receipt { tx })))
        .route("/gov/service/info", get(simple(|| Request::ServiceInfo)))
        .route("/gov/members/proposals", get(simple(|| Request::Proposals)))
        .route("/gov/members/proposals:create", post(gov_propose))
        .route("/gov/members/proposals/{segment}", get(gov_proposal_get).post(gov_proposal_post))
        .route("/gov/members/proposals/{id}/ballots/{segment}", post(gov_ballot))
        .route("/gov/recovery/encrypted-shares/{member}", get(gov_encrypted_share))
        .route("/gov/recovery/members/{segment}", post(gov_recover))
        .fallback(|| async { error(ApiError::not_found("ResourceNotFound", "no such endpoint")) })
        .method_not_allowed_fallback(|method: axum::http::Method| async move {
            error(ApiError::new(405, "MethodNotAllowed", format!("{method} is not allowed on this endpoint")))
        })
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::forwarding::forwarding))
        .with_state(state)
}

/// Reads the (bounded) body and asks the core `make(body)`.
async fn with_body(s: &ApiState, c: Caller, b: Body, make: impl FnOnce(Vec<u8>) -> Request) -> HttpResponse {
    match read_body(s, b).await {
        Ok(body) => ask(s, c, make(body)).await,
        Err(e) => error(e),
    }
}

/// `{id}:{action}` segments; 404 naming the expected form otherwise.
fn action_target<'a>(segment: &'a str, action: &str, form: &str) -> Result<&'a str, ApiError> {
    split_action(segment, action)
        .ok_or_else(|| ApiError::not_found("ResourceNotFound", format!("expected {form}, got {segment:?}")))
}

/// The core's Raft state plus, from the shell, each peer connection's state.
async fn node_consensus(State(s): State<ApiState>, Extension(c): Extension<Caller>) -> HttpResponse {
    let (reply, answer) = oneshot::channel();
    if s.core.send(CoreMsg { caller: c, request: Request::Consensus, reply }).await.is_err() {
        return error(ApiError::unavailable("NodeStopping", "the node is shutting down"));
    }
    match answer.await {
        Ok(mut r) => {
            if let (Some(channel), Some(body)) = (&s.channel, r.body.as_object_mut()) {
                body.insert("channel".into(), serde_json::to_value(channel.status()).unwrap_or_default());
            }
            to_http(r)
        }
        Err(_) => error(ApiError::unavailable("NodeStopping", "the node stopped before answering")),
    }
}

async fn node_join(State(s): State<ApiState>, Extension(c): Extension<Caller>, b: Body) -> HttpResponse {
    let fingerprint = c.cert_id.clone();
    let body = match read_body(&s, b).await {
        Ok(body) => body,
        Err(e) => return error(e),
    };
    let answer = ask_core(&s, c, Request::Join { body }).await;
    let code = match &answer {
        Ok(r) => r.body["error"]["code"].as_str(),
        Err(e) => Some(e.code),
    };
    if code == Some(cairn_node::JOIN_TOKEN_INVALID) {
        JOIN_REFUSALS.note(fingerprint.as_deref());
    }
    answer.map_or_else(error, to_http)
}

/// Joins refused for a wrong token, logged at most once per [`RefusalLog::INTERVAL_MS`] with the
/// caller's certificate fingerprint and the count since the last line (a stranger retrying in a
/// loop cannot flood the log). The token itself is never logged.
struct RefusalLog {
    state: std::sync::Mutex<(u64, u64)>,
}

static JOIN_REFUSALS: RefusalLog = RefusalLog { state: std::sync::Mutex::new((0, 0)) };

impl RefusalLog {
    const INTERVAL_MS: u64 = 10_000;

    fn note(&self, fingerprint: Option<&str>) {
        let now = crate::core_loop::now_ms();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (last_ms, suppressed) = &mut *state;
        if *last_ms != 0 && now < *last_ms + Self::INTERVAL_MS {
            *suppressed += 1;
            return;
        }
        tracing::warn!(
            caller_cert_sha256 = fingerprint.unwrap_or("none"),
            refused_since_last_line = *suppressed,
            "join refused: wrong join token"
        );
        (*last_ms, *suppressed) = (now, 0);
    }
}

async fn gov_propose(State(s): State<ApiState>, Extension(c): Extension<Caller>, b: Body) -> HttpResponse {
    with_body(&s, c, b, |body| Request::Propose { body }).await
}

async fn gov_proposal_get(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> HttpResponse {
    ask(&s, c, Request::Proposal { proposal_id: id }).await
}

async fn gov_proposal_post(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(segment): Path<String>,
    b: Body,
) -> HttpResponse {
    match action_target(&segment, "withdraw", "proposals/{id}:withdraw") {
        Ok(id) => with_body(&s, c, b, |body| Request::Withdraw { proposal_id: id.to_string(), body }).await,
        Err(e) => error(e),
    }
}

async fn gov_ballot(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((id, segment)): Path<(String, String)>,
    b: Body,
) -> HttpResponse {
    match action_target(&segment, "submit", "ballots/{member_id}:submit") {
        Ok(m) => with_body(&s, c, b, |body| Request::Ballot { proposal_id: id, member_id: m.to_string(), body }).await,
        Err(e) => error(e),
    }
}

async fn gov_encrypted_share(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(member): Path<String>,
) -> HttpResponse {
    ask(&s, c, Request::EncryptedShare { member_id: member }).await
}

async fn gov_recover(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(segment): Path<String>,
    b: Body,
) -> HttpResponse {
    match action_target(&segment, "recover", "members/{member_id}:recover") {
        Ok(m) => with_body(&s, c, b, |body| Request::SubmitShare { member_id: m.to_string(), body }).await,
        Err(e) => error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_write_body_errors_name_the_field() {
        type Parsed<'a> = Result<(u64, &'a str), (&'a str, &'a str)>;
        let table: [(&str, Parsed); 8] = [
            (r#"{"id": 1, "msg": "hi"}"#, Ok((1, "hi"))),
            (r#"{"msg": "hi"}"#, Err(("id", "missing"))),
            (r#"{"id": -1, "msg": "hi"}"#, Err(("id", "expected an unsigned integer"))),
            (r#"{"id": 1}"#, Err(("msg", "missing"))),
            (r#"{"id": 1, "msg": 5}"#, Err(("msg", "expected a string"))),
            (r#"{"id": 1, "msg": "x", "mgs": 1}"#, Err(("mgs", "unknown field"))),
            ("[1,2]", Err(("body", "expected a JSON object {\"id\", \"msg\"}"))),
            ("{not json", Err(("body", "not valid JSON"))),
        ];
        for (body, want) in table {
            let got = parse_log_write(body.as_bytes());
            let got = got.as_ref().map(|(id, m)| (*id, m.as_str())).map_err(|(f, w)| (f.as_str(), *w));
            assert_eq!(got, want, "{body}");
        }
    }

    #[test]
    fn custom_method_segments_split() {
        assert_eq!(split_action("abc:withdraw", "withdraw"), Some("abc"));
        assert_eq!(split_action(":withdraw", "withdraw"), None);
        assert_eq!(split_action("abc", "withdraw"), None);
        assert_eq!(split_action("abc:submit", "withdraw"), None);
    }
}
