//! Durations as people type them on a command line: a decimal number and a unit, `500ms`,
//! `10s`, `1.5s`, `2m`, `1h`. A unit is required (`10` alone is ambiguous and refused).

/// Parses `text` into a duration; the error says what was wrong with it.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("duration {text:?}: missing unit (ms, s, m or h)"))?;
    let (number, unit) = t.split_at(split);
    let seconds_per_unit = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("duration {text:?}: unknown unit {unit:?} (ms, s, m or h)")),
    };
    let value: f64 = number.parse().map_err(|_| format!("duration {text:?}: {number:?} is not a number"))?;
    std::time::Duration::try_from_secs_f64(value * seconds_per_unit).map_err(|e| format!("duration {text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_with_units_parse() {
        let table = [
            ("500ms", Duration::from_millis(500)),
            ("10s", Duration::from_secs(10)),
            ("1.5s", Duration::from_millis(1500)),
            ("2m", Duration::from_secs(120)),
            ("3min", Duration::from_secs(180)),
            ("1h", Duration::from_secs(3600)),
            (" 0s ", Duration::ZERO),
        ];
        for (text, want) in table {
            assert_eq!(parse_duration(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn durations_without_unit_or_number_are_refused_with_the_reason() {
        let table = [
            ("10", "missing unit"),
            ("", "missing unit"),
            ("10 s", "unknown unit"),
            ("10sec", "unknown unit"),
            ("ms", "not a number"),
            ("1.2.3s", "not a number"),
            ("-5s", "unknown unit"),
        ];
        for (text, reason) in table {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains(reason), "{text:?}: {err}");
        }
    }
}
