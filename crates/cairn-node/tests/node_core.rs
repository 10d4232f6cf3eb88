//! `NodeCore` driven by events, with the exact actions it returns asserted: no I/O, a fixed
//! clock, seeded randomness. The harness (`support`) plays the shell: it keeps what the shell
//! would have written (ledger entries, the secret chain, snapshot files) so a test can replay
//! it, and sends `Durable` only when the test says so.
//!
//! Service-level invariants checked here (one node: durable = replicated):
//! - nothing is committed before a signature covering it is durable; `CommitLedger` names a
//!   signature seqno no greater than the durable seqno, and commits only grow;
//! - a committed transaction has a receipt that verifies against the service certificate;
//! - a snapshot is committed (its evidence receipt appended) only once a signature after its
//!   evidence transaction is durable, and the committed file verifies by itself;
//! - a restart rebuilds the same store from the ledger and signs first, in the next view;
//! - a new ledger secret is persisted before the first entry encrypted under it is appended.
mod support;

use cairn_ledger::format::{EntryFlags, EntryView, TxId};
use cairn_ledger::receipt::Receipt;
use cairn_ledger::snapshot::{SnapshotName, decode_snapshot, verify_committed_snapshot};
use cairn_ledger::{LedgerSecret, LedgerSecrets, tables};
use cairn_node::{Action, Caller, Event, LogTable, NodeCore, ReplayError, Replayer, Request};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::json;
use std::sync::Arc;
use support::{
    FIRST_SECRET, Node, Step, TX_ID_HEADER, config, header, identities, records, replay, reply, sig, signature_seqnos,
    steps, stranger, tx, user,
};

/// Plenty: no snapshot unless a test asks for one.
const NO_SNAPSHOTS: u64 = 1_000_000;

fn write_request(id: u64) -> Request {
    Request::LogWrite { table: LogTable::Private, id, msg: format!("msg {id}") }
}

/// Checks `r` is a receipt for `tx` that verifies against the service certificate.
fn assert_receipt_verifies(r: &cairn_node::Response, tx: TxId) -> Receipt {
    assert_eq!(r.status, 200, "receipt for {tx}: {:?}", r.body);
    let receipt: Receipt = serde_json::from_value(r.body.clone()).expect("a receipt's JSON");
    let verified = receipt.verify(&identities().service_cert).unwrap_or_else(|e| panic!("receipt for {tx}: {e}"));
    if receipt.is_signature_transaction() {
        // A signature receipt proves its signed root; the tx id it names is not signed.
        assert_eq!((verified.tx_id, receipt.transaction_id), (None, Some(tx)), "signature receipt for {tx}");
    } else {
        assert_eq!(verified.tx_id, Some(tx), "the receipt proves the transaction it was asked for");
    }
    receipt
}

// ----- start -----

#[test]
fn start_emits_genesis_then_one_signature_and_commits_nothing_before_durable() {
    // (signature_tx_count, signature_delay_ms): a due signature policy must not add a second
    // signature after the genesis.
    for (count, delay) in [(100, 1000), (1, 1000), (100, 0)] {
        let (mut node, actions) = Node::start(config(count, delay, NO_SNAPSHOTS), 1);
        assert_eq!(
            steps(&actions),
            vec![Step::PersistLedgerSecrets(1), tx(2, 1), sig(2, 2), Step::Sync],
            "tx_count {count} delay {delay}"
        );
        let genesis = actions
            .iter()
            .find_map(|a| match a {
                Action::Append(e) => Some(e),
                _ => None,
            })
            .expect("the genesis is appended");
        assert_eq!(genesis.flags, EntryFlags(EntryFlags::FORCE_LEDGER_CHUNK_BEFORE), "genesis starts a chunk");
        let chain = NodeCore::parse_secrets_json(&node.persisted_secrets).expect("chain");
        assert_eq!(chain.len(), 1);
        assert_eq!((chain.entries()[0].0, *chain.entries()[0].1.raw()), (1, FIRST_SECRET));

        assert_eq!(node.core.commit(), TxId::default());
        assert_eq!(node.tx_status(TxId::new(2, 1)), "Pending");
        assert!(node.durable(1).is_empty(), "the genesis alone is durable, not its signature");
        assert_eq!(node.core.commit(), TxId::default());
        assert_eq!(node.tx_status(TxId::new(2, 2)), "Pending");

        assert_eq!(steps(&node.durable(2)), vec![Step::CommitLedger(2)]);
        assert_eq!(node.core.commit(), TxId::new(2, 2));
        assert_eq!(node.tx_status(TxId::new(2, 1)), "Committed");
        assert_eq!(node.tx_status(TxId::new(2, 2)), "Committed");
        assert!(node.durable(2).is_empty(), "a commit is announced once");
    }
}

// ----- writes -----

