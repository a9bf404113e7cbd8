//! Helm charts, read as hostile input and judged as Palette's Helm judges them. A chart archive
//! (`.tgz`) is read by a port of Helm v3's loader ([`helm`]: Go's tar reader in [`gotar`], the
//! YAML decoding of `sigs.k8s.io/yaml` in [`sigs`]), so packpub refuses a chart exactly when Helm
//! cannot load it (rule PP029), and says plainly when it refuses one for its own safety (PP034:
//! links and devices, which Helm reads as empty files, and bounds Helm does not set). A chart
//! folder ([`folder`]) is listed without following links, loaded by the same port, and
//! packaged the way `helm package` lays it out, byte-reproducibly. Both end in one [`Chart`]: what Chart.yaml
//! says, the default values verbatim, the images those values name, and the archive's bytes.
//! `init` scaffolds packs from a chart and `lint` checks the charts a pack carries, so chart
//! reading lives here once.
//!
//! Sizes are Helm's own budgets (`MaxDecompressedFileSize` 5 MiB, `MaxDecompressedChartSize`
//! 100 MiB): a chart past them does not install. YAML is read as parser events into a tree
//! ([`parse_yaml`], [`yaml_tree`]: the one place a YAML parser is called) with aliases expanded
//! under a node budget and nesting bounded, so no Chart.yaml or values file can claim memory or
//! recurse without end.

mod folder;
mod gotar;
mod helm;
mod sigs;

pub use folder::read_chart_dir;
pub use helm::{LinkEntries, Refusal};
pub use sigs::yaml_tree;

use super::PackVersion;
use super::yaml::Node;
use crate::exit::{Code, Failure};
use crate::files::Unreadable;
use crate::output::escape;
use std::path::Path;

pub const CHART_YAML: &str = "Chart.yaml";
pub const VALUES_YAML: &str = "values.yaml";

/// A chart archive on disk: its files fit [`helm::CHART_LIMIT`], and gzip grows nothing by more than
/// a fraction, so anything larger is not a chart Helm would load.
const ARCHIVE_LIMIT: u64 = 128 << 20;
/// How much of a name taken from a chart is ever shown.
const SHOWN: usize = 120;

/// A Helm chart as packpub uses it.
#[derive(Debug)]
pub struct Chart {
    /// Chart.yaml's `name`: letters, digits, '.', '_', '-', starting with a letter or digit (safe
    /// as a file name and a YAML key).
    pub name: String,
    /// Chart.yaml's `version`, as written.
    pub version: String,
    pub app_version: Option<String>,
    /// The chart's default values, verbatim (a byte-order mark dropped); `None` without a
    /// values.yaml.
    pub values_yaml: Option<String>,
    /// The images the default values name, in the order they appear, each once.
    pub images: Vec<Image>,
    /// The chart as a `.tgz`: the bytes read (an archive) or packaged (a folder), so what was
    /// checked is what gets copied.
    pub archive: Vec<u8>,
}

/// An image reference found in a chart's default values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub reference: String,
    /// Where in the values it was found, e.g. `controller.image` (printable, shortened).
    pub at: String,
    /// Why the reference deserves a second look beyond being found, when it does.
    pub note: Option<&'static str>,
}

/// Reads the chart archive at `path` and loads it as Helm v3 does; `links` says what link,
/// device and FIFO entries get. The refusal names the chart and says whose rule refuses it.
pub fn read_chart(path: &Path, links: LinkEntries) -> Result<Chart, Refusal> {
    let shown = escape(&path.display().to_string()).into_owned();
    let archive = read_capped(path, ARCHIVE_LIMIT, false)
        .map_err(|why| Refusal::Helm(format!("chart {shown} {why}")))?;
    load_chart(archive, links).map_err(|refusal| match refusal {
        Refusal::Helm(why) => Refusal::Helm(format!("chart {shown}: Helm cannot load it: {why}")),
        Refusal::Safety(why) => Refusal::Safety(format!(
            "chart {shown}: packpub's own safety rule (not Helm's) refuses it: {why}"
        )),
    })
}

