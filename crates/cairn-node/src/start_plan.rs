//! How a node starts: one pure decision from what its directories hold (issue 10, step 1).
//!
//! The shell gathers [`StartFacts`] (the command, whether `node_data` holds a complete
//! identity, the ledger's extent after the local-restart scan, the snapshot-install marker) and
//! performs the [`StartPlan`] that [`plan_start`] returns. The table, one test per row below:
//!
//! | # | command | identity | ledger | install marker | plan |
//! |---|---|---|---|---|---|
//! | 1 | `Join` | no | empty | — | [`StartPlan::Join`] |
//! | 2 | `Join` | no | entries | — | refuse: a ledger this node never joined ([`StartRefusal::LedgerBeforeJoin`]) |
//! | 3 | `Start` | no | empty | — | [`StartPlan::CreateService`] (new identity) |
//! | 4 | `Start` | no | entries | — | refuse: someone else's ledger ([`StartRefusal::LedgerWithoutIdentity`]): Recover it |
//! | 5 | any | yes | starts at `S + 1 > 1` | — | [`StartPlan::ResumeAfterSnapshot`] (the snapshot at `S` is required) |
//! | 6 | any | yes | entries from 1 | — | [`StartPlan::ResumeWholeLedger`] (newest snapshot that verifies, older on failure) |
//! | 7 | any | yes | empty | present | [`StartPlan::ResumeFromInstalledSnapshot`] (exactly that one) |
//! | 8 | `Join` | yes | empty | absent | [`StartPlan::ResumeFromNewestSnapshot`] (fetched before joining; none: from nothing) |
//! | 9 | `Start` | yes | empty | absent | [`StartPlan::CreateService`] (same identity: it crashed before its genesis) |
//! | 10 | `Recover` | no | entries from 1 | — | [`StartPlan::RecoverService`] (a disaster recovery, SPEC §7: new identity) |
//! | 11 | `Recover` | no | starts at `S + 1 > 1` | — | [`StartPlan::RecoverService`] (the previous service's snapshot at `S` is required) |
//! | 12 | `Recover` | any | empty | absent | refuse: [`StartRefusal::NothingToRecover`] |
//!
//! Rows 5–7 also serve a `Recover` node that restarts with the identity its recovery created
//! (the shell then checks that the replayed ledger is its new service's, and performs the
//! recovery again with the same identity if the create transaction never reached the ledger).
//!
//! After a resume, [`after_replay`] says whether a `Start` node whose ledger holds no signature
//! cuts its unsigned genesis and creates the service again (it was never part of a committed
//! service), or resumes. A node that joined never creates a service.
use cairn_ledger::snapshot::SnapshotName;

/// `command.type`, as far as the start plan needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartCommand {
    Start,
    Join,
    Recover,
}

/// What a starting node's directories hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartFacts {
    pub command: StartCommand,
    /// `node_data` holds a complete identity (its ledger-secret chain, written last).
    pub has_identity: bool,
    /// The ledger's first seqno (1, or the one after the snapshot it continues).
    pub ledger_first_seqno: u64,
    /// The ledger's last seqno after the local-restart scan (0: empty).
    pub ledger_last_seqno: u64,
    /// `node_data/snapshot_install.txt`: the snapshot a primary offered and the ledger was set
    /// aside for.
    pub installed_snapshot: Option<SnapshotName>,
}

/// What the shell does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartPlan {
    /// Create the service: genesis, join token, identity (a fresh one unless `node_data` holds
    /// one).
    CreateService,
    /// Ask the target to join (after fetching its newest committed snapshot, if configured).
    Join,
    /// Replay the ledger from seqno 1, from the newest committed snapshot that verifies.
    ResumeWholeLedger,
    /// Start from the committed snapshot at `snapshot_seqno` and replay the ledger after it.
    ResumeAfterSnapshot { snapshot_seqno: u64 },
    /// Start from exactly the snapshot a primary offered; the ledger begins after it.
    ResumeFromInstalledSnapshot { name: SnapshotName },
    /// A joined node with an empty ledger: the newest committed snapshot that verifies, or
    /// nothing (the primary replicates the whole ledger).
    ResumeFromNewestSnapshot,
    /// A disaster recovery: read the public domain of the ledger (from the start, or from the
    /// previous service's snapshot it starts after), set aside what follows the last signature, and become the primary of a new service (new identity) that records
    /// the previous one.
    RecoverService,
    /// Stop with an error naming the directories and what the operator can do.
    Refuse(StartRefusal),
}

/// Why a node refuses to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartRefusal {
    /// `Join` with no identity over a non-empty ledger: this node never completed its join.
    LedgerBeforeJoin { last_seqno: u64 },
    /// `Start` with no identity over a non-empty ledger: not this node's ledger.
    LedgerWithoutIdentity { last_seqno: u64 },
    /// `Recover` with an empty ledger: there is nothing to recover.
    NothingToRecover,
    /// The node's own files prove entries up to `proven` committed (`by`: a committed
    /// snapshot's evidence, or the commit in `raft_state.json`) but its ledger ends at `held`,
    /// and no other voter can supply the rest: resuming would reuse the seqnos of committed
    /// transactions.
    CommittedEntriesMissing { proven: u64, held: u64, by: &'static str },
}

