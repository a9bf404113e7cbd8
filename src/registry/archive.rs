//! A single-file bundle, `oci-archive:FILE`, as a [`Store`]: a tar of an OCI image layout
//! (`oci-layout`, `index.json`, `blobs/sha256/…`), the file skopeo's `oci-archive:` transport
//! makes, so that one file carries packs into an air gap and proves itself there: its
//! `index.json` lists each pack under its ref name, as [`super::layout`] does.
//!
//! Reading never extracts: the tar's headers are scanned once when the bundle is opened, and a
//! manifest or blob is read from its span of the file. The bundle is hostile until proven
//! otherwise: only regular files and folders are accepted (a link, a device, an absolute path
//! or `..` refuses the whole bundle, exit 6), extension headers are capped (the pack reader's
//! [`Extensions`]), every entry must lie inside the file and appear once, a digest names a blob
//! only once parsed, the index and manifests are read up to 4 MiB and hashed against the
//! digest that named them, and a blob is read only to its declared size.
//!
//! Writing collects the run's blobs and manifests in a temp [`Layout`] beside the file. At the
//! end of the run ([`Store::commit`]), if a tag was written, a new tar (the bundle's blobs, the
//! new ones, the merged index) is written beside the file and renamed over it: a reader never
//! sees half a bundle, and a failed run leaves the old one as it was. The same content makes
//! the same bytes (entries sorted, one fixed time, owner 0). A lock on the bundle, named by its
//! real path, makes two runs writing it take turns, so neither loses the other's packs, however
//! each names it. A bundle path that is a link is written through: the new bundle replaces the
//! link's target, and the link stays.

use super::layout::{self, BLOBS, Files, Layout, MARKER, MODE, Ref};
use super::manifest::{self, MAX_MANIFEST_SIZE};
use super::store::{self, Blob, ImageEntry, ManifestRef, Progress, Store};
use crate::atomic::AtomicFile;
use crate::digest::Digest;
use crate::exit::{Code, Failure};
use crate::pack::read::{self, Extensions};
use anyhow::Context;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Entries in one bundle: a pack is two blobs and a manifest, so this is thousands of packs,
/// and it bounds the memory a hostile header stream can claim.
const MAX_ENTRIES: usize = 100_000;

pub struct Archive {
    /// The bundle as the user named it, for messages.
    path: PathBuf,
    /// Where it really is (links followed), to read, write and lock.
    real: PathBuf,
    /// The bundle as it was when opened; `None` when the file does not exist yet.
    base: Option<Bundle>,
    /// The run's additions; `None` when the bundle was opened to read.
    staged: Option<Staged>,
}

/// Where an entry's data lies in the bundle file.
#[derive(Debug, Clone, Copy)]
struct Span {
    offset: u64,
    size: u64,
}

/// An existing bundle file, scanned.
struct Bundle {
    file: fs::File,
    /// Device and inode of `file`: a blob is read through a new handle (its own offset, for
    /// concurrent reads) only while the path still names the file that was scanned.
    identity: (u64, u64),
    blobs: HashMap<Digest, Span>,
    index: Value,
    refs: Vec<Ref>,
    /// How messages name the index: `index.json in FILE`.
    index_shown: String,
}

/// What a run writes, held back until [`Store::commit`].
struct Staged {
    layout: Layout,
    _dir: tempfile::TempDir,
    /// Whether a manifest was tagged: only then is the bundle rewritten, so a run that adds no
    /// pack leaves the file's bytes as they were.
    tagged: AtomicBool,
    _lock: crate::lock::Held,
}

/// Why the bundle `shown` is refused (exit 6).
fn refuse(shown: &str, why: &str) -> anyhow::Error {
    Failure::err(
        Code::VerifyFailed,
        format!("the bundle {shown} {why}; refusing to read it"),
    )
}

impl Archive {
    /// Opens the bundle at `path`; with `create` (to publish into) a missing file is made at
    /// the end of the run, and `waiting` is called if another run is writing the bundle. To
    /// read, a missing file is a usage error.
    pub fn open(path: &Path, create: bool, waiting: impl FnOnce()) -> anyhow::Result<Self> {
        let real = if create {
            resolve(path)?
        } else {
            path.to_path_buf()
        };
        // The lock comes first: the bundle is read only once the previous writer is done.
        let staged = create.then(|| Staged::new(&real, waiting)).transpose()?;
        let base = match layout::open_regular(&real)? {
            Some(file) => Some(Bundle::read(file, path)?),
            None if create => None,
            None => {
                return Err(Failure::err(
                    Code::Usage,
                    format!("the bundle {} does not exist", path.display()),
                ));
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            real,
            base,
            staged,
        })
    }

