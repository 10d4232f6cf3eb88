//! The operations of [`Storage`](super::Storage), named once so every implementation reports the
//! same `op` in its errors and [`MemStorage`](super::MemStorage) can count calls and inject
//! failures per operation.

/// One operation of the [`Storage`](super::Storage) trait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StorageOp {
    List,
    Size,
    ReadAt,
    Create,
    Append,
    WriteAt,
    Truncate,
    Sync,
    Rename,
    SyncDir,
}

impl StorageOp {
    pub const ALL: [StorageOp; 10] = [
        StorageOp::List,
        StorageOp::Size,
        StorageOp::ReadAt,
        StorageOp::Create,
        StorageOp::Append,
        StorageOp::WriteAt,
        StorageOp::Truncate,
        StorageOp::Sync,
        StorageOp::Rename,
        StorageOp::SyncDir,
    ];

    /// The name used as `StorageError::op`: the trait method's name.
    pub fn name(self) -> &'static str {
        match self {
            StorageOp::List => "list",
            StorageOp::Size => "size",
            StorageOp::ReadAt => "read_at",
            StorageOp::Create => "create",
            StorageOp::Append => "append",
            StorageOp::WriteAt => "write_at",
            StorageOp::Truncate => "truncate",
            StorageOp::Sync => "sync",
            StorageOp::Rename => "rename",
            StorageOp::SyncDir => "sync_dir",
        }
    }

    /// Whether the operation takes `&mut self`; a read-only storage refuses all of these.
    pub fn is_mutation(self) -> bool {
        !matches!(self, StorageOp::List | StorageOp::Size | StorageOp::ReadAt)
    }

    /// Position in [`StorageOp::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_each_op_at_its_index() {
        for (i, op) in StorageOp::ALL.iter().enumerate() {
            assert_eq!(op.index(), i, "{op:?}");
        }
    }
}
