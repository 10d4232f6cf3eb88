use super::json_fields::{hex_digest, opt_hex_digest};
use crate::format::TxId;
use crate::merkle::leaf_digest;
use cairn_crypto::{Sha256, sha256, sha256_parts};
use serde::{Deserialize, Serialize};

/// What a receipt reveals of its transaction's Merkle leaf (CCF's `leaf_components`):
/// leaf = SHA-256(write_set_digest ‖ SHA-256(commit_evidence) ‖ claims_digest).
///
/// CCF omits `claims_digest` for transactions without claims, whose leaf is then
/// SHA-256(write_set_digest ‖ SHA-256(commit_evidence)); Cairn always records a claims digest
/// (zero when there are no claims) and so always includes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeafComponents {
    #[serde(default, with = "opt_hex_digest", skip_serializing_if = "Option::is_none")]
    pub claims_digest: Option<Sha256>,
    /// `ce:{view}.{seqno}:{hex nonce}`: revealed only for committed transactions.
    pub commit_evidence: String,
    /// SHA-256 of the whole serialised entry, header included.
    #[serde(with = "hex_digest")]
    pub write_set_digest: Sha256,
}

impl LeafComponents {
    /// The Merkle leaf these components hash to.
    pub fn leaf(&self) -> Sha256 {
        let ce = sha256(self.commit_evidence.as_bytes());
        match &self.claims_digest {
            Some(claims) => leaf_digest(&self.write_set_digest, &ce, claims),
            None => sha256_parts(&[self.write_set_digest.as_bytes(), ce.as_bytes()]),
        }
    }

    /// The transaction id named by the commit evidence, if it has the `ce:V.S:HEX` shape.
    pub fn tx_id(&self) -> Option<TxId> {
        let rest = self.commit_evidence.strip_prefix("ce:")?;
        let (tx, nonce) = rest.split_once(':')?;
        if nonce.len() != 64 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        tx.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_evidence_names_the_transaction_only_in_ccf_shape() {
        let nonce = "ab".repeat(32);
        let table = [
            (format!("ce:2.15:{nonce}"), Some(TxId::new(2, 15))),
            (format!("ce:2.15:{}", &nonce[1..]), None),
            (format!("ce:2:{nonce}"), None),
            (format!("xx:2.15:{nonce}"), None),
            ("ce:2.15".to_string(), None),
        ];
        for (ce, expected) in table {
            let lc =
                LeafComponents { claims_digest: None, commit_evidence: ce.clone(), write_set_digest: Sha256::ZERO };
            assert_eq!(lc.tx_id(), expected, "{ce}");
        }
    }

    #[test]
    fn leaf_includes_the_claims_digest_only_when_present() {
        let mut lc = LeafComponents {
            claims_digest: Some(Sha256::ZERO),
            commit_evidence: "ce:1.1:00".into(),
            write_set_digest: sha256(b"entry"),
        };
        let with_zero_claims = lc.leaf();
        let ce = sha256(b"ce:1.1:00");
        assert_eq!(with_zero_claims, leaf_digest(&sha256(b"entry"), &ce, &Sha256::ZERO));
        lc.claims_digest = None;
        assert_eq!(lc.leaf(), sha256_parts(&[sha256(b"entry").as_bytes(), ce.as_bytes()]));
        assert_ne!(lc.leaf(), with_zero_claims);
    }
}
