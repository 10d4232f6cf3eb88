//! Disaster recovery with real processes (SPEC §7): a 3-node service with 3 members
//! (threshold 2) and thousands of private and public records loses every node (SIGKILL); two
//! operators start `Recover` nodes on copies of two nodes' files, the better one is kept, a new
//! node joins it, members open it and submit two shares with `cairn member share submit`, and
//! every record reads back identical on both nodes. Two more recoveries follow.
mod support;

use cairn_client::{CairnClient, LogTable};
use cairn_crypto::Certificate;
use cairn_ledger::receipt::Receipt;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use support::cluster::{create_join_node, create_start_node, panics_in_logs, wait_for};
use support::member::Member;
use support::recovery::*;

const RECORDS: u64 = 5_000;

#[test]
fn three_recoveries_bring_back_every_record_under_new_identities() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |name: &str| -> PathBuf { tmp.path().join(name) };
    let rt = rt();

    // The service: 3 nodes, 3 members (threshold 2), records, snapshots.
    let mut n0 = create_start_node(&dir("n0"), &opts());
    n0.start();
    let mut n1 = create_join_node(&dir("n1"), &dir("n0"), n0.port, &opts());
    let mut n2 = create_join_node(&dir("n2"), &dir("n0"), n0.port, &opts());
    n1.start();
    n2.start();
    let gov = n0.client(None);
    let old_cert = n0.service_cert();
    open_with_user(&n0);
    let user = n0.client(Some("u0"));
    let half = RECORDS / 2;
    let mut txs: Vec<_> = rt.block_on(write_records(&user, 1, half)).into_iter().map(|(private, _)| private).collect();
    // A ledger rekey on the three nodes: the second half of the records is under a new secret.
    let rekey = json!([{"name": "trigger_ledger_rekey", "args": {}}]);
    assert_eq!(rt.block_on(pass_with_two(&gov, &dir("n0"), rekey)), "Accepted");
    let second = rt.block_on(write_records(&user, half + 1, RECORDS));
    // The last write of a lane is a public record, after every private one: wait for both.
    let last_public = second.iter().map(|(_, public)| *public).max().unwrap();
    txs.extend(second.into_iter().map(|(private, _)| private));
    let last = last_public.max(*txs.iter().max().unwrap());
    rt.block_on(user.wait_committed(last, Duration::from_secs(30))).unwrap();
    let old_receipt: Value = rt.block_on(user.receipt(txs[99])).unwrap();
    let snapshots = std::fs::read_dir(dir("n0").join("snapshots")).unwrap().count();
    assert!(snapshots >= 2, "at least two snapshots before the disaster ({snapshots})");
    // Everything replicated before the disaster.
    for node in [&n1, &n2] {
        let c = node.client(None);
        rt.block_on(wait_for("backups caught up", Duration::from_secs(30), || async {
            (c.commit().await.ok()? >= last).then_some(())
        }));
    }

    // The disaster.
    for node in [&mut n0, &mut n1, &mut n2] {
        node.kill();
    }

    // Two operators each recover a copy of one node's files; the better ledger is kept.
    // The backups write no snapshots: the operators bring the old primary's.
    let mut a = recover_node(&dir("ra"), &dir("n1"), &dir("n0"));
    let mut b = recover_node(&dir("rb"), &dir("n2"), &dir("n0"));
    for r in ["ra", "rb"] {
        support::recovery::copy_dir(&dir("n0").join("snapshots"), &dir(r).join("snapshots"));
    }
    start_recovering(&mut a);
    start_recovering(&mut b);
    for node in [&a, &b] {
        // From its new certificate on, a Recover node serves its progress (SPEC §7.1).
        assert!(node.last_log().contains("serving GET /node/state while the ledger is read"), "{}", node.last_log());
    }
    let (sa, sb) = (create_seqno(&a.client(None), &rt), create_seqno(&b.client(None), &rt));
    let (keep, mut other) = if sa >= sb { (a, b) } else { (b, a) };
    other.stop();
    let primary = keep.client(None);
    // The public read started from the newest committed snapshot of the previous service.
    assert!(keep.last_log().contains("reading the public ledger from a committed snapshot"), "{}", keep.last_log());
    let state = rt.block_on(primary.node_state()).unwrap();
    assert_eq!(state.state, "PartOfPublicNetwork");
    let network = rt.block_on(primary.network()).unwrap();
    assert_eq!((network.service_status.as_str(), network.recovery_count), ("Recovering", 1));
    assert_ne!(network.service_certificate, old_cert, "a new service identity");
    assert!(network.current_view >= 4, "view = last view + 2 ({})", network.current_view);
    assert!(keep.service_cert() != old_cert);
    // Users are not served until the private state is back.
    let user = keep.client(Some("u0"));
    assert!(rt.block_on(user.log_read(LogTable::Private, 1)).is_err());

    // A wrong previous identity is refused.
    let wrong = json!([{"name": "transition_service_to_open", "args":
        {"previous_service_identity": keep.service_cert(), "next_service_identity": keep.service_cert()}}]);
    assert_eq!(rt.block_on(pass_with_two(&primary, &keep.dir, wrong)), "Failed");

    // A new node joins the recovered service (trusted at once with its join token).
    // It asks for a snapshot first: the recovered node has only the previous service's, which
    // it does not offer, so the joiner replicates the whole ledger.
    let fetching = support::cluster::ClusterOptions { fetch_recent_snapshot: true, ..opts() };
    let mut joiner = create_join_node(&dir("rj"), &keep.dir, keep.port, &fetching);
    joiner.start();
    let joined = joiner.client(None);
    rt.block_on(wait_for("the joiner in the public network", Duration::from_secs(60), || async {
        (joined.node_state().await.ok()?.state == "PartOfPublicNetwork").then_some(())
    }));

    // Non-members cannot fetch or submit shares.
    let m0_id = Member::load(&keep.dir, "m0").id;
    assert!(rt.block_on(keep.client(None).encrypted_share(&m0_id)).is_err(), "anonymous");
    assert!(rt.block_on(keep.client(Some("u0")).encrypted_share(&m0_id)).is_err(), "a user");

    let answers = open_with_shares(&keep, &old_cert);
    assert!(answers[0].contains("1/2 recovery shares successfully submitted"), "{answers:?}");
    assert!(answers[1].contains("2/2 recovery shares successfully submitted"), "{answers:?}");
    rt.block_on(wait_open(&primary, "the recovered primary open"));
    rt.block_on(wait_open(&joined, "the joiner open"));

    // Every record on both nodes, identical.
    let user = keep.client(Some("u0"));
    rt.block_on(check_records(&user, 1..=RECORDS, "recovered primary"));
    let joiner_user = CairnClient::new(
        &joiner.url(),
        &keep.service_cert(),
        Some(cairn_client::ClientIdentity {
            cert_pem: std::fs::read_to_string(keep.dir.join("u0_cert.pem")).unwrap(),
            key_pem: std::fs::read_to_string(keep.dir.join("u0_privk.pem")).unwrap(),
        }),
    )
    .unwrap();
    rt.block_on(check_records(&joiner_user, 1..=RECORDS, "joiner"));
    // A receipt from before the disaster verifies against the old certificate, as does the
    // recovered service's receipt for the same transaction.
    let old = Certificate::from_pem(&old_cert).unwrap();
    serde_json::from_value::<Receipt>(old_receipt).unwrap().verify(&old).unwrap();
    let again: Receipt = serde_json::from_value(rt.block_on(user.receipt(txs[99])).unwrap()).unwrap();
    again.verify(&old).unwrap();
    assert_eq!(rt.block_on(primary.previous_service_identity()).unwrap(), old_cert);
    assert!(
        !std::fs::read_dir(keep.dir.join("ledger")).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".recovery")),
        ".recovery suffixes dropped once open"
    );

    // Recoveries 2 and 3, with a write made before each.
    let mut previous = keep;
    let mut others = vec![joiner, other];
    for (n, count) in [("r2", 2u64), ("r3", 3)] {
        let user = previous.client(Some("u0"));
        let id = 1_000_000 + count;
        let tx = rt.block_on(user.log_write(LogTable::Private, id, &format!("between {count}"))).unwrap();
        rt.block_on(user.wait_committed(tx, Duration::from_secs(30))).unwrap();
        let previous_cert = previous.service_cert();
        for o in others.iter_mut() {
            if o.is_running() {
                o.kill();
            }
        }
        previous.kill();
        let mut next = recover_node(&dir(n), &previous.dir, &previous.dir);
        start_recovering(&mut next);
        open_with_shares(&next, &previous_cert);
        let client = next.client(None);
        rt.block_on(wait_open(&client, "the recovered service open"));
        assert_eq!(rt.block_on(client.network()).unwrap().recovery_count, count);
        let user = next.client(Some("u0"));
        for id in 1_000_002..=id {
            let value = rt.block_on(user.log_read(LogTable::Private, id)).unwrap();
            assert_eq!(value.as_deref(), Some(format!("between {}", id - 1_000_000).as_str()));
        }
        rt.block_on(check_records(&user, (1..=RECORDS).step_by(97), n));
        let again: Receipt = serde_json::from_value(rt.block_on(user.receipt(txs[99])).unwrap()).unwrap();
        again.verify(&old).unwrap();
        if count == 2 {
            // A ledger rekey in the second recovered era (a single node): the secret chain goes
            // on through it and through the third recovery.
            let rekey = json!([{"name": "trigger_ledger_rekey", "args": {}}]);
            assert_eq!(rt.block_on(pass_with_two(&next.client(None), &next.dir, rekey)), "Accepted");
        }
        others.push(previous);
        previous = next;
    }
    // CCF's own tools: read_ledger.py verifies every committed chunk of the last recovered
    // service (the three earlier eras included), verify_ledger_secrets_chain.py its secret chain.
    let user = previous.client(Some("u0"));
    let tx = rt.block_on(user.log_write(LogTable::Private, 2_000_000, "after three recoveries")).unwrap();
    rt.block_on(user.wait_committed(tx, Duration::from_secs(30))).unwrap();
    previous.stop();
    let venv = support::ccf_venv();
    let ledger = previous.dir.join("ledger");
    let checks = [
        ("read_ledger.py", None, "Ledger verification complete"),
        // With the open chunk too: the third recovery's link is in it.
        ("verify_ledger_secrets_chain.py", Some("--uncommitted"), ""),
    ];
    for (script, flag, expect) in checks {
        let out = std::process::Command::new(venv.join("bin/python"))
            .arg(venv.join("bin").join(script))
            .arg(&ledger)
            .args(flag)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{script}:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains(expect), "{script}: {stdout}");
        if script == "verify_ledger_secrets_chain.py" {
            let records = stdout.lines().filter(|l| l.contains("previous_ledger_secret")).count();
            assert!(records >= 5, "two rekeys and three recoveries link the chain: {stdout}");
        }
    }
    for node in others.iter().chain([&previous]) {
        assert!(panics_in_logs(node).is_empty(), "{}: {:?}", node.dir.display(), panics_in_logs(node));
    }
}

