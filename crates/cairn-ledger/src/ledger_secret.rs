use crate::format::TxId;
use cairn_crypto::{AesGcmKey, Sha256, hmac_sha256, sha256};
use std::fmt;

/// A ledger secret: the AES-256-GCM key of private domains, and the root of commit evidence.
///
/// Commit evidence for tx `v.s` is the string `ce:{v}.{s}:{hex(nonce)}` with
/// nonce = HMAC-SHA256(commit key, "{v}.{s}") and commit key = HMAC-SHA256(secret, "Commit S").
/// Only its SHA-256 digest goes in the ledger; the string itself is revealed in receipts once
/// the transaction is committed.
pub struct LedgerSecret {
    key: AesGcmKey,
    commit_key: Sha256,
}

impl LedgerSecret {
    pub fn new(raw: [u8; 32]) -> Self {
        LedgerSecret { key: AesGcmKey::new(raw), commit_key: hmac_sha256(&raw, b"Commit S") }
    }

    pub fn from_slice(raw: &[u8]) -> Option<Self> {
        Some(Self::new(raw.try_into().ok()?))
    }

    pub fn raw(&self) -> &[u8; 32] {
        self.key.raw()
    }

    pub fn key(&self) -> &AesGcmKey {
        &self.key
    }

    pub fn commit_nonce(&self, tx: TxId) -> Sha256 {
        hmac_sha256(self.commit_key.as_bytes(), tx.to_string().as_bytes())
    }

    pub fn commit_evidence(&self, tx: TxId) -> String {
        format!("ce:{tx}:{}", self.commit_nonce(tx).to_hex())
    }

    pub fn commit_evidence_digest(&self, tx: TxId) -> Sha256 {
        sha256(self.commit_evidence(tx).as_bytes())
    }
}

impl fmt::Debug for LedgerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LedgerSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_evidence_names_the_tx_and_differs_per_tx_and_secret() {
        let s = LedgerSecret::new([1; 32]);
        let ce = s.commit_evidence(TxId::new(2, 10));
        assert!(ce.starts_with("ce:2.10:") && ce.len() == "ce:2.10:".len() + 64);
        assert_ne!(s.commit_evidence_digest(TxId::new(2, 10)), s.commit_evidence_digest(TxId::new(2, 11)));
        assert_ne!(
            s.commit_evidence_digest(TxId::new(2, 10)),
            LedgerSecret::new([2; 32]).commit_evidence_digest(TxId::new(2, 10))
        );
    }
}
