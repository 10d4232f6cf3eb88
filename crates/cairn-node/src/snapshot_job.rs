//! [`SnapshotJob`]: a KV snapshot the core asked for (`Action::EncodeSnapshot`), encoded off
//! the core thread: encoding (and encrypting the private domain of) a large state takes time
//! that would otherwise stall every request and Raft message (a recovered service's snapshot
//! of 570 MB took 1.7 s in the core). The job holds a persistent view of the store at the
//! snapshot's seqno, so the core goes on applying transactions meanwhile; the shell (a thread)
//! or the simulator (at once) encodes it and hands back `Event::SnapshotEncoded`, on which the
//! core records the evidence transaction and writes the file.
//!
//! Invariant: the bytes are `encode_snapshot` of the store at `tx.seqno`, and `digest` their
//! SHA-256 (what the evidence transaction records).
use cairn_crypto::{Sha256, sha256};
use cairn_kv::StoreView;
use cairn_ledger::LedgerSecret;
use cairn_ledger::format::TxId;
use std::sync::Arc;

/// What to encode.
pub struct SnapshotJob {
    store: StoreView,
    tx: TxId,
    secret: Arc<LedgerSecret>,
    /// The Merkle leaf of `tx`.
    leaf: Sha256,
    /// The view history up to `tx` (CCF's form: the first seqno of each view).
    views: Vec<u64>,
}

/// A job done.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodedSnapshot {
    /// The snapshot's seqno.
    pub seqno: u64,
    /// The Merkle leaf the job was taken at (the core checks its ledger still has it).
    pub leaf: Sha256,
    pub digest: Sha256,
    pub bytes: Vec<u8>,
}

impl SnapshotJob {
    pub(crate) fn new(store: StoreView, tx: TxId, secret: Arc<LedgerSecret>, leaf: Sha256, views: Vec<u64>) -> Self {
        assert_eq!(store.version(), tx.seqno, "a snapshot job holds the store at its seqno");
        SnapshotJob { store, tx, secret, leaf, views }
    }

    /// The snapshot's seqno.
    pub fn seqno(&self) -> u64 {
        self.tx.seqno
    }

    /// Encodes the snapshot (pure; may run on any thread).
    pub fn encode(self) -> EncodedSnapshot {
        let bytes =
            cairn_ledger::snapshot::encode_snapshot(&self.store, self.tx, &self.secret, &self.leaf, &self.views);
        EncodedSnapshot { seqno: self.tx.seqno, leaf: self.leaf, digest: sha256(&bytes), bytes }
    }
}

impl std::fmt::Debug for SnapshotJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotJob").field("tx", &self.tx).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for EncodedSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodedSnapshot").field("seqno", &self.seqno).field("bytes", &self.bytes.len()).finish()
    }
}
