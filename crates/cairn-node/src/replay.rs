//! Rebuilding a node's state from its own ledger after a restart: every entry is framed,
//! decrypted with the ledger secret valid at its seqno, applied to the store, and hashed into
//! the Merkle tree; signatures are checked against the tree as they are met, so a ledger that
//! does not verify stops the restart instead of being served.
//!
//! Invariants: `tree.leaf_count() == last.seqno + 1`; every recorded signature's root equals
//! `tree.root_at(seqno)`; entries arrive in seqno order without gaps.
use cairn_crypto::Sha256;
use cairn_kv::Store;
use cairn_ledger::format::{EntryView, TxId};
use cairn_ledger::merkle::{MerkleFrontier, MerkleTree};
use cairn_ledger::snapshot::{DecodedSnapshot, SnapshotName};
use cairn_ledger::tables;
use cairn_ledger::{LedgerSecrets, SignatureRecord};
use std::collections::BTreeMap;
use thiserror::Error;

use crate::ViewHistory;
use crate::received_entry::{check_signed_root, open_entry, verify_signature};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReplayError {
    #[error("entry {seqno}: {reason}")]
    Entry { seqno: u64, reason: String },
    #[error("entry {seqno}: expected seqno {expected} next")]
    OutOfOrder { seqno: u64, expected: u64 },
    #[error("signature at {seqno}: {reason}")]
    Signature { seqno: u64, reason: String },
    #[error("no ledger secret covers seqno {seqno}")]
    NoSecret { seqno: u64 },
    #[error("snapshot at {seqno}: {reason}")]
    Snapshot { seqno: u64, reason: String },
}

impl ReplayError {
    /// The seqno of the entry (or signature) that failed.
    pub fn seqno(&self) -> u64 {
        match self {
            ReplayError::Entry { seqno, .. }
            | ReplayError::OutOfOrder { seqno, .. }
            | ReplayError::Signature { seqno, .. }
            | ReplayError::NoSecret { seqno }
            | ReplayError::Snapshot { seqno, .. } => *seqno,
        }
    }
}

/// Per-transaction facts a receipt needs.
#[derive(Debug, Clone)]
pub struct TxFacts {
    /// SHA-256 of each entry from seqno `digests_from` on (a whole ledger starts with a
    /// placeholder for seqno 0; a node started from a snapshot at S starts at S + 1).
    write_set_digests: Vec<Sha256>,
    digests_from: u64,
    /// Non-zero claims digests (snapshot evidence), by seqno.
    pub claims: BTreeMap<u64, Sha256>,
    /// Signature transactions by seqno, without their `cert` (the signing node's certificate,
    /// kept once by the node) to keep memory small.
    pub signatures: BTreeMap<u64, SignatureRecord>,
}

impl Default for TxFacts {
    fn default() -> Self {
        TxFacts {
            write_set_digests: vec![Sha256::ZERO],
            digests_from: 0,
            claims: BTreeMap::new(),
            signatures: BTreeMap::new(),
        }
    }
}

impl TxFacts {
    /// Facts of a node whose history starts after `seqno` (a snapshot's).
    pub fn starting_after(seqno: u64) -> Self {
        TxFacts { write_set_digests: Vec::new(), digests_from: seqno + 1, ..TxFacts::default() }
    }

    /// The digest of entry `seqno`, if this node holds it.
    pub fn digest(&self, seqno: u64) -> Option<Sha256> {
        let i = usize::try_from(seqno.checked_sub(self.digests_from)?).ok()?;
        self.write_set_digests.get(i).copied()
    }

    /// The seqno the next digest is for.
    pub fn next_seqno(&self) -> u64 {
        self.digests_from + self.write_set_digests.len() as u64
    }

    /// Records the digest of entry `next_seqno()`.
    pub fn push_digest(&mut self, digest: Sha256) {
        self.write_set_digests.push(digest);
    }

    /// Forgets every fact after `seqno`.
    pub fn truncate_after(&mut self, seqno: u64) {
        assert!(seqno + 1 >= self.digests_from, "cannot forget facts before {}", self.digests_from);
        self.write_set_digests.truncate(usize::try_from(seqno + 1 - self.digests_from).expect("fits"));
        self.claims.split_off(&(seqno + 1));
        self.signatures.split_off(&(seqno + 1));
    }
}

