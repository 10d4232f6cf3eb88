//! The governance state machine with the built-in constitution: a proposal passes with a strict
//! majority of Active members. Entry points, each run by the node inside one transaction it
//! then commits (or drops, on error):
//!
//! | entry point | request (`ccf.gov.msg.type`) | endpoint |
//! | --- | --- | --- |
//! | [`initial_governance`] | — (genesis) | `command.type = Start` |
//! | [`submit_proposal`] | `proposal` | `POST /gov/members/proposals:create` |
//! | [`submit_ballot`] | `ballot` | `POST /gov/members/proposals/{id}/ballots/{member}:submit` |
//! | [`withdraw_proposal`] | `withdrawal` | `POST /gov/members/proposals/{id}:withdraw` |
//! | [`authenticate_member`] | any (e.g. `recovery_share`) | `POST /gov/recovery/members/{member}:recover` |
//! | [`proposal`], [`proposals`], [`proposal_actions`] | — (reads) | `GET /gov/members/proposals[/{id}[/actions]]` |
//!
//! Rules:
//! - A request is authenticated by [`authenticate_member`]: right message type, `kid` a member,
//!   signature by that member's certificate, member Active, `created_at` within the clock window
//!   and not a replay (`replay_window.rs`).
//! - Proposal id = hex SHA-256 of the signed request bytes. The proposer does not vote
//!   implicitly. With `n` Active members, a proposal is Accepted once approvals > n/2, Rejected
//!   once rejections make that impossible (n − rejections ≤ n/2), else Open. Only ballots of
//!   currently Active members count. One ballot per member; ballots and withdrawals only on Open
//!   proposals; only the proposer withdraws.
//! - Accepted → its actions are applied to the same transaction (`proposal_apply.rs`); if any
//!   fails, the proposal is Failed with the reason and no action write is kept.
//! - When a proposal leaves Open, every *other* closed proposal is dropped from the tables (as
//!   CCF does), which bounds them; at most [`MAX_OPEN_PROPOSALS`] may be Open.
//!
//! # Invariants ([`check_invariants`])
//! Key indexes exact; every member id is the id of its certificate and has an info row; every
//! proposal has a body and a record whose `final_votes`/`failure` match its state;
//! `1 ≤ recovery_threshold ≤ recovery members`; when the service is Open, the recovery shares
//! are for exactly the current recovery members at the current threshold.

use crate::action::{MAX_RECOVERY_THRESHOLD, parse_proposal};
use crate::cose_request::{MSG_BALLOT, MSG_PROPOSAL, MSG_WITHDRAWAL, identity_id, is_identity_id};
use crate::key_index::{check_index, keys, put_indexed, remove_indexed};
use crate::kv_read::{KvRead, read_json};
use crate::member::{MemberStatus, active_members, member_cert, member_ids, member_info, put_member, recovery_members};
use crate::proposal_apply::{apply_actions, check_proposable};
use crate::replay_window::check_and_record;
use crate::service_config::ServiceConfig;
use crate::service_state::service_status;
use crate::{
    Ballot, Effect, Failure, GovError, LedgerSecretChain, ProposalInfo, ProposalRecord, ProposalState,
    RecoverySharesRecord, SignedRequest,
};
use cairn_kv::{StoreView, Tx};
use cairn_ledger::tables::{MEMBERS_ENCRYPTION_KEYS, MEMBERS_INFO, PROPOSALS, PROPOSALS_INFO, ServiceStatus};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Most proposals that may be Open at once.
pub const MAX_OPEN_PROPOSALS: usize = 256;

/// What the node supplies to every governance call.
pub struct GovContext<'a> {
    /// Service time, unix seconds (the primary's clock).
    pub now_s: u64,
    /// Cryptographically secure random bytes (seeded in the simulator).
    pub fill_random: &'a mut dyn FnMut(&mut [u8]),
    /// The node's ledger secrets; the latest is the one shares are issued for.
    pub ledger_secrets: &'a LedgerSecretChain,
}

