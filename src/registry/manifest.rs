//! The manifests Palette reads: byte-for-byte what ORAS v1.0.0 writes for
//! `oras push REF <name>-<version>.tar.gz` (Palette's docs pin that version), and the newer
//! image-spec 1.1 shape for registries that want it. Field order and compact JSON follow Go's
//! encoder, so the manifest digest matches what ORAS would produce for the same inputs.

use crate::digest::Digest;
use serde::Serialize;
use std::collections::BTreeMap;

pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";
pub const UNKNOWN_CONFIG_MEDIA_TYPE: &str = "application/vnd.unknown.config.v1+json";
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
pub const UNKNOWN_ARTIFACT_TYPE: &str = "application/vnd.unknown.artifact.v1";
pub const TITLE: &str = "org.opencontainers.image.title";
pub const CREATED: &str = "org.opencontainers.image.created";
/// The 2-byte `{}` config blob every ORAS artifact carries.
pub const EMPTY_CONFIG: &[u8] = b"{}";
/// The largest manifest read: the limit of Distribution and ORAS (4 MiB), far above a pack's
/// manifest (under 1 KiB). An OCI layout's `index.json` is held to it too.
pub const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;

/// The manifest kinds an image is made of, OCI's and Docker's (schema 2): an image manifest,
/// or an index (a "manifest list") of one per platform.
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST_MEDIA_TYPE: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST_MEDIA_TYPE: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";

/// What a manifest read asks for: every kind, so a registry hands back the manifest it holds
/// as it is (asking for fewer kinds lets some convert, which changes the digest).
pub const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
                          application/vnd.oci.image.index.v1+json, \
                          application/vnd.docker.distribution.manifest.v2+json, \
                          application/vnd.docker.distribution.manifest.list.v2+json";

/// A manifest's kind, from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Manifest(&'static str),
    Index(&'static str),
}

impl Kind {
    pub fn media_type(self) -> &'static str {
        match self {
            Kind::Manifest(t) | Kind::Index(t) => t,
        }
    }
}

/// The kind `doc` declares in `mediaType`; OCI lets it be left out, and then `manifests`
/// tells an index. Anything else (Docker schema 1, an unknown type) is `Err` with its name.
pub fn kind_of(doc: &serde_json::Value) -> Result<Kind, String> {
    match doc["mediaType"].as_str() {
        Some(MANIFEST_MEDIA_TYPE) => Ok(Kind::Manifest(MANIFEST_MEDIA_TYPE)),
        Some(DOCKER_MANIFEST_MEDIA_TYPE) => Ok(Kind::Manifest(DOCKER_MANIFEST_MEDIA_TYPE)),
        Some(INDEX_MEDIA_TYPE) => Ok(Kind::Index(INDEX_MEDIA_TYPE)),
        Some(DOCKER_LIST_MEDIA_TYPE) => Ok(Kind::Index(DOCKER_LIST_MEDIA_TYPE)),
        None if doc.get("manifests").is_some() => Ok(Kind::Index(INDEX_MEDIA_TYPE)),
        None if doc.get("layers").is_some() => Ok(Kind::Manifest(MANIFEST_MEDIA_TYPE)),
        Some(other) => Err(format!("a manifest of media type {other:?}")),
        None => Err("a document with no mediaType, layers or manifests".to_string()),
    }
}

/// The media type to store `bytes` under: its own kind's, the OCI manifest's for bytes that
/// declare none packpub knows (a pack's manifest always declares it).
pub fn media_type_of(bytes: &[u8]) -> &'static str {
    serde_json::from_slice(bytes)
        .ok()
        .and_then(|doc| kind_of(&doc).ok())
        .map_or(MANIFEST_MEDIA_TYPE, Kind::media_type)
}

/// The refusal of a manifest (or index) over [`MAX_MANIFEST_SIZE`]: `what` names it (exit 6).
pub fn too_large(what: &str) -> anyhow::Error {
    crate::exit::Failure::err(
        crate::exit::Code::VerifyFailed,
        format!(
            "{what} is over {} MiB, the most Distribution and ORAS accept; refusing to read it",
            MAX_MANIFEST_SIZE >> 20
        ),
    )
}

