//! `command.join`: how a `Join` node finds the service. [`JoinConfig`].
//!
//! Invariants (`check_invariants`): `target_rpc_address` is `host:port`; `retry_timeout_ms > 0`.
use crate::address_text::check_host_port;
use crate::config_error::ConfigError;
use crate::duration_text::format_duration_ms;
use crate::json_reader::ObjectReader;
use serde_json::{Value, json};

/// `command.join`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinConfig {
    /// `target_rpc_address`: `host:port` of an RPC interface of a node of the service (required).
    pub target_rpc_address: String,
    /// `retry_timeout` [`1000ms`]: interval between join requests.
    pub retry_timeout_ms: u64,
    /// `fetch_recent_snapshot` [true]: fetch the target's latest snapshot before joining.
    pub fetch_recent_snapshot: bool,
}

impl JoinConfig {
    pub const DEFAULT_RETRY_TIMEOUT_MS: u64 = 1000;

    /// Reads `command.join` (required for `Join`).
    pub(crate) fn read(reader: Option<ObjectReader<'_>>, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let mut r = reader.ok_or_else(|| ConfigError::Missing { key: "command.join.target_rpc_address".to_owned() })?;
        let target_rpc_address = r.required_string("target_rpc_address")?;
        check_host_port(&target_rpc_address)
            .map_err(|reason| ConfigError::bad_value(r.key_path("target_rpc_address"), reason))?;
        let retry_timeout_ms = r.duration_ms("retry_timeout")?.unwrap_or(Self::DEFAULT_RETRY_TIMEOUT_MS);
        if retry_timeout_ms == 0 {
            return Err(ConfigError::bad_value(r.key_path("retry_timeout"), "must be at least 1ms"));
        }
        let fetch_recent_snapshot = r.bool("fetch_recent_snapshot")?.unwrap_or(true);
        r.finish(warnings)?;
        Ok(JoinConfig { target_rpc_address, retry_timeout_ms, fetch_recent_snapshot })
    }

    /// Panics if an invariant in the module documentation does not hold.
    pub fn check_invariants(&self) {
        check_host_port(&self.target_rpc_address).expect("target_rpc_address");
        assert!(self.retry_timeout_ms > 0);
    }

    /// The section as CCF-style JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "target_rpc_address": self.target_rpc_address,
            "retry_timeout": format_duration_ms(self.retry_timeout_ms),
            "fetch_recent_snapshot": self.fetch_recent_snapshot,
        })
    }
}
