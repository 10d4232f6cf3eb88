//! CCF's own tools accept Cairn's snapshots and receipts: `read_ledger.py -s` (PyPI
//! `ccf==6.0.28`) reads a committed snapshot and verifies its receipt, `read_ledger.py` verifies
//! the ledger holding the snapshot evidence (a transaction with a claims digest), and
//! `ccf.receipt` verifies a transaction receipt against the service certificate. The
//! virtualenv is created by `scripts/ccf-venv.sh` on first use (as in `ccf_compatibility.rs`).
use cairn_crypto::{Certificate, Sha256, sha256};
use cairn_fs::{Durability, FsStorage, SnapshotDirectory};
use cairn_kv::{Store, WriteSet};
use cairn_ledger::format::{EntryFlags, EntryView, TxId};
use cairn_ledger::genesis::{GenesisRecord, service_status_write_set};
use cairn_ledger::receipt::Receipt;
use cairn_ledger::snapshot::{
    SnapshotName, decode_snapshot, encode_snapshot, snapshot_evidence_write_set, verify_committed_snapshot,
    view_history_from_starts,
};
use cairn_ledger::tables::{ServiceInfo, ServiceStatus};
use cairn_ledger::{History, LedgerConfig, LedgerSecret, LedgerWriter, ServiceIdentity, SignatureRecord, tables};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

const VIEW: u64 = 2;

fn ccf_venv() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash").arg(root.join("scripts/ccf-venv.sh")).output().expect("run scripts/ccf-venv.sh");
    assert!(out.status.success(), "creating the CCF virtualenv failed:\n{}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn read_ledger_py(venv: &Path, args: &[&str]) -> Output {
    Command::new(venv.join("bin/python")).arg(venv.join("bin/read_ledger.py")).args(args).output().unwrap()
}

/// A one-node service writing a real ledger directory, as a primary does.
struct Service {
    writer: LedgerWriter<FsStorage>,
    history: History,
    store: Store,
    secret: Arc<LedgerSecret>,
    service_cert: Certificate,
    node_cert: Certificate,
    /// seqno → (tx, write-set digest, claims digest).
    facts: BTreeMap<u64, (TxId, Sha256, Sha256)>,
    signatures: BTreeMap<u64, SignatureRecord>,
}

impl Service {
    /// Creates the service (genesis, opening) in `dir`.
    fn start(dir: &Path) -> Self {
        let service = ServiceIdentity::create(1_767_225_600, 365).unwrap();
        let signer = Arc::new(service.new_local_node(1_767_225_600, 365).unwrap());
        let (service_cert, node_cert) = (service.cert, Certificate::from_pem(&signer.cert_pem).unwrap());
        let node_id = signer.node_id.clone();
        let secret = Arc::new(LedgerSecret::new([3; 32]));
        let storage = FsStorage::open(dir, Durability::Fsync, false).unwrap();
        let (writer, _) = LedgerWriter::open(storage, LedgerConfig::default()).unwrap();
        let mut s = Service {
            writer,
            history: History::new(secret.clone(), signer),
            store: Store::new(),
            secret,
            service_cert,
            node_cert,
            facts: BTreeMap::new(),
            signatures: BTreeMap::new(),
        };
        let genesis = GenesisRecord {
            service_cert_pem: s.service_cert.pem(),
            node_id: &node_id,
            node_cert_pem: s.node_cert.pem(),
            node_public_key_pem: None,
            node_encryption_pub_key: None,
            rpc_address: None,
            recovery_count: 0,
            status: ServiceStatus::Opening,
            create_txid: TxId::new(VIEW, 1).to_string(),
        };
        let genesis = genesis.write_set();
        s.append(&genesis, EntryFlags(EntryFlags::FORCE_LEDGER_CHUNK_BEFORE), Sha256::ZERO);
        s.sign(false);
        let info = ServiceInfo {
            cert: s.service_cert.pem().to_string(),
            status: ServiceStatus::Opening,
            recovery_count: 0,
            previous_service_identity_version: None,
            create_txid: Some(TxId::new(VIEW, 1).to_string()),
        };
        s.append(&service_status_write_set(&info, ServiceStatus::Open), EntryFlags::default(), Sha256::ZERO);
        s.sign(false);
        s
    }

    fn append(&mut self, ws: &WriteSet, flags: EntryFlags, claims: Sha256) -> TxId {
        let e = self.history.append_tx_with_claims(VIEW, ws, flags, claims);
        self.writer.append(&e).unwrap();
        self.store.apply(ws, e.tx_id.seqno).unwrap();
        self.facts.insert(e.tx_id.seqno, (e.tx_id, e.digest(), claims));
        e.tx_id
    }

