//! [`SimDisk`]: one node's three directories as [`MemStorage`]s: the ledger (behind the real
//! [`LedgerWriter`], opened with the same scan as production), `node_data` (identity, ledger
//! secrets, Raft hard state: written atomically, temp → fsync → rename → dir fsync, so they
//! survive crashes) and the snapshots directory.
//!
//! A crash runs [`MemStorage::crash`] on each directory: unsynced data is lost or torn, undir-
//! synced creates and renames are kept or undone, each choice drawn from the simulator's RNG.
//! The node is then down until [`SimDisk::reopen`] runs the local-restart scan again.
use cairn_ledger::scan::{LocalLedger, ScanError};
use cairn_ledger::storage::{MemStorage, Storage, StorageError};
use cairn_ledger::{LedgerConfig, LedgerWriter};
use rand::Rng;
use std::collections::BTreeMap;

pub struct SimDisk {
    config: LedgerConfig,
    /// The open ledger while the node is up.
    writer: Option<LedgerWriter<MemStorage>>,
    /// The ledger directory while the node is down.
    resting: Option<MemStorage>,
    pub node_data: MemStorage,
    pub snapshots: MemStorage,
    /// The ledger's `sync` lies (returns without making anything durable), kept across reopens.
    sync_lies: bool,
}

impl SimDisk {
    /// Empty directories; the ledger is opened (an empty scan).
    pub fn new(config: LedgerConfig) -> Self {
        let mut disk = SimDisk {
            config,
            writer: None,
            resting: Some(MemStorage::new()),
            node_data: MemStorage::new(),
            snapshots: MemStorage::new(),
            sync_lies: false,
        };
        disk.reopen().expect("an empty ledger opens");
        disk
    }

    pub fn is_open(&self) -> bool {
        self.writer.is_some()
    }

    /// The open ledger. Panics while the node is down.
    pub fn writer(&self) -> &LedgerWriter<MemStorage> {
        self.writer.as_ref().expect("the ledger is open")
    }

    pub fn writer_mut(&mut self) -> &mut LedgerWriter<MemStorage> {
        self.writer.as_mut().expect("the ledger is open")
    }

    /// The ledger directory, open or not.
    pub fn ledger_storage(&self) -> &MemStorage {
        match &self.writer {
            Some(w) => w.storage(),
            None => self.resting.as_ref().expect("the ledger is somewhere"),
        }
    }

    /// A recovered service's public phase began or ended: `.recovery` chunks are written, and
    /// read after a restart (production keeps the same fact in a `node_data` marker).
    pub fn set_recovery(&mut self, recovery: bool) {
        self.config.recovery = recovery;
    }

    /// Makes the ledger's `sync` lie from now on (and after reopening).
    pub fn set_sync_lies(&mut self, lies: bool) {
        self.sync_lies = lies;
        self.ledger_storage_mut().faults_mut().sync_lies = lies;
    }

    /// Arms a failure of a ledger storage operation (cleared by the next crash).
    pub fn arm_ledger_fault(&mut self, fault: cairn_ledger::storage::InjectedError) {
        self.ledger_storage_mut().faults_mut().injected.push(fault);
    }

    fn ledger_storage_mut(&mut self) -> &mut MemStorage {
        match &mut self.writer {
            Some(w) => w.storage_mut(),
            None => self.resting.as_mut().expect("the ledger is somewhere"),
        }
    }

    /// Power loss: every directory keeps what its durability model says survives. The ledger
    /// is closed; [`SimDisk::reopen`] scans it again.
    pub fn crash(&mut self, rng: &mut impl Rng) {
        let mut ledger = match self.writer.take() {
            Some(w) => w.into_storage(),
            None => self.resting.take().expect("the ledger is somewhere"),
        };
        ledger.crash(rng);
        // A failing disk is replaced (or recovers) across the restart.
        ledger.faults_mut().injected.clear();
        self.node_data.crash(rng);
        self.snapshots.crash(rng);
        self.resting = Some(ledger);
    }

    /// Opens the ledger as production does after a restart (scan, repairs, durable from here).
    pub fn reopen(&mut self) -> Result<LocalLedger, ScanError> {
        assert!(self.writer.is_none(), "reopening an open ledger");
        let mut storage = self.resting.take().expect("the ledger is somewhere");
        storage.faults_mut().sync_lies = self.sync_lies;
        // The scan consumes the storage even when it fails; keep a copy to stay inspectable.
        let copy = storage.clone();
        match LedgerWriter::open(storage, self.config) {
            Ok((writer, found)) => {
                self.writer = Some(writer);
                Ok(found)
            }
            Err(e) => {
                self.resting = Some(copy);
                Err(e)
            }
        }
    }