    fn staged(&self) -> anyhow::Result<&Staged> {
        self.staged
            .as_ref()
            .with_context(|| format!("{} was opened to read, not to write", self.path.display()))
    }

    /// Writes the bundle anew: its blobs and this run's, and its index with this run's tags.
    fn rewrite(&self, staged: &Staged) -> anyhow::Result<()> {
        let mut index = self
            .base
            .as_ref()
            .map_or_else(layout::empty_index, |b| b.index.clone());
        let added = staged.layout.read_index()?;
        for entry in added["manifests"].as_array().into_iter().flatten() {
            layout::put_ref(&mut index, entry.clone());
        }
        // By ref name, so the order packs were pushed in (concurrently, or over several runs)
        // does not change the bytes.
        if let Some(list) = index["manifests"].as_array_mut() {
            list.sort_by_key(layout::entry_key);
        }
        // Every blob once, sorted by digest; a blob of this run is the file it was written to.
        let mut blobs: BTreeMap<Digest, Source<'_>> = BTreeMap::new();
        if let Some(base) = &self.base {
            for (digest, span) in &base.blobs {
                blobs.insert(*digest, Source::Bundle(&base.file, *span));
            }
        }
        let folder = staged.layout.blob_folder();
        for entry in
            fs::read_dir(&folder).with_context(|| format!("cannot read {}", folder.display()))?
        {
            let entry = entry?;
            let name = entry.file_name();
            // The temp files of blobs being written are not blobs.
            if let Ok(digest) = Digest::parse(&format!("sha256:{}", name.to_string_lossy())) {
                blobs.insert(digest, Source::Staged(entry.path()));
            }
        }

        let mut file = AtomicFile::create(&self.real, MODE)?;
        let mut tar = tar::Builder::new(BufWriter::with_capacity(1 << 20, &mut file));
        append(&mut tar, "oci-layout", MARKER.len() as u64, MARKER)?;
        let index = serde_json::to_vec_pretty(&index)?;
        append(&mut tar, "index.json", index.len() as u64, &index[..])?;
        for folder in ["blobs/".to_string(), format!("{BLOBS}/")] {
            let mut header = header(tar::EntryType::Directory, 0);
            tar.append_data(&mut header, folder, std::io::empty())?;
        }
        for (digest, source) in blobs {
            let name = format!("{BLOBS}/{}", digest.hex());
            match source {
                Source::Bundle(mut base, span) => {
                    base.seek(SeekFrom::Start(span.offset))?;
                    append(&mut tar, &name, span.size, base)?;
                }
                Source::Staged(path) => {
                    let staged = fs::File::open(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    append(&mut tar, &name, staged.metadata()?.len(), &staged)?;
                }
            }
        }
        tar.into_inner()?.flush()?;
        file.commit()
            .with_context(|| format!("cannot write the bundle {}", self.path.display()))?;
        Ok(())
    }
}

/// Where a blob written to a new bundle comes from.
enum Source<'a> {
    Bundle(&'a fs::File, Span),
    Staged(PathBuf),
}

/// The header of an entry of a bundle packpub writes: the same for the same content.
fn header(kind: tar::EntryType, size: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
    header.set_mtime(crate::pack::write::DEFAULT_MTIME);
    header.set_uid(0);
    header.set_gid(0);
    header
}

/// Appends file `name` of `size` bytes read from `data`; a source that ends short (a file
/// changed meanwhile) fails the write rather than shift every entry after it.
fn append(
    tar: &mut tar::Builder<impl Write>,
    name: &str,
    size: u64,
    data: impl Read,
) -> anyhow::Result<()> {
    let mut data = crate::interrupt::Reader(data.take(size));
    tar.append_data(&mut header(tar::EntryType::Regular, size), name, &mut data)
        .with_context(|| format!("cannot write {name} into the bundle"))?;
    if data.0.limit() != 0 {
        anyhow::bail!("{name} ended short while it was copied into the bundle");
    }
    Ok(())
}

/// Where the bundle `path` (to write) really is: links followed, its folder made when missing.
/// One bundle then has one name, for its lock, and a rewrite replaces a link's target, not the
/// link. A link to nothing is refused: where to make the bundle would be a guess.
fn resolve(path: &Path) -> anyhow::Result<PathBuf> {
    match fs::canonicalize(path) {
        Ok(real) => return Ok(real),
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            return Err(err).with_context(|| format!("cannot resolve {}", path.display()));
        }
        Err(_) => {}
    }
    if let Ok(to) = fs::read_link(path) {
        return Err(Failure::err(
            Code::Usage,
            format!(
                "the bundle {} is a link to {}, which does not exist; name the bundle's real \
                 place, or remove the link",
                path.display(),
                to.display()
            ),
        ));
    }
    let absolute =
        std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))?;
    let (Some(folder), Some(name)) = (absolute.parent(), absolute.file_name()) else {
        anyhow::bail!("{} names no file", path.display());
    };
    fs::create_dir_all(folder).with_context(|| format!("cannot create {}", folder.display()))?;
    let folder =
        fs::canonicalize(folder).with_context(|| format!("cannot resolve {}", folder.display()))?;
    Ok(folder.join(name))
}

