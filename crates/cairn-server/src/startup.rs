//! Bringing a node up from its directories: a first start creates the service and node
//! identities and the genesis transaction; a restart (same config, same directories; not a
//! disaster recovery) opens the ledger (running the local-restart scan), replays it from the
//! newest verified committed snapshot or from the start (`snapshot_start`), keeps the unsigned
//! tail, and resumes the same service.
use crate::core_loop::now_ms;
use crate::node_files::{
    LEDGER_SECRETS_FILE, NODE_CERT_FILE, NODE_KEY_FILE, NodeFiles, PREVIOUS_SERVICE_CERT_FILE, RAFT_STATE_FILE,
    RECOVERY_MARKER_FILE, SERVICE_CERT_FILE, SERVICE_KEY_FILE, SNAPSHOT_INSTALL_FILE, write_atomically,
};
use crate::shell_config::ShellConfig;
use crate::snapshot_start::{
    ServiceCerts, newest_snapshot, replay_after_snapshot, start_from_installed_snapshot, start_from_newest_snapshot,
};
use anyhow::{Context, bail};
use cairn_crypto::{Certificate, SigningKey};
use cairn_fs::{FsStorage, SnapshotDirectory};
use cairn_ledger::snapshot::SnapshotName;
use cairn_ledger::storage::Storage;
use cairn_ledger::{LedgerConfig, LedgerSecrets, LedgerWriter, NodeSigner, ServiceIdentity};
use cairn_node::{
    AfterReplay, FillRandom, NodeCore, NodeIdentity, Replayer, ResumeParams, StartCommand, StartFacts, StartParams,
    StartPlan, StartRefusal, after_replay, plan_start,
};
use rand::RngCore;
use std::sync::Arc;

/// Node certificates are renewed by re-endorsement in CCF; Cairn issues them for a year.
const NODE_CERT_VALIDITY_DAYS: u32 = 365;

pub struct Started {
    pub core: NodeCore,
    /// A joining node not admitted yet: its certificate is self-signed until the primary's
    /// answer brings the endorsed one.
    pub joining: bool,
    pub writer: LedgerWriter<FsStorage>,
    pub snapshots: SnapshotDirectory,
    pub files: NodeFiles,
    pub node_cert_pem: String,
    pub node_key_pem: String,
    pub service_cert_pem: String,
}

pub fn fill_random() -> FillRandom {
    Box::new(|buf: &mut [u8]| rand::rng().fill_bytes(buf))
}

pub(crate) fn now_s() -> i64 {
    (now_ms() / 1000) as i64
}

/// Host part of `host:port` addresses, for certificate names.
fn host_of(address: &str) -> String {
    match address.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host.trim_matches(['[', ']']).to_string(),
        _ => address.to_string(),
    }
}

/// Creates the service identity and this node's identity (endorsed by the service key) and the
/// first ledger secret.
fn create_identity(cfg: &ShellConfig, files: &NodeFiles) -> anyhow::Result<()> {
    let not_before = now_s() - 60;
    let service = ServiceIdentity::create(not_before, cfg.start.service_cert_validity_days)?;
    write_identity(cfg, files, service, 1)
}

/// A new node key and its certificate endorsed by `service` (the names from
/// `node_certificate.subject_alt_names`, or 127.0.0.1, localhost and the published hosts).
pub(crate) fn endorse_new_node(
    cfg: &ShellConfig,
    service: &ServiceIdentity,
) -> anyhow::Result<(SigningKey, cairn_crypto::Certificate)> {
    let not_before = now_s() - 60;
    let node_key = SigningKey::generate()?;
    let mut names = cfg.node_cert_subject_alt_names.clone();
    if names.is_empty() {
        names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        for a in cfg.rpc_published.iter().chain([&cfg.rpc_bind.to_string()]) {
            let h = host_of(a);
            if h != "0.0.0.0" && h != "::" && !names.contains(&h) {
                names.push(h);
            }
        }
    }
    let node_cert = service.endorse_node_named(
        &node_key,
        &cfg.node_cert_common_name,
        names,
        not_before,
        NODE_CERT_VALIDITY_DAYS,
    )?;
    Ok((node_key, node_cert))
}