#[test]
fn write_before_service_opens_is_refused_503_and_unknown_cert_401_without_append() {
    let (mut node, _) = Node::start(config(100, 1000, NO_SNAPSHOTS), 2);
    node.settle();
    // No user is registered yet: every caller is unknown.
    for caller in [user(), stranger(), Caller::default()] {
        let (id, actions) = node.request(caller.clone(), write_request(1));
        assert_eq!(steps(&actions), vec![Step::Reply(id, 401)], "{caller:?}");
    }
    node.register_user();
    node.settle();
    let last = node.last_seqno();

    let (id, actions) = node.write(1, "too early");
    assert_eq!(steps(&actions), vec![Step::Reply(id, 503)]);
    assert_eq!(reply(&actions, id).body["error"]["code"], "FrontendNotOpen");
    let (id, actions) = node.request(stranger(), write_request(1));
    assert_eq!(steps(&actions), vec![Step::Reply(id, 401)]);
    assert_eq!(reply(&actions, id).body["error"]["code"], "InvalidAuthenticationInfo");
    let (id, actions) = node.request(Caller::default(), write_request(1));
    assert_eq!(steps(&actions), vec![Step::Reply(id, 401)]);
    assert_eq!(node.last_seqno(), last, "refused writes append nothing");
}

#[test]
fn write_is_pending_until_its_signature_is_durable_then_committed() {
    let (mut node, _) = Node::start(config(3, 1000, NO_SNAPSHOTS), 3);
    node.open_service();
    let base = node.last_seqno();

    let (id, actions) = node.write(1, "one");
    assert_eq!(steps(&actions), vec![tx(2, base + 1), Step::Reply(id, 200)]);
    assert_eq!(header(reply(&actions, id), TX_ID_HEADER), Some(format!("2.{}", base + 1).as_str()));
    let (id, actions) = node.write(2, "two");
    assert_eq!(steps(&actions), vec![tx(2, base + 2), Step::Reply(id, 200)]);
    let (id, actions) = node.write(3, "three");
    assert_eq!(steps(&actions), vec![tx(2, base + 3), sig(2, base + 4), Step::Sync, Step::Reply(id, 200)]);
    assert_eq!(header(reply(&actions, id), TX_ID_HEADER), Some(format!("2.{}", base + 3).as_str()));

    let writes: Vec<TxId> = (1..=3).map(|i| TxId::new(2, base + i)).collect();
    for w in &writes {
        assert_eq!(node.tx_status(*w), "Pending", "{w} before any durability");
    }
    assert!(node.durable(base + 3).is_empty(), "the writes are durable, their signature is not");
    for w in &writes {
        assert_eq!(node.tx_status(*w), "Pending", "{w}: durable but unsigned");
    }
    assert_eq!(steps(&node.durable(base + 4)), vec![Step::CommitLedger(base + 4)]);
    for w in &writes {
        assert_eq!(node.tx_status(*w), "Committed", "{w}");
    }
    let commit = node.ask(Caller::default(), Request::Commit);
    assert_eq!(commit.body["transaction_id"], format!("2.{}", base + 4));

    let read = node.ask(user(), Request::LogRead { table: LogTable::Private, id: 2 });
    assert_eq!((read.status, read.body["msg"].as_str()), (200, Some("two")));
    let (id, actions) = node.request(stranger(), write_request(9));
    assert_eq!(steps(&actions), vec![Step::Reply(id, 401)], "an unknown certificate is refused after opening too");
}

#[test]
fn signature_follows_signature_tx_count_writes_without_a_tick() {
    for count in [1, 2, 5] {
        let (mut node, _) = Node::start(config(count, 1_000_000, NO_SNAPSHOTS), 4);
        node.open_service();
        let mut next = node.last_seqno() + 1;
        for round in 0..2 {
            for i in 1..=count {
                let (id, actions) = node.write(i, "x");
                let mut want = vec![tx(2, next)];
                next += 1;
                if i == count {
                    want.extend([sig(2, next), Step::Sync]);
                    next += 1;
                }
                want.push(Step::Reply(id, 200));
                assert_eq!(steps(&actions), want, "tx_count {count}, round {round}, write {i}");
            }
        }
    }
}

#[test]
fn signature_by_delay_comes_on_the_tick_at_now_plus_delay_not_before() {
    let delay = 250;
    let (mut node, _) = Node::start(config(100, delay, NO_SNAPSHOTS), 5);
    node.open_service();
    assert_eq!(node.core.next_deadline_ms(), None, "everything is signed");
    let t0 = node.now_ms + 10;
    assert!(node.tick(t0).is_empty());
    let base = node.last_seqno();

    let (id, actions) = node.write(1, "first");
    assert_eq!(steps(&actions), vec![tx(2, base + 1), Step::Reply(id, 200)]);
    assert_eq!(node.core.next_deadline_ms(), Some(t0 + delay));
    assert!(node.tick(t0 + delay - 1).is_empty(), "not before the delay");
    let (id, actions) = node.write(2, "second");
    assert_eq!(steps(&actions), vec![tx(2, base + 2), Step::Reply(id, 200)]);
    assert_eq!(node.core.next_deadline_ms(), Some(t0 + delay), "the oldest unsigned write sets the deadline");

    assert_eq!(steps(&node.tick(t0 + delay)), vec![sig(2, base + 3), Step::Sync]);
    assert_eq!(node.core.next_deadline_ms(), None);
    assert!(node.tick(t0 + 10 * delay).is_empty(), "nothing left to sign");
}

// ----- commit -----

