//! One conformance suite every [`Storage`] implementation must pass, so the in-memory model the
//! simulator trusts and the real files production uses cannot drift apart. It checks what a
//! single process can observe without crashing (rules 1, 2 and 4, the error kinds, and the names
//! in errors); what survives a crash is the business of each implementation's own tests.
//!
//! Compiled outside `cfg(test)` so other crates' tests can call it.
//!
//! # Invariants
//! - Each case gets a fresh, empty storage from `make`, so cases cannot depend on each other.
//! - A refused operation leaves the storage as it was; every case checks this where it applies.

use super::{Storage, StorageError, StorageErrorKind};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

/// A named check run on a fresh storage.
type ConformanceCase<S> = (&'static str, fn(&mut S));

/// Runs every case on a fresh storage from `make`, which must return an empty, writable storage.
/// Panics with the case's name on the first failure.
pub fn run_conformance_suite<S: Storage>(make: impl Fn() -> S) {
    let cases: [ConformanceCase<S>; 15] = [
        ("list_is_empty_then_sorted_after_creates", list_is_empty_then_sorted_after_creates),
        ("create_refuses_an_existing_file", create_refuses_an_existing_file),
        ("appends_are_visible_to_reads_at_once", appends_are_visible_to_reads_at_once),
        ("read_past_the_end_is_unexpected_eof", read_past_the_end_is_unexpected_eof),
        (
            "read_immutable_gives_a_prefix_and_refuses_past_the_end",
            read_immutable_gives_a_prefix_and_refuses_past_the_end,
        ),
        ("operations_on_a_missing_file_are_not_found", operations_on_a_missing_file_are_not_found),
        ("write_at_overwrites_inside_the_file_only", write_at_overwrites_inside_the_file_only),
        ("truncate_shrinks_and_refuses_to_grow", truncate_shrinks_and_refuses_to_grow),
        ("rename_moves_the_file_and_refuses_to_replace", rename_moves_the_file_and_refuses_to_replace),
        ("sync_and_sync_dir_keep_content", sync_and_sync_dir_keep_content),
        ("write_file_atomic_leaves_only_the_whole_file", write_file_atomic_leaves_only_the_whole_file),
        ("write_file_atomic_keeps_a_stale_temp_aside", write_file_atomic_keeps_a_stale_temp_aside),
        ("write_file_atomic_refuses_to_replace_a_file", write_file_atomic_refuses_to_replace_a_file),
        ("names_with_separators_or_dot_dot_are_refused", names_with_separators_or_dot_dot_are_refused),
        ("errors_name_the_operation_and_the_file", errors_name_the_operation_and_the_file),
    ];
    for (name, case) in cases {
        let mut storage = make();
        assert_eq!(storage.list(), Ok(vec![]), "conformance case {name}: `make` must return an empty storage");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| case(&mut storage))) {
            eprintln!("storage conformance case `{name}` failed");
            resume_unwind(panic);
        }
    }
}

/// Asserts `result` failed with `kind` for operation `op` on file `name`.
#[track_caller]
fn assert_refused<T: std::fmt::Debug>(result: Result<T, StorageError>, kind: StorageErrorKind, op: &str, name: &str) {
    let err = result.expect_err("operation should have been refused");
    assert_eq!((err.kind, err.op, err.name.as_str()), (kind, op, name), "{err}");
}

fn file_with<S: Storage>(s: &mut S, name: &str, content: &[u8]) {
    s.create(name).unwrap();
    s.append(name, content).unwrap();
}

fn list_is_empty_then_sorted_after_creates<S: Storage>(s: &mut S) {
    for name in ["b", "c", "a.tmp", "a"] {
        s.create(name).unwrap();
    }
    assert_eq!(s.list().unwrap(), ["a", "a.tmp", "b", "c"]);
    assert_eq!(s.size("a").unwrap(), 0);
}

fn create_refuses_an_existing_file<S: Storage>(s: &mut S) {
    file_with(s, "a", b"kept");
    assert_refused(s.create("a"), StorageErrorKind::AlreadyExists, "create", "a");
    assert_eq!(s.read_all("a").unwrap(), b"kept");
}

fn appends_are_visible_to_reads_at_once<S: Storage>(s: &mut S) {
    file_with(s, "a", b"hello");
    s.append("a", b"").unwrap();
    s.append("a", b" world").unwrap();
    assert_eq!(s.size("a").unwrap(), 11);
    let mut buf = [0u8; 5];
    s.read_at("a", 6, &mut buf).unwrap();
    assert_eq!(&buf, b"world");
    assert_eq!(s.read_all("a").unwrap(), b"hello world");
}

