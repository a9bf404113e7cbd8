//! The upstream of the air-gap tests (issue 24): container images built by hand as OCI image
//! layouts (manifests, configs and layers written with serde_json and sha256, nothing fetched),
//! pushed with skopeo to a loopback Distribution registry that stands in for quay.io and Docker
//! Hub, and the oracle those tests compare `copy --with-images` with: `skopeo sync --scoped
//! --all`, reading "quay.io/org/img" from that registry through a registries.conf location
//! rewrite, so its destination names carry the original host as Palette's layout does.
//!
//! What skopeo 1.9 (Debian's) needs for that rewrite, found by trying: it does NOT read
//! `CONTAINERS_REGISTRIES_CONF` (newer ones do) and has no `--registries-conf` flag, but it
//! reads `$HOME/.config/containers/registries.conf` in place of /etc's when that file exists,
//! so [`skopeo_sync_scoped`] runs it with a HOME of its own holding that file (and sets the
//! variable too, for newer versions).

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use super::missing_tool;
use super::registry::Registry;

pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// Where Palette looks for images unless told otherwise (`--image-base`).
pub const IMAGE_BASE: &str = "spectro-images";

/// The hosts of Palette's default `mirrorRegistries` map (shared/airgap.md §1.5).
pub const DEFAULT_MAP: [&str; 7] = [
    "docker.io",
    "gcr.io",
    "ghcr.io",
    "k8s.gcr.io",
    "registry.k8s.io",
    "quay.io",
    "us-docker.pkg.dev",
];

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// An OCI descriptor: what a manifest or index says of a blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

impl Descriptor {
    fn json(&self) -> Value {
        json!({ "mediaType": self.media_type, "digest": self.digest, "size": self.size })
    }
}

/// A layer blob and the digest of its uncompressed tar (the config's `diff_ids`).
#[derive(Clone, Debug)]
pub struct Layer {
    pub descriptor: Descriptor,
    pub diff_id: String,
}

/// What one tag of a layout (or a registry) points at.
#[derive(Clone, Debug)]
pub struct Image {
    /// The digest the tag resolves to: the index of a multi-platform image, else the manifest.
    pub digest: String,
    pub media_type: String,
    /// An index's manifests, in order (linux/amd64, linux/arm64); empty for a single manifest.
    pub children: Vec<String>,
    /// Every config and layer blob of every platform.
    pub blobs: Vec<String>,
    /// The layers alone, every platform, in manifest order.
    pub layers: Vec<String>,
}

/// An OCI image layout being written in a folder (`oci-layout`, `index.json`, `blobs/sha256`).
pub struct Layout {
    dir: PathBuf,
    tags: Vec<(String, Descriptor)>,
}

impl Layout {
    pub fn create(dir: &Path) -> Self {
        fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let layout = Self {
            dir: dir.to_path_buf(),
            tags: Vec::new(),
        };
        layout.write_index();
        layout
    }

