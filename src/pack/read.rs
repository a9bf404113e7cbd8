//! Reading a pack archive back (a `<name>-<version>.tar.gz` made by `pack`): its pack.json is
//! validated like a folder's, and every entry is checked to be safe to extract (no absolute
//! paths, no `..`, no links or devices, one top-level folder) before anything trusts it.

use super::Identity;
use super::findings::Findings;
use super::validate::{self, PACK_JSON, VALUES_YAML};
use crate::digest::{Digest, HashingWriter};
use crate::exit::{Code, Failure};
use anyhow::Context;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Component, Path};

/// pack.json is small; a larger one is not a pack's.
const PACK_JSON_LIMIT: u64 = 1 << 20;

pub struct Tarball {
    /// pack.json's identity, when it validated far enough to have one.
    pub id: Option<Identity>,
    pub findings: Findings,
    /// Entries that would be unsafe to extract, each with the reason.
    pub unsafe_entries: Vec<String>,
    /// Every regular file under the top folder (path inside it) with its content digest.
    pub files: BTreeMap<String, Digest>,
    /// The single top-level folder, when there is one.
    pub top: Option<String>,
    pub digest: Digest,
    pub size: u64,
}

/// What the entries say, gathered in one pass.
#[derive(Default)]
struct Contents {
    id: Option<Identity>,
    unsafe_entries: Vec<String>,
    files: BTreeMap<String, Digest>,
    top: Option<String>,
}

/// Hashes `path` and, on a second thread reading it side by side, inflates and validates what it
/// holds. A file the user names must also be named `<name>-<version>.tar.gz` after its
/// pack.json (`check_file_name`); a download in a temp file need not.
pub fn inspect(path: &Path, check_file_name: bool) -> anyhow::Result<Tarball> {
    let file = File::open(path).map_err(|err| {
        Failure::err(
            Code::InvalidPack,
            format!("cannot read {}: {err}", path.display()),
        )
    })?;
    let shown = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut findings = Findings::default();
    // Hashing the file and inflating it are independent: on two threads the pass costs the
    // slower of the two, not their sum.
    let (hashed, contents) = std::thread::scope(|scope| {
        let hasher = scope.spawn(|| Digest::of_file(path));
        let contents = entries(&mut BufReader::new(file), &shown, &mut findings);
        (
            hasher.join().expect("the hashing thread does not panic"),
            contents,
        )
    });
    let contents = contents
        .with_context(|| format!("{} is not a gzip-compressed tar archive", path.display()))
        .map_err(|err| Failure::err(Code::InvalidPack, format!("{err:#}")))?;
    let (digest, size) = hashed.with_context(|| format!("cannot read {}", path.display()))?;
    if let Some(id) = contents.id.as_ref().filter(|_| check_file_name) {
        let expected = id.archive_name();
        if shown != expected {
            findings.error(
                &shown,
                None,
                format!("the file name does not match pack.json, which says {expected}"),
                &format!("rename it to {expected}, or re-create it with `packpub pack`"),
            );
        }
    }
    Ok(Tarball {
        id: contents.id,
        findings,
        unsafe_entries: contents.unsafe_entries,
        files: contents.files,
        top: contents.top,
        digest,
        size,
    })
}

fn entries(
    reader: &mut impl Read,
    shown: &str,
    findings: &mut Findings,
) -> anyhow::Result<Contents> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    let mut contents = Contents::default();
    let mut saw_pack_json = false;
    let mut saw_values = false;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        if let Some(problem) = unsafe_entry(&entry, &path) {
            contents.refuse(
                findings,
                shown,
                &path,
                problem,
                "re-create the archive with `packpub pack`",
            );
            continue;
        }
        let first = path.split('/').next().unwrap_or_default().to_string();
        match &contents.top {
            None => contents.top = Some(first.clone()),
            Some(t) if *t != first => {
                let problem = format!("is outside the top-level folder {t:?}");
                contents.refuse(
                    findings,
                    shown,
                    &path,
                    problem,
                    "keep the whole pack under one folder",
                );
                continue;
            }
            Some(_) => {}
        }
        let inner = path[first.len()..].trim_matches('/').to_string();
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let mut hashing = HashingWriter::new(io::sink());
        if inner == PACK_JSON {
            saw_pack_json = true;
            let mut text = String::new();
            (&mut entry)
                .take(PACK_JSON_LIMIT)
                .read_to_string(&mut text)
                .context("pack.json is not UTF-8")?;
            io::Write::write_all(&mut hashing, text.as_bytes())?;
            contents.id = validate::pack_json(&text, findings).map(|(id, _)| id);
        } else {
            saw_values |= inner == VALUES_YAML;
            io::copy(&mut entry, &mut hashing)?;
        }
        contents.files.insert(inner, hashing.finish().0);
    }
    if !saw_pack_json {
        findings.error(
            shown,
            None,
            "holds no <folder>/pack.json".to_string(),
            "pack the folder that holds pack.json",
        );
    }
    if !saw_values {
        findings.error(
            shown,
            None,
            "holds no <folder>/values.yaml".to_string(),
            "add values.yaml to the pack (it may be empty)",
        );
    }
    Ok(contents)
}

impl Tarball {
    /// Whether every entry is safe to extract under one top-level folder.
    pub fn safe_to_extract(&self) -> bool {
        self.unsafe_entries.is_empty() && self.top.is_some()
    }
}

impl Contents {
    /// Records an entry that must never be extracted, as a finding and as an unsafe entry.
    fn refuse(
        &mut self,
        findings: &mut Findings,
        shown: &str,
        path: &str,
        problem: String,
        fix: &str,
    ) {
        findings.error(shown, Some(path), problem.clone(), fix);
        self.unsafe_entries.push(format!("{path}: {problem}"));
    }
}

/// Unpacks a tarball that [`inspect`] found safe into `dir`: first into a temp folder inside
/// `dir`, then the top folder is renamed into place, so a failure leaves nothing behind.
pub fn extract(path: &Path, top: &str, dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let target = dir.join(top);
    anyhow::ensure!(
        !target.exists(),
        "{} already exists; remove it or pull into another folder",
        target.display()
    );
    let staging = tempfile::Builder::new()
        .prefix(".packpub-")
        .tempdir_in(dir)?;
    let file = File::open(path)?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(file)));
    archive.set_preserve_permissions(false);
    archive.set_overwrite(false);
    archive
        .unpack(staging.path())
        .with_context(|| format!("cannot extract {}", path.display()))?;
    std::fs::rename(staging.path().join(top), &target)?;
    Ok(target)
}

/// Why an entry would be unsafe to extract, if it would.
fn unsafe_entry<R: Read>(entry: &tar::Entry<'_, R>, path: &str) -> Option<String> {
    let kind = entry.header().entry_type();
    if !(kind.is_file() || kind.is_dir()) {
        return Some(format!(
            "is a {kind:?} entry; only files and folders are allowed"
        ));
    }
    let p = Path::new(path);
    if p.is_absolute()
        || p.components().any(|c| {
            matches!(
                c,
                Component::ParentDir | Component::RootDir | Component::Prefix(_)
            )
        })
    {
        return Some("has an absolute path or '..'".to_string());
    }
    None
}
