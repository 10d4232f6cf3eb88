//! What one power cut took back.
use std::fmt;

/// The outcome of [`PowerLossMount::restore_power`](crate::PowerLossMount::restore_power).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CutReport {
    /// Writes (and truncations) undone, whole or in part.
    pub writes_undone: usize,
    /// Bytes written that are gone.
    pub bytes_dropped: u64,
    /// Directory entries whose creation, removal or rename was undone.
    pub entries_undone: usize,
    /// The last write, kept in part: (file, bytes kept, bytes written).
    pub torn: Option<(String, u64, u64)>,
    /// Undo steps that could not be applied (each names the file and the error). A harness
    /// bug, not a property of the program under test: tests should assert this is empty.
    pub errors: Vec<String>,
}

impl fmt::Display for CutReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} unsynced writes ({} bytes) and {} directory entries dropped",
            self.writes_undone, self.bytes_dropped, self.entries_undone
        )?;
        if let Some((file, kept, of)) = &self.torn {
            write!(f, ", last write to {file} torn after {kept} of {of} bytes")?;
        }
        Ok(())
    }
}
