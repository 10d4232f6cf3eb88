//! Which committed snapshot a starting node uses (SPEC §5), and how:
//! - a whole ledger (first seqno 1): the newest snapshot that verifies and whose evidence is in
//!   the ledger gives the store; the ledger is still hashed from the start (receipts for every
//!   transaction stay possible), and must agree with the snapshot's Merkle leaf;
//! - a ledger that starts at `S + 1` (a node that joined from a snapshot): the snapshot at `S`
//!   is required; the Merkle tree continues from the frontier it records;
//! - an empty ledger on a joined node: the newest snapshot that verifies, if any (the one
//!   fetched before joining), and the ledger is started right after it.
//!
//! A node of a recovered service may start from a snapshot of the service before the recovery
//! (its ledger starts after it): that one verifies against `node_data/previous_service_cert.pem`
//! ([`ServiceCerts`]), and its private domain is read once the restored secrets cover it.
//!
//! A snapshot is used only if its receipt verifies against the service certificate and proves
//! the snapshot's digest, its evidence transaction is the one in this node's ledger when the
//! ledger holds it, and it decodes. One that fails is set aside (renamed `.corrupted` with
//! the reason beside it), never deleted, and an older one is tried (CCF picks by name alone).
use anyhow::Context;
use cairn_crypto::{Certificate, Sha256, sha256};
use cairn_fs::{FsStorage, SnapshotDirectory};
use cairn_ledger::snapshot::{DecodedSnapshot, SnapshotName, decode_snapshot, verify_committed_snapshot};
use cairn_ledger::{LedgerSecrets, LedgerWriter};
use cairn_node::Replayer;

/// A snapshot the restart of a whole ledger starts from.
pub struct LoadedSnapshot {
    pub name: SnapshotName,
    pub store: cairn_kv::Store,
    pub seqno: u64,
    /// The Merkle leaf of `seqno` as the snapshot records it; the replayed ledger must agree.
    pub leaf: Sha256,
}

/// The newest committed snapshot that verifies, for a whole ledger: its evidence transaction
/// must be in the ledger.
pub fn newest_snapshot(
    writer: &LedgerWriter<FsStorage>,
    snapshots: &mut SnapshotDirectory,
    secrets: &LedgerSecrets,
    certs: &ServiceCerts,
) -> anyhow::Result<Option<LoadedSnapshot>> {
    let mut candidates = Vec::new();
    for name in snapshots.committed_newest_first().context("listing snapshots")? {
        if name.evidence_seqno > writer.last().seqno {
            tracing::warn!(snapshot = %name, "snapshot evidence is beyond the ledger; trying an older one");
            continue;
        }
        candidates.push(name);
    }
    first_that_loads(snapshots, candidates, |snapshots, name| {
        // A recovered service's node also holds the previous service's snapshots: used under
        // that service's certificate (with the restored secrets), never set aside as corrupt.
        let decoded = match (verified_snapshot(writer, snapshots, name, secrets, &certs.current), &certs.previous) {
            (Err(Refusal::Unusable(e)), Some(previous)) => {
                verified_snapshot(writer, snapshots, name, secrets, previous)
                    .map_err(|p| p.context(format!("against the service certificate: {e:#}")))?
            }
            (other, _) => other?,
        };
        let leaf = decoded.hash_at_snapshot.context("the snapshot records no Merkle leaf at its seqno")?;
        Ok(LoadedSnapshot { name, seqno: decoded.tx.seqno, store: decoded.into_store(), leaf })
    })
}

/// A ledger that starts at `first_seqno() > 1` continues the committed snapshot just before it:
/// the state starts from that snapshot, then every entry of the ledger is replayed.
pub fn replay_after_snapshot(
    writer: &LedgerWriter<FsStorage>,
    snapshots: &mut SnapshotDirectory,
    secrets: &LedgerSecrets,
    certs: &ServiceCerts,
) -> anyhow::Result<Replayer> {
    let base = writer.first_seqno() - 1;
    let names = snapshots.committed_newest_first().context("listing snapshots")?;
    let candidates = names.into_iter().filter(|n| n.seqno == base).collect();
    let mut replayer = first_start_point(writer, snapshots, candidates, secrets, certs)?.with_context(|| {
        format!(
            "the ledger starts at seqno {} (this node joined from a snapshot) but no committed snapshot at seqno \
             {base} (snapshot_{base}_<evidence>.committed) in the snapshots directories verifies: restore it, or move \
             the ledger and node_data aside and join again",
            base + 1
        )
    })?;
    tracing::info!(snapshot_seqno = base, "restarting from the snapshot the ledger starts after");
    crate::startup::read_ledger_into(
        writer,
        base + 1,
        &mut replayer,
        "replaying the ledger after the snapshot",
        |_, _, _| {},
    )?;
    Ok(replayer)
}

