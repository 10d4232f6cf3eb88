//! The join protocol's messages (`POST /node/join`, CCF's names where CCF has them).
//!
//! The joiner sends its self-signed certificate (proving its key by the TLS handshake), its
//! RSA encryption key, its addresses and, if its operator gave it one, the service's join token
//! (`join_token.rs`). The primary records it `Pending`, or `Trusted` at once while the service
//! is `Opening` or `Recovering` and the token is valid (a wrong token: 403, nothing recorded),
//! and answers with its status; once the trusting
//! transaction is committed the answer carries [`NetworkInfo`]: what the joiner needs to be a
//! node of the service. It travels inside the TLS session pinned to the service certificate,
//! as CCF's does.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequest {
    /// The joiner's certificate (self-signed; the primary endorses its key).
    pub certificate: String,
    /// RSA public key (PEM) the joiner's secrets are wrapped to.
    pub public_encryption_key: String,
    pub rpc_addresses: Vec<String>,
    pub node_to_node_address: String,
    /// The join token (64 hex), if the joiner has one. Never recorded: the primary stores the
    /// request without it ([`JoinRequest::without_token`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_token: Option<String>,
}

/// Bounds on what an unauthenticated joiner may make the service record (each join request is
/// stored in the ledger): fields beyond them are refused with 400 naming the field.
pub const MAX_JOIN_CERTIFICATE_BYTES: usize = 16 * 1024;
pub const MAX_JOIN_ENCRYPTION_KEY_BYTES: usize = 8 * 1024;
pub const MAX_JOIN_ADDRESS_BYTES: usize = 256;
pub const MAX_JOIN_RPC_ADDRESSES: usize = 8;

impl JoinRequest {
    /// The field that exceeds its bound, if any, and why.
    pub fn check_bounds(&self) -> Result<(), (&'static str, String)> {
        let over = |field: &'static str, len: usize, max: usize| {
            (len > max).then(|| (field, format!("{len} bytes exceeds {max}")))
        };
        if let Some(e) = over("certificate", self.certificate.len(), MAX_JOIN_CERTIFICATE_BYTES)
            .or_else(|| over("public_encryption_key", self.public_encryption_key.len(), MAX_JOIN_ENCRYPTION_KEY_BYTES))
            .or_else(|| over("node_to_node_address", self.node_to_node_address.len(), MAX_JOIN_ADDRESS_BYTES))
        {
            return Err(e);
        }
        if self.rpc_addresses.len() > MAX_JOIN_RPC_ADDRESSES {
            let why = format!("{} addresses exceeds {MAX_JOIN_RPC_ADDRESSES}", self.rpc_addresses.len());
            return Err(("rpc_addresses", why));
        }
        match self.rpc_addresses.iter().find(|a| a.len() > MAX_JOIN_ADDRESS_BYTES) {
            Some(a) => {
                Err(("rpc_addresses", format!("an address of {} bytes exceeds {MAX_JOIN_ADDRESS_BYTES}", a.len())))
            }
            None => Ok(()),
        }
    }

    /// The request as the ledger records it: the token is a secret and stays out.
    pub fn without_token(&self) -> JoinRequest {
        JoinRequest { join_token: None, ..self.clone() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinAnswer {
    /// `Pending`, `Trusted` or `Retired` (CCF `node_status`).
    pub node_status: String,
    pub node_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_info: Option<NetworkInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInfo {
    pub raft_id: u64,
    /// The joiner's certificate, endorsed by the service key.
    pub endorsed_certificate: String,
    pub service_certificate: String,
    /// The service private key (PEM): every node can endorse later joiners, as in CCF.
    pub service_key: String,
    /// The ledger-secret chain (`cairn_gov::LedgerSecretChain` JSON).
    pub ledger_secrets: serde_json::Value,
    /// The Raft configuration at the answer: every node's id, Raft id and address.
    pub peers: Vec<crate::PeerInfo>,
    /// The answering primary's commit; the joiner is `PartOfNetwork` once it reaches it.
    pub commit_seqno: u64,
}
