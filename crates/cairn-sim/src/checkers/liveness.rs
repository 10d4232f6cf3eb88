//! Liveness after the final heal: within the deadline (3 × election timeout) some node is
//! leader and the highest CCF commit has moved past what it was at the heal.
use super::{NodeView, Role, Violation};

#[derive(Debug, Clone)]
pub struct Liveness {
    pub healed_at_ms: u64,
    pub deadline_ms: u64,
    commit_at_heal: u64,
    /// When progress was first seen.
    pub reached_at_ms: Option<u64>,
}

impl Liveness {
    pub fn new(healed_at_ms: u64, window_ms: u64, nodes: &[&dyn NodeView]) -> Self {
        let commit_at_heal = nodes.iter().map(|n| n.commit().seqno).max().unwrap_or(0);
        Liveness { healed_at_ms, deadline_ms: healed_at_ms + window_ms, commit_at_heal, reached_at_ms: None }
    }

    /// Records progress if the cluster shows it now.
    pub fn observe(&mut self, now_ms: u64, nodes: &[&dyn NodeView]) {
        if self.reached_at_ms.is_some() || now_ms > self.deadline_ms {
            return;
        }
        let leader = nodes.iter().any(|n| n.raft().role == Role::Leader);
        let commit = nodes.iter().map(|n| n.commit().seqno).max().unwrap_or(0);
        if leader && commit > self.commit_at_heal {
            self.reached_at_ms = Some(now_ms);
        }
    }

    /// At or after the deadline: progress must have been seen.
    pub fn check(&self, nodes: &[&dyn NodeView]) -> Result<(), Violation> {
        if self.reached_at_ms.is_some() {
            return Ok(());
        }
        let leaders: Vec<usize> = nodes.iter().filter(|n| n.raft().role == Role::Leader).map(|n| n.index()).collect();
        let commit = nodes.iter().map(|n| n.commit().seqno).max().unwrap_or(0);
        Err(Violation::Liveness {
            healed_at_ms: self.healed_at_ms,
            deadline_ms: self.deadline_ms,
            what: format!(
                "leaders {leaders:?}, highest commit {commit} (was {} at the heal), {} live nodes",
                self.commit_at_heal,
                nodes.len()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::RaftObs;
    use crate::checkers::fake::FakeNode;
    use cairn_ledger::format::TxId;

    #[test]
    fn progress_needs_a_leader_and_a_higher_commit() {
        let mut a = FakeNode::new(0);
        a.commit = TxId::new(2, 10);
        let mut l = Liveness::new(1000, 300, &[&a]);
        l.observe(1100, &[&a]);
        assert!(l.check(&[&a]).is_err());
        a.raft = Some(RaftObs { raft_id: 1, role: Role::Leader, term: 3, leader: 1, raft_commit: 12 });
        a.commit = TxId::new(3, 12);
        l.observe(1400, &[&a]);
        assert!(l.check(&[&a]).is_err(), "too late");
        let mut l = Liveness::new(1000, 300, &[&FakeNode::new(1)]);
        l.observe(1200, &[&a]);
        l.check(&[&a]).unwrap();
        assert_eq!(l.reached_at_ms, Some(1200));
    }
}