/// Writes `service` and a new node identity endorsed by it to `node_data`, and a fresh ledger
/// secret valid from `secret_valid_from` (written last: its presence means the identity is
/// complete).
pub(crate) fn write_identity(
    cfg: &ShellConfig,
    files: &NodeFiles,
    service: ServiceIdentity,
    secret_valid_from: u64,
) -> anyhow::Result<()> {
    let (node_key, node_cert) = endorse_new_node(cfg, &service)?;
    write_identity_files(files, service, &node_key, &node_cert, secret_valid_from)
}

/// The identity files, the ledger-secret chain (a fresh secret from `secret_valid_from`) last.
pub(crate) fn write_identity_files(
    files: &NodeFiles,
    service: ServiceIdentity,
    node_key: &SigningKey,
    node_cert: &cairn_crypto::Certificate,
    secret_valid_from: u64,
) -> anyhow::Result<()> {
    let (service_key, service_cert) = (service.key, service.cert);
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    files.write(SERVICE_KEY_FILE, service_key.to_pem().as_bytes(), true)?;
    files.write(SERVICE_CERT_FILE, service_cert.pem().as_bytes(), false)?;
    files.write(NODE_KEY_FILE, node_key.to_pem().as_bytes(), true)?;
    files.write(NODE_CERT_FILE, node_cert.pem().as_bytes(), false)?;
    files.encryption_key_or_new()?;
    // Written last: its presence means the identity is complete.
    let chain = cairn_gov::LedgerSecretChain::new(secret_valid_from, secret);
    files.write(LEDGER_SECRETS_FILE, &serde_json::to_vec_pretty(&chain)?, true)?;
    Ok(())
}

fn open_ledger(cfg: &ShellConfig, files: &NodeFiles) -> anyhow::Result<LedgerWriter<FsStorage>> {
    let storage = FsStorage::open(&cfg.ledger_directory, cfg.durability, false)
        .with_context(|| format!("opening ledger.directory {}", cfg.ledger_directory.display()))?;
    let mut read_only: Vec<Box<dyn Storage>> = Vec::new();
    for d in &cfg.ledger_read_only_directories {
        let s = FsStorage::open(d, cfg.durability, true)
            .with_context(|| format!("opening ledger.read_only_directories entry {}", d.display()))?;
        read_only.push(Box::new(s));
    }
    // A recovered service that has not opened yet writes (and reads) `.recovery` chunks.
    let recovery = files.path(RECOVERY_MARKER_FILE).exists();
    let config = LedgerConfig { chunk_size_bytes: cfg.core.chunk_size_bytes, recovery };
    let (writer, found) = LedgerWriter::open_with_read_only(storage, read_only, config)
        .with_context(|| format!("scanning ledger.directory {}", cfg.ledger_directory.display()))?;
    for repair in &found.repairs {
        tracing::warn!(?repair, "ledger repaired at start");
    }
    for (file, why) in &found.not_read {
        tracing::warn!(file, why, "ledger file not read");
    }
    Ok(writer)
}

/// `node_data/snapshot_install.txt`, if present.
fn install_marker(files: &NodeFiles) -> anyhow::Result<Option<SnapshotName>> {
    if !files.path(SNAPSHOT_INSTALL_FILE).exists() {
        return Ok(None);
    }
    let text = files.read_string(SNAPSHOT_INSTALL_FILE)?;
    let name = text
        .trim()
        .parse::<SnapshotName>()
        .map_err(|e| anyhow::anyhow!("{}: {e}", files.path(SNAPSHOT_INSTALL_FILE).display()))?;
    Ok(Some(name))
}

