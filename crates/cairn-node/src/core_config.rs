//! The parts of the node configuration the core acts on.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreConfig {
    /// `ledger_signatures.tx_count`.
    pub signature_tx_count: u64,
    /// `ledger_signatures.delay`.
    pub signature_delay_ms: u64,
    /// `snapshots.tx_count`.
    pub snapshot_tx_count: u64,
    /// `ledger.chunk_size`: the signature after which a chunk reaches this size ends it.
    pub chunk_size_bytes: u64,
    /// `consensus.election_timeout`: a backup that hears nothing from a primary for a random
    /// time in `[½, 1) ×` this starts an election.
    pub election_timeout_ms: u64,
    /// `consensus.message_timeout`: the primary's heartbeat period (one Raft tick is half of it).
    pub message_timeout_ms: u64,
    /// `command.join.retry_timeout`: how often a joining node asks again.
    pub join_retry_ms: u64,
    /// `command.start.service_configuration.maximum_{service,node}_certificate_validity_days`:
    /// written into the service configuration by the node that creates the service.
    pub maximum_certificate_validity_days: (u64, u64),
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            signature_tx_count: 5000,
            signature_delay_ms: 1000,
            snapshot_tx_count: 10_000,
            chunk_size_bytes: 5_000_000,
            election_timeout_ms: 4000,
            message_timeout_ms: 100,
            join_retry_ms: 1000,
            maximum_certificate_validity_days: (365, 365),
        }
    }
}
