//! Disaster recovery in the core (SPEC §7), with no I/O: a service with 3 members (threshold
//! 2) writes private and public records; its ledger is recovered by a new core under a new
//! identity; members open it, fetch and submit shares; the private records come back.
mod support;

use cairn_crypto::{Certificate, EncryptionKeyPair, SigningKey};
use cairn_gov::{GovRequestHeader, InitialMember, identity_id, sign_request};
use cairn_ledger::format::{EncodedEntry, EntryFlags, EntryView, TxId};
use cairn_ledger::receipt::Receipt;
use cairn_ledger::snapshot::SnapshotName;
use cairn_ledger::{ServiceIdentity, tables};
use cairn_node::{
    Caller, CoreConfig, Event, LogTable, NodeIdentity, NodeState, RecoverySnapshot, Replayer, Request, Response,
};
use serde_json::{Value, json};
use std::sync::Arc;
use support::*;

struct Member {
    key: SigningKey,
    id: String,
    encryption: EncryptionKeyPair,
    initial: InitialMember,
}

fn members() -> &'static [Member] {
    static MEMBERS: std::sync::OnceLock<Vec<Member>> = std::sync::OnceLock::new();
    MEMBERS.get_or_init(|| {
        (0..3)
            .map(|i| {
                let key = SigningKey::generate().unwrap();
                let req = cairn_crypto::CertificateRequest {
                    common_name: format!("m{i}"),
                    subject_alt_names: vec![],
                    not_before_unix_s: (START_MS / 1000) as i64 - 60,
                    validity_days: 365,
                    is_ca: false,
                };
                let cert = Certificate::self_signed(&key, &req).unwrap();
                let encryption = EncryptionKeyPair::generate().unwrap();
                let initial = InitialMember {
                    cert_pem: cert.pem().to_string(),
                    encryption_public_key_pem: Some(encryption.public_key().to_pem()),
                    member_data: None,
                };
                Member { key, id: identity_id(&cert), encryption, initial }
            })
            .collect()
    })
}

fn signed(node: &Node, m: &Member, msg_type: &str, proposal_id: Option<&str>, payload: &[u8]) -> Vec<u8> {
    let header = GovRequestHeader {
        msg_type: msg_type.into(),
        created_at: node.now_ms / 1000,
        proposal_id: proposal_id.map(Into::into),
    };
    sign_request(&m.key, &m.id, &header, payload)
}