/// A joined node with an empty ledger starts from the newest committed snapshot that verifies
/// (the one it fetched before joining), its ledger starting right after it; with none it starts
/// from nothing and the primary replicates the whole ledger.
pub fn start_from_newest_snapshot(
    writer: &mut LedgerWriter<FsStorage>,
    snapshots: &mut SnapshotDirectory,
    secrets: &LedgerSecrets,
    service_cert_pem: &str,
) -> anyhow::Result<Replayer> {
    assert_eq!(writer.last().seqno, 0, "only an empty ledger starts from a snapshot");
    let candidates = snapshots.committed_newest_first().context("listing snapshots")?;
    let certs = ServiceCerts::current(service_cert_pem)?;
    let started = first_start_point(writer, snapshots, candidates, secrets, &certs)?;
    match started {
        Some(replayer) => {
            tracing::info!(snapshot_seqno = replayer.last.seqno, "starting from a committed snapshot");
            writer.start_at(replayer.last.seqno + 1);
            Ok(replayer)
        }
        None => Ok(Replayer::new(secrets.clone())),
    }
}

/// Why a snapshot was not used.
enum Refusal {
    /// The file does not verify or decode: set it aside (renamed, with the reason) and try an
    /// older one.
    Unusable(anyhow::Error),
    /// Not the file's fault (no ledger secret for it here): keep it, try an older one.
    Skip(anyhow::Error),
    /// The disk failed while reading it: stop, naming the error (a snapshot that could not be
    /// read is not known to be bad, and may be the only base this ledger has).
    Unreadable(anyhow::Error),
}

