//! COSE Sign1 governance requests: round trip, tampering, malformed headers named in the error,
//! and a parser that never panics.

mod common;

use cairn_gov::{GovError, SignedRequest, identity_id};
use common::{Identity, NOW_S, pool};
use coset::cbor::value::Value;
use coset::{CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable, iana};
use proptest::prelude::*;

fn member() -> &'static Identity {
    &pool()[5]
}

#[test]
fn signed_request_round_trips_and_verifies_under_the_signer_only() {
    let m = member();
    let payload = br#"{"actions":[{"name":"trigger_snapshot","args":{}}]}"#;
    let bytes = m.sign("ballot", NOW_S, Some("abc123"), payload);
    let req = SignedRequest::parse(&bytes).unwrap();
    assert_eq!(req.member_id, m.id);
    assert_eq!(req.member_id, identity_id(&m.cert));
    assert_eq!(req.header.msg_type, "ballot");
    assert_eq!(req.header.created_at, NOW_S);
    assert_eq!(req.header.proposal_id.as_deref(), Some("abc123"));
    assert_eq!(req.payload, payload);
    assert_eq!(req.digest(), cairn_crypto::sha256(&bytes));
    req.verify(&m.cert).unwrap();
    assert_eq!(req.verify(&pool()[6].cert), Err(GovError::BadSignature { member_id: m.id.clone() }));

    // The envelope is what CCF's tool writes: tag 18, ES384, kid = id bytes, empty unprotected.
    let sign1 = CoseSign1::from_tagged_slice(&bytes).unwrap();
    assert_eq!(sign1.protected.header.alg, Some(coset::Algorithm::Assigned(iana::Algorithm::ES384)));
    assert_eq!(sign1.protected.header.key_id, m.id.as_bytes());
    assert!(sign1.unprotected.is_empty());
    assert_eq!(sign1.signature.len(), 96);
    assert_eq!(bytes[0], 0xd2, "CBOR tag 18 (COSE_Sign1)");
}

#[test]
fn id_is_sha256_of_certificate_der_in_lowercase_hex() {
    let m = member();
    assert_eq!(identity_id(&m.cert), hex::encode(cairn_crypto::sha256(m.cert.der()).0));
    assert!(cairn_gov::is_identity_id(&m.id));
}

/// Rebuilds a request with a changed protected header or payload, keeping the old signature.
fn tampered(bytes: &[u8], change: impl FnOnce(&mut CoseSign1)) -> Vec<u8> {
    let mut sign1 = CoseSign1::from_tagged_slice(bytes).unwrap();
    change(&mut sign1);
    sign1.to_tagged_vec().unwrap()
}

#[test]
fn tampered_payload_or_protected_header_fails_verification() {
    let m = member();
    let bytes = m.sign("proposal", NOW_S, None, br#"{"actions":[]}"#);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("payload", tampered(&bytes, |s| s.payload = Some(br#"{"actions":[1]}"#.to_vec()))),
        (
            "created_at",
            tampered(&bytes, |s| {
                s.protected.original_data = None;
                for (label, value) in &mut s.protected.header.rest {
                    if *label == coset::Label::Text("ccf.gov.msg.created_at".into()) {
                        *value = Value::Integer((NOW_S + 1).into());
                    }
                }
            }),
        ),
        (
            "msg type",
            tampered(&bytes, |s| {
                s.protected.original_data = None;
                s.protected.header.rest[0].1 = Value::Text("ballot2".into());
            }),
        ),
        ("signature", tampered(&bytes, |s| s.signature[10] ^= 1)),
    ];
    for (what, bad) in cases {
        let req = SignedRequest::parse(&bad).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(req.verify(&m.cert), Err(GovError::BadSignature { member_id: m.id.clone() }), "{what}");
    }
    // The unsigned (unprotected) header does not change the signed content digest.
    let relabelled =
        tampered(&bytes, |s| s.unprotected.content_type = Some(coset::ContentType::Text("application/json".into())));
    let (a, b) = (SignedRequest::parse(&bytes).unwrap(), SignedRequest::parse(&relabelled).unwrap());
    b.verify(&m.cert).unwrap();
    assert_ne!(a.digest(), b.digest());
    assert_eq!(a.signed_content_digest(), b.signed_content_digest());
}

