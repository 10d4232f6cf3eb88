//! Our own versioned binary encoding of raft-rs messages (`docs/internals/replication.md` §8).
//!
//! Nothing received from the network is parsed as protobuf, which keeps RUSTSEC-2024-0437
//! (`protobuf` 2.x recursion on untrusted input) out of reach. Pure: byte slices in, values out.
//!
//! # Frame
//!
//! All integers are little-endian. Offsets in errors count from the first byte of the frame.
//!
//! ```text
//! u32 len                  bytes that follow (version + kind + body), ≤ MAX_FRAME_BYTES
//! u8  version              WIRE_VERSION = 1; any other value is refused
//! u8  kind                 1 RaftMessage, 2 Forward, 3 ForwardReply, 4 SnapshotChunk
//! body                     exactly len − 2 bytes; no trailing bytes, inside or after the frame
//! ```
//!
//! Only kind 1 is defined so far; [`decode`] refuses kinds 2–4 as "not a raft message" and
//! anything else as unknown.
//!
//! # `RaftMessage` body
//!
//! ```text
//! u8  msg_type             eraftpb number of a network type: 3 Append, 4 AppendResponse,
//!                          5 RequestVote, 6 RequestVoteResponse, 7 Snapshot, 8 Heartbeat,
//!                          9 HeartbeatResponse, 13 TransferLeader, 14 TimeoutNow, 15 ReadIndex,
//!                          16 ReadIndexResp, 17 RequestPreVote, 18 RequestPreVoteResponse.
//!                          Local types (0 Hup, 1 Beat, 2 Propose, 10 Unreachable,
//!                          11 SnapStatus, 12 CheckQuorum) and unknown numbers are refused.
//! u64 to, from, term, log_term, index, commit, commit_term, reject_hint, request_snapshot
//! u8  reject               0 or 1
//! i64 priority
//! u16 context len          ≤ MAX_CONTEXT_BYTES, then the context bytes
//! u8  snapshot present     0 or 1; if 1:
//!     u64 index, u64 term
//!     conf state           voters, learners, voters_outgoing, learners_next: each a
//!                          u16 count + that many u64; then u8 auto_leave (0 or 1)
//!     u32 data len         ≤ MAX_SNAPSHOT_DATA_BYTES, then the data (a descriptor only:
//!                          snapshot contents travel as SnapshotChunk frames)
//! u32 entry count          ≤ MAX_ENTRIES, then per entry:
//!     u64 term, u64 index  indices consecutive
//!     u32 data len         ≤ MAX_ENTRY_DATA_BYTES, then the data
//! ```
//!
//! Not encoded, because Cairn never uses them (§0, §2.2): an entry's `entry_type` (always
//! `EntryNormal`), its `context` (always empty) and `sync_log` (deprecated, false), and the
//! message's `deprecated_priority`, which decoding rebuilds as raft-rs sets it (`priority` for
//! a vote or pre-vote request with a positive priority, else 0). [`encode`] refuses a message
//! that breaks one of these rules or a limit, so whatever it produces decodes to an equal
//! message. A decoded snapshot always has its metadata and conf state present.
//!
//! Every count and length is checked against its limit and against the rest of the frame
//! before anything is allocated for it.
//!
//! # Not checked here
//!
//! [`decode_from_peer`] adds the `to == self` and `from == authenticated peer` checks. The check
//! that each entry's `(index, term)` equals its IV's `(seqno, view)` (invariant 1) belongs to the
//! core, which knows the ledger format.
pub use super::wire_error::WireError;
use cairn_ledger::format::{ByteReader, FormatError};
use raft::eraftpb::{ConfState, Entry, EntryType, Message, MessageType, Snapshot, SnapshotMetadata};

