use cairn_ledger::format::FormatError;
use raft::eraftpb::MessageType;

/// Why a frame was refused by [`super::wire::decode`], or a message by [`super::wire::encode`].
///
/// Every decoding error names the field and the offset (from the first byte of the frame, length
/// prefix included) at which it was detected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The frame ends before a field does (`Truncated`), or a field holds a value outside its
    /// domain, such as a boolean that is neither 0 nor 1 (`Invalid`).
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error("unsupported wire version {found} at offset {offset} (this node speaks version {expected})")]
    UnsupportedVersion { offset: u64, found: u8, expected: u8 },
    #[error("unknown frame kind {found} at offset {offset}")]
    UnknownKind { offset: u64, found: u8 },
    #[error("frame kind {kind} at offset {offset} is not a raft message")]
    NotARaftMessage { offset: u64, kind: u8 },
    #[error("unknown raft message type {found} at offset {offset}")]
    UnknownMessageType { offset: u64, found: u8 },
    #[error("local raft message type {msg_type:?} at offset {offset} never crosses the wire")]
    LocalMessageType { offset: u64, msg_type: MessageType },
    /// A count or length claims more than its limit, or more than the rest of the frame can
    /// hold; detected before anything is allocated for it.
    #[error("{field} at offset {offset} claims {claimed}, over the limit of {limit}")]
    TooLarge { field: &'static str, offset: u64, claimed: u64, limit: u64 },
    #[error("{count} trailing bytes at offset {offset}")]
    TrailingBytes { offset: u64, count: u64 },
    #[error("entry at offset {offset} has index {found}, expected {expected}: entries must be consecutive")]
    NonConsecutiveIndex { offset: u64, expected: u64, found: u64 },
    /// The message is addressed to another node (raft-rs's `step` does not check `to`).
    #[error("message addressed to {to}, this node is {me}")]
    WrongRecipient { to: u64, me: u64 },
    /// The message claims a sender other than the authenticated peer.
    #[error("message claims to come from {from}, the authenticated peer is {peer}")]
    WrongSender { from: u64, peer: u64 },
    /// `encode` refused a message the wire format cannot carry without losing information.
    #[error("cannot encode {field}: {reason}")]
    Unencodable { field: &'static str, reason: String },
}

impl WireError {
    /// The offset in the frame at which decoding failed, if this is a decoding error.
    pub fn offset(&self) -> Option<u64> {
        match self {
            WireError::Format(e) => Some(e.offset()),
            WireError::UnsupportedVersion { offset, .. }
            | WireError::UnknownKind { offset, .. }
            | WireError::NotARaftMessage { offset, .. }
            | WireError::UnknownMessageType { offset, .. }
            | WireError::LocalMessageType { offset, .. }
            | WireError::TooLarge { offset, .. }
            | WireError::TrailingBytes { offset, .. }
            | WireError::NonConsecutiveIndex { offset, .. } => Some(*offset),
            WireError::WrongRecipient { .. } | WireError::WrongSender { .. } | WireError::Unencodable { .. } => None,
        }
    }
}
