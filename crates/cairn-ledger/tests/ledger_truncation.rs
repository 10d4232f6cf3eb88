//! `LedgerWriter::truncate` across chunks (replication design §7, ledger-format §8.3–8.4):
//! chunks after the cut are set aside newest first, the complete chunk holding the cut is
//! reopened, `last()` takes the view of the new last entry, and a crash at any storage operation
//! leaves a ledger the scan accepts: a prefix of the entries that still holds every entry up to
//! the cut, never a hole or an error.
//!
//! Layout of [`Chain::standard`] (view 2 unless a test says otherwise): `ledger_1-4.committed`
//! (service create, signature, open, signature), then complete chunks of six entries (five
//! transactions and a chunk-closing signature) `ledger_5-10`, `ledger_11-16`, `ledger_17-22`, then
//! the open `ledger_23` holding 23..=25 (unsigned).
use cairn_kv::WriteSet;
use cairn_ledger::format::{EncodedEntry, EntryFlags, TxId};
use cairn_ledger::genesis::{GenesisRecord, service_status_write_set};
use cairn_ledger::storage::{MemStorage, Storage, StorageError, StorageErrorKind};
use cairn_ledger::tables::{ServiceInfo, ServiceStatus};
use cairn_ledger::verify::{VerifyLevel, VerifyOptions, verify_ledger};
use cairn_ledger::{
    History, LedgerConfig, LedgerSecret, LedgerSecrets, LedgerWriter, NodeSigner, ServiceIdentity, WriteError,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

const NOW: i64 = 1_767_225_600;

fn config() -> LedgerConfig {
    LedgerConfig { chunk_size_bytes: 1 << 30, ..Default::default() }
}

/// Produces the entries of one service: a [`History`] plus the signer and secret it needs.
struct Chain {
    history: History,
    signer: Arc<NodeSigner>,
    secret: Arc<LedgerSecret>,
    raw_secret: [u8; 32],
    last_sig: TxId,
    records: u64,
}

impl Chain {
    /// The service create transaction, a signature, the opening and a chunk-closing signature.
    fn new(view: u64) -> (Chain, Vec<EncodedEntry>) {
        let service = ServiceIdentity::create(NOW, 365).unwrap();
        let signer = Arc::new(service.new_local_node(NOW, 365).unwrap());
        let raw_secret = [7u8; 32];
        let secret = Arc::new(LedgerSecret::new(raw_secret));
        let history = History::new(secret.clone(), signer.clone());
        let mut chain =
            Chain { history, signer: signer.clone(), secret, raw_secret, last_sig: TxId::default(), records: 0 };
        let genesis = GenesisRecord {
            service_cert_pem: service.cert.pem(),
            node_id: &signer.node_id,
            node_cert_pem: &signer.cert_pem,
            node_public_key_pem: None,
            node_encryption_pub_key: None,
            rpc_address: None,
            recovery_count: 0,
            status: ServiceStatus::Opening,
            create_txid: TxId::new(view, 1).to_string(),
        };
        let mut entries = vec![chain.history.append_tx(
            view,
            &genesis.write_set(),
            EntryFlags(EntryFlags::FORCE_LEDGER_CHUNK_BEFORE),
        )];
        entries.push(chain.sig(view, false));
        let info = ServiceInfo {
            cert: service.cert.pem().to_string(),
            status: ServiceStatus::Opening,
            recovery_count: 0,
            previous_service_identity_version: None,
            create_txid: Some(TxId::new(view, 1).to_string()),
        };
        entries.push(chain.history.append_tx(
            view,
            &service_status_write_set(&info, ServiceStatus::Open),
            EntryFlags::default(),
        ));
        entries.push(chain.sig(view, true));
        (chain, entries)
    }

    /// The standard layout (module docs) with `view_of(seqno)` as each entry's view, and a
    /// fork of the chain taken right after entry `fork_at`.
    fn standard(view_of: impl Fn(u64) -> u64, fork_at: u64) -> (Vec<EncodedEntry>, Chain) {
        let (mut chain, mut entries) = Chain::new(view_of(1));
        let mut fork = None;
        for seqno in 5..=25 {
            if seqno - 1 == fork_at {
                fork = Some(chain.fork());
            }
            let view = view_of(seqno);
            let e = if seqno <= 22 && (seqno - 4) % 6 == 0 { chain.sig(view, true) } else { chain.tx(view) };
            assert_eq!(e.tx_id, TxId::new(view, seqno));
            entries.push(e);
        }
        (entries, fork.expect("fork_at inside 4..25"))
    }

    fn tx(&mut self, view: u64) -> EncodedEntry {
        let mut ws = WriteSet::new();
        let table = if self.records.is_multiple_of(2) { "records" } else { "public:records" };
        ws.put(table, self.records.to_string().into_bytes(), format!("value {}", self.records).into_bytes());
        self.records += 1;
        self.history.append_tx(view, &ws, EntryFlags::default())
    }

    fn sig(&mut self, view: u64, close: bool) -> EncodedEntry {
        let e = self.history.append_signature(view, self.last_sig, close);
        self.last_sig = e.tx_id;
        e
    }

    /// Another chain continuing from the same point (a new primary's branch).
    fn fork(&self) -> Chain {
        Chain {
            history: History::resume(
                self.secret.clone(),
                self.signer.clone(),
                self.history.last(),
                self.history.tree().clone(),
            ),
            signer: self.signer.clone(),
            secret: self.secret.clone(),
            raw_secret: self.raw_secret,
            last_sig: self.last_sig,
            records: self.records + 1000,
        }
    }
}

/// A durable ledger of `entries` on `storage`, committed up to `commit`.
fn write<S: Storage>(storage: S, entries: &[EncodedEntry], commit: u64) -> LedgerWriter<S> {
    let (mut w, _) = LedgerWriter::open(storage, config()).unwrap();
    for e in entries {
        w.append(e).unwrap();
    }
    w.sync().unwrap();
    w.commit(commit).unwrap();
    w
}

fn files(s: &MemStorage) -> BTreeMap<String, Vec<u8>> {
    s.list().unwrap().into_iter().map(|n| (n.clone(), s.read_all(&n).unwrap())).collect()
}

fn verify_private(storage: &MemStorage, secret: [u8; 32]) -> cairn_ledger::verify::VerifyOutcome {
    let opts = VerifyOptions {
        level: VerifyLevel::Private,
        ledger_secrets: LedgerSecrets::single(LedgerSecret::new(secret)),
        threads: 1,
        ..Default::default()
    };
    verify_ledger(&[storage as &dyn Storage], &opts, &mut |_| {})
}

/// Names of the ledger chunks (the files the scan reads).
fn chunks(s: &MemStorage) -> Vec<String> {
    s.list().unwrap().into_iter().filter(|n| cairn_ledger::chunk::ChunkName::parse(n).is_some()).collect()
}

fn ignored(s: &MemStorage) -> Vec<String> {
    s.list().unwrap().into_iter().filter(|n| n.ends_with(".ignored")).collect()
}

#[test]
fn truncate_inside_complete_chunk_reopens_it() {
    let (entries, mut fork) = Chain::standard(|_| 2, 13);
    let mut w = write(MemStorage::new(), &entries, 4);
    let before = files(w.storage());
    assert_eq!(
        chunks(w.storage()),
        ["ledger_1-4.committed", "ledger_11-16", "ledger_17-22", "ledger_23", "ledger_5-10"]
    );

    w.truncate(13).unwrap();
    w.check_invariants();
    assert_eq!(w.last(), TxId::new(2, 13));
    assert!(w.durable_seqno() <= 13);
    assert_eq!(w.chunk_files(), ["ledger_1-4.committed", "ledger_5-10", "ledger_11"]);
    assert_eq!(chunks(w.storage()), ["ledger_1-4.committed", "ledger_11", "ledger_5-10"]);
    // Nothing is deleted: the set-aside chunks and a copy of the reopened one keep their bytes.
    let after = files(w.storage());
    assert_eq!(after["ledger_23.ignored"], before["ledger_23"]);
    assert_eq!(after["ledger_17-22.ignored"], before["ledger_17-22"]);
    assert_eq!(after["ledger_11-16.ignored"], before["ledger_11-16"]);
    // The reopened chunk is the old one cut after entry 13, with header 0.
    let reopened = &after["ledger_11"];
    assert_eq!(&reopened[..8], &[0; 8]);
    assert!(before["ledger_11-16"][8..].starts_with(&reopened[8..]));
    for seqno in 11..=13 {
        assert_eq!(w.read_entry(seqno).unwrap().unwrap(), entries[seqno as usize - 1].bytes);
    }
    assert_eq!(w.read_entry(14).unwrap(), None);

    // A new primary's entries follow, across a chunk boundary, and the ledger verifies.
    for _ in 0..2 {
        w.append(&fork.tx(2)).unwrap();
    }
    w.append(&fork.sig(2, true)).unwrap();
    w.append(&fork.tx(2)).unwrap();
    w.sync().unwrap();
    assert_eq!(w.last(), TxId::new(2, 17));
    assert_eq!(w.chunk_files(), ["ledger_1-4.committed", "ledger_5-10", "ledger_11-16", "ledger_17"]);
    let outcome = verify_private(w.storage(), fork.raw_secret);
    assert_eq!(outcome.failure, None);
    assert_eq!(outcome.report.entries, 17);

    let (reopened, found) = LedgerWriter::open(w.into_storage(), config()).unwrap();
    assert_eq!(reopened.last(), TxId::new(2, 17));
    assert!(found.repairs.is_empty(), "{:?}", found.repairs);
}

#[test]
fn truncate_before_several_chunks_sets_them_aside_newest_first() {
    let (entries, _) = Chain::standard(|_| 2, 7);
    let mut probe = Probe::new(MemStorage::new());
    // A name taken by an earlier set-aside file: the next one gets a counter.
    probe.inner.create("ledger_17-22.ignored").unwrap();
    probe.inner.append("ledger_17-22.ignored", b"older").unwrap();
    let mut w = write(probe, &entries, 4);
    let before = files(&w.storage().inner);
    w.storage_mut().log.clear();

    w.truncate(7).unwrap();
    assert_eq!(w.last(), TxId::new(2, 7));
    assert_eq!(w.chunk_files(), ["ledger_1-4.committed", "ledger_5"]);
    let renames: Vec<&String> = w.storage().log.iter().filter(|op| op.starts_with("rename")).collect();
    assert_eq!(
        renames,
        [
            "rename ledger_23 ledger_23.ignored",
            "rename ledger_17-22 ledger_17-22.1.ignored",
            "rename ledger_11-16 ledger_11-16.ignored",
            "rename ledger_5-10.ignored.tmp ledger_5-10.ignored",
            "rename ledger_5-10 ledger_5",
        ]
    );
    // A directory sync after each rename.
    let log = &w.storage().log;
    for (i, op) in log.iter().enumerate().filter(|(_, op)| op.starts_with("rename")) {
        assert_eq!(log.get(i + 1).map(String::as_str), Some("sync_dir"), "after {op}: {log:?}");
    }
    let after = files(&w.storage().inner);
    assert_eq!(after["ledger_17-22.ignored"], b"older");
    for (aside, original) in [
        ("ledger_23.ignored", "ledger_23"),
        ("ledger_17-22.1.ignored", "ledger_17-22"),
        ("ledger_11-16.ignored", "ledger_11-16"),
        ("ledger_5-10.ignored", "ledger_5-10"),
    ] {
        assert_eq!(after[aside], before[original], "{aside}");
    }
    assert_eq!(
        ignored(&w.storage().inner),
        [
            "ledger_11-16.ignored",
            "ledger_17-22.1.ignored",
            "ledger_17-22.ignored",
            "ledger_23.ignored",
            "ledger_5-10.ignored"
        ]
    );

    // The scan reads the result as a ledger ending at 7, and lists the set-aside files.
    let (reopened, found) = LedgerWriter::open(w.into_storage().inner, config()).unwrap();
    assert_eq!(reopened.last(), TxId::new(2, 7));
    assert_eq!(found.not_read.len(), 5, "{:?}", found.not_read);
}

#[test]
fn truncate_below_commit_is_refused() {
    let (entries, _) = Chain::standard(|_| 2, 7);
    let mut w = write(MemStorage::new(), &entries, 16);
    let before = files(w.storage());
    let err = w.truncate(15).unwrap_err();
    assert!(matches!(err, WriteError::Truncate { seqno: 15, .. }), "{err}");
    assert_eq!(files(w.storage()), before, "a refused truncation changes nothing");
    assert_eq!(w.last(), TxId::new(2, 25));
    // At the committed seqno itself it is allowed (here: a chunk boundary).
    w.truncate(16).unwrap();
    assert_eq!(w.last(), TxId::new(2, 16));
    assert_eq!(w.chunk_files(), ["ledger_1-4.committed", "ledger_5-10.committed", "ledger_11-16.committed"]);
}

#[test]
fn truncate_sets_last_view_from_the_entry() {
    let view_of = |seqno: u64| if seqno <= 10 { 2 } else { 3 };
    let (entries, mut fork) = Chain::standard(view_of, 8);
    let mut w = write(MemStorage::new(), &entries, 4);
    assert_eq!(w.last(), TxId::new(3, 25));

    w.truncate(8).unwrap();
    assert_eq!(w.last(), TxId::new(2, 8), "the view of entry 8, not the old last view");
    // The new primary's view-3 entries follow.
    w.append(&fork.tx(3)).unwrap();
    w.append(&fork.sig(3, true)).unwrap();
    w.append(&fork.tx(3)).unwrap();
    w.sync().unwrap();
    assert_eq!(w.last(), TxId::new(3, 11));
    assert_eq!(w.chunk_files(), ["ledger_1-4.committed", "ledger_5-10", "ledger_11"]);
    assert_eq!(verify_private(w.storage(), fork.raw_secret).failure, None);

    // Back into view 2 inside the open chunk too, then from a chunk boundary.
    w.truncate(10).unwrap();
    assert_eq!(w.last(), TxId::new(3, 10));
    w.truncate(6).unwrap();
    assert_eq!(w.last(), TxId::new(2, 6));
}

#[test]
fn truncate_to_a_chunk_boundary() {
    let (entries, mut fork) = Chain::standard(|_| 2, 16);
    let mut w = write(MemStorage::new(), &entries, 4);
    let before = files(w.storage());
    w.truncate(16).unwrap();
    assert_eq!(w.last(), TxId::new(2, 16));
    assert_eq!(w.chunk_files(), ["ledger_1-4.committed", "ledger_5-10", "ledger_11-16"]);
    let after = files(w.storage());
    assert_eq!(after["ledger_11-16"], before["ledger_11-16"], "the chunk ending at the cut is untouched");
    assert_eq!(ignored(w.storage()), ["ledger_17-22.ignored", "ledger_23.ignored"]);
    assert!(!after.contains_key("ledger_11-16.ignored"), "no copy: nothing is cut inside a chunk");

    w.append(&fork.tx(2)).unwrap();
    w.append(&fork.sig(2, false)).unwrap();
    w.sync().unwrap();
    assert_eq!(w.chunk_files(), ["ledger_1-4.committed", "ledger_5-10", "ledger_11-16", "ledger_17"]);
    let outcome = verify_private(w.storage(), fork.raw_secret);
    assert_eq!(outcome.failure, None);
    assert_eq!(outcome.report.entries, 18);
}

/// The seeds a seeded test runs: `SEED=<n>` replays one, `SEEDS=<n>` runs `0..n`, otherwise
/// `0..default`.
fn seeds(default: u64) -> std::ops::Range<u64> {
    let var = |name| std::env::var(name).ok().map(|v| v.parse::<u64>().expect("a number"));
    match (var("SEED"), var("SEEDS")) {
        (Some(seed), _) => seed..seed + 1,
        (None, Some(n)) => 0..n,
        (None, None) => 0..default,
    }
}

#[test]
fn crash_at_each_storage_operation_of_truncate_leaves_before_or_after_never_a_hole() {
    static BASE: OnceLock<(Vec<EncodedEntry>, MemStorage)> = OnceLock::new();
    let (entries, base) = BASE.get_or_init(|| {
        let (entries, _) = Chain::standard(|s| if s <= 12 { 2 } else { 3 }, 5);
        let storage = write(MemStorage::new(), &entries, 4).into_storage();
        (entries, storage)
    });
    let last = entries.len() as u64;
    // How many reopened ledgers ended at the cut, past it but short of the end, and at the end.
    let mut outcomes = [0u32; 3];
    for seed in seeds(200) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let cut = rng.random_range(4..last);
        for fail_at in 0.. {
            let context = format!(
                "seed {seed}, cut {cut}, crash at operation {fail_at} (replay: SEED={seed} cargo test -p cairn-ledger --test ledger_truncation crash_at)"
            );
            let (mut w, _) = LedgerWriter::open(Probe::new(base.clone()), config()).unwrap();
            w.storage_mut().fail_at = Some(fail_at);
            let done = w.truncate(cut).is_ok();
            let mut storage = w.into_storage().inner;
            // One random crash and the worst case (every unsynced change lost).
            let mut worst = storage.clone();
            worst.crash_losing_unsynced();
            storage.crash(&mut rng);
            for (kind, storage) in [("random", storage), ("losing unsynced", worst)] {
                let (w, found) = LedgerWriter::open(storage, config())
                    .unwrap_or_else(|e| panic!("{context}, {kind} crash: the ledger must reopen: {e}"));
                w.check_invariants();
                let resumed = w.last().seqno;
                assert!(resumed >= cut && resumed <= last, "{context}, {kind}: resumed at {resumed}");
                if done {
                    assert_eq!(resumed, cut, "{context}, {kind}: a finished truncation is durable");
                }
                for seqno in 1..=resumed {
                    let got = w.read_entry(seqno).unwrap();
                    assert_eq!(
                        got.as_deref(),
                        Some(entries[seqno as usize - 1].bytes.as_slice()),
                        "{context}, {kind}: entry {seqno} (repairs {:?})",
                        found.repairs
                    );
                }
                assert_eq!(w.last().view, entries[resumed as usize - 1].tx_id.view, "{context}, {kind}");
                outcomes[usize::from(resumed > cut) + usize::from(resumed == last)] += 1;
            }
            if done {
                break;
            }
        }
    }
    if seeds(200).count() >= 50 {
        assert!(outcomes.iter().all(|n| *n > 0), "every outcome should occur: {outcomes:?}");
    }
    eprintln!("outcomes (at the cut, in between, untouched): {outcomes:?}");
}

