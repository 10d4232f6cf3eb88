//! Size strings, CCF style: an unsigned integer followed by an optional unit, `"5MB"`, `"512KB"`,
//! `"1GiB"`, `"2048"` (bytes). Units are case-insensitive; `KB`/`MB`/`GB`/`TB` are powers of 1024
//! exactly as in CCF (`ds::convert_size_string`), and the `KiB`/`MiB`/`GiB`/`TiB` spellings mean the
//! same. Invariant: a returned size is the exact number of bytes, never rounded or saturated
//! (overflowing `u64` is an error).

/// The number of bytes `text` denotes, or `None` when it is not a size string.
pub fn parse_size_bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits_end);
    if number.is_empty() {
        return None;
    }
    let value: u64 = number.parse().ok()?;
    let power = match unit.trim_start().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "kb" | "kib" => 1,
        "mb" | "mib" => 2,
        "gb" | "gib" => 3,
        "tb" | "tib" => 4,
        _ => return None,
    };
    value.checked_mul(1024u64.checked_pow(power)?)
}

/// Renders `bytes` the way a person would write it in a configuration file: the largest unit that
/// divides it exactly (`5242880` → `"5MB"`, `1000` → `"1000B"`). `parse_size_bytes` reads it back.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)];
    for (unit, factor) in UNITS {
        if bytes != 0 && bytes.is_multiple_of(factor) {
            return format!("{}{unit}", bytes / factor);
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_strings_parse_like_ccf() {
        let table: [(&str, Option<u64>); 18] = [
            ("5MB", Some(5 * 1024 * 1024)),
            ("512KB", Some(512 * 1024)),
            ("1GiB", Some(1 << 30)),
            ("1gb", Some(1 << 30)),
            ("2TB", Some(2 << 40)),
            ("2048", Some(2048)),
            ("100B", Some(100)),
            ("16 KB", Some(16 * 1024)),
            (" 7MiB ", Some(7 << 20)),
            ("0B", Some(0)),
            ("5XB", None),
            ("MB", None),
            ("", None),
            ("-5MB", None),
            ("1.5MB", None),
            ("5 M B", None),
            ("99999999999999999999", None),
            ("20000000TB", None),
        ];
        for (text, want) in table {
            assert_eq!(parse_size_bytes(text), want, "{text:?}");
        }
    }

    #[test]
    fn formatted_sizes_read_back_to_the_same_bytes() {
        for bytes in [0, 1, 1000, 1024, 1536, 5 << 20, (1 << 30) + 1, 3 << 40, u64::MAX] {
            let text = format_size(bytes);
            assert_eq!(parse_size_bytes(&text), Some(bytes), "{bytes} -> {text:?}");
        }
        assert_eq!(format_size(5 << 20), "5MB");
    }
}
