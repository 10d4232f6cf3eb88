//! Certificate renewal (issue 17; CCF's `set_service_certificate_validity`,
//! `set_node_certificate_validity`, `set_all_nodes_certificate_validity`).
//!
//! - **Issuing** (the primary, performing the accepted proposal's effects): the service
//!   certificate is issued again for the same key (`public:ccf.gov.service.info`'s `cert`), and
//!   node certificates are endorsed again for the same node keys
//!   (`public:ccf.gov.nodes.endorsed_certificates`), with the subject of the certificate they
//!   replace and the proposal's dates. The identity does not change: receipts, snapshots and
//!   node certificates issued before keep verifying against the renewed service certificate.
//! - **Serving** (every node): once the transaction that renewed its own node certificate or the
//!   service certificate is committed, the node serves the renewed chain and rewrites its
//!   certificate files (`Action::ServeCertificates`).
//!
//! A renewal that cannot be issued (no service key on this node, a row that does not parse) is
//! reported in `GET /node/state` as `certificate_renewal_failure`.
use super::NodeCore;
use crate::Action;
use cairn_crypto::{Certificate, Sha256};
use cairn_kv::WriteSet;
use cairn_ledger::format::EntryFlags;
use cairn_ledger::tables::{self, NodeInfo, NodeStatus, ServiceInfo};

/// The certificate in an endorsed-certificate row (PEM, NUL-terminated as CCF stores it).
fn endorsed_row(value: &[u8]) -> Result<Certificate, String> {
    Certificate::from_pem(&String::from_utf8_lossy(value)).map_err(|e| e.to_string())
}

/// `unix_s` as RFC 3339 UTC text (what `valid_to` fields show).
pub(crate) fn rfc3339(unix_s: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_s)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// `valid_to` of a certificate in PEM, as RFC 3339 text (`None` if it does not parse).
pub(crate) fn valid_to(pem: &str) -> Option<String> {
    let cert = Certificate::from_pem(pem).ok()?;
    Some(rfc3339(cert.validity_unix_s().1))
}

impl NodeCore {
    fn renewal_failed(&mut self, what: &str, reason: String) {
        self.renewal_failure = Some(format!("{what}: {reason}"));
    }

    /// `set_service_certificate_validity`: the service certificate again, same key and subject,
    /// valid from `valid_from_unix_s` for `days`.
    pub(super) fn renew_service_certificate(&mut self, valid_from_unix_s: i64, days: u64) {
        let Some(key) = self.identity.service_key.clone() else {
            return self.renewal_failed("renewing the service certificate", "this node holds no service key".into());
        };
        let info: ServiceInfo = self.service_info();
        let renewed = Certificate::from_pem(&info.cert).and_then(|current| {
            let days = u32::try_from(days).map_err(|_| cairn_crypto::CryptoError::Internal(format!("{days} days")))?;
            Certificate::self_signed(&key, &current.renewal_request(valid_from_unix_s, days))
        });
        let renewed = match renewed {
            Ok(cert) => cert,
            Err(e) => return self.renewal_failed("renewing the service certificate", e.to_string()),
        };
        let info = ServiceInfo { cert: renewed.pem().to_string(), ..info };
        let mut ws = WriteSet::new();
        ws.put(tables::SERVICE_INFO, tables::SINGLETON_KEY.to_vec(), serde_json::to_vec(&info).expect("json"));
        self.renewal_failure = None;
        self.execute(ws, EntryFlags::default(), Sha256::ZERO);
    }

    /// `set_node_certificate_validity` (`Some([node])`) / `set_all_nodes_certificate_validity`
    /// (`None`: every Trusted node): their keys endorsed again by the (current) service
    /// certificate, with their certificates' subjects.
    pub(super) fn renew_node_certificates(&mut self, node_ids: Option<Vec<String>>, valid_from_unix_s: i64, days: u64) {
        let Some(key) = self.identity.service_key.clone() else {
            return self.renewal_failed("renewing node certificates", "this node holds no service key".into());
        };
        let service = match Certificate::from_pem(&self.service_info().cert) {
            Ok(cert) => cert,
            Err(e) => {
                return self.renewal_failed("renewing node certificates", format!("the service certificate: {e}"));
            }
        };
        let ids = node_ids.unwrap_or_else(|| self.trusted_node_ids());
        let mut ws = WriteSet::new();
        for id in ids {
            let Some(row) = self.store.get(tables::ENDORSED_CERTIFICATES, id.as_bytes()) else {
                return self
                    .renewal_failed("renewing node certificates", format!("node {id} has no endorsed certificate"));
            };
            let renewed = endorsed_row(row).and_then(|current| {
                let days = u32::try_from(days).map_err(|_| format!("{days} days is too long"))?;
                let request = current.renewal_request(valid_from_unix_s, days);
                Certificate::endorsed(&current.public_key_der(), &request, &service, &key).map_err(|e| e.to_string())
            });
            match renewed {
                Ok(cert) => ws.put(
                    tables::ENDORSED_CERTIFICATES,
                    id.as_bytes().to_vec(),
                    tables::endorsed_certificate_value(cert.pem()),
                ),
                Err(e) => return self.renewal_failed("renewing node certificates", format!("node {id}: {e}")),
            }
        }
        if !ws.is_empty() {
            self.renewal_failure = None;
            self.execute(ws, EntryFlags::default(), Sha256::ZERO);
        }
    }

    fn trusted_node_ids(&self) -> Vec<String> {
        self.store
            .iter_table(tables::NODES_INFO)
            .filter(|(_, v)| {
                serde_json::from_slice::<NodeInfo>(&v.value).is_ok_and(|i| i.status == NodeStatus::Trusted)
            })
            .map(|(id, _)| String::from_utf8_lossy(id).into_owned())
            .collect()
    }

    /// After the commit advanced: if the committed state holds a renewed certificate for this
    /// node or the service (same key, other bytes), serve it.
    pub(super) fn serve_renewed_certificates(&mut self) {
        let commit = self.commit.seqno;
        let committed = |table: &str, key: &[u8]| {
            self.store.get_versioned(table, key).filter(|v| v.version <= commit).map(|v| v.value.clone())
        };
        let service = committed(tables::SERVICE_INFO, &tables::SINGLETON_KEY)
            .and_then(|v| serde_json::from_slice::<ServiceInfo>(&v).ok())
            .and_then(|i| Certificate::from_pem(&i.cert).ok());
        let node = committed(tables::ENDORSED_CERTIFICATES, self.identity.node_id().as_bytes())
            .and_then(|v| endorsed_row(&v).ok());
        // Only a renewal (same key, another certificate) of what is served: certificates are
        // compared parsed, never as text.
        let (served_node, served_service) = (self.served_node_cert_pem.clone(), self.identity.service_cert_pem.clone());
        let renewal = |new: Option<Certificate>, served: &str| {
            let served = Certificate::from_pem(served).ok()?;
            new.filter(|n| *n != served && n.same_key(&served))
        };
        let node = renewal(node, &served_node);
        let service = renewal(service, &served_service);
        if node.is_none() && service.is_none() {
            return;
        }
        let node_cert_pem = node.map_or(served_node, |c| c.pem().to_string());
        let service_cert_pem = service.map_or(served_service, |c| c.pem().to_string());
        self.identity.service_cert_pem = service_cert_pem.clone();
        self.served_node_cert_pem = node_cert_pem.clone();
        self.out.push(Action::ServeCertificates { node_cert_pem, service_cert_pem });
    }
}