/// Proposes `actions` as member 0, approves as members 0 and 1; returns the final state.
fn pass(node: &mut Node, actions: Value) -> Value {
    let body =
        signed(node, &members()[0], "proposal", None, &serde_json::to_vec(&json!({ "actions": actions })).unwrap());
    let r = node.ask(Caller::default(), Request::Propose { body });
    assert_eq!(r.status, 200, "{:?}", r.body);
    let id = r.body["proposalId"].as_str().unwrap().to_string();
    let mut last = Value::Null;
    for m in &members()[..2] {
        let body = signed(node, m, "ballot", Some(&id), br#"{"ballot":"approve"}"#);
        let r = node.ask(Caller::default(), Request::Ballot { proposal_id: id.clone(), member_id: m.id.clone(), body });
        assert_eq!(r.status, 200, "{:?}", r.body);
        last = r.body;
    }
    last
}

fn config() -> CoreConfig {
    config_with(5, 1000, 1_000_000)
}

fn config_with(sig_count: u64, sig_ms: u64, snapshot_count: u64) -> CoreConfig {
    support::config(sig_count, sig_ms, snapshot_count)
}

/// A service with the three members, a user, open, with private and public records 1..=n.
fn service_with_records(n: u64) -> (Node, Vec<TxId>) {
    service_with_records_under(config(), n)
}

fn service_with_records_under(config: CoreConfig, n: u64) -> (Node, Vec<TxId>) {
    let (mut node, _) = Node::start_with(config, 1, members().iter().map(|m| m.initial.clone()).collect(), 2);
    let user = identities().user_cert.pem().to_string();
    pass(&mut node, json!([{"name": "set_user", "args": {"cert": user}}]));
    let cert = identities().service_cert.pem().to_string();
    pass(&mut node, json!([{"name": "transition_service_to_open", "args": {"next_service_identity": cert}}]));
    let mut txs = Vec::new();
    for i in 1..=n {
        txs.push(node.write_tx(i, &format!("private {i}")));
        let r =
            node.ask(user_caller(), Request::LogWrite { table: LogTable::Public, id: i, msg: format!("public {i}") });
        assert_eq!(r.status, 200);
    }
    node.settle();
    (node, txs)
}

fn user_caller() -> Caller {
    support::user()
}

fn new_identity(now_s: i64) -> (NodeIdentity, Certificate) {
    let service = ServiceIdentity::create(now_s - 60, 365).unwrap();
    let signer = Arc::new(service.new_local_node(now_s - 60, 365).unwrap());
    let identity = NodeIdentity {
        signer,
        service_cert_pem: service.cert.pem().to_string(),
        service_key: None,
        rpc_addresses: vec!["127.0.0.1:9000".into()],
        node_to_node_address: "127.0.0.1:9001".into(),
        encryption_key: None,
    };
    (identity, service.cert)
}

fn network(node: &mut Node) -> Value {
    node.ask(Caller::default(), Request::Network).body
}

fn state(node: &mut Node) -> String {
    node.ask(Caller::default(), Request::NodeState).body["state"].as_str().unwrap().to_string()
}

fn open_recovered(node: &mut Node, previous: &Certificate, next: &Certificate) -> Value {
    let args = json!({"previous_service_identity": previous.pem(), "next_service_identity": next.pem()});
    pass(node, json!([{"name": "transition_service_to_open", "args": args}]))
}

fn share_of(node: &mut Node, m: &Member) -> Vec<u8> {
    let r = node.ask(Caller::with_cert(Some(m.id.clone())), Request::EncryptedShare { member_id: m.id.clone() });
    assert_eq!(r.status, 200, "{:?}", r.body);
    use base64::Engine;
    let encrypted =
        base64::engine::general_purpose::STANDARD.decode(r.body["encryptedShare"].as_str().unwrap()).unwrap();
    cairn_gov::decrypt_share(&encrypted, &m.encryption).unwrap().to_bytes().to_vec()
}

fn submit(node: &mut Node, m: &Member, share: &[u8]) -> Response {
    use base64::Engine;
    let payload =
        serde_json::to_vec(&json!({"share": base64::engine::general_purpose::STANDARD.encode(share)})).unwrap();
    let body = signed(node, m, "recovery_share", None, &payload);
    node.ask(Caller::default(), Request::SubmitShare { member_id: m.id.clone(), body })
}

fn private_records(node: &Node) -> Vec<(Vec<u8>, Vec<u8>)> {
    records(node.core.store(), LogTable::Private).into_iter().map(|(k, v, _)| (k, v)).collect()
}

/// Recovers `old` and opens the recovered service with members 0 and 1's shares.
fn recover_and_open(old: &Node, old_cert: &Certificate, seed: u64) -> (Node, Certificate, NodeIdentity) {
    recover_and_open_from(old, None, old_cert, seed)
}

/// [`recover_and_open`] from committed snapshot `snapshot` of `old`, if given.
fn recover_and_open_from(
    old: &Node,
    snapshot: Option<&(SnapshotName, Vec<u8>)>,
    old_cert: &Certificate,
    seed: u64,
) -> (Node, Certificate, NodeIdentity) {
    let (mut node, cert, identity) = recover_ledger(&old.ledger, old.now_ms, snapshot, old_cert, seed);
    open_with_shares(&mut node, old_cert, &cert);
    (node, cert, identity)
}

/// The public phase of a recovery of `ledger` (from `snapshot`, if given), a minute after
/// `now_ms`.
fn recover_ledger(
    ledger: &[EncodedEntry],
    now_ms: u64,
    snapshot: Option<&(SnapshotName, Vec<u8>)>,
    old_cert: &Certificate,
    seed: u64,
) -> (Node, Certificate, NodeIdentity) {
    let now = now_ms + 60_000;
    let (identity, cert) = new_identity((now / 1000) as i64);
    let snapshot = snapshot.map(|(name, file)| (*name, file.as_slice(), old_cert));
    let mut node = Node::recover_from(ledger, snapshot, identity.clone(), config(), seed, now).expect("recover");
    node.settle();
    (node, cert, identity)
}

/// Members open the recovered service and members 0 and 1 submit their shares.
fn open_with_shares(node: &mut Node, old_cert: &Certificate, cert: &Certificate) {
    open_recovered(node, old_cert, cert);
    for m in &members()[..2] {
        let share = share_of(node, m);
        let r = submit(node, m, &share);
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    node.settle();
}

#[test]
fn a_recovered_service_reads_publicly_then_restores_every_private_record_with_two_shares() {
    let (mut old, txs) = service_with_records(30);
    let _ = &mut old;
    let before = private_records(&old);
    assert_eq!(before.len(), 30);
    let old_view = old.core.view();
    let old_last = old.last_seqno();
    let old_cert = identities().service_cert.clone();
    let old_receipt: Receipt = serde_json::from_value(old.receipt(txs[3]).body).unwrap();

    let now = old.now_ms + 60_000;
    let (identity, new_cert) = new_identity((now / 1000) as i64);
    let mut node = Node::recover(&old.ledger, identity, config(), 2, now).expect("recover");
    assert!(node.ledger_recovery, "chunks carry .recovery from the create transaction on");
    // The create transaction: right after the previous last signature, a new chunk, view + 2.
    let create = &node.ledger[old_last as usize];
    assert_eq!(create.tx_id, TxId::new(old_view + 2, old_last + 1));
    assert!(create.flags.0 & EntryFlags::FORCE_LEDGER_CHUNK_BEFORE != 0, "a new chunk");
    node.settle();
    let net = network(&mut node);
    assert_eq!((net["service_status"].as_str(), net["recovery_count"].as_u64()), (Some("Recovering"), Some(1)));
    assert_eq!(net["service_certificate"].as_str(), Some(new_cert.pem()));
    assert_eq!(state(&mut node), "PartOfPublicNetwork");
    assert_eq!(node.core.node_state(), NodeState::PartOfPublicNetwork);
    // The public records are there; the private ones are not, and users are not served yet.
    assert_eq!(records(node.core.store(), LogTable::Public).len(), 30);
    assert!(private_records(&node).is_empty());
    let r = node.ask(user_caller(), Request::LogRead { table: LogTable::Private, id: 1 });
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (503, Some("FrontendNotOpen")));
    let r = node.receipt(txs[3]);
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (503, Some("ReceiptUnavailable")));
    // The previous identity is served; every previous node is retired.
    let r = node.ask(Caller::default(), Request::PreviousIdentity);
    assert_eq!(r.body["previous_service_identity"].as_str(), Some(old_cert.pem()));
    let own = node.core.node_id().to_string();
    for (id, v) in node.core.store().iter_table(tables::NODES_INFO) {
        let info: tables::NodeInfo = serde_json::from_slice(&v.value).unwrap();
        let expected = if id == own.as_bytes() { tables::NodeStatus::Trusted } else { tables::NodeStatus::Retired };
        assert_eq!(info.status, expected);
    }
    // No snapshot before the private state is back.
    assert!(node.snapshots.is_empty());

    // Shares are refused until the members open the service.
    let share0 = share_of(&mut node, &members()[0]);
    let r = submit(&mut node, &members()[0], &share0);
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (403, Some("ServiceNotWaitingForRecoveryShares")));
    // A wrong previous identity is refused; the right one moves the service on.
    let failed = open_recovered(&mut node, &new_cert, &new_cert);
    assert_eq!(failed["proposalState"], "Failed", "{failed:?}");
    assert!(failed["failure"]["reason"].as_str().unwrap().contains("previous_service_identity"), "{failed:?}");
    open_recovered(&mut node, &old_cert, &new_cert);
    assert_eq!(network(&mut node)["service_status"], "WaitingForRecoveryShares");

    // Fetching a share: only the member itself, by its certificate.
    for (caller, status) in [
        (Caller::default(), 401),
        (Caller::with_cert(Some(identity_id(&identities().stranger_cert))), 401),
        (user_caller(), 401),
        (Caller::with_cert(Some(members()[1].id.clone())), 403),
    ] {
        let r = node.ask(caller, Request::EncryptedShare { member_id: members()[0].id.clone() });
        assert_eq!(r.status, status, "{:?}", r.body);
    }
    // A wrong share is refused on submission and does not count.
    let mut wrong = share0.clone();
    wrong[10] ^= 1;
    let r = submit(&mut node, &members()[0], &wrong);
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (400, Some("InvalidInput")), "{:?}", r.body);
    let r = submit(&mut node, &members()[1], &share0);
    assert_eq!(r.status, 400, "member 0's share under member 1's name: {:?}", r.body);
    // A signer submitting for another member is refused.
    let payload = serde_json::to_vec(&json!({"share": "AA=="})).unwrap();
    let body = signed(&node, &members()[2], "recovery_share", None, &payload);
    let r = node.ask(Caller::default(), Request::SubmitShare { member_id: members()[0].id.clone(), body });
    assert_eq!(r.status, 403, "{:?}", r.body);
    // The first share, twice: counted once.
    let r = submit(&mut node, &members()[0], &share0);
    assert_eq!((r.status, r.body["submittedCount"].as_u64()), (200, Some(1)), "{:?}", r.body);
    let later = node.now_ms + 1000; // a new request, not a replay of the first
    node.tick(later);
    let r = submit(&mut node, &members()[0], &share0);
    assert_eq!((r.status, r.body["submittedCount"].as_u64()), (200, Some(1)), "{:?}", r.body);
    assert_eq!(network(&mut node)["service_status"], "WaitingForRecoveryShares");
    // The second distinct share starts the private phase, off the core: meanwhile the node
    // answers, and reports reading the private ledger with its progress.
    let share1 = share_of(&mut node, &members()[1]);
    node.held_restore_jobs = Some(Vec::new());
    let r = submit(&mut node, &members()[1], &share1);
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["message"], "2/2 recovery shares successfully submitted. End of recovery procedure initiated.");
    let previous_last = txs.last().unwrap().seqno;
    let s = node.ask(Caller::default(), Request::NodeState).body;
    assert_eq!(s["state"], "ReadingPrivateLedger", "{s}");
    assert_eq!(s["recovery_progress"]["phase"], "private", "{s}");
    assert!(s["recovery_progress"]["target_seqno"].as_u64().unwrap() >= previous_last, "{s}");
    assert_eq!(network(&mut node)["service_status"], "WaitingForRecoveryShares");
    node.tick(node.now_ms + 1000); // a new request, not a replay
    let r = submit(&mut node, &members()[0], &share0);
    assert_eq!(r.status, 200, "a share while the private ledger is read still counts once: {:?}", r.body);
    let mut held = node.held_restore_jobs.take().unwrap();
    assert_eq!(held.len(), 1, "one private restore at a time");
    let job = held.pop().unwrap();
    let stale = cairn_node::PrivateStateRestored { run: 999, result: Ok(cairn_kv::WriteSet::new()) };
    node.handle(Event::PrivateStateRestored(stale));
    assert_eq!(state(&mut node), "ReadingPrivateLedger", "a result for another run is ignored");
    node.handle(Event::PrivateStateRestored(job.run()));
    assert_ne!(
        network(&mut node)["service_status"],
        "Open",
        "Open is reported once the opening transaction is committed, when reads see the restored records"
    );
    node.settle();
    assert!(!node.ledger_recovery, ".recovery suffixes dropped");
    assert_eq!(network(&mut node)["service_status"], "Open");
    assert_eq!(state(&mut node), "PartOfNetwork");
    assert_eq!(private_records(&node), before, "every private record, identical");
    let r = node.ask(user_caller(), Request::LogRead { table: LogTable::Private, id: 7 });
    assert_eq!(r.body["msg"], "private 7");
    // A receipt from before the disaster verifies against the previous certificate.
    let again: Receipt = serde_json::from_value(node.receipt(txs[3]).body).unwrap();
    again.verify(&old_cert).expect("the previous era's receipt verifies against its certificate");
    old_receipt.verify(&old_cert).unwrap();
    // Fresh shares for the new secret; submitted shares removed; a snapshot followed.
    assert_eq!(node.core.store().iter_table(tables::ENCRYPTED_SUBMITTED_SHARES).count(), 0);
    assert!(!node.committed_snapshots.is_empty(), "a snapshot after the service opened");
}

