//! CCF's Merkle tree over transactions. Leaf i is transaction seqno i; leaf 0 is 32 zero bytes
//! (not hashed). A parent is SHA-256(left ‖ right); an odd node at the end of a level is
//! promoted unchanged. The root of n leaves therefore equals the right fold of the "peaks"
//! (the perfect subtrees given by the binary digits of n): root = H(p_1, H(p_2, ... p_k)).
//! [`MerkleFrontier`] keeps only the peaks: O(log n) memory, amortised O(1) hashes per leaf.

mod frontier;
mod leaf;

pub use frontier::MerkleFrontier;
pub use leaf::leaf_digest;
