use super::{MerkleFrontier, ProofStep};
use cairn_crypto::{Sha256, sha256_parts};

/// The whole CCF Merkle tree: every leaf and every complete inner node, so inclusion proofs
/// for any leaf against the root of any prefix (an older signature's root) take O(log n).
///
/// `levels[h][i]` is the root of the perfect subtree of `2^h` leaves starting at leaf
/// `(first[h] + i) << h`. Nodes that cover an incomplete range (the right edge of a tree whose
/// size is not a power of two) are not stored: they are the right fold of the peaks of their
/// range, computed on demand. Memory: `n + n/2 + n/4 + ... < 2n` digests, about 64 bytes per leaf.
///
/// A tree built from leaves has `first[h] == 0` everywhere. A tree started from a frontier
/// ([`MerkleTree::from_frontier`], a node starting from a snapshot) stores only the frontier's
/// peaks below its starting size `base`, so it has the same roots for every size `>= base` and
/// proofs for leaves from [`MerkleTree::first_provable_leaf`] on, and nothing before.
///
/// # Invariants (checked by [`MerkleTree::check_invariants`])
/// 1. `levels` is never empty and `first[h] + levels[h].len() == leaf_count >> h` for every
///    stored level; there is exactly one level per bit of `leaf_count` (one level when it is 0);
///    every `first[h]` is even (a stored node's sibling-to-be is stored too).
/// 2. A stored node whose children are both stored is the hash of them.
/// 3. `leaf_count >= base`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleTree {
    levels: Vec<Vec<Sha256>>,
    /// Global index of `levels[h][0]`.
    first: Vec<u64>,
    /// The size the tree started from (0 unless built from a frontier): never truncated below.
    base: u64,
}

fn parent(left: &Sha256, right: &Sha256) -> Sha256 {
    sha256_parts(&[left.as_bytes(), right.as_bytes()])
}

impl MerkleTree {
    /// A tree holding only leaf 0 (32 zero bytes), as every CCF ledger starts.
    pub fn new() -> Self {
        let mut t = MerkleTree::empty();
        t.append(Sha256::ZERO);
        t
    }

    /// A tree with no leaves at all.
    pub fn empty() -> Self {
        MerkleTree { levels: vec![Vec::new()], first: vec![0], base: 0 }
    }

    /// The tree whose first `frontier.leaf_count()` leaves are known only through their peaks
    /// (`public:ccf.internal.tree` of a snapshot plus its `hash_at_snapshot`): appending goes on
    /// exactly as in the whole tree, with the same roots for every size from that count on.
    pub fn from_frontier(frontier: &MerkleFrontier) -> Self {
        let n = frontier.leaf_count();
        let heights = if n == 0 { 1 } else { (u64::BITS - n.leading_zeros()) as usize };
        let mut levels = vec![Vec::new(); heights];
        let first = (0..heights).map(|h| (n >> (h + 1)) << 1).collect();
        for (h, digest) in frontier.peaks() {
            levels[h as usize].push(digest);
        }
        let tree = MerkleTree { levels, first, base: n };
        assert!(tree.check_invariants().is_ok(), "{:?}", tree.check_invariants());
        tree
    }

    /// The first leaf this tree can prove (0 unless it started from a frontier).
    pub fn first_provable_leaf(&self) -> u64 {
        self.first[0]
    }

    /// The size this tree started from (0 unless it started from a frontier): roots exist for
    /// every size from here (and 1 for a whole tree), proofs for leaves from
    /// [`MerkleTree::first_provable_leaf`].
    pub fn base(&self) -> u64 {
        self.base
    }

    /// A tree over `leaves`, in order.
    pub fn from_leaves(leaves: impl IntoIterator<Item = Sha256>) -> Self {
        let mut t = MerkleTree::empty();
        for leaf in leaves {
            t.append(leaf);
        }
        t
    }

    pub fn leaf_count(&self) -> u64 {
        self.count(0)
    }

    /// Nodes of level `h` (stored or not) in the current tree.
    fn count(&self, h: usize) -> u64 {
        self.first[h] + self.levels[h].len() as u64
    }

    /// Leaf `index` (leaf `seqno` is transaction `seqno`'s digest); `None` beyond the tree or
    /// before a frontier tree's first stored leaf.
    pub fn leaf(&self, index: u64) -> Option<Sha256> {
        self.try_stored(0, index)
    }

    /// Appends a leaf: amortised O(1) hashes.
    pub fn append(&mut self, leaf: Sha256) {
        self.levels[0].push(leaf);
        let mut h = 0;
        while self.count(h).is_multiple_of(2) {
            let level = &self.levels[h];
            let node = parent(&level[level.len() - 2], &level[level.len() - 1]);
            if self.levels.len() == h + 1 {
                self.levels.push(Vec::new());
                self.first.push(self.count(h) / 2 - 1);
            }
            self.levels[h + 1].push(node);
            h += 1;
        }
    }

