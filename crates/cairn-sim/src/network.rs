//! [`SimNetwork`]: what happens to a frame between two nodes. Frames are opaque bytes; the
//! network only decides whether and when each copy arrives. Faults: loss (globally and per
//! link), delay drawn uniformly from a range (so frames overtake each other), duplication, and
//! partitions, symmetric or one-way, that the runner installs and heals on a schedule. A frame
//! to a node that is down when it arrives is lost (the runner checks that at delivery).
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};

/// Per-frame fault probabilities and the delay range.
#[derive(Debug, Clone, PartialEq)]
pub struct NetFaults {
    /// Probability that a frame is lost.
    pub drop_prob: f64,
    /// Probability that a delivered frame arrives twice (the copy with its own delay).
    pub dup_prob: f64,
    /// Delay of each copy, uniform in `min_delay_ms..=max_delay_ms`.
    pub min_delay_ms: u64,
    pub max_delay_ms: u64,
}

impl NetFaults {
    /// A perfect network with a fixed delay.
    pub fn reliable(delay_ms: u64) -> Self {
        NetFaults { drop_prob: 0.0, dup_prob: 0.0, min_delay_ms: delay_ms, max_delay_ms: delay_ms }
    }
}

impl Default for NetFaults {
    fn default() -> Self {
        NetFaults { drop_prob: 0.01, dup_prob: 0.01, min_delay_ms: 1, max_delay_ms: 30 }
    }
}

/// Counters, for the run summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    pub sent: u64,
    pub delivered_copies: u64,
    pub dropped: u64,
    pub blocked: u64,
    pub duplicated: u64,
}

#[derive(Debug, Clone)]
pub struct SimNetwork {
    nodes: usize,
    pub faults: NetFaults,
    /// Extra loss probability per directed link `(from, to)`.
    link_drop: BTreeMap<(usize, usize), f64>,
    /// Directed links cut by a partition.
    blocked: BTreeSet<(usize, usize)>,
    pub stats: NetStats,
}

impl SimNetwork {
    pub fn new(nodes: usize, faults: NetFaults) -> Self {
        assert!(faults.min_delay_ms <= faults.max_delay_ms, "delay range is empty");
        SimNetwork { nodes, faults, link_drop: BTreeMap::new(), blocked: BTreeSet::new(), stats: NetStats::default() }
    }

    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// Cuts every link between nodes of different groups, both ways. Nodes in no group are cut
    /// from everyone. Replaces any earlier partition.
    pub fn partition(&mut self, groups: &[Vec<usize>]) {
        self.blocked.clear();
        let group_of = |n: usize| groups.iter().position(|g| g.contains(&n));
        for a in 0..self.nodes {
            for b in 0..self.nodes {
                if a != b && (group_of(a).is_none() || group_of(a) != group_of(b)) {
                    self.blocked.insert((a, b));
                }
            }
        }
    }

    /// Cuts the link `from → to` only: `to` still reaches `from`.
    pub fn block_one_way(&mut self, from: usize, to: usize) {
        self.blocked.insert((from, to));
    }

    /// Removes every partition and per-link loss.
    pub fn heal(&mut self) {
        self.blocked.clear();
        self.link_drop.clear();
    }

    pub fn is_blocked(&self, from: usize, to: usize) -> bool {
        self.blocked.contains(&(from, to))
    }

    pub fn is_partitioned(&self) -> bool {
        !self.blocked.is_empty()
    }

    pub fn set_link_drop(&mut self, from: usize, to: usize, prob: f64) {
        self.link_drop.insert((from, to), prob);
    }

    fn delay(&self, rng: &mut impl Rng) -> u64 {
        rng.random_range(self.faults.min_delay_ms..=self.faults.max_delay_ms)
    }

    /// Decides the fate of one frame `from → to`: the delays after which its copies arrive
    /// (empty: lost). Draws from `rng` in a fixed order, whatever the outcome.
    pub fn route(&mut self, rng: &mut impl Rng, from: usize, to: usize) -> Vec<u64> {
        self.stats.sent += 1;
        let lost = rng.random_bool(self.faults.drop_prob.clamp(0.0, 1.0));
        let link_lost = rng.random_bool(self.link_drop.get(&(from, to)).copied().unwrap_or(0.0).clamp(0.0, 1.0));
        let dup = rng.random_bool(self.faults.dup_prob.clamp(0.0, 1.0));
        let first = self.delay(rng);
        let second = self.delay(rng);
        if self.is_blocked(from, to) {
            self.stats.blocked += 1;
            return Vec::new();
        }
        if lost || link_lost {
            self.stats.dropped += 1;
            return Vec::new();
        }
        if dup {
            self.stats.duplicated += 1;
            self.stats.delivered_copies += 2;
            vec![first, second]
        } else {
            self.stats.delivered_copies += 1;
            vec![first]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::sim_rng;

    #[test]
    fn symmetric_partition_cuts_both_ways_and_heals() {
        let mut net = SimNetwork::new(5, NetFaults::reliable(5));
        net.partition(&[vec![0, 1], vec![2, 3, 4]]);
        assert!(net.is_blocked(0, 2) && net.is_blocked(2, 0));
        assert!(!net.is_blocked(0, 1) && !net.is_blocked(3, 4));
        let mut rng = sim_rng(1);
        assert!(net.route(&mut rng, 1, 4).is_empty());
        assert_eq!(net.route(&mut rng, 2, 3), vec![5]);
        net.heal();
        assert!(!net.is_partitioned());
        assert_eq!(net.route(&mut rng, 1, 4), vec![5]);
    }

    #[test]
    fn isolated_node_and_one_way_link() {
        let mut net = SimNetwork::new(3, NetFaults::reliable(1));
        net.partition(&[vec![0, 1]]);
        assert!(net.is_blocked(2, 0) && net.is_blocked(1, 2));
        net.heal();
        net.block_one_way(0, 1);
        assert!(net.is_blocked(0, 1) && !net.is_blocked(1, 0));
    }

    #[test]
    fn loss_duplication_and_delays_follow_the_rates() {
        let faults = NetFaults { drop_prob: 0.2, dup_prob: 0.1, min_delay_ms: 3, max_delay_ms: 9 };
        let mut net = SimNetwork::new(2, faults);
        let mut rng = sim_rng(42);
        let (mut lost, mut dup) = (0, 0);
        for _ in 0..10_000 {
            let copies = net.route(&mut rng, 0, 1);
            assert!(copies.iter().all(|d| (3..=9).contains(d)));
            match copies.len() {
                0 => lost += 1,
                2 => dup += 1,
                _ => {}
            }
        }
        assert!((1700..2300).contains(&lost), "lost {lost}");
        assert!((600..1000).contains(&dup), "dup {dup}");
        assert_eq!(net.stats.sent, 10_000);
    }

    #[test]
    fn same_seed_same_fates() {
        let run = |seed| {
            let mut net = SimNetwork::new(3, NetFaults::default());
            let mut rng = sim_rng(seed);
            (0..200).map(|i| net.route(&mut rng, i % 3, (i + 1) % 3)).collect::<Vec<_>>()
        };
        assert_eq!(run(9), run(9));
        assert_ne!(run(9), run(10));
    }
}
