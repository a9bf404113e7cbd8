//! The re-push cache: which archive a pack folder's content makes. CI reruns push unchanged
//! packs most of the time; keyed by the digest of the folder's uncompressed tar stream (every
//! path, mode and byte, read once), it gives the archive's digest without compressing anything.
//!
//! It is a hint, never proof: an entry is believed only when the registry's tag holds exactly
//! that archive (digest and size), and only to say "unchanged"; anything else builds the
//! archive for real. Entries are small files under `$XDG_CACHE_HOME/packpub`, one per content,
//! in a folder named after the compression format (a packpub that compresses differently reads
//! none of them); a malformed or unreadable one is a miss; deleting the folder is always safe.
//!
//! Believed means trusted to skip one build: a wrong entry would make a changed pack read as
//! "already published". So entries are read only from folders another user cannot have written:
//! at each run, the cache folder and the folders under it down to the entries must be folders
//! the user owns that neither group nor others can write (as ssh checks `~/.ssh`); otherwise
//! the cache is ignored for the run, with a warning naming the folder.

use crate::digest::Digest;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// An entry is a few dozen bytes; anything longer is not one.
const MAX_ENTRY: u64 = 4096;

/// What a folder's content compressed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub archive: Digest,
    pub size: u64,
}

pub struct Cache {
    /// `None` when disabled or no place for it is known.
    dir: Option<PathBuf>,
}

impl Cache {
    /// The cache in `dir`, or the default place; none with `disabled`, and none (after `warn`
    /// says why) where another user could have written it.
    pub fn new(dir: Option<&Path>, disabled: bool, warn: impl FnOnce(&str)) -> Self {
        let root = match dir {
            _ if disabled => None,
            Some(dir) => Some(dir.to_path_buf()),
            None => default_dir(),
        };
        let dir = root.and_then(|root| match private(&root) {
            Ok(entries) => entries,
            Err(why) => {
                warn(&format!(
                    "ignoring the re-push cache: {why}; only folders you own that no one else \
                     can write are trusted (chmod go-w it, or remove it)"
                ));
                None
            }
        });
        Self { dir }
    }

    pub fn is_on(&self) -> bool {
        self.dir.is_some()
    }

    /// The archive `tar` (a tar stream's digest) compressed to, if remembered.
    pub fn get(&self, tar: &Digest) -> Option<Entry> {
        let path = self.dir.as_ref()?.join(tar.hex());
        let bytes = crate::files::read_capped(&path, MAX_ENTRY, true).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Remembers that `tar` compressed to `entry`; a cache that cannot be written is no error.
    pub fn put(&self, tar: &Digest, entry: Entry) {
        let Some(dir) = &self.dir else { return };
        if let Ok(bytes) = serde_json::to_vec(&entry) {
            let _ = crate::atomic::write(&dir.join(tar.hex()), &bytes, 0o644);
        }
    }
}

/// The entries' folder under `root`, its folders made (0700) when missing and each checked: a
/// folder (not a link) of the user's own that no one else can write. `Ok(None)` when they
/// cannot be made (no cache, as a cache that cannot be written is no error); `Err` with why
/// one is not to be trusted.
fn private(root: &Path) -> Result<Option<PathBuf>, String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    // SAFETY: geteuid cannot fail and touches no memory.
    let me = unsafe { libc::geteuid() };
    let archives = root.join("archives");
    let entries = archives.join(crate::pack::COMPRESSION);
    for dir in [root, &archives, &entries] {
        // Recursive, so a first run makes `~/.cache` too; the checks below see what exists.
        match std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
        {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(_) => return Ok(None),
        }
        let Ok(meta) = std::fs::symlink_metadata(dir) else {
            return Ok(None);
        };
        let shown = dir.display();
        if meta.file_type().is_symlink() {
            return Err(format!("{shown} is a symbolic link"));
        }
        if !meta.is_dir() {
            return Err(format!("{shown} is not a folder"));
        }
        if meta.uid() != me {
            return Err(format!(
                "{shown} belongs to user {}, not to you",
                meta.uid()
            ));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(format!(
                "{shown} has mode {:o}: others can write it",
                meta.mode() & 0o7777
            ));
        }
    }
    Ok(Some(entries))
}

/// `$XDG_CACHE_HOME/packpub`, else `~/.cache/packpub` (the XDG base directory default).
fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("packpub"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_misses_without_error() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(Some(tmp.path()), false, |why| panic!("{why}"));
        let tar = Digest::of(b"tar");
        assert_eq!(cache.get(&tar), None);
        let entry = Entry {
            archive: Digest::of(b"gz"),
            size: 7,
        };
        cache.put(&tar, entry);
        assert_eq!(cache.get(&tar), Some(entry));
        // A damaged entry is a miss, not an error.
        let file = tmp
            .path()
            .join("archives")
            .join(crate::pack::COMPRESSION)
            .join(tar.hex());
        std::fs::write(&file, "{\"archive\":\"sha256:../../x\",\"size\":1}").unwrap();
        assert_eq!(cache.get(&tar), None);
        // Disabled: nothing read or written.
        let off = Cache::new(Some(tmp.path()), true, |why| panic!("{why}"));
        off.put(&Digest::of(b"other"), entry);
        assert_eq!(off.get(&Digest::of(b"other")), None);
    }
}