    /// The root over every leaf; `None` for a tree with no leaves.
    pub fn root(&self) -> Option<Sha256> {
        self.root_at(self.leaf_count())
    }

    /// The root of the tree of the first `size` leaves (what a signature at seqno `size`
    /// signed); `None` if `size` is 0 or more than `leaf_count()`, or below a frontier tree's
    /// base.
    pub fn root_at(&self, size: u64) -> Option<Sha256> {
        (size >= 1 && size >= self.base && size <= self.leaf_count()).then(|| self.range_root(0, size))
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves: walking it
    /// from the leaf (see [`ProofStep::walk`]) gives `root_at(size)`. A node promoted unchanged
    /// to the next level contributes no step, as in CCF.
    ///
    /// Panics unless `first_provable_leaf() <= index < size <= leaf_count()` and `size >= base()`
    /// (a caller bug: there is no such proof here).
    pub fn path(&self, index: u64, size: u64) -> Vec<ProofStep> {
        assert!(
            index < size && size <= self.leaf_count() && index >= self.first[0] && size >= self.base,
            "no Merkle path for leaf {index} in a tree of {size} leaves ({} stored from leaf {})",
            self.leaf_count(),
            self.first[0]
        );
        let mut steps = Vec::new();
        let (mut i, mut width, mut h) = (index, size, 0u32);
        while width > 1 {
            if i % 2 == 1 {
                steps.push(ProofStep::Left(self.node(h, i - 1, size)));
            } else if i + 1 < width {
                steps.push(ProofStep::Right(self.node(h, i + 1, size)));
            }
            i /= 2;
            width = width.div_ceil(2);
            h += 1;
        }
        steps
    }

    /// Forgets every leaf from `size` on (uncommitted entries cut by a new primary).
    pub fn truncate(&mut self, size: u64) {
        assert!(size <= self.leaf_count(), "cannot truncate {} leaves to {size}", self.leaf_count());
        assert!(size >= self.base, "cannot truncate below the frontier the tree started from ({})", self.base);
        for (h, level) in self.levels.iter_mut().enumerate() {
            let keep = (size >> h).saturating_sub(self.first[h]);
            level.truncate(usize::try_from(keep).expect("fits: at most the current length"));
        }
        while self.levels.len() > 1 && self.count(self.levels.len() - 1) == 0 {
            self.levels.pop();
            self.first.pop();
        }
        assert!(self.check_invariants().is_ok());
    }

    /// The peaks of the current tree as a [`MerkleFrontier`] (what `public:ccf.internal.tree`
    /// records).
    pub fn frontier(&self) -> MerkleFrontier {
        MerkleFrontier::decode(&self.encode_frontier()).expect("peaks of a consistent tree")
    }

    /// The frontier's serialisation ([`MerkleFrontier::encode`]) without building it.
    pub fn encode_frontier(&self) -> Vec<u8> {
        let count = self.leaf_count();
        let mut out = Vec::with_capacity(8 + 33 * count.count_ones() as usize);
        out.extend_from_slice(&count.to_le_bytes());
        for (h, digest) in self.peaks(0, count) {
            out.push(h as u8);
            out.extend_from_slice(digest.as_bytes());
        }
        out
    }

    /// Checks the invariants above; O(n) hashes (for tests and the simulator).
    pub fn check_invariants(&self) -> Result<(), String> {
        let count = self.leaf_count();
        let expected_levels = if count == 0 { 1 } else { (u64::BITS - count.leading_zeros()) as usize };
        if self.levels.len() != expected_levels {
            return Err(format!("{} levels stored for {count} leaves (expected {expected_levels})", self.levels.len()));
        }
        if self.first.len() != self.levels.len() {
            return Err(format!("{} level offsets for {} levels", self.first.len(), self.levels.len()));
        }
        if count < self.base {
            return Err(format!("{count} leaves, below the base {}", self.base));
        }
        for (h, level) in self.levels.iter().enumerate() {
            if self.count(h) != count >> h {
                return Err(format!(
                    "level {h} holds {} nodes from {}, expected {}",
                    level.len(),
                    self.first[h],
                    count >> h
                ));
            }
            if !self.first[h].is_multiple_of(2) {
                return Err(format!("level {h} starts at odd index {}", self.first[h]));
            }
            if h == 0 {
                continue;
            }
            let bad = (0..level.len() as u64).map(|i| self.first[h] + i).find(|&j| {
                match (self.try_stored(h as u32 - 1, 2 * j), self.try_stored(h as u32 - 1, 2 * j + 1)) {
                    (Some(l), Some(r)) => self.stored(h as u32, j) != parent(&l, &r),
                    _ => false,
                }
            });
            if let Some(j) = bad {
                return Err(format!("node {} of level {h} is not the hash of its children", j - self.first[h]));
            }
        }
        Ok(())
    }

    /// Node `j` of level `h` in the tree of the first `size` leaves: stored if its range is
    /// complete, else the root of its (right-edge) partial range.
    fn node(&self, h: u32, j: u64, size: u64) -> Sha256 {
        let start = j << h;
        if (j + 1) << h <= size { self.stored(h, j) } else { self.range_root(start, size) }
    }

    fn stored(&self, h: u32, j: u64) -> Sha256 {
        self.try_stored(h, j).unwrap_or_else(|| panic!("node {j} of level {h} is not stored"))
    }

    fn try_stored(&self, h: u32, j: u64) -> Option<Sha256> {
        let level = self.levels.get(h as usize)?;
        let i = j.checked_sub(self.first[h as usize])?;
        usize::try_from(i).ok().and_then(|i| level.get(i)).copied()
    }

    /// The perfect subtrees covering leaves `start..end`, tallest first. `start` must be a
    /// multiple of the largest power of two not above `end - start`.
    fn peaks(&self, start: u64, end: u64) -> impl Iterator<Item = (u32, Sha256)> + '_ {
        let len = end - start;
        let mut offset = start;
        (0..u64::BITS).rev().filter(move |b| len & (1 << b) != 0).map(move |b| {
            debug_assert_eq!(offset % (1 << b), 0, "peak at {offset} of height {b} is not aligned");
            let node = (b, self.stored(b, offset >> b));
            offset += 1 << b;
            node
        })
    }

