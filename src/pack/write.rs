//! The byte-reproducible `<name>-<version>.tar.gz`: the pack folder as the single top-level
//! directory, entries in walk order, every header normalised (mtime, owner, mode), gzipped on
//! every core into the same bytes whatever the core count ([`super::gzip`]). Bytes stream from
//! disk through tar, gzip and sha256 to the destination, so memory stays flat (a few MiB per
//! job) whatever the pack's size. Files are reopened through
//! `walk::Entry::open`, so a file swapped since the walk is refused, never packed
//! unvalidated.

use super::gzip::GzWriter;
use super::model::Identity;
use super::walk;
use super::walk::Kind;
use crate::atomic::AtomicFile;
use crate::digest::{Digest, HashingWriter};
use crate::growing::Grown;
use crate::interrupt;
use anyhow::Context;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// A pack folder that passed validation far enough to be archived.
#[derive(Debug)]
pub struct Folder {
    pub id: Identity,
    /// The folder's name: the archive's single top-level directory.
    pub name: String,
    pub entries: Vec<walk::Entry>,
}

impl Folder {
    pub(super) fn file_count(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e.kind, walk::Kind::File { .. }))
            .count()
    }
}

/// Where a folder's archive goes. An archive given as input stays where it is.
pub enum ArchiveTo<'a> {
    /// `<dir>/<name>-<version>.tar.gz`, written atomically (`pack`).
    Dir(&'a Path),
    /// A temp file removed when the [`super::LocalPack`] is dropped (`push`).
    Temp,
    /// A temp file uploaded while it is written: `state` hears of every byte written and of
    /// the end; once nobody listens any more, the build stops (`push` of a new version).
    Growing {
        file: tempfile::NamedTempFile,
        state: &'a tokio::sync::watch::Sender<Grown>,
    },
    /// Nowhere: only its digest and size are computed (`verify`).
    Nowhere,
}

/// The archive's digest and size, and where it is on disk (none for [`ArchiveTo::Nowhere`]).
pub struct Archive {
    pub digest: Digest,
    pub size: u64,
    pub path: Option<PathBuf>,
    /// The digest of the uncompressed tar stream of a folder's archive: what the re-push cache
    /// is keyed by ([`crate::cache`]).
    pub tar: Option<Digest>,
    pub(super) _temp: Option<tempfile::TempPath>,
}

/// 1980-01-01T00:00:00Z: a fixed time that no extractor warns about as implausible.
pub const DEFAULT_MTIME: u64 = 315_532_800;

/// How an archive is built: the time stamped on every entry, and the threads compressing it
/// (which never changes the bytes).
#[derive(Debug, Clone, Copy)]
pub struct Recipe {
    pub mtime: u64,
    pub jobs: usize,
}

impl Recipe {
    /// Entries stamped `mtime`, compressed on every core.
    pub fn on_every_core(mtime: u64) -> Self {
        Self {
            mtime,
            jobs: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }
}

/// Builds `folder`'s archive as `recipe` says, into the place `to` names.
pub fn build(folder: &Folder, recipe: Recipe, to: ArchiveTo<'_>) -> anyhow::Result<Archive> {
    let (built, path, temp) = match to {
        ArchiveTo::Nowhere => {
            let (built, _) = write(folder, recipe, io::sink(), false, &|_| {})?;
            (built, None, None)
        }
        ArchiveTo::Temp => {
            let temp = temp_file()?;
            let dest = BufWriter::with_capacity(1 << 20, temp);
            let (built, file) = write(folder, recipe, dest, true, &|_| {})?;
            let path = file
                .into_inner()
                .map_err(|e| e.into_error())?
                .into_temp_path();
            (built, Some(path.to_path_buf()), Some(path))
        }
        ArchiveTo::Growing { file, state } => {
            let (file, path) = file.into_parts();
            let read = |n| state.send_modify(|grown| grown.read += n);
            let written = write(folder, recipe, Reporting { file, state }, true, &read);
            // The upload waits for this word: it must hear of a failure too.
            state.send_modify(|grown| {
                grown.done = Some(match &written {
                    Ok((built, _)) => Ok((built.digest, built.size)),
                    Err(err) => Err(format!("{err:#}")),
                });
            });
            (written?.0, Some(path.to_path_buf()), Some(path))
        }
        ArchiveTo::Dir(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create output folder {}", dir.display()))?;
            // What `tar` would create: 0666 less the umask.
            let file = AtomicFile::create(&dir.join(folder.id.archive_name()), 0o666)?;
            let dest = BufWriter::with_capacity(1 << 20, file);
            let (built, file) = write(folder, recipe, dest, false, &|_| {})?;
            let path = file.into_inner().map_err(|e| e.into_error())?.commit()?;
            (built, Some(path), None)
        }
    };
    Ok(Archive {
        digest: built.digest,
        size: built.size,
        path,
        tar: built.tar,
        _temp: temp,
    })
}

/// A temp file for an archive, removed when dropped.
pub fn temp_file() -> anyhow::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".packpub-")
        .suffix(".tar.gz")
        .tempfile()
        .context("cannot create a temp file for the archive")
}

