//! [`ServedCertificates`]: the certificate chain the RPC interface presents, swapped in place
//! when members renew certificates (issue 17), and the warnings before they expire.
//!
//! - `Action::ServeCertificates` (the core saw a committed renewal): the new chain is served to
//!   every connection accepted from then on, and the files operators hand out are rewritten
//!   atomically: `node_data/{node_cert,service_cert}.pem` (what the next start serves),
//!   `command.service_certificate_file` and `node_certificate_file`.
//! - Once a day at most per certificate, a warning when less than a quarter of its validity
//!   remains, naming the command that renews it.
use crate::node_files::{NODE_CERT_FILE, NodeFiles, SERVICE_CERT_FILE, write_atomically};
use crate::tls_config::server_config;
use anyhow::Context;
use cairn_crypto::Certificate;
use rustls::ServerConfig;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

/// The TLS configuration new RPC connections are accepted with.
pub type SharedTls = Arc<RwLock<Arc<ServerConfig>>>;

/// Seconds between two warnings about the same certificate.
const WARN_EVERY_S: i64 = 24 * 3600;
/// Seconds between two checks of the dates.
const CHECK_EVERY_S: i64 = 60;

pub struct ServedCertificates {
    pub tls: SharedTls,
    pub node_key_pem: String,
    pub node_cert_pem: String,
    pub service_cert_pem: String,
    /// `command.service_certificate_file` and `node_certificate_file`.
    pub service_certificate_file: PathBuf,
    pub node_certificate_file: PathBuf,
    last_check_s: i64,
    /// When each certificate was last warned about (node, service).
    warned_s: [Option<i64>; 2],
}

impl ServedCertificates {
    pub fn new(
        tls: SharedTls,
        node_key_pem: String,
        (node_cert_pem, service_cert_pem): (String, String),
        (service_certificate_file, node_certificate_file): (PathBuf, PathBuf),
    ) -> Self {
        ServedCertificates {
            tls,
            node_key_pem,
            node_cert_pem,
            service_cert_pem,
            service_certificate_file,
            node_certificate_file,
            last_check_s: i64::MIN,
            warned_s: [None, None],
        }
    }

    /// Serves the renewed chain and rewrites the certificate files (module documentation).
    pub fn serve(&mut self, files: &NodeFiles, node_cert_pem: String, service_cert_pem: String) -> anyhow::Result<()> {
        let config = server_config(&[&node_cert_pem, &service_cert_pem], &self.node_key_pem)
            .context("the renewed certificate chain")?;
        files.write(NODE_CERT_FILE, node_cert_pem.as_bytes(), false)?;
        files.write(SERVICE_CERT_FILE, service_cert_pem.as_bytes(), false)?;
        crate::node_files::write_service_certificate(&self.service_certificate_file, &service_cert_pem)?;
        write_atomically(&self.node_certificate_file, node_cert_pem.as_bytes(), false)?;
        *self.tls.write().expect("the TLS lock is never poisoned") = config;
        let dates = |pem: &str| Certificate::from_pem(pem).map(|c| c.validity_unix_s()).ok();
        tracing::info!(
            node_certificate_valid_until = ?dates(&node_cert_pem).map(|d| d.1),
            service_certificate_valid_until = ?dates(&service_cert_pem).map(|d| d.1),
            service_certificate_file = %self.service_certificate_file.display(),
            "serving renewed certificates"
        );
        (self.node_cert_pem, self.service_cert_pem) = (node_cert_pem, service_cert_pem);
        self.warned_s = [None, None];
        Ok(())
    }

    /// Warns (at most once a day per certificate) about a certificate with less than a quarter
    /// of its validity left, or expired; `now_s`: the wall clock, unix seconds.
    pub fn warn_if_expiring(&mut self, now_s: i64) {
        if now_s.saturating_sub(self.last_check_s) < CHECK_EVERY_S {
            return;
        }
        self.last_check_s = now_s;
        for (i, (what, pem)) in
            [("node", &self.node_cert_pem), ("service", &self.service_cert_pem)].into_iter().enumerate()
        {
            let Ok(cert) = Certificate::from_pem(pem) else { continue };
            let Some(left_s) = expiring(cert.validity_unix_s(), now_s) else { continue };
            if self.warned_s[i].is_some_and(|at| now_s - at < WARN_EVERY_S) {
                continue;
            }
            self.warned_s[i] = Some(now_s);
            let valid_to = cert.validity_unix_s().1;
            tracing::warn!(
                certificate = what,
                valid_to,
                hours_left = left_s / 3600,
                "the {what} certificate expires soon (less than a quarter of its validity left): members renew it with \
                 `cairn member renew-certificates` (set_service_certificate_validity and \
                 set_all_nodes_certificate_validity)"
            );
        }
    }
}

/// Seconds left if less than a quarter of the validity `(not_before, not_after)` remains at
/// `now_s` (negative once expired), `None` otherwise.
pub fn expiring((not_before, not_after): (i64, i64), now_s: i64) -> Option<i64> {
    let left = not_after - now_s;
    (left * 4 < not_after - not_before).then_some(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_is_expiring_in_its_last_quarter_and_after() {
        let day = 86_400;
        let validity = (0, 4 * day);
        assert_eq!(expiring(validity, 0), None);
        assert_eq!(expiring(validity, 3 * day), None, "exactly a quarter left");
        assert_eq!(expiring(validity, 3 * day + 1), Some(day - 1));
        assert_eq!(expiring(validity, 5 * day), Some(-day), "expired");
    }
}
