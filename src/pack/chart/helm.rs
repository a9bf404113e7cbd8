//! Helm v3's chart loader and metadata validation, ported so that packpub refuses a chart
//! exactly when Palette's Helm cannot load it. Read from helm.sh/helm/v3 (Helm ≥ 3.17.3, the
//! v3 line with size budgets), in the order the functions below follow line by line:
//! - `pkg/chart/loader/archive.go` `LoadArchiveFiles` at commit 3ce10e4f81e0 → [`archive_files`]
//! - `pkg/chart/loader/load.go` `LoadFiles` at ccbf7f10a8b2 → [`load_files`]
//! - `pkg/chart/metadata.go` `Metadata.Validate` at 07b13b63ca8a and `pkg/chart/dependency.go`
//!   `Dependency.Validate` at 03a9ea735b41 → [`validate`]
//! - Masterminds/semver v3 `NewVersion` (3.2.0's regex, as Debian ships it) → [`is_semver`]
//!
//! The YAML files go through [`super::sigs`], Go's tar reader is [`super::gotar`].
//!
//! Where packpub is stricter than Helm it says so, as a [`Refusal::Safety`] (rule PP034): link,
//! device and FIFO entries (Helm reads each as an empty file; packpub refuses them unless told
//! to read them the same way, never following one), sparse files (not read), and bounds Helm
//! does not set: how deep subcharts nest, the entries and name length of one archive, and the
//! inflated bytes of a chart and all its subcharts together.

use super::sigs::yaml_tree;
use super::{gotar, sigs};
use crate::pack::yaml::{Node, Target};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{self, Read};

/// Helm's `MaxDecompressedFileSize`: the largest file Helm loads from a chart.
pub const FILE_LIMIT: u64 = 5 << 20;

/// Helm's `MaxDecompressedChartSize`: what all of a chart's files may add up to.
pub const CHART_LIMIT: u64 = 100 << 20;

/// Entries in one archive: far above any chart's.
const MAX_ENTRIES: usize = 100_000;
/// The longest entry name kept (Linux's PATH_MAX); Go reads names up to 1 MiB.
const MAX_NAME: usize = 4096;
/// Subcharts inside subcharts: real charts nest two or three deep.
const MAX_DEPTH: usize = 16;
/// What a chart and all its subcharts may inflate to, tar headers included.
const INFLATED_LIMIT: u64 = 1 << 30;

/// What link, device and FIFO entries in a chart archive get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEntries {
    /// Refused under PP034, packpub's own rule.
    Refuse,
    /// Read as Helm reads them: an empty file under the entry's name, never followed.
    ReadEmpty,
}

/// Why a chart does not load.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Helm's loader fails on it: Palette cannot install the chart.
    Helm(String),
    /// Helm would load it; packpub refuses it for its own safety.
    Safety(String),
}

impl Refusal {
    /// The same refusal, told from the chart that holds the one refused.
    fn within(self, prefix: &str) -> Self {
        match self {
            Self::Helm(why) => Self::Helm(format!("{prefix}{why}")),
            Self::Safety(why) => Self::Safety(format!("{prefix}{why}")),
        }
    }
}

/// A file of a chart as Helm's loader holds it (`BufferedFile`): the name inside the chart,
/// the data with a leading byte-order mark dropped. Only the files a verdict reads keep data.
pub struct File {
    pub name: Vec<u8>,
    pub data: Vec<u8>,
}

/// What loading a chart yields that packpub uses.
pub struct Loaded {
    pub metadata: sigs::Metadata,
    /// values.yaml (the last one, as Helm keeps it) and its tree.
    pub values: Option<(String, Node)>,
}

/// One load: a chart and its subcharts share the bounds.
pub struct Load {
    links: LinkEntries,
    inflate_left: Cell<u64>,
    depth: usize,
}