fn read_past_the_end_is_unexpected_eof<S: Storage>(s: &mut S) {
    file_with(s, "a", b"0123456789");
    s.read_at("a", 10, &mut []).unwrap();
    for (offset, len) in [(0, 11), (9, 2), (10, 1), (11, 0), (u64::MAX, 1), (u64::MAX - 1, 3)] {
        let mut buf = vec![0u8; len];
        assert_refused(s.read_at("a", offset, &mut buf), StorageErrorKind::UnexpectedEof, "read_at", "a");
    }
}

fn read_immutable_gives_a_prefix_and_refuses_past_the_end<S: Storage>(s: &mut S) {
    file_with(s, "a", b"0123456789");
    s.sync("a").unwrap();
    assert_eq!(s.read_immutable("a", 10).unwrap().as_ref(), b"0123456789");
    assert_eq!(s.read_immutable("a", 4).unwrap().as_ref(), b"0123");
    assert_eq!(s.read_immutable("a", 0).unwrap().as_ref(), b"");
    let kept = s.read_immutable("a", 10).unwrap();
    s.rename("a", "b").unwrap();
    assert_eq!(kept.as_ref(), b"0123456789", "bytes read stay valid after a rename");
    assert_refused(s.read_immutable("b", 11), StorageErrorKind::UnexpectedEof, "read_at", "b");
    assert_refused(s.read_immutable("x", 1), StorageErrorKind::NotFound, "read_at", "x");
}

fn operations_on_a_missing_file_are_not_found<S: Storage>(s: &mut S) {
    let kind = StorageErrorKind::NotFound;
    assert_refused(s.size("x"), kind, "size", "x");
    assert_refused(s.read_at("x", 0, &mut [0u8; 1]), kind, "read_at", "x");
    assert_refused(s.append("x", b"data"), kind, "append", "x");
    assert_refused(s.write_at("x", 0, b"data"), kind, "write_at", "x");
    assert_refused(s.truncate("x", 0), kind, "truncate", "x");
    assert_refused(s.sync("x"), kind, "sync", "x");
    assert_refused(s.rename("x", "y"), kind, "rename", "x");
    assert_eq!(s.read_all("x").unwrap_err().kind, kind);
    assert_eq!(s.list().unwrap(), Vec::<String>::new(), "a refused operation created a file");
}

fn write_at_overwrites_inside_the_file_only<S: Storage>(s: &mut S) {
    file_with(s, "a", b"0123456789");
    s.write_at("a", 2, b"XY").unwrap();
    s.write_at("a", 8, b"Z9").unwrap();
    s.write_at("a", 10, b"").unwrap();
    assert_eq!(s.read_all("a").unwrap(), b"01XY4567Z9");
    for (offset, data) in [(9, &b"ab"[..]), (10, b"a"), (11, b""), (u64::MAX, b"a")] {
        assert_refused(s.write_at("a", offset, data), StorageErrorKind::UnexpectedEof, "write_at", "a");
    }
    assert_eq!(s.read_all("a").unwrap(), b"01XY4567Z9");
}

fn truncate_shrinks_and_refuses_to_grow<S: Storage>(s: &mut S) {
    file_with(s, "a", b"0123456789");
    s.truncate("a", 10).unwrap();
    s.truncate("a", 4).unwrap();
    assert_eq!(s.read_all("a").unwrap(), b"0123");
    assert_refused(s.truncate("a", 5), StorageErrorKind::UnexpectedEof, "truncate", "a");
    assert_eq!(s.read_all("a").unwrap(), b"0123");
    s.append("a", b"ab").unwrap();
    assert_eq!(s.read_all("a").unwrap(), b"0123ab", "an append after truncate goes at the new end");
    s.truncate("a", 0).unwrap();
    assert_eq!(s.size("a").unwrap(), 0);
}

