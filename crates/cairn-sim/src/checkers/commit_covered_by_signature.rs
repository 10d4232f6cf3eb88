//! A node's CCF commit is 0 or a signature transaction in its own ledger, with the view the
//! ledger records for it, and not beyond its last entry.
use super::{NodeView, Violation};

pub fn check(node: &dyn NodeView) -> Result<(), Violation> {
    let commit = node.commit();
    if commit.seqno == 0 {
        return Ok(());
    }
    let fail = |why: String| Err(Violation::CommitNotSignature { node: node.index(), commit, why });
    if commit.seqno > node.last().seqno {
        return fail(format!("beyond the last entry {}", node.last()));
    }
    match node.view_at(commit.seqno) {
        None => return fail("the entry is not in the node's ledger".into()),
        Some(v) if v != commit.view => return fail(format!("the ledger has view {v} there")),
        Some(_) => {}
    }
    match node.is_signature(commit.seqno) {
        Some(true) => Ok(()),
        Some(false) => fail("the entry is not a signature transaction".into()),
        None => fail("the entry does not decode".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::fake::FakeNode;
    use cairn_ledger::format::TxId;

    #[test]
    fn commit_must_land_on_a_signature_of_its_view() {
        let mut n = FakeNode::new(0).with_log(&[(2, "tx"), (2, "sig"), (3, "tx")]);
        check(&n).unwrap();
        n.commit = TxId::new(2, 2);
        check(&n).unwrap();
        n.commit = TxId::new(3, 3);
        assert!(check(&n).unwrap_err().to_string().contains("not a signature"));
        n.commit = TxId::new(3, 2);
        assert!(check(&n).unwrap_err().to_string().contains("view 2"));
        n.commit = TxId::new(3, 9);
        assert!(check(&n).unwrap_err().to_string().contains("beyond"));
    }
}