impl Load {
    pub fn new(links: LinkEntries) -> Self {
        Self {
            links,
            inflate_left: Cell::new(INFLATED_LIMIT),
            depth: 0,
        }
    }

    /// `LoadArchive`: the files, then the chart they make.
    pub fn archive(&mut self, gz: &[u8]) -> Result<Loaded, Refusal> {
        let (files, unsafe_entry) = self.archive_files(gz)?;
        let loaded = self.files(files);
        match (loaded, unsafe_entry) {
            (Err(Refusal::Helm(why)), _) => Err(Refusal::Helm(why)),
            (_, Some(why)) => Err(Refusal::Safety(why)),
            (loaded, None) => loaded,
        }
    }

    /// `LoadArchiveFiles`, and the entry packpub refuses for safety if any (kept aside so that
    /// a chart Helm refuses anyway is reported as Helm's refusal).
    fn archive_files(&self, gz: &[u8]) -> Result<(Vec<File>, Option<String>), Refusal> {
        let inflated = Counted {
            inner: flate2::read::MultiGzDecoder::new(gz),
            left: &self.inflate_left,
        };
        let mut tr = gotar::Reader::new(inflated);
        let mut files = Vec::new();
        let mut unsafe_entry = None;
        let mut remaining = CHART_LIMIT as i64;
        let mut entries = 0usize;
        let helm = |why: String| Refusal::Helm(why);
        loop {
            let hd = match tr.next() {
                Ok(Some(hd)) => hd,
                Ok(None) => break,
                Err(_) if self.inflate_left.get() == 0 => return Err(self.inflated()),
                Err(why) => return Err(helm(format!("the archive {why}"))),
            };
            let shown = crate::pack::tar::shown_name(&hd.name);
            entries += 1;
            if entries > MAX_ENTRIES {
                return Err(Refusal::Safety(format!(
                    "holds more than {MAX_ENTRIES} entries, more than packpub reads in a chart"
                )));
            }
            if hd.name.len() > MAX_NAME {
                return Err(Refusal::Safety(format!(
                    "{shown}: has a name over {MAX_NAME} bytes, longer than packpub reads"
                )));
            }
            if hd.sparse {
                return Err(Refusal::Safety(format!(
                    "{shown}: is a sparse file, which packpub does not read (Helm would); \
                     re-create the archive without --sparse"
                )));
            }
            if hd.is_dir() {
                continue;
            }
            if matches!(hd.typeflag, b'g' | b'x') {
                continue;
            }

            // Archive could contain \ if generated on Windows.
            let delimiter = if hd.name.contains(&b'\\') {
                b'\\'
            } else {
                b'/'
            };
            let parts: Vec<&[u8]> = hd.name.split(|b| *b == delimiter).collect();
            let n: Vec<u8> = parts[1..]
                .join(&delimiter)
                .into_iter()
                .map(|b| if b == delimiter { b'/' } else { b })
                .collect();
            if n.starts_with(b"/") {
                return Err(helm(format!(
                    "chart illegally contains absolute paths ({shown})"
                )));
            }
            let n = clean(&n);
            if n == b"." {
                return Err(helm(format!(
                    "chart illegally contains content outside the base directory: {shown}"
                )));
            }
            if n.starts_with(b"..") {
                return Err(helm(format!(
                    "chart illegally references parent directory ({shown})"
                )));
            }
            if n.len() >= 3 && n[0].is_ascii_alphabetic() && &n[1..3] == b":/" {
                return Err(helm(format!(
                    "chart contains illegally named files ({shown})"
                )));
            }
            if parts[0] == b"Chart.yaml" {
                return Err(helm(format!("chart yaml not in base directory ({shown})")));
            }
            if hd.size > remaining {
                return Err(helm(format!(
                    "decompressed chart is larger than the maximum file size {CHART_LIMIT}"
                )));
            }
            if hd.size > FILE_LIMIT as i64 {
                return Err(helm(format!(
                    "decompressed chart file {shown} is larger than the maximum file size {FILE_LIMIT}"
                )));
            }
            if hd.is_special() && self.links == LinkEntries::Refuse && unsafe_entry.is_none() {
                unsafe_entry = Some(format!(
                    "{shown}: is {}; Helm would load it as an empty file (so Palette could \
                     install the chart), but packpub refuses links, devices and FIFOs in a \
                     chart: replace it with the file it stands for, or allow PP034 (--allow \
                     PP034) to read it as Helm does",
                    match hd.typeflag {
                        b'1' => "a hard link",
                        b'2' => "a symbolic link",
                        b'6' => "a FIFO",
                        _ => "a device",
                    }
                ));
            }
            let mut data = Vec::new();
            let keep = needed(&n);
            let written = if keep {
                (&mut tr)
                    .take(remaining as u64)
                    .read_to_end(&mut data)
                    .map(|n| n as u64)
            } else {
                io::copy(&mut (&mut tr).take(remaining as u64), &mut io::sink())
            };
            let written = match written {
                Ok(written) => written as i64,
                Err(_) if self.inflate_left.get() == 0 => return Err(self.inflated()),
                Err(err) => {
                    return Err(helm(format!("the archive {} ({shown})", gotar_io(&err))));
                }
            };
            remaining -= written;
            // Fewer bytes than the header says: a link or device with a size (Go reads none).
            if written < hd.size || remaining <= 0 {
                return Err(helm(format!(
                    "decompressed chart is larger than the maximum file size {CHART_LIMIT}"
                )));
            }
            if let Some(rest) = data.strip_prefix(UTF8_BOM) {
                data = rest.to_vec();
            }
            files.push(File { name: n, data });
        }
        if files.is_empty() {
            return Err(helm("no files in chart archive".into()));
        }
        Ok((files, unsafe_entry))
    }

