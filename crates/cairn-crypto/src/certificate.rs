use crate::{CryptoError, SigningKey, VerifyingKey};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyUsagePurpose, SubjectPublicKeyInfo};
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, X509Certificate};

/// What a new certificate says. Times are passed in, never read from a clock, so the core stays
/// deterministic.
#[derive(Debug, Clone)]
pub struct CertificateRequest {
    pub common_name: String,
    pub subject_alt_names: Vec<String>,
    pub not_before_unix_s: i64,
    pub validity_days: u32,
    pub is_ca: bool,
}

/// An X.509 certificate, kept as PEM (what CCF stores in its tables) and DER.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    pem: String,
    der: Vec<u8>,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Certificate({} bytes DER)", self.der.len())
    }
}

fn params(req: &CertificateRequest) -> Result<CertificateParams, CryptoError> {
    let mut p =
        CertificateParams::new(req.subject_alt_names.clone()).map_err(|e| CryptoError::Internal(e.to_string()))?;
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, req.common_name.clone());
    let start = OffsetDateTime::from_unix_timestamp(req.not_before_unix_s)
        .map_err(|e| CryptoError::Internal(format!("not_before: {e}")))?;
    p.not_before = start;
    p.not_after = start + Duration::days(i64::from(req.validity_days));
    if req.is_ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    }
    Ok(p)
}

impl Certificate {
    /// A self-signed certificate for `key` (service identity, member or user identity).
    pub fn self_signed(key: &SigningKey, req: &CertificateRequest) -> Result<Self, CryptoError> {
        let cert = params(req)?.self_signed(key.rcgen_key()).map_err(|e| CryptoError::Internal(e.to_string()))?;
        Self::from_der(cert.der().to_vec())
    }

    /// A certificate for `subject_spki_der` issued (endorsed) by `issuer` with `issuer_key`.
    pub fn endorsed(
        subject_spki_der: &[u8],
        req: &CertificateRequest,
        issuer: &Certificate,
        issuer_key: &SigningKey,
    ) -> Result<Self, CryptoError> {
        let spki =
            SubjectPublicKeyInfo::from_der(subject_spki_der).map_err(|e| CryptoError::InvalidKey(e.to_string()))?;
        let issuer = Issuer::from_ca_cert_der(&issuer.der.clone().into(), issuer_key.rcgen_key())
            .map_err(|e| CryptoError::InvalidCertificate(e.to_string()))?;
        let cert = params(req)?.signed_by(&spki, &issuer).map_err(|e| CryptoError::Internal(e.to_string()))?;
        Self::from_der(cert.der().to_vec())
    }

    pub fn from_der(der: Vec<u8>) -> Result<Self, CryptoError> {
        X509Certificate::from_der(&der).map_err(|e| CryptoError::InvalidCertificate(e.to_string()))?;
        let pem = crate::pem_encode("CERTIFICATE", &der);
        Ok(Certificate { pem, der })
    }

    /// Parses the first PEM certificate in `text`; a trailing NUL (as CCF stores endorsed
    /// certificates) is accepted.
    pub fn from_pem(text: &str) -> Result<Self, CryptoError> {
        let text = text.trim_end_matches('\0');
        let (_, pem) = x509_parser::pem::parse_x509_pem(text.as_bytes())
            .map_err(|e| CryptoError::InvalidCertificate(format!("PEM: {e}")))?;
        Self::from_der(pem.contents)
    }

    pub fn pem(&self) -> &str {
        &self.pem
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    fn parsed(&self) -> X509Certificate<'_> {
        X509Certificate::from_der(&self.der).expect("checked at construction").1
    }

    /// DER SubjectPublicKeyInfo of the certified key.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.parsed().tbs_certificate.subject_pki.raw.to_vec()
    }

    pub fn verifying_key(&self) -> Result<VerifyingKey, CryptoError> {
        VerifyingKey::from_spki_der(&self.public_key_der())
    }

    pub fn common_name(&self) -> Option<String> {
        let cert = self.parsed();
        let cn = cert.subject().iter_common_name().next()?.as_str().ok()?.to_string();
        Some(cn)
    }

    /// Checks this certificate's signature with `issuer_key` (ECDSA P-384 with SHA-384).
    pub fn verify_issued_by(&self, issuer_key: &VerifyingKey) -> Result<(), CryptoError> {
        let cert = self.parsed();
        issuer_key.verify_message(cert.tbs_certificate.as_ref(), &cert.signature_value.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(cn: &str, ca: bool) -> CertificateRequest {
        CertificateRequest {
            common_name: cn.into(),
            subject_alt_names: vec!["127.0.0.1".into()],
            not_before_unix_s: 1_700_000_000,
            validity_days: 1,
            is_ca: ca,
        }
    }

    #[test]
    fn endorsed_certificate_verifies_under_issuer_only() {
        let service_key = SigningKey::generate().unwrap();
        let service = Certificate::self_signed(&service_key, &req("CCF Service", true)).unwrap();
        let node_key = SigningKey::generate().unwrap();
        let node =
            Certificate::endorsed(&node_key.public_key_der(), &req("CCF Node", false), &service, &service_key).unwrap();
        assert_eq!(node.public_key_der(), node_key.public_key_der());
        node.verify_issued_by(&service.verifying_key().unwrap()).unwrap();
        assert!(node.verify_issued_by(&node_key.verifying_key()).is_err());
        service.verify_issued_by(&service.verifying_key().unwrap()).unwrap();
        let again = Certificate::from_pem(&format!("{}\0", node.pem())).unwrap();
        assert_eq!(again, node);
        assert_eq!(node.common_name().as_deref(), Some("CCF Node"));
    }
}
