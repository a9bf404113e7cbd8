//! Local locks: which packpub on this machine writes what, and for how long others wait.
//!
//! Pushes of the same version take turns: a registry has no compare-and-swap for tags, so two
//! pushes that both find a tag missing would both write it, the last one silently winning. An
//! advisory lock (`flock`) per target reference, held from the existence check to the tag
//! write, turns that race into "already published" or a conflict; across machines, `push`
//! reads the tag back after writing it. Writers of one OCI layout or bundle take turns the same
//! way ([`crate::registry::layout`], [`crate::registry::archive`]).
//!
//! This module owns the lock folder and the wait. Another local user must not be able to jam,
//! redirect or fake a lock, so the folder is the user's own (made 0700, then checked for type,
//! owner and mode, as ssh-agent and tmux check theirs), a lock file is opened without following
//! a link or waiting on a FIFO, and the wait is a poll that a signal ends at once and that
//! gives up (exit 7) after `--lock-timeout`.

use crate::digest::Digest;
use crate::exit::{Code, Failure};
use anyhow::Context;
use std::fs::{DirBuilder, File, OpenOptions, TryLockError};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a lock is waited for unless `--lock-timeout` says otherwise: longer than a large
/// pack takes to upload, shorter than a CI job's own limit.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// How often a held lock is tried again: short next to any wait a person notices.
const POLL: Duration = Duration::from_millis(50);

/// What a holder writes into its lock file so a waiter can name it; read back up to this.
const MAX_HOLDER: usize = 512;

static TIMEOUT: OnceLock<Duration> = OnceLock::new();

/// Sets the bound on every lock wait of this process (`--lock-timeout`), once, at start.
pub fn set_timeout(timeout: Duration) {
    let _ = TIMEOUT.set(timeout);
}

fn timeout() -> Duration {
    *TIMEOUT.get_or_init(|| DEFAULT_TIMEOUT)
}

/// A lock; released when dropped (the file is closed).
pub struct Held {
    file: File,
}

impl Drop for Held {
    /// Forgets the holder first, so no later waiter is told to wait for a finished process.
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
    }
}

/// Waits for, then takes, the lock named `key` (what is locked: a reference, a layout or
/// bundle by its real path); `waiting` is called once if another process holds it. A signal
/// ends the wait (exit 130/143), and so does the timeout (exit 7, naming the lock file and its
/// holder).
pub fn hold(key: &str, waiting: impl FnOnce()) -> anyhow::Result<Held> {
    let path = folder()?.join(Digest::of(key.as_bytes()).hex());
    let file = open(&path)?;
    let deadline = Instant::now().checked_add(timeout());
    let mut waiting = Some(waiting);
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(err)) => {
                return Err(err).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        if let Some(waiting) = waiting.take() {
            waiting();
        }
        crate::interrupt::check()?;
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(gave_up(&path, key, &file));
        }
        std::thread::sleep(POLL);
    }
    // Who holds it, for whoever waits next; a lock without this still locks.
    let holder = format!("packpub pid {}", std::process::id());
    let _ = file
        .set_len(0)
        .and_then(|()| file.write_all_at(holder.as_bytes(), 0));
    Ok(Held { file })
}

/// The timeout's failure: which lock, who holds it, and what to do.
fn gave_up(path: &Path, key: &str, file: &File) -> anyhow::Error {
    let mut buf = vec![0; MAX_HOLDER];
    let read = file.read_at(&mut buf, 0).unwrap_or(0);
    let holder = String::from_utf8_lossy(&buf[..read]).trim().to_string();
    let holder = if holder.is_empty() {
        "another packpub".to_string()
    } else {
        crate::output::escape(&holder).into_owned()
    };
    let waited = timeout().as_secs();
    Failure::err(
        Code::Unreachable,
        format!(
            "gave up after {waited}s waiting for the lock {} ({key}), held by {holder}: let it \
             finish (or end it), then run again; --lock-timeout (PACKPUB_LOCK_TIMEOUT) sets how long to wait",
            path.display()
        ),
    )
}

/// Opens (creating) the lock file `path` in the private folder: never through a link, never
/// waiting on a FIFO, and only a regular file of the user's own.
fn open(path: &Path) -> anyhow::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|err| match err.raw_os_error() {
            Some(libc::ELOOP) => unsafe_lock(path, "is a symbolic link"),
            _ => anyhow::Error::new(err)
                .context(format!("cannot open the lock file {}", path.display())),
        })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(unsafe_lock(path, "is not a regular file"));
    }
    if meta.uid() != euid() {
        return Err(unsafe_lock(
            path,
            &format!("belongs to user {}", meta.uid()),
        ));
    }
    Ok(file)
}

fn unsafe_lock(path: &Path, why: &str) -> anyhow::Error {
    Failure::err(
        Code::Unreachable,
        format!(
            "the lock file {} {why}, so someone else made it; remove it (packpub makes it again)",
            path.display()
        ),
    )
}

fn euid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// Per user, so one user's locks never block another's: `$XDG_RUNTIME_DIR/packpub-locks`,
/// else the temp folder with the user id in the name. Made 0700 when missing; used only as a
/// folder (not a link) of the user's own that no one else can write, since in the shared temp
/// folder another user can make it first.
fn folder() -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("packpub-locks"),
        None => std::env::temp_dir().join(format!("packpub-locks-{}", euid())),
    };
    match DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(err) if err.kind() == ErrorKind::AlreadyExists => {}
        Err(err) => {
            return Err(err)
                .with_context(|| format!("cannot create the lock folder {}", dir.display()));
        }
    }
    // Checked on what was opened, not on the path, which another user could swap meanwhile.
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(&dir);
    let why = match opened.as_ref().map(|f| (f, f.metadata())) {
        Err(err) if err.raw_os_error() == Some(libc::ELOOP) => "is a symbolic link".to_string(),
        Err(err) if err.raw_os_error() == Some(libc::ENOTDIR) => "is not a folder".to_string(),
        Err(err) => format!("cannot be opened: {err}"),
        Ok((_, Err(err))) => format!("cannot be read: {err}"),
        Ok((_, Ok(meta))) if meta.uid() != euid() => {
            format!(
                "belongs to user {}, not to you (user {})",
                meta.uid(),
                euid()
            )
        }
        Ok((_, Ok(meta))) if meta.mode() & 0o022 != 0 => format!(
            "has mode {:o}: others can write into it (it must be 700)",
            meta.mode() & 0o7777
        ),
        Ok((file, Ok(meta))) => {
            // Others may enter but not write (an older packpub made it 755): nothing can have
            // been planted, so closing it is enough.
            if meta.mode() & 0o077 != 0 {
                file.set_permissions(std::fs::Permissions::from_mode(0o700))
                    .with_context(|| format!("cannot make {} private", dir.display()))?;
            }
            return Ok(dir);
        }
    };
    Err(Failure::err(
        Code::Unreachable,
        format!(
            "the lock folder {} {why}; another user could block or redirect packpub's locks \
             there. Remove it (packpub makes it again, private), or set XDG_RUNTIME_DIR to a \
             folder only you can write",
            dir.display()
        ),
    ))
}
