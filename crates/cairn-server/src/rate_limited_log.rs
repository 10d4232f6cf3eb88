//! A log line that a stranger cannot turn into a flood (issue 11, finding 4): at most one per
//! window, the next one saying how many were suppressed in between.
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimitedLog {
    window: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl RateLimitedLog {
    pub fn new(window: Duration) -> Self {
        RateLimitedLog { window, state: Mutex::new((None, 0)) }
    }

    /// `Some(suppressed)`: log now, mentioning the `suppressed` events since the last line;
    /// `None`: suppress this one.
    pub fn allow(&self) -> Option<u64> {
        self.allow_at(Instant::now())
    }

    fn allow_at(&self, now: Instant) -> Option<u64> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match s.0 {
            Some(last) if now.duration_since(last) < self.window => {
                s.1 += 1;
                None
            }
            _ => {
                let suppressed = std::mem::take(&mut s.1);
                s.0 = Some(now);
                Some(suppressed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_window_then_the_count_of_what_was_suppressed() {
        let log = RateLimitedLog::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(log.allow_at(t0), Some(0));
        for i in 1..=1000 {
            assert_eq!(log.allow_at(t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(log.allow_at(t0 + Duration::from_secs(10)), Some(1000));
        assert_eq!(log.allow_at(t0 + Duration::from_secs(11)), None);
    }
}