/// Gathers what the directories hold and performs the start plan (`cairn_node::plan_start`,
/// the decision table).
pub fn start_or_restart(
    cfg: &ShellConfig,
    progress: Option<&crate::start_progress::StartProgress>,
) -> anyhow::Result<Started> {
    let files = NodeFiles::new(&cfg.node_data_directory);
    let command = match (&cfg.join, &cfg.recover) {
        (Some(_), _) => StartCommand::Join,
        (None, Some(_)) => StartCommand::Recover,
        (None, None) => StartCommand::Start,
    };
    if let Some(recover) = &cfg.recover {
        crate::recover_start::set_aside_previous_identity(&files, recover)?;
    }
    let mut writer = open_ledger(cfg, &files)?;
    let installed = install_marker(&files)?;
    let facts = StartFacts {
        command,
        has_identity: files.has_identity(),
        ledger_first_seqno: writer.first_seqno(),
        ledger_last_seqno: writer.last().seqno,
        installed_snapshot: installed,
    };
    let plan = plan_start(&facts);
    tracing::info!(?plan, "start plan");
    match &plan {
        StartPlan::Refuse(StartRefusal::LedgerBeforeJoin { last_seqno }) => bail!(
            "ledger.directory {} holds a ledger (up to seqno {last_seqno}) but this node never completed its join: \
             move it aside to join",
            cfg.ledger_directory.display()
        ),
        StartPlan::Refuse(StartRefusal::LedgerWithoutIdentity { last_seqno }) => bail!(
            "ledger.directory {} holds a ledger (up to seqno {last_seqno}) but node_data_directory {} has no node \
             identity: this node did not write it. To continue a service from someone else's ledger files, start a \
             disaster recovery (command.type = Recover)",
            cfg.ledger_directory.display(),
            cfg.node_data_directory.display()
        ),
        StartPlan::Refuse(StartRefusal::NothingToRecover) => bail!(
            "command.type = Recover but ledger.directory {} (and ledger.read_only_directories) hold no entry: copy \
             the previous service's ledger files there",
            cfg.ledger_directory.display()
        ),
        StartPlan::Join => {
            let join = cfg.join.as_ref().expect("the plan joins only with command.join");
            return start_joining(cfg, join, files, writer);
        }
        StartPlan::RecoverService => {
            let recover = cfg.recover.as_ref().expect("the plan recovers only with command.recover");
            let snapshots =
                SnapshotDirectory::open(&cfg.snapshots_directory, cfg.snapshots_read_only_directory.clone())
                    .with_context(|| format!("opening snapshots.directory {}", cfg.snapshots_directory.display()))?;
            return crate::recover_start::recover_service(cfg, recover, files, writer, snapshots, progress);
        }
        StartPlan::CreateService if !facts.has_identity => create_identity(cfg, &files)?,
        _ => {}
    }
    let service_cert_pem = files.read_string(SERVICE_CERT_FILE)?;
    let node_cert_pem = files.read_string(NODE_CERT_FILE)?;
    let node_key_pem = files.read_string(NODE_KEY_FILE)?;
    let node_key = SigningKey::from_pem(&node_key_pem).context("node_privk.pem")?;
    let secrets = NodeCore::parse_secrets_json(&files.read(LEDGER_SECRETS_FILE)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", files.path(LEDGER_SECRETS_FILE).display()))?;
    crate::node_files::write_service_certificate(&cfg.service_certificate_file, &service_cert_pem)?;
    write_atomically(&cfg.node_certificate_file, node_cert_pem.as_bytes(), false)?;
    let signer = Arc::new(NodeSigner::new(node_key, node_cert_pem.clone()));
    let mut rpc_addresses = cfg.rpc_published.clone();
    if rpc_addresses.is_empty() {
        rpc_addresses.push(cfg.rpc_bind.to_string());
    }
    let service_key = SigningKey::from_pem(&files.read_string(SERVICE_KEY_FILE)?).context("service_privk.pem")?;
    let identity = NodeIdentity {
        signer,
        service_cert_pem: service_cert_pem.clone(),
        service_key: Some(Arc::new(service_key)),
        rpc_addresses,
        node_to_node_address: cfg.node_to_node_published.clone(),
        encryption_key: files.encryption_key()?,
    };
    let mut snapshots = SnapshotDirectory::open(&cfg.snapshots_directory, cfg.snapshots_read_only_directory.clone())
        .with_context(|| format!("opening snapshots.directory {}", cfg.snapshots_directory.display()))?;

    // A node resumes whatever its ledger holds: a whole ledger, a ledger that starts after a
    // snapshot, or nothing. With nothing: the snapshot a primary offered, if the ledger was set
    // aside for it (exactly that one); else, for a node that joined, its newest committed
    // snapshot that verifies (fetched before joining), if any. A node that joined never creates
    // a service.
    let held_entries = writer.last().seqno >= writer.first_seqno();
    let resumes_ledger = matches!(plan, StartPlan::ResumeWholeLedger | StartPlan::ResumeAfterSnapshot { .. });
    let certs = ServiceCerts {
        current: Certificate::from_pem(&service_cert_pem).context("node_data/service_cert.pem")?,
        previous: match files.path(PREVIOUS_SERVICE_CERT_FILE).exists() {
            true => Some(
                Certificate::from_pem(&files.read_string(PREVIOUS_SERVICE_CERT_FILE)?)
                    .with_context(|| format!("parsing {}", files.path(PREVIOUS_SERVICE_CERT_FILE).display()))?,
            ),
            false => None,
        },
    };
    let replayed = match plan {
        StartPlan::ResumeAfterSnapshot { .. } => {
            Some(replay_after_snapshot(&writer, &mut snapshots, &secrets, &certs)?)
        }
        StartPlan::ResumeWholeLedger => {
            // A recovered service in its public phase: the snapshots present are the previous
            // service's (their private domain unreadable, their receipts signed by the previous
            // identity), so the ledger is read from the start.
            let use_snapshots = !files.path(RECOVERY_MARKER_FILE).exists();
            let node_key = identity.encryption_key.clone().map(|k| (identity.node_id().to_string(), k));
            Some(replay(&mut writer, &mut snapshots, &secrets, &certs, use_snapshots, node_key)?)
        }
        StartPlan::ResumeFromInstalledSnapshot { name } => {
            Some(start_from_installed_snapshot(&mut writer, &mut snapshots, name, &secrets, &certs)?)
        }
        StartPlan::ResumeFromNewestSnapshot => {
            Some(start_from_newest_snapshot(&mut writer, &mut snapshots, &secrets, &service_cert_pem)?)
        }
        StartPlan::CreateService => None,
        StartPlan::Join | StartPlan::RecoverService | StartPlan::Refuse(_) => unreachable!("performed above"),
    };
    if installed.is_some() && held_entries {
        // The ledger holds entries after the installed snapshot: the marker has served.
        std::fs::remove_file(files.path(SNAPSHOT_INSTALL_FILE))
            .with_context(|| format!("removing {}", files.path(SNAPSHOT_INSTALL_FILE).display()))?;
        let peers = files.path(crate::node_files::INSTALL_PEERS_FILE);
        if peers.exists() {
            std::fs::remove_file(&peers).with_context(|| format!("removing {}", peers.display()))?;
        }
    }
    // Started from an offered snapshot in a new process: the peers known when the ledger was set
    // aside (the snapshot's configuration may not name the primary that offered it).
    let install_peers = match (&installed, files.path(crate::node_files::INSTALL_PEERS_FILE)) {
        (Some(_), path) if !held_entries && path.exists() => {
            let bytes = files.read(crate::node_files::INSTALL_PEERS_FILE)?;
            let peers: Vec<cairn_node::PeerInfo> =
                serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))?;
            Some(peers)
        }
        _ => None,
    };
    // A starting node that crashed before its first signature was never part of a committed
    // service: its unsigned genesis is cut and the service created again with the same identity.
    let replayed = match replayed {
        Some(r) if after_replay(command, r.last.seqno) == AfterReplay::CreateServiceAgain => {
            tracing::warn!(entries = writer.last().seqno, "no signature in the ledger: creating the service again");
            writer.truncate(0).context("cutting the unsigned genesis")?;
            None
        }
        other => other,
    };
    if let Some(replayer) = replayed.as_ref().filter(|_| resumes_ledger) {
        check_no_committed_entry_missing(cfg, &files, &snapshots, &writer, replayer, identity.node_id())?;
    }
    if let (Some(recover), Some(replayer)) = (&cfg.recover, &replayed)
        && !crate::recover_start::recorded_service_cert(replayer)
            .and_then(|pem| Certificate::from_pem(&pem).ok())
            .is_some_and(|recorded| recorded.same_key(&certs.current))
    {
        // The recovery wrote its identity but its create transaction never reached the ledger:
        // perform it again, with the same identity.
        let replayer = replayed.expect("matched");
        let core = crate::recover_start::recover_from_replay(
            cfg,
            recover,
            &files,
            &mut writer,
            (replayer, None),
            identity,
            *secrets.latest().expect("a node has a ledger secret").raw(),
        )?;
        return Ok(Started {
            core,
            joining: false,
            writer,
            snapshots,
            files,
            node_cert_pem,
            node_key_pem,
            service_cert_pem,
        });
    }
    let core = if let Some(replayer) = replayed {
        tracing::info!(last = %replayer.last, "restarting: resuming the service");
        let raft_state_json = match files.path(RAFT_STATE_FILE).exists() {
            true => Some(read_raft_state(&files)?),
            false => None,
        };
        let mut core = NodeCore::resume(ResumeParams {
            replayed: replayer,
            identity,
            config: cfg.core.clone(),
            secrets,
            open_chunk_bytes: writer.open_chunk_bytes(),
            raft_state_json,
            now_ms: now_ms(),
            fill_random: fill_random(),
        });
        if let Some(peers) = install_peers {
            core.learn_peers(peers);
        }
        core
    } else {
        let mut members = Vec::new();
        for (cert_pem, enc, data) in &cfg.start.members {
            members.push(cairn_gov::InitialMember {
                cert_pem: cert_pem.clone(),
                encryption_public_key_pem: enc.clone(),
                member_data: data.clone(),
            });
        }
        let ledger_secret = *secrets.latest().expect("a node has a ledger secret").raw();
        tracing::info!("starting a new service");
        // Every new service gets a new token: the previous one (another service's) is worthless.
        let join_token = crate::write_new_join_token(&cfg.join_token_file)?;
        NodeCore::start(StartParams {
            identity,
            config: cfg.core.clone(),
            members,
            recovery_threshold: cfg.start.recovery_threshold,
            ledger_secret,
            join_token_digest: join_token.digest(),
            now_ms: now_ms(),
            fill_random: fill_random(),
        })
        .map_err(|e| anyhow::anyhow!("command.start: {}", e.message))?
    };
    Ok(Started { core, joining: false, writer, snapshots, files, node_cert_pem, node_key_pem, service_cert_pem })
}

