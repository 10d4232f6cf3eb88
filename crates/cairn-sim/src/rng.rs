//! Randomness: one `ChaCha8Rng` from the seed drives the network, faults and workload; each node
//! draws from its own stream of the same seed, so adding a message to the network never changes
//! a node's election timeouts or ledger secrets.
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The simulator's own stream (network, faults, workload).
pub fn sim_rng(seed: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(0);
    rng
}

/// Node `index`'s stream (0-based), for its `fill_random`. Each incarnation (restart) of a node
/// gets its own stream too, so a restart never replays the random bytes of a previous life.
pub fn node_rng(seed: u64, index: usize, incarnation: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(1 + ((index as u64) << 32) + incarnation);
    rng
}

/// The core's randomness source (`cairn_node::FillRandom`).
pub type FillRandom = Box<dyn FnMut(&mut [u8]) + Send>;

/// A `fill_random` closure over [`node_rng`].
pub fn node_fill_random(seed: u64, index: usize, incarnation: u64) -> FillRandom {
    let mut rng = node_rng(seed, index, incarnation);
    Box::new(move |buf: &mut [u8]| rng.fill_bytes(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| sim_rng(7).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let n0 = node_rng(7, 0, 0).next_u64();
        let n1 = node_rng(7, 1, 0).next_u64();
        let n0b = node_rng(7, 0, 1).next_u64();
        assert_ne!(n0, n1);
        assert_ne!(n0, n0b);
        assert_ne!(sim_rng(7).next_u64(), n0);
        let mut buf = [0u8; 8];
        node_fill_random(7, 0, 0)(&mut buf);
        assert_eq!(u64::from_le_bytes(buf), n0);
    }
}
