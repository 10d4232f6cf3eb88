//! What the core asks its shell to do. The shell performs actions in the order given.
use crate::{ApiError, RequestId};
use cairn_ledger::format::EncodedEntry;
use cairn_ledger::snapshot::SnapshotName;

/// An HTTP-shaped answer: status, extra headers, JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: serde_json::Value,
}

impl Response {
    pub fn ok(body: serde_json::Value) -> Self {
        Response { status: 200, headers: Vec::new(), body }
    }
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl From<ApiError> for Response {
    fn from(e: ApiError) -> Self {
        Response { status: e.status, headers: Vec::new(), body: e.body() }
    }
}

#[derive(Debug)]
pub enum Action {
    /// Append this entry to the ledger (buffered; not durable yet).
    Append(EncodedEntry),
    /// Make every appended entry durable, then feed back `Event::Durable` with the last seqno.
    Sync,
    /// Every entry up to `seqno` is committed: complete chunks up to it become `.committed`.
    CommitLedger { seqno: u64 },
    /// Answer a request.
    Reply { id: RequestId, response: Response },
    /// Encode this snapshot off the core thread (`SnapshotJob::encode`) and hand the result
    /// back as `Event::SnapshotEncoded`. A snapshot the shell never hands back (the node
    /// stopped) is simply not taken.
    EncodeSnapshot(crate::SnapshotJob),
    /// Decrypt a recovered service's previous private state off the core thread
    /// (`PrivateRestoreJob::run`) and hand the result back as `Event::PrivateStateRestored`.
    RestorePrivateState(crate::PrivateRestoreJob),
    /// Write snapshot file `name` (temp, fsync, rename).
    WriteSnapshot { name: SnapshotName, bytes: Vec<u8> },
    /// The snapshot's evidence is committed: append `receipt` and rename it `.committed`.
    CommitSnapshot { name: SnapshotName, receipt: Vec<u8> },
    /// Persist the ledger-secret chain locally before any entry encrypted under a new secret is
    /// appended (the shell writes it temp, fsync, rename).
    PersistLedgerSecrets { json: Vec<u8> },
    /// Persist the Raft hard state (`node_data/raft_state.json`: temp, fsync, rename) before
    /// performing any later action. Emitted only when the term or the vote changed.
    PersistRaftState { json: Vec<u8> },
    /// Remove every ledger entry after `seqno` (uncommitted entries a new primary overwrote).
    TruncateLedger { seqno: u64 },
    /// Send `frame` (a `consensus::wire` frame) to the node with Raft id `to`. Best effort:
    /// Raft tolerates loss; a shell that drops it should later feed `Event::PeerUnreachable`.
    Send { to: u64, frame: Vec<u8> },
    /// The peers this node talks to changed: the transport's address book.
    SetPeers { peers: Vec<crate::PeerInfo> },
    /// A joining node asks `target` (its `command.join.target_rpc_address`) to let it in:
    /// `POST /node/join` with `body`; the answer comes back as `Event::JoinResponse`.
    SendJoinRequest { body: Vec<u8> },
    /// A joining node was admitted: persist what it received (the files a restart needs:
    /// endorsed node certificate, service certificate and key) before anything else.
    PersistJoinedIdentity { node_cert_pem: String, service_cert_pem: String, service_key_pem: String },
    /// A recovered service's public phase began (`true`: chunks created from now on carry the
    /// `.recovery` suffix) or ended (`false`: its private state is restored; drop the suffix of
    /// every chunk). The shell also keeps a marker in `node_data` so a restart reads
    /// `.recovery` chunks.
    SetLedgerRecovery { recovery: bool },
    /// The primary holds no entries as old as this node's log needs: it offered its committed
    /// snapshot `name` instead. The shell fetches it from `rpc_address`, verifies it, sets the
    /// ledger aside (renamed, never deleted) and starts the node again from the snapshot, with
    /// its Raft hard state. This core handles nothing more (requests get 503).
    InstallSnapshot { name: SnapshotName, rpc_address: String },
    /// The committed state renewed this node's certificate or the service certificate (same
    /// keys, new dates): serve this chain from now on and rewrite the certificate files
    /// (`node_data`, `command.service_certificate_file`, `node_certificate_file`).
    ServeCertificates { node_cert_pem: String, service_cert_pem: String },
}