/// The only wire version this node speaks.
pub const WIRE_VERSION: u8 = 1;
/// Frame kind of a raft message.
pub const KIND_RAFT_MESSAGE: u8 = 1;
/// Frame kind of a client request forwarded to the primary (not defined yet).
pub const KIND_FORWARD: u8 = 2;
/// Frame kind of the primary's reply to a forwarded request (not defined yet).
pub const KIND_FORWARD_REPLY: u8 = 3;
/// Frame kind of a piece of snapshot contents (not defined yet).
pub const KIND_SNAPSHOT_CHUNK: u8 = 4;

/// Bytes of the `u32 len` prefix.
pub const LEN_PREFIX_BYTES: usize = 4;
/// Most bytes of a message `context`.
pub const MAX_CONTEXT_BYTES: usize = 64;
/// Most bytes of a snapshot's `data` (a descriptor, not the snapshot).
pub const MAX_SNAPSHOT_DATA_BYTES: usize = 4 * 1024;
/// Most entries in one message.
pub const MAX_ENTRIES: usize = 10_000;
/// Most bytes of one entry's data (one ledger entry).
pub const MAX_ENTRY_DATA_BYTES: usize = 32 * 1024 * 1024;
/// raft-rs's `max_size_per_msg` in Cairn (§1): at least one entry is always sent, so a frame
/// may exceed it by one maximum entry.
pub const MAX_SIZE_PER_MSG: usize = 1024 * 1024;
/// Most bytes after the length prefix: `max_size_per_msg` plus one maximum entry (§3.3), plus
/// room for the fixed fields and the per-entry headers of `MAX_ENTRIES` entries.
pub const MAX_FRAME_BYTES: usize = MAX_SIZE_PER_MSG + MAX_ENTRY_DATA_BYTES + 1024 * 1024;

/// Fixed bytes of one encoded entry: term, index, data length.
const ENTRY_FIXED_BYTES: usize = 8 + 8 + 4;

/// The message types that travel between nodes (every other type is local to a node).
pub const NETWORK_TYPES: [MessageType; 13] = [
    MessageType::MsgAppend,
    MessageType::MsgAppendResponse,
    MessageType::MsgRequestVote,
    MessageType::MsgRequestVoteResponse,
    MessageType::MsgSnapshot,
    MessageType::MsgHeartbeat,
    MessageType::MsgHeartbeatResponse,
    MessageType::MsgTransferLeader,
    MessageType::MsgTimeoutNow,
    MessageType::MsgReadIndex,
    MessageType::MsgReadIndexResp,
    MessageType::MsgRequestPreVote,
    MessageType::MsgRequestPreVoteResponse,
];

const LOCAL_TYPES: [MessageType; 6] = [
    MessageType::MsgHup,
    MessageType::MsgBeat,
    MessageType::MsgPropose,
    MessageType::MsgUnreachable,
    MessageType::MsgSnapStatus,
    MessageType::MsgCheckQuorum,
];

/// The wire number of a message type (its eraftpb number).
fn type_code(msg_type: MessageType) -> u8 {
    msg_type as i32 as u8
}

/// Whether a message type may cross the wire.
pub fn is_network_type(msg_type: MessageType) -> bool {
    NETWORK_TYPES.contains(&msg_type)
}

/// `deprecated_priority` as raft-rs sets it when it builds a message.
fn derived_deprecated_priority(msg_type: MessageType, priority: i64) -> u64 {
    let vote = matches!(msg_type, MessageType::MsgRequestVote | MessageType::MsgRequestPreVote);
    if vote && priority > 0 { priority as u64 } else { 0 }
}

fn unencodable(field: &'static str, reason: impl Into<String>) -> WireError {
    WireError::Unencodable { field, reason: reason.into() }
}

