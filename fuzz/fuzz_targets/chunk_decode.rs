//! The input is a whole chunk file. It is framed under an open name (`ledger_1`) and a complete
//! name (`ledger_1-N`), with and without the positions-table check, and every framed entry goes
//! through `check_entry` and the entry decoders. Nothing may panic, and the framing must describe
//! byte ranges inside the file.
#![no_main]

use cairn_crypto::AesGcmKey;
use cairn_ledger::chunk::{CHUNK_HEADER_BYTES, ChunkFrame, ChunkName, check_entry, frame_chunk};
use cairn_ledger::format::{ENTRY_HEADER_BYTES, EntryHeader, EntryView};
use libfuzzer_sys::fuzz_target;

/// The fixed ledger key; `examples/make_seeds.rs` encrypts its seeds with the same bytes.
const KEY: [u8; 32] = [0x42; 32];

fn check_frame(data: &[u8], frame: &ChunkFrame) {
    let len = data.len() as u64;
    assert!(frame.entries_end <= len, "entries end {} past the {len}-byte file", frame.entries_end);
    if let Some(t) = frame.table_offset {
        assert!(frame.entries_end <= t, "entries end {} past the table at {t}", frame.entries_end);
    }
    if let Some(tail) = frame.torn_tail {
        assert_eq!(frame.table_offset, None, "a chunk with a positions table cannot have a torn tail");
        assert_eq!(tail.offset, frame.entries_end);
        assert_eq!(tail.offset + tail.len, len, "torn tail must run to the end of the file");
    }
    let mut expected = CHUNK_HEADER_BYTES as u64;
    for i in 0..frame.positions.len() {
        assert_eq!(frame.positions[i], expected, "entries must be back to back");
        let range = frame.entry_range(i);
        assert!(range.end as u64 <= frame.entries_end);
        let header = EntryHeader::decode_raw(&data[range.clone()]).expect("a framed entry has a header");
        assert_eq!(
            ENTRY_HEADER_BYTES as u64 + header.size,
            range.len() as u64,
            "entry {i} size disagrees with its range"
        );
        expected = range.end as u64;
    }
}

fn walk(file: &str, name: &ChunkName, data: &[u8], check_table: bool, key: &AesGcmKey) -> Option<ChunkFrame> {
    let frame = match frame_chunk(file, name, data, check_table) {
        Ok(frame) => frame,
        Err(e) => {
            assert_eq!(e.file, file);
            assert!(e.offset <= data.len() as u64, "error offset {} past the {}-byte file", e.offset, data.len());
            return None;
        }
    };
    check_frame(data, &frame);
    let mut min_view = 0;
    for i in 0..frame.positions.len() {
        let range = frame.entry_range(i);
        let offset = range.start as u64;
        let bytes = &data[range];
        let checked = check_entry(file, offset, bytes, name.start + i as u64, min_view);
        match &checked {
            Ok(view) => min_view = u64::from(view.gcm.view),
            Err(e) => assert!(
                e.offset >= offset && e.offset <= offset + bytes.len() as u64,
                "error offset {} outside entry {offset}..{}",
                e.offset,
                offset + bytes.len() as u64
            ),
        }
        match EntryView::parse(bytes) {
            Ok(view) => {
                let _ = view.public_header();
                let _ = view.decode_public();
                let _ = view.decrypt_private(key);
            }
            Err(e) => assert!(checked.is_err(), "check_entry accepted an entry EntryView::parse rejects: {e}"),
        }
    }
    Some(frame)
}

fuzz_target!(|data: &[u8]| {
    let key = AesGcmKey::new(KEY);
    let open = ChunkName::open(1);
    let mut count = 0;
    for check_table in [true, false] {
        if let Some(frame) = walk("ledger_1", &open, data, check_table, &key) {
            count = count.max(frame.positions.len() as u64);
        }
    }
    let complete = open.completed(count.max(1));
    let file = complete.to_string();
    for check_table in [true, false] {
        walk(&file, &complete, data, check_table, &key);
    }
});
