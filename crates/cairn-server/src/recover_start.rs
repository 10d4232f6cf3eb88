//! `command.type = Recover` (SPEC §7.1): a node brings a service back from its ledger files
//! after a disaster. In order:
//! 1. node files of the *previous* service in `node_data` (an operator who reused a node's whole
//!    directory) are set aside (renamed `.previous_service`), and leftover `.recovery` chunks of
//!    an aborted recovery are renamed `.ignored`: a recovery always starts from committed files;
//! 2. the new service identity is created and its certificate written to
//!    `command.service_certificate_file` first, so operators can follow the progress over TLS;
//! 3. the ledger's public domain is read (`ledger.directory` and
//!    `ledger.read_only_directories`), every signature and Merkle root checked from seqno 1 (or,
//!    for a ledger that starts after a snapshot, from the previous service's snapshot at its
//!    base, which must verify: start-plan row 11);
//!    the public state starts from the newest committed snapshot of the previous service that
//!    verifies against its certificate and this ledger (`cairn_node::RecoverySnapshot`; older
//!    ones are tried in turn, none are renamed), so only the entries after it are applied; the
//!    service the ledger records must be `command.recover.previous_service_identity_file` (a
//!    mismatch stops the node, naming both fingerprints);
//! 4. what follows the last signature is set aside (chunks renamed `.ignored`, never deleted);
//! 5. the node identity (endorsed by the new service) and a ledger secret valid from the next
//!    seqno are written, a new join token, and the core writes the create transaction
//!    (`NodeCore::recover`).
use crate::node_files::{
    NODE_CERT_FILE, NODE_KEY_FILE, NodeFiles, PREVIOUS_SERVICE_CERT_FILE, SERVICE_CERT_FILE, SERVICE_KEY_FILE,
    write_atomically,
};
use crate::shell_config::{RecoverSpec, ShellConfig};
use crate::start_progress::{ServeIdentity, StartProgress};
use crate::startup::{Started, endorse_new_node, fill_random, write_identity_files};
use anyhow::{Context, bail};
use cairn_crypto::{Certificate, SigningKey, sha256};
use cairn_fs::{FsStorage, SnapshotDirectory};
use cairn_ledger::snapshot::DecodedSnapshot;
use cairn_ledger::tables::{self, ServiceInfo};
use cairn_ledger::{LedgerWriter, NodeSigner, ServiceIdentity};
use cairn_node::{NodeCore, NodeIdentity, RecoverParams, RecoverySnapshot, Replayer};
use std::sync::Arc;

/// Entries between two progress lines in the log.
const PROGRESS_EVERY: u64 = 100_000;
/// Entries between two updates of the progress `GET /node/state` reports.
const PROGRESS_UPDATE_EVERY: u64 = 1_000;

fn fingerprint(cert: &Certificate) -> String {
    format!("sha256:{}", sha256(cert.der()).to_hex())
}

/// Step 1: `node_data` files of the service being recovered are renamed `.previous_service`.
pub fn set_aside_previous_identity(files: &NodeFiles, recover: &RecoverSpec) -> anyhow::Result<()> {
    let path = files.path(SERVICE_CERT_FILE);
    if !path.exists() {
        return Ok(());
    }
    let held = Certificate::from_pem(&files.read_string(SERVICE_CERT_FILE)?)
        .with_context(|| format!("parsing {}", path.display()))?;
    let previous = previous_identity(recover)?;
    if !held.same_key(&previous) {
        return Ok(()); // this node's recovery already created its identity: a restart
    }
    let entries = std::fs::read_dir(files.dir()).with_context(|| format!("listing {}", files.dir().display()))?;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".previous_service") || !entry.file_type()?.is_file() {
            continue;
        }
        let target = files.path(&format!("{name}.previous_service"));
        std::fs::rename(entry.path(), &target)
            .with_context(|| format!("setting aside {} as {}", entry.path().display(), target.display()))?;
    }
    crate::node_files::sync_dir(files.dir())?;
    tracing::warn!(
        dir = %files.dir().display(),
        "node_data held the previous service's node files: renamed *.previous_service; the recovery creates a new identity"
    );
    Ok(())
}

fn previous_identity(recover: &RecoverSpec) -> anyhow::Result<Certificate> {
    Certificate::from_pem(&recover.previous_service_identity_pem).with_context(|| {
        format!("command.recover.previous_service_identity_file {}", recover.previous_service_identity_file.display())
    })
}

