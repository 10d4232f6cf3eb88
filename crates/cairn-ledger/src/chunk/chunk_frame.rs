use super::{CHUNK_HEADER_BYTES, ChunkError, ChunkErrorKind, ChunkName};
use crate::format::{ENTRY_HEADER_BYTES, EntryHeader};

/// The layout of a chunk file found by walking its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkFrame {
    /// Offset of each whole entry from the start of the file.
    pub positions: Vec<u64>,
    /// End of the last whole entry.
    pub entries_end: u64,
    /// Positions-table offset from the header, when non-zero.
    pub table_offset: Option<u64>,
    /// Bytes after the last whole entry of an incomplete chunk that do not frame an entry.
    pub torn_tail: Option<TornTail>,
}

impl ChunkFrame {
    /// Byte range of entry `i`.
    pub fn entry_range(&self, i: usize) -> std::ops::Range<usize> {
        let start = self.positions[i] as usize;
        let end = self.positions.get(i + 1).map_or(self.entries_end, |p| *p) as usize;
        start..end
    }
}

/// An incomplete chunk's trailing bytes that do not form a whole entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TornTail {
    pub offset: u64,
    pub len: u64,
}

/// Walks the entries of a chunk file (framing only: entry headers' sizes), and for a chunk with a
/// positions table, checks the table against the walk when `check_table` is set.
///
/// An incomplete chunk (`name.end == None`, header 0) may end inside an entry: that is reported
/// as a [`TornTail`], not an error. Every other inconsistency is an error naming the offset.
pub fn frame_chunk(file: &str, name: &ChunkName, bytes: &[u8], check_table: bool) -> Result<ChunkFrame, ChunkError> {
    let err = |offset: u64, kind| ChunkError { file: file.to_string(), offset, kind };
    let len = bytes.len() as u64;
    if bytes.len() < CHUNK_HEADER_BYTES {
        if name.is_complete() {
            return Err(err(0, ChunkErrorKind::MissingHeader { len }));
        }
        return Ok(ChunkFrame {
            positions: vec![],
            entries_end: 0,
            table_offset: None,
            torn_tail: Some(TornTail { offset: 0, len }),
        });
    }
    let header = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    let table_offset = (header != 0).then_some(header);
    if let Some(t) = table_offset
        && (t < CHUNK_HEADER_BYTES as u64 || t > len)
    {
        return Err(err(0, ChunkErrorKind::PositionsTableOutOfBounds { table_offset: t, file_len: len }));
    }
    if name.is_complete() && table_offset.is_none() {
        return Err(err(0, ChunkErrorKind::MissingPositionsTable));
    }
    let region_end = table_offset.unwrap_or(len);

    let mut positions = Vec::new();
    let mut pos = CHUNK_HEADER_BYTES as u64;
    let mut torn_tail = None;
    while pos < region_end {
        let remaining = region_end - pos;
        let size = if remaining >= ENTRY_HEADER_BYTES as u64 {
            let h = EntryHeader::decode_raw(&bytes[pos as usize..pos as usize + ENTRY_HEADER_BYTES]).expect("8 bytes");
            Some(h.size)
        } else {
            None
        };
        let needed = size.map_or(ENTRY_HEADER_BYTES as u64, |s| ENTRY_HEADER_BYTES as u64 + s);
        if needed > remaining || size.is_some_and(|s| s > crate::format::MAX_ENTRY_BODY_BYTES) {
            if table_offset.is_none() {
                torn_tail = Some(TornTail { offset: pos, len: remaining });
                break;
            }
            return Err(err(pos, ChunkErrorKind::EntryTruncated { needed, available: remaining }));
        }
        positions.push(pos);
        pos += needed;
    }
    let entries_end = if torn_tail.is_some() { pos } else { region_end };

    if let Some(t) = table_offset {
        let table_bytes = len - t;
        if !table_bytes.is_multiple_of(4) {
            return Err(err(t, ChunkErrorKind::PositionsTableMisaligned { table_bytes }));
        }
        if check_table {
            let table: Vec<u64> = bytes[t as usize..]
                .chunks_exact(4)
                .map(|c| u64::from(u32::from_le_bytes(c.try_into().expect("4"))))
                .collect();
            if table.len() != positions.len() {
                return Err(err(
                    t,
                    ChunkErrorKind::EntryCountMismatch { expected: table.len() as u64, found: positions.len() as u64 },
                ));
            }
            if let Some((i, (a, b))) = table.iter().zip(&positions).enumerate().find(|(_, (a, b))| a != b) {
                return Err(err(
                    t + 4 * i as u64,
                    ChunkErrorKind::PositionMismatch { index: i as u64, table: *a, scanned: *b },
                ));
            }
        }
    }
    if let Some(expected) = name.entry_count()
        && check_table
        && expected != positions.len() as u64
    {
        return Err(err(0, ChunkErrorKind::EntryCountMismatch { expected, found: positions.len() as u64 }));
    }
    Ok(ChunkFrame { positions, entries_end, table_offset, torn_tail })
}

/// The positions table for entries at `positions`.
pub fn positions_table(positions: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(positions.len() * 4);
    for p in positions {
        let p = u32::try_from(*p).expect("chunk offsets fit in u32: chunks are bounded below 4 GiB");
        out.extend_from_slice(&p.to_le_bytes());
    }
    out
}