/// A one-node service with members m0..m2 (threshold 2) and user u0, open, with `records`
/// private and public records committed; returns the node (running) and the records' txs.
fn small_service(
    dir: &std::path::Path,
    records: u64,
    opts: &support::cluster::ClusterOptions,
) -> (support::node_process::NodeProcess, Vec<(cairn_client::TxId, cairn_client::TxId)>) {
    let rt = rt();
    let mut node = create_start_node(dir, opts);
    node.start();
    open_with_user(&node);
    let user = node.client(Some("u0"));
    let txs = rt.block_on(write_records(&user, 1, records));
    let last = txs.iter().map(|(a, b)| *a.max(b)).max().unwrap();
    rt.block_on(user.wait_committed(last, Duration::from_secs(30))).unwrap();
    (node, txs)
}

fn copy_member_keys(from: &std::path::Path, to: &std::path::Path) {
    for m in ["m0", "m1", "m2"] {
        for suffix in ["_cert.pem", "_privk.pem", "_enc_privk.pem", "_enc_pubk.pem"] {
            let name = format!("{m}{suffix}");
            std::fs::copy(from.join(&name), to.join(&name)).unwrap();
        }
    }
}

#[test]
fn the_recovering_primary_dies_before_the_last_share_and_no_member_resubmits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |name: &str| -> PathBuf { tmp.path().join(name) };
    let rt = rt();
    let (mut old, _) = small_service(&dir("old"), 300, &opts());
    let old_cert = old.service_cert();
    old.kill();

    let mut r = recover_node(&dir("r"), &dir("old"), &dir("old"));
    start_recovering(&mut r);
    let mut joiners = Vec::new();
    for name in ["j1", "j2"] {
        let mut j = create_join_node(&dir(name), &dir("r"), r.port, &opts());
        copy_member_keys(&dir("r"), &dir(name));
        j.start();
        joiners.push(j);
    }
    let primary = r.client(None);
    rt.block_on(wait_for("three voters", Duration::from_secs(60), || async {
        let c = primary.consensus().await.ok()?;
        (support::cluster::voters(&c).len() == 3).then_some(())
    }));
    // Open, and one share of two.
    let args = json!({"previous_service_identity": old_cert, "next_service_identity": r.service_cert()});
    let open = json!([{"name": "transition_service_to_open", "args": args}]);
    assert_eq!(rt.block_on(pass_with_two(&primary, &dir("r"), open)), "Accepted");
    let out = member_cli(&r, "m0", &["share", "submit"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("1/2"), "{}", String::from_utf8_lossy(&out.stderr));
    // The submission is committed on the backups before the primary dies.
    let committed = rt.block_on(primary.commit()).unwrap();
    for j in &joiners {
        let c = j.client(None);
        rt.block_on(wait_for("the share replicated", Duration::from_secs(30), || async {
            (c.commit().await.ok()? >= committed).then_some(())
        }));
    }
    r.kill();

    // A backup becomes primary; member m1 submits its share there (retried while the
    // election settles: a node that still names the dead primary cannot forward to it); m0
    // does not resubmit.
    let started = std::time::Instant::now();
    let answer = loop {
        let primary = rt.block_on(async {
            for j in &joiners {
                let Ok(c) = j.client(None).consensus().await else { continue };
                if support::cluster::role_term(&c).0 == "Leader" {
                    return Some(j);
                }
            }
            None
        });
        if let Some(p) = primary {
            let out = try_member_cli(p, "m1", &["share", "submit"]);
            if out.status.success() {
                break String::from_utf8_lossy(&out.stdout).to_string();
            }
        }
        if started.elapsed() > Duration::from_secs(60) {
            let states: Vec<_> =
                joiners.iter().map(|j| rt.block_on(j.client(None).consensus()).map_err(|e| e.to_string())).collect();
            panic!("no primary took the last share: {states:?}\n{}", joiners[0].last_log());
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(answer.contains("2/2"), "{answer}");
    for j in &joiners {
        let c = j.client(None);
        rt.block_on(wait_open(&c, "open after the primary's loss"));
        let user = CairnClient::new(
            &j.url(),
            &j.service_cert(),
            Some(cairn_client::ClientIdentity {
                cert_pem: std::fs::read_to_string(j.dir.join("u0_cert.pem")).unwrap(),
                key_pem: std::fs::read_to_string(j.dir.join("u0_privk.pem")).unwrap(),
            }),
        )
        .unwrap();
        rt.block_on(check_records(&user, 1..=300, &j.dir.display().to_string()));
    }
}

/// Where entries start in the open chunk of `ledger`, and which are signatures.
fn open_chunk(ledger: &std::path::Path) -> (PathBuf, Vec<(u64, bool)>, u64) {
    use cairn_ledger::chunk::{ChunkName, frame_chunk};
    let mut open: Vec<(u64, String)> = std::fs::read_dir(ledger)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let parsed = ChunkName::parse(&name)?;
            (!parsed.is_complete() && !parsed.recovery).then_some((parsed.start, name))
        })
        .collect();
    open.sort();
    let Some((start, name)) = open.pop() else { return (PathBuf::new(), Vec::new(), 0) };
    let bytes = std::fs::read(ledger.join(&name)).unwrap();
    let frame = frame_chunk(&name, &ChunkName::parse(&name).unwrap(), &bytes, false).unwrap();
    let entries = (0..frame.positions.len())
        .map(|i| {
            let entry = cairn_ledger::format::EntryView::parse(&bytes[frame.entry_range(i)]).unwrap();
            let (_, public) = entry.decode_public().unwrap();
            (frame.positions[i], public.has_table(cairn_ledger::tables::SIGNATURES))
        })
        .collect();
    (ledger.join(name), entries, start)
}