/// Which ORAS manifest shape to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSpec {
    /// ORAS v1.0.0's default (`vnd.unknown.config` config, no artifactType): what Palette reads.
    V1_0,
    /// ORAS ≥ 1.1's default (`artifactType`, `vnd.oci.empty` config with data).
    V1_1,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest<'a> {
    schema_version: u8,
    media_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    artifact_type: Option<&'static str>,
    config: Descriptor<'a>,
    layers: Vec<Descriptor<'a>>,
    annotations: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor<'a> {
    media_type: &'static str,
    digest: String,
    size: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<&'static str, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'static str>,
}

/// The archive layer a pack manifest names.
pub struct Layer<'a> {
    pub digest: &'a Digest,
    pub size: u64,
    pub title: &'a str,
}

/// A pack manifest (`layer` = Some) or the empty base-path manifest (`layer` = None).
pub fn build(spec: ImageSpec, layer: Option<Layer<'_>>, created: &str) -> Vec<u8> {
    let config_digest = Digest::of(EMPTY_CONFIG).to_string();
    let config = match spec {
        ImageSpec::V1_0 => Descriptor {
            media_type: UNKNOWN_CONFIG_MEDIA_TYPE,
            digest: config_digest,
            size: 2,
            annotations: BTreeMap::new(),
            data: None,
        },
        ImageSpec::V1_1 => Descriptor {
            media_type: EMPTY_MEDIA_TYPE,
            digest: config_digest,
            size: 2,
            annotations: BTreeMap::new(),
            data: Some("e30="),
        },
    };
    let layers = layer
        .map(|l| Descriptor {
            media_type: LAYER_MEDIA_TYPE,
            digest: l.digest.to_string(),
            size: l.size,
            annotations: BTreeMap::from([(TITLE, l.title)]),
            data: None,
        })
        .into_iter()
        .collect();
    let manifest = Manifest {
        schema_version: 2,
        media_type: MANIFEST_MEDIA_TYPE,
        artifact_type: (spec == ImageSpec::V1_1).then_some(UNKNOWN_ARTIFACT_TYPE),
        config,
        layers,
        annotations: BTreeMap::from([(CREATED, created.to_string())]),
    };
    serde_json::to_vec(&manifest).expect("a manifest always serialises")
}

/// The empty manifest that makes the base path exist. Its created time is fixed, so its digest
/// is the same on every run: a reliable presence check even where the repository has no tags
/// to list (Distribution answers NAME_UNKNOWN for a repository holding only untagged manifests).
pub fn base_manifest(spec: ImageSpec) -> Vec<u8> {
    build(spec, None, &rfc3339(crate::pack::write::DEFAULT_MTIME))
}

/// RFC 3339 UTC, second precision, as Go's `time.RFC3339` prints it.
pub fn rfc3339(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    let (y, m, d) = crate::civil::civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Checks that `bytes` is the manifest shape Palette reads (ORAS v1.0.0's, or 1.1's): the OCI
/// manifest media type, an ORAS config, exactly one `…layer.v1.tar` layer titled `title`.
/// Returns that layer's digest and size (what a download must match), or what is wrong.
pub fn check_shape(bytes: &[u8], title: &str) -> Result<(Digest, u64), String> {
    let doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("the manifest is not JSON: {e}"))?;
    let media_type = doc["mediaType"].as_str().unwrap_or("(none)");
    if media_type != MANIFEST_MEDIA_TYPE {
        return Err(format!(
            "manifest media type is {media_type}, not {MANIFEST_MEDIA_TYPE}"
        ));
    }
    let config = doc["config"]["mediaType"].as_str().unwrap_or("(none)");
    if config != UNKNOWN_CONFIG_MEDIA_TYPE && config != EMPTY_MEDIA_TYPE {
        return Err(format!(
            "config media type is {config}, not {UNKNOWN_CONFIG_MEDIA_TYPE}"
        ));
    }
    let layers = doc["layers"].as_array().map_or(&[][..], Vec::as_slice);
    let [layer] = layers else {
        return Err(format!(
            "the manifest has {} layers; Palette reads exactly one",
            layers.len()
        ));
    };
    let layer_type = layer["mediaType"].as_str().unwrap_or("(none)");
    if layer_type != LAYER_MEDIA_TYPE {
        return Err(format!(
            "layer media type is {layer_type}, not {LAYER_MEDIA_TYPE}"
        ));
    }
    let found = layer["annotations"][TITLE].as_str().unwrap_or("(none)");
    if found != title {
        return Err(format!("layer title ({TITLE}) is {found:?}, not {title:?}"));
    }
    let digest = layer_digest(layer)?;
    let size = layer["size"]
        .as_u64()
        .ok_or("the layer declares no size (a whole number of bytes)")?;
    Ok((digest, size))
}

