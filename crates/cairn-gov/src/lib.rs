//! Governance and recovery shares, pure: CCF-compatible COSE Sign1 member requests, the
//! proposal/ballot state machine with a built-in strict-majority constitution, the governance
//! tables (CCF's names and JSON values), and the recovery-share manager (issue, serve, check,
//! recover, rekey). No I/O, no clock, no OS randomness: the node passes a `cairn_kv::Tx` (and
//! commits it), the time (`now_s`) and a randomness source (`fill_random`). Format details and
//! what a member's client must do: `docs/internals/governance.md`.
//!
//! # Modules
//! - `cose_request`: [`sign_request`], [`SignedRequest`] (parse, verify, digests), [`identity_id`].
//! - `governance`: entry points ([`initial_governance`], [`submit_proposal`], [`submit_ballot`],
//!   [`withdraw_proposal`], [`authenticate_member`], reads) and [`check_invariants`].
//! - `action`: [`Action`], proposal parsing and validation ([`parse_proposal`]).
//! - `proposal_apply`: applying accepted actions (all or nothing).
//! - `proposal_info`: [`ProposalRecord`] (table value), [`ProposalInfo`] (API form), states.
//! - `effect`: [`Effect`], what the node must do after an accepted proposal.
//! - `member`: member rows, Active and recovery members.
//! - `service_config`, `service_state`: `service.config` and `service.info` rows.
//! - `replay_window`: created_at window and replay table.
//! - `key_index`: key lists of the tables governance enumerates inside a `Tx`.
//! - `recovery_shares`: [`RecoverySharesRecord`], [`issue_recovery_shares`], share checks and
//!   recovery of the latest ledger secret.
//! - `historical_secret`: [`rekey`], [`HistoricalSecretRecord`], [`recover_secret_chain`].
//! - `share_submission`: [`submit_recovery_share`] (a member's share, checked, counted once,
//!   kept across a change of primary), [`clear_submitted_shares`].
//! - `ledger_secret_chain`: [`LedgerSecretChain`].
//! - `sealed_secret`: [`SealedSecret`], a 32-byte secret under AES-256-GCM (`iv ‖ ct ‖ tag`).
//! - `kv_read`: [`KvRead`], reading from a `Tx` or a `StoreView`.
//! - `gov_error`: [`GovError`] with HTTP status and CCF error code.

mod action;
mod b64;
mod certificate_validity;
mod cose_request;
mod effect;
mod gov_error;
mod governance;
mod historical_secret;
mod key_index;
mod kv_read;
mod ledger_secret_chain;
mod member;
mod proposal_apply;
mod proposal_info;
mod recovery_shares;
mod replay_window;
mod sealed_secret;
mod service_config;
mod service_state;
mod share_submission;

pub use action::{Action, MAX_ACTIONS, MAX_RECOVERY_THRESHOLD, parse_proposal};
pub use certificate_validity::{
    CertificateKind, CertificateValidity, DEFAULT_MAXIMUM_VALIDITY_DAYS, format_valid_from, parse_valid_from,
};
pub use cose_request::{
    ES384_SIGNATURE_BYTES, GovRequestHeader, HEADER_CREATED_AT, HEADER_MSG_TYPE, HEADER_PROPOSAL_ID, MAX_REQUEST_BYTES,
    MSG_BALLOT, MSG_PROPOSAL, MSG_RECOVERY_SHARE, MSG_WITHDRAWAL, SignedRequest, identity_id, is_identity_id,
    sign_request,
};
pub use effect::Effect;
pub use gov_error::GovError;
pub use governance::{
    GovContext, GovOutcome, InitialMember, MAX_OPEN_PROPOSALS, authenticate_member, check_invariants,
    initial_governance, proposal, proposal_actions, proposals, submit_ballot, submit_proposal, withdraw_proposal,
};
pub use historical_secret::{HistoricalSecretRecord, recover_secret_chain, rekey};
pub use key_index::{INDEXED_TABLES, KEY_INDEX};
pub use kv_read::KvRead;
pub use ledger_secret_chain::{LedgerSecretChain, VersionedLedgerSecret};
pub use member::{MemberInfo, MemberStatus, active_members, member_cert, member_info, recovery_members};
pub use proposal_info::{Ballot, Failure, ProposalInfo, ProposalRecord, ProposalState};
pub use recovery_shares::{
    RecoverySharesRecord, check_submitted_share, decrypt_share, encrypted_share, issue_recovery_shares,
    recover_latest_secret,
};
pub use replay_window::{MAX_CLOCK_SKEW_S, MAX_RECENT_REQUESTS};
pub use sealed_secret::{SEALED_SECRET_BYTES, SealedSecret};
pub use service_config::ServiceConfig;
pub use service_state::{previous_service_identity, service_info, service_status};
pub use share_submission::{ShareSubmission, clear_submitted_shares, submit_recovery_share, submitted_shares};
