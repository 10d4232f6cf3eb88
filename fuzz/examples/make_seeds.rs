//! Writes a small seed corpus: `cargo run --example make_seeds [DIR]` (default `corpus`) creates
//! `DIR/chunk_decode/` (a complete `ledger_1-6` chunk and an open `ledger_1` chunk with a torn
//! tail) and `DIR/entry_decode/` (each entry on its own), all encrypted with the targets' fixed key.
use cairn_crypto::{AesGcmKey, Sha256, sha256};
use cairn_kv::WriteSet;
use cairn_ledger::chunk::positions_table;
use cairn_ledger::format::{EntryFlags, PublicHeader, TxId, encode_entry};
use std::path::PathBuf;

/// Must equal `KEY` in `fuzz_targets/*.rs`.
const KEY: [u8; 32] = [0x42; 32];

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "corpus".into()));
    let key = AesGcmKey::new(KEY);
    let entries: Vec<Vec<u8>> = (1..=7u64)
        .map(|seqno| {
            let tx = TxId::new(2, seqno);
            let mut ws = WriteSet::new();
            ws.put("public:records", format!("k{seqno}").into_bytes(), vec![b'p'; seqno as usize * 3]);
            ws.put("records", format!("k{seqno}").into_bytes(), vec![b's'; seqno as usize * 5]);
            if seqno % 3 == 0 {
                ws.remove("public:records", b"k1".to_vec());
                ws.remove("records", b"k2".to_vec());
            }
            let flags =
                if seqno == 6 { EntryFlags(EntryFlags::FORCE_LEDGER_CHUNK_AFTER) } else { EntryFlags::default() };
            let header = PublicHeader::new(seqno, Sha256::ZERO, sha256(format!("ce{seqno}").as_bytes()));
            encode_entry(tx, flags, &header, &ws.with_read_version(seqno - 1), &key).bytes
        })
        .collect();

    let entry_dir = dir.join("entry_decode");
    std::fs::create_dir_all(&entry_dir)?;
    for (i, e) in entries.iter().enumerate() {
        std::fs::write(entry_dir.join(format!("entry_{}", i + 1)), e)?;
    }

    let chunk_dir = dir.join("chunk_decode");
    std::fs::create_dir_all(&chunk_dir)?;
    // Complete chunk: table offset, entries 1..=6, positions table.
    let mut complete = vec![0u8; 8];
    let mut positions = Vec::new();
    for e in &entries[..6] {
        positions.push(complete.len() as u64);
        complete.extend_from_slice(e);
    }
    let table_offset = complete.len() as u64;
    complete[..8].copy_from_slice(&table_offset.to_le_bytes());
    complete.extend_from_slice(&positions_table(&positions));
    std::fs::write(chunk_dir.join("ledger_1-6"), &complete)?;
    // Open chunk: header 0, entries 1..=6, then half of entry 7.
    let mut open = vec![0u8; 8];
    for e in &entries[..6] {
        open.extend_from_slice(e);
    }
    open.extend_from_slice(&entries[6][..entries[6].len() / 2]);
    std::fs::write(chunk_dir.join("ledger_1"), &open)?;
    println!("wrote {} entries and 2 chunks under {}", entries.len(), dir.display());
    Ok(())
}
