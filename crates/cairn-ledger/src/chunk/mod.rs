//! Ledger chunk files: naming and framing.
//!
//! A chunk file is a u64 LE offset of its positions table (0 while the chunk is being written),
//! the entries back to back, and, once complete, a u32 LE offset (from file start) per entry.

mod chunk_error;
mod chunk_frame;
mod chunk_name;
mod entry_check;

pub use chunk_error::{ChunkError, ChunkErrorKind};
pub use chunk_frame::{ChunkFrame, TornTail, frame_chunk, positions_table};
pub use chunk_name::ChunkName;
pub use entry_check::check_entry;

/// Bytes of the positions-table offset at the start of every chunk file.
pub const CHUNK_HEADER_BYTES: usize = 8;
