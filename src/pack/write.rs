//! The byte-reproducible `<name>-<version>.tar.gz`: the pack folder as the single top-level
//! directory, entries in walk order, every header normalised (mtime, owner, mode) and a gzip
//! header without name or time. Bytes stream from disk through tar, gzip and sha256 to the
//! destination, so memory stays flat whatever the pack's size.

use super::walk::Kind;
use super::{Archive, ArchiveTo, Folder};
use crate::atomic::AtomicFile;
use crate::digest::{Digest, HashingWriter};
use crate::interrupt;
use anyhow::Context;
use flate2::{Compression, GzBuilder};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};

/// 1980-01-01T00:00:00Z: a fixed time that no extractor warns about as implausible.
pub const DEFAULT_MTIME: u64 = 315_532_800;
const LEVEL: u32 = 6;

/// Builds `folder`'s archive with every entry stamped `mtime`, into the place `to` names.
pub fn build(folder: &Folder, mtime: u64, to: ArchiveTo<'_>) -> anyhow::Result<Archive> {
    let (digest, size, path, temp) = match to {
        ArchiveTo::Nowhere => {
            let (digest, size, _) = write(folder, mtime, io::sink())?;
            (digest, size, None, None)
        }
        ArchiveTo::Temp => {
            let temp = tempfile::Builder::new()
                .prefix(".packpub-")
                .suffix(".tar.gz")
                .tempfile()
                .context("cannot create a temp file for the archive")?;
            let (digest, size, file) =
                write(folder, mtime, BufWriter::with_capacity(1 << 20, temp))?;
            let temp = file.into_inner().map_err(|e| e.into_error())?;
            let path = temp.into_temp_path();
            (digest, size, Some(path.to_path_buf()), Some(path))
        }
        ArchiveTo::Dir(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create output folder {}", dir.display()))?;
            // What `tar` would create: 0666 less the umask.
            let file = AtomicFile::create(&dir.join(folder.id.archive_name()), 0o666)?;
            let (digest, size, file) =
                write(folder, mtime, BufWriter::with_capacity(1 << 20, file))?;
            let path = file.into_inner().map_err(|e| e.into_error())?.commit()?;
            (digest, size, Some(path), None)
        }
    };
    Ok(Archive {
        digest,
        size,
        path,
        _temp: temp,
    })
}

/// Streams the archive into `dest`; returns its digest and size with `dest`.
fn write<W: Write>(folder: &Folder, mtime: u64, dest: W) -> anyhow::Result<(Digest, u64, W)> {
    let gz = GzBuilder::new().write(HashingWriter::new(dest), Compression::new(LEVEL));
    let mut tar = tar::Builder::new(gz);
    let top = &folder.name;
    append(&mut tar, &format!("{top}/"), Kind::Dir, io::empty(), mtime)
        .context("cannot write the archive")?;
    for entry in &folder.entries {
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
    Ok(hashing.finish())
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