impl Staged {
    /// Takes the lock of the bundle at `real` (its resolved path), then makes the temp layout
    /// beside it.
    fn new(real: &Path, waiting: impl FnOnce()) -> anyhow::Result<Self> {
        let lock = crate::lock::hold(&format!("oci-archive:{}", real.display()), waiting)?;
        let folder = real.parent().unwrap_or(Path::new("/"));
        let dir = tempfile::Builder::new()
            .prefix(".packpub-")
            .tempdir_in(folder)
            .with_context(|| format!("cannot write in {}", folder.display()))?;
        Ok(Self {
            layout: Layout::private(dir.path())?,
            _dir: dir,
            tagged: AtomicBool::new(false),
            _lock: lock,
        })
    }
}

impl Bundle {
    /// Scans `file` (the bundle at `path`) and reads its index.
    fn read(file: fs::File, path: &Path) -> anyhow::Result<Self> {
        let shown = path.display().to_string();
        let files = scan(&file, &shown)?;
        let index_shown = format!("index.json in {shown}");
        let span = files
            .get("index.json")
            .ok_or_else(|| refuse(&shown, "holds no index.json: it is no OCI layout"))?;
        let index = layout::parse_index(&document(&file, *span, &index_shown)?, &index_shown)?;
        let refs = layout::refs(&index, &index_shown)?;
        // Names under blobs/sha256 that are no digest are no blobs packpub reads.
        let blobs = files
            .iter()
            .filter_map(|(name, span)| {
                let hex = name.strip_prefix(BLOBS)?.strip_prefix('/')?;
                Some((Digest::parse(&format!("sha256:{hex}")).ok()?, *span))
            })
            .collect();
        let meta = file.metadata()?;
        Ok(Self {
            identity: (meta.dev(), meta.ino()),
            file,
            blobs,
            index,
            refs,
            index_shown,
        })
    }

    /// A new handle on the scanned file, with its own offset; refused if `path` names another
    /// file now (a bundle rewritten meanwhile has other offsets).
    fn reopen(&self, path: &Path) -> anyhow::Result<fs::File> {
        let file =
            fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let meta = file.metadata()?;
        if (meta.dev(), meta.ino()) != self.identity {
            anyhow::bail!(
                "the bundle {} was replaced while it was read; run again",
                path.display()
            );
        }
        Ok(file)
    }
}

impl Files for Bundle {
    fn index_shown(&self) -> String {
        self.index_shown.clone()
    }

    fn refs(&self) -> anyhow::Result<Cow<'_, [Ref]>> {
        Ok(Cow::Borrowed(&self.refs))
    }

    fn manifest_blob(&self, digest: &Digest, what: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let Some(span) = self.blobs.get(digest) else {
            return Ok(None);
        };
        document(&self.file, *span, what).map(Some)
    }
}

/// A manifest or the index (`what`), whole: one over [`MAX_MANIFEST_SIZE`] is refused by its
/// size before any byte is read.
fn document(file: &fs::File, span: Span, what: &str) -> anyhow::Result<Vec<u8>> {
    if span.size > MAX_MANIFEST_SIZE {
        return Err(manifest::too_large(what));
    }
    let mut bytes = vec![0; span.size as usize];
    file.read_exact_at(&mut bytes, span.offset)
        .with_context(|| format!("cannot read {what}"))?;
    Ok(bytes)
}