/// Leftover `.recovery` chunks of an aborted recovery are renamed `.ignored` (never deleted).
fn set_aside_recovery_chunks(cfg: &ShellConfig) -> anyhow::Result<()> {
    let dir = &cfg.ledger_directory;
    let entries = std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
    let mut renamed = Vec::new();
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("ledger_") && name.ends_with(".recovery")) {
            continue;
        }
        let mut target = dir.join(format!("{name}.ignored"));
        let mut n = 1;
        while target.exists() {
            target = dir.join(format!("{name}.{n}.ignored"));
            n += 1;
        }
        if !renamed.is_empty() {
            crate::crash_point::crash_point(crate::crash_point::SET_ASIDE_BETWEEN_RENAMES);
        }
        std::fs::rename(dir.join(&name), &target).with_context(|| format!("setting aside {name}"))?;
        renamed.push(name);
    }
    if !renamed.is_empty() {
        crate::node_files::sync_dir(dir)?;
        tracing::warn!(?renamed, "chunks of an earlier, unfinished recovery set aside (renamed .ignored)");
    }
    Ok(())
}

/// The service certificate the replayed ledger records, if any.
pub fn recorded_service_cert(replayer: &Replayer) -> Option<String> {
    let raw = replayer.store.get(tables::SERVICE_INFO, &tables::SINGLETON_KEY)?;
    serde_json::from_slice::<ServiceInfo>(raw).ok().map(|i| i.cert)
}

/// Bytes of the chunk files the ledger reads (in `ledger.directory` or a read-only one).
fn chunk_bytes(cfg: &ShellConfig, writer: &LedgerWriter<FsStorage>) -> u64 {
    let dirs: Vec<&std::path::Path> = std::iter::once(cfg.ledger_directory.as_path())
        .chain(cfg.ledger_read_only_directories.iter().map(|d| d.as_path()))
        .collect();
    writer
        .chunk_files()
        .iter()
        .filter_map(|name| dirs.iter().find_map(|d| std::fs::metadata(d.join(name)).ok()).map(|m| m.len()))
        .sum()
}

/// Step 3's starting point: the newest committed snapshot of the previous service that
/// verifies (receipt against `previous`, evidence in this ledger, public domain decodes), with
/// its public domain. Snapshots that do not are skipped with a warning, never renamed: they may
/// be another era's, and a recovery does not touch the evidence it is given. A ledger that
/// starts after a snapshot (a node that joined from one) needs exactly that one.
fn recovery_snapshot(
    writer: &LedgerWriter<FsStorage>,
    snapshots: &SnapshotDirectory,
    previous: &Certificate,
) -> anyhow::Result<Option<(RecoverySnapshot, DecodedSnapshot)>> {
    let base = writer.first_seqno() - 1;
    for name in snapshots.committed_newest_first().context("listing snapshots")? {
        if base > 0 && name.seqno != base {
            continue;
        }
        if name.evidence_seqno > writer.last().seqno {
            tracing::warn!(snapshot = %name, "snapshot evidence is beyond the ledger; trying an older one");
            continue;
        }
        let file = snapshots.read(&name).with_context(|| format!("reading snapshot {name}"))?;
        let evidence =
            writer.read_entry(name.evidence_seqno).with_context(|| format!("reading entry {}", name.evidence_seqno))?;
        match RecoverySnapshot::check(name, &file, previous, evidence.as_deref()) {
            Ok(found) => return Ok(Some(found)),
            Err(reason) => {
                tracing::warn!(snapshot = %name, "not a snapshot of this ledger's service, trying an older one: {reason}")
            }
        }
    }
    if base > 0 {
        bail!(
            "the ledger starts at seqno {} (its node joined from a snapshot) but no committed snapshot at seqno {base} \
             (snapshot_{base}_<evidence>.committed) in the snapshots directories verifies against \
             command.recover.previous_service_identity_file: copy that node's snapshots directory, or recover \
             another node's ledger",
            base + 1
        );
    }
    Ok(None)
}

