//! The join token (SPEC §2, **beyond CCF**): CCF gates joins into an `Opening` or `Recovering`
//! service with hardware attestation; Cairn, with no enclave, gates them with a 256-bit secret
//! that the node creating the service (a `Start`, or a `Recover`) writes to
//! `command.join_token_file` and that operators hand to the nodes they start with `Join`.
//!
//! - Only `SHA-256(token)` enters the ledger ([`JOIN_TOKEN_DIGEST`], written by the create
//!   transaction), so whichever node is primary can check a token while a ledger copy or a
//!   backup reveals nothing usable. The token is in no ledger entry, snapshot, answer, error or
//!   log line; [`JoinToken`]'s `Debug` prints no secret.
//! - A new `Start` or `Recover` records a new digest: the previous token is worthless.
//! - [`join_decision`] is the rule at `POST /node/join`, one row per case (tests below).
//!
//! The file holds 64 lowercase hex characters and a newline; [`JoinToken::parse`] accepts them
//! with or without the newline and refuses anything else.
use cairn_crypto::{Sha256, sha256};
use cairn_kv::{Store, WriteSet};
use cairn_ledger::tables::ServiceStatus;
use std::fmt;

/// `public:cairn.service.join_token_digest`: key 8 zero bytes (as `ccf.gov.service.info`),
/// value `{"sha256": "<64 hex>"}`.
pub const JOIN_TOKEN_DIGEST: &str = "public:cairn.service.join_token_digest";
const DIGEST_KEY: [u8; 8] = [0; 8];

/// A join token: 32 secret bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinToken([u8; 32]);

/// Why a presented token or a token file is not a join token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinTokenError {
    #[error("a join token is 64 lowercase hex characters; found {length} characters")]
    Length { length: usize },
    #[error("a join token is 64 lowercase hex characters; character {position} is not one")]
    NotHex { position: usize },
}

impl JoinToken {
    /// The token made of `bytes` (the caller draws them from the OS CSPRNG, or a seeded RNG in
    /// the simulator).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        JoinToken(bytes)
    }

    /// Reads the token from its file's text (one trailing newline allowed) or a request field.
    pub fn parse(text: &str) -> Result<Self, JoinTokenError> {
        let text = text.strip_suffix('\n').unwrap_or(text);
        if text.len() != 64 {
            return Err(JoinTokenError::Length { length: text.chars().count() });
        }
        if let Some(position) = text.bytes().position(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(JoinTokenError::NotHex { position });
        }
        let bytes = hex::decode(text).expect("checked above");
        Ok(JoinToken(bytes.try_into().expect("64 hex characters")))
    }

    /// The 64 hex characters, as presented in `join_token`.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The token file's contents: the hex and a newline.
    pub fn file_text(&self) -> String {
        format!("{}\n", self.to_hex())
    }

    /// What the ledger records.
    pub fn digest(&self) -> Sha256 {
        sha256(&self.0)
    }
}

impl fmt::Debug for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JoinToken(<secret>)")
    }
}

/// The create transaction's row recording `digest`.
pub fn digest_write_set(digest: &Sha256) -> WriteSet {
    let mut ws = WriteSet::new();
    let value = serde_json::json!({ "sha256": digest.to_hex() });
    ws.put(JOIN_TOKEN_DIGEST, DIGEST_KEY.to_vec(), serde_json::to_vec(&value).expect("json"));
    ws
}

/// The digest the service's create transaction recorded, if any (ledgers written before join
/// tokens existed have none: no token is valid for them).
pub fn recorded_digest(store: &Store) -> Option<Sha256> {
    let raw = store.get(JOIN_TOKEN_DIGEST, &DIGEST_KEY)?;
    let value: serde_json::Value = serde_json::from_slice(raw).ok()?;
    Sha256::from_hex(value.get("sha256")?.as_str()?)
}

/// What a join request's `join_token` amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck {
    /// The request carries no token.
    Absent,
    /// Its digest is the one the service recorded.
    Valid,
    /// Malformed, or not this service's (or this recovery's) token.
    Wrong,
}

impl TokenCheck {
    /// Checks `presented` against the recorded digest, in constant time.
    pub fn of(presented: Option<&str>, recorded: Option<&Sha256>) -> Self {
        let Some(text) = presented else { return TokenCheck::Absent };
        let Ok(token) = JoinToken::parse(text) else { return TokenCheck::Wrong };
        match recorded {
            Some(digest) if token.digest().constant_time_eq(digest) => TokenCheck::Valid,
            _ => TokenCheck::Wrong,
        }
    }
}

