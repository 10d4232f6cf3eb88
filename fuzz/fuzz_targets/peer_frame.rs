//! The input is a frame a peer sends over the node-to-node channel. It goes through exactly
//! what a follower does before raft-rs sees it (`cairn_node::consensus::accept_peer_frame`:
//! decode, addressing, every entry's framing and (index, term) = (seqno, view), a snapshot
//! offer's payload), then each accepted entry through what applying it does first
//! (`EntryView::parse`, `public_header`, `decode_public`, and `decrypt_private` with the fixed
//! key). Nothing may panic; an accepted frame's entries all parse and match their indexes.
#![no_main]

use cairn_crypto::AesGcmKey;
use cairn_ledger::format::EntryView;
use cairn_node::consensus::accept_peer_frame;
use libfuzzer_sys::fuzz_target;

/// Must equal `KEY` in `examples/make_seeds.rs`.
const KEY: [u8; 32] = [0x42; 32];

fuzz_target!(|data: &[u8]| {
    let Ok(message) = accept_peer_frame(data, 2, 1) else { return };
    let key = AesGcmKey::new(KEY);
    for e in message.get_entries() {
        let view = EntryView::parse(&e.data).expect("an accepted entry parses");
        let tx = view.tx_id();
        assert_eq!((tx.seqno, tx.view), (e.index, e.term), "an accepted entry matches its index and term");
        let _ = view.public_header();
        let _ = view.decode_public();
        let _ = view.decrypt_private(&key);
    }
});
