//! Running a node: start or restart it from its directories, bind the RPC interface, accept TLS
//! connections (bounded in number), and serve the API until shutdown or a fatal error.
use crate::core_loop::{CoreLoop, CoreMsg, LoopExit, pause_refusing};
use crate::forwarding::PeerIsNode;
use crate::http_api::{ApiState, router};
use crate::join_phase::complete_join;
use crate::node_channel::{ChannelEvent, NodeChannel, NodeChannelConfig, NodeIdentity as ChannelIdentity};
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
use tokio::sync::{Semaphore, mpsc, watch};
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
    let listener = TcpListener::bind(cfg.rpc_bind)
        .await
        .with_context(|| format!("binding the RPC interface to {}", cfg.rpc_bind))?;
    let rpc_address = listener.local_addr()?;
    // A Recover node answers GET /node/state with its progress while it reads the ledger.
    let (progress, identity_rx) = StartProgress::new();
    let (early_stop, early_stop_rx) = watch::channel(false);
    let early = tokio::spawn(early_server(listener, identity_rx, progress.clone(), cfg.max_connections, early_stop_rx));
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
    );
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
                                core_loop =
                                    CoreLoop::new(s.core, s.writer, s.snapshots, s.files, channel, fetcher, Vec::new());
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
    let accept = AcceptContext { acceptor: TlsAcceptor::from(tls), app: router(state), service_key };
    tokio::spawn(accept_loop(listener, accept, cfg.max_connections, stop_rx));
    tracing::info!(%rpc_address, "node serving");
    Ok(RunningNode { rpc_address, node_to_node_address, service_cert_pem, stop, core_thread, failed })
}

/// What every accepted connection needs.
struct AcceptContext {
    acceptor: TlsAcceptor,
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
    max_connections: usize,
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
    let ctx = AcceptContext { acceptor: TlsAcceptor::from(tls), app: progress.router(), service_key };
    accept_loop(listener, ctx, max_connections, stop).await
}

/// Accepts connections until `stop`; returns the listener.
async fn accept_loop(
    listener: TcpListener,
    ctx: AcceptContext,
    max_connections: usize,
    mut stop: watch::Receiver<bool>,
) -> TcpListener {
    let ctx = Arc::new(ctx);
    let permits = Arc::new(Semaphore::new(max_connections));
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
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(%peer, max_connections, "connection refused: too many open connections");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let ctx = ctx.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let tls = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, ctx.acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => return tracing::debug!(%peer, "TLS handshake failed: {e}"),
                Err(_) => return tracing::debug!(%peer, "TLS handshake timed out"),
            };
            let peer_cert = tls.get_ref().1.peer_certificates().and_then(|c| c.first());
            let cert_id = peer_cert.map(|c| sha256(c).to_hex());
            let is_node = peer_cert
                .and_then(|der| Certificate::from_der(der.to_vec()).ok())
                .is_some_and(|cert| cert.verify_issued_by(&ctx.service_key).is_ok());
            let app =
                ctx.app.clone().layer(Extension(Caller::with_cert(cert_id))).layer(Extension(PeerIsNode(is_node)));
            let service = TowerToHyperService::new(app);
            let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => if let Err(e) = r { tracing::debug!(%peer, "connection ended: {e}") },
                _ = stop.changed() => conn.as_mut().graceful_shutdown(),
            }
        });
    }
    listener
}

/// Runs a node until SIGINT/SIGTERM or a fatal error (`cairn node`).
pub fn run_node(cfg: ShellConfig) -> anyhow::Result<()> {
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
