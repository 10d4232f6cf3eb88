//! `network`: where the node listens. [`NetworkConfig`] holds the node-to-node interface and the
//! named RPC interfaces with the bounds the server enforces on each.
//!
//! Invariants (`check_invariants`): every address is a well-formed `host:port`; there is at least
//! one RPC interface; `0 < max_open_sessions_soft ≤ max_open_sessions_hard`; `max_body_size_bytes
//! > 0`; no two interfaces bind the same non-zero port on the same host.
use crate::address_text::{check_host_port, port_of};
use crate::config_error::ConfigError;
use crate::json_reader::ObjectReader;
use crate::size_text::format_size;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// `network.node_to_node_interface`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeToNodeInterface {
    /// `host:port` the node listens on for other nodes (required).
    pub bind_address: String,
    /// `host:port` other nodes are told to use; `None` means `bind_address`.
    pub published_address: Option<String>,
}

impl NodeToNodeInterface {
    /// The address other nodes should use: `published_address`, else `bind_address`.
    pub fn advertised_address(&self) -> &str {
        self.published_address.as_deref().unwrap_or(&self.bind_address)
    }
}

/// `network.rpc_interfaces.<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcInterface {
    /// `host:port` the node serves clients on (required).
    pub bind_address: String,
    /// `host:port` clients are told to use; `None` means `bind_address`.
    pub published_address: Option<String>,
    /// `max_open_sessions_soft` [1000]: above this many sessions, new requests get HTTP 503.
    pub max_open_sessions_soft: u64,
    /// `max_open_sessions_hard` [1010]: above this many sessions, new connections are refused.
    pub max_open_sessions_hard: u64,
    /// `http_configuration.max_body_size` [`1MB`]: the largest request body accepted.
    pub max_body_size_bytes: u64,
}

impl RpcInterface {
    pub const DEFAULT_MAX_OPEN_SESSIONS_SOFT: u64 = 1000;
    pub const DEFAULT_MAX_OPEN_SESSIONS_HARD: u64 = 1010;
    pub const DEFAULT_MAX_BODY_SIZE_BYTES: u64 = 1 << 20;

    /// An interface on `bind_address` with CCF's default bounds.
    pub fn new(bind_address: impl Into<String>) -> Self {
        RpcInterface {
            bind_address: bind_address.into(),
            published_address: None,
            max_open_sessions_soft: Self::DEFAULT_MAX_OPEN_SESSIONS_SOFT,
            max_open_sessions_hard: Self::DEFAULT_MAX_OPEN_SESSIONS_HARD,
            max_body_size_bytes: Self::DEFAULT_MAX_BODY_SIZE_BYTES,
        }
    }

    /// The address clients should use: `published_address`, else `bind_address`.
    pub fn advertised_address(&self) -> &str {
        self.published_address.as_deref().unwrap_or(&self.bind_address)
    }
}

/// `network`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkConfig {
    pub node_to_node_interface: NodeToNodeInterface,
    /// By interface name, in name order (CCF keeps them in a `std::map` too).
    pub rpc_interfaces: BTreeMap<String, RpcInterface>,
}

fn address(reader: &mut ObjectReader<'_>, key: &'static str, required: bool) -> Result<Option<String>, ConfigError> {
    let value = if required { Some(reader.required_string(key)?) } else { reader.string(key)? };
    if let Some(text) = &value {
        check_host_port(text).map_err(|reason| ConfigError::bad_value(reader.key_path(key), reason))?;
    }
    Ok(value)
}

fn read_rpc_interface(mut r: ObjectReader<'_>, warnings: &mut Vec<String>) -> Result<RpcInterface, ConfigError> {
    let bind_address = address(&mut r, "bind_address", true)?.unwrap_or_default();
    let published_address = address(&mut r, "published_address", false)?;
    let soft = r.positive_u64("max_open_sessions_soft")?;
    let hard = r.positive_u64("max_open_sessions_hard")?;
    let max_open_sessions_hard = hard.unwrap_or(RpcInterface::DEFAULT_MAX_OPEN_SESSIONS_HARD);
    // An explicit hard bound below CCF's default soft bound lowers the soft bound with it.
    let max_open_sessions_soft =
        soft.unwrap_or(RpcInterface::DEFAULT_MAX_OPEN_SESSIONS_SOFT.min(max_open_sessions_hard));
    if max_open_sessions_soft > max_open_sessions_hard {
        return Err(ConfigError::bad_value(
            r.key_path("max_open_sessions_soft"),
            format!("{max_open_sessions_soft} is above max_open_sessions_hard {max_open_sessions_hard}"),
        ));
    }
    let mut max_body_size_bytes = RpcInterface::DEFAULT_MAX_BODY_SIZE_BYTES;
    if let Some(mut http) = r.object("http_configuration")? {
        if let Some(bytes) = http.size_bytes("max_body_size")? {
            if bytes == 0 {
                return Err(ConfigError::bad_value(http.key_path("max_body_size"), "must be larger than 0 bytes"));
            }
            max_body_size_bytes = bytes;
        }
        http.finish(warnings)?;
    }
    r.finish(warnings)?;
    Ok(RpcInterface {
        bind_address,
        published_address,
        max_open_sessions_soft,
        max_open_sessions_hard,
        max_body_size_bytes,
    })
}

