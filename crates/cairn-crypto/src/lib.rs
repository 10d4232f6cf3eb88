//! Cryptographic primitives Cairn needs, as thin typed wrappers over maintained crates
//! (aws-lc-rs for primitives, rcgen for X.509 writing, x509-parser for X.509 reading).
//!
//! Pure: no file, network or clock access. Every secret-bearing type redacts itself in `Debug`.

mod aes_gcm;
mod certificate;
mod encryption_key;
mod error;
mod hmac;
mod os_random;
mod pem_block;
mod secret_sharing;
mod sha256;
mod signing_key;
mod verifying_key;

pub use aes_gcm::{AesGcmKey, GCM_IV_BYTES, GCM_TAG_BYTES};
pub use certificate::{Certificate, CertificateRequest};
pub use encryption_key::{EncryptionKeyPair, EncryptionPublicKey};
pub use error::CryptoError;
pub use hmac::hmac_sha256;
pub use os_random::os_random_bytes;
pub use pem_block::{pem_decode, pem_encode};
pub use secret_sharing::{SHARE_BYTES, Share, ShareCommitment, ShareField, SharedSecret, SharingError, combine, split};
pub use sha256::{Sha256, Sha256Hasher, sha256, sha256_parts};
pub use signing_key::SigningKey;
pub use verifying_key::VerifyingKey;