/// A replay error, naming the chunk file and offset of the entry that failed.
/// [`cairn_node::read_ledger`] with errors that name the chunk file and offset of a bad entry.
pub(crate) fn read_ledger_into(
    writer: &LedgerWriter<FsStorage>,
    from: u64,
    replayer: &mut Replayer,
    doing: &str,
    progress: impl FnMut(&Replayer, u64, u64),
) -> anyhow::Result<()> {
    cairn_node::read_ledger(writer, from, replayer, progress).map_err(|e| match e {
        cairn_node::LedgerReadError::Replay(e) => replay_error(writer, e, doing),
        cairn_node::LedgerReadError::Read(e) => anyhow::anyhow!("{doing}: {e}"),
    })
}

pub(crate) fn replay_error(writer: &LedgerWriter<FsStorage>, e: cairn_node::ReplayError, doing: &str) -> anyhow::Error {
    let at = match writer.locate(e.seqno()) {
        Some((file, offset)) => format!(" (entry {} is in {file} at offset {offset})", e.seqno()),
        None => String::new(),
    };
    anyhow::anyhow!("{doing}: {e}{at}")
}

/// `node_data/raft_state.json`, checked (issue 11, finding 7: a damaged file stops the start with
/// a typed error naming it, not a panic in the core).
fn read_raft_state(files: &NodeFiles) -> anyhow::Result<Vec<u8>> {
    let path = files.path(RAFT_STATE_FILE);
    let bytes = files.read(RAFT_STATE_FILE)?;
    if let Err(e) = cairn_node::RaftStateFile::parse(&bytes) {
        bail!(
            "{}: {e}: this node's Raft term, vote and commit are unreadable. Restore the file from a backup of              this node; starting without it could let the node vote twice in one term",
            path.display()
        );
    }
    Ok(bytes)
}