    /// Root of leaves `start..end` (non-empty, `start` aligned as for `peaks`): the right fold
    /// of the peaks, H(p1, H(p2, ... pk)), which is what promoting odd nodes computes.
    fn range_root(&self, start: u64, end: u64) -> Sha256 {
        let peaks: Vec<Sha256> = self.peaks(start, end).map(|(_, d)| d).collect();
        let (last, rest) = peaks.split_last().expect("a non-empty range has a peak");
        rest.iter().rev().fold(*last, |acc, peak| parent(peak, &acc))
    }
}

impl Default for MerkleTree {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_crypto::sha256;
    use proptest::prelude::*;

    /// Direct transcription of the level-by-level definition (CCF's `merkletree.py`): build
    /// every level, then read each leaf's path off them.
    fn reference(leaves: &[Sha256]) -> (Sha256, Vec<Vec<ProofStep>>) {
        let mut levels = vec![leaves.to_vec()];
        while levels.last().unwrap().len() > 1 {
            let next = levels
                .last()
                .unwrap()
                .chunks(2)
                .map(|p| if p.len() == 2 { parent(&p[0], &p[1]) } else { p[0] })
                .collect();
            levels.push(next);
        }
        let paths = (0..leaves.len())
            .map(|index| {
                let mut steps = Vec::new();
                for (h, level) in levels[..levels.len() - 1].iter().enumerate() {
                    let i = index >> h;
                    if i % 2 == 1 {
                        steps.push(ProofStep::Left(level[i - 1]));
                    } else if i + 1 < level.len() {
                        steps.push(ProofStep::Right(level[i + 1]));
                    }
                }
                steps
            })
            .collect();
        (levels.last().unwrap()[0], paths)
    }