/// A chart archive's bytes loaded as Helm v3 does: what [`read_chart`] does once the file is
/// read, and what the differential tests hold against Helm's loader.
pub fn load_chart(archive: Vec<u8>, links: LinkEntries) -> Result<Chart, Refusal> {
    let loaded = helm::Load::new(links).archive(&archive)?;
    Ok(chart(loaded, archive))
}

impl Refusal {
    /// The refusal as `init` reports it: exit 3.
    pub fn into_failure(self) -> anyhow::Error {
        let (Self::Helm(why) | Self::Safety(why)) = self;
        Failure::err(Code::InvalidPack, why)
    }
}

/// [`crate::files::read_capped`], refusals worded for a chart's files.
fn read_capped(path: &Path, limit: u64, nofollow: bool) -> Result<Vec<u8>, String> {
    crate::files::read_capped(path, limit, nofollow).map_err(|why| match why {
        Unreadable::Link => "is a symbolic link; packpub never follows links in a chart".into(),
        Unreadable::NotFile => "is not a regular file".into(),
        Unreadable::TooLarge => format!("is larger than {limit} bytes, the limit for it"),
        Unreadable::Io(err) => format!("cannot be read: {err}"),
    })
}

/// The [`Chart`] a load yields; `archive` is carried along.
fn chart(loaded: helm::Loaded, archive: Vec<u8>) -> Chart {
    let md = loaded.metadata;
    let app_version = Some(md.app_version).filter(|v| !v.is_empty());
    let (values_yaml, images) = match loaded.values {
        Some((text, tree)) => {
            let images = images(&tree, app_version.as_deref());
            (Some(text), images)
        }
        None => (None, Vec::new()),
    };
    Chart {
        name: md.name,
        version: md.version,
        app_version,
        values_yaml,
        images,
        archive,
    }
}

impl Chart {
    /// `<name>-<version>.tgz`, when both are safe in a file name (Helm allows more: a name with
    /// spaces, or one from another script, installs but cannot name a file here).
    pub fn archive_name(&self) -> Result<String, String> {
        let name_ok = self.name.len() <= 128
            && self.name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !name_ok {
            return Err(format!(
                "{CHART_YAML}: name {} cannot name a file (letters, digits, '.', '_', '-', at \
                 most 128, starting with a letter or digit)",
                shown_name(&self.name)
            ));
        }
        let version_ok = self.version.len() <= 128
            && self
                .version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".+_-".contains(c));
        if !version_ok {
            return Err(format!(
                "{CHART_YAML}: version {} cannot name a file",
                shown_name(&self.version)
            ));
        }
        Ok(format!("{}-{}.tgz", self.name, self.version))
    }
}

/// The images a chart's default values name: every `image:` string, and every mapping with
/// `repository` and `tag` (and an optional `registry`, `digest`), as Helm charts write them.
/// Templated values (`{{ … }}`) are skipped; an empty tag falls back to `app_version`, which is
/// what most charts' templates do.
fn images(values: &Node, app_version: Option<&str>) -> Vec<Image> {
    let mut found = Vec::new();
    walk_images(values, &mut Vec::new(), app_version, &mut found);
    let mut seen = std::collections::HashSet::new();
    found.retain(|image: &Image| seen.insert(image.reference.clone()));
    found.retain(|image| {
        !image.reference.contains("{{") && !image.reference.contains(char::is_whitespace)
    });
    found
}

fn walk_images(node: &Node, path: &mut Vec<String>, app: Option<&str>, found: &mut Vec<Image>) {
    match node {
        Node::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(format!("[{i}]"));
                walk_images(item, path, app, found);
                path.pop();
            }
        }
        Node::Map(entries) => {
            if let (Some(repository), Some(tag)) = (
                node.get("repository").and_then(Node::as_str),
                node.get("tag"),
            ) {
                found.push(repository_image(node, repository, tag.as_str(), app, path));
            }
            for (key, value) in entries {
                path.push(key.to_string());
                match value {
                    Node::Scalar(scalar) if key == "image" => found.push(Image {
                        reference: scalar.text.trim().to_string(),
                        at: shown_path(path),
                        note: None,
                    }),
                    Node::Seq(_) | Node::Map(_) => walk_images(value, path, app, found),
                    Node::Scalar(_) | Node::Null => {}
                }
                path.pop();
            }
        }
        Node::Scalar(_) | Node::Null => {}
    }
}

