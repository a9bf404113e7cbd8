//! Container images between stores, for air-gapped sites (`--with-images`): where an image goes
//! (the image base path, keeping its host as a path segment, as Palette's image-swap webhook
//! and `mirrorRegistries` expect: [`Placement`]), and copying one byte for byte, every
//! manifest of an index with it, so digest-pinned references and signatures still hold
//! ([`Copier`]). Blobs are skipped where the destination has them, mounted within one
//! registry, fetched once however many images share them, and streamed through temp files, so
//! memory stays flat whatever the image size. Every manifest is hashed against the digest that
//! named it and every blob against its descriptor before anything is written; the tag (or the
//! digest the pack pins) is written last, so an interrupted copy leaves no half image named.

use super::manifest::{self, Kind, MAX_MANIFEST_SIZE};
use super::store::{self, Blob, ManifestRef, Progress, Store, Tally};
use crate::digest::Digest;
use crate::exit::{Code, Failure};
use crate::image_ref::{ImageRef, Pin};
use futures_util::{StreamExt, TryStreamExt};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// Where Palette's docs put images: `<registry>/spectro-images/<host>/<path>`.
pub const DEFAULT_BASE: &str = "spectro-images";

/// The hosts Palette's documented `mirrorRegistries` placeholder maps; images from any other
/// host are pulled from it unless the site adds a line.
pub const DEFAULT_MIRRORED: &[&str] = &[
    "docker.io",
    "gcr.io",
    "ghcr.io",
    "k8s.gcr.io",
    "registry.k8s.io",
    "quay.io",
    "us-docker.pkg.dev",
];

/// Blobs of one manifest fetched at once.
const BLOBS_AT_ONCE: usize = 4;

/// Index nesting followed at most (an index of indexes is legal, a loop of them is not
/// possible by digest, but depth is still bounded).
const MAX_DEPTH: usize = 4;

/// Children of one index followed at most.
const MAX_CHILDREN: usize = 1_000;

/// Where images go in the destination, relative to it: `<base>/<host>/<path>`, or where the
/// site's map sends a host, read as the image-swap webhook Palette ships reads it (ISW v1.5.3
/// `swap_image`: shared/airgap.md 1.6): a host's entry replaces the host, `default` replaces
/// any host without one, `docker.io/library` takes single names (`nginx:1.25`), an entry with
/// no destination leaves a host's images unswapped, and the last entry for a key wins.
#[derive(Debug, Clone)]
pub struct Placement {
    base: String,
    /// Key (a host, `default` or `docker.io/library`) → destination-relative path standing for
    /// it; `None` where the site does not swap it.
    map: Vec<(String, Option<String>)>,
}

/// The webhook's key for hosts the map does not name.
const DEFAULT_KEY: &str = "default";
/// The webhook's key for Docker Hub single names written without a host.
const LIBRARY_KEY: &str = "docker.io/library";

impl Placement {
    /// `base` relative to the destination; `map` the site's `KEY::DEST` entries, each `DEST`
    /// already made relative to the destination. Neither may lead into the packs' base path,
    /// where an image's tag would overwrite a pack version.
    pub fn new(base: &str, map: Vec<(String, Option<String>)>) -> Result<Self, String> {
        let base = base.trim_matches('/');
        check_path(base)
            .and_then(|()| outside_packs(base))
            .map_err(|why| format!("--image-base {base:?} {why}"))?;
        for (key, dest) in &map {
            if let Some(dest) = dest {
                check_path(dest)
                    .and_then(|()| outside_packs(dest))
                    .map_err(|why| format!("the image map's entry for {key} {why}"))?;
            }
        }
        Ok(Self {
            base: base.to_string(),
            map,
        })
    }

