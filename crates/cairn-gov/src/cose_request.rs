//! Governance requests: COSE_Sign1 (RFC 9052) envelopes signed by a member's identity key, in
//! the shape CCF's `ccf_cose_sign1` tool produces and CCF's `/gov` endpoints accept.
//!
//! A request is the CBOR tag 18 over `[protected: bstr, unprotected: {}, payload: bstr,
//! signature: bstr]`. The protected header map holds, in canonical order:
//! `1 (alg) => -35 (ES384)`, `4 (kid) => bstr` (the member id: the ASCII bytes of the lowercase
//! hex SHA-256 of the member certificate's DER), `"ccf.gov.msg.type" => tstr`
//! (`proposal`, `ballot`, `withdrawal`, `recovery_share`, ...), `"ccf.gov.msg.created_at" =>
//! uint` (unix seconds), and for ballots and withdrawals `"ccf.gov.msg.proposal_id" => tstr`.
//! The signature is ECDSA P-384 with SHA-384 over the `Sig_structure`
//! `["Signature1", protected, h'', payload]`, encoded as the fixed-size `r ‖ s` (96 bytes).
//!
//! Invariants of a parsed [`SignedRequest`]: alg is ES384, the kid is 64 lowercase hex digits,
//! type and created_at are present, ballots and withdrawals carry a proposal id, the payload is
//! attached, and the signature is 96 bytes. Parsing never panics, whatever the input
//! (proptest in `tests/cose_request.rs`).

use crate::GovError;
use cairn_crypto::{Certificate, Sha256, SigningKey, sha256};
use coset::cbor::value::Value;
use coset::{
    CoseSign1, CoseSign1Builder, HeaderBuilder, Label, RegisteredLabelWithPrivate, TaggedCborSerializable, iana,
};

/// Protected header label of the message type.
pub const HEADER_MSG_TYPE: &str = "ccf.gov.msg.type";
/// Protected header label of the creation time (unix seconds).
pub const HEADER_CREATED_AT: &str = "ccf.gov.msg.created_at";
/// Protected header label of the proposal a ballot or withdrawal refers to.
pub const HEADER_PROPOSAL_ID: &str = "ccf.gov.msg.proposal_id";

pub const MSG_PROPOSAL: &str = "proposal";
pub const MSG_BALLOT: &str = "ballot";
pub const MSG_WITHDRAWAL: &str = "withdrawal";
pub const MSG_RECOVERY_SHARE: &str = "recovery_share";

/// Largest request accepted by [`SignedRequest::parse`].
pub const MAX_REQUEST_BYTES: usize = 1 << 20;
/// Size of an ES384 signature: `r ‖ s`, 48 bytes each.
pub const ES384_SIGNATURE_BYTES: usize = 96;

/// The CCF governance fields of a request's protected header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovRequestHeader {
    pub msg_type: String,
    pub created_at: u64,
    pub proposal_id: Option<String>,
}

/// Signs `payload` as a governance request of `member_id` (see the module doc for the layout).
pub fn sign_request(key: &SigningKey, member_id: &str, header: &GovRequestHeader, payload: &[u8]) -> Vec<u8> {
    let mut protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES384)
        .key_id(member_id.as_bytes().to_vec())
        .text_value(HEADER_MSG_TYPE.into(), Value::Text(header.msg_type.clone()))
        .text_value(HEADER_CREATED_AT.into(), Value::Integer(header.created_at.into()));
    if let Some(id) = &header.proposal_id {
        protected = protected.text_value(HEADER_PROPOSAL_ID.into(), Value::Text(id.clone()));
    }
    CoseSign1Builder::new()
        .protected(protected.build())
        .payload(payload.to_vec())
        .create_signature(b"", |tbs| key.sign_message_fixed(tbs))
        .build()
        .to_tagged_vec()
        .expect("a COSE_Sign1 with text and integer headers encodes")
}

/// CCF's member or user id: lowercase hex SHA-256 of the certificate's DER.
pub fn identity_id(cert: &Certificate) -> String {
    sha256(cert.der()).to_hex()
}

/// `true` if `id` looks like a member, user or node id: 64 lowercase hex digits.
pub fn is_identity_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A parsed governance request. [`SignedRequest::verify`] checks its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub member_id: String,
    pub header: GovRequestHeader,
    pub payload: Vec<u8>,
    /// SHA-256 of the whole request.
    digest: Sha256,
    /// The COSE `Sig_structure` the signature covers.
    to_be_signed: Vec<u8>,
    signature: Vec<u8>,
}

fn invalid(what: impl Into<String>) -> GovError {
    GovError::InvalidCose(what.into())
}