    fn inflated(&self) -> Refusal {
        Refusal::Safety(format!(
            "inflates to more than {INFLATED_LIMIT} bytes with its subcharts, more than packpub \
             reads in a chart"
        ))
    }

    /// `LoadFiles`.
    pub fn files(&mut self, files: Vec<File>) -> Result<Loaded, Refusal> {
        let helm = |why: String| Refusal::Helm(why);
        let mut metadata: Option<sigs::Metadata> = None;
        // Do not rely on the order of files: Chart.yaml first.
        for f in &files {
            if f.name == b"Chart.yaml" {
                let md = metadata.get_or_insert_default();
                parse(&f.data)
                    .and_then(|tree| sigs::metadata(&tree, md))
                    .map_err(|e| helm(format!("cannot load Chart.yaml: {e}")))?;
                if md.api_version.is_empty() {
                    md.api_version = "v1".into();
                }
            }
        }
        let mut values = None;
        let mut subcharts: BTreeMap<Vec<u8>, Vec<File>> = BTreeMap::new();
        for f in files {
            match f.name.as_slice() {
                b"Chart.yaml" => continue,
                name @ (b"Chart.lock" | b"requirements.lock") => {
                    parse(&f.data)
                        .and_then(|tree| sigs::lock(&tree))
                        .map_err(|e| {
                            helm(format!(
                                "cannot load {}: {e}",
                                String::from_utf8_lossy(name)
                            ))
                        })?;
                    if name == b"requirements.lock" {
                        metadata.get_or_insert_default();
                    }
                }
                b"values.yaml" => {
                    let text = String::from_utf8(f.data)
                        .map_err(|_| helm("cannot load values.yaml: yaml: invalid UTF-8".into()))?;
                    let tree = yaml_tree(&text, Target::Interface)
                        .and_then(|tree| sigs::values(&tree).map(|()| tree))
                        .map_err(|e| helm(format!("cannot load values.yaml: {e}")))?;
                    values = Some((text, tree));
                }
                // Deprecated: requirements.yaml is deprecated use Chart.yaml.
                b"requirements.yaml" => {
                    let md = metadata.get_or_insert_default();
                    parse(&f.data)
                        .and_then(|tree| sigs::metadata(&tree, md))
                        .map_err(|e| helm(format!("cannot load requirements.yaml: {e}")))?;
                }
                name if name.starts_with(b"charts/") => {
                    if ext(name) == b".prov" {
                        continue;
                    }
                    let fname = name[b"charts/".len()..].to_vec();
                    let cname = fname
                        .split(|b| *b == b'/')
                        .next()
                        .unwrap_or_default()
                        .to_vec();
                    subcharts.entry(cname).or_default().push(File {
                        name: fname,
                        data: f.data,
                    });
                }
                // templates/, values.schema.json and the rest: read by Helm, judged by nothing.
                _ => {}
            }
        }
        let Some(mut metadata) = metadata else {
            return Err(helm("Chart.yaml file is missing".into()));
        };
        validate(&mut metadata).map_err(|e| helm(format!("validation: {e}")))?;

        // Go ranges over a map: any order. A Helm refusal outranks packpub's own.
        let mut unsafe_subchart = None;
        for (n, files) in subcharts {
            if n.starts_with(b"_") || n.starts_with(b".") {
                continue;
            }
            let shown = crate::pack::tar::shown_name(&n);
            let prefix = format!("error unpacking subchart {shown} in {}: ", metadata.name);
            if self.depth == MAX_DEPTH {
                return Err(Refusal::Safety(format!(
                    "{prefix}subcharts nest deeper than {MAX_DEPTH} levels, deeper than packpub reads"
                )));
            }
            self.depth += 1;
            let result = if ext(&n) == b".tgz" {
                let file = &files[0];
                if file.name != n {
                    self.depth -= 1;
                    return Err(helm(format!(
                        "error unpacking subchart tar in {}: expected {shown}, got {}",
                        metadata.name,
                        crate::pack::tar::shown_name(&file.name)
                    )));
                }
                self.archive(&file.data)
            } else {
                // Trim the prefix off every file; a file right in charts/ is not a chart's.
                let buff = files
                    .into_iter()
                    .filter_map(|f| {
                        let slash = f.name.iter().position(|b| *b == b'/')?;
                        Some(File {
                            name: f.name[slash + 1..].to_vec(),
                            data: f.data,
                        })
                    })
                    .collect();
                self.files(buff)
            };
            self.depth -= 1;
            match result {
                Ok(_) => {}
                Err(Refusal::Helm(why)) => return Err(Refusal::Helm(format!("{prefix}{why}"))),
                Err(safety) => {
                    unsafe_subchart.get_or_insert(safety.within(&prefix));
                }
            }
        }
        match unsafe_subchart {
            Some(refusal) => Err(refusal),
            None => Ok(Loaded { metadata, values }),
        }
    }
}

