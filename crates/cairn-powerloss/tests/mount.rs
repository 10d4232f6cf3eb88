//! The filesystem mounted for real: files written through the kernel, synced or not, then the
//! power cut; what reads back through the mount afterwards is exactly what was synced.
use cairn_powerloss::{PowerLossMount, fuse_available};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::io::AsRawFd;

fn mount() -> (tempfile::TempDir, PowerLossMount) {
    if let Err(why) = fuse_available() {
        panic!("the power-loss filesystem cannot be mounted here: {why}");
    }
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    fs::create_dir(&mnt).unwrap();
    let disk = PowerLossMount::mount(&dir.path().join("backing"), &mnt).expect("mount");
    (dir, disk)
}

fn sync_dir(path: &std::path::Path) {
    File::open(path).unwrap().sync_all().unwrap();
}

#[test]
fn what_reads_back_after_a_cut_is_what_was_synced() {
    let (_dir, disk) = mount();
    let mnt = disk.mountpoint().to_path_buf();
    let ledger = mnt.join("ledger");
    fs::create_dir(&ledger).unwrap();
    sync_dir(&mnt);

    let mut chunk = OpenOptions::new().create(true).append(true).open(ledger.join("ledger_1.chunk")).unwrap();
    sync_dir(&ledger);
    chunk.write_all(b"entry 1;").unwrap();
    chunk.sync_data().unwrap();
    chunk.write_all(b"entry 2 never synced;").unwrap();
    // A file renamed into place with its directory synced survives; one never synced does not.
    fs::write(mnt.join("state.tmp"), b"state").unwrap();
    File::open(mnt.join("state.tmp")).unwrap().sync_all().unwrap();
    fs::rename(mnt.join("state.tmp"), mnt.join("state.json")).unwrap();
    sync_dir(&mnt);
    fs::write(mnt.join("unsynced.json"), b"gone").unwrap();
    assert_eq!(fs::read(ledger.join("ledger_1.chunk")).unwrap(), b"entry 1;entry 2 never synced;");
    let (changes, bytes) = disk.unsynced();
    assert!(changes >= 3 && bytes >= 25, "unsynced: {changes} changes, {bytes} bytes");

    disk.cut_power();
    let err = chunk.write_all(b"after the cut").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "writes fail while the power is out: {err}");
    drop(chunk);
    let report = disk.restore_power(None);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    println!("{report}");

    assert_eq!(fs::read(ledger.join("ledger_1.chunk")).unwrap(), b"entry 1;");
    assert_eq!(fs::read(mnt.join("state.json")).unwrap(), b"state");
    assert!(!mnt.join("unsynced.json").exists());
    assert!(!mnt.join("state.tmp").exists());
    let mut names: Vec<_> = fs::read_dir(&mnt).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["ledger", "state.json"]);
}

#[test]
fn a_torn_write_leaves_a_prefix_and_locks_work_on_the_mount() {
    let (_dir, disk) = mount();
    let mnt = disk.mountpoint().to_path_buf();
    let path = mnt.join("f");
    let mut f = OpenOptions::new().create(true).append(true).open(&path).unwrap();
    sync_dir(&mnt);
    f.write_all(b"synced|").unwrap();
    f.sync_data().unwrap();
    f.write_all(b"0123456789").unwrap();
    drop(f);

    // Nodes hold flock(2) on their directories: the kernel applies it on this mount too.
    let a = File::open(&mnt).unwrap();
    let b = File::open(&mnt).unwrap();
    // SAFETY: flock on valid open descriptors.
    assert_eq!(unsafe { libc::flock(a.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }, 0);
    // SAFETY: as above.
    assert_eq!(unsafe { libc::flock(b.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }, -1, "second lock refused");
    drop((a, b));

    disk.cut_power();
    let report = disk.restore_power(Some(3));
    let (_, kept, of) = report.torn.clone().expect("torn");
    assert_eq!(of, 10);
    let got = fs::read(&path).unwrap();
    assert_eq!(got, [b"synced|".as_slice(), &b"0123456789"[..kept as usize]].concat());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}
