//! The status of a transaction id, as `GET /node/tx` reports it.
//!
//! Raft's rules decide what is final: an entry at or below the commit never changes, and every
//! entry after a committed entry of view V has a view ≥ V. So a transaction is `Invalid` only
//! when another view holds its seqno at or below the commit, or its view is older than the
//! commit's and its seqno is above it; `Unknown` when this node cannot tell yet (it may lag).
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
    /// `views` gives the view of each seqno in this node's log (applied or not) up to `last`;
    /// `commit` is the last committed transaction.
    pub fn of(tx: TxId, views: &ViewHistory, last: TxId, commit: TxId) -> TxStatus {
        let in_log = (tx.seqno <= last.seqno).then(|| views.view_of(tx.seqno)).flatten();
        Self::of_log_view(tx, in_log, commit)
    }

    /// `log_view`: the view of the entry at `tx.seqno` in this node's log, if it has one.
    pub fn of_log_view(tx: TxId, log_view: Option<u64>, commit: TxId) -> TxStatus {
        if tx.seqno == 0 {
            return TxStatus::Invalid;
        }
        let committed = tx.seqno <= commit.seqno;
        match log_view {
            Some(v) if v == tx.view && committed => TxStatus::Committed,
            Some(v) if v == tx.view => TxStatus::Pending,
            _ if committed => {
                if log_view.is_some() {
                    TxStatus::Invalid
                } else {
                    TxStatus::Unknown
                }
            }
            // Above the commit: entries after a committed one of view V have views >= V.
            _ if tx.view < commit.view => TxStatus::Invalid,
            _ => TxStatus::Unknown,
        }
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
            let got = TxStatus::of(tx.parse().unwrap(), &views, last, commit);
            assert_eq!(got, want, "tx {tx}");
        }
    }
}
