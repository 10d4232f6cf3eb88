//! A whole disaster recovery in the simulator (`SimOptions::disaster`, SPEC §7), after the
//! run: load again; every node loses power at a random moment (torn writes, lost unsynced
//! data); the operator surveys every disk and keeps the ledger whose last signature is newest
//! (view, then seqno); a `Recover` node starts on it under a new service identity and a new
//! key; the other machines are replaced (wiped disks, new keys) and join it; the member opens
//! the service with the previous identity, fetches its encrypted share, decrypts it and
//! submits it. Frames are lost, duplicated and delayed throughout, and the recovering node may
//! lose power during its public phase (it resumes the recovery, or performs it again if its
//! create transaction was lost). Then: every write a client saw committed before the disaster
//! reads back, with the same value, on every node (`committed_never_lost`), and every committed
//! chunk is identical across the new network (`committed_chunks_identical`).
use super::*;
use cairn_ledger::format::TxId;

/// How long each phase of the recovery may take, virtual ms.
const PHASE_LIMIT_MS: u64 = 60_000;

impl Sim {
    pub(super) fn disaster(&mut self) {
        let f = fixtures::fixtures();
        // Load again, then a power cut under load.
        self.workload.stopped = false;
        for c in 0..self.workload.len() {
            let d = self.delay(0..=20);
            self.queue.schedule_in(d, SimEvent::ClientWake { client: c });
        }
        let d = self.delay(100..=1_500);
        let until = self.now() + d;
        self.run_until(until, |_| false);
        if self.failed() {
            return;
        }
        self.workload.stopped = true;
        self.workload.abandon_all();
        for n in 0..self.nodes.len() {
            if self.nodes[n].is_up() {
                self.nodes[n].crash(&mut self.rng);
            } else {
                // Already down (an I/O error): its pending restart is void, the operator decides.
                self.nodes[n].incarnation += 1;
            }
        }
        self.summary.power_cuts += 1;

        // The survey: the ledger whose last signature is newest, by view then seqno.
        let mut best: Option<(TxId, usize)> = None;
        for n in 0..self.nodes.len() {
            match self.nodes[n].survey() {
                Ok(last) => {
                    if self.opts.trace {
                        eprintln!("{:>7} survey n{n}: last signature {last}", self.now() - START_MS);
                    }
                    if best.is_none_or(|(b, _)| (last.view, last.seqno) > (b.view, b.seqno)) {
                        best = Some((last, n));
                    }
                }
                Err(what) if self.nodes[n].corrupted.is_some() => {
                    if self.opts.trace {
                        eprintln!("{:>7} survey n{n}: rotted, not used: {what}", self.now() - START_MS);
                    }
                }
                Err(what) => {
                    self.fail(Violation::RestartRefused { node: n, at_ms: self.now() - START_MS, what });
                    return;
                }
            }
        }
        let Some((_, r)) = best else {
            self.fail(Violation::Liveness {
                healed_at_ms: 0,
                deadline_ms: 0,
                what: "recovery: no ledger opens".into(),
            });
            return;
        };

        // New keys for every machine; the recovering node starts the recovered service.
        let count = self.nodes.len();
        for i in 0..count {
            self.nodes[i].assume_slot(i + count);
        }
        self.raft_index = self.nodes.iter().map(|n| (n.raft_id, n.index)).collect();
        let mut secret = [0u8; 32];
        self.rng.fill(&mut secret);
        let mut token = [0u8; 32];
        self.rng.fill(&mut token);
        let join_token = cairn_node::JoinToken::from_bytes(token);
        let digest = join_token.digest();
        self.join_token = Some(join_token);
        self.join_target = r;
        let service = fixtures::recovered_service();
        let (seed, config, now, bug) = (self.seed, self.config.clone(), self.now(), self.opts.bug);
        self.current_node = Some(r);
        if let Err(what) = self.nodes[r].recover(seed, &config, now, service, secret, digest, bug) {
            self.fail(Violation::NodeCrashed { node: r, at_ms: now - START_MS, what });
            return;
        }
        self.with_node(r, |n, now, out| n.pump(now, out));
        self.summary.disaster_recoveries += 1;
        self.summary.recoveries_from_snapshot += u64::from(self.nodes[r].recovered_from_snapshot);

        // Faults during the public phase.
        let faulty = self.opts.faults != crate::FaultOptions::none();
        if faulty {
            self.net.faults = self.opts.faults.network.clone();
            if self.rng.random_bool(0.5) {
                let d = self.delay(0..=300);
                let until = self.now() + d;
                self.run_until(until, |_| false);
                if self.failed() {
                    return;
                }
                if self.nodes[r].is_up() {
                    self.nodes[r].crash(&mut self.rng);
                    self.summary.recovery_crashes += 1;
                    let inc = self.nodes[r].incarnation;
                    let d = self.delay(50..=500);
                    self.queue.schedule_in(d, SimEvent::Restart { node: r, inc });
                }
            }
        }

        // New machines join the recovered service.
        for i in (0..count).filter(|&i| i != r) {
            self.nodes[i].wipe(self.ledger);
            self.start_joiner(i);
        }
        let deadline = self.now() + PHASE_LIMIT_MS;
        self.run_until(deadline, |s| s.all_in(NodeState::PartOfPublicNetwork));
        if self.failed() {
            return;
        }
        if !self.all_in(NodeState::PartOfPublicNetwork) {
            let what = format!("recovery: not every node joined the recovered service: {}", self.states());
            self.fail(Violation::Liveness { healed_at_ms: 0, deadline_ms: PHASE_LIMIT_MS, what });
            return;
        }

        // The member opens it with the previous identity and submits its share.
        let args = json!({
            "previous_service_identity": f.service.cert.pem(),
            "next_service_identity": service.cert.pem(),
        });
        self.govern(json!([{"name": "transition_service_to_open", "args": args}]));
        if self.failed() {
            return;
        }
        let member_id = f.member_id.clone();
        let request = Request::EncryptedShare { member_id: member_id.clone() };
        let Some(fetched) = self.ask_as(fixtures::member_caller(), request) else { return };
        let share = match share_of(&fetched) {
            Ok(share) => share,
            Err(what) => {
                self.fail(Violation::Liveness { healed_at_ms: 0, deadline_ms: 0, what: format!("recovery: {what}") });
                return;
            }
        };
        use base64::Engine;
        let payload = json!({ "share": base64::engine::general_purpose::STANDARD.encode(share) });
        let body = fixtures::member_request("recovery_share", None, &payload, self.now());
        let Some(submitted) = self.ask(Request::SubmitShare { member_id, body }) else { return };
        if submitted.status != 200 {
            let what = format!("recovery: the share was refused: {} {}", submitted.status, submitted.body);
            self.fail(Violation::Liveness { healed_at_ms: 0, deadline_ms: 0, what });
            return;
        }

        // Heal; every node open, at one commit.
        self.net.heal();
        let (lo, hi) = (self.opts.faults.network.min_delay_ms, self.opts.faults.network.max_delay_ms);
        self.net.faults = NetFaults { drop_prob: 0.0, dup_prob: 0.0, min_delay_ms: lo, max_delay_ms: hi };
        let deadline = self.now() + PHASE_LIMIT_MS;
        self.run_until(deadline, |s| s.all_in(NodeState::PartOfNetwork) && s.quiet());
        if self.failed() {
            return;
        }
        if !(self.all_in(NodeState::PartOfNetwork) && self.quiet()) {
            let what = format!("recovery: the recovered service did not open on every node: {}", self.states());
            self.fail(Violation::Liveness { healed_at_ms: 0, deadline_ms: PHASE_LIMIT_MS, what });
            return;
        }
        self.summary.virtual_ms = self.now() - START_MS;
        self.summary.writes_sent = self.workload.stats.writes_sent;
        self.summary.writes_committed = self.workload.stats.writes_committed;
        let views = self.live_views();
        let result = checkers::committed_never_lost::check(&views, &self.workload.committed)
            .and_then(|()| checkers::committed_chunks_identical::check(&views));
        drop(views);
        if let Err(v) = result {
            self.fail(v);
        }
    }

