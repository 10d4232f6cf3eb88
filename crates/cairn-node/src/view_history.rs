//! Which view each seqno was written in: the first seqno of every view (CCF's view history).
//! Used to answer `/node/tx` (a tx id whose view disagrees with the ledger is `Invalid`).
//!
//! Invariant: views and start seqnos both strictly increase.

#[derive(Debug, Clone, Default)]
pub struct ViewHistory {
    /// (view, first seqno in that view)
    starts: Vec<(u64, u64)>,
}

impl ViewHistory {
    /// Records that `seqno` was written in `view` (seqnos arrive in order).
    pub fn record(&mut self, view: u64, seqno: u64) {
        match self.starts.last() {
            Some(&(v, _)) if v == view => {}
            Some(&(v, s)) => {
                assert!(view > v && seqno > s, "view history must grow: ({view}, {seqno}) after ({v}, {s})");
                self.starts.push((view, seqno));
            }
            None => self.starts.push((view, seqno)),
        }
    }

    /// The history a snapshot records in CCF's form (element `v - 1` = first seqno of view
    /// `v`; a view that wrote nothing repeats the next one's start).
    pub fn from_ccf(history: &[u64]) -> Result<Self, String> {
        if history.windows(2).any(|w| w[0] > w[1]) {
            return Err(format!("view history {history:?} decreases"));
        }
        let mut starts: Vec<(u64, u64)> = Vec::new();
        for (i, &first) in history.iter().enumerate() {
            let view = i as u64 + 1;
            match starts.last_mut() {
                // The earlier view wrote nothing: this one starts at the same seqno.
                Some(last) if last.1 == first => *last = (view, first),
                _ => starts.push((view, first)),
            }
        }
        Ok(ViewHistory { starts })
    }

    /// The view `seqno` was written in, if known.
    pub fn view_of(&self, seqno: u64) -> Option<u64> {
        let i = self.starts.partition_point(|&(_, s)| s <= seqno);
        (i > 0).then(|| self.starts[i - 1].0)
    }

    /// (view, first seqno) of every view that wrote transactions, in order.
    pub fn starts(&self) -> &[(u64, u64)] {
        &self.starts
    }

    /// Forgets every seqno after `seqno` (a truncated tail).
    pub fn truncate(&mut self, seqno: u64) {
        self.starts.retain(|&(_, s)| s <= seqno);
    }

    pub fn check_invariants(&self) {
        for w in self.starts.windows(2) {
            assert!(w[0].0 < w[1].0 && w[0].1 < w[1].1, "view history not increasing: {w:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_of_follows_view_starts() {
        let mut h = ViewHistory::default();
        for (v, s) in [(2, 1), (2, 2), (2, 3), (3, 4), (5, 9)] {
            h.record(v, s);
        }
        h.check_invariants();
        let table = [(0, None), (1, Some(2)), (3, Some(2)), (4, Some(3)), (8, Some(3)), (9, Some(5)), (100, Some(5))];
        for (seqno, view) in table {
            assert_eq!(h.view_of(seqno), view, "seqno {seqno}");
        }
        h.truncate(5);
        assert_eq!(h.view_of(9), Some(3));
    }

    #[test]
    fn the_ccf_form_round_trips_and_decreasing_histories_are_refused() {
        let starts = [(2, 1), (4, 10), (7, 12)];
        let ccf = cairn_ledger::snapshot::view_history_from_starts(&starts);
        let h = ViewHistory::from_ccf(&ccf).unwrap();
        assert_eq!(h.starts(), &starts);
        h.check_invariants();
        assert!(ViewHistory::from_ccf(&[1, 5, 3]).is_err());
        assert_eq!(ViewHistory::from_ccf(&[]).unwrap().starts(), &[]);
    }
}