/// Prints how to replay a failing seed.
struct SeedGuard {
    seed: u64,
    test: &'static str,
}

impl Drop for SeedGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "failed with seed {seed}; replay: CAIRN_SEED={seed} cargo test -p cairn-node --test node_core {test}",
                seed = self.seed,
                test = self.test
            );
        }
    }
}

/// The seeds to run: `CAIRN_SEED` alone if set, else `0..count`.
fn seeds(count: u64) -> Vec<u64> {
    match std::env::var("CAIRN_SEED") {
        Ok(s) => vec![s.parse().expect("CAIRN_SEED is a u64")],
        Err(_) => (0..count).collect(),
    }
}

/// What the test knows: how far the ledger is durable, and the last commit announced.
struct CommitModel {
    durable: u64,
    commit: u64,
}

impl CommitModel {
    fn observe(&mut self, node: &Node, actions: &[Action]) {
        for a in actions {
            match a {
                Action::CommitLedger { seqno } => {
                    let s = *seqno;
                    let entry = s.checked_sub(1).and_then(|i| node.ledger.get(i as usize));
                    assert!(entry.is_some_and(support::is_signature), "CommitLedger {s} names a non-signature");
                    assert!(s <= self.durable, "CommitLedger {s} beyond the durable seqno {}", self.durable);
                    assert!(s > self.commit, "CommitLedger {s} after {}: commits only grow", self.commit);
                    self.commit = s;
                }
                Action::CommitSnapshot { name, .. } => {
                    assert!(name.evidence_seqno < self.commit, "{name} committed before a signature after it");
                }
                _ => {}
            }
        }
        assert_eq!(node.core.commit().seqno, self.commit, "the core's commit is the last one announced");
    }
}

#[test]
fn commit_ledger_names_only_durable_signatures_in_random_interleavings() {
    for seed in seeds(64) {
        let _guard = SeedGuard { seed, test: "commit_ledger_names_only_durable_signatures_in_random_interleavings" };
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let delay = rng.random_range(1..=50);
        let cfg = config(rng.random_range(1..=4), delay, rng.random_range(3..=12));
        let (mut node, _) = Node::start(cfg, seed);
        node.open_service();
        let mut model = CommitModel { durable: node.last_seqno(), commit: node.core.commit().seqno };
        for _ in 0..120 {
            let actions = match rng.random_range(0..100) {
                0..50 => {
                    let table = if rng.random_bool(0.5) { LogTable::Private } else { LogTable::Public };
                    let id = rng.random_range(0..20);
                    let (rid, actions) =
                        node.request(user(), Request::LogWrite { table, id, msg: format!("m{}", rng.random::<u32>()) });
                    assert_eq!(reply(&actions, rid).status, 200);
                    actions
                }
                50..70 => {
                    let now = node.now_ms + rng.random_range(0..=2 * delay);
                    node.tick(now)
                }
                70..95 => {
                    // Any seqno up to the last appended, stale ones included.
                    let seqno = rng.random_range(0..=node.last_seqno());
                    model.durable = model.durable.max(seqno);
                    node.durable(seqno)
                }
                _ => {
                    // A read may carry a due signature too: keep its actions.
                    let t = TxId::new(2, rng.random_range(1..=node.last_seqno()));
                    let (sid, mut actions) = node.request(Caller::default(), Request::TxStatus { tx: t.to_string() });
                    let status = reply(&actions, sid).body["status"].clone();
                    let (rid, more) = node.request(user(), Request::Receipt { tx: t.to_string() });
                    if status == "Committed" {
                        assert_receipt_verifies(reply(&more, rid), t);
                    } else {
                        assert_eq!(reply(&more, rid).status, 404, "receipt for {status} {t}");
                    }
                    actions.extend(more);
                    actions
                }
            };
            model.observe(&node, &actions);
        }
        // Sign what is left and make it durable: then everything is committed.
        for _ in 0..3 {
            let Some(deadline) = node.core.next_deadline_ms() else { break };
            let actions = node.tick(deadline);
            model.observe(&node, &actions);
        }
        model.durable = node.last_seqno();
        let actions = node.durable(model.durable);
        model.observe(&node, &actions);
        assert_eq!(model.commit, node.last_seqno(), "settled: everything is committed");
    }
}

// ----- receipts -----

#[test]
fn receipt_verifies_for_every_committed_tx_and_uncommitted_tx_gets_404() {
    let (mut node, _) = Node::start(config(4, 1000, NO_SNAPSHOTS), 6);
    node.open_service();
    for id in 0..10 {
        let table = if id % 2 == 0 { LogTable::Private } else { LogTable::Public };
        let (rid, actions) = node.request(user(), Request::LogWrite { table, id, msg: format!("m{id}") });
        assert_eq!(reply(&actions, rid).status, 200);
    }
    node.settle();
    let commit = node.core.commit().seqno;
    for seqno in 1..=commit {
        let t = TxId::new(2, seqno);
        let receipt = assert_receipt_verifies(&node.receipt(t), t);
        let is_sig = support::is_signature(&node.ledger[seqno as usize - 1]);
        assert_eq!(receipt.is_signature_transaction(), is_sig, "{t}");
    }

    // Appended, not signed.
    let unsigned = node.write_tx(100, "unsigned");
    // Signed, not durable.
    let mut signed = unsigned;
    while node.core.next_deadline_ms().is_some() {
        signed = node.write_tx(101, "signed");
    }
    assert_eq!(node.core.commit().seqno, commit);
    for t in [unsigned, signed, TxId::new(2, signed.seqno + 1)] {
        let r = node.receipt(t);
        assert_eq!(r.status, 404, "receipt for uncommitted {t}: {:?}", r.body);
        assert_eq!(r.body["error"]["code"], "TransactionNotCommitted");
    }
    let wrong_view = TxId::new(3, 5);
    assert_eq!(node.receipt(wrong_view).status, 404, "a transaction id the ledger does not hold");
}

