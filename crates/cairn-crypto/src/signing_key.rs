use crate::{CryptoError, Sha256, VerifyingKey};
use aws_lc_rs::digest::{Digest, SHA384};
use aws_lc_rs::signature::{ECDSA_P384_SHA384_ASN1_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use std::fmt;

/// An ECDSA P-384 identity key (service, node, member or user).
///
/// CCF signs a 32-byte SHA-256 digest (the Merkle root) directly with a P-384 key ("prehashed").
/// ECDSA turns the digest into an integer; a 32-byte digest left-padded with 16 zero bytes to
/// P-384's 48-byte digest width is the same integer, so `sign_prehashed_sha256` signs through
/// aws-lc's SHA-384 digest path and verifiers using prehashed SHA-256 (CCF's `read_ledger.py`)
/// accept the result. A unit test checks exactly that equivalence.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    rcgen: rcgen::KeyPair,
}

impl SigningKey {
    pub fn generate() -> Result<Self, CryptoError> {
        let rcgen = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384)
            .map_err(|e| CryptoError::Internal(e.to_string()))?;
        Self::from_rcgen(rcgen)
    }

    fn from_rcgen(rcgen: rcgen::KeyPair) -> Result<Self, CryptoError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, rcgen.serialized_der())
            .map_err(|e| CryptoError::InvalidKey(e.to_string()))?;
        Ok(SigningKey { pair, rcgen })
    }

    /// Parses a PKCS#8 PEM private key ("-----BEGIN PRIVATE KEY-----").
    pub fn from_pem(pem: &str) -> Result<Self, CryptoError> {
        let rcgen = rcgen::KeyPair::from_pem(pem).map_err(|e| CryptoError::InvalidKey(e.to_string()))?;
        Self::from_rcgen(rcgen)
    }

    pub fn to_pem(&self) -> String {
        self.rcgen.serialize_pem()
    }

    pub fn public_key_der(&self) -> Vec<u8> {
        rcgen::PublicKeyData::subject_public_key_info(&self.rcgen)
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey::from_spki_der(&self.public_key_der()).expect("own public key parses")
    }

    /// DER-encoded ECDSA signature over a SHA-256 digest used as the message hash.
    pub fn sign_prehashed_sha256(&self, digest: &Sha256) -> Vec<u8> {
        let mut padded = [0u8; 48];
        padded[16..].copy_from_slice(digest.as_bytes());
        let digest = Digest::import_less_safe(&padded, &SHA384).expect("48-byte digest");
        self.pair.sign_digest(&digest).expect("ECDSA signing with a valid key does not fail").as_ref().to_vec()
    }

    /// DER-encoded ECDSA-SHA384 signature over `message` (certificates, COSE).
    pub fn sign_message(&self, message: &[u8]) -> Vec<u8> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.pair.sign(&rng, message).expect("ECDSA signing does not fail").as_ref().to_vec()
    }

    /// Fixed-size ECDSA-SHA384 signature over `message`: `r ‖ s`, 48 bytes each (96 in all),
    /// the encoding COSE's ES384 uses (RFC 9053 §2.1), e.g. for governance requests.
    pub fn sign_message_fixed(&self, message: &[u8]) -> Vec<u8> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, self.rcgen.serialized_der())
            .expect("own PKCS#8 key parsed at construction");
        let rng = aws_lc_rs::rand::SystemRandom::new();
        pair.sign(&rng, message).expect("ECDSA signing does not fail").as_ref().to_vec()
    }

    /// The uncompressed public point, as aws-lc reports it.
    pub fn public_point(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    pub(crate) fn rcgen_key(&self) -> &rcgen::KeyPair {
        &self.rcgen
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(P-384, <redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sha256;

    #[test]
    fn prehashed_signature_verifies_as_p384_over_sha256_digest() {
        let key = SigningKey::generate().unwrap();
        let root = sha256(b"merkle root");
        let sig = key.sign_prehashed_sha256(&root);
        let vk = key.verifying_key();
        vk.verify_prehashed_sha256(&root, &sig).unwrap();
        assert_eq!(vk.verify_prehashed_sha256(&sha256(b"other"), &sig), Err(CryptoError::BadSignature));
    }

    #[test]
    fn fixed_signature_is_96_bytes_and_verifies_only_over_its_message() {
        let key = SigningKey::generate().unwrap();
        let sig = key.sign_message_fixed(b"Sig_structure bytes");
        assert_eq!(sig.len(), 96);
        let vk = key.verifying_key();
        vk.verify_message_fixed(b"Sig_structure bytes", &sig).unwrap();
        assert_eq!(vk.verify_message_fixed(b"other bytes", &sig), Err(CryptoError::BadSignature));
        assert_eq!(vk.verify_message(b"Sig_structure bytes", &sig), Err(CryptoError::BadSignature), "not DER");
        let der = key.sign_message(b"Sig_structure bytes");
        assert_eq!(vk.verify_message_fixed(b"Sig_structure bytes", &der), Err(CryptoError::BadSignature));
        let other = SigningKey::generate().unwrap().verifying_key();
        assert_eq!(other.verify_message_fixed(b"Sig_structure bytes", &sig), Err(CryptoError::BadSignature));
    }

    #[test]
    fn pem_round_trip_keeps_the_key() {
        let key = SigningKey::generate().unwrap();
        let again = SigningKey::from_pem(&key.to_pem()).unwrap();
        assert_eq!(key.public_key_der(), again.public_key_der());
    }
}
