//! Recovery shares (SPEC §7 step 3; CCF's share manager): issuing them, serving a member its
//! encrypted share, checking a submitted share, and recovering the latest ledger secret.
//!
//! Issuing: a fresh random [`SharedSecret`] is split k-of-n (k = `recovery_threshold` of the
//! service config, n = the recovery members: Active members with an encryption key, in id order,
//! share `x` = position + 1). Its HKDF wrapping key seals the latest ledger secret
//! ([`SealedSecret`]: `iv ‖ ciphertext ‖ tag`). Each 44-byte share is encrypted with RSA-OAEP-SHA256
//! to its member's key, and a commitment to it (`Share::commitment`, Beyond CCF) is recorded so a
//! wrong share is refused at submission. Everything goes in the singleton
//! `public:ccf.internal.recovery_shares` as [`RecoverySharesRecord`].
//!
//! # Invariants of a record (checked by `governance::check_invariants` when the service is Open)
//! - `encrypted_shares` and `share_commitments` have the same member ids: the recovery members at
//!   issue time; `1 ≤ threshold ≤` their number.
//! - `wrapped_latest_ledger_secret` is [`crate::SEALED_SECRET_BYTES`] long.
//!
//! Randomness: the shared secret, the polynomials and the IV come from the caller's
//! `fill_random`; RSA-OAEP padding uses aws-lc's own generator (not injectable), so encrypted
//! shares are not reproducible from a seed, the plaintext shares are.

use crate::kv_read::{KvRead, read_json, write_json};
use crate::member::recovery_members;
use crate::service_config::ServiceConfig;
use crate::{GovError, LedgerSecretChain, SealedSecret, b64};
use cairn_crypto::{
    EncryptionKeyPair, EncryptionPublicKey, Sha256, Share, ShareCommitment, SharedSecret, combine, split,
};
use cairn_kv::Tx;
use cairn_ledger::tables::{HISTORICAL_ENCRYPTED_LEDGER_SECRET, RECOVERY_SHARES, SINGLETON_KEY};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Value of `public:ccf.internal.recovery_shares`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverySharesRecord {
    /// The latest ledger secret sealed under the shares' wrapping key (base64).
    #[serde(with = "b64")]
    pub wrapped_latest_ledger_secret: Vec<u8>,
    /// Member id → RSA-OAEP-SHA256 ciphertext of its 44-byte share (base64).
    #[serde(with = "b64::map")]
    pub encrypted_shares: BTreeMap<String, Vec<u8>>,
    /// Member id → hex SHA-256 commitment to its share.
    pub share_commitments: BTreeMap<String, String>,
    /// Seqno of the last write of `historical_encrypted_ledger_secret` committed before the
    /// transaction that issued these shares; `None` if there was none. A back-pointer for
    /// readers of the ledger (recovery itself links secrets by `valid_from`).
    pub previous_secret_stored_version: Option<u64>,
    pub threshold: u64,
    /// `valid_from_seqno` of the wrapped (latest) ledger secret.
    pub ledger_secret_valid_from: u64,
}

impl RecoverySharesRecord {
    pub fn read(src: &mut impl KvRead) -> Result<Option<RecoverySharesRecord>, GovError> {
        read_json(src, RECOVERY_SHARES, &SINGLETON_KEY)
    }

    fn read_required(src: &mut impl KvRead) -> Result<RecoverySharesRecord, GovError> {
        Self::read(src)?.ok_or_else(|| GovError::RecoveryFailed("no recovery shares have been issued".into()))
    }

    fn commitment(&self, member_id: &str) -> Result<ShareCommitment, GovError> {
        let text = self
            .share_commitments
            .get(member_id)
            .ok_or_else(|| GovError::NoShareForMember { member_id: member_id.to_string() })?;
        Sha256::from_hex(text)
            .map(ShareCommitment)
            .ok_or_else(|| GovError::corrupt(RECOVERY_SHARES, &SINGLETON_KEY, format!("commitment of {member_id}")))
    }

    /// Panics, naming the broken invariant, if one of the invariants above does not hold.
    pub fn check_invariants(&self) {
        let shares: Vec<_> = self.encrypted_shares.keys().collect();
        let commitments: Vec<_> = self.share_commitments.keys().collect();
        assert_eq!(shares, commitments, "recovery shares: encrypted shares and commitments name different members");
        assert!(
            (1..=shares.len() as u64).contains(&self.threshold),
            "recovery shares: threshold {} outside 1..={}",
            self.threshold,
            shares.len()
        );
        assert_eq!(
            self.wrapped_latest_ledger_secret.len(),
            crate::SEALED_SECRET_BYTES,
            "recovery shares: wrapped ledger secret length"
        );
    }
}

/// The seqno at which the historical-secret row was last written before this transaction.
pub(crate) fn last_historical_write(tx: &mut Tx) -> Option<u64> {
    tx.get(HISTORICAL_ENCRYPTED_LEDGER_SECRET, &SINGLETON_KEY);
    tx.read_set().get(HISTORICAL_ENCRYPTED_LEDGER_SECRET, &SINGLETON_KEY).flatten()
}

