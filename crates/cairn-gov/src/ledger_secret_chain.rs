//! [`LedgerSecretChain`]: every ledger secret of the service, each with the seqno from which it
//! encrypts private domains, oldest first. The node keeps it (and persists it locally); recovery
//! rebuilds it from the shares and the historical table (`recover_secret_chain`).
//!
//! # Invariants ([`LedgerSecretChain::check_invariants`])
//! 1. The chain is never empty.
//! 2. `valid_from_seqno` strictly increases along the chain.
//!
//! JSON form: `[{"valid_from_seqno": 1, "secret": "<64 hex digits>"}, ...]`; deserialising checks
//! the invariants. `Debug` never prints a secret.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// One ledger secret and the first seqno it applies to.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionedLedgerSecret {
    pub valid_from_seqno: u64,
    #[serde(serialize_with = "secret_to_hex", deserialize_with = "secret_from_hex")]
    pub secret: [u8; 32],
}

impl fmt::Debug for VersionedLedgerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VersionedLedgerSecret(from {}, <redacted>)", self.valid_from_seqno)
    }
}

fn secret_to_hex<S: Serializer>(secret: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(secret))
}

fn secret_from_hex<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
    let text = String::deserialize(d)?;
    let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
    bytes.try_into().map_err(|b: Vec<u8>| serde::de::Error::custom(format!("secret is {} bytes, not 32", b.len())))
}

/// The ordered ledger secrets of a service, latest last.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<VersionedLedgerSecret>", into = "Vec<VersionedLedgerSecret>")]
pub struct LedgerSecretChain {
    secrets: Vec<VersionedLedgerSecret>,
}

impl LedgerSecretChain {
    /// A chain holding one secret.
    pub fn new(valid_from_seqno: u64, secret: [u8; 32]) -> Self {
        LedgerSecretChain { secrets: vec![VersionedLedgerSecret { valid_from_seqno, secret }] }
    }

    /// Appends a newer secret (after a rekey); its `valid_from_seqno` must exceed the latest's.
    pub fn push(&mut self, valid_from_seqno: u64, secret: [u8; 32]) -> Result<(), String> {
        let latest = self.latest().valid_from_seqno;
        if valid_from_seqno <= latest {
            return Err(format!("new ledger secret valid from {valid_from_seqno}, not after the latest's {latest}"));
        }
        self.secrets.push(VersionedLedgerSecret { valid_from_seqno, secret });
        Ok(())
    }

    pub fn latest(&self) -> &VersionedLedgerSecret {
        self.secrets.last().expect("a chain is never empty")
    }

    /// The secret before the latest, if any.
    pub fn previous(&self) -> Option<&VersionedLedgerSecret> {
        self.secrets.len().checked_sub(2).map(|i| &self.secrets[i])
    }

    /// The secret that encrypts seqno `seqno`: the last one valid from at or before it.
    pub fn secret_for(&self, seqno: u64) -> Option<&VersionedLedgerSecret> {
        self.secrets.iter().rev().find(|s| s.valid_from_seqno <= seqno)
    }

    /// Oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &VersionedLedgerSecret> {
        self.secrets.iter()
    }

    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Always `false`: a chain holds at least one secret.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Panics, naming the broken invariant, if one of the invariants above does not hold.
    pub fn check_invariants(&self) {
        if let Err(e) = Self::check(&self.secrets) {
            panic!("ledger secret chain: {e}");
        }
    }

    fn check(secrets: &[VersionedLedgerSecret]) -> Result<(), String> {
        if secrets.is_empty() {
            return Err("chain is empty".into());
        }
        for pair in secrets.windows(2) {
            if pair[1].valid_from_seqno <= pair[0].valid_from_seqno {
                return Err(format!(
                    "valid_from_seqno {} follows {}: not strictly increasing",
                    pair[1].valid_from_seqno, pair[0].valid_from_seqno
                ));
            }
        }
        Ok(())
    }
}

impl TryFrom<Vec<VersionedLedgerSecret>> for LedgerSecretChain {
    type Error = String;

    fn try_from(secrets: Vec<VersionedLedgerSecret>) -> Result<Self, String> {
        Self::check(&secrets)?;
        Ok(LedgerSecretChain { secrets })
    }
}

impl From<LedgerSecretChain> for Vec<VersionedLedgerSecret> {
    fn from(chain: LedgerSecretChain) -> Self {
        chain.secrets
    }
}

impl fmt::Debug for LedgerSecretChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.secrets).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_keeps_order_and_lookup_finds_the_secret_in_force() {
        let mut chain = LedgerSecretChain::new(1, [1; 32]);
        assert!(chain.previous().is_none());
        chain.push(10, [2; 32]).unwrap();
        chain.push(20, [3; 32]).unwrap();
        assert_eq!(chain.push(20, [4; 32]), Err("new ledger secret valid from 20, not after the latest's 20".into()));
        chain.check_invariants();
        assert_eq!(chain.len(), 3);
        assert_eq!(chain.latest().secret, [3; 32]);
        assert_eq!(chain.previous().unwrap().secret, [2; 32]);
        let table = [(0, None), (1, Some([1; 32])), (9, Some([1; 32])), (10, Some([2; 32])), (25, Some([3; 32]))];
        for (seqno, expected) in table {
            assert_eq!(chain.secret_for(seqno).map(|s| s.secret), expected, "seqno {seqno}");
        }
    }

    #[test]
    fn json_round_trips_and_rejects_broken_chains() {
        let mut chain = LedgerSecretChain::new(1, [0xab; 32]);
        chain.push(5, [0xcd; 32]).unwrap();
        let json = serde_json::to_string(&chain).unwrap();
        assert!(json.starts_with(r#"[{"valid_from_seqno":1,"secret":"abab"#), "{json}");
        assert_eq!(serde_json::from_str::<LedgerSecretChain>(&json).unwrap(), chain);
        let cases = [
            ("[]", "chain is empty"),
            (
                r#"[{"valid_from_seqno":5,"secret":"00000000000000000000000000000000000000000000000000000000000000aa"},
                   {"valid_from_seqno":5,"secret":"00000000000000000000000000000000000000000000000000000000000000bb"}]"#,
                "not strictly increasing",
            ),
            (r#"[{"valid_from_seqno":1,"secret":"abcd"}]"#, "secret is 2 bytes"),
        ];
        for (text, expected) in cases {
            let err = serde_json::from_str::<LedgerSecretChain>(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
        assert!(!format!("{chain:?}").contains("abababab"), "Debug must not print secrets");
    }
}
