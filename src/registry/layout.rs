//! A local OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`) as a [`Store`]: for
//! trying packpub without a registry and for air-gapped hand-offs. Each pack's manifest is
//! listed in `index.json` under `org.opencontainers.image.ref.name` =
//! `spectro-packs/archive/<name>:<version>`, the form skopeo's `oci:PATH:REF` reads. Blobs and
//! the index are written atomically, so a reader never sees half a file. Read back, a layout
//! may have been made by anyone: a digest names a file only once parsed, only regular files are
//! read, a manifest or the index only up to 4 MiB, and a blob only to its declared size. The
//! layout's logic is written once over where its files lie ([`Files`]: this folder, or the tar
//! of the single-file bundle, [`super::archive`], scanned in place): the index (parsing, ref
//! names, replacing an entry), the blob names, and finding and checking a manifest.
//!
//! Writers of one layout take turns on `index.json`, threads of one run and runs on this
//! machine alike: each tag write holds the layout's lock ([`crate::lock`], named by the
//! layout's real path, so two paths to one folder share it), re-reads the index, adds its entry
//! and writes the index atomically, so no writer drops another's packs. Blobs need no turn:
//! each is named by its content and renamed into place whole. A layout whose `blobs` or
//! `blobs/sha256` is a link is refused for writing: blobs would land wherever it points.

use super::manifest::{self, MAX_MANIFEST_SIZE};
use super::store::{self, Blob, ImageEntry, ManifestRef, Progress, Store};
use crate::atomic::{self, AtomicFile};
use crate::digest::Digest;
use crate::exit::{Code, Failure};
use anyhow::Context;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// On an image's index entry: the reference a pack names it by, and the repository it is in
/// (an image pinned by digest has no ref name to carry its repository).
pub const IMAGE_SOURCE: &str = "io.packpub.image.source";
pub const IMAGE_REPOSITORY: &str = "io.packpub.image.repository";

/// Layout files are meant to be shared (copied, served): 0666 less the umask.
pub(super) const MODE: u32 = 0o666;

/// The `oci-layout` file: which version of the layout spec the folder follows.
pub(super) const MARKER: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// A manifest `index.json` lists under a ref name: `(repository, tag, digest)`.
pub(super) type Ref = (String, String, Digest);

/// Where blobs lie in a layout, named by their digests' hex.
pub(super) const BLOBS: &str = "blobs/sha256";

/// A layout's files as its readers need them, wherever they lie: this folder ([`Layout`]) or a
/// bundle's tar scanned in place ([`super::archive`]). A manifest is found and checked here
/// once, over either.
pub(super) trait Files {
    /// How messages name the index (`…/index.json`, `index.json in FILE`).
    fn index_shown(&self) -> String;

    /// Every manifest the index lists under a ref name.
    fn refs(&self) -> anyhow::Result<Cow<'_, [Ref]>>;

    /// Blob `digest`, a manifest shown as `what`, whole: over [`MAX_MANIFEST_SIZE`] it is
    /// refused; `None` when the layout lacks it.
    fn manifest_blob(&self, digest: &Digest, what: &str) -> anyhow::Result<Option<Vec<u8>>>;

    /// The manifest `reference` names in `repository` (shown as `shown`), a tag looked up in
    /// the index, hashed against the digest that named it. An index listing a tag whose
    /// manifest blob is missing is refused (exit 6): the layout is incomplete.
    fn find_manifest(
        &self,
        repository: &str,
        reference: ManifestRef<'_>,
        shown: &str,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        let digest = match reference {
            ManifestRef::Digest(digest) => *digest,
            ManifestRef::Tag(tag) => match self
                .refs()?
                .iter()
                .find(|(r, t, _)| r == repository && t == tag)
            {
                Some((_, _, digest)) => *digest,
                None => return Ok(None),
            },
        };
        let Some(bytes) = self.manifest_blob(&digest, &format!("the manifest of {shown}"))? else {
            return match reference {
                ManifestRef::Digest(_) => Ok(None),
                ManifestRef::Tag(tag) => Err(missing_manifest(
                    &self.index_shown(),
                    repository,
                    tag,
                    &digest,
                )),
            };
        };
        store::expect_digest(shown, &bytes, &digest)?;
        Ok(Some(bytes))
    }
}

pub struct Layout {
    root: PathBuf,
    /// Serialises read-modify-write of `index.json` between packs pushed concurrently.
    index_lock: Mutex<()>,
    /// The name of the lock other runs take to write `index.json`; `None` for a temp layout
    /// only this run knows.
    shared: Option<String>,
}

