//! The re-push cache: which archive a pack folder's content makes. CI reruns push unchanged
//! packs most of the time; keyed by the digest of the folder's uncompressed tar stream (every
//! path, mode and byte, read once), it gives the archive's digest without compressing anything.
//!
//! It is a hint, never proof: an entry is believed only when the registry's tag holds exactly
//! that archive (digest and size), and only to say "unchanged"; anything else builds the
//! archive for real. Entries are small files under `$XDG_CACHE_HOME/packpub`, one per content,
//! in a folder named after the compression format (a packpub that compresses differently reads
//! none of them); a malformed or unreadable one is a miss; deleting the folder is always safe.

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
    /// The cache in `dir`, or the default place; none with `disabled`.
    pub fn new(dir: Option<&Path>, disabled: bool) -> Self {
        let dir = match dir {
            _ if disabled => None,
            Some(dir) => Some(dir.to_path_buf()),
            None => default_dir(),
        };
        Self {
            dir: dir.map(|d| d.join("archives").join(crate::pack::COMPRESSION)),
        }
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
        let Ok(bytes) = serde_json::to_vec(&entry) else {
            return;
        };
        if std::fs::create_dir_all(dir).is_ok() {
            let _ = crate::atomic::write(&dir.join(tar.hex()), &bytes, 0o644);
        }
    }
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
        let cache = Cache::new(Some(tmp.path()), false);
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
        let off = Cache::new(Some(tmp.path()), true);
        off.put(&Digest::of(b"other"), entry);
        assert_eq!(off.get(&Digest::of(b"other")), None);
    }
}
