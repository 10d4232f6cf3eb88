//! The sequential half of verification: chunk contiguity, views across chunks, the Merkle tree,
//! and the signature and governance checks that depend on everything before them.
use super::chunk_analysis::{ChunkAnalysis, TableEvent};
use super::{VerifyFailure, VerifyLevel, VerifyReport};
use crate::SignatureRecord;
use crate::format::TxId;
use crate::merkle::MerkleFrontier;
use crate::tables::{self, NodeInfo, NodeStatus, ServiceInfo, ServiceStatus};
use cairn_crypto::{Certificate, VerifyingKey};
use std::collections::HashMap;

pub struct LedgerChecker {
    level: VerifyLevel,
    merkle: Option<MerkleFrontier>,
    next_seqno: Option<u64>,
    last_file: Option<String>,
    last: Option<TxId>,
    nodes: HashMap<String, NodeStatus>,
    node_certs: HashMap<String, String>,
    /// Verified keys by (node id, certificate PEM).
    node_keys: HashMap<(String, String), VerifyingKey>,
    service_status: Option<ServiceStatus>,
    /// Every service identity seen, newest last.
    service_keys: Vec<VerifyingKey>,
    /// A complete chunk whose last entry lacks `FORCE_LEDGER_CHUNK_AFTER`: the next chunk must
    /// start with `FORCE_LEDGER_CHUNK_BEFORE` to justify the boundary.
    unjustified_end: Option<(String, u64, u64)>,
}

impl LedgerChecker {
    pub fn new(level: VerifyLevel) -> Self {
        LedgerChecker {
            level,
            merkle: None,
            next_seqno: None,
            last_file: None,
            last: None,
            nodes: HashMap::new(),
            node_certs: HashMap::new(),
            node_keys: HashMap::new(),
            service_status: None,
            service_keys: Vec::new(),
            unjustified_end: None,
        }
    }

    pub fn absorb(&mut self, chunk: ChunkAnalysis, report: &mut VerifyReport) -> Result<(), VerifyFailure> {
        let file = chunk.file.clone();
        let fail = |level, offset: Option<u64>, seqno: Option<u64>, message: String| {
            VerifyFailure::at(level, Some(&file), offset, seqno, message)
        };
        if self.level >= VerifyLevel::Offsets
            && let Some(expected) = self.next_seqno
        {
            let prev = self.last_file.clone().unwrap_or_default();
            if chunk.name.start > expected {
                return Err(fail(
                    VerifyLevel::Offsets,
                    None,
                    Some(expected),
                    format!("ledger hole: seqnos {expected}..={} are missing after {prev}", chunk.name.start - 1),
                ));
            }
            if chunk.name.start < expected {
                return Err(fail(
                    VerifyLevel::Offsets,
                    None,
                    Some(chunk.name.start),
                    format!("overlaps {prev}, which already covers seqno {}", expected - 1),
                ));
            }
        }
        if self.level >= VerifyLevel::Headers
            && let Some(last) = self.last
            && chunk.entries > 0
            && chunk.first_view < last.view
        {
            return Err(fail(
                VerifyLevel::Headers,
                None,
                Some(chunk.name.start),
                format!("view {} is below view {} of the previous chunk", chunk.first_view, last.view),
            ));
        }
        if self.level >= VerifyLevel::Headers {
            if let Some((prev, offset, seqno)) = self.unjustified_end.take()
                && !chunk.starts_with_chunk_before
            {
                return Err(VerifyFailure::at(VerifyLevel::Headers, Some(&prev), Some(offset + 1), Some(seqno), "chunk ends without FORCE_LEDGER_CHUNK_AFTER and the next chunk does not start with FORCE_LEDGER_CHUNK_BEFORE".into()));
            }
            if chunk.name.is_complete() && !chunk.ends_with_chunk_after {
                self.unjustified_end = Some((file.clone(), chunk.last_entry_offset, chunk.name.end.unwrap_or(0)));
            }
        }
        if self.level >= VerifyLevel::Merkle && self.merkle.is_none() {
            if chunk.name.start != 1 {
                return Err(fail(
                    VerifyLevel::Merkle,
                    None,
                    Some(chunk.name.start),
                    "Merkle verification needs the ledger from seqno 1".into(),
                ));
            }
            self.merkle = Some(MerkleFrontier::new());
        }
        let mut events = chunk.events.into_iter().peekable();
        for (i, leaf) in chunk.leaves.iter().enumerate() {
            while let Some(event) = events.next_if(|e| e.index == i) {
                self.apply_event(&file, event, report)?;
            }
            self.merkle.as_mut().expect("set above").append(*leaf);
        }
        report.chunks += 1;
        report.entries += chunk.entries as u64;
        report.bytes += chunk.bytes;
        report.private_domains_decrypted += chunk.private_domains_decrypted;
        if chunk.entries > 0 {
            report.first_seqno.get_or_insert(chunk.name.start);
            let last = TxId::new(chunk.last_view, chunk.name.start + chunk.entries as u64 - 1);
            self.last = Some(last);
            report.last = Some(last);
            self.next_seqno = Some(last.seqno + 1);
        }
        self.last_file = Some(file);
        Ok(())
    }

    /// Completes the report; fails if the last chunk's end is not justified by its flags.
    pub fn finish(&mut self, report: &mut VerifyReport) -> Result<(), VerifyFailure> {
        if let Some(last) = report.last {
            report.unsigned_tail =
                last.seqno - report.last_signed.map_or(report.first_seqno.unwrap_or(1) - 1, |s| s.seqno);
        }
        match self.unjustified_end.take() {
            Some((file, offset, seqno)) => Err(VerifyFailure::at(
                VerifyLevel::Headers,
                Some(&file),
                Some(offset + 1),
                Some(seqno),
                "last complete chunk ends without FORCE_LEDGER_CHUNK_AFTER".into(),
            )),
            None => Ok(()),
        }
    }

