//! One interface for every place packs are published to or read from: a registry
//! ([`super::client::Registry`]), a local OCI layout ([`super::layout::Layout`]) and a
//! single-file bundle ([`super::archive::Archive`]). A verb is written once against
//! [`Store`]; copying between any two stores is a loop over it.
//!
//! Repositories are named relative to the target (`spectro-packs/archive/<name>`); a registry
//! adds its project prefix itself. Digests are [`Digest`]s, so nothing malformed reaches a path
//! or a URL.

use super::manifest::{self, EMPTY_CONFIG, ImageSpec};
use super::reference::BASE_PATH;
use crate::digest::Digest;
use crate::exit::{Code, Failure};
use crate::growing::Growing;
use crate::pack::PackName;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// Sees the number of bytes sent so far, for a progress bar.
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

/// A [`Progress`] nobody watches.
pub fn unwatched() -> Progress {
    Arc::new(|_| {})
}

/// The bytes several uploads at once have sent: each tells its own position (which goes back
/// when an upload starts over), `then` sees the sum.
#[derive(Clone)]
pub struct Tally {
    sum: Arc<AtomicU64>,
    then: Progress,
}

impl Tally {
    pub fn new(then: Progress) -> Self {
        Self {
            sum: Arc::default(),
            then,
        }
    }

    /// The [`Progress`] one upload reports to.
    pub fn upload(&self) -> Progress {
        let (sum, then, last) = (self.sum.clone(), self.then.clone(), AtomicU64::new(0));
        Arc::new(move |position| {
            let before = last.swap(position, Ordering::Relaxed);
            let now = if position >= before {
                sum.fetch_add(position - before, Ordering::Relaxed) + (position - before)
            } else {
                sum.fetch_sub(before - position, Ordering::Relaxed) - (before - position)
            };
            then(now);
        })
    }
}

