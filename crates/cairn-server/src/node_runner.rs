//! Running a node: start or restart it from its directories, bind the RPC interface, accept TLS
//! connections (bounded in number), and serve the API until shutdown or a fatal error.
use crate::connection_slots::{Admission, ConnectionSlots, Slot};
use crate::core_loop::{CoreLoop, CoreMsg, LoopExit, pause_refusing};
use crate::directory_lock::{DirectoryLocks, lock_directories};
use crate::forwarding::PeerIsNode;
use crate::http_api::{ApiState, router};
use crate::join_phase::complete_join;
use crate::node_channel::{ChannelEvent, NodeChannel, NodeChannelConfig, NodeIdentity as ChannelIdentity};
use crate::rate_limited_log::RateLimitedLog;
use crate::served_certificates::{ServedCertificates, SharedTls};
use crate::shell_config::ShellConfig;
use crate::snapshot_fetch::SnapshotFetcher;
use crate::start_progress::{ServeIdentity, StartProgress};
use crate::startup::start_or_restart;
use crate::tls_config::server_config;
use anyhow::Context;
use axum::Extension;
use cairn_client::{ClientIdentity, build_tls_config};
use cairn_crypto::Certificate;
use cairn_crypto::sha256;
use cairn_node::Caller;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;

/// Requests waiting for the core thread; senders wait (backpressure) beyond it.
const CORE_QUEUE: usize = 8192;
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Frames and notices from peers waiting for the core thread (the channel back-pressures
/// the sockets beyond it).
const PEER_QUEUE: usize = 4096;
/// Bound on a request forwarded to the primary.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);

/// A node serving on `rpc_address` until [`RunningNode::stop`] or a fatal error.
pub struct RunningNode {
    pub rpc_address: SocketAddr,
    pub node_to_node_address: SocketAddr,
    pub service_cert_pem: String,
    stop: watch::Sender<bool>,
    core_thread: std::thread::JoinHandle<anyhow::Result<()>>,
    failed: watch::Receiver<bool>,
    /// This node's directories, locked against a second process until it exits.
    _locks: DirectoryLocks,
}

impl RunningNode {
    /// Stops accepting, lets the core finish its queue, and waits for it.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        tokio::task::spawn_blocking(move || self.core_thread.join())
            .await
            .context("joining the core thread")?
            .map_err(|_| anyhow::anyhow!("the core thread panicked"))?
    }

    /// Resolves when the core thread stopped on its own (a fatal error).
    pub async fn failed(&mut self) {
        let _ = self.failed.wait_for(|f| *f).await;
    }
}

