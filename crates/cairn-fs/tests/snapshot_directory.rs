//! `SnapshotDirectory` on real directories: crash-safe writes and commits, leftovers set aside
//! and never deleted, committed snapshots listed newest first across both directories.
use cairn_crypto::sha256;
use cairn_fs::SnapshotDirectory;
use cairn_kv::{Store, WriteSet};
use cairn_ledger::LedgerSecret;
use cairn_ledger::format::TxId;
use cairn_ledger::snapshot::{SnapshotName, encode_snapshot, snapshot_entry_len};
use cairn_ledger::storage::StorageErrorKind;
use std::fs;
use std::path::Path;

/// A real snapshot entry of a store with `seqno` transactions.
fn entry(seqno: u64) -> Vec<u8> {
    let mut store = Store::new();
    for s in 1..=seqno {
        let mut ws = WriteSet::new();
        ws.put("public:t", s.to_le_bytes(), b"v".to_vec());
        store.apply(&ws, s).unwrap();
    }
    let history = if seqno == 0 { vec![] } else { vec![1] };
    let tx = TxId::new(u64::from(seqno > 0), seqno);
    encode_snapshot(&store.snapshot_view(), tx, &LedgerSecret::new([1; 32]), &sha256(b"leaf"), &history)
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

#[test]
fn write_then_commit_appends_the_receipt_and_renames_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dir = SnapshotDirectory::open(tmp.path().join("snapshots"), None).unwrap();
    let name = SnapshotName::new(3, 4);
    let bytes = entry(3);
    dir.write(&name, &bytes).unwrap();
    assert_eq!(files(&tmp.path().join("snapshots")), ["snapshot_3_4"]);
    assert!(dir.committed_newest_first().unwrap().is_empty(), "uncommitted snapshots are not offered");
    let committed = dir.commit(&name, br#"{"receipt":1}"#).unwrap();
    assert_eq!(committed.to_string(), "snapshot_3_4.committed");
    assert_eq!(files(&tmp.path().join("snapshots")), ["snapshot_3_4.committed"]);
    let content = dir.read(&committed).unwrap();
    assert_eq!(snapshot_entry_len(&content).unwrap(), bytes.len());
    assert_eq!(&content[..bytes.len()], bytes.as_slice());
    assert_eq!(&content[bytes.len()..], br#"{"receipt":1}"#);
    assert_eq!(dir.committed_newest_first().unwrap(), [committed]);
    let again = dir.write(&name, &bytes).unwrap_err();
    assert_eq!(again.kind, StorageErrorKind::AlreadyExists, "a committed snapshot is not written again: {again}");
    let committed_name = dir.write(&committed, &bytes).unwrap_err();
    assert_eq!(committed_name.kind, StorageErrorKind::Other, "write takes uncommitted names: {committed_name}");
    assert_eq!(files(&tmp.path().join("snapshots")), ["snapshot_3_4.committed"]);
}

#[test]
fn an_interrupted_commit_is_redone_from_the_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let name = SnapshotName::new(2, 3);
    let bytes = entry(2);
    // The crash left the entry and half a receipt under the uncommitted name.
    let mut torn = bytes.clone();
    torn.extend_from_slice(br#"{"rece"#);
    fs::write(tmp.path().join(name.to_string()), &torn).unwrap();
    let mut dir = SnapshotDirectory::open(tmp.path(), None).unwrap();
    let committed = dir.commit(&name, br#"{"receipt":2}"#).unwrap();
    let mut expected = bytes;
    expected.extend_from_slice(br#"{"receipt":2}"#);
    assert_eq!(dir.read(&committed).unwrap(), expected);
}

#[test]
fn a_commit_of_a_truncated_entry_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let name = SnapshotName::new(2, 3);
    let bytes = entry(2);
    fs::write(tmp.path().join(name.to_string()), &bytes[..bytes.len() - 1]).unwrap();
    let mut dir = SnapshotDirectory::open(tmp.path(), None).unwrap();
    let err = dir.commit(&name, b"{}").unwrap_err();
    assert_eq!(err.kind, StorageErrorKind::UnexpectedEof, "{err}");
    assert_eq!(files(tmp.path()), ["snapshot_2_3"], "nothing renamed or deleted");
}

#[test]
fn crash_leftover_temp_files_are_renamed_aside_and_never_listed() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("snapshot_5_6.tmp"), b"partial").unwrap();
    fs::write(tmp.path().join("snapshot_5_6.tmp.stale-0"), b"older partial").unwrap();
    fs::write(tmp.path().join("snapshot_1_2.committed"), entry(1)).unwrap();
    let dir = SnapshotDirectory::open(tmp.path(), None).unwrap();
    assert_eq!(
        files(tmp.path()),
        ["snapshot_1_2.committed", "snapshot_5_6.tmp.stale-0", "snapshot_5_6.tmp.stale-1"],
        "the leftover is kept under a new name"
    );
    assert_eq!(fs::read(tmp.path().join("snapshot_5_6.tmp.stale-1")).unwrap(), b"partial");
    assert_eq!(dir.committed_newest_first().unwrap(), [SnapshotName::new(1, 2).committed()]);
}

#[test]
fn committed_snapshots_of_both_directories_are_listed_newest_first_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (main, read_only) = (tmp.path().join("main"), tmp.path().join("ro"));
    fs::create_dir_all(&read_only).unwrap();
    for (dir, name) in [
        (&main, "snapshot_10_11.committed"),
        (&main, "snapshot_30_32"),
        (&read_only, "snapshot_20_21.committed"),
        (&read_only, "snapshot_10_11.committed"),
        (&read_only, "snapshot_40_41.committed.corrupted"),
        (&read_only, "not-a-snapshot"),
    ] {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join(name), entry(1)).unwrap();
    }
    fs::write(read_only.join("snapshot_5_6.tmp"), b"x").unwrap();
    let dir = SnapshotDirectory::open(&main, Some(read_only.clone())).unwrap();
    let listed: Vec<String> = dir.committed_newest_first().unwrap().iter().map(ToString::to_string).collect();
    assert_eq!(listed, ["snapshot_20_21.committed", "snapshot_10_11.committed"]);
    assert_eq!(dir.read(&SnapshotName::new(20, 21).committed()).unwrap(), entry(1));
    assert!(files(&read_only).contains(&"snapshot_5_6.tmp".to_string()), "the read-only directory is never written");
}

