//! The byte-reproducible `<name>-<version>.tar.gz`: the pack folder as the single top-level
//! directory, entries in walk order, every header normalised (mtime, owner, mode) and a gzip
//! header without name or time. Bytes stream from disk through tar, gzip and sha256 to the
//! destination, so memory stays flat whatever the pack's size.

use super::Pack;
use super::walk::Kind;
use crate::digest::{Digest, HashingWriter};
use crate::exit::{Code, Failure};
use crate::interrupt;
use anyhow::Context;
use flate2::{Compression, GzBuilder};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// 1980-01-01T00:00:00Z: a fixed time that no extractor warns about as implausible.
pub const DEFAULT_MTIME: u64 = 315_532_800;
const LEVEL: u32 = 6;

#[derive(Debug, Clone)]
pub struct Written {
    pub digest: Digest,
    pub size: u64,
}

/// The time stamped on every entry: `SOURCE_DATE_EPOCH` when set (reproducible-builds.org).
pub fn mtime_from_env() -> anyhow::Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v.trim().parse().map_err(|_| {
            Failure::err(
                Code::Usage,
                format!("SOURCE_DATE_EPOCH={v:?} is not a whole number of seconds since 1970"),
            )
        }),
        Err(_) => Ok(DEFAULT_MTIME),
    }
}

/// Streams the archive into `dest`; returns its digest and size with `dest`.
pub fn write<W: Write>(pack: &Pack, mtime: u64, dest: W) -> anyhow::Result<(Written, W)> {
    let gz = GzBuilder::new().write(HashingWriter::new(dest), Compression::new(LEVEL));
    let mut tar = tar::Builder::new(gz);
    let top = &pack.folder;
    append(&mut tar, &format!("{top}/"), Kind::Dir, io::empty(), mtime)
        .context("cannot write the archive")?;
    for entry in &pack.entries {
        let path = format!("{top}/{}", entry.path);
        match entry.kind {
            Kind::Dir => append(&mut tar, &format!("{path}/"), Kind::Dir, io::empty(), mtime),
            Kind::File { size, .. } => {
                let file = File::open(&entry.source)
                    .with_context(|| format!("cannot read {}", entry.path))?;
                let reader = ExactReader {
                    inner: file,
                    remaining: size,
                };
                append(&mut tar, &path, entry.kind, reader, mtime)
            }
        }
        .with_context(|| format!("cannot pack {}", entry.path))?;
    }
    let gz = tar.into_inner().context("cannot finish the archive")?;
    let hashing = gz.finish().context("cannot finish the archive")?;
    let (digest, size, dest) = hashing.finish();
    Ok((Written { digest, size }, dest))
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    kind: Kind,
    data: impl Read,
    mtime: u64,
) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    let (entry_type, size, mode) = match kind {
        Kind::Dir => (tar::EntryType::Directory, 0, 0o755),
        Kind::File { size, executable } => (
            tar::EntryType::Regular,
            size,
            if executable { 0o755 } else { 0o644 },
        ),
    };
    header.set_entry_type(entry_type);
    header.set_size(size);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);
    tar.append_data(&mut header, path, interrupt::Reader(data))
}

/// Reads exactly the size recorded in the header: a file that shrinks while it is packed is an
/// error, and bytes appended meanwhile are not read, so the archive is never malformed.
struct ExactReader {
    inner: File,
    remaining: u64,
}

impl Read for ExactReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while it was being packed",
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Writes `OUTDIR/<name>-<version>.tar.gz` atomically: a temp file beside the target, renamed
/// into place once complete. On any error or Ctrl-C the temp file is removed by `Drop`.
pub fn write_file(pack: &Pack, outdir: &Path, mtime: u64) -> anyhow::Result<(PathBuf, Written)> {
    std::fs::create_dir_all(outdir)
        .with_context(|| format!("cannot create output folder {}", outdir.display()))?;
    let target = outdir.join(pack.archive_name());
    let temp = tempfile::Builder::new()
        .prefix(".packpub-")
        .suffix(".tmp")
        // What `tar` would create: 0666 less the umask, not tempfile's private 0600.
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(outdir)
        .with_context(|| format!("cannot write in {}", outdir.display()))?;
    let (written, buffered) = write(pack, mtime, BufWriter::with_capacity(1 << 20, temp))?;
    let temp = buffered.into_inner().map_err(|e| e.into_error())?;
    temp.as_file().sync_all()?;
    interrupt::check()?;
    temp.persist(&target)
        .with_context(|| format!("cannot write {}", target.display()))?;
    Ok((target, written))
}
