//! In-memory [`Storage`] with a model of what survives power loss and injectable faults, for unit
//! tests and the deterministic simulator. Pure: no `std::fs`, no clock; all randomness comes from
//! the caller's RNG, so one seed reproduces one crash.
//!
//! # Durability model (rules 1–3 of [`Storage`])
//! As in a POSIX file system, directory entries and file contents are separate:
//! - each file has its current bytes and its last synced bytes. While only appends happened since
//!   its last `sync`, the synced bytes are a prefix of the current ones (`Synced::Prefix`); the
//!   first `write_at`/`truncate` reaching into that prefix saves a copy of it (`Synced::Copy`);
//! - the directory has its current name → file map, the map as of the last `sync_dir`, and the
//!   creates and renames done since then, in order.
//!
//! [`MemStorage::crash`] models power loss:
//! - each create or rename since the last `sync_dir` independently survives or not (probability
//!   ½), replayed in order on the dir-synced map. One whose precondition no longer holds because
//!   an earlier one was dropped (a rename whose source is gone or whose target exists, a create
//!   whose name is taken) is dropped too, so a rename stays atomic: the file ends up under exactly
//!   one of its two names;
//! - a file with only appends since its last sync keeps its synced bytes plus a prefix of the
//!   appended ones (a torn tail at byte granularity: none of them or all of them with probability
//!   ¼ each, otherwise a uniformly drawn length);
//! - a file with an unsynced `write_at`/`truncate` inside its synced bytes either reverts to its
//!   synced bytes or keeps its current bytes whole (probability ½);
//! - a file no longer named in the directory is gone.
//!
//! [`MemStorage::crash_losing_unsynced`] is the deterministic worst case: everything not synced is
//! lost. A failed operation (injected fault, read-only, bad name, missing file) changes nothing.
//!
//! # Invariants (checked by [`MemStorage::check_invariants`])
//! - The current directory names every stored file exactly once; the dir-synced map names only
//!   stored files, each at most once; every name is a valid file name.
//! - Replaying every create and rename since the last `sync_dir` on the dir-synced map gives the
//!   current map.
//! - A `Synced::Prefix(n)` has `n` ≤ the file's current length.

use super::{Storage, StorageError, StorageErrorKind, StorageOp, check_file_name};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Faults a [`MemStorage`] injects; change them through [`MemStorage::faults_mut`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageFaults {
    /// Armed failures. Each counts the calls of its operation; when several are due on one call,
    /// the first in this list fires.
    pub injected: Vec<InjectedError>,
    /// `sync` returns `Ok` without making anything durable: a disk that acknowledges before its
    /// data is stable. What it loses shows at the next crash, and a durability checker must
    /// catch it.
    pub sync_lies: bool,
    /// `sync_dir` returns `Ok` without making the directory durable.
    pub sync_dir_lies: bool,
    /// Every mutating operation fails with [`StorageErrorKind::ReadOnly`]; reads still work.
    pub read_only: bool,
}

/// An armed failure: after `calls_before_failure` more successful calls of `op`, the next call
/// fails with `kind` and changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedError {
    pub op: StorageOp,
    pub calls_before_failure: u64,
    pub kind: StorageErrorKind,
    /// Keeps failing every later call of `op` too (a disk that stays full) instead of once.
    pub sticky: bool,
}

impl InjectedError {
    /// Fails only the `nth` call of `op` (1-based, counted from when it is armed).
    pub fn once(op: StorageOp, nth: u64, kind: StorageErrorKind) -> Self {
        assert!(nth >= 1, "calls are counted from 1");
        InjectedError { op, calls_before_failure: nth - 1, kind, sticky: false }
    }

    /// Fails the `nth` call of `op` (1-based, counted from when it is armed) and every later one.
    pub fn from_nth(op: StorageOp, nth: u64, kind: StorageErrorKind) -> Self {
        InjectedError { sticky: true, ..InjectedError::once(op, nth, kind) }
    }
}

/// The in-memory disk. Cloning it is a cheap copy of the whole disk: file contents are shared
/// until one side writes to them.
#[derive(Debug, Default)]
pub struct MemStorage {
    files: BTreeMap<FileId, MemFile>,
    dir: BTreeMap<String, FileId>,
    synced_dir: BTreeMap<String, FileId>,
    unsynced_dir_ops: Vec<DirOp>,
    next_file_id: u64,
    /// Behind a lock because reads (`&self`) are counted and can be failed too.
    fault_state: Mutex<FaultState>,
}

/// What a directory entry points at, like an inode number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct FileId(u64);

