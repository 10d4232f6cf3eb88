use crate::format::TxId;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cairn_crypto::{CryptoError, Sha256, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// The value of `public:ccf.internal.signatures` written by a signature transaction: the
/// node's ECDSA P-384 signature over the Merkle root of every transaction before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureRecord {
    /// Base64 DER ECDSA signature over `root` used as a prehashed SHA-256 digest.
    pub sig: String,
    /// Signing node id (hex SHA-256 of its public key).
    pub node: String,
    pub hashed_nonce: String,
    pub seqno: u64,
    pub view: u64,
    pub commit_seqno: u64,
    pub commit_view: u64,
    /// Hex Merkle root over seqnos < `seqno`.
    pub root: String,
    /// The signing node's certificate (PEM).
    pub cert: String,
}

impl SignatureRecord {
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        key: &SigningKey,
        node_id: &str,
        cert_pem: &str,
        tx: TxId,
        commit: TxId,
        root: &Sha256,
        hashed_nonce: &Sha256,
    ) -> Self {
        SignatureRecord {
            sig: B64.encode(key.sign_prehashed_sha256(root)),
            node: node_id.to_string(),
            hashed_nonce: hashed_nonce.to_hex(),
            seqno: tx.seqno,
            view: tx.view,
            commit_seqno: commit.seqno,
            commit_view: commit.view,
            root: root.to_hex(),
            cert: cert_pem.to_string(),
        }
    }

    pub fn root(&self) -> Option<Sha256> {
        Sha256::from_hex(&self.root)
    }

    pub fn signature_der(&self) -> Option<Vec<u8>> {
        B64.decode(&self.sig).ok()
    }

    pub fn verify(&self, key: &VerifyingKey) -> Result<(), CryptoError> {
        let root = self.root().ok_or(CryptoError::BadSignature)?;
        let sig = self.signature_der().ok_or(CryptoError::BadSignature)?;
        key.verify_prehashed_sha256(&root, &sig)
    }
}
