//! A disaster recovery that starts from a committed snapshot of the previous service (SPEC
//! §7.1, "from the newest committed snapshot that verifies"), pure:
//!
//! - [`RecoverySnapshot::check`]: the file verifies against the *previous* service's
//!   certificate (its receipt proves the snapshot's digest), its evidence transaction is the
//!   one in the ledger being recovered, and its public domain decodes. The public tables give
//!   the public replay its starting store: entries up to the snapshot are then only hashed and
//!   their signatures checked, not applied.
//! - [`RecoverySnapshot::check_against`]: after the public read, the ledger's Merkle leaf at
//!   the snapshot's seqno is the one the snapshot records, and the snapshot is covered by the
//!   ledger's last signature (else the caller reads the ledger without it).
//! - [`RecoverySnapshot::private_state`]: once the shares restore the secret chain, the
//!   snapshot's private domain (encrypted under the secret valid at its seqno, which
//!   authenticates the public domain too) gives the private state at its seqno; the private
//!   replay then starts after it.
//!
//! The encrypted entry is kept (not decoded) until then: it is the only copy of the private
//! state up to its seqno that the recovering node reads.
use crate::ReplayError;
use crate::Replayer;
use cairn_crypto::{Certificate, Sha256, sha256};
use cairn_kv::{WriteSet, is_public_table};
use cairn_ledger::LedgerSecrets;
use cairn_ledger::snapshot::{
    DecodedSnapshot, SnapshotName, decode_snapshot, decode_snapshot_public, verify_committed_snapshot,
};
use cairn_ledger::tables::{HISTORICAL_ENCRYPTED_LEDGER_SECRET, SINGLETON_KEY};
use std::sync::Arc;

/// A committed snapshot of the previous service a recovery starts from.
#[derive(Debug, Clone)]
pub struct RecoverySnapshot {
    pub name: SnapshotName,
    pub seqno: u64,
    /// The Merkle leaf of `seqno` the snapshot records (the ledger must agree).
    pub leaf: Sha256,
    /// The snapshot entry (without the receipt), its private domain still encrypted.
    entry: Arc<Vec<u8>>,
    /// The value of `public:ccf.internal.historical_encrypted_ledger_secret` at `seqno`: where
    /// the secret chain's walk back ends for a ledger that starts after this snapshot.
    historical_secret: Option<Vec<u8>>,
}

impl RecoverySnapshot {
    /// Verifies committed snapshot `name` (file bytes `file`) against the previous service's
    /// certificate and the ledger's evidence entry (`evidence`: the ledger's entry at
    /// `name.evidence_seqno`, `None` if the ledger does not hold it), and decodes its public
    /// domain: the store the public replay starts from (`DecodedSnapshot::into_store`), or, for
    /// a ledger that starts after it, its whole starting point (`Replayer::from_recovery_snapshot`).
    pub fn check(
        name: SnapshotName,
        file: &[u8],
        previous: &Certificate,
        evidence: Option<&[u8]>,
    ) -> Result<(RecoverySnapshot, DecodedSnapshot), String> {
        if evidence.is_none() {
            return Err(format!("its evidence transaction {} is not in the ledger", name.evidence_seqno));
        }
        Self::check_installed(name, file, previous, evidence)
    }

    /// [`RecoverySnapshot::check`] of a snapshot a node installs with an empty ledger (a node
    /// joining a recovered service whose primary's log starts after it): the evidence is checked
    /// if given, and arrives with the entries after the snapshot otherwise.
    pub fn check_installed(
        name: SnapshotName,
        file: &[u8],
        previous: &Certificate,
        evidence: Option<&[u8]>,
    ) -> Result<(RecoverySnapshot, DecodedSnapshot), String> {
        let committed = verify_committed_snapshot(&name, file, previous).map_err(|e| e.to_string())?;
        let proven = committed.receipt.leaf_components.as_ref().map(|l| l.write_set_digest);
        if let Some(evidence) = evidence
            && proven != Some(sha256(evidence))
        {
            return Err(format!(
                "the receipt proves an evidence transaction other than seqno {} of this ledger",
                name.evidence_seqno
            ));
        }
        let entry = committed.entry(file);
        let decoded = decode_snapshot_public(entry).map_err(|e| e.to_string())?;
        decoded.check_invariants()?;
        let leaf = decoded.hash_at_snapshot.ok_or("the snapshot records no Merkle leaf at its seqno")?;
        let seqno = decoded.tx.seqno;
        let historical_secret = decoded
            .tables
            .get(HISTORICAL_ENCRYPTED_LEDGER_SECRET)
            .and_then(|t| t.entries.get(&SINGLETON_KEY[..]))
            .map(|v| v.value.to_vec());
        let snapshot = RecoverySnapshot { name, seqno, leaf, entry: Arc::new(entry.to_vec()), historical_secret };
        Ok((snapshot, decoded))
    }

    /// The historical-secret record the snapshot's state holds, if any.
    pub fn historical_secret(&self) -> Option<&[u8]> {
        self.historical_secret.as_deref()
    }

    /// After the public read that started from this snapshot's store: the ledger agrees with
    /// the snapshot's Merkle leaf, and its last signature covers the snapshot.
    pub fn check_against(&self, replayer: &Replayer) -> Result<(), String> {
        if replayer.last_signature() < self.seqno {
            return Err(format!(
                "the ledger's last signature is at {}, before the snapshot's seqno {}",
                replayer.last_signature(),
                self.seqno
            ));
        }
        if replayer.tree.leaf(self.seqno) != Some(self.leaf) {
            return Err(format!("the ledger's Merkle leaf at {} is not the one the snapshot records", self.seqno));
        }
        Ok(())
    }

    /// The private state at the snapshot's seqno: every private key's value, decrypted with the
    /// restored secret valid at that seqno.
    pub fn private_state(&self, secrets: &LedgerSecrets) -> Result<WriteSet, ReplayError> {
        let seqno = self.seqno;
        let secret = secrets.secret_for(seqno).ok_or(ReplayError::NoSecret { seqno })?;
        let decoded = decode_snapshot(&self.entry, secret)
            .map_err(|e| ReplayError::Snapshot { seqno, reason: format!("{}: {e}", self.name) })?;
        let mut ws = WriteSet::new();
        for (table, rows) in decoded.tables.into_iter().filter(|(t, _)| !is_public_table(t)) {
            for (key, value) in rows.entries {
                ws.put(&table, key, Arc::unwrap_or_clone(value.value));
            }
        }
        Ok(ws)
    }
}
