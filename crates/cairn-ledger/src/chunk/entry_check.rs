use super::{ChunkError, ChunkErrorKind};
use crate::format::EntryView;

/// Header-level checks of one entry at `offset` of `file`: framing, version and flags, seqno in
/// the IV equal to `expected_seqno`, view not below `min_view`, public-header seqno equal to the
/// IV seqno.
pub fn check_entry<'a>(
    file: &str,
    offset: u64,
    bytes: &'a [u8],
    expected_seqno: u64,
    min_view: u64,
) -> Result<EntryView<'a>, ChunkError> {
    let err = |at: u64, kind| ChunkError { file: file.to_string(), offset: offset + at, kind };
    let view = EntryView::parse(bytes).map_err(|e| err(e.offset(), ChunkErrorKind::Entry(e)))?;
    if view.gcm.seqno != expected_seqno {
        return Err(err(8 + 16, ChunkErrorKind::SeqnoMismatch { expected: expected_seqno, found: view.gcm.seqno }));
    }
    if u64::from(view.gcm.view) < min_view {
        return Err(err(8 + 24, ChunkErrorKind::ViewRegressed { previous: min_view, found: u64::from(view.gcm.view) }));
    }
    let public = view.public_header().map_err(|e| err(e.offset(), ChunkErrorKind::Entry(e)))?;
    if public.seqno != view.gcm.seqno {
        return Err(err(
            view.public_offset() as u64 + 1,
            ChunkErrorKind::PublicSeqnoMismatch { iv: view.gcm.seqno, public: public.seqno },
        ));
    }
    Ok(view)
}
