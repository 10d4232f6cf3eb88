//! Writes seed frames for `wire_decode`: `cargo run --example make_wire_seeds [DIR]` (default
//! `corpus`) creates `DIR/wire_decode/` with an append carrying entries, a vote request and
//! response, a heartbeat and a snapshot message, each encoded by `cairn_node::consensus::wire`.
use cairn_node::consensus::wire;
use raft::eraftpb::{Entry, Message, MessageType, Snapshot};
use std::path::PathBuf;

fn message(kind: MessageType, term: u64) -> Message {
    let mut m = Message::default();
    m.set_msg_type(kind);
    m.to = 2;
    m.from = 1;
    m.term = term;
    m
}

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "corpus".into())).join("wire_decode");
    std::fs::create_dir_all(&dir)?;
    let mut append = message(MessageType::MsgAppend, 3);
    append.index = 4;
    append.log_term = 2;
    append.commit = 4;
    let entries: Vec<Entry> = (5..8u64)
        .map(|index| Entry { index, term: 3, data: vec![index as u8; 40].into(), ..Default::default() })
        .collect();
    append.set_entries(entries.into());
    let mut vote = message(MessageType::MsgRequestVote, 4);
    vote.index = 7;
    vote.log_term = 3;
    let mut response = message(MessageType::MsgRequestVoteResponse, 4);
    response.reject = true;
    let heartbeat = message(MessageType::MsgHeartbeat, 3);
    let mut snapshot = message(MessageType::MsgSnapshot, 3);
    let mut s = Snapshot::default();
    s.mut_metadata().index = 4;
    s.mut_metadata().term = 2;
    s.mut_metadata().mut_conf_state().voters = vec![1, 2, 3];
    s.data = b"{}".to_vec().into();
    snapshot.set_snapshot(s);
    for (name, m) in
        [("append", append), ("vote", vote), ("vote_response", response), ("heartbeat", heartbeat), ("snapshot", snapshot)]
    {
        let frame = wire::encode(&m).expect("seed messages encode");
        std::fs::write(dir.join(name), frame)?;
    }
    Ok(())
}