/// Starts the node and returns once it is serving.
pub async fn start_node(cfg: ShellConfig) -> anyhow::Result<RunningNode> {
    let locks = lock_directories(&[
        ("node_data_directory", &cfg.node_data_directory),
        ("ledger.directory", &cfg.ledger_directory),
        ("snapshots.directory", &cfg.snapshots_directory),
    ])?;
    let listener = TcpListener::bind(cfg.rpc_bind)
        .await
        .with_context(|| format!("binding the RPC interface to {}", cfg.rpc_bind))?;
    let rpc_address = listener.local_addr()?;
    // A Recover node answers GET /node/state with its progress while it reads the ledger.
    let (progress, identity_rx) = StartProgress::new();
    let (early_stop, early_stop_rx) = watch::channel(false);
    let early =
        tokio::spawn(early_server(listener, identity_rx, progress.clone(), ConnectionLimits::of(&cfg), early_stop_rx));
    let started = {
        let cfg = cfg.clone();
        tokio::task::spawn_blocking(move || start_or_restart(&cfg, Some(&progress))).await.context("start task")?
    };
    let _ = early_stop.send(true);
    let listener = early.await.context("the early server")?;
    let mut started = started?;
    let initial = match (&cfg.join, started.joining) {
        (Some(join), true) => {
            let actions = complete_join(&mut started, join).await?;
            if started.snapshots.committed_newest_first().context("listing snapshots")?.is_empty() {
                actions
            } else {
                // Admitted, with a committed snapshot (fetched, or placed by the operator): start
                // again from the files the join wrote, so the state starts from the snapshot and
                // the ledger right after it (nothing was appended yet). The peers the join answer
                // named are kept: the snapshot may predate some of them (the primary, even).
                let peers = started.core.address_book();
                drop(started);
                let cfg = cfg.clone();
                started =
                    tokio::task::spawn_blocking(move || start_or_restart(&cfg, None)).await.context("start task")??;
                started.core.learn_peers(peers);
                started.core.take_actions()
            }
        }
        _ => Vec::new(),
    };
    let (peer_tx, peer_rx) = mpsc::channel::<ChannelEvent>(PEER_QUEUE);
    let channel_identity = ChannelIdentity {
        cert_pem: started.node_cert_pem.clone(),
        key_pem: started.node_key_pem.clone(),
        service_cert_pem: started.service_cert_pem.clone(),
    };
    let channel = NodeChannel::start(&channel_identity, NodeChannelConfig::new(cfg.node_to_node_bind), peer_tx)
        .await
        .with_context(|| format!("node-to-node interface {}", cfg.node_to_node_bind))?;
    let node_to_node_address = channel.local_addr();
    let tls = server_config(&[&started.node_cert_pem, &started.service_cert_pem], &started.node_key_pem)?;
    let tls: SharedTls = Arc::new(std::sync::RwLock::new(tls));
    let served = |node_cert_pem: &str, service_cert_pem: &str, key_pem: &str| {
        ServedCertificates::new(
            tls.clone(),
            key_pem.to_string(),
            (node_cert_pem.to_string(), service_cert_pem.to_string()),
            (cfg.service_certificate_file.clone(), cfg.node_certificate_file.clone()),
        )
    };
    let service_cert_pem = started.service_cert_pem.clone();
    let (core_tx, core_rx) = mpsc::channel::<CoreMsg>(CORE_QUEUE);
    let (failed_tx, failed) = watch::channel(false);
    let channel = Arc::new(channel);
    let identity = ClientIdentity { cert_pem: started.node_cert_pem.clone(), key_pem: started.node_key_pem.clone() };
    let fetcher = SnapshotFetcher {
        client: reqwest::Client::builder()
            .use_preconfigured_tls(build_tls_config(&started.service_cert_pem, Some(&identity))?)
            .build()
            .context("snapshot client")?,
        service_cert_pem: started.service_cert_pem.clone(),
    };
    let core_loop = CoreLoop::new(
        started.core,
        started.writer,
        started.snapshots,
        started.files,
        Some(channel.clone()),
        Some(fetcher.clone()),
        initial,
    )
    .with_served_certificates(served(&started.node_cert_pem, &started.service_cert_pem, &started.node_key_pem));
    let served_again = {
        let tls = tls.clone();
        let files = (cfg.service_certificate_file.clone(), cfg.node_certificate_file.clone());
        move |s: &crate::startup::Started| {
            ServedCertificates::new(
                tls.clone(),
                s.node_key_pem.clone(),
                (s.node_cert_pem.clone(), s.service_cert_pem.clone()),
                files.clone(),
            )
        }
    };
    let loop_cfg = cfg.clone();
    let loop_channel = channel.clone();
    let core_thread = std::thread::Builder::new()
        .name("cairn-core".into())
        .spawn(move || {
            let (mut core_rx, mut peer_rx) = (core_rx, peer_rx);
            let mut core_loop = core_loop;
            let mut failed_fetches = 0u32;
            let result = loop {
                match core_loop.run(&mut core_rx, &mut peer_rx) {
                    Ok(LoopExit::Shutdown) => break Ok(()),
                    // Started again from the files (the ledger was set aside for a snapshot, or
                    // the offered one could not be fetched: then after a growing pause): same
                    // identity, same channel, same request queue.
                    Ok(LoopExit::StartAgain { peers, fetched }) => {
                        failed_fetches = if fetched { 0 } else { failed_fetches + 1 };
                        if failed_fetches > 0 {
                            let pause = Duration::from_secs(1 << failed_fetches.min(6));
                            if let Err(e) = pause_refusing(pause, &mut core_rx, &mut peer_rx) {
                                break Err(e);
                            }
                        }
                        match start_or_restart(&loop_cfg, None) {
                            Ok(mut s) => {
                                s.core.learn_peers(peers);
                                let channel = Some(loop_channel.clone());
                                let fetcher = Some(fetcher.clone());
                                let served = served_again(&s);
                                core_loop =
                                    CoreLoop::new(s.core, s.writer, s.snapshots, s.files, channel, fetcher, Vec::new())
                                        .with_served_certificates(served);
                            }
                            Err(e) => break Err(e.context("starting again from a snapshot")),
                        }
                    }
                    Err(e) => break Err(e),
                }
            };
            if let Err(e) = &result {
                tracing::error!("core loop failed, the node stops: {e:#}");
            }
            let _ = failed_tx.send(true);
            result
        })
        .context("spawning the core thread")?;
    let (stop, stop_rx) = watch::channel(false);
    let forwarder = reqwest::Client::builder()
        .use_preconfigured_tls(build_tls_config(&started.service_cert_pem, Some(&identity))?)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(FORWARD_TIMEOUT)
        .build()
        .context("forwarding client")?;
    let service_key = Certificate::from_pem(&started.service_cert_pem)?.verifying_key()?;
    let state = ApiState {
        core: core_tx,
        max_body_bytes: cfg.max_body_bytes,
        forwarder: Some(forwarder),
        channel: Some(channel),
        snapshots: Some(crate::snapshot_api::SnapshotSource {
            directory: cfg.snapshots_directory.clone(),
            read_only_directory: cfg.snapshots_read_only_directory.clone(),
        }),
    };
    let accept = AcceptContext { tls, app: router(state), service_key };
    tokio::spawn(accept_loop(listener, accept, ConnectionLimits::of(&cfg), stop_rx));
    tracing::info!(%rpc_address, "node serving");
    Ok(RunningNode { rpc_address, node_to_node_address, service_cert_pem, stop, core_thread, failed, _locks: locks })
}

