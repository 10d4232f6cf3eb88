use crate::format::TxId;
use crate::storage::StorageError;
use std::fmt;

/// Verification depth; each level includes the previous ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VerifyLevel {
    Parse,
    Offsets,
    Headers,
    Merkle,
    Signatures,
    Private,
}

impl VerifyLevel {
    pub const ALL: [VerifyLevel; 6] = [
        VerifyLevel::Parse,
        VerifyLevel::Offsets,
        VerifyLevel::Headers,
        VerifyLevel::Merkle,
        VerifyLevel::Signatures,
        VerifyLevel::Private,
    ];

    pub fn name(self) -> &'static str {
        match self {
            VerifyLevel::Parse => "parse",
            VerifyLevel::Offsets => "offsets",
            VerifyLevel::Headers => "headers",
            VerifyLevel::Merkle => "merkle",
            VerifyLevel::Signatures => "signatures",
            VerifyLevel::Private => "private",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.name() == text)
    }
}

/// The first thing found wrong, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyFailure {
    pub level: VerifyLevel,
    pub file: Option<String>,
    pub offset: Option<u64>,
    pub seqno: Option<u64>,
    pub message: String,
}

impl VerifyFailure {
    pub fn at(
        level: VerifyLevel,
        file: Option<&str>,
        offset: Option<u64>,
        seqno: Option<u64>,
        message: String,
    ) -> Self {
        VerifyFailure { level, file: file.map(str::to_string), offset, seqno, message }
    }

    pub fn storage(level: VerifyLevel, e: StorageError) -> Self {
        let name = e.name.clone();
        VerifyFailure::at(level, Some(&name), None, None, e.to_string())
    }
}

impl fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.level.name())?;
        if let Some(file) = &self.file {
            write!(f, " {file}")?;
        }
        if let Some(offset) = self.offset {
            write!(f, " offset {offset}")?;
        }
        if let Some(seqno) = self.seqno {
            write!(f, " seqno {seqno}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// What was verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub level: VerifyLevel,
    pub chunks: usize,
    pub entries: u64,
    pub bytes: u64,
    pub first_seqno: Option<u64>,
    pub last: Option<TxId>,
    pub last_signed: Option<TxId>,
    pub signatures: u64,
    pub private_domains_decrypted: u64,
    /// Named gaps between chunks, as (first missing, last missing).
    pub holes: Vec<(u64, u64)>,
    /// Entries after the last signature (not covered by any signature).
    pub unsigned_tail: u64,
}

impl VerifyReport {
    pub fn new(level: VerifyLevel) -> Self {
        VerifyReport {
            level,
            chunks: 0,
            entries: 0,
            bytes: 0,
            first_seqno: None,
            last: None,
            last_signed: None,
            signatures: 0,
            private_domains_decrypted: 0,
            holes: Vec::new(),
            unsigned_tail: 0,
        }
    }
}

/// Progress after each chunk.
#[derive(Debug, Clone, Copy)]
pub struct VerifyProgress {
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub chunks_done: usize,
    pub chunks_total: usize,
    pub entries: u64,
}

/// The report, and the first failure if any.
#[derive(Debug, Clone)]
pub struct VerifyOutcome {
    pub report: VerifyReport,
    pub failure: Option<VerifyFailure>,
}