    /// The map's entry for `key`: the last one, as the webhook keeps it.
    fn entry(&self, key: &str) -> Option<&Option<String>> {
        self.map
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, d)| d)
    }

    /// The destination-relative path standing for `host`, `None` where the site's map leaves
    /// its images unswapped, or why there is none (a host with a port or capitals cannot be a
    /// path segment).
    pub fn host_path(&self, host: &str) -> Result<Option<String>, String> {
        // The webhook tries the host with its port, then without it.
        let entry = self.entry(host).or_else(|| {
            let (bare, _) = host.split_once(':')?;
            self.entry(bare)
        });
        if let Some(dest) = entry.or_else(|| self.entry(DEFAULT_KEY)) {
            return Ok(dest.clone());
        }
        if host.contains(':') || host.chars().any(|c| c.is_ascii_uppercase()) {
            let segment = host.to_ascii_lowercase().replace(':', "-");
            let why = if host.contains(':') {
                "has a port"
            } else {
                "has capital letters"
            };
            // ISW tells a host by its dot: `localhost:5000/app` is a Docker Hub name to it.
            let unswappable = if host.contains('.') {
                ""
            } else {
                "; Palette's image swap reads a host without a dot as part of a Docker Hub \
                 name, so clusters reach this one only through a containerd mirror"
            };
            return Err(format!(
                "its host {host} {why}, which a repository path segment cannot hold: add \
                 `{host}::<registry>/{}/{segment}` to --image-map (and to the site's \
                 mirrorRegistries){unswappable}",
                self.base
            ));
        }
        Ok(Some(join(&self.base, host)))
    }

    /// Every destination-relative repository `image` must be at: as the webhook rewrites it
    /// and, for a Docker Hub single name, under `library/` too (containerd and skopeo ask for
    /// it). Empty when the site's map swaps none of them.
    pub fn repositories(&self, image: &ImageRef) -> Result<Vec<String>, String> {
        let host = self.host_path(image.host())?;
        let paths = image.paths();
        let mut placed = Vec::new();
        for (n, path) in paths.iter().enumerate() {
            let prefix = match self.entry(LIBRARY_KEY) {
                Some(library) if n == 0 && image.is_single_name() => library,
                _ => &host,
            };
            if let Some(prefix) = prefix {
                placed.push(join(prefix, path));
            }
        }
        Ok(placed)
    }

    /// Whether `repository`, where a bundle says it holds `image`, may be written to as it
    /// is: a repository path ending in one of the image's paths, outside the packs' base path.
    /// A bundle is hostile until proven otherwise: a name it chose must not land an image on
    /// a pack's repository or outside the image's own place.
    pub fn keeps_bundle_name(repository: &str, image: &ImageRef) -> bool {
        check_path(repository).is_ok()
            && outside_packs(repository).is_ok()
            && image
                .paths()
                .iter()
                .any(|p| repository.ends_with(&format!("/{p}")))
    }

    /// The `mirrorRegistries` entry for `host`, the destination shown as `root` (the registry
    /// and project prefix); none where the host's images stay unswapped.
    pub fn mirror_entry(&self, host: &str, root: &str) -> Option<String> {
        let path = self.host_path(host).ok()??;
        Some(format!("{host}::{}", join(root, &path)))
    }
}

/// Refuses a path inside the packs' base path (`spectro-packs/archive`).
fn outside_packs(path: &str) -> Result<(), String> {
    let base = super::reference::BASE_PATH;
    if path == base || path.starts_with(&format!("{base}/")) {
        return Err(format!(
            "lies inside {base}, where packs are published: an image there could overwrite a \
             pack version"
        ));
    }
    Ok(())
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}/{b}"),
    }
}

/// A destination-relative path: lower-case segments a repository name may hold.
fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Ok(());
    }
    for segment in path.split('/') {
        let ok = !segment.is_empty()
            && segment
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            && segment.starts_with(|c: char| c.is_ascii_alphanumeric());
        if !ok {
            return Err(format!(
                "has the segment {segment:?}: repository paths are lower-case letters, digits \
                 and . _ -"
            ));
        }
    }
    Ok(())
}

/// A platform to keep of an index: `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split('/').collect();
        let ok = |s: &&str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Self {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, variant] if ok(os) && ok(arch) && ok(variant) => Ok(Self {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: Some(variant.to_string()),
            }),
            _ => Err(format!(
                "{text:?} is not OS/ARCH[/VARIANT], e.g. linux/amd64"
            )),
        }
    }

    fn matches(&self, descriptor: &Value) -> bool {
        let p = &descriptor["platform"];
        p["os"].as_str() == Some(&self.os)
            && p["architecture"].as_str() == Some(&self.architecture)
            && (self.variant.is_none() || p["variant"].as_str() == self.variant.as_deref())
    }
}

/// `--image-source HOST=MIRROR`: HOST's images read through MIRROR (regsync's "hostname"),
/// e.g. a pull-through cache or an internal copy of the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    pub host: String,
    /// The mirror's host (and port) and the path prefix its copies sit under.
    pub mirror: String,
    pub prefix: String,
    /// `http://` was written: plain HTTP to the mirror.
    pub plain_http: bool,
}

