//! [`ServiceConfig`]: the singleton `public:ccf.gov.service.config` (key = 8 zero bytes), JSON
//! `{"recovery_threshold": N, ...}`. Fields Cairn does not use (CCF has more) are kept as read.
//!
//! Invariant (checked by `governance::check_invariants`, enforced when proposals apply):
//! `1 ≤ recovery_threshold ≤ number of recovery members`.

use crate::GovError;
use crate::certificate_validity::{CertificateKind, DEFAULT_MAXIMUM_VALIDITY_DAYS};
use crate::kv_read::{KvRead, read_json, write_json};
use cairn_kv::Tx;
use cairn_ledger::tables::{SERVICE_CONFIG, SINGLETON_KEY};
use serde::{Deserialize, Serialize};

/// Value of `public:ccf.gov.service.config`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceConfig {
    pub recovery_threshold: u64,
    /// Other fields, kept unchanged.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl ServiceConfig {
    pub fn read(src: &mut impl KvRead) -> Result<Option<ServiceConfig>, GovError> {
        read_json(src, SERVICE_CONFIG, &SINGLETON_KEY)
    }

    /// The stored config; an error if genesis did not write one.
    pub fn read_required(src: &mut impl KvRead) -> Result<ServiceConfig, GovError> {
        Self::read(src)?.ok_or_else(|| GovError::corrupt(SERVICE_CONFIG, &SINGLETON_KEY, "missing"))
    }

    /// The longest validity a renewal of `kind` may give (CCF's
    /// `maximum_*_certificate_validity_days`; [`DEFAULT_MAXIMUM_VALIDITY_DAYS`] when absent).
    pub fn maximum_validity_days(&self, kind: CertificateKind) -> u64 {
        self.other.get(kind.maximum_field()).and_then(|v| v.as_u64()).unwrap_or(DEFAULT_MAXIMUM_VALIDITY_DAYS)
    }

    pub fn write(&self, tx: &mut Tx) {
        write_json(tx, SERVICE_CONFIG, SINGLETON_KEY.to_vec(), self);
    }
}