    /// A signature, made durable and committed (one node is a majority).
    fn sign(&mut self, end_chunk: bool) -> SignatureRecord {
        let commit = self.signatures.keys().next_back().map_or(TxId::default(), |s| TxId::new(VIEW, *s));
        let e = self.history.append_signature(VIEW, commit, end_chunk);
        self.writer.append(&e).unwrap();
        self.writer.sync().unwrap();
        self.writer.commit(e.tx_id.seqno).unwrap();
        let (_, ws) = EntryView::parse(&e.bytes).unwrap().decode_all(self.secret.key()).unwrap();
        self.store.apply(&ws, e.tx_id.seqno).unwrap();
        self.facts.insert(e.tx_id.seqno, (e.tx_id, e.digest(), Sha256::ZERO));
        let record: SignatureRecord =
            serde_json::from_slice(&ws.get(tables::SIGNATURES, &tables::SINGLETON_KEY).cloned().flatten().unwrap())
                .unwrap();
        self.signatures.insert(e.tx_id.seqno, record.clone());
        record
    }

    fn workload(&mut self, from: u32, count: u32) {
        for i in from..from + count {
            let mut ws = WriteSet::new();
            let table = if i % 2 == 0 { "records" } else { "public:records" };
            ws.put(table, i.to_string(), format!("record {i}: {}", "x".repeat(i as usize % 13)));
            if i % 5 == 4 {
                ws.remove("records", (i - 4).to_string());
            }
            self.append(&ws, EntryFlags::default(), Sha256::ZERO);
        }
    }

    /// The receipt of `seqno` against the first signature after it.
    fn receipt(&self, seqno: u64) -> Receipt {
        let (tx, digest, claims) = self.facts[&seqno];
        let (_, signature) = self.signatures.range(seqno + 1..).next().unwrap();
        Receipt::build(
            self.history.tree(),
            tx,
            digest,
            self.secret.commit_evidence(tx),
            claims,
            signature,
            self.node_cert.pem(),
        )
    }
}

/// A ledger with a snapshot at a signature, its evidence, and the committed snapshot file.
struct Fixture {
    _tmp: tempfile::TempDir,
    ledger_dir: PathBuf,
    snapshot_path: PathBuf,
    snapshot_name: SnapshotName,
    store_at_snapshot: Store,
    service: Service,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let ledger_dir = tmp.path().join("ledger");
    let mut service = Service::start(&ledger_dir);
    service.workload(0, 30);
    let signature = service.sign(false);
    let tx = TxId::new(signature.view, signature.seqno);
    let leaf = service.history.tree().leaf(tx.seqno).unwrap();
    let view_history = view_history_from_starts(&[(VIEW, 1)]);
    let entry = encode_snapshot(&service.store.snapshot_view(), tx, &service.secret, &leaf, &view_history);
    let store_at_snapshot = service.store.clone();
    let digest = sha256(&entry);
    let evidence = service.append(&snapshot_evidence_write_set(&digest, tx.seqno), EntryFlags::default(), digest);
    service.workload(30, 5);
    service.sign(true);

    let mut snapshots = SnapshotDirectory::open(tmp.path().join("snapshots"), None).unwrap();
    let name = SnapshotName::new(tx.seqno, evidence.seqno);
    snapshots.write(&name, &entry).unwrap();
    let receipt = serde_json::to_vec(&service.receipt(evidence.seqno)).unwrap();
    let committed = snapshots.commit(&name, &receipt).unwrap();
    let snapshot_path = tmp.path().join("snapshots").join(committed.to_string());
    Fixture { _tmp: tmp, ledger_dir, snapshot_path, snapshot_name: committed, store_at_snapshot, service }
}

#[test]
fn read_ledger_py_reads_a_committed_snapshot_and_verifies_its_receipt() {
    let venv = ccf_venv();
    let f = fixture();
    let file = std::fs::read(&f.snapshot_path).unwrap();
    // Our own checks first: the file verifies and decodes to the store at the snapshot.
    let verified = verify_committed_snapshot(&f.snapshot_name, &file, &f.service.service_cert).unwrap();
    let decoded = decode_snapshot(verified.entry(&file), &f.service.secret).unwrap();
    assert_eq!(decoded.into_store(), f.store_at_snapshot);

    let out = read_ledger_py(&venv, &["-s", f.snapshot_path.to_str().unwrap()]);
    let shown = text(&out);
    assert!(out.status.success(), "read_ledger.py -s failed:\n{shown}");
    assert!(shown.contains("committed)"), "{shown}");
    assert!(shown.contains(&format!("txid 0.{}", f.snapshot_name.seqno)), "{shown}");
    for table in ["public:records", "public:ccf.gov.service.info", "public:ccf.internal.signatures"] {
        assert!(shown.contains(&format!("table \"{table}\"")), "{table} missing:\n{shown}");
    }
    assert!(shown.contains("-- private:"), "private tables are reported as encrypted bytes:\n{shown}");
    assert!(!shown.contains("record 2:"), "a private record leaked:\n{shown}");
    assert!(shown.contains("record 3:"), "public records are shown:\n{shown}");

    // The ledger that carries the evidence (a transaction with a claims digest) verifies too.
    let out = read_ledger_py(&venv, &["-q", f.ledger_dir.to_str().unwrap()]);
    assert!(out.status.success(), "read_ledger.py on the ledger failed:\n{}", text(&out));
    let last = f.service.signatures.keys().next_back().unwrap();
    assert!(text(&out).contains(&format!("verified until {VIEW}.{last}")), "{}", text(&out));
}

