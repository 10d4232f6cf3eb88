//! Forwarding (SPEC §6, as CCF's forwarder): a write, governance request or join sent to a
//! backup is answered by the core with `503 NotPrimary` naming the primary's RPC address; this
//! layer then sends the same request to the primary over TLS pinned to the service
//! certificate, presenting this node's own certificate, with the original caller's certificate
//! id in [`FORWARDED_CALLER_HEADER`], and returns the primary's answer.
//!
//! On the receiving side the header is honoured only on connections whose client certificate
//! is endorsed by the service (a node admitted as trusted); from anyone else it is refused
//! with 403. A forwarded request is never forwarded again (no loops during an election).
use crate::http_api::ApiState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cairn_node::{ApiError, Caller, PRIMARY_RPC_HEADER};

/// Carries the original caller's certificate id (hex SHA-256 of its DER; empty: none).
pub const FORWARDED_CALLER_HEADER: &str = "x-cairn-forwarded-caller";

/// Whether the TLS client of this connection presented a certificate endorsed by the service.
#[derive(Debug, Clone, Copy)]
pub struct PeerIsNode(pub bool);

fn refuse(e: ApiError) -> Response {
    let body = axum::Json(e.body());
    (StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), body).into_response()
}

pub async fn forwarding(State(state): State<ApiState>, mut req: Request, next: Next) -> Response {
    let is_node = req.extensions().get::<PeerIsNode>().is_some_and(|p| p.0);
    if let Some(forwarded) = req.headers().get(FORWARDED_CALLER_HEADER) {
        if !is_node {
            return refuse(ApiError::forbidden(format!(
                "{FORWARDED_CALLER_HEADER}: accepted only from nodes of this service"
            )));
        }
        let cert_id = forwarded.to_str().ok().filter(|s| !s.is_empty()).map(str::to_string);
        let node = req.extensions().get::<Caller>().and_then(|c| c.cert_id.clone());
        req.extensions_mut().insert(Caller { cert_id, forwarded_by: node });
        req.extensions_mut().insert(AlreadyForwarded);
        return next.run(req).await;
    }
    let Some(forwarder) = state.forwarder.clone() else { return next.run(req).await };
    let (parts, body) = req.into_parts();
    let bytes = match crate::http_api::read_bounded(body, state.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return refuse(e),
    };
    let caller = parts.extensions.get::<Caller>().and_then(|c| c.cert_id.clone()).unwrap_or_default();
    let method = parts.method.clone();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let content_type = parts.headers.get("content-type").cloned();
    let response = next.run(Request::from_parts(parts, Body::from(bytes.clone()))).await;
    let primary = match response.headers().get(PRIMARY_RPC_HEADER) {
        Some(p) if response.status() == StatusCode::SERVICE_UNAVAILABLE => p.to_str().unwrap_or_default().to_string(),
        _ => return response,
    };
    let url = format!("https://{primary}{path}");
    let mut forwarded = forwarder.request(method, &url).header(FORWARDED_CALLER_HEADER, caller).body(bytes);
    if let Some(ct) = content_type {
        forwarded = forwarded.header("content-type", ct);
    }
    match forwarded.send().await {
        Ok(r) => {
            let status = StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let headers = r.headers().clone();
            let body = r.bytes().await.unwrap_or_default();
            let mut out = (status, body).into_response();
            for (name, value) in headers.iter() {
                let keep = name.as_str().starts_with("x-ms-ccf") || name == "content-type";
                if keep && let Ok(v) = HeaderValue::from_bytes(value.as_bytes()) {
                    out.headers_mut().insert(name.clone(), v);
                }
            }
            out
        }
        Err(e) => {
            refuse(ApiError::unavailable("ForwardingFailed", format!("forwarding to the primary at {primary}: {e}")))
        }
    }
}

/// Marks a request that arrived forwarded.
#[derive(Debug, Clone, Copy)]
pub struct AlreadyForwarded;
