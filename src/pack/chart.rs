//! Helm charts, read as hostile input. A chart archive (`.tgz`) goes through the reader that
//! guards pack archives ([`super::read::scan`]: one top folder, no links, devices or `..`,
//! capped names and entries, a ceiling on inflation); a chart folder is listed without
//! following links and packaged the way `helm package` lays it out, byte-reproducibly. Both end
//! in one [`Chart`]: what Chart.yaml says, the default values verbatim, the images those values
//! name, and the archive's bytes. `init` scaffolds packs from a chart and `lint` checks the
//! charts a pack carries, so chart reading lives here once.
//!
//! Sizes are Helm's own budgets (helm.sh/helm `pkg/chart/loader`: `MaxDecompressedFileSize`
//! 5 MiB, `MaxDecompressedChartSize` 100 MiB): a chart past them does not install, so refusing
//! it loses nothing, and a chart is held in memory whole, as Helm holds it. YAML is read as
//! parser events into a tree ([`parse_yaml`]) that never expands aliases, with nesting and node
//! count bounded, so no Chart.yaml or values file can claim memory or recurse without end.

use super::PackVersion;
use super::read::{self, Item, Limits};
use crate::exit::{Code, Failure};
use crate::files::Unreadable;
use crate::output::escape;
use flate2::{Compression, GzBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

pub const CHART_YAML: &str = "Chart.yaml";
pub const VALUES_YAML: &str = "values.yaml";
const HELMIGNORE: &str = ".helmignore";

/// Helm's `MaxDecompressedFileSize`: the largest file Helm loads from a chart.
pub const FILE_LIMIT: u64 = 5 << 20;
/// Helm's `MaxDecompressedChartSize`: what all of a chart's files may add up to.
pub const CHART_LIMIT: u64 = 100 << 20;
/// Chart.yaml holds a chart's metadata, a few KiB: like pack.json, one over 1 MiB is not a
/// chart's.
const CHART_YAML_LIMIT: u64 = 1 << 20;
/// A chart archive on disk: its files fit [`CHART_LIMIT`], and gzip grows nothing by more than
/// a fraction, so anything larger is not a chart Helm would load.
const ARCHIVE_LIMIT: u64 = 128 << 20;
/// Inflation stops here: the file budget plus tar headers and padding for every entry the
/// reader accepts, so only a crafted archive (zeros after the end marker) ever reaches it.
const INFLATED_LIMIT: u64 = 1 << 30;
/// Files and folders listed in one chart folder: far above any chart, and low enough that a
/// hostile tree cannot make the listing unbounded.
const MAX_ENTRIES: usize = 100_000;
/// How deep YAML may nest: far deeper than any values file, shallow enough that walking the
/// tree recursively is safe.
const YAML_MAX_DEPTH: usize = 256;
/// Nodes in one YAML file: values files have a few thousand; this bounds the tree's memory.
const YAML_MAX_NODES: usize = 1_000_000;
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

/// Reads the chart archive at `path` (a gzip tar with `<dir>/Chart.yaml` and, optionally,
/// `<dir>/values.yaml`). An unreadable, unsafe or invalid chart exits 3.
pub fn read_chart(path: &Path) -> anyhow::Result<Chart> {
    let shown = escape(&path.display().to_string()).into_owned();
    let refuse = |why: String| Failure::err(Code::InvalidPack, format!("chart {shown} {why}"));
    let archive = read_capped(path, ARCHIVE_LIMIT, false).map_err(&refuse)?;
    let mut chart_yaml = None;
    let mut values = None;
    let mut total = 0u64;
    let limits = Limits {
        max_inflated: INFLATED_LIMIT,
    };
    let scan = read::scan(&archive[..], limits, &mut |item| {
        let Item::File { inner, data, .. } = item else {
            return Ok(());
        };
        let keep = match inner {
            CHART_YAML => Some(&mut chart_yaml),
            VALUES_YAML => Some(&mut values),
            _ => None,
        };
        let limit = if inner == CHART_YAML {
            CHART_YAML_LIMIT
        } else {
            FILE_LIMIT
        };
        let mut bytes = Vec::new();
        let size = match keep {
            Some(_) => data.take(limit + 1).read_to_end(&mut bytes)? as u64,
            None => io::copy(&mut data.take(limit + 1), &mut io::sink())?,
        };
        budget(inner, size, limit, &mut total)?;
        if let Some(slot) = keep {
            *slot = Some(bytes);
        }
        Ok(())
    })
    .map_err(|err| refuse(format!("is refused: {err:#}")))?;
    if !scan.problems.is_empty() {
        return Err(refuse(format!(
            "is not an archive packpub accepts: {}",
            scan.problems.join("; ")
        )));
    }
    let top = scan.top.unwrap_or_default();
    let chart_yaml = chart_yaml.ok_or_else(|| {
        refuse(format!(
            "holds no {}/{CHART_YAML}: pass a chart archive (`helm package` makes one)",
            escape(&top)
        ))
    })?;
    describe(&chart_yaml, values.as_deref(), archive).map_err(refuse)
}

/// Reads the chart folder `dir` and packages it as `helm package` lays a chart out: every file
/// under `<chart name>/`, `.helmignore` honoured (gitignore syntax, of which Helm's is a
/// subset) and hidden files under `templates/` left out as Helm does. The bytes are the same
/// whatever the files' times, owners or listing order: entries sorted by path, every time
/// `mtime`, owner 0/0 without names, mode 0644 (0755 when executable), a gzip header without
/// name or time. Links and special files are refused (Helm would follow links; packpub never
/// does): package such a chart with `helm package` and pass the `.tgz`.
pub fn read_chart_dir(dir: &Path, mtime: u64) -> anyhow::Result<Chart> {
    let shown = escape(&dir.display().to_string()).into_owned();
    let refuse = |why: String| Failure::err(Code::InvalidPack, format!("chart {shown}: {why}"));
    let ignore = helmignore(dir).map_err(&refuse)?;
    let listed = list(dir, &ignore).map_err(&refuse)?;
    if !listed.iter().any(|f| f.path == CHART_YAML) {
        return Err(refuse(format!(
            "holds no {CHART_YAML}: pass a chart folder (`helm create` makes one) or a chart archive"
        )));
    }
    let mut total = 0;
    let mut files = Vec::with_capacity(listed.len());
    for file in listed {
        let limit = if file.path == CHART_YAML {
            CHART_YAML_LIMIT
        } else {
            FILE_LIMIT
        };
        let bytes = read_capped(&dir.join(&file.path), limit, true)
            .map_err(|why| refuse(format!("{} {why}", shown_name(&file.path))))?;
        budget(&file.path, bytes.len() as u64, limit, &mut total)
            .map_err(|e| refuse(e.to_string()))?;
        files.push((file, bytes));
    }
    let find = |name: &str| {
        files
            .iter()
            .find(|(f, _)| f.path == name)
            .map(|(_, b)| b.as_slice())
    };
    let chart_yaml = find(CHART_YAML).expect("listed above");
    // The name first: it is the archive's top folder.
    let mut chart = describe(chart_yaml, find(VALUES_YAML), Vec::new()).map_err(refuse)?;
    chart.archive = package(&chart.name, &files, mtime)
        .map_err(|e| anyhow::anyhow!("cannot package chart {shown}: {e}"))?;
    Ok(chart)
}

/// Counts a file of `size` bytes against its own `limit` and the chart's [`CHART_LIMIT`].
fn budget(path: &str, size: u64, limit: u64, total: &mut u64) -> anyhow::Result<()> {
    if size > limit {
        anyhow::bail!(
            "{} is larger than {limit} bytes, the limit for it (Helm loads no file over {FILE_LIMIT})",
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
    match read_capped(&dir.join(HELMIGNORE), CHART_YAML_LIMIT, true) {
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

/// What Chart.yaml and values.yaml say, checked; `archive` is carried along.
fn describe(chart_yaml: &[u8], values: Option<&[u8]>, archive: Vec<u8>) -> Result<Chart, String> {
    let meta = first_document(&text(chart_yaml, CHART_YAML)?, CHART_YAML)?;
    if !matches!(meta, Yaml::Map(_)) {
        return Err(format!("{CHART_YAML} is not a mapping of fields"));
    }
    let field = |key: &str| meta.get(key).and_then(Yaml::as_text).map(str::trim);
    let name = field("name").ok_or_else(|| format!("{CHART_YAML} has no name"))?;
    let name_ok = name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !name_ok {
        return Err(format!(
            "{CHART_YAML}: name {} is not a chart name (letters, digits, '.', '_', '-', at most \
             128, starting with a letter or digit)",
            shown_name(name)
        ));
    }
    let version = field("version").ok_or_else(|| format!("{CHART_YAML} has no version"))?;
    let version_ok = version.len() <= 128
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".+_-".contains(c));
    if !version_ok {
        return Err(format!(
            "{CHART_YAML}: version {} is not a chart version (Helm wants semver, e.g. 1.2.3)",
            shown_name(version)
        ));
    }
    let app_version = field("appVersion").filter(|v| !v.is_empty());
    if let Some(app) = app_version
        && (app.len() > 256 || app.chars().any(char::is_control))
    {
        return Err(format!(
            "{CHART_YAML}: appVersion {} is not a version",
            shown_name(app)
        ));
    }
    let values_yaml = values.map(|v| text(v, VALUES_YAML)).transpose()?;
    let images = match &values_yaml {
        None => Vec::new(),
        Some(values) => match first_document(values, VALUES_YAML)? {
            doc @ Yaml::Map(_) => images(&doc, app_version),
            doc if doc.is_null() => Vec::new(),
            _ => {
                return Err(format!(
                    "{VALUES_YAML} is not a mapping of values (Helm refuses anything else)"
                ));
            }
        },
    };
    Ok(Chart {
        name: name.to_string(),
        version: version.to_string(),
        app_version: app_version.map(str::to_string),
        values_yaml,
        images,
        archive,
    })
}

/// `bytes` as UTF-8 text without a byte-order mark (Helm drops it too).
fn text(bytes: &[u8], file: &str) -> Result<String, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| format!("{file} is not UTF-8 text"))?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text).to_string())
}

