//! The join phase of `command.type = Join` (design §9): before the node serves or replicates,
//! its core asks the target node to join (`POST /node/join`, TLS pinned to the service
//! certificate, the node's self-signed certificate as client certificate proving its key)
//! every `retry_timeout`, until an answer carries the network information. The files a
//! restart needs (endorsed certificate, service identity, ledger secrets) are written before
//! the node goes on. With `fetch_recent_snapshot`, the newest committed snapshot is fetched and
//! verified first; the node runner then starts the admitted node from it.
use crate::core_loop::now_ms;
use crate::node_files::{LEDGER_SECRETS_FILE, NODE_CERT_FILE, SERVICE_CERT_FILE, SERVICE_KEY_FILE};
use crate::shell_config::JoinSpec;
use crate::snapshot_fetch::{SnapshotFetchLimits, fetch_recent_snapshot};
use crate::startup::Started;
use anyhow::Context;
use cairn_client::{ClientIdentity, build_tls_config};
use cairn_node::{Action, Event};
use std::time::Duration;

/// Runs the join until admitted. Returns the core's other actions, for the core loop.
pub async fn complete_join(started: &mut Started, join: &JoinSpec) -> anyhow::Result<Vec<Action>> {
    let identity = ClientIdentity { cert_pem: started.node_cert_pem.clone(), key_pem: started.node_key_pem.clone() };
    let tls = build_tls_config(&join.service_cert_pem, Some(&identity)).context("join TLS configuration")?;
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(Duration::from_millis(join.retry_ms.max(1000)))
        .build()
        .context("join HTTP client")?;
    if join.fetch_recent_snapshot && started.writer.last().seqno == 0 {
        fetch_snapshot_before_joining(started, join, &client).await;
    }
    let url = format!("https://{}/node/join", join.target_rpc_address);
    let mut pending = Vec::new();
    loop {
        for action in started.core.take_actions() {
            match action {
                Action::SendJoinRequest { body } => {
                    let (status, body) = match client.post(&url).body(body).send().await {
                        Ok(r) => (r.status().as_u16(), r.bytes().await.map(|b| b.to_vec()).unwrap_or_default()),
                        Err(e) => {
                            tracing::info!(target = %join.target_rpc_address, "join request failed: {e}");
                            (0, Vec::new())
                        }
                    };
                    if join_token_refused(status, &body) {
                        anyhow::bail!(
                            "{} refused this node's join token (command.join_token_file): it is not the token of \
                             that service (a token is valid only for the Start or Recover that wrote it). Copy the \
                             current token from the node that started the service, or remove the file to join \
                             Pending and let members trust this node",
                            join.target_rpc_address
                        );
                    }
                    if status != 200 {
                        tracing::info!(status, "join not answered yet: {}", String::from_utf8_lossy(&body));
                    }
                    started.core.handle(Event::JoinResponse { status, body });
                }
                Action::PersistJoinedIdentity { node_cert_pem, service_cert_pem, service_key_pem } => {
                    let files = &started.files;
                    files.write(SERVICE_KEY_FILE, service_key_pem.as_bytes(), true)?;
                    crate::crash_point::crash_point(crate::crash_point::JOIN_BETWEEN_IDENTITY_FILES);
                    files.write(SERVICE_CERT_FILE, service_cert_pem.as_bytes(), false)?;
                    files.write(NODE_CERT_FILE, node_cert_pem.as_bytes(), false)?;
                    started.node_cert_pem = node_cert_pem;
                    started.service_cert_pem = service_cert_pem;
                    started.joining = false;
                }
                Action::PersistLedgerSecrets { json } => started.files.write(LEDGER_SECRETS_FILE, &json, true)?,
                other => pending.push(other),
            }
        }
        if !started.joining {
            tracing::info!(node_id = %started.core.node_id(), "joined the service");
            return Ok(pending);
        }
        let wait = started.core.next_deadline_ms().map_or(join.retry_ms, |d| d.saturating_sub(now_ms()));
        tokio::time::sleep(Duration::from_millis(wait.clamp(1, join.retry_ms))).await;
        started.core.handle(Event::Tick { now_ms: now_ms() });
    }
}

/// `fetch_recent_snapshot`: the newest committed snapshot of the service, verified against the
/// service certificate, into this node's snapshots directory. Not fatal: without it (none yet,
/// target unreachable, or one that does not verify, which is not stored) the node joins and the
/// primary replicates the whole ledger.
async fn fetch_snapshot_before_joining(started: &mut Started, join: &JoinSpec, client: &reqwest::Client) {
    let limits = SnapshotFetchLimits::default();
    let fetched = fetch_recent_snapshot(
        client,
        &join.target_rpc_address,
        &join.service_cert_pem,
        &mut started.snapshots,
        &limits,
    )
    .await;
    match fetched {
        Ok(Some(name)) => tracing::info!(snapshot = %name, "fetched the service's newest committed snapshot"),
        Ok(None) => tracing::info!("the service has no committed snapshot yet: joining from the start of the ledger"),
        Err(e) => tracing::warn!("no snapshot fetched, joining from the start of the ledger: {e:#}"),
    }
}

/// A 403 whose error code says the join token was wrong: retrying cannot help.
fn join_token_refused(status: u16, body: &[u8]) -> bool {
    status == 403
        && serde_json::from_slice::<serde_json::Value>(body)
            .is_ok_and(|v| v["error"]["code"] == cairn_node::JOIN_TOKEN_INVALID)
}
