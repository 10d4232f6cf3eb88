//! State machine safety (Raft §5.4.3): at every seqno at or below both nodes' CCF commit, the
//! entries and the Merkle roots over `1..=seqno` are equal. The first node to commit a seqno
//! fixes its digest and root; every other node (and the same node after a restart) is compared
//! against it.
use super::{NodeView, Violation};
use cairn_crypto::{Sha256, sha256};
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct StateMachineSafety {
    /// seqno → (node that committed it first, entry digest, root).
    committed: BTreeMap<u64, (usize, Sha256, Option<Sha256>)>,
    /// node → (incarnation, seqno up to which it was checked).
    cursor: BTreeMap<usize, (u64, u64)>,
}

impl StateMachineSafety {
    pub fn observe(&mut self, node: &dyn NodeView) -> Result<(), Violation> {
        let me = node.index();
        let from = match self.cursor.get(&me) {
            Some(&(inc, c)) if inc == node.incarnation() => c + 1,
            _ => 1,
        };
        let commit = node.commit().seqno;
        for seqno in from..=commit {
            let Some(bytes) = node.entry(seqno) else {
                return Err(Violation::StateMachineSafety { seqno, nodes: (me, me), what: "committed entry missing" });
            };
            let digest = sha256(&bytes);
            let root = node.root_at(seqno);
            match self.committed.get_mut(&seqno) {
                None => {
                    self.committed.insert(seqno, (me, digest, root));
                }
                Some((other, d, r)) => {
                    if *d != digest {
                        return Err(Violation::StateMachineSafety { seqno, nodes: (*other, me), what: "entry" });
                    }
                    match (*r, root) {
                        (Some(a), Some(b)) if a != b => {
                            return Err(Violation::StateMachineSafety {
                                seqno,
                                nodes: (*other, me),
                                what: "Merkle root",
                            });
                        }
                        (None, Some(b)) => *r = Some(b),
                        _ => {}
                    }
                }
            }
        }
        self.cursor.insert(me, (node.incarnation(), commit.max(from.saturating_sub(1))));
        Ok(())
    }

    /// The highest seqno any node committed, with its entry digest.
    pub fn highest(&self) -> Option<(u64, Sha256)> {
        self.committed.iter().next_back().map(|(&s, &(_, d, _))| (s, d))
    }

    /// The highest seqno any node committed.
    pub fn highest_committed(&self) -> u64 {
        self.committed.keys().next_back().copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::fake::FakeNode;
    use cairn_ledger::format::TxId;

    #[test]
    fn committed_prefixes_must_agree() {
        let mut c = StateMachineSafety::default();
        let mut a = FakeNode::new(0).with_log(&[(2, "a"), (2, "sig"), (2, "t")]);
        a.commit = TxId::new(2, 2);
        c.observe(&a).unwrap();
        // Uncommitted divergence is fine.
        let mut b = FakeNode::new(1).with_log(&[(2, "a"), (2, "sig"), (3, "u")]);
        b.commit = TxId::new(2, 2);
        c.observe(&b).unwrap();
        let mut bad = FakeNode::new(2).with_log(&[(2, "a"), (2, "sig2")]);
        bad.commit = TxId::new(2, 2);
        let err = c.observe(&bad).unwrap_err();
        assert_eq!(err, Violation::StateMachineSafety { seqno: 2, nodes: (0, 2), what: "entry" });
        assert_eq!(c.highest_committed(), 2);
    }

    #[test]
    fn a_restart_is_checked_again_from_the_start() {
        let mut c = StateMachineSafety::default();
        let mut a = FakeNode::new(0).with_log(&[(2, "a"), (2, "sig")]);
        a.commit = TxId::new(2, 2);
        c.observe(&a).unwrap();
        a.incarnation = 1;
        a.log[0].1 = b"changed".to_vec();
        assert!(c.observe(&a).is_err());
    }
}
