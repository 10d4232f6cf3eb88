//! Shared end-to-end test support: real `cairn` processes on 127.0.0.1 ports, their
//! workspaces, members and users, and a governance helper that signs requests as a member.
#![allow(dead_code)]
pub mod cluster;
pub mod failure_report;
pub mod fake_clock;
pub mod member;
pub mod node_process;
pub mod recovery;

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn cairn_bin() -> &'static str {
    env!("CARGO_BIN_EXE_cairn")
}

/// Runs `cairn args...` in `dir`, panicking with its output if it fails.
pub fn cairn_in(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(cairn_bin()).args(args).current_dir(dir).output().expect("run cairn");
    assert!(
        out.status.success(),
        "cairn {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A free TCP port on 127.0.0.1 (bound then released; the node binds it again).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The virtualenv with CCF's `read_ledger.py` (created on first use, shared and locked).
pub fn ccf_venv() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash").arg(root.join("scripts/ccf-venv.sh")).output().expect("run scripts/ccf-venv.sh");
    assert!(out.status.success(), "ccf venv: {}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}
