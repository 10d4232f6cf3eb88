//! The node's own files in `node_data_directory`: its identity key and certificate, the service
//! key (needed to endorse node certificates), and the ledger-secret chain a restart decrypts the
//! ledger with. Private files are mode 0600; every file is written temp → fsync → rename →
//! directory fsync, so a crash leaves either the old or the new version.
use anyhow::{Context, bail};
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub const NODE_KEY_FILE: &str = "node_privk.pem";
pub const NODE_CERT_FILE: &str = "node_cert.pem";
pub const SERVICE_KEY_FILE: &str = "service_privk.pem";
pub const SERVICE_CERT_FILE: &str = "service_cert.pem";
pub const LEDGER_SECRETS_FILE: &str = "ledger_secrets.json";
/// The node's RSA key (PEM, 0600): a ledger rekey seals the new secret to its public half.
/// Absent for nodes created before Cairn kept one.
pub const NODE_ENC_KEY_FILE: &str = "node_enc_privk.pem";

impl NodeFiles {
    /// `node_enc_privk.pem`, if present.
    pub fn encryption_key(&self) -> anyhow::Result<Option<std::sync::Arc<cairn_crypto::EncryptionKeyPair>>> {
        if !self.path(NODE_ENC_KEY_FILE).exists() {
            return Ok(None);
        }
        let key = cairn_crypto::EncryptionKeyPair::from_pem(&self.read_string(NODE_ENC_KEY_FILE)?)
            .with_context(|| format!("parsing {}", self.path(NODE_ENC_KEY_FILE).display()))?;
        Ok(Some(std::sync::Arc::new(key)))
    }

    /// `node_enc_privk.pem`, created if absent.
    pub fn encryption_key_or_new(&self) -> anyhow::Result<std::sync::Arc<cairn_crypto::EncryptionKeyPair>> {
        if let Some(key) = self.encryption_key()? {
            return Ok(key);
        }
        let key = cairn_crypto::EncryptionKeyPair::generate()?;
        self.write(NODE_ENC_KEY_FILE, key.to_pem().as_bytes(), true)?;
        Ok(std::sync::Arc::new(key))
    }
}
/// The Raft hard state (term, vote, commit), written when the term or the vote changes.
pub const RAFT_STATE_FILE: &str = "raft_state.json";
/// The name of the snapshot a primary offered and this node set its ledger aside for, written
/// before the ledger is renamed `.superseded`: until the ledger holds entries again, the node
/// starts from exactly that snapshot (never an older one, never a new service).
pub const SNAPSHOT_INSTALL_FILE: &str = "snapshot_install.txt";
/// Beside [`SNAPSHOT_INSTALL_FILE`]: the peers the node knew when it set its ledger aside (JSON
/// list of `PeerInfo`). The offered snapshot's configuration may not name the primary that
/// offered it (a node that joined from an older snapshot); a node that starts again from it in
/// a new process learns them from here, as one that starts again in-process does from memory.
pub const INSTALL_PEERS_FILE: &str = "snapshot_install_peers.json";
/// Present while this node belongs to a recovered service that has not restored its private
/// state: its ledger writes and reads `.recovery` chunks (SPEC §7.1).
pub const RECOVERY_MARKER_FILE: &str = "recovery_in_progress";
/// The certificate of the service before the last disaster recovery this node took part in,
/// written by a `Recover` node and by a node that installs that service's snapshot: a ledger
/// that starts after such a snapshot is verified against it at every start.
pub const PREVIOUS_SERVICE_CERT_FILE: &str = "previous_service_cert.pem";

#[derive(Debug, Clone)]
pub struct NodeFiles {
    dir: PathBuf,
}

impl NodeFiles {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        NodeFiles { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Whether this node has an identity already (a previous start got that far).
    pub fn has_identity(&self) -> bool {
        [NODE_KEY_FILE, NODE_CERT_FILE, SERVICE_KEY_FILE, SERVICE_CERT_FILE, LEDGER_SECRETS_FILE]
            .iter()
            .all(|f| self.path(f).exists())
    }

    pub fn read(&self, name: &str) -> anyhow::Result<Vec<u8>> {
        let p = self.path(name);
        fs::read(&p).with_context(|| format!("reading {}", p.display()))
    }

    pub fn read_string(&self, name: &str) -> anyhow::Result<String> {
        let p = self.path(name);
        fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
    }

