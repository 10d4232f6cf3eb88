//! Reading and writing the service's status row, `public:ccf.gov.service.info` (singleton,
//! [`cairn_ledger::tables::ServiceInfo`]), which the node creates at genesis and governance moves
//! forward (`transition_service_to_open`), and the previous identity the node records when it
//! starts a recovery (`public:ccf.gov.service.previous_service_identity`, PEM).

use crate::GovError;
use crate::kv_read::{KvRead, read_json, read_text, write_json};
use cairn_crypto::Certificate;
use cairn_kv::Tx;
use cairn_ledger::tables::{PREVIOUS_SERVICE_IDENTITY, SERVICE_INFO, SINGLETON_KEY, ServiceInfo, ServiceStatus};

pub fn service_info(src: &mut impl KvRead) -> Result<Option<ServiceInfo>, GovError> {
    read_json(src, SERVICE_INFO, &SINGLETON_KEY)
}

/// The service status; `None` before the node wrote the service row.
pub fn service_status(src: &mut impl KvRead) -> Result<Option<ServiceStatus>, GovError> {
    Ok(service_info(src)?.map(|i| i.status))
}

pub(crate) fn write_service_info(tx: &mut Tx, info: &ServiceInfo) {
    write_json(tx, SERVICE_INFO, SINGLETON_KEY.to_vec(), info);
}

/// The identity of the service before the last recovery, if the node recorded one. The row may
/// hold the PEM text or the PEM as a JSON string (CCF's JSON serialisation of a `Pem`).
pub fn previous_service_identity(src: &mut impl KvRead) -> Result<Option<Certificate>, GovError> {
    let Some(text) = read_text(src, PREVIOUS_SERVICE_IDENTITY, &SINGLETON_KEY)? else { return Ok(None) };
    let pem = if text.starts_with('"') {
        serde_json::from_str::<String>(&text)
            .map_err(|e| GovError::corrupt(PREVIOUS_SERVICE_IDENTITY, &SINGLETON_KEY, e))?
    } else {
        text
    };
    Certificate::from_pem(&pem).map(Some).map_err(|e| GovError::corrupt(PREVIOUS_SERVICE_IDENTITY, &SINGLETON_KEY, e))
}