    /// Writes a `node_data` file atomically (temp, fsync, rename, dir fsync).
    pub fn write_node_file(&mut self, name: &str, data: &[u8]) -> Result<(), StorageError> {
        if self.node_data.size(name).is_ok() {
            // `rename` refuses to replace: move the old one aside first, as a keep-everything
            // shell would (the new file is complete before the old name is freed).
            let tmp = format!("{name}.new");
            if self.node_data.size(&tmp).is_ok() {
                let stale = (0..).map(|n| format!("{tmp}.stale-{n}")).find(|n| self.node_data.size(n).is_err());
                self.node_data.rename(&tmp, &stale.expect("a free name"))?;
            }
            self.node_data.create(&tmp)?;
            self.node_data.append(&tmp, data)?;
            self.node_data.sync(&tmp)?;
            let old = (0..).map(|n| format!("{name}.old-{n}")).find(|n| self.node_data.size(n).is_err());
            self.node_data.rename(name, &old.expect("a free name"))?;
            self.node_data.rename(&tmp, name)?;
            self.node_data.sync_dir()
        } else {
            self.node_data.write_file_atomic(name, data)
        }
    }

    /// A `node_data` file, if it exists. After a crash between the two renames of a replacement,
    /// the newest complete version is taken (`name.new`, then `name`).
    pub fn read_node_file(&self, name: &str) -> Option<Vec<u8>> {
        let new = format!("{name}.new");
        if self.node_data.size(name).is_err()
            && let Ok(bytes) = self.node_data.read_all(&new)
        {
            return Some(bytes);
        }
        self.node_data.read_all(name).ok()
    }

    /// Writes snapshot `name` (temp, fsync, rename).
    pub fn write_snapshot(&mut self, name: &str, bytes: &[u8]) -> Result<(), StorageError> {
        if self.snapshots.size(name).is_ok() {
            return Ok(());
        }
        self.snapshots.write_file_atomic(name, bytes)
    }

    /// Commits snapshot `name`: writes `committed_name` with the receipt appended.
    pub fn commit_snapshot(&mut self, name: &str, committed_name: &str, receipt: &[u8]) -> Result<(), StorageError> {
        let Ok(mut bytes) = self.snapshots.read_all(name) else { return Ok(()) };
        if self.snapshots.size(committed_name).is_ok() {
            return Ok(());
        }
        bytes.extend_from_slice(receipt);
        self.snapshots.write_file_atomic(committed_name, &bytes)
    }

    /// Bit rot while the node is down: flips one random bit of one random `.committed` chunk.
    /// Returns the file and offset, or `None` if there is no committed chunk.
    pub fn corrupt_committed_chunk(&mut self, rng: &mut impl Rng) -> Option<(String, u64)> {
        let storage = self.resting.as_mut().expect("corrupting a disk while its node is up");
        let chunks: Vec<(String, u64)> = storage
            .list()
            .unwrap_or_default()
            .into_iter()
            .filter(|n| cairn_ledger::chunk::ChunkName::parse(n).is_some_and(|c| c.committed))
            .filter_map(|n| storage.size(&n).ok().filter(|&s| s > 0).map(|s| (n, s)))
            .collect();
        if chunks.is_empty() {
            return None;
        }
        let (name, size) = chunks[rng.random_range(0..chunks.len())].clone();
        let offset = rng.random_range(0..size);
        storage.corrupt_bit(&name, offset, rng.random_range(0..8));
        Some((name, offset))
    }

    /// Every `.committed` ledger chunk: name → bytes.
    pub fn committed_chunks(&self) -> BTreeMap<String, Vec<u8>> {
        let storage = self.ledger_storage();
        let mut out = BTreeMap::new();
        for name in storage.list().unwrap_or_default() {
            let chunk = cairn_ledger::chunk::ChunkName::parse(&name);
            if chunk.is_some_and(|c| c.committed)
                && let Ok(bytes) = storage.read_all(&name)
            {
                out.insert(name, bytes);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::sim_rng;

    #[test]
    fn node_files_survive_crashes_and_replacement() {
        let mut disk = SimDisk::new(LedgerConfig::default());
        let mut rng = sim_rng(3);
        disk.write_node_file("raft_state.json", b"one").unwrap();
        disk.crash(&mut rng);
        assert_eq!(disk.read_node_file("raft_state.json").as_deref(), Some(&b"one"[..]));
        for round in 0..20u8 {
            disk.write_node_file("raft_state.json", &[round]).unwrap();
            disk.crash(&mut rng);
            assert_eq!(disk.read_node_file("raft_state.json"), Some(vec![round]), "round {round}");
        }
        assert!(disk.read_node_file("absent").is_none());
    }

    #[test]
    fn reopen_after_crash_gives_an_empty_ledger_back() {
        let mut disk = SimDisk::new(LedgerConfig::default());
        assert!(disk.is_open());
        disk.crash(&mut sim_rng(1));
        assert!(!disk.is_open());
        let found = disk.reopen().unwrap();
        assert_eq!(found.last.seqno, 0);
        assert_eq!(disk.writer().last().seqno, 0);
        assert!(disk.committed_chunks().is_empty());
    }

    #[test]
    fn snapshots_are_written_then_committed() {
        let mut disk = SimDisk::new(LedgerConfig::default());
        disk.write_snapshot("snapshot_5_6", b"snap").unwrap();
        disk.commit_snapshot("snapshot_5_6", "snapshot_5_6.committed", b"+r").unwrap();
        disk.crash(&mut sim_rng(2));
        assert_eq!(disk.snapshots.read_all("snapshot_5_6.committed").unwrap(), b"snap+r");
    }
}
