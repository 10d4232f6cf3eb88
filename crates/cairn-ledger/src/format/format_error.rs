use thiserror::Error;

/// A malformed byte sequence. `offset` is relative to the start of the buffer being decoded;
/// callers that know the file add the file name and the buffer's position in it.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("truncated at offset {offset}: needed {needed} bytes, {available} available ({what})")]
    Truncated { offset: u64, needed: u64, available: u64, what: &'static str },
    #[error("invalid {field} at offset {offset}: {reason}")]
    Invalid { offset: u64, field: &'static str, reason: String },
}

impl FormatError {
    /// The offset of the failure inside the decoded buffer.
    pub fn offset(&self) -> u64 {
        match self {
            FormatError::Truncated { offset, .. } | FormatError::Invalid { offset, .. } => *offset,
        }
    }

    /// The same error with its offset moved by `base` (to make it relative to a file).
    pub fn shifted(self, base: u64) -> Self {
        match self {
            FormatError::Truncated { offset, needed, available, what } => {
                FormatError::Truncated { offset: offset + base, needed, available, what }
            }
            FormatError::Invalid { offset, field, reason } => {
                FormatError::Invalid { offset: offset + base, field, reason }
            }
        }
    }
}
