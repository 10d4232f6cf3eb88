//! One error enum per operation: [`CommitError`] for [`crate::Store::commit`], [`ApplyError`] for
//! [`crate::Store::apply`]. On either error the store is unchanged.

/// Why [`crate::Store::commit`] refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    /// A key the transaction read has changed since it was read (optimistic concurrency).
    /// Versions are `None` where the key was absent.
    #[error(
        "conflict on table {table:?} key \"{}\": read at version {read_version:?}, now at {current_version:?}",
        key.escape_ascii()
    )]
    Conflict { table: String, key: Vec<u8>, read_version: Option<u64>, current_version: Option<u64> },
    /// The seqno is not the next one after the store's version.
    #[error("version gap: expected seqno {expected}, got {got}")]
    VersionGap { expected: u64, got: u64 },
}

/// Why [`crate::Store::apply`] refused a write set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The seqno is not the next one after the store's version.
    #[error("version gap: expected seqno {expected}, got {got}")]
    VersionGap { expected: u64, got: u64 },
}
