use thiserror::Error;

/// Errors of the cryptographic wrappers; each names what failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CryptoError {
    #[error("AES-GCM authentication failed (wrong key, or tampered ciphertext, tag or AAD)")]
    AuthenticationFailed,
    #[error("invalid key material: {0}")]
    InvalidKey(String),
    #[error("signature does not verify")]
    BadSignature,
    #[error("invalid certificate: {0}")]
    InvalidCertificate(String),
    #[error("key generation or signing failed: {0}")]
    Internal(String),
}
