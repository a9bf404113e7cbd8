//! A chart folder packaged as `helm package` lays a chart out, byte-reproducibly: listed
//! without following links, `.helmignore` honoured, loaded by the same port of Helm's loader
//! as an archive is. `init` takes a chart folder; everything else reads archives.

use super::helm::{self, CHART_LIMIT, FILE_LIMIT};
use super::{Chart, LinkEntries, Refusal, chart, read_capped, shown_name};
use crate::exit::{Code, Failure};
use crate::output::escape;
use flate2::{Compression, GzBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const HELMIGNORE: &str = ".helmignore";

/// Files and folders listed in one chart folder: far above any chart, and low enough that a
/// hostile tree cannot make the listing unbounded.
const MAX_ENTRIES: usize = 100_000;

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
