//! Log matching (Raft §5.3): two entries with the same `(seqno, view)` on any two nodes have
//! the same bytes, and the same Merkle root over `1..=seqno` wherever both nodes' trees cover
//! it (so the whole prefix matches too).
use super::{NodeView, Violation};
use cairn_crypto::{Sha256, sha256};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy)]
struct Seen {
    node: usize,
    digest: Sha256,
    root: Option<(usize, Sha256)>,
}

#[derive(Debug, Default)]
pub struct LogMatching {
    seen: BTreeMap<(u64, u64), Seen>,
    /// node → (incarnation, seqno up to which its committed entries were already checked).
    cursor: BTreeMap<usize, (u64, u64)>,
}

impl LogMatching {
    pub fn observe(&mut self, node: &dyn NodeView) -> Result<(), Violation> {
        let me = node.index();
        let from = match self.cursor.get(&me) {
            Some(&(inc, c)) if inc == node.incarnation() => c + 1,
            _ => 1,
        };
        let last = node.last().seqno;
        for seqno in from..=last {
            let (Some(bytes), Some(view)) = (node.entry(seqno), node.view_at(seqno)) else { continue };
            let digest = sha256(&bytes);
            let root = node.root_at(seqno);
            match self.seen.get_mut(&(seqno, view)) {
                None => {
                    self.seen.insert((seqno, view), Seen { node: me, digest, root: root.map(|r| (me, r)) });
                }
                Some(seen) => {
                    if seen.digest != digest {
                        return Err(Violation::LogMatching {
                            seqno,
                            view,
                            nodes: (seen.node, me),
                            what: "entry bytes",
                        });
                    }
                    match (seen.root, root) {
                        (Some((other, r)), Some(mine)) if r != mine => {
                            return Err(Violation::LogMatching {
                                seqno,
                                view,
                                nodes: (other, me),
                                what: "Merkle root",
                            });
                        }
                        (None, Some(mine)) => seen.root = Some((me, mine)),
                        _ => {}
                    }
                }
            }
        }
        // Entries up to the commit never change in this process: no need to look again.
        let done = node.commit().seqno.min(last);
        self.cursor.insert(me, (node.incarnation(), from.saturating_sub(1).max(done)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::fake::FakeNode;

    #[test]
    fn same_index_and_term_means_same_entry() {
        let mut c = LogMatching::default();
        let a = FakeNode::new(0).with_log(&[(2, "a"), (2, "b"), (3, "c")]);
        let b = FakeNode::new(1).with_log(&[(2, "a"), (2, "b"), (4, "d")]);
        c.observe(&a).unwrap();
        c.observe(&b).unwrap();
        // Same (3, 3) with other bytes.
        let bad = FakeNode::new(2).with_log(&[(2, "a"), (2, "b"), (3, "x")]);
        let err = c.observe(&bad).unwrap_err();
        assert_eq!(err, Violation::LogMatching { seqno: 3, view: 3, nodes: (0, 2), what: "entry bytes" });
    }

    #[test]
    fn equal_last_entry_with_a_different_prefix_is_caught_by_the_root() {
        let mut c = LogMatching::default();
        c.observe(&FakeNode::new(0).with_log(&[(2, "a"), (3, "z")])).unwrap();
        let err = c.observe(&FakeNode::new(1).with_log(&[(2, "q"), (3, "z")])).unwrap_err();
        assert!(matches!(err, Violation::LogMatching { seqno: 1, .. }), "{err}");
    }
}