impl NetworkConfig {
    /// Reads `network` (required).
    pub(crate) fn read(reader: Option<ObjectReader<'_>>, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let mut r = reader.ok_or_else(|| ConfigError::Missing { key: "network".to_owned() })?;
        let mut n2n = r
            .object("node_to_node_interface")?
            .ok_or_else(|| ConfigError::Missing { key: r.key_path("node_to_node_interface") })?;
        let node_to_node_interface = NodeToNodeInterface {
            bind_address: address(&mut n2n, "bind_address", true)?.unwrap_or_default(),
            published_address: address(&mut n2n, "published_address", false)?,
        };
        n2n.finish(warnings)?;

        let interfaces_key = r.key_path("rpc_interfaces");
        let entries =
            r.named_objects("rpc_interfaces")?.ok_or_else(|| ConfigError::Missing { key: interfaces_key.clone() })?;
        if entries.is_empty() {
            return Err(ConfigError::bad_value(interfaces_key, "at least one RPC interface is required"));
        }
        let mut rpc_interfaces = BTreeMap::new();
        let mut bound: Vec<(String, String)> = vec![(n2n_path(), node_to_node_interface.bind_address.clone())];
        for (name, entry) in entries {
            let entry_path = entry.path().to_owned();
            let interface = read_rpc_interface(entry, warnings)?;
            let key = format!("{entry_path}.bind_address");
            let clash = bound.iter().find(|(_, a)| *a == interface.bind_address);
            if let (Some((other, _)), false) = (clash, port_of(&interface.bind_address) == Some(0)) {
                return Err(ConfigError::bad_value(
                    key,
                    format!("{:?} is already bound by {other}", interface.bind_address),
                ));
            }
            bound.push((key, interface.bind_address.clone()));
            rpc_interfaces.insert(name, interface);
        }
        r.finish(warnings)?;
        Ok(NetworkConfig { node_to_node_interface, rpc_interfaces })
    }

    /// The first interface in name order (the one a single-interface node serves on).
    pub fn first_rpc_interface(&self) -> Option<(&str, &RpcInterface)> {
        self.rpc_interfaces.iter().next().map(|(name, i)| (name.as_str(), i))
    }

    /// Panics if an invariant in the module documentation does not hold.
    pub fn check_invariants(&self) {
        check_host_port(&self.node_to_node_interface.bind_address).expect("node-to-node bind address");
        assert!(!self.rpc_interfaces.is_empty(), "no RPC interface");
        for (name, i) in &self.rpc_interfaces {
            check_host_port(&i.bind_address).unwrap_or_else(|e| panic!("{name}: {e}"));
            if let Some(p) = &i.published_address {
                check_host_port(p).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            assert!(0 < i.max_open_sessions_soft && i.max_open_sessions_soft <= i.max_open_sessions_hard, "{name}");
            assert!(i.max_body_size_bytes > 0, "{name}");
        }
    }

    /// The `network` section as CCF-style JSON (read back by `NodeConfig::parse`).
    pub fn to_json(&self) -> Value {
        let mut interfaces = Map::new();
        for (name, i) in &self.rpc_interfaces {
            let mut entry = json!({
                "bind_address": i.bind_address,
                "max_open_sessions_soft": i.max_open_sessions_soft,
                "max_open_sessions_hard": i.max_open_sessions_hard,
                "http_configuration": {"max_body_size": format_size(i.max_body_size_bytes)},
            });
            if let Some(p) = &i.published_address {
                entry["published_address"] = json!(p);
            }
            interfaces.insert(name.clone(), entry);
        }
        let mut n2n = json!({"bind_address": self.node_to_node_interface.bind_address});
        if let Some(p) = &self.node_to_node_interface.published_address {
            n2n["published_address"] = json!(p);
        }
        json!({"node_to_node_interface": n2n, "rpc_interfaces": interfaces})
    }
}

fn n2n_path() -> String {
    "network.node_to_node_interface.bind_address".to_owned()
}