/// How a manifest is addressed.
#[derive(Debug, Clone, Copy)]
pub enum ManifestRef<'a> {
    Tag(&'a str),
    Digest(&'a Digest),
}

/// Bytes to store as a blob: small ones in memory, archives streamed from a file.
#[derive(Debug, Clone, Copy)]
pub enum Blob<'a> {
    Bytes(&'a [u8]),
    File { path: &'a Path, size: u64 },
}

#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// How the user names `repository` here, e.g.
    /// `harbor.example.com/proj/spectro-packs/archive/hello` or
    /// `oci:./demo:spectro-packs/archive/hello`.
    fn locate(&self, repository: &str) -> String;

    /// How the user names `repository:tag` here.
    fn display(&self, repository: &str, tag: &str) -> String {
        format!("{}:{tag}", self.locate(repository))
    }

    /// How the user names manifest `reference` of `repository` here.
    fn show(&self, repository: &str, reference: ManifestRef<'_>) -> String {
        match reference {
            ManifestRef::Tag(tag) => self.display(repository, tag),
            ManifestRef::Digest(digest) => format!("{}@{digest}", self.locate(repository)),
        }
    }

    /// Whether Palette needs `spectro-packs/archive` to exist as a repository here.
    fn needs_base_path(&self) -> bool;

    /// Proves the right to write `repository` before anything is read or written (a wrong
    /// password fails here, with exit 4).
    async fn authorize_write(&self, repository: &str) -> anyhow::Result<()>;

    /// The manifest's bytes, or `None` when it does not exist.
    async fn manifest(
        &self,
        repository: &str,
        reference: ManifestRef<'_>,
    ) -> anyhow::Result<Option<Vec<u8>>>;

    /// Whether the repository exists (has tags to list).
    async fn repository_exists(&self, repository: &str) -> anyhow::Result<bool>;

    async fn blob_exists(&self, repository: &str, digest: &Digest) -> anyhow::Result<bool>;

    /// Streams blob `digest`, which its manifest declares `expected_size` bytes long, into
    /// `dest` ([`copy_blob`]); returns the bytes written, which hash to `digest` (else exit 6:
    /// `dest` then holds bytes that must not be used).
    async fn fetch_blob(
        &self,
        repository: &str,
        digest: &Digest,
        expected_size: u64,
        dest: &mut tokio::fs::File,
    ) -> anyhow::Result<u64>;

    /// Every repository below the target, `page` at a time where the store pages.
    async fn repositories(&self, page: usize) -> anyhow::Result<Vec<String>>;

    /// Every tag of `repository`; empty when it does not exist.
    async fn tags(&self, repository: &str, page: usize) -> anyhow::Result<Vec<String>>;

    /// Stores `blob`, whose digest the caller computed.
    async fn put_blob(
        &self,
        repository: &str,
        digest: &Digest,
        blob: Blob<'_>,
        progress: Progress,
    ) -> anyhow::Result<()>;

    /// Makes blob `digest`, which `from` (a repository of `source`, the same kind of store)
    /// holds, appear in `repository` without sending it: a registry's cross-repository mount.
    /// Whether it did; `false` where the store cannot, or `source` is another registry.
    async fn mount_blob(
        &self,
        _repository: &str,
        _digest: &Digest,
        _source: &dyn Store,
        _from: &str,
    ) -> anyhow::Result<bool> {
        Ok(false)
    }

    /// The registry (`host` and project prefix) a registry store is, to tell whether two
    /// stores are one registry; `None` for local stores.
    fn registry(&self) -> Option<(&str, &str)> {
        None
    }

    /// Stores the archive `growing` while it is written; returns its digest and size. A store
    /// that cannot take a blob before knowing its digest waits for the end.
    async fn put_growing_blob(
        &self,
        repository: &str,
        growing: &Growing,
        progress: Progress,
    ) -> anyhow::Result<(Digest, u64)> {
        let (digest, size) = growing.complete().await?;
        let blob = Blob::File {
            path: &growing.path,
            size,
        };
        self.put_blob(repository, &digest, blob, progress).await?;
        Ok((digest, size))
    }

    /// Stores a manifest whose blobs are all in place; by tag, this is what makes it visible.
    async fn put_manifest(
        &self,
        repository: &str,
        reference: ManifestRef<'_>,
        manifest: &[u8],
    ) -> anyhow::Result<()>;

    /// Stores `manifest` as image `source` (the reference as a pack writes it) at
    /// `repository`: a layout or bundle also lists it in its index under that name, so the
    /// image travels with it and is found again to restore and verify; a registry needs only
    /// the manifest.
    async fn put_image(
        &self,
        repository: &str,
        reference: ManifestRef<'_>,
        manifest: &[u8],
        _source: &str,
    ) -> anyhow::Result<()> {
        self.put_manifest(repository, reference, manifest).await
    }

    /// Whether `repository` holds `manifest` under `reference` as image `source`. A layout or
    /// bundle finds a manifest by its digest whichever repository asks, so the image must also
    /// be listed there under that name, or a restore would not find it (a Docker Hub name's
    /// second path, a digest another image has); a registry, whose repositories answer for
    /// themselves, overrides this.
    async fn holds_image(
        &self,
        repository: &str,
        reference: ManifestRef<'_>,
        manifest: &[u8],
        source: &str,
    ) -> anyhow::Result<bool> {
        if self.manifest(repository, reference).await?.as_deref() != Some(manifest) {
            return Ok(false);
        }
        let digest = Digest::of(manifest);
        Ok(self.images()?.iter().any(|e| {
            e.repository == repository
                && e.source == source
                && e.digest == digest
                && match reference {
                    ManifestRef::Tag(tag) => e.tag.as_deref() == Some(tag),
                    ManifestRef::Digest(_) => true,
                }
        }))
    }

    /// The images [`Store::put_image`] listed; a registry lists none (it does not know which
    /// repositories hold images).
    fn images(&self) -> anyhow::Result<Vec<ImageEntry>> {
        Ok(Vec::new())
    }

    /// Makes the run's writes visible, once every pack is pushed: a bundle is written whole,
    /// once, at the end; the other stores write as they go and have nothing left to do.
    async fn commit(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// An image a layout or bundle lists: the reference a pack named it by, where it is (relative
/// to the store) and how (a tag, or only its digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageEntry {
    pub source: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Digest,
}

impl ImageEntry {
    pub fn reference(&self) -> ManifestRef<'_> {
        match &self.tag {
            Some(tag) => ManifestRef::Tag(tag),
            None => ManifestRef::Digest(&self.digest),
        }
    }
}

/// Copies blob `digest` from `source` (`from` names the store) into `dest`: exactly the
/// `expected` bytes its manifest declares, hashed on the way. It fails (exit 6) as soon as
/// `source` offers a byte more, so a lying store cannot fill the disk, when it ends short, and
/// when what arrived is not `digest`; nothing past `expected` is written.
pub async fn copy_blob(
    mut source: impl AsyncRead + Unpin,
    dest: &mut tokio::fs::File,
    digest: &Digest,
    expected: u64,
    from: &str,
) -> anyhow::Result<u64> {
    let mut buffer = vec![0; 256 * 1024];
    let mut written = 0;
    let mut hasher = crate::digest::HashingWriter::new(std::io::sink());
    loop {
        // One byte past the declared end is asked for, to notice a source that has more.
        let room = (expected - written + 1).min(buffer.len() as u64) as usize;
        let read = source.read(&mut buffer[..room]).await.map_err(|err| {
            let what = format!(
                "reading {digest} from {from} broke off after {written} of {expected} bytes"
            );
            // Too slow is the server's doing, as an unreachable one is (exit 7), not bad content.
            match err.kind() {
                std::io::ErrorKind::TimedOut => {
                    Failure::err(Code::Unreachable, format!("{what}: {err}"))
                }
                _ => anyhow::Error::new(err).context(what),
            }
        })?;
        if read == 0 {
            break;
        }
        crate::interrupt::check()?;
        if written + read as u64 > expected {
            return Err(Failure::err(
                Code::VerifyFailed,
                format!(
                    "{digest} from {from} is longer than the {expected} bytes its manifest \
                     declares; stopped there"
                ),
            ));
        }
        dest.write_all(&buffer[..read]).await?;
        std::io::Write::write_all(&mut hasher, &buffer[..read])?;
        written += read as u64;
    }
    if written < expected {
        return Err(Failure::err(
            Code::VerifyFailed,
            format!(
                "{digest} from {from} ended after {written} of the {expected} bytes its \
                 manifest declares"
            ),
        ));
    }
    dest.flush().await?;
    let (actual, _, _) = hasher.finish();
    if actual != *digest {
        return Err(Failure::err(
            Code::VerifyFailed,
            format!(
                "the blob's sha256 is {actual}, not the digest its manifest says, {digest} \
                 (read from {from})"
            ),
        ));
    }
    Ok(written)
}

/// Refuses a manifest (`shown`) whose bytes do not hash to `expected`, the digest it was read
/// by or that its store named for it (exit 6).
pub fn expect_digest(shown: &str, bytes: &[u8], expected: &Digest) -> anyhow::Result<()> {
    let actual = Digest::of(bytes);
    if actual == *expected {
        return Ok(());
    }
    Err(Failure::err(
        Code::VerifyFailed,
        format!("{shown}: the manifest read is {actual}, not {expected}"),
    ))
}

/// `spectro-packs/archive/<name>`: the one repository a pack is published in.
pub fn pack_repository(name: &PackName) -> String {
    format!("{BASE_PATH}/{name}")
}

/// Stores the blob unless the store has it; returns whether it was sent.
pub async fn put_blob_once(
    store: &dyn Store,
    repository: &str,
    digest: &Digest,
    blob: Blob<'_>,
    progress: Progress,
) -> anyhow::Result<bool> {
    if store.blob_exists(repository, digest).await? {
        return Ok(false);
    }
    store.put_blob(repository, digest, blob, progress).await?;
    Ok(true)
}

/// Whether `spectro-packs/archive` exists: it has tags, or holds the empty manifest packpub (or
/// any ORAS-shaped tool using the same fixed time) pushes to create it, or, with
/// `look_in_catalog`, the catalog lists it (`oras push` with no file leaves an untagged
/// manifest with another time, which only the catalog shows).
pub async fn base_path_exists(store: &dyn Store, look_in_catalog: bool) -> anyhow::Result<bool> {
    if store.repository_exists(BASE_PATH).await? {
        return Ok(true);
    }
    for spec in [ImageSpec::V1_0, ImageSpec::V1_1] {
        let digest = Digest::of(&manifest::base_manifest(spec));
        if store
            .manifest(BASE_PATH, ManifestRef::Digest(&digest))
            .await?
            .is_some()
        {
            return Ok(true);
        }
    }
    Ok(look_in_catalog
        && store
            .repositories(1000)
            .await
            .is_ok_and(|repos| repos.iter().any(|r| r == BASE_PATH)))
}

/// Creates `spectro-packs/archive` the way `oras push` with no file does (an empty manifest
/// pushed by digest), unless it is there already. Returns the manifest's digest when it
/// created it.
pub async fn ensure_base_path(
    store: &dyn Store,
    spec: ImageSpec,
) -> anyhow::Result<Option<Digest>> {
    if !store.needs_base_path() || base_path_exists(store, false).await? {
        return Ok(None);
    }
    let empty = manifest::base_manifest(spec);
    let digest = Digest::of(&empty);
    put_blob_once(
        store,
        BASE_PATH,
        &Digest::of(EMPTY_CONFIG),
        Blob::Bytes(EMPTY_CONFIG),
        unwatched(),
    )
    .await?;
    store
        .put_manifest(BASE_PATH, ManifestRef::Digest(&digest), &empty)
        .await?;
    Ok(Some(digest))
}