impl Refusal {
    fn context(self, c: String) -> Refusal {
        match self {
            Refusal::Unusable(e) => Refusal::Unusable(e.context(c)),
            Refusal::Skip(e) => Refusal::Skip(e.context(c)),
            Refusal::Unreadable(e) => Refusal::Unreadable(e),
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for Refusal {
    /// Verification and decoding errors (the `?` default).
    fn from(e: E) -> Self {
        Refusal::Unusable(e.into())
    }
}

/// A node that set its ledger aside for snapshot `name` (a primary offered it) and whose ledger
/// is still empty starts from exactly that snapshot: never an older one (its state would go
/// back below what it acknowledged), never nothing (a node that started the service would
/// create it again). If it is missing or does not verify, the start stops, naming it.
pub fn start_from_installed_snapshot(
    writer: &mut LedgerWriter<FsStorage>,
    snapshots: &mut SnapshotDirectory,
    name: SnapshotName,
    secrets: &LedgerSecrets,
    certs: &ServiceCerts,
) -> anyhow::Result<Replayer> {
    assert_eq!(writer.last().seqno, 0, "only an empty ledger starts from a snapshot");
    let present = snapshots.committed_newest_first().context("listing snapshots")?.contains(&name);
    let loaded = match present {
        true => first_start_point(writer, snapshots, vec![name], secrets, certs)?,
        false => None,
    };
    let replayer = loaded.with_context(|| {
        format!(
            "this node set its ledger aside (chunks renamed .superseded) to start from snapshot {name}, which is \
             missing from the snapshots directory or does not verify: restore it, or copy the primary's newest \
             committed snapshot there and name it in node_data/snapshot_install.txt"
        )
    })?;
    tracing::info!(snapshot = %name, "starting from the snapshot the primary offered");
    writer.start_at(replayer.last.seqno + 1);
    Ok(replayer)
}

/// The certificates a snapshot a node starts from may verify against: its service's, and the
/// service's before the last disaster recovery (`node_data/previous_service_cert.pem`, if
/// present): a node whose ledger starts after a snapshot that service took (a `Recover` node
/// whose ledger did, or a node that installed it while joining the recovered service).
pub struct ServiceCerts {
    pub current: Certificate,
    pub previous: Option<Certificate>,
}

impl ServiceCerts {
    pub fn current(service_cert_pem: &str) -> anyhow::Result<ServiceCerts> {
        let current = Certificate::from_pem(service_cert_pem).context("service certificate")?;
        Ok(ServiceCerts { current, previous: None })
    }
}

/// The first of `candidates` a node can start from with no ledger before it (see
/// [`verified_snapshot`] and `Replayer::from_snapshot`), as the state to replay the ledger
/// after it onto; unusable ones are set aside. A snapshot that does not verify against the
/// service's certificate may be the previous service's ([`previous_service_start`]).
fn first_start_point(
    writer: &LedgerWriter<FsStorage>,
    snapshots: &mut SnapshotDirectory,
    candidates: Vec<SnapshotName>,
    secrets: &LedgerSecrets,
    certs: &ServiceCerts,
) -> anyhow::Result<Option<Replayer>> {
    first_that_loads(snapshots, candidates, |snapshots, name| {
        let decoded = match (verified_snapshot(writer, snapshots, name, secrets, &certs.current), &certs.previous) {
            (Ok(decoded), _) => decoded,
            (Err(Refusal::Unusable(e)), Some(previous)) => {
                return previous_service_start(writer, snapshots, name, secrets, previous)
                    .map_err(|p| p.context(format!("against the service certificate: {e:#}")));
            }
            (Err(e), _) => return Err(e),
        };
        let mut replayer = Replayer::from_snapshot(secrets.clone(), decoded)?;
        replayer.log_base_snapshot = Some(name);
        Ok(replayer)
    })
}

/// Committed snapshot `name` of the service before the last recovery, verified against its
/// certificate. With the secret of its seqno (the recovered service is open: this node holds
/// the restored chain) it is decoded whole; without (the recovered service's public phase),
/// publicly, its private domain kept encrypted for the transaction that opens the service
/// (`Replayer::recovery_snapshot`).
fn previous_service_start(
    writer: &LedgerWriter<FsStorage>,
    snapshots: &SnapshotDirectory,
    name: SnapshotName,
    secrets: &LedgerSecrets,
    previous: &Certificate,
) -> Result<Replayer, Refusal> {
    let mut replayer = match verified_snapshot(writer, snapshots, name, secrets, previous) {
        Ok(decoded) => Replayer::from_snapshot(secrets.clone(), decoded)?,
        Err(Refusal::Skip(_)) => {
            let file = snapshots.read(&name).map_err(|e| Refusal::Unreadable(e.into()))?;
            let evidence = writer.read_entry(name.evidence_seqno).map_err(|e| Refusal::Unreadable(e.into()))?;
            let (snapshot, decoded) =
                cairn_node::RecoverySnapshot::check_installed(name, &file, previous, evidence.as_deref())
                    .map_err(|e| Refusal::Unusable(anyhow::anyhow!(e)))?;
            let mut replayer = Replayer::from_snapshot(secrets.clone(), decoded)?;
            replayer.recovery_snapshot = Some(snapshot);
            replayer
        }
        Err(e) => return Err(e),
    };
    tracing::info!(snapshot = %name, "starting from a snapshot of the service before the last recovery");
    replayer.log_base_snapshot = Some(name);
    Ok(replayer)
}

/// The first of `candidates` that `load` accepts; each unusable one is set aside with its reason.
fn first_that_loads<T>(
    snapshots: &mut SnapshotDirectory,
    candidates: Vec<SnapshotName>,
    mut load: impl FnMut(&SnapshotDirectory, SnapshotName) -> Result<T, Refusal>,
) -> anyhow::Result<Option<T>> {
    for name in candidates {
        match load(snapshots, name) {
            Ok(loaded) => return Ok(Some(loaded)),
            Err(Refusal::Unreadable(e)) => return Err(e.context(format!("reading snapshot {name}"))),
            Err(Refusal::Skip(e)) => {
                tracing::warn!(snapshot = %name, "snapshot not usable here, trying an older one: {e:#}")
            }
            Err(Refusal::Unusable(e)) => {
                let reason = format!("{e:#}");
                tracing::warn!(snapshot = %name, "snapshot does not verify, trying an older one: {reason}");
                // A snapshot in the read-only directory cannot be renamed: it is only skipped.
                match snapshots.set_aside(&name, &reason) {
                    Ok(aside) => tracing::warn!(snapshot = %name, renamed_to = %aside, "bad snapshot set aside"),
                    Err(e) => tracing::warn!(snapshot = %name, "bad snapshot skipped, not renamed: {e}"),
                }
            }
        }
    }
    Ok(None)
}

/// Committed snapshot `name`, verified (receipt against the service certificate, evidence
/// against this ledger when it holds that seqno) and decoded.
fn verified_snapshot(
    writer: &LedgerWriter<FsStorage>,
    snapshots: &SnapshotDirectory,
    name: SnapshotName,
    secrets: &LedgerSecrets,
    cert: &Certificate,
) -> Result<DecodedSnapshot, Refusal> {
    let file = snapshots.read(&name).map_err(|e| Refusal::Unreadable(e.into()))?;
    let committed = verify_committed_snapshot(&name, &file, cert)?;
    let evidence = writer.read_entry(name.evidence_seqno).map_err(|e| Refusal::Unreadable(e.into()))?;
    if let Some(evidence) = evidence {
        let proven = committed.receipt.leaf_components.as_ref().map(|l| l.write_set_digest);
        if proven != Some(sha256(&evidence)) {
            return Err(Refusal::Unusable(anyhow::anyhow!(
                "the receipt proves an evidence transaction other than seqno {} of this ledger",
                name.evidence_seqno
            )));
        }
    }
    let secret = secrets
        .secret_for(name.seqno)
        .ok_or_else(|| Refusal::Skip(anyhow::anyhow!("no ledger secret of this node covers seqno {}", name.seqno)))?;
    let decoded = decode_snapshot(committed.entry(&file), secret)?;
    decoded.check_invariants().map_err(|e| Refusal::Unusable(anyhow::anyhow!(e)))?;
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_fs::Durability;
    use cairn_kv::WriteSet;
    use cairn_ledger::format::EntryFlags;
    use cairn_ledger::{History, LedgerConfig, LedgerSecret, ServiceIdentity};
    use std::sync::Arc;

    const NOW: i64 = 1_767_225_600;

    /// A ledger directory whose entries start at 11 (a node that joined from a snapshot at 10),
    /// and an empty snapshots directory.
    fn ledger_after_snapshot(root: &std::path::Path) -> (LedgerWriter<FsStorage>, SnapshotDirectory, String) {
        let service = ServiceIdentity::create(NOW, 365).unwrap();
        let signer = Arc::new(service.new_local_node(NOW, 365).unwrap());
        let mut history = History::new(Arc::new(LedgerSecret::new([3; 32])), signer);
        let entries: Vec<_> = (1..=15).map(|_| history.append_tx(2, &WriteSet::new(), EntryFlags::default())).collect();
        let storage = FsStorage::open(root.join("ledger"), Durability::Fsync, false).unwrap();
        let config = LedgerConfig { chunk_size_bytes: 1 << 20, recovery: false };
        let (mut writer, _) = LedgerWriter::open(storage, config).unwrap();
        writer.start_at(11);
        for e in &entries[10..] {
            writer.append(e).unwrap();
        }
        writer.sync().unwrap();
        let snapshots = SnapshotDirectory::open(root.join("snapshots"), None).unwrap();
        (writer, snapshots, service.cert.pem().to_string())
    }

    fn secrets() -> LedgerSecrets {
        LedgerSecrets::single(LedgerSecret::new([3; 32]))
    }

    #[test]
    fn a_ledger_after_a_snapshot_without_that_snapshot_stops_the_start_naming_it() {
        let root = tempfile::tempdir().unwrap();
        let (writer, mut snapshots, cert) = ledger_after_snapshot(root.path());
        let err = replay_after_snapshot(&writer, &mut snapshots, &secrets(), &ServiceCerts::current(&cert).unwrap())
            .err()
            .expect("refused");
        let text = format!("{err:#}");
        assert!(text.contains("the ledger starts at seqno 11"), "{text}");
        assert!(text.contains("snapshot_10_<evidence>.committed"), "{text}");
    }

    #[test]
    fn a_snapshot_that_does_not_verify_is_set_aside_with_its_reason_not_used() {
        let root = tempfile::tempdir().unwrap();
        let (writer, mut snapshots, cert) = ledger_after_snapshot(root.path());
        let name: SnapshotName = "snapshot_10_12.committed".parse().unwrap();
        snapshots.store_committed(&name, b"not a snapshot").unwrap();
        let err = replay_after_snapshot(&writer, &mut snapshots, &secrets(), &ServiceCerts::current(&cert).unwrap())
            .err()
            .expect("refused");
        assert!(format!("{err:#}").contains("no committed snapshot at seqno 10"), "{err:#}");
        let dir = root.path().join("snapshots");
        assert!(!dir.join(name.to_string()).exists(), "the bad snapshot is no longer listed");
        let aside = dir.join(format!("{name}.corrupted"));
        assert_eq!(std::fs::read(&aside).unwrap(), b"not a snapshot", "set aside, not deleted");
        let reason = std::fs::read_to_string(dir.join(format!("{name}.corrupted.reason"))).unwrap();
        assert!(!reason.is_empty());
    }

    #[test]
    fn a_snapshot_that_cannot_be_read_stops_the_start_and_is_not_set_aside() {
        let root = tempfile::tempdir().unwrap();
        let mut snapshots = SnapshotDirectory::open(root.path().join("snapshots"), None).unwrap();
        let (old, new): (SnapshotName, SnapshotName) =
            ("snapshot_5_7.committed".parse().unwrap(), "snapshot_10_12.committed".parse().unwrap());
        for name in [old, new] {
            snapshots.store_committed(&name, b"bytes").unwrap();
        }
        // An I/O error says nothing about the snapshot: stop, rename nothing, try nothing older.
        let mut tried = Vec::new();
        let err = first_that_loads(&mut snapshots, vec![new, old], |_, name| -> Result<(), Refusal> {
            tried.push(name);
            Err(Refusal::Unreadable(anyhow::anyhow!("EIO")))
        })
        .unwrap_err();
        assert_eq!(format!("{err:#}"), "reading snapshot snapshot_10_12.committed: EIO");
        assert_eq!(tried, [new]);
        assert_eq!(snapshots.committed_newest_first().unwrap(), [new, old], "nothing set aside");
        // No secret for it here: kept, and the older one is tried.
        let mut tried = Vec::new();
        let got = first_that_loads(&mut snapshots, vec![new, old], |_, name| {
            tried.push(name);
            if name == new { Err(Refusal::Skip(anyhow::anyhow!("no secret"))) } else { Ok(name) }
        })
        .unwrap();
        assert_eq!((got, tried), (Some(old), vec![new, old]));
        assert_eq!(snapshots.committed_newest_first().unwrap(), [new, old], "a skipped snapshot is kept");
    }

    #[test]
    fn a_node_that_set_its_ledger_aside_starts_from_that_snapshot_or_stops() {
        let root = tempfile::tempdir().unwrap();
        let storage = FsStorage::open(root.path().join("ledger"), Durability::Fsync, false).unwrap();
        let (mut writer, _) = LedgerWriter::open(storage, LedgerConfig::default()).unwrap();
        let mut snapshots = SnapshotDirectory::open(root.path().join("snapshots"), None).unwrap();
        let older: SnapshotName = "snapshot_7_9.committed".parse().unwrap();
        snapshots.store_committed(&older, b"an older one").unwrap();
        let cert = ServiceIdentity::create(NOW, 365).unwrap().cert.pem().to_string();
        let installed: SnapshotName = "snapshot_20_22.committed".parse().unwrap();
        let missing = start_from_installed_snapshot(
            &mut writer,
            &mut snapshots,
            installed,
            &secrets(),
            &ServiceCerts::current(&cert).unwrap(),
        );
        let text = format!("{:#}", missing.err().expect("refused"));
        assert!(text.contains("start from snapshot snapshot_20_22.committed, which is missing"), "{text}");
        snapshots.store_committed(&installed, b"not a snapshot").unwrap();
        let bad = start_from_installed_snapshot(
            &mut writer,
            &mut snapshots,
            installed,
            &secrets(),
            &ServiceCerts::current(&cert).unwrap(),
        );
        assert!(bad.is_err(), "an installed snapshot that does not verify stops the start");
        assert_eq!(snapshots.committed_newest_first().unwrap(), [older], "set aside; the older one untouched");
        assert_eq!((writer.first_seqno(), writer.last().seqno), (1, 0), "the ledger is not started");
    }

    #[test]
    fn an_empty_ledger_without_a_usable_snapshot_starts_from_nothing() {
        let root = tempfile::tempdir().unwrap();
        let storage = FsStorage::open(root.path().join("ledger"), Durability::Fsync, false).unwrap();
        let (mut writer, _) = LedgerWriter::open(storage, LedgerConfig::default()).unwrap();
        let mut snapshots = SnapshotDirectory::open(root.path().join("snapshots"), None).unwrap();
        let name: SnapshotName = "snapshot_7_9.committed".parse().unwrap();
        snapshots.store_committed(&name, b"garbage").unwrap();
        let cert = ServiceIdentity::create(NOW, 365).unwrap().cert.pem().to_string();
        let replayer = start_from_newest_snapshot(&mut writer, &mut snapshots, &secrets(), &cert).unwrap();
        assert_eq!((replayer.last.seqno, writer.first_seqno()), (0, 1), "the primary replicates from seqno 1");
        assert!(snapshots.committed_newest_first().unwrap().is_empty(), "the bad snapshot was set aside");
    }
}