#[test]
fn restarts_keep_the_restored_state_and_recoveries_follow_each_other() {
    let (old, _) = service_with_records(12);
    let before = private_records(&old);
    let old_cert = identities().service_cert.clone();
    let (mut first, first_cert, first_identity) = recover_and_open(&old, &old_cert, 3);
    assert_eq!(private_records(&first), before);
    // A write in the first recovered era.
    first.write_tx(100, "written between recoveries");
    first.settle();

    // A restart replays both eras with the restored chain.
    let (restarted, _) = first.restart_as(first_identity.clone(), config(), 4, first.now_ms + 1000);
    assert_eq!(private_records(&restarted), private_records(&first));

    // A restart with the chain persisted before the opening transaction (the node stopped
    // between appending it and persisting the chain) restores the private state in the replay.
    let full = first.persisted_secrets.clone();
    let chain: cairn_gov::LedgerSecretChain = serde_json::from_slice(&full).unwrap();
    let new_era = chain.iter().find(|s| s.valid_from_seqno > 1).unwrap();
    first.persisted_secrets =
        serde_json::to_vec(&cairn_gov::LedgerSecretChain::new(new_era.valid_from_seqno, new_era.secret)).unwrap();
    let (replayed, _) = first.restart_as(first_identity, config(), 11, first.now_ms + 5000);
    first.persisted_secrets = full;
    assert_eq!(private_records(&replayed), private_records(&first), "restored during the replay");
    let persisted: cairn_gov::LedgerSecretChain = serde_json::from_slice(&replayed.persisted_secrets).unwrap();
    assert_eq!(persisted.iter().next().unwrap().valid_from_seqno, 1, "the whole chain is persisted again");

    // Second and third recoveries: the count goes on, every record (both eras) survives.
    let (second, second_cert, _) = recover_and_open(&first, &first_cert, 5);
    assert_eq!(private_records(&second), private_records(&first));
    let (mut third, _, _) = recover_and_open(&second, &second_cert, 6);
    assert_eq!(private_records(&third), private_records(&first));
    assert_eq!(network(&mut third)["recovery_count"], 3);
    let r = third.ask(user_caller(), Request::LogRead { table: LogTable::Private, id: 100 });
    assert_eq!(r.body["msg"], "written between recoveries");
}

