use super::{SNAPSHOT_ENTRY_TYPE, SnapshotError, SnapshotName};
use crate::format::{ENTRY_FORMAT_V1, ENTRY_HEADER_BYTES, EntryHeader, FormatError, GCM_HEADER_BYTES, TxId};
use crate::receipt::Receipt;
use cairn_crypto::{Certificate, sha256};

/// A committed snapshot file that verified: where its entry ends, and its receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedSnapshot {
    /// Length of the snapshot entry at the start of the file (the receipt follows it).
    pub entry_len: usize,
    pub receipt: Receipt,
    /// The evidence transaction the receipt proves.
    pub evidence_tx: TxId,
}

impl CommittedSnapshot {
    /// The snapshot entry inside the verified `file` (what `decode_snapshot` takes).
    pub fn entry<'a>(&self, file: &'a [u8]) -> &'a [u8] {
        &file[..self.entry_len]
    }
}

/// Length of the snapshot entry at the start of `bytes` (header and body), from its header.
/// Checks the header (version 1, no flags) and that the whole entry is present.
pub fn snapshot_entry_len(bytes: &[u8]) -> Result<usize, SnapshotError> {
    let header = EntryHeader::decode_raw(bytes)?;
    let invalid = |offset, field, reason: String| SnapshotError::Format(FormatError::Invalid { offset, field, reason });
    if header.version != ENTRY_FORMAT_V1 {
        return Err(invalid(0, "entry header version", format!("{} (expected {ENTRY_FORMAT_V1})", header.version)));
    }
    if header.flags.0 != 0 {
        return Err(invalid(1, "entry header flags", format!("{:#04x} (a snapshot has none)", header.flags.0)));
    }
    if header.size < (GCM_HEADER_BYTES + 8) as u64 {
        return Err(invalid(2, "entry header size", format!("{} bytes cannot hold the GCM header", header.size)));
    }
    let available = (bytes.len() - ENTRY_HEADER_BYTES) as u64;
    if header.size > available {
        let what = "snapshot entry body";
        return Err(
            FormatError::Truncated { offset: ENTRY_HEADER_BYTES as u64, needed: header.size, available, what }.into()
        );
    }
    Ok(ENTRY_HEADER_BYTES + header.size as usize)
}

/// Checks a committed snapshot file by itself against the service identity: its receipt (the
/// JSON after the entry) verifies against `service_cert`, proves a claims digest equal to the
/// SHA-256 of the entry bytes, and is for transaction `name.evidence_seqno`; the entry is a
/// snapshot at `name.seqno`. Does not decode the tables (see `decode_snapshot`).
pub fn verify_committed_snapshot(
    name: &SnapshotName,
    file: &[u8],
    service_cert: &Certificate,
) -> Result<CommittedSnapshot, SnapshotError> {
    let shown = name.to_string();
    if !name.committed {
        return Err(SnapshotError::NotCommitted { name: shown });
    }
    let entry_len = snapshot_entry_len(file)?;
    let public_start = ENTRY_HEADER_BYTES + GCM_HEADER_BYTES + 8;
    // Entry type u8, then the seqno u64, at the start of the public domain.
    let entry_type = file.get(public_start).copied();
    let entry_seqno = file.get(public_start + 1..public_start + 9).map(|s| u64::from_le_bytes(s.try_into().unwrap()));
    if entry_type != Some(SNAPSHOT_ENTRY_TYPE) || public_start + 9 > entry_len {
        let reason = format!("{entry_type:?} (a snapshot has type {SNAPSHOT_ENTRY_TYPE})");
        return Err(FormatError::Invalid { offset: public_start as u64, field: "entry type", reason }.into());
    }
    let entry_seqno = entry_seqno.expect("inside the entry");
    if entry_seqno != name.seqno {
        return Err(SnapshotError::SeqnoMismatch { name: shown, entry_seqno });
    }
    if entry_len == file.len() {
        return Err(SnapshotError::NoReceipt { name: shown, entry_len: entry_len as u64, file_len: file.len() as u64 });
    }
    let receipt: Receipt = serde_json::from_slice(&file[entry_len..]).map_err(|e| SnapshotError::ReceiptJson {
        name: shown.clone(),
        offset: entry_len as u64,
        reason: e.to_string(),
    })?;
    let verified =
        receipt.verify(service_cert).map_err(|source| SnapshotError::Receipt { name: shown.clone(), source })?;
    if receipt.is_signature_transaction() {
        return Err(SnapshotError::SignatureReceipt { name: shown });
    }
    let actual = sha256(&file[..entry_len]);
    if receipt.claims_digest() != Some(actual) {
        return Err(SnapshotError::DigestMismatch { name: shown, proven: receipt.claims_digest(), actual });
    }
    let evidence_tx = verified.tx_id.expect("a proof receipt names its transaction");
    if evidence_tx.seqno != name.evidence_seqno {
        return Err(SnapshotError::EvidenceMismatch { name: shown, receipt_tx: evidence_tx });
    }
    Ok(CommittedSnapshot { entry_len, receipt, evidence_tx })
}
