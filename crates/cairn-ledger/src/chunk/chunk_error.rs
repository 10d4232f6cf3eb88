use crate::format::FormatError;
use std::fmt;
use thiserror::Error;

/// What is wrong with a chunk file, at `offset` of `file`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{file} at offset {offset}: {kind}")]
pub struct ChunkError {
    pub file: String,
    pub offset: u64,
    pub kind: ChunkErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkErrorKind {
    /// The file is shorter than its 8-byte header.
    MissingHeader {
        len: u64,
    },
    /// A complete chunk without a positions table.
    MissingPositionsTable,
    PositionsTableOutOfBounds {
        table_offset: u64,
        file_len: u64,
    },
    PositionsTableMisaligned {
        table_bytes: u64,
    },
    PositionMismatch {
        index: u64,
        table: u64,
        scanned: u64,
    },
    EntryCountMismatch {
        expected: u64,
        found: u64,
    },
    /// An entry runs past the end of the entries region.
    EntryTruncated {
        needed: u64,
        available: u64,
    },
    Entry(FormatError),
    SeqnoMismatch {
        expected: u64,
        found: u64,
    },
    ViewRegressed {
        previous: u64,
        found: u64,
    },
    /// The public header's seqno differs from the seqno in the IV.
    PublicSeqnoMismatch {
        iv: u64,
        public: u64,
    },
    /// A complete chunk must end with a signature transaction.
    NotEndingAtSignature {
        seqno: u64,
    },
    /// Bytes that do not form an entry, followed by a valid entry: not a torn write.
    EntriesAfterTear {
        later_offset: u64,
        later_seqno: u64,
    },
}

impl fmt::Display for ChunkErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ChunkErrorKind::*;
        match self {
            MissingHeader { len } => write!(f, "file is {len} bytes, shorter than the 8-byte chunk header"),
            MissingPositionsTable => write!(f, "complete chunk has no positions table (header offset is 0)"),
            PositionsTableOutOfBounds { table_offset, file_len } => {
                write!(f, "positions table offset {table_offset} is outside the {file_len}-byte file")
            }
            PositionsTableMisaligned { table_bytes } => {
                write!(f, "positions table of {table_bytes} bytes is not a whole number of u32")
            }
            PositionMismatch { index, table, scanned } => {
                write!(f, "positions table entry {index} says {table} but the entry starts at {scanned}")
            }
            EntryCountMismatch { expected, found } => {
                write!(f, "file name promises {expected} entries, file holds {found}")
            }
            EntryTruncated { needed, available } => write!(f, "entry needs {needed} bytes, only {available} remain"),
            Entry(e) => write!(f, "malformed entry: {e}"),
            SeqnoMismatch { expected, found } => write!(f, "entry has seqno {found}, expected {expected}"),
            ViewRegressed { previous, found } => write!(f, "entry view {found} is below the previous view {previous}"),
            PublicSeqnoMismatch { iv, public } => write!(f, "public header seqno {public} differs from IV seqno {iv}"),
            NotEndingAtSignature { seqno } => {
                write!(f, "complete chunk ends at seqno {seqno}, which is not a signature")
            }
            EntriesAfterTear { later_offset, later_seqno } => write!(
                f,
                "bytes here do not form an entry, yet a valid entry (seqno {later_seqno}) follows at offset {later_offset}: corruption, not a torn write"
            ),
        }
    }
}