    fn leaves(n: usize) -> Vec<Sha256> {
        (0..n).map(|i| sha256(&i.to_le_bytes())).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn every_path_recomputes_root_at_and_root_at_matches_the_frontier(n in 1usize..300, seed: u64) {
            let leaves = leaves(n);
            let tree = MerkleTree::from_leaves(leaves.iter().copied());
            prop_assert!(tree.check_invariants().is_ok());
            let mut frontier = MerkleFrontier::empty();
            let mut growing = MerkleTree::empty();
            for (i, leaf) in leaves.iter().enumerate() {
                frontier.append(*leaf);
                growing.append(*leaf);
                prop_assert_eq!(tree.root_at(i as u64 + 1), frontier.root());
                prop_assert_eq!(growing.encode_frontier(), frontier.encode());
            }
            prop_assert_eq!(growing.frontier(), frontier);
            // Every leaf of a few prefix sizes (including the whole tree).
            for size in [n as u64, (seed % n as u64) + 1, (seed / 7 % n as u64) + 1] {
                let root = tree.root_at(size).unwrap();
                let (ref_root, ref_paths) = reference(&leaves[..size as usize]);
                prop_assert_eq!(root, ref_root);
                for index in 0..size {
                    let path = tree.path(index, size);
                    prop_assert_eq!(ProofStep::walk(&leaves[index as usize], &path), root);
                    prop_assert_eq!(&path, &ref_paths[index as usize]);
                }
            }
        }

        #[test]
        fn truncate_then_append_equals_building_the_prefix(n in 1usize..150, cut in 0usize..150, extra in 0usize..20) {
            let cut = cut % (n + 1);
            let all = leaves(n + extra);
            let mut tree = MerkleTree::from_leaves(all[..n].iter().copied());
            tree.truncate(cut as u64);
            prop_assert!(tree.check_invariants().is_ok());
            prop_assert_eq!(&tree, &MerkleTree::from_leaves(all[..cut].iter().copied()));
            for leaf in &all[n..] {
                tree.append(*leaf);
            }
            let mut expected: Vec<Sha256> = all[..cut].to_vec();
            expected.extend_from_slice(&all[n..]);
            prop_assert_eq!(tree, MerkleTree::from_leaves(expected));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// A tree started from the frontier at `base` leaves behaves as the whole tree from
        /// there on: same roots for every size >= base, same proofs for every leaf from
        /// `first_provable_leaf`, same frontier encoding, and truncation back to any size >= base.
        #[test]
        fn a_tree_from_a_frontier_continues_the_whole_tree(base in 0usize..200, extra in 0usize..150, cut in 0usize..150) {
            let all = leaves(base + extra);
            let whole = MerkleTree::from_leaves(all.iter().copied());
            let mut partial = MerkleTree::from_frontier(&MerkleTree::from_leaves(all[..base].iter().copied()).frontier());
            prop_assert!(partial.check_invariants().is_ok(), "{:?}", partial.check_invariants());
            prop_assert_eq!(partial.base(), base as u64);
            let first = partial.first_provable_leaf();
            prop_assert!(first == base as u64 || first + 1 == base as u64);
            for leaf in &all[base..] {
                partial.append(*leaf);
                prop_assert!(partial.check_invariants().is_ok(), "{:?}", partial.check_invariants());
            }
            prop_assert_eq!(partial.leaf_count(), whole.leaf_count());
            prop_assert_eq!(partial.encode_frontier(), whole.encode_frontier());
            for size in 1..=whole.leaf_count() {
                let expected = if size >= base as u64 { whole.root_at(size) } else { None };
                prop_assert_eq!(partial.root_at(size), expected, "root at {}", size);
            }
            for index in first..whole.leaf_count() {
                prop_assert_eq!(partial.leaf(index), whole.leaf(index));
                for size in [index + 1, whole.leaf_count(), (index + 1).max(base as u64)] {
                    if size >= base as u64 && size <= whole.leaf_count() {
                        prop_assert_eq!(partial.path(index, size), whole.path(index, size), "leaf {} of {}", index, size);
                    }
                }
            }
            if first > 0 {
                prop_assert_eq!(partial.leaf(first - 1), None);
            }
            let cut = base as u64 + (cut as u64 % (extra as u64 + 1));
            partial.truncate(cut);
            prop_assert!(partial.check_invariants().is_ok(), "{:?}", partial.check_invariants());
            prop_assert_eq!(partial.root_at(cut), whole.root_at(cut));
            for leaf in &all[cut as usize..] {
                partial.append(*leaf);
            }
            prop_assert_eq!(partial.root(), whole.root());
        }
    }

    #[test]
    #[should_panic(expected = "cannot truncate below the frontier")]
    fn a_tree_from_a_frontier_cannot_be_cut_below_it() {
        let mut t = MerkleTree::from_frontier(&MerkleTree::from_leaves(leaves(6)).frontier());
        t.append(Sha256::ZERO);
        t.truncate(5);
    }

    #[test]
    fn new_tree_has_the_zero_leaf_and_frontier_encoding() {
        let t = MerkleTree::new();
        assert_eq!((t.leaf_count(), t.root(), t.leaf(0)), (1, Some(Sha256::ZERO), Some(Sha256::ZERO)));
        assert_eq!(t.frontier(), MerkleFrontier::new());
        assert_eq!(MerkleTree::empty().root(), None);
        assert_eq!(MerkleTree::empty().frontier(), MerkleFrontier::empty());
        assert!(t.path(0, 1).is_empty());
        assert_eq!(t.root_at(2), None);
        assert_eq!(t.root_at(0), None);
    }

    #[test]
    fn a_corrupted_inner_node_breaks_the_invariants() {
        let mut t = MerkleTree::from_leaves(leaves(6));
        assert!(t.check_invariants().is_ok());
        t.levels[1][2] = Sha256::ZERO;
        assert_eq!(t.check_invariants(), Err("node 2 of level 1 is not the hash of its children".into()));
    }

    #[test]
    #[should_panic(expected = "no Merkle path for leaf 3 in a tree of 3 leaves")]
    fn a_path_for_a_leaf_outside_the_prefix_is_a_bug() {
        MerkleTree::from_leaves(leaves(5)).path(3, 3);
    }
}