impl Mirror {
    pub fn parse(text: &str) -> Result<Self, String> {
        let form = "HOST=[http://]MIRROR[:PORT][/PREFIX], e.g. quay.io=mirror.internal:5000/quay";
        let (host, mirror) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?} is not {form}"))?;
        let host = crate::image_ref::ImageRef::parse(&format!("{host}/x"))
            .ok()
            .filter(|r| r.host() == host || host == "index.docker.io")
            .map(|r| r.host().to_string())
            .ok_or_else(|| format!("{host:?} is not a registry host ({form})"))?;
        let (plain_http, rest) = match mirror.strip_prefix("http://") {
            Some(rest) => (true, rest),
            None => (false, mirror.strip_prefix("https://").unwrap_or(mirror)),
        };
        let (mirror, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_end_matches('/');
        if mirror.is_empty() || mirror.contains(['@', '?', '#']) {
            return Err(format!("{text:?}: the mirror is not {form}"));
        }
        check_path(prefix).map_err(|why| format!("{text:?}: the mirror's path {why}"))?;
        Ok(Self {
            host,
            mirror: mirror.to_string(),
            prefix: prefix.to_string(),
            plain_http,
        })
    }
}

/// What `--with-images` is told: where images go and where they are read.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Copy the images packs list, reading them from their registries.
    pub with_images: bool,
    /// `None`: [`DEFAULT_BASE`], or restoring a bundle, the names it holds.
    pub base: Option<String>,
    /// The site's `mirrorRegistries` entries, in a file.
    pub map: Option<std::path::PathBuf>,
    pub mirrors: Vec<Mirror>,
    pub platform: Option<Platform>,
}

/// The site's map (`mirrorRegistries`' `HOST::REGISTRY/PATH` entries, separated by commas or
/// lines, `#` starting a comment; `default::` and `docker.io/library::` as the webhook reads
/// them) as destination-relative paths: a `REGISTRY/PATH` must lie under the destination `root`
/// (`host[/prefix]`; for a bundle, `None`, only relative paths make sense). An entry with no
/// destination (`quay.io::`) leaves the host unswapped (`None`). A Harbor proxy-cache endpoint's
/// `/v2` after the registry is dropped: the repositories are below it. `[EXACT]`/`[REPLACE]`
/// entries rewrite single images and a destination ending in `-` prefixes names: neither places
/// a host, and both are refused; `noswap_wildcards` names images the site pulls unswapped,
/// which a copy may carry anyway, so it is passed over.
pub fn parse_map(text: &str, root: Option<&str>) -> Result<Vec<(String, Option<String>)>, String> {
    let mut map = Vec::new();
    let entries = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.starts_with("noswap_wildcards::"))
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty());
    for entry in entries {
        let (key, dest) = entry
            .split_once("::")
            .ok_or_else(|| format!("{entry:?} is not HOST::REGISTRY/PATH"))?;
        let key = key.trim();
        if key.starts_with('[') {
            return Err(format!(
                "{entry:?}: [EXACT] and [REPLACE] entries rewrite single images; packpub \
                 places images by host (HOST::REGISTRY/PATH)"
            ));
        }
        let dest = dest.trim().trim_end_matches('/');
        if dest.is_empty() {
            map.push((key.to_string(), None));
            continue;
        }
        if dest.ends_with('-') {
            return Err(format!(
                "{entry:?}: a destination ending in '-' prefixes image names (the webhook's \
                 prefix form); packpub places images by host (HOST::REGISTRY/PATH)"
            ));
        }
        let dest = match dest.split_once("/v2/") {
            Some((host, rest)) if !host.contains('/') => format!("{host}/{rest}"),
            _ => dest.to_string(),
        };
        let relative = match root {
            Some(root) => {
                if dest == root {
                    String::new()
                } else if let Some(rest) = dest.strip_prefix(&format!("{root}/")) {
                    rest.to_string()
                } else if looks_like_host(&dest) {
                    return Err(format!(
                        "{entry:?} sends {key} to {dest}, which is not under the destination \
                         {root}"
                    ));
                } else {
                    dest
                }
            }
            None if looks_like_host(&dest) => {
                return Err(format!(
                    "{entry:?}: a bundle has no registry yet; write the path under the \
                     registry it will be restored to ({key}::PATH)"
                ));
            }
            None => dest,
        };
        map.push((key.to_string(), Some(relative)));
    }
    Ok(map)
}

/// Whether a map destination starts with a registry host (`.`, `:` or `localhost` in its first
/// segment, as references tell hosts).
fn looks_like_host(dest: &str) -> bool {
    let first = dest.split('/').next().unwrap_or_default();
    first.contains('.') || first.contains(':') || first == "localhost"
}

