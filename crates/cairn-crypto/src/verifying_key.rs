use crate::{CryptoError, Sha256, sha256};
use aws_lc_rs::digest::{Digest, SHA256};
use aws_lc_rs::signature::{ECDSA_P384_SHA256_ASN1, ECDSA_P384_SHA384_ASN1, ECDSA_P384_SHA384_FIXED, ParsedPublicKey};

/// An ECDSA P-384 public key, parsed once and reused for many verifications.
#[derive(Debug)]
pub struct VerifyingKey {
    spki_der: Vec<u8>,
    prehashed: ParsedPublicKey,
    message: ParsedPublicKey,
}

impl VerifyingKey {
    /// From a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(spki_der: &[u8]) -> Result<Self, CryptoError> {
        let parse = |alg| {
            ParsedPublicKey::new(alg, spki_der).map_err(|e| CryptoError::InvalidKey(format!("P-384 public key: {e}")))
        };
        Ok(VerifyingKey {
            spki_der: spki_der.to_vec(),
            prehashed: parse(&ECDSA_P384_SHA256_ASN1)?,
            message: parse(&ECDSA_P384_SHA384_ASN1)?,
        })
    }

    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// CCF's node id: hex SHA-256 of the DER public key.
    pub fn key_id(&self) -> String {
        sha256(&self.spki_der).to_hex()
    }

    pub fn verify_prehashed_sha256(&self, digest: &Sha256, der_signature: &[u8]) -> Result<(), CryptoError> {
        let digest = Digest::import_less_safe(digest.as_bytes(), &SHA256).expect("32-byte digest");
        self.prehashed.verify_digest_sig(&digest, der_signature).map_err(|_| CryptoError::BadSignature)
    }

    pub fn verify_message(&self, message: &[u8], der_signature: &[u8]) -> Result<(), CryptoError> {
        self.message.verify_sig(message, der_signature).map_err(|_| CryptoError::BadSignature)
    }

    /// Checks a fixed-size `r ‖ s` (96-byte) ECDSA-SHA384 signature over `message`, COSE ES384's
    /// encoding. Any other length is a bad signature.
    pub fn verify_message_fixed(&self, message: &[u8], fixed_signature: &[u8]) -> Result<(), CryptoError> {
        let key = ParsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, &self.spki_der)
            .map_err(|e| CryptoError::InvalidKey(format!("P-384 public key: {e}")))?;
        key.verify_sig(message, fixed_signature).map_err(|_| CryptoError::BadSignature)
    }
}
