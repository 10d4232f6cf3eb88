//! The per-chunk half of verification: everything that needs only one chunk's bytes.
use super::{VerifyFailure, VerifyLevel, VerifyOptions};
use crate::chunk::{ChunkError, ChunkName, check_entry, frame_chunk};
use crate::format::{ByteReader, EntryView, PublicHeader, TxId, decode_domain, skim_domain_table_names};
use crate::merkle::leaf_digest;
use crate::scan::is_signature;
use crate::storage::Storage;
use crate::tables;
use cairn_crypto::{Sha256, sha256};
use cairn_kv::WriteSet;

/// An entry that writes a table the sequential checker follows.
#[derive(Debug)]
pub struct TableEvent {
    pub index: usize,
    pub tx: TxId,
    pub offset: u64,
    pub tables: WriteSet,
}

/// What one chunk contributes.
#[derive(Debug)]
pub struct ChunkAnalysis {
    pub file: String,
    pub name: ChunkName,
    pub bytes: u64,
    pub entries: usize,
    pub first_view: u64,
    pub last_view: u64,
    /// Merkle leaves, one per entry (empty below `merkle`).
    pub leaves: Vec<Sha256>,
    pub events: Vec<TableEvent>,
    pub private_domains_decrypted: u64,
    /// The first entry carries `FORCE_LEDGER_CHUNK_BEFORE`.
    pub starts_with_chunk_before: bool,
    /// The last entry carries `FORCE_LEDGER_CHUNK_AFTER`.
    pub ends_with_chunk_after: bool,
    /// Offset of the last entry in the file.
    pub last_entry_offset: u64,
}

fn chunk_failure(level: VerifyLevel, e: ChunkError, seqno: Option<u64>) -> VerifyFailure {
    VerifyFailure::at(level, Some(&e.file), Some(e.offset), seqno, e.kind.to_string())
}

/// Analyses one chunk; `buf` is the caller's reusable read buffer (reusing it avoids faulting in
/// fresh pages for every chunk).
pub fn analyse_chunk(
    storage: &dyn Storage,
    file: &str,
    name: &ChunkName,
    opts: &VerifyOptions,
    buf: &mut Vec<u8>,
) -> Result<ChunkAnalysis, VerifyFailure> {
    let level = opts.level;
    let storage_failure = |e| VerifyFailure::storage(VerifyLevel::Parse, e);
    let len = storage.size(file).map_err(storage_failure)?;
    buf.resize(usize::try_from(len).expect("chunk files fit in memory"), 0);
    storage.read_at(file, 0, buf).map_err(storage_failure)?;
    let bytes: &[u8] = buf;
    let frame = frame_chunk(file, name, bytes, level >= VerifyLevel::Offsets)
        .map_err(|e| chunk_failure(VerifyLevel::Parse, e, None))?;
    if let Some(t) = frame.torn_tail {
        return Err(VerifyFailure::at(
            VerifyLevel::Parse,
            Some(file),
            Some(t.offset),
            Some(name.start + frame.positions.len() as u64),
            format!("incomplete entry: {} trailing bytes do not frame an entry", t.len),
        ));
    }
    let mut out = ChunkAnalysis {
        file: file.to_string(),
        name: *name,
        bytes: bytes.len() as u64,
        entries: frame.positions.len(),
        first_view: 0,
        last_view: 0,
        leaves: Vec::with_capacity(if level >= VerifyLevel::Merkle { frame.positions.len() } else { 0 }),
        events: Vec::new(),
        private_domains_decrypted: 0,
        starts_with_chunk_before: false,
        ends_with_chunk_after: false,
        last_entry_offset: frame.positions.last().copied().unwrap_or(0),
    };
    if level < VerifyLevel::Headers {
        return Ok(out);
    }
    let mut min_view = 0;
    for i in 0..frame.positions.len() {
        let range = frame.entry_range(i);
        let offset = range.start as u64;
        let seqno = name.start + i as u64;
        let entry_bytes = &bytes[range];
        let view = check_entry(file, offset, entry_bytes, seqno, min_view)
            .map_err(|e| chunk_failure(VerifyLevel::Headers, e, Some(seqno)))?;
        min_view = u64::from(view.gcm.view);
        if i == 0 {
            out.first_view = min_view;
            out.starts_with_chunk_before = view.header.flags.chunk_before();
        }
        let is_last = i + 1 == frame.positions.len();
        if is_last {
            out.ends_with_chunk_after = view.header.flags.chunk_after();
        }
        // Chunk boundaries follow from the flags: "after" only on a complete chunk's last entry,
        // "before" only on a chunk's first entry.
        let misplaced_after = view.header.flags.chunk_after() && !(is_last && name.is_complete());
        let misplaced_before = view.header.flags.chunk_before() && i != 0;
        if misplaced_after || misplaced_before {
            let flag = if misplaced_after { "FORCE_LEDGER_CHUNK_AFTER" } else { "FORCE_LEDGER_CHUNK_BEFORE" };
            return Err(VerifyFailure::at(
                VerifyLevel::Headers,
                Some(file),
                Some(offset + 1),
                Some(seqno),
                format!("entry flag {flag} inside a chunk"),
            ));
        }
        if level >= VerifyLevel::Merkle {
            entry_work(&view, i, offset, opts, &mut out)?;
        }
    }
    out.last_view = min_view;
    if name.is_complete() {
        let last = frame.entry_range(frame.positions.len() - 1);
        if !is_signature(&bytes[last.clone()]) {
            return Err(VerifyFailure::at(
                VerifyLevel::Headers,
                Some(file),
                Some(last.start as u64),
                name.end,
                "complete chunk does not end with a signature transaction".into(),
            ));
        }
    }
    Ok(out)
}