#[test]
fn torn_last_chunks_and_an_aborted_recovery_restarted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |name: &str| -> PathBuf { tmp.path().join(name) };
    let rt = rt();
    let small_chunks = support::cluster::ClusterOptions { chunk_size: "16KB", ..opts() };
    let (mut old, txs) = small_service(&dir("old"), 150, &small_chunks);
    // More records, committed: the open chunk holds some of them.
    let user = old.client(Some("u0"));
    let mut more = rt.block_on(write_records(&user, 151, 170));
    let last = more.iter().map(|(a, b)| *a.max(b)).max().unwrap();
    rt.block_on(user.wait_committed(last, Duration::from_secs(30))).unwrap();
    // Until the open chunk holds a few entries (a chunk may just have been completed).
    let mut next = 171;
    while open_chunk(&dir("old").join("ledger")).1.len() < 4 {
        assert!(next < 400, "no open chunk with entries");
        let w = rt.block_on(write_records(&user, next, next));
        rt.block_on(user.wait_committed(w[0].1, Duration::from_secs(30))).unwrap();
        more.extend(w);
        next += 1;
    }
    let written = next - 1;
    let old_cert = old.service_cert();
    old.kill();
    let (chunk, entries, start) = open_chunk(&dir("old").join("ledger"));
    assert!(entries.len() >= 3, "the open chunk holds entries: {entries:?}");
    let last_sig = entries.iter().rposition(|(_, sig)| *sig).expect("a signature in the open chunk");
    let last_tx = entries.iter().rposition(|(_, sig)| !*sig).expect("a transaction in the open chunk");
    let len = std::fs::metadata(&chunk).unwrap().len();
    let end_of = |i: usize| entries.get(i + 1).map_or(len, |(p, _)| *p);
    let cases = [
        ("mid-signature", (entries[last_sig].0 + end_of(last_sig)) / 2),
        ("mid-entry", (entries[last_tx].0 + end_of(last_tx)) / 2),
        ("mid-first-entry", entries[0].0 + 5),
    ];
    let everything: Vec<u64> = (1..=written).collect();
    for (i, (case, cut)) in cases.into_iter().enumerate() {
        let name = format!("torn{i}");
        let mut node = recover_node(&dir(&name), &dir("old"), &dir("old"));
        let copy = dir(&name).join("ledger").join(chunk.file_name().unwrap());
        std::fs::OpenOptions::new().write(true).open(&copy).unwrap().set_len(cut).unwrap();
        start_recovering(&mut node);
        if i == 0 {
            // An aborted recovery: stopped before its members open it, started again from
            // scratch (node files moved away): its .recovery chunks are set aside, not read.
            node.kill();
            assert!(
                std::fs::read_dir(dir(&name).join("ledger")).unwrap().any(|e| e
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".recovery")),
                "{case}: the aborted recovery wrote .recovery chunks"
            );
            std::fs::rename(dir(&name).join("node_data"), dir(&name).join("node_data.aborted")).unwrap();
            start_recovering(&mut node);
            assert!(
                std::fs::read_dir(dir(&name).join("ledger")).unwrap().any(|e| e
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".recovery.ignored")),
                "{case}: leftover .recovery chunks set aside as .ignored"
            );
        }
        if i == 1 {
            // A Recover node killed before its service opens resumes the same recovery.
            let cert = node.service_cert();
            node.kill();
            start_recovering(&mut node);
            assert_eq!(node.service_cert(), cert, "{case}: the same recovered service after a restart");
            let state = rt.block_on(node.client(None).node_state()).unwrap();
            assert_eq!(state.state, "PartOfPublicNetwork", "{case}");
        }
        let kept = create_seqno(&node.client(None), &rt) - 1;
        assert!(kept < start + entries.len() as u64, "{case}: the cut lost the tail");
        open_with_shares(&node, &old_cert);
        let c = node.client(None);
        rt.block_on(wait_open(&c, case));
        let user = node.client(Some("u0"));
        // Every record whose transaction is at or before the last signature kept reads back.
        let all: Vec<_> = txs.iter().chain(&more).copied().collect();
        let ids: Vec<u64> = everything
            .iter()
            .copied()
            .filter(|id| {
                let (private, public) = all[*id as usize - 1];
                private.seqno.max(public.seqno) <= kept
            })
            .collect();
        assert!(ids.len() >= 100, "{case}: most records precede the cut ({} of {written})", ids.len());
        let ids = ids.into_iter();
        rt.block_on(check_records(&user, ids, case));
        let aside = std::fs::read_dir(dir(&name).join("ledger"))
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".corrupted"));
        assert!(aside, "{case}: the torn bytes are kept aside");
    }
}