/// Issue 11, finding 1 (`cairn_node::check_committed_entries`): a node whose own files prove
/// committed entries its ledger lost (a committed snapshot whose evidence is beyond the ledger,
/// or the commit in `raft_state.json`) refuses to start when no other voter can supply them,
/// instead of reusing the seqnos of committed transactions.
fn check_no_committed_entry_missing(
    cfg: &ShellConfig,
    files: &NodeFiles,
    snapshots: &SnapshotDirectory,
    writer: &LedgerWriter<FsStorage>,
    replayer: &Replayer,
    me: &str,
) -> anyhow::Result<()> {
    // Only the current service's snapshots prove anything about this ledger: a recovered node's
    // directory may also hold the previous service's, taken on a longer copy of its ledger.
    let created = replayer
        .store
        .get(cairn_ledger::tables::SERVICE_INFO, &cairn_ledger::tables::SINGLETON_KEY)
        .and_then(|v| serde_json::from_slice::<cairn_ledger::tables::ServiceInfo>(v).ok())
        .and_then(|i| i.create_txid)
        .and_then(|t| t.parse::<cairn_ledger::format::TxId>().ok())
        .map_or(0, |t| t.seqno);
    let snapshot_evidence_seqno = snapshots
        .committed_newest_first()
        .context("listing snapshots")?
        .iter()
        .filter(|n| n.seqno >= created)
        .map(|n| n.evidence_seqno)
        .max()
        .unwrap_or(0);
    let raft_state_commit = match files.path(RAFT_STATE_FILE).exists() {
        true => cairn_node::RaftStateFile::parse(&read_raft_state(files)?).expect("checked by read_raft_state").commit,
        false => 0,
    };
    let others = replayer.store.iter_table(cairn_node::CONSENSUS_NODES).filter(|(id, _)| *id != me.as_bytes()).count();
    let evidence = cairn_node::CommitEvidence {
        ledger_last_seqno: writer.last().seqno,
        snapshot_evidence_seqno,
        raft_state_commit,
        lone_voter: others == 0,
    };
    if let Err(StartRefusal::CommittedEntriesMissing { proven, held, by }) =
        cairn_node::check_committed_entries(&evidence)
    {
        bail!(
            "committed entries are missing: {by} proves seqno {proven} committed, but ledger.directory {} (and \
             ledger.read_only_directories) end at seqno {held}, and no other node of the service can supply them. \
             Starting would reuse the seqnos of committed transactions, so the node stops. Restore the missing ledger \
             chunks (from a backup or another node's copy), or recover the service from a complete copy \
             (command.type = Recover)",
            cfg.ledger_directory.display()
        );
    }
    Ok(())
}