/// Issues fresh recovery shares of the latest secret of `chain` to the current recovery
/// members, replacing any earlier shares. Fails if there is no recovery member or the threshold
/// exceeds their number.
pub fn issue_recovery_shares(
    tx: &mut Tx,
    chain: &LedgerSecretChain,
    fill_random: &mut dyn FnMut(&mut [u8]),
) -> Result<(), GovError> {
    let k = ServiceConfig::read_required(tx)?.recovery_threshold;
    let members = recovery_members(tx)?;
    let n = members.len();
    if n == 0 {
        return Err(GovError::InvalidConfiguration(
            "no active member has an encryption key: recovery shares cannot be issued".into(),
        ));
    }
    if k == 0 || k > n as u64 {
        return Err(GovError::InvalidConfiguration(format!(
            "recovery threshold {k} must be between 1 and the number of recovery members, {n}"
        )));
    }
    let secret = SharedSecret::random(&mut *fill_random);
    let shares = split(&secret, n, k as usize, &mut *fill_random)
        .map_err(|e| GovError::InvalidConfiguration(format!("splitting recovery secret: {e}")))?;
    let latest = chain.latest();
    let wrapped = SealedSecret::seal(&secret.wrapping_key(), &latest.secret, fill_random);
    let mut encrypted_shares = BTreeMap::new();
    let mut share_commitments = BTreeMap::new();
    for ((member_id, pem), share) in members.iter().zip(&shares) {
        let key = EncryptionPublicKey::from_pem(pem)
            .map_err(|e| GovError::corrupt(cairn_ledger::tables::MEMBERS_ENCRYPTION_KEYS, member_id.as_bytes(), e))?;
        let ciphertext = key
            .encrypt(&share.to_bytes())
            .map_err(|e| GovError::InvalidConfiguration(format!("encrypting share of {member_id}: {e}")))?;
        encrypted_shares.insert(member_id.clone(), ciphertext);
        share_commitments.insert(member_id.clone(), share.commitment().0.to_hex());
    }
    let record = RecoverySharesRecord {
        wrapped_latest_ledger_secret: wrapped.as_bytes().to_vec(),
        encrypted_shares,
        share_commitments,
        previous_secret_stored_version: last_historical_write(tx),
        threshold: k,
        ledger_secret_valid_from: latest.valid_from_seqno,
    };
    write_json(tx, RECOVERY_SHARES, SINGLETON_KEY.to_vec(), &record);
    Ok(())
}

/// The member's encrypted share (for `GET /gov/recovery/encrypted-shares/{member}`, which answers
/// `{memberId, encryptedShare: base64}`); `None` if no share is recorded for it.
pub fn encrypted_share(src: &mut impl KvRead, member_id: &str) -> Result<Option<Vec<u8>>, GovError> {
    Ok(RecoverySharesRecord::read(src)?.and_then(|mut r| r.encrypted_shares.remove(member_id)))
}

/// Member side: decrypts an encrypted share with the member's RSA key.
pub fn decrypt_share(encrypted: &[u8], member_key: &EncryptionKeyPair) -> Result<Share, GovError> {
    let bytes = member_key
        .decrypt(encrypted)
        .map_err(|e| GovError::InvalidInput(format!("encrypted share does not decrypt with this key: {e}")))?;
    Share::from_bytes(&bytes).map_err(|e| GovError::InvalidInput(format!("decrypted share is malformed: {e}")))
}

/// Checks a share a member submits (the 44 bytes) against the commitment recorded for that
/// member when the shares were issued; returns the parsed share.
pub fn check_submitted_share(src: &mut impl KvRead, member_id: &str, share_bytes: &[u8]) -> Result<Share, GovError> {
    let record = RecoverySharesRecord::read(src)?
        .ok_or_else(|| GovError::NoShareForMember { member_id: member_id.to_string() })?;
    let commitment = record.commitment(member_id)?;
    let invalid = |reason: String| GovError::InvalidShare { member_id: member_id.to_string(), reason };
    let share = Share::from_bytes(share_bytes).map_err(|e| invalid(e.to_string()))?;
    commitment
        .verify(&share)
        .map_err(|_| invalid("it does not match the commitment recorded when the shares were issued".into()))?;
    Ok(share)
}

/// Combines `shares` (at least the recorded threshold) into the wrapping key and unwraps the
/// latest ledger secret. Too few or wrong shares are an error, never a panic.
pub fn recover_latest_secret(src: &mut impl KvRead, shares: &[Share]) -> Result<[u8; 32], GovError> {
    let record = RecoverySharesRecord::read_required(src)?;
    let secret = combine(shares, record.threshold as usize)
        .map_err(|e| GovError::RecoveryFailed(format!("combining recovery shares: {e}")))?;
    let wrapped = SealedSecret::from_bytes(record.wrapped_latest_ledger_secret)
        .map_err(|e| GovError::corrupt(RECOVERY_SHARES, &SINGLETON_KEY, e))?;
    wrapped.open(&secret.wrapping_key()).map_err(|_| {
        GovError::RecoveryFailed("the shares do not recover the key that wraps the latest ledger secret".into())
    })
}