#[test]
fn a_recovery_refuses_a_ledger_without_a_signature() {
    let (old, _) = service_with_records(1);
    // Only the genesis transaction, unsigned.
    let err = Node::recover(&old.ledger[..1], new_identity(0).0, config(), 7, old.now_ms).err().expect("refused");
    assert!(err.message.contains("ends with a signature"), "{}", err.message);
    let first = EntryView::parse(&old.ledger[0].bytes).unwrap();
    assert_eq!(first.tx_id().seqno, 1);
}

#[test]
fn a_recovery_from_a_committed_snapshot_restores_what_the_whole_ledger_does() {
    // Snapshots every 10 transactions; records overwritten after the newest snapshot.
    let (mut old, _) = service_with_records_under(config_with(5, 1000, 10), 25);
    let (snapshot_name, _) = old.committed_snapshots.last().cloned().expect("a committed snapshot");
    for i in 1..=5 {
        old.write_tx(i, &format!("rewritten {i}"));
    }
    old.settle();
    let snapshot = old.committed_snapshots.iter().find(|(n, _)| *n == snapshot_name).cloned().unwrap();
    assert!(snapshot.0.seqno < old.last_seqno(), "entries follow the snapshot");
    let old_cert = identities().service_cert.clone();
    let before = private_records(&old);
    assert!(before.iter().any(|(_, v)| v.starts_with(b"rewritten")));

    let (from_snapshot, _, _) = recover_and_open_from(&old, Some(&snapshot), &old_cert, 21);
    let (whole, _, _) = recover_and_open_from(&old, None, &old_cert, 22);
    assert_eq!(private_records(&from_snapshot), before, "the snapshot's private domain plus the entries after it");
    assert_eq!(private_records(&whole), before);
    let public =
        |n: &Node| records(n.core.store(), LogTable::Public).into_iter().map(|(k, v, _)| (k, v)).collect::<Vec<_>>();
    assert_eq!(public(&from_snapshot), public(&old));
    assert_eq!(public(&whole), public(&old));

    // A snapshot is used only under the certificate of the service that wrote it, and intact.
    let (_, other_cert) = new_identity((old.now_ms / 1000) as i64);
    let evidence = old.ledger[snapshot.0.evidence_seqno as usize - 1].bytes.clone();
    let err = RecoverySnapshot::check(snapshot.0, &snapshot.1, &other_cert, Some(&evidence)).unwrap_err();
    assert!(!err.is_empty());
    let mut tampered = snapshot.1.clone();
    tampered[100] ^= 1;
    assert!(RecoverySnapshot::check(snapshot.0, &tampered, &old_cert, Some(&evidence)).is_err());
    let other_entry = old.ledger[snapshot.0.evidence_seqno as usize].bytes.clone();
    let err = RecoverySnapshot::check(snapshot.0, &snapshot.1, &old_cert, Some(&other_entry)).unwrap_err();
    assert!(err.contains("evidence"), "{err}");
    assert!(
        RecoverySnapshot::check(snapshot.0, &snapshot.1, &old_cert, None).unwrap_err().contains("not in the ledger")
    );
}