#[test]
fn reads_see_committed_transactions_only() {
    let (mut node, _) = Node::start(config(100, 1000, NO_SNAPSHOTS), 21);
    node.open_service();
    let read = |node: &mut Node| node.ask(user(), Request::LogRead { table: LogTable::Private, id: 7 });
    node.write_tx(7, "first");
    assert_eq!(read(&mut node).status, 404, "an unsigned write is not read");
    node.settle();
    assert_eq!(read(&mut node).body["msg"], "first");
    node.write_tx(7, "second");
    let deadline = node.core.next_deadline_ms().expect("a signature is due");
    node.tick(deadline);
    assert_eq!(read(&mut node).body["msg"], "first", "signed but not durable: the committed value is read");
    node.settle();
    assert_eq!(read(&mut node).body["msg"], "second");
}

// ----- snapshots -----

/// A single node's committed snapshot (taken every 12 transactions), decoded, with the node.
fn committed_snapshot() -> (Node, cairn_ledger::snapshot::DecodedSnapshot) {
    let (mut node, _) = Node::start(config(3, 1000, 12), 7);
    node.open_service();
    for i in 1..100 {
        node.write_tx(i, &format!("value {i}"));
        node.settle();
        if !node.committed_snapshots.is_empty() {
            break;
        }
    }
    let (name, file) = node.committed_snapshots.last().cloned().expect("a committed snapshot within 100 writes");
    let committed = verify_committed_snapshot(&name, &file, &identities().service_cert).expect("verifies");
    let decoded = decode_snapshot(committed.entry(&file), &LedgerSecret::new(FIRST_SECRET)).expect("decodes");
    (node, decoded)
}

fn secrets() -> LedgerSecrets {
    LedgerSecrets::single(LedgerSecret::new(FIRST_SECRET))
}

#[test]
fn a_node_state_starts_from_a_snapshot_and_replays_the_ledger_after_it() {
    let (node, snapshot) = committed_snapshot();
    let s = snapshot.tx.seqno;
    let mut replayer = Replayer::from_snapshot(secrets(), snapshot).expect("starts from the snapshot");
    assert_eq!(replayer.last, node.ledger[s as usize - 1].tx_id);
    assert_eq!(replayer.log_base, replayer.last);
    assert_eq!(Some(replayer.tree.root().unwrap()), node.core.merkle_root_at(s));
    for e in &node.ledger[s as usize..] {
        replayer.push(e.bytes.clone()).expect("the ledger after the snapshot replays");
    }
    replayer.check_invariants();
    assert_eq!(replayer.last, node.core.last());
    assert_eq!(replayer.tree.root(), node.core.merkle_root_at(node.core.last().seqno));
    for table in [LogTable::Private, LogTable::Public] {
        assert_eq!(records(&replayer.store, table), records(node.core.store(), table), "{table:?}");
    }
}

#[test]
fn a_snapshot_that_cannot_start_a_node_is_refused_with_the_reason() {
    let (node, snapshot) = committed_snapshot();
    let s = snapshot.tx.seqno;
    let refused = |mutate: &dyn Fn(&mut cairn_ledger::snapshot::DecodedSnapshot)| {
        let mut bad = snapshot.clone();
        mutate(&mut bad);
        match Replayer::from_snapshot(secrets(), bad) {
            Ok(_) => panic!("a bad snapshot was accepted"),
            Err(e) => e.to_string(),
        }
    };
    assert_eq!(
        refused(&|d| d.hash_at_snapshot = None),
        format!("snapshot at {s}: no Merkle leaf recorded at the snapshot")
    );
    let no_tree = refused(&|d| {
        d.tables.remove(tables::TREE);
    });
    assert_eq!(no_tree, format!("snapshot at {s}: public:ccf.internal.tree is missing or malformed"));
    let no_signature = refused(&|d| {
        d.tables.remove(tables::SIGNATURES);
    });
    assert_eq!(no_signature, format!("snapshot at {s}: public:ccf.internal.signatures is missing or malformed"));
    let decreasing = refused(&|d| d.view_history = vec![5, 1]);
    assert!(decreasing.contains("decreases"), "{decreasing}");
    // A tree that is not the one the signature at the snapshot signed.
    let forged = refused(&|d| {
        let tree = d.tables.get_mut(tables::TREE).unwrap();
        let value = tree.entries.values_mut().next().unwrap();
        let last = value.value.len() - 1;
        std::sync::Arc::make_mut(&mut value.value)[last] ^= 1;
    });
    assert!(forged.starts_with(&format!("signature at {s}: root")), "{forged}");

    // A wrong leaf at the snapshot cannot be seen from the snapshot alone: the next signature
    // of the ledger after it does not verify.
    let mut wrong_leaf = snapshot.clone();
    wrong_leaf.hash_at_snapshot = Some(cairn_crypto::sha256(b"not the leaf"));
    let mut replayer = Replayer::from_snapshot(secrets(), wrong_leaf).expect("the leaf alone is not checkable");
    let err = node.ledger[s as usize..]
        .iter()
        .find_map(|e| replayer.push(e.bytes.clone()).err())
        .expect("the next signature does not verify");
    assert!(matches!(err, ReplayError::Signature { .. }), "{err}");
}

