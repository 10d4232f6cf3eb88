use cairn_crypto::{Sha256, sha256_parts};

/// The peaks of a CCF Merkle tree. Invariant: `peaks[i]` is the root of a perfect subtree whose
/// size is the i-th set bit of `leaf_count` from the most significant; sizes strictly decrease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleFrontier {
    leaf_count: u64,
    /// (height, digest), tallest first.
    peaks: Vec<(u32, Sha256)>,
}

fn parent(left: &Sha256, right: &Sha256) -> Sha256 {
    sha256_parts(&[left.as_bytes(), right.as_bytes()])
}

impl MerkleFrontier {
    /// A tree holding only leaf 0 (32 zero bytes), as every CCF ledger starts.
    pub fn new() -> Self {
        let mut f = MerkleFrontier::empty();
        f.append(Sha256::ZERO);
        f
    }

    /// A tree with no leaves at all.
    pub fn empty() -> Self {
        MerkleFrontier { leaf_count: 0, peaks: Vec::new() }
    }

    pub fn leaf_count(&self) -> u64 {
        self.leaf_count
    }

    /// The peaks as (height, digest), tallest first.
    pub fn peaks(&self) -> impl Iterator<Item = (u32, Sha256)> + '_ {
        self.peaks.iter().copied()
    }

    pub fn append(&mut self, leaf: Sha256) {
        let mut node = (0u32, leaf);
        while let Some(&(h, top)) = self.peaks.last() {
            if h != node.0 {
                break;
            }
            self.peaks.pop();
            node = (h + 1, parent(&top, &node.1));
        }
        self.peaks.push(node);
        self.leaf_count += 1;
        assert!(self.check_invariants().is_ok());
    }

    /// The root; `None` for a tree with no leaves.
    pub fn root(&self) -> Option<Sha256> {
        let mut iter = self.peaks.iter().rev();
        let mut acc = iter.next()?.1;
        for (_, peak) in iter {
            acc = parent(peak, &acc);
        }
        Some(acc)
    }

    pub fn check_invariants(&self) -> Result<(), String> {
        // Heights first: strictly decreasing heights below 64 cannot overflow the sum.
        if self.peaks.windows(2).any(|w| w[0].0 <= w[1].0) || self.peaks.iter().any(|(h, _)| *h >= u64::BITS) {
            return Err("peak heights must strictly decrease and be below 64".into());
        }
        let expected: u64 = self.peaks.iter().map(|(h, _)| 1u64 << h).sum();
        if expected != self.leaf_count {
            return Err(format!("peaks cover {expected} leaves, count is {}", self.leaf_count));
        }
        Ok(())
    }

    /// Serialisation stored in `public:ccf.internal.tree` (Cairn's compact form, not CCF's
    /// merklecpp layout): leaf count u64 LE, then each peak's height u8 and digest.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.peaks.len() * 33);
        out.extend_from_slice(&self.leaf_count.to_le_bytes());
        for (h, d) in &self.peaks {
            out.push(*h as u8);
            out.extend_from_slice(d.as_bytes());
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (count, rest) = bytes.split_first_chunk::<8>()?;
        if rest.len() % 33 != 0 {
            return None;
        }
        if rest.chunks(33).any(|c| u32::from(c[0]) >= u64::BITS) {
            return None;
        }
        let peaks =
            rest.chunks(33).map(|c| (u32::from(c[0]), Sha256::from_slice(&c[1..]).expect("32 bytes"))).collect();
        let f = MerkleFrontier { leaf_count: u64::from_le_bytes(*count), peaks };
        f.check_invariants().ok()?;
        Some(f)
    }
}

impl Default for MerkleFrontier {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_crypto::sha256;
    use proptest::prelude::*;

    /// Direct transcription of the level-by-level definition (CCF's `merkletree.py`).
    fn reference_root(leaves: &[Sha256]) -> Sha256 {
        let mut level = leaves.to_vec();
        while level.len() > 1 {
            level = level.chunks(2).map(|p| if p.len() == 2 { parent(&p[0], &p[1]) } else { p[0] }).collect();
        }
        level[0]
    }

    proptest! {
        #[test]
        fn frontier_root_equals_level_by_level_root(n in 1usize..300) {
            let leaves: Vec<Sha256> = (0..n).map(|i| sha256(&i.to_le_bytes())).collect();
            let mut f = MerkleFrontier::empty();
            for (i, l) in leaves.iter().enumerate() {
                f.append(*l);
                prop_assert_eq!(f.root().unwrap(), reference_root(&leaves[..=i]));
            }
            prop_assert_eq!(MerkleFrontier::decode(&f.encode()).unwrap(), f);
        }
    }

    #[test]
    fn new_tree_has_the_zero_leaf_as_root() {
        let f = MerkleFrontier::new();
        assert_eq!(f.leaf_count(), 1);
        assert_eq!(f.root(), Some(Sha256::ZERO));
        assert_eq!(MerkleFrontier::empty().root(), None);
    }
}
