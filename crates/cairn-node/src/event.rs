//! What happens to a node: requests, time, durability.
use crate::LogTable;
use cairn_ledger::snapshot::SnapshotName;

/// The shell's handle for a request, echoed in the reply.
pub type RequestId = u64;

/// Who sent a request: the SHA-256 id of the TLS client certificate, if one was presented.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub cert_id: Option<String>,
    /// Set when a backup forwarded the request: the id of the certificate that backup
    /// presented. The core serves it only if that certificate is a trusted node's.
    pub forwarded_by: Option<String>,
}

impl Caller {
    /// A caller that presented the certificate with id `cert_id` directly.
    pub fn with_cert(cert_id: Option<String>) -> Self {
        Caller { cert_id, forwarded_by: None }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    LogWrite {
        table: LogTable,
        id: u64,
        msg: String,
    },
    LogRead {
        table: LogTable,
        id: u64,
    },
    /// Whether the caller may use the user endpoints (the shell asks before it answers a
    /// malformed user request with 400: authentication comes first, as in CCF).
    UserCheck,
    NodeState,
    Network,
    NetworkNodes,
    Primary,
    Commit,
    TxStatus {
        tx: String,
    },
    Receipt {
        tx: String,
    },
    ServiceInfo,
    PreviousIdentity,
    /// `POST /gov/members/proposals:create` with a COSE Sign1 body.
    Propose {
        body: Vec<u8>,
    },
    /// `POST /gov/members/proposals/{id}/ballots/{member}:submit`.
    Ballot {
        proposal_id: String,
        member_id: String,
        body: Vec<u8>,
    },
    /// `POST /gov/members/proposals/{id}:withdraw`.
    Withdraw {
        proposal_id: String,
        body: Vec<u8>,
    },
    Proposal {
        proposal_id: String,
    },
    Proposals,
    EncryptedShare {
        member_id: String,
    },
    SubmitShare {
        member_id: String,
        body: Vec<u8>,
    },
    /// `POST /node/join` from a joining node (JSON body, see `JoinRequest`).
    Join {
        body: Vec<u8>,
    },
    /// `GET /node/consensus`: the Raft state, for operators.
    Consensus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Request {
        id: RequestId,
        caller: Caller,
        request: Request,
    },
    /// The clock: signatures due by delay are emitted.
    Tick {
        now_ms: u64,
    },
    /// Every entry up to `seqno` is durable (answer to `Action::Sync`).
    Durable {
        seqno: u64,
    },
    /// A frame from the peer whose TLS certificate maps to Raft id `from`.
    PeerFrame {
        from: u64,
        frame: Vec<u8>,
    },
    /// Frames to `to` are being lost (queue full, connection down).
    PeerUnreachable {
        to: u64,
    },
    /// The answer to `Action::SendJoinRequest` (`status` 0: the target could not be reached).
    JoinResponse {
        status: u16,
        body: Vec<u8>,
    },
    /// `Action::WriteSnapshot` or `Action::CommitSnapshot` of `name` failed (a full disk): the
    /// node skips that snapshot and keeps serving; `GET /node/state` says so until a later
    /// snapshot is committed.
    SnapshotFailed {
        name: SnapshotName,
        reason: String,
    },
    /// The private restore `Action::RestorePrivateState` asked for is done.
    PrivateStateRestored(crate::PrivateStateRestored),
    /// The snapshot `Action::EncodeSnapshot` asked for is encoded.
    SnapshotEncoded(crate::EncodedSnapshot),
}
