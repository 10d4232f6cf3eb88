//! [`PresentedCertificate`]: the certificate a node presents on its node-to-node connections, as
//! server and as client, replaced in place when members renew it (the same key, new dates):
//! connections made from then on present the renewed one, so a running node's channel outlives
//! its first certificate.
use super::error::NodeChannelError;
use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{SignatureScheme, sign};
use std::sync::{Arc, RwLock};

pub struct PresentedCertificate {
    current: RwLock<Arc<CertifiedKey>>,
}

impl std::fmt::Debug for PresentedCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedCertificate").finish_non_exhaustive()
    }
}

impl PresentedCertificate {
    pub fn new(
        certificate: CertificateDer<'static>,
        key: PrivateKeyDer<'static>,
        provider: &CryptoProvider,
    ) -> Result<Self, NodeChannelError> {
        let key = provider.key_provider.load_private_key(key)?;
        Ok(PresentedCertificate { current: RwLock::new(Arc::new(CertifiedKey::new(vec![certificate], key))) })
    }

    /// Presents `certificate` from the next handshake on; it must certify the same key.
    pub fn replace(&self, certificate: CertificateDer<'static>) -> Result<(), NodeChannelError> {
        let key: Arc<dyn sign::SigningKey> = self.get().key.clone();
        let renewed = CertifiedKey::new(vec![certificate], key);
        renewed.keys_match().map_err(|e| NodeChannelError::Identity { field: "cert_pem", reason: e.to_string() })?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(renewed);
        Ok(())
    }

    fn get(&self) -> Arc<CertifiedKey> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The certificate presented now (DER).
    pub fn certificate(&self) -> CertificateDer<'static> {
        self.get().cert[0].clone()
    }
}

impl ResolvesServerCert for PresentedCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

impl ResolvesClientCert for PresentedCertificate {
    fn resolve(&self, _root_hint_subjects: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }

    fn has_certs(&self) -> bool {
        true
    }
}
