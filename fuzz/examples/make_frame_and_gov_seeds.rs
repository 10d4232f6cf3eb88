//! Writes seeds for `peer_frame` and `gov_request`: `cargo run --example make_frame_and_gov_seeds
//! [DIR]` (default `corpus`) creates `DIR/peer_frame/` (appends from node 1 to node 2 carrying
//! real ledger entries sealed with the fixed key, a heartbeat, a vote) and `DIR/gov_request/`
//! (a proposal, a ballot and a share submission signed by `seeds/member_privk.pem`).
use cairn_crypto::{AesGcmKey, Certificate, Sha256, SigningKey, sha256};
use cairn_gov::{GovRequestHeader, identity_id, sign_request};
use cairn_kv::WriteSet;
use cairn_ledger::format::{EntryFlags, PublicHeader, TxId, encode_entry};
use cairn_node::consensus::wire;
use raft::eraftpb::{Entry, Message, MessageType};
use std::path::PathBuf;

/// Must equal `KEY` in `fuzz_targets/peer_frame.rs`.
const KEY: [u8; 32] = [0x42; 32];

fn entry(seqno: u64, view: u64) -> Vec<u8> {
    let mut ws = WriteSet::new();
    ws.put("public:records", format!("k{seqno}").into_bytes(), vec![b'p'; 12]);
    ws.put("records", format!("k{seqno}").into_bytes(), vec![b's'; 20]);
    let header = PublicHeader::new(seqno, Sha256::ZERO, sha256(format!("ce{seqno}").as_bytes()));
    encode_entry(TxId::new(view, seqno), EntryFlags::default(), &header, &ws.with_read_version(seqno - 1), &AesGcmKey::new(KEY))
        .bytes
}

fn message(kind: MessageType, term: u64) -> Message {
    let mut m = Message::default();
    m.set_msg_type(kind);
    m.to = 2;
    m.from = 1;
    m.term = term;
    m
}

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "corpus".into()));
    let frames = dir.join("peer_frame");
    std::fs::create_dir_all(&frames)?;
    for (name, count) in [("append_1", 1u64), ("append_3", 3)] {
        let mut append = message(MessageType::MsgAppend, 3);
        append.index = 4;
        append.log_term = 3;
        append.commit = 4;
        let entries: Vec<Entry> = (5..5 + count)
            .map(|index| Entry { index, term: 3, data: entry(index, 3).into(), ..Default::default() })
            .collect();
        append.set_entries(entries.into());
        std::fs::write(frames.join(name), wire::encode(&append).expect("encodes"))?;
    }
    std::fs::write(frames.join("heartbeat"), wire::encode(&message(MessageType::MsgHeartbeat, 3)).expect("encodes"))?;
    let mut vote = message(MessageType::MsgRequestVote, 4);
    vote.index = 7;
    vote.log_term = 3;
    std::fs::write(frames.join("vote"), wire::encode(&vote).expect("encodes"))?;

    let gov = dir.join("gov_request");
    std::fs::create_dir_all(&gov)?;
    let key = SigningKey::from_pem(include_str!("../seeds/member_privk.pem")).expect("seed key");
    let cert = Certificate::from_pem(include_str!("../seeds/member_cert.pem")).expect("seed certificate");
    let id = identity_id(&cert);
    let header = |msg_type: &str, proposal_id: Option<&str>| GovRequestHeader {
        msg_type: msg_type.into(),
        created_at: 1_767_225_600,
        proposal_id: proposal_id.map(str::to_string),
    };
    let proposal = br#"{"actions": [{"name": "set_user", "args": {"cert": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}}, {"name": "transition_service_to_open", "args": {}}]}"#;
    std::fs::write(gov.join("proposal"), sign_request(&key, &id, &header("proposal", None), proposal))?;
    let ballot = br#"{"ballot": "export function vote (proposal, proposerId) { return true }"}"#;
    std::fs::write(gov.join("ballot"), sign_request(&key, &id, &header("ballot", Some("ab12")), ballot))?;
    let share = br#"{"share": "AAECAwQF"}"#;
    std::fs::write(gov.join("share"), sign_request(&key, &id, &header("recovery_share", None), share))?;
    println!("wrote peer_frame and gov_request seeds under {}", dir.display());
    Ok(())
}
