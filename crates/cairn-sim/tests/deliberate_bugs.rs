//! The checkers must catch deliberate durability bugs (design §10): a shell that acknowledges
//! a sync before the data is synced, disks that lie about `sync` on a majority of nodes, and a
//! disaster recovery whose private replay skips the previous service's last entries.
//! Each must fail within the first 200 seeds, on a seed that passes without the bug (so the
//! failure is the bug's, not some other one); the first such failure is printed.
use cairn_sim::{Bug, SimOptions, run};

fn first_failure(bug: Bug, nodes: usize) -> String {
    let disaster = bug == Bug::SkipPrivateReplayTail;
    let opts = SimOptions { nodes, duration_ms: 5_000, bug: Some(bug), disaster, ..SimOptions::default() };
    for seed in 0..200 {
        if let Err(failure) = run(seed, opts.clone()) {
            if let Err(other) = run(seed, SimOptions { bug: None, ..opts.clone() }) {
                eprintln!("seed {seed:#x} fails without {bug:?} too, skipped:\n{other}");
                continue;
            }
            assert_eq!(failure.seed, seed);
            assert!(failure.replay.contains(&format!("--seed {seed:#x}")), "{}", failure.replay);
            eprintln!("{bug:?} caught:\n{failure}");
            return failure.violation.checker().to_string();
        }
    }
    panic!("{bug:?} was not caught in 200 seeds");
}

#[test]
fn ack_before_fsync_is_caught() {
    first_failure(Bug::AckBeforeFsync, 3);
}

#[test]
fn sync_lies_on_a_majority_is_caught() {
    first_failure(Bug::SyncLiesOnMajority, 3);
}

#[test]
fn a_recovery_that_skips_the_private_replay_of_the_last_entries_is_caught() {
    assert_eq!(first_failure(Bug::SkipPrivateReplayTail, 3), "committed_never_lost");
}
