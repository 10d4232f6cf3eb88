//! On a panic: keep a multi-node test's workspace for inspection and print the tail of every
//! node's logs (`n<i>/node-<start>.log`), with the seed that replays the run.
use std::path::{Path, PathBuf};

pub struct FailureReport {
    root: Option<tempfile::TempDir>,
    test: &'static str,
    seed: u64,
    /// How many nodes (`n0..`) and how many last lines of each log.
    nodes: usize,
    lines: usize,
}

impl FailureReport {
    /// A fresh workspace for `test`, replayed with `CAIRN_E2E_SEED=seed`.
    pub fn new(test: &'static str, seed: u64, nodes: usize, lines: usize) -> FailureReport {
        FailureReport { root: Some(tempfile::tempdir().unwrap()), test, seed, nodes, lines }
    }

    pub fn root(&self) -> PathBuf {
        self.root.as_ref().map(|r| r.path().to_path_buf()).expect("workspace")
    }
}

fn print_tail(dir: &Path, name: &str, lines: usize) {
    for start in 0..64 {
        let Ok(log) = std::fs::read_to_string(dir.join(format!("node-{start}.log"))) else { continue };
        let all: Vec<&str> = log.lines().collect();
        eprintln!("---- {name}/node-{start}.log (last {lines} of {} lines)", all.len());
        eprintln!("{}", all[all.len().saturating_sub(lines)..].join("\n"));
    }
}

impl Drop for FailureReport {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let root = self.root.take().unwrap().keep();
        eprintln!("{} failed: CAIRN_E2E_SEED={}; workspace kept at {}", self.test, self.seed, root.display());
        for n in 0..self.nodes {
            print_tail(&root.join(format!("n{n}")), &format!("n{n}"), self.lines);
        }
    }
}