fn check_len(field: &'static str, len: usize, limit: usize) -> Result<(), WireError> {
    if len > limit {
        Err(unencodable(field, format!("{len} bytes or items, over the limit of {limit}")))
    } else {
        Ok(())
    }
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_ids(out: &mut Vec<u8>, field: &'static str, ids: &[u64]) -> Result<(), WireError> {
    check_len(field, ids.len(), u16::MAX as usize)?;
    out.extend_from_slice(&(ids.len() as u16).to_le_bytes());
    for id in ids {
        put_u64(out, *id);
    }
    Ok(())
}

/// Encodes `message` as one `RaftMessage` frame, length prefix included.
///
/// Refuses local message types, entries other than `EntryNormal` with an empty context, a
/// `deprecated_priority` raft-rs would not have set, non-consecutive entry indices, and any
/// field over its limit: whatever this returns, [`decode`] turns back into an equal message.
pub fn encode(message: &Message) -> Result<Vec<u8>, WireError> {
    let msg_type = message.get_msg_type();
    if !is_network_type(msg_type) {
        return Err(unencodable("msg_type", format!("{msg_type:?} is a local message type")));
    }
    if message.deprecated_priority != derived_deprecated_priority(msg_type, message.priority) {
        return Err(unencodable(
            "deprecated_priority",
            format!("{} with priority {} is not what raft-rs sets", message.deprecated_priority, message.priority),
        ));
    }
    check_len("context", message.context.len(), MAX_CONTEXT_BYTES)?;
    check_len("entries", message.entries.len(), MAX_ENTRIES)?;

    let data_bytes: usize = message.entries.iter().map(|e| e.data.len()).sum();
    check_len("frame", data_bytes, MAX_FRAME_BYTES)?;
    let mut out = Vec::with_capacity(128 + data_bytes + message.entries.len() * ENTRY_FIXED_BYTES);
    out.extend_from_slice(&[0; LEN_PREFIX_BYTES]);
    out.push(WIRE_VERSION);
    out.push(KIND_RAFT_MESSAGE);
    out.push(type_code(msg_type));
    for v in [
        message.to,
        message.from,
        message.term,
        message.log_term,
        message.index,
        message.commit,
        message.commit_term,
        message.reject_hint,
        message.request_snapshot,
    ] {
        put_u64(&mut out, v);
    }
    out.push(u8::from(message.reject));
    out.extend_from_slice(&message.priority.to_le_bytes());
    out.extend_from_slice(&(message.context.len() as u16).to_le_bytes());
    out.extend_from_slice(&message.context);

    if message.has_snapshot() {
        let snapshot = message.get_snapshot();
        let metadata = snapshot.get_metadata();
        let conf = metadata.get_conf_state();
        check_len("snapshot data", snapshot.data.len(), MAX_SNAPSHOT_DATA_BYTES)?;
        out.push(1);
        put_u64(&mut out, metadata.index);
        put_u64(&mut out, metadata.term);
        put_ids(&mut out, "conf_state voters", &conf.voters)?;
        put_ids(&mut out, "conf_state learners", &conf.learners)?;
        put_ids(&mut out, "conf_state voters_outgoing", &conf.voters_outgoing)?;
        put_ids(&mut out, "conf_state learners_next", &conf.learners_next)?;
        out.push(u8::from(conf.auto_leave));
        out.extend_from_slice(&(snapshot.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&snapshot.data);
    } else {
        out.push(0);
    }

    out.extend_from_slice(&(message.entries.len() as u32).to_le_bytes());
    let mut previous_index: Option<u64> = None;
    for entry in message.entries.iter() {
        if entry.get_entry_type() != EntryType::EntryNormal {
            return Err(unencodable("entry_type", format!("{:?} at index {}", entry.get_entry_type(), entry.index)));
        }
        if !entry.context.is_empty() || entry.sync_log {
            return Err(unencodable("entry context", format!("entry {} has a context or sync_log", entry.index)));
        }
        if let Some(previous) = previous_index
            && previous.checked_add(1) != Some(entry.index)
        {
            return Err(unencodable("entry index", format!("{} after {previous}: not consecutive", entry.index)));
        }
        previous_index = Some(entry.index);
        check_len("entry data", entry.data.len(), MAX_ENTRY_DATA_BYTES)?;
        put_u64(&mut out, entry.term);
        put_u64(&mut out, entry.index);
        out.extend_from_slice(&(entry.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&entry.data);
    }

    let len = out.len() - LEN_PREFIX_BYTES;
    check_len("frame", len, MAX_FRAME_BYTES)?;
    out[..LEN_PREFIX_BYTES].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(out)
}

fn offset(r: &ByteReader<'_>) -> u64 {
    r.position() as u64
}

fn read_bool(r: &mut ByteReader<'_>, field: &'static str) -> Result<bool, WireError> {
    let at = offset(r);
    match r.u8(field)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(FormatError::Invalid { offset: at, field, reason: format!("{other} is neither 0 nor 1") }.into()),
    }
}

fn read_u16(r: &mut ByteReader<'_>, field: &'static str) -> Result<u16, WireError> {
    Ok(u16::from_le_bytes(r.array::<2>(field)?))
}

/// Checks a claimed count or length against its limit and against what the rest of the frame
/// can hold (`item_bytes` each), before the caller allocates or reads anything.
fn check_claim(
    r: &ByteReader<'_>,
    field: &'static str,
    at: u64,
    claimed: usize,
    limit: usize,
    item_bytes: usize,
) -> Result<(), WireError> {
    if claimed > limit {
        return Err(WireError::TooLarge { field, offset: at, claimed: claimed as u64, limit: limit as u64 });
    }
    let fits = r.remaining() / item_bytes.max(1);
    if claimed > fits {
        return Err(WireError::TooLarge { field, offset: at, claimed: claimed as u64, limit: fits as u64 });
    }
    Ok(())
}

/// A `u32` (`wide`) or `u16` length followed by that many bytes, bounded by `limit`.
fn read_bytes<'a>(
    r: &mut ByteReader<'a>,
    field: &'static str,
    limit: usize,
    wide: bool,
) -> Result<&'a [u8], WireError> {
    let at = offset(r);
    let len = if wide { r.u32(field)? as usize } else { read_u16(r, field)? as usize };
    check_claim(r, field, at, len, limit, 1)?;
    Ok(r.bytes(len, field)?)
}

