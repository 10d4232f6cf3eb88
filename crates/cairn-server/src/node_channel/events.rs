//! What the channel reports to its owner ([`ChannelEvent`]) and what `send` answers
//! ([`SendOutcome`]).

/// A frame received from an authenticated peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundFrame {
    /// Key id of the peer's certificate (endorsed by the service).
    pub from_node_id: String,
    /// The raft id `set_peers` maps that node id to, if any; `None` for an endorsed node the
    /// application does not know yet (e.g. one joining): the receiver decides.
    pub from_raft_id: Option<u64>,
    /// The frame's bytes, undecoded.
    pub frame: Vec<u8>,
}

/// Delivered on the owner's bounded mpsc, in order per inbound connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelEvent {
    Frame(InboundFrame),
    /// A connect attempt to this peer failed or its connection dropped (for
    /// `report_unreachable`). Advisory: not delivered if the owner's queue is full.
    Unreachable {
        raft_id: u64,
    },
}

/// Why `send` did not queue a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The peer's queue is at its frame or byte bound.
    QueueFull,
    /// `set_peers` did not name this raft id.
    UnknownPeer,
    /// The frame is longer than the maximum frame size.
    TooLarge,
}

/// The answer of `send`: it never waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum SendOutcome {
    Queued,
    Dropped(DropReason),
}