/// A [`MemStorage`] that logs its mutating operations and fails the `fail_at`-th one (0-based)
/// and every later one: the process stops there, and the test then crashes the disk.
struct Probe {
    inner: MemStorage,
    log: Vec<String>,
    fail_at: Option<usize>,
    done: usize,
}

impl Probe {
    fn new(inner: MemStorage) -> Self {
        Probe { inner, log: Vec::new(), fail_at: None, done: 0 }
    }

    fn op(&mut self, what: String) -> Result<(), StorageError> {
        if self.fail_at.is_some_and(|n| self.done >= n) {
            return Err(StorageError::new(StorageErrorKind::Other, "probe", &what, "stopped"));
        }
        self.done += 1;
        self.log.push(what);
        Ok(())
    }
}

impl Storage for Probe {
    fn list(&self) -> Result<Vec<String>, StorageError> {
        self.inner.list()
    }
    fn size(&self, name: &str) -> Result<u64, StorageError> {
        self.inner.size(name)
    }
    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        self.inner.read_at(name, offset, buf)
    }
    fn create(&mut self, name: &str) -> Result<(), StorageError> {
        self.op(format!("create {name}"))?;
        self.inner.create(name)
    }
    fn append(&mut self, name: &str, data: &[u8]) -> Result<(), StorageError> {
        self.op(format!("append {name}"))?;
        self.inner.append(name, data)
    }
    fn write_at(&mut self, name: &str, offset: u64, data: &[u8]) -> Result<(), StorageError> {
        self.op(format!("write_at {name} {offset}"))?;
        self.inner.write_at(name, offset, data)
    }
    fn truncate(&mut self, name: &str, len: u64) -> Result<(), StorageError> {
        self.op(format!("truncate {name} {len}"))?;
        self.inner.truncate(name, len)
    }
    fn sync(&mut self, name: &str) -> Result<(), StorageError> {
        self.op(format!("sync {name}"))?;
        self.inner.sync(name)
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), StorageError> {
        self.op(format!("rename {from} {to}"))?;
        self.inner.rename(from, to)
    }
    fn sync_dir(&mut self) -> Result<(), StorageError> {
        self.op("sync_dir".to_string())?;
        self.inner.sync_dir()
    }
}

