//! Test harness: member identities (cached per test binary: RSA key generation is slow), a
//! deterministic randomness source, and a `Store` driven through the governance entry points
//! the way the node drives it (one transaction per request, committed only on success), with
//! the governance invariants checked after every commit.
#![allow(dead_code)]

use cairn_crypto::{Certificate, CertificateRequest, EncryptionKeyPair, SigningKey};
use cairn_gov::{
    GovContext, GovError, GovOutcome, GovRequestHeader, InitialMember, LedgerSecretChain, SignedRequest,
    check_invariants, identity_id, initial_governance, sign_request, submit_ballot, submit_proposal, withdraw_proposal,
};
use cairn_kv::{Store, Tx};
use cairn_ledger::tables::{SERVICE_INFO, SINGLETON_KEY, ServiceInfo, ServiceStatus};
use std::sync::OnceLock;

/// Service time used by the harness (unix seconds).
pub const NOW_S: u64 = 1_750_000_000;

pub struct Identity {
    pub key: SigningKey,
    pub cert: Certificate,
    pub id: String,
    pub enc: Option<EncryptionKeyPair>,
}

impl Identity {
    pub fn new(name: &str, with_encryption_key: bool) -> Identity {
        let key = SigningKey::generate().unwrap();
        let req = CertificateRequest {
            common_name: name.into(),
            subject_alt_names: vec![],
            not_before_unix_s: NOW_S as i64 - 60,
            validity_days: 365,
            is_ca: false,
        };
        let cert = Certificate::self_signed(&key, &req).unwrap();
        let enc = with_encryption_key.then(|| EncryptionKeyPair::generate().unwrap());
        Identity { id: identity_id(&cert), key, cert, enc }
    }

    pub fn initial(&self) -> InitialMember {
        InitialMember {
            cert_pem: self.cert.pem().to_string(),
            encryption_public_key_pem: self.enc.as_ref().map(|k| k.public_key().to_pem()),
            member_data: Some(serde_json::json!({ "name": self.cert.common_name() })),
        }
    }

    /// A signed request of this identity (kid = its id).
    pub fn sign(&self, msg_type: &str, created_at: u64, proposal_id: Option<&str>, payload: &[u8]) -> Vec<u8> {
        let header =
            GovRequestHeader { msg_type: msg_type.into(), created_at, proposal_id: proposal_id.map(str::to_string) };
        sign_request(&self.key, &self.id, &header, payload)
    }
}

/// Seven identities; the first five have RSA encryption keys (recovery members).
pub fn pool() -> &'static [Identity] {
    static POOL: OnceLock<Vec<Identity>> = OnceLock::new();
    POOL.get_or_init(|| (0..7).map(|i| Identity::new(&format!("member{i}"), i < 5)).collect())
}

/// Deterministic xorshift64 byte source (tests only).
pub fn xorshift(seed: u64) -> impl FnMut(&mut [u8]) {
    let mut state = seed | 1;
    move |buf: &mut [u8]| {
        for b in buf {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = state as u8;
        }
    }
}

/// The node's randomness source.
pub type RandomSource = Box<dyn FnMut(&mut [u8])>;

/// A service's store plus what the node would hold: its ledger secrets, its clock, its RNG.
pub struct Harness {
    pub store: Store,
    pub chain: LedgerSecretChain,
    pub now_s: u64,
    pub rng: RandomSource,
    pub service_key: SigningKey,
    pub service_cert: Certificate,
}

impl Harness {
    /// Genesis with `members` and `recovery_threshold`; no service row yet.
    pub fn new(members: &[&Identity], recovery_threshold: u64) -> Harness {
        let service_key = SigningKey::generate().unwrap();
        let req = CertificateRequest {
            common_name: "CCF Service".into(),
            subject_alt_names: vec![],
            not_before_unix_s: NOW_S as i64 - 60,
            validity_days: 1,
            is_ca: true,
        };
        let service_cert = Certificate::self_signed(&service_key, &req).unwrap();
        let mut h = Harness {
            store: Store::new(),
            chain: LedgerSecretChain::new(1, [0x11; 32]),
            now_s: NOW_S,
            rng: Box::new(xorshift(0x5eed)),
            service_key,
            service_cert,
        };
        let initial: Vec<_> = members.iter().map(|m| m.initial()).collect();
        h.with_tx(|tx, _| initial_governance(tx, &initial, recovery_threshold)).unwrap();
        h
    }