const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Chart.yaml, requirements.yaml and the locks: UTF-8 (go-yaml refuses anything else), then
/// the first document's tree.
fn parse(data: &[u8]) -> Result<Node, String> {
    let text = std::str::from_utf8(data).map_err(|_| "yaml: invalid UTF-8".to_string())?;
    yaml_tree(text, Target::Struct)
}

/// Whether the loader reads a file's data: the YAML it decodes and subchart archives, at any
/// depth of charts/. Every other file is only counted.
fn needed(name: &[u8]) -> bool {
    let base = name.rsplit(|b| *b == b'/').next().unwrap_or_default();
    matches!(
        base,
        b"Chart.yaml"
            | b"Chart.lock"
            | b"values.yaml"
            | b"requirements.yaml"
            | b"requirements.lock"
    ) || (name.starts_with(b"charts/") && name.ends_with(b".tgz"))
}

/// Go's `filepath.Ext`: from the last '.' of the last element.
fn ext(name: &[u8]) -> &[u8] {
    for (i, b) in name.iter().enumerate().rev() {
        match b {
            b'/' => break,
            b'.' => return &name[i..],
            _ => {}
        }
    }
    &[]
}

/// Go's `path.Clean`, on bytes.
fn clean(path: &[u8]) -> Vec<u8> {
    let rooted = path.starts_with(b"/");
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in path.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." if parts.last().is_some_and(|p| *p != b"..") => {
                parts.pop();
            }
            b".." if rooted => {}
            part => parts.push(part),
        }
    }
    let joined = parts.join(&b'/');
    match (rooted, joined.is_empty()) {
        (true, _) => [b"/", &joined[..]].concat(),
        (false, true) => b".".to_vec(),
        (false, false) => joined,
    }
}

