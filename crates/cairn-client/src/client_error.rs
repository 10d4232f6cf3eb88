//! What can go wrong talking to a node, in the kinds a caller acts on differently:
//! - `Config`: the client could not be built (bad PEM, bad URL); retrying cannot help.
//! - `Transport`: the request did not get an HTTP answer (connection refused or reset, TLS
//!   failure, timeout). The node may be down; another node or a retry may succeed.
//! - `Http`: the server answered with an error status and CCF's body
//!   `{"error":{"code":"...","message":"..."}}`; the server refused.
//! - `Decode`: the server answered 2xx but the body or a header was not what the contract says.
//! - `TxInvalid` / `CommitTimeout`: outcomes of waiting for a transaction to commit.
use cairn_ledger::format::TxId;
use serde::Deserialize;

/// Why a request got no HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// TCP connect or TLS handshake failed (node down, refused, wrong certificate).
    Connect,
    /// The connect or request timeout expired.
    Timeout,
    /// The connection broke while sending or receiving (reset, closed early).
    Broken,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid {what}: {reason}")]
    Config { what: &'static str, reason: String },
    #[error("{method} {url}: {kind:?} transport error: {detail}")]
    Transport {
        method: &'static str,
        url: String,
        kind: TransportKind,
        /// The whole cause chain ("connection refused", "invalid peer certificate: ..."),
        /// which reqwest's own message leaves out.
        detail: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{method} {url}: HTTP {status} {code}: {message}")]
    Http { method: &'static str, url: String, status: u16, code: String, message: String },
    #[error("{method} {url}: cannot decode {field}: {reason}")]
    Decode { method: &'static str, url: String, field: &'static str, reason: String },
    #[error("transaction {txid} is Invalid (lost in a view change)")]
    TxInvalid { txid: TxId },
    #[error("transaction {txid} not committed after {timeout_ms} ms (last status {last_status})")]
    CommitTimeout { txid: TxId, timeout_ms: u64, last_status: String },
    #[error("response of {method} {url} exceeds {limit_bytes} bytes")]
    ResponseTooLarge { method: &'static str, url: String, limit_bytes: usize },
}

/// CCF's error body.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetails,
}

#[derive(Deserialize)]
struct ErrorDetails {
    code: String,
    message: String,
}

impl ClientError {
    /// What kind of transport failure `source` is.
    pub fn transport_kind(source: &reqwest::Error) -> TransportKind {
        if source.is_timeout() {
            TransportKind::Timeout
        } else if source.is_connect() {
            TransportKind::Connect
        } else {
            TransportKind::Broken
        }
    }

    /// Maps an HTTP error answer to `Http`. A body that is not CCF's error JSON (a proxy's page,
    /// an empty body) keeps its text as the message and gets the code `HTTP<status>`.
    pub fn from_http_answer(method: &'static str, url: &str, status: u16, body: &[u8]) -> ClientError {
        let (code, message) = match serde_json::from_slice::<ErrorBody>(body) {
            Ok(b) => (b.error.code, b.error.message),
            Err(_) => (format!("HTTP{status}"), String::from_utf8_lossy(body).trim().to_string()),
        };
        ClientError::Http { method, url: url.to_string(), status, code, message }
    }

    /// Maps a reqwest failure (no HTTP answer, or the body could not be read) to `Transport`.
    pub fn from_reqwest(method: &'static str, url: &str, source: reqwest::Error) -> ClientError {
        let kind = Self::transport_kind(&source);
        let mut causes = vec![source.to_string()];
        let mut cause = std::error::Error::source(&source);
        while let Some(c) = cause {
            let text = c.to_string();
            if !causes.iter().any(|seen| seen.contains(&text)) {
                causes.push(text);
            }
            cause = c.source();
        }
        ClientError::Transport { method, url: url.to_string(), kind, detail: causes.join(": "), source }
    }

    /// True when the node could not be reached or the connection broke: the e2e tests kill
    /// nodes, and a load driver counts these separately from refusals.
    pub fn is_transport(&self) -> bool {
        matches!(self, ClientError::Transport { .. })
    }

    /// The HTTP status of a server refusal.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            ClientError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's error code (`"AuthorizationFailed"`, ...) of a refusal.
    pub fn server_code(&self) -> Option<&str> {
        match self {
            ClientError::Http { code, .. } => Some(code),
            _ => None,
        }
    }

    /// A short stable label for counting errors by kind: `transport:Connect`, `http:409:Conflict`,
    /// `decode`, `tx_invalid`, `commit_timeout`, `config`, `too_large`.
    pub fn category(&self) -> String {
        match self {
            ClientError::Config { .. } => "config".into(),
            ClientError::Transport { kind, .. } => format!("transport:{kind:?}"),
            ClientError::Http { status, code, .. } => format!("http:{status}:{code}"),
            ClientError::Decode { .. } => "decode".into(),
            ClientError::TxInvalid { .. } => "tx_invalid".into(),
            ClientError::CommitTimeout { .. } => "commit_timeout".into(),
            ClientError::ResponseTooLarge { .. } => "too_large".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_answers_map_to_server_code_and_message() {
        // (status, body, expected code, expected message)
        let table: [(u16, &[u8], &str, &str); 5] = [
            (
                403,
                br#"{"error":{"code":"AuthorizationFailed","message":"not a user"}}"#,
                "AuthorizationFailed",
                "not a user",
            ),
            (
                409,
                br#"{"error":{"code":"ProposalNotOpen","message":"p1 is Accepted"}}"#,
                "ProposalNotOpen",
                "p1 is Accepted",
            ),
            (503, b"", "HTTP503", ""),
            (502, b"<html>bad gateway</html>\n", "HTTP502", "<html>bad gateway</html>"),
            (400, br#"{"error":"flat string"}"#, "HTTP400", r#"{"error":"flat string"}"#),
        ];
        for (status, body, code, message) in table {
            let e = ClientError::from_http_answer("GET", "https://n/x", status, body);
            assert_eq!(e.http_status(), Some(status));
            assert_eq!(e.server_code(), Some(code), "status {status}");
            match &e {
                ClientError::Http { message: m, .. } => assert_eq!(m, message),
                other => panic!("not Http: {other:?}"),
            }
            assert_eq!(e.category(), format!("http:{status}:{code}"));
            assert!(!e.is_transport());
            assert!(e.to_string().contains(&status.to_string()));
        }
    }

    #[test]
    fn commit_outcomes_are_neither_transport_nor_refusals() {
        let txid = TxId::new(2, 7);
        let cases = [
            (ClientError::TxInvalid { txid }, "tx_invalid"),
            (ClientError::CommitTimeout { txid, timeout_ms: 5, last_status: "Pending".into() }, "commit_timeout"),
        ];
        for (e, category) in cases {
            assert!(!e.is_transport());
            assert_eq!(e.http_status(), None);
            assert_eq!(e.category(), category);
            assert!(e.to_string().contains("2.7"));
        }
    }
}
