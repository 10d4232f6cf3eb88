use cairn_crypto::{Sha256, sha256_parts};

/// Leaf = SHA-256(write-set digest ‖ commit-evidence digest ‖ claims digest), where the write-set
/// digest is SHA-256 of the whole serialised entry including its 8-byte header.
pub fn leaf_digest(write_set_digest: &Sha256, commit_evidence_digest: &Sha256, claims_digest: &Sha256) -> Sha256 {
    sha256_parts(&[write_set_digest.as_bytes(), commit_evidence_digest.as_bytes(), claims_digest.as_bytes()])
}
