//! [`NodeTls`]: the rustls client and server configurations of a node-to-node channel, both
//! presenting the node certificate and both requiring a peer endorsed by the service
//! ([`super::endorsement::ServiceEndorsement`]). TLS 1.3 only, ALPN `cairn-node/1`.
use super::config::NodeIdentity;
use super::endorsement::ServiceEndorsement;
use super::error::NodeChannelError;
use super::presented_certificate::PresentedCertificate;
use cairn_crypto::Certificate;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, ServerConfig};
use std::sync::Arc;

/// ALPN protocol of the node-to-node interface (keeps it apart from the RPC interface).
pub const NODE_ALPN: &[u8] = b"cairn-node/1";

/// Owns the TLS configurations and the node id derived from the node certificate.
#[derive(Clone)]
pub struct NodeTls {
    pub node_id: String,
    pub client: Arc<ClientConfig>,
    pub server: Arc<ServerConfig>,
    /// The node certificate both present (renewable in place).
    pub presented: Arc<PresentedCertificate>,
}

impl std::fmt::Debug for NodeTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeTls").field("node_id", &self.node_id).finish_non_exhaustive()
    }
}

fn identity_error(field: &'static str) -> impl Fn(String) -> NodeChannelError {
    move |reason| NodeChannelError::Identity { field, reason }
}

impl NodeTls {
    pub fn new(identity: &NodeIdentity) -> Result<Self, NodeChannelError> {
        let service = Certificate::from_pem(&identity.service_cert_pem)
            .map_err(|e| identity_error("service_cert_pem")(e.to_string()))?;
        let service_key = service.verifying_key().map_err(|e| identity_error("service_cert_pem")(e.to_string()))?;
        let cert = Certificate::from_pem(&identity.cert_pem).map_err(|e| identity_error("cert_pem")(e.to_string()))?;
        let node_id = cert.verifying_key().map_err(|e| identity_error("cert_pem")(e.to_string()))?.key_id();
        let chain = vec![CertificateDer::from(cert.der().to_vec())];
        let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes())
            .map_err(|e| identity_error("key_pem")(e.to_string()))?;

        let provider = crate::tls_config::provider();
        let verifier = Arc::new(ServiceEndorsement::new(service_key, provider.signature_verification_algorithms));
        let versions = &[&rustls::version::TLS13];
        let presented = Arc::new(PresentedCertificate::new(chain.into_iter().next().expect("one"), key, &provider)?);
        let mut server = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)?
            .with_client_cert_verifier(verifier.clone())
            .with_cert_resolver(presented.clone());
        server.alpn_protocols = vec![NODE_ALPN.to_vec()];
        server.send_tls13_tickets = 0;
        let mut client = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_cert_resolver(presented.clone());
        client.alpn_protocols = vec![NODE_ALPN.to_vec()];
        Ok(NodeTls { node_id, client: Arc::new(client), server: Arc::new(server), presented })
    }
}