#[test]
fn set_aside_renames_to_corrupted_with_the_reason_and_never_deletes() {
    let tmp = tempfile::tempdir().unwrap();
    let read_only = tmp.path().join("ro");
    fs::create_dir_all(&read_only).unwrap();
    fs::write(read_only.join("snapshot_7_8.committed"), entry(1)).unwrap();
    let mut dir = SnapshotDirectory::open(tmp.path().join("main"), Some(read_only.clone())).unwrap();
    let name = SnapshotName::new(3, 4);
    for round in 0..2 {
        dir.write(&name, &entry(3)).unwrap();
        let committed = dir.commit(&name, b"{}").unwrap();
        let aside = dir.set_aside(&committed, "receipt does not verify").unwrap();
        let expected =
            if round == 0 { "snapshot_3_4.committed.corrupted" } else { "snapshot_3_4.committed.corrupted.1" };
        assert_eq!(aside, expected);
        let reason = fs::read_to_string(tmp.path().join("main").join(format!("{aside}.reason"))).unwrap();
        assert_eq!(reason, "receipt does not verify");
    }
    assert_eq!(
        files(&tmp.path().join("main")),
        [
            "snapshot_3_4.committed.corrupted",
            "snapshot_3_4.committed.corrupted.1",
            "snapshot_3_4.committed.corrupted.1.reason",
            "snapshot_3_4.committed.corrupted.reason",
        ]
    );
    let in_read_only = SnapshotName::new(7, 8).committed();
    assert_eq!(dir.committed_newest_first().unwrap(), [in_read_only]);
    let err = dir.set_aside(&in_read_only, "bad").unwrap_err();
    assert_eq!(err.kind, StorageErrorKind::ReadOnly, "{err}");
    assert_eq!(files(&read_only), ["snapshot_7_8.committed"]);
    let missing = dir.set_aside(&SnapshotName::new(1, 2).committed(), "bad").unwrap_err();
    assert_eq!(missing.kind, StorageErrorKind::NotFound, "{missing}");
}