/// `command.type = Join` on a node with no identity yet: a node key (kept across restarts of
/// the join), a self-signed certificate proving it, and a core that asks to join.
fn start_joining(
    cfg: &ShellConfig,
    join: &crate::JoinSpec,
    files: NodeFiles,
    writer: LedgerWriter<FsStorage>,
) -> anyhow::Result<Started> {
    let node_key = match files.path(NODE_KEY_FILE).exists() {
        true => SigningKey::from_pem(&files.read_string(NODE_KEY_FILE)?).context("node_privk.pem")?,
        false => {
            let key = SigningKey::generate()?;
            files.write(NODE_KEY_FILE, key.to_pem().as_bytes(), true)?;
            key
        }
    };
    let node_key_pem = node_key.to_pem();
    let request = cairn_crypto::CertificateRequest {
        common_name: cfg.node_cert_common_name.clone(),
        subject_alt_names: vec!["127.0.0.1".into(), "localhost".into()],
        not_before_unix_s: now_s() - 60,
        validity_days: NODE_CERT_VALIDITY_DAYS,
        is_ca: false,
    };
    let self_signed = Certificate::self_signed(&node_key, &request)?;
    let encryption = files.encryption_key_or_new()?;
    let mut rpc_addresses = cfg.rpc_published.clone();
    if rpc_addresses.is_empty() {
        rpc_addresses.push(cfg.rpc_bind.to_string());
    }
    let snapshots = SnapshotDirectory::open(&cfg.snapshots_directory, cfg.snapshots_read_only_directory.clone())
        .with_context(|| format!("opening snapshots.directory {}", cfg.snapshots_directory.display()))?;
    tracing::info!(target = %join.target_rpc_address, "joining the service");
    let core = NodeCore::join(cairn_node::JoinParams {
        node_key,
        self_signed_cert_pem: self_signed.pem().to_string(),
        encryption_key: encryption,
        config: cfg.core.clone(),
        rpc_addresses,
        node_to_node_address: cfg.node_to_node_published.clone(),
        join_token: join.join_token.clone(),
        now_ms: now_ms(),
        fill_random: fill_random(),
    });
    Ok(Started {
        core,
        joining: true,
        writer,
        snapshots,
        files,
        node_cert_pem: self_signed.pem().to_string(),
        node_key_pem,
        service_cert_pem: join.service_cert_pem.clone(),
    })
}

