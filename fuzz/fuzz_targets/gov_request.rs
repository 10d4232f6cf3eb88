//! The input is the body of a governance request (`POST /gov/members/proposals:create`, a
//! ballot, a share submission): a COSE_Sign1 anyone can send. `SignedRequest::parse` never
//! panics; a request that parses is checked against a member certificate (it must not verify
//! unless its signature is that member's), and its payload goes through the proposal parser
//! (`parse_proposal`, what a member's own well-signed request reaches) and the JSON a ballot or
//! share submission is read as. Nothing may panic.
#![no_main]

use cairn_crypto::{Certificate, SigningKey};
use cairn_gov::{SignedRequest, parse_proposal};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn member_cert() -> &'static Certificate {
    static CERT: OnceLock<Certificate> = OnceLock::new();
    CERT.get_or_init(|| {
        let key = SigningKey::from_pem(include_str!("../seeds/member_privk.pem")).expect("seed key");
        Certificate::from_pem(include_str!("../seeds/member_cert.pem")).map(|c| {
            assert_eq!(c.verifying_key().unwrap().key_id(), key.verifying_key().key_id());
            c
        })
        .expect("seed certificate")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(request) = SignedRequest::parse(data) else { return };
    let _ = request.verify(member_cert());
    let _ = request.digest();
    let _ = parse_proposal(&request.payload);
    let _ = serde_json::from_slice::<serde_json::Value>(&request.payload);
});
