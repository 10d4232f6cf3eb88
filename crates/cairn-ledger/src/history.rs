use crate::format::{EncodedEntry, EntryFlags, PublicHeader, TxId, encode_entry};
use crate::merkle::{MerkleFrontier, leaf_digest};
use crate::{LedgerSecret, SignatureRecord, tables};
use cairn_crypto::{Sha256, SigningKey, sha256};
use cairn_kv::WriteSet;
use std::sync::Arc;

/// The identity a node signs the ledger with.
#[derive(Debug)]
pub struct NodeSigner {
    pub key: SigningKey,
    pub node_id: String,
    pub cert_pem: String,
}

/// Turns write sets into ledger entries in seqno order: encrypts private tables, records commit
/// evidence, extends the Merkle tree, and produces signature transactions. What CCF calls the
/// "history" of the primary.
///
/// Invariant: `merkle.leaf_count() == last.seqno + 1` (leaf 0 is the zero leaf).
pub struct History {
    merkle: MerkleFrontier,
    last: TxId,
    secret: Arc<LedgerSecret>,
    signer: Arc<NodeSigner>,
}

impl History {
    /// A history for an empty ledger.
    pub fn new(secret: Arc<LedgerSecret>, signer: Arc<NodeSigner>) -> Self {
        History { merkle: MerkleFrontier::new(), last: TxId::default(), secret, signer }
    }

    /// Resumes after `last`, given the Merkle tree over seqnos 0..=last.seqno.
    pub fn resume(secret: Arc<LedgerSecret>, signer: Arc<NodeSigner>, last: TxId, merkle: MerkleFrontier) -> Self {
        assert_eq!(merkle.leaf_count(), last.seqno + 1, "Merkle tree must cover exactly seqnos 0..={}", last.seqno);
        History { merkle, last, secret, signer }
    }

    pub fn last(&self) -> TxId {
        self.last
    }

    pub fn merkle(&self) -> &MerkleFrontier {
        &self.merkle
    }

    pub fn secret(&self) -> &Arc<LedgerSecret> {
        &self.secret
    }

    fn next_id(&self, view: u64) -> TxId {
        assert!(view >= self.last.view, "view {view} regresses below {}", self.last.view);
        TxId::new(view, self.last.seqno + 1)
    }

    /// Encodes the next transaction of `write_set` in `view`.
    pub fn append_tx(&mut self, view: u64, write_set: &WriteSet, flags: EntryFlags) -> EncodedEntry {
        let tx = self.next_id(view);
        self.seal(tx, write_set, flags)
    }

    fn seal(&mut self, tx: TxId, write_set: &WriteSet, flags: EntryFlags) -> EncodedEntry {
        let ce = self.secret.commit_evidence_digest(tx);
        let header = PublicHeader::new(tx.seqno, Sha256::ZERO, ce);
        let entry = encode_entry(tx, flags, &header, write_set, self.secret.key());
        self.merkle.append(leaf_digest(&entry.digest(), &ce, &Sha256::ZERO));
        self.last = tx;
        entry
    }

    /// Encodes a signature transaction over every transaction so far. `chunk_after` ends the
    /// ledger chunk after it (the primary sets it once the chunk reached `chunk_size`).
    pub fn append_signature(&mut self, view: u64, commit: TxId, chunk_after: bool) -> EncodedEntry {
        let tx = self.next_id(view);
        let root = self.merkle.root().expect("tree has the zero leaf");
        let hashed_nonce = sha256(self.secret.commit_nonce(tx).as_bytes());
        let s = &self.signer;
        let record = SignatureRecord::sign(&s.key, &s.node_id, &s.cert_pem, tx, commit, &root, &hashed_nonce);
        let mut ws = WriteSet::new();
        ws.put(tables::SIGNATURES, tables::SINGLETON_KEY.to_vec(), serde_json::to_vec(&record).expect("serialisable"));
        ws.put(tables::TREE, tables::SINGLETON_KEY.to_vec(), self.merkle.encode());
        let flags = if chunk_after { EntryFlags(EntryFlags::FORCE_LEDGER_CHUNK_AFTER) } else { EntryFlags::default() };
        self.seal(tx, &ws, flags)
    }
}
