//! `consensus`: Raft timing. [`ConsensusSection`].
//!
//! Invariants (`check_invariants`): `0 < message_timeout_ms < election_timeout_ms` (a primary
//! must be heard from several times per election timeout, or backups keep starting elections).
use crate::config_error::ConfigError;
use crate::duration_text::format_duration_ms;
use crate::json_reader::ObjectReader;
use serde_json::{Value, json};

/// `consensus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsensusSection {
    /// `message_timeout` [`100ms`]: the primary's heartbeat interval.
    pub message_timeout_ms: u64,
    /// `election_timeout` [`4000ms`]: a backup that hears nothing this long starts an election.
    pub election_timeout_ms: u64,
}

impl Default for ConsensusSection {
    fn default() -> Self {
        ConsensusSection {
            message_timeout_ms: Self::DEFAULT_MESSAGE_TIMEOUT_MS,
            election_timeout_ms: Self::DEFAULT_ELECTION_TIMEOUT_MS,
        }
    }
}

impl ConsensusSection {
    pub const DEFAULT_MESSAGE_TIMEOUT_MS: u64 = 100;
    pub const DEFAULT_ELECTION_TIMEOUT_MS: u64 = 4000;

    /// Reads `consensus` (optional: every key has a default).
    pub(crate) fn read(reader: Option<ObjectReader<'_>>, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let mut section = ConsensusSection::default();
        let Some(mut r) = reader else { return Ok(section) };
        if let Some(ms) = r.duration_ms("message_timeout")? {
            if ms == 0 {
                return Err(ConfigError::bad_value(r.key_path("message_timeout"), "must be at least 1ms"));
            }
            section.message_timeout_ms = ms;
        }
        if let Some(ms) = r.duration_ms("election_timeout")? {
            section.election_timeout_ms = ms;
        }
        if section.election_timeout_ms <= section.message_timeout_ms {
            return Err(ConfigError::bad_value(
                r.key_path("election_timeout"),
                format!(
                    "{}ms must be longer than consensus.message_timeout ({}ms)",
                    section.election_timeout_ms, section.message_timeout_ms
                ),
            ));
        }
        r.finish(warnings)?;
        Ok(section)
    }

    /// Panics if an invariant in the module documentation does not hold.
    pub fn check_invariants(&self) {
        assert!(0 < self.message_timeout_ms && self.message_timeout_ms < self.election_timeout_ms);
    }

    /// The section as CCF-style JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "message_timeout": format_duration_ms(self.message_timeout_ms),
            "election_timeout": format_duration_ms(self.election_timeout_ms),
        })
    }
}
