//! [`PrivateRestoreJob`]: a recovered service's private phase (SPEC §7.4), run off the core
//! thread. Once the members' shares are in, the primary restores the previous secret chain
//! (quick) and hands the shell this job: decrypt the previous service's private domains (from
//! the recovery snapshot's, if the public read started from one) into the final private state.
//! On a large ledger that takes long enough that the core must keep answering meanwhile: Raft
//! heartbeats (or the joined nodes would elect another primary), and `GET /node/state`, which
//! reports `ReadingPrivateLedger` with this job's [`RestoreProgress`]. The core writes the
//! transaction that opens the service when the result comes back (`Event::PrivateStateRestored`).
//!
//! Invariant: the result is `private_recovery::recover_private_state` of exactly the entries
//! and base the job was built with; progress only grows and ends at the target.
use crate::ReplayError;
use crate::private_recovery::recover_private_state;
use crate::recovery_snapshot::RecoverySnapshot;
use bytes::Bytes;
use cairn_kv::WriteSet;
use cairn_ledger::LedgerSecrets;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How far a private restore has read (shared with the core, which reports it).
#[derive(Debug, Default)]
pub struct RestoreProgress {
    seqno: AtomicU64,
    bytes: AtomicU64,
    /// The last seqno the restore reads (the previous service's last entry).
    pub target_seqno: u64,
    /// Bytes of the entries it reads.
    pub bytes_total: u64,
}

impl RestoreProgress {
    /// The last seqno decrypted, and the bytes read so far.
    pub fn read(&self) -> (u64, u64) {
        (self.seqno.load(Ordering::Relaxed), self.bytes.load(Ordering::Relaxed))
    }
}

/// What to decrypt.
pub struct PrivateRestoreJob {
    /// Which run of the core this is (a result for another run is ignored).
    run: u64,
    /// The previous service's entries to decrypt, seqnos `first..`.
    entries: Vec<Bytes>,
    first: u64,
    /// The recovery snapshot the public read started from (its private domain is the base).
    snapshot: Option<RecoverySnapshot>,
    /// The restored chain of the previous service, followed by the recovered service's own.
    secrets: LedgerSecrets,
    progress: Arc<RestoreProgress>,
}

/// A job done: the final private state, or why it could not be restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateStateRestored {
    pub run: u64,
    pub result: Result<WriteSet, String>,
}

impl PrivateRestoreJob {
    pub(crate) fn new(
        run: u64,
        entries: Vec<Bytes>,
        first: u64,
        snapshot: Option<RecoverySnapshot>,
        secrets: LedgerSecrets,
    ) -> (Self, Arc<RestoreProgress>) {
        let progress = Arc::new(RestoreProgress {
            target_seqno: first + entries.len() as u64 - 1,
            bytes_total: entries.iter().map(|e| e.len() as u64).sum(),
            ..RestoreProgress::default()
        });
        progress.seqno.store(first - 1, Ordering::Relaxed);
        let job = PrivateRestoreJob { run, entries, first, snapshot, secrets, progress: progress.clone() };
        (job, progress)
    }

    /// Decrypts (pure but for the progress counters; may run on any thread).
    pub fn run(self) -> PrivateStateRestored {
        let result = self.restore().map_err(|e| e.to_string());
        PrivateStateRestored { run: self.run, result }
    }

    fn restore(&self) -> Result<WriteSet, ReplayError> {
        let base = match &self.snapshot {
            Some(s) => s.private_state(&self.secrets)?,
            None => WriteSet::new(),
        };
        let progress = &self.progress;
        let entries = self.entries.iter().enumerate().map(|(i, e)| {
            // Counted as it is handed out: the entry before it is done.
            progress.seqno.store(self.first + i as u64 - 1, Ordering::Relaxed);
            progress.bytes.fetch_add(e.len() as u64, Ordering::Relaxed);
            e.as_ref()
        });
        let restored = recover_private_state(base, entries, self.first, &self.secrets)?;
        progress.seqno.store(progress.target_seqno, Ordering::Relaxed);
        Ok(restored.write_set)
    }
}

impl std::fmt::Debug for PrivateRestoreJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateRestoreJob")
            .field("run", &self.run)
            .field("first", &self.first)
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}