#[test]
fn snapshot_written_at_signature_is_committed_only_after_a_later_signature_is_durable() {
    let (mut node, _) = Node::start(config(3, 1000, 12), 7);
    node.open_service();
    let snapshots_so_far = node.snapshots.len();
    node.durable(node.last_seqno());

    // Write until a signature takes a snapshot.
    let (id, actions) = (1..100)
        .map(|i| node.write(i, &format!("before snapshot {i}")))
        .find(|(_, actions)| actions.iter().any(|a| matches!(a, Action::WriteSnapshot { .. })))
        .expect("a snapshot within 100 writes");
    assert_eq!(node.snapshots.len(), snapshots_so_far + 1);
    let s = signature_seqnos(&actions)[0];
    let name = SnapshotName::new(s, s + 1);
    assert_eq!(
        steps(&actions),
        vec![tx(2, s - 1), sig(2, s), Step::Sync, Step::Reply(id, 200), Step::WriteSnapshot(name), tx(2, s + 1)],
        "the snapshot at signature {s}, encoded off the core, then its evidence transaction"
    );
    let evidence = &node.ledger[s as usize];
    let (_, ws) = EntryView::parse(&evidence.bytes).and_then(|e| e.decode_public()).expect("evidence entry");
    assert!(ws.has_table(tables::SNAPSHOT_EVIDENCE), "the transaction after the snapshot is its evidence");

    // The evidence is an ordinary transaction: the next signature's sync covers it.
    assert_eq!(steps(&node.durable(s)), vec![Step::CommitLedger(s)], "no signature covers the evidence yet");
    let mut next_sig = None;
    for i in 0..10 {
        let (_, actions) = node.write(1000 + i, "after snapshot");
        if let Some(&later) = signature_seqnos(&actions).first() {
            next_sig = Some(later);
            break;
        }
    }
    let later = next_sig.expect("a signature within 10 writes");
    assert!(node.committed_snapshots.is_empty());
    assert_eq!(steps(&node.durable(later)), vec![Step::CommitLedger(later), Step::CommitSnapshot(name)]);

    let (committed_name, file) = &node.committed_snapshots[0];
    assert_eq!(*committed_name, name.committed());
    let cert = &identities().service_cert;
    let committed = verify_committed_snapshot(committed_name, file, cert).expect("the committed snapshot verifies");
    assert_eq!(committed.evidence_tx, TxId::new(2, s + 1));
    // The snapshot holds the store the ledger up to `s` rebuilds.
    let secret = LedgerSecret::new(FIRST_SECRET);
    let decoded = decode_snapshot(committed.entry(file), &secret).expect("decodes");
    assert_eq!(decoded.tx.seqno, s);
    let from_snapshot = decoded.into_store();
    let secrets = LedgerSecrets::single(LedgerSecret::new(FIRST_SECRET));
    let from_ledger = replay(&node.ledger[..s as usize], secrets).store;
    for table in [LogTable::Private, LogTable::Public] {
        assert_eq!(records(&from_snapshot, table), records(&from_ledger, table), "{table:?}");
    }
    assert!(!records(&from_snapshot, LogTable::Private).is_empty());
}

