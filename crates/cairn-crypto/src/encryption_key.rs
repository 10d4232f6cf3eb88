//! RSA-2048 encryption keys of members: recovery shares are encrypted to them with
//! RSA-OAEP-SHA256 (as CCF does) and decrypted only on the member's machine.
use crate::CryptoError;
use crate::pem_block::{pem_decode, pem_encode};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    PublicEncryptingKey,
};
use std::fmt;

/// A member's RSA-2048 private encryption key.
pub struct EncryptionKeyPair(PrivateDecryptingKey);

/// A member's RSA public encryption key (`NAME_enc_pubk.pem`).
pub struct EncryptionPublicKey(PublicEncryptingKey);

impl EncryptionKeyPair {
    pub fn generate() -> Result<Self, CryptoError> {
        PrivateDecryptingKey::generate(KeySize::Rsa2048)
            .map(Self)
            .map_err(|_| CryptoError::Internal("RSA key generation failed".into()))
    }

    pub fn from_pem(pem: &str) -> Result<Self, CryptoError> {
        let der = pem_decode("PRIVATE KEY", pem)?;
        PrivateDecryptingKey::from_pkcs8(&der)
            .map(Self)
            .map_err(|e| CryptoError::InvalidKey(format!("RSA private key: {e}")))
    }

    /// PKCS#8 PEM (`NAME_enc_privk.pem`).
    pub fn to_pem(&self) -> String {
        let der: Pkcs8V1Der<'static> = self.0.as_der().expect("serialisable key");
        pem_encode("PRIVATE KEY", der.as_ref())
    }

    pub fn public_key(&self) -> EncryptionPublicKey {
        EncryptionPublicKey(self.0.public_key())
    }

    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = OaepPrivateDecryptingKey::new(self.0.clone())
            .map_err(|_| CryptoError::InvalidKey("not an RSA key".into()))?;
        let mut out = vec![0u8; key.min_output_size()];
        let plain = key
            .decrypt(&OAEP_SHA256_MGF1SHA256, ciphertext, &mut out, None)
            .map_err(|_| CryptoError::AuthenticationFailed)?;
        Ok(plain.to_vec())
    }
}

impl EncryptionPublicKey {
    pub fn from_pem(pem: &str) -> Result<Self, CryptoError> {
        let der = pem_decode("PUBLIC KEY", pem)?;
        PublicEncryptingKey::from_der(&der)
            .map(Self)
            .map_err(|e| CryptoError::InvalidKey(format!("RSA public key: {e}")))
    }

    /// SubjectPublicKeyInfo PEM.
    pub fn to_pem(&self) -> String {
        let der: PublicKeyX509Der<'static> = self.0.as_der().expect("serialisable key");
        pem_encode("PUBLIC KEY", der.as_ref())
    }

    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = OaepPublicEncryptingKey::new(self.0.clone())
            .map_err(|_| CryptoError::InvalidKey("not an RSA key".into()))?;
        if plaintext.len() > key.max_plaintext_size(&OAEP_SHA256_MGF1SHA256) {
            return Err(CryptoError::InvalidKey(format!("{} bytes exceed what RSA-OAEP can encrypt", plaintext.len())));
        }
        let mut out = vec![0u8; key.ciphertext_size()];
        let c = key
            .encrypt(&OAEP_SHA256_MGF1SHA256, plaintext, &mut out, None)
            .map_err(|_| CryptoError::Internal("RSA-OAEP encryption failed".into()))?;
        Ok(c.to_vec())
    }
}

impl fmt::Debug for EncryptionKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKeyPair(RSA-2048, <redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oaep_round_trips_through_pem_and_other_keys_cannot_decrypt() {
        let pair = EncryptionKeyPair::generate().unwrap();
        let pair = EncryptionKeyPair::from_pem(&pair.to_pem()).unwrap();
        let public = EncryptionPublicKey::from_pem(&pair.public_key().to_pem()).unwrap();
        let c = public.encrypt(b"a 44-byte recovery share goes here..........").unwrap();
        assert_eq!(pair.decrypt(&c).unwrap(), b"a 44-byte recovery share goes here..........");
        let other = EncryptionKeyPair::generate().unwrap();
        assert_eq!(other.decrypt(&c), Err(CryptoError::AuthenticationFailed));
        let mut tampered = c.clone();
        tampered[10] ^= 1;
        assert!(pair.decrypt(&tampered).is_err());
    }
}