/// Step 3: the public domain of the whole ledger, hashed from seqno 1, applied after `base`
/// (a recovery snapshot's public domain) if given; reported to `progress`. A ledger that starts
/// after the snapshot is read from there, its Merkle tree continuing the snapshot's.
fn read_public_ledger(
    cfg: &ShellConfig,
    writer: &LedgerWriter<FsStorage>,
    base: Option<(&RecoverySnapshot, DecodedSnapshot)>,
    progress: Option<&StartProgress>,
) -> anyhow::Result<Replayer> {
    let started = std::time::Instant::now();
    let first = writer.first_seqno();
    let mut replayer = Replayer::public_only();
    if let Some((snapshot, decoded)) = base {
        tracing::info!(snapshot = %snapshot.name, seqno = snapshot.seqno, "reading the public ledger from a committed snapshot");
        replayer = match first {
            1 => replayer.with_snapshot_store(decoded.into_store(), snapshot.seqno),
            _ => Replayer::public_from_snapshot(snapshot.name, decoded)
                .with_context(|| format!("starting from snapshot {}", snapshot.name))?,
        };
    }
    let last = writer.last().seqno;
    let total = chunk_bytes(cfg, writer);
    tracing::info!(entries = last + 1 - first, bytes = total, "reading the public ledger");
    if let Some(p) = progress {
        p.reading(last, total);
    }
    crate::startup::read_ledger_into(
        writer,
        first,
        &mut replayer,
        "reading the public ledger",
        |replayer, seqno, read| {
            if seqno % PROGRESS_EVERY == 0 {
                tracing::info!(
                    seqno,
                    of = last,
                    last_signed_seqno = replayer.last_signature(),
                    "reading the public ledger"
                );
            }
            if let Some(p) = progress.filter(|_| seqno % PROGRESS_UPDATE_EVERY == 0 || seqno == last) {
                p.advance(seqno, read, replayer.last_signature());
            }
        },
    )?;
    tracing::info!(
        entries = last + 1 - first,
        last_signed_seqno = replayer.last_signature(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "public ledger read"
    );
    Ok(replayer)
}

/// Step 3's identity check.
fn check_previous_identity(replayer: &Replayer, recover: &RecoverSpec) -> anyhow::Result<()> {
    let expected = previous_identity(recover)?;
    let Some(pem) = recorded_service_cert(replayer) else {
        bail!("the ledger records no service ({} has no readable value)", tables::SERVICE_INFO)
    };
    let recorded = Certificate::from_pem(&pem).context("the service certificate the ledger records")?;
    // The same key is the same service, whatever the dates (a renewed or expired certificate).
    if !recorded.same_key(&expected) {
        bail!(
            "the ledger belongs to the service {} but command.recover.previous_service_identity_file {} is {}: \
             recover with the certificate of the service that wrote this ledger",
            fingerprint(&recorded),
            recover.previous_service_identity_file.display(),
            fingerprint(&expected)
        );
    }
    Ok(())
}

/// The whole Recover start (module documentation).
pub fn recover_service(
    cfg: &ShellConfig,
    recover: &RecoverSpec,
    files: NodeFiles,
    mut writer: LedgerWriter<FsStorage>,
    snapshots: SnapshotDirectory,
    progress: Option<&StartProgress>,
) -> anyhow::Result<Started> {
    previous_identity(recover)?;
    set_aside_recovery_chunks(cfg)?;
    // The node's RSA encryption key (tens of milliseconds to generate) is made while the ledger
    // is read; `write_identity_files` finds it. Written alone it is no identity: a node that
    // stops before `ledger_secrets.json` recovers again and reuses it.
    let encryption_key = std::thread::spawn({
        let files = files.clone();
        move || files.encryption_key_or_new().map(drop)
    });
    let service = ServiceIdentity::create(crate::startup::now_s() - 60, recover.service_cert_validity_days)?;
    let (node_key, node_cert) = endorse_new_node(cfg, &service)?;
    crate::node_files::write_service_certificate(&cfg.service_certificate_file, service.cert.pem())?;
    tracing::info!(
        file = %cfg.service_certificate_file.display(),
        service = %fingerprint(&service.cert),
        "new service certificate written"
    );
    if let Some(p) = progress {
        p.serve(ServeIdentity {
            node_cert_pem: node_cert.pem().to_string(),
            node_key_pem: node_key.to_pem(),
            service_cert_pem: service.cert.pem().to_string(),
            node_id: node_key.verifying_key().key_id(),
        });
    }
    let previous = previous_identity(recover)?;
    let (mut snapshot, decoded) = recovery_snapshot(&writer, &snapshots, &previous)?.unzip();
    let base = snapshot.as_ref().zip(decoded);
    let mut replayer = read_public_ledger(cfg, &writer, base, progress)?;
    if let Some(s) = &snapshot
        && writer.first_seqno() == 1
        && let Err(reason) = s.check_against(&replayer)
    {
        tracing::warn!(snapshot = %s.name, "the ledger does not agree with the snapshot, reading it again without: {reason}");
        snapshot = None;
        replayer = read_public_ledger(cfg, &writer, None, progress)?;
    }
    check_previous_identity(&replayer, recover)?;
    let last_signed = replayer.last_signature();
    if last_signed == 0 {
        bail!("the ledger holds no signature transaction: nothing in it was ever committed");
    }
    if writer.last().seqno > last_signed {
        let cut = writer.last().seqno - last_signed;
        writer.truncate(last_signed).with_context(|| format!("setting aside the entries after {last_signed}"))?;
        tracing::warn!(entries = cut, after = last_signed, "entries after the last signature set aside (.ignored)");
    }
    replayer.drop_unsigned_tail();
    encryption_key.join().map_err(|_| anyhow::anyhow!("the encryption key thread panicked"))??;
    write_identity_files(&files, service, &node_key, &node_cert, last_signed + 1)?;
    // A ledger that starts after the previous service's snapshot is verified against that
    // service's certificate at every later start (`snapshot_start::ServiceCerts`).
    write_atomically(&files.path(PREVIOUS_SERVICE_CERT_FILE), previous.pem().as_bytes(), false)?;
    let identity = node_identity(cfg, &files)?;
    let secrets = NodeCore::parse_secrets_json(&files.read(crate::node_files::LEDGER_SECRETS_FILE)?)
        .map_err(|e| anyhow::anyhow!("ledger_secrets.json: {e}"))?;
    let secret = *secrets.latest().expect("one secret").raw();
    let node_cert_pem = identity.signer.cert_pem.clone();
    let node_key_pem = files.read_string(NODE_KEY_FILE)?;
    let service_cert_pem = identity.service_cert_pem.clone();
    let core = recover_from_replay(cfg, recover, &files, &mut writer, (replayer, snapshot), identity, secret)?;
    Ok(Started { core, joining: false, writer, snapshots, files, node_cert_pem, node_key_pem, service_cert_pem })
}

/// This node's identity from `node_data` (after [`write_identity_files`]).
fn node_identity(cfg: &ShellConfig, files: &NodeFiles) -> anyhow::Result<NodeIdentity> {
    let node_key = SigningKey::from_pem(&files.read_string(NODE_KEY_FILE)?).context("node_privk.pem")?;
    let node_cert_pem = files.read_string(NODE_CERT_FILE)?;
    let service_key = SigningKey::from_pem(&files.read_string(SERVICE_KEY_FILE)?).context("service_privk.pem")?;
    let mut rpc_addresses = cfg.rpc_published.clone();
    if rpc_addresses.is_empty() {
        rpc_addresses.push(cfg.rpc_bind.to_string());
    }
    Ok(NodeIdentity {
        signer: Arc::new(NodeSigner::new(node_key, node_cert_pem)),
        service_cert_pem: files.read_string(SERVICE_CERT_FILE)?,
        service_key: Some(Arc::new(service_key)),
        rpc_addresses,
        node_to_node_address: cfg.node_to_node_published.clone(),
        encryption_key: files.encryption_key()?,
    })
}

/// Step 5, also for a Recover node that restarts before its create transaction reached the
/// ledger (same identity, same secret), from the public read (and the snapshot it started
/// from, if any).
pub fn recover_from_replay(
    cfg: &ShellConfig,
    recover: &RecoverSpec,
    files: &NodeFiles,
    writer: &mut LedgerWriter<FsStorage>,
    (replayer, snapshot): (Replayer, Option<RecoverySnapshot>),
    identity: NodeIdentity,
    ledger_secret: [u8; 32],
) -> anyhow::Result<NodeCore> {
    check_previous_identity(&replayer, recover)?;
    crate::node_files::write_service_certificate(&cfg.service_certificate_file, &identity.service_cert_pem)?;
    write_atomically(&cfg.node_certificate_file, identity.signer.cert_pem.as_bytes(), false)?;
    let join_token = crate::write_new_join_token(&cfg.join_token_file)?;
    crate::core_loop::set_ledger_recovery(writer, files, true)?;
    let last = replayer.last;
    let core = NodeCore::recover(RecoverParams {
        replayed: replayer,
        snapshot,
        identity,
        config: cfg.core.clone(),
        ledger_secret,
        join_token_digest: join_token.digest(),
        open_chunk_bytes: writer.open_chunk_bytes(),
        now_ms: crate::core_loop::now_ms(),
        fill_random: fill_random(),
    })
    .map_err(|e| anyhow::anyhow!("recovering the service: {}", e.message))?;
    tracing::info!(previous_last = %last, view = core.view(), "recovered service created: waiting for members to open it");
    Ok(core)
}
