//! The client workload and its reference model. Each client writes a fresh record id to the
//! private log table as the registered user, to the node it believes is primary; reads the
//! transaction id from the reply's `x-ms-ccf-transaction-id` header; polls `/node/tx` until the
//! status is final. A write seen `Committed` goes into the model ([`Workload::committed`]),
//! which `committed_never_lost` checks at the end. An error or a silent node (crashed, cut
//! off) makes the client try another node; the write is then simply never counted.
use crate::checkers::committed_never_lost::CommittedWrite;
use cairn_ledger::format::TxId;
use cairn_node::{LogTable, Request, RequestId, Response};
use rand::Rng;

/// The header a write's reply names its transaction in.
pub const TX_ID_HEADER: &str = "x-ms-ccf-transaction-id";

/// A request without an answer for this long is abandoned.
pub const REQUEST_TIMEOUT_MS: u64 = 1_000;
/// A write not final after this long is abandoned (its fate stays unknown).
pub const WRITE_GIVE_UP_MS: u64 = 10_000;
/// Pause between two polls of `/node/tx`.
pub const POLL_EVERY_MS: u64 = 30;

#[derive(Debug, Clone)]
enum State {
    Idle,
    Writing { id: u64, msg: String },
    Polling { id: u64, msg: String, tx: TxId, started_ms: u64 },
}

#[derive(Debug, Clone)]
struct Client {
    /// The node it sends to.
    target: usize,
    state: State,
    /// The request it waits for, and when it was sent.
    outstanding: Option<(RequestId, u64)>,
    writes: u64,
}

/// What a client does now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSend {
    pub node: usize,
    pub request: Request,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadStats {
    pub writes_sent: u64,
    pub writes_acked: u64,
    pub writes_committed: u64,
    pub writes_invalid: u64,
    pub writes_abandoned: u64,
    pub errors: u64,
    pub timeouts: u64,
}

pub struct Workload {
    clients: Vec<Client>,
    nodes: usize,
    /// Stop starting new writes (polls of started ones go on).
    pub stopped: bool,
    pub committed: Vec<CommittedWrite>,
    pub stats: WorkloadStats,
}