#[test]
fn store_committed_writes_a_fetched_snapshot_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dir = SnapshotDirectory::open(tmp.path(), None).unwrap();
    let name = SnapshotName::new(3, 4).committed();
    let mut bytes = entry(3);
    bytes.extend_from_slice(br#"{"receipt":3}"#);
    dir.store_committed(&name, &bytes).unwrap();
    assert_eq!(files(tmp.path()), ["snapshot_3_4.committed"], "no temp file left");
    assert_eq!(dir.read(&name).unwrap(), bytes);
    assert_eq!(dir.committed_newest_first().unwrap(), [name]);
    let reopened = SnapshotDirectory::open(tmp.path(), None).unwrap();
    assert_eq!(reopened.committed_newest_first().unwrap(), [name], "durable under its committed name");
}

#[test]
fn store_committed_is_idempotent_for_identical_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let read_only = tmp.path().join("ro");
    fs::create_dir_all(&read_only).unwrap();
    let mut bytes = entry(2);
    bytes.extend_from_slice(b"{}");
    fs::write(read_only.join("snapshot_7_8.committed"), &bytes).unwrap();
    let mut dir = SnapshotDirectory::open(tmp.path().join("main"), Some(read_only.clone())).unwrap();
    let name = SnapshotName::new(2, 3).committed();
    dir.store_committed(&name, &bytes).unwrap();
    dir.store_committed(&name, &bytes).unwrap();
    assert_eq!(files(&tmp.path().join("main")), ["snapshot_2_3.committed"]);
    assert_eq!(dir.read(&name).unwrap(), bytes);
    // Already present, identically, in the read-only directory: nothing to write.
    dir.store_committed(&SnapshotName::new(7, 8).committed(), &bytes).unwrap();
    assert_eq!(files(&tmp.path().join("main")), ["snapshot_2_3.committed"]);
    assert_eq!(files(&read_only), ["snapshot_7_8.committed"]);
}

#[test]
fn store_committed_never_overwrites_different_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let read_only = tmp.path().join("ro");
    fs::create_dir_all(&read_only).unwrap();
    fs::write(read_only.join("snapshot_7_8.committed"), entry(1)).unwrap();
    let mut dir = SnapshotDirectory::open(tmp.path().join("main"), Some(read_only.clone())).unwrap();
    let name = SnapshotName::new(2, 3).committed();
    let mut bytes = entry(2);
    bytes.extend_from_slice(b"{}");
    dir.store_committed(&name, &bytes).unwrap();
    let mut other = bytes.clone();
    *other.last_mut().unwrap() = b' ';
    for (name, expected) in [(name, bytes), (SnapshotName::new(7, 8).committed(), entry(1))] {
        let err = dir.store_committed(&name, &other).unwrap_err();
        assert_eq!(err.kind, StorageErrorKind::AlreadyExists, "{err}");
        assert!(err.to_string().contains(&name.to_string()), "the error names the file: {err}");
        assert_eq!(dir.read(&name).unwrap(), expected, "the existing file is kept");
    }
    assert_eq!(files(&tmp.path().join("main")), ["snapshot_2_3.committed"]);
}

#[test]
fn store_committed_refuses_an_uncommitted_name() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dir = SnapshotDirectory::open(tmp.path(), None).unwrap();
    let err = dir.store_committed(&SnapshotName::new(2, 3), &entry(2)).unwrap_err();
    assert_eq!(err.kind, StorageErrorKind::Other, "{err}");
    assert!(err.to_string().contains("snapshot_2_3"), "{err}");
    assert!(files(tmp.path()).is_empty(), "nothing written");
}
