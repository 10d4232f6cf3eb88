//! The virtual clock: a priority queue of events ordered by `(at_ms, seq)`, `seq` being the
//! insertion counter, so two events due at the same virtual millisecond run in the order they
//! were scheduled. Nothing here reads the real clock.
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// An event and when it is due. Ordered by `(at_ms, seq)` only: the payload never decides.
struct Scheduled<E> {
    at_ms: u64,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at_ms, self.seq) == (other.at_ms, other.seq)
    }
}
impl<E> Eq for Scheduled<E> {}
impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Scheduled<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at_ms, self.seq).cmp(&(other.at_ms, other.seq))
    }
}

/// Virtual time and the events waiting for it.
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Scheduled<E>>>,
    next_seq: u64,
    now_ms: u64,
}

impl<E> EventQueue<E> {
    /// An empty queue whose clock reads `start_ms`.
    pub fn new(start_ms: u64) -> Self {
        EventQueue { heap: BinaryHeap::new(), next_seq: 0, now_ms: start_ms }
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Schedules `event` at `at_ms` (clamped to now: the past is not reachable).
    pub fn schedule(&mut self, at_ms: u64, event: E) {
        let at_ms = at_ms.max(self.now_ms);
        self.heap.push(Reverse(Scheduled { at_ms, seq: self.next_seq, event }));
        self.next_seq += 1;
    }

    /// Schedules `event` `delay_ms` from now.
    pub fn schedule_in(&mut self, delay_ms: u64, event: E) {
        self.schedule(self.now_ms.saturating_add(delay_ms), event);
    }

    /// When the next event is due.
    pub fn peek_ms(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse(s)| s.at_ms)
    }

    /// Takes the next event and advances the clock to it.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        let Reverse(s) = self.heap.pop()?;
        debug_assert!(s.at_ms >= self.now_ms, "time never goes back");
        self.now_ms = s.at_ms;
        Some((s.at_ms, s.event))
    }

    /// Takes the next event only if it is due at or before `until_ms`.
    pub fn pop_until(&mut self, until_ms: u64) -> Option<(u64, E)> {
        if self.peek_ms()? > until_ms {
            return None;
        }
        self.pop()
    }

    /// Moves the clock forward to `ms` (no event in between is skipped: callers pop first).
    pub fn advance_to(&mut self, ms: u64) {
        debug_assert!(self.peek_ms().is_none_or(|p| p >= ms), "advancing past a pending event");
        self.now_ms = self.now_ms.max(ms);
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_by_time_then_by_insertion() {
        let mut q = EventQueue::new(100);
        q.schedule(150, "c");
        q.schedule(120, "a");
        q.schedule(150, "d");
        q.schedule(120, "b");
        q.schedule(50, "past");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, vec![(100, "past"), (120, "a"), (120, "b"), (150, "c"), (150, "d")]);
        assert_eq!(q.now_ms(), 150);
    }

    #[test]
    fn pop_until_stops_at_the_horizon() {
        let mut q = EventQueue::new(0);
        q.schedule(10, 1);
        q.schedule(20, 2);
        assert_eq!(q.pop_until(15), Some((10, 1)));
        assert_eq!(q.pop_until(15), None);
        q.advance_to(15);
        assert_eq!(q.now_ms(), 15);
        assert_eq!(q.pop(), Some((20, 2)));
    }
}