/// What a replayed node's own files say about its commit (`check_committed_entries`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitEvidence {
    /// The last seqno the ledger holds after the local-restart scan.
    pub ledger_last_seqno: u64,
    /// The highest evidence seqno among the committed snapshots in its snapshot directories
    /// (a committed snapshot's evidence transaction was committed).
    pub snapshot_evidence_seqno: u64,
    /// `commit` in `node_data/raft_state.json` (0 if absent).
    pub raft_state_commit: u64,
    /// The replayed configuration has no other voter.
    pub lone_voter: bool,
}

/// After a replay (issue 11, finding 1): a node whose own files prove committed entries its
/// ledger no longer holds refuses to start if no other voter can supply them.
///
/// | proven committed ≤ ledger end | other voters | outcome |
/// |---|---|---|
/// | yes | any | resume |
/// | no | yes | resume: the primary replicates the missing entries |
/// | no | none | refuse: [`StartRefusal::CommittedEntriesMissing`] |
pub fn check_committed_entries(e: &CommitEvidence) -> Result<(), StartRefusal> {
    let (proven, by) = if e.snapshot_evidence_seqno >= e.raft_state_commit {
        (e.snapshot_evidence_seqno, "a committed snapshot's evidence transaction")
    } else {
        (e.raft_state_commit, "the commit recorded in raft_state.json")
    };
    if proven <= e.ledger_last_seqno || !e.lone_voter {
        return Ok(());
    }
    Err(StartRefusal::CommittedEntriesMissing { proven, held: e.ledger_last_seqno, by })
}

/// The start plan's decision table (module documentation).
pub fn plan_start(facts: &StartFacts) -> StartPlan {
    let has_entries = facts.ledger_last_seqno > 0;
    match (facts.has_identity, facts.command) {
        (false, StartCommand::Join) if has_entries => {
            StartPlan::Refuse(StartRefusal::LedgerBeforeJoin { last_seqno: facts.ledger_last_seqno })
        }
        (false, StartCommand::Join) => StartPlan::Join,
        (false, StartCommand::Start) if has_entries => {
            StartPlan::Refuse(StartRefusal::LedgerWithoutIdentity { last_seqno: facts.ledger_last_seqno })
        }
        (false, StartCommand::Start) => StartPlan::CreateService,
        (false, StartCommand::Recover) if has_entries => StartPlan::RecoverService,
        (_, StartCommand::Recover) if !has_entries && facts.installed_snapshot.is_none() => {
            StartPlan::Refuse(StartRefusal::NothingToRecover)
        }
        (false, StartCommand::Recover) => StartPlan::Refuse(StartRefusal::NothingToRecover),
        (true, command) => {
            if facts.ledger_first_seqno > 1 {
                StartPlan::ResumeAfterSnapshot { snapshot_seqno: facts.ledger_first_seqno - 1 }
            } else if has_entries {
                StartPlan::ResumeWholeLedger
            } else if let Some(name) = facts.installed_snapshot {
                StartPlan::ResumeFromInstalledSnapshot { name }
            } else if command == StartCommand::Join {
                StartPlan::ResumeFromNewestSnapshot
            } else {
                StartPlan::CreateService
            }
        }
    }
}

/// What follows a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterReplay {
    /// Resume the service from the replayed state.
    Resume,
    /// Cut the unsigned genesis and create the service again, with the same identity.
    CreateServiceAgain,
}

