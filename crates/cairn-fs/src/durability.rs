//! How far [`FsStorage`](crate::FsStorage) pushes data toward the disk on `sync` and `sync_dir`.

/// What a successful `sync` or `sync_dir` guarantees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `sync` is `fdatasync(2)` and `sync_dir` fsyncs the directory: what they cover survives
    /// power loss (on a disk that does not lie about its write cache).
    Fsync,
    /// `sync` only flushes user-space buffers and `sync_dir` does nothing, as CCF historically
    /// did: data survives a crash of the process but not of the kernel or the machine.
    Flush,
}
