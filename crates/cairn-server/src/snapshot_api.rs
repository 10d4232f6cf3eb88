//! Serving committed snapshots (SPEC §5; CCF's `GET /node/snapshot`, as in CCF 5+), so a joining
//! node can start from the newest one instead of replaying the whole ledger.
//!
//! - `GET /node/snapshot`: on a backup that knows the primary, `307` to
//!   `https://<primary>/node/snapshot` (the primary writes the snapshots; a backup's own files
//!   may be old ones); else `307` to `/node/snapshot/<name>` of this node's newest committed
//!   snapshot, or `404`.
//! - `GET /node/snapshot/{name}`: the file's bytes (`application/octet-stream`), or one byte range
//!   of it with `Range: bytes=a-b` / `bytes=a-` / `bytes=-n` (`206`, `Content-Range`; `416` when
//!   unsatisfiable; a multi-range request gets the whole file). `HEAD` answers the length only.
//!
//! Open to every client, like CCF's: a snapshot's private domain is encrypted under the ledger
//! secret and its public domain is public anyway; the receipt lets the fetcher verify it.
//!
//! The directories are listed directly, never opened as a `SnapshotDirectory` (opening sets
//! aside `.tmp` files, which here would be the core thread's writes in progress). Only names
//! that parse as committed snapshots are listed or served, and a committed file is never
//! written again, so reading it while the core works is safe.
use crate::http_api::{ApiState, ask_core, error};
use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use cairn_ledger::snapshot::SnapshotName;
use cairn_node::{ApiError, Caller, Request};
use std::io::{ErrorKind, Seek, SeekFrom};
use std::path::PathBuf;

/// Where this node's snapshots are (`snapshots.directory`, `snapshots.read_only_directory`).
#[derive(Debug, Clone)]
pub struct SnapshotSource {
    pub directory: PathBuf,
    pub read_only_directory: Option<PathBuf>,
}

impl SnapshotSource {
    fn directories(&self) -> impl Iterator<Item = &PathBuf> {
        std::iter::once(&self.directory).chain(self.read_only_directory.as_ref())
    }

    /// Committed snapshots of both directories, newest first, each once.
    fn committed_newest_first(&self) -> std::io::Result<Vec<SnapshotName>> {
        let mut names = std::collections::BTreeSet::new();
        for dir in self.directories() {
            let entries = match std::fs::read_dir(dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                let file = entry?.file_name();
                let parsed = file.to_str().and_then(|f| f.parse::<SnapshotName>().ok());
                names.extend(parsed.filter(|n| n.committed));
            }
        }
        Ok(names.into_iter().rev().collect())
    }

    /// The path of committed snapshot `name` (snapshots directory first), if present.
    fn find(&self, name: &SnapshotName) -> Option<PathBuf> {
        self.directories().map(|d| d.join(name.to_string())).find(|p| p.is_file())
    }
}

fn internal(what: &str, e: impl std::fmt::Display) -> HttpResponse {
    error(ApiError::new(500, "InternalError", format!("{what}: {e}")))
}

fn redirect(location: &str) -> HttpResponse {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, v)]).into_response(),
        Err(e) => internal("redirect location", e),
    }
}

fn no_snapshot() -> HttpResponse {
    error(ApiError::not_found("ResourceNotFound", "no committed snapshot on this node"))
}

/// `GET /node/snapshot`. The primary writes the snapshots, so a backup that knows the primary
/// redirects there (its own files may be old: kept from when it was primary); otherwise this
/// node's newest committed snapshot, if any.
pub async fn newest_snapshot(State(s): State<ApiState>, Extension(c): Extension<Caller>) -> HttpResponse {
    if let Some(address) = primary_elsewhere(&s, c).await {
        return redirect(&format!("https://{address}/node/snapshot"));
    }
    let Some(source) = s.snapshots.clone() else { return no_snapshot() };
    // Only the current service's snapshots: a recovered service's directory also holds the
    // previous service's, which a joiner could not verify (SPEC §7).
    let created = current_service_created(&s, Caller::default()).await;
    let listed = tokio::task::spawn_blocking(move || source.committed_newest_first()).await;
    match listed {
        Ok(Ok(names)) => match names.into_iter().find(|n| n.seqno >= created) {
            Some(name) => redirect(&format!("/node/snapshot/{name}")),
            None => no_snapshot(),
        },
        Ok(Err(e)) => internal("listing the snapshots directories", e),
        Err(e) => internal("listing the snapshots directories", e),
    }
}