/// Where each regular file of the bundle `file` (named `shown`) lies, by its clean path
/// (`./index.json` is `index.json`). Only headers are read, seeking past the data. Anything but
/// regular files and folders, a path that is absolute or holds `..`, a path twice, an entry
/// that runs past the end of the file, or a tar that cannot be read refuses the bundle.
fn scan(file: &fs::File, shown: &str) -> anyhow::Result<HashMap<String, Span>> {
    let refuse = |why: &str| refuse(shown, why);
    // The tar crate's words may quote the hostile header: only a short, escaped prefix.
    let not_a_tar = |e: &std::io::Error| {
        refuse(&format!(
            "cannot be read as a tar: {}",
            crate::pack::tar::shown_name(e.to_string().as_bytes())
        ))
    };
    let length = file.metadata()?.len();
    let mut archive = tar::Archive::new(file);
    let entries = archive.entries_with_seek().map_err(|e| not_a_tar(&e))?;
    let mut extensions = Extensions::default();
    let mut files = HashMap::new();
    let mut seen = HashSet::new();
    for entry in entries.raw(true) {
        crate::interrupt::check()?;
        let mut entry = entry.map_err(|e| not_a_tar(&e))?;
        let size = entry
            .header()
            .entry_size()
            .map_err(|e| refuse(&format!("has an unreadable size field: {e}")))?;
        let offset = entry.raw_file_position();
        if offset.checked_add(size).is_none_or(|end| end > length) {
            return Err(refuse("has an entry that runs past the end of the file"));
        }
        if extensions.absorb(&mut entry).map_err(|why| refuse(&why))? {
            continue;
        }
        if seen.len() == MAX_ENTRIES {
            return Err(refuse(&format!("has more than {MAX_ENTRIES} entries")));
        }
        let raw = extensions
            .name_of(&entry, size)
            .map_err(|why| refuse(&why))?;
        let name = crate::pack::tar::shown_name(&raw);
        let what = match entry.header().entry_type().as_byte() {
            b'0' | b'\0' | b'5' => None,
            b'1' => Some("a hard link".to_string()),
            b'2' => Some("a symbolic link".to_string()),
            b'3' => Some("a character device".to_string()),
            b'4' => Some("a block device".to_string()),
            b'6' => Some("a FIFO".to_string()),
            other => Some(format!("of entry type {:?}", char::from(other))),
        };
        if let Some(what) = what {
            return Err(refuse(&format!(
                "holds {name}, which is {what}; a bundle holds only files and folders"
            )));
        }
        // GNU tar's `-C layout .` names the layout's own folder `./`: nothing to place.
        let kind = entry.header().entry_type();
        if kind.is_dir() && raw.split(|b| *b == b'/').all(|p| p.is_empty() || p == b".") {
            continue;
        }
        let path =
            read::clean_path(&raw).map_err(|why| refuse(&format!("holds {name}, which {why}")))?;
        if !seen.insert(path.clone()) {
            return Err(refuse(&format!(
                "holds {name} twice; readers would disagree on which copy counts"
            )));
        }
        if kind.is_file() {
            files.insert(path, Span { offset, size });
        }
    }
    if extensions.is_dangling() {
        return Err(refuse(
            "ends with a long name or PAX header that describes no entry",
        ));
    }
    Ok(files)
}

#[async_trait::async_trait]
impl Store for Archive {
    fn locate(&self, repository: &str) -> String {
        format!("oci-archive:{}:{repository}", self.path.display())
    }

    fn needs_base_path(&self) -> bool {
        false
    }

    async fn authorize_write(&self, _repository: &str) -> anyhow::Result<()> {
        self.staged().map(drop)
    }

    /// This run's manifests first: a tag it wrote (with `--force`) hides the bundle's.
    async fn manifest(
        &self,
        repository: &str,
        reference: ManifestRef<'_>,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        if let Some(staged) = &self.staged
            && let Some(bytes) = staged.layout.manifest(repository, reference).await?
        {
            return Ok(Some(bytes));
        }
        match &self.base {
            Some(base) => {
                base.find_manifest(repository, reference, &self.show(repository, reference))
            }
            None => Ok(None),
        }
    }

    async fn repository_exists(&self, repository: &str) -> anyhow::Result<bool> {
        Ok(!self.tags(repository, 0).await?.is_empty())
    }