/// The first document of `text` (what Helm reads), or a null scalar when there is none.
fn first_document(text: &str, file: &str) -> Result<Yaml, String> {
    let docs = parse_yaml(text).map_err(|why| format!("{file} {why}"))?;
    Ok(docs.into_iter().next().unwrap_or_else(Yaml::null))
}

/// A YAML node as written: scalars keep their text and whether they were plain (unquoted), so
/// `tag: 1.10` stays `1.10`; aliases stay aliases, never copies of what they name.
#[derive(Debug, PartialEq, Eq)]
pub enum Yaml {
    Scalar { text: String, plain: bool },
    Seq(Vec<Yaml>),
    Map(Vec<(Yaml, Yaml)>),
    Alias,
}

impl Yaml {
    fn null() -> Self {
        Self::Scalar {
            text: String::new(),
            plain: true,
        }
    }

    /// Whether this is YAML's null (`~`, `null`, or nothing).
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Scalar { text, plain: true } if ["", "~", "null", "Null", "NULL"].contains(&text.as_str()))
    }

    /// A scalar's text, unless it is null.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Scalar { text, .. } if !self.is_null() => Some(text),
            _ => None,
        }
    }

    /// The value of the first entry whose key is the scalar `key`, in a mapping.
    pub fn get(&self, key: &str) -> Option<&Yaml> {
        let Self::Map(entries) = self else {
            return None;
        };
        entries
            .iter()
            .find(|(k, _)| matches!(k, Self::Scalar { text, .. } if text == key))
            .map(|(_, v)| v)
    }
}