    /// Writes `name` atomically ([`write_atomically`] creates the directory if missing).
    pub fn write(&self, name: &str, bytes: &[u8], private: bool) -> anyhow::Result<()> {
        write_atomically(&self.path(name), bytes, private)
    }
}

/// Fsyncs directory `dir` (after renames in it).
pub fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("syncing directory {}", dir.display()))
}

/// Removes `name` from `files` if present (the removal is synced).
pub fn remove_file(files: &NodeFiles, name: &str) -> anyhow::Result<()> {
    let path = files.path(name);
    match fs::remove_file(&path) {
        Ok(()) => sync_dir(files.dir()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}

/// Writes `path` via a temp file, fsync, rename and directory fsync.
pub fn write_atomically(path: &Path, bytes: &[u8], private: bool) -> anyhow::Result<()> {
    let Some(name) = path.file_name() else { bail!("{} is not a file path", path.display()) };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    cairn_fs::create_dir_durably(dir).with_context(|| format!("creating {}", dir.display()))?;
    // A name of its own per process and write: nodes sharing a directory (the sandbox's
    // service_cert.pem, an operator's shared join_token) never write through one temp file.
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{}.{}.{n}.tmp", name.to_string_lossy(), std::process::id()));
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if private { 0o600 } else { 0o644 })
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).with_context(|| format!("writing {}", tmp.display()))?;
    crate::crash_point::crash_point(crate::crash_point::NODE_FILE_BEFORE_RENAME);
    fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    crate::crash_point::crash_point(crate::crash_point::NODE_FILE_BEFORE_DIR_SYNC);
    fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("syncing directory {}", dir.display()))?;
    Ok(())
}

/// Writes `command.service_certificate_file`. A different certificate already there (an earlier
/// service's, which a disaster recovery needs as its previous identity) is renamed
/// `<name>.<fingerprint>.replaced` first, never overwritten; the same one is left as it is.
pub fn write_service_certificate(path: &Path, pem: &str) -> anyhow::Result<()> {
    let same_identity = |existing: &[u8]| {
        let parse = |b: &[u8]| cairn_crypto::Certificate::from_pem(&String::from_utf8_lossy(b)).ok();
        matches!((parse(existing), parse(pem.as_bytes())), (Some(a), Some(b)) if a.same_key(&b))
    };
    match fs::read(path) {
        Ok(existing) if existing == pem.as_bytes() => return Ok(()),
        // A renewal of the same service (same key, new dates): replaced in place.
        Ok(existing) if same_identity(&existing) => {}
        Ok(existing) => {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let fingerprint = cairn_crypto::sha256(&existing).to_hex();
            let mut aside = path.with_file_name(format!("{name}.{}.replaced", &fingerprint[..16]));
            let mut n = 1;
            while aside.exists() {
                aside = path.with_file_name(format!("{name}.{}.{n}.replaced", &fingerprint[..16]));
                n += 1;
            }
            fs::rename(path, &aside).with_context(|| format!("setting aside {}", path.display()))?;
            tracing::warn!(
                file = %path.display(),
                kept_as = %aside.display(),
                "the service certificate file held another service's certificate: kept aside, not overwritten"
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    write_atomically(path, pem.as_bytes(), false)
}

#[cfg(test)]
mod service_certificate_tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn another_services_certificate_is_kept_aside_never_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("service_cert.pem");
        write_service_certificate(&path, "A").unwrap();
        write_service_certificate(&path, "A").unwrap();
        assert_eq!(names(tmp.path()), ["service_cert.pem"], "the same certificate again: nothing set aside");
        write_service_certificate(&path, "B").unwrap();
        write_service_certificate(&path, "A").unwrap();
        write_service_certificate(&path, "B").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "B");
        let aside: Vec<String> = names(tmp.path()).into_iter().filter(|n| n.ends_with(".replaced")).collect();
        assert_eq!(aside.len(), 3, "{aside:?}");
        let kept: Vec<String> = aside.iter().map(|n| fs::read_to_string(tmp.path().join(n)).unwrap()).collect();
        assert_eq!(kept.iter().filter(|k| *k == "A").count(), 2, "every replaced certificate is kept: {kept:?}");
        assert_eq!(kept.iter().filter(|k| *k == "B").count(), 1);
    }
}