impl AcceptContext {
    fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.tls.read().expect("the TLS lock is never poisoned").clone())
    }
}

/// What every accepted connection needs.
struct AcceptContext {
    /// Read at each connection: renewed certificates are served from the next one on.
    tls: SharedTls,
    app: axum::Router,
    /// To recognise nodes of this service among clients (forwarded requests).
    service_key: cairn_crypto::VerifyingKey,
}

/// Serves `progress` (`start_progress.rs`) on `listener` once the startup hands it a TLS
/// identity, until `stop`; returns the listener for the real server.
async fn early_server(
    listener: TcpListener,
    identity: tokio::sync::oneshot::Receiver<ServeIdentity>,
    progress: StartProgress,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) -> TcpListener {
    let identity = tokio::select! {
        id = identity => id.ok(),
        _ = stop.changed() => None,
    };
    let Some(identity) = identity else { return listener };
    let tls = match server_config(&[&identity.node_cert_pem, &identity.service_cert_pem], &identity.node_key_pem) {
        Ok(tls) => tls,
        Err(e) => {
            tracing::warn!("no progress server while starting: {e:#}");
            return listener;
        }
    };
    let service_key = match Certificate::from_pem(&identity.service_cert_pem).and_then(|c| c.verifying_key()) {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!("no progress server while starting: {e}");
            return listener;
        }
    };
    tracing::info!("serving GET /node/state while the ledger is read");
    let ctx = AcceptContext { tls: Arc::new(std::sync::RwLock::new(tls)), app: progress.router(), service_key };
    accept_loop(listener, ctx, limits, stop).await
}

/// The RPC port's bounds (`max_open_sessions_soft/hard`, `idle_connection_timeout`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    pub soft: usize,
    pub hard: usize,
    pub idle: Duration,
}

impl ConnectionLimits {
    fn of(cfg: &ShellConfig) -> Self {
        ConnectionLimits {
            soft: cfg.soft_connections.min(cfg.max_connections),
            hard: cfg.max_connections,
            idle: cfg.idle_timeout,
        }
    }
}

