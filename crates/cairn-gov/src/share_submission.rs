//! Members submitting their recovery shares to a recovered service (SPEC §7 steps 3 and 5;
//! `POST /gov/recovery/members/{member}:recover`).
//!
//! A submission is a signed `recovery_share` request whose payload is CCF's `{"share": base64}`.
//! It is accepted only while the service is `WaitingForRecoveryShares`, only from the member the
//! path names, and only if the share matches the commitment recorded when the shares were issued
//! (Beyond CCF: a wrong share is refused here, with 400, and does not count). An accepted share
//! is written to CCF's `public:ccf.internal.encrypted_submitted_shares`, sealed under the
//! recovering service's current ledger secret (AAD = the member id), so it is a committed
//! transaction every node of the new network can read back: a new primary counts it and no
//! member resubmits. A member that submits again counts once.
//!
//! Sealed layout: `iv (12) ‖ ciphertext (44) ‖ tag (16)`.
use crate::governance::authenticate_member;
use crate::kv_read::KvRead;
use crate::service_state::service_status;
use crate::{GovError, MSG_RECOVERY_SHARE, RecoverySharesRecord, SignedRequest, check_submitted_share};
use cairn_crypto::{AesGcmKey, GCM_IV_BYTES, GCM_TAG_BYTES, SHARE_BYTES, Share};
use cairn_kv::Tx;
use cairn_ledger::tables::{ENCRYPTED_SUBMITTED_SHARES, ServiceStatus};

/// What a submission did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareSubmission {
    pub member_id: String,
    /// Distinct members whose shares are now submitted (this one included).
    pub submitted: u64,
    pub threshold: u64,
    /// `false` when this member had already submitted (it counts once).
    pub newly_counted: bool,
    /// Every submitted share, once `submitted >= threshold`: the node restores the ledger
    /// secrets with them in the same transaction.
    pub shares: Option<Vec<Share>>,
}

impl ShareSubmission {
    /// CCF's answer text.
    pub fn message(&self) -> String {
        let mut text = format!("{}/{} recovery shares successfully submitted.", self.submitted, self.threshold);
        if !self.newly_counted {
            text = format!("member {} had already submitted its share: it counts once. {text}", self.member_id);
        }
        if self.shares.is_some() {
            text.push_str(" End of recovery procedure initiated.");
        }
        text
    }
}

fn seal_share(key: &[u8; 32], member_id: &str, share: &Share, fill_random: &mut dyn FnMut(&mut [u8])) -> Vec<u8> {
    let mut iv = [0u8; GCM_IV_BYTES];
    fill_random(&mut iv);
    let mut data = share.to_bytes();
    let tag = AesGcmKey::new(*key).seal(iv, member_id.as_bytes(), &mut data);
    [&iv[..], &data, &tag].concat()
}

fn open_share(key: &[u8; 32], member_id: &str, sealed: &[u8]) -> Result<Share, GovError> {
    let corrupt = |reason: &str| GovError::corrupt(ENCRYPTED_SUBMITTED_SHARES, member_id.as_bytes(), reason);
    if sealed.len() != GCM_IV_BYTES + SHARE_BYTES + GCM_TAG_BYTES {
        return Err(corrupt("sealed share has the wrong length"));
    }
    let iv: [u8; GCM_IV_BYTES] = sealed[..GCM_IV_BYTES].try_into().expect("length checked");
    let mut data = sealed[GCM_IV_BYTES..GCM_IV_BYTES + SHARE_BYTES].to_vec();
    let tag: [u8; GCM_TAG_BYTES] = sealed[GCM_IV_BYTES + SHARE_BYTES..].try_into().expect("length checked");
    AesGcmKey::new(*key)
        .open(iv, member_id.as_bytes(), &mut data, &tag)
        .map_err(|_| corrupt("does not open under the current ledger secret"))?;
    Share::from_bytes(&data).map_err(|e| corrupt(&e.to_string()))
}

/// The 44 bytes of the share in a `{"share": base64}` payload.
fn share_bytes(payload: &[u8]) -> Result<Vec<u8>, GovError> {
    use base64::Engine;
    let value: serde_json::Value = serde_json::from_slice(payload)
        .map_err(|e| GovError::InvalidInput(format!("body: not a JSON object {{\"share\": base64}}: {e}")))?;
    let text = value
        .get("share")
        .and_then(|s| s.as_str())
        .ok_or_else(|| GovError::InvalidInput("share: missing, or not a base64 string".into()))?;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| GovError::InvalidInput(format!("share: not base64: {e}")))
}

