//! The input is a frame from a peer (`cairn_node::consensus::wire`). Decoding never panics;
//! a frame that decodes re-encodes to the same bytes (the format has one encoding per
//! message), and `decode_from_peer` accepts it exactly when its addressing matches.
#![no_main]

use cairn_node::consensus::wire;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = wire::decode(data) else { return };
    let again = wire::encode(&message).expect("a decoded message encodes");
    assert_eq!(again, data, "decode then encode must give the frame back");
    let (to, from) = (message.to, message.from);
    assert!(wire::decode_from_peer(data, to, from).is_ok());
    assert!(wire::decode_from_peer(data, to.wrapping_add(1), from).is_err(), "a frame for another node");
});