fn rename_moves_the_file_and_refuses_to_replace<S: Storage>(s: &mut S) {
    file_with(s, "a", b"first");
    file_with(s, "b", b"second");
    s.rename("a", "c").unwrap();
    assert_eq!(s.list().unwrap(), ["b", "c"]);
    assert_eq!(s.read_all("c").unwrap(), b"first");
    s.append("c", b"!").unwrap();
    assert_eq!(s.read_all("c").unwrap(), b"first!", "appends after a rename reach the renamed file");

    assert_refused(s.rename("c", "b"), StorageErrorKind::AlreadyExists, "rename", "b");
    assert_refused(s.rename("c", "c"), StorageErrorKind::AlreadyExists, "rename", "c");
    assert_eq!(s.list().unwrap(), ["b", "c"]);
    assert_eq!(s.read_all("b").unwrap(), b"second");
    assert_eq!(s.read_all("c").unwrap(), b"first!");
}

fn sync_and_sync_dir_keep_content<S: Storage>(s: &mut S) {
    s.create("empty").unwrap();
    s.sync("empty").unwrap();
    file_with(s, "a", b"data");
    s.sync("a").unwrap();
    s.sync("a").unwrap();
    s.write_at("a", 0, b"D").unwrap();
    s.sync("a").unwrap();
    s.sync_dir().unwrap();
    assert_eq!(s.read_all("a").unwrap(), b"Data");
    assert_eq!(s.list().unwrap(), ["a", "empty"]);
}

fn write_file_atomic_leaves_only_the_whole_file<S: Storage>(s: &mut S) {
    s.write_file_atomic("snapshot", b"whole content").unwrap();
    s.write_file_atomic("empty", b"").unwrap();
    assert_eq!(s.list().unwrap(), ["empty", "snapshot"]);
    assert_eq!(s.read_all("snapshot").unwrap(), b"whole content");
    assert_eq!(s.size("empty").unwrap(), 0);
}

fn write_file_atomic_keeps_a_stale_temp_aside<S: Storage>(s: &mut S) {
    file_with(s, "snapshot.tmp", b"left by a crash");
    s.write_file_atomic("snapshot", b"new").unwrap();
    assert_eq!(s.list().unwrap(), ["snapshot", "snapshot.tmp.stale-0"]);
    assert_eq!(s.read_all("snapshot").unwrap(), b"new");
    assert_eq!(s.read_all("snapshot.tmp.stale-0").unwrap(), b"left by a crash");
    // A second crash leaves another temp file: it is kept aside too, under the next free name.
    file_with(s, "other.tmp", b"first");
    s.rename("other.tmp", "other.tmp.stale-0").unwrap();
    file_with(s, "other.tmp", b"second");
    s.write_file_atomic("other", b"new").unwrap();
    assert_eq!(s.read_all("other.tmp.stale-0").unwrap(), b"first");
    assert_eq!(s.read_all("other.tmp.stale-1").unwrap(), b"second");
}

fn write_file_atomic_refuses_to_replace_a_file<S: Storage>(s: &mut S) {
    file_with(s, "snapshot", b"old");
    assert_refused(s.write_file_atomic("snapshot", b"new"), StorageErrorKind::AlreadyExists, "rename", "snapshot");
    assert_eq!(s.read_all("snapshot").unwrap(), b"old");
}

fn names_with_separators_or_dot_dot_are_refused<S: Storage>(s: &mut S) {
    file_with(s, "ok", b"x");
    for bad in ["", ".", "..", "../escape", "sub/file", "/abs", "a..b"] {
        assert!(s.create(bad).is_err(), "create {bad:?}");
        assert!(s.size(bad).is_err(), "size {bad:?}");
        assert!(s.read_at(bad, 0, &mut []).is_err(), "read_at {bad:?}");
        assert!(s.append(bad, b"x").is_err(), "append {bad:?}");
        assert!(s.write_at(bad, 0, b"x").is_err(), "write_at {bad:?}");
        assert!(s.truncate(bad, 0).is_err(), "truncate {bad:?}");
        assert!(s.sync(bad).is_err(), "sync {bad:?}");
        assert!(s.rename(bad, "ok2").is_err(), "rename from {bad:?}");
        assert!(s.rename("ok", bad).is_err(), "rename to {bad:?}");
    }
    assert_eq!(s.list().unwrap(), ["ok"]);
    assert_eq!(s.read_all("ok").unwrap(), b"x");
}

fn errors_name_the_operation_and_the_file<S: Storage>(s: &mut S) {
    let message = s.size("ledger_7.committed").unwrap_err().to_string();
    assert!(message.contains("size") && message.contains("ledger_7.committed"), "{message}");
    file_with(s, "ledger_8", b"");
    let message = s.create("ledger_8").unwrap_err().to_string();
    assert!(message.contains("create") && message.contains("ledger_8"), "{message}");
}
