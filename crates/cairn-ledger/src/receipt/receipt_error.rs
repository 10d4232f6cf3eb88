use crate::format::TxId;
use cairn_crypto::{CryptoError, Sha256};
use thiserror::Error;

/// Why a receipt does not verify; each variant names the check that failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReceiptError {
    #[error("malformed receipt: field `{field}`: {reason}")]
    Malformed { field: &'static str, reason: String },
    #[error("receipt `cert` is not a usable node certificate: {0}")]
    Cert(CryptoError),
    #[error("receipt `signature` does not verify over the recomputed Merkle root {root} with the key of `cert`")]
    BadSignature { root: Sha256 },
    #[error("receipt `cert` is not endorsed by the service certificate: {0}")]
    NotEndorsed(CryptoError),
    #[error("receipt `node_id` {node_id} is not the id of the key in `cert` ({cert_key_id})")]
    NodeIdMismatch { node_id: String, cert_key_id: String },
    #[error("receipt `transaction_id` {claimed} disagrees with its commit evidence, which is for {actual}")]
    TxIdMismatch { claimed: TxId, actual: TxId },
}