/// The inflated stream, counted against the load's bound.
struct Counted<'a, R> {
    inner: R,
    left: &'a Cell<u64>,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        match self.left.get().checked_sub(n as u64) {
            Some(left) => {
                self.left.set(left);
                Ok(n)
            }
            None => {
                self.left.set(0);
                Err(io::Error::other("the inflation bound is reached"))
            }
        }
    }
}

fn gotar_io(err: &io::Error) -> String {
    if err.kind() == io::ErrorKind::UnexpectedEof {
        "is cut short (unexpected EOF)".into()
    } else {
        format!(
            "cannot be read: {}",
            crate::output::escape(&err.to_string())
        )
    }
}

/// `Metadata.Validate`, with `Maintainer.Validate` and `Dependency.Validate`.
fn validate(md: &mut sigs::Metadata) -> Result<(), String> {
    md.name = sanitize(&md.name);
    md.app_version = sanitize(&md.app_version);
    if md.api_version.is_empty() {
        return Err("chart.metadata.apiVersion is required".into());
    }
    if md.name.is_empty() {
        return Err("chart.metadata.name is required".into());
    }
    if md.name == "." || md.name == ".." {
        return Err(format!("chart.metadata.name {:?} is not allowed", md.name));
    }
    if md.name != base(&md.name) {
        return Err(format!("chart.metadata.name {:?} is invalid", md.name));
    }
    if md.version.is_empty() {
        return Err("chart.metadata.version is required".into());
    }
    if !is_semver(&md.version) {
        return Err(format!(
            "chart.metadata.version {:?} is invalid",
            md.version
        ));
    }
    if !matches!(md.chart_type.as_str(), "" | "application" | "library") {
        return Err("chart.metadata.type must be application or library".into());
    }
    if md.maintainers.contains(&false) {
        return Err("maintainers must not contain empty or null nodes".into());
    }
    // Aliases are validated here to make sure they hold no illegal characters.
    let mut seen = std::collections::HashSet::new();
    for dependency in &mut md.dependencies {
        let Some(dependency) = dependency else {
            return Err("dependencies must not contain empty or null nodes".into());
        };
        dependency.name = sanitize(&dependency.name);
        let alias_ok = dependency
            .alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !dependency.alias.is_empty() && !alias_ok {
            return Err(format!(
                "dependency {:?} has disallowed characters in the alias",
                dependency.name
            ));
        }
        let key = if dependency.alias.is_empty() {
            &dependency.name
        } else {
            &dependency.alias
        };
        if !seen.insert(key.clone()) {
            return Err(format!(
                "more than one dependency with name or alias {key:?}"
            ));
        }
    }
    Ok(())
}

/// Go's `filepath.Base` on Linux.
fn base(path: &str) -> &str {
    if path.is_empty() {
        return ".";
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// Helm's `sanitizeString`: white space becomes ' ', what Go's `unicode.IsPrint` refuses goes.
fn sanitize(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else {
                is_print(c).then_some(c)
            }
        })
        .collect()
}

