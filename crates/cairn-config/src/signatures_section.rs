//! `ledger_signatures`: how often the primary signs the ledger. [`SignaturesSection`].
//!
//! Invariants (`check_invariants`): `tx_count > 0` and `delay_ms > 0`.
use crate::config_error::ConfigError;
use crate::duration_text::format_duration_ms;
use crate::json_reader::ObjectReader;
use serde_json::{Value, json};

/// `ledger_signatures`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignaturesSection {
    /// `tx_count` [5000]: a signature transaction after this many transactions.
    pub tx_count: u64,
    /// `delay` [`1000ms`]: a signature transaction at the latest this long after the last one.
    pub delay_ms: u64,
}

impl Default for SignaturesSection {
    fn default() -> Self {
        SignaturesSection { tx_count: Self::DEFAULT_TX_COUNT, delay_ms: Self::DEFAULT_DELAY_MS }
    }
}

impl SignaturesSection {
    pub const DEFAULT_TX_COUNT: u64 = 5000;
    pub const DEFAULT_DELAY_MS: u64 = 1000;

    /// Reads `ledger_signatures` (optional: every key has a default).
    pub(crate) fn read(reader: Option<ObjectReader<'_>>, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let mut section = SignaturesSection::default();
        let Some(mut r) = reader else { return Ok(section) };
        if let Some(count) = r.positive_u64("tx_count")? {
            section.tx_count = count;
        }
        if let Some(ms) = r.duration_ms("delay")? {
            if ms == 0 {
                return Err(ConfigError::bad_value(r.key_path("delay"), "must be at least 1ms"));
            }
            section.delay_ms = ms;
        }
        r.finish(warnings)?;
        Ok(section)
    }

    /// Panics if an invariant in the module documentation does not hold.
    pub fn check_invariants(&self) {
        assert!(self.tx_count > 0 && self.delay_ms > 0);
    }

    /// The section as CCF-style JSON.
    pub fn to_json(&self) -> Value {
        json!({"tx_count": self.tx_count, "delay": format_duration_ms(self.delay_ms)})
    }
}
