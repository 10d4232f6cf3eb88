//! A domain (public or private) is a sequence of maps, each:
//! name (u64 len + bytes), read version u64, read count u64 (always 0), write count u64 then
//! (u64 len + key, u64 len + value) pairs, remove count u64 then (u64 len + key).
use super::byte_reader::put_sized;
use super::{ByteReader, FormatError};
use cairn_kv::{MapWrites, WriteSet};
use std::collections::BTreeMap;

/// Appends the canonical encoding of `ws` (maps by name, writes then removes by key).
pub fn encode_domain(ws: &WriteSet, out: &mut Vec<u8>) {
    for (name, map) in &ws.maps {
        put_sized(out, name.as_bytes());
        out.extend_from_slice(&map.read_version.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes());
        let writes: Vec<_> = map.writes.iter().filter_map(|(k, v)| v.as_ref().map(|v| (k, v))).collect();
        out.extend_from_slice(&(writes.len() as u64).to_le_bytes());
        for (k, v) in writes {
            put_sized(out, k);
            put_sized(out, v);
        }
        let removes: Vec<_> = map.writes.iter().filter(|(_, v)| v.is_none()).map(|(k, _)| k).collect();
        out.extend_from_slice(&(removes.len() as u64).to_le_bytes());
        for k in removes {
            put_sized(out, k);
        }
    }
}

struct MapHeader<'a> {
    name: &'a str,
    read_version: u64,
}

fn map_header<'a>(r: &mut ByteReader<'a>) -> Result<MapHeader<'a>, FormatError> {
    let at = r.position() as u64;
    let name = r.sized("map name")?;
    let name = std::str::from_utf8(name).map_err(|e| FormatError::Invalid {
        offset: at,
        field: "map name",
        reason: e.to_string(),
    })?;
    let read_version = r.u64("read version")?;
    let at = r.position() as u64;
    let reads = r.u64("read count")?;
    if reads != 0 {
        return Err(FormatError::Invalid { offset: at, field: "read count", reason: format!("{reads} (must be 0)") });
    }
    Ok(MapHeader { name, read_version })
}

/// Decodes a whole domain (everything in `r` up to its end).
pub fn decode_domain(r: &mut ByteReader<'_>) -> Result<WriteSet, FormatError> {
    let mut maps = BTreeMap::new();
    while !r.is_empty() {
        let at = r.position() as u64;
        let h = map_header(r)?;
        let mut map = MapWrites { read_version: h.read_version, writes: BTreeMap::new() };
        let writes = r.count(16, "write count")?;
        for _ in 0..writes {
            let k = r.sized("key")?.to_vec();
            let v = r.sized("value")?.to_vec();
            map.writes.insert(k, Some(v));
        }
        let removes = r.count(8, "remove count")?;
        for _ in 0..removes {
            map.writes.insert(r.sized("removed key")?.to_vec(), None);
        }
        if maps.insert(h.name.to_string(), map).is_some() {
            return Err(FormatError::Invalid {
                offset: at,
                field: "map name",
                reason: format!("{} appears twice", h.name),
            });
        }
    }
    Ok(WriteSet { maps })
}

/// Walks a domain checking its framing and returns the table names, without copying keys or
/// values (the verifier's fast path).
pub fn skim_domain_table_names<'a>(r: &mut ByteReader<'a>) -> Result<Vec<&'a str>, FormatError> {
    let mut names = Vec::new();
    while !r.is_empty() {
        let h = map_header(r)?;
        let writes = r.count(16, "write count")?;
        for _ in 0..writes {
            r.sized("key")?;
            r.sized("value")?;
        }
        let removes = r.count(8, "remove count")?;
        for _ in 0..removes {
            r.sized("removed key")?;
        }
        names.push(h.name);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn write_set() -> impl Strategy<Value = WriteSet> {
        let map = (
            any::<u64>(),
            prop::collection::btree_map(
                prop::collection::vec(any::<u8>(), 0..8),
                prop::option::of(prop::collection::vec(any::<u8>(), 0..16)),
                0..5,
            ),
        )
            .prop_map(|(read_version, writes)| MapWrites { read_version, writes });
        prop::collection::btree_map("[a-z:.]{0,12}", map, 0..4).prop_map(|maps| WriteSet { maps })
    }

    proptest! {
        #[test]
        fn domain_round_trips(ws in write_set()) {
            let mut buf = Vec::new();
            encode_domain(&ws, &mut buf);
            let back = decode_domain(&mut ByteReader::new(&buf)).unwrap();
            prop_assert_eq!(&back, &ws);
            let names = skim_domain_table_names(&mut ByteReader::new(&buf)).unwrap();
            prop_assert_eq!(names.len(), ws.maps.len());
        }

        #[test]
        fn domain_decoder_never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_domain(&mut ByteReader::new(&bytes));
            let _ = skim_domain_table_names(&mut ByteReader::new(&bytes));
        }
    }

    #[test]
    fn nonzero_read_count_is_rejected_with_its_offset() {
        let mut buf = Vec::new();
        put_sized(&mut buf, b"t");
        buf.extend_from_slice(&0u64.to_le_bytes());
        buf.extend_from_slice(&1u64.to_le_bytes());
        let err = decode_domain(&mut ByteReader::new(&buf)).unwrap_err();
        assert_eq!(err, FormatError::Invalid { offset: 17, field: "read count", reason: "1 (must be 0)".into() });
    }
}