/// Go's `unicode.IsPrint` for what a chart's text holds: not a control, format or
/// private-use character (unassigned code points are let through: std has no table of them).
fn is_print(c: char) -> bool {
    let format = matches!(c,
        '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}' | '\u{890}'..='\u{891}'
        | '\u{8e2}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}'
        | '\u{110bd}' | '\u{110cd}' | '\u{13430}'..='\u{1343f}' | '\u{1bca0}'..='\u{1bca3}'
        | '\u{1d173}'..='\u{1d17a}' | '\u{e0001}' | '\u{e0020}'..='\u{e007f}');
    let private = matches!(c, '\u{e000}'..='\u{f8ff}' | '\u{f0000}'..='\u{10ffff}');
    !c.is_control() && !format && !private
}

/// Masterminds/semver v3 `NewVersion` (3.2.0): `^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?` then an
/// optional `-prerelease` and `+metadata` of dot-separated `[0-9A-Za-z-]+`; each number fits
/// 64 bits; a numeric prerelease part has no leading zero.
pub fn is_semver(v: &str) -> bool {
    let v = v.strip_prefix('v').unwrap_or(v);
    let (v, metadata) = v.split_once('+').map_or((v, None), |(a, b)| (a, Some(b)));
    let (core, pre) = v.split_once('-').map_or((v, None), |(a, b)| (a, Some(b)));
    let idents = |s: &str| {
        s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    let numbers: Vec<&str> = core.split('.').collect();
    numbers.len() <= 3
        && numbers.iter().all(|n| {
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && n.parse::<u64>().is_ok()
        })
        && pre.is_none_or(|p| {
            idents(p)
                && p.split('.').all(|part| {
                    !(part.bytes().all(|b| b.is_ascii_digit())
                        && part.len() > 1
                        && part.starts_with('0'))
                })
        })
        && metadata.is_none_or(idents)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gzip tar of (name, type flag, data), names written as they are.
    fn tgz(entries: &[(&str, u8, &[u8])]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(gz);
        for (name, flag, data) in entries {
            let mut header = tar::Header::new_ustar();
            header.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
            header.set_entry_type(tar::EntryType::new(*flag));
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    fn file(name: &str, data: &str) -> File {
        File {
            name: name.as_bytes().to_vec(),
            data: data.as_bytes().to_vec(),
        }
    }

    const CHART_YAML: &[u8] = b"name: demo\nversion: 1.0.0\n";

    #[test]
    fn link_entries_are_refused_unless_read_as_helm_reads_them_empty() {
        let archive = tgz(&[
            ("demo/Chart.yaml", b'0', CHART_YAML),
            ("demo/values.yaml", b'2', b""),
        ]);
        let refused = Load::new(LinkEntries::Refuse)
            .archive(&archive)
            .err()
            .unwrap();
        assert!(
            matches!(&refused, Refusal::Safety(why) if why.contains("demo/values.yaml: is a symbolic link")),
            "{refused:?}"
        );
        let loaded = Load::new(LinkEntries::ReadEmpty).archive(&archive).unwrap();
        assert_eq!(loaded.values.unwrap().0, "");
        // Go reads no data for a link, so a size in its header falls short: Helm's error.
        let mut sized = tgz(&[("demo/Chart.yaml", b'0', CHART_YAML)]);
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&sized[..])
            .read_to_end(&mut tar)
            .unwrap();
        let mut link = tar::Header::new_ustar();
        link.as_mut_bytes()[..9].copy_from_slice(b"demo/link");
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(3);
        link.set_cksum();
        tar.splice(1024..1024, link.as_bytes().iter().copied());
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        sized = gz.finish().unwrap();
        let refused = Load::new(LinkEntries::ReadEmpty)
            .archive(&sized)
            .err()
            .unwrap();
        assert!(matches!(refused, Refusal::Helm(why) if why.contains("maximum file size")));
    }

    /// Helm's `TestLoadFiles` and `TestLoadFilesOrder`.
    #[test]
    fn files_load_as_in_helms_own_tests() {
        let chart_yaml = "apiVersion: v1\nname: frobnitz\ndescription: This is a frobnitz.\n\
            version: \"1.2.3\"\nkeywords:\n  - frobnitz\n  - sprocket\n  - dodad\nmaintainers:\n\
            \x20 - name: The Helm Team\n    email: helm@example.com\n  - name: Someone Else\n\
            \x20   email: nobody@example.com\nsources:\n  - https://example.com/foo/bar\n\
            home: http://example.com\nicon: https://example.com/64x64.png\n";
        let good = || {
            vec![
                file("Chart.yaml", chart_yaml),
                file("values.yaml", "var: some values"),
                file("values.schema.json", "type: Values"),
                file("templates/deployment.yaml", "some deployment"),
                file("templates/service.yaml", "some service"),
            ]
        };
        let loaded = Load::new(LinkEntries::Refuse).files(good()).unwrap();
        assert_eq!(loaded.metadata.name, "frobnitz");
        let empty = Load::new(LinkEntries::Refuse).files(Vec::new()).err();
        assert_eq!(
            empty,
            Some(Refusal::Helm("Chart.yaml file is missing".into()))
        );
        let mut ordered = good();
        ordered.rotate_left(1);
        ordered.insert(0, file("requirements.yaml", "dependencies:"));
        assert!(Load::new(LinkEntries::Refuse).files(ordered).is_ok());
    }

    #[test]
    fn subcharts_nest_within_a_bound_and_stray_files_in_charts_fail_as_in_helm() {
        let nested = |depth: usize| {
            (0..=depth)
                .map(|d| {
                    file(
                        &format!("{}Chart.yaml", "charts/c/".repeat(d)),
                        "name: c\nversion: 1",
                    )
                })
                .collect::<Vec<_>>()
        };
        assert!(
            Load::new(LinkEntries::Refuse)
                .files(nested(MAX_DEPTH))
                .is_ok()
        );
        let deep = Load::new(LinkEntries::Refuse)
            .files(nested(MAX_DEPTH + 1))
            .err();
        assert!(matches!(deep, Some(Refusal::Safety(why)) if why.contains("nest deeper")));
        // A file right in charts/ is a subchart of no files to Helm: it fails.
        let stray = vec![
            file("Chart.yaml", "name: c\nversion: 1"),
            file("charts/README.md", "x"),
        ];
        let refused = Load::new(LinkEntries::Refuse).files(stray).err();
        assert!(matches!(refused, Some(Refusal::Helm(why)) if why.contains("subchart README.md")));
    }

    #[test]
    fn versions_are_semver_as_masterminds_new_version_reads_it() {
        for good in [
            "1",
            "1.2",
            "v1.2.3",
            "1.2.3-rc.1+b",
            "01.2.3",
            "1.0.0-a-b",
            "1-2",
            "0.0.0+a.b",
        ] {
            assert!(is_semver(good), "{good}");
        }
        for bad in [
            "latest",
            "",
            "v",
            "1.2.3.4",
            "1.0.0-01",
            "1..2",
            "1.0.0-",
            "1.0.0+",
            "1.0.0-a..b",
            "1.0.0\n",
            "99999999999999999999",
            "1.0.0_1",
            "V1.0.0",
        ] {
            assert!(!is_semver(bad), "{bad}");
        }
    }

    #[test]
    fn names_and_paths_follow_go() {
        assert_eq!(base("a/b"), "b");
        assert_eq!(base("/"), "/");
        assert_eq!(base("a/"), "a");
        assert_eq!(clean(b"a/../../b"), b"../b");
        assert_eq!(clean(b""), b".");
        assert_eq!(clean(b"/../x"), b"/x");
        assert_eq!(clean(b"templates/../Chart.yaml"), b"Chart.yaml");
        assert_eq!(ext(b"x.tgz"), b".tgz");
        assert_eq!(ext(b"a.b/c"), b"");
        assert_eq!(sanitize("a\tb\u{200b}\u{7}c"), "a bc");
    }
}