#[test]
fn a_snapshot_encoded_off_the_core_is_written_once_with_the_state_at_its_seqno() {
    let (mut node, _) = Node::start(config(3, 1000, 12), 7);
    node.open_service();
    node.held_snapshot_jobs = Some(Vec::new());
    let mut i = 0;
    while node.held_snapshot_jobs.as_ref().unwrap().is_empty() {
        i += 1;
        assert!(i < 100, "a snapshot within 100 writes");
        node.write(i, "before the snapshot");
    }
    let job = node.held_snapshot_jobs.as_mut().unwrap().pop().expect("one job");
    let s = job.seqno();
    // The core goes on while it is encoded, and asks for no second one meanwhile.
    for j in 0..40 {
        node.write(1000 + j, "while it is encoded");
    }
    assert!(node.held_snapshot_jobs.as_ref().unwrap().is_empty(), "one snapshot is encoded at a time");
    let encoded = job.encode();
    let mut stale = encoded.clone();
    stale.leaf = cairn_crypto::Sha256::ZERO;
    assert!(steps(&node.handle(Event::SnapshotEncoded(stale))).is_empty(), "an answer for another ledger is ignored");
    let e = node.last_seqno() + 1;
    let actions = node.handle(Event::SnapshotEncoded(encoded.clone()));
    let name = SnapshotName::new(s, e);
    assert_eq!(steps(&actions), vec![Step::WriteSnapshot(name), tx(2, e)], "its evidence is the next transaction");
    assert!(steps(&node.handle(Event::SnapshotEncoded(encoded))).is_empty(), "the same answer twice writes nothing");
    node.settle();
    let (committed_name, file) = node.committed_snapshots.last().expect("committed once settled");
    assert_eq!(*committed_name, name.committed());
    // It holds the state at `s`: none of the writes made while it was encoded.
    let secret = LedgerSecret::new(FIRST_SECRET);
    let committed = verify_committed_snapshot(committed_name, file, &identities().service_cert).expect("verifies");
    let from_snapshot = decode_snapshot(committed.entry(file), &secret).expect("decodes").into_store();
    let secrets = || LedgerSecrets::single(LedgerSecret::new(FIRST_SECRET));
    let at_s = replay(&node.ledger[..s as usize], secrets()).store;
    let now = replay(&node.ledger, secrets()).store;
    assert_eq!(records(&from_snapshot, LogTable::Private), records(&at_s, LogTable::Private));
    assert_eq!(
        records(&now, LogTable::Private).len(),
        records(&at_s, LogTable::Private).len() + 40,
        "the 40 writes made while it was encoded are not in it"
    );
}

