//! Files that appear whole or not at all. Every file packpub creates for the user (archives,
//! downloads, layout blobs and index, docker's config.json) is written to a temp file beside its
//! target and renamed into place once complete, so a reader never sees half a file and an error
//! or Ctrl-C leaves nothing behind (the temp file is removed on drop).

use anyhow::Context;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A file being written; [`AtomicFile::commit`] puts it in place.
pub struct AtomicFile {
    temp: tempfile::NamedTempFile,
    target: PathBuf,
}

impl AtomicFile {
    /// Starts a file that will become `target`, with permission bits `mode` (before the umask).
    pub fn create(target: &Path, mode: u32) -> anyhow::Result<Self> {
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".packpub-")
            .suffix(".tmp")
            .permissions(std::fs::Permissions::from_mode(mode))
            .tempfile_in(dir)
            .with_context(|| format!("cannot write in {}", dir.display()))?;
        Ok(Self {
            temp,
            target: target.to_path_buf(),
        })
    }

    /// Where the bytes are going meanwhile.
    pub fn temp_path(&self) -> &Path {
        self.temp.path()
    }

    /// Flushes to disk and renames into place, unless Ctrl-C was pressed meanwhile.
    pub fn commit(self) -> anyhow::Result<PathBuf> {
        self.temp.as_file().sync_all()?;
        crate::interrupt::check()?;
        self.temp
            .persist(&self.target)
            .with_context(|| format!("cannot write {}", self.target.display()))?;
        Ok(self.target)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}

/// Writes `data` to `target` atomically.
pub fn write(target: &Path, data: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut file = AtomicFile::create(target, mode)?;
    file.write_all(data)
        .with_context(|| format!("cannot write {}", target.display()))?;
    file.commit().map(drop)
}
