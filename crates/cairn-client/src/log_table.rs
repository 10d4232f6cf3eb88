//! The two tables of the sample logging application: `/app/log/private` (encrypted in the
//! ledger) and `/app/log/public` (plaintext).

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogTable {
    Private,
    Public,
}

impl LogTable {
    /// The endpoint path, without host or query.
    pub fn path(self) -> &'static str {
        match self {
            LogTable::Private => "/app/log/private",
            LogTable::Public => "/app/log/public",
        }
    }
}

impl std::str::FromStr for LogTable {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "private" => Ok(LogTable::Private),
            "public" => Ok(LogTable::Public),
            other => Err(format!("table {other:?}: expected private or public")),
        }
    }
}
