use super::{
    ByteReader, ENTRY_FORMAT_V1, ENTRY_HEADER_BYTES, EntryFlags, EntryHeader, FormatError, GCM_HEADER_BYTES, GcmHeader,
    PublicHeader, TxId, decode_domain, encode_domain,
};
use cairn_crypto::{AesGcmKey, CryptoError, Sha256, sha256};
use cairn_kv::WriteSet;

/// Bytes between the entry header and the public domain: GCM header and public length.
const PREFIX_BYTES: usize = GCM_HEADER_BYTES + 8;

/// An encoded entry and the digest of its bytes (the Merkle leaf's write-set digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedEntry {
    pub bytes: Vec<u8>,
    pub tx_id: TxId,
    pub flags: EntryFlags,
}

impl EncodedEntry {
    pub fn digest(&self) -> Sha256 {
        sha256(&self.bytes)
    }
}

/// Encodes one transaction: the public tables of `write_set` in plaintext after `header`, the
/// private tables encrypted with `key` (AES-256-GCM, IV from the tx id, AAD = public domain).
pub fn encode_entry(
    tx: TxId,
    flags: EntryFlags,
    header: &PublicHeader,
    write_set: &WriteSet,
    key: &AesGcmKey,
) -> EncodedEntry {
    assert_eq!(header.seqno, tx.seqno, "public header seqno must equal the tx seqno");
    let (public, private) = write_set.split_domains();
    let mut public_bytes = Vec::with_capacity(128);
    header.encode_into(&mut public_bytes);
    encode_domain(&public, &mut public_bytes);
    let mut private_bytes = Vec::new();
    encode_domain(&private, &mut private_bytes);

    let mut gcm = GcmHeader::for_tx(tx, false);
    gcm.tag = key.seal(gcm.iv(), &public_bytes, &mut private_bytes);
    let size = (PREFIX_BYTES + public_bytes.len() + private_bytes.len()) as u64;
    let entry_header = EntryHeader { version: ENTRY_FORMAT_V1, flags, size };
    entry_header.validate().expect("encoder produces valid headers");

    let mut bytes = Vec::with_capacity(ENTRY_HEADER_BYTES + size as usize);
    bytes.extend_from_slice(&entry_header.encode());
    bytes.extend_from_slice(&gcm.encode());
    bytes.extend_from_slice(&(public_bytes.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&public_bytes);
    bytes.extend_from_slice(&private_bytes);
    EncodedEntry { bytes, tx_id: tx, flags }
}

/// A borrowed, framed view of one entry's bytes. Construction checks the framing (header
/// version/flags/size, public length inside the body); the domains are decoded on demand.
#[derive(Debug, Clone, Copy)]
pub struct EntryView<'a> {
    pub header: EntryHeader,
    pub gcm: GcmHeader,
    pub bytes: &'a [u8],
    pub public: &'a [u8],
    pub private: &'a [u8],
}