#[test]
fn snapshot_with_signature_tx_count_one_takes_one_signature_per_request_and_commits_every_snapshot() {
    // Every transaction, evidence included, makes a signature due: the evidence must wait for
    // the next event rather than sign (and snapshot) again from inside the snapshot.
    let (mut node, _) = Node::start(config(1, 1000, 3), 15);
    node.open_service();
    for i in 0..12 {
        let w = node.last_seqno() + 1;
        let (id, actions) = node.write(i, "x");
        let plain = vec![tx(2, w), sig(2, w + 1), Step::Sync, Step::Reply(id, 200)];
        let with_snapshot = vec![
            tx(2, w),
            sig(2, w + 1),
            Step::Sync,
            Step::Reply(id, 200),
            Step::WriteSnapshot(SnapshotName::new(w + 1, w + 2)),
            tx(2, w + 2),
        ];
        let got = steps(&actions);
        assert!(got == plain || got == with_snapshot, "write {i}: {got:?}");
    }
    node.settle();
    assert!(node.snapshots.len() >= 3, "a snapshot every few signatures");
    assert_eq!(node.committed_snapshots.len(), node.snapshots.len(), "every snapshot is committed once settled");
    for (name, file) in &node.committed_snapshots {
        verify_committed_snapshot(name, file, &identities().service_cert).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

// ----- restart -----

#[test]
fn restart_replays_ledger_to_same_store_and_signs_first_in_next_view() {
    let cfg = config(4, 1000, NO_SNAPSHOTS);
    let (mut node, _) = Node::start(cfg.clone(), 8);
    node.open_service();
    let mut committed = Vec::new();
    for id in 0..6 {
        let table = if id % 2 == 0 { LogTable::Private } else { LogTable::Public };
        let (rid, actions) = node.request(user(), Request::LogWrite { table, id, msg: format!("m{id}") });
        committed.push(header(reply(&actions, rid), TX_ID_HEADER).unwrap().parse::<TxId>().unwrap());
    }
    node.settle();
    // Signed but never reported durable: on disk all the same.
    let mut signed: Vec<TxId> = (10..14).map(|id| node.write_tx(id, "signed")).collect();
    assert!(node.core.next_deadline_ms().is_none(), "the last write completed a signature");
    signed.push(TxId::new(2, node.last_seqno()));
    for t in &committed {
        assert_eq!(node.tx_status(*t), "Committed");
    }
    for t in &signed {
        assert_eq!(node.tx_status(*t), "Pending");
    }
    let last = node.last_seqno();

    let replayed = replay(&node.ledger, NodeCore::parse_secrets_json(&node.persisted_secrets).unwrap());
    assert_eq!((replayed.last, replayed.unsigned_tail()), (TxId::new(2, last), 0));

    let (mut restarted, actions) = node.restart(cfg, 9, node.now_ms + 5000);
    assert_eq!(steps(&actions), vec![sig(3, last + 1), Step::Sync], "a new view starts with a signature");
    assert_eq!(restarted.core.view(), node.core.view() + 1);
    for table in [LogTable::Private, LogTable::Public] {
        assert_eq!(records(restarted.core.store(), table), records(node.core.store(), table), "{table:?}");
    }
    for t in &committed {
        assert_eq!(restarted.tx_status(*t), "Committed", "committed before the restart: {t}");
    }
    // The ledger on disk up to its last signature is committed on a restart of the only node.
    for t in &signed {
        assert_eq!(restarted.tx_status(*t), "Committed", "signed and on disk before the restart: {t}");
    }
    // Seqno last+1 holds view 3's signature: a view-2 transaction there is not final until
    // that signature commits (Raft could still replace an uncommitted entry), then Invalid.
    let other_view = TxId::new(2, last + 1);
    assert_eq!(restarted.tx_status(other_view), "Unknown", "view 3 holds seqno {}, uncommitted", last + 1);
    assert_eq!(steps(&restarted.durable(last + 1)), vec![Step::CommitLedger(last + 1)]);
    assert_eq!(restarted.tx_status(other_view), "Invalid", "view 3 committed seqno {}", last + 1);
    assert_eq!(restarted.write_tx(50, "after restart"), TxId::new(3, last + 2));
    assert_receipt_verifies(&restarted.receipt(committed[0]), committed[0]);
}

#[test]
fn replay_reports_unsigned_tail_and_restart_signs_over_it() {
    let cfg = config(100, 1000, NO_SNAPSHOTS);
    let (mut node, _) = Node::start(cfg.clone(), 10);
    node.open_service();
    let last_signed = node.last_seqno();
    let tail = [node.write_tx(1, "unsigned one"), node.write_tx(2, "unsigned two")];

    let secrets = NodeCore::parse_secrets_json(&node.persisted_secrets).unwrap();
    let replayed = replay(&node.ledger, secrets);
    assert_eq!(replayed.unsigned_tail(), 2);
    assert_eq!(replayed.last, TxId::new(2, last_signed), "the replay stops at the last signature");
    assert!(records(&replayed.store, LogTable::Private).is_empty(), "unsigned writes are not applied");

    // The unsigned tail stays in the log (a replicated node must never drop entries it may
    // have acknowledged); the lone voter elects itself in view 3 and signs over it.
    let (mut restarted, actions) = node.restart(cfg, 11, node.now_ms + 5000);
    assert_eq!(steps(&actions), vec![sig(3, last_signed + 3), Step::Sync]);
    for t in tail {
        assert_eq!(restarted.tx_status(t), "Pending", "{t} is signed, not yet durable");
    }
    restarted.durable(last_signed + 3);
    for t in tail {
        assert_eq!(restarted.tx_status(t), "Committed", "{t} was kept and signed over in view 3");
    }
    let read = restarted.ask(user(), Request::LogRead { table: LogTable::Private, id: 1 });
    assert_eq!(read.body["msg"], "unsigned one");
}

// ----- rekey -----

/// Which of `secrets` an entry's commit evidence was derived with.
fn secret_index(entry: &cairn_ledger::format::EncodedEntry, secrets: &[(u64, Arc<LedgerSecret>)]) -> usize {
    let (header, _) = EntryView::parse(&entry.bytes).and_then(|e| e.decode_public()).expect("entry");
    secrets
        .iter()
        .position(|(_, s)| s.commit_evidence_digest(entry.tx_id) == header.commit_evidence_digest)
        .unwrap_or_else(|| panic!("{} is under none of the secrets", entry.tx_id))
}

#[test]
fn rekey_persists_new_secret_before_appending_under_it_and_replay_decrypts_all() {
    let (mut node, _) = Node::start(config(100, 1000, NO_SNAPSHOTS), 12);
    node.open_service();
    for id in 0..3 {
        node.write_tx(id, "before rekey");
    }
    let (voted, actions) = node.propose_and_approve(json!([{"name": "trigger_ledger_rekey"}]));
    let ballot: TxId = header(&voted, TX_ID_HEADER).expect("the ballot is a transaction").parse().unwrap();
    let b = ballot.seqno;
    let Some(Step::Reply(id, _)) = steps(&actions).last().cloned() else { panic!("the ballot is answered last") };
    assert_eq!(
        steps(&actions),
        vec![Step::PersistLedgerSecrets(2), tx(2, b), tx(2, b + 1), Step::Reply(id, 200)],
        "the new chain is persisted before the ballot and the rekey transaction are appended"
    );
    let chain = NodeCore::parse_secrets_json(&node.persisted_secrets).unwrap();
    assert_eq!(chain.entries()[1].0, b + 2, "the new secret encrypts everything after the rekey transaction");
    let after: Vec<TxId> = (10..13).map(|id| node.write_tx(id, "after rekey")).collect();
    node.settle();

    for e in &node.ledger {
        let want = usize::from(e.tx_id.seqno >= chain.entries()[1].0);
        assert_eq!(secret_index(e, chain.entries()), want, "{}", e.tx_id);
    }
    let replayed = replay(&node.ledger, chain.clone());
    for table in [LogTable::Private, LogTable::Public] {
        assert_eq!(records(&replayed.store, table), records(node.core.store(), table), "{table:?}");
    }
    let mut old_only =
        Replayer::new(LedgerSecrets::from_entries([(1, LedgerSecret::new(*chain.entries()[0].1.raw()))]).unwrap());
    let err =
        node.ledger.iter().find_map(|e| old_only.push(e.bytes.clone()).err()).expect("the old secret alone fails");
    assert!(matches!(err, ReplayError::Entry { seqno, .. } if seqno == chain.entries()[1].0), "{err}");
    for t in after {
        assert_receipt_verifies(&node.receipt(t), t);
    }
}

#[test]
fn rekey_persists_new_secret_before_appending_under_it_whatever_the_signature_count() {
    // The rekey transaction is the proposal's 3rd transaction after the last signature: every
    // count makes a signature fall somewhere around it.
    for count in [1, 2, 3, 4] {
        let (mut node, _) = Node::start(config(count, 1000, NO_SNAPSHOTS), 13);
        node.open_service();
        let journal_start = node.journal.len();
        node.propose_and_approve(json!([{"name": "trigger_ledger_rekey"}]));
        node.write_tx(1, "after rekey");
        node.settle();
        let chain = NodeCore::parse_secrets_json(&node.persisted_secrets).unwrap();
        assert_eq!(chain.len(), 2, "tx_count {count}");
        let from = chain.entries()[1].0;
        let persisted_at = node.journal[journal_start..]
            .iter()
            .position(|s| *s == Step::PersistLedgerSecrets(2))
            .expect("the new chain is persisted");
        let first_new = node.journal[journal_start..]
            .iter()
            .position(|s| matches!(s, Step::Append(t, _) if t.seqno >= from))
            .expect("entries under the new secret");
        assert!(persisted_at < first_new, "tx_count {count}: persisted before the first entry it encrypts");
        for e in &node.ledger {
            let want = usize::from(e.tx_id.seqno >= from);
            assert_eq!(
                secret_index(e, chain.entries()),
                want,
                "tx_count {count}: {} (new secret from {from})",
                e.tx_id
            );
        }
        replay(&node.ledger, chain);
        let commit = node.core.commit();
        assert_receipt_verifies(&node.receipt(commit), commit);
        let t = TxId::new(2, from);
        assert_receipt_verifies(&node.receipt(t), t);
    }
}

#[test]
fn a_graceful_stop_signs_every_acknowledged_write() {
    let (mut node, _) = Node::start(config(100, 60_000, NO_SNAPSHOTS), 11);
    node.open_service();
    node.settle();
    let base = node.last_seqno();
    let w = node.write_tx(1, "acknowledged, not yet signed");
    assert_eq!(node.tx_status(w), "Pending");
    node.core.sign_pending();
    let actions = node.core.take_actions();
    assert_eq!(steps(&actions), vec![sig(2, base + 2), Step::Sync]);
    node.core.sign_pending();
    assert!(node.core.take_actions().is_empty(), "nothing unsigned: no second signature");
    node.durable(base + 2);
    assert_eq!(node.tx_status(w), "Committed");
}

#[test]
fn a_node_restarting_more_often_than_the_snapshot_interval_still_snapshots() {
    // Issue 11, finding 7: the interval counts from the last snapshot the ledger records, not
    // from the restart.
    let cfg = config(3, 1000, 30);
    let (mut node, _) = Node::start(cfg.clone(), 21);
    node.open_service();
    let mut snapshots = node.snapshots.len();
    let mut id = 0;
    for round in 0..5u64 {
        for _ in 0..12 {
            id += 1;
            node.write_tx(id, "between restarts");
        }
        node.durable(node.last_seqno());
        snapshots += node.snapshots.len();
        let (restarted, _) = node.restart(cfg.clone(), 30 + round, node.now_ms + 5000);
        node = restarted;
    }
    assert!(node.last_seqno() > 60, "{} transactions", node.last_seqno());
    assert!(
        snapshots >= 1,
        "a snapshot within {} transactions, every one of 5 runs shorter than 30",
        node.last_seqno()
    );
}

#[test]
fn a_snapshot_the_disk_cannot_hold_is_skipped_and_node_state_says_so_until_a_later_one_commits() {
    // Issue 11, finding 7: a full disk while writing a snapshot no longer stops the node.
    let (mut node, _) = Node::start(config(3, 1000, 12), 8);
    node.open_service();
    node.durable(node.last_seqno());
    let (_, actions) = (1..100)
        .map(|i| node.write(i, &format!("before snapshot {i}")))
        .find(|(_, actions)| actions.iter().any(|a| matches!(a, Action::WriteSnapshot { .. })))
        .expect("a snapshot within 100 writes");
    let name = actions
        .iter()
        .find_map(|a| match a {
            Action::WriteSnapshot { name, .. } => Some(*name),
            _ => None,
        })
        .unwrap();
    node.handle(cairn_node::Event::SnapshotFailed { name, reason: "No space left on device (os error 28)".into() });
    let state = node.ask(Caller::default(), Request::NodeState).body;
    assert_eq!(state["state"], "PartOfNetwork", "{state}");
    assert_eq!(state["snapshot_failure"]["snapshot"], name.to_string(), "{state}");
    assert!(state["snapshot_failure"]["error"].as_str().unwrap().contains("No space left"), "{state}");
    // The node keeps serving, never commits the skipped snapshot, and takes the next one.
    let before = node.committed_snapshots.len();
    for i in 0..60 {
        node.write_tx(200 + i, "after the failure");
        node.durable(node.last_seqno());
    }
    let committed: Vec<SnapshotName> = node.committed_snapshots[before..].iter().map(|(n, _)| *n).collect();
    assert!(!committed.is_empty(), "a later snapshot is committed");
    assert!(!committed.contains(&name.committed()), "the skipped snapshot is never committed");
    let state = node.ask(Caller::default(), Request::NodeState).body;
    assert!(state.get("snapshot_failure").is_none(), "cleared once a later snapshot committed: {state}");
}
