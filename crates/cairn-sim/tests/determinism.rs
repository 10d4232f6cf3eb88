//! One seed, one run: the same seed gives the same summary (event count, crashes, commits),
//! and a fault-free cluster commits every write.
use cairn_sim::{FaultOptions, SimOptions, run};

#[test]
fn same_seed_same_run() {
    let opts = SimOptions { nodes: 3, duration_ms: 3_000, ..SimOptions::default() };
    let a = run(11, opts.clone());
    let b = run(11, opts.clone());
    assert_eq!(a, b);
    let c = run(12, opts);
    assert_ne!(a.map(|s| s.events), c.map(|s| s.events), "another seed, another run");
}

#[test]
fn fault_free_clusters_commit_every_write() {
    for nodes in [1, 3, 5] {
        let opts = SimOptions { nodes, duration_ms: 2_000, faults: FaultOptions::none(), ..SimOptions::default() };
        let s = run(1, opts).unwrap_or_else(|f| panic!("{f}"));
        assert!(s.writes_committed > 50, "{nodes} nodes: {s:?}");
        assert_eq!(s.writes_committed, s.writes_sent, "{nodes} nodes: {s:?}");
        assert_eq!(s.crashes, 0);
        assert_eq!(s.leaders_elected, 1, "{nodes} nodes: one election, at the start");
    }
}
