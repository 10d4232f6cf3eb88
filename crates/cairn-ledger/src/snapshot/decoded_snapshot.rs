use super::{SNAPSHOT_ENTRY_TYPE, SnapshotError, is_valid_view_history, padding, snapshot_entry_len, view_at};
use crate::LedgerSecret;
use crate::format::{ByteReader, ENTRY_HEADER_BYTES, FormatError, GCM_HEADER_BYTES, GcmHeader, TxId};
use cairn_crypto::{GCM_TAG_BYTES, Sha256};
use cairn_kv::{Store, VersionedValue, WriteSet, is_public_table};
use std::collections::BTreeMap;

/// One table of a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotTable {
    /// The table's version as recorded: the last seqno that wrote the table.
    pub version: u64,
    pub entries: BTreeMap<Vec<u8>, VersionedValue>,
}

/// A decoded snapshot: the store's tables with every value's version, and CCF's header fields.
///
/// Invariants (checked by the decoder and [`DecodedSnapshot::check_invariants`]): every value
/// version `v` satisfies `1 <= v <= table.version <= tx.seqno`; `public:` tables are exactly
/// those of the public domain; the view history never decreases and ends at or before the
/// snapshot's seqno.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedSnapshot {
    /// The snapshot's seqno, with its view from the view history (0 if the history is empty).
    pub tx: TxId,
    /// The Merkle leaf of transaction `tx`, if recorded.
    pub hash_at_snapshot: Option<Sha256>,
    /// CCF's view history up to `tx` (see `view_history`).
    pub view_history: Vec<u64>,
    pub tables: BTreeMap<String, SnapshotTable>,
    /// `false` when only the public domain was read ([`decode_snapshot_public`]).
    pub includes_private: bool,
    /// Removed keys recorded by CCF as tombstones (never written by Cairn); not in `tables`.
    pub tombstones: u64,
}

impl DecodedSnapshot {
    /// The store the snapshot describes: same tables, keys, values and versions, at version
    /// `tx.seqno`. O(seqno + entries): seqnos that wrote nothing still advance the version.
    pub fn into_store(self) -> Store {
        let mut by_version: BTreeMap<u64, WriteSet> = BTreeMap::new();
        for (name, table) in self.tables {
            for (key, value) in table.entries {
                by_version.entry(value.version).or_default().put(
                    &name,
                    key,
                    std::sync::Arc::unwrap_or_clone(value.value),
                );
            }
        }
        let mut store = Store::new();
        let nothing = WriteSet::new();
        for seqno in 1..=self.tx.seqno {
            store.apply(by_version.get(&seqno).unwrap_or(&nothing), seqno).expect("seqnos applied in order");
        }
        store
    }

    pub fn check_invariants(&self) -> Result<(), String> {
        if !is_valid_view_history(&self.view_history) || self.view_history.last().is_some_and(|l| *l > self.tx.seqno) {
            return Err(format!("view history {:?} is not valid up to seqno {}", self.view_history, self.tx.seqno));
        }
        for (name, table) in &self.tables {
            if table.version > self.tx.seqno {
                return Err(format!("table {name} version {} is after the snapshot", table.version));
            }
            if let Some((key, v)) = table.entries.iter().find(|(_, v)| v.version == 0 || v.version > table.version) {
                return Err(format!("table {name} key \"{}\" has version {}", key.escape_ascii(), v.version));
            }
            if !self.includes_private && !is_public_table(name) {
                return Err(format!("private table {name} in a public-only decode"));
            }
        }
        Ok(())
    }
}

/// Decodes a snapshot entry (exactly the entry: see [`snapshot_entry_len`] to split a
/// committed file), decrypting its private domain with `secret`, which also authenticates the
/// public domain (the AAD).
pub fn decode_snapshot(bytes: &[u8], secret: &LedgerSecret) -> Result<DecodedSnapshot, SnapshotError> {
    decode(bytes, Some(secret))
}

/// Decodes only the public tables (a recovering node before the ledger secret is restored).
/// Nothing authenticates them here: check the snapshot's receipt and digest first
/// ([`super::verify_committed_snapshot`]).
pub fn decode_snapshot_public(bytes: &[u8]) -> Result<DecodedSnapshot, SnapshotError> {
    decode(bytes, None)
}