/// `[registry/]repository[:tag][@digest]` from an image mapping at `path`.
fn repository_image(
    node: &Node,
    repository: &str,
    tag: Option<&str>,
    app: Option<&str>,
    path: &[String],
) -> Image {
    let text = |key: &str| node.get(key).and_then(Node::as_str).map(str::trim);
    let mut reference = match text("registry").filter(|r| !r.is_empty()) {
        Some(registry) => format!("{}/{}", registry.trim_end_matches('/'), repository.trim()),
        None => repository.trim().to_string(),
    };
    let tag = tag.map(str::trim).filter(|t| !t.is_empty());
    let digest = text("digest").filter(|d| !d.is_empty());
    let mut note = None;
    if let Some(tag) = tag {
        reference = format!("{reference}:{tag}");
    }
    if let Some(digest) = digest {
        reference = format!("{reference}@{digest}");
    }
    if tag.is_none() && digest.is_none() {
        match app.filter(|v| PackVersion::parse(v).is_ok()) {
            Some(app) => {
                reference = format!("{reference}:{app}");
                note = Some("the tag is empty, so the chart's appVersion is assumed");
            }
            None => note = Some("no tag: name the one the chart runs"),
        }
    }
    Image {
        reference,
        at: shown_path(path),
        note,
    }
}

/// `a.b[0].c`, printable and short: keys come from the chart.
fn shown_path(path: &[String]) -> String {
    let mut joined = String::new();
    for part in path {
        if !joined.is_empty() && !part.starts_with('[') {
            joined.push('.');
        }
        joined.push_str(part);
    }
    shown_name(&joined)
}

/// A name taken from a chart, made printable on one line: control characters (newlines too)
/// escaped, cut to a short prefix.
fn shown_name(name: &str) -> String {
    let mut shown: String = name
        .chars()
        .take(SHOWN)
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect();
    if name.chars().nth(SHOWN).is_some() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::yaml;

    fn image_refs(values: &str, app: Option<&str>) -> Vec<(String, String)> {
        let doc = yaml_tree(values, yaml::Target::Interface).unwrap();
        images(&doc, app)
            .into_iter()
            .map(|i| (i.reference, i.at))
            .collect()
    }

    #[test]
    fn images_are_found_in_strings_and_mappings() {
        let values = "\
image:
  registry: docker.io
  repository: bitnami/nginx
  tag: 1.10
sidecar:
  image: busybox:1.36
  again: {image: busybox:1.36}
jobs:
  - image: \"{{ .Values.x }}\"
  - image: ~
    name: x
empty:
  repository: quay.io/app
  tag: \"\"
";
        assert_eq!(
            image_refs(values, Some("2.0.0")),
            [
                ("docker.io/bitnami/nginx:1.10".into(), "image".into()),
                ("busybox:1.36".into(), "sidecar.image".into()),
                ("quay.io/app:2.0.0".into(), "empty".into()),
            ]
        );
    }

    #[test]
    fn names_that_cannot_name_a_file_are_refused_there_and_shown_safely() {
        let chart = |name: &str, version: &str| Chart {
            name: name.into(),
            version: version.into(),
            app_version: None,
            values_yaml: None,
            images: Vec::new(),
            archive: Vec::new(),
        };
        assert_eq!(
            chart("web", "1.2.3").archive_name().unwrap(),
            "web-1.2.3.tgz"
        );
        assert!(
            chart("my chart", "1.0.0")
                .archive_name()
                .unwrap_err()
                .contains("cannot name a file")
        );
        assert!(chart("web", "1.0/0").archive_name().is_err());
        assert_eq!(shown_name("a\nb\u{1b}"), "a\\nb\\u{1b}");
    }
}