    /// Every node runs, in `state`, and the primary's configuration holds them all as voters.
    fn all_in(&self, state: NodeState) -> bool {
        self.nodes.iter().all(|n| n.core.as_ref().is_some_and(|c| c.node_state() == state))
            && self.nodes.iter().all(|n| n.core().raft_status().voters.len() == self.nodes.len())
    }

    fn states(&self) -> String {
        let states: Vec<String> = self
            .nodes
            .iter()
            .map(|n| match &n.core {
                Some(c) => format!("n{}: {:?} commit {}", n.index, c.node_state(), c.commit()),
                None => format!("n{}: down", n.index),
            })
            .collect();
        states.join(", ")
    }
}

/// The member's share from `GET /gov/recovery/encrypted-shares/{member}`, decrypted with its
/// RSA key.
fn share_of(response: &Response) -> Result<Vec<u8>, String> {
    use base64::Engine;
    if response.status != 200 {
        return Err(format!("fetching the share: {} {}", response.status, response.body));
    }
    let text = response.body["encryptedShare"].as_str().ok_or("no encryptedShare in the answer")?;
    let encrypted = base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| e.to_string())?;
    let share = cairn_gov::decrypt_share(&encrypted, &fixtures::member_encryption_key()).map_err(|e| e.to_string())?;
    Ok(share.to_bytes().to_vec())
}
