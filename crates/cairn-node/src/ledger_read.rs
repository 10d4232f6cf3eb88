//! [`read_ledger`]: a replay's read of the ledger files, shared by a restart, a start after a
//! snapshot and a disaster recovery's public read (in the server and in the simulator).
//!
//! The ledger is read one chunk file at a time (`LedgerWriter::chunk_entries`: committed chunks
//! are mapped, so the entries the replay keeps as its Raft log cost no copy and no fresh
//! memory). A second thread reads the next chunks, computes every entry's SHA-256 and verifies
//! the ECDSA signature of signature transactions (while the applying thread has chunks waiting;
//! otherwise it leaves them to that thread), while this one applies the entries in
//! order (and checks that each signature signs the Merkle root the ledger has there); the result
//! is the same as pushing the entries one by one (both checks are pure), only faster on a
//! machine with two cores.
//!
//! Invariant: entries reach the replayer in seqno order, each with `sha256(bytes)`, and marked
//! verified only if `received_entry::signature_verifies(bytes)`.
use bytes::Bytes;
use cairn_crypto::{Sha256, sha256};
use cairn_ledger::storage::Storage;
use cairn_ledger::{LedgerWriter, WriteError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use thiserror::Error;

use crate::received_entry::signature_verifies;
use crate::{ReplayError, Replayer};

/// Chunks read and hashed ahead of the one being applied.
const CHUNKS_AHEAD: usize = 2;

/// Why [`read_ledger`] stopped.
#[derive(Debug, Error)]
pub enum LedgerReadError {
    /// A chunk file could not be read.
    #[error("reading the ledger: {0}")]
    Read(#[from] WriteError),
    /// An entry did not replay (its seqno names it).
    #[error(transparent)]
    Replay(#[from] ReplayError),
}

/// Pushes entries `from..=writer.last()` into `replayer`; after each entry `progress(replayer,
/// its seqno, bytes read so far)`.
pub fn read_ledger<S: Storage>(
    writer: &LedgerWriter<S>,
    from: u64,
    replayer: &mut Replayer,
    mut progress: impl FnMut(&Replayer, u64, u64),
) -> Result<(), LedgerReadError> {
    let (tx, rx) = mpsc::sync_channel::<Result<Vec<(Bytes, Sha256, bool)>, WriteError>>(CHUNKS_AHEAD);
    // Chunks sent and not yet taken: when none waits, the applying thread is idle, so this one
    // leaves the signatures of its next chunk to it (which thread verifies them does not change
    // the result, only how the work is shared).
    let waiting = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let waiting = &waiting;
        scope.spawn(move || {
            for chunk in writer.chunk_entries(from) {
                let verify_here = waiting.load(Ordering::Acquire) > 0;
                let hashed = chunk.map(|entries| {
                    entries
                        .into_iter()
                        .map(|b| {
                            let digest = sha256(&b);
                            let verified = verify_here && signature_verifies(&b);
                            (b, digest, verified)
                        })
                        .collect()
                });
                let stop = hashed.is_err();
                waiting.fetch_add(1, Ordering::AcqRel);
                if tx.send(hashed).is_err() || stop {
                    return; // the reader stopped (an entry failed), or this read failed
                }
            }
        });
        let mut read = 0u64;
        let mut seqno = from.max(writer.first_seqno());
        for chunk in rx {
            waiting.fetch_sub(1, Ordering::AcqRel);
            for (bytes, digest, signature_verified) in chunk? {
                read += bytes.len() as u64;
                replayer.push_prechecked(bytes, digest, signature_verified)?;
                progress(replayer, seqno, read);
                seqno += 1;
            }
        }
        Ok(())
    })
}
