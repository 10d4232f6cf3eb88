//! Fetching the newest committed snapshot from a node of the service before joining it (CCF's
//! `command.join.fetch_recent_snapshot`): `GET https://<target>/node/snapshot`, following its
//! redirects (to the file on that node, or to the primary), then verifying the file against the
//! service certificate before storing it in the snapshots directory.
use anyhow::Context;
use cairn_crypto::Certificate;
use cairn_fs::SnapshotDirectory;
use cairn_ledger::snapshot::{SnapshotName, verify_committed_snapshot};
use std::time::Duration;

/// What the core thread needs to fetch a snapshot a primary offered: an HTTPS client pinned to
/// the service certificate (this node's certificate as client identity) and that certificate.
#[derive(Clone)]
pub struct SnapshotFetcher {
    pub client: reqwest::Client,
    pub service_cert_pem: String,
}

/// Bounds on one snapshot download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotFetchLimits {
    /// A larger snapshot is refused (before its body is read when the server gives its length).
    pub max_bytes: u64,
    /// For the whole request, redirects and body included; replaces the client's own timeout.
    pub timeout: Duration,
}

impl Default for SnapshotFetchLimits {
    fn default() -> Self {
        SnapshotFetchLimits { max_bytes: 4 << 30, timeout: Duration::from_secs(600) }
    }
}

/// Downloads the newest committed snapshot the service offers through `target_rpc_address`
/// (`host:port`), verifies it against `service_cert_pem` (its receipt verifies against the
/// service identity and proves the digest of its entry) and stores it in `snapshots`.
///
/// `client` must be pinned to the service certificate (`cairn_client::build_tls_config`) and
/// follow redirects (reqwest's default policy). Returns `Ok(None)` when no node has a committed
/// snapshot (404: the joiner replays from the start) and the stored name otherwise (also when
/// the directory already held the same file). Any other answer, a transport error, a body over
/// `limits.max_bytes`, a final URL that does not name a committed snapshot, or a snapshot that
/// does not verify is an error, and nothing is stored. Verification and storing (fsync) run
/// on the calling task.
pub async fn fetch_recent_snapshot(
    client: &reqwest::Client,
    target_rpc_address: &str,
    service_cert_pem: &str,
    snapshots: &mut SnapshotDirectory,
    limits: &SnapshotFetchLimits,
) -> anyhow::Result<Option<SnapshotName>> {
    let url = format!("https://{target_rpc_address}/node/snapshot");
    let service_cert = Certificate::from_pem(service_cert_pem).context("the service certificate")?;
    Ok(fetch_from(client, &url, &[service_cert], snapshots, limits).await?.map(|(name, _)| name))
}

/// Which service's certificate an offered snapshot verified against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotService {
    /// The service this node belongs to.
    Current,
    /// The service before its last disaster recovery (PEM): a recovered service whose primary's
    /// ledger starts after that service's snapshot offers it to nodes that join.
    Previous(String),
}

/// Downloads committed snapshot `name` from the node at `rpc_address` (a primary that offered it
/// in place of entries it does not hold), verifies it and stores it, as
/// [`fetch_recent_snapshot`] does. A 404 is an error here: the offered file must exist. A
/// snapshot that is not the service's may be its previous service's (a recovered service whose
/// primary's ledger starts after it): it is verified against the previous identity that primary
/// serves (`GET /node/service/previous_identity`, over the same pinned connection).
pub async fn fetch_named_snapshot(
    client: &reqwest::Client,
    rpc_address: &str,
    name: SnapshotName,
    service_cert_pem: &str,
    snapshots: &mut SnapshotDirectory,
    limits: &SnapshotFetchLimits,
) -> anyhow::Result<SnapshotService> {
    let url = format!("https://{rpc_address}/node/snapshot/{name}");
    let service_cert = Certificate::from_pem(service_cert_pem).context("the service certificate")?;
    let mut certs = vec![service_cert];
    let previous = previous_identity(client, rpc_address, limits).await?;
    if let Some(pem) = &previous {
        certs.push(Certificate::from_pem(pem).context("the previous service identity the primary serves")?);
    }
    match fetch_from(client, &url, &certs, snapshots, limits).await? {
        Some((got, _)) if got != name => anyhow::bail!("GET {url} served snapshot {got}, not {name}"),
        Some((_, 0)) => Ok(SnapshotService::Current),
        Some(_) => Ok(SnapshotService::Previous(previous.expect("a second certificate"))),
        None => anyhow::bail!("GET {url}: the node that offered snapshot {name} no longer has it"),
    }
}