/// A member at genesis (`command.start.members[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialMember {
    pub cert_pem: String,
    pub encryption_public_key_pem: Option<String>,
    pub member_data: Option<serde_json::Value>,
}

/// The result of a proposal, ballot or withdrawal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovOutcome {
    /// The proposal after the request (serialises to CCF's API JSON).
    pub info: ProposalInfo,
    /// What the node must do once the transaction commits (non-empty only when accepted).
    pub effects: Vec<Effect>,
}

/// Writes the genesis governance rows: the members (Active at once) and the service config.
/// Requires at least one member, no earlier members, and
/// `1 ≤ recovery_threshold ≤ members with an encryption key`.
pub fn initial_governance(tx: &mut Tx, members: &[InitialMember], recovery_threshold: u64) -> Result<(), GovError> {
    if members.is_empty() {
        return Err(GovError::InvalidConfiguration("at least one member is required".into()));
    }
    if !member_ids(tx)?.is_empty() {
        return Err(GovError::InvalidConfiguration("governance is already initialised: members exist".into()));
    }
    let recovery = members.iter().filter(|m| m.encryption_public_key_pem.is_some()).count() as u64;
    if recovery_threshold == 0 || recovery_threshold > recovery.min(MAX_RECOVERY_THRESHOLD) {
        return Err(GovError::InvalidConfiguration(format!(
            "recovery_threshold {recovery_threshold} must be between 1 and the number of members with an \
             encryption key, {recovery}"
        )));
    }
    let mut seen = BTreeMap::new();
    for (i, member) in members.iter().enumerate() {
        let id = put_member(tx, member).map_err(|e| GovError::InvalidConfiguration(format!("members[{i}]: {e}")))?;
        if let Some(first) = seen.insert(id.clone(), i) {
            return Err(GovError::InvalidConfiguration(format!(
                "members[{i}] has the same certificate as members[{first}]"
            )));
        }
    }
    ServiceConfig { recovery_threshold, other: Default::default() }.write(tx);
    Ok(())
}

/// Authenticates a signed request of type `msg_type` and records it in the replay window.
/// Returns the member id.
pub fn authenticate_member(
    tx: &mut Tx,
    req: &SignedRequest,
    msg_type: &'static str,
    now_s: u64,
) -> Result<String, GovError> {
    if req.header.msg_type != msg_type {
        return Err(GovError::WrongMessageType { expected: msg_type, got: req.header.msg_type.clone() });
    }
    let member_id = req.member_id.clone();
    let cert = member_cert(tx, &member_id)?.ok_or_else(|| GovError::UnknownSigner { member_id: member_id.clone() })?;
    req.verify(&cert)?;
    let info =
        member_info(tx, &member_id)?.ok_or_else(|| GovError::corrupt(MEMBERS_INFO, member_id.as_bytes(), "missing"))?;
    if info.status != MemberStatus::Active {
        return Err(GovError::MemberNotActive { member_id });
    }
    let refers_to = req.header.proposal_id.clone().unwrap_or_else(|| req.digest().to_hex());
    check_and_record(tx, req, now_s, &refers_to)?;
    Ok(member_id)
}

/// Submits a proposal (`ccf.gov.msg.type` = `proposal`, payload = CCF's proposal JSON).
pub fn submit_proposal(tx: &mut Tx, req: &SignedRequest, ctx: &mut GovContext<'_>) -> Result<GovOutcome, GovError> {
    let proposer_id = authenticate_member(tx, req, MSG_PROPOSAL, ctx.now_s)?;
    let actions = parse_proposal(&req.payload)?;
    check_proposable(tx, &actions)?;
    let proposal_id = req.digest().to_hex();
    if tx.get(PROPOSALS_INFO, proposal_id.as_bytes()).is_some() {
        return Err(GovError::Replay { created_at: req.header.created_at, digest: proposal_id });
    }
    let open = read_all(tx)?.iter().filter(|(_, r)| r.state == ProposalState::Open).count();
    if open >= MAX_OPEN_PROPOSALS {
        return Err(GovError::TooManyOpenProposals { open, max: MAX_OPEN_PROPOSALS });
    }
    tx.put(PROPOSALS, proposal_id.as_bytes(), req.payload.clone());
    let record = ProposalRecord {
        proposer_id,
        state: ProposalState::Open,
        ballots: BTreeMap::new(),
        final_votes: None,
        failure: None,
    };
    resolve(tx, &proposal_id, record, ctx)
}

