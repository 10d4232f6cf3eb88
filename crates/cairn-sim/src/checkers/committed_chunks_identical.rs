//! Committed chunk files are identical across nodes: any `.committed` chunk two nodes both hold
//! has the same bytes, and up to the shortest committed ledger every node holds the same set
//! of `.committed` chunk names (chunk boundaries follow from the entries).
use super::{NodeView, Violation};
use cairn_ledger::chunk::ChunkName;
use std::collections::BTreeMap;

pub fn check(nodes: &[&dyn NodeView]) -> Result<(), Violation> {
    let all: Vec<(usize, BTreeMap<String, Vec<u8>>)> =
        nodes.iter().map(|n| (n.index(), n.committed_chunks())).collect();
    let end_of =
        |chunks: &BTreeMap<String, Vec<u8>>| chunks.keys().filter_map(|n| ChunkName::parse(n)?.end).max().unwrap_or(0);
    let common_end = all.iter().map(|(_, c)| end_of(c)).min().unwrap_or(0);
    for (i, (a, ca)) in all.iter().enumerate() {
        for (b, cb) in &all[i + 1..] {
            for (name, bytes) in ca {
                if let Some(other) = cb.get(name)
                    && other != bytes
                {
                    return Err(Violation::ChunksDiffer { name: name.clone(), nodes: (*a, *b), what: "bytes differ" });
                }
            }
            let within = |c: &BTreeMap<String, Vec<u8>>| -> Vec<String> {
                c.keys()
                    .filter(|n| ChunkName::parse(n).and_then(|c| c.end).is_some_and(|e| e <= common_end))
                    .cloned()
                    .collect()
            };
            let (na, nb) = (within(ca), within(cb));
            if na != nb {
                let name = na.iter().find(|n| !nb.contains(n)).or_else(|| nb.iter().find(|n| !na.contains(n)));
                return Err(Violation::ChunksDiffer {
                    name: name.cloned().unwrap_or_default(),
                    nodes: (*a, *b),
                    what: "held by only one of the nodes",
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

    fn node(index: usize, chunks: &[(&str, &str)]) -> FakeNode {
        let mut n = FakeNode::new(index);
        n.chunks = chunks.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect();
        n
    }

    #[test]
    fn identical_prefixes_pass_and_differences_fail() {
        let a = node(0, &[("ledger_1-4.committed", "x"), ("ledger_5-9.committed", "y")]);
        let b = node(1, &[("ledger_1-4.committed", "x")]);
        check(&[&a, &b]).unwrap();
        let c = node(2, &[("ledger_1-4.committed", "X")]);
        assert!(matches!(check(&[&a, &c]).unwrap_err(), Violation::ChunksDiffer { what: "bytes differ", .. }));
        let d = node(3, &[("ledger_1-3.committed", "x"), ("ledger_4-9.committed", "y")]);
        let err = check(&[&a, &d]).unwrap_err();
        assert_eq!(err.checker(), "committed_chunks_identical");
    }
}