impl Workload {
    pub fn new(clients: usize, nodes: usize) -> Self {
        let clients =
            (0..clients).map(|_| Client { target: 0, state: State::Idle, outstanding: None, writes: 0 }).collect();
        Workload { clients, nodes, stopped: false, committed: Vec::new(), stats: WorkloadStats::default() }
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Whether any client still waits for a write's fate.
    pub fn busy(&self) -> bool {
        self.clients.iter().any(|c| !matches!(c.state, State::Idle))
    }

    /// The service is gone (a disaster): every client forgets what it waited for; writes whose
    /// fate it did not learn are never counted.
    pub fn abandon_all(&mut self) {
        for client in &mut self.clients {
            client.state = State::Idle;
            client.outstanding = None;
        }
    }

    fn retarget(&mut self, c: usize, rng: &mut impl Rng, leader: Option<usize>) {
        // Most of the time the client learns the primary (as from `/node/network`); otherwise
        // it guesses.
        let guess = rng.random_range(0..self.nodes);
        self.clients[c].target = match leader {
            Some(l) if rng.random_bool(0.8) => l,
            _ => guess,
        };
    }

    /// Client `c` wakes up at `now_ms`: returns the request to send now, if any. The caller
    /// assigns it `id` (passed in; used only if a request is returned) and wakes the client
    /// again after [`REQUEST_TIMEOUT_MS`] at the latest.
    pub fn wake(
        &mut self,
        c: usize,
        now_ms: u64,
        id: RequestId,
        rng: &mut impl Rng,
        leader: Option<usize>,
    ) -> Option<ClientSend> {
        if let Some((_, sent)) = self.clients[c].outstanding {
            if now_ms < sent + REQUEST_TIMEOUT_MS {
                return None;
            }
            // No answer: the node is down or cut off. Ask someone else.
            self.stats.timeouts += 1;
            self.clients[c].outstanding = None;
            self.retarget(c, rng, leader);
            if let State::Writing { .. } = self.clients[c].state {
                self.clients[c].state = State::Idle;
            }
        }
        let client = &mut self.clients[c];
        let request = match &client.state {
            State::Idle => {
                if self.stopped {
                    return None;
                }
                client.writes += 1;
                let write_id = ((c as u64) << 32) | client.writes;
                let msg = format!("c{c}w{}-{:08x}", client.writes, rng.random::<u32>());
                client.state = State::Writing { id: write_id, msg: msg.clone() };
                self.stats.writes_sent += 1;
                Request::LogWrite { table: LogTable::Private, id: write_id, msg }
            }
            State::Writing { .. } => return None,
            State::Polling { id, tx, started_ms, .. } => {
                if now_ms > started_ms + WRITE_GIVE_UP_MS {
                    let _ = id;
                    self.stats.writes_abandoned += 1;
                    client.state = State::Idle;
                    return None;
                }
                Request::TxStatus { tx: tx.to_string() }
            }
        };
        client.outstanding = Some((id, now_ms));
        Some(ClientSend { node: client.target, request })
    }

    /// The answer to request `id` of client `c`. Returns when the client should wake next
    /// (ms from now), or `None` if the answer is stale.
    pub fn on_reply(
        &mut self,
        c: usize,
        id: RequestId,
        response: &Response,
        now_ms: u64,
        rng: &mut impl Rng,
        leader: Option<usize>,
    ) -> Option<u64> {
        if self.clients[c].outstanding.map(|(i, _)| i) != Some(id) {
            return None;
        }
        self.clients[c].outstanding = None;
        let state = std::mem::replace(&mut self.clients[c].state, State::Idle);
        match state {
            State::Idle => Some(0),
            State::Writing { id: write_id, msg } => {
                let tx = (response.status == 200)
                    .then(|| response.headers.iter().find(|(n, _)| *n == TX_ID_HEADER))
                    .flatten()
                    .and_then(|(_, v)| v.parse::<TxId>().ok());
                match tx {
                    Some(tx) => {
                        self.stats.writes_acked += 1;
                        self.clients[c].state = State::Polling { id: write_id, msg, tx, started_ms: now_ms };
                        Some(POLL_EVERY_MS)
                    }
                    None => {
                        // Not primary, not open, or an error: try elsewhere soon.
                        self.stats.errors += 1;
                        self.retarget(c, rng, leader);
                        Some(rng.random_range(5..50))
                    }
                }
            }
            State::Polling { id: write_id, msg, tx, started_ms } => {
                let status = response.body.get("status").and_then(|s| s.as_str()).unwrap_or("");
                match (response.status, status) {
                    (200, "Committed") => {
                        self.stats.writes_committed += 1;
                        self.committed.push(CommittedWrite { id: write_id, msg, tx });
                        Some(rng.random_range(0..20))
                    }
                    (200, "Invalid") => {
                        self.stats.writes_invalid += 1;
                        Some(rng.random_range(0..20))
                    }
                    (200, _) => {
                        self.clients[c].state = State::Polling { id: write_id, msg, tx, started_ms };
                        Some(POLL_EVERY_MS)
                    }
                    _ => {
                        self.stats.errors += 1;
                        self.clients[c].state = State::Polling { id: write_id, msg, tx, started_ms };
                        self.retarget(c, rng, leader);
                        Some(POLL_EVERY_MS)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::sim_rng;
    use serde_json::json;

    fn written(tx: &str) -> Response {
        Response::ok(json!({})).with_header(TX_ID_HEADER, tx.to_string())
    }

    #[test]
    fn a_write_is_recorded_once_committed() {
        let mut rng = sim_rng(1);
        let mut w = Workload::new(1, 3);
        let send = w.wake(0, 0, 1, &mut rng, Some(0)).unwrap();
        assert!(matches!(send.request, Request::LogWrite { .. }));
        assert_eq!(w.wake(0, 10, 2, &mut rng, Some(0)), None, "waits for the answer");
        assert_eq!(w.on_reply(0, 1, &written("2.7"), 5, &mut rng, Some(0)), Some(POLL_EVERY_MS));
        let poll = w.wake(0, 40, 3, &mut rng, Some(0)).unwrap();
        assert_eq!(poll.request, Request::TxStatus { tx: "2.7".into() });
        w.on_reply(0, 3, &Response::ok(json!({"status": "Pending"})), 45, &mut rng, Some(0)).unwrap();
        w.wake(0, 80, 4, &mut rng, Some(0)).unwrap();
        assert_eq!(w.on_reply(0, 99, &Response::ok(json!({"status": "Committed"})), 85, &mut rng, None), None);
        w.on_reply(0, 4, &Response::ok(json!({"status": "Committed"})), 85, &mut rng, None).unwrap();
        assert_eq!(w.committed.len(), 1);
        assert_eq!(w.committed[0].tx, TxId::new(2, 7));
        assert!(!w.busy());
    }

    #[test]
    fn silence_makes_the_client_give_up_the_write_and_move() {
        let mut rng = sim_rng(2);
        let mut w = Workload::new(1, 3);
        w.wake(0, 0, 1, &mut rng, None).unwrap();
        let again = w.wake(0, REQUEST_TIMEOUT_MS, 2, &mut rng, Some(2)).unwrap();
        assert!(matches!(again.request, Request::LogWrite { .. }), "a new write");
        assert_eq!(w.stats.timeouts, 1);
        assert_eq!(w.stats.writes_sent, 2);
        w.stopped = true;
        w.on_reply(0, 2, &Response { status: 503, headers: vec![], body: json!({}) }, 5, &mut rng, None).unwrap();
        assert_eq!(w.wake(0, 10, 3, &mut rng, None), None, "stopped");
    }
}
