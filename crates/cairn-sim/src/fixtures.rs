//! Fixed identities: every key is a PEM file under `fixtures/` (test keys, generated once with
//! `openssl genpkey`), so node ids and Raft ids, which order raft-rs's progress maps, are the
//! same in every process and one seed replays the same run anywhere. Certificates are made at
//! start-up from those keys (their ECDSA signatures differ per process; only byte lengths of a
//! few entries can vary, which moves nothing but chunk fill levels).
use cairn_crypto::{Certificate, CertificateRequest, SigningKey};
use cairn_gov::{GovRequestHeader, InitialMember, identity_id, sign_request};
use cairn_ledger::{NodeSigner, SERVICE_COMMON_NAME, ServiceIdentity};
use cairn_node::Caller;
use std::sync::{Arc, OnceLock};

/// The virtual clock at the start of every run (unix ms).
pub const START_MS: u64 = 1_700_000_000_000;

/// Most nodes a simulation can have (one fixture key pair each).
pub const MAX_NODES: usize = 7;

const NODE_KEYS: [&str; MAX_NODES] = [
    include_str!("../fixtures/ec_node1.pem"),
    include_str!("../fixtures/ec_node2.pem"),
    include_str!("../fixtures/ec_node3.pem"),
    include_str!("../fixtures/ec_node4.pem"),
    include_str!("../fixtures/ec_node5.pem"),
    include_str!("../fixtures/ec_node6.pem"),
    include_str!("../fixtures/ec_node7.pem"),
];

const NODE_ENCRYPTION_KEYS: [&str; MAX_NODES] = [
    include_str!("../fixtures/rsa_node1.pem"),
    include_str!("../fixtures/rsa_node2.pem"),
    include_str!("../fixtures/rsa_node3.pem"),
    include_str!("../fixtures/rsa_node4.pem"),
    include_str!("../fixtures/rsa_node5.pem"),
    include_str!("../fixtures/rsa_node6.pem"),
    include_str!("../fixtures/rsa_node7.pem"),
];

pub struct Fixtures {
    pub service: ServiceIdentity,
    pub member_key: SigningKey,
    pub member_id: String,
    pub member: InitialMember,
    pub user_cert: Certificate,
    /// Node 0's signer, endorsed by the service (the starting node).
    pub first_signer: Arc<NodeSigner>,
}

fn cert_request(common_name: &str, is_ca: bool) -> CertificateRequest {
    CertificateRequest {
        common_name: common_name.into(),
        subject_alt_names: vec![],
        not_before_unix_s: (START_MS / 1000) as i64 - 60,
        validity_days: 365,
        is_ca,
    }
}

pub fn key(pem: &str) -> SigningKey {
    SigningKey::from_pem(pem).expect("fixture key parses")
}

/// Node `index`'s signing key.
pub fn node_key(index: usize) -> SigningKey {
    key(NODE_KEYS[index])
}

/// The service a disaster recovery creates: its key is the last node key (slot 6, which no
/// node uses: nodes take slots 0–2 and, after a recovery, 3–5).
pub fn recovered_service() -> &'static ServiceIdentity {
    static SERVICE: OnceLock<ServiceIdentity> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let key = node_key(MAX_NODES - 1);
        let cert = Certificate::self_signed(&key, &cert_request(SERVICE_COMMON_NAME, true)).expect("service cert");
        ServiceIdentity { key, cert }
    })
}

/// The member's RSA key (decrypts its recovery share).
pub fn member_encryption_key() -> cairn_crypto::EncryptionKeyPair {
    cairn_crypto::EncryptionKeyPair::from_pem(include_str!("../fixtures/rsa_member.pem"))
        .expect("member encryption key")
}

/// The member's caller identity (its TLS client certificate, for fetching its share).
pub fn member_caller() -> Caller {
    Caller::with_cert(Some(fixtures().member_id.clone()))
}

/// Node `index`'s RSA encryption key (a joiner sends its public half; a rekey seals to it).
pub fn node_encryption_key(index: usize) -> Arc<cairn_crypto::EncryptionKeyPair> {
    static KEYS: OnceLock<Vec<Arc<cairn_crypto::EncryptionKeyPair>>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        NODE_ENCRYPTION_KEYS
            .iter()
            .map(|pem| Arc::new(cairn_crypto::EncryptionKeyPair::from_pem(pem).expect("fixture encryption key parses")))
            .collect()
    });
    keys[index].clone()
}

/// Node `index`'s self-signed certificate (what a joiner presents).
pub fn self_signed_node_cert(index: usize) -> Certificate {
    Certificate::self_signed(&node_key(index), &cert_request(cairn_ledger::NODE_COMMON_NAME, false))
        .expect("self-signed node certificate")
}

pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let service_key = key(include_str!("../fixtures/ec_service.pem"));
        let service_cert =
            Certificate::self_signed(&service_key, &cert_request(SERVICE_COMMON_NAME, true)).expect("service cert");
        let service = ServiceIdentity { key: service_key, cert: service_cert };
        let member_key = key(include_str!("../fixtures/ec_member.pem"));
        let member_cert = Certificate::self_signed(&member_key, &cert_request("m0", false)).expect("member cert");
        let member_enc = cairn_crypto::EncryptionKeyPair::from_pem(include_str!("../fixtures/rsa_member.pem"))
            .expect("member encryption key");
        let member = InitialMember {
            cert_pem: member_cert.pem().to_string(),
            encryption_public_key_pem: Some(member_enc.public_key().to_pem()),
            member_data: None,
        };
        let user_key = key(include_str!("../fixtures/ec_user.pem"));
        let user_cert = Certificate::self_signed(&user_key, &cert_request("u0", false)).expect("user cert");
        let first_key = node_key(0);
        let first_cert = service
            .endorse_node(&first_key, vec!["127.0.0.1".into()], (START_MS / 1000) as i64 - 60, 365)
            .expect("node certificate");
        let first_signer = Arc::new(NodeSigner::new(first_key, first_cert.pem().to_string()));
        Fixtures { service, member_id: identity_id(&member_cert), member_key, member, user_cert, first_signer }
    })
}

/// The registered user, as the TLS layer would name it.
pub fn user() -> Caller {
    Caller::with_cert(Some(identity_id(&fixtures().user_cert)))
}

/// A governance request signed by the member at `now_ms`.
pub fn member_request(msg_type: &str, proposal_id: Option<&str>, payload: &serde_json::Value, now_ms: u64) -> Vec<u8> {
    let f = fixtures();
    let header = GovRequestHeader {
        msg_type: msg_type.into(),
        created_at: now_ms / 1000,
        proposal_id: proposal_id.map(str::to_string),
    };
    sign_request(&f.member_key, &f.member_id, &header, &serde_json::to_vec(payload).expect("json"))
}

/// Node addresses (never dialled: the simulator routes by Raft id).
pub fn rpc_address(index: usize) -> String {
    format!("10.0.0.{}:8000", index + 1)
}

pub fn node_to_node_address(index: usize) -> String {
    format!("10.0.0.{}:8001", index + 1)
}
