use cairn_crypto::{Sha256, sha256_parts};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One step of a Merkle inclusion proof: the sibling's digest and the side it is on. In CCF's
/// receipt JSON a step is `{"left": hex}` (hash = SHA-256(sibling ‖ current)) or
/// `{"right": hex}` (hash = SHA-256(current ‖ sibling)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofStep {
    Left(Sha256),
    Right(Sha256),
}

impl ProofStep {
    /// The parent of `current` and this step's sibling.
    pub fn apply(&self, current: &Sha256) -> Sha256 {
        match self {
            ProofStep::Left(sibling) => sha256_parts(&[sibling.as_bytes(), current.as_bytes()]),
            ProofStep::Right(sibling) => sha256_parts(&[current.as_bytes(), sibling.as_bytes()]),
        }
    }

    pub fn sibling(&self) -> &Sha256 {
        match self {
            ProofStep::Left(s) | ProofStep::Right(s) => s,
        }
    }

    /// The root reached from `leaf` by walking `steps` in order.
    pub fn walk(leaf: &Sha256, steps: &[ProofStep]) -> Sha256 {
        steps.iter().fold(*leaf, |current, step| step.apply(&current))
    }
}

impl Serialize for ProofStep {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (side, digest) = match self {
            ProofStep::Left(d) => ("left", d),
            ProofStep::Right(d) => ("right", d),
        };
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(side, &digest.to_hex())?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for ProofStep {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StepVisitor;
        impl<'de> Visitor<'de> for StepVisitor {
            type Value = ProofStep;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a proof step {"left": hex} or {"right": hex}"#)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ProofStep, A::Error> {
                let (side, hex): (String, String) =
                    map.next_entry()?.ok_or_else(|| de::Error::custom("empty proof step"))?;
                if map.next_key::<String>()?.is_some() {
                    return Err(de::Error::custom("a proof step has exactly one of `left` or `right`"));
                }
                let digest = Sha256::from_hex(&hex)
                    .ok_or_else(|| de::Error::custom(format!("proof step {side}: {hex:?} is not a hex SHA-256")))?;
                match side.as_str() {
                    "left" => Ok(ProofStep::Left(digest)),
                    "right" => Ok(ProofStep::Right(digest)),
                    other => Err(de::Error::custom(format!("proof step side {other:?} (expected left or right)"))),
                }
            }
        }
        deserializer.deserialize_map(StepVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_crypto::sha256;

    #[test]
    fn proof_steps_use_ccf_json_and_hash_sibling_on_its_side() {
        let (a, b) = (sha256(b"a"), sha256(b"b"));
        let steps = [ProofStep::Left(a), ProofStep::Right(b)];
        let json = serde_json::to_string(&steps).unwrap();
        assert_eq!(json, format!(r#"[{{"left":"{}"}},{{"right":"{}"}}]"#, a.to_hex(), b.to_hex()));
        assert_eq!(serde_json::from_str::<Vec<ProofStep>>(&json).unwrap(), steps);
        let leaf = sha256(b"leaf");
        let expected = sha256_parts(&[sha256_parts(&[a.as_bytes(), leaf.as_bytes()]).as_bytes(), b.as_bytes()]);
        assert_eq!(ProofStep::walk(&leaf, &steps), expected);
    }

    #[test]
    fn malformed_proof_steps_are_rejected() {
        let d = sha256(b"d").to_hex();
        let table = [
            "{}".to_string(),
            format!(r#"{{"up":"{d}"}}"#),
            r#"{"left":"zz"}"#.to_string(),
            format!(r#"{{"left":"{}"}}"#, &d[2..]),
            format!(r#"{{"left":"{d}","right":"{d}"}}"#),
        ];
        for bad in table {
            assert!(serde_json::from_str::<ProofStep>(&bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<ProofStep>(&format!(r#"{{"right":"{d}"}}"#)).is_ok());
    }
}
