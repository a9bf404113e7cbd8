//! Pushes of the same version take turns on this machine. A registry has no compare-and-swap
//! for tags, so two pushes that both find a tag missing would both write it, the last one
//! silently winning. An advisory lock (`flock`) per target reference, held from the existence
//! check to the tag write, turns that race into "already published" or a conflict; across
//! machines, `push` reads the tag back after writing it.

use crate::digest::Digest;
use anyhow::Context;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

/// The lock on one reference; released when dropped (the file is closed).
pub struct Held {
    _file: File,
}

/// Waits for, then takes, the lock on `reference`; `waiting` is called once if another process
/// holds it.
pub fn hold(reference: &str, waiting: impl FnOnce()) -> anyhow::Result<Held> {
    let dir = lock_dir();
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the lock folder {}", dir.display()))?;
    let path = dir.join(Digest::of(reference.as_bytes()).hex());
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            waiting();
            file.lock()
                .with_context(|| format!("cannot lock {}", path.display()))?;
        }
        Err(TryLockError::Error(err)) => {
            return Err(err).with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    Ok(Held { _file: file })
}

/// Per user, so one user's locks never block another's: `$XDG_RUNTIME_DIR/packpub`, else the
/// temp folder with the user id in the name.
fn lock_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("packpub-locks"),
        // SAFETY: getuid cannot fail and touches no memory.
        None => std::env::temp_dir().join(format!("packpub-locks-{}", unsafe { libc::getuid() })),
    }
}
