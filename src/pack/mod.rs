//! Packs on this machine. [`load`] is the one way in: it turns a [`LocalInput`] (a folder, or an
//! archive made by `pack`) into a validated [`LocalPack`] with its identity, archive digest and
//! size, and findings, for `pack`, `push` and `verify` alike, and reports findings in one place.
//! Below it: the model ([`model`]), validation ([`validate`], [`findings`]), the file listing
//! ([`walk`]), writing the reproducible archive ([`write`]) and reading archives back ([`read`]).

pub mod chart;
pub mod findings;
mod gzip;
mod model;
pub mod read;
pub mod rules;
mod validate;
mod values;
mod walk;
pub mod write;

pub use findings::{Finding, Findings, Severity};
pub use model::{Identity, LAYERS, PackName, PackVersion, component_problem};

use crate::cli::{BuildArgs, LocalInput};
use crate::digest::Digest;
use crate::exit::{Code, Failure};
use crate::output::Output;
use anyhow::Context;
use rules::Profile;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A pack folder that passed validation far enough to be archived.
#[derive(Debug)]
pub struct Folder {
    pub id: Identity,
    /// The folder's name: the archive's single top-level directory.
    pub name: String,
    pub entries: Vec<walk::Entry>,
}

impl Folder {
    fn file_count(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e.kind, walk::Kind::File { .. }))
            .count()
    }
}

/// Where a folder's archive goes. An archive given as input stays where it is.
pub enum ArchiveTo<'a> {
    /// `<dir>/<name>-<version>.tar.gz`, written atomically (`pack`).
    Dir(&'a Path),
    /// A temp file removed when the [`LocalPack`] is dropped (`push`).
    Temp,
    /// Nowhere: only its digest and size are computed (`verify`).
    Nowhere,
}

/// A validated local pack and its archive.
pub struct LocalPack {
    pub id: Identity,
    pub archive: Archive,
    /// Warnings that did not block (errors always do).
    pub warnings: Vec<Finding>,
    /// Regular files in the pack.
    pub files: usize,
    origin: Origin,
    limits: read::Limits,
}

/// The archive's digest and size, and where it is on disk (none for [`ArchiveTo::Nowhere`]).
pub struct Archive {
    pub digest: Digest,
    pub size: u64,
    pub path: Option<PathBuf>,
    _temp: Option<tempfile::TempPath>,
}

enum Origin {
    Folder(Folder),
    Tarball(PathBuf),
}

impl LocalPack {
    /// Each regular file's content digest, by path inside the top folder: what `verify` compares
    /// when the archives differ. Computed on demand, since a matching archive never needs it.
    pub fn file_digests(&self) -> anyhow::Result<BTreeMap<String, Digest>> {
        match &self.origin {
            Origin::Tarball(path) => {
                Ok(read::inspect(path, false, self.limits, Profile::Default)?.files)
            }
            Origin::Folder(folder) => folder
                .entries
                .iter()
                .filter(|e| matches!(e.kind, walk::Kind::File { .. }))
                .map(|e| {
                    // Through the walk's own check: still the file that was validated.
                    let (digest, _) = e
                        .open()
                        .and_then(Digest::of_reader)
                        .with_context(|| format!("cannot read {}", e.path))?;
                    Ok((e.path.clone(), digest))
                })
                .collect(),
        }
    }
}

/// Every finding of `input` under `profile`, without building anything: what `lint` reports.
pub fn lint(
    input: &LocalInput,
    profile: Profile,
    limits: read::Limits,
) -> anyhow::Result<Findings> {
    match input {
        LocalInput::Folder(dir) => Ok(inspect(dir, profile)?.1),
        LocalInput::Tarball(path) => Ok(read::inspect(path, true, limits, profile)?.findings),
    }
}

