//! Duration strings, CCF style: an unsigned integer and a unit, `"100ms"`, `"1s"`, `"2min"`,
//! `"1h"`, `"10000us"`. Units are case-insensitive; a unit is required (a bare `"100"` is
//! ambiguous and refused). Cairn keeps durations in whole milliseconds, so a `us` value must be a
//! whole number of milliseconds. Invariant: a returned value is exact (no rounding, no overflow).

/// The number of milliseconds `text` denotes, or `None` when it is not a duration string.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    let t = text.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = t.split_at(digits_end);
    if number.is_empty() {
        return None;
    }
    let value: u64 = number.parse().ok()?;
    match unit.trim_start().to_ascii_lowercase().as_str() {
        "us" => value.is_multiple_of(1000).then_some(value / 1000),
        "ms" => Some(value),
        "s" => value.checked_mul(1000),
        "min" => value.checked_mul(60_000),
        "h" => value.checked_mul(3_600_000),
        _ => None,
    }
}

/// Renders a duration for a configuration file: `"<n>ms"`, which `parse_duration_ms` reads back.
pub fn format_duration_ms(ms: u64) -> String {
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_strings_parse_like_ccf() {
        let table: [(&str, Option<u64>); 17] = [
            ("100ms", Some(100)),
            ("1000ms", Some(1000)),
            ("1s", Some(1000)),
            ("2min", Some(120_000)),
            ("1h", Some(3_600_000)),
            ("10000us", Some(10)),
            ("4000MS", Some(4000)),
            (" 5 s ", Some(5000)),
            ("0ms", Some(0)),
            ("1500us", None),
            ("100", None),
            ("10 parsecs", None),
            ("ms", None),
            ("1.5s", None),
            ("-1s", None),
            ("", None),
            ("99999999999999999999h", None),
        ];
        for (text, want) in table {
            assert_eq!(parse_duration_ms(text), want, "{text:?}");
        }
    }

    #[test]
    fn formatted_durations_read_back() {
        for ms in [0, 1, 100, 4000, u64::MAX] {
            assert_eq!(parse_duration_ms(&format_duration_ms(ms)), Some(ms));
        }
    }
}