/// Rebuilds the state from the newest committed snapshot that verifies (falling back to older
/// ones) plus the ledger after it, and drops the unsigned tail from the ledger.
fn replay(
    writer: &mut LedgerWriter<FsStorage>,
    snapshots: &mut SnapshotDirectory,
    secrets: &LedgerSecrets,
    certs: &ServiceCerts,
    use_snapshots: bool,
    node_key: Option<(String, Arc<cairn_crypto::EncryptionKeyPair>)>,
) -> anyhow::Result<Replayer> {
    let started = std::time::Instant::now();
    let mut replayer = Replayer::new(secrets.clone());
    if let Some((node_id, key)) = node_key {
        replayer = replayer.with_node_key(&node_id, key);
    }
    let snapshot = match use_snapshots {
        true => newest_snapshot(writer, snapshots, secrets, certs)?,
        false => None,
    };
    let snapshot_leaf = snapshot.as_ref().map(|s| (s.seqno, s.leaf));
    if let Some(s) = snapshot {
        tracing::info!(snapshot = %s.name, seqno = s.seqno, "restarting from snapshot");
        replayer = replayer.with_snapshot_store(s.store, s.seqno);
    }
    let last = writer.last().seqno;
    read_ledger_into(writer, 1, &mut replayer, "replaying the ledger", |_, _, _| {})?;
    if let Some((seqno, leaf)) = snapshot_leaf {
        anyhow::ensure!(
            replayer.tree.leaf(seqno) == Some(leaf),
            "the snapshot at {seqno} records a Merkle leaf the ledger does not have"
        );
    }
    let tail = replayer.unsigned_tail();
    if tail > 0 {
        // Kept: they are in the Raft log, possibly acknowledged to a primary. A later primary
        // signs over them or truncates them (docs/internals/replication.md §5).
        tracing::info!(unsigned = tail, after = %replayer.last, "keeping the entries after the last signature");
    }
    tracing::info!(entries = last, elapsed_ms = started.elapsed().as_millis() as u64, "ledger replayed");
    Ok(replayer)
}
