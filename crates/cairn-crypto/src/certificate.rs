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
    p.not_after = start.checked_add(Duration::days(i64::from(req.validity_days))).ok_or_else(|| {
        CryptoError::Internal(format!("not_after: {} days after not_before is out of range", req.validity_days))
    })?;
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

    /// `notBefore` and `notAfter`, unix seconds.
    pub fn validity_unix_s(&self) -> (i64, i64) {
        let validity = self.parsed().validity().clone();
        (validity.not_before.timestamp(), validity.not_after.timestamp())
    }

    /// The subject alternative names (DNS names and IP addresses, as text).
    pub fn subject_alt_names(&self) -> Vec<String> {
        use x509_parser::extensions::GeneralName;
        let cert = self.parsed();
        let Ok(Some(san)) = cert.subject_alternative_name() else { return Vec::new() };
        san.value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(dns) => Some(dns.to_string()),
                GeneralName::IPAddress(ip) => match ip.len() {
                    4 => Some(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*ip).expect("4 bytes")).to_string()),
                    16 => Some(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*ip).expect("16 bytes")).to_string()),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    /// What a renewal of this certificate issues: the same subject (common name, alternative
    /// names, CA or not), valid from `not_before_unix_s` for `validity_days`. Issued for the
    /// same key, it is the same identity with new dates.
    pub fn renewal_request(&self, not_before_unix_s: i64, validity_days: u32) -> CertificateRequest {
        CertificateRequest {
            common_name: self.common_name().unwrap_or_default(),
            subject_alt_names: self.subject_alt_names(),
            not_before_unix_s,
            validity_days,
            is_ca: self.parsed().is_ca(),
        }
    }

    /// Whether both certificates certify the same key (the same identity, whatever the dates).
    pub fn same_key(&self, other: &Certificate) -> bool {
        self.public_key_der() == other.public_key_der()
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

    #[test]
    fn a_renewal_keeps_the_subject_and_key_with_new_dates() {
        let service_key = SigningKey::generate().unwrap();
        let service = Certificate::self_signed(&service_key, &req("CCF Service", true)).unwrap();
        assert_eq!(service.validity_unix_s(), (1_700_000_000, 1_700_000_000 + 86_400));
        let node_key = SigningKey::generate().unwrap();
        let mut node_req = req("CCF Node", false);
        node_req.subject_alt_names = vec!["127.0.0.1".into(), "node.example".into(), "::1".into()];
        let node = Certificate::endorsed(&node_key.public_key_der(), &node_req, &service, &service_key).unwrap();
        assert_eq!(node.subject_alt_names(), ["127.0.0.1", "node.example", "::1"]);

        let renewed_service =
            Certificate::self_signed(&service_key, &service.renewal_request(1_800_000_000, 30)).unwrap();
        assert!(renewed_service.same_key(&service) && renewed_service != service);
        assert_eq!(renewed_service.validity_unix_s(), (1_800_000_000, 1_800_000_000 + 30 * 86_400));
        assert_eq!(renewed_service.common_name().as_deref(), Some("CCF Service"));
        let renewed_node = Certificate::endorsed(
            &node.public_key_der(),
            &node.renewal_request(1_800_000_000, 30),
            &renewed_service,
            &service_key,
        )
        .unwrap();
        assert!(renewed_node.same_key(&node));
        assert_eq!(renewed_node.subject_alt_names(), node.subject_alt_names());
        // The old node certificate verifies under the renewed service certificate: same key.
        node.verify_issued_by(&renewed_service.verifying_key().unwrap()).unwrap();
        assert!(!node.same_key(&service));
    }
}