/// How one image fared at one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Copied {
    Copied,
    /// The destination had the same manifest there already.
    Unchanged,
}

/// Copies images into one destination store; shared by every image of a run, so a blob two
/// images share is fetched once.
pub struct Copier<'a> {
    dst: &'a dyn Store,
    platform: Option<Platform>,
    /// Each blob this run put at the destination: the repository it went to first (to mount
    /// from), settled once its upload is done; concurrent copies of one blob wait for it.
    placed: Mutex<HashMap<Digest, Arc<OnceCell<String>>>>,
}

/// Where an image is read from: its store, the repository there, how it is shown.
pub struct Source<'a> {
    pub store: &'a dyn Store,
    pub repository: String,
}

impl<'a> Copier<'a> {
    pub fn new(dst: &'a dyn Store, platform: Option<Platform>) -> Self {
        Self {
            dst,
            platform,
            placed: Mutex::new(HashMap::new()),
        }
    }

    /// Copies `image` from `source` to each of `repositories` at the destination (by the
    /// digest the image pins, else by its tag). Returns the digest written and whether the
    /// first repository had it already. Any manifest or blob that does not match its digest
    /// or size fails the copy (exit 6) before the image is named at the destination. `sent`
    /// counts the bytes uploaded.
    pub async fn copy(
        &self,
        source: &Source<'_>,
        image: &ImageRef,
        repositories: &[String],
        sent: &Tally,
    ) -> anyhow::Result<(Digest, Copied)> {
        let (src, from) = (source.store, source.repository.as_str());
        let reference = match image.pin() {
            Pin::Tag(tag) => ManifestRef::Tag(tag),
            Pin::Digest(digest) => ManifestRef::Digest(digest),
        };
        let shown = src.show(from, reference);
        let mut top = src
            .manifest(from, reference)
            .await?
            .ok_or_else(|| Failure::err(Code::VerifyFailed, format!("{shown} does not exist")))?;
        if let ManifestRef::Digest(digest) = reference {
            store::expect_digest(&shown, &top, digest)?;
        }
        if let (Some(platform), ManifestRef::Tag(_)) = (&self.platform, reference) {
            top = self.pick_platform(src, from, &shown, top, platform).await?;
        }
        let digest = Digest::of(&top);
        let mut status = Copied::Copied;
        let source = image.to_string();
        for (n, repository) in repositories.iter().enumerate() {
            if self
                .dst
                .holds_image(repository, reference, &top, &source)
                .await?
            {
                if n == 0 {
                    status = Copied::Unchanged;
                }
                continue;
            }
            self.tree((src, from), &top, repository, sent, 0).await?;
            self.dst
                .put_image(repository, reference, &top, &source)
                .await?;
        }
        Ok((digest, status))
    }

    /// With `--platform`: of an index, the manifest for the platform (its digest differs from
    /// the index's; the caller was warned).
    async fn pick_platform(
        &self,
        src: &dyn Store,
        from: &str,
        shown: &str,
        top: Vec<u8>,
        platform: &Platform,
    ) -> anyhow::Result<Vec<u8>> {
        let doc = parse(&top, shown)?;
        if !matches!(kind(&doc, shown)?, Kind::Index(_)) {
            return Ok(top);
        }
        let child = children(&doc, shown)?
            .into_iter()
            .find(|(_, _, d)| platform.matches(d))
            .ok_or_else(|| {
                Failure::err(
                    Code::VerifyFailed,
                    format!(
                        "{shown} has no manifest for {}/{}",
                        platform.os, platform.architecture
                    ),
                )
            })?;
        fetch_manifest(src, from, &child.0, child.1).await
    }

