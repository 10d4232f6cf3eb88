use super::{SNAPSHOT_ENTRY_TYPE, is_valid_view_history, padding, view_at};
use crate::LedgerSecret;
use crate::format::{ENTRY_FORMAT_V1, EntryFlags, EntryHeader, GCM_HEADER_BYTES, GcmHeader, TxId};
use cairn_crypto::{GCM_TAG_BYTES, Sha256};
use cairn_kv::{StoreView, VersionedValue, is_public_table};

/// Encodes the store `store` at transaction `tx` as a CCF snapshot entry (layout in the module
/// documentation). `hash_at_snapshot` is the Merkle leaf of `tx` (`MerkleTree::leaf`);
/// `view_history` is CCF's view history up to `tx` ([`super::view_history_from_starts`]).
///
/// Deterministic: the same store, tx, secret and history always give the same bytes.
/// Panics if `store` is not at `tx.seqno` or the view history disagrees with `tx.view` (bugs).
pub fn encode_snapshot(
    store: &StoreView,
    tx: TxId,
    secret: &LedgerSecret,
    hash_at_snapshot: &Sha256,
    view_history: &[u64],
) -> Vec<u8> {
    assert_eq!(store.version(), tx.seqno, "a snapshot at {tx} needs the store at version {}", tx.seqno);
    assert!(
        is_valid_view_history(view_history) && view_history.last().is_none_or(|last| *last <= tx.seqno),
        "view history {view_history:?} must not decrease nor pass seqno {}",
        tx.seqno
    );
    assert_eq!(view_at(view_history, tx.seqno), tx.view, "view history {view_history:?} disagrees with tx {tx}");

    let mut public = Vec::new();
    public.push(SNAPSHOT_ENTRY_TYPE);
    public.extend_from_slice(&tx.seqno.to_le_bytes());
    public.extend_from_slice(&0u64.to_le_bytes());
    put_sized(&mut public, hash_at_snapshot.as_bytes());
    let history: Vec<u8> = view_history.iter().flat_map(|start| start.to_le_bytes()).collect();
    put_sized(&mut public, &history);
    let mut private = Vec::new();
    for name in store.table_names() {
        let out = if is_public_table(name) { &mut public } else { &mut private };
        encode_table(out, name, store.iter_table(name));
    }

    let mut gcm = GcmHeader { tag: [0; GCM_TAG_BYTES], seqno: tx.seqno, view: 0, is_snapshot: true };
    gcm.tag = secret.key().seal(gcm.iv(), &public, &mut private);
    let size = GCM_HEADER_BYTES + 8 + public.len() + private.len();
    let header = EntryHeader { version: ENTRY_FORMAT_V1, flags: EntryFlags::default(), size: size as u64 };
    let mut bytes = Vec::with_capacity(8 + size);
    bytes.extend_from_slice(&header.encode());
    bytes.extend_from_slice(&gcm.encode());
    put_sized(&mut bytes, &public);
    bytes.extend_from_slice(&private);
    bytes
}

fn put_sized(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn put_padded(out: &mut Vec<u8>, len: usize) {
    out.resize(out.len() + padding(len), 0);
}

/// Name, table version, then the length-prefixed body of padded key and versioned-value records.
fn encode_table<'a>(out: &mut Vec<u8>, name: &str, entries: impl Iterator<Item = (&'a [u8], &'a VersionedValue)>) {
    let mut body = Vec::new();
    let mut table_version = 0;
    for (key, value) in entries {
        put_sized(&mut body, key);
        put_padded(&mut body, key.len());
        let value_len = 8 + value.value.len();
        body.extend_from_slice(&(value_len as u64).to_le_bytes());
        body.extend_from_slice(&value.version.to_le_bytes());
        body.extend_from_slice(&value.value);
        put_padded(&mut body, value_len);
        table_version = table_version.max(value.version);
    }
    put_sized(out, name.as_bytes());
    out.extend_from_slice(&table_version.to_le_bytes());
    put_sized(out, &body);
}