/// State rebuilt from ledger entries (and, when restarting from a snapshot, a store loaded
/// from it: entries up to the snapshot then only extend the tree and the facts).
pub struct Replayer {
    pub store: Store,
    pub tree: MerkleTree,
    pub views: ViewHistory,
    pub facts: TxFacts,
    pub last: TxId,
    /// Seqnos up to here are already in `store` (from a snapshot).
    pub store_seqno: u64,
    secrets: LedgerSecrets,
    /// Entries after the last signature: applied when a signature covers them, dropped by a
    /// restart otherwise (they were never committed).
    /// Each with its SHA-256 and whether its signature (if it is a signature transaction) was
    /// already verified.
    tail: Vec<(bytes::Bytes, Sha256, bool)>,
    /// The applied entries' bytes, seqnos 1..=last (the Raft log a replicated node resumes):
    /// shared with the ledger files they were read from where those are mapped.
    log: Vec<bytes::Bytes>,
    /// The store at each replayed signature that may not be committed (at or after the newest
    /// signature below the highest commit a replayed signature records): a replicated node may
    /// have to roll back to one of them when a new primary overwrote what it had signed.
    pub checkpoints: BTreeMap<u64, Store>,
    /// The highest commit seqno recorded by a replayed signature (its signer saw it committed).
    pub recorded_commit: u64,
    /// The snapshot the log starts after (`0.0` for a whole ledger): entries are pushed from
    /// its seqno + 1.
    pub log_base: TxId,
    /// This node's id and RSA key: a rekey transaction that sealed a new secret to it gives
    /// the replay that secret (the node stopped before it persisted it).
    node_key: Option<(String, std::sync::Arc<cairn_crypto::EncryptionKeyPair>)>,
    /// The committed snapshot file the log starts after (set by whoever read it), which this
    /// node offers to followers that need older entries than it holds.
    pub log_base_snapshot: Option<SnapshotName>,
    /// The log starts after a committed snapshot of the *previous* service (a recovery's, or one
    /// a node installed while the recovered service was not yet open): its private domain, still
    /// encrypted, is the base of the private state the transaction opening the service restores.
    pub recovery_snapshot: Option<crate::RecoverySnapshot>,
}

impl Replayer {
    /// `secrets`: (first seqno it encrypts, secret), ascending.
    pub fn new(secrets: LedgerSecrets) -> Self {
        Replayer {
            store: Store::new(),
            tree: MerkleTree::new(),
            views: ViewHistory::default(),
            facts: TxFacts::default(),
            last: TxId::default(),
            store_seqno: 0,
            secrets,
            tail: Vec::new(),
            log: Vec::new(),
            checkpoints: BTreeMap::new(),
            recorded_commit: 0,
            log_base: TxId::default(),
            log_base_snapshot: None,
            recovery_snapshot: None,
            node_key: None,
        }
    }

    /// Learns the secrets rekeys sealed to `node_id` (`rekey_rows.rs`) as it replays.
    pub fn with_node_key(mut self, node_id: &str, key: std::sync::Arc<cairn_crypto::EncryptionKeyPair>) -> Self {
        self.node_key = Some((node_id.to_string(), key));
        self
    }

    /// A disaster recovery's public replay (SPEC §7.1): no ledger secret is known, so every
    /// entry is opened publicly (`received_entry::before_known_secrets`); signatures and Merkle
    /// roots are checked as for a restart.
    pub fn public_only() -> Self {
        let unknown =
            LedgerSecrets::from_entries([(u64::MAX, cairn_ledger::LedgerSecret::new([0; 32]))]).expect("one secret");
        Replayer::new(unknown)
    }

    /// The secrets the replay ended with (a restart that replayed the transaction opening a
    /// recovered service holds the previous service's too).
    pub fn secrets(&self) -> &LedgerSecrets {
        &self.secrets
    }