    /// Everything `bytes` (a manifest or index in `from`) names, put at `repository`: an
    /// index's manifests by digest after their own blobs, a manifest's config and layers.
    fn tree<'b>(
        &'b self,
        (src, from): (&'b dyn Store, &'b str),
        bytes: &'b [u8],
        repository: &'b str,
        sent: &'b Tally,
        depth: usize,
    ) -> futures_util::future::BoxFuture<'b, anyhow::Result<()>> {
        Box::pin(async move {
            let shown = src.show(from, ManifestRef::Digest(&Digest::of(bytes)));
            let doc = parse(bytes, &shown)?;
            match kind(&doc, &shown)? {
                Kind::Index(_) => {
                    if depth >= MAX_DEPTH {
                        return Err(Failure::err(
                            Code::VerifyFailed,
                            format!("{shown} nests indexes deeper than {MAX_DEPTH}"),
                        ));
                    }
                    for (digest, size, _) in children(&doc, &shown)? {
                        // A manifest the destination holds has its blobs there (a registry
                        // refuses one without them; a layout is written blobs first).
                        let here = ManifestRef::Digest(&digest);
                        if self.dst.manifest(repository, here).await?.is_some() {
                            continue;
                        }
                        let child = fetch_manifest(src, from, &digest, size).await?;
                        self.tree((src, from), &child, repository, sent, depth + 1)
                            .await?;
                        self.dst.put_manifest(repository, here, &child).await?;
                    }
                }
                Kind::Manifest(_) => {
                    futures_util::stream::iter(blobs(&doc, &shown)?)
                        .map(|(digest, size)| {
                            self.blob((src, from), (digest, size), repository, sent)
                        })
                        .buffer_unordered(BLOBS_AT_ONCE)
                        .try_collect::<Vec<()>>()
                        .await?;
                }
            }
            Ok(())
        })
    }

    /// One blob into `repository`: there already, mounted from where this run put it (or
    /// from the source, within one registry), or fetched, checked and sent once.
    async fn blob(
        &self,
        (src, from): (&dyn Store, &str),
        (digest, size): (Digest, u64),
        repository: &str,
        sent: &Tally,
    ) -> anyhow::Result<()> {
        let dst = self.dst;
        if dst.blob_exists(repository, &digest).await?
            || dst.mount_blob(repository, &digest, src, from).await?
        {
            return Ok(());
        }
        let cell = self
            .placed
            .lock()
            .expect("placed blobs")
            .entry(digest)
            .or_default()
            .clone();
        let first = cell
            .get_or_try_init(|| async {
                send(
                    (src, from),
                    (&digest, size),
                    (dst, repository),
                    sent.upload(),
                )
                .await?;
                anyhow::Ok(repository.to_string())
            })
            .await?;
        if first == repository || dst.mount_blob(repository, &digest, dst, first).await? {
            return Ok(());
        }
        send(
            (src, from),
            (&digest, size),
            (dst, repository),
            sent.upload(),
        )
        .await
    }
}

/// Fetches blob `digest` of `size` bytes from `from` in `src` into a temp file, checks it, and
/// sends it to `repository` in `dst`; `progress` sees the bytes sent.
pub async fn send(
    (src, from): (&dyn Store, &str),
    (digest, size): (&Digest, u64),
    (dst, repository): (&dyn Store, &str),
    progress: Progress,
) -> anyhow::Result<()> {
    let temp = fetch_checked(src, from, digest, size).await?;
    let blob = Blob::File {
        path: temp.path(),
        size,
    };
    dst.put_blob(repository, digest, blob, progress).await
}

/// Blob `digest` of `from` in `src`, exactly `size` bytes that hash to it, in a temp file.
pub async fn fetch_checked(
    src: &dyn Store,
    from: &str,
    digest: &Digest,
    size: u64,
) -> anyhow::Result<tempfile::NamedTempFile> {
    let temp = tempfile::Builder::new()
        .prefix(".packpub-blob-")
        .tempfile()
        .map_err(|e| anyhow::anyhow!("cannot create a temp file for a blob: {e}"))?;
    let mut file = tokio::fs::File::create(temp.path()).await?;
    // The store hashes what it streams and refuses what is not `digest` (exit 6).
    src.fetch_blob(from, digest, size, &mut file).await?;
    Ok(temp)
}

/// Checks everything image `reference` of `repository` in `store` names: every manifest
/// against its digest, every blob against its digest and size (exit 6 at the first that
/// differs). Returns the top manifest's digest.
pub async fn verify(
    store: &dyn Store,
    repository: &str,
    reference: ManifestRef<'_>,
) -> anyhow::Result<Digest> {
    let shown = store.show(repository, reference);
    let top = store
        .manifest(repository, reference)
        .await?
        .ok_or_else(|| Failure::err(Code::VerifyFailed, format!("{shown} does not exist")))?;
    verify_tree(store, repository, &top, 0).await?;
    Ok(Digest::of(&top))
}

