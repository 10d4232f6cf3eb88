//! Election safety (Raft §5.2): at most one leader per term, over the whole run.
use super::{NodeView, Role, Violation};
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct ElectionSafety {
    /// term → (node index, raft id) of the first leader seen in it.
    leaders: BTreeMap<u64, (usize, u64)>,
}

impl ElectionSafety {
    pub fn observe(&mut self, node: &dyn NodeView) -> Result<(), Violation> {
        let raft = node.raft();
        if raft.role != Role::Leader {
            return Ok(());
        }
        let me = (node.index(), raft.raft_id);
        let first = *self.leaders.entry(raft.term).or_insert(me);
        if first.1 != me.1 {
            return Err(Violation::ElectionSafety { term: raft.term, first, second: me });
        }
        Ok(())
    }

    /// Terms that had a leader, with it.
    pub fn leaders(&self) -> &BTreeMap<u64, (usize, u64)> {
        &self.leaders
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::RaftObs;
    use crate::checkers::fake::FakeNode;

    fn leader(index: usize, term: u64) -> FakeNode {
        let mut n = FakeNode::new(index);
        n.raft = Some(RaftObs {
            raft_id: 10 + index as u64,
            role: Role::Leader,
            term,
            leader: 10 + index as u64,
            raft_commit: 0,
        });
        n
    }

    #[test]
    fn one_leader_per_term_passes_and_two_fail() {
        let mut c = ElectionSafety::default();
        c.observe(&leader(0, 2)).unwrap();
        c.observe(&leader(0, 2)).unwrap();
        c.observe(&leader(1, 3)).unwrap();
        c.observe(&FakeNode::new(2)).unwrap();
        let err = c.observe(&leader(2, 3)).unwrap_err();
        assert_eq!(err, Violation::ElectionSafety { term: 3, first: (1, 11), second: (2, 12) });
        assert_eq!(err.checker(), "election_safety");
    }
}
