//! Receipts built from a generated history verify for every transaction and against every later
//! signature; each kind of tampering fails the check that names it.
use cairn_crypto::{Certificate, Sha256, SigningKey, sha256};
use cairn_kv::WriteSet;
use cairn_ledger::format::{EntryFlags, EntryView, TxId};
use cairn_ledger::merkle::ProofStep;
use cairn_ledger::receipt::{Receipt, ReceiptError};
use cairn_ledger::{History, LedgerSecret, NodeSigner, ServiceIdentity, SignatureRecord, tables};
use std::collections::BTreeMap;
use std::sync::Arc;

const VIEW: u64 = 2;

/// Certificates are valid from 2026-01-01.
const NOT_BEFORE: i64 = 1_767_225_600;

/// A service identity and a node it endorsed.
struct Identity {
    service: ServiceIdentity,
    service_cert: Certificate,
    node_key: SigningKey,
    node_cert: Certificate,
}

impl Identity {
    fn new() -> Self {
        let service = ServiceIdentity::create(NOT_BEFORE, 30).unwrap();
        let node_key = SigningKey::generate().unwrap();
        let node_cert = service.endorse_node(&node_key, vec!["127.0.0.1".into()], NOT_BEFORE, 30).unwrap();
        Identity { service_cert: service.cert.clone(), service, node_key, node_cert }
    }
}

/// What a receipt needs of each transaction.
struct TxFacts {
    tx: TxId,
    write_set_digest: Sha256,
    claims: Sha256,
}

/// A history of `transactions` writes (every third with claims), signed every `every` writes.
struct Ledger {
    history: History,
    secret: Arc<LedgerSecret>,
    node_cert_pem: String,
    txs: Vec<TxFacts>,
    signatures: BTreeMap<u64, SignatureRecord>,
}

fn generate(id: &Identity, transactions: u64, every: u64) -> Ledger {
    let secret = Arc::new(LedgerSecret::new([9; 32]));
    let key = SigningKey::from_pem(&id.node_key.to_pem()).unwrap();
    let signer = Arc::new(NodeSigner::new(key, id.node_cert.pem().to_string()));
    let mut ledger = Ledger {
        history: History::new(secret.clone(), signer),
        secret,
        node_cert_pem: id.node_cert.pem().to_string(),
        txs: Vec::new(),
        signatures: BTreeMap::new(),
    };
    for i in 0..transactions {
        let mut ws = WriteSet::new();
        ws.put(if i % 2 == 0 { "records" } else { "public:records" }, i.to_string(), format!("value {i}"));
        let claims = if i % 3 == 0 { sha256(format!("claims {i}").as_bytes()) } else { Sha256::ZERO };
        let e = ledger.history.append_tx_with_claims(VIEW, &ws, EntryFlags::default(), claims);
        ledger.txs.push(TxFacts { tx: e.tx_id, write_set_digest: e.digest(), claims });
        if (i + 1) % every == 0 || i + 1 == transactions {
            let sig = ledger.history.append_signature(VIEW, TxId::default(), false);
            let (_, public) = EntryView::parse(&sig.bytes).unwrap().decode_public().unwrap();
            let record = public.get(tables::SIGNATURES, &tables::SINGLETON_KEY).cloned().flatten().unwrap();
            ledger.signatures.insert(sig.tx_id.seqno, serde_json::from_slice(&record).unwrap());
            ledger.txs.push(TxFacts { tx: sig.tx_id, write_set_digest: sig.digest(), claims: Sha256::ZERO });
        }
    }
    ledger
}

impl Ledger {
    fn receipt_against(&self, facts: &TxFacts, signature: &SignatureRecord) -> Receipt {
        Receipt::build(
            self.history.tree(),
            facts.tx,
            facts.write_set_digest,
            self.secret.commit_evidence(facts.tx),
            facts.claims,
            signature,
            &self.node_cert_pem,
        )
    }

    /// The receipt of `facts` against the first signature after it.
    fn receipt(&self, facts: &TxFacts) -> Receipt {
        let (_, signature) = self.signatures.range(facts.tx.seqno + 1..).next().unwrap();
        self.receipt_against(facts, signature)
    }
}