/// The digest of `folder`'s uncompressed tar stream, entries stamped `mtime`.
pub fn tar_digest(folder: &Folder, mtime: u64) -> anyhow::Result<Digest> {
    let (digest, _, _) = tar_stream(folder, mtime, HashingWriter::new(io::sink()))?.finish();
    Ok(digest)
}

/// What writing an archive found: its digest and size, and its tar stream's digest when asked.
struct Built {
    digest: Digest,
    size: u64,
    tar: Option<Digest>,
}

/// Streams the archive into `dest`; returns what was built, with `dest`. `hash_tar` also
/// hashes the uncompressed stream, for the re-push cache (a cost only `push` has a use for);
/// `read` hears of every uncompressed byte as it goes into the compressor.
fn write<W: Write>(
    folder: &Folder,
    recipe: Recipe,
    dest: W,
    hash_tar: bool,
    read: &dyn Fn(u64),
) -> anyhow::Result<(Built, W)> {
    let gz = Tally {
        inner: GzWriter::new(HashingWriter::new(dest), recipe.jobs),
        read,
    };
    let (tar, gz) = if hash_tar {
        let (tar, _, gz) = tar_stream(folder, recipe.mtime, HashingWriter::new(gz))?.finish();
        (Some(tar), gz.inner)
    } else {
        (None, tar_stream(folder, recipe.mtime, gz)?.inner)
    };
    let hashing = gz.finish().context("cannot finish the archive")?;
    let (digest, size, dest) = hashing.finish();
    Ok((Built { digest, size, tar }, dest))
}

/// Writes `folder`'s tar stream into `sink`, and returns it.
fn tar_stream<W: Write>(folder: &Folder, mtime: u64, sink: W) -> anyhow::Result<W> {
    let mut tar = tar::Builder::new(sink);
    let top = &folder.name;
    append(&mut tar, &format!("{top}/"), Kind::Dir, io::empty(), mtime)
        .context("cannot write the archive")?;
    for entry in &folder.entries {
        let path = format!("{top}/{}", entry.path);
        match entry.kind {
            Kind::Dir => append(&mut tar, &format!("{path}/"), Kind::Dir, io::empty(), mtime),
            Kind::File { size, .. } => entry.open().and_then(|file| {
                let reader = ExactReader {
                    inner: file,
                    remaining: size,
                };
                append(&mut tar, &path, entry.kind, reader, mtime)
            }),
        }
        .with_context(|| format!("cannot pack {}", entry.path))?;
    }
    tar.into_inner().context("cannot finish the archive")
}

/// A writer that tells `read` how many bytes went through it.
struct Tally<'a, W> {
    inner: W,
    read: &'a dyn Fn(u64),
}

impl<W: Write> Write for Tally<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        (self.read)(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A file that tells `state` of every byte written to it, and stops the build once nobody
/// listens (the upload failed or was cancelled).
struct Reporting<'a> {
    file: File,
    state: &'a tokio::sync::watch::Sender<Grown>,
}