    /// Writes the service row as the node's genesis (or recovery) transaction would.
    pub fn set_service_status(&mut self, status: ServiceStatus) {
        let info = ServiceInfo {
            cert: self.service_cert.pem().to_string(),
            status,
            recovery_count: 0,
            previous_service_identity_version: None,
            create_txid: None,
        };
        let mut tx = self.store.begin();
        tx.put(SERVICE_INFO, SINGLETON_KEY.to_vec(), serde_json::to_vec(&info).unwrap());
        self.commit(tx);
    }

    pub fn commit(&mut self, tx: Tx) {
        let seqno = self.store.version() + 1;
        self.store.commit(tx, seqno).unwrap();
        self.store.check_invariants();
        check_invariants(&self.store.snapshot_view());
    }

    /// Runs `f` in a transaction committed only if it succeeds (as the node does).
    pub fn with_tx<T>(
        &mut self,
        f: impl FnOnce(&mut Tx, &mut GovContext<'_>) -> Result<T, GovError>,
    ) -> Result<T, GovError> {
        let mut tx = self.store.begin();
        let chain = self.chain.clone();
        let mut ctx = GovContext { now_s: self.now_s, fill_random: &mut *self.rng, ledger_secrets: &chain };
        let out = f(&mut tx, &mut ctx)?;
        self.commit(tx);
        Ok(out)
    }

    pub fn submit_proposal_bytes(&mut self, bytes: &[u8]) -> Result<GovOutcome, GovError> {
        let req = SignedRequest::parse(bytes)?;
        self.with_tx(|tx, ctx| submit_proposal(tx, &req, ctx))
    }

    pub fn propose(&mut self, member: &Identity, body: &serde_json::Value) -> Result<GovOutcome, GovError> {
        let bytes = member.sign("proposal", self.now_s, None, body.to_string().as_bytes());
        self.submit_proposal_bytes(&bytes)
    }

    pub fn submit_ballot_bytes(
        &mut self,
        proposal_id: &str,
        path_member: &str,
        bytes: &[u8],
    ) -> Result<GovOutcome, GovError> {
        let req = SignedRequest::parse(bytes)?;
        self.with_tx(|tx, ctx| submit_ballot(tx, proposal_id, path_member, &req, ctx))
    }

    /// `member` votes `ballot` ("approve"/"reject"); each call signs afresh, one second later.
    pub fn vote(&mut self, member: &Identity, proposal_id: &str, ballot: &str) -> Result<GovOutcome, GovError> {
        self.now_s += 1;
        let body = serde_json::json!({ "ballot": ballot }).to_string();
        let bytes = member.sign("ballot", self.now_s, Some(proposal_id), body.as_bytes());
        self.submit_ballot_bytes(proposal_id, &member.id, &bytes)
    }

    pub fn withdraw(&mut self, member: &Identity, proposal_id: &str) -> Result<GovOutcome, GovError> {
        self.now_s += 1;
        let bytes = member.sign("withdrawal", self.now_s, Some(proposal_id), b"");
        let req = SignedRequest::parse(&bytes)?;
        self.with_tx(|tx, ctx| withdraw_proposal(tx, proposal_id, &req, ctx))
    }

    /// Proposes `body` with `members[0]` and has every member approve until it closes.
    pub fn pass(&mut self, members: &[&Identity], body: &serde_json::Value) -> GovOutcome {
        let mut outcome = self.propose(members[0], body).unwrap();
        for m in members {
            if outcome.info.proposal_state != cairn_gov::ProposalState::Open {
                break;
            }
            outcome = self.vote(m, &outcome.info.proposal_id, "approve").unwrap();
        }
        outcome
    }
}

pub fn action(name: &str, args: serde_json::Value) -> serde_json::Value {
    serde_json::json!({ "actions": [{ "name": name, "args": args }] })
}
