use crate::format::{FormatError, TxId};
use crate::receipt::ReceiptError;
use cairn_crypto::Sha256;
use thiserror::Error;

/// Why a snapshot (or a committed snapshot file) is refused. Format offsets are from the start
/// of the snapshot file; a decrypted private domain's offsets are those of its ciphertext.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SnapshotError {
    #[error(
        "{name:?} is not a snapshot file name (snapshot_<seqno>_<evidence_seqno>[.committed], evidence after seqno)"
    )]
    Name { name: String },
    #[error("snapshot {0}")]
    Format(#[from] FormatError),
    #[error(
        "snapshot private domain at offset {offset}: AES-GCM authentication failed (wrong ledger secret, or tampered bytes)"
    )]
    Decrypt { offset: u64 },
    #[error("{name} is not committed: only a committed snapshot carries the receipt of its evidence")]
    NotCommitted { name: String },
    #[error(
        "{name}: no receipt after the snapshot entry (the entry ends at offset {entry_len}, the file has {file_len} bytes)"
    )]
    NoReceipt { name: String, entry_len: u64, file_len: u64 },
    #[error("{name}: the receipt at offset {offset} is not receipt JSON: {reason}")]
    ReceiptJson { name: String, offset: u64, reason: String },
    #[error("{name}: {source}")]
    Receipt { name: String, source: ReceiptError },
    #[error("{name}: the receipt is a signature receipt; a snapshot's receipt must prove its evidence transaction")]
    SignatureReceipt { name: String },
    #[error("{name}: the receipt proves claims digest {proven:?}, but the snapshot entry's SHA-256 is {actual}")]
    DigestMismatch { name: String, proven: Option<Sha256>, actual: Sha256 },
    #[error("{name}: the receipt is for transaction {receipt_tx}, not for the evidence seqno in the file name")]
    EvidenceMismatch { name: String, receipt_tx: TxId },
    #[error("{name}: the snapshot entry is at seqno {entry_seqno}, not at the seqno in the file name")]
    SeqnoMismatch { name: String, entry_seqno: u64 },
}
