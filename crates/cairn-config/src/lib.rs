//! The node configuration file (SPEC §2): CCF's JSON format and key names, read into typed
//! sections with every default applied.
//!
//! - [`NodeConfig::parse`] (pure) and [`NodeConfig::load`] (also checks that input files exist)
//!   return a [`LoadedConfig`]: the [`NodeConfig`] and one warning per CCF key Cairn ignores.
//! - [`ConfigError`] names the JSON path of the offending key in every message.
//! - [`ccf_keys::CCF_KEYS`] is the one table of every accepted key (used, Cairn-only, ignored);
//!   anything else is an unknown key.
//! - Sizes (`"5MB"`, bytes) and durations (`"100ms"`) are CCF's unit strings; typed fields carry
//!   their unit last (`chunk_size_bytes`, `delay_ms`).
//!
//! Only `load` (and `file_checks`) touch the file system; nothing here opens sockets or resolves
//! names. The reference for operators is `docs/operations/configuration.md`.

mod address_text;
pub mod ccf_keys;
mod command_config;
mod config_error;
mod consensus_section;
mod durability;
mod duration_text;
mod file_checks;
mod join_config;
mod json_reader;
mod ledger_section;
mod network_config;
mod node_certificate_section;
mod node_config;
mod recover_config;
mod signatures_section;
mod size_text;
mod snapshots_section;
mod start_config;

pub use address_text::check_host_port;
pub use command_config::{CommandConfig, CommandKind};
pub use config_error::ConfigError;
pub use consensus_section::ConsensusSection;
pub use durability::Durability;
pub use duration_text::{format_duration_ms, parse_duration_ms};
pub use join_config::JoinConfig;
pub use ledger_section::LedgerSection;
pub use network_config::{NetworkConfig, NodeToNodeInterface, RpcInterface};
pub use node_certificate_section::NodeCertificateSection;
pub use node_config::{LoadedConfig, MAX_CONFIG_FILE_BYTES, NodeConfig};
pub use recover_config::RecoverConfig;
pub use signatures_section::SignaturesSection;
pub use size_text::{format_size, parse_size_bytes};
pub use snapshots_section::SnapshotsSection;
pub use start_config::{MemberConfig, StartConfig};
