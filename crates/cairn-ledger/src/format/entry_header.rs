use super::{ByteReader, FormatError};

pub const ENTRY_HEADER_BYTES: usize = 8;
pub const ENTRY_FORMAT_V1: u8 = 1;
/// The size field is 48 bits; Cairn bounds entries far lower so a corrupt size is caught early.
pub const MAX_ENTRY_BODY_BYTES: u64 = 1 << 30;

/// Entry flags (CCF's `SerialisedEntryFlags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EntryFlags(pub u8);

impl EntryFlags {
    /// The chunk ends after this entry (set by the primary on a signature once `chunk_size`
    /// is reached, so every node chunks at the same seqnos).
    pub const FORCE_LEDGER_CHUNK_AFTER: u8 = 0x01;
    /// A new chunk starts with this entry (service "create" transactions).
    pub const FORCE_LEDGER_CHUNK_BEFORE: u8 = 0x02;
    const KNOWN: u8 = Self::FORCE_LEDGER_CHUNK_AFTER | Self::FORCE_LEDGER_CHUNK_BEFORE;

    pub fn chunk_after(self) -> bool {
        self.0 & Self::FORCE_LEDGER_CHUNK_AFTER != 0
    }
    pub fn chunk_before(self) -> bool {
        self.0 & Self::FORCE_LEDGER_CHUNK_BEFORE != 0
    }
}

/// The 8-byte entry header: version u8, flags u8, body size u48 LE (bytes after the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryHeader {
    pub version: u8,
    pub flags: EntryFlags,
    pub size: u64,
}

impl EntryHeader {
    pub fn encode(&self) -> [u8; ENTRY_HEADER_BYTES] {
        assert!(self.size < (1 << 48), "entry body size {} exceeds 48 bits", self.size);
        let mut out = [0u8; 8];
        out[0] = self.version;
        out[1] = self.flags.0;
        out[2..8].copy_from_slice(&self.size.to_le_bytes()[..6]);
        out
    }

    /// Decodes without judging the values (framing needs only `size`).
    pub fn decode_raw(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut r = ByteReader::new(bytes);
        let raw: [u8; 8] = r.array("entry header")?;
        let mut size = [0u8; 8];
        size[..6].copy_from_slice(&raw[2..8]);
        Ok(EntryHeader { version: raw[0], flags: EntryFlags(raw[1]), size: u64::from_le_bytes(size) })
    }

    /// Checks version, flags and size bounds.
    pub fn validate(&self) -> Result<(), FormatError> {
        let invalid = |field, reason: String| Err(FormatError::Invalid { offset: 0, field, reason });
        if self.version != ENTRY_FORMAT_V1 {
            return invalid("entry header version", format!("{} (expected {ENTRY_FORMAT_V1})", self.version));
        }
        if self.flags.0 & !EntryFlags::KNOWN != 0 {
            return invalid("entry header flags", format!("unknown bits {:#04x}", self.flags.0));
        }
        if self.size > MAX_ENTRY_BODY_BYTES {
            return invalid(
                "entry header size",
                format!("{} exceeds the {MAX_ENTRY_BODY_BYTES}-byte bound", self.size),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn entry_header_round_trips(version: u8, flags: u8, size in 0u64..(1 << 48)) {
            let h = EntryHeader { version, flags: EntryFlags(flags), size };
            prop_assert_eq!(EntryHeader::decode_raw(&h.encode()).unwrap(), h);
        }
    }

    #[test]
    fn validate_rejects_unknown_version_flags_and_huge_sizes() {
        let ok = EntryHeader { version: 1, flags: EntryFlags(3), size: 100 };
        assert!(ok.validate().is_ok());
        assert!(EntryHeader { version: 2, ..ok }.validate().is_err());
        assert!(EntryHeader { flags: EntryFlags(4), ..ok }.validate().is_err());
        assert!(EntryHeader { size: MAX_ENTRY_BODY_BYTES + 1, ..ok }.validate().is_err());
    }
}
