use super::{ByteReader, FormatError};
use cairn_crypto::Sha256;

/// Entry type 4, "WriteSetWithCommitEvidenceAndClaims": the only type Cairn writes.
pub const ENTRY_TYPE_WRITE_SET_WITH_COMMIT_EVIDENCE_AND_CLAIMS: u8 = 4;
/// type u8 + seqno u64 + claims digest + commit-evidence digest + max_conflict_version u64.
pub const PUBLIC_HEADER_BYTES: usize = 1 + 8 + 32 + 32 + 8;

/// The fields at the start of every transaction's public domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicHeader {
    pub entry_type: u8,
    pub seqno: u64,
    pub claims_digest: Sha256,
    pub commit_evidence_digest: Sha256,
    pub max_conflict_version: u64,
}

impl PublicHeader {
    pub fn new(seqno: u64, claims_digest: Sha256, commit_evidence_digest: Sha256) -> Self {
        PublicHeader {
            entry_type: ENTRY_TYPE_WRITE_SET_WITH_COMMIT_EVIDENCE_AND_CLAIMS,
            seqno,
            claims_digest,
            commit_evidence_digest,
            max_conflict_version: 0,
        }
    }

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(self.entry_type);
        out.extend_from_slice(&self.seqno.to_le_bytes());
        out.extend_from_slice(self.claims_digest.as_bytes());
        out.extend_from_slice(self.commit_evidence_digest.as_bytes());
        out.extend_from_slice(&self.max_conflict_version.to_le_bytes());
    }

    /// Decodes the header of a transaction public domain (entry type 4 only).
    pub fn decode(r: &mut ByteReader<'_>) -> Result<Self, FormatError> {
        let at = r.position() as u64;
        let entry_type = r.u8("entry type")?;
        if entry_type != ENTRY_TYPE_WRITE_SET_WITH_COMMIT_EVIDENCE_AND_CLAIMS {
            return Err(FormatError::Invalid {
                offset: at,
                field: "entry type",
                reason: format!("{entry_type} (Cairn reads transactions of type 4 only)"),
            });
        }
        let seqno = r.u64("public seqno")?;
        let claims_digest = Sha256(r.array("claims digest")?);
        let commit_evidence_digest = Sha256(r.array("commit evidence digest")?);
        let max_conflict_version = r.u64("max_conflict_version")?;
        Ok(PublicHeader { entry_type, seqno, claims_digest, commit_evidence_digest, max_conflict_version })
    }
}
