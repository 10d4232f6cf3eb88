//! Replay protection for signed governance requests, in `public:ccf.gov.cose_recent_proposals`
//! (CCF's table; key `"{created_at:020}:{hex SHA-256 of the signed content}"`, value the proposal
//! id the request created or refers to).
//!
//! A request is accepted only if
//! 1. `created_at` is within ±[`MAX_CLOCK_SKEW_S`] of the service time `now_s`, and
//! 2. its signed content (protected header + payload, see `SignedRequest::signed_content_digest`)
//!    was not seen before within the window.
//!
//! Rows older than `now_s − MAX_CLOCK_SKEW_S` are dropped whenever a request is recorded: such a
//! request would fail rule 1 anyway. The window holds at most [`MAX_RECENT_REQUESTS`] rows; a
//! request beyond that is refused (`ReplayWindowFull`) rather than growing the table (and the
//! key-index row rewritten with each request, at most ~90 KB).
//!
//! Differences from CCF: CCF keeps the newest 100 proposals and refuses anything older than their
//! median, with no clock bound; it keys on the digest of the signature bytes, which ECDSA's
//! `(r, s) → (r, n − s)` malleability lets a relay change. Cairn applies the window to every
//! governance request (proposals, ballots, withdrawals, share submissions).
//!
//! Assumption: the nodes' clocks agree within the skew; a replay can pass only if a new primary's
//! clock is more than the skew behind the one that saw the original.

use crate::key_index::{keys, put_indexed, remove_all_indexed};
use crate::{GovError, SignedRequest};
use cairn_kv::Tx;
use cairn_ledger::tables::COSE_RECENT_PROPOSALS;

/// Largest accepted difference between a request's `created_at` and the service time.
pub const MAX_CLOCK_SKEW_S: u64 = 300;
/// Most requests remembered within the window.
pub const MAX_RECENT_REQUESTS: usize = 1024;

fn created_at_of(key: &str) -> Option<u64> {
    key.split_once(':').and_then(|(t, _)| t.parse().ok())
}

/// Checks `req` against the clock window and the replay table, then records it (value
/// `proposal_id`) and drops expired rows.
pub(crate) fn check_and_record(
    tx: &mut Tx,
    req: &SignedRequest,
    now_s: u64,
    proposal_id: &str,
) -> Result<(), GovError> {
    let created_at = req.header.created_at;
    if created_at > now_s.saturating_add(MAX_CLOCK_SKEW_S) {
        return Err(GovError::CreatedInFuture { created_at, now_s, max_skew_s: MAX_CLOCK_SKEW_S });
    }
    if created_at < now_s.saturating_sub(MAX_CLOCK_SKEW_S) {
        return Err(GovError::CreatedTooLongAgo { created_at, now_s, max_skew_s: MAX_CLOCK_SKEW_S });
    }
    let digest = req.signed_content_digest().to_hex();
    let key = format!("{created_at:020}:{digest}");
    if tx.get(COSE_RECENT_PROPOSALS, key.as_bytes()).is_some() {
        return Err(GovError::Replay { created_at, digest });
    }
    let oldest_kept = now_s.saturating_sub(MAX_CLOCK_SKEW_S);
    let (kept, expired): (Vec<String>, Vec<String>) =
        keys(tx, COSE_RECENT_PROPOSALS)?.into_iter().partition(|k| created_at_of(k).is_some_and(|t| t >= oldest_kept));
    remove_all_indexed(tx, COSE_RECENT_PROPOSALS, &expired)?;
    let kept = kept.len();
    if kept >= MAX_RECENT_REQUESTS {
        return Err(GovError::ReplayWindowFull { count: kept, max: MAX_RECENT_REQUESTS });
    }
    put_indexed(tx, COSE_RECENT_PROPOSALS, &key, proposal_id.as_bytes().to_vec())
}