#[test]
fn a_ledger_that_starts_after_a_snapshot_is_recovered_from_that_snapshot() {
    // Snapshots every 10 transactions; ledger rekeys before and after the snapshot the ledger
    // starts after; records overwritten after it.
    let (mut old, _) = service_with_records_under(config_with(5, 1000, 10), 12);
    pass(&mut old, json!([{"name": "trigger_ledger_rekey"}]));
    for i in 13..=25 {
        old.write_tx(i, &format!("private {i}"));
    }
    old.settle();
    let snapshot = old.committed_snapshots.last().cloned().expect("a committed snapshot");
    pass(&mut old, json!([{"name": "trigger_ledger_rekey"}]));
    for i in 1..=5 {
        old.write_tx(i, &format!("rewritten {i}"));
    }
    old.settle();
    let old_cert = identities().service_cert.clone();
    let before = private_records(&old);
    let public =
        |n: &Node| records(n.core.store(), LogTable::Public).into_iter().map(|(k, v, _)| (k, v)).collect::<Vec<_>>();
    // The ledger of a node that joined from the snapshot: only the entries after it.
    let after: Vec<EncodedEntry> = old.ledger.iter().filter(|e| e.tx_id.seqno > snapshot.0.seqno).cloned().collect();
    assert!(after.len() > 5 && snapshot.0.seqno > 10, "{} entries after {}", after.len(), snapshot.0);
    let chain: cairn_gov::LedgerSecretChain = serde_json::from_slice(&old.persisted_secrets).unwrap();
    let from: Vec<u64> = chain.iter().map(|s| s.valid_from_seqno).collect();
    assert!(from.len() == 3 && from[1] < snapshot.0.seqno && from[2] > snapshot.0.seqno, "secrets {from:?}");

    let (mut node, cert, identity) = recover_ledger(&after, old.now_ms, Some(&snapshot), &old_cert, 31);
    assert_eq!(state(&mut node), "PartOfPublicNetwork");
    assert_eq!(public(&node), public(&old), "the snapshot's public domain plus the entries after it");
    assert!(private_records(&node).is_empty());
    assert_eq!(
        node.ledger.first().map(|e| e.tx_id.seqno),
        Some(snapshot.0.seqno + 1),
        "the ledger still starts after it"
    );

    // A restart in the public phase keeps the snapshot's private domain for the opening.
    let persisted = node.persisted_secrets.clone();
    let mut node = node.restart_after_previous_snapshot(
        (snapshot.0, &snapshot.1, &old_cert),
        identity.clone(),
        config(),
        32,
        node.now_ms + 1000,
    );
    node.persisted_secrets = persisted;
    node.settle();
    assert_eq!(state(&mut node), "PartOfPublicNetwork");
    open_with_shares(&mut node, &old_cert, &cert);
    assert_eq!(network(&mut node)["service_status"], "Open");
    assert_eq!(network(&mut node)["recovery_count"], 1);
    assert_eq!(state(&mut node), "PartOfNetwork");
    assert_eq!(
        private_records(&node),
        before,
        "the snapshot's private domain, then the entries after it, every secret"
    );
    assert_eq!(public(&node), public(&old));
    let r = node.ask(user_caller(), Request::LogRead { table: LogTable::Private, id: 3 });
    assert_eq!(r.body["msg"], "rewritten 3");

    // A restart once open: the persisted chain reaches back to the snapshot's secret.
    node.write_tx(100, "after the recovery");
    node.settle();
    let restarted = node.restart_after_previous_snapshot(
        (snapshot.0, &snapshot.1, &old_cert),
        identity,
        config(),
        33,
        node.now_ms + 1000,
    );
    assert_eq!(private_records(&restarted), private_records(&node));
    assert_eq!(public(&restarted), public(&node));

    // Without the snapshot the ledger cannot be recovered; with another service's, neither.
    let (_, other_cert) = new_identity((old.now_ms / 1000) as i64);
    let evidence = after.iter().find(|e| e.tx_id.seqno == snapshot.0.evidence_seqno).map(|e| e.bytes.as_slice());
    assert!(RecoverySnapshot::check(snapshot.0, &snapshot.1, &other_cert, evidence).is_err());
    let mut replayed = Replayer::public_only();
    let err = after.iter().try_for_each(|e| replayed.push(e.bytes.clone())).unwrap_err();
    assert_eq!(err, cairn_node::ReplayError::OutOfOrder { seqno: snapshot.0.seqno + 1, expected: 1 });
}
