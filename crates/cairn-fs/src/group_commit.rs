//! Group commit: many threads waiting for their appends to become durable share one sync.
//!
//! Writers append, then [`GroupCommit::record_written`] the position (e.g. seqno) they reached,
//! then [`GroupCommit::wait_durable`]. The first waiter that finds no sync in flight becomes the
//! leader of a round: it reads `written`, runs the sync outside the lock, publishes that
//! position as `durable` and wakes everyone. Waiters that arrive during a round wait for it; those
//! it did not cover lead the next one, which covers all of them at once.
//!
//! # Invariants
//! - `durable <= written`, and both only grow.
//! - At most one sync runs at a time (`syncing`).
//! - `durable` only takes a value of `written` read before a sync that then succeeded, so every
//!   position up to `durable` was appended before a successful sync began.
//! - After a failed (or panicking) sync nothing more becomes durable: the failure is kept and
//!   returned to every waiter of that round and every later one whose position is not already
//!   durable, without syncing again. After a failed fsync the kernel may have dropped the dirty
//!   pages, so a retry could succeed without them (PostgreSQL's "fsyncgate"); the node must stop.
//!
//! # Caller contract
//! `record_written(pos)` only once everything up to `pos` has been appended (appends happen in
//! position order, e.g. under the storage lock); `wait_durable(pos, ..)` only for a recorded `pos`.

use cairn_ledger::storage::{StorageError, StorageErrorKind};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// A leader/follower fsync combiner shared by reference between threads.
#[derive(Debug)]
pub struct GroupCommit {
    state: Mutex<State>,
    round_finished: Condvar,
}

#[derive(Debug)]
struct State {
    written: u64,
    durable: u64,
    syncing: bool,
    failure: Option<StorageError>,
}

impl GroupCommit {
    /// Starts with every position up to `durable` already durable (e.g. the recovered ledger end).
    pub fn new(durable: u64) -> Self {
        let state = State { written: durable, durable, syncing: false, failure: None };
        GroupCommit { state: Mutex::new(state), round_finished: Condvar::new() }
    }

    /// Records that every position up to `pos` has been appended. Positions recorded out of
    /// order are fine: `written` keeps the highest.
    pub fn record_written(&self, pos: u64) {
        let mut state = self.lock();
        state.written = state.written.max(pos);
    }

    pub fn written(&self) -> u64 {
        self.lock().written
    }

    pub fn durable(&self) -> u64 {
        self.lock().durable
    }

    /// Returns once `pos` is durable, running `sync` itself if it leads a round. Returns the
    /// error of a failed sync to every waiter of that round and of any later one.
    /// Panics if `pos` was never recorded as written: waiting for it could never end.
    pub fn wait_durable(&self, pos: u64, sync: impl FnOnce() -> Result<(), StorageError>) -> Result<(), StorageError> {
        let mut state = self.lock();
        assert!(pos <= state.written, "wait_durable({pos}) but only {} recorded as written", state.written);
        loop {
            if state.durable >= pos {
                return Ok(());
            }
            if let Some(failure) = &state.failure {
                return Err(failure.clone());
            }
            if !state.syncing {
                break;
            }
            state = self.round_finished.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        state.syncing = true;
        let mut round = Round { group: self, target: state.written, outcome: None };
        drop(state);
        let result = sync();
        round.outcome = Some(result.clone());
        drop(round);
        result
    }

    /// Panics if an invariant from the module docs does not hold.
    pub fn check_invariants(&self) {
        let state = self.lock();
        assert!(state.durable <= state.written, "durable {} > written {}", state.durable, state.written);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update keeps the state consistent (the round guard runs even on panic).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The leader's round: publishes its outcome when dropped, even if `sync` panicked, so waiters
/// never hang.
struct Round<'a> {
    group: &'a GroupCommit,
    /// `written` when the sync began.
    target: u64,
    /// `None` if the sync panicked.
    outcome: Option<Result<(), StorageError>>,
}

impl Drop for Round<'_> {
    fn drop(&mut self) {
        let mut state = self.group.lock();
        assert!(state.syncing && self.target >= state.durable, "only one round at a time publishes");
        state.syncing = false;
        match self.outcome.take() {
            Some(Ok(())) => state.durable = self.target,
            Some(Err(err)) => state.failure = Some(err),
            None => {
                let err = StorageError::new(StorageErrorKind::Other, "sync", "group commit", "sync panicked");
                state.failure = Some(err);
            }
        }
        drop(state);
        self.group.round_finished.notify_all();
    }
}
