//! The one table of every key a Cairn node configuration may contain: CCF's keys (from CCF's
//! `host_config.json` / `cchost_config.json` schemas, 4.x to 6.x and later) and Cairn's own.
//!
//! A key is *used* (Cairn reads and honours it), *Cairn-only* (Beyond CCF) or *ignored* (a CCF key
//! Cairn does not need: accepted, not validated, and reported with exactly one warning per
//! occurrence, so a CCF operator's file works unchanged). Any key not in this table is an error.
//!
//! Patterns are dotted paths; `*` stands for an RPC interface name and `[]` for an array index.
//! Invariants (checked by tests): patterns are unique; every used key's parent is in the table as
//! a used key; no ignored key lies under another ignored key (one warning per key).

/// What Cairn does with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// CCF key that Cairn reads and honours.
    Used,
    /// Cairn's own key (Beyond CCF).
    CairnOnly,
    /// CCF key that Cairn accepts with a warning; the text says why it does not matter.
    Ignored(&'static str),
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct CcfKey {
    /// Dotted path with `*` for interface names and `[]` for array items.
    pub pattern: &'static str,
    pub key_use: KeyUse,
}

const fn used(pattern: &'static str) -> CcfKey {
    CcfKey { pattern, key_use: KeyUse::Used }
}

const fn cairn(pattern: &'static str) -> CcfKey {
    CcfKey { pattern, key_use: KeyUse::CairnOnly }
}

const fn ignored(pattern: &'static str, why: &'static str) -> CcfKey {
    CcfKey { pattern, key_use: KeyUse::Ignored(why) }
}

const NOT_CONFIGURABLE: &str = "not configurable in Cairn";
const NO_TEE: &str = "no TEE: Cairn nodes run as plain processes (CCF's Virtual platform)";
const HTTP_LIMITS: &str = "the HTTP server's own limit applies";
const NO_COSE_SIGNATURES: &str = "ledger signatures are CCF's ECDSA signature transactions, without COSE";
const SNAPSHOT_FETCH: &str = "Cairn's snapshot fetching is not configurable";
const OUTPUT_FILE: &str = "Cairn does not write this file";

/// Every key, in the order of the configuration reference (docs/operations/configuration.md).
pub const CCF_KEYS: &[CcfKey] = &[
    // network
    used("network"),
    used("network.node_to_node_interface"),
    used("network.node_to_node_interface.bind_address"),
    used("network.node_to_node_interface.published_address"),
    used("network.rpc_interfaces"),
    used("network.rpc_interfaces.*"),
    used("network.rpc_interfaces.*.bind_address"),
    used("network.rpc_interfaces.*.published_address"),
    used("network.rpc_interfaces.*.max_open_sessions_soft"),
    used("network.rpc_interfaces.*.max_open_sessions_hard"),
    used("network.rpc_interfaces.*.http_configuration"),
    used("network.rpc_interfaces.*.http_configuration.max_body_size"),
    ignored("network.rpc_interfaces.*.http_configuration.max_header_size", HTTP_LIMITS),
    ignored("network.rpc_interfaces.*.http_configuration.max_headers_count", HTTP_LIMITS),
    ignored("network.rpc_interfaces.*.http_configuration.max_concurrent_streams_count", HTTP_LIMITS),
    ignored("network.rpc_interfaces.*.http_configuration.initial_window_size", HTTP_LIMITS),
    ignored("network.rpc_interfaces.*.http_configuration.max_frame_size", HTTP_LIMITS),
    ignored("network.rpc_interfaces.*.protocol", "Cairn always serves TCP"),
    ignored("network.rpc_interfaces.*.app_protocol", "the HTTP server chooses the HTTP version"),
    ignored(
        "network.rpc_interfaces.*.endorsement",
        "RPC certificates are always endorsed by the service identity (CCF's Service authority)",
    ),
    ignored("network.rpc_interfaces.*.accepted_endpoints", "every interface serves every endpoint"),
    ignored("network.rpc_interfaces.*.forwarding_timeout_ms", NOT_CONFIGURABLE),
    ignored("network.rpc_interfaces.*.redirections", "writes sent to a backup are forwarded to the primary"),
    ignored("network.rpc_interfaces.*.enabled_operator_features", "Cairn has no operator-feature endpoints"),
    ignored("network.acme", "no ACME: RPC certificates are endorsed by the service identity"),
    // command
    used("command"),
    used("command.type"),
    used("command.service_certificate_file"),
    used("command.join_token_file"),
    used("command.start"),
    used("command.start.members"),
    used("command.start.members[]"),
    used("command.start.members[].certificate_file"),
    used("command.start.members[].encryption_public_key_file"),
    used("command.start.members[].data_json_file"),
    ignored(
        "command.start.members[].recovery_role",
        "every member with an encryption public key is a recovery participant",
    ),
    used("command.start.service_configuration"),
    used("command.start.service_configuration.recovery_threshold"),
    used("command.start.service_configuration.maximum_node_certificate_validity_days"),
    used("command.start.service_configuration.maximum_service_certificate_validity_days"),
    ignored("command.start.service_configuration.reconfiguration_type", "Cairn reconfigures in one transaction"),
    ignored("command.start.service_configuration.recent_cose_proposals_window_size", NOT_CONFIGURABLE),
    used("command.start.initial_service_certificate_validity_days"),
    ignored("command.start.constitution_files", "Cairn uses its built-in constitution (strict majority of members)"),
    ignored("command.start.service_subject_name", "Cairn names the service certificate itself"),
    ignored("command.start.cose_signatures", NO_COSE_SIGNATURES),
    used("command.join"),
    used("command.join.target_rpc_address"),
    used("command.join.retry_timeout"),
    used("command.join.fetch_recent_snapshot"),
    ignored("command.join.follow_redirect", "Cairn follows redirects to the primary"),
    ignored("command.join.fetch_snapshot_max_attempts", SNAPSHOT_FETCH),
    ignored("command.join.fetch_snapshot_retry_interval", SNAPSHOT_FETCH),
    ignored("command.join.fetch_snapshot_max_size", SNAPSHOT_FETCH),
    ignored("command.join.host_data_transparent_statement_path", NO_TEE),
    used("command.recover"),
    used("command.recover.initial_service_certificate_validity_days"),
    used("command.recover.previous_service_identity_file"),
    // ledger and snapshots
    used("ledger"),
    used("ledger.directory"),
    used("ledger.read_only_directories"),
    used("ledger.chunk_size"),
    cairn("ledger.durability"),
    used("snapshots"),
    used("snapshots.directory"),
    used("snapshots.tx_count"),
    used("snapshots.read_only_directory"),
    ignored("snapshots.min_tx_count", "snapshots are taken every snapshots.tx_count transactions only"),
    ignored("snapshots.time_interval", "snapshots are taken every snapshots.tx_count transactions only"),
    ignored("snapshots.backup_fetch", SNAPSHOT_FETCH),
    ignored("files_cleanup", "Cairn never deletes committed ledger chunks or snapshots"),
    // signatures and consensus
    used("ledger_signatures"),
    used("ledger_signatures.tx_count"),
    used("ledger_signatures.delay"),
    used("consensus"),
    used("consensus.message_timeout"),
    used("consensus.election_timeout"),
    ignored("consensus.type", "Cairn's consensus is always CFT (Raft)"),
    ignored("consensus.max_uncommitted_tx_count", NOT_CONFIGURABLE),
    // node identity and files
    used("node_certificate"),
    used("node_certificate.subject_name"),
    used("node_certificate.subject_alt_names"),
    used("node_certificate.curve_id"),
    used("node_certificate.initial_validity_days"),
    cairn("node_certificate_file"),
    cairn("node_data_directory"),
    used("output_files"),
    used("output_files.node_certificate_file"),
    ignored("output_files.pid_file", OUTPUT_FILE),
    ignored("output_files.node_to_node_address_file", OUTPUT_FILE),
    ignored("output_files.rpc_addresses_file", OUTPUT_FILE),
    ignored("node_pid_file", OUTPUT_FILE),
    ignored("node_data_json_file", "Cairn records no node data"),
    ignored("service_data_json_file", "Cairn records no service data"),
    // host process and TEE
    ignored("enclave", NO_TEE),
    ignored("attestation", NO_TEE),
    ignored("sealing_recovery", "no TEE sealing: recovery uses the members' recovery shares"),
    ignored("memory", "no host-enclave ring buffers"),
    ignored("tick_interval", "no enclave clock to tick"),
    ignored("worker_threads", "the async runtime sizes its own thread pool"),
    ignored("logging", "Cairn logs with tracing; set the level with RUST_LOG"),
    ignored("jwt", "Cairn has no JWT authentication"),
    ignored("slow_io_logging_threshold", NOT_CONFIGURABLE),
    ignored("client_connection_timeout", NOT_CONFIGURABLE),
    used("idle_connection_timeout"),
    ignored("node_client_interface", "outgoing node-to-node connections use an OS-chosen address"),
    ignored("ignore_first_sigterm", "the first SIGTERM stops a Cairn node"),
    ignored("node_to_node_message_limit", NOT_CONFIGURABLE),
    ignored("historical_cache_soft_limit", "Cairn has no historical-query cache"),
    ignored("identity_history_fetch", NOT_CONFIGURABLE),
];

/// The table row for `pattern`, if any.
pub fn lookup(pattern: &str) -> Option<&'static CcfKey> {
    CCF_KEYS.iter().find(|k| k.pattern == pattern)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The pattern of the object holding `pattern` (`"a.b[].c"` → `"a.b[]"`, `"a"` → `""`).
    fn parent_pattern(pattern: &str) -> &str {
        pattern.rfind('.').map_or("", |i| &pattern[..i])
    }

    #[test]
    fn patterns_are_unique() {
        let mut seen = BTreeSet::new();
        for k in CCF_KEYS {
            assert!(seen.insert(k.pattern), "{} listed twice", k.pattern);
        }
    }

    #[test]
    fn every_key_sits_under_a_used_section() {
        for k in CCF_KEYS {
            let mut parent = parent_pattern(k.pattern);
            if let Some(array) = parent.strip_suffix("[]").or_else(|| parent.strip_suffix(".*")) {
                assert_eq!(lookup(parent).map(|p| p.key_use), Some(KeyUse::Used), "{}", k.pattern);
                parent = array;
            }
            if !parent.is_empty() {
                assert_eq!(lookup(parent).map(|p| p.key_use), Some(KeyUse::Used), "parent of {}", k.pattern);
            }
        }
    }

    #[test]
    fn no_ignored_key_lies_under_another_ignored_key() {
        for k in CCF_KEYS.iter().filter(|k| matches!(k.key_use, KeyUse::Ignored(_))) {
            for outer in CCF_KEYS.iter().filter(|o| matches!(o.key_use, KeyUse::Ignored(_))) {
                assert!(
                    !k.pattern.starts_with(&format!("{}.", outer.pattern)),
                    "{} under {}",
                    k.pattern,
                    outer.pattern
                );
            }
        }
    }

    #[test]
    fn parent_pattern_strips_the_last_component() {
        assert_eq!(parent_pattern("command.start.members[].certificate_file"), "command.start.members[]");
        assert_eq!(parent_pattern("network.rpc_interfaces.*"), "network.rpc_interfaces");
        assert_eq!(parent_pattern("enclave"), "");
    }
}