fn decode(bytes: &[u8], secret: Option<&LedgerSecret>) -> Result<DecodedSnapshot, SnapshotError> {
    let entry_len = snapshot_entry_len(bytes)?;
    if entry_len != bytes.len() {
        let reason = format!(
            "{} bytes follow the {entry_len}-byte entry (a committed file's receipt? split it with snapshot_entry_len)",
            bytes.len() - entry_len
        );
        return Err(FormatError::Invalid { offset: entry_len as u64, field: "snapshot entry end", reason }.into());
    }
    let mut r = ByteReader::new(bytes);
    r.bytes(ENTRY_HEADER_BYTES, "entry header")?;
    let gcm = GcmHeader::decode(r.bytes(GCM_HEADER_BYTES, "GCM header")?)?;
    if !gcm.is_snapshot {
        let offset = (ENTRY_HEADER_BYTES + GCM_TAG_BYTES + 8) as u64;
        return Err(FormatError::Invalid {
            offset,
            field: "GCM IV view",
            reason: "the snapshot bit (31) is not set".into(),
        }
        .into());
    }
    let public_start = r.position() + 8;
    let public = r.sized("public domain")?;
    let private_start = r.position();

    let mut d = Domain { r: ByteReader::new(public), base: public_start as u64 };
    let mut snapshot = read_public_header(&mut d, gcm.seqno)?;
    read_tables(&mut d, true, &mut snapshot)?;
    if let Some(secret) = secret {
        let mut plain = bytes[private_start..].to_vec();
        secret
            .key()
            .open(gcm.iv(), public, &mut plain, &gcm.tag)
            .map_err(|_| SnapshotError::Decrypt { offset: private_start as u64 })?;
        read_tables(&mut Domain { r: ByteReader::new(&plain), base: private_start as u64 }, false, &mut snapshot)?;
        snapshot.includes_private = true;
    }
    debug_assert_eq!(snapshot.check_invariants(), Ok(()));
    Ok(snapshot)
}

/// A reader over one domain whose errors carry file offsets.
struct Domain<'a> {
    r: ByteReader<'a>,
    base: u64,
}