fn verify_tree<'b>(
    store: &'b dyn Store,
    repository: &'b str,
    bytes: &'b [u8],
    depth: usize,
) -> futures_util::future::BoxFuture<'b, anyhow::Result<()>> {
    Box::pin(async move {
        let shown = store.show(repository, ManifestRef::Digest(&Digest::of(bytes)));
        let doc = parse(bytes, &shown)?;
        match kind(&doc, &shown)? {
            Kind::Index(_) if depth < MAX_DEPTH => {
                for (digest, size, _) in children(&doc, &shown)? {
                    let child = fetch_manifest(store, repository, &digest, size).await?;
                    verify_tree(store, repository, &child, depth + 1).await?;
                }
            }
            Kind::Index(_) => {
                return Err(Failure::err(
                    Code::VerifyFailed,
                    format!("{shown} nests indexes deeper than {MAX_DEPTH}"),
                ));
            }
            Kind::Manifest(_) => {
                for (digest, size) in blobs(&doc, &shown)? {
                    fetch_checked(store, repository, &digest, size).await?;
                }
            }
        }
        Ok(())
    })
}

/// Manifest `digest` (declared `size` bytes) of `from`, checked against both.
async fn fetch_manifest(
    src: &dyn Store,
    from: &str,
    digest: &Digest,
    size: u64,
) -> anyhow::Result<Vec<u8>> {
    let reference = ManifestRef::Digest(digest);
    let shown = src.show(from, reference);
    let bytes = src
        .manifest(from, reference)
        .await?
        .ok_or_else(|| Failure::err(Code::VerifyFailed, format!("{shown} does not exist")))?;
    store::expect_digest(&shown, &bytes, digest)?;
    if bytes.len() as u64 != size {
        return Err(Failure::err(
            Code::VerifyFailed,
            format!(
                "{shown} is {} bytes, not the {size} its index declares",
                bytes.len()
            ),
        ));
    }
    Ok(bytes)
}

fn bad(shown: &str, why: impl std::fmt::Display) -> anyhow::Error {
    Failure::err(Code::VerifyFailed, format!("{shown}: {why}"))
}

fn parse(bytes: &[u8], shown: &str) -> anyhow::Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| bad(shown, format!("not JSON: {e}")))
}

fn kind(doc: &Value, shown: &str) -> anyhow::Result<Kind> {
    manifest::kind_of(doc).map_err(|why| bad(shown, format!("{why}, not an image")))
}

/// A descriptor's digest and size, checked: a manifest's size within what is read of one.
fn descriptor(d: &Value, shown: &str, cap: Option<u64>) -> anyhow::Result<(Digest, u64)> {
    let digest = d["digest"]
        .as_str()
        .ok_or_else(|| bad(shown, "a descriptor without a digest"))
        .and_then(|t| Digest::parse(t).map_err(|why| bad(shown, format!("a digest {why}"))))?;
    let size = d["size"]
        .as_u64()
        .ok_or_else(|| bad(shown, format!("{digest} declares no size")))?;
    if cap.is_some_and(|cap| size > cap) {
        return Err(manifest::too_large(&format!("{shown}'s manifest {digest}")));
    }
    Ok((digest, size))
}

/// An index's manifests: digest, size and descriptor.
fn children(doc: &Value, shown: &str) -> anyhow::Result<Vec<(Digest, u64, Value)>> {
    let list = doc["manifests"].as_array().map_or(&[][..], Vec::as_slice);
    if list.len() > MAX_CHILDREN {
        return Err(bad(shown, format!("lists over {MAX_CHILDREN} manifests")));
    }
    list.iter()
        .map(|d| {
            let (digest, size) = descriptor(d, shown, Some(MAX_MANIFEST_SIZE))?;
            Ok((digest, size, d.clone()))
        })
        .collect()
}