fn read_ids(r: &mut ByteReader<'_>, field: &'static str) -> Result<Vec<u64>, WireError> {
    let at = offset(r);
    let count = read_u16(r, field)? as usize;
    check_claim(r, field, at, count, u16::MAX as usize, 8)?;
    let mut ids = Vec::with_capacity(count);
    for _ in 0..count {
        ids.push(r.u64(field)?);
    }
    Ok(ids)
}

fn read_msg_type(r: &mut ByteReader<'_>) -> Result<MessageType, WireError> {
    let at = offset(r);
    let code = r.u8("msg_type")?;
    if let Some(t) = NETWORK_TYPES.iter().find(|t| type_code(**t) == code) {
        return Ok(*t);
    }
    if let Some(t) = LOCAL_TYPES.iter().find(|t| type_code(**t) == code) {
        return Err(WireError::LocalMessageType { offset: at, msg_type: *t });
    }
    Err(WireError::UnknownMessageType { offset: at, found: code })
}

/// Decodes one `RaftMessage` frame (length prefix included). The whole of `frame` must be the
/// frame: a short buffer is `Truncated`, a longer one `TrailingBytes`.
pub fn decode(frame: &[u8]) -> Result<Message, WireError> {
    let mut r = ByteReader::new(frame);
    let len = r.u32("frame length")? as usize;
    if len > MAX_FRAME_BYTES {
        return Err(WireError::TooLarge {
            field: "frame length",
            offset: 0,
            claimed: len as u64,
            limit: MAX_FRAME_BYTES as u64,
        });
    }
    if r.remaining() < len {
        return Err(FormatError::Truncated {
            offset: LEN_PREFIX_BYTES as u64,
            needed: len as u64,
            available: r.remaining() as u64,
            what: "frame",
        }
        .into());
    }
    if r.remaining() > len {
        let end = LEN_PREFIX_BYTES + len;
        return Err(WireError::TrailingBytes { offset: end as u64, count: (frame.len() - end) as u64 });
    }

    let at = offset(&r);
    let version = r.u8("version")?;
    if version != WIRE_VERSION {
        return Err(WireError::UnsupportedVersion { offset: at, found: version, expected: WIRE_VERSION });
    }
    let at = offset(&r);
    match r.u8("kind")? {
        KIND_RAFT_MESSAGE => {}
        kind @ (KIND_FORWARD | KIND_FORWARD_REPLY | KIND_SNAPSHOT_CHUNK) => {
            return Err(WireError::NotARaftMessage { offset: at, kind });
        }
        found => return Err(WireError::UnknownKind { offset: at, found }),
    }

    let mut m = Message::default();
    m.set_msg_type(read_msg_type(&mut r)?);
    m.to = r.u64("to")?;
    m.from = r.u64("from")?;
    m.term = r.u64("term")?;
    m.log_term = r.u64("log_term")?;
    m.index = r.u64("index")?;
    m.commit = r.u64("commit")?;
    m.commit_term = r.u64("commit_term")?;
    m.reject_hint = r.u64("reject_hint")?;
    m.request_snapshot = r.u64("request_snapshot")?;
    m.reject = read_bool(&mut r, "reject")?;
    m.priority = i64::from_le_bytes(r.array::<8>("priority")?);
    m.deprecated_priority = derived_deprecated_priority(m.get_msg_type(), m.priority);
    m.context = read_bytes(&mut r, "context", MAX_CONTEXT_BYTES, false)?.to_vec().into();

    if read_bool(&mut r, "snapshot present")? {
        let index = r.u64("snapshot index")?;
        let term = r.u64("snapshot term")?;
        let conf_state = ConfState {
            voters: read_ids(&mut r, "conf_state voters")?,
            learners: read_ids(&mut r, "conf_state learners")?,
            voters_outgoing: read_ids(&mut r, "conf_state voters_outgoing")?,
            learners_next: read_ids(&mut r, "conf_state learners_next")?,
            auto_leave: read_bool(&mut r, "conf_state auto_leave")?,
            ..Default::default()
        };
        let mut metadata = SnapshotMetadata { index, term, ..Default::default() };
        metadata.set_conf_state(conf_state);
        let data = read_bytes(&mut r, "snapshot data", MAX_SNAPSHOT_DATA_BYTES, true)?.to_vec().into();
        let mut snapshot = Snapshot { data, ..Default::default() };
        snapshot.set_metadata(metadata);
        m.set_snapshot(snapshot);
    }

    let at = offset(&r);
    let count = r.u32("entry count")? as usize;
    check_claim(&r, "entry count", at, count, MAX_ENTRIES, ENTRY_FIXED_BYTES)?;
    let mut entries = Vec::with_capacity(count);
    let mut previous_index: Option<u64> = None;
    for _ in 0..count {
        let entry_at = offset(&r);
        let term = r.u64("entry term")?;
        let index = r.u64("entry index")?;
        if let Some(previous) = previous_index
            && previous.checked_add(1) != Some(index)
        {
            let expected = previous.wrapping_add(1);
            return Err(WireError::NonConsecutiveIndex { offset: entry_at + 8, expected, found: index });
        }
        previous_index = Some(index);
        let data = read_bytes(&mut r, "entry data", MAX_ENTRY_DATA_BYTES, true)?.to_vec().into();
        let entry = Entry { term, index, data, ..Default::default() };
        entries.push(entry);
    }
    m.set_entries(entries.into());

    if !r.is_empty() {
        return Err(WireError::TrailingBytes { offset: offset(&r), count: r.remaining() as u64 });
    }
    Ok(m)
}

/// [`decode`], then the addressing checks raft-rs's `step` does not make: the message must be
/// addressed to `me` and come from `peer`, the raft id of the authenticated connection.
pub fn decode_from_peer(frame: &[u8], me: u64, peer: u64) -> Result<Message, WireError> {
    let message = decode(frame)?;
    if message.to != me {
        return Err(WireError::WrongRecipient { to: message.to, me });
    }
    if message.from != peer {
        return Err(WireError::WrongSender { from: message.from, peer });
    }
    Ok(message)
}