impl<'a> Domain<'a> {
    fn offset(&self) -> u64 {
        self.base + self.r.position() as u64
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, FormatError> {
        self.r.u8(what).map_err(|e| e.shifted(self.base))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, FormatError> {
        self.r.u64(what).map_err(|e| e.shifted(self.base))
    }

    fn sized(&mut self, what: &'static str) -> Result<&'a [u8], FormatError> {
        self.r.sized(what).map_err(|e| e.shifted(self.base))
    }

    fn bytes(&mut self, len: u64, what: &'static str) -> Result<&'a [u8], FormatError> {
        let at = self.offset();
        let n = usize::try_from(len).map_err(|_| FormatError::Truncated {
            offset: at,
            needed: len,
            available: self.r.remaining() as u64,
            what,
        })?;
        self.r.bytes(n, what).map_err(|e| e.shifted(self.base))
    }

    /// The zero padding after a record field of `len` bytes.
    fn padding(&mut self, len: u64) -> Result<(), FormatError> {
        let at = self.offset();
        let pad = self.bytes(padding((len % 8) as usize) as u64, "padding")?;
        if pad.iter().any(|b| *b != 0) {
            return Err(invalid(at, "padding", format!("{pad:02x?} (must be zero)")));
        }
        Ok(())
    }
}

fn invalid(offset: u64, field: &'static str, reason: String) -> FormatError {
    FormatError::Invalid { offset, field, reason }
}

fn read_public_header(d: &mut Domain<'_>, iv_seqno: u64) -> Result<DecodedSnapshot, SnapshotError> {
    let at = d.offset();
    let entry_type = d.u8("entry type")?;
    if entry_type != SNAPSHOT_ENTRY_TYPE {
        return Err(
            invalid(at, "entry type", format!("{entry_type} (a snapshot has type {SNAPSHOT_ENTRY_TYPE})")).into()
        );
    }
    let at = d.offset();
    let seqno = d.u64("snapshot seqno")?;
    if seqno != iv_seqno {
        return Err(invalid(at, "snapshot seqno", format!("{seqno}, but the GCM IV says {iv_seqno}")).into());
    }
    let at = d.offset();
    let max_conflict_version = d.u64("max_conflict_version")?;
    if max_conflict_version != 0 {
        return Err(invalid(at, "max_conflict_version", format!("{max_conflict_version} (CCF writes 0)")).into());
    }
    let at = d.offset();
    let hash_at_snapshot = match d.sized("hash at snapshot")? {
        [] => None,
        hash => Some(
            Sha256::from_slice(hash)
                .ok_or_else(|| invalid(at, "hash at snapshot", format!("{} bytes (expected 32 or 0)", hash.len())))?,
        ),
    };
    let at = d.offset();
    let raw = d.sized("view history")?;
    if raw.len() % 8 != 0 {
        return Err(invalid(at, "view history", format!("{} bytes, not a multiple of 8", raw.len())).into());
    }
    let view_history: Vec<u64> =
        raw.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
    if !is_valid_view_history(&view_history) || view_history.last().is_some_and(|last| *last > seqno) {
        let reason = format!("{view_history:?} decreases or passes seqno {seqno}");
        return Err(invalid(at, "view history", reason).into());
    }
    Ok(DecodedSnapshot {
        tx: TxId::new(view_at(&view_history, seqno), seqno),
        hash_at_snapshot,
        view_history,
        tables: BTreeMap::new(),
        includes_private: false,
        tombstones: 0,
    })
}

/// Reads tables to the end of the domain into `snapshot`.
fn read_tables(d: &mut Domain<'_>, public_domain: bool, snapshot: &mut DecodedSnapshot) -> Result<(), SnapshotError> {
    let seqno = snapshot.tx.seqno;
    while !d.r.is_empty() {
        let at = d.offset();
        let name = std::str::from_utf8(d.sized("table name")?)
            .map_err(|e| invalid(at, "table name", e.to_string()))?
            .to_string();
        if is_public_table(&name) != public_domain {
            let domain = if public_domain { "public" } else { "private" };
            return Err(invalid(at, "table name", format!("{name} does not belong in the {domain} domain")).into());
        }
        let version_at = d.offset();
        let version = d.u64("table version")?;
        if version > seqno {
            return Err(
                invalid(version_at, "table version", format!("{version} is after the snapshot at {seqno}")).into()
            );
        }
        let body_base = d.offset() + 8;
        let body = d.sized("table body")?;
        let table = read_table_body(&mut Domain { r: ByteReader::new(body), base: body_base }, &name, version)?;
        snapshot.tombstones += table.1;
        if snapshot.tables.insert(name.clone(), table.0).is_some() {
            return Err(invalid(at, "table name", format!("{name} appears twice")).into());
        }
    }
    Ok(())
}

/// The records of one table, and the number of tombstones skipped.
fn read_table_body(b: &mut Domain<'_>, name: &str, version: u64) -> Result<(SnapshotTable, u64), FormatError> {
    let mut table = SnapshotTable { version, entries: BTreeMap::new() };
    let mut tombstones = 0;
    while !b.r.is_empty() {
        let key_at = b.offset();
        let key = b.sized("key")?;
        b.padding(key.len() as u64)?;
        let value_at = b.offset();
        let value_len = b.u64("value length")?;
        if value_len < 8 {
            return Err(invalid(value_at, "value length", format!("{value_len} (at least the 8-byte version)")));
        }
        let value_version = b.u64("value version")?;
        let value = b.bytes(value_len - 8, "value")?;
        b.padding(value_len)?;
        if (value_version as i64) < 0 {
            if !value.is_empty() {
                return Err(invalid(value_at, "value", format!("a tombstone of table {name} has a value")));
            }
            tombstones += 1;
            continue;
        }
        if value_version == 0 || value_version > version {
            let reason = format!("{value_version} in table {name} (must be 1..={version}, the table version)");
            return Err(invalid(value_at + 8, "value version", reason));
        }
        let value = VersionedValue { version: value_version, value: std::sync::Arc::new(value.to_vec()) };
        if table.entries.insert(key.to_vec(), value).is_some() {
            return Err(invalid(key_at, "key", format!("\"{}\" appears twice in table {name}", key.escape_ascii())));
        }
    }
    Ok((table, tombstones))
}
