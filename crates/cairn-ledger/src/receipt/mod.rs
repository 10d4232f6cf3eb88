//! Transaction receipts in CCF 6.x's JSON form (what `GET /node/receipt?transaction_id=`
//! returns, and what is appended to a committed snapshot): a Merkle inclusion proof from the
//! transaction's leaf to a root, that root's ECDSA signature by a node, and the node's
//! certificate, which the service identity endorsed. Anyone holding `service_cert.pem` can
//! check a receipt offline, without the ledger.
//!
//! ```json
//! {"cert": "<node PEM>", "leaf_components": {"claims_digest": hex, "commit_evidence":
//!  "ce:V.S:hex", "write_set_digest": hex}, "node_id": hex, "proof": [{"left": hex} |
//!  {"right": hex}, ...], "signature": "<b64 DER>", "signature_transaction_id": "V.S",
//!  "transaction_id": "V.S"}
//! ```
//! A receipt for a signature transaction has no proof and no leaf components: `leaf` is the
//! signed root itself (CCF's `SignatureReceipt`). `transaction_id` and
//! `signature_transaction_id` are Cairn additions (CCF's JSON has neither); CCF's verifier
//! ignores them. Fields are in alphabetical order, as CCF's JSON library writes them.
//!
//! Verification ([`Receipt::verify`]): leaf = SHA-256(write_set_digest ‖
//! SHA-256(commit_evidence) ‖ claims_digest); walk `proof` to the root; `signature` must verify
//! over the root (prehashed SHA-256, ECDSA P-384) with `cert`'s key; `cert` must be issued by
//! the service certificate's key; `node_id` must be `cert`'s key id. The transaction id is read
//! from the commit evidence, which the leaf binds.
//!
//! Invariant of [`Receipt::build`]: the receipt it returns verifies (it checks the leaf and the
//! signed root against the tree and panics on a caller bug).

pub(crate) mod json_fields;
mod leaf_components;
mod receipt_error;

pub use leaf_components::LeafComponents;
pub use receipt_error::ReceiptError;

use crate::SignatureRecord;
use crate::format::TxId;
use crate::merkle::{MerkleTree, ProofStep};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cairn_crypto::{Certificate, Sha256};
use json_fields::opt_tx_id;
use serde::{Deserialize, Serialize};

/// A receipt (CCF's v1 JSON receipt; see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The signing node's certificate (PEM), endorsed by the service identity.
    pub cert: String,
    /// Signature receipts only: the signed root (hex), which is the whole proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf: Option<String>,
    /// Every other receipt: what the transaction's Merkle leaf is made of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_components: Option<LeafComponents>,
    /// Hex SHA-256 of the signing node's public key (DER).
    pub node_id: String,
    /// From the leaf up to the signed root.
    pub proof: Vec<ProofStep>,
    /// Base64 DER ECDSA signature over the root (the signature record's `sig`).
    pub signature: String,
    /// The signature transaction whose root the proof reaches (Cairn addition).
    #[serde(default, with = "opt_tx_id", skip_serializing_if = "Option::is_none")]
    pub signature_transaction_id: Option<TxId>,
    /// The transaction this receipt is for (Cairn addition; checked against the commit evidence).
    #[serde(default, with = "opt_tx_id", skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<TxId>,
}

/// What a verified receipt proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The transaction, from the commit evidence. `None` for a signature receipt: its
    /// `transaction_id` field is not covered by the signature (the root is all it proves).
    pub tx_id: Option<TxId>,
    /// The Merkle root the node signed.
    pub root: Sha256,
}