/// A manifest's config and layers, each once. Layers a registry may not serve ("foreign" or
/// non-distributable, with `urls` to fetch them elsewhere) are left where they are, as every
/// copying tool leaves them.
fn blobs(doc: &Value, shown: &str) -> anyhow::Result<Vec<(Digest, u64)>> {
    let mut out: Vec<(Digest, u64)> = Vec::new();
    let layers = doc["layers"].as_array().map_or(&[][..], Vec::as_slice);
    for d in std::iter::once(&doc["config"]).chain(layers) {
        if d.is_null() {
            continue;
        }
        let foreign = d["urls"].is_array()
            || d["mediaType"]
                .as_str()
                .is_some_and(|t| t.contains("foreign") || t.contains("nondistributable"));
        if foreign {
            continue;
        }
        let blob = descriptor(d, shown, None)?;
        if !out.iter().any(|(d, _)| *d == blob.0) {
            out.push(blob);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_keep_their_host_under_the_base() {
        let p = Placement::new("spectro-images", Vec::new()).unwrap();
        let repos = |r: &str| p.repositories(&ImageRef::parse(r).unwrap());
        assert_eq!(
            repos("quay.io/org/img:1").unwrap(),
            ["spectro-images/quay.io/org/img"]
        );
        assert_eq!(
            repos("nginx:1.25").unwrap(),
            [
                "spectro-images/docker.io/nginx",
                "spectro-images/docker.io/library/nginx"
            ]
        );
        assert_eq!(
            repos("bitnami/nginx:1").unwrap(),
            ["spectro-images/docker.io/bitnami/nginx"]
        );
        let port = repos("reg.local:5000/app:1").unwrap_err();
        assert!(port.contains("--image-map"), "{port}");
        let capitals = repos("Quay.io/app:1").unwrap_err();
        assert!(capitals.contains("capital"), "{capitals}");
        let dotless = repos("localhost:5000/app:1").unwrap_err();
        assert!(dotless.contains("without a dot"), "{dotless}");
        assert!(!port.contains("without a dot"), "{port}");
        assert_eq!(
            p.mirror_entry("quay.io", "harbor.example.com/proj")
                .unwrap(),
            "quay.io::harbor.example.com/proj/spectro-images/quay.io"
        );
    }

    fn placement(base: &str, map: &[(&str, Option<&str>)]) -> Placement {
        let map = map
            .iter()
            .map(|(k, d)| (k.to_string(), d.map(str::to_string)))
            .collect();
        Placement::new(base, map).unwrap()
    }

    fn placed(p: &Placement, reference: &str) -> Vec<String> {
        p.repositories(&ImageRef::parse(reference).unwrap())
            .unwrap()
    }

    #[test]
    fn the_sites_map_decides_where_its_hosts_go() {
        let p = placement(
            "/spectro-images/",
            &[
                ("reg.local:5000", Some("mirror/reg-local")),
                ("gcr.io", Some("old")),
                ("gcr.io", Some("airgap-images/gcr")),
                ("other.io", Some("o")),
            ],
        );
        assert_eq!(placed(&p, "reg.local:5000/app:1"), ["mirror/reg-local/app"]);
        // The last entry for a key wins, as the webhook keeps it.
        assert_eq!(placed(&p, "gcr.io/x/y:1"), ["airgap-images/gcr/x/y"]);
        assert_eq!(placed(&p, "quay.io/x:1"), ["spectro-images/quay.io/x"]);
        // The webhook tries a host without its port after the host with it.
        assert_eq!(placed(&p, "other.io:8443/x:1"), ["o/x"]);
        assert!(Placement::new("Spectro Images", Vec::new()).is_err());
        assert!(Placement::new("a//b", Vec::new()).is_err());
    }

    /// ISW v1.5.3 `swap_image`: `default` replaces the host text (`re.sub(registry, default,
    /// image)`), and a name written without a host gets `default/` in front.
    #[test]
    fn the_default_entry_replaces_the_host_as_the_webhook_does() {
        let p = placement("", &[("default", Some("all")), ("ghcr.io", Some("gh"))]);
        assert_eq!(placed(&p, "quay.io/org/img:1"), ["all/org/img"]);
        assert_eq!(placed(&p, "nginx:1.25"), ["all/nginx", "all/library/nginx"]);
        assert_eq!(placed(&p, "ghcr.io/o/i:1"), ["gh/o/i"]);
        // A host with a port has a place when the default gives one.
        assert_eq!(placed(&p, "reg.local:5000/app:1"), ["all/app"]);
    }

    #[test]
    fn library_names_and_unswapped_hosts_follow_the_webhook() {
        let p = placement(
            "spectro-images",
            &[
                ("docker.io", Some("hub")),
                ("docker.io/library", Some("official")),
                ("quay.io", None),
            ],
        );
        // `docker.io/library` takes single names written without a host; containerd's
        // library/ path stays under the docker.io entry.
        assert_eq!(
            placed(&p, "nginx:1.25"),
            ["official/nginx", "hub/library/nginx"]
        );
        assert_eq!(
            placed(&p, "docker.io/nginx:1.25"),
            ["hub/nginx", "hub/library/nginx"]
        );
        assert_eq!(placed(&p, "bitnami/nginx:1"), ["hub/bitnami/nginx"]);
        // An entry without a destination: the site pulls that host's images unswapped.
        assert!(placed(&p, "quay.io/org/img:1").is_empty());
        assert_eq!(p.mirror_entry("quay.io", "reg"), None);
        let unswapped_default = placement("", &[("default", None)]);
        assert!(placed(&unswapped_default, "gcr.io/x:1").is_empty());
    }

    #[test]
    fn no_image_lands_among_the_packs() {
        for (base, map) in [
            ("spectro-packs/archive", None),
            ("spectro-packs/archive/x", None),
            ("spectro-images", Some("spectro-packs/archive")),
        ] {
            let map = map
                .map(|d: &str| vec![("docker.io".to_string(), Some(d.to_string()))])
                .unwrap_or_default();
            let refused = Placement::new(base, map).unwrap_err();
            assert!(refused.contains("spectro-packs/archive"), "{refused}");
        }
        assert!(Placement::new("spectro-packs/archived", Vec::new()).is_ok());
        let nginx = ImageRef::parse("nginx:1.25").unwrap();
        assert!(!Placement::keeps_bundle_name(
            "spectro-packs/archive/nginx",
            &nginx
        ));
        assert!(Placement::keeps_bundle_name(
            "spectro-images/docker.io/nginx",
            &nginx
        ));
    }

    #[test]
    fn the_map_is_mirror_registries_syntax_made_relative() {
        let text = "docker.io::reg.example.com/v2/proj/airgap/docker.io, quay.io::reg.example.com/proj/q\n\
                    # a comment\nreg.local:5000::local/reg\nnoswap_wildcards::a.io, b.io\ngcr.io::\n";
        let map = parse_map(text, Some("reg.example.com/proj")).unwrap();
        let some = |k: &str, d: &str| (k.to_string(), Some(d.to_string()));
        assert_eq!(
            map,
            [
                some("docker.io", "airgap/docker.io"),
                some("quay.io", "q"),
                some("reg.local:5000", "local/reg"),
                ("gcr.io".to_string(), None),
            ]
        );
        // `/v2` is a Harbor proxy-cache endpoint's only right after the registry.
        let deeper = parse_map(
            "quay.io::reg.example.com/proj/m/v2/q",
            Some("reg.example.com"),
        )
        .unwrap();
        assert_eq!(deeper, [some("quay.io", "proj/m/v2/q")]);
        let elsewhere =
            parse_map("quay.io::other.example.com/x", Some("reg.example.com")).unwrap_err();
        assert!(
            elsewhere.contains("not under the destination"),
            "{elsewhere}"
        );
        assert!(parse_map("[EXACT]quay.io/a:1::b", None).is_err());
        assert!(parse_map("quay.io::reg.example.com/x", None).is_err());
        assert!(parse_map("quay.io", None).is_err());
        let prefix = parse_map("default::reg.example.com/mirror-", Some("reg.example.com"));
        assert!(prefix.unwrap_err().contains("prefixes"));
    }

    #[test]
    fn mirrors_name_a_host_and_where_to_read_it() {
        let m = Mirror::parse("quay.io=http://127.0.0.1:5001/cache/quay").unwrap();
        assert_eq!(
            (
                m.host.as_str(),
                m.mirror.as_str(),
                m.prefix.as_str(),
                m.plain_http
            ),
            ("quay.io", "127.0.0.1:5001", "cache/quay", true)
        );
        let m = Mirror::parse("docker.io=mirror.internal").unwrap();
        assert!(!m.plain_http && m.prefix.is_empty());
        for bad in [
            "quay.io",
            "nohost=x",
            "quay.io=",
            "quay.io=a@b",
            "quay.io=m/UPPER",
        ] {
            assert!(Mirror::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn platforms_read_as_os_arch_variant() {
        let p = Platform::parse("linux/arm64/v8").unwrap();
        assert_eq!(p.variant.as_deref(), Some("v8"));
        assert!(Platform::parse("linux").is_err());
        assert!(Platform::parse("linux/amd64/v1/x").is_err());
        let d = serde_json::json!({"platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}});
        assert!(p.matches(&d));
        assert!(Platform::parse("linux/arm64").unwrap().matches(&d));
        assert!(!Platform::parse("linux/amd64").unwrap().matches(&d));
    }

    #[test]
    fn a_manifests_blobs_are_its_config_and_layers_once_foreign_ones_left() {
        let hex = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let doc = serde_json::json!({
            "mediaType": manifest::DOCKER_MANIFEST_MEDIA_TYPE,
            "config": {"digest": hex('a'), "size": 2},
            "layers": [
                {"digest": hex('b'), "size": 3},
                {"digest": hex('b'), "size": 3},
                {"digest": hex('c'), "size": 4, "urls": ["https://x"],
                 "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"},
            ]
        });
        let found = blobs(&doc, "x").unwrap();
        assert_eq!(found.len(), 2);
        let no_size = serde_json::json!({"layers": [{"digest": hex('b')}]});
        assert!(blobs(&no_size, "x").is_err());
    }
}