/// The seqno of the current service's create transaction (0 if unknown).
async fn current_service_created(s: &ApiState, c: Caller) -> u64 {
    let Ok(r) = ask_core(s, c, Request::Network).await else { return 0 };
    r.body
        .get("current_service_create_txid")
        .and_then(|t| t.as_str())
        .and_then(|t| t.parse::<cairn_ledger::format::TxId>().ok())
        .map_or(0, |t| t.seqno)
}

/// The RPC address of the primary if it is a node other than this one.
async fn primary_elsewhere(s: &ApiState, c: Caller) -> Option<String> {
    let me = ask_core(s, c.clone(), Request::NodeState).await.ok().filter(|r| r.status == 200)?;
    let me = me.body.get("node_id")?.as_str()?.to_string();
    let nodes = ask_core(s, c, Request::NetworkNodes).await.ok().filter(|r| r.status == 200)?;
    let primary = nodes.body.get("nodes")?.as_array()?.iter().find(|n| n.get("primary") == Some(&true.into()))?;
    if primary.get("node_id")?.as_str()? == me {
        return None;
    }
    let address = primary.get("rpc_addresses")?.as_array()?.first()?.as_str()?;
    Some(address.to_string())
}

/// What a `Range` header asks of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ByteRange {
    /// No range we serve (absent, another unit, several ranges, malformed): the whole file.
    Whole,
    /// Bytes `first..=last`, inside the file.
    Part(u64, u64),
    /// A range outside the file (416).
    Unsatisfiable,
}

/// Parses `Range: bytes=a-b`, `bytes=a-` or `bytes=-n` for a file of `len` bytes (RFC 9110).
fn parse_range(value: &str, len: u64) -> ByteRange {
    use ByteRange::{Part, Unsatisfiable, Whole};
    let Some(spec) = value.trim().strip_prefix("bytes=") else { return Whole };
    if spec.contains(',') {
        return Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else { return Whole };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // `bytes=-n`: the last n bytes.
        let Ok(n) = last.parse::<u64>() else { return Whole };
        if n == 0 || len == 0 {
            return Unsatisfiable;
        }
        return Part(len.saturating_sub(n), len - 1);
    }
    let Ok(first) = first.parse::<u64>() else { return Whole };
    let last = match last {
        "" => u64::MAX,
        l => match l.parse::<u64>() {
            Ok(l) if l >= first => l,
            _ => return Whole,
        },
    };
    if first >= len {
        return Unsatisfiable;
    }
    Part(first, last.min(len - 1))
}

/// What the blocking reader produced.
enum FileRead {
    NotFound,
    Unsatisfiable {
        len: u64,
    },
    /// The file, positioned at the range's start (absent for `HEAD`), and how many bytes to send.
    Bytes {
        len: u64,
        range: Option<(u64, u64)>,
        file: Option<std::fs::File>,
        count: u64,
    },
}

fn read_snapshot(path: Option<PathBuf>, range: Option<String>, head: bool) -> std::io::Result<FileRead> {
    let Some(path) = path else { return Ok(FileRead::NotFound) };
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(FileRead::NotFound),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let range = match range.map_or(ByteRange::Whole, |r| parse_range(&r, len)) {
        ByteRange::Whole => None,
        ByteRange::Part(first, last) => Some((first, last)),
        ByteRange::Unsatisfiable => return Ok(FileRead::Unsatisfiable { len }),
    };
    let (start, end) = range.unwrap_or((0, len.saturating_sub(1)));
    let count = if len == 0 { 0 } else { end - start + 1 };
    if head {
        return Ok(FileRead::Bytes { len, range, file: None, count });
    }
    file.seek(SeekFrom::Start(start))?;
    Ok(FileRead::Bytes { len, range, file: Some(file), count })
}