/// Parses every document of `text` into [`Yaml`] trees, from the parser's events: aliases are
/// not expanded, nesting stops at [`YAML_MAX_DEPTH`] and size at [`YAML_MAX_NODES`]. The error
/// says where and why, to follow the file's name.
pub fn parse_yaml(text: &str) -> Result<Vec<Yaml>, String> {
    enum Open {
        Seq(Vec<Yaml>),
        Map(Vec<(Yaml, Yaml)>, Option<Yaml>),
    }
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    let mut nodes = 0usize;
    loop {
        let (event, mark) = parser.next_token().map_err(|err| {
            let at = err.marker();
            format!(
                "is not valid YAML at line {}, column {}: {}",
                at.line(),
                at.col() + 1,
                err.info()
            )
        })?;
        let node = match event {
            Event::StreamEnd => return Ok(docs),
            Event::Scalar(text, style, _, _) => Yaml::Scalar {
                text,
                plain: style == TScalarStyle::Plain,
            },
            Event::Alias(_) => Yaml::Alias,
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if open.len() == YAML_MAX_DEPTH {
                    return Err(format!(
                        "nests deeper than {YAML_MAX_DEPTH} levels at line {}",
                        mark.line()
                    ));
                }
                open.push(if matches!(event, Event::SequenceStart(..)) {
                    Open::Seq(Vec::new())
                } else {
                    Open::Map(Vec::new(), None)
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match open.pop() {
                Some(Open::Seq(items)) => Yaml::Seq(items),
                Some(Open::Map(entries, _)) => Yaml::Map(entries),
                None => return Err(format!("is not valid YAML at line {}", mark.line())),
            },
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {
                continue;
            }
        };
        nodes += 1;
        if nodes > YAML_MAX_NODES {
            return Err(format!("holds more than {YAML_MAX_NODES} YAML nodes"));
        }
        match open.last_mut() {
            None => docs.push(node),
            Some(Open::Seq(items)) => items.push(node),
            Some(Open::Map(entries, key)) => match key.take() {
                None => *key = Some(node),
                Some(key) => entries.push((key, node)),
            },
        }
    }
}

/// The images a chart's default values name: every `image:` string, and every mapping with
/// `repository` and `tag` (and an optional `registry`, `digest`), as Helm charts write them.
/// Templated values (`{{ … }}`) are skipped; an empty tag falls back to `app_version`, which is
/// what most charts' templates do.
fn images(values: &Yaml, app_version: Option<&str>) -> Vec<Image> {
    let mut found = Vec::new();
    walk_images(values, &mut Vec::new(), app_version, &mut found);
    let mut seen = std::collections::HashSet::new();
    found.retain(|image: &Image| seen.insert(image.reference.clone()));
    found.retain(|image| {
        !image.reference.contains("{{") && !image.reference.contains(char::is_whitespace)
    });
    found
}

fn walk_images(node: &Yaml, path: &mut Vec<String>, app: Option<&str>, found: &mut Vec<Image>) {
    match node {
        Yaml::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(format!("[{i}]"));
                walk_images(item, path, app, found);
                path.pop();
            }
        }
        Yaml::Map(entries) => {
            if let (Some(repository), Some(tag)) = (
                node.get("repository").and_then(Yaml::as_text),
                node.get("tag"),
            ) {
                found.push(repository_image(node, repository, tag.as_text(), app, path));
            }
            for (key, value) in entries {
                let key = key.as_text().unwrap_or("?");
                path.push(key.to_string());
                match value {
                    Yaml::Scalar { .. } if key == "image" => {
                        if let Some(reference) = value.as_text() {
                            found.push(Image {
                                reference: reference.trim().to_string(),
                                at: shown_path(path),
                                note: None,
                            });
                        }
                    }
                    Yaml::Seq(_) | Yaml::Map(_) => walk_images(value, path, app, found),
                    Yaml::Scalar { .. } | Yaml::Alias => {}
                }
                path.pop();
            }
        }
        Yaml::Scalar { .. } | Yaml::Alias => {}
    }
}

