//! [`PeerQueue`]: the bounded outbound queue of one peer (frames and bytes), shared between
//! `send` (which never waits) and the peer's writer task, plus that peer's counters.
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::sync::Notify;

#[derive(Default)]
struct Frames {
    frames: VecDeque<Vec<u8>>,
    bytes: usize,
}

/// Owns the frames queued for one peer, in send order, and the peer's status counters.
pub(crate) struct PeerQueue {
    frames: Mutex<Frames>,
    notify: Notify,
    max_frames: usize,
    max_bytes: usize,
    pub(crate) connected: AtomicBool,
    pub(crate) dropped: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) connect_failures: AtomicU64,
    pub(crate) last_error: Mutex<Option<String>>,
}

impl PeerQueue {
    pub(crate) fn new(max_frames: usize, max_bytes: usize) -> Self {
        PeerQueue {
            frames: Mutex::new(Frames::default()),
            notify: Notify::new(),
            max_frames,
            max_bytes,
            connected: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
            last_error: Mutex::new(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Frames> {
        self.frames.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `frame` unless that would exceed a bound; `false` means dropped (and counted).
    pub(crate) fn push(&self, frame: Vec<u8>) -> bool {
        let mut q = self.lock();
        if q.frames.len() >= self.max_frames || q.bytes.saturating_add(frame.len()) > self.max_bytes {
            drop(q);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        q.bytes += frame.len();
        q.frames.push_back(frame);
        drop(q);
        self.notify.notify_one();
        true
    }

    fn pop(&self) -> Option<Vec<u8>> {
        let mut q = self.lock();
        let frame = q.frames.pop_front()?;
        q.bytes -= frame.len();
        Some(frame)
    }

    /// The oldest frame, waiting for one if the queue is empty. Cancel-safe.
    pub(crate) async fn next(&self) -> Vec<u8> {
        loop {
            if let Some(frame) = self.pop() {
                return frame;
            }
            self.notify.notified().await;
        }
    }

    /// (frames, bytes) queued.
    pub(crate) fn len(&self) -> (usize, usize) {
        let q = self.lock();
        (q.frames.len(), q.bytes)
    }

    pub(crate) fn set_error(&self, error: Option<String>) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = error;
    }

    pub(crate) fn error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
