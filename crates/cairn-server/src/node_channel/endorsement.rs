//! [`ServiceEndorsement`]: the certificate check of both ends of a node-to-node connection. A
//! peer certificate is accepted iff it is signed by the service certificate and valid at the
//! handshake time; the handshake signature proves possession of its key. Host names are not
//! checked (the endorsement replaces them); which node it is, is decided by the caller from the
//! certificate's key id.
use cairn_crypto::{Certificate, VerifyingKey};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::time::ASN1Time;

/// Owns the service's public key and the signature algorithms of the crypto provider.
#[derive(Debug)]
pub(crate) struct ServiceEndorsement {
    service_key: VerifyingKey,
    algorithms: WebPkiSupportedAlgorithms,
}

/// The node id (`cairn_crypto` key id) of a DER certificate, if it parses.
pub(crate) fn node_id_of(der: &[u8]) -> Option<String> {
    let cert = Certificate::from_der(der.to_vec()).ok()?;
    Some(cert.verifying_key().ok()?.key_id())
}

impl ServiceEndorsement {
    pub(crate) fn new(service_key: VerifyingKey, algorithms: WebPkiSupportedAlgorithms) -> Self {
        ServiceEndorsement { service_key, algorithms }
    }

    /// Checks `der` is endorsed by the service and valid at `now`; logs the refusal, naming the
    /// presented node id and `side` ("client" or "server").
    fn check(&self, der: &[u8], now: UnixTime, side: &str) -> Result<(), rustls::Error> {
        let refuse = |node: &str, reason: &str, error: CertificateError| {
            tracing::warn!(node_id = node, side, "refusing node-to-node peer: {reason}");
            Err(rustls::Error::InvalidCertificate(error))
        };
        let Ok(cert) = Certificate::from_der(der.to_vec()) else {
            return refuse("?", "certificate does not parse", CertificateError::BadEncoding);
        };
        let node = cert.verifying_key().map(|k| k.key_id()).unwrap_or_else(|_| "?".to_string());
        if cert.verify_issued_by(&self.service_key).is_err() {
            return refuse(&node, "certificate is not endorsed by the service", CertificateError::UnknownIssuer);
        }
        let Ok((_, parsed)) = X509Certificate::from_der(der) else {
            return refuse(&node, "certificate does not parse", CertificateError::BadEncoding);
        };
        let secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        let Ok(at) = ASN1Time::from_timestamp(secs) else {
            return refuse(&node, "handshake time out of range", CertificateError::BadEncoding);
        };
        let validity = parsed.validity();
        if at < validity.not_before {
            return refuse(&node, "certificate is not valid yet", CertificateError::NotValidYet);
        }
        if at > validity.not_after {
            return refuse(&node, "certificate has expired", CertificateError::Expired);
        }
        Ok(())
    }
}

impl ClientCertVerifier for ServiceEndorsement {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.check(end_entity, now, "client").map(|()| ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl ServerCertVerifier for ServiceEndorsement {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity, now, "server").map(|()| ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