#[derive(Clone)]
struct MemFile {
    data: Arc<Vec<u8>>,
    synced: Synced,
}

/// The bytes a crash falls back to.
#[derive(Clone)]
enum Synced {
    /// The first `n` current bytes: only appends happened since the last sync.
    Prefix(usize),
    /// A copy, saved when an unsynced `write_at` or `truncate` first reached into the prefix.
    Copy(Arc<Vec<u8>>),
}

/// A directory change not yet made durable by `sync_dir`.
#[derive(Debug, Clone)]
enum DirOp {
    Create { name: String, id: FileId },
    Rename { from: String, to: String, id: FileId },
}

#[derive(Debug, Clone, Default)]
struct FaultState {
    faults: StorageFaults,
    calls: [u64; StorageOp::ALL.len()],
}

impl FaultState {
    /// Counts a call of `op` and returns the kind of failure an armed fault gives it, if any.
    fn on_call(&mut self, op: StorageOp) -> Option<StorageErrorKind> {
        self.calls[op.index()] += 1;
        let mut fired = None;
        self.faults.injected.retain_mut(|armed| {
            if armed.op != op {
                return true;
            }
            if armed.calls_before_failure > 0 {
                armed.calls_before_failure -= 1;
                return true;
            }
            if fired.is_some() {
                return true;
            }
            fired = Some(armed.kind);
            armed.sticky
        });
        fired
    }
}

impl MemStorage {
    pub fn new() -> Self {
        Self::default()
    }

    /// The faults injected from now on.
    pub fn faults_mut(&mut self) -> &mut StorageFaults {
        &mut self.fault_state.get_mut().unwrap_or_else(PoisonError::into_inner).faults
    }

    /// Calls of `op` so far, failed ones included.
    pub fn call_count(&self, op: StorageOp) -> u64 {
        self.fault_state().calls[op.index()]
    }

    /// Calls of `sync` so far (lying and failed ones included).
    pub fn sync_count(&self) -> u64 {
        self.call_count(StorageOp::Sync)
    }

    /// Calls of `sync_dir` so far (lying and failed ones included).
    pub fn sync_dir_count(&self) -> u64 {
        self.call_count(StorageOp::SyncDir)
    }

    /// Flips bit `bit` (0 = least significant) of the byte at `offset` of `name`, as bit rot on
    /// the medium would: both reads now and what survives a crash see the flipped bit.
    /// Panics if the file or byte does not exist: that is a bug in the test.
    pub fn corrupt_bit(&mut self, name: &str, offset: u64, bit: u8) {
        assert!(bit < 8, "corrupt_bit: bit {bit} is not in a byte");
        let file = self
            .dir
            .get(name)
            .and_then(|id| self.files.get_mut(id))
            .unwrap_or_else(|| panic!("corrupt_bit: no file {name}"));
        let index = usize::try_from(offset)
            .ok()
            .filter(|&i| i < file.data.len())
            .unwrap_or_else(|| panic!("corrupt_bit: offset {offset} is past the end of {name}"));
        Arc::make_mut(&mut file.data)[index] ^= 1 << bit;
        if let Synced::Copy(copy) = &mut file.synced
            && let Some(byte) = Arc::make_mut(copy).get_mut(index)
        {
            *byte ^= 1 << bit;
        }
    }

    /// Power loss: keeps what the durability model (module docs) says survives, drawing each
    /// choice from `rng`.
    pub fn crash(&mut self, rng: &mut impl Rng) {
        self.crash_with(&mut RandomCrash(rng));
    }

    /// Power loss that loses everything not synced: every file reverts to its last synced bytes
    /// and the directory to its last `sync_dir`.
    pub fn crash_losing_unsynced(&mut self) {
        self.crash_with(&mut LoseUnsynced);
    }

    /// Panics if an invariant from the module docs does not hold.
    pub fn check_invariants(&self) {
        for (which, map) in [("current", &self.dir), ("dir-synced", &self.synced_dir)] {
            let mut seen = BTreeSet::new();
            for (name, id) in map {
                assert!(check_file_name("check", name).is_ok(), "{which} directory has invalid name {name:?}");
                assert!(self.files.contains_key(id), "{which} directory names missing file {id:?} as {name}");
                assert!(seen.insert(*id), "{which} directory names file {id:?} twice");
            }
        }
        assert_eq!(self.files.len(), self.dir.len(), "a stored file has no name in the current directory");
        let replayed = replay(self.synced_dir.clone(), &self.unsynced_dir_ops, || true);
        assert_eq!(replayed, self.dir, "replaying unsynced directory changes does not give the current directory");
        for (id, file) in &self.files {
            assert!(id.0 < self.next_file_id, "file {id:?} was never allocated");
            if let Synced::Prefix(n) = file.synced {
                assert!(n <= file.data.len(), "file {id:?}: synced prefix {n} longer than {}", file.data.len());
            }
        }
    }

