use std::fmt;
use std::str::FromStr;

/// A transaction id: `view.seqno` (view = Raft term, seqno = Raft index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TxId {
    pub view: u64,
    pub seqno: u64,
}

impl TxId {
    pub fn new(view: u64, seqno: u64) -> Self {
        TxId { view, seqno }
    }
}

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.view, self.seqno)
    }
}

impl FromStr for TxId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (v, n) = s.split_once('.').ok_or_else(|| format!("transaction id {s:?} is not VIEW.SEQNO"))?;
        let view = v.parse().map_err(|_| format!("transaction id {s:?}: bad view"))?;
        let seqno = n.parse().map_err(|_| format!("transaction id {s:?}: bad seqno"))?;
        Ok(TxId { view, seqno })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tx_id_parses_and_prints_view_dot_seqno() {
        let id: TxId = "2.15".parse().unwrap();
        assert_eq!(id, TxId::new(2, 15));
        assert_eq!(id.to_string(), "2.15");
        assert!("2".parse::<TxId>().is_err());
        assert!("a.1".parse::<TxId>().is_err());
    }
}