/// The digest of a manifest's only layer, or in words why there is no such one: what `push`
/// compares with the local archive before it writes.
pub fn only_layer(bytes: &[u8]) -> Result<Digest, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|_| "a manifest that is not JSON".to_string())?;
    match doc["layers"].as_array().map_or(&[][..], Vec::as_slice) {
        [layer] => layer_digest(layer),
        layers => Err(format!("{} layers", layers.len())),
    }
}

fn layer_digest(layer: &serde_json::Value) -> Result<Digest, String> {
    let text = layer["digest"].as_str().ok_or("the layer has no digest")?;
    Digest::parse(text).map_err(|why| format!("the layer's digest is malformed ({why})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_go() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    /// The exact bytes ORAS v1.0.0 writes (oras-go v2.0.2 `packImage`) for a fixed created time.
    #[test]
    fn golden_oras_v1_0_0_manifest() {
        let digest = Digest::of(b"layer");
        let layer = Layer {
            digest: &digest,
            size: 5,
            title: "hello-1.0.0.tar.gz",
        };
        let bytes = build(ImageSpec::V1_0, Some(layer), "2023-11-14T22:13:20Z");
        let expected = concat!(
            r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","#,
            r#""config":{"mediaType":"application/vnd.unknown.config.v1+json","#,
            r#""digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"#,
            r#""layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","#,
            r#""digest":"sha256:dac1d7cfa95021764849fd102524e141488c5e3a90f861dbb5a12d9ac8584f85","size":5,"#,
            r#""annotations":{"org.opencontainers.image.title":"hello-1.0.0.tar.gz"}}],"#,
            r#""annotations":{"org.opencontainers.image.created":"2023-11-14T22:13:20Z"}}"#
        );
        assert_eq!(String::from_utf8(bytes).unwrap(), expected);
    }

    #[test]
    fn only_layer_reads_a_single_valid_digest() {
        let digest = Digest::of(b"layer");
        let layer = Layer {
            digest: &digest,
            size: 5,
            title: "hello-1.0.0.tar.gz",
        };
        assert_eq!(
            only_layer(&build(ImageSpec::V1_0, Some(layer), "x")),
            Ok(digest)
        );
        assert_eq!(
            only_layer(&build(ImageSpec::V1_0, None, "x")),
            Err("0 layers".into())
        );
        assert!(only_layer(b"<html>").is_err());
        let hostile = br#"{"layers":[{"digest":"sha256:../../etc/shadow"}]}"#;
        assert!(only_layer(hostile).unwrap_err().contains("malformed"));
        let shape = check_shape(
            br#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.unknown.config.v1+json"},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"/dev/zero","annotations":{"org.opencontainers.image.title":"t"}}]}"#,
            "t",
        );
        assert!(shape.unwrap_err().contains("malformed"));
    }

    #[test]
    fn the_layer_must_declare_its_size() {
        let manifest = |size: &str| {
            format!(
                r#"{{"mediaType":"{MANIFEST_MEDIA_TYPE}","config":{{"mediaType":"{UNKNOWN_CONFIG_MEDIA_TYPE}"}},"layers":[{{"mediaType":"{LAYER_MEDIA_TYPE}","digest":"{}",{size}"annotations":{{"{TITLE}":"t"}}}}]}}"#,
                Digest::of(b"layer")
            )
        };
        assert_eq!(
            check_shape(manifest(r#""size":5,"#).as_bytes(), "t"),
            Ok((Digest::of(b"layer"), 5))
        );
        for size in ["", r#""size":-1,"#, r#""size":"5","#] {
            assert_eq!(
                check_shape(manifest(size).as_bytes(), "t"),
                Err("the layer declares no size (a whole number of bytes)".into()),
                "{size}"
            );
        }
    }

    #[test]
    fn empty_base_manifest_has_no_layers() {
        let bytes = build(ImageSpec::V1_0, None, "1970-01-01T00:00:00Z");
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains(r#""layers":[],"annotations""#), "{text}");
    }

    #[test]
    fn image_spec_1_1_shape() {
        let text = String::from_utf8(build(ImageSpec::V1_1, None, "x")).unwrap();
        assert!(text.starts_with(
            r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.unknown.artifact.v1","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"data":"e30="}"#
        ), "{text}");
    }
}
