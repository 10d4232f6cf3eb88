//! A ledger writer shared by many threads, whose appends become durable through group commit:
//! each thread appends under the writer lock, then waits; one `sync` (fsync of the chunk, and
//! of the directory after a create or rename) covers every append made before it started.

use crate::GroupCommit;
use cairn_ledger::storage::{Storage, StorageError, StorageErrorKind};
use cairn_ledger::{LedgerWriter, WriteError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

pub struct DurableLedger<S: Storage, P> {
    inner: Mutex<(LedgerWriter<S>, P)>,
    group: GroupCommit,
    syncs: AtomicU64,
}

impl<S: Storage, P> DurableLedger<S, P> {
    /// Wraps `writer` and the producer `P` of its entries (e.g. a `History`), which are only
    /// ever used together under one lock so seqnos stay in order.
    pub fn new(writer: LedgerWriter<S>, producer: P) -> Self {
        let durable = writer.durable_seqno();
        DurableLedger {
            inner: Mutex::new((writer, producer)),
            group: GroupCommit::new(durable),
            syncs: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, (LedgerWriter<S>, P)> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `append` with the writer and the producer; returns the last seqno afterwards, which
    /// is recorded as written for group commit.
    pub fn append<T>(
        &self,
        append: impl FnOnce(&mut LedgerWriter<S>, &mut P) -> Result<T, WriteError>,
    ) -> Result<(T, u64), WriteError> {
        let mut inner = self.lock();
        let (writer, producer) = &mut *inner;
        let out = append(writer, producer)?;
        let seqno = writer.last().seqno;
        self.group.record_written(seqno);
        Ok((out, seqno))
    }

    /// Returns once `seqno` is durable; concurrent callers share syncs.
    pub fn wait_durable(&self, seqno: u64) -> Result<(), StorageError> {
        self.group.wait_durable(seqno, || {
            self.syncs.fetch_add(1, Ordering::Relaxed);
            self.lock().0.sync().map(|_| ()).map_err(|e| match e {
                WriteError::Storage(s) => s,
                other => StorageError::new(StorageErrorKind::Other, "sync", "ledger", other.to_string()),
            })
        })
    }

    /// Number of sync rounds run so far.
    pub fn sync_count(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    pub fn durable_seqno(&self) -> u64 {
        self.group.durable()
    }

    pub fn into_inner(self) -> (LedgerWriter<S>, P) {
        self.inner.into_inner().unwrap_or_else(PoisonError::into_inner)
    }
}