    fn crash_with(&mut self, choices: &mut impl CrashChoices) {
        let ops = std::mem::take(&mut self.unsynced_dir_ops);
        self.dir = replay(std::mem::take(&mut self.synced_dir), &ops, || choices.keep_unsynced());
        self.synced_dir = self.dir.clone();
        let named: BTreeSet<FileId> = self.dir.values().copied().collect();
        self.files.retain(|id, _| named.contains(id));
        for file in self.files.values_mut() {
            file.crash(choices);
        }
        self.check_invariants();
    }

    fn fault_state(&self) -> MutexGuard<'_, FaultState> {
        // The state is counters and flags, consistent after any panic: ignore poisoning.
        self.fault_state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every operation starts here: counts the call, then refuses a bad file name, an injected
    /// failure, or a mutation of a read-only disk, in that order. Directory operations pass `.`.
    fn begin(&self, op: StorageOp, name: &str) -> Result<(), StorageError> {
        let mut state = self.fault_state();
        let injected = state.on_call(op);
        if !matches!(op, StorageOp::List | StorageOp::SyncDir) {
            check_file_name(op.name(), name)?;
        }
        if let Some(kind) = injected {
            return Err(StorageError::new(kind, op.name(), name, "injected fault"));
        }
        if op.is_mutation() && state.faults.read_only {
            return Err(StorageError::new(StorageErrorKind::ReadOnly, op.name(), name, "storage is read-only"));
        }
        Ok(())
    }

    fn file(&self, op: StorageOp, name: &str) -> Result<&MemFile, StorageError> {
        self.dir.get(name).map(|id| &self.files[id]).ok_or_else(|| not_found(op, name))
    }

    fn file_mut(&mut self, op: StorageOp, name: &str) -> Result<&mut MemFile, StorageError> {
        let id = self.dir.get(name).ok_or_else(|| not_found(op, name))?;
        Ok(self.files.get_mut(id).expect("the current directory names only stored files"))
    }
}

impl Clone for MemStorage {
    fn clone(&self) -> Self {
        MemStorage {
            files: self.files.clone(),
            dir: self.dir.clone(),
            synced_dir: self.synced_dir.clone(),
            unsynced_dir_ops: self.unsynced_dir_ops.clone(),
            next_file_id: self.next_file_id,
            fault_state: Mutex::new(self.fault_state().clone()),
        }
    }
}

impl Storage for MemStorage {
    fn list(&self) -> Result<Vec<String>, StorageError> {
        self.begin(StorageOp::List, ".")?;
        Ok(self.dir.keys().cloned().collect())
    }

