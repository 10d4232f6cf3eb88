//! Bounded connection slots in which a connection that has not proven itself can be evicted
//! (issue 11, findings 2 and 4): a stranger who opens connections and never completes a
//! request (idle TLS sessions, a slowloris, a node-to-node handshake that never authenticates)
//! cannot keep a real client or peer out.
//!
//! A new connection is admitted as *evictable*. The owner marks it *busy* while it serves a
//! request (RPC) or once the peer authenticated (node-to-node), and evictable again after.
//! [`ConnectionSlots::admit`]:
//! - below `soft`: admitted;
//! - at or above `soft`: the oldest evictable connection that never completed a request is told
//!   to close ([`Slot::evicted`]), or else the oldest evictable one (a client's kept-alive
//!   session between requests: strangers go first), and frees its slot at once; with none evictable, the newcomer is admitted *over the soft
//!   limit* (the RPC answers it 503) while below `hard`, and refused at `hard`.
//!
//! Invariant: the slots held (admitted and not evicted or dropped) never exceed `hard`.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// What [`ConnectionSlots::admit`] decided.
pub enum Admission {
    /// Serve it normally.
    Admitted(Slot),
    /// Over the soft limit with nothing to evict: serve it only a 503 (CCF's
    /// `max_open_sessions_soft`), then close.
    OverSoftLimit(Slot),
    /// At the hard limit with nothing to evict: close it at once.
    Refused,
}

struct Held {
    /// Requests in flight (RPC) or 1 once authenticated (node-to-node): not evictable.
    busy: u32,
    /// It completed a request (went busy, then idle): a client, not a stranger.
    served: bool,
    evict: Option<oneshot::Sender<()>>,
}

#[derive(Default)]
struct State {
    next: u64,
    /// By admission order: the oldest evictable one goes first.
    held: BTreeMap<u64, Held>,
    evicted: u64,
}

/// The slots of one listening port.
pub struct ConnectionSlots {
    soft: usize,
    hard: usize,
    state: Mutex<State>,
}