impl Write for Reporting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.state.is_closed() {
            return Err(io::Error::other("the upload stopped"));
        }
        let n = self.file.write(buf)?;
        self.state.send_modify(|grown| grown.written += n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
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
        Kind::File {
            size, executable, ..
        } => (
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::Identity;
    use crate::pack::findings::Findings;
    use crate::pack::walk::Walk;
    use std::fs;
    use std::os::unix::fs::symlink;
    use std::path::{Path, PathBuf};

    /// A walked pack folder holding `values.yaml` and `copy.yaml`, a link to it.
    fn walked() -> (tempfile::TempDir, PathBuf, Folder) {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap().join("hello-1.0.0");
        fs::create_dir(&root).unwrap();
        fs::write(root.join("values.yaml"), "a: 1\n").unwrap();
        symlink("values.yaml", root.join("copy.yaml")).unwrap();
        let mut findings = Findings::default();
        let entries = Walk::new(&root, &mut findings)
            .run(None, &mut findings)
            .unwrap();
        assert!(findings.list.is_empty(), "{:?}", findings.list);
        let folder = Folder {
            id: Identity::parse("hello:1.0.0").unwrap(),
            name: "hello-1.0.0".to_string(),
            entries,
        };
        (tmp, root, folder)
    }

    const RECIPE: Recipe = Recipe {
        mtime: DEFAULT_MTIME,
        jobs: 2,
    };

    fn refused(folder: &Folder, file: &str) {
        let Err(err) = build(folder, RECIPE, ArchiveTo::Nowhere) else {
            panic!("{file} was packed although it changed");
        };
        let err = format!("{err:#}");
        assert!(
            err.contains(&format!(
                "cannot pack {file}: changed while it was being packed; run again"
            )),
            "{err}"
        );
    }

    /// Swaps `path` for a file holding `bytes`, as an editor saving it would (a new inode).
    fn replace(path: &Path, bytes: &[u8]) {
        let tmp = path.with_extension("new");
        fs::write(&tmp, bytes).unwrap();
        fs::rename(tmp, path).unwrap();
    }

    #[test]
    fn an_unchanged_folder_builds() {
        let (_tmp, _, folder) = walked();
        build(&folder, RECIPE, ArchiveTo::Nowhere).unwrap();
    }

    #[test]
    fn a_file_swapped_for_a_link_after_the_walk_is_refused() {
        let (tmp, root, mut folder) = walked();
        let outside = tmp.path().join("secret");
        fs::write(&outside, "a: 2\n").unwrap();
        fs::remove_file(root.join("values.yaml")).unwrap();
        symlink(&outside, root.join("values.yaml")).unwrap();
        // copy.yaml comes first in the archive, and reads the same file through its link.
        refused(&folder, "copy.yaml");
        folder.entries.retain(|e| e.path != "copy.yaml");
        refused(&folder, "values.yaml");
    }

    #[test]
    fn a_file_swapped_for_another_of_the_same_size_is_refused() {
        let (_tmp, root, folder) = walked();
        replace(&root.join("values.yaml"), b"b: 2\n");
        refused(&folder, "copy.yaml");
    }

    #[test]
    fn a_file_that_grew_after_the_walk_is_refused() {
        let (_tmp, root, folder) = walked();
        fs::write(root.join("values.yaml"), "a: 1\nb: 2\n").unwrap();
        refused(&folder, "copy.yaml");
    }

    #[test]
    fn a_link_swapped_to_another_file_after_the_walk_packs_what_was_walked() {
        let (tmp, root, folder) = walked();
        let outside = tmp.path().join("secret");
        fs::write(&outside, "a: 2\n").unwrap();
        fs::remove_file(root.join("copy.yaml")).unwrap();
        symlink(&outside, root.join("copy.yaml")).unwrap();
        // The entry was recorded with its resolved target, so the new link is never followed.
        let (_, archive) = write(&folder, RECIPE, Vec::new(), false, &|_| {}).unwrap();
        let mut tar = String::new();
        flate2::read::MultiGzDecoder::new(&archive[..])
            .read_to_string(&mut tar)
            .unwrap();
        assert!(tar.contains("a: 1"), "what was walked is missing");
        assert!(!tar.contains("a: 2"), "the new target was packed");
    }
}