    fn apply_event(&mut self, file: &str, event: TableEvent, report: &mut VerifyReport) -> Result<(), VerifyFailure> {
        let fail = |level, message: String| {
            VerifyFailure::at(level, Some(file), Some(event.offset), Some(event.tx.seqno), message)
        };
        if let Some(map) = event.tables.maps.get(tables::NODES_INFO) {
            for (id, value) in &map.writes {
                let id = String::from_utf8_lossy(id).into_owned();
                match value {
                    None => {
                        self.nodes.remove(&id);
                    }
                    Some(v) => {
                        let info: NodeInfo = serde_json::from_slice(v).map_err(|e| {
                            fail(VerifyLevel::Signatures, format!("{}: node {id}: {e}", tables::NODES_INFO))
                        })?;
                        self.nodes.insert(id, info.status);
                    }
                }
            }
        }
        if let Some(map) = event.tables.maps.get(tables::ENDORSED_CERTIFICATES) {
            for (id, value) in &map.writes {
                let id = String::from_utf8_lossy(id).into_owned();
                match value {
                    None => self.node_certs.remove(&id),
                    Some(v) => self.node_certs.insert(id, tables::endorsed_certificate_pem(v)),
                };
            }
        }
        if let Some(map) = event.tables.maps.get(tables::SIGNATURES)
            && let Some(Some(value)) = map.writes.get(&tables::SINGLETON_KEY[..])
        {
            let record: SignatureRecord = serde_json::from_slice(value)
                .map_err(|e| fail(VerifyLevel::Merkle, format!("signature record: {e}")))?;
            if record.seqno != event.tx.seqno || record.view != event.tx.view {
                return Err(fail(
                    VerifyLevel::Merkle,
                    format!(
                        "signature record names {}.{}, but it is transaction {}",
                        record.view, record.seqno, event.tx
                    ),
                ));
            }
            let computed = self.merkle.as_ref().expect("merkle level").root().expect("zero leaf");
            let claimed = record.root().ok_or_else(|| {
                fail(VerifyLevel::Merkle, format!("signature root {:?} is not 32 hex bytes", record.root))
            })?;
            if computed != claimed {
                return Err(fail(
                    VerifyLevel::Merkle,
                    format!("Merkle root mismatch: signature says {claimed}, entries give {computed}"),
                ));
            }
            if self.level >= VerifyLevel::Signatures {
                self.check_signature(&record).map_err(|m| fail(VerifyLevel::Signatures, m))?;
            }
            report.signatures += 1;
            report.last_signed = Some(event.tx);
        }
        if let Some(map) = event.tables.maps.get(tables::SERVICE_INFO)
            && let Some(Some(value)) = map.writes.get(&tables::SINGLETON_KEY[..])
        {
            let info: ServiceInfo = serde_json::from_slice(value)
                .map_err(|e| fail(VerifyLevel::Signatures, format!("service info: {e}")))?;
            if self.level >= VerifyLevel::Signatures {
                if !ServiceStatus::transition_allowed(self.service_status, info.status) {
                    return Err(fail(
                        VerifyLevel::Signatures,
                        format!("service status {:?} -> {:?} is not allowed", self.service_status, info.status),
                    ));
                }
                let key = Certificate::from_pem(&info.cert)
                    .and_then(|c| c.verifying_key())
                    .map_err(|e| fail(VerifyLevel::Signatures, format!("service certificate: {e}")))?;
                if self.service_keys.last().is_none_or(|k| k.spki_der() != key.spki_der()) {
                    self.service_keys.push(key);
                }
            }
            self.service_status = Some(info.status);
        }
        Ok(())
    }

    fn check_signature(&mut self, record: &SignatureRecord) -> Result<(), String> {
        let node = &record.node;
        match self.nodes.get(node) {
            None => return Err(format!("signing node {node} is not in {}", tables::NODES_INFO)),
            Some(NodeStatus::Pending) => return Err(format!("signing node {node} is Pending")),
            Some(_) => {}
        }
        let pem = self
            .node_certs
            .get(node)
            .ok_or_else(|| format!("signing node {node} has no endorsed certificate"))?
            .clone();
        let cache_key = (node.clone(), pem.clone());
        if !self.node_keys.contains_key(&cache_key) {
            let cert = Certificate::from_pem(&pem).map_err(|e| format!("node {node} certificate: {e}"))?;
            let key = cert.verifying_key().map_err(|e| format!("node {node} key: {e}"))?;
            if !self.service_keys.iter().any(|s| cert.verify_issued_by(s).is_ok()) {
                return Err(format!("node {node} certificate is not endorsed by any service identity in the ledger"));
            }
            self.node_keys.insert(cache_key.clone(), key);
        }
        let key = &self.node_keys[&cache_key];
        if !record.cert.is_empty() {
            let sig_cert = Certificate::from_pem(&record.cert).map_err(|e| format!("signature certificate: {e}"))?;
            if sig_cert.public_key_der() != key.spki_der() {
                return Err(format!("signature certificate key differs from node {node}'s endorsed certificate"));
            }
        }
        record
            .verify(key)
            .map_err(|_| format!("ECDSA signature by node {node} over root {} does not verify", record.root))
    }
}
