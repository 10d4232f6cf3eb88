//! Crash points (issue 11): named places in the shell where a crash matters and the simulator's
//! `Storage` crash injection does not reach (node files, snapshot write and commit, the join's
//! identity files, ledger set-aside renames, a snapshot install). Built only with the
//! `failpoints` feature (the test build of the `cairn` binary); in a release build
//! [`crash_point`] is empty.
//!
//! `FAILPOINTS=name=return` in a node's environment makes it abort at `name` the first time it
//! gets there: no destructor runs and nothing is flushed, as with SIGKILL. The failpoint test
//! (`crates/cairn/tests/failpoints.rs`) crashes a node at each point under load, restarts it
//! and checks that nothing acknowledged as committed is lost.

/// Every crash point, for the test to cover them all.
pub const CRASH_POINTS: &[&str] = &[
    NODE_FILE_BEFORE_RENAME,
    NODE_FILE_BEFORE_DIR_SYNC,
    SNAPSHOT_AFTER_WRITE,
    SNAPSHOT_BEFORE_COMMIT,
    SNAPSHOT_AFTER_COMMIT,
    JOIN_BETWEEN_IDENTITY_FILES,
    INSTALL_AFTER_MARKER,
    INSTALL_AFTER_SUPERSEDE,
    SET_ASIDE_BETWEEN_RENAMES,
];

/// `write_atomically`: the temp file is written and synced, not yet renamed.
pub const NODE_FILE_BEFORE_RENAME: &str = "node_file_before_rename";
/// `write_atomically`: renamed, the directory not yet synced.
pub const NODE_FILE_BEFORE_DIR_SYNC: &str = "node_file_before_dir_sync";
/// A snapshot file written (uncommitted), the core not told.
pub const SNAPSHOT_AFTER_WRITE: &str = "snapshot_after_write";
/// A snapshot about to be committed (receipt appended, renamed `.committed`).
pub const SNAPSHOT_BEFORE_COMMIT: &str = "snapshot_before_commit";
/// A snapshot just committed.
pub const SNAPSHOT_AFTER_COMMIT: &str = "snapshot_after_commit";
/// A joining node's identity files: the service key written, the certificates not yet.
pub const JOIN_BETWEEN_IDENTITY_FILES: &str = "join_between_identity_files";
/// A snapshot install: `snapshot_install.txt` written, the ledger not yet set aside.
pub const INSTALL_AFTER_MARKER: &str = "install_after_marker";
/// A snapshot install: the ledger set aside (`.superseded`), the node not yet restarted on it.
pub const INSTALL_AFTER_SUPERSEDE: &str = "install_after_supersede";
/// A recovery setting aside leftover `.recovery` chunks: one renamed, the next not yet.
pub const SET_ASIDE_BETWEEN_RENAMES: &str = "set_aside_between_renames";

/// Reads `FAILPOINTS` once at process start (no-op without the feature).
pub fn setup() {
    #[cfg(feature = "failpoints")]
    std::mem::forget(fail::FailScenario::setup());
}

/// Aborts the process here if `FAILPOINTS` names `name` (module documentation).
#[allow(unused_variables)]
pub fn crash_point(name: &'static str) {
    #[cfg(feature = "failpoints")]
    fail::fail_point!(name, |_| {
        eprintln!("crash point {name}: aborting");
        std::process::abort()
    });
}
