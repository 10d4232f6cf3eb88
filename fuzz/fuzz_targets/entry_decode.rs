//! The input is one entry (header and body). `EntryView::parse`, `decode_public` and
//! `decrypt_private` with a fixed key must never panic. Random bytes almost never carry a valid
//! GCM tag, so the target also re-seals the private bytes with the fixed key (keeping the
//! framing) to drive the private-domain decoder with fuzzer-chosen plaintext, and checks that
//! whatever decodes re-encodes (`encode_entry`) and decodes back to the same transaction.
#![no_main]

use cairn_crypto::{AesGcmKey, GCM_TAG_BYTES};
use cairn_ledger::format::{ENTRY_HEADER_BYTES, EntryView, PrivateDomainError, encode_entry};
use libfuzzer_sys::fuzz_target;

/// The fixed ledger key; `examples/make_seeds.rs` encrypts its seeds with the same bytes.
const KEY: [u8; 32] = [0x42; 32];

fuzz_target!(|data: &[u8]| {
    let key = AesGcmKey::new(KEY);
    let Ok(view) = EntryView::parse(data) else { return };
    assert_eq!(view.bytes.len(), data.len());
    let _ = view.public_header();
    let public = view.decode_public();
    let _ = view.decrypt_private(&key);

    // Same framing, private bytes treated as plaintext and sealed with the fixed key.
    let private_start = data.len() - view.private.len();
    let mut ciphertext = view.private.to_vec();
    let tag = key.seal(view.gcm.iv(), view.public, &mut ciphertext);
    let mut resealed = data.to_vec();
    resealed[ENTRY_HEADER_BYTES..ENTRY_HEADER_BYTES + GCM_TAG_BYTES].copy_from_slice(&tag);
    resealed[private_start..].copy_from_slice(&ciphertext);
    let view2 = EntryView::parse(&resealed).expect("re-sealing keeps the framing");
    let private = view2.decrypt_private(&key);
    assert!(!matches!(private, Err(PrivateDomainError::Crypto(_))), "freshly sealed private domain failed to open");

    // Whatever decodes must survive a re-encode.
    if let (Ok((header, public_ws)), Ok(private_ws)) = (public, private)
        && header.seqno == view.gcm.seqno
    {
        let ws = public_ws.merged(private_ws);
        let encoded = encode_entry(view.tx_id(), view.header.flags, &header, &ws, &key);
        let again = EntryView::parse(&encoded.bytes).expect("encoder output parses");
        assert_eq!(again.tx_id(), view.tx_id());
        assert_eq!(again.header.flags, view.header.flags);
        let (header2, ws2) = again.decode_all(&key).expect("encoder output decodes");
        assert_eq!(header2, header);
        assert_eq!(ws2, ws);
    }
});