    /// The file of blob `digest`.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
        self.dir.join("blobs/sha256").join(hex)
    }

    /// Writes `bytes` as a blob.
    pub fn blob(&self, media_type: &str, bytes: &[u8]) -> Descriptor {
        let digest = sha256(bytes);
        fs::write(self.blob_path(&digest), bytes).unwrap();
        Descriptor {
            media_type: media_type.into(),
            digest,
            size: bytes.len() as u64,
        }
    }

    /// A layer: a tar holding one file of `size` pseudo-random bytes drawn from `seed` (the
    /// same seed, the same bytes, the same digest), gzipped when `gzip`.
    pub fn layer(&self, size: usize, seed: u64, gzip: bool) -> Layer {
        let mut data = vec![0u8; size];
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        for byte in &mut data {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state as u8;
        }
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_ustar();
        header.set_size(size as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_path(format!("data/layer-{seed}.bin")).unwrap();
        header.set_cksum();
        builder.append(&header, &data[..]).unwrap();
        let tar = builder.into_inner().unwrap();
        let diff_id = sha256(&tar);
        let descriptor = if gzip {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&tar).unwrap();
            self.blob(LAYER_GZIP, &gz.finish().unwrap())
        } else {
            self.blob(LAYER_TAR, &tar)
        };
        Layer {
            descriptor,
            diff_id,
        }
    }

    /// A single-platform OCI manifest over `layers`, with a config naming `os`/`arch`.
    pub fn manifest(&self, os: &str, arch: &str, layers: &[&Layer]) -> (Descriptor, Vec<String>) {
        let config = json!({
            "architecture": arch,
            "os": os,
            "config": { "Cmd": ["/bin/true"] },
            "rootfs": {
                "type": "layers",
                "diff_ids": layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>(),
            },
        });
        let config = self.blob(CONFIG, &serde_json::to_vec(&config).unwrap());
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": config.json(),
            "layers": layers.iter().map(|l| l.descriptor.json()).collect::<Vec<_>>(),
        });
        let mut blobs = vec![config.digest.clone()];
        blobs.extend(layers.iter().map(|l| l.descriptor.digest.clone()));
        (
            self.blob(MANIFEST, &serde_json::to_vec(&manifest).unwrap()),
            blobs,
        )
    }

    /// An image index over `children`: (manifest, os, arch).
    pub fn index(&self, children: &[(&Descriptor, &str, &str)]) -> Descriptor {
        let manifests: Vec<Value> = children
            .iter()
            .map(|(d, os, arch)| {
                let mut entry = d.json();
                entry["platform"] = json!({ "architecture": arch, "os": os });
                entry
            })
            .collect();
        let index = json!({ "schemaVersion": 2, "mediaType": INDEX, "manifests": manifests });
        self.blob(INDEX, &serde_json::to_vec(&index).unwrap())
    }

    /// Points `tag` (the layout's `org.opencontainers.image.ref.name`) at `descriptor`.
    pub fn tag(&mut self, tag: &str, descriptor: &Descriptor) {
        self.tags.retain(|(t, _)| t != tag);
        self.tags.push((tag.into(), descriptor.clone()));
        self.write_index();
    }

    fn write_index(&self) {
        let manifests: Vec<Value> = self
            .tags
            .iter()
            .map(|(tag, d)| {
                let mut entry = d.json();
                entry["annotations"] = json!({ "org.opencontainers.image.ref.name": tag });
                entry
            })
            .collect();
        let index = json!({ "schemaVersion": 2, "manifests": manifests });
        fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
    }

    /// A single-platform image tagged `tag`: `shared` layers first, then one layer of its own
    /// per size in `own` (seeds `seed`, `seed + 1`…).
    pub fn single_platform(
        &mut self,
        tag: &str,
        arch: &str,
        shared: &[&Layer],
        own: &[usize],
        seed: u64,
    ) -> Image {
        let own: Vec<Layer> = own
            .iter()
            .enumerate()
            .map(|(i, size)| self.layer(*size, seed + i as u64, i % 2 == 0))
            .collect();
        let layers: Vec<&Layer> = shared.iter().copied().chain(own.iter()).collect();
        let (manifest, blobs) = self.manifest("linux", arch, &layers);
        self.tag(tag, &manifest);
        Image {
            digest: manifest.digest,
            media_type: MANIFEST.into(),
            children: Vec::new(),
            layers: layers.iter().map(|l| l.descriptor.digest.clone()).collect(),
            blobs,
        }
    }

    /// A linux/amd64 + linux/arm64 index tagged `tag`, each platform its own manifest over the
    /// `shared` layers and one layer of `size` bytes of its own.
    pub fn two_platform(&mut self, tag: &str, shared: &[&Layer], size: usize, seed: u64) -> Image {
        let mut children = Vec::new();
        let mut blobs = Vec::new();
        let mut layers = Vec::new();
        let mut descriptors = Vec::new();
        for (i, arch) in ["amd64", "arm64"].iter().enumerate() {
            let own = self.layer(size, seed + i as u64, true);
            let all: Vec<&Layer> = shared.iter().copied().chain([&own]).collect();
            let (manifest, manifest_blobs) = self.manifest("linux", arch, &all);
            children.push(manifest.digest.clone());
            layers.extend(all.iter().map(|l| l.descriptor.digest.clone()));
            blobs.extend(manifest_blobs);
            descriptors.push((manifest, *arch));
        }
        let refs: Vec<(&Descriptor, &str, &str)> =
            descriptors.iter().map(|(d, a)| (d, "linux", *a)).collect();
        let index = self.index(&refs);
        self.tag(tag, &index);
        blobs.sort();
        blobs.dedup();
        Image {
            digest: index.digest,
            media_type: INDEX.into(),
            children,
            blobs,
            layers,
        }
    }
}

/// Runs skopeo with `args`; its stdout, or a panic with its stderr.
pub fn skopeo(args: &[&str]) -> Vec<u8> {
    skopeo_with(&mut Command::new("skopeo"), args)
}

