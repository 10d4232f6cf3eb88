use std::fmt;

/// A parsed chunk file name: `ledger_<start>` (being written), `ledger_<start>-<end>`
/// (complete), then optionally `.committed`, then optionally `.recovery`. Any other name
/// (`.ignored`, `.corrupted`, `.tmp`, unrelated files) is not a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkName {
    pub start: u64,
    pub end: Option<u64>,
    pub committed: bool,
    pub recovery: bool,
}

impl ChunkName {
    pub fn open(start: u64) -> Self {
        ChunkName { start, end: None, committed: false, recovery: false }
    }

    pub fn parse(name: &str) -> Option<Self> {
        let mut rest = name.strip_prefix("ledger_")?;
        let recovery = match rest.strip_suffix(".recovery") {
            Some(r) => {
                rest = r;
                true
            }
            None => false,
        };
        let committed = match rest.strip_suffix(".committed") {
            Some(r) => {
                rest = r;
                true
            }
            None => false,
        };
        let digits =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
        let (start, end) = match rest.split_once('-') {
            Some((a, b)) if digits(a) && digits(b) => (a.parse().ok()?, Some(b.parse().ok()?)),
            None if digits(rest) => (rest.parse().ok()?, None),
            _ => return None,
        };
        if start == 0 || end.is_some_and(|e| e < start) || (committed && end.is_none()) {
            return None;
        }
        Some(ChunkName { start, end, committed, recovery })
    }

    pub fn is_complete(&self) -> bool {
        self.end.is_some()
    }

    pub fn completed(self, end: u64) -> Self {
        ChunkName { end: Some(end), ..self }
    }

    pub fn with_committed(self) -> Self {
        ChunkName { committed: true, ..self }
    }

    /// Number of entries named by a complete chunk.
    pub fn entry_count(&self) -> Option<u64> {
        self.end.map(|e| e - self.start + 1)
    }
}

impl fmt::Display for ChunkName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ledger_{}", self.start)?;
        if let Some(end) = self.end {
            write!(f, "-{end}")?;
        }
        if self.committed {
            f.write_str(".committed")?;
        }
        if self.recovery {
            f.write_str(".recovery")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_names_parse_and_print_back() {
        for name in [
            "ledger_1",
            "ledger_1-10",
            "ledger_1-10.committed",
            "ledger_11-20.recovery",
            "ledger_11-20.committed.recovery",
            "ledger_5.recovery",
        ] {
            assert_eq!(ChunkName::parse(name).unwrap().to_string(), name);
        }
        assert_eq!(
            ChunkName::parse("ledger_3-9.committed").unwrap(),
            ChunkName { start: 3, end: Some(9), committed: true, recovery: false }
        );
    }

    #[test]
    fn non_chunk_names_are_rejected() {
        for name in [
            "ledger_",
            "ledger_0",
            "ledger_01",
            "ledger_5-3",
            "ledger_1-10.ignored",
            "ledger_7.at-8.corrupted",
            "ledger_1.committed",
            "snapshot_10_12",
            "service_cert.pem",
            "ledger_1-10.committed.tmp",
            "ledger_1-",
            "ledger_-3",
            "ledger_1-2-3",
        ] {
            assert_eq!(ChunkName::parse(name), None, "{name}");
        }
    }
}
