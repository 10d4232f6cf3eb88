//! [`Effect`]: what an applied proposal asks the node to do outside the transaction that applied
//! it. Governance writes every table change itself; effects are only for work that needs the
//! node's keys, files or later transactions.

/// An action the node must carry out after committing the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// `trigger_snapshot`: write a snapshot at the next signature.
    TriggerSnapshot,
    /// `trigger_ledger_rekey`: generate a new ledger secret, then call `rekey` in a follow-up
    /// transaction with the chain extended by it.
    TriggerLedgerRekey,
    /// `transition_service_to_open` from Opening: the service is now Open (shares were issued in
    /// the same transaction).
    ServiceOpened,
    /// `transition_service_to_open` from Recovering: the service now waits for recovery shares.
    AwaitingRecoveryShares,
    /// `transition_node_to_trusted`: the node is Trusted; endorse its certificate with the
    /// service identity (`valid_from` as given in the proposal, CCF's ASN.1 time text).
    NodeTrusted { node_id: String, valid_from: Option<String> },
    /// `remove_node`: the node is Retired; remove it from the consensus configuration.
    NodeRetired { node_id: String },
    /// `set_service_certificate_validity`: issue the service certificate again, same key, valid
    /// from `valid_from_unix_s` for `days`.
    RenewServiceCertificate { valid_from_unix_s: i64, days: u64 },
    /// `set_node_certificate_validity` (`Some([node])`) / `set_all_nodes_certificate_validity`
    /// (`None`: every Trusted node): endorse their keys again, valid from `valid_from_unix_s`
    /// for `days`.
    RenewNodeCertificates { node_ids: Option<Vec<String>>, valid_from_unix_s: i64, days: u64 },
    /// Fresh recovery shares were written in the transaction (membership, threshold, refresh or
    /// opening). Informational.
    RecoverySharesIssued,
}
