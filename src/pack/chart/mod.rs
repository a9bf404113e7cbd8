//! Helm charts, read as hostile input and judged as Palette's Helm judges them. A chart archive
//! (`.tgz`) is read by a port of Helm v3's loader ([`helm`]: Go's tar reader in [`gotar`], the
//! YAML decoding of `sigs.k8s.io/yaml` in [`sigs`]), so packpub refuses a chart exactly when Helm
//! cannot load it (rule PP029), and says plainly when it refuses one for its own safety (PP034:
//! links and devices, which Helm reads as empty files, and bounds Helm does not set). A chart
//! folder is listed without following links, loaded by the same port, and packaged the way
//! `helm package` lays it out, byte-reproducibly. Both end in one [`Chart`]: what Chart.yaml
//! says, the default values verbatim, the images those values name, and the archive's bytes.
//! `init` scaffolds packs from a chart and `lint` checks the charts a pack carries, so chart
//! reading lives here once.
//!
//! Sizes are Helm's own budgets (`MaxDecompressedFileSize` 5 MiB, `MaxDecompressedChartSize`
//! 100 MiB): a chart past them does not install. YAML is read as parser events into a tree
//! ([`parse_yaml`], [`yaml_tree`]: the one place a YAML parser is called) with aliases expanded
//! under a node budget and nesting bounded, so no Chart.yaml or values file can claim memory or
//! recurse without end.

mod gotar;
mod helm;
mod sigs;

pub use helm::{LinkEntries, Refusal};