/// A node that started from a snapshot at 10 writes a ledger starting at 11: chunk names start
/// there, reads before it find nothing, a reopen keeps the start, and a cut is refused below it
/// only by what was committed (the core never cuts below the snapshot, which is committed).
#[test]
fn a_ledger_that_starts_after_a_snapshot_keeps_its_start_across_reopens() {
    let (entries, _) = Chain::standard(|_| 2, 24);
    let (mut w, _) = LedgerWriter::open(MemStorage::new(), config()).unwrap();
    w.start_at(11);
    assert_eq!((w.first_seqno(), w.last().seqno, w.durable_seqno(), w.committed_seqno()), (11, 10, 10, 10));
    let refused = w.append(&entries[3]).unwrap_err();
    assert!(matches!(refused, WriteError::OutOfOrder { .. }), "{refused}");
    for e in &entries[10..] {
        w.append(e).unwrap();
    }
    w.sync().unwrap();
    w.commit(22).unwrap();
    assert_eq!(chunks(w.storage()), ["ledger_11-16.committed", "ledger_17-22.committed", "ledger_23"]);
    assert_eq!(w.read_entry(10).unwrap(), None);
    assert_eq!(w.read_entry(11).unwrap(), Some(entries[10].bytes.clone()));
    let (w, found) = LedgerWriter::open(w.into_storage(), config()).unwrap();
    assert!(found.repairs.is_empty());
    assert_eq!((w.first_seqno(), w.last().seqno, w.committed_seqno()), (11, 25, 22));
    assert_eq!(w.read_entry(25).unwrap(), Some(entries[24].bytes.clone()));
    w.check_invariants();
}

