//! Graded offline verification of ledger directories (`cairn ledger verify`).
//!
//! Levels, each including the ones before it:
//! 1. `parse`: every chunk frames into whole entries;
//! 2. `offsets`: positions tables match the entries, names match the counts, chunks are
//!    contiguous (no holes, no overlaps);
//! 3. `headers`: entry version and flags, seqno in the IV and the public header equal to the
//!    position, views never decrease, complete chunks end at a signature;
//! 4. `merkle`: every signature's root equals the root recomputed over the exact entry bytes;
//! 5. `signatures`: every signature verifies under its node's certificate, the node is known
//!    and not `Pending`, its certificate is endorsed by a service identity of the ledger, and
//!    service status transitions are ones CCF allows;
//! 6. `private`: with the ledger secret, every private domain decrypts (GCM tag checked) and
//!    every commit-evidence digest matches the secret.
//!
//! Per-chunk work (reading, framing, hashing, decrypting) runs on all cores; the Merkle tree
//! and signature checks then consume the chunks in order.

mod chunk_analysis;
mod ledger_checker;
mod verify_report;

pub use verify_report::{VerifyFailure, VerifyLevel, VerifyOutcome, VerifyProgress, VerifyReport};

use crate::LedgerSecrets;
use crate::chunk::ChunkName;
use crate::storage::Storage;
use chunk_analysis::{ChunkAnalysis, analyse_chunk};
use ledger_checker::LedgerChecker;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, mpsc};

/// What to verify and how.
#[derive(Debug)]
pub struct VerifyOptions {
    pub level: VerifyLevel,
    /// Ledger secrets with the first seqno each encrypts (one, or a rekey chain).
    pub ledger_secrets: LedgerSecrets,
    /// Only `.committed` chunks (what CCF's `read_ledger.py` reads by default).
    pub committed_only: bool,
    /// Also read `.recovery` chunks.
    pub include_recovery: bool,
    /// Worker threads for per-chunk work; 0 = one per core.
    pub threads: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            level: VerifyLevel::Signatures,
            ledger_secrets: LedgerSecrets::default(),
            committed_only: false,
            include_recovery: false,
            threads: 0,
        }
    }
}

/// A chunk file chosen for verification.
#[derive(Debug, Clone)]
struct ChunkFile {
    name: ChunkName,
    file: String,
    dir: usize,
    size: u64,
}

/// Chooses the chunk files of `dirs` (the first copy of a seqno range wins, committed first).
fn select_chunks(dirs: &[&dyn Storage], opts: &VerifyOptions) -> Result<Vec<ChunkFile>, VerifyFailure> {
    let mut by_start: BTreeMap<u64, ChunkFile> = BTreeMap::new();
    for (dir, storage) in dirs.iter().enumerate() {
        let names = storage.list().map_err(|e| VerifyFailure::storage(VerifyLevel::Parse, e))?;
        for file in names {
            let Some(name) = ChunkName::parse(&file) else { continue };
            if (name.recovery && !opts.include_recovery) || (opts.committed_only && !name.committed) {
                continue;
            }
            let size = storage.size(&file).map_err(|e| VerifyFailure::storage(VerifyLevel::Parse, e))?;
            let candidate = ChunkFile { name, file, dir, size };
            match by_start.get(&name.start) {
                Some(existing) if existing.name.committed || !name.committed => {}
                _ => {
                    by_start.insert(name.start, candidate);
                }
            }
        }
    }
    Ok(by_start.into_values().collect())
}

/// Verifies the ledger in `dirs` at `opts.level`. `progress` is called after each chunk.
pub fn verify_ledger(
    dirs: &[&dyn Storage],
    opts: &VerifyOptions,
    progress: &mut dyn FnMut(&VerifyProgress),
) -> VerifyOutcome {
    let mut report = VerifyReport::new(opts.level);
    let files = match select_chunks(dirs, opts) {
        Ok(f) => f,
        Err(failure) => return VerifyOutcome { report, failure: Some(failure) },
    };
    report.holes = holes(&files);
    if opts.level >= VerifyLevel::Private && opts.ledger_secrets.is_empty() {
        let failure =
            VerifyFailure::at(VerifyLevel::Private, None, None, None, "level private needs --ledger-secret".into());
        return VerifyOutcome { report, failure: Some(failure) };
    }
    let total_bytes: u64 = files.iter().map(|f| f.size).sum();
    let threads =
        if opts.threads == 0 { std::thread::available_parallelism().map_or(2, |n| n.get()) } else { opts.threads };
    let window = threads * 2;
    let mut checker = LedgerChecker::new(opts.level);
    let mut failure = None;

    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let absorbed = (Mutex::new(0usize), Condvar::new());
    let (tx, rx) = mpsc::channel::<(usize, Result<ChunkAnalysis, VerifyFailure>)>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (files, next, stop, absorbed) = (&files, &next, &stop, &absorbed);
            scope.spawn(move || {
                let mut buf = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= files.len() || stop.load(Ordering::SeqCst) {
                        break;
                    }
                    {
                        // Bound memory: stay within `window` chunks of the consumer.
                        let mut done = absorbed.0.lock().expect("lock");
                        while i >= *done + window && !stop.load(Ordering::SeqCst) {
                            done = absorbed.1.wait(done).expect("lock");
                        }
                    }
                    let f = &files[i];
                    let result = analyse_chunk(dirs[f.dir], &f.file, &f.name, opts, &mut buf);
                    if tx.send((i, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<usize, Result<ChunkAnalysis, VerifyFailure>> = BTreeMap::new();
        let mut want = 0usize;
        let mut bytes_done = 0u64;
        while want < files.len() {
            let Some(result) = pending.remove(&want) else {
                match rx.recv() {
                    Ok((i, r)) => {
                        pending.insert(i, r);
                        continue;
                    }
                    Err(_) => break,
                }
            };
            let outcome = result.and_then(|analysis| checker.absorb(analysis, &mut report));
            if let Err(f) = outcome {
                failure = Some(f);
                break;
            }
            bytes_done += files[want].size;
            want += 1;
            *absorbed.0.lock().expect("lock") = want;
            absorbed.1.notify_all();
            progress(&VerifyProgress {
                bytes_done,
                bytes_total: total_bytes,
                chunks_done: want,
                chunks_total: files.len(),
                entries: report.entries,
            });
        }
        stop.store(true, Ordering::SeqCst);
        absorbed.1.notify_all();
    });
    let finished = checker.finish(&mut report);
    if failure.is_none() {
        failure = finished.err();
    }
    VerifyOutcome { report, failure }
}

/// Gaps between the named ranges of consecutive chunks.
fn holes(files: &[ChunkFile]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for w in files.windows(2) {
        if let Some(end) = w[0].name.end
            && w[1].name.start > end + 1
        {
            out.push((end + 1, w[1].name.start - 1));
        }
    }
    out
}