impl Layout {
    /// Opens the layout at `root`; `create` makes it when missing (to publish into), else a
    /// folder without `index.json` is a usage error (to read from).
    pub fn open(root: &Path, create: bool) -> anyhow::Result<Self> {
        if !create {
            let layout = Self::at(root, None);
            if !layout.index_path().is_file() {
                return Err(Failure::err(
                    Code::Usage,
                    format!("{} is not an OCI layout (no index.json)", root.display()),
                ));
            }
            return Ok(layout);
        }
        fs::create_dir_all(root.join(BLOBS))
            .with_context(|| format!("cannot create the OCI layout at {}", root.display()))?;
        let real =
            fs::canonicalize(root).with_context(|| format!("cannot resolve {}", root.display()))?;
        Self::at(root, Some(format!("oci:{}", real.display()))).prepare()
    }

    /// A new layout in `root`, a temp folder no other run writes to.
    pub(super) fn private(root: &Path) -> anyhow::Result<Self> {
        fs::create_dir_all(root.join(BLOBS))
            .with_context(|| format!("cannot create the OCI layout at {}", root.display()))?;
        Self::at(root, None).prepare()
    }

    fn at(root: &Path, shared: Option<String>) -> Self {
        Self {
            root: root.to_path_buf(),
            index_lock: Mutex::new(()),
            shared,
        }
    }

    /// Refuses linked blob folders, then writes the marker and an empty index where missing
    /// (the index in turn: a run that found it missing must not empty another's).
    fn prepare(self) -> anyhow::Result<Self> {
        for folder in ["blobs", BLOBS] {
            let path = self.root.join(folder);
            if fs::symlink_metadata(&path)?.file_type().is_symlink() {
                let to = fs::read_link(&path).unwrap_or_default();
                return Err(Failure::err(
                    Code::VerifyFailed,
                    format!(
                        "{} is a symbolic link (to {}); packpub writes a layout's blobs only \
                         inside the layout. Replace the link with a folder (move the blobs in)",
                        path.display(),
                        to.display()
                    ),
                ));
            }
        }
        let marker = self.root.join("oci-layout");
        if !marker.exists() {
            atomic::write(&marker, MARKER, MODE)?;
        }
        {
            let _turn = self.turn()?;
            if !self.index_path().exists() {
                self.write_index(&empty_index())?;
            }
        }
        Ok(self)
    }

    /// This run's turn to rewrite `index.json`: first among its own threads, then among runs.
    fn turn(&self) -> anyhow::Result<(MutexGuard<'_, ()>, Option<crate::lock::Held>)> {
        let guard = self.index_lock.lock().unwrap_or_else(|e| e.into_inner());
        let held = match &self.shared {
            // Held for one read and one write of the index: too short to announce.
            Some(key) => Some(crate::lock::hold(key, || {})?),
            None => None,
        };
        Ok((guard, held))
    }

    fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    /// The folder every blob lies in.
    pub(super) fn blob_folder(&self) -> PathBuf {
        self.root.join(BLOBS)
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.blob_folder().join(digest.hex())
    }

    pub(super) fn read_index(&self) -> anyhow::Result<Value> {
        let path = self.index_path();
        let bytes = read_document(&path, &path.display().to_string())?
            .with_context(|| format!("cannot read {}: it is gone", path.display()))?;
        parse_index(&bytes, &path.display().to_string())
    }

    fn write_index(&self, index: &Value) -> anyhow::Result<()> {
        atomic::write(&self.index_path(), &serde_json::to_vec_pretty(index)?, MODE)
    }
}

impl Files for Layout {
    fn index_shown(&self) -> String {
        self.index_path().display().to_string()
    }

    fn refs(&self) -> anyhow::Result<Cow<'_, [Ref]>> {
        refs(&self.read_index()?, &self.index_shown()).map(Cow::Owned)
    }

    fn manifest_blob(&self, digest: &Digest, what: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let path = self.blob_path(digest);
        read_document(&path, &format!("{what} ({})", path.display()))
    }
}

/// An index that lists nothing yet.
pub(super) fn empty_index() -> Value {
    json!({"schemaVersion": 2, "manifests": []})
}

/// `index.json`'s bytes (`shown` names the file) as JSON; anything else is bad content (exit 6).
pub(super) fn parse_index(bytes: &[u8], shown: &str) -> anyhow::Result<Value> {
    serde_json::from_slice(bytes).map_err(|why| {
        Failure::err(
            Code::VerifyFailed,
            format!("{shown} is not valid JSON: {why}"),
        )
    })
}

/// Every manifest `index` (the file `shown`) lists under a ref name. A digest that is not
/// `sha256:` + 64 hex is refused (exit 6): it would name a file outside the layout.
pub(super) fn refs(index: &Value, shown: &str) -> anyhow::Result<Vec<Ref>> {
    let manifests = index["manifests"].as_array().map_or(&[][..], Vec::as_slice);
    manifests
        .iter()
        .filter_map(|m| {
            let name = m["annotations"][REF_NAME].as_str()?;
            let (repository, tag) = name.rsplit_once(':')?;
            Some((repository, tag, m["digest"].as_str().unwrap_or_default()))
        })
        .map(|(repository, tag, digest)| {
            let digest = Digest::parse(digest).map_err(|why| {
                Failure::err(
                    Code::VerifyFailed,
                    format!("{shown} lists {repository}:{tag} with a malformed digest: {why}"),
                )
            })?;
            Ok((repository.to_string(), tag.to_string(), digest))
        })
        .collect()
}

