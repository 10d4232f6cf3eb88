//! The status of a transaction id, as `GET /node/tx` reports it (CCF's rules, one node).
use crate::ViewHistory;
use cairn_ledger::format::TxId;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TxStatus {
    Unknown,
    Pending,
    Committed,
    Invalid,
}

impl TxStatus {
    /// `last` is the last appended tx, `commit` the last committed one, `current_view` the view
    /// the node writes in now.
    pub fn of(tx: TxId, views: &ViewHistory, last: TxId, commit: TxId, current_view: u64) -> TxStatus {
        if tx.seqno == 0 {
            return TxStatus::Invalid;
        }
        if tx.seqno <= last.seqno {
            return match views.view_of(tx.seqno) {
                Some(v) if v == tx.view && tx.seqno <= commit.seqno => TxStatus::Committed,
                Some(v) if v == tx.view => TxStatus::Pending,
                Some(_) if tx.seqno <= commit.seqno => TxStatus::Invalid,
                // An uncommitted seqno from another view: the ledger may still be replaced.
                Some(v) if tx.view < v => TxStatus::Invalid,
                _ => TxStatus::Unknown,
            };
        }
        // Not in the ledger: a view that ended cannot gain more entries here.
        if tx.view < current_view { TxStatus::Invalid } else { TxStatus::Unknown }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tx_status_table() {
        let mut views = ViewHistory::default();
        for s in 1..=10 {
            views.record(2, s);
        }
        for s in 11..=15 {
            views.record(3, s);
        }
        let last = TxId::new(3, 15);
        let commit = TxId::new(3, 12);
        let table = [
            ("2.5", TxStatus::Committed),
            ("3.12", TxStatus::Committed),
            ("3.5", TxStatus::Invalid),
            ("1.5", TxStatus::Invalid),
            ("3.13", TxStatus::Pending),
            ("2.13", TxStatus::Invalid),
            ("3.16", TxStatus::Unknown),
            ("4.16", TxStatus::Unknown),
            ("2.16", TxStatus::Invalid),
            ("3.0", TxStatus::Invalid),
        ];
        for (tx, want) in table {
            let got = TxStatus::of(tx.parse().unwrap(), &views, last, commit, 3);
            assert_eq!(got, want, "tx {tx}");
        }
    }
}
