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
/// entries [`before_known_secrets`]). `digest`: `sha256(bytes)` if the caller has it.
pub(crate) fn open_entry(
    bytes: &[u8],
    expected: u64,
    secrets: &LedgerSecrets,
    decrypt: bool,
    digest: Option<Sha256>,
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
        let digest = digest.unwrap_or_else(|| sha256(bytes));
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
    let digest = digest.unwrap_or_else(|| sha256(bytes));
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
    check_signed_root(record, tx, tree)?;
    verify_record(record).map_err(|reason| ReplayError::Signature { seqno: tx.seqno, reason })
}

/// The first half of [`verify_signature`]: the record signs the root of `tree`.
pub(crate) fn check_signed_root(record: &SignatureRecord, tx: TxId, tree: &MerkleTree) -> Result<(), ReplayError> {
    assert_eq!(tree.leaf_count(), tx.seqno, "the tree must cover every seqno before the signature");
    let root = tree.root().expect("tree has the zero leaf");
    if record.root() != Some(root) {
        let reason = format!("root {} does not match the ledger's {}", record.root, root.to_hex());
        return Err(ReplayError::Signature { seqno: tx.seqno, reason });
    }
    Ok(())
}

/// The second half: the signature over the record's root verifies with the key of the
/// certificate it names. Independent of the tree, so a replay checks it on another thread.
fn verify_record(record: &SignatureRecord) -> Result<(), String> {
    let cert = cairn_crypto::Certificate::from_pem(&record.cert).map_err(|e| e.to_string())?;
    let key = cert.verifying_key().map_err(|e| e.to_string())?;
    record.verify(&key).map_err(|e| e.to_string())
}

/// Whether `bytes` is a signature transaction whose signature verifies ([`verify_record`]):
/// computed ahead of the replay (`ledger_read.rs`). `false` for anything else; the replay then
/// checks the entry itself and names what is wrong.
pub(crate) fn signature_verifies(bytes: &[u8]) -> bool {
    let Ok(entry) = EntryView::parse(bytes) else { return false };
    if !entry.public_has_table(tables::SIGNATURES).unwrap_or(false) {
        return false;
    }
    let Ok((_, public)) = entry.decode_public() else { return false };
    matches!(signature_record(&public, entry.tx_id().seqno), Ok(Some(record)) if verify_record(&record).is_ok())
}

/// Whether `bytes` is a signature transaction (it writes the signatures table). Entries that
/// do not parse are not signatures (they are refused when opened).
pub(crate) fn is_signature_entry(bytes: &[u8]) -> bool {
    EntryView::parse(bytes).and_then(|e| e.public_has_table(tables::SIGNATURES)).unwrap_or(false)
}