/// `[registry/]repository[:tag][@digest]` from an image mapping at `path`.
fn repository_image(
    node: &Yaml,
    repository: &str,
    tag: Option<&str>,
    app: Option<&str>,
    path: &[String],
) -> Image {
    let text = |key: &str| node.get(key).and_then(Yaml::as_text).map(str::trim);
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
        let doc = first_document(values, VALUES_YAML).unwrap();
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
    fn yaml_trees_keep_scalars_as_written_and_never_expand_aliases() {
        let docs = parse_yaml("a: &x [1, '1']\nb: *x\n").unwrap();
        let Yaml::Map(entries) = &docs[0] else {
            panic!()
        };
        assert_eq!(entries[1].1, Yaml::Alias);
        let deep: String = (0..=YAML_MAX_DEPTH)
            .map(|i| " ".repeat(i) + "k:\n")
            .collect();
        assert!(parse_yaml(&deep).unwrap_err().contains("nests deeper"));
        assert!(
            parse_yaml("a: [")
                .unwrap_err()
                .starts_with("is not valid YAML at line")
        );
    }

    #[test]
    fn chart_names_from_hostile_charts_are_refused_or_shown_safely() {
        let bad = describe(b"name: \"a/../b\"\nversion: 1.0.0\n", None, Vec::new());
        assert!(bad.unwrap_err().contains("is not a chart name"));
        assert_eq!(shown_name("a\nb\u{1b}"), "a\\nb\\u{1b}");
        let chart = describe(
            b"name: x\nversion: 1.0.0\nappVersion: 2\n",
            None,
            Vec::new(),
        );
        assert_eq!(chart.unwrap().app_version.as_deref(), Some("2"));
    }
}
