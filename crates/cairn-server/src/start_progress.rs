//! What a starting node reports before its core exists (SPEC §6, §7.1): a `Recover` node
//! serves `GET /node/state` over TLS from the moment its new service certificate is written,
//! with state `ReadingPublicLedger` and the progress of its read (`recovery_target_seqno`,
//! `last_recovered_seqno`, and Cairn's `recovery_progress`: bytes read of the total, rate,
//! estimated time left). Every other endpoint answers 503 until the node serves for real.
//!
//! The startup code (on a blocking thread) updates a [`StartProgress`]; the runner's early
//! server reads it. The early server starts only when the startup hands it a TLS identity
//! ([`StartProgress::serve`]); a plain start or restart never does, and the runner's listener
//! then simply waits for the real server.
use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::oneshot;

/// The TLS identity the early server presents (the new node certificate, endorsed by the new
/// service).
pub struct ServeIdentity {
    pub node_cert_pem: String,
    pub node_key_pem: String,
    pub service_cert_pem: String,
    pub node_id: String,
}

#[derive(Debug, Clone)]
struct Reading {
    node_id: String,
    target_seqno: u64,
    seqno: u64,
    last_signed_seqno: u64,
    bytes_read: u64,
    bytes_total: u64,
    started: Instant,
}

#[derive(Default)]
struct Inner {
    identity: Option<oneshot::Sender<ServeIdentity>>,
    reading: Option<Reading>,
}

/// Shared between the startup thread and the early server.
#[derive(Clone, Default)]
pub struct StartProgress {
    inner: Arc<Mutex<Inner>>,
}

impl StartProgress {
    /// A progress record, and where the early server learns its TLS identity.
    pub fn new() -> (StartProgress, oneshot::Receiver<ServeIdentity>) {
        let (tx, rx) = oneshot::channel();
        let progress = StartProgress::default();
        progress.inner.lock().expect("progress lock").identity = Some(tx);
        (progress, rx)
    }

    /// Starts the early server with `identity` (once; later calls do nothing).
    pub fn serve(&self, identity: ServeIdentity) {
        let mut inner = self.inner.lock().expect("progress lock");
        inner.reading.get_or_insert(Reading {
            node_id: identity.node_id.clone(),
            target_seqno: 0,
            seqno: 0,
            last_signed_seqno: 0,
            bytes_read: 0,
            bytes_total: 0,
            started: Instant::now(),
        });
        if let Some(tx) = inner.identity.take() {
            let _ = tx.send(identity);
        }
    }

    /// The read of `target_seqno` entries (`bytes_total` bytes of chunk files) begins.
    pub fn reading(&self, target_seqno: u64, bytes_total: u64) {
        if let Some(r) = self.inner.lock().expect("progress lock").reading.as_mut() {
            (r.target_seqno, r.bytes_total, r.started) = (target_seqno, bytes_total, Instant::now());
        }
    }

    /// Entries up to `seqno` are read (`bytes_read` bytes); the last signature met is
    /// `last_signed_seqno`.
    pub fn advance(&self, seqno: u64, bytes_read: u64, last_signed_seqno: u64) {
        if let Some(r) = self.inner.lock().expect("progress lock").reading.as_mut() {
            (r.seqno, r.bytes_read, r.last_signed_seqno) = (seqno, bytes_read, last_signed_seqno);
        }
    }

    /// `GET /node/state` while reading.
    fn node_state(&self) -> Value {
        let Some(r) = self.inner.lock().expect("progress lock").reading.clone() else {
            return json!({ "state": "Initialized" });
        };
        let elapsed = r.started.elapsed().as_secs_f64().max(1e-3);
        let rate = r.bytes_read as f64 / elapsed;
        let left = r.bytes_total.saturating_sub(r.bytes_read) as f64;
        let eta = if rate > 0.0 { Some((left / rate * 10.0).round() / 10.0) } else { None };
        json!({
            "node_id": r.node_id,
            "state": "ReadingPublicLedger",
            "last_signed_seqno": r.last_signed_seqno,
            "startup_seqno": 0,
            "recovery_target_seqno": r.target_seqno,
            "last_recovered_seqno": r.seqno,
            "recovery_progress": {
                "phase": "public",
                "seqno": r.seqno,
                "target_seqno": r.target_seqno,
                "bytes_read": r.bytes_read,
                "bytes_total": r.bytes_total,
                "rate_bytes_per_s": rate.round() as u64,
                "eta_s": eta,
            },
        })
    }

    /// The early server's routes: `/node/state`, and 503 for the rest.
    pub fn router(&self) -> Router {
        let state = self.clone();
        Router::new().route("/node/state", get(move || async move { axum::Json(state.node_state()) })).fallback(
            || async {
                let body = json!({"error": {"code": "NodeStarting",
                    "message": "this node is reading the public ledger of the service it recovers; GET /node/state reports the progress"}});
                (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_reports_the_read_and_its_rate() {
        let (progress, mut rx) = StartProgress::new();
        assert_eq!(progress.node_state()["state"], "Initialized");
        let identity = ServeIdentity {
            node_cert_pem: "n".into(),
            node_key_pem: "k".into(),
            service_cert_pem: "s".into(),
            node_id: "abc".into(),
        };
        progress.serve(identity);
        assert_eq!(rx.try_recv().expect("sent").node_id, "abc");
        progress.reading(1000, 50_000);
        progress.advance(400, 20_000, 380);
        let s = progress.node_state();
        assert_eq!(s["state"], "ReadingPublicLedger");
        assert_eq!((s["recovery_target_seqno"].as_u64(), s["last_recovered_seqno"].as_u64()), (Some(1000), Some(400)));
        assert_eq!(s["last_signed_seqno"], 380);
        assert_eq!(s["recovery_progress"]["bytes_total"], 50_000);
        assert!(s["recovery_progress"]["rate_bytes_per_s"].as_u64().unwrap() > 0);
    }
}
