//! A node maps its committed ledger chunks (`cairn_fs::FsStorage::read_immutable`). If another
//! process truncates one while the node runs, the next read of the lost pages raises SIGBUS;
//! [`install`] makes the node say why on stderr before it dies of it (the default action, so
//! the exit status still shows the signal), instead of a bare "Bus error".

const MESSAGE: &[u8] = b"cairn: SIGBUS: a memory-mapped file went away under the node; most likely a committed \
ledger chunk was truncated or replaced by another process while the node ran. Committed chunks must not be \
changed: restore the ledger directory from a copy; a restart's scan names a damaged chunk.\n";

extern "C" fn on_sigbus(signal: libc::c_int) {
    // SAFETY: write(2), signal(2) and raise(3) are async-signal-safe; MESSAGE is static.
    unsafe {
        libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}

/// Installs the SIGBUS notice (once, at `cairn node` start).
pub fn install() {
    // SAFETY: installs a handler that only calls async-signal-safe functions.
    unsafe {
        libc::signal(libc::SIGBUS, on_sigbus as extern "C" fn(libc::c_int) as libc::sighandler_t);
    }
}
