//! Days passing, with libfaketime (Debian package `faketime`; `.ci/run` installs it): a node
//! process reads its wall clock from a file the test rewrites (`FAKETIME_TIMESTAMP_FILE`), and
//! clients run shifted with the same offset. The monotonic clock is left alone (timers, Raft).
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// libfaketime's preload library.
pub fn library() -> PathBuf {
    let candidates = [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/faketime/libfaketime.so.1",
        "/usr/local/lib/faketime/libfaketime.so.1",
    ];
    candidates.iter().map(PathBuf::from).find(|p| p.exists()).unwrap_or_else(|| {
        panic!("these tests move the clock with libfaketime: install it (Debian: apt-get install faketime)")
    })
}

/// A clock offset shared by the node processes started with [`FakeClock::env`].
pub struct FakeClock {
    file: PathBuf,
}

impl FakeClock {
    /// A clock at the real time (offset `+0`), kept in `dir`.
    pub fn new(dir: &Path) -> FakeClock {
        let clock = FakeClock { file: dir.join("faketime.rc") };
        clock.set("+0");
        clock
    }

    /// Moves every process on this clock to `offset` (libfaketime's syntax: `+2d`, `+20h`).
    pub fn set(&self, offset: &str) {
        std::fs::write(&self.file, format!("{offset}\n")).unwrap();
    }

    /// The environment of a process on this clock.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LD_PRELOAD", library().display().to_string()),
            ("FAKETIME_TIMESTAMP_FILE", self.file.display().to_string()),
            ("FAKETIME_NO_CACHE", "1".into()),
            ("DONT_FAKE_MONOTONIC", "1".into()),
        ]
    }
}

/// The environment of a process whose wall clock is `offset` from ours for its whole life
/// (libfaketime's `FAKETIME`: no file read at every clock call, unlike [`FakeClock`]).
pub fn fixed_env(offset: &str) -> Vec<(&'static str, String)> {
    vec![
        ("LD_PRELOAD", library().display().to_string()),
        ("FAKETIME", offset.to_string()),
        ("DONT_FAKE_MONOTONIC", "1".into()),
    ]
}

/// Runs `program args` with its wall clock shifted by `offset` (libfaketime's `FAKETIME`).
pub fn run_shifted(offset: &str, program: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("LD_PRELOAD", library())
        .env("FAKETIME", offset)
        .env("DONT_FAKE_MONOTONIC", "1")
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"))
}
