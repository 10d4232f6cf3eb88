//! `check_invariants` notices state that bypassed governance (so the harness's check after every
//! commit is not vacuous).

mod common;

use cairn_gov::{KEY_INDEX, check_invariants};
use cairn_ledger::tables::{MEMBERS_CERTS, MEMBERS_INFO, PROPOSALS, SERVICE_CONFIG, SINGLETON_KEY};
use common::{Harness, pool};

/// A direct write that bypasses governance.
type Corruption = Box<dyn Fn(&mut cairn_kv::Tx)>;

#[test]
fn direct_writes_that_break_an_invariant_are_reported() {
    let outsider = &pool()[6];
    let table: Vec<(&str, Corruption)> = vec![
        ("key index", Box::new(|tx| tx.put(MEMBERS_CERTS, outsider.id.as_bytes(), outsider.cert.pem().as_bytes()))),
        ("key index", Box::new(|tx| tx.remove(KEY_INDEX, MEMBERS_CERTS.as_bytes()))),
        ("non-member", Box::new(|tx| tx.put(MEMBERS_INFO, outsider.id.as_bytes(), &br#"{"status":"Active"}"#[..]))),
        ("has no record", Box::new(|tx| tx.put(PROPOSALS, &b"p1"[..], &b"{}"[..]))),
        (
            "recovery threshold 2",
            Box::new(|tx| tx.put(SERVICE_CONFIG, SINGLETON_KEY, &br#"{"recovery_threshold":2}"#[..])),
        ),
    ];
    for (expected, corrupt) in table {
        let h = Harness::new(&[&pool()[0]], 1);
        let mut store = h.store.clone();
        check_invariants(&store.snapshot_view());
        let mut tx = store.begin();
        corrupt(&mut tx);
        store.commit(tx, store.version() + 1).unwrap();
        let view = store.snapshot_view();
        let panic = std::panic::catch_unwind(|| check_invariants(&view)).expect_err(expected);
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains(expected), "expected {expected:?} in {message:?}");
    }
}
