//! Scenario tests of `Store`: commits, conflicts, replay and snapshot views.

use cairn_kv::{ApplyError, CommitError, Store, VersionedValue, WriteSet};

/// A store with `("t", key) = value` committed at seqno 1, 2, ... for each pair.
fn store_with(pairs: &[(&[u8], &[u8])]) -> Store {
    let mut store = Store::new();
    for (key, value) in pairs {
        let mut tx = store.begin();
        tx.put("t", *key, *value);
        store.commit(tx, store.version() + 1).unwrap();
    }
    store.check_invariants();
    store
}

#[test]
fn new_store_is_empty_at_version_zero() {
    let store = Store::new();
    store.check_invariants();
    assert_eq!(store.version(), 0);
    assert!(store.is_empty());
    assert_eq!(store.table_names().count(), 0);
    assert_eq!(store.len("t"), 0);
    assert_eq!(store.get("t", b"k"), None);
}

#[test]
fn commit_applies_writes_at_seqno_and_returns_write_set() {
    let mut store = store_with(&[(b"a", b"1")]);
    let mut tx = store.begin();
    assert_eq!(tx.get("t", b"a"), Some(&b"1"[..]));
    tx.put("t", b"b".to_vec(), b"2".to_vec());
    tx.remove("t", b"a".to_vec());
    let ws = store.commit(tx, 2).unwrap();
    store.check_invariants();
    assert_eq!(store.version(), 2);
    assert_eq!(store.get("t", b"a"), None);
    assert_eq!(
        store.get_versioned("t", b"b"),
        Some(&VersionedValue { version: 2, value: std::sync::Arc::new(b"2".to_vec()) })
    );
    assert_eq!(ws.get("t", b"a"), Some(&None));
    assert_eq!(ws.maps["t"].read_version, 1);
}

#[test]
fn commit_with_stale_read_is_rejected_and_applies_nothing() {
    let mut store = store_with(&[(b"k", b"v1")]);
    let mut stale = store.begin();
    assert_eq!(stale.get("t", b"k"), Some(&b"v1"[..]));
    stale.put("t", b"other".to_vec(), b"x".to_vec());

    let mut winner = store.begin();
    winner.put("t", b"k".to_vec(), b"v2".to_vec());
    store.commit(winner, 2).unwrap();
    let before = store.clone();

    let err = store.commit(stale, 3).unwrap_err();
    assert_eq!(
        err,
        CommitError::Conflict {
            table: "t".into(),
            key: b"k".to_vec(),
            read_version: Some(1),
            current_version: Some(2)
        }
    );
    assert_eq!(store, before);
    assert_eq!(store.get("t", b"other"), None);
    store.check_invariants();
}

#[test]
fn commit_after_read_of_absent_key_that_was_then_created_is_rejected() {
    let mut store = Store::new();
    let mut stale = store.begin();
    assert_eq!(stale.get("t", b"k"), None);
    stale.put("t", b"k".to_vec(), b"mine".to_vec());
    let mut winner = store.begin();
    winner.put("t", b"k".to_vec(), b"theirs".to_vec());
    store.commit(winner, 1).unwrap();

    let err = store.commit(stale, 2).unwrap_err();
    assert!(matches!(err, CommitError::Conflict { read_version: None, current_version: Some(1), .. }));
    assert_eq!(store.get("t", b"k"), Some(&b"theirs"[..]));
}

#[test]
fn commit_with_stale_view_but_untouched_reads_succeeds() {
    let mut store = store_with(&[(b"a", b"1"), (b"b", b"1")]);
    let mut tx = store.begin();
    assert_eq!(tx.get("t", b"a"), Some(&b"1"[..]));
    let mut other = store.begin();
    other.put("t", b"b".to_vec(), b"2".to_vec());
    store.commit(other, 3).unwrap();

    tx.put("t", b"b".to_vec(), b"3".to_vec());
    store.commit(tx, 4).unwrap();
    assert_eq!(store.get("t", b"b"), Some(&b"3"[..]));
}

#[test]
fn commit_with_blind_write_over_changed_key_succeeds() {
    let mut store = store_with(&[(b"k", b"1")]);
    let mut blind = store.begin();
    blind.put("t", b"k".to_vec(), b"blind".to_vec());
    let mut other = store.begin();
    other.put("t", b"k".to_vec(), b"2".to_vec());
    store.commit(other, 2).unwrap();
    store.commit(blind, 3).unwrap();
    assert_eq!(store.get_versioned("t", b"k").unwrap().version, 3);
}

