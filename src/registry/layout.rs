//! A local OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`) as a push target:
//! for trying packpub without a registry and for air-gapped hand-offs. Each pack's manifest is
//! listed in `index.json` under `org.opencontainers.image.ref.name` =
//! `spectro-packs/archive/<name>:<version>`. Blobs and the index are written through temp
//! files and renamed, so a reader never sees half a file.

use crate::digest::Digest;
use crate::registry::manifest::MANIFEST_MEDIA_TYPE;
use anyhow::Context;
use serde_json::{Value, json};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

pub struct Layout {
    root: PathBuf,
    /// Serialises read-modify-write of `index.json` between packs pushed concurrently.
    index_lock: Mutex<()>,
}

/// A manifest listed in `index.json`.
pub struct Listed {
    pub digest: String,
}

impl Layout {
    /// Opens the layout at `root`, creating it when missing.
    pub fn open(root: &Path) -> anyhow::Result<Self> {
        let blobs = root.join("blobs/sha256");
        fs::create_dir_all(&blobs)
            .with_context(|| format!("cannot create the OCI layout at {}", root.display()))?;
        let marker = root.join("oci-layout");
        if !marker.exists() {
            write_atomic(&marker, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        let layout = Self {
            root: root.to_path_buf(),
            index_lock: Mutex::new(()),
        };
        if !layout.index_path().exists() {
            layout.write_index(&json!({"schemaVersion": 2, "manifests": []}))?;
        }
        Ok(layout)
    }

    fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every `org.opencontainers.image.ref.name` in `index.json`.
    pub fn ref_names(&self) -> anyhow::Result<Vec<String>> {
        let index = self.read_index()?;
        Ok(manifests(&index)
            .iter()
            .filter_map(|m| m["annotations"][REF_NAME].as_str().map(str::to_string))
            .collect())
    }

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.root.join("blobs/sha256").join(hex)
    }

    fn read_index(&self) -> anyhow::Result<Value> {
        let path = self.index_path();
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not valid JSON", path.display()))
    }

    fn write_index(&self, index: &Value) -> anyhow::Result<()> {
        write_atomic(&self.index_path(), &serde_json::to_vec_pretty(index)?)
    }

    /// The manifest listed under `ref_name`, if any.
    pub fn find(&self, ref_name: &str) -> anyhow::Result<Option<Listed>> {
        let index = self.read_index()?;
        Ok(manifests(&index)
            .iter()
            .find(|m| m["annotations"][REF_NAME] == ref_name)
            .and_then(|m| m["digest"].as_str())
            .map(|digest| Listed {
                digest: digest.to_string(),
            }))
    }

    pub fn read_blob(&self, digest: &str) -> anyhow::Result<Vec<u8>> {
        let path = self.blob_path(digest);
        fs::read(&path)
            .with_context(|| format!("the layout lacks blob {digest} ({})", path.display()))
    }

    pub fn has_blob(&self, digest: &str) -> bool {
        self.blob_path(digest).is_file()
    }

    pub fn put_blob(&self, data: &[u8]) -> anyhow::Result<String> {
        let digest = Digest::of(data).to_string();
        if !self.has_blob(&digest) {
            write_atomic(&self.blob_path(&digest), data)?;
        }
        Ok(digest)
    }

    /// Copies a file in as the blob `digest` (already computed by the caller).
    pub fn put_blob_file(&self, source: &Path, digest: &str) -> anyhow::Result<()> {
        let target = self.blob_path(digest);
        if target.is_file() {
            return Ok(());
        }
        let dir = target.parent().expect("blob paths have a parent");
        let mut temp = tempfile::NamedTempFile::new_in(dir)?;
        let mut file =
            fs::File::open(source).with_context(|| format!("cannot read {}", source.display()))?;
        std::io::copy(&mut crate::interrupt::Reader(&mut file), temp.as_file_mut())?;
        temp.as_file().sync_all()?;
        temp.persist(&target)?;
        Ok(())
    }

    /// Lists `manifest` (already stored as a blob) under `ref_name`, replacing any entry of that
    /// name.
    pub fn tag(&self, ref_name: &str, digest: &str, size: usize) -> anyhow::Result<()> {
        let _guard = self.index_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut index = self.read_index()?;
        let mut list: Vec<Value> = manifests(&index)
            .iter()
            .filter(|m| m["annotations"][REF_NAME] != ref_name)
            .cloned()
            .collect();
        list.push(json!({
            "mediaType": MANIFEST_MEDIA_TYPE,
            "digest": digest,
            "size": size,
            "annotations": { REF_NAME: ref_name },
        }));
        index["manifests"] = Value::Array(list);
        self.write_index(&index)
    }
}

fn manifests(index: &Value) -> &[Value] {
    index["manifests"].as_array().map_or(&[], Vec::as_slice)
}

fn write_atomic(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().expect("layout files have a parent");
    let mut temp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    temp.write_all(data)?;
    temp.as_file().sync_all()?;
    temp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
