//! Whether a frame from a peer may reach raft-rs (issue 11, finding 5): it decodes and is
//! addressed to this node from that peer ([`wire::decode_from_peer`]), every entry it carries
//! is a normal entry whose ledger bytes parse and whose (index, term) is the entry's own
//! (seqno, view), and a snapshot offer names a committed snapshot file at its index. raft-rs
//! asserts on what it accepted, so anything that fails here is dropped before `step`, not
//! after (one bad or version-skewed append would otherwise crash every follower it reaches).
//! The fuzz target `fuzz/fuzz_targets/peer_frame.rs` runs arbitrary frames through it.
use super::wire::{self, WireError};
use crate::SnapshotOffer;
use cairn_ledger::format::EntryView;
use raft::eraftpb::{EntryType, Message, MessageType};

/// Why a frame was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameRefusal {
    #[error("malformed or misaddressed frame: {0}")]
    Wire(#[from] WireError),
    #[error("bad entry: {0}")]
    Entry(String),
    #[error("bad snapshot offer: {0}")]
    SnapshotOffer(String),
}

/// The message in `frame` from `peer` to `me`, if it may be stepped (module documentation).
pub fn accept_peer_frame(frame: &[u8], me: u64, peer: u64) -> Result<Message, FrameRefusal> {
    let message = wire::decode_from_peer(frame, me, peer)?;
    for e in message.get_entries() {
        if e.get_entry_type() != EntryType::EntryNormal {
            return Err(FrameRefusal::Entry(format!(
                "entry {}: a configuration-change entry (Cairn derives them)",
                e.index
            )));
        }
        let view = EntryView::parse(&e.data).map_err(|err| FrameRefusal::Entry(format!("entry {}: {err}", e.index)))?;
        let tx = view.tx_id();
        if (tx.seqno, tx.view) != (e.index, e.term) {
            return Err(FrameRefusal::Entry(format!("entry {}.{} holds ledger entry {tx}", e.term, e.index)));
        }
    }
    if message.get_msg_type() == MessageType::MsgSnapshot {
        let snapshot = message.get_snapshot();
        SnapshotOffer::decode(&snapshot.data, snapshot.get_metadata().index).map_err(FrameRefusal::SnapshotOffer)?;
    }
    Ok(message)
}
