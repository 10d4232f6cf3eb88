//! [`LogStorage`]: the storage raft-rs reads. Entries and hard state live in raft-rs's
//! `MemStorage` (the in-memory mirror of the ledger, from the node's first seqno on); what
//! raft-rs's `MemStorage` would answer for `snapshot()` (an empty snapshot at the commit, which
//! a follower would "restore" with no data) is replaced by the Raft snapshot this node can
//! really offer: the descriptor of its newest committed KV snapshot, whose file a follower
//! fetches and starts from (`docs/internals/replication.md` §9 step 5). Until one is offered,
//! raft-rs is told a snapshot is temporarily unavailable, so it sends none and retries.
use raft::eraftpb::{Entry, Snapshot};
use raft::storage::{MemStorage, MemStorageCore};
use raft::{Error, GetEntriesContext, RaftState, Storage, StorageError};
use std::sync::RwLockWriteGuard;

#[derive(Default)]
pub struct LogStorage {
    mem: MemStorage,
    /// The newest committed KV snapshot this node holds, as a Raft snapshot: its seqno and
    /// view as index and term, the configuration at it, and its file name as data.
    offer: Option<Snapshot>,
}

impl LogStorage {
    pub fn new(mem: MemStorage) -> Self {
        LogStorage { mem, offer: None }
    }

    /// The entries and hard state.
    pub fn mem(&self) -> &MemStorage {
        &self.mem
    }

    /// Write access to the entries and hard state.
    pub fn wl(&self) -> RwLockWriteGuard<'_, MemStorageCore> {
        self.mem.wl()
    }

    /// Offers `snapshot` to followers that need entries this log does not hold. Its index must
    /// not be below the log's first index - 1 (entries after it must be readable here).
    pub fn offer(&mut self, snapshot: Snapshot) {
        let index = snapshot.get_metadata().index;
        let first = self.mem.first_index().expect("MemStorage answers first_index");
        assert!(index + 1 >= first, "a Raft snapshot at {index} leaves a gap before the log's first entry {first}");
        if self.offer.as_ref().is_none_or(|o| o.get_metadata().index < index) {
            self.offer = Some(snapshot);
        }
    }

    pub fn offered(&self) -> Option<&Snapshot> {
        self.offer.as_ref()
    }
}

impl Storage for LogStorage {
    fn initial_state(&self) -> raft::Result<RaftState> {
        self.mem.initial_state()
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        self.mem.entries(low, high, max_size, context)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        self.mem.term(idx)
    }

    fn first_index(&self) -> raft::Result<u64> {
        self.mem.first_index()
    }

    fn last_index(&self) -> raft::Result<u64> {
        self.mem.last_index()
    }

    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        match &self.offer {
            Some(s) if s.get_metadata().index >= request_index => Ok(s.clone()),
            _ => Err(Error::Store(StorageError::SnapshotTemporarilyUnavailable)),
        }
    }
}
