//! Leader completeness (Raft §5.4.1): a node that becomes leader holds every entry committed
//! so far. Checked once per (node, process lifetime, term) at the first observation as leader,
//! against the highest seqno any node has committed: the leader's entry there must be the one
//! committed (log matching and the Merkle roots then cover the prefix).
use super::state_machine_safety::StateMachineSafety;
use super::{NodeView, Role, Violation};
use cairn_crypto::sha256;
use std::collections::BTreeSet;

#[derive(Debug, Default)]
pub struct LeaderCompleteness {
    checked: BTreeSet<(usize, u64, u64)>,
}

impl LeaderCompleteness {
    pub fn observe(&mut self, node: &dyn NodeView, committed: &StateMachineSafety) -> Result<(), Violation> {
        let raft = node.raft();
        if raft.role != Role::Leader || !self.checked.insert((node.index(), node.incarnation(), raft.term)) {
            return Ok(());
        }
        let Some((seqno, digest)) = committed.highest() else { return Ok(()) };
        let fail =
            |what: &'static str| Violation::LeaderCompleteness { node: node.index(), term: raft.term, seqno, what };
        let Some(bytes) = node.entry(seqno) else { return Err(fail("the leader does not have the entry")) };
        if sha256(&bytes) != digest {
            return Err(fail("the leader has another entry there"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::RaftObs;
    use crate::checkers::fake::FakeNode;
    use cairn_ledger::format::TxId;

    #[test]
    fn a_new_leader_must_hold_the_highest_committed_entry() {
        let mut sms = StateMachineSafety::default();
        let mut a = FakeNode::new(0).with_log(&[(2, "a"), (2, "sig")]);
        a.commit = TxId::new(2, 2);
        sms.observe(&a).unwrap();
        let mut c = LeaderCompleteness::default();
        let leader = |n: &mut FakeNode, term| {
            n.raft = Some(RaftObs { raft_id: 1, role: Role::Leader, term, leader: 1, raft_commit: 0 })
        };
        let mut b = FakeNode::new(1).with_log(&[(2, "a")]);
        leader(&mut b, 3);
        let err = c.observe(&b, &sms).unwrap_err();
        assert_eq!(
            err,
            Violation::LeaderCompleteness { node: 1, term: 3, seqno: 2, what: "the leader does not have the entry" }
        );
        let mut ok = FakeNode::new(2).with_log(&[(2, "a"), (2, "sig"), (3, "x")]);
        leader(&mut ok, 4);
        c.observe(&ok, &sms).unwrap();
    }
}
