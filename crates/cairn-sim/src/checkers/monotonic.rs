//! Monotonicity: within one process lifetime a node's CCF commit, its view (Raft term) and
//! its Raft commit index never decrease; and the highest commit any node ever reported is held
//! again by the cluster once it is healed and quiet ([`Monotonic::check_final`]: a restarted
//! node rebuilds its commit from its ledger, a lower bound, so the live maximum may dip while
//! nodes are down or catching up, but must come back).
use super::{NodeView, Violation};
use cairn_ledger::format::TxId;
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct Monotonic {
    /// node → (incarnation, commit, term, Raft commit index) last seen.
    last: BTreeMap<usize, (u64, TxId, u64, u64)>,
    /// The highest commit any node reported, and which node.
    max_commit: (TxId, usize),
}

impl Monotonic {
    pub fn observe(&mut self, node: &dyn NodeView) -> Result<(), Violation> {
        let raft = node.raft();
        let (inc, commit, term) = (node.incarnation(), node.commit(), raft.term);
        if let Some(&(i, c, t, rc)) = self.last.get(&node.index())
            && i == inc
        {
            if commit.seqno < c.seqno || commit.view < c.view {
                return Err(Violation::Monotonic {
                    node: Some(node.index()),
                    what: "CCF commit",
                    before: c,
                    after: commit,
                });
            }
            if term < t {
                return Err(Violation::Monotonic {
                    node: Some(node.index()),
                    what: "view (Raft term)",
                    before: TxId::new(t, 0),
                    after: TxId::new(term, 0),
                });
            }
            if raft.raft_commit < rc {
                return Err(Violation::Monotonic {
                    node: Some(node.index()),
                    what: "Raft commit index",
                    before: TxId::new(0, rc),
                    after: TxId::new(0, raft.raft_commit),
                });
            }
        }
        self.last.insert(node.index(), (inc, commit, term, raft.raft_commit));
        if commit.seqno > self.max_commit.0.seqno {
            self.max_commit = (commit, node.index());
        }
        Ok(())
    }

    /// The highest commit ever reported.
    pub fn max_commit(&self) -> TxId {
        self.max_commit.0
    }

    /// At the end: some live node holds a commit at least as high as any ever reported.
    pub fn check_final(&self, nodes: &[&dyn NodeView]) -> Result<(), Violation> {
        let now = nodes.iter().map(|n| n.commit()).max_by_key(|c| c.seqno).unwrap_or_default();
        if now.seqno < self.max_commit.0.seqno {
            return Err(Violation::Monotonic {
                node: None,
                what: "highest CCF commit (after healing and quiescing)",
                before: self.max_commit.0,
                after: now,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::fake::FakeNode;

    #[test]
    fn commit_may_restart_lower_but_never_go_back_within_a_life() {
        let mut c = Monotonic::default();
        let mut n = FakeNode::new(0);
        n.commit = TxId::new(2, 10);
        c.observe(&n).unwrap();
        n.commit = TxId::new(2, 12);
        c.observe(&n).unwrap();
        n.incarnation = 1;
        n.commit = TxId::new(2, 8);
        c.observe(&n).unwrap();
        n.commit = TxId::new(2, 7);
        let err = c.observe(&n).unwrap_err();
        assert!(matches!(err, Violation::Monotonic { node: Some(0), .. }), "{err}");
        assert_eq!(c.max_commit(), TxId::new(2, 12));
        let low = FakeNode { commit: TxId::new(2, 9), ..FakeNode::new(1) };
        assert!(c.check_final(&[&low]).is_err());
        let high = FakeNode { commit: TxId::new(3, 14), ..FakeNode::new(2) };
        c.check_final(&[&low, &high]).unwrap();
    }
}
