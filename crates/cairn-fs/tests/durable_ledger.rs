//! Concurrent appends to the real ledger share fsyncs, and every acknowledged append is on disk.
use cairn_crypto::{Certificate, CertificateRequest, SigningKey};
use cairn_fs::{Durability, DurableLedger, FsStorage};
use cairn_kv::WriteSet;
use cairn_ledger::format::EntryFlags;
use cairn_ledger::verify::{VerifyLevel, VerifyOptions, verify_ledger};
use cairn_ledger::{History, LedgerConfig, LedgerSecret, LedgerWriter, NodeSigner};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

fn history() -> History {
    let key = SigningKey::generate().unwrap();
    let req = CertificateRequest {
        common_name: "n".into(),
        subject_alt_names: vec![],
        not_before_unix_s: 1_700_000_000,
        validity_days: 1,
        is_ca: true,
    };
    let cert = Certificate::self_signed(&key, &req).unwrap();
    let node_id = key.verifying_key().key_id();
    History::new(
        Arc::new(LedgerSecret::new([1; 32])),
        Arc::new(NodeSigner { key, node_id, cert_pem: cert.pem().to_string() }),
    )
}

#[test]
fn sixteen_concurrent_writers_share_fsyncs_and_lose_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let storage = FsStorage::open(dir.path(), Durability::Fsync, false).unwrap();
    let (writer, _) = LedgerWriter::open(storage, LedgerConfig::default()).unwrap();
    let ledger = DurableLedger::new(writer, history());
    let acknowledged = AtomicU64::new(0);
    const THREADS: u64 = 16;
    const PER_THREAD: u64 = 40;
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (ledger, acknowledged) = (&ledger, &acknowledged);
            s.spawn(move || {
                for i in 0..PER_THREAD {
                    let mut ws = WriteSet::new();
                    ws.put("records", format!("{t}-{i}").into_bytes(), vec![b'x'; 64]);
                    let (_, seqno) = ledger
                        .append(|w, h: &mut History| w.append(&h.append_tx(2, &ws, EntryFlags::default())))
                        .unwrap();
                    ledger.wait_durable(seqno).unwrap();
                    assert!(ledger.durable_seqno() >= seqno);
                    acknowledged.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    let syncs = ledger.sync_count();
    let (mut writer, mut history) = ledger.into_inner();
    let writes = THREADS * PER_THREAD;
    assert_eq!(acknowledged.load(Ordering::SeqCst), writes);
    assert_eq!(writer.last().seqno, writes);
    assert!(syncs < writes, "group commit should share fsyncs: {syncs} syncs for {writes} acknowledged writes");
    eprintln!("{writes} acknowledged writes from {THREADS} threads needed {syncs} syncs");
    // A closing signature so the whole ledger verifies.
    let sig = history.append_signature(2, writer.last(), true);
    writer.append(&sig).unwrap();
    writer.sync().unwrap();
    // Every entry is on disk and in order (no signature-level checks: this ledger has no genesis).
    let reopened = FsStorage::open(dir.path(), Durability::Fsync, true).unwrap();
    let out = verify_ledger(
        &[&reopened as &dyn cairn_ledger::storage::Storage],
        &VerifyOptions { level: VerifyLevel::Merkle, ..Default::default() },
        &mut |_| {},
    );
    assert_eq!(out.failure, None);
    assert_eq!(out.report.entries, writes + 1);
}