#[test]
fn read_ledger_py_rejects_a_committed_snapshot_whose_receipt_signature_is_forged() {
    let venv = ccf_venv();
    let f = fixture();
    let file = std::fs::read(&f.snapshot_path).unwrap();
    let entry_len = cairn_ledger::snapshot::snapshot_entry_len(&file).unwrap();
    let mut receipt: Receipt = serde_json::from_slice(&file[entry_len..]).unwrap();
    // Any proof step changed: the root changes and the node's signature no longer matches it.
    let step = receipt.proof[0];
    let mut sibling = *step.sibling();
    sibling.0[0] ^= 1;
    receipt.proof[0] = match step {
        cairn_ledger::merkle::ProofStep::Left(_) => cairn_ledger::merkle::ProofStep::Left(sibling),
        cairn_ledger::merkle::ProofStep::Right(_) => cairn_ledger::merkle::ProofStep::Right(sibling),
    };
    let mut forged = file[..entry_len].to_vec();
    forged.extend_from_slice(&serde_json::to_vec(&receipt).unwrap());
    std::fs::write(&f.snapshot_path, &forged).unwrap();
    let out = read_ledger_py(&venv, &["-s", f.snapshot_path.to_str().unwrap()]);
    assert!(!out.status.success(), "read_ledger.py accepted a forged receipt:\n{}", text(&out));
    assert!(text(&out).contains("InvalidSignature"), "refused for another reason:\n{}", text(&out));
    assert!(verify_committed_snapshot(&f.snapshot_name, &forged, &f.service.service_cert).is_err());
}

/// CCF's `ccf.receipt` steps: the leaf from its components, the root from the proof, the
/// signature over the root, the endorsement of the node certificate by the service.
const CCF_RECEIPT_CHECK: &str = r#"
import json, sys
from hashlib import sha256
from cryptography.x509 import load_pem_x509_certificate
import ccf.receipt
r = json.load(open(sys.argv[1]))
service = load_pem_x509_certificate(open(sys.argv[2], "rb").read())
lc = r["leaf_components"]
leaf = sha256(bytes.fromhex(lc["write_set_digest"]) + sha256(lc["commit_evidence"].encode()).digest()
              + bytes.fromhex(lc["claims_digest"])).hexdigest()
root = ccf.receipt.root(leaf, r["proof"])
node = load_pem_x509_certificate(r["cert"].encode())
ccf.receipt.verify(root, r["signature"], node)
ccf.receipt.check_endorsements(node, service, [])
print("CCF verified", lc["commit_evidence"][:12])
"#;

#[test]
fn ccf_receipt_module_and_cairn_verify_receipt_accept_our_receipts() {
    let venv = ccf_venv();
    let f = fixture();
    let dir = f.ledger_dir.parent().unwrap();
    let cert_path = dir.join("service_cert.pem");
    std::fs::write(&cert_path, f.service.service_cert.pem()).unwrap();
    // A private record, a public record, and the evidence transaction (non-zero claims).
    let evidence = f.snapshot_name.evidence_seqno;
    for seqno in [6, 7, evidence] {
        let path = dir.join(format!("receipt_{seqno}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&f.service.receipt(seqno)).unwrap()).unwrap();
        let out = Command::new(venv.join("bin/python"))
            .args(["-c", CCF_RECEIPT_CHECK, path.to_str().unwrap(), cert_path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "ccf.receipt refused the receipt of {seqno}:\n{}", text(&out));
        assert!(text(&out).contains(&format!("CCF verified ce:{VIEW}.{seqno}")), "{}", text(&out));

        let ours = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args(["ledger", "verify-receipt", path.to_str().unwrap(), "--service-cert", cert_path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(ours.status.code(), Some(0), "{}", text(&ours));
        assert!(
            text(&ours).contains(&format!("receipt for {VIEW}.{seqno} verifies against CCF Service")),
            "{}",
            text(&ours)
        );
    }
}
