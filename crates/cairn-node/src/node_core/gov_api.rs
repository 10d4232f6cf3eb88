//! Governance endpoints of the core: COSE Sign1 requests are parsed and verified by
//! `cairn-gov`, which reads and writes the governance tables inside one transaction; the core
//! appends that transaction and performs the effects the governance asks for (snapshot, rekey).
use super::NodeCore;
use crate::{Action, ApiError, Response};
use cairn_crypto::Sha256;
use cairn_gov::{Effect, GovContext, GovError, GovOutcome, LedgerSecretChain, SignedRequest};
use cairn_kv::Tx;
use cairn_ledger::LedgerSecret;
use cairn_ledger::format::EntryFlags;
use serde_json::json;
use std::sync::Arc;

fn gov_error(e: GovError) -> ApiError {
    ApiError::new(e.http_status(), e.code(), e.to_string())
}

impl NodeCore {
    pub(super) fn secret_chain(&self) -> LedgerSecretChain {
        let mut secrets = self.secrets.iter();
        let (first_from, first) = secrets.next().expect("a node has a ledger secret");
        let mut chain = LedgerSecretChain::new(first_from, *first.raw());
        for (from, s) in secrets {
            chain.push(from, *s.raw()).expect("the node's secrets are in seqno order");
        }
        chain
    }

    /// Runs `f` with a fresh transaction and a governance context; appends the transaction if
    /// it wrote anything and performs the effects.
    fn run_gov(
        &mut self,
        f: impl FnOnce(&mut Tx, &mut GovContext) -> Result<GovOutcome, GovError>,
    ) -> Result<Response, ApiError> {
        self.require_primary()?;
        let chain = self.secret_chain();
        let mut tx = self.store.begin();
        let outcome = {
            let mut ctx =
                GovContext { now_s: self.now_ms / 1000, fill_random: &mut *self.fill_random, ledger_secrets: &chain };
            f(&mut tx, &mut ctx).map_err(gov_error)?
        };
        if outcome.effects.contains(&Effect::TriggerLedgerRekey) {
            let keyless = self.nodes_without_encryption_key();
            if !keyless.is_empty() {
                return Err(ApiError::bad_request(
                    "RekeyNotPossible",
                    format!(
                        "trigger_ledger_rekey: nodes {} of the configuration have no encryption key on record (they \
                         were created before Cairn kept one), so they could not read entries under the new secret; \
                         replace them first",
                        keyless.join(", ")
                    ),
                ));
            }
        }
        let ws = tx.into_parts().1;
        let mut response = Response::ok(serde_json::to_value(&outcome.info).expect("json"));
        if !ws.is_empty() {
            let id = self.execute(ws, EntryFlags::default(), Sha256::ZERO);
            response = response.with_header(super::TX_ID_HEADER, id.to_string());
        }
        for effect in outcome.effects {
            self.perform(effect);
        }
        Ok(response)
    }

    /// A backup applies entry `seqno`: if it is a rekey that sealed a new secret to this node,
    /// the node holds (and persists) it before applying the entries it encrypts.
    pub(super) fn learn_sealed_secret(&mut self, ws: &cairn_kv::WriteSet, seqno: u64) {
        let key = self.identity.encryption_key.clone();
        let Some(opened) = crate::rekey_rows::opened_for_node(ws, self.identity.node_id(), key.as_deref()) else {
            return;
        };
        let (from, raw) = opened.unwrap_or_else(|e| panic!("entry {seqno} rekeys the ledger: {e}"));
        if self.secrets.entries().last().is_some_and(|(f, _)| *f >= from) {
            return; // known already (a replay, or this node wrote it)
        }
        let secret = Arc::new(LedgerSecret::new(raw));
        self.secrets.push(from, secret.clone()).expect("a rekey comes after every existing secret");
        self.out.push(Action::PersistLedgerSecrets { json: self.secrets_json() });
        self.history.set_secret(secret);
    }

    fn perform(&mut self, effect: Effect) {
        match effect {
            Effect::TriggerSnapshot => self.snapshot_requested = true,
            Effect::TriggerLedgerRekey => self.rekey(),
            Effect::NodeTrusted { node_id, .. } => self.on_node_trusted(&node_id),
            Effect::NodeRetired { node_id } => self.on_node_retired(&node_id),
            Effect::RenewServiceCertificate { valid_from_unix_s, days } => {
                self.renew_service_certificate(valid_from_unix_s, days)
            }
            Effect::RenewNodeCertificates { node_ids, valid_from_unix_s, days } => {
                self.renew_node_certificates(node_ids, valid_from_unix_s, days)
            }
            _ => {}
        }
    }

    /// The other nodes of the configuration with no `encryption_pub_key` in `nodes.info`.
    fn nodes_without_encryption_key(&self) -> Vec<String> {
        self.store
            .iter_table(crate::CONSENSUS_NODES)
            .map(|(id, _)| String::from_utf8_lossy(id).into_owned())
            .filter(|id| id != self.identity.node_id())
            .filter(|id| {
                let info = self.store.get(cairn_ledger::tables::NODES_INFO, id.as_bytes());
                let info = info.and_then(|v| serde_json::from_slice::<cairn_ledger::tables::NodeInfo>(v).ok());
                info.and_then(|i| i.encryption_pub_key).is_none()
            })
            .collect()
    }