/// What names an index entry: its ref name, or for an image pinned by digest its repository
/// and digest. An entry of the same name is replaced.
pub(super) fn entry_key(entry: &Value) -> String {
    let annotations = &entry["annotations"];
    match annotations[REF_NAME].as_str() {
        Some(name) => name.to_string(),
        None => format!(
            "{}@{}",
            annotations[IMAGE_REPOSITORY].as_str().unwrap_or_default(),
            entry["digest"].as_str().unwrap_or_default()
        ),
    }
}

/// Lists `entry` (a descriptor with a ref name, or an image's) in `index`, replacing any entry
/// of that name.
pub(super) fn put_ref(index: &mut Value, entry: Value) {
    let key = entry_key(&entry);
    let mut list: Vec<Value> = index["manifests"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter(|m| entry_key(m) != key)
        .cloned()
        .collect();
    list.push(entry);
    index["manifests"] = Value::Array(list);
}

/// Every image `index` (the file `shown`) lists; a malformed digest is refused (exit 6).
pub(super) fn images(index: &Value, shown: &str) -> anyhow::Result<Vec<ImageEntry>> {
    let manifests = index["manifests"].as_array().map_or(&[][..], Vec::as_slice);
    manifests
        .iter()
        .filter_map(|m| {
            let annotations = &m["annotations"];
            let source = annotations[IMAGE_SOURCE].as_str()?;
            let repository = annotations[IMAGE_REPOSITORY].as_str()?;
            let tag = annotations[REF_NAME]
                .as_str()
                .and_then(|n| n.strip_prefix(repository)?.strip_prefix(':'));
            Some((
                source,
                repository,
                tag,
                m["digest"].as_str().unwrap_or_default(),
            ))
        })
        .map(|(source, repository, tag, digest)| {
            let digest = Digest::parse(digest).map_err(|why| {
                Failure::err(
                    Code::VerifyFailed,
                    format!("{shown} lists image {source} with a malformed digest: {why}"),
                )
            })?;
            Ok(ImageEntry {
                source: source.to_string(),
                repository: repository.to_string(),
                tag: tag.map(str::to_string),
                digest,
            })
        })
        .collect()
}

/// The index entry of `manifest` at `repository`: under `repository:tag` for a tag, and, for
/// an image, with the reference a pack names it by.
pub(super) fn index_entry(
    repository: &str,
    reference: ManifestRef<'_>,
    manifest: &[u8],
    image: Option<&str>,
) -> Option<Value> {
    let mut annotations = serde_json::Map::new();
    if let ManifestRef::Tag(tag) = reference {
        annotations.insert(REF_NAME.into(), format!("{repository}:{tag}").into());
    }
    if let Some(source) = image {
        annotations.insert(IMAGE_SOURCE.into(), source.into());
        annotations.insert(IMAGE_REPOSITORY.into(), repository.into());
    }
    (!annotations.is_empty()).then(|| {
        json!({
            "mediaType": manifest::media_type_of(manifest),
            "digest": Digest::of(manifest),
            "size": manifest.len(),
            "annotations": annotations,
        })
    })
}

/// The refusal of an index (`shown`) that lists `repository:tag` under a manifest it lacks
/// (exit 6): the layout or bundle is incomplete.
fn missing_manifest(shown: &str, repository: &str, tag: &str, digest: &Digest) -> anyhow::Error {
    Failure::err(
        Code::VerifyFailed,
        format!("{shown} lists {repository}:{tag}, but lacks its manifest blob {digest}"),
    )
}

/// Opens a file of the layout (or a bundle file) to read it, or `None` when it does not exist. Anything but a
/// regular file is refused (exit 6): a FIFO would block the read forever, and a link to
/// `/dev/zero` would never end.
pub(super) fn open_regular(path: &Path) -> anyhow::Result<Option<fs::File>> {
    let refuse = || {
        Failure::err(
            Code::VerifyFailed,
            format!(
                "{} is not a regular file (a device, FIFO or folder, or a link to one); refusing to read it",
                path.display()
            ),
        )
    };
    match fs::metadata(path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
        Ok(meta) if !meta.is_file() => return Err(refuse()),
        Ok(_) => {}
    }
    let file = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    // Again on what was opened: the path may have been swapped since.
    if !file.metadata()?.is_file() {
        return Err(refuse());
    }
    Ok(Some(file))
}

/// A manifest or the index (`what`), whole, or `None` when it does not exist: one over
/// [`MAX_MANIFEST_SIZE`] is refused by its size before any byte is read, and the read stops
/// past the limit for a file that grows meanwhile.
fn read_document(path: &Path, what: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let Some(file) = open_regular(path)? else {
        return Ok(None);
    };
    let size = file.metadata()?.len();
    let mut bytes = Vec::new();
    if size <= MAX_MANIFEST_SIZE {
        file.take(MAX_MANIFEST_SIZE + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    if size > MAX_MANIFEST_SIZE || bytes.len() as u64 > MAX_MANIFEST_SIZE {
        return Err(manifest::too_large(what));
    }
    Ok(Some(bytes))
}

#[async_trait::async_trait]
impl Store for Layout {
    fn locate(&self, repository: &str) -> String {
        format!("oci:{}:{repository}", self.root.display())
    }

    fn needs_base_path(&self) -> bool {
        false
    }

    async fn authorize_write(&self, _repository: &str) -> anyhow::Result<()> {
        Ok(())
    }

    async fn manifest(
        &self,
        repository: &str,
        reference: ManifestRef<'_>,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        self.find_manifest(repository, reference, &self.show(repository, reference))
    }

    async fn repository_exists(&self, repository: &str) -> anyhow::Result<bool> {
        Ok(self.refs()?.iter().any(|(r, _, _)| r == repository))
    }

    async fn blob_exists(&self, _repository: &str, digest: &Digest) -> anyhow::Result<bool> {
        Ok(self.blob_path(digest).is_file())
    }

    async fn fetch_blob(
        &self,
        _repository: &str,
        digest: &Digest,
        expected_size: u64,
        dest: &mut tokio::fs::File,
    ) -> anyhow::Result<u64> {
        let source = open_regular(&self.blob_path(digest))?
            .with_context(|| format!("the layout lacks blob {digest}"))?;
        let from = format!("the layout {}", self.root.display());
        store::copy_blob(
            tokio::fs::File::from_std(source),
            dest,
            digest,
            expected_size,
            &from,
        )
        .await
    }

    async fn repositories(&self, _page: usize) -> anyhow::Result<Vec<String>> {
        let mut repositories: Vec<String> =
            self.refs()?.iter().map(|(r, _, _)| r.clone()).collect();
        repositories.sort();
        repositories.dedup();
        Ok(repositories)
    }

    async fn tags(&self, repository: &str, _page: usize) -> anyhow::Result<Vec<String>> {
        Ok(self
            .refs()?
            .iter()
            .filter(|(r, _, _)| r == repository)
            .map(|(_, t, _)| t.clone())
            .collect())
    }

    async fn put_blob(
        &self,
        _repository: &str,
        digest: &Digest,
        blob: Blob<'_>,
        progress: Progress,
    ) -> anyhow::Result<()> {
        let target = self.blob_path(digest);
        tokio::task::block_in_place(|| match blob {
            Blob::Bytes(data) => atomic::write(&target, data, MODE),
            Blob::File { path, size } => {
                let mut file = AtomicFile::create(&target, MODE)?;
                let mut source = fs::File::open(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                std::io::copy(&mut crate::interrupt::Reader(&mut source), &mut file)?;
                progress(size);
                file.commit().map(drop)
            }
        })
    }

    /// By digest the manifest is only stored; by tag it is also listed in `index.json` under
    /// `repository:tag`, replacing any entry of that name.
    async fn put_manifest(
        &self,
        repository: &str,
        reference: ManifestRef<'_>,
        manifest: &[u8],
    ) -> anyhow::Result<()> {
        self.put_listed(repository, reference, manifest, None)
    }

    async fn put_image(
        &self,
        repository: &str,
        reference: ManifestRef<'_>,
        manifest: &[u8],
        source: &str,
    ) -> anyhow::Result<()> {
        self.put_listed(repository, reference, manifest, Some(source))
    }

    fn images(&self) -> anyhow::Result<Vec<ImageEntry>> {
        images(&self.read_index()?, &self.index_shown())
    }
}

impl Layout {
    /// Stores `manifest` and lists it in `index.json` when it has a name there (a tag, or an
    /// image's reference).
    fn put_listed(
        &self,
        repository: &str,
        reference: ManifestRef<'_>,
        manifest: &[u8],
        image: Option<&str>,
    ) -> anyhow::Result<()> {
        let target = self.blob_path(&Digest::of(manifest));
        tokio::task::block_in_place(|| {
            if !target.is_file() {
                atomic::write(&target, manifest, MODE)?;
            }
            let Some(entry) = index_entry(repository, reference, manifest, image) else {
                return Ok(());
            };
            let _turn = self.turn()?;
            let mut index = self.read_index()?;
            put_ref(&mut index, entry);
            self.write_index(&index)
        })
    }
}