/// Runs `cmd` (skopeo, with its environment set) with `args`; its stdout, or a panic with
/// its stderr.
fn skopeo_with(cmd: &mut Command, args: &[&str]) -> Vec<u8> {
    let out = cmd
        .args(args)
        .output()
        .unwrap_or_else(|e| missing_tool("skopeo", "skopeo", &e));
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Pushes tag `tag` of the layout in `layout` (every platform, bytes kept) to `dest`
/// (`HOST/REPO:TAG` of a plain-HTTP registry).
pub fn push_layout(layout: &Path, tag: &str, dest: &str) {
    skopeo(&[
        "copy",
        "-q",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
        &format!("oci:{}:{tag}", layout.display()),
        &format!("docker://{dest}"),
    ]);
}

/// The manifest or index bytes at `reference` (`HOST/REPO:TAG` or `HOST/REPO@DIGEST` of a
/// plain-HTTP registry) as skopeo reads them; None when skopeo cannot.
pub fn raw(reference: &str) -> Option<Vec<u8>> {
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .output()
        .unwrap_or_else(|e| missing_tool("skopeo", "skopeo", &e));
    out.status.success().then_some(out.stdout)
}

/// The sha256 of what `reference` holds (see [`raw`]).
pub fn digest(reference: &str) -> Option<String> {
    raw(reference).map(|bytes| sha256(&bytes))
}

/// One GET or HEAD over plain HTTP/1.0: status and body.
fn http(method: &str, host: &str, path: &str) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {host}\r\nAccept: application/json\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |p| p + 4);
    let head = String::from_utf8_lossy(&answer[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer[split..].to_vec())
}