/// What `POST /node/join` does with a node not recorded yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinDecision {
    /// Recorded `Trusted`, endorsed and added as a learner at once.
    Trusted,
    /// Recorded `Pending`: members decide with `transition_node_to_trusted`.
    Pending,
    /// 403; nothing recorded.
    Refused,
}

/// The rule at `POST /node/join` (SPEC §2; issue table, one row each):
///
/// | service status | token | result |
/// |---|---|---|
/// | `Opening`, `Recovering` | valid | `Trusted` |
/// | any | absent | `Pending` |
/// | any | wrong | `Refused` (403) |
/// | `Open`, `WaitingForRecoveryShares` | valid | `Pending` (membership of a running service is governance) |
pub fn join_decision(status: ServiceStatus, token: TokenCheck) -> JoinDecision {
    use ServiceStatus::*;
    match (status, token) {
        (_, TokenCheck::Wrong) => JoinDecision::Refused,
        (_, TokenCheck::Absent) => JoinDecision::Pending,
        (Opening | Recovering, TokenCheck::Valid) => JoinDecision::Trusted,
        (Open | WaitingForRecoveryShares, TokenCheck::Valid) => JoinDecision::Pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ServiceStatus::*;

    const ALL: [ServiceStatus; 4] = [Opening, Recovering, Open, WaitingForRecoveryShares];

    #[test]
    fn valid_token_while_opening_or_recovering_is_trusted_at_once() {
        assert_eq!(join_decision(Opening, TokenCheck::Valid), JoinDecision::Trusted);
        assert_eq!(join_decision(Recovering, TokenCheck::Valid), JoinDecision::Trusted);
    }

    #[test]
    fn no_token_is_pending_whatever_the_status() {
        for status in ALL {
            assert_eq!(join_decision(status, TokenCheck::Absent), JoinDecision::Pending, "{status:?}");
        }
    }

    #[test]
    fn wrong_token_is_refused_whatever_the_status() {
        for status in ALL {
            assert_eq!(join_decision(status, TokenCheck::Wrong), JoinDecision::Refused, "{status:?}");
        }
    }

    #[test]
    fn valid_token_once_open_or_waiting_for_shares_is_pending() {
        assert_eq!(join_decision(Open, TokenCheck::Valid), JoinDecision::Pending);
        assert_eq!(join_decision(WaitingForRecoveryShares, TokenCheck::Valid), JoinDecision::Pending);
    }

    #[test]
    fn token_check_compares_digests_and_refuses_malformed_tokens() {
        let token = JoinToken::from_bytes([0xab; 32]);
        let other = JoinToken::from_bytes([8; 32]);
        let digest = token.digest();
        assert_eq!(TokenCheck::of(None, Some(&digest)), TokenCheck::Absent);
        assert_eq!(TokenCheck::of(Some(&token.to_hex()), Some(&digest)), TokenCheck::Valid);
        assert_eq!(TokenCheck::of(Some(&other.to_hex()), Some(&digest)), TokenCheck::Wrong);
        assert_eq!(TokenCheck::of(Some(&token.to_hex().to_uppercase()), Some(&digest)), TokenCheck::Wrong);
        assert_eq!(TokenCheck::of(Some("short"), Some(&digest)), TokenCheck::Wrong);
        // A service that recorded no digest accepts no token.
        assert_eq!(TokenCheck::of(Some(&token.to_hex()), None), TokenCheck::Wrong);
    }

    #[test]
    fn token_file_round_trips_and_malformed_files_name_the_fault() {
        let token = JoinToken::from_bytes([0xab; 32]);
        let text = token.file_text();
        assert_eq!(text.len(), 65);
        assert!(text.ends_with('\n'));
        assert_eq!(JoinToken::parse(&text).unwrap(), token);
        assert_eq!(JoinToken::parse(&token.to_hex()).unwrap(), token);
        assert_eq!(JoinToken::parse("abc\n"), Err(JoinTokenError::Length { length: 3 }));
        let mut bad = token.to_hex();
        bad.replace_range(5..6, "g");
        assert_eq!(JoinToken::parse(&bad), Err(JoinTokenError::NotHex { position: 5 }));
        assert_eq!(format!("{token:?}"), "JoinToken(<secret>)");
    }

    #[test]
    fn digest_is_recorded_and_read_back() {
        let token = JoinToken::from_bytes([1; 32]);
        let mut store = Store::new();
        assert_eq!(recorded_digest(&store), None);
        store.apply(&digest_write_set(&token.digest()), 1).unwrap();
        assert_eq!(recorded_digest(&store), Some(token.digest()));
    }
}