    /// A node with no ledger before a committed snapshot (one that joined from it): the state
    /// is the snapshot's, the Merkle tree continues from the frontier its signature recorded
    /// plus the snapshot's own leaf, and the next entry pushed is `seqno + 1`. The snapshot must
    /// be at a signature whose root is the frontier's (checked with the signer's certificate).
    pub fn from_snapshot(secrets: LedgerSecrets, snapshot: DecodedSnapshot) -> Result<Self, ReplayError> {
        let seqno = snapshot.tx.seqno;
        let bad = |reason: String| ReplayError::Snapshot { seqno, reason };
        let leaf = snapshot.hash_at_snapshot.ok_or_else(|| bad("no Merkle leaf recorded at the snapshot".into()))?;
        let views = ViewHistory::from_ccf(&snapshot.view_history).map_err(bad)?;
        let tx = snapshot.tx;
        let store = snapshot.into_store();
        let frontier = store
            .get(tables::TREE, &tables::SINGLETON_KEY)
            .and_then(MerkleFrontier::decode)
            .ok_or_else(|| bad(format!("{} is missing or malformed", tables::TREE)))?;
        let record: SignatureRecord = store
            .get(tables::SIGNATURES, &tables::SINGLETON_KEY)
            .and_then(|v| serde_json::from_slice(v).ok())
            .ok_or_else(|| bad(format!("{} is missing or malformed", tables::SIGNATURES)))?;
        if record.seqno != seqno || frontier.leaf_count() != seqno {
            return Err(bad(format!(
                "not taken at a signature: the last signature is at {}, its tree covers {} leaves",
                record.seqno,
                frontier.leaf_count()
            )));
        }
        let mut tree = MerkleTree::from_frontier(&frontier);
        verify_signature(&record, tx, &tree)?;
        tree.append(leaf);
        let mut facts = TxFacts::starting_after(seqno);
        facts.signatures.insert(seqno, SignatureRecord { cert: String::new(), ..record.clone() });
        let mut replayer = Replayer::new(secrets);
        replayer.checkpoints.insert(seqno, store.clone());
        replayer.store = store;
        replayer.tree = tree;
        replayer.views = views;
        replayer.facts = facts;
        replayer.last = tx;
        replayer.store_seqno = seqno;
        replayer.recorded_commit = record.commit_seqno.max(seqno);
        replayer.log_base = tx;
        replayer.check_invariants();
        Ok(replayer)
    }

    /// A disaster recovery's public replay (as [`Replayer::public_only`]) of a ledger that starts
    /// after committed snapshot `name` of the previous service, decoded publicly
    /// (`RecoverySnapshot::check`): the starting point of [`Replayer::from_snapshot`].
    pub fn public_from_snapshot(name: SnapshotName, decoded: DecodedSnapshot) -> Result<Self, ReplayError> {
        let unknown = Replayer::public_only().secrets;
        let mut replayer = Replayer::from_snapshot(unknown, decoded)?;
        replayer.log_base_snapshot = Some(name);
        Ok(replayer)
    }

    /// Starts from a store loaded from a snapshot at `seqno`; entries up to it are hashed only.
    pub fn with_snapshot_store(mut self, store: Store, seqno: u64) -> Self {
        self.store = store;
        self.store_seqno = seqno;
        self
    }

    /// Takes the next entry from the ledger. Entries are applied once a signature covers them.
    pub fn push(&mut self, bytes: impl Into<bytes::Bytes>) -> Result<(), ReplayError> {
        let bytes = bytes.into();
        let digest = cairn_crypto::sha256(&bytes);
        self.push_prechecked(bytes, digest, false)
    }

    /// [`Replayer::push`] of an entry whose SHA-256 the caller computed, and (`signature_verified`)
    /// whose signature it verified if it is a signature transaction (`ledger_read.rs` does both
    /// on another thread): `digest` must be `sha256(bytes)`, `signature_verified` only true if
    /// `received_entry::signature_verifies(bytes)`. The signed root is still checked here.
    pub(crate) fn push_prechecked(
        &mut self,
        bytes: bytes::Bytes,
        digest: Sha256,
        signature_verified: bool,
    ) -> Result<(), ReplayError> {
        debug_assert_eq!(digest, cairn_crypto::sha256(&bytes), "the digest of these bytes");
        let expected = self.last.seqno + 1 + self.tail.len() as u64;
        let entry =
            EntryView::parse(&bytes).map_err(|e| ReplayError::Entry { seqno: expected, reason: e.to_string() })?;
        if entry.tx_id().seqno != expected {
            return Err(ReplayError::OutOfOrder { seqno: entry.tx_id().seqno, expected });
        }
        let is_signature = entry.public_has_table(tables::SIGNATURES).unwrap_or(false);
        self.tail.push((bytes, digest, signature_verified));
        if is_signature {
            for (bytes, digest, signature_verified) in std::mem::take(&mut self.tail) {
                self.apply(&bytes, digest, signature_verified)?;
                self.log.push(bytes);
            }
        }
        Ok(())
    }

    /// Seqnos after the last signature: never applied. A lone node drops them at restart; a
    /// replicated node keeps them in its log (a later primary signs over or truncates them).
    pub fn unsigned_tail(&self) -> u64 {
        self.tail.len() as u64
    }

    /// Forgets the entries after the last signature (a recovery set them aside); returns how
    /// many.
    pub fn drop_unsigned_tail(&mut self) -> u64 {
        let n = self.tail.len() as u64;
        self.tail.clear();
        n
    }

