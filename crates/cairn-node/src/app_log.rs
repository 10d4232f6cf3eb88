//! The logging application (CCF's sample app): records keyed by a u64 id in a private table
//! `records` and a public table `public:records` (the same names `cairn ledger generate` uses).

/// Which of the two record tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTable {
    Private,
    Public,
}

impl LogTable {
    pub fn table_name(self) -> &'static str {
        match self {
            LogTable::Private => "records",
            LogTable::Public => "public:records",
        }
    }

    /// Record keys are the id as 8 little-endian bytes.
    pub fn key(id: u64) -> [u8; 8] {
        id.to_le_bytes()
    }
}

/// Upper bound on a record's message, so one request cannot make an oversized entry.
pub const MAX_MSG_BYTES: usize = 1 << 20;