/// A node that starts again from a newer snapshot sets its whole ledger aside: every chunk is
/// renamed `.superseded` with its bytes, a reopen finds an empty ledger, and nothing committed
/// is dropped for an older state.
#[test]
fn supersede_sets_every_chunk_aside_and_refuses_to_go_below_the_commit() {
    let (entries, _) = Chain::standard(|_| 2, 24);
    let mut w = write(MemStorage::new(), &entries, 10);
    let before = files(w.storage());
    let refused = w.supersede(9).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "cannot set the ledger aside for a snapshot at 9: the ledger is committed up to 10"
    );
    let renamed = w.supersede(30).unwrap();
    assert_eq!(renamed.len(), before.len());
    assert_eq!((w.first_seqno(), w.last().seqno, w.committed_seqno()), (31, 30, 30));
    let after = files(w.storage());
    for (name, bytes) in &before {
        assert_eq!(after.get(&format!("{name}.superseded")), Some(bytes), "{name} kept, renamed");
    }
    assert!(chunks(w.storage()).is_empty());
    let (w, found) = LedgerWriter::open(w.into_storage(), config()).unwrap();
    assert_eq!(w.last().seqno, 0);
    assert_eq!(found.not_read.len(), before.len(), "the superseded chunks are listed, not read");
}