/// A request built field by field: `None` leaves a header out.
fn build(alg: Option<iana::Algorithm>, kid: Option<&[u8]>, rest: &[(&str, Value)], payload: Option<&[u8]>) -> Vec<u8> {
    let mut h = HeaderBuilder::new();
    if let Some(alg) = alg {
        h = h.algorithm(alg);
    }
    if let Some(kid) = kid {
        h = h.key_id(kid.to_vec());
    }
    for (label, value) in rest {
        h = h.text_value(label.to_string(), value.clone());
    }
    let mut b = CoseSign1Builder::new().protected(h.build());
    if let Some(p) = payload {
        b = b.payload(p.to_vec());
    }
    b.create_signature(b"", |tbs| member().key.sign_message_fixed(tbs)).build().to_tagged_vec().unwrap()
}

#[test]
fn malformed_requests_are_refused_naming_what_is_wrong() {
    let id = member().id.as_bytes();
    let ty = |t: &str| ("ccf.gov.msg.type", Value::Text(t.into()));
    let at = |v: Value| ("ccf.gov.msg.created_at", v);
    let now = || at(Value::Integer(NOW_S.into()));
    let es384 = Some(iana::Algorithm::ES384);
    let good = build(es384, Some(id), &[ty("proposal"), now()], Some(b"{}"));
    SignedRequest::parse(&good).unwrap();
    let untagged = CoseSign1::from_tagged_slice(&good).unwrap().to_vec().unwrap();
    let mut short_sig = CoseSign1::from_tagged_slice(&good).unwrap();
    short_sig.signature.truncate(95);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "not a tagged COSE_Sign1"),
        ("untagged", untagged, "not a tagged COSE_Sign1"),
        ("no alg", build(None, Some(id), &[ty("proposal"), now()], Some(b"{}")), "alg missing"),
        ("ES256", build(Some(iana::Algorithm::ES256), Some(id), &[ty("proposal"), now()], Some(b"{}")), "not ES384"),
        ("no kid", build(es384, None, &[ty("proposal"), now()], Some(b"{}")), "kid missing"),
        (
            "kid not an id",
            build(es384, Some(b"member1"), &[ty("proposal"), now()], Some(b"{}")),
            "kid is not a member id",
        ),
        ("no type", build(es384, Some(id), &[now()], Some(b"{}")), "ccf.gov.msg.type missing"),
        (
            "type not text",
            build(es384, Some(id), &[("ccf.gov.msg.type", Value::Integer(1.into())), now()], Some(b"{}")),
            "ccf.gov.msg.type is not a text string",
        ),
        ("no created_at", build(es384, Some(id), &[ty("proposal")], Some(b"{}")), "ccf.gov.msg.created_at missing"),
        (
            "created_at text",
            build(es384, Some(id), &[ty("proposal"), at(Value::Text("now".into()))], Some(b"{}")),
            "ccf.gov.msg.created_at is not an integer",
        ),
        (
            "created_at negative",
            build(es384, Some(id), &[ty("proposal"), at(Value::Integer((-5).into()))], Some(b"{}")),
            "ccf.gov.msg.created_at is negative",
        ),
        (
            "ballot without proposal id",
            build(es384, Some(id), &[ty("ballot"), now()], Some(b"{}")),
            "ccf.gov.msg.proposal_id missing (required for ballot)",
        ),
        (
            "withdrawal without proposal id",
            build(es384, Some(id), &[ty("withdrawal"), now()], Some(b"")),
            "ccf.gov.msg.proposal_id missing (required for withdrawal)",
        ),
        ("detached payload", build(es384, Some(id), &[ty("proposal"), now()], None), "payload missing"),
        ("short signature", short_sig.to_tagged_vec().unwrap(), "signature is 95 bytes"),
        ("too large", vec![0; cairn_gov::MAX_REQUEST_BYTES + 1], "at most"),
    ];
    for (what, bytes, expected) in cases {
        match SignedRequest::parse(&bytes) {
            Err(e @ GovError::InvalidCose(_)) => {
                assert!(e.to_string().contains(expected), "{what}: {e}");
                assert_eq!((e.http_status(), e.code()), (401, "InvalidAuthenticationInfo"));
            }
            other => panic!("{what}: expected InvalidCose, got {other:?}"),
        }
    }
}

proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = SignedRequest::parse(&bytes);
    }

    #[test]
    fn parse_never_panics_on_mutated_requests(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let mut bytes = member().sign("ballot", NOW_S, Some("p"), br#"{"ballot":"approve"}"#);
        for (at, xor) in flips {
            let i = at % bytes.len();
            bytes[i] ^= xor;
        }
        let _ = SignedRequest::parse(&bytes);
        let _ = SignedRequest::parse(&bytes[..cut % bytes.len()]);
    }
}
