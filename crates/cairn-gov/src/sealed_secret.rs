//! [`SealedSecret`]: a 32-byte secret encrypted with AES-256-GCM under another 32-byte key — the
//! latest ledger secret under the share wrapping key, and each older ledger secret under its
//! successor.
//!
//! Layout (60 bytes): `iv (12) ‖ ciphertext (32) ‖ tag (16)`; the IV is random (from the caller's
//! randomness source), the AAD is empty. A key is used for one seal per share issue or rekey, so
//! random IVs never repeat in practice.

use cairn_crypto::{AesGcmKey, GCM_IV_BYTES, GCM_TAG_BYTES};

/// Size of a sealed 32-byte secret.
pub const SEALED_SECRET_BYTES: usize = GCM_IV_BYTES + 32 + GCM_TAG_BYTES;

/// An encrypted 32-byte secret in the layout above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecret(Vec<u8>);

impl SealedSecret {
    /// Encrypts `secret` under `key` with a fresh random IV.
    pub fn seal(key: &[u8; 32], secret: &[u8; 32], fill_random: &mut dyn FnMut(&mut [u8])) -> SealedSecret {
        let mut iv = [0u8; GCM_IV_BYTES];
        fill_random(&mut iv);
        let mut data = *secret;
        let tag = AesGcmKey::new(*key).seal(iv, &[], &mut data);
        SealedSecret([&iv[..], &data, &tag].concat())
    }

    /// Takes stored bytes; their length must be [`SEALED_SECRET_BYTES`].
    pub fn from_bytes(bytes: Vec<u8>) -> Result<SealedSecret, String> {
        if bytes.len() != SEALED_SECRET_BYTES {
            return Err(format!("sealed secret is {} bytes, expected {SEALED_SECRET_BYTES}", bytes.len()));
        }
        Ok(SealedSecret(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Decrypts with `key`; fails if the key is wrong or the bytes were changed.
    pub fn open(&self, key: &[u8; 32]) -> Result<[u8; 32], String> {
        let iv: [u8; GCM_IV_BYTES] = self.0[..GCM_IV_BYTES].try_into().expect("length checked");
        let mut data: [u8; 32] = self.0[GCM_IV_BYTES..GCM_IV_BYTES + 32].try_into().expect("length checked");
        let tag: [u8; GCM_TAG_BYTES] = self.0[GCM_IV_BYTES + 32..].try_into().expect("length checked");
        AesGcmKey::new(*key)
            .open(iv, &[], &mut data, &tag)
            .map_err(|_| "AES-GCM authentication failed (wrong key or altered bytes)".to_string())?;
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trips_and_rejects_wrong_key_or_flipped_bytes() {
        let mut counter = 0u8;
        let mut fill = |buf: &mut [u8]| {
            for b in buf {
                counter = counter.wrapping_add(1);
                *b = counter;
            }
        };
        let sealed = SealedSecret::seal(&[7; 32], &[9; 32], &mut fill);
        assert_eq!(sealed.as_bytes().len(), SEALED_SECRET_BYTES);
        assert_eq!(&sealed.as_bytes()[..12], &(1..=12).collect::<Vec<u8>>()[..], "IV comes first");
        assert_eq!(sealed.open(&[7; 32]), Ok([9; 32]));
        assert!(sealed.open(&[8; 32]).is_err());
        for i in 0..SEALED_SECRET_BYTES {
            let mut bytes = sealed.as_bytes().to_vec();
            bytes[i] ^= 0x01;
            assert!(SealedSecret::from_bytes(bytes).unwrap().open(&[7; 32]).is_err(), "byte {i}");
        }
        assert!(SealedSecret::from_bytes(vec![0; 59]).is_err());
    }
}
