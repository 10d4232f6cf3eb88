//! Model-based test: random sequences of transactions, replays and wrong seqnos run against a
//! `Store` and a `BTreeMap` reference; every committed write set is replayed onto a replica that
//! must stay identical, and every snapshot view taken on the way must keep matching its model.

use std::collections::BTreeMap;

use cairn_kv::{ApplyError, CommitError, Store, StoreView, WriteSet};
use proptest::prelude::*;

const TABLES: [&str; 3] = ["a", "b", "public:c"];
const KEYS: u8 = 4;

type Key = (String, Vec<u8>);
/// Version read per key (`None`: absent).
type Reads = BTreeMap<Key, Option<u64>>;
/// Write per key (`None`: removal).
type Writes = BTreeMap<Key, Option<Vec<u8>>>;

/// The reference: plain values, plus the seqno of each key's last put to predict conflicts.
#[derive(Debug, Clone, Default)]
struct Model {
    values: BTreeMap<Key, Vec<u8>>,
    versions: BTreeMap<Key, u64>,
    version: u64,
}

impl Model {
    fn apply(&mut self, writes: &Writes) {
        self.version += 1;
        for (key, write) in writes {
            match write {
                Some(value) => {
                    self.values.insert(key.clone(), value.clone());
                    self.versions.insert(key.clone(), self.version);
                }
                None => {
                    self.values.remove(key);
                    self.versions.remove(key);
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
enum TxOp {
    Get(Key),
    Put(Key, Vec<u8>),
    Remove(Key),
}

#[derive(Debug, Clone)]
enum Op {
    /// Runs a transaction on the view `age` versions back and commits it at the next seqno.
    Commit { age: usize, ops: Vec<TxOp> },
    /// Replays a write set at the next seqno.
    Apply { writes: Vec<(Key, Option<Vec<u8>>)> },
    /// Commits (or replays) an empty transaction at a seqno that is not the next one.
    WrongSeqno { seqno: u64, replay: bool },
}

fn key() -> impl Strategy<Value = Key> {
    (0..TABLES.len(), 0..KEYS).prop_map(|(t, k)| (TABLES[t].to_string(), vec![k]))
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0u8..3, 0..3)
}

fn tx_op() -> impl Strategy<Value = TxOp> {
    prop_oneof![
        3 => key().prop_map(TxOp::Get),
        3 => (key(), value()).prop_map(|(k, v)| TxOp::Put(k, v)),
        1 => key().prop_map(TxOp::Remove),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0usize..4, prop::collection::vec(tx_op(), 0..8)).prop_map(|(age, ops)| Op::Commit { age, ops }),
        2 => prop::collection::vec((key(), prop::option::of(value())), 0..6).prop_map(|writes| Op::Apply { writes }),
        1 => (prop_oneof![0u64..40, any::<u64>()], any::<bool>()).prop_map(|(seqno, replay)| Op::WrongSeqno { seqno, replay }),
    ]
}

fn write_set_of(writes: &Writes) -> WriteSet {
    let mut ws = WriteSet::new();
    for ((table, key), write) in writes {
        match write {
            Some(value) => ws.put(table, key.clone(), value.clone()),
            None => ws.remove(table, key.clone()),
        }
    }
    ws
}

fn writes_of(ws: &WriteSet) -> Writes {
    let mut writes = Writes::new();
    for (table, map) in &ws.maps {
        for (key, write) in &map.writes {
            writes.insert((table.clone(), key.clone()), write.clone());
        }
    }
    writes
}

fn assert_view_matches(view: &StoreView, model: &Model) {
    view.check_invariants();
    assert_eq!(view.version(), model.version);
    let mut values = BTreeMap::new();
    let mut versions = BTreeMap::new();
    for table in view.table_names() {
        assert_eq!(view.len(table), view.iter_table(table).count());
        for (key, versioned) in view.iter_table(table) {
            let k = (table.to_string(), key.to_vec());
            assert_eq!(view.get(table, key), Some(versioned.value.as_slice()));
            values.insert(k.clone(), versioned.value.to_vec());
            versions.insert(k, versioned.version);
        }
    }
    assert_eq!(values, model.values);
    assert_eq!(versions, model.versions);
}

/// Runs `tx_ops` on `view`, checking each read against `model_at_view`; returns the expected
/// read set and write set.
fn run_tx(store_view: StoreView, model_at_view: &Model, tx_ops: &[TxOp]) -> (cairn_kv::Tx, Reads, Writes) {
    let mut tx = store_view.begin();
    let mut reads = Reads::new();
    let mut writes = Writes::new();
    for tx_op in tx_ops {
        match tx_op {
            TxOp::Get(k) => {
                let expected = match writes.get(k) {
                    Some(write) => write.clone(),
                    None => {
                        reads.entry(k.clone()).or_insert(model_at_view.versions.get(k).copied());
                        model_at_view.values.get(k).cloned()
                    }
                };
                assert_eq!(tx.get(&k.0, &k.1).map(<[u8]>::to_vec), expected);
            }
            TxOp::Put(k, v) => {
                tx.put(&k.0, k.1.clone(), v.clone());
                writes.insert(k.clone(), Some(v.clone()));
            }
            TxOp::Remove(k) => {
                tx.remove(&k.0, k.1.clone());
                writes.insert(k.clone(), None);
            }
        }
    }
    let recorded: Reads = tx.read_set().iter().map(|(t, k, v)| ((t.to_string(), k.to_vec()), v)).collect();
    assert_eq!(recorded, reads);
    (tx, reads, writes)
}

fn run(ops: &[Op]) {
    let mut store = Store::new();
    let mut replica = Store::new();
    let mut model = Model::default();
    // history[v]: the view and the model at version v.
    let mut history = vec![(store.snapshot_view(), model.clone())];
    for op in ops {
        let before = store.clone();
        let next = store.version() + 1;
        match op {
            Op::Commit { age, ops } => {
                let (view, model_at_view) = &history[history.len() - 1 - (*age).min(history.len() - 1)];
                let (tx, reads, writes) = run_tx(view.clone(), model_at_view, ops);
                let conflict = reads.iter().find(|(k, read)| model.versions.get(*k).copied() != **read);
                match (store.commit(tx, next), conflict) {
                    (Ok(ws), None) => {
                        assert_eq!(writes_of(&ws), writes);
                        assert!(ws.maps.values().all(|m| m.read_version == model_at_view.version));
                        model.apply(&writes);
                        replica.apply(&ws, next).unwrap();
                    }
                    (Err(err), Some(((table, key), read))) => {
                        let current_version = model.versions.get(&(table.clone(), key.clone())).copied();
                        let expected = CommitError::Conflict {
                            table: table.clone(),
                            key: key.clone(),
                            read_version: *read,
                            current_version,
                        };
                        assert_eq!(err, expected);
                        assert_eq!(store, before, "a rejected commit must apply nothing");
                    }
                    (result, conflict) => {
                        panic!("commit gave {result:?}, expected conflict {conflict:?}")
                    }
                }
            }
            Op::Apply { writes } => {
                let writes: Writes = writes.iter().cloned().collect();
                let ws = write_set_of(&writes);
                store.apply(&ws, next).unwrap();
                replica.apply(&ws, next).unwrap();
                model.apply(&writes);
            }
            Op::WrongSeqno { seqno, replay } => {
                let got = if *seqno == next { next + 1 } else { *seqno };
                if *replay {
                    let err = store.apply(&WriteSet::new(), got).unwrap_err();
                    assert_eq!(err, ApplyError::VersionGap { expected: next, got });
                } else {
                    let err = store.commit(store.begin(), got).unwrap_err();
                    assert_eq!(err, CommitError::VersionGap { expected: next, got });
                }
                assert_eq!(store, before, "a wrong seqno must apply nothing");
            }
        }
        store.check_invariants();
        assert_view_matches(&store.snapshot_view(), &model);
        assert_eq!(replica, store, "replaying the write sets must give an identical store");
        if store.version() == next {
            history.push((store.snapshot_view(), model.clone()));
        }
    }
    for (view, model) in &history {
        assert_view_matches(view, model);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn store_matches_btreemap_model_and_replays_identically(ops in prop::collection::vec(op(), 0..40)) {
        run(&ops);
    }
}