/// The first seqno of the ledger in `ledger` (its oldest chunk's start).
fn ledger_first_seqno(ledger: &std::path::Path) -> u64 {
    std::fs::read_dir(ledger)
        .unwrap()
        .filter_map(|e| cairn_ledger::chunk::ChunkName::parse(&e.unwrap().file_name().to_string_lossy()))
        .map(|c| c.start)
        .min()
        .expect("a chunk")
}

#[test]
fn a_node_that_joined_from_a_snapshot_is_recovered_from_that_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |name: &str| -> PathBuf { tmp.path().join(name) };
    let rt = rt();
    let snapshots = support::cluster::ClusterOptions { snapshot_tx_count: 100, fetch_recent_snapshot: true, ..opts() };
    let (mut old, _) = small_service(&dir("old"), 200, &snapshots);
    let old_cert = old.service_cert();
    rt.block_on(wait_for("a committed snapshot", Duration::from_secs(30), || async {
        let names = std::fs::read_dir(dir("old").join("snapshots")).ok()?;
        names.filter_map(Result::ok).any(|e| e.file_name().to_string_lossy().ends_with(".committed")).then_some(())
    }));
    // A node joins from the newest committed snapshot: its ledger starts after it.
    let mut joined = create_join_node(&dir("j"), &dir("old"), old.port, &snapshots);
    joined.spawn();
    let gov = old.client(None);
    let id = rt.block_on(wait_for("the join request", Duration::from_secs(30), || async {
        let nodes = gov.network_nodes().await.ok()?;
        nodes.iter().find(|n| n["status"] == "Pending").map(|n| n["node_id"].as_str().unwrap().to_string())
    }));
    let trust = json!([{"name": "transition_node_to_trusted", "args": {"node_id": id}}]);
    assert_eq!(rt.block_on(pass_with_two(&gov, &dir("old"), trust)), "Accepted");
    joined.wait_ready(Duration::from_secs(60));
    let user = old.client(Some("u0"));
    let more = rt.block_on(write_records(&user, 201, 300));
    let last = more.iter().map(|(a, b)| *a.max(b)).max().unwrap();
    let c = joined.client(None);
    rt.block_on(wait_for("the joiner caught up", Duration::from_secs(30), || async {
        (c.commit().await.ok()? >= last).then_some(())
    }));
    old.kill();
    joined.kill();
    let first = ledger_first_seqno(&dir("j").join("ledger"));
    assert!(first > 1, "the joiner's ledger starts after the snapshot it joined from ({first})");

    // Its files alone are recovered: the snapshot it starts after is the public read's start.
    let mut r = recover_node(&dir("r"), &dir("j"), &dir("old"));
    start_recovering(&mut r);
    assert!(r.last_log().contains("reading the public ledger from a committed snapshot"), "{}", r.last_log());
    let cert = r.service_cert();
    // Killed in the public phase, it resumes the same recovery from that snapshot.
    r.kill();
    start_recovering(&mut r);
    assert_eq!(r.service_cert(), cert);
    // A node joins the recovering service: the primary holds no entry before the snapshot, so
    // it offers that snapshot (the previous service's), which the joiner verifies against the
    // previous identity and starts from; the opening restores its private state from it too.
    let mut rj = create_join_node(&dir("rj"), &dir("r"), r.port, &snapshots);
    rj.start();
    let joiner = rj.client(None);
    rt.block_on(wait_for("the joiner in the public network", Duration::from_secs(60), || async {
        (joiner.node_state().await.ok()?.state == "PartOfPublicNetwork").then_some(())
    }));
    assert!(rj.dir.join("node_data").join("previous_service_cert.pem").exists(), "{}", rj.last_log());
    open_with_shares(&r, &old_cert);
    let primary = r.client(None);
    rt.block_on(wait_open(&primary, "the recovered service open"));
    rt.block_on(wait_open(&joiner, "the joiner open"));
    assert!(ledger_first_seqno(&dir("rj").join("ledger")) > 1, "the joiner started from the snapshot");
    let user = r.client(Some("u0"));
    rt.block_on(check_records(&user, 1..=300, "recovered from the joiner's files"));
    assert_eq!(rt.block_on(primary.network()).unwrap().recovery_count, 1);
    let joiner_user = rj.client(Some("u0"));
    rt.block_on(check_records(&joiner_user, 1..=300, "the node that joined the recovering service"));

    // Restarted once open: the snapshot is the previous service's, verified against its
    // certificate (node_data/previous_service_cert.pem), decoded with the restored secrets.
    for node in [&mut r, &mut rj] {
        node.kill();
    }
    for node in [&mut r, &mut rj] {
        node.start();
    }
    rt.block_on(wait_open(&primary, "open after a restart"));
    rt.block_on(wait_open(&joiner, "the joiner open after a restart"));
    rt.block_on(check_records(&user, 1..=300, "restarted"));
    rt.block_on(check_records(&joiner_user, 1..=300, "the joiner restarted"));
    for node in [&r, &rj] {
        assert!(panics_in_logs(node).is_empty(), "{:?}", panics_in_logs(node));
    }
}
