//! [`ServiceIdentity`]: the service's P-384 key and self-signed CA certificate (what clients pin
//! as `service_cert.pem`), and the node identities it endorses. One place for the certificate
//! shapes the shell, the generator and the tests all need. Times are arguments: no clock here.
use crate::NodeSigner;
use cairn_crypto::{Certificate, CertificateRequest, CryptoError, SigningKey};

/// Common name of service certificates, as CCF names them.
pub const SERVICE_COMMON_NAME: &str = "CCF Service";
/// Common name of node certificates, as CCF names them.
pub const NODE_COMMON_NAME: &str = "CCF Node";

#[derive(Debug)]
pub struct ServiceIdentity {
    pub key: SigningKey,
    pub cert: Certificate,
}

impl ServiceIdentity {
    /// A fresh service key and its self-signed CA certificate.
    pub fn create(not_before_unix_s: i64, validity_days: u32) -> Result<Self, CryptoError> {
        let key = SigningKey::generate()?;
        let req = CertificateRequest {
            common_name: SERVICE_COMMON_NAME.into(),
            subject_alt_names: vec![],
            not_before_unix_s,
            validity_days,
            is_ca: true,
        };
        let cert = Certificate::self_signed(&key, &req)?;
        Ok(ServiceIdentity { key, cert })
    }

    /// The certificate of `node_key`, endorsed by the service, valid for the host names or IP
    /// addresses `subject_alt_names` (what clients connect to).
    pub fn endorse_node(
        &self,
        node_key: &SigningKey,
        subject_alt_names: Vec<String>,
        not_before_unix_s: i64,
        validity_days: u32,
    ) -> Result<Certificate, CryptoError> {
        self.endorse_node_named(node_key, NODE_COMMON_NAME, subject_alt_names, not_before_unix_s, validity_days)
    }

    /// [`ServiceIdentity::endorse_node`] with the subject's common name given
    /// (`node_certificate.subject_name`).
    pub fn endorse_node_named(
        &self,
        node_key: &SigningKey,
        common_name: &str,
        subject_alt_names: Vec<String>,
        not_before_unix_s: i64,
        validity_days: u32,
    ) -> Result<Certificate, CryptoError> {
        let req = CertificateRequest {
            common_name: common_name.into(),
            subject_alt_names,
            not_before_unix_s,
            validity_days,
            is_ca: false,
        };
        Certificate::endorsed(&node_key.public_key_der(), &req, &self.cert, &self.key)
    }

    /// A fresh node key with a certificate endorsed by the service for 127.0.0.1 and
    /// localhost: the signer of a local node (generator, tests, sandbox).
    pub fn new_local_node(&self, not_before_unix_s: i64, validity_days: u32) -> Result<NodeSigner, CryptoError> {
        let key = SigningKey::generate()?;
        let names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        let cert = self.endorse_node(&key, names, not_before_unix_s, validity_days)?;
        Ok(NodeSigner::new(key, cert.pem().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_are_endorsed_by_the_service_and_named_by_their_key() {
        let service = ServiceIdentity::create(1_700_000_000, 30).unwrap();
        let other = ServiceIdentity::create(1_700_000_000, 30).unwrap();
        let node = service.new_local_node(1_700_000_000, 30).unwrap();
        let cert = Certificate::from_pem(&node.cert_pem).unwrap();
        cert.verify_issued_by(&service.cert.verifying_key().unwrap()).unwrap();
        assert!(cert.verify_issued_by(&other.cert.verifying_key().unwrap()).is_err());
        assert_eq!(node.node_id, cert.verifying_key().unwrap().key_id());
        assert_eq!(service.cert.common_name().as_deref(), Some(SERVICE_COMMON_NAME));
    }
}
