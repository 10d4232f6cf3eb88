//! The delay schedule for polling `/node/tx` until a transaction commits: starts short so a
//! commit that happens within a millisecond is seen within about a millisecond, grows
//! geometrically so a slow commit does not flood the node, and never exceeds a cap.
//!
//! Invariants: `initial <= current <= max`; every delay returned is within `[initial, max]`.
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct PollBackoff {
    initial: Duration,
    max: Duration,
    current: Duration,
}

impl PollBackoff {
    /// The schedule `wait_committed` uses: 1 ms, ×1.5 each time, at most 20 ms.
    pub const COMMIT_POLL: (Duration, Duration) = (Duration::from_millis(1), Duration::from_millis(20));

    pub fn new(initial: Duration, max: Duration) -> Self {
        let initial = initial.max(Duration::from_micros(100)).min(max);
        PollBackoff { initial, max, current: initial }
    }

    pub fn for_commit() -> Self {
        Self::new(Self::COMMIT_POLL.0, Self::COMMIT_POLL.1)
    }

    /// The next delay to wait, advancing the schedule.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.current;
        self.current = (self.current * 3 / 2).min(self.max);
        self.check_invariants();
        delay
    }

    pub fn check_invariants(&self) {
        assert!(self.initial <= self.current && self.current <= self.max, "backoff out of bounds: {self:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_poll_starts_at_one_millisecond_grows_and_stays_capped() {
        let mut b = PollBackoff::for_commit();
        let delays: Vec<Duration> = (0..30).map(|_| b.next_delay()).collect();
        assert_eq!(delays[0], Duration::from_millis(1));
        assert!(delays.windows(2).all(|w| w[0] <= w[1]), "non-decreasing: {delays:?}");
        assert!(delays[1] > delays[0]);
        assert_eq!(*delays.last().unwrap(), Duration::from_millis(20));
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(20)));
    }

    #[test]
    fn initial_is_clamped_to_the_cap_and_to_a_floor() {
        let cases = [
            (Duration::ZERO, Duration::from_millis(5), Duration::from_micros(100)),
            (Duration::from_millis(50), Duration::from_millis(5), Duration::from_millis(5)),
        ];
        for (initial, max, first) in cases {
            assert_eq!(PollBackoff::new(initial, max).next_delay(), first);
        }
    }
}
