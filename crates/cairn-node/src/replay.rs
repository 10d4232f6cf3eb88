//! Rebuilding a node's state from its own ledger after a restart: every entry is framed,
//! decrypted with the ledger secret valid at its seqno, applied to the store, and hashed into
//! the Merkle tree; signatures are checked against the tree as they are met, so a ledger that
//! does not verify stops the restart instead of being served.
//!
//! Invariants: `tree.leaf_count() == last.seqno + 1`; every recorded signature's root equals
//! `tree.root_at(seqno)`; entries arrive in seqno order without gaps.
use cairn_crypto::{Sha256, sha256};
use cairn_kv::Store;
use cairn_ledger::format::{EntryView, TxId};
use cairn_ledger::merkle::{MerkleTree, leaf_digest};
use cairn_ledger::{LedgerSecrets, SignatureRecord, tables};
use std::collections::BTreeMap;
use thiserror::Error;

use crate::ViewHistory;

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
}

/// Per-transaction facts a receipt needs.
#[derive(Debug, Clone, Default)]
pub struct TxFacts {
    /// SHA-256 of each entry, indexed by seqno (index 0 unused).
    pub write_set_digests: Vec<Sha256>,
    /// Non-zero claims digests (snapshot evidence), by seqno.
    pub claims: BTreeMap<u64, Sha256>,
    /// Signature transactions by seqno, without their `cert` (the signing node's certificate,
    /// kept once by the node) to keep memory small.
    pub signatures: BTreeMap<u64, SignatureRecord>,
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
    tail: Vec<Vec<u8>>,
}

impl Replayer {
    /// `secrets`: (first seqno it encrypts, secret), ascending.
    pub fn new(secrets: LedgerSecrets) -> Self {
        Replayer {
            store: Store::new(),
            tree: MerkleTree::new(),
            views: ViewHistory::default(),
            facts: TxFacts { write_set_digests: vec![Sha256::ZERO], ..TxFacts::default() },
            last: TxId::default(),
            store_seqno: 0,
            secrets,
            tail: Vec::new(),
        }
    }

    /// Starts from a store loaded from a snapshot at `seqno`; entries up to it are hashed only.
    pub fn with_snapshot_store(mut self, store: Store, seqno: u64) -> Self {
        self.store = store;
        self.store_seqno = seqno;
        self
    }

    /// Takes the next entry from the ledger. Entries are applied once a signature covers them.
    pub fn push(&mut self, bytes: Vec<u8>) -> Result<(), ReplayError> {
        let expected = self.last.seqno + 1 + self.tail.len() as u64;
        let entry =
            EntryView::parse(&bytes).map_err(|e| ReplayError::Entry { seqno: expected, reason: e.to_string() })?;
        if entry.tx_id().seqno != expected {
            return Err(ReplayError::OutOfOrder { seqno: entry.tx_id().seqno, expected });
        }
        let (_, public) =
            entry.decode_public().map_err(|e| ReplayError::Entry { seqno: expected, reason: e.to_string() })?;
        let is_signature = public.has_table(tables::SIGNATURES);
        self.tail.push(bytes);
        if is_signature {
            for bytes in std::mem::take(&mut self.tail) {
                self.apply(&bytes)?;
            }
        }
        Ok(())
    }

    /// Seqnos after the last signature that a restart drops (they were never committed).
    pub fn unsigned_tail(&self) -> u64 {
        self.tail.len() as u64
    }

    fn apply(&mut self, bytes: &[u8]) -> Result<(), ReplayError> {
        let entry = EntryView::parse(bytes)
            .map_err(|e| ReplayError::Entry { seqno: self.last.seqno + 1, reason: e.to_string() })?;
        let tx = entry.tx_id();
        if tx.seqno != self.last.seqno + 1 {
            return Err(ReplayError::OutOfOrder { seqno: tx.seqno, expected: self.last.seqno + 1 });
        }
        let err = |reason: String| ReplayError::Entry { seqno: tx.seqno, reason };
        let secret = self.secrets.secret_for(tx.seqno).ok_or(ReplayError::NoSecret { seqno: tx.seqno })?.clone();
        let (header, public) = entry.decode_public().map_err(|e| err(e.to_string()))?;
        if header.commit_evidence_digest != secret.commit_evidence_digest(tx) {
            return Err(err("commit evidence digest does not match the ledger secret".into()));
        }
        if let Some(Some(record)) = public.get(tables::SIGNATURES, &tables::SINGLETON_KEY) {
            self.check_signature(tx, record)?;
        }
        if tx.seqno > self.store_seqno {
            let private = entry.decrypt_private(secret.key()).map_err(|e| err(e.to_string()))?;
            let ws = public.merged(private);
            self.store.apply(&ws, tx.seqno).map_err(|e| err(e.to_string()))?;
        }
        let digest = sha256(bytes);
        self.tree.append(leaf_digest(&digest, &header.commit_evidence_digest, &header.claims_digest));
        self.facts.write_set_digests.push(digest);
        if header.claims_digest != Sha256::ZERO {
            self.facts.claims.insert(tx.seqno, header.claims_digest);
        }
        self.views.record(tx.view, tx.seqno);
        self.last = tx;
        Ok(())
    }

    fn check_signature(&mut self, tx: TxId, value: &[u8]) -> Result<(), ReplayError> {
        let bad = |reason: String| ReplayError::Signature { seqno: tx.seqno, reason };
        let record: SignatureRecord = serde_json::from_slice(value).map_err(|e| bad(e.to_string()))?;
        let root = self.tree.root().expect("tree has the zero leaf");
        if record.root() != Some(root) {
            return Err(bad(format!("root {} does not match the ledger's {}", record.root, root.to_hex())));
        }
        let cert = cairn_crypto::Certificate::from_pem(&record.cert).map_err(|e| bad(e.to_string()))?;
        let key = cert.verifying_key().map_err(|e| bad(e.to_string()))?;
        record.verify(&key).map_err(|e| bad(e.to_string()))?;
        self.facts.signatures.insert(tx.seqno, SignatureRecord { cert: String::new(), ..record });
        Ok(())
    }

    /// The last signature seqno seen (0 if none).
    pub fn last_signature(&self) -> u64 {
        self.facts.signatures.keys().next_back().copied().unwrap_or(0)
    }

    pub fn check_invariants(&self) {
        assert_eq!(self.tree.leaf_count(), self.last.seqno + 1, "tree must cover every replayed seqno");
        assert_eq!(self.facts.write_set_digests.len() as u64, self.last.seqno + 1);
        self.views.check_invariants();
    }
}
