//! `cairn ledger generate`: writes a valid ledger as a running service would: a fresh service
//! identity and node key, a create transaction, the service opening, then a workload of public
//! and private records with signatures every `signature_interval` transactions.
use crate::format::{EntryFlags, TxId};
use crate::genesis::{GenesisRecord, service_status_write_set};
use crate::storage::Storage;
use crate::tables::{ServiceInfo, ServiceStatus};
use crate::{History, LedgerConfig, LedgerSecret, LedgerWriter, ServiceIdentity, WriteError};
use cairn_crypto::{Certificate, CryptoError, SigningKey};
use cairn_kv::WriteSet;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// Table of the sample workload's private records (CCF's logging app name).
pub const PRIVATE_RECORDS: &str = "records";
/// Table of the sample workload's public records.
pub const PUBLIC_RECORDS: &str = "public:records";

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub transactions: u64,
    pub value_size_bytes: usize,
    pub private_percent: u8,
    pub signature_interval: u64,
    pub chunk_size_bytes: u64,
    pub seed: u64,
    /// Leave the last chunk open and uncommitted, as a running node would.
    pub leave_open: bool,
    /// Certificate validity start (seconds since the epoch).
    pub now_unix_s: i64,
    /// View of the workload transactions.
    pub view: u64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            transactions: 1000,
            value_size_bytes: 100,
            private_percent: 50,
            signature_interval: 100,
            chunk_size_bytes: 5_000_000,
            seed: 1,
            leave_open: false,
            now_unix_s: 1_767_225_600,
            view: 2,
        }
    }
}

/// What a generated ledger needs to be checked.
pub struct GeneratedLedger {
    pub service_cert: Certificate,
    pub service_key: SigningKey,
    pub node_cert: Certificate,
    pub ledger_secret: [u8; 32],
    pub last: TxId,
    pub last_signature: TxId,
    pub committed_seqno: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{0}")]
    Crypto(#[from] CryptoError),
    #[error("{0}")]
    Write(#[from] WriteError),
    #[error("{0}")]
    Scan(#[from] crate::scan::ScanError),
    #[error("the target directory already holds ledger chunks")]
    NotEmpty,
}

/// The value of record `i`: a random token, then the token repeated to `len` bytes. Printable,
/// unique per record, cheap to make at gigabyte scale.
pub fn record_value(rng: &mut impl RngCore, len: usize) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let token: Vec<u8> = (0..24.min(len.max(1))).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())]).collect();
    token.iter().copied().cycle().take(len).collect()
}

/// Writes a ledger into `storage`; `on_record(seqno, table, key, value)` sees every record.
pub fn generate_ledger<S: Storage>(
    storage: S,
    opts: &GenerateOptions,
    mut on_record: impl FnMut(u64, &str, &[u8], &[u8]),
) -> Result<(GeneratedLedger, S), GenerateError> {
    let (mut writer, found) =
        LedgerWriter::open(storage, LedgerConfig { chunk_size_bytes: opts.chunk_size_bytes, ..Default::default() })?;
    if !found.chunks.is_empty() || found.open.is_some() {
        return Err(GenerateError::NotEmpty);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let service = ServiceIdentity::create(opts.now_unix_s, 365)?;
    let signer = Arc::new(service.new_local_node(opts.now_unix_s, 365)?);
    let node_cert = Certificate::from_pem(&signer.cert_pem)?;
    let node_id = signer.node_id.clone();
    let mut secret_raw = [0u8; 32];
    rng.fill_bytes(&mut secret_raw);
    let secret = Arc::new(LedgerSecret::new(secret_raw));
    let mut history = History::new(secret, signer);
    let view = opts.view;

    let genesis = GenesisRecord {
        service_cert_pem: service.cert.pem(),
        node_id: &node_id,
        node_cert_pem: node_cert.pem(),
        node_public_key_pem: None,
        node_encryption_pub_key: None,
        rpc_address: None,
        recovery_count: 0,
        status: ServiceStatus::Opening,
        create_txid: TxId::new(view, 1).to_string(),
    };
    let mut last_sig = TxId::default();
    let sign = |history: &mut History,
                writer: &mut LedgerWriter<S>,
                last_sig: &mut TxId,
                close: bool|
     -> Result<(), GenerateError> {
        let e = history.append_signature(view, *last_sig, close || writer.chunk_is_full());
        writer.append(&e)?;
        writer.sync()?;
        *last_sig = e.tx_id;
        Ok(())
    };
    writer.append(&history.append_tx(view, &genesis.write_set(), EntryFlags(EntryFlags::FORCE_LEDGER_CHUNK_BEFORE)))?;
    sign(&mut history, &mut writer, &mut last_sig, false)?;
    let info = ServiceInfo {
        cert: service.cert.pem().to_string(),
        status: ServiceStatus::Opening,
        recovery_count: 0,
        previous_service_identity_version: None,
        create_txid: Some(TxId::new(view, 1).to_string()),
    };
    writer.append(&history.append_tx(
        view,
        &service_status_write_set(&info, ServiceStatus::Open),
        EntryFlags::default(),
    ))?;
    sign(&mut history, &mut writer, &mut last_sig, false)?;

    for i in 0..opts.transactions {
        let private = rng.random_range(0..100u8) < opts.private_percent;
        let table = if private { PRIVATE_RECORDS } else { PUBLIC_RECORDS };
        let key = i.to_string().into_bytes();
        let value = record_value(&mut rng, opts.value_size_bytes);
        let mut ws = WriteSet::new();
        ws.put(table, key.clone(), value.clone());
        let e = history.append_tx(view, &ws, EntryFlags::default());
        on_record(e.tx_id.seqno, table, &key, &value);
        writer.append(&e)?;
        if (i + 1) % opts.signature_interval.max(1) == 0 {
            sign(&mut history, &mut writer, &mut last_sig, false)?;
            // One node: a signature is committed as soon as it is durable.
            writer.commit(last_sig.seqno)?;
        }
    }
    // A final signature covers the tail; unless asked to leave it open, it also closes the chunk.
    if history.last() != last_sig || !opts.leave_open {
        sign(&mut history, &mut writer, &mut last_sig, !opts.leave_open)?;
    }
    writer.commit(last_sig.seqno)?;
    writer.sync()?;
    writer.check_invariants();
    let generated = GeneratedLedger {
        service_cert: service.cert,
        service_key: service.key,
        node_cert,
        ledger_secret: secret_raw,
        last: history.last(),
        last_signature: last_sig,
        committed_seqno: writer.committed_seqno(),
    };
    Ok((generated, writer.into_storage()))
}