#[test]
fn receipts_for_every_transaction_verify_against_every_later_signature() {
    let id = Identity::new();
    let ledger = generate(&id, 23, 5);
    let mut checked = 0;
    for facts in &ledger.txs {
        for signature in ledger.signatures.range(facts.tx.seqno + 1..).map(|(_, s)| s) {
            let receipt = ledger.receipt_against(facts, signature);
            let verified = receipt.verify(&id.service_cert).unwrap();
            assert_eq!(verified.tx_id, Some(facts.tx));
            assert_eq!(Some(verified.root), signature.root());
            assert_eq!(receipt.claims_digest(), Some(facts.claims));
            // The JSON form (what `/node/receipt` returns) verifies the same way.
            let back: Receipt = serde_json::from_slice(&serde_json::to_vec(&receipt).unwrap()).unwrap();
            assert_eq!(back, receipt);
            checked += 1;
        }
    }
    // 23 writes and 5 signatures; every tx against each signature after it.
    assert!(checked > ledger.txs.len(), "{checked}");
}

#[test]
fn signature_transactions_have_receipts_with_the_signed_root_as_leaf() {
    let id = Identity::new();
    let ledger = generate(&id, 6, 3);
    for (seqno, signature) in &ledger.signatures {
        let receipt = Receipt::for_signature(signature, &ledger.node_cert_pem);
        assert!(receipt.is_signature_transaction() && receipt.proof.is_empty());
        let verified = receipt.verify(&id.service_cert).unwrap();
        // The root is proven; the transaction id the receipt names is not signed.
        assert_eq!((verified.tx_id, Some(verified.root)), (None, signature.root()));
        assert_eq!(receipt.transaction_id, Some(TxId::new(VIEW, *seqno)));
    }
}

