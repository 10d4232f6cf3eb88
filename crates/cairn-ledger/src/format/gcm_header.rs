use super::{ByteReader, FormatError, TxId};
use cairn_crypto::{GCM_IV_BYTES, GCM_TAG_BYTES};

pub const GCM_HEADER_BYTES: usize = GCM_TAG_BYTES + GCM_IV_BYTES;
const SNAPSHOT_VIEW_BIT: u32 = 1 << 31;

/// The 28-byte AES-GCM header: 16-byte tag, then the 12-byte IV = seqno u64 LE ‖ view u32 LE,
/// with the top bit of the view set for snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcmHeader {
    pub tag: [u8; GCM_TAG_BYTES],
    pub seqno: u64,
    pub view: u32,
    pub is_snapshot: bool,
}

impl GcmHeader {
    pub fn for_tx(tx: TxId, is_snapshot: bool) -> Self {
        let view = u32::try_from(tx.view).ok().filter(|v| v & SNAPSHOT_VIEW_BIT == 0).expect("view fits in 31 bits");
        GcmHeader { tag: [0; GCM_TAG_BYTES], seqno: tx.seqno, view, is_snapshot }
    }

    pub fn iv(&self) -> [u8; GCM_IV_BYTES] {
        let mut iv = [0u8; GCM_IV_BYTES];
        iv[..8].copy_from_slice(&self.seqno.to_le_bytes());
        let view = self.view | if self.is_snapshot { SNAPSHOT_VIEW_BIT } else { 0 };
        iv[8..].copy_from_slice(&view.to_le_bytes());
        iv
    }

    pub fn tx_id(&self) -> TxId {
        TxId::new(u64::from(self.view), self.seqno)
    }

    pub fn encode(&self) -> [u8; GCM_HEADER_BYTES] {
        let mut out = [0u8; GCM_HEADER_BYTES];
        out[..GCM_TAG_BYTES].copy_from_slice(&self.tag);
        out[GCM_TAG_BYTES..].copy_from_slice(&self.iv());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut r = ByteReader::new(bytes);
        let tag = r.array("GCM tag")?;
        let seqno = r.u64("GCM IV seqno")?;
        let raw_view = r.u32("GCM IV view")?;
        Ok(GcmHeader {
            tag,
            seqno,
            view: raw_view & !SNAPSHOT_VIEW_BIT,
            is_snapshot: raw_view & SNAPSHOT_VIEW_BIT != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn gcm_header_round_trips(tag: [u8; 16], seqno: u64, view in 0u32..(1 << 31), is_snapshot: bool) {
            let h = GcmHeader { tag, seqno, view, is_snapshot };
            prop_assert_eq!(GcmHeader::decode(&h.encode()).unwrap(), h);
        }
    }
}
