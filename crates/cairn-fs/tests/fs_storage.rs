//! `FsStorage` on real directories: the shared conformance suite in both durability modes, and
//! what only a real file system shows (the directory itself, reopening, handle limits, errno).

use cairn_fs::{Durability, FsStorage, MAX_OPEN_FILES};
use cairn_ledger::storage::{Storage, StorageErrorKind, run_conformance_suite};
use std::cell::Cell;
use std::fs;
use std::path::Path;
use tempfile::TempDir;

fn storage_in(dir: &Path) -> FsStorage {
    FsStorage::open(dir, Durability::Fsync, false).unwrap()
}

/// The names actually present in `dir`, read without `FsStorage`.
fn names_on_disk(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

fn run_suite(durability: Durability) {
    let root = TempDir::new().unwrap();
    let next = Cell::new(0);
    run_conformance_suite(|| {
        next.set(next.get() + 1);
        FsStorage::open(root.path().join(format!("case{}", next.get())), durability, false).unwrap()
    });
}

#[test]
fn fs_storage_passes_the_conformance_suite() {
    run_suite(Durability::Fsync);
}

#[test]
fn fs_storage_in_flush_mode_passes_the_conformance_suite() {
    run_suite(Durability::Flush);
}

#[test]
fn open_creates_a_missing_directory() {
    let root = TempDir::new().unwrap();
    let dir = root.path().join("ledger").join("nested");
    let mut storage = storage_in(&dir);
    assert!(dir.is_dir());
    storage.write_file_atomic("a", b"x").unwrap();
    assert_eq!(names_on_disk(&dir), ["a"]);
}

#[test]
fn read_only_open_of_a_missing_directory_is_not_found_and_creates_nothing() {
    let root = TempDir::new().unwrap();
    let dir = root.path().join("missing");
    let err = FsStorage::open(&dir, Durability::Fsync, true).unwrap_err();
    assert_eq!((err.kind, err.op), (StorageErrorKind::NotFound, "open"));
    assert!(err.to_string().contains("missing"), "{err}");
    assert!(!dir.exists());
}

#[test]
fn open_refuses_a_path_that_is_a_file() {
    let root = TempDir::new().unwrap();
    let file = root.path().join("plain");
    fs::write(&file, b"").unwrap();
    let err = FsStorage::open(&file, Durability::Fsync, false).unwrap_err();
    assert_eq!((err.kind, err.op), (StorageErrorKind::Other, "open"));
}

#[test]
fn read_only_refuses_every_mutation_and_still_serves_reads() {
    let root = TempDir::new().unwrap();
    storage_in(root.path()).write_file_atomic("log", b"data").unwrap();
    let mut storage = FsStorage::open(root.path(), Durability::Fsync, true).unwrap();
    let refusals = [
        storage.create("new").unwrap_err(),
        storage.append("log", b"x").unwrap_err(),
        storage.write_at("log", 0, b"x").unwrap_err(),
        storage.truncate("log", 0).unwrap_err(),
        storage.sync("log").unwrap_err(),
        storage.rename("log", "other").unwrap_err(),
        storage.sync_dir().unwrap_err(),
        storage.write_file_atomic("new", b"x").unwrap_err(),
    ];
    let ops: Vec<_> = refusals.iter().map(|e| e.op).collect();
    assert_eq!(ops, ["create", "append", "write_at", "truncate", "sync", "rename", "sync_dir", "create"]);
    assert!(refusals.iter().all(|e| e.kind == StorageErrorKind::ReadOnly), "{refusals:?}");
    assert_eq!(storage.list().unwrap(), ["log"]);
    assert_eq!(storage.read_all("log").unwrap(), b"data");
    assert_eq!(names_on_disk(root.path()), ["log"]);
}

#[test]
fn every_operation_reaches_the_disk_and_a_reopened_storage_reads_it() {
    let root = TempDir::new().unwrap();
    let mut storage = storage_in(root.path());
    storage.create("log").unwrap();
    storage.append("log", b"0123456789").unwrap();
    storage.write_at("log", 2, b"XY").unwrap();
    storage.truncate("log", 8).unwrap();
    storage.append("log", b"!").unwrap();
    storage.sync("log").unwrap();
    storage.rename("log", "log.committed").unwrap();
    storage.append("log.committed", b"?").unwrap();
    storage.sync("log.committed").unwrap();
    storage.sync_dir().unwrap();
    drop(storage);

    assert_eq!(fs::read(root.path().join("log.committed")).unwrap(), b"01XY4567!?");
    let reopened = FsStorage::open(root.path(), Durability::Fsync, true).unwrap();
    assert_eq!(reopened.list().unwrap(), ["log.committed"]);
    assert_eq!(reopened.size("log.committed").unwrap(), 10);
    let mut buf = [0u8; 4];
    reopened.read_at("log.committed", 2, &mut buf).unwrap();
    assert_eq!(&buf, b"XY45");
}

#[test]
fn rename_refuses_to_overwrite_and_keeps_both_files() {
    let root = TempDir::new().unwrap();
    let mut storage = storage_in(root.path());
    storage.write_file_atomic("a", b"first").unwrap();
    storage.write_file_atomic("b", b"second").unwrap();
    let err = storage.rename("a", "b").unwrap_err();
    assert_eq!((err.kind, err.op, err.name.as_str()), (StorageErrorKind::AlreadyExists, "rename", "b"));
    assert_eq!(fs::read(root.path().join("a")).unwrap(), b"first");
    assert_eq!(fs::read(root.path().join("b")).unwrap(), b"second");
}

#[test]
fn write_file_atomic_leaves_no_partial_or_temp_file() {
    let root = TempDir::new().unwrap();
    let mut storage = storage_in(root.path());
    let content = vec![7u8; 1 << 20];
    storage.write_file_atomic("snapshot_10", &content).unwrap();
    assert_eq!(names_on_disk(root.path()), ["snapshot_10"]);
    assert_eq!(fs::read(root.path().join("snapshot_10")).unwrap(), content);
}

#[test]
fn write_file_atomic_over_an_existing_file_is_refused_and_keeps_the_old_content() {
    let root = TempDir::new().unwrap();
    let mut storage = storage_in(root.path());
    storage.write_file_atomic("snapshot_10", b"old").unwrap();
    let err = storage.write_file_atomic("snapshot_10", b"new").unwrap_err();
    assert_eq!(err.kind, StorageErrorKind::AlreadyExists);
    assert_eq!(fs::read(root.path().join("snapshot_10")).unwrap(), b"old");
}

#[test]
fn error_messages_name_the_operation_the_file_and_the_directory() {
    let root = TempDir::new().unwrap();
    let mut storage = storage_in(root.path());
    let message = storage.append("ledger_7", b"x").unwrap_err().to_string();
    assert!(message.starts_with("append ledger_7: NotFound: "), "{message}");
    assert!(message.contains(&root.path().display().to_string()), "{message}");
    let message = storage.read_at("ledger_7", 0, &mut [0u8; 1]).unwrap_err().to_string();
    assert!(message.starts_with("read_at ledger_7: NotFound: "), "{message}");
}

#[test]
fn names_that_would_leave_the_directory_are_refused_and_touch_nothing_outside() {
    let root = TempDir::new().unwrap();
    let dir = root.path().join("ledger");
    let mut storage = storage_in(&dir);
    fs::write(root.path().join("outside"), b"keep").unwrap();
    for bad in ["../escape", "../outside", "sub/file", "/tmp/abs"] {
        assert!(storage.create(bad).is_err(), "{bad}");
        assert!(storage.append(bad, b"x").is_err(), "{bad}");
        assert!(storage.size(bad).is_err(), "{bad}");
    }
    assert_eq!(names_on_disk(root.path()), ["ledger", "outside"]);
    assert_eq!(fs::read(root.path().join("outside")).unwrap(), b"keep");
}

#[test]
fn list_skips_subdirectories() {
    let root = TempDir::new().unwrap();
    let mut storage = storage_in(root.path());
    fs::create_dir(root.path().join("ignored")).unwrap();
    storage.create("ledger_1").unwrap();
    assert_eq!(storage.list().unwrap(), ["ledger_1"]);
}

#[test]
fn more_files_than_the_handle_cache_keep_every_append() {
    let root = TempDir::new().unwrap();
    let mut storage = storage_in(root.path());
    let names: Vec<String> = (0..MAX_OPEN_FILES + 10).map(|i| format!("chunk_{i:03}")).collect();
    for name in &names {
        storage.create(name).unwrap();
    }
    for round in 0..3u8 {
        for name in &names {
            storage.append(name, &[round]).unwrap();
            assert_eq!(storage.size(name).unwrap(), u64::from(round) + 1);
        }
    }
    for name in &names {
        storage.sync(name).unwrap();
        assert_eq!(storage.read_all(name).unwrap(), [0, 1, 2], "{name}");
    }
}

/// `/dev/full` fails every write with ENOSPC: a real full disk for one file.
#[cfg(target_os = "linux")]
#[test]
fn append_to_a_full_device_is_no_space() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let mut dev = FsStorage::open("/dev", Durability::Flush, false).unwrap();
    let err = dev.append("full", b"entry").unwrap_err();
    assert_eq!((err.kind, err.op, err.name.as_str()), (StorageErrorKind::NoSpace, "append", "full"));
}
