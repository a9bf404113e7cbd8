//! A local OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`) as a [`Store`]: for
//! trying packpub without a registry and for air-gapped hand-offs. Each pack's manifest is
//! listed in `index.json` under `org.opencontainers.image.ref.name` =
//! `spectro-packs/archive/<name>:<version>`, the form skopeo's `oci:PATH:REF` reads. Blobs and
//! the index are written atomically, so a reader never sees half a file.

use super::manifest::MANIFEST_MEDIA_TYPE;
use super::store::{Blob, ManifestRef, Progress, Store};
use crate::atomic::{self, AtomicFile};
use crate::digest::Digest;
use crate::exit::{Code, Failure};
use anyhow::Context;
use serde_json::{Value, json};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Layout files are meant to be shared (copied, served): 0666 less the umask.
const MODE: u32 = 0o666;

pub struct Layout {
    root: PathBuf,
    /// Serialises read-modify-write of `index.json` between packs pushed concurrently.
    index_lock: Mutex<()>,
}

impl Layout {
    /// Opens the layout at `root`; `create` makes it when missing (to publish into), else a
    /// folder without `index.json` is a usage error (to read from).
    pub fn open(root: &Path, create: bool) -> anyhow::Result<Self> {
        let layout = Self {
            root: root.to_path_buf(),
            index_lock: Mutex::new(()),
        };
        if !create {
            if !layout.index_path().is_file() {
                return Err(Failure::err(
                    Code::Usage,
                    format!("{} is not an OCI layout (no index.json)", root.display()),
                ));
            }
            return Ok(layout);
        }
        fs::create_dir_all(root.join("blobs/sha256"))
            .with_context(|| format!("cannot create the OCI layout at {}", root.display()))?;
        let marker = root.join("oci-layout");
        if !marker.exists() {
            atomic::write(&marker, br#"{"imageLayoutVersion":"1.0.0"}"#, MODE)?;
        }
        if !layout.index_path().exists() {
            layout.write_index(&json!({"schemaVersion": 2, "manifests": []}))?;
        }
        Ok(layout)
    }

    fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(digest.hex())
    }

    fn read_index(&self) -> anyhow::Result<Value> {
        let path = self.index_path();
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not valid JSON", path.display()))
    }

    fn write_index(&self, index: &Value) -> anyhow::Result<()> {
        atomic::write(&self.index_path(), &serde_json::to_vec_pretty(index)?, MODE)
    }

    /// `(repository, tag, digest)` of every manifest `index.json` lists under a ref name. A
    /// digest that is not `sha256:` + 64 hex is refused: it would name a file outside the
    /// layout.
    fn refs(&self) -> anyhow::Result<Vec<(String, String, Digest)>> {
        let index = self.read_index()?;
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
                        format!(
                            "{} lists {repository}:{tag} with a malformed digest: {why}",
                            self.index_path().display()
                        ),
                    )
                })?;
                Ok((repository.to_string(), tag.to_string(), digest))
            })
            .collect()
    }
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
        let digest = match reference {
            ManifestRef::Digest(digest) => *digest,
            ManifestRef::Tag(tag) => match self
                .refs()?
                .into_iter()
                .find(|(r, t, _)| r == repository && t == tag)
            {
                Some((_, _, digest)) => digest,
                None => return Ok(None),
            },
        };
        let path = self.blob_path(&digest);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => match reference {
                ManifestRef::Digest(_) => Ok(None),
                ManifestRef::Tag(tag) => Err(anyhow::anyhow!(
                    "{} lists {repository}:{tag}, but the layout lacks its manifest blob {digest}",
                    self.index_path().display()
                )),
            },
            Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
        }
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
        dest: &mut tokio::fs::File,
    ) -> anyhow::Result<u64> {
        let mut source = tokio::fs::File::open(self.blob_path(digest))
            .await
            .with_context(|| format!("the layout lacks blob {digest}"))?;
        Ok(tokio::io::copy(&mut source, dest).await?)
    }

    async fn repositories(&self, _page: usize) -> anyhow::Result<Vec<String>> {
        let mut repositories: Vec<String> = self.refs()?.into_iter().map(|(r, _, _)| r).collect();
        repositories.sort();
        repositories.dedup();
        Ok(repositories)
    }

    async fn tags(&self, repository: &str, _page: usize) -> anyhow::Result<Vec<String>> {
        Ok(self
            .refs()?
            .into_iter()
            .filter(|(r, _, _)| r == repository)
            .map(|(_, t, _)| t)
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
        let digest = Digest::of(manifest);
        let target = self.blob_path(&digest);
        tokio::task::block_in_place(|| {
            if !target.is_file() {
                atomic::write(&target, manifest, MODE)?;
            }
            let ManifestRef::Tag(tag) = reference else {
                return Ok(());
            };
            let ref_name = format!("{repository}:{tag}");
            let _guard = self.index_lock.lock().unwrap_or_else(|e| e.into_inner());
            let mut index = self.read_index()?;
            let mut list: Vec<Value> = index["manifests"]
                .as_array()
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .filter(|m| m["annotations"][REF_NAME] != ref_name.as_str())
                .cloned()
                .collect();
            list.push(json!({
                "mediaType": MANIFEST_MEDIA_TYPE,
                "digest": digest,
                "size": manifest.len(),
                "annotations": { REF_NAME: ref_name },
            }));
            index["manifests"] = Value::Array(list);
            self.write_index(&index)
        })
    }
}
