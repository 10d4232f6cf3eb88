//! Ledger rekey and the secret chain: [`HistoricalSecretRecord`], the value of the singleton
//! `public:ccf.internal.historical_encrypted_ledger_secret`, which each rekey overwrites with the
//! previous ledger secret sealed under the new one ([`SealedSecret`] layout). The ledger keeps
//! every version, so a recovering node that replays the public domain collects all of them and
//! [`recover_secret_chain`] walks back from the latest secret (unwrapped with the shares) to the
//! first.
//!
//! JSON, CCF's `EncryptedLedgerSecretInfo` form (what CCF's `verify_ledger_secrets_chain.py`
//! reads): `{"previous_ledger_secret": {"version", "encrypted_data": base64,
//! "previous_secret_stored_version"?}, "next_version"}` where `version` is the
//! `valid_from_seqno` of the sealed (previous) secret, `next_version` that of the secret sealing
//! it, and `previous_secret_stored_version` the seqno of the previous write of this row, if any.

use crate::kv_read::write_json;
use crate::recovery_shares::{issue_recovery_shares, last_historical_write, recover_latest_secret};
use crate::service_state::service_status;
use crate::{GovError, KvRead, LedgerSecretChain, RecoverySharesRecord, SealedSecret, b64};
use cairn_crypto::Share;
use cairn_kv::Tx;
use cairn_ledger::tables::{HISTORICAL_ENCRYPTED_LEDGER_SECRET, SINGLETON_KEY, ServiceStatus};
use serde::{Deserialize, Serialize};

/// Value of `public:ccf.internal.historical_encrypted_ledger_secret` (flat here, nested on the
/// wire as CCF writes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "EncryptedLedgerSecretInfo", from = "EncryptedLedgerSecretInfo")]
pub struct HistoricalSecretRecord {
    pub version: u64,
    pub encrypted_data: Vec<u8>,
    pub previous_secret_stored_version: Option<u64>,
    pub next_version: u64,
}

/// CCF's `PreviousLedgerSecretInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PreviousLedgerSecretInfo {
    #[serde(with = "b64")]
    encrypted_data: Vec<u8>,
    version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_secret_stored_version: Option<u64>,
}

/// CCF's `EncryptedLedgerSecretInfo`: the wire form of [`HistoricalSecretRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct EncryptedLedgerSecretInfo {
    previous_ledger_secret: PreviousLedgerSecretInfo,
    next_version: u64,
}

impl From<HistoricalSecretRecord> for EncryptedLedgerSecretInfo {
    fn from(r: HistoricalSecretRecord) -> Self {
        EncryptedLedgerSecretInfo {
            previous_ledger_secret: PreviousLedgerSecretInfo {
                encrypted_data: r.encrypted_data,
                version: r.version,
                previous_secret_stored_version: r.previous_secret_stored_version,
            },
            next_version: r.next_version,
        }
    }
}

impl From<EncryptedLedgerSecretInfo> for HistoricalSecretRecord {
    fn from(w: EncryptedLedgerSecretInfo) -> Self {
        HistoricalSecretRecord {
            version: w.previous_ledger_secret.version,
            encrypted_data: w.previous_ledger_secret.encrypted_data,
            previous_secret_stored_version: w.previous_ledger_secret.previous_secret_stored_version,
            next_version: w.next_version,
        }
    }
}

impl HistoricalSecretRecord {
    /// Parses a value of the table (as the node collects them while replaying the ledger).
    pub fn parse(value: &[u8]) -> Result<HistoricalSecretRecord, GovError> {
        serde_json::from_slice(value)
            .map_err(|e| GovError::corrupt(HISTORICAL_ENCRYPTED_LEDGER_SECRET, &SINGLETON_KEY, e))
    }
}

/// Records a rekey: `chain` must end with the new secret, after the one it replaces. Writes the
/// previous secret sealed under the new one and, when the service is Open, re-issues the
/// recovery shares for the new secret.
pub fn rekey(tx: &mut Tx, chain: &LedgerSecretChain, fill_random: &mut dyn FnMut(&mut [u8])) -> Result<(), GovError> {
    let previous = chain.previous().ok_or_else(|| {
        GovError::InvalidConfiguration("rekey needs the secret chain with the new secret appended".into())
    })?;
    let latest = chain.latest();
    let sealed = SealedSecret::seal(&latest.secret, &previous.secret, fill_random);
    let record = HistoricalSecretRecord {
        version: previous.valid_from_seqno,
        encrypted_data: sealed.as_bytes().to_vec(),
        previous_secret_stored_version: last_historical_write(tx),
        next_version: latest.valid_from_seqno,
    };
    write_json(tx, HISTORICAL_ENCRYPTED_LEDGER_SECRET, SINGLETON_KEY.to_vec(), &record);
    if service_status(tx)? == Some(ServiceStatus::Open) {
        issue_recovery_shares(tx, chain, fill_random)?;
    }
    Ok(())
}

/// Rebuilds the whole ledger secret chain: the latest secret from `shares`, then each older one
/// from `historical` (every value the historical table ever held, in any order) by following
/// `next_version` links back from the latest. Stops at the first secret no record seals.
pub fn recover_secret_chain(
    src: &mut impl KvRead,
    shares: &[Share],
    historical: &[HistoricalSecretRecord],
) -> Result<LedgerSecretChain, GovError> {
    let latest = recover_latest_secret(&mut *src, shares)?;
    let record = RecoverySharesRecord::read(src)?
        .ok_or_else(|| GovError::RecoveryFailed("no recovery shares have been issued".into()))?;
    let mut newest_first = vec![(record.ledger_secret_valid_from, latest)];
    loop {
        let (valid_from, secret) = *newest_first.last().expect("starts non-empty");
        let Some(older) = historical.iter().find(|h| h.next_version == valid_from) else { break };
        if older.version >= valid_from {
            return Err(GovError::RecoveryFailed(format!(
                "historical secret valid from {} does not precede the secret valid from {valid_from}",
                older.version
            )));
        }
        let sealed = SealedSecret::from_bytes(older.encrypted_data.clone())
            .map_err(|e| GovError::RecoveryFailed(format!("historical secret valid from {}: {e}", older.version)))?;
        let previous = sealed.open(&secret).map_err(|e| {
            GovError::RecoveryFailed(format!(
                "historical secret valid from {} does not open under the secret valid from {valid_from}: {e}",
                older.version
            ))
        })?;
        newest_first.push((older.version, previous));
    }
    let mut pairs = newest_first.into_iter().rev();
    let (first_from, first) = pairs.next().expect("non-empty");
    let mut chain = LedgerSecretChain::new(first_from, first);
    for (valid_from, secret) in pairs {
        chain.push(valid_from, secret).map_err(GovError::RecoveryFailed)?;
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_ccfs_nested_form() {
        let record = HistoricalSecretRecord {
            version: 1,
            encrypted_data: vec![1, 2, 3],
            previous_secret_stored_version: Some(7),
            next_version: 12,
        };
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"previous_ledger_secret": {"encrypted_data": "AQID", "version": 1,
                "previous_secret_stored_version": 7}, "next_version": 12})
        );
        assert_eq!(HistoricalSecretRecord::parse(json.to_string().as_bytes()).unwrap(), record);
        let first = HistoricalSecretRecord { previous_secret_stored_version: None, ..record };
        let text = serde_json::to_string(&first).unwrap();
        assert!(!text.contains("previous_secret_stored_version"), "{text}");
        assert!(HistoricalSecretRecord::parse(br#"{"version":1,"encrypted_data":"AQID","next_version":2}"#).is_err());
    }
}
