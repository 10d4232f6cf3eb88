//! How entries become state (design §4.2). A primary executes its own transactions, so its
//! store and tree are at its last entry. A backup is signature-gated: entries it receives wait
//! in the apply queue and are applied, in order, when a signature covering them arrives and
//! verifies against the tree they extend. Every node checkpoints its store (an O(1) persistent
//! clone) at each signature not yet committed, so a suffix a new primary overwrites, or the
//! unsigned tail of a primary stepping down, can be rolled back to the newest checkpoint at or
//! before the cut and the rest re-queued from the log.
use super::NodeCore;
use crate::received_entry::{open_entry, verify_signature};
use cairn_crypto::Sha256;
use cairn_kv::Store;
use cairn_ledger::SignatureRecord;
use cairn_ledger::format::TxId;
use std::collections::BTreeMap;

/// The apply queue and the checkpoints.
pub(super) struct Replica {
    /// Entries after the last applied seqno, up to the last appended one.
    pub(super) queue: Vec<Vec<u8>>,
    /// Store at each signature seqno ≥ the CCF commit (and at the start point).
    checkpoints: BTreeMap<u64, Store>,
}

impl Replica {
    /// `checkpoints`: stores at replayed signatures not known to be committed (see
    /// `Replayer::checkpoints`); the state at `applied` is always one.
    pub(super) fn new(applied: u64, store: Store, queue: Vec<Vec<u8>>, mut checkpoints: BTreeMap<u64, Store>) -> Self {
        checkpoints.insert(applied, store);
        Replica { queue, checkpoints }
    }

    pub(super) fn checkpoint(&mut self, seqno: u64, store: &Store) {
        self.checkpoints.insert(seqno, store.clone());
    }

    /// Checkpoints below the committed signature `commit` can never be rolled back to.
    pub(super) fn forget_checkpoints_below(&mut self, commit: u64) {
        self.checkpoints = self.checkpoints.split_off(&commit);
    }

    /// The store as of the newest checkpoint at or below `seqno`, if one is kept.
    pub(super) fn store_at(&self, seqno: u64) -> Option<&Store> {
        self.checkpoints.range(..=seqno).next_back().map(|(_, store)| store)
    }

    fn newest_at_or_below(&self, seqno: u64) -> (u64, &Store) {
        let Some((&s, store)) = self.checkpoints.range(..=seqno).next_back() else {
            let kept: Vec<u64> = self.checkpoints.keys().copied().collect();
            panic!("no checkpoint at or below {seqno} (kept: {kept:?}): rollback below the commit")
        };
        (s, store)
    }
}

impl NodeCore {
    /// Applies the whole queue; its last entry is a signature, verified against the tree.
    pub(super) fn apply_signed_queue(&mut self) {
        for bytes in std::mem::take(&mut self.replica.queue) {
            self.apply_received(&bytes);
        }
        self.emit_peers();
    }

    /// A new primary applies what earlier primaries left unsigned; its own first signature
    /// covers it.
    pub(super) fn apply_unsigned_tail(&mut self) {
        for bytes in std::mem::take(&mut self.replica.queue) {
            self.apply_received(&bytes);
        }
    }

    /// Applies one replicated entry. A backup trusts its primary's entries only as far as a
    /// signature covers them; one that does not open or verify is fatal (crash-fault
    /// tolerance assumes neither bugs nor tampering, and serving it would be worse).
    fn apply_received(&mut self, bytes: &[u8]) {
        let seqno = self.history.last().seqno + 1;
        let opened = open_entry(bytes, seqno, &self.secrets, true, None)
            .unwrap_or_else(|e| panic!("replicated entry {seqno} cannot be applied: {e}"));
        if let Some(record) = &opened.signature {
            verify_signature(record, opened.tx, self.history.tree())
                .unwrap_or_else(|e| panic!("replicated signature at {seqno} does not verify: {e}"));
            self.facts.signatures.insert(seqno, SignatureRecord { cert: String::new(), ..record.clone() });
        }
        self.learn_sealed_secret(&opened.write_set, seqno);
        let write_set = self.restore_on_apply(opened.write_set, seqno);
        self.store.apply_owned(write_set, seqno).unwrap_or_else(|e| panic!("replicated entry {seqno}: {e}"));
        self.history.append_received(opened.tx, opened.leaf);
        self.facts.push_digest(opened.digest);
        if opened.claims != Sha256::ZERO {
            self.facts.claims.insert(seqno, opened.claims);
        }
        self.views.record(opened.tx.view, seqno);
        if opened.signature.is_some() {
            self.replica.checkpoint(seqno, &self.store);
        }
    }

    /// Forgets the state after seqno `cut` (≥ the CCF commit): back to the newest checkpoint
    /// at or before it, with the log entries between re-queued.
    pub(super) fn rollback_to(&mut self, cut: u64) {
        assert!(cut >= self.commit.seqno, "rollback to {cut} below the commit {}", self.commit);
        let applied = self.history.last().seqno;
        let (s, store) = self.replica.newest_at_or_below(cut.min(applied));
        if s == applied {
            let keep = (cut - applied) as usize;
            self.replica.queue.truncate(keep);
            return;
        }
        self.store = store.clone();
        let view = self.views.view_of(s).unwrap_or(0);
        self.history.rollback(TxId::new(view, s));
        self.facts.truncate_after(s);
        self.views.truncate(s);
        self.replica.checkpoints.split_off(&(s + 1));
        self.undo_restore_after(s);
        if self.secrets.entries().iter().any(|(from, _)| *from > s) {
            self.secrets.truncate(s);
            let latest = self.secrets.latest().expect("the first secret stays").clone();
            self.history.set_secret(latest);
            self.persist_secrets();
        }
        self.pending_snapshots.retain(|p| p.evidence_seqno <= s);
        if self.snapshot_encoding.is_some_and(|(seqno, _)| seqno > s) {
            self.snapshot_encoding = None;
        }
        self.replica.queue = self.consensus.log_range(s, cut);
        self.policy.record_signature();
    }

    /// This node stopped being primary: its unsigned tail goes back to the queue (it stays in
    /// the log; the next primary signs over it or truncates it).
    pub(super) fn step_down(&mut self) {
        self.rollback_to(self.consensus.appended_last);
    }
}
