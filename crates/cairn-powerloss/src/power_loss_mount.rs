//! A mounted power-loss filesystem and its power switch.
use crate::backing_state::BackingState;
use crate::cut_report::CutReport;
use crate::power_loss_fs::PowerLossFs;
use fuser::{BackgroundSession, Config, MountOption};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// A FUSE mount at `mountpoint` passing files through to `backing`, remembering every change
/// until an `fsync` covers it. Unmounted when dropped.
pub struct PowerLossMount {
    state: Arc<Mutex<BackingState>>,
    mountpoint: PathBuf,
    session: Option<BackgroundSession>,
}

impl PowerLossMount {
    /// Mounts a new filesystem over `backing` (created if missing; the visible tree is kept
    /// in `backing/root`) at the existing directory `mountpoint`. Needs `/dev/fuse` and the
    /// right to mount (root).
    pub fn mount(backing: &Path, mountpoint: &Path) -> io::Result<PowerLossMount> {
        let state = Arc::new(Mutex::new(BackingState::new(backing)?));
        let mut config = Config::default();
        config.mount_options = vec![MountOption::FSName("cairn-powerloss".into()), MountOption::RW];
        let fs = PowerLossFs { state: state.clone() };
        let session = fuser::spawn_mount(fs, mountpoint, &config).map_err(|e| {
            io::Error::new(e.kind(), format!("mounting the power-loss filesystem at {}: {e}", mountpoint.display()))
        })?;
        Ok(PowerLossMount { state, mountpoint: mountpoint.to_path_buf(), session: Some(session) })
    }

    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    fn state(&self) -> MutexGuard<'_, BackingState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The power goes out: every operation fails with `EIO` until [`restore_power`]. Kill the
    /// processes using the mount after this and before restoring, so nothing they still have
    /// in flight lands.
    ///
    /// [`restore_power`]: PowerLossMount::restore_power
    pub fn cut_power(&self) {
        self.state().cut();
    }

    /// Drops every change no `fsync` covered (with `torn_seed`, the newest write is kept in
    /// part, a seeded-random prefix of it) and turns the power back on.
    pub fn restore_power(&self, torn_seed: Option<u64>) -> CutReport {
        self.state().restore(torn_seed)
    }

    /// (changes, bytes written) a power cut now would drop.
    pub fn unsynced(&self) -> (usize, u64) {
        self.state().pending()
    }
}

impl Drop for PowerLossMount {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            let _ = session.umount_and_join();
        }
    }
}