impl ConnectionSlots {
    pub fn new(soft: usize, hard: usize) -> Arc<Self> {
        assert!(0 < soft && soft <= hard, "0 < soft ({soft}) <= hard ({hard})");
        Arc::new(ConnectionSlots { soft, hard, state: Mutex::new(State::default()) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a new connection (module documentation).
    pub fn admit(self: &Arc<Self>) -> Admission {
        let mut s = self.lock();
        if s.held.len() >= self.soft {
            let evictable = |served: bool| s.held.iter().find(|(_, h)| h.busy == 0 && h.served == served);
            let oldest = evictable(false).or_else(|| evictable(true)).map(|(id, _)| *id);
            if let Some(id) = oldest {
                let held = s.held.remove(&id).expect("found above");
                if let Some(tx) = held.evict {
                    let _ = tx.send(());
                }
                s.evicted += 1;
            }
        }
        let open = s.held.len();
        if open >= self.hard {
            return Admission::Refused;
        }
        let id = s.next;
        s.next += 1;
        let (tx, rx) = oneshot::channel();
        s.held.insert(id, Held { busy: 0, served: false, evict: Some(tx) });
        let slot = Slot { id, slots: self.clone(), evicted: Some(rx) };
        assert!(s.held.len() <= self.hard, "slots held never exceed the hard limit");
        if open >= self.soft { Admission::OverSoftLimit(slot) } else { Admission::Admitted(slot) }
    }

    /// Slots held now.
    #[cfg(test)]
    pub fn open(&self) -> usize {
        self.lock().held.len()
    }

    /// Connections evicted so far.
    #[cfg(test)]
    pub fn evicted(&self) -> u64 {
        self.lock().evicted
    }
}

/// One admitted connection; dropping it frees the slot.
pub struct Slot {
    id: u64,
    slots: Arc<ConnectionSlots>,
    evicted: Option<oneshot::Receiver<()>>,
}

impl Slot {
    /// Not evictable until a matching [`Slot::idle`].
    pub fn busy(&self) {
        if let Some(h) = self.slots.lock().held.get_mut(&self.id) {
            h.busy += 1;
        }
    }

    /// Evictable again (once every `busy` has its `idle`).
    pub fn idle(&self) {
        if let Some(h) = self.slots.lock().held.get_mut(&self.id) {
            h.busy = h.busy.saturating_sub(1);
            h.served = true;
        }
    }

    /// Whether a request is in flight (or the peer authenticated).
    pub fn is_busy(&self) -> bool {
        self.slots.lock().held.get(&self.id).is_some_and(|h| h.busy > 0)
    }

    /// A handle that marks the slot busy until it is dropped (one request in flight).
    pub fn busy_guard(self: &Arc<Self>) -> BusyGuard {
        self.busy();
        BusyGuard(self.clone())
    }

    /// Takes the eviction signal: it resolves when a newer connection evicted this one (close
    /// it then). `None` after the first call.
    pub fn take_eviction(&mut self) -> Option<oneshot::Receiver<()>> {
        self.evicted.take()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.lock().held.remove(&self.id);
    }
}

/// Marks a slot busy while alive.
pub struct BusyGuard(Arc<Slot>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.idle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(a: Admission) -> Slot {
        match a {
            Admission::Admitted(s) => s,
            _ => panic!("expected Admitted"),
        }
    }

    #[tokio::test]
    async fn idle_connections_give_way_to_newcomers_busy_ones_do_not() {
        let slots = ConnectionSlots::new(2, 3);
        let mut a = admitted(slots.admit());
        let a_evicted = a.take_eviction().unwrap();
        let b = admitted(slots.admit());
        b.busy();
        // At the soft limit: the oldest evictable (a) is evicted, the newcomer admitted.
        let c = admitted(slots.admit());
        tokio::time::timeout(std::time::Duration::from_secs(1), a_evicted).await.expect("a evicted").unwrap();
        assert_eq!((slots.open(), slots.evicted()), (2, 1));
        drop(a);
        assert_eq!(slots.open(), 2, "dropping an evicted slot frees nothing twice");
        // Everyone busy: over the soft limit (503), then refused at the hard limit.
        c.busy();
        let d = match slots.admit() {
            Admission::OverSoftLimit(s) => s,
            _ => panic!("expected OverSoftLimit"),
        };
        d.busy();
        assert!(matches!(slots.admit(), Admission::Refused));
        assert_eq!(slots.open(), 3);
        // A busy one going idle becomes evictable again.
        b.idle();
        let _e = admitted_or_over(slots.admit());
        assert_eq!(slots.evicted(), 2);
        drop((c, d));
        assert_eq!(slots.open(), 1);
    }

    #[tokio::test]
    async fn strangers_are_evicted_before_a_client_between_its_requests() {
        let slots = ConnectionSlots::new(3, 4);
        let mut client = admitted(slots.admit());
        let client_evicted = client.take_eviction().unwrap();
        client.busy();
        client.idle(); // one request served: kept alive, evictable, but a client
        let mut strangers: Vec<Slot> = (0..2).map(|_| admitted(slots.admit())).collect();
        let mut signals: Vec<_> = strangers.iter_mut().map(|s| s.take_eviction().unwrap()).collect();
        // Newcomers at the soft limit evict the strangers, oldest first, not the older client.
        let _n1 = admitted(slots.admit());
        let n2 = admitted(slots.admit());
        for signal in signals.drain(..) {
            tokio::time::timeout(std::time::Duration::from_secs(1), signal).await.expect("stranger evicted").unwrap();
        }
        assert_eq!(slots.evicted(), 2);
        // Then the newcomers (strangers too) go before it.
        let n3 = admitted(slots.admit());
        assert_eq!(slots.evicted(), 3);
        drop(strangers);
        // With the others busy, the client between its requests is the one left to evict.
        n2.busy();
        n3.busy();
        let _n4 = admitted(slots.admit());
        tokio::time::timeout(std::time::Duration::from_secs(1), client_evicted)
            .await
            .expect("client evicted last")
            .unwrap();
    }

    fn admitted_or_over(a: Admission) -> Slot {
        match a {
            Admission::Admitted(s) | Admission::OverSoftLimit(s) => s,
            Admission::Refused => panic!("refused"),
        }
    }

    #[test]
    fn the_slots_held_never_exceed_the_hard_limit() {
        let slots = ConnectionSlots::new(3, 5);
        let mut kept = Vec::new();
        for i in 0..50 {
            match slots.admit() {
                Admission::Admitted(s) | Admission::OverSoftLimit(s) => {
                    if i % 2 == 0 {
                        s.busy();
                    }
                    kept.push(s);
                }
                Admission::Refused => {}
            }
            assert!(slots.open() <= 5);
        }
    }
}
