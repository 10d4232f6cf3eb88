//! Exact latency percentiles from every sample (no histogram buckets): the nearest-rank
//! percentile of the sorted samples, so p50 of 1..=100 ms is 50 ms and p99 is 99 ms.
//!
//! Invariants: `p50 <= p90 <= p99 <= max`, `min <= mean <= max`, `count > 0`.
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencySummary {
    pub count: usize,
    pub min_ms: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Nearest-rank percentile `p` (0 < p <= 100) of sorted, non-empty `sorted`.
fn nearest_rank(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl LatencySummary {
    /// The summary of `samples` (sorted in place), or `None` when there are none.
    pub fn of(samples: &mut [Duration]) -> Option<LatencySummary> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let total: Duration = samples.iter().sum();
        let summary = LatencySummary {
            count: samples.len(),
            min_ms: ms(samples[0]),
            mean_ms: ms(total) / samples.len() as f64,
            p50_ms: ms(nearest_rank(samples, 50.0)),
            p90_ms: ms(nearest_rank(samples, 90.0)),
            p99_ms: ms(nearest_rank(samples, 99.0)),
            max_ms: ms(samples[samples.len() - 1]),
        };
        summary.check_invariants();
        Some(summary)
    }

    pub fn check_invariants(&self) {
        assert!(self.count > 0, "empty summary");
        assert!(
            self.min_ms <= self.p50_ms
                && self.p50_ms <= self.p90_ms
                && self.p90_ms <= self.p99_ms
                && self.p99_ms <= self.max_ms,
            "percentiles out of order: {self:?}"
        );
        // The mean of f64 milliseconds may round a hair outside [min, max].
        assert!(
            self.min_ms - 1e-9 <= self.mean_ms && self.mean_ms <= self.max_ms + 1e-9,
            "mean out of range: {self:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(values: impl IntoIterator<Item = u64>) -> Vec<Duration> {
        values.into_iter().map(Duration::from_millis).collect()
    }

    #[test]
    fn percentiles_are_nearest_rank_of_the_sorted_samples() {
        // (samples in any order, p50, p90, p99, max), expectations from the nearest-rank
        // definition: rank = ceil(p/100 * n).
        let reversed_1_to_100: Vec<u64> = (1..=100).rev().collect();
        let table: Vec<(Vec<u64>, u64, u64, u64, u64)> = vec![
            (reversed_1_to_100, 50, 90, 99, 100),
            (vec![7], 7, 7, 7, 7),
            (vec![3, 1, 2], 2, 3, 3, 3),
            (vec![10, 10, 10, 10, 1000], 10, 1000, 1000, 1000),
            ((1..=1000).collect(), 500, 900, 990, 1000),
        ];
        for (values, p50, p90, p99, max) in table {
            let n = values.len();
            let s = LatencySummary::of(&mut millis(values)).unwrap();
            assert_eq!(s.count, n);
            assert_eq!(
                (s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms),
                (p50 as f64, p90 as f64, p99 as f64, max as f64),
                "n={n}"
            );
        }
    }

    #[test]
    fn mean_and_min_follow_the_samples() {
        let mut samples = millis([4, 2, 6]);
        let s = LatencySummary::of(&mut samples).unwrap();
        assert_eq!(s.min_ms, 2.0);
        assert_eq!(s.mean_ms, 4.0);
        assert_eq!(samples, millis([2, 4, 6]), "samples are sorted in place");
    }

    #[test]
    fn no_samples_give_no_summary() {
        assert_eq!(LatencySummary::of(&mut []), None);
    }
}
