use super::SnapshotError;
use std::fmt;
use std::str::FromStr;

/// A snapshot file name: `snapshot_<seqno>_<evidence_seqno>`, then `.committed` once the
/// receipt of the evidence transaction is appended. The evidence transaction always follows
/// the snapshot, so `evidence_seqno > seqno`; names are canonical (no leading zeros), so a
/// name parses back to itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SnapshotName {
    /// The seqno of the last transaction the snapshot includes.
    pub seqno: u64,
    /// The seqno of the transaction recording the snapshot's digest.
    pub evidence_seqno: u64,
    pub committed: bool,
}

const PREFIX: &str = "snapshot_";
const COMMITTED_SUFFIX: &str = ".committed";

impl SnapshotName {
    pub fn new(seqno: u64, evidence_seqno: u64) -> Self {
        assert!(evidence_seqno > seqno, "snapshot evidence {evidence_seqno} must follow the snapshot at {seqno}");
        SnapshotName { seqno, evidence_seqno, committed: false }
    }

    /// The same snapshot's name once committed.
    pub fn committed(self) -> Self {
        SnapshotName { committed: true, ..self }
    }

    /// The same snapshot's name before it was committed.
    pub fn uncommitted(self) -> Self {
        SnapshotName { committed: false, ..self }
    }
}

impl fmt::Display for SnapshotName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}_{}", self.seqno, self.evidence_seqno)?;
        if self.committed {
            f.write_str(COMMITTED_SUFFIX)?;
        }
        Ok(())
    }
}

impl FromStr for SnapshotName {
    type Err = SnapshotError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let bad = || SnapshotError::Name { name: name.to_string() };
        let rest = name.strip_prefix(PREFIX).ok_or_else(bad)?;
        let (rest, committed) = match rest.strip_suffix(COMMITTED_SUFFIX) {
            Some(rest) => (rest, true),
            None => (rest, false),
        };
        let (seqno, evidence) = rest.split_once('_').ok_or_else(bad)?;
        let number = |text: &str| text.bytes().all(|b| b.is_ascii_digit()).then(|| text.parse::<u64>().ok()).flatten();
        let parsed = SnapshotName {
            seqno: number(seqno).ok_or_else(bad)?,
            evidence_seqno: number(evidence).ok_or_else(bad)?,
            committed,
        };
        if parsed.evidence_seqno <= parsed.seqno || parsed.to_string() != name {
            return Err(bad());
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names_parse_only_in_canonical_ccf_form() {
        let table = [
            ("snapshot_100_101", Some((100, 101, false))),
            ("snapshot_100_101.committed", Some((100, 101, true))),
            ("snapshot_5_9.committed", Some((5, 9, true))),
            ("snapshot_100_100", None),
            ("snapshot_101_100.committed", None),
            ("snapshot_0100_101", None),
            ("snapshot_+1_2", None),
            ("snapshot_1_2.committed.corrupted", None),
            ("snapshot_1_2.tmp", None),
            ("snapshot_1", None),
            ("snapshot_1_2_3", None),
            ("ledger_1-2.committed", None),
            ("snapshot_1_99999999999999999999", None),
        ];
        for (text, expected) in table {
            let parsed = text.parse::<SnapshotName>().ok().map(|n| (n.seqno, n.evidence_seqno, n.committed));
            assert_eq!(parsed, expected, "{text}");
            if let Ok(name) = text.parse::<SnapshotName>() {
                assert_eq!(name.to_string(), text);
            }
        }
        let name = SnapshotName::new(7, 8);
        assert_eq!(name.committed().to_string(), "snapshot_7_8.committed");
        assert_eq!(name.committed().uncommitted(), name);
    }
}