/// `GET` / `HEAD /node/snapshot/{name}`.
pub async fn snapshot_file(
    State(s): State<ApiState>,
    method: Method,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> HttpResponse {
    let parsed = name.parse::<SnapshotName>().ok().filter(|n| n.committed);
    let Some(parsed) = parsed else {
        let what =
            format!("{name:?} is not the name of a committed snapshot (snapshot_<seqno>_<evidence_seqno>.committed)");
        return error(ApiError::bad_request("InvalidInput", format!("snapshot_name: {what}")));
    };
    let Some(source) = s.snapshots.clone() else {
        return error(ApiError::not_found("ResourceNotFound", format!("no snapshot {parsed} on this node")));
    };
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let head = method == Method::HEAD;
    let read = tokio::task::spawn_blocking(move || read_snapshot(source.find(&parsed), range, head)).await;
    let read = match read {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return internal(&format!("reading snapshot {parsed}"), e),
        Err(e) => return internal(&format!("reading snapshot {parsed}"), e),
    };
    let octets = HeaderValue::from_static("application/octet-stream");
    let ranges = HeaderValue::from_static("bytes");
    match read {
        FileRead::NotFound => {
            error(ApiError::not_found("ResourceNotFound", format!("no snapshot {parsed} on this node")))
        }
        FileRead::Unsatisfiable { len } => {
            let mut out = error(ApiError::new(
                416,
                "RangeNotSatisfiable",
                format!("snapshot {parsed} has {len} bytes; the requested range is outside it"),
            ));
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                out.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            out
        }
        FileRead::Bytes { len, range, file, count } => {
            let status = if range.is_some() { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK };
            // Streamed in chunks, never held whole: snapshots can be large and the endpoint is
            // open to every client. A committed snapshot file is never written again.
            let body = match file {
                Some(file) => {
                    let reader = tokio::io::AsyncReadExt::take(tokio::fs::File::from_std(file), count);
                    Body::from_stream(tokio_util::io::ReaderStream::new(reader))
                }
                None => Body::empty(),
            };
            let mut out = (status, body).into_response();
            let length = count;
            let h = out.headers_mut();
            h.insert(header::CONTENT_TYPE, octets);
            h.insert(header::ACCEPT_RANGES, ranges);
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
            if let Some((a, b)) = range
                && let Ok(v) = HeaderValue::from_str(&format!("bytes {a}-{b}/{len}"))
            {
                h.insert(header::CONTENT_RANGE, v);
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ByteRange::{Part, Unsatisfiable, Whole};
    use super::parse_range;

    #[test]
    fn byte_ranges_parse_like_rfc_9110() {
        let table = [
            ("bytes=0-9", 100, Part(0, 9)),
            ("bytes=10-", 100, Part(10, 99)),
            ("bytes=90-200", 100, Part(90, 99)),
            ("bytes=-10", 100, Part(90, 99)),
            ("bytes=-500", 100, Part(0, 99)),
            ("bytes=99-99", 100, Part(99, 99)),
            ("bytes=100-", 100, Unsatisfiable),
            ("bytes=-0", 100, Unsatisfiable),
            ("bytes=0-", 0, Unsatisfiable),
            ("bytes=5-3", 100, Whole),
            ("bytes=0-1,5-6", 100, Whole),
            ("items=0-1", 100, Whole),
            ("bytes=x-1", 100, Whole),
            ("bytes=", 100, Whole),
        ];
        for (value, len, want) in table {
            assert_eq!(parse_range(value, len), want, "{value} of {len} bytes");
        }
    }
}
