//! [`GovError`]: why a governance request, a share operation or a recovery step was refused.
//!
//! Every variant names what was wrong (field path, member, proposal, table) and maps to the HTTP
//! status and the CCF error code the node answers with ([`GovError::http_status`],
//! [`GovError::code`]), so the node's endpoints need no table of their own.

use thiserror::Error;

/// Errors of governance and recovery-share operations.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum GovError {
    /// The body is not a well-formed governance COSE_Sign1 (what is wrong is named).
    #[error("invalid COSE_Sign1 request: {0}")]
    InvalidCose(String),
    /// The request's `kid` is not a member's id.
    #[error("signer {member_id} is not a member of this service")]
    UnknownSigner { member_id: String },
    /// The signature does not verify under the certificate of the member named by `kid`.
    #[error("signature does not verify under the certificate of member {member_id}")]
    BadSignature { member_id: String },
    /// The request is signed for another purpose (`ccf.gov.msg.type`).
    #[error("request has ccf.gov.msg.type {got:?}, this operation needs {expected:?}")]
    WrongMessageType { expected: &'static str, got: String },
    /// The member exists but is not Active.
    #[error("member {member_id} is not active")]
    MemberNotActive { member_id: String },
    /// The caller may not do this (e.g. a ballot path names another member, a withdrawal by a
    /// member who did not propose).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// `ccf.gov.msg.created_at` is more than the allowed skew in the future.
    #[error("created_at {created_at} is more than {max_skew_s} s after the service time {now_s}")]
    CreatedInFuture { created_at: u64, now_s: u64, max_skew_s: u64 },
    /// `ccf.gov.msg.created_at` is more than the allowed skew in the past.
    #[error("created_at {created_at} is more than {max_skew_s} s before the service time {now_s}")]
    CreatedTooLongAgo { created_at: u64, now_s: u64, max_skew_s: u64 },
    /// The same signed content was already submitted within the replay window.
    #[error("replayed request: signed content {digest} (created_at {created_at}) was already submitted")]
    Replay { created_at: u64, digest: String },
    /// The replay window is full: too many requests in the last skew interval.
    #[error("{count} governance requests within the replay window; at most {max} are accepted")]
    ReplayWindowFull { count: usize, max: usize },
    /// A proposal body does not validate; `path` is the JSON path, e.g. `actions[1].args.cert`.
    #[error("proposal does not validate: {path}: {reason}")]
    Validation { path: String, reason: String },
    /// A ballot or other request body is malformed.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("proposal {proposal_id} not found")]
    ProposalNotFound { proposal_id: String },
    #[error("proposal {proposal_id} is {state}; only Open proposals accept this request")]
    ProposalNotOpen { proposal_id: String, state: String },
    #[error("member {member_id} already voted on proposal {proposal_id}")]
    VoteAlreadyExists { proposal_id: String, member_id: String },
    #[error("{open} proposals are open; at most {max} may be open at once")]
    TooManyOpenProposals { open: usize, max: usize },
    /// Genesis or share parameters are inconsistent (threshold vs. recovery members, ...).
    #[error("invalid configuration: {0}")]
    InvalidConfiguration(String),
    /// A submitted or decrypted recovery share is malformed or does not match its commitment.
    #[error("recovery share of member {member_id} rejected: {reason}")]
    InvalidShare { member_id: String, reason: String },
    /// A recovery share was submitted while the service does not wait for shares.
    #[error("the service is {status}: recovery shares are accepted only while it is WaitingForRecoveryShares")]
    NotWaitingForShares { status: String },
    /// No recovery share is recorded for this member.
    #[error("no recovery share is recorded for member {member_id}")]
    NoShareForMember { member_id: String },
    /// Recovery of the ledger secrets failed (too few shares, wrong shares, broken chain).
    #[error("ledger secret recovery failed: {0}")]
    RecoveryFailed(String),
    /// A governance table holds a value this crate cannot read: a bug or a corrupted ledger.
    #[error("table {table} key {key:?} holds an unreadable value: {reason}")]
    CorruptTable { table: String, key: String, reason: String },
}

impl GovError {
    /// The HTTP status the node answers with.
    pub fn http_status(&self) -> u16 {
        use GovError::*;
        match self {
            InvalidCose(_) | UnknownSigner { .. } | BadSignature { .. } | WrongMessageType { .. } => 401,
            MemberNotActive { .. } | Forbidden(_) | NotWaitingForShares { .. } => 403,
            ProposalNotFound { .. } | NoShareForMember { .. } => 404,
            TooManyOpenProposals { .. } | ReplayWindowFull { .. } => 429,
            CreatedInFuture { .. }
            | CreatedTooLongAgo { .. }
            | Replay { .. }
            | Validation { .. }
            | InvalidInput(_)
            | ProposalNotOpen { .. }
            | VoteAlreadyExists { .. }
            | InvalidConfiguration(_)
            | InvalidShare { .. } => 400,
            RecoveryFailed(_) | CorruptTable { .. } => 500,
        }
    }

    /// The CCF error code (`ccf::errors`), or a Cairn code where CCF has none
    /// (`TooManyOpenProposals`, `TooManyRequests`).
    pub fn code(&self) -> &'static str {
        use GovError::*;
        match self {
            InvalidCose(_) | UnknownSigner { .. } | BadSignature { .. } | WrongMessageType { .. } => {
                "InvalidAuthenticationInfo"
            }
            MemberNotActive { .. } | Forbidden(_) => "AuthorizationFailed",
            NotWaitingForShares { .. } => "ServiceNotWaitingForRecoveryShares",
            CreatedInFuture { .. } => "InvalidCreatedAt",
            CreatedTooLongAgo { .. } => "ProposalCreatedTooLongAgo",
            Replay { .. } => "ProposalReplay",
            ReplayWindowFull { .. } => "TooManyRequests",
            Validation { .. } => "ProposalFailedToValidate",
            InvalidInput(_) | InvalidConfiguration(_) | InvalidShare { .. } => "InvalidInput",
            ProposalNotFound { .. } => "ProposalNotFound",
            ProposalNotOpen { .. } => "ProposalNotOpen",
            VoteAlreadyExists { .. } => "VoteAlreadyExists",
            TooManyOpenProposals { .. } => "TooManyOpenProposals",
            NoShareForMember { .. } => "ResourceNotFound",
            RecoveryFailed(_) | CorruptTable { .. } => "InternalError",
        }
    }

    pub(crate) fn validation(path: impl Into<String>, reason: impl Into<String>) -> GovError {
        GovError::Validation { path: path.into(), reason: reason.into() }
    }

    pub(crate) fn corrupt(table: &str, key: &[u8], reason: impl ToString) -> GovError {
        GovError::CorruptTable {
            table: table.to_string(),
            key: key.escape_ascii().to_string(),
            reason: reason.to_string(),
        }
    }
}
