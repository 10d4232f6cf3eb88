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

    // Sizes first, so the entry is written once, in place, into a buffer of its final size
    // (a snapshot can be gigabytes: no intermediate buffers, no growth copies), and the private
    // domain is then sealed where it lies.
    let history: Vec<u8> = view_history.iter().flat_map(|start| start.to_le_bytes()).collect();
    let mut public_len = 1 + 8 + 8 + (8 + hash_at_snapshot.as_bytes().len()) + (8 + history.len());
    let mut private_len = 0;
    for name in store.table_names() {
        let len = table_len(name, store.iter_table(name));
        *(if is_public_table(name) { &mut public_len } else { &mut private_len }) += len;
    }
    let size = GCM_HEADER_BYTES + 8 + public_len + private_len;
    let header = EntryHeader { version: ENTRY_FORMAT_V1, flags: EntryFlags::default(), size: size as u64 };
    let mut bytes = Vec::with_capacity(8 + size);
    bytes.extend_from_slice(&header.encode());
    let gcm_at = bytes.len();
    bytes.resize(gcm_at + GCM_HEADER_BYTES, 0);
    bytes.extend_from_slice(&(public_len as u64).to_le_bytes());
    let public_at = bytes.len();
    bytes.push(SNAPSHOT_ENTRY_TYPE);
    bytes.extend_from_slice(&tx.seqno.to_le_bytes());
    bytes.extend_from_slice(&0u64.to_le_bytes());
    put_sized(&mut bytes, hash_at_snapshot.as_bytes());
    put_sized(&mut bytes, &history);
    for name in store.table_names().filter(|n| is_public_table(n)) {
        encode_table(&mut bytes, name, store);
    }
    let private_at = bytes.len();
    assert_eq!(private_at - public_at, public_len, "public domain size");
    for name in store.table_names().filter(|n| !is_public_table(n)) {
        encode_table(&mut bytes, name, store);
    }
    assert_eq!(bytes.len(), 8 + size, "snapshot entry size");
    let mut gcm = GcmHeader { tag: [0; GCM_TAG_BYTES], seqno: tx.seqno, view: 0, is_snapshot: true };
    let (head, private) = bytes.split_at_mut(private_at);
    gcm.tag = secret.key().seal(gcm.iv(), &head[public_at..], private);
    bytes[gcm_at..gcm_at + GCM_HEADER_BYTES].copy_from_slice(&gcm.encode());
    bytes
}

/// Bytes [`encode_table`] writes for these entries.
fn table_len<'a>(name: &str, entries: impl Iterator<Item = (&'a [u8], &'a VersionedValue)>) -> usize {
    let body: usize = entries
        .map(|(key, value)| {
            let value_len = 8 + value.value.len();
            8 + key.len() + padding(key.len()) + 8 + value_len + padding(value_len)
        })
        .sum();
    8 + name.len() + 8 + 8 + body
}

fn put_sized(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn put_padded(out: &mut Vec<u8>, len: usize) {
    out.resize(out.len() + padding(len), 0);
}

/// Name, table version, then the length-prefixed body of padded key and versioned-value records.
fn encode_table(out: &mut Vec<u8>, name: &str, store: &StoreView) {
    let table_version = store.iter_table(name).map(|(_, v)| v.version).max().unwrap_or(0);
    let body_len = table_len(name, store.iter_table(name)) - (8 + name.len() + 8 + 8);
    put_sized(out, name.as_bytes());
    out.extend_from_slice(&table_version.to_le_bytes());
    out.extend_from_slice(&(body_len as u64).to_le_bytes());
    let body_at = out.len();
    for (key, value) in store.iter_table(name) {
        put_sized(out, key);
        put_padded(out, key.len());
        let value_len = 8 + value.value.len();
        out.extend_from_slice(&(value_len as u64).to_le_bytes());
        out.extend_from_slice(&value.version.to_le_bytes());
        out.extend_from_slice(&value.value);
        put_padded(out, value_len);
    }
    assert_eq!(out.len() - body_at, body_len, "table {name} body size");
}
