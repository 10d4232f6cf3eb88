//! CCF's view history, as a snapshot records it: element `v - 1` is the first seqno of view
//! `v` (views start at 1); a view without transactions repeats the start of the next one. So
//! the view of seqno `s` is the number of elements `<= s`.
//!
//! Invariant: the elements never decrease.

/// The view history from the `(view, first seqno)` of every view that wrote transactions,
/// views increasing (e.g. `[(2, 1), (4, 10)]` gives `[1, 1, 10, 10]`).
pub fn view_history_from_starts(starts: &[(u64, u64)]) -> Vec<u64> {
    let mut history = Vec::new();
    for &(view, first_seqno) in starts {
        assert!(
            view as usize > history.len() && history.last().is_none_or(|last| *last < first_seqno),
            "view starts must increase: ({view}, {first_seqno}) after {history:?}"
        );
        history.resize(view as usize, first_seqno);
    }
    history
}

/// The view seqno `seqno` was written in, by the view history (0 before the first view).
pub fn view_at(view_history: &[u64], seqno: u64) -> u64 {
    view_history.partition_point(|start| *start <= seqno) as u64
}

/// `true` if the elements never decrease.
pub fn is_valid_view_history(view_history: &[u64]) -> bool {
    view_history.windows(2).all(|w| w[0] <= w[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_at_follows_ccf_view_history() {
        // CCF's own test case (src/consensus/aft/test/view_history.cpp).
        let history = [3, 3, 3, 5, 6, 12];
        for (seqno, view) in [(2, 0), (4, 3), (5, 4), (8, 5), (19, 6), (20, 6)] {
            assert_eq!(view_at(&history, seqno), view, "seqno {seqno}");
        }
        let built = view_history_from_starts(&[(2, 1), (4, 10)]);
        assert_eq!(built, vec![1, 1, 10, 10]);
        assert_eq!((view_at(&built, 9), view_at(&built, 10)), (2, 4));
        assert!(is_valid_view_history(&built) && !is_valid_view_history(&[2, 1]));
        assert!(view_history_from_starts(&[]).is_empty());
    }
}
