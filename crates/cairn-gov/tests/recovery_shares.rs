//! Recovery shares end to end: genesis, `transition_service_to_open`, members decrypt their
//! shares with their RSA keys, any k recover the latest ledger secret, k − 1 never do, a
//! corrupted share is refused at submission; rekey chains the old secret under the new one.

mod common;

use cairn_crypto::Share;
use cairn_gov::{
    Effect, GovError, HistoricalSecretRecord, ProposalState, RecoverySharesRecord, check_submitted_share,
    decrypt_share, encrypted_share, recover_latest_secret, recover_secret_chain, rekey,
};
use cairn_ledger::tables::{HISTORICAL_ENCRYPTED_LEDGER_SECRET, RECOVERY_SHARES, SINGLETON_KEY, ServiceStatus};
use common::{Harness, Identity, action, pool};
use serde_json::json;

/// All k-subsets of 0..n.
fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    (0u32..1 << n)
        .filter(|m| m.count_ones() as usize == k)
        .map(|m| (0..n).filter(|i| m >> i & 1 == 1).collect())
        .collect()
}

/// An Open service with `n` recovery members at threshold `k`.
fn open_service(k: u64, n: usize) -> (Harness, Vec<&'static Identity>) {
    let ms: Vec<&Identity> = pool()[..n].iter().collect();
    let mut h = Harness::new(&ms, k);
    h.set_service_status(ServiceStatus::Opening);
    assert!(RecoverySharesRecord::read(&mut &h.store).unwrap().is_none(), "no shares before opening");
    let body = action("transition_service_to_open", json!({ "next_service_identity": h.service_cert.pem() }));
    let out = h.pass(&ms, &body);
    assert_eq!(out.info.proposal_state, ProposalState::Accepted, "{:?}", out.info.failure);
    assert!(out.effects.contains(&Effect::RecoverySharesIssued));
    (h, ms)
}

/// Each member fetches its encrypted share and decrypts it locally.
fn member_shares(h: &Harness, ms: &[&Identity]) -> Vec<Share> {
    ms.iter()
        .map(|m| {
            let encrypted = encrypted_share(&mut &h.store, &m.id).unwrap().expect("share issued");
            decrypt_share(&encrypted, m.enc.as_ref().unwrap()).unwrap()
        })
        .collect()
}

const K_OF_N: [(u64, usize); 3] = [(1, 1), (2, 3), (3, 5)];

#[test]
fn any_k_shares_recover_the_latest_secret_and_k_minus_1_never_do() {
    for (k, n) in K_OF_N {
        let (h, ms) = open_service(k, n);
        let record = RecoverySharesRecord::read(&mut &h.store).unwrap().unwrap();
        assert_eq!((record.threshold, record.encrypted_shares.len()), (k, n));
        assert_eq!(record.ledger_secret_valid_from, h.chain.latest().valid_from_seqno);
        let shares = member_shares(&h, &ms);
        for (m, s) in ms.iter().zip(&shares) {
            assert_eq!(check_submitted_share(&mut &h.store, &m.id, &s.to_bytes()).unwrap(), *s, "{k}-of-{n}");
        }
        for idx in subsets(n, k as usize) {
            let chosen: Vec<Share> = idx.iter().rev().map(|&i| shares[i].clone()).collect();
            let secret = recover_latest_secret(&mut &h.store, &chosen).unwrap();
            assert_eq!(secret, h.chain.latest().secret, "{k}-of-{n}, members {idx:?}");
        }
        for idx in subsets(n, k as usize - 1) {
            let chosen: Vec<Share> = idx.iter().map(|&i| shares[i].clone()).collect();
            let e = recover_latest_secret(&mut &h.store, &chosen).unwrap_err();
            assert!(matches!(e, GovError::RecoveryFailed(_)), "{k}-of-{n}, members {idx:?}: {e}");
        }
    }
}

#[test]
fn share_with_one_flipped_byte_is_refused_at_submission() {
    for (k, n) in K_OF_N {
        let (h, ms) = open_service(k, n);
        let shares = member_shares(&h, &ms);
        for (m, s) in ms.iter().zip(&shares) {
            for i in 0..cairn_crypto::SHARE_BYTES {
                let mut bytes = s.to_bytes();
                bytes[i] ^= 0x01;
                let e = check_submitted_share(&mut &h.store, &m.id, &bytes).unwrap_err();
                assert!(matches!(&e, GovError::InvalidShare { member_id, .. } if *member_id == m.id), "{e}");
                assert_eq!(e.http_status(), 400);
            }
        }
        // Another member's (valid) share does not pass as this member's.
        if n > 1 {
            let e = check_submitted_share(&mut &h.store, &ms[0].id, &shares[1].to_bytes()).unwrap_err();
            assert!(e.to_string().contains("commitment"), "{e}");
        }
        let e = check_submitted_share(&mut &h.store, &pool()[6].id, &shares[0].to_bytes()).unwrap_err();
        assert_eq!((e.http_status(), e.code()), (404, "ResourceNotFound"));
    }
}