    fn size(&self, name: &str) -> Result<u64, StorageError> {
        self.begin(StorageOp::Size, name)?;
        Ok(self.file(StorageOp::Size, name)?.data.len() as u64)
    }

    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        let op = StorageOp::ReadAt;
        self.begin(op, name)?;
        let data = &self.file(op, name)?.data;
        let range = byte_range(op, name, offset, buf.len(), data.len())?;
        buf.copy_from_slice(&data[range]);
        Ok(())
    }

    fn create(&mut self, name: &str) -> Result<(), StorageError> {
        let op = StorageOp::Create;
        self.begin(op, name)?;
        if self.dir.contains_key(name) {
            return Err(StorageError::new(StorageErrorKind::AlreadyExists, op.name(), name, "file exists"));
        }
        let id = FileId(self.next_file_id);
        self.next_file_id += 1;
        self.files.insert(id, MemFile { data: Arc::default(), synced: Synced::Prefix(0) });
        self.dir.insert(name.to_string(), id);
        self.unsynced_dir_ops.push(DirOp::Create { name: name.to_string(), id });
        Ok(())
    }

    fn append(&mut self, name: &str, data: &[u8]) -> Result<(), StorageError> {
        let op = StorageOp::Append;
        self.begin(op, name)?;
        let file = self.file_mut(op, name)?;
        Arc::make_mut(&mut file.data).extend_from_slice(data);
        Ok(())
    }

    fn write_at(&mut self, name: &str, offset: u64, data: &[u8]) -> Result<(), StorageError> {
        let op = StorageOp::WriteAt;
        self.begin(op, name)?;
        let file = self.file_mut(op, name)?;
        let range = byte_range(op, name, offset, data.len(), file.data.len())?;
        if !range.is_empty() {
            file.before_change_from(range.start);
            Arc::make_mut(&mut file.data)[range].copy_from_slice(data);
        }
        Ok(())
    }

    fn truncate(&mut self, name: &str, len: u64) -> Result<(), StorageError> {
        let op = StorageOp::Truncate;
        self.begin(op, name)?;
        let file = self.file_mut(op, name)?;
        let old_len = file.data.len();
        let new_len = usize::try_from(len).ok().filter(|&l| l <= old_len).ok_or_else(|| {
            StorageError::new(
                StorageErrorKind::UnexpectedEof,
                op.name(),
                name,
                format!("truncate to {len} bytes would grow the {old_len}-byte file"),
            )
        })?;
        if new_len < old_len {
            file.before_change_from(new_len);
            Arc::make_mut(&mut file.data).truncate(new_len);
        }
        Ok(())
    }

    fn sync(&mut self, name: &str) -> Result<(), StorageError> {
        let op = StorageOp::Sync;
        self.begin(op, name)?;
        let lies = self.fault_state().faults.sync_lies;
        let file = self.file_mut(op, name)?;
        if !lies {
            file.synced = Synced::Prefix(file.data.len());
        }
        Ok(())
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), StorageError> {
        let op = StorageOp::Rename;
        self.begin(op, from)?;
        check_file_name(op.name(), to)?;
        let id = *self.dir.get(from).ok_or_else(|| not_found(op, from))?;
        if self.dir.contains_key(to) {
            return Err(StorageError::new(StorageErrorKind::AlreadyExists, op.name(), to, "rename target exists"));
        }
        self.dir.remove(from);
        self.dir.insert(to.to_string(), id);
        self.unsynced_dir_ops.push(DirOp::Rename { from: from.to_string(), to: to.to_string(), id });
        Ok(())
    }

    fn sync_dir(&mut self) -> Result<(), StorageError> {
        self.begin(StorageOp::SyncDir, ".")?;
        if !self.fault_state().faults.sync_dir_lies {
            self.synced_dir = self.dir.clone();
            self.unsynced_dir_ops.clear();
        }
        Ok(())
    }
}

impl MemFile {
    /// Call before changing or removing the bytes from `offset` on: saves the synced bytes if the
    /// change reaches into them.
    fn before_change_from(&mut self, offset: usize) {
        if let Synced::Prefix(n) = self.synced
            && offset < n
        {
            self.synced = Synced::Copy(Arc::new(self.data[..n].to_vec()));
        }
    }

    fn crash(&mut self, choices: &mut impl CrashChoices) {
        match &self.synced {
            Synced::Prefix(n) => {
                let keep = n + choices.torn_tail_len(self.data.len() - n);
                if keep < self.data.len() {
                    Arc::make_mut(&mut self.data).truncate(keep);
                }
            }
            Synced::Copy(copy) => {
                if !choices.keep_unsynced() {
                    self.data = Arc::clone(copy);
                }
            }
        }
        self.synced = Synced::Prefix(self.data.len());
    }
}

impl fmt::Debug for MemFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let synced = match &self.synced {
            Synced::Prefix(n) => format!("first {n} bytes"),
            Synced::Copy(copy) => format!("a {}-byte copy", copy.len()),
        };
        write!(f, "MemFile({} bytes, synced: {synced})", self.data.len())
    }
}

/// Applies the directory changes `ops` to `map` in order, each only if `keep()` says so and its
/// precondition still holds.
fn replay(
    mut map: BTreeMap<String, FileId>,
    ops: &[DirOp],
    mut keep: impl FnMut() -> bool,
) -> BTreeMap<String, FileId> {
    for op in ops {
        if !keep() {
            continue;
        }
        match op {
            DirOp::Create { name, id } => {
                if !map.contains_key(name) {
                    map.insert(name.clone(), *id);
                }
            }
            DirOp::Rename { from, to, id } => {
                if map.get(from) == Some(id) && !map.contains_key(to) {
                    map.remove(from);
                    map.insert(to.clone(), *id);
                }
            }
        }
    }
    map
}

/// The choices a crash makes.
trait CrashChoices {
    /// Whether one unsynced change survives: a create, a rename, or a file's overwrites.
    fn keep_unsynced(&mut self) -> bool;
    /// How many of `unsynced_bytes` bytes appended after the last sync survive.
    fn torn_tail_len(&mut self, unsynced_bytes: usize) -> usize;
}

struct RandomCrash<'a, R>(&'a mut R);