impl<'a> EntryView<'a> {
    /// `bytes` must be exactly one entry (header + body).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, FormatError> {
        let header = EntryHeader::decode_raw(bytes)?;
        header.validate()?;
        let body = &bytes[ENTRY_HEADER_BYTES..];
        if body.len() as u64 != header.size {
            return Err(FormatError::Invalid {
                offset: 2,
                field: "entry header size",
                reason: format!("says {} body bytes, entry has {}", header.size, body.len()),
            });
        }
        let mut r = ByteReader::new(body);
        let gcm = GcmHeader::decode(r.bytes(GCM_HEADER_BYTES, "GCM header")?)?;
        let public = r.sized("public domain").map_err(|e| e.shifted(ENTRY_HEADER_BYTES as u64))?;
        let private = &body[r.position()..];
        Ok(EntryView { header, gcm, bytes, public, private })
    }

    pub fn tx_id(&self) -> TxId {
        self.gcm.tx_id()
    }

    /// Offset of the public domain inside the entry.
    pub fn public_offset(&self) -> usize {
        ENTRY_HEADER_BYTES + PREFIX_BYTES
    }

    pub fn public_header(&self) -> Result<PublicHeader, FormatError> {
        PublicHeader::decode(&mut ByteReader::new(self.public)).map_err(|e| e.shifted(self.public_offset() as u64))
    }

    /// Whether the public domain writes `table`, without decoding (copying) any value.
    pub fn public_has_table(&self, table: &str) -> Result<bool, FormatError> {
        let mut r = ByteReader::new(self.public);
        PublicHeader::decode(&mut r).map_err(|e| e.shifted(self.public_offset() as u64))?;
        let base = (self.public_offset() + r.position()) as u64;
        let names = super::skim_domain_table_names(&mut r).map_err(|e| e.shifted(base))?;
        Ok(names.contains(&table))
    }

    /// The public header and the public tables.
    pub fn decode_public(&self) -> Result<(PublicHeader, WriteSet), FormatError> {
        let mut r = ByteReader::new(self.public);
        let h = PublicHeader::decode(&mut r).map_err(|e| e.shifted(self.public_offset() as u64))?;
        let base = (self.public_offset() + r.position()) as u64;
        let ws = decode_domain(&mut r).map_err(|e| e.shifted(base))?;
        Ok((h, ws))
    }

    /// Checks the GCM tag and decodes the private tables.
    pub fn decrypt_private(&self, key: &AesGcmKey) -> Result<WriteSet, PrivateDomainError> {
        let mut plain = self.private.to_vec();
        key.open(self.gcm.iv(), self.public, &mut plain, &self.gcm.tag).map_err(PrivateDomainError::Crypto)?;
        decode_domain(&mut ByteReader::new(&plain)).map_err(PrivateDomainError::Format)
    }

    /// The whole write set (public and private tables).
    pub fn decode_all(&self, key: &AesGcmKey) -> Result<(PublicHeader, WriteSet), PrivateDomainError> {
        let (h, public) = self.decode_public().map_err(PrivateDomainError::Format)?;
        Ok((h, public.merged(self.decrypt_private(key)?)))
    }
}

/// Why a private domain could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivateDomainError {
    #[error("{0}")]
    Crypto(CryptoError),
    #[error("decrypted private domain is malformed: {0}")]
    Format(FormatError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(ws: &WriteSet, tx: TxId) -> (EncodedEntry, AesGcmKey) {
        let key = AesGcmKey::new([3; 32]);
        let h = PublicHeader::new(tx.seqno, Sha256::ZERO, sha256(b"ce"));
        (encode_entry(tx, EntryFlags::default(), &h, ws, &key), key)
    }

    proptest! {
        #[test]
        fn entry_round_trips_public_and_private_tables(
            public in prop::collection::btree_map(prop::collection::vec(any::<u8>(), 0..6), prop::collection::vec(any::<u8>(), 0..20), 0..4),
            private in prop::collection::btree_map(prop::collection::vec(any::<u8>(), 0..6), prop::collection::vec(any::<u8>(), 0..20), 0..4),
            seqno in 1u64..u64::MAX, view in 0u64..(1 << 31),
        ) {
            let mut ws = WriteSet::new();
            for (k, v) in &public { ws.put("public:t", k.clone(), v.clone()); }
            for (k, v) in &private { ws.put("t", k.clone(), v.clone()); }
            let tx = TxId::new(view, seqno);
            let (e, key) = sample(&ws, tx);
            let view_ = EntryView::parse(&e.bytes).unwrap();
            prop_assert_eq!(view_.tx_id(), tx);
            let (h, back) = view_.decode_all(&key).unwrap();
            prop_assert_eq!(h.seqno, seqno);
            prop_assert_eq!(back, ws);
        }

        #[test]
        fn entry_parser_never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(v) = EntryView::parse(&bytes) {
                let _ = v.decode_public();
            }
        }
    }

    #[test]
    fn private_values_are_not_in_plaintext_and_tampering_is_detected() {
        let mut ws = WriteSet::new();
        ws.put("records", b"k".to_vec(), b"TOP-SECRET-VALUE".to_vec());
        let (e, key) = sample(&ws, TxId::new(2, 7));
        assert!(!e.bytes.windows(16).any(|w| w == b"TOP-SECRET-VALUE"));
        let mut bad = e.bytes.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x40;
        let v = EntryView::parse(&bad).unwrap();
        assert!(matches!(v.decrypt_private(&key), Err(PrivateDomainError::Crypto(_))));
    }

    #[test]
    fn size_field_that_disagrees_with_the_bytes_is_rejected() {
        let (e, _) = sample(&WriteSet::new(), TxId::new(1, 1));
        let err = EntryView::parse(&e.bytes[..e.bytes.len() - 1]).unwrap_err();
        assert!(matches!(err, FormatError::Invalid { field: "entry header size", .. }));
    }
}
