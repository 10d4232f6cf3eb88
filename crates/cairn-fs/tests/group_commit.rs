//! `GroupCommit` with real threads and a real `FsStorage`: waits share fsyncs, nobody returns
//! before an fsync covered their bytes, and a failed sync reaches every waiter and marks nothing
//! durable.

use cairn_fs::{Durability, FsStorage, GroupCommit};
use cairn_ledger::storage::{Storage, StorageError, StorageErrorKind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::thread;
use std::time::Duration;
use tempfile::TempDir;

const THREADS: usize = 16;

/// A log file shared by writer threads, with the fsyncs done on it counted.
struct SharedLog {
    storage: Mutex<FsStorage>,
    group: GroupCommit,
    fsyncs: AtomicU64,
    /// Highest log size some completed fsync was known to cover.
    fsynced_bytes: AtomicU64,
}

impl SharedLog {
    fn new(dir: &TempDir) -> Arc<Self> {
        let mut storage = FsStorage::open(dir.path(), Durability::Fsync, false).unwrap();
        storage.create("log").unwrap();
        storage.sync_dir().unwrap();
        Arc::new(SharedLog {
            storage: Mutex::new(storage),
            group: GroupCommit::new(0),
            fsyncs: AtomicU64::new(0),
            fsynced_bytes: AtomicU64::new(0),
        })
    }

    /// Appends `record` and records the log's new size as the written position.
    fn append(&self, record: &[u8]) -> u64 {
        let mut storage = self.storage.lock().unwrap();
        storage.append("log", record).unwrap();
        let end = storage.size("log").unwrap();
        self.group.record_written(end);
        end
    }

    /// The counting sync closure: everything appended before the fsync starts is covered by it.
    fn fsync(&self) -> Result<(), StorageError> {
        let mut storage = self.storage.lock().unwrap();
        let covered = storage.size("log")?;
        storage.sync("log")?;
        self.fsyncs.fetch_add(1, Ordering::SeqCst);
        self.fsynced_bytes.fetch_max(covered, Ordering::SeqCst);
        Ok(())
    }

    /// Waits until `end` is durable, then checks that a real fsync covered it.
    fn wait_durable(&self, end: u64) {
        self.group.wait_durable(end, || self.fsync()).unwrap();
        assert!(self.group.durable() >= end, "returned before {end} was durable");
        assert!(self.fsynced_bytes.load(Ordering::SeqCst) >= end, "no fsync covered byte {end}");
    }
}

#[test]
fn concurrent_waiters_share_fsyncs_and_return_only_once_durable() {
    const ROUNDS: u64 = 20;
    let dir = TempDir::new().unwrap();
    let log = SharedLog::new(&dir);
    // All threads append before any waits, so each round needs exactly one fsync.
    let appended = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (log, appended) = (Arc::clone(&log), Arc::clone(&appended));
            thread::spawn(move || {
                for round in 0..ROUNDS {
                    let end = log.append(format!("thread {t} round {round}\n").as_bytes());
                    appended.wait();
                    log.wait_durable(end);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let waits = THREADS as u64 * ROUNDS;
    let fsyncs = log.fsyncs.load(Ordering::SeqCst);
    assert!(fsyncs < waits, "{fsyncs} fsyncs for {waits} waits");
    assert_eq!(fsyncs, ROUNDS, "one leader per round covers every waiter of the round");
    assert_eq!(log.group.durable(), log.group.written());
    log.group.check_invariants();
}

#[test]
fn free_running_waiters_all_return_durable() {
    const APPENDS: u64 = 50;
    let dir = TempDir::new().unwrap();
    let log = SharedLog::new(&dir);
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = Arc::clone(&log);
            thread::spawn(move || {
                for i in 0..APPENDS {
                    let end = log.append(format!("thread {t} append {i}\n").as_bytes());
                    log.wait_durable(end);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let fsyncs = log.fsyncs.load(Ordering::SeqCst);
    assert!(fsyncs <= THREADS as u64 * APPENDS, "{fsyncs} fsyncs");
    let size = log.storage.lock().unwrap().size("log").unwrap();
    assert_eq!((log.group.durable(), log.fsynced_bytes.load(Ordering::SeqCst)), (size, size));
}

#[test]
fn already_durable_position_returns_without_syncing() {
    let group = GroupCommit::new(10);
    group.wait_durable(7, || panic!("nothing to sync")).unwrap();
    group.wait_durable(10, || panic!("nothing to sync")).unwrap();
}

fn disk_error() -> StorageError {
    StorageError::new(StorageErrorKind::Other, "sync", "log", "injected EIO")
}

#[test]
fn failed_sync_is_returned_to_every_waiter_of_the_round_and_marks_nothing_durable() {
    let group = Arc::new(GroupCommit::new(0));
    group.record_written(5);
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let leader = {
        let group = Arc::clone(&group);
        thread::spawn(move || {
            group.wait_durable(5, || {
                started_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                Err(disk_error())
            })
        })
    };
    started_rx.recv().unwrap();
    let follower = {
        let group = Arc::clone(&group);
        thread::spawn(move || group.wait_durable(3, || panic!("a follower of a failed round must not sync")))
    };
    // Give the follower time to start waiting; it gets the error whether or not it did.
    thread::sleep(Duration::from_millis(50));
    release_tx.send(()).unwrap();
    assert_eq!(leader.join().unwrap(), Err(disk_error()));
    assert_eq!(follower.join().unwrap(), Err(disk_error()));
    assert_eq!(group.durable(), 0);
}

#[test]
fn after_a_failed_sync_later_waits_fail_without_syncing_again() {
    let group = GroupCommit::new(0);
    group.record_written(3);
    group.wait_durable(1, || Ok(())).unwrap();
    assert_eq!(group.durable(), 3);
    group.record_written(6);
    assert_eq!(group.wait_durable(6, || Err(disk_error())), Err(disk_error()));
    group.record_written(9);
    assert_eq!(group.wait_durable(9, || panic!("must not retry a failed fsync")), Err(disk_error()));
    group.wait_durable(3, || panic!("already durable")).unwrap();
    assert_eq!((group.durable(), group.written()), (3, 9));
    group.check_invariants();
}

#[test]
fn panicking_sync_fails_the_waiters_instead_of_hanging_them() {
    let group = Arc::new(GroupCommit::new(0));
    group.record_written(1);
    let leader = {
        let group = Arc::clone(&group);
        thread::spawn(move || group.wait_durable(1, || panic!("sync bug")))
    };
    assert!(leader.join().is_err());
    let err = group.wait_durable(1, || panic!("must not retry")).unwrap_err();
    assert_eq!((err.kind, err.op), (StorageErrorKind::Other, "sync"));
    assert_eq!(group.durable(), 0);
}

#[test]
#[should_panic(expected = "recorded as written")]
fn waiting_for_a_position_never_recorded_is_a_bug() {
    let group = GroupCommit::new(0);
    let _ = group.wait_durable(1, || Ok(()));
}