impl Receipt {
    /// The receipt of transaction `tx`, whose leaf is made of `write_set_digest`,
    /// `commit_evidence` and `claims_digest`, against the signature transaction `signature`
    /// (which signed the root of the first `signature.seqno` leaves of `tree`).
    ///
    /// Panics if `tx` is not covered by the signature, if the tree does not hold the
    /// signature's root, or if the components are not the tree's leaf: the receipt would not
    /// verify, and that is a bug in the caller.
    pub fn build(
        tree: &MerkleTree,
        tx: TxId,
        write_set_digest: Sha256,
        commit_evidence: String,
        claims_digest: Sha256,
        signature: &SignatureRecord,
        node_cert_pem: &str,
    ) -> Receipt {
        let size = signature.seqno;
        assert!(
            tx.seqno >= 1 && tx.seqno < size && size <= tree.leaf_count(),
            "signature at seqno {size} does not cover tx {tx} in a tree of {} leaves",
            tree.leaf_count()
        );
        assert_eq!(tree.root_at(size), signature.root(), "the tree disagrees with the root signed at seqno {size}");
        let leaf_components = LeafComponents { claims_digest: Some(claims_digest), commit_evidence, write_set_digest };
        assert_eq!(Some(leaf_components.leaf()), tree.leaf(tx.seqno), "leaf components are not leaf {}", tx.seqno);
        Receipt {
            cert: node_cert_pem.to_string(),
            leaf: None,
            leaf_components: Some(leaf_components),
            node_id: signature.node.clone(),
            proof: tree.path(tx.seqno, size),
            signature: signature.sig.clone(),
            signature_transaction_id: Some(TxId::new(signature.view, signature.seqno)),
            transaction_id: Some(tx),
        }
    }

    /// The receipt of the signature transaction `signature` itself: its signed root is the
    /// leaf, with an empty proof (as CCF does).
    pub fn for_signature(signature: &SignatureRecord, node_cert_pem: &str) -> Receipt {
        let tx = TxId::new(signature.view, signature.seqno);
        Receipt {
            cert: node_cert_pem.to_string(),
            leaf: Some(signature.root.clone()),
            leaf_components: None,
            node_id: signature.node.clone(),
            proof: Vec::new(),
            signature: signature.sig.clone(),
            signature_transaction_id: Some(tx),
            transaction_id: Some(tx),
        }
    }

    pub fn is_signature_transaction(&self) -> bool {
        self.leaf_components.is_none()
    }

    /// The claims digest the receipt proves (zero for a transaction without claims).
    pub fn claims_digest(&self) -> Option<Sha256> {
        self.leaf_components.as_ref().and_then(|c| c.claims_digest)
    }

    /// The root the proof reaches, and the transaction it is for, without checking signatures.
    fn root_and_tx(&self) -> Result<(Sha256, Option<TxId>), ReceiptError> {
        let malformed = |field, reason: &str| ReceiptError::Malformed { field, reason: reason.to_string() };
        match (&self.leaf, &self.leaf_components) {
            (Some(leaf), None) => {
                if !self.proof.is_empty() {
                    return Err(malformed("proof", "a signature receipt (with `leaf`) has no proof"));
                }
                let root = Sha256::from_hex(leaf).ok_or_else(|| malformed("leaf", "not a hex SHA-256 digest"))?;
                Ok((root, None))
            }
            (None, Some(components)) => {
                let actual = components
                    .tx_id()
                    .ok_or_else(|| malformed("leaf_components.commit_evidence", "not of the form ce:VIEW.SEQNO:HEX"))?;
                if let Some(claimed) = self.transaction_id.filter(|claimed| *claimed != actual) {
                    return Err(ReceiptError::TxIdMismatch { claimed, actual });
                }
                Ok((ProofStep::walk(&components.leaf(), &self.proof), Some(actual)))
            }
            _ => Err(malformed("leaf_components", "a receipt has exactly one of `leaf` and `leaf_components`")),
        }
    }

    /// Checks the receipt against the service identity (see the module documentation for the
    /// order of the checks).
    pub fn verify(&self, service_cert: &Certificate) -> Result<VerifiedReceipt, ReceiptError> {
        let (root, tx_id) = self.root_and_tx()?;
        let signature = B64
            .decode(&self.signature)
            .map_err(|e| ReceiptError::Malformed { field: "signature", reason: format!("not base64: {e}") })?;
        let cert = Certificate::from_pem(&self.cert).map_err(ReceiptError::Cert)?;
        let node_key = cert.verifying_key().map_err(ReceiptError::Cert)?;
        node_key.verify_prehashed_sha256(&root, &signature).map_err(|_| ReceiptError::BadSignature { root })?;
        let service_key = service_cert.verifying_key().map_err(ReceiptError::NotEndorsed)?;
        cert.verify_issued_by(&service_key).map_err(ReceiptError::NotEndorsed)?;
        let cert_key_id = node_key.key_id();
        if self.node_id != cert_key_id {
            return Err(ReceiptError::NodeIdMismatch { node_id: self.node_id.clone(), cert_key_id });
        }
        Ok(VerifiedReceipt { tx_id, root })
    }
}
