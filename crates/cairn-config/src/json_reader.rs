//! [`ObjectReader`]: reads one JSON object of the configuration while tracking where it is, so
//! every error names the full path of the key (`network.rpc_interfaces.primary.bind_address`).
//!
//! Each typed getter *takes* its key; [`ObjectReader::finish`] then looks every key that was not
//! taken up in [`crate::ccf_keys`]: an ignored CCF key gives one warning, anything else is an
//! unknown key. Conventions: an absent key reads as `None` (the caller applies the default); an
//! explicit `null` is accepted only where CCF's schema allows it (`nullable_*` getters).
//! Invariant: a key is taken at most once (a second take is a bug in this crate and panics).
use crate::ccf_keys::{self, KeyUse};
use crate::config_error::ConfigError;
use crate::duration_text::parse_duration_ms;
use crate::size_text::parse_size_bytes;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// A JSON object being read, with its actual path (`command.start.members[1]`) and its pattern in
/// the key table (`command.start.members[]`).
pub(crate) struct ObjectReader<'a> {
    map: &'a Map<String, Value>,
    path: String,
    pattern: String,
    taken: BTreeSet<&'a str>,
}

/// Renders a value for an error message: strings and scalars as JSON, containers by kind.
fn describe(value: &Value) -> String {
    match value {
        Value::Object(_) => "an object".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::String(s) if s.chars().count() > 60 => {
            let head: String = s.chars().take(60).collect();
            format!("{:?}...", head)
        }
        other => other.to_string(),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

impl<'a> ObjectReader<'a> {
    /// Reader for the top-level object.
    pub fn root(value: &'a Value) -> Result<Self, ConfigError> {
        match value {
            Value::Object(map) => {
                Ok(ObjectReader { map, path: String::new(), pattern: String::new(), taken: BTreeSet::new() })
            }
            other => Err(ConfigError::WrongType {
                key: "(top level)".to_owned(),
                expected: "an object",
                got: describe(other),
            }),
        }
    }

    /// The full path of `key` in this object.
    pub fn key_path(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The full path of this object.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Takes `key`: its value if present (including `null`).
    fn take(&mut self, key: &'static str) -> Option<&'a Value> {
        let pattern = join(&self.pattern, key);
        debug_assert!(
            matches!(ccf_keys::lookup(&pattern).map(|k| k.key_use), Some(KeyUse::Used | KeyUse::CairnOnly)),
            "{pattern} is read but not listed as used in ccf_keys"
        );
        let (stored_key, value) = self.map.get_key_value(key)?;
        assert!(self.taken.insert(stored_key.as_str()), "{} taken twice", self.key_path(key));
        Some(value)
    }

    fn wrong_type(&self, key: &str, expected: &'static str, got: &Value) -> ConfigError {
        ConfigError::WrongType { key: self.key_path(key), expected, got: describe(got) }
    }

    /// Marks `key` as handled without reading it; `true` if it was present.
    pub fn skip(&mut self, key: &'static str) -> bool {
        self.take(key).is_some()
    }

    pub fn string(&mut self, key: &'static str) -> Result<Option<String>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong_type(key, "a string", other)),
        }
    }

    /// Like [`Self::string`], with `null` read as absent (CCF's `["string", "null"]` keys).
    pub fn nullable_string(&mut self, key: &'static str) -> Result<Option<String>, ConfigError> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong_type(key, "a string or null", other)),
        }
    }

    pub fn required_string(&mut self, key: &'static str) -> Result<String, ConfigError> {
        self.string(key)?.ok_or_else(|| ConfigError::Missing { key: self.key_path(key) })
    }

    /// A non-empty string naming a file or directory.
    pub fn path_string(&mut self, key: &'static str) -> Result<Option<String>, ConfigError> {
        let value = self.string(key)?;
        self.non_empty(key, value)
    }

    /// Like [`Self::path_string`], with `null` read as absent.
    pub fn nullable_path_string(&mut self, key: &'static str) -> Result<Option<String>, ConfigError> {
        let value = self.nullable_string(key)?;
        self.non_empty(key, value)
    }

    fn non_empty(&self, key: &str, value: Option<String>) -> Result<Option<String>, ConfigError> {
        match value {
            Some(s) if s.trim().is_empty() => Err(ConfigError::bad_value(self.key_path(key), "path is empty")),
            other => Ok(other),
        }
    }

    pub fn bool(&mut self, key: &'static str) -> Result<Option<bool>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong_type(key, "true or false", other)),
        }
    }

    /// An integer ≥ 1.
    pub fn positive_u64(&mut self, key: &'static str) -> Result<Option<u64>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Number(n)) if n.as_u64().is_some_and(|v| v > 0) => Ok(n.as_u64()),
            Some(Value::Number(n)) if n.as_u64() == Some(0) => {
                Err(ConfigError::bad_value(self.key_path(key), "must be at least 1, got 0"))
            }
            Some(other) => Err(self.wrong_type(key, "a positive integer", other)),
        }
    }

    /// A size: a size string (`"5MB"`) or an integer number of bytes.
    pub fn size_bytes(&mut self, key: &'static str) -> Result<Option<u64>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(bytes) => Ok(Some(bytes)),
                None => Err(ConfigError::BadSize { key: self.key_path(key), value: n.to_string() }),
            },
            Some(Value::String(s)) => match parse_size_bytes(s) {
                Some(bytes) => Ok(Some(bytes)),
                None => Err(ConfigError::BadSize { key: self.key_path(key), value: s.clone() }),
            },
            Some(other) => Err(self.wrong_type(key, "a size string such as \"5MB\" or a number of bytes", other)),
        }
    }

    /// A duration string (`"100ms"`), in milliseconds.
    pub fn duration_ms(&mut self, key: &'static str) -> Result<Option<u64>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => match parse_duration_ms(s) {
                Some(ms) => Ok(Some(ms)),
                None => Err(ConfigError::BadDuration { key: self.key_path(key), value: s.clone() }),
            },
            Some(other) => Err(self.wrong_type(key, "a duration string such as \"100ms\"", other)),
        }
    }

    /// An array of strings.
    pub fn string_array(&mut self, key: &'static str) -> Result<Option<Vec<String>>, ConfigError> {
        let Some(value) = self.take(key) else { return Ok(None) };
        let Value::Array(items) = value else { return Err(self.wrong_type(key, "an array of strings", value)) };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(s) => out.push(s.clone()),
                other => {
                    return Err(ConfigError::WrongType {
                        key: format!("{}[{i}]", self.key_path(key)),
                        expected: "a string",
                        got: describe(other),
                    });
                }
            }
        }
        Ok(Some(out))
    }

    /// A nested object.
    pub fn object(&mut self, key: &'static str) -> Result<Option<ObjectReader<'a>>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(ObjectReader {
                map,
                path: self.key_path(key),
                pattern: join(&self.pattern, key),
                taken: BTreeSet::new(),
            })),
            Some(other) => Err(self.wrong_type(key, "an object", other)),
        }
    }

    /// An object whose keys are names chosen by the operator (`rpc_interfaces`), each naming an
    /// object; entries come back in key order (as CCF's `std::map` holds them).
    pub fn named_objects(&mut self, key: &'static str) -> Result<Option<Vec<(String, ObjectReader<'a>)>>, ConfigError> {
        let Some(value) = self.take(key) else { return Ok(None) };
        let Value::Object(map) = value else { return Err(self.wrong_type(key, "an object", value)) };
        let path = self.key_path(key);
        let pattern = format!("{}.*", join(&self.pattern, key));
        let mut out = Vec::with_capacity(map.len());
        for (name, entry) in map {
            let entry_path = join(&path, name);
            let Value::Object(entry_map) = entry else {
                return Err(ConfigError::WrongType { key: entry_path, expected: "an object", got: describe(entry) });
            };
            out.push((
                name.clone(),
                ObjectReader { map: entry_map, path: entry_path, pattern: pattern.clone(), taken: BTreeSet::new() },
            ));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Some(out))
    }

    /// An array of objects (`members`).
    pub fn object_array(&mut self, key: &'static str) -> Result<Option<Vec<ObjectReader<'a>>>, ConfigError> {
        let Some(value) = self.take(key) else { return Ok(None) };
        let Value::Array(items) = value else { return Err(self.wrong_type(key, "an array of objects", value)) };
        let path = self.key_path(key);
        let pattern = format!("{}[]", join(&self.pattern, key));
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let Value::Object(map) = item else {
                return Err(ConfigError::WrongType { key: item_path, expected: "an object", got: describe(item) });
            };
            out.push(ObjectReader { map, path: item_path, pattern: pattern.clone(), taken: BTreeSet::new() });
        }
        Ok(Some(out))
    }

    /// Checks the keys that were not taken: ignored CCF keys add one warning each, anything else is
    /// an unknown key. Keys are visited in sorted order, so the outcome does not depend on the
    /// order of the file.
    pub fn finish(self, warnings: &mut Vec<String>) -> Result<(), ConfigError> {
        let mut rest: Vec<&String> = self.map.keys().filter(|k| !self.taken.contains(k.as_str())).collect();
        rest.sort();
        for key in rest {
            let path = join(&self.path, key);
            match ccf_keys::lookup(&join(&self.pattern, key)).map(|k| k.key_use) {
                Some(KeyUse::Ignored(why)) => warnings.push(format!("{path}: CCF option ignored by Cairn ({why})")),
                // A used key nobody read is a bug in this crate; report it rather than accept it silently.
                Some(KeyUse::Used | KeyUse::CairnOnly) | None => return Err(ConfigError::UnknownKey { key: path }),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_types_are_described_with_the_offending_value() {
        assert_eq!(describe(&json!("ten")), "\"ten\"");
        assert_eq!(describe(&json!(-3)), "-3");
        assert_eq!(describe(&json!(1.5)), "1.5");
        assert_eq!(describe(&json!(null)), "null");
        assert_eq!(describe(&json!({"a": 1})), "an object");
        assert_eq!(describe(&json!([1])), "an array");
        assert!(describe(&json!("x".repeat(100))).ends_with("..."));
    }

    #[test]
    fn unread_keys_are_unknown_or_warned_by_the_table() {
        let value = json!({"enclave": {"file": "x"}, "ledger": {}, "ledgr": 1});
        let mut reader = ObjectReader::root(&value).unwrap();
        reader.object("ledger").unwrap().unwrap().finish(&mut Vec::new()).unwrap();
        let mut warnings = Vec::new();
        let err = reader.finish(&mut warnings).unwrap_err();
        assert_eq!(err.to_string(), "unknown key ledgr");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("enclave: "), "{warnings:?}");
    }
}