/// Accepts connections until `stop`; returns the listener. Connections share bounded slots
/// (`connection_slots.rs`): a connection that has no request in flight is evicted by a newcomer
/// above the soft limit, and closed after `limits.idle` without a request; with every
/// connection busy, newcomers above the soft limit get 503 and above the hard limit are closed.
async fn accept_loop(
    listener: TcpListener,
    ctx: AcceptContext,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) -> TcpListener {
    let ctx = Arc::new(ctx);
    let slots = ConnectionSlots::new(limits.soft, limits.hard);
    let refusals = Arc::new(RateLimitedLog::new(Duration::from_secs(10)));
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => break,
        };
        let (tcp, peer) = match accepted {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let (slot, over_soft) = match slots.admit() {
            Admission::Admitted(slot) => (slot, false),
            Admission::OverSoftLimit(slot) => (slot, true),
            Admission::Refused => {
                if let Some(suppressed) = refusals.allow() {
                    tracing::warn!(%peer, max_open_sessions_hard = limits.hard, suppressed, "connection refused: every session is busy");
                }
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let ctx = ctx.clone();
        let stop = stop.clone();
        tokio::spawn(serve_connection(ctx, tcp, peer, slot, over_soft, limits.idle, stop));
    }
    listener
}

/// One RPC connection: TLS handshake, then HTTP/1.1 until the client closes, the node stops,
/// a newcomer evicts it, or it stays idle for `idle`.
async fn serve_connection(
    ctx: Arc<AcceptContext>,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    mut slot: Slot,
    over_soft: bool,
    idle: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut evicted = slot.take_eviction().expect("a new slot has its eviction signal");
    let slot = Arc::new(slot);
    let tls = tokio::select! {
        r = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, ctx.acceptor().accept(tcp)) => match r {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => return tracing::debug!(%peer, "TLS handshake failed: {e}"),
            Err(_) => return tracing::debug!(%peer, "TLS handshake timed out"),
        },
        _ = &mut evicted => return tracing::debug!(%peer, "evicted during its TLS handshake"),
    };
    let peer_cert = tls.get_ref().1.peer_certificates().and_then(|c| c.first());
    let cert_id = peer_cert.map(|c| sha256(c).to_hex());
    let is_node = peer_cert
        .and_then(|der| Certificate::from_der(der.to_vec()).ok())
        .is_some_and(|cert| cert.verify_issued_by(&ctx.service_key).is_ok());
    let app = match over_soft {
        true => session_cap_router(),
        false => ctx.app.clone().layer(Extension(Caller::with_cert(cert_id))).layer(Extension(PeerIsNode(is_node))),
    };
    let activity = Arc::new(std::sync::Mutex::new(tokio::time::Instant::now()));
    let (busy_slot, busy_activity) = (slot.clone(), activity.clone());
    let app = app.layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
        let guard = busy_slot.busy_guard();
        let activity = busy_activity.clone();
        async move {
            let response = next.run(req).await;
            *activity.lock().unwrap_or_else(|p| p.into_inner()) = tokio::time::Instant::now();
            drop(guard);
            response
        }
    }));
    let service = TowerToHyperService::new(app);
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service);
    tokio::pin!(conn);
    let idle_watch = async {
        loop {
            let since = *activity.lock().unwrap_or_else(|p| p.into_inner());
            tokio::time::sleep_until(since + idle).await;
            let since = *activity.lock().unwrap_or_else(|p| p.into_inner());
            if !slot.is_busy() && since.elapsed() >= idle {
                return;
            }
            if slot.is_busy() {
                tokio::time::sleep(idle.min(Duration::from_secs(1))).await;
            }
        }
    };
    tokio::pin!(idle_watch);
    let mut closing = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r { tracing::debug!(%peer, "connection ended: {e}") }
                return;
            }
            _ = stop.changed(), if !closing => { closing = true; conn.as_mut().graceful_shutdown() }
            // Evicted or idle: no request is in flight (a half-read header is not one), so the
            // connection is dropped at once; a graceful shutdown would wait for that header.
            _ = &mut evicted, if !closing => {
                return tracing::debug!(%peer, "idle connection evicted by a newer one");
            }
            _ = &mut idle_watch, if !closing => {
                return tracing::debug!(%peer, idle_ms = idle.as_millis() as u64, "idle connection closed");
            }
        }
    }
}

/// What a connection over `max_open_sessions_soft` is served: 503 for every request (CCF's
/// `SessionCapExhausted`), and the connection closed.
fn session_cap_router() -> axum::Router {
    axum::Router::new().fallback(|| async {
        let body = serde_json::json!({"error": {
            "code": "SessionCapExhausted",
            "message": "Service is currently busy and cannot accept new sessions: retry later",
        }});
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, [(axum::http::header::CONNECTION, "close")], axum::Json(body))
    })
}

/// Runs a node until SIGINT/SIGTERM or a fatal error (`cairn node`).
pub fn run_node(cfg: ShellConfig) -> anyhow::Result<()> {
    crate::crash_point::setup();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    rt.block_on(async move {
        let mut node = start_node(cfg).await?;
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("interrupted: stopping"),
            _ = term.recv() => tracing::info!("terminated: stopping"),
            _ = node.failed() => return node.stop().await.and(Err(anyhow::anyhow!("the node stopped after a fatal error"))),
        }
        node.stop().await
    })
}