/// Authenticates and records `member_id`'s share (see the module documentation).
/// `current_secret`: the recovering service's latest ledger secret (it seals the share).
pub fn submit_recovery_share(
    tx: &mut Tx,
    member_id: &str,
    req: &SignedRequest,
    now_s: u64,
    current_secret: &[u8; 32],
    fill_random: &mut dyn FnMut(&mut [u8]),
) -> Result<ShareSubmission, GovError> {
    let signer = authenticate_member(tx, req, MSG_RECOVERY_SHARE, now_s)?;
    if signer != member_id {
        return Err(GovError::Forbidden(format!("share of member {member_id} signed by member {signer}")));
    }
    let status = service_status(tx)?;
    if status != Some(ServiceStatus::WaitingForRecoveryShares) {
        return Err(GovError::NotWaitingForShares { status: format!("{status:?}") });
    }
    let share = check_submitted_share(tx, member_id, &share_bytes(&req.payload)?)?;
    let newly_counted = tx.get(ENCRYPTED_SUBMITTED_SHARES, member_id.as_bytes()).is_none();
    if newly_counted {
        tx.put(
            ENCRYPTED_SUBMITTED_SHARES,
            member_id.as_bytes().to_vec(),
            seal_share(current_secret, member_id, &share, fill_random),
        );
    }
    let (shares, threshold) = opened_shares(tx, current_secret)?;
    let submitted = shares.len() as u64;
    Ok(ShareSubmission {
        member_id: member_id.to_string(),
        submitted,
        threshold,
        newly_counted,
        shares: (submitted >= threshold).then_some(shares),
    })
}

/// Every share submitted so far, opened with `current_secret`, and the threshold.
fn opened_shares(src: &mut impl KvRead, current_secret: &[u8; 32]) -> Result<(Vec<Share>, u64), GovError> {
    let record = RecoverySharesRecord::read(src)?
        .ok_or_else(|| GovError::RecoveryFailed("no recovery shares have been issued".into()))?;
    let mut shares = Vec::new();
    for id in record.encrypted_shares.keys() {
        if let Some(sealed) = src.read(ENCRYPTED_SUBMITTED_SHARES, id.as_bytes()) {
            shares.push(open_share(current_secret, id, &sealed)?);
        }
    }
    Ok((shares, record.threshold))
}

/// The submitted shares, once at least the threshold of them are in (a primary that did not
/// take the last share itself, or one elected since, restores the private state from them).
pub fn submitted_shares(src: &mut impl KvRead, current_secret: &[u8; 32]) -> Result<Option<Vec<Share>>, GovError> {
    let (shares, threshold) = opened_shares(src, current_secret)?;
    Ok((shares.len() as u64 >= threshold).then_some(shares))
}

/// Removes every submitted share (the service opened: they have served).
pub fn clear_submitted_shares(tx: &mut Tx) -> Result<(), GovError> {
    let Some(record) = RecoverySharesRecord::read(tx)? else { return Ok(()) };
    for id in record.encrypted_shares.keys() {
        if tx.get(ENCRYPTED_SUBMITTED_SHARES, id.as_bytes()).is_some() {
            tx.remove(ENCRYPTED_SUBMITTED_SHARES, id.as_bytes().to_vec());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_shares_open_only_under_their_key_and_member() {
        let mut n = 0u8;
        let mut fill = |b: &mut [u8]| {
            for x in b {
                n = n.wrapping_add(1);
                *x = n;
            }
        };
        let share = Share::from_bytes(&[[1u8, 0, 0, 0].as_slice(), &[7u8; 40]].concat()).unwrap();
        let sealed = seal_share(&[3; 32], "m1", &share, &mut fill);
        assert_eq!(open_share(&[3; 32], "m1", &sealed).unwrap(), share);
        assert!(open_share(&[4; 32], "m1", &sealed).is_err(), "wrong key");
        assert!(open_share(&[3; 32], "m2", &sealed).is_err(), "moved to another member's row");
        assert!(open_share(&[3; 32], "m1", &sealed[1..]).is_err(), "truncated");
    }

    #[test]
    fn payload_errors_name_the_field() {
        assert_eq!(share_bytes(br#"{"share":"AAEC"}"#).unwrap(), vec![0, 1, 2]);
        for (body, expected) in
            [("[]", "share: missing"), ("{", "body: not a JSON object"), (r#"{"share":"**"}"#, "share: not base64")]
        {
            let err = share_bytes(body.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(expected), "{body}: {err}");
        }
    }
}