fn header_value<'a>(rest: &'a [(Label, Value)], name: &str) -> Option<&'a Value> {
    rest.iter().find(|(label, _)| matches!(label, Label::Text(t) if t == name)).map(|(_, v)| v)
}

fn header_text(rest: &[(Label, Value)], name: &str) -> Result<Option<String>, GovError> {
    match header_value(rest, name) {
        None => Ok(None),
        Some(Value::Text(t)) => Ok(Some(t.clone())),
        Some(_) => Err(invalid(format!("protected header {name} is not a text string"))),
    }
}

impl SignedRequest {
    /// Parses a tagged COSE_Sign1 governance request. Does not check the signature.
    pub fn parse(bytes: &[u8]) -> Result<SignedRequest, GovError> {
        if bytes.len() > MAX_REQUEST_BYTES {
            return Err(invalid(format!("request is {} bytes; at most {MAX_REQUEST_BYTES} accepted", bytes.len())));
        }
        let sign1 =
            CoseSign1::from_tagged_slice(bytes).map_err(|e| invalid(format!("not a tagged COSE_Sign1: {e:?}")))?;
        let header = &sign1.protected.header;
        match &header.alg {
            Some(RegisteredLabelWithPrivate::Assigned(iana::Algorithm::ES384)) => {}
            None => return Err(invalid("protected header alg missing")),
            Some(other) => return Err(invalid(format!("protected header alg {other:?} is not ES384 (-35)"))),
        }
        if header.key_id.is_empty() {
            return Err(invalid("protected header kid missing"));
        }
        let member_id = String::from_utf8(header.key_id.clone())
            .ok()
            .filter(|id| is_identity_id(id))
            .ok_or_else(|| invalid("protected header kid is not a member id (64 lowercase hex digits)"))?;
        let msg_type = header_text(&header.rest, HEADER_MSG_TYPE)?
            .ok_or_else(|| invalid(format!("protected header {HEADER_MSG_TYPE} missing")))?;
        let created_at = match header_value(&header.rest, HEADER_CREATED_AT) {
            None => return Err(invalid(format!("protected header {HEADER_CREATED_AT} missing"))),
            Some(Value::Integer(i)) => u64::try_from(*i)
                .map_err(|_| invalid(format!("protected header {HEADER_CREATED_AT} is negative or too large")))?,
            Some(_) => return Err(invalid(format!("protected header {HEADER_CREATED_AT} is not an integer"))),
        };
        let proposal_id = header_text(&header.rest, HEADER_PROPOSAL_ID)?;
        if (msg_type == MSG_BALLOT || msg_type == MSG_WITHDRAWAL) && proposal_id.is_none() {
            return Err(invalid(format!("protected header {HEADER_PROPOSAL_ID} missing (required for {msg_type})")));
        }
        let payload =
            sign1.payload.clone().ok_or_else(|| invalid("payload missing (detached payloads are not accepted)"))?;
        if sign1.signature.len() != ES384_SIGNATURE_BYTES {
            return Err(invalid(format!(
                "signature is {} bytes; ES384 needs {ES384_SIGNATURE_BYTES} (r ‖ s)",
                sign1.signature.len()
            )));
        }
        Ok(SignedRequest {
            member_id,
            header: GovRequestHeader { msg_type, created_at, proposal_id },
            payload,
            digest: sha256(bytes),
            to_be_signed: sign1.tbs_data(b""),
            signature: sign1.signature,
        })
    }

    /// Checks that `signer_cert` is the certificate of the member named by `kid` and that the
    /// signature verifies under its key.
    pub fn verify(&self, signer_cert: &Certificate) -> Result<(), GovError> {
        let bad = || GovError::BadSignature { member_id: self.member_id.clone() };
        if identity_id(signer_cert) != self.member_id {
            return Err(bad());
        }
        let key = signer_cert.verifying_key().map_err(|_| bad())?;
        key.verify_message_fixed(&self.to_be_signed, &self.signature).map_err(|_| bad())
    }

    /// SHA-256 of the whole request bytes (the proposal id of a proposal).
    pub fn digest(&self) -> Sha256 {
        self.digest
    }

    /// SHA-256 of what the signature covers (protected header and payload). Unlike
    /// [`SignedRequest::digest`] it cannot be changed by someone who does not hold the member's
    /// key: the unprotected header is not signed, and an ECDSA signature `(r, s)` can be turned
    /// into another valid one `(r, n − s)`. Replay protection keys on this digest.
    pub fn signed_content_digest(&self) -> Sha256 {
        sha256(&self.to_be_signed)
    }
}