/// Merkle leaf, followed tables, and private-domain checks of one entry.
fn entry_work(
    view: &EntryView<'_>,
    index: usize,
    offset: u64,
    opts: &VerifyOptions,
    out: &mut ChunkAnalysis,
) -> Result<(), VerifyFailure> {
    let tx = view.tx_id();
    let fail = |level, at: u64, message: String| {
        VerifyFailure::at(level, Some(&out.file), Some(offset + at), Some(tx.seqno), message)
    };
    let mut r = ByteReader::new(view.public);
    let header = PublicHeader::decode(&mut r).map_err(|e| fail(VerifyLevel::Headers, e.offset(), e.to_string()))?;
    let domain_start = r.position();
    let names = skim_domain_table_names(&mut r).map_err(|e| {
        fail(VerifyLevel::Headers, (view.public_offset() + domain_start) as u64 + e.offset(), e.to_string())
    })?;
    out.leaves.push(leaf_digest(&sha256(view.bytes), &header.commit_evidence_digest, &header.claims_digest));
    if names.iter().any(|n| tables::VERIFIER_TABLES.contains(n)) {
        let mut r = ByteReader::new(&view.public[domain_start..]);
        let mut ws = decode_domain(&mut r).map_err(|e| fail(VerifyLevel::Headers, e.offset(), e.to_string()))?;
        ws.maps.retain(|name, _| tables::VERIFIER_TABLES.contains(&name.as_str()));
        out.events.push(TableEvent { index, tx, offset, tables: ws });
    }
    if opts.level >= VerifyLevel::Private {
        let private_at = (view.public_offset() + view.public.len()) as u64;
        let Some(secret) = opts.ledger_secrets.secret_for(tx.seqno) else {
            return Err(fail(
                VerifyLevel::Private,
                private_at,
                format!("no ledger secret given for seqno {}", tx.seqno),
            ));
        };
        view.decrypt_private(secret.key())
            .map_err(|e| fail(VerifyLevel::Private, private_at, format!("private domain: {e}")))?;
        if header.commit_evidence_digest != secret.commit_evidence_digest(tx) {
            return Err(fail(
                VerifyLevel::Private,
                view.public_offset() as u64 + 41,
                "commit evidence digest does not match the ledger secret".into(),
            ));
        }
        out.private_domains_decrypted += 1;
    }
    Ok(())
}
