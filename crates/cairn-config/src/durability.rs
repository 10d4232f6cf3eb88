//! [`Durability`]: `ledger.durability` (Beyond CCF), how hard the node pushes ledger writes to
//! disk before it reports them committed. The server maps it onto its storage's own setting.

/// `ledger.durability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `"fsync"` (default): a committable entry is fsynced, with its directory entry, before
    /// anyone is told it is committed; concurrent writers share one fsync.
    #[default]
    Fsync,
    /// `"flush"`: CCF's behaviour, writes are handed to the OS without fsync (for comparison).
    Flush,
}

impl Durability {
    /// The configuration-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Fsync => "fsync",
            Durability::Flush => "flush",
        }
    }

    /// Reads the configuration-file spelling (case-insensitive).
    pub fn from_name(text: &str) -> Option<Self> {
        [Durability::Fsync, Durability::Flush].into_iter().find(|d| d.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_and_unknown_names_are_refused() {
        for d in [Durability::Fsync, Durability::Flush] {
            assert_eq!(Durability::from_name(d.as_str()), Some(d));
        }
        assert_eq!(Durability::from_name("FSYNC"), Some(Durability::Fsync));
        assert_eq!(Durability::from_name("fdatasync"), None);
    }
}