/// `GET /node/service/previous_identity` of the node at `rpc_address` (None: a service never
/// recovered).
async fn previous_identity(
    client: &reqwest::Client,
    rpc_address: &str,
    limits: &SnapshotFetchLimits,
) -> anyhow::Result<Option<String>> {
    let url = format!("https://{rpc_address}/node/service/previous_identity");
    let response = client.get(&url).timeout(limits.timeout).send().await.with_context(|| format!("GET {url}"))?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !response.status().is_success() {
        anyhow::bail!("GET {url} answered {}", response.status());
    }
    let body: serde_json::Value = response.json().await.with_context(|| format!("GET {url}: the body"))?;
    let pem = body["previous_service_identity"].as_str().with_context(|| format!("GET {url}: {body}"))?;
    Ok(Some(pem.to_string()))
}

/// Fetches the snapshot at `url` and stores it if it verifies against one of `certs`; returns
/// its name and the index of that certificate.
async fn fetch_from(
    client: &reqwest::Client,
    url: &str,
    certs: &[Certificate],
    snapshots: &mut SnapshotDirectory,
    limits: &SnapshotFetchLimits,
) -> anyhow::Result<Option<(SnapshotName, usize)>> {
    let mut response = client
        .get(url)
        .timeout(limits.timeout)
        .send()
        .await
        .with_context(|| format!("fetching a snapshot: GET {url}"))?;
    let final_url = response.url().to_string();
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        tracing::info!(%url, %final_url, "no committed snapshot to fetch");
        return Ok(None);
    }
    if status != reqwest::StatusCode::OK {
        let body = response.text().await.unwrap_or_default();
        let body: String = body.chars().take(500).collect();
        anyhow::bail!("fetching a snapshot: GET {url} (final URL {final_url}) answered {status}: {body}");
    }
    let segment = response.url().path_segments().and_then(|mut s| s.next_back()).unwrap_or_default().to_string();
    let name = segment.parse::<SnapshotName>().ok().filter(|n| n.committed).with_context(|| {
        format!("fetching a snapshot: GET {url} ended at {final_url}, which does not name a committed snapshot")
    })?;
    if let Some(len) = response.content_length()
        && len > limits.max_bytes
    {
        anyhow::bail!(
            "fetching snapshot {name} from {final_url}: {len} bytes exceeds the limit of {}",
            limits.max_bytes
        );
    }
    let mut bytes = Vec::new();
    while let Some(chunk) =
        response.chunk().await.with_context(|| format!("fetching snapshot {name}: reading the body of {final_url}"))?
    {
        if (bytes.len() + chunk.len()) as u64 > limits.max_bytes {
            anyhow::bail!(
                "fetching snapshot {name} from {final_url}: the body exceeds the limit of {} bytes",
                limits.max_bytes
            );
        }
        bytes.extend_from_slice(&chunk);
    }
    let mut verified = Err(anyhow::anyhow!("no certificate to verify it against"));
    for (i, cert) in certs.iter().enumerate() {
        match verify_committed_snapshot(&name, &bytes, cert) {
            Ok(v) => {
                verified = Ok((v, i));
                break;
            }
            Err(e) if i == 0 => verified = Err(e.into()),
            Err(_) => {}
        }
    }
    let (verified, by) =
        verified.with_context(|| format!("snapshot {name} fetched from {final_url} does not verify; not stored"))?;
    snapshots
        .store_committed(&name, &bytes)
        .with_context(|| format!("storing snapshot {name} fetched from {final_url}"))?;
    tracing::info!(snapshot = %name, bytes = bytes.len(), evidence = %verified.evidence_tx, from = %final_url, "fetched a committed snapshot");
    Ok(Some((name, by)))
}