    /// Takes every entry pushed, in seqno order from 1: the applied ones and the unsigned
    /// tail (the Raft log a replicated node resumes with).
    pub fn take_log(&mut self) -> (Vec<bytes::Bytes>, Vec<bytes::Bytes>) {
        (std::mem::take(&mut self.log), std::mem::take(&mut self.tail).into_iter().map(|(b, _, _)| b).collect())
    }

    fn apply(&mut self, bytes: &[u8], digest: Sha256, signature_verified: bool) -> Result<(), ReplayError> {
        let seqno = self.last.seqno + 1;
        let opened = open_entry(bytes, seqno, &self.secrets, seqno > self.store_seqno, Some(digest))?;
        if let Some(record) = &opened.signature {
            match signature_verified {
                true => check_signed_root(record, opened.tx, &self.tree)?,
                false => verify_signature(record, opened.tx, &self.tree)?,
            }
            self.facts.signatures.insert(seqno, SignatureRecord { cert: String::new(), ..record.clone() });
        }
        if let Some((node_id, key)) = &self.node_key
            && let Some(opened) = crate::rekey_rows::opened_for_node(&opened.write_set, node_id, Some(key))
        {
            let (from, raw) = opened.map_err(|reason| ReplayError::Entry { seqno, reason })?;
            if self.secrets.entries().last().is_some_and(|(f, _)| *f < from) {
                let secret = std::sync::Arc::new(cairn_ledger::LedgerSecret::new(raw));
                self.secrets.push(from, secret).map_err(|reason| ReplayError::Entry { seqno, reason })?;
            }
        }
        if seqno > self.store_seqno {
            let err = |reason: String| ReplayError::Entry { seqno, reason };
            let write_set = match self.restore_private_state(&opened.write_set, seqno)? {
                Some(restored) => crate::private_recovery::overlay(restored, &opened.write_set),
                None => opened.write_set,
            };
            self.store.apply_owned(write_set, seqno).map_err(|e| err(e.to_string()))?;
        }
        self.tree.append(opened.leaf);
        self.facts.push_digest(opened.digest);
        if opened.claims != Sha256::ZERO {
            self.facts.claims.insert(seqno, opened.claims);
        }
        self.views.record(opened.tx.view, seqno);
        self.last = opened.tx;
        if let Some(record) = &opened.signature
            && seqno >= self.store_seqno
        {
            self.checkpoints.insert(seqno, self.store.clone());
            self.recorded_commit = self.recorded_commit.max(record.commit_seqno);
            if let Some(&committed) = self.checkpoints.range(..=self.recorded_commit).next_back().map(|(s, _)| s) {
                self.checkpoints = self.checkpoints.split_off(&committed);
            }
        }
        Ok(())
    }

    /// The transaction at `seqno` opened a recovered service, and this replay read the previous
    /// service's entries publicly (the node stopped before it persisted the restored secrets):
    /// restore their private state now, as the node did when it applied the transaction.
    fn restore_private_state(
        &mut self,
        ws: &cairn_kv::WriteSet,
        seqno: u64,
    ) -> Result<Option<cairn_kv::WriteSet>, ReplayError> {
        let Some(Some(json)) = ws.get(tables::RECOVERED_LEDGER_SECRETS, &tables::SINGLETON_KEY) else {
            return Ok(None);
        };
        let first_known = self.secrets.entries().first().map_or(1, |(from, _)| *from);
        if first_known <= self.log_base.seqno.max(1) {
            return Ok(None); // the node holds the previous service's secrets already
        }
        let err = |reason: String| ReplayError::Entry { seqno, reason };
        let base = self.log_base.seqno;
        let merged = crate::private_recovery::with_recovered_secrets(json, &self.secrets, base).map_err(err)?;
        let private_base = crate::private_recovery::private_base(self.recovery_snapshot.as_ref(), base, &merged)?;
        let old = (first_known - 1 - base) as usize;
        let restored = crate::private_recovery::recover_private_state(
            private_base,
            self.log.iter().take(old).map(|b| b.as_ref()),
            base + 1,
            &merged,
        )?;
        self.recovery_snapshot = None;
        self.secrets = merged;
        Ok(Some(restored.write_set))
    }

    /// The last signature seqno seen (0 if none).
    pub fn last_signature(&self) -> u64 {
        self.facts.signatures.keys().next_back().copied().unwrap_or(0)
    }

    pub fn check_invariants(&self) {
        assert_eq!(self.tree.leaf_count(), self.last.seqno + 1, "tree must cover every replayed seqno");
        assert_eq!(self.store.version(), self.last.seqno.max(self.store_seqno), "store at the last applied seqno");
        assert_eq!(self.facts.next_seqno(), self.last.seqno + 1, "one digest per seqno");
        self.views.check_invariants();
    }
}