#[test]
fn receipt_json_uses_ccf_field_names() {
    let id = Identity::new();
    let ledger = generate(&id, 4, 4);
    let json = serde_json::to_value(ledger.receipt(&ledger.txs[1])).unwrap();
    let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    let expected =
        ["cert", "leaf_components", "node_id", "proof", "signature", "signature_transaction_id", "transaction_id"];
    assert_eq!(keys, expected);
    let components: Vec<&str> = json["leaf_components"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(components, ["claims_digest", "commit_evidence", "write_set_digest"]);
    assert!(json["leaf_components"]["commit_evidence"].as_str().unwrap().starts_with("ce:2.2:"));
    assert!(json["proof"].as_array().unwrap().iter().all(|s| s.get("left").is_some() ^ s.get("right").is_some()));
    assert_eq!(json["transaction_id"], "2.2");
}

fn flip_hex(hex: &str) -> String {
    let mut d = Sha256::from_hex(hex).unwrap();
    d.0[0] ^= 1;
    d.to_hex()
}

#[test]
fn each_kind_of_tampering_fails_the_check_that_names_it() {
    let id = Identity::new();
    let other = Identity::new();
    let ledger = generate(&id, 12, 12);
    let good = ledger.receipt(&ledger.txs[4]);
    assert!(good.proof.len() >= 3, "a proof long enough to tamper with: {:?}", good.proof);
    let other_node_cert = other.node_cert.pem().to_string();
    // Same node key, but endorsed by another service: a valid signature, a foreign endorsement.
    let foreign_endorsement = other.service.endorse_node(&id.node_key, vec![], NOT_BEFORE, 30).unwrap();

    type Tamper = Box<dyn Fn(&mut Receipt)>;
    type Expected = fn(&ReceiptError) -> bool;
    let table: Vec<(&str, Tamper, Expected)> = vec![
        (
            "flipped proof step",
            Box::new(|r| {
                let step = r.proof[1];
                let mut d = *step.sibling();
                d.0[3] ^= 0x10;
                r.proof[1] = match step {
                    ProofStep::Left(_) => ProofStep::Left(d),
                    ProofStep::Right(_) => ProofStep::Right(d),
                };
            }),
            |e| matches!(e, ReceiptError::BadSignature { .. }),
        ),
        (
            "proof step on the wrong side",
            Box::new(|r| {
                r.proof[0] = match r.proof[0] {
                    ProofStep::Left(d) => ProofStep::Right(d),
                    ProofStep::Right(d) => ProofStep::Left(d),
                };
            }),
            |e| matches!(e, ReceiptError::BadSignature { .. }),
        ),
        (
            "dropped proof step",
            Box::new(|r| {
                r.proof.pop();
            }),
            |e| matches!(e, ReceiptError::BadSignature { .. }),
        ),
        (
            "flipped write set digest",
            Box::new(|r| r.leaf_components.as_mut().unwrap().write_set_digest.0[31] ^= 1),
            |e| matches!(e, ReceiptError::BadSignature { .. }),
        ),
        (
            "flipped claims digest",
            Box::new(|r| r.leaf_components.as_mut().unwrap().claims_digest.as_mut().unwrap().0[0] ^= 1),
            |e| matches!(e, ReceiptError::BadSignature { .. }),
        ),
        (
            "commit evidence of another transaction",
            Box::new(|r| {
                let c = r.leaf_components.as_mut().unwrap();
                c.commit_evidence = c.commit_evidence.replacen("ce:2.5:", "ce:2.6:", 1);
                r.transaction_id = None;
            }),
            |e| matches!(e, ReceiptError::BadSignature { .. }),
        ),
        (
            "transaction id that the commit evidence contradicts",
            Box::new(|r| r.transaction_id = Some(TxId::new(2, 6))),
            |e| matches!(e, ReceiptError::TxIdMismatch { .. }),
        ),
        (
            "flipped signature byte",
            Box::new(|r| {
                use base64::Engine;
                let b64 = base64::engine::general_purpose::STANDARD;
                let mut sig = b64.decode(&r.signature).unwrap();
                let last = sig.len() - 1;
                sig[last] ^= 1;
                r.signature = b64.encode(sig);
            }),
            |e| matches!(e, ReceiptError::BadSignature { .. }),
        ),
        ("signature not base64", Box::new(|r| r.signature = "not base64!".into()), |e| {
            matches!(e, ReceiptError::Malformed { field: "signature", .. })
        }),
        ("another node's certificate", Box::new(move |r| r.cert = other_node_cert.clone()), |e| {
            matches!(e, ReceiptError::BadSignature { .. })
        }),
        (
            "node certificate endorsed by another service",
            Box::new(move |r| r.cert = foreign_endorsement.pem().to_string()),
            |e| matches!(e, ReceiptError::NotEndorsed(_)),
        ),
        ("node id of another key", Box::new(|r| r.node_id = flip_hex(&r.node_id)), |e| {
            matches!(e, ReceiptError::NodeIdMismatch { .. })
        }),
        ("garbage certificate", Box::new(|r| r.cert = "nope".into()), |e| matches!(e, ReceiptError::Cert(_))),
        ("both leaf and leaf components", Box::new(|r| r.leaf = Some(Sha256::ZERO.to_hex())), |e| {
            matches!(e, ReceiptError::Malformed { field: "leaf_components", .. })
        }),
        (
            "malformed commit evidence",
            Box::new(|r| r.leaf_components.as_mut().unwrap().commit_evidence = "ce:2.5".into()),
            |e| matches!(e, ReceiptError::Malformed { field: "leaf_components.commit_evidence", .. }),
        ),
    ];
    assert_eq!(good.verify(&id.service_cert).unwrap().tx_id, Some(TxId::new(2, 5)));
    for (scenario, tamper, expected) in &table {
        let mut receipt = good.clone();
        tamper(&mut receipt);
        let err = receipt.verify(&id.service_cert).expect_err(scenario);
        assert!(expected(&err), "{scenario}: unexpected {err:?}");
        assert!(!err.to_string().is_empty());
    }
    let err = good.verify(&other.service_cert).unwrap_err();
    assert!(matches!(err, ReceiptError::NotEndorsed(_)), "wrong service certificate: {err:?}");
}

#[test]
#[should_panic(expected = "does not cover tx")]
fn building_a_receipt_against_an_earlier_signature_is_a_bug() {
    let id = Identity::new();
    let ledger = generate(&id, 8, 4);
    let (_, first_signature) = ledger.signatures.iter().next().unwrap();
    let last = ledger.txs.iter().rev().find(|t| t.tx.seqno > first_signature.seqno).unwrap();
    ledger.receipt_against(last, first_signature);
}
