//! [`OpenedEntry`]: one ledger entry written by some primary, checked and decoded: framing, the
//! commit-evidence digest against the ledger secret of its seqno, and (optionally) the private
//! domain decrypted. Shared by the restart replay and by a backup applying replicated entries,
//! so both accept exactly the same entries.
use cairn_crypto::{Sha256, sha256};
use cairn_kv::WriteSet;
use cairn_ledger::format::{EntryView, TxId};
use cairn_ledger::merkle::{MerkleTree, leaf_digest};
use cairn_ledger::{LedgerSecrets, SignatureRecord, tables};

use crate::ReplayError;

#[derive(Debug)]
pub(crate) struct OpenedEntry {
    pub tx: TxId,
    /// Public tables, plus the private ones when decrypted.
    pub write_set: WriteSet,
    /// SHA-256 of the entry bytes.
    pub digest: Sha256,
    pub claims: Sha256,
    /// The Merkle leaf of the entry.
    pub leaf: Sha256,
    /// The signature record, when the entry is a signature transaction (with its `cert`).
    pub signature: Option<SignatureRecord>,
}

/// Whether entry `seqno` belongs to a previous service whose ledger secrets this node does not
/// hold yet: a recovered service's node (SPEC §7) knows only the secrets of its own service
/// (valid from the seqno after the previous service's last signature) until the members' shares
/// restore the older ones. Such entries are opened publicly: their private domain stays
/// encrypted, and their commit evidence cannot be checked (their signatures, over Merkle leaves
/// that include the evidence digest, still are). A node of a service that was never recovered
/// holds a secret from seqno 1, so this never applies to it.
pub(crate) fn before_known_secrets(secrets: &LedgerSecrets, seqno: u64) -> bool {
    secrets.entries().first().is_some_and(|(from, _)| seqno < *from)
}

/// Checks and decodes `bytes`, which must hold seqno `expected`. `decrypt`: also decrypt and
/// merge the private domain (not needed for entries a snapshot already covers; impossible for
/// entries [`before_known_secrets`]).
pub(crate) fn open_entry(
    bytes: &[u8],
    expected: u64,
    secrets: &LedgerSecrets,
    decrypt: bool,
) -> Result<OpenedEntry, ReplayError> {
    let err = |reason: String| ReplayError::Entry { seqno: expected, reason };
    let entry = EntryView::parse(bytes).map_err(|e| err(e.to_string()))?;
    let tx = entry.tx_id();
    if tx.seqno != expected {
        return Err(ReplayError::OutOfOrder { seqno: tx.seqno, expected });
    }
    if before_known_secrets(secrets, tx.seqno) {
        let (header, public) = entry.decode_public().map_err(|e| err(e.to_string()))?;
        let signature = signature_record(&public, tx.seqno)?;
        let digest = sha256(bytes);
        let leaf = leaf_digest(&digest, &header.commit_evidence_digest, &header.claims_digest);
        return Ok(OpenedEntry { tx, write_set: public, digest, claims: header.claims_digest, leaf, signature });
    }
    let secret = secrets.secret_for(tx.seqno).ok_or(ReplayError::NoSecret { seqno: tx.seqno })?;
    let (header, public) = entry.decode_public().map_err(|e| err(e.to_string()))?;
    if header.commit_evidence_digest != secret.commit_evidence_digest(tx) {
        return Err(err("commit evidence digest does not match the ledger secret".into()));
    }
    let signature = signature_record(&public, tx.seqno)?;
    let write_set = if decrypt {
        let private = entry.decrypt_private(secret.key()).map_err(|e| err(e.to_string()))?;
        public.merged(private)
    } else {
        public
    };
    let digest = sha256(bytes);
    let leaf = leaf_digest(&digest, &header.commit_evidence_digest, &header.claims_digest);
    Ok(OpenedEntry { tx, write_set, digest, claims: header.claims_digest, leaf, signature })
}

fn signature_record(public: &WriteSet, seqno: u64) -> Result<Option<SignatureRecord>, ReplayError> {
    match public.get(tables::SIGNATURES, &tables::SINGLETON_KEY) {
        Some(Some(value)) => serde_json::from_slice::<SignatureRecord>(value)
            .map(Some)
            .map_err(|e| ReplayError::Signature { seqno, reason: format!("signature record: {e}") }),
        _ => Ok(None),
    }
}

/// Checks that `record` (the signature transaction at `tx`) signs the root of `tree`, which
/// must cover every seqno before it, with the key of the certificate it names.
pub(crate) fn verify_signature(record: &SignatureRecord, tx: TxId, tree: &MerkleTree) -> Result<(), ReplayError> {
    let bad = |reason: String| ReplayError::Signature { seqno: tx.seqno, reason };
    assert_eq!(tree.leaf_count(), tx.seqno, "the tree must cover every seqno before the signature");
    let root = tree.root().expect("tree has the zero leaf");
    if record.root() != Some(root) {
        return Err(bad(format!("root {} does not match the ledger's {}", record.root, root.to_hex())));
    }
    let cert = cairn_crypto::Certificate::from_pem(&record.cert).map_err(|e| bad(e.to_string()))?;
    let key = cert.verifying_key().map_err(|e| bad(e.to_string()))?;
    record.verify(&key).map_err(|e| bad(e.to_string()))
}

/// Whether `bytes` is a signature transaction (it writes the signatures table). Entries that
/// do not parse are not signatures (they are refused when opened).
pub(crate) fn is_signature_entry(bytes: &[u8]) -> bool {
    EntryView::parse(bytes).and_then(|e| e.public_has_table(tables::SIGNATURES)).unwrap_or(false)
}
