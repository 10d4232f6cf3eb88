//! Members: the consortium that governs the service. Owns the rows of
//! `public:ccf.gov.members.certs` (id → PEM certificate), `...members.encryption_public_keys`
//! (id → RSA public key PEM, for recovery shares) and `...members.info` (id → JSON
//! `{"status":"Active","member_data":...}`), with CCF's names and values.
//!
//! # Invariants (checked by `governance::check_invariants`)
//! - A member id is `identity_id(cert)` of the certificate stored under it.
//! - Every member has a certificate row and an info row; an encryption key row only if it is a
//!   recovery member.
//! - The key index of `members.certs` lists exactly the members.
//!
//! Members are **Active** as soon as they are added: CCF first makes them `Accepted` until they
//! sign an ACK of the state digest; Cairn has no ACK step yet.

use crate::cose_request::identity_id;
use crate::key_index::{keys, put_indexed, remove_indexed};
use crate::kv_read::{KvRead, read_json, read_text, write_json};
use crate::{GovError, InitialMember};
use cairn_crypto::{Certificate, EncryptionPublicKey};
use cairn_kv::Tx;
use cairn_ledger::tables::{MEMBERS_CERTS, MEMBERS_ENCRYPTION_KEYS, MEMBERS_INFO};
use serde::{Deserialize, Serialize};

/// A member's status, as CCF names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemberStatus {
    Accepted,
    Active,
}

/// Value of `public:ccf.gov.members.info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    pub status: MemberStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_data: Option<serde_json::Value>,
}

/// The member's certificate, if `member_id` is a member.
pub fn member_cert(src: &mut impl KvRead, member_id: &str) -> Result<Option<Certificate>, GovError> {
    let Some(pem) = read_text(src, MEMBERS_CERTS, member_id.as_bytes())? else { return Ok(None) };
    Certificate::from_pem(&pem).map(Some).map_err(|e| GovError::corrupt(MEMBERS_CERTS, member_id.as_bytes(), e))
}

pub fn member_info(src: &mut impl KvRead, member_id: &str) -> Result<Option<MemberInfo>, GovError> {
    read_json(src, MEMBERS_INFO, member_id.as_bytes())
}

/// Ids of all members, sorted.
pub fn member_ids(src: &mut impl KvRead) -> Result<Vec<String>, GovError> {
    Ok(keys(src, MEMBERS_CERTS)?.into_iter().collect())
}

/// Ids of the Active members, sorted: the electorate of the majority rule.
pub fn active_members(src: &mut impl KvRead) -> Result<Vec<String>, GovError> {
    let mut active = Vec::new();
    for id in member_ids(src)? {
        let info = member_info(src, &id)?.ok_or_else(|| GovError::corrupt(MEMBERS_INFO, id.as_bytes(), "missing"))?;
        if info.status == MemberStatus::Active {
            active.push(id);
        }
    }
    Ok(active)
}

/// Active members with an encryption key, sorted by id, with their key PEM: the members that
/// receive recovery shares (share `x` = position in this list + 1).
pub fn recovery_members(src: &mut impl KvRead) -> Result<Vec<(String, String)>, GovError> {
    let mut out = Vec::new();
    for id in active_members(src)? {
        if let Some(pem) = read_text(src, MEMBERS_ENCRYPTION_KEYS, id.as_bytes())? {
            out.push((id, pem));
        }
    }
    Ok(out)
}

/// Adds or replaces a member; returns its id. The member is Active at once (see module doc).
pub(crate) fn put_member(tx: &mut Tx, member: &InitialMember) -> Result<String, GovError> {
    let cert = Certificate::from_pem(&member.cert_pem)
        .map_err(|e| GovError::InvalidConfiguration(format!("member certificate: {e}")))?;
    if let Some(pem) = &member.encryption_public_key_pem {
        EncryptionPublicKey::from_pem(pem)
            .map_err(|e| GovError::InvalidConfiguration(format!("member encryption public key: {e}")))?;
    }
    let id = identity_id(&cert);
    put_indexed(tx, MEMBERS_CERTS, &id, cert.pem().as_bytes().to_vec())?;
    match &member.encryption_public_key_pem {
        Some(pem) => tx.put(MEMBERS_ENCRYPTION_KEYS, id.as_bytes(), pem.as_bytes()),
        None => tx.remove(MEMBERS_ENCRYPTION_KEYS, id.as_bytes()),
    }
    let info = MemberInfo { status: MemberStatus::Active, member_data: member.member_data.clone() };
    write_json(tx, MEMBERS_INFO, id.as_bytes(), &info);
    Ok(id)
}

/// Removes a member's rows; `false` if it was not a member.
pub(crate) fn remove_member(tx: &mut Tx, member_id: &str) -> Result<bool, GovError> {
    if tx.get(MEMBERS_CERTS, member_id.as_bytes()).is_none() {
        return Ok(false);
    }
    remove_indexed(tx, MEMBERS_CERTS, member_id)?;
    tx.remove(MEMBERS_ENCRYPTION_KEYS, member_id.as_bytes());
    tx.remove(MEMBERS_INFO, member_id.as_bytes());
    Ok(true)
}