#[derive(Deserialize)]
struct BallotBody {
    ballot: Ballot,
}

/// Submits a ballot (`ballot`, payload `{"ballot":"approve"}` or `{"ballot":"reject"}`) for
/// `proposal_id` by the member named in the path, who must be the signer.
pub fn submit_ballot(
    tx: &mut Tx,
    proposal_id: &str,
    path_member_id: &str,
    req: &SignedRequest,
    ctx: &mut GovContext<'_>,
) -> Result<GovOutcome, GovError> {
    let member_id = authenticate_member(tx, req, MSG_BALLOT, ctx.now_s)?;
    if path_member_id != member_id {
        return Err(GovError::Forbidden(format!(
            "the ballot path names member {path_member_id}, the request is signed by member {member_id}"
        )));
    }
    check_signed_proposal_id(req, proposal_id)?;
    let mut record = open_record(tx, proposal_id)?;
    let body: BallotBody = serde_json::from_slice(&req.payload).map_err(|e| {
        GovError::InvalidInput(format!(r#"ballot body must be {{"ballot":"approve"}} or {{"ballot":"reject"}}: {e}"#))
    })?;
    if record.ballots.contains_key(&member_id) {
        return Err(GovError::VoteAlreadyExists { proposal_id: proposal_id.to_string(), member_id });
    }
    record.ballots.insert(member_id, body.ballot);
    resolve(tx, proposal_id, record, ctx)
}

/// Withdraws an Open proposal (`withdrawal`); only its proposer may. Withdrawing a Withdrawn
/// proposal again answers its state.
pub fn withdraw_proposal(
    tx: &mut Tx,
    proposal_id: &str,
    req: &SignedRequest,
    ctx: &mut GovContext<'_>,
) -> Result<GovOutcome, GovError> {
    let member_id = authenticate_member(tx, req, MSG_WITHDRAWAL, ctx.now_s)?;
    check_signed_proposal_id(req, proposal_id)?;
    let mut record = read_record(tx, proposal_id)?
        .ok_or_else(|| GovError::ProposalNotFound { proposal_id: proposal_id.to_string() })?;
    if record.proposer_id != member_id {
        return Err(GovError::Forbidden(format!(
            "proposal {proposal_id} can only be withdrawn by its proposer {}, not {member_id}",
            record.proposer_id
        )));
    }
    match record.state {
        ProposalState::Withdrawn => {}
        ProposalState::Open => {
            record.state = ProposalState::Withdrawn;
            drop_other_closed_proposals(tx, proposal_id)?;
            put_indexed(tx, PROPOSALS_INFO, proposal_id, encode(&record))?;
        }
        state => return Err(not_open(proposal_id, state)),
    }
    Ok(GovOutcome { info: ProposalInfo::new(proposal_id, &record), effects: Vec::new() })
}

/// A proposal's state, if it exists (still recorded).
pub fn proposal(mut src: impl KvRead, proposal_id: &str) -> Result<Option<ProposalInfo>, GovError> {
    Ok(read_record(&mut src, proposal_id)?.map(|r| ProposalInfo::new(proposal_id, &r)))
}

/// A proposal's body as submitted (`GET .../proposals/{id}/actions`).
pub fn proposal_actions(mut src: impl KvRead, proposal_id: &str) -> Option<Vec<u8>> {
    src.read(PROPOSALS, proposal_id.as_bytes())
}

/// Every recorded proposal, in id order.
pub fn proposals(view: &StoreView) -> Result<Vec<ProposalInfo>, GovError> {
    view.iter_table(PROPOSALS_INFO)
        .map(|(key, value)| {
            let record: ProposalRecord =
                serde_json::from_slice(&value.value).map_err(|e| GovError::corrupt(PROPOSALS_INFO, key, e))?;
            Ok(ProposalInfo::new(&String::from_utf8_lossy(key), &record))
        })
        .collect()
}

fn check_signed_proposal_id(req: &SignedRequest, proposal_id: &str) -> Result<(), GovError> {
    match req.header.proposal_id.as_deref() {
        Some(signed) if signed == proposal_id => Ok(()),
        signed => Err(GovError::InvalidInput(format!(
            "the request is signed for proposal {signed:?}, the path names proposal {proposal_id}"
        ))),
    }
}

fn not_open(proposal_id: &str, state: ProposalState) -> GovError {
    GovError::ProposalNotOpen { proposal_id: proposal_id.to_string(), state: state.to_string() }
}

fn read_record(src: &mut impl KvRead, proposal_id: &str) -> Result<Option<ProposalRecord>, GovError> {
    read_json(src, PROPOSALS_INFO, proposal_id.as_bytes())
}

fn open_record(tx: &mut Tx, proposal_id: &str) -> Result<ProposalRecord, GovError> {
    let record = read_record(tx, proposal_id)?
        .ok_or_else(|| GovError::ProposalNotFound { proposal_id: proposal_id.to_string() })?;
    if record.state != ProposalState::Open {
        return Err(not_open(proposal_id, record.state));
    }
    Ok(record)
}

fn read_all(tx: &mut Tx) -> Result<Vec<(String, ProposalRecord)>, GovError> {
    let mut all = Vec::new();
    for id in keys(tx, PROPOSALS_INFO)? {
        let record =
            read_record(tx, &id)?.ok_or_else(|| GovError::corrupt(PROPOSALS_INFO, id.as_bytes(), "missing"))?;
        all.push((id, record));
    }
    Ok(all)
}

fn encode(record: &ProposalRecord) -> Vec<u8> {
    serde_json::to_vec(record).expect("proposal records serialise")
}

/// The built-in constitution's `resolve`: strict majority of the `active` members.
pub(crate) fn tally(ballots: &BTreeMap<String, Ballot>, active: &[String]) -> ProposalState {
    let n = active.len();
    let count = |b: Ballot| active.iter().filter(|m| ballots.get(*m) == Some(&b)).count();
    let (approvals, rejections) = (count(Ballot::Approve), count(Ballot::Reject));
    if approvals * 2 > n {
        ProposalState::Accepted
    } else if (n - rejections) * 2 <= n {
        ProposalState::Rejected
    } else {
        ProposalState::Open
    }
}

/// Tallies `record`, applies it if accepted, and writes it back.
fn resolve(
    tx: &mut Tx,
    proposal_id: &str,
    mut record: ProposalRecord,
    ctx: &mut GovContext<'_>,
) -> Result<GovOutcome, GovError> {
    let active = active_members(tx)?;
    let state = tally(&record.ballots, &active);
    let mut effects = Vec::new();
    if state != ProposalState::Open {
        record.final_votes = Some(record.ballots.iter().map(|(m, b)| (m.clone(), *b == Ballot::Approve)).collect());
        record.state = state;
        if state == ProposalState::Accepted {
            match apply_accepted(tx, proposal_id, ctx) {
                Ok(applied) => effects = applied,
                Err(reason) => {
                    record.state = ProposalState::Failed;
                    record.failure = Some(Failure { reason });
                }
            }
        }
        drop_other_closed_proposals(tx, proposal_id)?;
    }
    put_indexed(tx, PROPOSALS_INFO, proposal_id, encode(&record))?;
    Ok(GovOutcome { info: ProposalInfo::new(proposal_id, &record), effects })
}

/// Applies the stored proposal's actions on a copy of `tx`, kept only if all succeed.
fn apply_accepted(tx: &mut Tx, proposal_id: &str, ctx: &mut GovContext<'_>) -> Result<Vec<Effect>, String> {
    let body = tx.get(PROPOSALS, proposal_id.as_bytes()).ok_or("proposal body missing")?.to_vec();
    let actions = parse_proposal(&body).map_err(|e| e.to_string())?;
    let mut scratch = tx.clone();
    let effects = apply_actions(&mut scratch, &actions, ctx)?;
    *tx = scratch;
    Ok(effects)
}

/// Removes every closed proposal except `keep` (CCF's bound on the proposal tables).
fn drop_other_closed_proposals(tx: &mut Tx, keep: &str) -> Result<(), GovError> {
    for (id, record) in read_all(tx)? {
        if id != keep && record.state != ProposalState::Open {
            remove_indexed(tx, PROPOSALS_INFO, &id)?;
            tx.remove(PROPOSALS, id.as_bytes());
        }
    }
    Ok(())
}

/// Panics, naming the broken invariant, if one of the governance invariants (module doc) does
/// not hold in `view`. O(size of the governance tables): for tests and the simulator.
pub fn check_invariants(view: &StoreView) {
    check_index(view);
    let mut src = view;
    let ids = member_ids(&mut src).expect("member index readable");
    for id in &ids {
        assert!(is_identity_id(id), "member id {id:?} is not 64 hex digits");
        let cert = member_cert(&mut src, id).expect("member certificate readable").expect("indexed member has a cert");
        assert_eq!(&identity_id(&cert), id, "member {id} is stored under another certificate's id");
        assert!(member_info(&mut src, id).expect("member info readable").is_some(), "member {id} has no info row");
    }
    for table in [MEMBERS_INFO, MEMBERS_ENCRYPTION_KEYS] {
        for (key, _) in view.iter_table(table) {
            let key = String::from_utf8_lossy(key);
            assert!(ids.iter().any(|id| *id == key), "{table} has a row for non-member {key}");
        }
    }
    for (key, _) in view.iter_table(PROPOSALS) {
        assert!(view.get(PROPOSALS_INFO, key).is_some(), "proposal {} has no record", key.escape_ascii());
    }
    for info in proposals(view).expect("proposal records readable") {
        assert!(
            view.get(PROPOSALS, info.proposal_id.as_bytes()).is_some(),
            "proposal {} has no body",
            info.proposal_id
        );
        let closed =
            matches!(info.proposal_state, ProposalState::Accepted | ProposalState::Rejected | ProposalState::Failed);
        assert_eq!(info.final_votes.is_some(), closed, "proposal {} final votes vs state", info.proposal_id);
        assert_eq!(
            info.failure.is_some(),
            info.proposal_state == ProposalState::Failed,
            "proposal {} failure vs state",
            info.proposal_id
        );
    }
    let recovery = recovery_members(&mut src).expect("recovery members readable");
    if let Some(config) = ServiceConfig::read(&mut src).expect("service config readable") {
        let n = recovery.len() as u64;
        assert!(
            (1..=n).contains(&config.recovery_threshold),
            "recovery threshold {} outside 1..={n}",
            config.recovery_threshold
        );
        if service_status(&mut src).expect("service info readable") == Some(ServiceStatus::Open) {
            let shares = RecoverySharesRecord::read(&mut src)
                .expect("recovery shares readable")
                .expect("an Open service has recovery shares");
            shares.check_invariants();
            let holders: Vec<_> = shares.encrypted_shares.keys().cloned().collect();
            let members: Vec<_> = recovery.into_iter().map(|(id, _)| id).collect();
            assert_eq!(holders, members, "recovery shares are not for the current recovery members");
            assert_eq!(shares.threshold, config.recovery_threshold, "recovery shares use a stale threshold");
        }
    }
}
