//! CCF's Merkle tree over transactions. Leaf i is transaction seqno i; leaf 0 is 32 zero bytes
//! (not hashed). A parent is SHA-256(left ‖ right); an odd node at the end of a level is
//! promoted unchanged. The root of n leaves therefore equals the right fold of the "peaks"
//! (the perfect subtrees given by the binary digits of n): root = H(p_1, H(p_2, ... p_k)).
//!
//! - [`MerkleFrontier`] keeps only the peaks: O(log n) memory, amortised O(1) hashes per leaf;
//!   its encoding is what `public:ccf.internal.tree` records, and what the verifier uses.
//! - [`MerkleTree`] keeps every leaf and complete inner node (~64 bytes per leaf) so the primary
//!   can answer inclusion proofs ([`ProofStep`]s, CCF's receipt `proof`) for any leaf against
//!   the root of any earlier size, i.e. against any past signature. Both give the same roots.

mod frontier;
mod leaf;
mod proof_step;
mod tree;

pub use frontier::MerkleFrontier;
pub use leaf::leaf_digest;
pub use proof_step::ProofStep;
pub use tree::MerkleTree;