#[test]
fn share_decrypts_only_with_its_members_key() {
    let (h, ms) = open_service(2, 3);
    let encrypted = encrypted_share(&mut &h.store, &ms[0].id).unwrap().unwrap();
    assert!(decrypt_share(&encrypted, ms[1].enc.as_ref().unwrap()).is_err());
    // Shares are written to the CCF table as base64 JSON, with the commitments beside them.
    let value: serde_json::Value =
        serde_json::from_slice(h.store.get(RECOVERY_SHARES, &SINGLETON_KEY).unwrap()).unwrap();
    for field in [
        "wrapped_latest_ledger_secret",
        "encrypted_shares",
        "share_commitments",
        "previous_secret_stored_version",
        "threshold",
        "ledger_secret_valid_from",
    ] {
        assert!(value.get(field).is_some(), "field {field} in {value}");
    }
    assert_eq!(value["threshold"], json!(2));
}

#[test]
fn membership_and_threshold_changes_reissue_shares_while_open() {
    let (mut h, ms) = open_service(1, 2);
    let before = RecoverySharesRecord::read(&mut &h.store).unwrap().unwrap();
    let newcomer = &pool()[2];
    let body = action(
        "set_member",
        json!({ "cert": newcomer.cert.pem(), "encryption_pub_key": newcomer.enc.as_ref().unwrap().public_key().to_pem() }),
    );
    h.now_s += 1;
    let out = h.pass(&ms, &body);
    assert_eq!(out.effects, vec![Effect::RecoverySharesIssued]);
    let after = RecoverySharesRecord::read(&mut &h.store).unwrap().unwrap();
    assert_ne!(before.wrapped_latest_ledger_secret, after.wrapped_latest_ledger_secret);
    assert!(after.encrypted_shares.contains_key(&newcomer.id));
    let all: Vec<&Identity> = pool()[..3].iter().collect();
    h.now_s += 1;
    let out = h.pass(&all, &action("set_recovery_threshold", json!({ "recovery_threshold": 3 })));
    assert_eq!(out.info.proposal_state, ProposalState::Accepted);
    let shares = member_shares(&h, &all);
    assert_eq!(recover_latest_secret(&mut &h.store, &shares).unwrap(), h.chain.latest().secret);
    assert!(recover_latest_secret(&mut &h.store, &shares[..2]).is_err());
    h.now_s += 1;
    let out = h.pass(&all, &action("trigger_recovery_shares_refresh", json!({})));
    assert_eq!(out.effects, vec![Effect::RecoverySharesIssued]);
    let stale = shares;
    assert!(recover_latest_secret(&mut &h.store, &stale).is_err(), "old shares do not open refreshed shares");
}

#[test]
fn rekey_reissues_shares_for_the_new_secret_and_chains_the_old_one() {
    let (mut h, ms) = open_service(2, 3);
    let mut historical = Vec::new();
    for (valid_from, secret) in [(50u64, [0x22; 32]), (90, [0x33; 32])] {
        let mut chain = h.chain.clone();
        chain.push(valid_from, secret).unwrap();
        let mut rng = common::xorshift(valid_from);
        let mut tx = h.store.begin();
        rekey(&mut tx, &chain, &mut rng).unwrap();
        h.commit(tx);
        h.chain = chain;
        let value = h.store.get(HISTORICAL_ENCRYPTED_LEDGER_SECRET, &SINGLETON_KEY).unwrap();
        historical.push(HistoricalSecretRecord::parse(value).unwrap());
    }
    let shares = member_shares(&h, &ms);
    assert_eq!(recover_latest_secret(&mut &h.store, &shares[1..]).unwrap(), [0x33; 32]);
    let last = historical.last().unwrap();
    assert_eq!((last.version, last.next_version), (50, 90));
    let record = RecoverySharesRecord::read(&mut &h.store).unwrap().unwrap();
    assert_eq!(record.ledger_secret_valid_from, 90);
    assert!(historical[1].previous_secret_stored_version.is_some(), "points at the first rekey's write");
    assert_eq!(historical[0].previous_secret_stored_version, None);

    // The historical records decrypt back to the old secrets, whatever order they come in.
    historical.reverse();
    let chain = recover_secret_chain(&mut &h.store, &shares[..2], &historical).unwrap();
    assert_eq!(chain, h.chain);
    let pairs: Vec<_> = chain.iter().map(|s| (s.valid_from_seqno, s.secret)).collect();
    assert_eq!(pairs, vec![(1, [0x11; 32]), (50, [0x22; 32]), (90, [0x33; 32])]);

    // A tampered historical record breaks the chain with an error naming it.
    let mut broken = historical.clone();
    broken[1].encrypted_data[20] ^= 1;
    let e = recover_secret_chain(&mut &h.store, &shares[..2], &broken).unwrap_err();
    assert!(e.to_string().contains("valid from 1"), "{e}");
}

#[test]
fn rekey_before_opening_only_records_history() {
    let ms = [&pool()[0]];
    let mut h = Harness::new(&ms, 1);
    let mut chain = h.chain.clone();
    chain.push(10, [0x44; 32]).unwrap();
    let mut rng = common::xorshift(1);
    let mut tx = h.store.begin();
    rekey(&mut tx, &chain, &mut rng).unwrap();
    h.commit(tx);
    assert!(h.store.get(HISTORICAL_ENCRYPTED_LEDGER_SECRET, &SINGLETON_KEY).is_some());
    assert!(RecoverySharesRecord::read(&mut &h.store).unwrap().is_none());
    let mut tx = h.store.begin();
    let e = rekey(&mut tx, &h.chain, &mut rng).unwrap_err();
    assert!(e.to_string().contains("new secret appended"), "{e}");
}
