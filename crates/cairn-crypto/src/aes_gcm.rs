use crate::CryptoError;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use std::fmt;

pub const GCM_TAG_BYTES: usize = 16;
pub const GCM_IV_BYTES: usize = 12;

/// An AES-256-GCM key. Callers supply the IV: the ledger derives it from (seqno, view), which is
/// unique per key because a ledger secret is never reused across views of the same seqno.
pub struct AesGcmKey {
    key: LessSafeKey,
    raw: [u8; 32],
}

impl AesGcmKey {
    pub fn new(raw: [u8; 32]) -> Self {
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &raw).expect("32-byte key"));
        AesGcmKey { key, raw }
    }

    pub fn from_slice(raw: &[u8]) -> Result<Self, CryptoError> {
        let raw: [u8; 32] = raw
            .try_into()
            .map_err(|_| CryptoError::InvalidKey(format!("AES-256 key must be 32 bytes, got {}", raw.len())))?;
        Ok(Self::new(raw))
    }

    pub fn raw(&self) -> &[u8; 32] {
        &self.raw
    }

    /// Encrypts `data` in place and returns the tag.
    pub fn seal(&self, iv: [u8; GCM_IV_BYTES], aad: &[u8], data: &mut [u8]) -> [u8; GCM_TAG_BYTES] {
        let tag = self
            .key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(iv), Aad::from(aad), data)
            .expect("AES-GCM seal cannot fail for in-memory buffers below 64 GiB");
        let mut out = [0u8; GCM_TAG_BYTES];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Decrypts `data` in place, checking `tag` over the ciphertext and `aad`.
    pub fn open(
        &self,
        iv: [u8; GCM_IV_BYTES],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8; GCM_TAG_BYTES],
    ) -> Result<(), CryptoError> {
        self.key
            .open_in_place_separate_tag(Nonce::assume_unique_for_key(iv), Aad::from(aad), tag, data)
            .map(|_| ())
            .map_err(|_| CryptoError::AuthenticationFailed)
    }
}

impl fmt::Debug for AesGcmKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AesGcmKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips_and_detects_tampering() {
        let key = AesGcmKey::new([7; 32]);
        let iv = [1; 12];
        let mut data = b"private record".to_vec();
        let tag = key.seal(iv, b"public", &mut data);
        assert_ne!(&data[..], b"private record");
        let sealed = data.clone();
        key.open(iv, b"public", &mut data, &tag).unwrap();
        assert_eq!(&data[..], b"private record");

        let mut wrong_aad = sealed.clone();
        assert_eq!(key.open(iv, b"publik", &mut wrong_aad, &tag), Err(CryptoError::AuthenticationFailed));
        let mut flipped = sealed.clone();
        flipped[0] ^= 1;
        assert_eq!(key.open(iv, b"public", &mut flipped, &tag), Err(CryptoError::AuthenticationFailed));
    }

    #[test]
    fn empty_plaintext_still_authenticates_aad() {
        let key = AesGcmKey::new([9; 32]);
        let tag = key.seal([0; 12], b"aad", &mut []);
        assert!(key.open([0; 12], b"aad", &mut [], &tag).is_ok());
        assert!(key.open([0; 12], b"aaX", &mut [], &tag).is_err());
    }
}