    /// A fresh ledger secret for every transaction after the rekey transaction; the previous
    /// one is kept, encrypted under the new one, and recovery shares are re-issued. Every other
    /// node of the configuration gets the new secret sealed to its key in the same transaction
    /// (`rekey_rows.rs`).
    fn rekey(&mut self) {
        let mut raw = [0u8; 32];
        (self.fill_random)(&mut raw);
        let from = self.history.last().seqno + 2;
        let mut chain = self.secret_chain();
        chain.push(from, raw).expect("a rekey comes after every existing secret");
        let mut tx = self.store.begin();
        cairn_gov::rekey(&mut tx, &chain, &mut *self.fill_random).expect("rekey of an open service");
        for node_id in self.store.iter_table(crate::CONSENSUS_NODES).map(|(id, _)| id.to_vec()).collect::<Vec<_>>() {
            if node_id == self.identity.node_id().as_bytes() {
                continue;
            }
            let pem = self
                .store
                .get(cairn_ledger::tables::NODES_INFO, &node_id)
                .and_then(|v| serde_json::from_slice::<cairn_ledger::tables::NodeInfo>(v).ok())
                .and_then(|i| i.encryption_pub_key)
                .expect("checked before the rekey was accepted");
            let row = crate::rekey_rows::seal_for_node(&pem, from, &raw)
                .unwrap_or_else(|e| panic!("sealing the new ledger secret: {e}"));
            tx.put(cairn_ledger::tables::ENCRYPTED_LEDGER_SECRETS, node_id, row);
        }
        let ws = tx.into_parts().1;
        self.execute(ws, EntryFlags::default(), Sha256::ZERO);
        let secret = Arc::new(LedgerSecret::new(raw));
        self.secrets.push(from, secret.clone()).expect("a rekey comes after every existing secret");
        // Persisted before any entry it encrypts is appended.
        self.out.push(Action::PersistLedgerSecrets { json: self.secrets_json() });
        self.history.set_secret(secret);
    }

    pub(super) fn gov_propose(&mut self, body: &[u8]) -> Result<Response, ApiError> {
        let req = SignedRequest::parse(body).map_err(gov_error)?;
        self.run_gov(|tx, ctx| cairn_gov::submit_proposal(tx, &req, ctx))
    }

    pub(super) fn gov_ballot(&mut self, proposal_id: &str, member_id: &str, body: &[u8]) -> Result<Response, ApiError> {
        let req = SignedRequest::parse(body).map_err(gov_error)?;
        self.run_gov(|tx, ctx| cairn_gov::submit_ballot(tx, proposal_id, member_id, &req, ctx))
    }

    pub(super) fn gov_withdraw(&mut self, proposal_id: &str, body: &[u8]) -> Result<Response, ApiError> {
        let req = SignedRequest::parse(body).map_err(gov_error)?;
        self.run_gov(|tx, ctx| cairn_gov::withdraw_proposal(tx, proposal_id, &req, ctx))
    }

    pub(super) fn gov_proposal(&self, proposal_id: &str) -> Result<Response, ApiError> {
        let view = self.store.snapshot_view();
        match cairn_gov::proposal(&view, proposal_id).map_err(gov_error)? {
            Some(info) => Ok(Response::ok(serde_json::to_value(info).expect("json"))),
            None => Err(ApiError::not_found("ProposalNotFound", format!("no proposal {proposal_id}"))),
        }
    }

    pub(super) fn gov_proposals(&self) -> Result<Response, ApiError> {
        let view = self.store.snapshot_view();
        Ok(Response::ok(json!({ "value": cairn_gov::proposals(&view).map_err(gov_error)? })))
    }

    pub(super) fn gov_service_info(&self) -> Result<Response, ApiError> {
        let info = self.known_service_info()?;
        let config = self
            .store
            .get(cairn_ledger::tables::SERVICE_CONFIG, &cairn_ledger::tables::SINGLETON_KEY)
            .and_then(|v| serde_json::from_slice::<serde_json::Value>(v).ok());
        Ok(Response::ok(json!({
            "status": info.status,
            "certificate": info.cert,
            "recoveryCount": info.recovery_count,
            "creationTransactionId": info.create_txid,
            "configuration": config,
        })))
    }

    /// `GET /gov/recovery/encrypted-shares/{member}`: only to that member, authenticated by its
    /// TLS client certificate (as CCF's `submit_recovery_share.sh` presents it).
    pub(super) fn gov_encrypted_share(&self, caller: &crate::Caller, member_id: &str) -> Result<Response, ApiError> {
        let Some(cert_id) = &caller.cert_id else {
            return Err(ApiError::unauthenticated(
                "no TLS client certificate: a member fetches its share with its member certificate",
            ));
        };
        let view = self.store.snapshot_view();
        let active = cairn_gov::member_info(&mut &view, cert_id)
            .map_err(gov_error)?
            .is_some_and(|m| m.status == cairn_gov::MemberStatus::Active);
        if !active {
            return Err(ApiError::unauthenticated(format!("client certificate {cert_id} is not an active member's")));
        }
        if cert_id != member_id {
            return Err(ApiError::forbidden(format!(
                "member {cert_id} may fetch its own share only, not {member_id}'s"
            )));
        }
        match cairn_gov::encrypted_share(&mut &view, member_id).map_err(gov_error)? {
            Some(share) => {
                use base64::Engine;
                let b64 = base64::engine::general_purpose::STANDARD.encode(share);
                Ok(Response::ok(json!({ "memberId": member_id, "encryptedShare": b64 })))
            }
            None => Err(ApiError::not_found("ResourceNotFound", format!("no recovery share for member {member_id}"))),
        }
    }
}
