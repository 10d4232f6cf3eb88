//! Power loss for real processes: a FUSE filesystem (test tooling, Linux, root) that passes
//! files through to a backing directory but remembers every change not yet covered by an
//! `fsync`/`fdatasync` (file data) or a directory `fsync` (entries created, removed, renamed),
//! and on command "cuts the power": every operation fails until the power is restored, and
//! restoring drops all of those changes, newest first, optionally keeping a prefix of the last
//! write (a torn write). What etcd's robustness tests get from LazyFS.
//!
//! ```no_run
//! # use cairn_powerloss::PowerLossMount;
//! # let (backing, mnt) = (std::path::Path::new("/tmp/b"), std::path::Path::new("/tmp/m"));
//! let disk = PowerLossMount::mount(backing, mnt)?;
//! // ... run processes whose files live under `mnt` ...
//! disk.cut_power();
//! // ... SIGKILL those processes and wait for them ...
//! let report = disk.restore_power(Some(42));
//! println!("{report}");
//! # Ok::<(), std::io::Error>(())
//! ```
mod backing_state;
mod cut_report;
mod inode_paths;
mod power_loss_fs;
mod power_loss_mount;
mod undo_log;
mod undo_record;

pub use cut_report::CutReport;
pub use power_loss_mount::PowerLossMount;

/// Whether this machine can mount the filesystem: `/dev/fuse` exists and the process is root.
pub fn fuse_available() -> Result<(), String> {
    if !std::path::Path::new("/dev/fuse").exists() {
        return Err("/dev/fuse does not exist (load the fuse kernel module)".into());
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err("mounting FUSE without fusermount needs root".into());
    }
    Ok(())
}
