//! The client side of Cairn's TLS: the service certificate is the ONLY trust root (node RPC
//! certificates are endorsed by it, SAN IP 127.0.0.1 / DNS localhost), and a user presents a
//! client certificate (`NAME_cert.pem` / `NAME_privk.pem` from `cairn keygen`).
//!
//! The rustls configuration is built with an explicit aws-lc-rs provider, never the process
//! default, so nothing global has to be installed before a client is created.
use crate::ClientError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// A TLS client identity: certificate chain and private key, both PEM.
#[derive(Clone)]
pub struct ClientIdentity {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity").field("cert_pem", &self.cert_pem).field("key_pem", &"<redacted>").finish()
    }
}

fn config_error(what: &'static str, reason: impl ToString) -> ClientError {
    ClientError::Config { what, reason: reason.to_string() }
}

/// Parses every certificate of a PEM text; at least one is required.
fn certificates(what: &'static str, pem: &str) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| config_error(what, e))?;
    if certs.is_empty() {
        return Err(config_error(what, "no CERTIFICATE block"));
    }
    Ok(certs)
}

/// A rustls client configuration trusting only `service_cert_pem`, presenting `identity` if
/// given, speaking HTTP/1.1.
pub fn build_tls_config(
    service_cert_pem: &str,
    identity: Option<&ClientIdentity>,
) -> Result<rustls::ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in certificates("service certificate", service_cert_pem)? {
        roots.add(cert).map_err(|e| config_error("service certificate", e))?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error("TLS protocol versions", e))?
        .with_root_certificates(roots);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some(id) => {
            let chain = certificates("client certificate", &id.cert_pem)?;
            let key = PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes())
                .map_err(|e| config_error("client private key", e))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| config_error("client identity", e))?
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_crypto::{Certificate, CertificateRequest, SigningKey};

    fn self_signed(name: &str) -> (SigningKey, Certificate) {
        let key = SigningKey::generate().unwrap();
        let req = CertificateRequest {
            common_name: name.into(),
            subject_alt_names: vec![],
            not_before_unix_s: 1_700_000_000,
            validity_days: 30,
            is_ca: true,
        };
        let cert = Certificate::self_signed(&key, &req).unwrap();
        (key, cert)
    }

    #[test]
    fn config_builds_with_and_without_a_client_identity() {
        let (_, service) = self_signed("service");
        let (user_key, user_cert) = self_signed("user0");
        assert!(build_tls_config(service.pem(), None).is_ok());
        let id = ClientIdentity { cert_pem: user_cert.pem().to_string(), key_pem: user_key.to_pem() };
        let config = build_tls_config(service.pem(), Some(&id)).unwrap();
        assert!(config.client_auth_cert_resolver.has_certs());
        assert!(!format!("{id:?}").contains("PRIVATE KEY"), "Debug must redact the key");
    }

    #[test]
    fn bad_pem_inputs_name_the_file_they_came_from() {
        let (user_key, user_cert) = self_signed("user0");
        let (_, service) = self_signed("service");
        let cases: [(&str, Option<ClientIdentity>, &str); 4] = [
            ("", None, "service certificate"),
            ("not a pem", None, "service certificate"),
            (
                service.pem(),
                Some(ClientIdentity { cert_pem: "garbage".into(), key_pem: user_key.to_pem() }),
                "client certificate",
            ),
            (
                service.pem(),
                Some(ClientIdentity { cert_pem: user_cert.pem().into(), key_pem: "garbage".into() }),
                "client private key",
            ),
        ];
        for (service_pem, identity, want) in cases {
            match build_tls_config(service_pem, identity.as_ref()) {
                Err(ClientError::Config { what, .. }) => assert_eq!(what, want),
                other => panic!("expected Config error naming {want}, got {:?}", other.map(|_| ())),
            }
        }
    }
}
