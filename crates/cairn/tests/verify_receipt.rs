//! `cairn ledger verify-receipt` as an operator runs it: exit 0 and the transaction when the
//! receipt verifies, 1 naming the failed check, 2 for unreadable or malformed input.
use cairn_crypto::Certificate;
use cairn_kv::WriteSet;
use cairn_ledger::format::{EntryFlags, EntryView, TxId};
use cairn_ledger::receipt::Receipt;
use cairn_ledger::{History, LedgerSecret, ServiceIdentity, SignatureRecord, tables};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

fn service() -> ServiceIdentity {
    ServiceIdentity::create(1_767_225_600, 30).unwrap()
}

/// Three writes and a signature; the receipts of write 2 and of the signature.
fn receipts(service: &ServiceIdentity) -> (Receipt, Receipt) {
    let signer = Arc::new(service.new_local_node(1_767_225_600, 30).unwrap());
    let node_cert = Certificate::from_pem(&signer.cert_pem).unwrap();
    let secret = Arc::new(LedgerSecret::new([4; 32]));
    let mut history = History::new(secret.clone(), signer);
    let mut entries = Vec::new();
    for i in 0..3 {
        let mut ws = WriteSet::new();
        ws.put("records", format!("k{i}"), format!("v{i}"));
        entries.push(history.append_tx(2, &ws, EntryFlags::default()));
    }
    let sig = history.append_signature(2, TxId::default(), false);
    let (_, ws) = EntryView::parse(&sig.bytes).unwrap().decode_public().unwrap();
    let record: SignatureRecord =
        serde_json::from_slice(&ws.get(tables::SIGNATURES, &tables::SINGLETON_KEY).cloned().flatten().unwrap())
            .unwrap();
    let e = &entries[1];
    let receipt = Receipt::build(
        history.tree(),
        e.tx_id,
        e.digest(),
        secret.commit_evidence(e.tx_id),
        cairn_crypto::Sha256::ZERO,
        &record,
        node_cert.pem(),
    );
    (receipt, Receipt::for_signature(&record, node_cert.pem()))
}

fn verify_receipt(receipt: &Path, cert: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["ledger", "verify-receipt", receipt.to_str().unwrap(), "--service-cert", cert.to_str().unwrap()])
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn verify_receipt_exit_codes_follow_the_cli_convention() {
    let tmp = tempfile::tempdir().unwrap();
    let service = service();
    let (service_cert, other_cert) = (service.cert.clone(), self::service().cert);
    let (receipt, signature_receipt) = receipts(&service);
    let write = |name: &str, bytes: &[u8]| {
        let path = tmp.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let cert = write("service_cert.pem", service_cert.pem().as_bytes());
    let other = write("other_cert.pem", other_cert.pem().as_bytes());
    let good = write("receipt.json", &serde_json::to_vec_pretty(&receipt).unwrap());
    let sig = write("signature_receipt.json", &serde_json::to_vec(&signature_receipt).unwrap());
    let mut tampered = receipt.clone();
    tampered.leaf_components.as_mut().unwrap().write_set_digest.0[0] ^= 1;
    let tampered = write("tampered.json", &serde_json::to_vec(&tampered).unwrap());
    let mut wrong_node = receipt.clone();
    wrong_node.node_id = "00".repeat(32);
    let wrong_node = write("wrong_node.json", &serde_json::to_vec(&wrong_node).unwrap());
    let malformed = write("malformed.json", br#"{"cert": "x", "proof": [{"up": "00"}]}"#);
    let not_a_cert = write("not_a_cert.pem", b"hello");

    let table: [(&Path, &Path, i32, &str); 8] = [
        (&good, &cert, 0, "receipt for 2.2 verifies against CCF Service (SHA-256 "),
        (
            &sig,
            &cert,
            0,
            "receipt for signature transaction (said to be 2.4, which it does not prove) verifies against",
        ),
        (&tampered, &cert, 1, "`signature` does not verify over the recomputed Merkle root"),
        (&good, &other, 1, "not endorsed by the service certificate"),
        (&wrong_node, &cert, 1, "`node_id`"),
        (&malformed, &cert, 2, "is not a receipt"),
        (&tmp.path().join("missing.json"), &cert, 2, "reading receipt"),
        (&good, &not_a_cert, 2, "is not a PEM certificate"),
    ];
    for (receipt, cert, code, expected) in table {
        let out = verify_receipt(receipt, cert);
        let shown = text(&out);
        assert_eq!(out.status.code(), Some(code), "{}: {shown}", receipt.display());
        assert!(shown.contains(expected), "{}: expected {expected:?} in:\n{shown}", receipt.display());
    }
}
