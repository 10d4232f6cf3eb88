//! The raft wire codec (`consensus::wire`, replication.md §8): round trips, never-panic,
//! rejections, and messages from a real three-node `RaftDriver` exchange carried through it.
use cairn_ledger::format::FormatError;
use cairn_node::consensus::wire::{
    self, MAX_CONTEXT_BYTES, MAX_ENTRIES, MAX_ENTRY_DATA_BYTES, MAX_FRAME_BYTES, MAX_SNAPSHOT_DATA_BYTES,
    NETWORK_TYPES, WIRE_VERSION, WireError,
};
use cairn_node::consensus::{OpeningEntry, RaftDriver, RaftDriverConfig};
use proptest::prelude::*;
use raft::StateRole;
use raft::eraftpb::{ConfState, Entry, EntryType, Message, MessageType, Snapshot, SnapshotMetadata};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Offsets in a frame (see the layout in `wire`'s module doc).
const VERSION_AT: usize = 4;
const KIND_AT: usize = 5;
const MSG_TYPE_AT: usize = 6;
const REJECT_AT: usize = 7 + 9 * 8;
const CONTEXT_LEN_AT: usize = REJECT_AT + 1 + 8;

fn entry(term: u64, index: u64, data: &[u8]) -> Entry {
    Entry { term, index, data: data.to_vec().into(), ..Default::default() }
}

fn conf_state(voters: Vec<u64>, learners: Vec<u64>) -> ConfState {
    ConfState { voters, learners, ..Default::default() }
}

fn snapshot(index: u64, term: u64, conf: ConfState, data: &[u8]) -> Snapshot {
    let mut metadata = SnapshotMetadata { index, term, ..Default::default() };
    metadata.set_conf_state(conf);
    let mut s = Snapshot { data: data.to_vec().into(), ..Default::default() };
    s.set_metadata(metadata);
    s
}

/// An append with every field set: context, snapshot descriptor and three entries.
fn rich_message() -> Message {
    let mut m = Message::default();
    m.set_msg_type(MessageType::MsgAppend);
    m.to = 2;
    m.from = 1;
    m.term = 7;
    m.log_term = 6;
    m.index = 41;
    m.commit = 40;
    m.commit_term = 6;
    m.reject_hint = 3;
    m.request_snapshot = 9;
    m.reject = true;
    m.priority = -5;
    m.context = b"ctx".to_vec().into();
    m.set_snapshot(snapshot(30, 5, conf_state(vec![1, 2, 3], vec![4]), b"descriptor"));
    m.set_entries(vec![entry(7, 42, b"a"), entry(7, 43, b""), entry(7, 44, b"ccc")].into());
    m
}

/// A heartbeat: no context, no snapshot, no entries.
fn minimal_message() -> Message {
    let mut m = Message::default();
    m.set_msg_type(MessageType::MsgHeartbeat);
    m.to = 3;
    m.from = 1;
    m.term = 2;
    m
}

fn encode(m: &Message) -> Vec<u8> {
    wire::encode(m).expect("encodable")
}

/// Rewrites the frame's length prefix after an edit.
fn fix_len(frame: &mut [u8]) {
    let len = (frame.len() - 4) as u32;
    frame[..4].copy_from_slice(&len.to_le_bytes());
}

fn arb_entries() -> impl Strategy<Value = Vec<Entry>> {
    (0..=u64::MAX - 16, prop::collection::vec((any::<u64>(), prop::collection::vec(any::<u8>(), 0..64)), 0..6))
        .prop_map(|(first, items)| {
            items.into_iter().enumerate().map(|(i, (term, data))| entry(term, first + i as u64, &data)).collect()
        })
}

fn arb_snapshot() -> impl Strategy<Value = Option<Snapshot>> {
    let ids = || prop::collection::vec(any::<u64>(), 0..5);
    prop::option::of(
        (
            any::<u64>(),
            any::<u64>(),
            (ids(), ids(), ids(), ids(), any::<bool>()),
            prop::collection::vec(any::<u8>(), 0..128),
        )
            .prop_map(|(index, term, (voters, learners, voters_outgoing, learners_next, auto_leave), data)| {
                let conf =
                    ConfState { voters, learners, voters_outgoing, learners_next, auto_leave, ..Default::default() };
                snapshot(index, term, conf, &data)
            }),
    )
}

fn arb_message() -> impl Strategy<Value = Message> {
    (
        prop::sample::select(NETWORK_TYPES.to_vec()),
        prop::array::uniform9(any::<u64>()),
        any::<bool>(),
        any::<i64>(),
        prop::collection::vec(any::<u8>(), 0..=MAX_CONTEXT_BYTES),
        arb_snapshot(),
        arb_entries(),
    )
        .prop_map(|(msg_type, fixed, reject, priority, context, snapshot, entries)| {
            let mut m = Message::default();
            m.set_msg_type(msg_type);
            let [to, from, term, log_term, index, commit, commit_term, reject_hint, request_snapshot] = fixed;
            (m.to, m.from, m.term, m.log_term, m.index) = (to, from, term, log_term, index);
            (m.commit, m.commit_term, m.reject_hint, m.request_snapshot) =
                (commit, commit_term, reject_hint, request_snapshot);
            m.reject = reject;
            m.priority = priority;
            // As raft-rs sets it (raft.rs `send`): only vote requests with a positive priority.
            let vote = matches!(msg_type, MessageType::MsgRequestVote | MessageType::MsgRequestPreVote);
            m.deprecated_priority = if vote && priority > 0 { priority as u64 } else { 0 };
            m.context = context.into();
            if let Some(snapshot) = snapshot {
                m.set_snapshot(snapshot);
            }
            m.set_entries(entries.into());
            m
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn round_trip_preserves_every_field(m in arb_message()) {
        let frame = encode(&m);
        prop_assert_eq!(wire::decode(&frame), Ok(m.clone()));
        prop_assert_eq!(wire::decode_from_peer(&frame, m.to, m.from), Ok(m));
    }

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = wire::decode(&bytes);
    }

    /// Arbitrary bytes rarely get past the length prefix; single-byte corruptions of a valid
    /// frame reach every field. Whatever decodes must encode back to the same bytes.
    #[test]
    fn decode_never_panics_on_corrupted_frames(m in arb_message(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut frame = encode(&m);
        let i = at.index(frame.len());
        frame[i] = byte;
        if let Ok(decoded) = wire::decode(&frame) {
            prop_assert_eq!(wire::encode(&decoded), Ok(frame));
        }
    }
}

#[test]
fn every_truncation_of_a_valid_frame_is_refused() {
    for m in [rich_message(), minimal_message()] {
        let frame = encode(&m);
        assert_eq!(wire::decode(&frame), Ok(m));
        for cut in 0..frame.len() {
            let err = wire::decode(&frame[..cut]).expect_err("a truncated frame");
            assert!(matches!(err, WireError::Format(FormatError::Truncated { .. })), "cut at {cut}: {err}");
        }
    }
}

#[test]
fn header_rejection_table() {
    let frame = encode(&rich_message());
    let with = |at: usize, byte: u8| {
        let mut f = frame.clone();
        f[at] = byte;
        wire::decode(&f).expect_err("refused")
    };
    assert_eq!(with(VERSION_AT, 0), WireError::UnsupportedVersion { offset: 4, found: 0, expected: WIRE_VERSION });
    assert_eq!(with(VERSION_AT, 2), WireError::UnsupportedVersion { offset: 4, found: 2, expected: WIRE_VERSION });
    assert_eq!(with(KIND_AT, 0), WireError::UnknownKind { offset: 5, found: 0 });
    assert_eq!(with(KIND_AT, 5), WireError::UnknownKind { offset: 5, found: 5 });
    for kind in 2..=4 {
        assert_eq!(with(KIND_AT, kind), WireError::NotARaftMessage { offset: 5, kind });
    }
    for (code, msg_type) in [
        (0, MessageType::MsgHup),
        (1, MessageType::MsgBeat),
        (2, MessageType::MsgPropose),
        (10, MessageType::MsgUnreachable),
        (11, MessageType::MsgSnapStatus),
        (12, MessageType::MsgCheckQuorum),
    ] {
        assert_eq!(with(MSG_TYPE_AT, code), WireError::LocalMessageType { offset: 6, msg_type });
    }
    for code in [19, 200, 255] {
        assert_eq!(with(MSG_TYPE_AT, code), WireError::UnknownMessageType { offset: 6, found: code });
    }
    assert_eq!(
        with(REJECT_AT, 2),
        WireError::Format(FormatError::Invalid {
            offset: REJECT_AT as u64,
            field: "reject",
            reason: "2 is neither 0 nor 1".into()
        })
    );
    // The snapshot-present flag follows the 3-byte context.
    let present_at = CONTEXT_LEN_AT + 2 + 3;
    assert!(matches!(with(present_at, 7), WireError::Format(FormatError::Invalid { field: "snapshot present", .. })));
}

#[test]
fn trailing_bytes_are_refused() {
    let frame = encode(&minimal_message());
    // After the frame the length prefix announces.
    let mut after = frame.clone();
    after.push(0);
    assert_eq!(wire::decode(&after), Err(WireError::TrailingBytes { offset: frame.len() as u64, count: 1 }));
    // Inside the frame: the prefix covers one byte the body does not use.
    let mut inside = frame.clone();
    inside.push(0);
    fix_len(&mut inside);
    assert_eq!(wire::decode(&inside), Err(WireError::TrailingBytes { offset: frame.len() as u64, count: 1 }));
}

#[test]
fn oversized_claims_are_refused_before_allocating() {
    // Frame length over the limit, on a 6-byte buffer.
    let mut huge = u32::MAX.to_le_bytes().to_vec();
    huge.extend_from_slice(&[WIRE_VERSION, 1]);
    assert_eq!(
        wire::decode(&huge),
        Err(WireError::TooLarge {
            field: "frame length",
            offset: 0,
            claimed: u32::MAX as u64,
            limit: MAX_FRAME_BYTES as u64
        })
    );

    // The minimal frame ends with the u32 entry count.
    let frame = encode(&minimal_message());
    let count_at = frame.len() - 4;
    let with_count = |count: u32| {
        let mut f = frame.clone();
        f[count_at..].copy_from_slice(&count.to_le_bytes());
        wire::decode(&f).expect_err("refused")
    };
    assert_eq!(
        with_count(u32::MAX),
        WireError::TooLarge {
            field: "entry count",
            offset: count_at as u64,
            claimed: u32::MAX as u64,
            limit: MAX_ENTRIES as u64
        }
    );
    // Within the limit, but the frame has no room for even one entry.
    assert_eq!(
        with_count(MAX_ENTRIES as u32),
        WireError::TooLarge { field: "entry count", offset: count_at as u64, claimed: MAX_ENTRIES as u64, limit: 0 }
    );

    // Context length over 64.
    let mut f = frame.clone();
    f[CONTEXT_LEN_AT..CONTEXT_LEN_AT + 2].copy_from_slice(&(MAX_CONTEXT_BYTES as u16 + 1).to_le_bytes());
    assert_eq!(
        wire::decode(&f),
        Err(WireError::TooLarge {
            field: "context",
            offset: CONTEXT_LEN_AT as u64,
            claimed: MAX_CONTEXT_BYTES as u64 + 1,
            limit: MAX_CONTEXT_BYTES as u64
        })
    );

    // One entry whose data length claims u32::MAX (over the limit), then the limit itself
    // (longer than the 2 bytes left in the frame).
    let mut one = minimal_message();
    one.set_entries(vec![entry(2, 5, b"xy")].into());
    let frame = encode(&one);
    let len_at = frame.len() - 2 - 4;
    for (claimed, limit) in [(u32::MAX as u64, MAX_ENTRY_DATA_BYTES as u64), (MAX_ENTRY_DATA_BYTES as u64, 2)] {
        let mut f = frame.clone();
        f[len_at..len_at + 4].copy_from_slice(&(claimed as u32).to_le_bytes());
        assert_eq!(
            wire::decode(&f),
            Err(WireError::TooLarge { field: "entry data", offset: len_at as u64, claimed, limit })
        );
    }

    // A snapshot whose data length is over 4 KiB, and a conf state count the frame cannot hold.
    let mut snap = minimal_message();
    snap.set_msg_type(MessageType::MsgSnapshot);
    snap.set_snapshot(snapshot(3, 2, conf_state(vec![], vec![]), b""));
    let frame = encode(&snap);
    // present u8, index, term, then the voters count.
    let voters_at = CONTEXT_LEN_AT + 2 + 1 + 16;
    let data_len_at = voters_at + 4 * 2 + 1;
    let mut f = frame.clone();
    f[data_len_at..data_len_at + 4].copy_from_slice(&(MAX_SNAPSHOT_DATA_BYTES as u32 + 1).to_le_bytes());
    assert_eq!(
        wire::decode(&f),
        Err(WireError::TooLarge {
            field: "snapshot data",
            offset: data_len_at as u64,
            claimed: MAX_SNAPSHOT_DATA_BYTES as u64 + 1,
            limit: MAX_SNAPSHOT_DATA_BYTES as u64
        })
    );
    let mut f = frame.clone();
    f[voters_at..voters_at + 2].copy_from_slice(&u16::MAX.to_le_bytes());
    assert!(matches!(wire::decode(&f), Err(WireError::TooLarge { field: "conf_state voters", claimed: 65535, .. })));
}

#[test]
fn non_consecutive_entries_are_refused() {
    let mut m = minimal_message();
    m.set_msg_type(MessageType::MsgAppend);
    m.set_entries(vec![entry(2, 5, b"a"), entry(2, 6, b"b")].into());
    let mut frame = encode(&m);
    // The second entry's index: after the first entry (20 + 1 bytes) and its own term.
    let first_at = frame.len() - 2 * 21;
    let second_index_at = first_at + 21 + 8;
    frame[second_index_at..second_index_at + 8].copy_from_slice(&9u64.to_le_bytes());
    assert_eq!(
        wire::decode(&frame),
        Err(WireError::NonConsecutiveIndex { offset: second_index_at as u64, expected: 6, found: 9 })
    );
    // Wrapping past u64::MAX is not consecutive either.
    let mut wrap = m.clone();
    wrap.set_entries(vec![entry(2, u64::MAX, b"a"), entry(2, 0, b"b")].into());
    assert!(matches!(wire::encode(&wrap), Err(WireError::Unencodable { field: "entry index", .. })));
    let mut last = m.clone();
    last.set_entries(vec![entry(2, u64::MAX, b"a")].into());
    assert_eq!(wire::decode(&encode(&last)), Ok(last));
}

#[test]
fn addressing_is_checked_against_the_connection() {
    let m = minimal_message();
    let frame = encode(&m);
    assert_eq!(wire::decode_from_peer(&frame, 3, 1), Ok(m));
    assert_eq!(wire::decode_from_peer(&frame, 2, 1), Err(WireError::WrongRecipient { to: 3, me: 2 }));
    assert_eq!(wire::decode_from_peer(&frame, 3, 2), Err(WireError::WrongSender { from: 1, peer: 2 }));
}

#[test]
fn encode_refuses_what_the_wire_cannot_carry() {
    let refused = |m: &Message| match wire::encode(m) {
        Err(WireError::Unencodable { field, .. }) => field,
        other => panic!("expected Unencodable, got {other:?}"),
    };
    let mut local = minimal_message();
    local.set_msg_type(MessageType::MsgPropose);
    assert_eq!(refused(&local), "msg_type");

    let mut conf_change = minimal_message();
    let mut e = entry(2, 5, b"cc");
    e.set_entry_type(EntryType::EntryConfChangeV2);
    conf_change.set_entries(vec![e].into());
    assert_eq!(refused(&conf_change), "entry_type");

    let mut with_context = minimal_message();
    let mut e = entry(2, 5, b"x");
    e.context = b"c".to_vec().into();
    with_context.set_entries(vec![e].into());
    assert_eq!(refused(&with_context), "entry context");

    let mut long_context = minimal_message();
    long_context.context = vec![0; MAX_CONTEXT_BYTES + 1].into();
    assert_eq!(refused(&long_context), "context");

    let mut priority = minimal_message();
    priority.deprecated_priority = 4;
    assert_eq!(refused(&priority), "deprecated_priority");

    let mut gap = minimal_message();
    gap.set_entries(vec![entry(2, 5, b"a"), entry(2, 7, b"b")].into());
    assert_eq!(refused(&gap), "entry index");

    let mut big_snapshot = minimal_message();
    big_snapshot.set_snapshot(snapshot(1, 1, ConfState::default(), &vec![0; MAX_SNAPSHOT_DATA_BYTES + 1]));
    assert_eq!(refused(&big_snapshot), "snapshot data");
}

/// Three drivers elect a leader and replicate a few proposals; every message goes through
/// encode → decode and must come out equal (protobuf equality) before it is stepped.
#[test]
fn raft_driver_messages_survive_the_wire() {
    const VOTERS: [u64; 3] = [1, 2, 3];
    let logger = slog::Logger::root(slog::Discard, slog::o!());
    let mut nodes: BTreeMap<u64, RaftDriver> = VOTERS
        .iter()
        .map(|&id| {
            let config = RaftDriverConfig {
                id,
                voters: VOTERS.to_vec(),
                election_timeout_ticks: 20,
                heartbeat_ticks: 2,
                rng_seed: 7,
            };
            (id, RaftDriver::new(&config, &logger).expect("valid config"))
        })
        .collect();
    let mut in_flight: VecDeque<Message> = VecDeque::new();
    let mut seen: BTreeSet<i32> = BTreeSet::new();
    let mut carried = 0usize;

    fn fill(node: &mut RaftDriver, opening: Option<OpeningEntry>) {
        if let Some(opening) = opening {
            node.fill_opening_entry(format!("opening at ({}, {})", opening.index, opening.term).into_bytes());
        }
    }

    fn drain(node: &mut RaftDriver, out: &mut VecDeque<Message>) {
        while node.has_ready() {
            let mut ready = node.ready();
            let mut sent = ready.take_messages();
            let store = node.store().mem().clone();
            if !ready.snapshot().is_empty() {
                store.wl().apply_snapshot(ready.snapshot().clone()).expect("snapshot applies");
            }
            store.wl().append(ready.entries()).expect("entries append");
            if let Some(hard_state) = ready.hs() {
                store.wl().set_hardstate(hard_state.clone());
            }
            sent.extend(ready.take_persisted_messages());
            let mut light = node.advance(ready);
            if let Some(commit) = light.commit_index() {
                store.wl().mut_hard_state().set_commit(commit);
            }
            sent.extend(light.take_messages());
            node.advance_apply();
            out.extend(sent);
        }
    }

    let mut proposals = 0u8;
    for _tick in 0..400 {
        for id in VOTERS {
            let node = nodes.get_mut(&id).expect("known node");
            let opening = node.tick();
            fill(node, opening);
        }
        let leader = nodes.values().find(|n| n.role() == StateRole::Leader).map(|n| n.id());
        if let Some(leader) = leader
            && proposals < 5
        {
            proposals += 1;
            nodes.get_mut(&leader).expect("leader").propose(vec![b'p', proposals]).expect("the leader accepts");
        }
        for _round in 0..1_000 {
            for id in VOTERS {
                drain(nodes.get_mut(&id).expect("known node"), &mut in_flight);
            }
            if in_flight.is_empty() {
                break;
            }
            while let Some(message) = in_flight.pop_front() {
                let frame = wire::encode(&message).expect("raft-rs messages are encodable");
                let decoded = wire::decode_from_peer(&frame, message.to, message.from).expect("decodes");
                assert_eq!(decoded, message, "the wire changed a {:?}", message.get_msg_type());
                seen.insert(message.get_msg_type() as i32);
                carried += 1;
                let node = nodes.get_mut(&decoded.to).expect("known node");
                let opening = node.step(decoded).expect("a peer message is accepted");
                fill(node, opening);
            }
        }
    }

    let leader = nodes.values().find(|n| n.role() == StateRole::Leader).expect("a leader was elected");
    assert_eq!(proposals, 5);
    let commit = leader.commit_index();
    assert!(commit >= 6, "opening entry and 5 proposals committed, got {commit}");
    for node in nodes.values() {
        node.check_invariants();
        assert_eq!(node.commit_index(), commit, "node {} caught up through the wire", node.id());
    }
    for msg_type in [
        MessageType::MsgRequestPreVote,
        MessageType::MsgRequestPreVoteResponse,
        MessageType::MsgRequestVote,
        MessageType::MsgRequestVoteResponse,
        MessageType::MsgAppend,
        MessageType::MsgAppendResponse,
        MessageType::MsgHeartbeat,
        MessageType::MsgHeartbeatResponse,
    ] {
        assert!(seen.contains(&(msg_type as i32)), "no {msg_type:?} among {carried} carried messages");
    }
}