#[test]
fn commit_with_wrong_seqno_is_a_version_gap_and_applies_nothing() {
    let mut store = store_with(&[(b"k", b"1")]);
    for got in [0, 1, 3, u64::MAX] {
        let mut tx = store.begin();
        tx.put("t", b"k".to_vec(), b"2".to_vec());
        assert_eq!(store.commit(tx, got), Err(CommitError::VersionGap { expected: 2, got }));
    }
    assert_eq!(store, store_with(&[(b"k", b"1")]));
}

#[test]
fn apply_with_wrong_seqno_is_a_version_gap_and_applies_nothing() {
    let mut store = Store::new();
    let mut ws = WriteSet::new();
    ws.put("t", b"k".to_vec(), b"v".to_vec());
    assert_eq!(store.apply(&ws, 2), Err(ApplyError::VersionGap { expected: 1, got: 2 }));
    assert_eq!(store, Store::new());
}

#[test]
fn apply_removing_absent_key_only_advances_version() {
    let mut store = Store::new();
    let mut ws = WriteSet::new();
    ws.remove("t", b"never".to_vec());
    store.apply(&ws, 1).unwrap();
    store.check_invariants();
    assert_eq!(store.version(), 1);
    assert!(store.is_empty());
}

#[test]
fn apply_of_empty_write_set_advances_version() {
    let mut store = store_with(&[(b"k", b"1")]);
    store.apply(&WriteSet::new(), 2).unwrap();
    assert_eq!(store.version(), 2);
    assert_eq!(store.get_versioned("t", b"k").unwrap().version, 1);
}

#[test]
fn removing_last_key_drops_the_table() {
    let mut store = store_with(&[(b"k", b"1")]);
    let mut tx = store.begin();
    tx.remove("t", b"k".to_vec());
    store.commit(tx, 2).unwrap();
    store.check_invariants();
    assert_eq!(store.table_names().count(), 0);
    assert_eq!(store.len("t"), 0);
}

#[test]
fn iter_table_yields_keys_in_order_with_versions() {
    let store = store_with(&[(b"c", b"3"), (b"a", b"1"), (b"b", b"2")]);
    let entries: Vec<_> = store.iter_table("t").map(|(k, v)| (k.to_vec(), v.version)).collect();
    assert_eq!(entries, vec![(b"a".to_vec(), 2), (b"b".to_vec(), 3), (b"c".to_vec(), 1)]);
    assert_eq!(store.len("t"), 3);
    assert_eq!(store.iter_table("absent").count(), 0);
}

#[test]
fn table_names_lists_tables_in_order() {
    let mut store = Store::new();
    let mut tx = store.begin();
    tx.put("public:b", b"k".to_vec(), b"v".to_vec());
    tx.put("a", b"k".to_vec(), b"v".to_vec());
    store.commit(tx, 1).unwrap();
    assert_eq!(store.table_names().collect::<Vec<_>>(), vec!["a", "public:b"]);
}

#[test]
fn snapshot_view_is_unaffected_by_later_commits() {
    let mut store = store_with(&[(b"k", b"1"), (b"gone", b"x")]);
    let view = store.snapshot_view();
    let clone = store.clone();

    let mut tx = store.begin();
    tx.put("t", b"k".to_vec(), b"2".to_vec());
    tx.remove("t", b"gone".to_vec());
    tx.put("u", b"new".to_vec(), b"n".to_vec());
    store.commit(tx, 3).unwrap();

    view.check_invariants();
    assert_eq!(view.version(), 2);
    assert_eq!(view.get("t", b"k"), Some(&b"1"[..]));
    assert_eq!(view.get("t", b"gone"), Some(&b"x"[..]));
    assert_eq!(view.table_names().collect::<Vec<_>>(), vec!["t"]);
    assert_eq!(clone.snapshot_view(), view);
    assert_eq!(store.get("t", b"k"), Some(&b"2"[..]));
}

#[test]
fn replay_of_committed_write_sets_yields_identical_store() {
    let mut store = Store::new();
    let mut replica = Store::new();
    for (seqno, key) in (1..=5u64).zip([b"a", b"b", b"a", b"c", b"b"]) {
        let mut tx = store.begin();
        tx.put("t", key.to_vec(), seqno.to_be_bytes().to_vec());
        if seqno == 4 {
            tx.remove("t", b"a".to_vec());
        }
        let ws = store.commit(tx, seqno).unwrap();
        replica.apply(&ws, seqno).unwrap();
    }
    replica.check_invariants();
    assert_eq!(replica, store);
}

#[test]
fn conflict_error_message_names_table_and_key() {
    let err = CommitError::Conflict {
        table: "t".into(),
        key: b"k\x01".to_vec(),
        read_version: None,
        current_version: Some(3),
    };
    assert_eq!(err.to_string(), "conflict on table \"t\" key \"k\\x01\": read at version None, now at Some(3)");
}
