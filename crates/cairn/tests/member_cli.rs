//! `cairn member` against a real node process: proposals, ballots and the proposal list; opening
//! the service; recovery shares written to a 0600 file whose threshold combination unwraps the
//! node's latest ledger secret (checked against the recovery-shares record read offline from the
//! ledger and against `node_data/ledger_secrets.json`); exit codes (1 refused, 2 bad input); a
//! ledger rekey that survives SIGKILL and restart; and `trigger_snapshot` producing a committed
//! snapshot.
mod support;

use base64::Engine;
use cairn_client::{CairnClient, LogTable, TxId};
use cairn_crypto::{Certificate, Share, combine};
use cairn_gov::{HistoricalSecretRecord, RecoverySharesRecord, SealedSecret};
use cairn_ledger::snapshot::{SnapshotName, verify_committed_snapshot};
use cairn_ledger::tables::{HISTORICAL_ENCRYPTED_LEDGER_SECRET, RECOVERY_SHARES};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use support::member::{Member, open_service_with_user};
use support::node_process::{NodeOptions, NodeProcess};
use support::{cairn_bin, cairn_in};

fn text(out: &Output) -> String {
    format!("stdout: {}\nstderr: {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `cairn member --url .. --service-cert .. --cert NAME_cert.pem --key NAME_privk.pem
/// --enc-key NAME_enc_privk.pem ARGS...` in the node's directory, whatever its outcome.
fn member_run(node: &NodeProcess, name: &str, args: &[&str]) -> Output {
    let (cert, key, enc) = (format!("{name}_cert.pem"), format!("{name}_privk.pem"), format!("{name}_enc_privk.pem"));
    let url = node.url();
    let mut all = vec!["member", "--url", &url, "--service-cert", "service_cert.pem", "--cert", &cert, "--key", &key];
    all.extend(["--enc-key", &enc]);
    all.extend(args);
    Command::new(cairn_bin()).args(&all).current_dir(&node.dir).output().expect("run cairn member")
}

/// As [`member_run`], requiring success; its stdout, trimmed.
fn member_ok(node: &NodeProcess, name: &str, args: &[&str]) -> String {
    let out = member_run(node, name, args);
    assert!(out.status.success(), "cairn member {args:?} as {name} failed ({}): {}", out.status, text(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Expects `cairn member` to fail with `code`; its stderr.
fn member_fails(node: &NodeProcess, name: &str, args: &[&str], code: i32) -> String {
    let out = member_run(node, name, args);
    assert_eq!(out.status.code(), Some(code), "cairn member {args:?} as {name}: {}", text(&out));
    assert!(out.stdout.is_empty(), "a failed command prints nothing on stdout: {}", text(&out));
    String::from_utf8(out.stderr).unwrap()
}

/// Splits a `PROPOSAL_ID STATE` line.
fn proposal_line(line: &str) -> (String, String) {
    let mut words = line.split_whitespace();
    let (Some(id), Some(state), None) = (words.next(), words.next(), words.next()) else {
        panic!("expected `PROPOSAL_ID STATE`, got {line:?}")
    };
    (id.to_string(), state.to_string())
}

fn member_id(dir: &Path, name: &str) -> String {
    let pem = std::fs::read_to_string(dir.join(format!("{name}_cert.pem"))).unwrap();
    cairn_gov::identity_id(&Certificate::from_pem(&pem).unwrap())
}

/// `share get --out NAME_share.b64`: checks the file (mode 0600, base64 of 44 bytes) and parses it.
fn get_share(node: &NodeProcess, name: &str, file: &str) -> Share {
    let printed = member_ok(node, name, &["share", "get", "--out", file]);
    assert_eq!(printed, file, "share get --out prints the path it wrote");
    let path = node.dir.join(file);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{file} must be readable by its owner only, is {mode:o}");
    let b64 = std::fs::read_to_string(&path).unwrap();
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64.trim()).expect("the share file is base64");
    assert_eq!(bytes.len(), 44, "a share is 44 bytes");
    Share::from_bytes(&bytes).unwrap()
}

/// `node_data/ledger_secrets.json` (a `cairn_gov::LedgerSecretChain`), oldest first.
fn ledger_secrets(dir: &Path) -> Vec<(u64, [u8; 32])> {
    let bytes = std::fs::read(dir.join("node_data/ledger_secrets.json")).unwrap();
    let chain: cairn_gov::LedgerSecretChain = serde_json::from_slice(&bytes).expect("ledger_secrets.json");
    chain.iter().map(|s| (s.valid_from_seqno, s.secret)).collect()
}

/// The last value written to the singleton row of public table `table`, read offline with
/// `cairn ledger show` (the node must not be writing).
fn last_singleton_value(dir: &Path, table: &str) -> Value {
    let listing = String::from_utf8(cairn_in(dir, &["ledger", "show", "ledger", "--json"]).stdout).unwrap();
    let txid = listing
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("ledger show --json line {l:?}: {e}")))
        .rfind(|entry| entry["tables"].get(table).is_some())
        .unwrap_or_else(|| panic!("no transaction writes {table}"))["txid"]
        .as_str()
        .unwrap()
        .to_string();
    let shown = cairn_in(dir, &["ledger", "show", "ledger", "--json", "--tx", &txid]);
    let entry: Value = serde_json::from_slice(&shown.stdout).unwrap();
    let rows = entry["tables"][table].as_object().unwrap_or_else(|| panic!("{table} at {txid}: {entry}"));
    let value = rows.get("0x0000000000000000").unwrap_or_else(|| panic!("{table} singleton row at {txid}: {entry}"));
    serde_json::from_str(value.as_str().unwrap()).unwrap()
}

fn recovery_shares_record(dir: &Path) -> RecoverySharesRecord {
    serde_json::from_value(last_singleton_value(dir, RECOVERY_SHARES)).expect("a recovery shares record")
}

/// The key the shares recover, applied to the sealed latest ledger secret.
fn unwrap_latest(record: &RecoverySharesRecord, shares: &[Share]) -> Result<[u8; 32], String> {
    let key = combine(shares, record.threshold as usize).map_err(|e| e.to_string())?.wrapping_key();
    SealedSecret::from_bytes(record.wrapped_latest_ledger_secret.clone())?.open(&key)
}

#[test]
fn member_cli_governs_opens_the_service_and_its_shares_recover_the_ledger_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut node =
        NodeProcess::create(dir.path(), &NodeOptions { members: 3, recovery_threshold: 2, ..NodeOptions::default() });
    node.start();

    // set_user: proposed by m0, needs 2 of 3.
    let user_cert = std::fs::read_to_string(dir.path().join("u0_cert.pem")).unwrap();
    let args = json!({ "cert": user_cert }).to_string();
    let (id, state) = proposal_line(&member_ok(&node, "m0", &["propose", "--action", "set_user", "--args", &args]));
    assert_eq!(state, "Open");
    assert_eq!(
        proposal_line(&member_ok(&node, "m0", &["vote", "--proposal", &id, "--approve"])),
        (id.clone(), "Open".into())
    );
    // Voting twice is refused by the service: exit 1, its error code on stderr. (Within the same
    // second the identical signed ballot would be refused as a replay; wait for a new second.)
    std::thread::sleep(Duration::from_millis(1100));
    let stderr = member_fails(&node, "m0", &["vote", "--proposal", &id, "--approve"], 1);
    assert!(stderr.contains("HTTP 400") && stderr.contains("VoteAlreadyExists"), "{stderr}");
    assert_eq!(
        proposal_line(&member_ok(&node, "m1", &["vote", "--proposal", &id, "--approve"])),
        (id.clone(), "Accepted".into())
    );
    // The list shows it Accepted; so does --id.
    let list: Value = serde_json::from_str(&member_ok(&node, "m2", &["proposals"])).expect("proposals prints JSON");
    let listed = list.as_array().unwrap().iter().find(|p| p["proposalId"] == id.as_str());
    assert_eq!(listed.unwrap_or_else(|| panic!("{id} not in {list}"))["proposalState"], "Accepted", "{list}");
    let one: Value = serde_json::from_str(&member_ok(&node, "m2", &["proposals", "--id", &id])).unwrap();
    assert_eq!(one["proposalState"], "Accepted", "{one}");
    // A vote on a closed proposal and an unknown proposal are refusals too.
    let stderr = member_fails(&node, "m2", &["vote", "--proposal", &id, "--approve"], 1);
    assert!(stderr.contains("HTTP 400") && stderr.contains("ProposalNotOpen"), "{stderr}");
    let stderr = member_fails(&node, "m2", &["proposals", "--id", &"0".repeat(64)], 1);
    assert!(stderr.contains("HTTP 404") && stderr.contains("ProposalNotFound"), "{stderr}");

    // Bad local input: exit 2, nothing sent.
    let stderr = member_fails(&node, "m0", &["propose", "--file", "missing.json"], 2);
    assert!(stderr.contains("missing.json"), "{stderr}");
    let stderr = member_fails(&node, "m0", &["open-service", "--next-identity", "missing.pem"], 2);
    assert!(stderr.contains("missing.pem"), "{stderr}");
    let stderr = member_fails(&node, "m0", &["propose", "--action", "set_user", "--args", "{not json"], 2);
    assert!(stderr.contains("--args"), "{stderr}");
    let out = Command::new(cairn_bin())
        .args(["member", "--url", &node.url(), "--service-cert", "service_cert.pem", "--cert", "nobody_cert.pem"])
        .args(["--key", "m0_privk.pem", "proposals"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody_cert.pem"), "{}", text(&out));
    // Another member's key with m0's certificate.
    let out = Command::new(cairn_bin())
        .args(["member", "--url", &node.url(), "--service-cert", "service_cert.pem", "--cert", "m0_cert.pem"])
        .args(["--key", "m1_privk.pem", "proposals"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // share get without --enc-key.
    let out = Command::new(cairn_bin())
        .args(["member", "--url", &node.url(), "--service-cert", "service_cert.pem", "--cert", "m0_cert.pem"])
        .args(["--key", "m0_privk.pem", "share", "get"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // open-service proposes and votes (1 of 3); a second member's vote opens the service.
    let (open_id, state) =
        proposal_line(&member_ok(&node, "m0", &["open-service", "--next-identity", "service_cert.pem"]));
    assert_eq!(state, "Open");
    assert_eq!(member_ok(&node, "m2", &["vote", "--proposal", &open_id, "--approve"]), format!("{open_id} Accepted"));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    assert_eq!(rt.block_on(node.client(None).network()).unwrap().service_status, "Open");
    let user = node.client(Some("u0"));
    let tx = rt.block_on(user.log_write(LogTable::Private, 7, "secret")).unwrap();
    rt.block_on(user.wait_committed(tx, Duration::from_secs(10))).unwrap();

    // Each member's share, decrypted locally, in a new 0600 file.
    let shares: Vec<Share> = (0..3).map(|i| get_share(&node, &format!("m{i}"), &format!("m{i}_share.b64"))).collect();
    // An existing file is never overwritten (bad input: 2), and it is left as it was.
    let before = std::fs::read(dir.path().join("m0_share.b64")).unwrap();
    let stderr = member_fails(&node, "m0", &["share", "get", "--out", "m0_share.b64"], 2);
    assert!(stderr.contains("m0_share.b64"), "{stderr}");
    assert_eq!(std::fs::read(dir.path().join("m0_share.b64")).unwrap(), before);
    // Without --out the share goes to stdout, the same share.
    let printed = member_ok(&node, "m1", &["share", "get"]);
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(printed).unwrap(), shares[1].to_bytes());
    // A member's encryption key does not decrypt another member's share: bad input, 2.
    let out = Command::new(cairn_bin())
        .args(["member", "--url", &node.url(), "--service-cert", "service_cert.pem", "--cert", "m0_cert.pem"])
        .args(["--key", "m0_privk.pem", "--enc-key", "m1_enc_privk.pem", "share", "get"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    node.stop();

    // Offline: the recovery-shares record in the ledger, and the node's own secrets.
    let record = recovery_shares_record(dir.path());
    assert_eq!(record.threshold, 2);
    let ids: Vec<String> = (0..3).map(|i| member_id(dir.path(), &format!("m{i}"))).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(record.encrypted_shares.keys().cloned().collect::<Vec<_>>(), sorted);
    for (id, share) in ids.iter().zip(&shares) {
        assert_eq!(record.share_commitments[id], share.commitment().0.to_hex(), "share of {id}");
    }
    let secrets = ledger_secrets(dir.path());
    assert_eq!(secrets.len(), 1, "no rekey yet");
    let (latest_from, latest_secret) = secrets[0];
    assert_eq!(record.ledger_secret_valid_from, latest_from);
    for pair in [[0, 1], [0, 2], [1, 2]] {
        let two = [shares[pair[0]].clone(), shares[pair[1]].clone()];
        let unwrapped = unwrap_latest(&record, &two).unwrap_or_else(|e| panic!("shares {pair:?}: {e}"));
        assert!(unwrapped == latest_secret, "shares {pair:?} unwrap a secret other than the latest");
    }
    assert!(unwrap_latest(&record, &shares).is_ok(), "all three shares recover it too");
    assert!(unwrap_latest(&record, &shares[..1]).is_err(), "one share is below the threshold");
}

/// Writes `ids` to both tables; returns the last transaction.
async fn write_records(client: &CairnClient, ids: std::ops::RangeInclusive<u64>) -> TxId {
    let mut last = None;
    for id in ids {
        client.log_write(LogTable::Private, id, &format!("private {id}")).await.unwrap();
        last = Some(client.log_write(LogTable::Public, id, &format!("public {id}")).await.unwrap());
    }
    last.expect("at least one record")
}

#[test]
fn a_rekey_survives_sigkill_and_restart_and_the_ledger_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = NodeProcess::create(dir.path(), &NodeOptions::default());
    node.start();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        open_service_with_user(dir.path(), &node.client(None)).await;
        let user = node.client(Some("u0"));
        write_records(&user, 1..=20).await;
        let m0 = Member::load(dir.path(), "m0");
        let (_, state) =
            m0.propose_and_approve(&node.client(None), json!([{"name": "trigger_ledger_rekey", "args": {}}])).await;
        assert_eq!(state, "Accepted");
        let last = write_records(&user, 21..=40).await;
        user.wait_committed(last, Duration::from_secs(10)).await.unwrap();
    });
    let secrets = ledger_secrets(dir.path());
    assert_eq!(secrets.len(), 2, "the rekey added a secret");
    let [(first_from, first_secret), (latest_from, latest_secret)] = secrets[..] else { unreachable!() };
    assert!(first_from < latest_from && first_secret != latest_secret, "{first_from} {latest_from}");
    node.kill();

    node.start();
    rt.block_on(async {
        let user = node.client(Some("u0"));
        for id in 1..=40 {
            assert_eq!(user.log_read(LogTable::Private, id).await.unwrap(), Some(format!("private {id}")), "{id}");
            assert_eq!(user.log_read(LogTable::Public, id).await.unwrap(), Some(format!("public {id}")), "{id}");
        }
        // The restarted node still writes (under the new secret).
        let tx = write_records(&user, 41..=41).await;
        user.wait_committed(tx, Duration::from_secs(10)).await.unwrap();
    });
    assert!(ledger_secrets(dir.path()) == secrets, "the restart keeps both secrets as they were");
    let share = get_share(&node, "m0", "m0_share.b64");
    node.stop();

    // The share issued at the rekey unwraps the new secret; the old one is sealed under it.
    let record = recovery_shares_record(dir.path());
    assert_eq!(record.ledger_secret_valid_from, latest_from);
    let latest = unwrap_latest(&record, &[share]).expect("the share unwraps the latest secret");
    assert!(latest == latest_secret, "the share unwraps a secret other than the latest");
    let historical: HistoricalSecretRecord =
        serde_json::from_value(last_singleton_value(dir.path(), HISTORICAL_ENCRYPTED_LEDGER_SECRET)).unwrap();
    assert_eq!((historical.version, historical.next_version), (first_from, latest_from));
    let older = SealedSecret::from_bytes(historical.encrypted_data).unwrap().open(&latest).unwrap();
    assert!(older == first_secret, "the historical record seals the first secret under the second");

    // Every private domain decrypts under the secret of its seqno (the node's secret chain).
    let out = Command::new(cairn_bin())
        .args(["ledger", "verify", "ledger", "--level", "private", "--ledger-secret", "node_data/ledger_secrets.json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "ledger verify: {}", text(&out));
    // With only the first secret, the entries after the rekey do not decrypt.
    let chain: cairn_gov::LedgerSecretChain =
        serde_json::from_slice(&std::fs::read(dir.path().join("node_data/ledger_secrets.json")).unwrap()).unwrap();
    std::fs::write(dir.path().join("first_secret.bin"), chain.iter().next().unwrap().secret).unwrap();
    let out = Command::new(cairn_bin())
        .args(["ledger", "verify", "ledger", "--level", "private", "--ledger-secret", "first_secret.bin"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "verify with the old secret only: {}", text(&out));
}

#[test]
fn trigger_snapshot_through_the_cli_produces_a_committed_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = NodeProcess::create(dir.path(), &NodeOptions::default());
    node.start();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let user = node.client(Some("u0"));
    rt.block_on(async {
        open_service_with_user(dir.path(), &node.client(None)).await;
        let last = write_records(&user, 1..=5).await;
        user.wait_committed(last, Duration::from_secs(10)).await.unwrap();
    });
    let snapshots = dir.path().join("snapshots");
    let files = |committed: bool| -> Vec<String> {
        std::fs::read_dir(&snapshots)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().into_string().unwrap())
                    .filter(|n| n.starts_with("snapshot_") && n.ends_with(".committed") == committed)
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(files(true).is_empty() && files(false).is_empty(), "no snapshot is due yet (tx_count 1000)");

    let (id, state) = proposal_line(&member_ok(&node, "m0", &["propose", "--action", "trigger_snapshot"]));
    assert_eq!(state, "Open");
    assert_eq!(member_ok(&node, "m0", &["vote", "--proposal", &id, "--approve"]), format!("{id} Accepted"));
    rt.block_on(async {
        let last = write_records(&user, 6..=10).await;
        user.wait_committed(last, Duration::from_secs(10)).await.unwrap();
    });
    let deadline = Instant::now() + Duration::from_secs(15);
    let committed = loop {
        if let [name] = files(true).as_slice() {
            break name.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no committed snapshot; files {:?}; log:\n{}",
            files(false),
            node.last_log()
        );
        rt.block_on(async {
            let tx = write_records(&user, 11..=11).await;
            user.wait_committed(tx, Duration::from_secs(10)).await.unwrap();
        });
        std::thread::sleep(Duration::from_millis(50));
    };
    let name: SnapshotName = committed.parse().unwrap();
    let cert = Certificate::from_pem(&node.service_cert()).unwrap();
    let bytes = std::fs::read(snapshots.join(&committed)).unwrap();
    verify_committed_snapshot(&name, &bytes, &cert).expect("the committed snapshot verifies");
    node.stop();
}