use super::PackVersion;
use super::yaml::{self, Node};
use crate::exit::{Code, Failure};
use crate::files::Unreadable;
use crate::output::escape;
use flate2::{Compression, GzBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

pub const CHART_YAML: &str = "Chart.yaml";
pub const VALUES_YAML: &str = "values.yaml";
const HELMIGNORE: &str = ".helmignore";

/// Helm's `MaxDecompressedFileSize`: the largest file Helm loads from a chart.
pub const FILE_LIMIT: u64 = 5 << 20;
/// Helm's `MaxDecompressedChartSize`: what all of a chart's files may add up to.
pub const CHART_LIMIT: u64 = 100 << 20;
/// A chart archive on disk: its files fit [`CHART_LIMIT`], and gzip grows nothing by more than
/// a fraction, so anything larger is not a chart Helm would load.
const ARCHIVE_LIMIT: u64 = 128 << 20;
/// Files and folders listed in one chart folder: far above any chart, and low enough that a
/// hostile tree cannot make the listing unbounded.
const MAX_ENTRIES: usize = 100_000;
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

/// Reads the chart folder `dir` as Helm's directory loader does, and packages it as `helm
/// package` lays a chart out: every file under `<chart name>/`, `.helmignore` honoured
/// (gitignore syntax, of which Helm's is a subset) and hidden files under `templates/` left
/// out as Helm does. The bytes are the same whatever the files' times, owners or listing order:
/// entries sorted by path, every time `mtime`, owner 0/0 without names, mode 0644 (0755 when
/// executable), a gzip header without name or time. Links and special files are refused (Helm
/// would follow links; packpub never does): package such a chart with `helm package` and pass
/// the `.tgz`.
pub fn read_chart_dir(dir: &Path, mtime: u64) -> anyhow::Result<Chart> {
    let shown = escape(&dir.display().to_string()).into_owned();
    let refuse = |why: String| Failure::err(Code::InvalidPack, format!("chart {shown}: {why}"));
    let ignore = helmignore(dir).map_err(&refuse)?;
    let listed = list(dir, &ignore).map_err(&refuse)?;
    let mut total = 0;
    let mut files = Vec::with_capacity(listed.len());
    for file in listed {
        let bytes = read_capped(&dir.join(&file.path), FILE_LIMIT, true)
            .map_err(|why| refuse(format!("{} {why}", shown_name(&file.path))))?;
        budget(&file.path, bytes.len() as u64, &mut total).map_err(|e| refuse(e.to_string()))?;
        files.push((file, bytes));
    }
    let loaded = helm::Load::new(LinkEntries::Refuse)
        .files(
            files
                .iter()
                .map(|(file, bytes)| helm::File {
                    name: file.path.as_bytes().to_vec(),
                    data: bytes
                        .strip_prefix(b"\xef\xbb\xbf")
                        .unwrap_or(bytes)
                        .to_vec(),
                })
                .collect(),
        )
        .map_err(|refusal| match refusal {
            Refusal::Helm(why) => refuse(format!("Helm cannot load it: {why}")),
            Refusal::Safety(why) => refuse(why),
        })?;
    let mut chart = chart(loaded, Vec::new());
    // The name is the archive's top folder.
    chart.archive_name().map_err(&refuse)?;
    chart.archive = package(&chart.name, &files, mtime)
        .map_err(|e| anyhow::anyhow!("cannot package chart {shown}: {e}"))?;
    Ok(chart)
}

/// Counts a file of `size` bytes against Helm's file and chart budgets.
fn budget(path: &str, size: u64, total: &mut u64) -> anyhow::Result<()> {
    if size > FILE_LIMIT {
        anyhow::bail!(
            "{} is larger than {FILE_LIMIT} bytes, more than Helm loads (MaxDecompressedFileSize)",
            shown_name(path)
        );
    }
    *total += size;
    if *total > CHART_LIMIT {
        anyhow::bail!(
            "holds more than {CHART_LIMIT} bytes of files, more than Helm loads (MaxDecompressedChartSize)"
        );
    }
    Ok(())
}

/// A file in a chart folder, found by [`list`].
struct Listed {
    /// '/'-separated, inside the chart folder.
    path: String,
    executable: bool,
}

/// The chart folder's `.helmignore` (gitignore syntax), plus Helm's own default rule.
fn helmignore(dir: &Path) -> Result<Gitignore, String> {
    let mut builder = GitignoreBuilder::new(dir);
    // Helm always leaves out hidden files in templates/ (`Rules.AddDefaults`).
    builder
        .add_line(None, "templates/.?*")
        .expect("a valid pattern");
    match read_capped(&dir.join(HELMIGNORE), FILE_LIMIT, true) {
        Ok(bytes) => {
            let text =
                String::from_utf8(bytes).map_err(|_| format!("{HELMIGNORE} is not UTF-8 text"))?;
            for (n, line) in text.lines().enumerate() {
                builder.add_line(None, line).map_err(|err| {
                    format!("{HELMIGNORE} line {}: {}", n + 1, escape(&err.to_string()))
                })?;
            }
        }
        Err(_) if fs::symlink_metadata(dir.join(HELMIGNORE)).is_err() => {}
        Err(why) => return Err(format!("{HELMIGNORE} {why}")),
    }
    builder
        .build()
        .map_err(|err| format!("{HELMIGNORE}: {}", escape(&err.to_string())))
}

/// Every file in the chart folder that Helm would load, sorted by path; links and special
/// files refused unless ignored (Helm checks its ignore rules first too).
fn list(dir: &Path, ignore: &Gitignore) -> Result<Vec<Listed>, String> {
    let mut files = Vec::new();
    let mut folders = vec![String::new()];
    let mut seen = 0usize;
    while let Some(folder) = folders.pop() {
        let entries = fs::read_dir(dir.join(&folder))
            .map_err(|e| format!("cannot list {}: {e}", shown_name(&folder)))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot list {}: {e}", shown_name(&folder)))?;
            seen += 1;
            if seen > MAX_ENTRIES {
                return Err(format!("holds more than {MAX_ENTRIES} files and folders"));
            }
            let name = entry.file_name().into_string().map_err(|name| {
                format!(
                    "{} has a name that is not UTF-8",
                    shown_name(&name.to_string_lossy())
                )
            })?;
            let path = if folder.is_empty() {
                name
            } else {
                format!("{folder}/{name}")
            };
            // DirEntry::metadata does not follow links.
            let meta = entry
                .metadata()
                .map_err(|e| format!("cannot read {}: {e}", shown_name(&path)))?;
            let kind = meta.file_type();
            if ignore.matched(&path, kind.is_dir()).is_ignore() {
                continue;
            }
            if kind.is_dir() {
                folders.push(path);
            } else if kind.is_file() {
                let executable = meta.permissions().mode() & 0o111 != 0;
                files.push(Listed { path, executable });
            } else if kind.is_symlink() {
                return Err(format!(
                    "{} is a symbolic link; packpub never follows links in a chart: replace it \
                     with what it points to, or package the chart with `helm package` and pass \
                     the .tgz",
                    shown_name(&path)
                ));
            } else {
                return Err(format!(
                    "{} is not a regular file (a FIFO, socket or device); remove it or list it \
                     in {HELMIGNORE}",
                    shown_name(&path)
                ));
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// The reproducible `.tgz` of `files` under `top/` (see [`read_chart_dir`]). Folders get no
/// entries of their own, as in `helm package`.
fn package(top: &str, files: &[(Listed, Vec<u8>)], mtime: u64) -> io::Result<Vec<u8>> {
    let gz = GzBuilder::new().write(Vec::new(), Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (file, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        header.set_mode(if file.executable { 0o755 } else { 0o644 });
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        tar.append_data(&mut header, format!("{top}/{}", file.path), &bytes[..])?;
    }
    tar.into_inner()?.finish()
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

/// The first document of `text` as Helm's `yaml.Unmarshal` reads it into `target`
/// ([`yaml::first_document_into`], Go's YAML as Palette reads it): what follows it is not
/// parsed; null when there is none.
pub fn yaml_tree(text: &str, target: yaml::Target) -> Result<Node, String> {
    yaml::first_document_into(text, target)
        .map(|doc| doc.root)
        .map_err(|p| format!("yaml: line {}: {}", p.at.line, p.message))
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
    fn yaml_trees_are_the_first_document_as_go_reads_it() {
        let tree = |text| yaml_tree(text, yaml::Target::Interface);
        let tree_of = tree("a: &x [1, '1', !!str 2]\nb: *x\n").unwrap();
        assert_eq!(tree_of.get("a"), tree_of.get("b"));
        assert!(tree("a: [").unwrap_err().starts_with("yaml: line 2:"));
        // go-yaml's Unmarshal reads the first document only.
        assert_eq!(tree("a: 1\n---\nb: [").unwrap()["a"].as_str(), Some("1"));
        assert!(tree("").unwrap().is_null());
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