/// Every repository of the registry at `host`, sorted (`/v2/_catalog`).
pub fn catalog(host: &str) -> Vec<String> {
    let (status, body) = http("GET", host, "/v2/_catalog?n=1000");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let doc: Value = serde_json::from_slice(&body).unwrap();
    let mut names: Vec<String> = doc["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// The tags of `repository` at `host`, sorted; empty when it has none or does not exist.
pub fn tags(host: &str, repository: &str) -> Vec<String> {
    let (status, body) = http("GET", host, &format!("/v2/{repository}/tags/list"));
    if status != 200 {
        return Vec::new();
    }
    let doc: Value = serde_json::from_slice(&body).unwrap();
    let mut tags: Vec<String> = doc["tags"]
        .as_array()
        .map(|a| a.iter().map(|t| t.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    tags.sort();
    tags
}

/// Whether blob `digest` can be read from `repository` at `host`.
pub fn has_blob(host: &str, repository: &str, digest: &str) -> bool {
    http("HEAD", host, &format!("/v2/{repository}/blobs/{digest}")).0 == 200
}

/// Asserts that `HOST/REPO` + `at` (`:TAG` or `@DIGEST`) holds `image` byte for byte: the same
/// digest at `at`, and every child manifest and blob of every platform readable from `REPO`.
pub fn assert_holds(repository: &str, at: &str, image: &Image) {
    let reference = format!("{repository}{at}");
    assert_eq!(
        digest(&reference).as_deref(),
        Some(image.digest.as_str()),
        "{reference}: not the source's bytes (or absent)"
    );
    let (host, repo) = repository.split_once('/').unwrap();
    for child in &image.children {
        assert_eq!(
            digest(&format!("{repository}@{child}")).as_deref(),
            Some(child.as_str()),
            "{repository}: platform manifest {child} missing"
        );
    }
    for blob in &image.blobs {
        assert!(
            has_blob(host, repo, blob),
            "{repository}: blob {blob} missing"
        );
    }
}

/// How a pack's image reference splits: host (docker.io when the first segment has no `.`,
/// as Palette's webhook decides), repository path, and `:TAG` or `@DIGEST` as written.
pub fn split_reference(reference: &str) -> (String, String, String) {
    let (name, at) = match reference.split_once('@') {
        Some((name, digest)) => (name, format!("@{digest}")),
        None => match reference.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => (name, format!(":{tag}")),
            _ => (reference, String::new()),
        },
    };
    match name.split_once('/') {
        Some((host, path)) if host.contains('.') => (host.into(), path.into(), at),
        _ => ("docker.io".into(), name.into(), at),
    }
}

/// Where the path rule of shared/airgap.md §3 puts `reference` under `base`, relative to the
/// destination: `BASE/HOST/PATH` + `:TAG`/`@DIGEST`, and for a one-segment Docker Hub name
/// also `BASE/docker.io/library/NAME` (what containerd and skopeo normalise to).
pub fn destinations(base: &str, reference: &str) -> Vec<(String, String)> {
    let (host, path, at) = split_reference(reference);
    let mut repositories = vec![format!("{base}/{host}/{path}")];
    if host == "docker.io" && !path.contains('/') {
        repositories.push(format!("{base}/docker.io/library/{path}"));
    }
    repositories.into_iter().map(|r| (r, at.clone())).collect()
}

/// One image of the seeded upstream.
#[derive(Clone, Debug)]
pub struct Seeded {
    /// As a pack's values.yaml writes it.
    pub reference: String,
    /// Its repository in the upstream registry (Docker Hub names with `library/`).
    pub repository: String,
    /// Its tag there.
    pub tag: String,
    pub image: Image,
}

/// A loopback registry standing in for quay.io, Docker Hub and nvcr.io, seeded with:
/// - `quay.io/org/img:1.0`, a linux/amd64 + linux/arm64 index;
/// - `quay.io/org/single@sha256:…`, a single-platform image referred to by digest only;
/// - `nginx:1.25` (Docker Hub `library/nginx`) and `bitnami/nginx:1`, single-platform;
/// - `nvcr.io/nvidia/tool:2`, on a host outside Palette's default mirror map.
///
/// One gzip layer is shared by every image; the others are a few KB each.
pub struct Upstream {
    pub registry: Registry,
    pub images: Vec<Seeded>,
    /// The layer every image has.
    pub shared_layer: String,
    _dir: TempDir,
}

impl Upstream {
    pub fn seed() -> Self {
        let dir = TempDir::new().unwrap();
        let layout_dir = dir.path().join("layout");
        let mut layout = Layout::create(&layout_dir);
        let shared = layout.layer(6 << 10, 1, true);
        let img = layout.two_platform("img", &[&shared], 3 << 10, 10);
        let single = layout.single_platform("single", "amd64", &[&shared], &[2 << 10], 20);
        let nginx = layout.single_platform("nginx", "amd64", &[&shared], &[4 << 10, 1 << 10], 30);
        let bitnami = layout.single_platform("bitnami", "arm64", &[&shared], &[2 << 10], 40);
        let tool = layout.single_platform("tool", "amd64", &[&shared], &[1 << 10], 50);
        let registry = Registry::plain();
        let host = registry.host().to_string();
        let seeded = [
            ("quay.io/org/img:1.0", "org/img", "1.0", "img", img),
            ("", "org/single", "seeded", "single", single),
            ("nginx:1.25", "library/nginx", "1.25", "nginx", nginx),
            ("bitnami/nginx:1", "bitnami/nginx", "1", "bitnami", bitnami),
            ("nvcr.io/nvidia/tool:2", "nvidia/tool", "2", "tool", tool),
        ];
        let mut images = Vec::new();
        for (reference, repository, tag, layout_tag, image) in seeded {
            push_layout(
                &layout_dir,
                layout_tag,
                &format!("{host}/{repository}:{tag}"),
            );
            let pushed = digest(&format!("{host}/{repository}:{tag}"));
            assert_eq!(
                pushed.as_deref(),
                Some(image.digest.as_str()),
                "{repository}"
            );
            let reference = if reference.is_empty() {
                format!("quay.io/{repository}@{}", image.digest)
            } else {
                reference.to_string()
            };
            images.push(Seeded {
                reference,
                repository: repository.into(),
                tag: tag.into(),
                image,
            });
        }
        Self {
            registry,
            images,
            shared_layer: shared.descriptor.digest,
            _dir: dir,
        }
    }

    pub fn host(&self) -> &str {
        self.registry.host()
    }

    /// The seeded image written as `reference`.
    pub fn image(&self, reference: &str) -> &Seeded {
        self.images
            .iter()
            .find(|s| s.reference == reference || s.reference.starts_with(reference))
            .unwrap_or_else(|| panic!("no seeded image {reference}"))
    }

    /// Every reference as a pack writes it.
    pub fn references(&self) -> Vec<String> {
        self.images.iter().map(|s| s.reference.clone()).collect()
    }

    /// The hosts the references name (docker.io for Docker Hub short names), sorted.
    pub fn hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = self
            .images
            .iter()
            .map(|s| split_reference(&s.reference).0)
            .collect();
        hosts.sort();
        hosts.dedup();
        hosts
    }

    /// `--image-source HOST=http://UPSTREAM` for every host the references name.
    pub fn image_source_args(&self) -> Vec<String> {
        self.hosts()
            .into_iter()
            .flat_map(|h| {
                [
                    "--image-source".to_string(),
                    format!("{h}=http://{}", self.host()),
                ]
            })
            .collect()
    }

    /// (host, upstream location) for [`skopeo_sync_scoped`].
    pub fn mirrors(&self) -> Vec<(String, String)> {
        self.hosts()
            .into_iter()
            .map(|h| (h, self.host().to_string()))
            .collect()
    }
}

/// A values.yaml whose `pack.content.images` lists `entries` verbatim (each the text after
/// `- `, e.g. `image: quay.io/org/img:1.0`).
pub fn values_with_entries(entries: &[String]) -> String {
    let mut values = String::from("pack:\n  namespace: hello\n  content:\n    images:\n");
    for entry in entries {
        values += &format!("      - {entry}\n");
    }
    values + "manifests:\n  hello:\n    replicas: 1\n"
}

/// A values.yaml listing `references` as `- image: REF`.
pub fn values_with_images(references: &[String]) -> String {
    let entries: Vec<String> = references.iter().map(|r| format!("image: {r}")).collect();
    values_with_entries(&entries)
}

/// The oracle: `skopeo sync --scoped --all --preserve-digests --src yaml --dest docker` of
/// `references` into `dest` (`HOST/spectro-images`), each host read from the registry that
/// `mirrors` names for it (a registries.conf `location`, plain HTTP), so destination names keep
/// the original host: `dest/quay.io/org/img:1.0`, `dest/docker.io/library/nginx:1.25`.
pub fn skopeo_sync_scoped(references: &[String], mirrors: &[(String, String)], dest: &str) {
    let home = TempDir::new().unwrap();
    let conf_dir = home.path().join(".config/containers");
    fs::create_dir_all(&conf_dir).unwrap();
    let mut conf = String::new();
    for (prefix, location) in mirrors {
        conf += &format!(
            "[[registry]]\nprefix = \"{prefix}\"\nlocation = \"{location}\"\ninsecure = true\n\n"
        );
    }
    let conf_path = conf_dir.join("registries.conf");
    fs::write(&conf_path, conf).unwrap();
    // host → repository → tags and digests
    let mut wanted: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for reference in references {
        let (host, path, at) = split_reference(reference);
        let version = at.trim_start_matches([':', '@']).to_string();
        wanted
            .entry(host)
            .or_default()
            .entry(path)
            .or_default()
            .push(version);
    }
    let mut yaml = String::new();
    for (host, repositories) in &wanted {
        yaml += &format!("{host}:\n  images:\n");
        for (path, versions) in repositories {
            yaml += &format!("    \"{path}\":\n");
            for version in versions {
                yaml += &format!("      - \"{version}\"\n");
            }
        }
    }
    let sync_file = home.path().join("sync.yml");
    fs::write(&sync_file, &yaml).unwrap();
    let sync = [
        "sync",
        "--scoped",
        "--all",
        "--preserve-digests",
        "--src",
        "yaml",
        "--dest",
        "docker",
        "--dest-tls-verify=false",
        sync_file.to_str().unwrap(),
        dest,
    ];
    skopeo_with(
        Command::new("skopeo")
            .env("HOME", home.path())
            .env("CONTAINERS_REGISTRIES_CONF", &conf_path),
        &sync,
    );
}

/// Flips one byte in the middle of the data of blob `digest` inside the tar at `archive` (an
/// `oci-archive:` bundle), in place: the tar stays well formed, the blob's size unchanged.
pub fn tamper_blob_in_tar(archive: &Path, digest: &str) {
    let hex = digest.strip_prefix("sha256:").unwrap();
    let (position, size) = {
        let mut tar = tar::Archive::new(fs::File::open(archive).unwrap());
        tar.entries()
            .unwrap()
            .map(Result::unwrap)
            .find(|e| {
                e.path()
                    .unwrap()
                    .to_string_lossy()
                    .ends_with(&format!("blobs/sha256/{hex}"))
            })
            .map(|e| (e.raw_file_position(), e.size()))
            .unwrap_or_else(|| panic!("no blob {digest} in {}", archive.display()))
    };
    assert!(size > 0);
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(archive)
        .unwrap();
    let at = position + size / 2;
    let mut byte = [0u8];
    file.seek(SeekFrom::Start(at)).unwrap();
    file.read_exact(&mut byte).unwrap();
    byte[0] ^= 0xff;
    file.seek(SeekFrom::Start(at)).unwrap();
    file.write_all(&byte).unwrap();
}
