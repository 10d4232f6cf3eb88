use crate::format::{EncodedEntry, EntryFlags, PublicHeader, TxId, encode_entry};
use crate::merkle::{MerkleTree, leaf_digest};
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

impl NodeSigner {
    /// The signer for `key`; its node id is derived from the key (CCF's rule).
    pub fn new(key: SigningKey, cert_pem: String) -> Self {
        let node_id = key.verifying_key().key_id();
        NodeSigner { key, node_id, cert_pem }
    }
}

/// Turns write sets into ledger entries in seqno order: encrypts private tables, records commit
/// evidence, extends the Merkle tree, and produces signature transactions. What CCF calls the
/// "history" of the primary.
///
/// It keeps the whole [`MerkleTree`], so receipts can be built for any of its transactions
/// against any of its signatures; signature transactions record the tree's frontier in
/// `public:ccf.internal.tree`.
///
/// Invariant: `tree.leaf_count() == last.seqno + 1` (leaf 0 is the zero leaf).
pub struct History {
    tree: MerkleTree,
    last: TxId,
    secret: Arc<LedgerSecret>,
    signer: Arc<NodeSigner>,
}

impl History {
    /// A history for an empty ledger.
    pub fn new(secret: Arc<LedgerSecret>, signer: Arc<NodeSigner>) -> Self {
        History { tree: MerkleTree::new(), last: TxId::default(), secret, signer }
    }

    /// Resumes after `last`, given the Merkle tree over seqnos 0..=last.seqno.
    pub fn resume(secret: Arc<LedgerSecret>, signer: Arc<NodeSigner>, last: TxId, tree: MerkleTree) -> Self {
        assert_eq!(tree.leaf_count(), last.seqno + 1, "Merkle tree must cover exactly seqnos 0..={}", last.seqno);
        History { tree, last, secret, signer }
    }

    pub fn last(&self) -> TxId {
        self.last
    }

    /// The Merkle tree over seqnos `0..=last().seqno`.
    pub fn tree(&self) -> &MerkleTree {
        &self.tree
    }

    pub fn secret(&self) -> &Arc<LedgerSecret> {
        &self.secret
    }

    /// Encrypts every transaction appended from now on, and derives its commit evidence, with
    /// `secret` (a ledger rekey; earlier entries keep theirs).
    pub fn set_secret(&mut self, secret: Arc<LedgerSecret>) {
        self.secret = secret;
    }

    /// Records a transaction another node encoded (a backup applying the primary's entries):
    /// its Merkle leaf joins the tree and it becomes the last transaction.
    pub fn append_received(&mut self, tx: TxId, leaf: Sha256) {
        assert_eq!(tx.seqno, self.last.seqno + 1, "received {tx} does not follow {}", self.last);
        self.tree.append(leaf);
        self.last = tx;
    }

    /// Forgets every transaction after `last` (uncommitted ones a new primary overwrote, or a
    /// primary's unsigned tail when it steps down).
    pub fn rollback(&mut self, last: TxId) {
        assert!(last.seqno <= self.last.seqno, "cannot roll {} forward to {last}", self.last);
        self.tree.truncate(last.seqno + 1);
        self.last = last;
    }

    fn next_id(&self, view: u64) -> TxId {
        assert!(view >= self.last.view, "view {view} regresses below {}", self.last.view);
        TxId::new(view, self.last.seqno + 1)
    }

    /// Encodes the next transaction of `write_set` in `view` (no claims: a zero claims digest).
    pub fn append_tx(&mut self, view: u64, write_set: &WriteSet, flags: EntryFlags) -> EncodedEntry {
        self.append_tx_with_claims(view, write_set, flags, Sha256::ZERO)
    }

    /// Encodes the next transaction with `claims_digest` in its public header and Merkle leaf,
    /// so a receipt for it also proves the claims (snapshot evidence carries the snapshot's
    /// digest this way).
    pub fn append_tx_with_claims(
        &mut self,
        view: u64,
        write_set: &WriteSet,
        flags: EntryFlags,
        claims_digest: Sha256,
    ) -> EncodedEntry {
        let tx = self.next_id(view);
        self.seal(tx, write_set, flags, claims_digest)
    }

    fn seal(&mut self, tx: TxId, write_set: &WriteSet, flags: EntryFlags, claims_digest: Sha256) -> EncodedEntry {
        let ce = self.secret.commit_evidence_digest(tx);
        let header = PublicHeader::new(tx.seqno, claims_digest, ce);
        let entry = encode_entry(tx, flags, &header, write_set, self.secret.key());
        self.tree.append(leaf_digest(&entry.digest(), &ce, &claims_digest));
        self.last = tx;
        entry
    }

    /// Encodes a signature transaction over every transaction so far. `chunk_after` ends the
    /// ledger chunk after it (the primary sets it once the chunk reached `chunk_size`).
    pub fn append_signature(&mut self, view: u64, commit: TxId, chunk_after: bool) -> EncodedEntry {
        self.append_signature_record(view, commit, chunk_after).0
    }

    /// [`History::append_signature`], also returning the signature record and the write set
    /// the entry carries (for a primary that applies it to its store).
    pub fn append_signature_record(
        &mut self,
        view: u64,
        commit: TxId,
        chunk_after: bool,
    ) -> (EncodedEntry, SignatureRecord, WriteSet) {
        let tx = self.next_id(view);
        let root = self.tree.root().expect("tree has the zero leaf");
        let hashed_nonce = sha256(self.secret.commit_nonce(tx).as_bytes());
        let s = &self.signer;
        let record = SignatureRecord::sign(&s.key, &s.node_id, &s.cert_pem, tx, commit, &root, &hashed_nonce);
        let mut ws = WriteSet::new();
        ws.put(tables::SIGNATURES, tables::SINGLETON_KEY.to_vec(), serde_json::to_vec(&record).expect("serialisable"));
        ws.put(tables::TREE, tables::SINGLETON_KEY.to_vec(), self.tree.encode_frontier());
        let flags = if chunk_after { EntryFlags(EntryFlags::FORCE_LEDGER_CHUNK_AFTER) } else { EntryFlags::default() };
        let entry = self.seal(tx, &ws, flags, Sha256::ZERO);
        (entry, record, ws)
    }
}