impl<R: Rng> CrashChoices for RandomCrash<'_, R> {
    fn keep_unsynced(&mut self) -> bool {
        self.0.random_bool(0.5)
    }

    fn torn_tail_len(&mut self, unsynced_bytes: usize) -> usize {
        // The extremes get extra weight: they are the cases recovery code most often gets wrong.
        match self.0.random_range(0..4u8) {
            0 => 0,
            1 => unsynced_bytes,
            _ => self.0.random_range(0..=unsynced_bytes),
        }
    }
}

struct LoseUnsynced;

impl CrashChoices for LoseUnsynced {
    fn keep_unsynced(&mut self) -> bool {
        false
    }

    fn torn_tail_len(&mut self, _unsynced_bytes: usize) -> usize {
        0
    }
}

fn not_found(op: StorageOp, name: &str) -> StorageError {
    StorageError::new(StorageErrorKind::NotFound, op.name(), name, "no such file")
}

/// The byte range `len` bytes at `offset`, if it lies inside a file of `file_len` bytes.
fn byte_range(
    op: StorageOp,
    name: &str,
    offset: u64,
    len: usize,
    file_len: usize,
) -> Result<Range<usize>, StorageError> {
    usize::try_from(offset)
        .ok()
        .and_then(|start| Some(start..start.checked_add(len)?))
        .filter(|range| range.end <= file_len)
        .ok_or_else(|| {
            StorageError::new(
                StorageErrorKind::UnexpectedEof,
                op.name(),
                name,
                format!("{len} bytes at offset {offset} pass the end of the {file_len}-byte file"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::run_conformance_suite;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const SEEDS: u64 = 200;

    /// A disk holding `name` with `synced` bytes durable (file and directory entry) and
    /// `unsynced` bytes appended after the last sync.
    fn disk_with(name: &str, synced: &[u8], unsynced: &[u8]) -> MemStorage {
        let mut disk = MemStorage::new();
        disk.create(name).unwrap();
        disk.append(name, synced).unwrap();
        disk.sync(name).unwrap();
        disk.sync_dir().unwrap();
        disk.append(name, unsynced).unwrap();
        disk
    }

    /// Every file's name and content.
    fn contents(disk: &MemStorage) -> BTreeMap<String, Vec<u8>> {
        disk.list().unwrap().into_iter().map(|name| (name.clone(), disk.read_all(&name).unwrap())).collect()
    }

    /// The distinct contents of `disk` after a crash, over `SEEDS` seeds.
    fn crash_outcomes(disk: &MemStorage) -> BTreeSet<BTreeMap<String, Vec<u8>>> {
        (0..SEEDS)
            .map(|seed| {
                let mut crashed = disk.clone();
                crashed.crash(&mut ChaCha8Rng::seed_from_u64(seed));
                contents(&crashed)
            })
            .collect()
    }

    fn one_file(name: &str, content: &[u8]) -> BTreeMap<String, Vec<u8>> {
        BTreeMap::from([(name.to_string(), content.to_vec())])
    }

    #[test]
    fn mem_storage_passes_the_conformance_suite() {
        run_conformance_suite(MemStorage::new);
    }

    #[test]
    fn crash_keeps_synced_bytes_and_a_prefix_of_unsynced_appends() {
        let disk = disk_with("log", b"synced", b"0123456789");
        let outcomes = crash_outcomes(&disk);
        for outcome in &outcomes {
            let content = &outcome["log"];
            assert!(content.starts_with(b"synced") && b"synced0123456789".starts_with(content), "{content:?}");
        }
        assert!(outcomes.contains(&one_file("log", b"synced")), "no crash lost the whole tail");
        assert!(outcomes.contains(&one_file("log", b"synced0123456789")), "no crash kept the whole tail");
        assert!(outcomes.len() >= 8, "only {} tail lengths seen", outcomes.len());
    }

    #[test]
    fn crash_losing_unsynced_keeps_exactly_the_synced_bytes_and_entries() {
        let mut disk = disk_with("log", b"synced", b" lost");
        disk.create("new").unwrap();
        disk.crash_losing_unsynced();
        assert_eq!(contents(&disk), one_file("log", b"synced"));
    }

    #[test]
    fn synced_appends_survive_every_crash() {
        let disk = disk_with("log", b"all synced", b"");
        assert_eq!(crash_outcomes(&disk), BTreeSet::from([one_file("log", b"all synced")]));
    }

    #[test]
    fn unsynced_overwrite_either_reverts_or_survives_whole() {
        let mut disk = disk_with("log", b"0123456789", b"");
        disk.write_at("log", 2, b"XY").unwrap();
        disk.write_at("log", 6, b"Z").unwrap();
        let expected = BTreeSet::from([one_file("log", b"0123456789"), one_file("log", b"01XY45Z789")]);
        assert_eq!(crash_outcomes(&disk), expected);
    }

    #[test]
    fn unsynced_truncate_either_reverts_or_survives_whole() {
        let mut disk = disk_with("log", b"0123456789", b"");
        disk.truncate("log", 3).unwrap();
        let expected = BTreeSet::from([one_file("log", b"0123456789"), one_file("log", b"012")]);
        assert_eq!(crash_outcomes(&disk), expected);
    }

    #[test]
    fn truncating_only_the_unsynced_tail_leaves_synced_bytes_alone() {
        let mut disk = disk_with("log", b"synced", b"torn tail");
        disk.truncate("log", 6).unwrap();
        assert_eq!(crash_outcomes(&disk), BTreeSet::from([one_file("log", b"synced")]));
    }

    #[test]
    fn synced_overwrite_and_truncate_survive_every_crash() {
        let mut disk = disk_with("log", b"0123456789", b"");
        disk.write_at("log", 0, b"AB").unwrap();
        disk.truncate("log", 5).unwrap();
        disk.sync("log").unwrap();
        assert_eq!(crash_outcomes(&disk), BTreeSet::from([one_file("log", b"AB234")]));
    }

    #[test]
    fn unsynced_create_may_be_lost_by_crash_even_if_its_content_was_synced() {
        let mut disk = MemStorage::new();
        disk.create("new").unwrap();
        disk.append("new", b"x").unwrap();
        disk.sync("new").unwrap();
        assert_eq!(crash_outcomes(&disk), BTreeSet::from([BTreeMap::new(), one_file("new", b"x")]));
    }

    #[test]
    fn dir_synced_create_survives_every_crash() {
        let mut disk = MemStorage::new();
        disk.create("new").unwrap();
        disk.sync_dir().unwrap();
        assert_eq!(crash_outcomes(&disk), BTreeSet::from([one_file("new", b"")]));
    }

    #[test]
    fn unsynced_rename_may_be_undone_by_crash() {
        let mut disk = disk_with("snapshot.tmp", b"content", b"");
        disk.rename("snapshot.tmp", "snapshot").unwrap();
        let expected = BTreeSet::from([one_file("snapshot.tmp", b"content"), one_file("snapshot", b"content")]);
        assert_eq!(crash_outcomes(&disk), expected);
    }

    #[test]
    fn dir_synced_rename_survives_every_crash() {
        let mut disk = disk_with("snapshot.tmp", b"content", b"");
        disk.rename("snapshot.tmp", "snapshot").unwrap();
        disk.sync_dir().unwrap();
        assert_eq!(crash_outcomes(&disk), BTreeSet::from([one_file("snapshot", b"content")]));
    }

    #[test]
    fn unsynced_renames_survive_independently_and_each_atomically() {
        let mut disk = disk_with("a", b"A", b"");
        disk.create("b").unwrap();
        disk.append("b", b"B").unwrap();
        disk.sync("b").unwrap();
        disk.sync_dir().unwrap();
        disk.rename("a", "x").unwrap();
        disk.rename("b", "y").unwrap();
        let outcome =
            |a: &str, b: &str| BTreeMap::from([(a.to_string(), b"A".to_vec()), (b.to_string(), b"B".to_vec())]);
        let expected = BTreeSet::from([outcome("a", "b"), outcome("a", "y"), outcome("x", "b"), outcome("x", "y")]);
        assert_eq!(crash_outcomes(&disk), expected);
    }

    #[test]
    fn crash_after_a_chain_of_renames_leaves_the_file_under_exactly_one_name() {
        let mut disk = disk_with("a", b"content", b"");
        disk.rename("a", "b").unwrap();
        disk.rename("b", "c").unwrap();
        disk.create("b").unwrap();
        let outcomes = crash_outcomes(&disk);
        for outcome in &outcomes {
            let holders: Vec<_> = outcome.iter().filter(|(_, content)| content.as_slice() == b"content").collect();
            assert_eq!(holders.len(), 1, "{outcome:?}");
        }
        for name in ["a", "b", "c"] {
            assert!(outcomes.iter().any(|o| o.get(name).is_some_and(|c| c == b"content")), "never under {name}");
        }
    }

    #[test]
    fn same_seed_crashes_the_same_way() {
        let mut disk = disk_with("log", b"synced", b"some unsynced tail");
        disk.create("new").unwrap();
        disk.rename("log", "log2").unwrap();
        let crashed_with = |seed| {
            let mut crashed = disk.clone();
            crashed.crash(&mut ChaCha8Rng::seed_from_u64(seed));
            contents(&crashed)
        };
        for seed in 0..20 {
            assert_eq!(crashed_with(seed), crashed_with(seed), "seed {seed}");
        }
    }

    #[test]
    fn injected_no_space_fails_the_nth_append_and_writes_nothing() {
        let mut disk = disk_with("log", b"", b"");
        disk.faults_mut().injected.push(InjectedError::once(StorageOp::Append, 2, StorageErrorKind::NoSpace));
        disk.append("log", b"one").unwrap();
        let err = disk.append("log", b"two").unwrap_err();
        assert_eq!((err.kind, err.op, err.name.as_str()), (StorageErrorKind::NoSpace, "append", "log"));
        assert_eq!(disk.read_all("log").unwrap(), b"one");
        disk.append("log", b"three").unwrap();
        assert_eq!(disk.read_all("log").unwrap(), b"onethree");
        assert!(disk.faults_mut().injected.is_empty(), "a one-shot fault is disarmed once it fires");
    }

    #[test]
    fn sticky_no_space_fails_every_later_append_like_a_full_disk() {
        let mut disk = disk_with("log", b"", b"");
        disk.faults_mut().injected.push(InjectedError::from_nth(StorageOp::Append, 1, StorageErrorKind::NoSpace));
        for _ in 0..3 {
            assert_eq!(disk.append("log", b"x").unwrap_err().kind, StorageErrorKind::NoSpace);
        }
        disk.sync("log").unwrap();
        assert_eq!(disk.size("log").unwrap(), 0);
        disk.faults_mut().injected.clear();
        disk.append("log", b"x").unwrap();
    }

    #[test]
    fn injected_read_error_fails_only_the_nth_read() {
        let mut disk = disk_with("log", b"data", b"");
        disk.faults_mut().injected.push(InjectedError::once(StorageOp::ReadAt, 2, StorageErrorKind::Other));
        let mut buf = [0u8; 4];
        disk.read_at("log", 0, &mut buf).unwrap();
        assert_eq!(disk.read_at("log", 0, &mut buf).unwrap_err().kind, StorageErrorKind::Other);
        disk.read_at("log", 0, &mut buf).unwrap();
    }

    #[test]
    fn corrupt_bit_flips_one_bit_in_what_reads_and_crashes_see() {
        let mut disk = disk_with("log", &[0, 0], &[0]);
        disk.corrupt_bit("log", 1, 3);
        assert_eq!(disk.read_all("log").unwrap(), [0, 8, 0]);
        disk.crash_losing_unsynced();
        assert_eq!(disk.read_all("log").unwrap(), [0, 8]);

        // With an unsynced overwrite pending, the saved synced copy is corrupted too.
        disk.write_at("log", 0, &[1]).unwrap();
        disk.corrupt_bit("log", 1, 0);
        assert_eq!(disk.read_all("log").unwrap(), [1, 9]);
        disk.crash_losing_unsynced();
        assert_eq!(disk.read_all("log").unwrap(), [0, 9]);
    }

    /// A durability checker: appends `entry`, syncs, treats it as acknowledged, crashes, and
    /// reports whether the acknowledged bytes survived.
    fn acknowledged_append_survives_crash(mut disk: MemStorage) -> bool {
        disk.append("log", b"entry").unwrap();
        disk.sync("log").unwrap();
        let acknowledged = disk.read_all("log").unwrap();
        disk.crash_losing_unsynced();
        disk.read_all("log").unwrap() == acknowledged
    }

    #[test]
    fn lying_sync_acknowledges_appends_that_a_crash_then_loses() {
        let honest = disk_with("log", b"", b"");
        assert!(acknowledged_append_survives_crash(honest.clone()));
        let mut lying = honest;
        lying.faults_mut().sync_lies = true;
        assert!(!acknowledged_append_survives_crash(lying), "the checker must catch acknowledging before fsync");
    }

    #[test]
    fn lying_sync_dir_acknowledges_a_rename_that_a_crash_then_undoes() {
        let mut disk = disk_with("snapshot.tmp", b"content", b"");
        disk.faults_mut().sync_dir_lies = true;
        disk.rename("snapshot.tmp", "snapshot").unwrap();
        disk.sync_dir().unwrap();
        disk.crash_losing_unsynced();
        assert_eq!(disk.list().unwrap(), ["snapshot.tmp"]);
    }

    #[test]
    fn read_only_refuses_every_mutation_and_still_serves_reads() {
        let mut disk = disk_with("log", b"data", b"");
        disk.faults_mut().read_only = true;
        let refusals = [
            disk.create("new").unwrap_err(),
            disk.append("log", b"x").unwrap_err(),
            disk.write_at("log", 0, b"x").unwrap_err(),
            disk.truncate("log", 0).unwrap_err(),
            disk.sync("log").unwrap_err(),
            disk.rename("log", "other").unwrap_err(),
            disk.sync_dir().unwrap_err(),
        ];
        let ops: Vec<_> = refusals.iter().map(|e| e.op).collect();
        assert_eq!(ops, ["create", "append", "write_at", "truncate", "sync", "rename", "sync_dir"]);
        assert!(refusals.iter().all(|e| e.kind == StorageErrorKind::ReadOnly), "{refusals:?}");
        assert_eq!(contents(&disk), one_file("log", b"data"));
    }

    #[test]
    fn counters_count_sync_and_sync_dir_calls() {
        let mut disk = MemStorage::new();
        disk.write_file_atomic("a", b"x").unwrap();
        assert_eq!((disk.sync_count(), disk.sync_dir_count()), (1, 1));
        disk.faults_mut().injected.push(InjectedError::once(StorageOp::Sync, 1, StorageErrorKind::Other));
        assert!(disk.sync("a").is_err());
        disk.sync("a").unwrap();
        disk.sync_dir().unwrap();
        assert_eq!((disk.sync_count(), disk.sync_dir_count()), (3, 2), "failed calls count too");
        assert_eq!(disk.call_count(StorageOp::Create), 1);
    }

    #[test]
    fn clone_is_an_independent_copy_of_the_disk() {
        let original = disk_with("log", b"synced", b"tail");
        let mut copy = original.clone();
        copy.append("log", b" more").unwrap();
        copy.create("new").unwrap();
        copy.faults_mut().read_only = true;
        copy.crash_losing_unsynced();
        assert_eq!(contents(&copy), one_file("log", b"synced"));
        let mut original = original;
        assert_eq!(contents(&original), one_file("log", b"syncedtail"));
        original.append("log", b"!").unwrap();
        assert_eq!(original.call_count(StorageOp::Create), 1, "the copy's calls are its own");
    }

    #[test]
    fn write_file_atomic_interrupted_at_any_step_then_crashed_leaves_no_file_or_the_whole_file() {
        let failing_steps =
            [StorageOp::Create, StorageOp::Append, StorageOp::Sync, StorageOp::Rename, StorageOp::SyncDir];
        for failing in failing_steps.map(Some).into_iter().chain([None]) {
            for seed in 0..50 {
                let mut disk = MemStorage::new();
                if let Some(op) = failing {
                    disk.faults_mut().injected.push(InjectedError::once(op, 1, StorageErrorKind::Other));
                }
                let written = disk.write_file_atomic("snapshot", b"whole content");
                assert_eq!(written.is_ok(), failing.is_none(), "{failing:?}");
                disk.crash(&mut ChaCha8Rng::seed_from_u64(seed));
                match disk.read_all("snapshot") {
                    Ok(content) => assert_eq!(content, b"whole content", "{failing:?} seed {seed}"),
                    Err(err) => {
                        assert_eq!(err.kind, StorageErrorKind::NotFound);
                        assert!(failing.is_some(), "a completed write_file_atomic was lost, seed {seed}");
                    }
                }
            }
        }
    }

    #[test]
    fn random_operations_and_crashes_keep_the_invariants() {
        const NAMES: [&str; 4] = ["a", "b", "c", "d"];
        for seed in 0..100 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut disk = MemStorage::new();
            for _ in 0..200 {
                let name = NAMES[rng.random_range(0..NAMES.len())];
                let size = disk.size(name).unwrap_or(0);
                // Errors (missing file, existing target, …) are expected and must change nothing.
                let _ = match rng.random_range(0..9u8) {
                    0 => disk.create(name),
                    1 | 2 => disk.append(name, &[rng.random(); 3]),
                    3 => disk.write_at(name, rng.random_range(0..=size), &[rng.random()]),
                    4 => disk.truncate(name, rng.random_range(0..=size)),
                    5 => disk.sync(name),
                    6 => disk.rename(name, NAMES[rng.random_range(0..NAMES.len())]),
                    7 => disk.sync_dir(),
                    _ => {
                        disk.crash(&mut rng);
                        Ok(())
                    }
                };
                disk.check_invariants();
            }
        }
    }
}
