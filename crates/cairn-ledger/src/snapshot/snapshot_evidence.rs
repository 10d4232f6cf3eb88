use crate::receipt::json_fields::hex_digest;
use crate::tables;
use cairn_crypto::Sha256;
use cairn_kv::WriteSet;
use serde::{Deserialize, Serialize};

/// The value of `public:ccf.internal.snapshot_evidence` (singleton key), written by the
/// transaction that follows a snapshot: the SHA-256 of the snapshot entry's bytes and the
/// snapshot's seqno (CCF's `SnapshotHash`). The same digest is that transaction's claims
/// digest, so its receipt proves the snapshot bytes on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotEvidence {
    #[serde(with = "hex_digest")]
    pub hash: Sha256,
    pub version: u64,
}

/// The evidence transaction's write set for the snapshot at `seqno` whose entry hashes to
/// `digest`. Commit it with `digest` as its claims digest
/// ([`crate::History::append_tx_with_claims`]).
pub fn snapshot_evidence_write_set(digest: &Sha256, seqno: u64) -> WriteSet {
    let mut ws = WriteSet::new();
    let value = SnapshotEvidence { hash: *digest, version: seqno };
    ws.put(tables::SNAPSHOT_EVIDENCE, tables::SINGLETON_KEY.to_vec(), serde_json::to_vec(&value).expect("json"));
    ws
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_crypto::sha256;

    #[test]
    fn evidence_uses_ccf_json_in_the_singleton_row() {
        let digest = sha256(b"snapshot");
        let ws = snapshot_evidence_write_set(&digest, 42);
        let value = ws.get(tables::SNAPSHOT_EVIDENCE, &tables::SINGLETON_KEY).cloned().flatten().unwrap();
        assert_eq!(
            String::from_utf8(value.clone()).unwrap(),
            format!(r#"{{"hash":"{}","version":42}}"#, digest.to_hex())
        );
        assert_eq!(
            serde_json::from_slice::<SnapshotEvidence>(&value).unwrap(),
            SnapshotEvidence { hash: digest, version: 42 }
        );
    }
}