/// Reads and validates `input`, prints its findings, and builds its archive as `to` says.
/// Errors (and warnings under `--strict`) stop with exit 3 before anything is written.
pub fn load(
    input: &LocalInput,
    build: &BuildArgs,
    limits: read::Limits,
    to: ArchiveTo<'_>,
    out: &Output,
) -> anyhow::Result<LocalPack> {
    match input {
        LocalInput::Folder(dir) => {
            let (folder, findings) = inspect(dir, build.profile)?;
            let warnings = accept(findings, folder.is_some(), dir, build, out)?;
            let folder = folder.expect("accept refuses a folder without an identity");
            out.verbose(&format!(
                "archiving {} entries under {}/",
                folder.entries.len(),
                folder.name
            ));
            let archive = write::build(&folder, build.recipe(), to)?;
            Ok(LocalPack {
                id: folder.id.clone(),
                archive,
                warnings,
                files: folder.file_count(),
                origin: Origin::Folder(folder),
                limits,
            })
        }
        LocalInput::Tarball(path) => {
            let tarball = read::inspect(path, true, limits, build.profile)?;
            let warnings = accept(tarball.findings, tarball.id.is_some(), path, build, out)?;
            Ok(LocalPack {
                id: tarball
                    .id
                    .expect("accept refuses an archive without an identity"),
                archive: Archive {
                    digest: tarball.digest,
                    size: tarball.size,
                    path: Some(path.clone()),
                    _temp: None,
                },
                warnings,
                files: tarball.files.len(),
                origin: Origin::Tarball(path.clone()),
                limits,
            })
        }
    }
}

/// Prints every finding; returns the warnings when nothing blocks, else the exit-3 error with
/// the findings as `--json` details. `usable` says whether the identity could be read.
fn accept(
    findings: Findings,
    usable: bool,
    path: &Path,
    build: &BuildArgs,
    out: &Output,
) -> anyhow::Result<Vec<Finding>> {
    for finding in &findings.list {
        match finding.severity {
            Severity::Error => out.error(&finding.to_string()),
            Severity::Warning => out.warn(&finding.to_string()),
        }
    }
    let errors = findings.count(Severity::Error);
    let warnings = findings.count(Severity::Warning);
    let blocking = errors + if build.strict { warnings } else { 0 };
    if usable && blocking == 0 {
        return Ok(findings.list);
    }
    let strict = if build.strict && warnings > 0 {
        " (--strict counts warnings as errors)"
    } else {
        ""
    };
    Err(Failure::with_details(
        Code::InvalidPack,
        format!(
            "{} is not a valid pack: {errors} error(s), {warnings} warning(s){strict}",
            path.display()
        ),
        serde_json::to_value(&findings.list)?,
    ))
}

/// Reads and validates the pack folder `dir`: the folder when its identity could be read, and
/// every finding.
fn inspect(dir: &Path, profile: Profile) -> anyhow::Result<(Option<Folder>, Findings)> {
    let root = std::fs::canonicalize(dir)
        .ok()
        .filter(|root| root.is_dir())
        .ok_or_else(|| {
            Failure::err(
                Code::InvalidPack,
                format!("{} is not a pack folder (no such folder)", dir.display()),
            )
        })?;
    let name = root
        .file_name()
        .and_then(|n| n.to_str())
        .context("the pack folder's name must be valid UTF-8")?
        .to_string();
    let mut findings = Findings::new(profile);
    let mut walk = walk::Walk::new(&root, &mut findings);
    let pack_json = walk.top_file(validate::PACK_JSON, &mut findings);
    let manifest = validate::manifest(pack_json, dir, &mut findings);
    let Some(entries) = walk.run(manifest.as_ref().map(|(id, _)| id), &mut findings) else {
        return Ok((None, findings));
    };
    let layer = manifest
        .as_ref()
        .and_then(|(_, doc)| doc.get("layer")?.as_str());
    let values = validate::standard_files(&entries, layer, &mut findings);
    let folder = manifest.map(|(id, doc)| {
        validate::referenced_files(&doc, &root, &entries, &mut findings);
        validate::charts(&doc, &values, &root, &entries, &mut findings);
        validate::folder_name(&name, &id, &mut findings);
        Folder { id, name, entries }
    });
    Ok((folder, findings))
}