/// A `Start` node whose replayed ledger holds no signature (`last_signed_seqno == 0`) was never
/// part of a committed service: it creates the service again. A joined node always resumes.
pub fn after_replay(command: StartCommand, last_signed_seqno: u64) -> AfterReplay {
    match (command, last_signed_seqno) {
        (StartCommand::Start, 0) => AfterReplay::CreateServiceAgain,
        _ => AfterReplay::Resume,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StartCommand::{Join, Recover, Start};

    fn facts(command: StartCommand, has_identity: bool, first: u64, last: u64) -> StartFacts {
        StartFacts {
            command,
            has_identity,
            ledger_first_seqno: first,
            ledger_last_seqno: last,
            installed_snapshot: None,
        }
    }

    fn marker() -> SnapshotName {
        "snapshot_10_11.committed".parse().expect("a snapshot name")
    }

    #[test]
    fn row_1_join_without_identity_and_empty_ledger_joins() {
        assert_eq!(plan_start(&facts(Join, false, 1, 0)), StartPlan::Join);
    }

    #[test]
    fn row_2_join_without_identity_over_a_ledger_refuses() {
        let plan = plan_start(&facts(Join, false, 1, 7));
        assert_eq!(plan, StartPlan::Refuse(StartRefusal::LedgerBeforeJoin { last_seqno: 7 }));
    }

    #[test]
    fn row_3_start_without_identity_and_empty_ledger_creates_the_service() {
        assert_eq!(plan_start(&facts(Start, false, 1, 0)), StartPlan::CreateService);
    }

    #[test]
    fn row_4_start_without_identity_over_a_ledger_refuses() {
        let plan = plan_start(&facts(Start, false, 1, 9));
        assert_eq!(plan, StartPlan::Refuse(StartRefusal::LedgerWithoutIdentity { last_seqno: 9 }));
    }

    #[test]
    fn row_5_a_ledger_starting_after_a_snapshot_resumes_from_that_snapshot() {
        for command in [Start, Join, Recover] {
            for last in [10, 25] {
                let plan = plan_start(&facts(command, true, 11, last));
                assert_eq!(plan, StartPlan::ResumeAfterSnapshot { snapshot_seqno: 10 }, "{command:?} last {last}");
            }
        }
    }

    #[test]
    fn row_6_a_whole_ledger_resumes_from_it() {
        for command in [Start, Join, Recover] {
            let mut f = facts(command, true, 1, 30);
            assert_eq!(plan_start(&f), StartPlan::ResumeWholeLedger);
            // A leftover install marker does not matter once the ledger holds entries again.
            f.installed_snapshot = Some(marker());
            assert_eq!(plan_start(&f), StartPlan::ResumeWholeLedger);
        }
    }

    #[test]
    fn row_7_an_empty_ledger_with_an_install_marker_starts_from_exactly_that_snapshot() {
        for command in [Start, Join] {
            let mut f = facts(command, true, 1, 0);
            f.installed_snapshot = Some(marker());
            assert_eq!(plan_start(&f), StartPlan::ResumeFromInstalledSnapshot { name: marker() });
        }
    }

    #[test]
    fn row_8_a_joined_node_with_an_empty_ledger_starts_from_its_newest_snapshot() {
        assert_eq!(plan_start(&facts(Join, true, 1, 0)), StartPlan::ResumeFromNewestSnapshot);
    }

    #[test]
    fn row_9_a_starting_node_with_identity_and_empty_ledger_creates_the_service() {
        assert_eq!(plan_start(&facts(Start, true, 1, 0)), StartPlan::CreateService);
    }

    #[test]
    fn row_10_recover_without_identity_over_a_whole_ledger_recovers() {
        assert_eq!(plan_start(&facts(Recover, false, 1, 40)), StartPlan::RecoverService);
    }

    #[test]
    fn row_11_recover_over_a_ledger_that_starts_after_a_snapshot_recovers_from_that_snapshot() {
        assert_eq!(plan_start(&facts(Recover, false, 11, 40)), StartPlan::RecoverService);
    }

    #[test]
    fn row_12_recover_with_an_empty_ledger_refuses() {
        for has_identity in [false, true] {
            let plan = plan_start(&facts(Recover, has_identity, 1, 0));
            assert_eq!(plan, StartPlan::Refuse(StartRefusal::NothingToRecover), "identity {has_identity}");
        }
    }

    fn evidence(held: u64, snapshot: u64, raft: u64, lone_voter: bool) -> CommitEvidence {
        CommitEvidence {
            ledger_last_seqno: held,
            snapshot_evidence_seqno: snapshot,
            raft_state_commit: raft,
            lone_voter,
        }
    }

    #[test]
    fn committed_entries_row_1_the_ledger_holds_everything_proven_committed() {
        for lone in [true, false] {
            assert_eq!(check_committed_entries(&evidence(100, 90, 100, lone)), Ok(()));
        }
    }

    #[test]
    fn committed_entries_row_2_other_voters_supply_what_is_missing() {
        assert_eq!(check_committed_entries(&evidence(50, 90, 100, false)), Ok(()));
    }

    #[test]
    fn committed_entries_row_3_a_lone_voter_missing_committed_entries_refuses() {
        let refused = check_committed_entries(&evidence(50, 90, 70, true)).unwrap_err();
        let by = "a committed snapshot's evidence transaction";
        assert_eq!(refused, StartRefusal::CommittedEntriesMissing { proven: 90, held: 50, by });
        let refused = check_committed_entries(&evidence(50, 0, 70, true)).unwrap_err();
        let by = "the commit recorded in raft_state.json";
        assert_eq!(refused, StartRefusal::CommittedEntriesMissing { proven: 70, held: 50, by });
    }

    #[test]
    fn after_replay_only_an_unsigned_start_creates_the_service_again() {
        assert_eq!(after_replay(Start, 0), AfterReplay::CreateServiceAgain);
        assert_eq!(after_replay(Start, 2), AfterReplay::Resume);
        assert_eq!(after_replay(Join, 0), AfterReplay::Resume);
        assert_eq!(after_replay(Join, 5), AfterReplay::Resume);
    }
}
