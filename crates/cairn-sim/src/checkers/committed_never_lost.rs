//! Durability of acknowledged commits: at the end (healed, quiet), every write a client saw
//! `Committed` reads back with the same value on every live node.
use super::{NodeView, Violation};
use cairn_ledger::format::TxId;

/// A write the reference model saw committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedWrite {
    pub id: u64,
    pub msg: String,
    pub tx: TxId,
}

pub fn check<'a>(
    nodes: &[&dyn NodeView],
    writes: impl IntoIterator<Item = &'a CommittedWrite>,
) -> Result<(), Violation> {
    for w in writes {
        for node in nodes {
            let found = node.private_record(w.id);
            if found.as_deref() != Some(w.msg.as_bytes()) {
                return Err(Violation::CommittedLost {
                    id: w.id,
                    tx: w.tx,
                    node: node.index(),
                    expected: w.msg.clone(),
                    found: found.map(|b| String::from_utf8_lossy(&b).into_owned()),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::fake::FakeNode;

    #[test]
    fn every_committed_write_is_on_every_node() {
        let w = CommittedWrite { id: 7, msg: "seven".into(), tx: TxId::new(2, 5) };
        let mut a = FakeNode::new(0);
        a.records.insert(7, b"seven".to_vec());
        let mut b = FakeNode::new(1);
        check(&[&a, &b], [&w]).unwrap_err();
        b.records.insert(7, b"seven".to_vec());
        check(&[&a, &b], [&w]).unwrap();
        b.records.insert(7, b"other".to_vec());
        let err = check(&[&a, &b], [&w]).unwrap_err();
        assert!(matches!(err, Violation::CommittedLost { node: 1, id: 7, .. }), "{err}");
    }
}