    async fn blob_exists(&self, repository: &str, digest: &Digest) -> anyhow::Result<bool> {
        if let Some(staged) = &self.staged
            && staged.layout.blob_exists(repository, digest).await?
        {
            return Ok(true);
        }
        Ok(self
            .base
            .as_ref()
            .is_some_and(|b| b.blobs.contains_key(digest)))
    }

    async fn fetch_blob(
        &self,
        repository: &str,
        digest: &Digest,
        expected_size: u64,
        dest: &mut tokio::fs::File,
    ) -> anyhow::Result<u64> {
        if let Some(staged) = &self.staged
            && staged.layout.blob_exists(repository, digest).await?
        {
            return staged
                .layout
                .fetch_blob(repository, digest, expected_size, dest)
                .await;
        }
        let shown = self.path.display();
        let (base, span) = self
            .base
            .as_ref()
            .and_then(|b| Some((b, *b.blobs.get(digest)?)))
            .ok_or_else(|| {
                Failure::err(
                    Code::VerifyFailed,
                    format!("the bundle {shown} lacks blob {digest}"),
                )
            })?;
        let mut file = tokio::fs::File::from_std(base.reopen(&self.real)?);
        file.seek(SeekFrom::Start(span.offset)).await?;
        let from = format!("the bundle {shown}");
        store::copy_blob(file.take(span.size), dest, digest, expected_size, &from).await
    }

    async fn repositories(&self, page: usize) -> anyhow::Result<Vec<String>> {
        let mut all = BTreeSet::new();
        if let Some(staged) = &self.staged {
            all.extend(staged.layout.repositories(page).await?);
        }
        if let Some(base) = &self.base {
            all.extend(base.refs.iter().map(|(r, _, _)| r.clone()));
        }
        Ok(all.into_iter().collect())
    }

    async fn tags(&self, repository: &str, page: usize) -> anyhow::Result<Vec<String>> {
        let mut all = BTreeSet::new();
        if let Some(staged) = &self.staged {
            all.extend(staged.layout.tags(repository, page).await?);
        }
        if let Some(base) = &self.base {
            all.extend(
                base.refs
                    .iter()
                    .filter(|(r, _, _)| r == repository)
                    .map(|(_, t, _)| t.clone()),
            );
        }
        Ok(all.into_iter().collect())
    }

    async fn put_blob(
        &self,
        repository: &str,
        digest: &Digest,
        blob: Blob<'_>,
        progress: Progress,
    ) -> anyhow::Result<()> {
        let staged = self.staged()?;
        staged
            .layout
            .put_blob(repository, digest, blob, progress)
            .await
    }

    async fn put_manifest(
        &self,
        repository: &str,
        reference: ManifestRef<'_>,
        manifest: &[u8],
    ) -> anyhow::Result<()> {
        let staged = self.staged()?;
        staged
            .layout
            .put_manifest(repository, reference, manifest)
            .await?;
        if let ManifestRef::Tag(_) = reference {
            staged.tagged.store(true, Ordering::SeqCst);
        }
        Ok(())
    }

    async fn put_image(
        &self,
        repository: &str,
        reference: ManifestRef<'_>,
        manifest: &[u8],
        source: &str,
    ) -> anyhow::Result<()> {
        let staged = self.staged()?;
        staged
            .layout
            .put_image(repository, reference, manifest, source)
            .await?;
        staged.tagged.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// The bundle's images and this run's, this run's first where both name one.
    fn images(&self) -> anyhow::Result<Vec<ImageEntry>> {
        let mut all = match &self.staged {
            Some(staged) => staged.layout.images()?,
            None => Vec::new(),
        };
        if let Some(base) = &self.base {
            for entry in layout::images(&base.index, &base.index_shown)? {
                let seen = all.iter().any(|e| {
                    e.repository == entry.repository
                        && match (&e.tag, &entry.tag) {
                            (Some(a), Some(b)) => a == b,
                            (None, None) => e.digest == entry.digest,
                            _ => false,
                        }
                });
                if !seen {
                    all.push(entry);
                }
            }
        }
        Ok(all)
    }

    async fn commit(&self) -> anyhow::Result<()> {
        match &self.staged {
            Some(staged) if staged.tagged.load(Ordering::SeqCst) => {
                tokio::task::block_in_place(|| self.rewrite(staged))
            }
            _ => Ok(()),
        }
    }
}
