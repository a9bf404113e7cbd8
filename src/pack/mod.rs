//! Packs on this machine. [`load`] is the one way in: it turns a [`LocalInput`] (a folder, or an
//! archive made by `pack`) into a validated [`LocalPack`] with its identity, archive digest and
//! size, and findings, for `pack`, `push` and `verify` alike, and reports findings in one place.
//! Below it: the model ([`model`]), validation ([`validate`], [`findings`]), what the user
//! allowed ([`allow`], and the pack's own [`settings`]), the file listing ([`walk`]), writing the
//! reproducible archive ([`write`]) and reading archives back ([`read`]).

pub mod allow;
pub mod chart;
pub mod findings;
mod gzip;
mod model;
pub mod read;
pub mod rules;
mod settings;
pub mod template;
mod validate;
mod values;
mod walk;
pub mod write;
pub mod yaml;

pub use allow::{Allowance, Allowed};
pub use findings::{Finding, Findings, Omitted, Severity};
/// How archives are compressed, by name ([`gzip::FORMAT`]).
pub use gzip::FORMAT as COMPRESSION;
pub use model::{Identity, LAYERS, PackName, PackVersion, component_problem};
pub use validate::{PACK_JSON, Role, file_findings};

use crate::cli::{BuildArgs, LocalInput};
use crate::digest::Digest;
use crate::exit::{Code, Failure};
use crate::output::{Notes, Output};
use crate::registry::store::Grown;
use anyhow::Context;
use rules::Profile;
use std::collections::{BTreeMap, BTreeSet};
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
    /// A temp file uploaded while it is written: `state` hears of every byte written and of
    /// the end; once nobody listens any more, the build stops (`push` of a new version).
    Growing {
        file: tempfile::NamedTempFile,
        state: &'a tokio::sync::watch::Sender<Grown>,
    },
    /// Nowhere: only its digest and size are computed (`verify`).
    Nowhere,
}

/// A local pack that passed validation: a folder whose archive is not built yet, or an archive
/// made by `pack`.
pub struct Checked {
    pub id: Identity,
    /// Warnings that did not block (errors always do), and the findings the user allowed.
    pub warnings: Vec<Finding>,
    /// What the user allowed in this pack: the run's rules and, for a folder, its
    /// `.packpub.yaml`; `verify` applies the same to the registry's copy.
    pub allowed: Allowed,
    /// Regular files in the pack.
    pub files: usize,
    origin: Origin,
    limits: read::Limits,
}

/// A validated local pack and its archive.
pub struct LocalPack {
    pub id: Identity,
    pub archive: Archive,
    pub warnings: Vec<Finding>,
    pub allowed: Allowed,
    pub files: usize,
    origin: Origin,
    limits: read::Limits,
}

/// The archive's digest and size, and where it is on disk (none for [`ArchiveTo::Nowhere`]).
pub struct Archive {
    pub digest: Digest,
    pub size: u64,
    pub path: Option<PathBuf>,
    /// The digest of the uncompressed tar stream of a folder's archive: what the re-push cache
    /// is keyed by ([`crate::cache`]).
    pub tar: Option<Digest>,
    _temp: Option<tempfile::TempPath>,
}

enum Origin {
    Folder(Folder),
    /// An archive made by `pack`, with its digest and size.
    Tarball(PathBuf, Digest, u64),
}

/// What a pack holds as an extractor (Palette) sees it: the top folder, every file with its
/// content digest, which files are executable, and every folder, named or implied by a path
/// below it. Two archives with equal listings differ only in how they were written
/// (compression, timestamps, owners, entry order): the same pack.
#[derive(Debug, PartialEq, Eq)]
pub struct Listing {
    pub top: Option<String>,
    pub files: BTreeMap<String, Digest>,
    pub executables: BTreeSet<String>,
    pub dirs: BTreeSet<String>,
}

impl Listing {
    pub fn new(
        top: Option<String>,
        files: BTreeMap<String, Digest>,
        executables: BTreeSet<String>,
        dirs: impl Iterator<Item = String>,
    ) -> Self {
        let mut dirs: BTreeSet<String> = dirs.collect();
        for path in files.keys().chain(dirs.clone().iter()) {
            let mut parent = path.as_str();
            while let Some((above, _)) = parent.rsplit_once('/') {
                dirs.insert(above.to_string());
                parent = above;
            }
        }
        Self {
            top,
            files,
            executables,
            dirs,
        }
    }

    /// How `other` (the registry's) differs from this (the local pack), for people (the first
    /// [`SHOWN_DIFFERENCES`] paths of each kind, and the count of the rest); `None`
    /// when the two are the same pack.
    pub fn differences(&self, other: &Listing) -> Option<String> {
        let only = |a: &BTreeMap<String, Digest>, b: &BTreeMap<String, Digest>| -> Vec<String> {
            a.keys().filter(|k| !b.contains_key(*k)).cloned().collect()
        };
        let changed: Vec<String> = self
            .files
            .iter()
            .filter(|(k, d)| other.files.get(*k).is_some_and(|r| r != *d))
            .map(|(k, _)| k.clone())
            .collect();
        let modes: Vec<String> = self
            .executables
            .symmetric_difference(&other.executables)
            .cloned()
            .collect();
        let folders: Vec<String> = self
            .dirs
            .symmetric_difference(&other.dirs)
            .cloned()
            .collect();
        let mut parts = Vec::new();
        if self.top != other.top {
            parts.push(format!(
                "top folder {} here, {} in the registry",
                self.top.as_deref().unwrap_or("(none)"),
                other.top.as_deref().unwrap_or("(none)")
            ));
        }
        for (label, list) in [
            ("only in the registry", only(&other.files, &self.files)),
            ("only here", only(&self.files, &other.files)),
            ("changed", changed),
            ("executable in one only", modes),
            ("folders in one only", folders),
        ] {
            // The first few name the change; the rest are counted.
            let (shown, rest) = list.split_at(list.len().min(SHOWN_DIFFERENCES));
            match rest.len() {
                0 if shown.is_empty() => {}
                0 => parts.push(format!("{label}: {}", shown.join(", "))),
                more => parts.push(format!("{label}: {} and {more} more", shown.join(", "))),
            }
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// Paths of each kind of difference named; the rest are counted.
const SHOWN_DIFFERENCES: usize = 5;

impl LocalPack {
    /// What the archive holds, without reading it back: for a folder, from the walk (file
    /// contents read again through the walk's own check).
    pub fn listing(&self) -> anyhow::Result<Listing> {
        match &self.origin {
            Origin::Tarball(path, ..) => {
                Ok(read::inspect(path, false, self.limits, Profile::Default)?.listing())
            }
            Origin::Folder(folder) => {
                let files = folder
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
                    .collect::<anyhow::Result<_>>()?;
                let executables = folder
                    .entries
                    .iter()
                    .filter(|e| {
                        matches!(
                            e.kind,
                            walk::Kind::File {
                                executable: true,
                                ..
                            }
                        )
                    })
                    .map(|e| e.path.clone())
                    .collect();
                let dirs = folder
                    .entries
                    .iter()
                    .filter(|e| matches!(e.kind, walk::Kind::Dir))
                    .map(|e| e.path.clone());
                Ok(Listing::new(
                    Some(folder.name.clone()),
                    files,
                    executables,
                    dirs,
                ))
            }
        }
    }
}

/// Every finding of `input` under `build`'s profile, those the user allowed marked, without
/// building anything: what `lint` reports.
pub fn lint(
    input: &LocalInput,
    build: &BuildArgs,
    limits: read::Limits,
) -> anyhow::Result<Findings> {
    match input {
        LocalInput::Folder(dir) => Ok(inspect(dir, build)?.findings),
        LocalInput::Tarball(path) => Ok(inspect_tarball(path, build, limits)?.findings),
    }
}

/// Reads and validates the archive at `path` as a pack given by the user; only the run's
/// allowances apply (an archive carries no settings file).
fn inspect_tarball(
    path: &Path,
    build: &BuildArgs,
    limits: read::Limits,
) -> anyhow::Result<read::Tarball> {
    let mut tarball = read::inspect(path, true, limits, build.profile)?;
    build.allowed.apply(&mut tarball.findings);
    Ok(tarball)
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
    check(input, build, limits, out)?.build(build.recipe(), to, &out.notes())
}

/// Reads and validates `input` and prints its findings, building nothing; errors (and
/// warnings under `--strict`) stop with exit 3.
pub fn check(
    input: &LocalInput,
    build: &BuildArgs,
    limits: read::Limits,
    out: &Output,
) -> anyhow::Result<Checked> {
    match input {
        LocalInput::Folder(dir) => {
            let Inspected {
                folder,
                findings,
                allowed,
            } = inspect(dir, build)?;
            let warnings = accept(findings, folder.is_some(), dir, build, out)?;
            let folder = folder.expect("accept refuses a folder without an identity");
            Ok(Checked {
                id: folder.id.clone(),
                warnings,
                allowed,
                files: folder.file_count(),
                origin: Origin::Folder(folder),
                limits,
            })
        }
        LocalInput::Tarball(path) => {
            let tarball = inspect_tarball(path, build, limits)?;
            let warnings = accept(tarball.findings, tarball.id.is_some(), path, build, out)?;
            Ok(Checked {
                id: tarball
                    .id
                    .expect("accept refuses an archive without an identity"),
                warnings,
                allowed: build.allowed.clone(),
                files: tarball.files.len(),
                origin: Origin::Tarball(path.clone(), tarball.digest, tarball.size),
                limits,
            })
        }
    }
}

impl Checked {
    pub fn is_folder(&self) -> bool {
        matches!(self.origin, Origin::Folder(_))
    }

    /// The bytes of a folder's files, or of an archive given as input: what a progress bar
    /// counts against.
    pub fn size(&self) -> u64 {
        match &self.origin {
            Origin::Folder(folder) => folder
                .entries
                .iter()
                .map(|e| match e.kind {
                    walk::Kind::File { size, .. } => size,
                    walk::Kind::Dir => 0,
                })
                .sum(),
            Origin::Tarball(_, _, size) => *size,
        }
    }

    /// The digest of a folder's uncompressed tar stream, read without compressing anything:
    /// the re-push cache's key. `None` for an archive given as input.
    pub fn tar_digest(&self, recipe: write::Recipe) -> anyhow::Result<Option<Digest>> {
        match &self.origin {
            Origin::Folder(folder) => write::tar_digest(folder, recipe.mtime).map(Some),
            Origin::Tarball(..) => Ok(None),
        }
    }

    /// The pack with its archive: a folder's built as `recipe` and `to` say; an archive given
    /// as input as it is.
    pub fn build(
        self,
        recipe: write::Recipe,
        to: ArchiveTo<'_>,
        notes: &Notes,
    ) -> anyhow::Result<LocalPack> {
        let archive = match &self.origin {
            Origin::Folder(folder) => {
                notes.verbose(&format!(
                    "archiving {} entries under {}/",
                    folder.entries.len(),
                    folder.name
                ));
                write::build(folder, recipe, to)?
            }
            Origin::Tarball(path, digest, size) => Archive {
                digest: *digest,
                size: *size,
                path: Some(path.clone()),
                tar: None,
                _temp: None,
            },
        };
        Ok(LocalPack {
            id: self.id,
            archive,
            warnings: self.warnings,
            allowed: self.allowed,
            files: self.files,
            origin: self.origin,
            limits: self.limits,
        })
    }
}

/// `file` of the pack at `pack` (the path the user gave), as findings name it.
pub fn located(pack: &str, file: &str) -> String {
    if file == "." {
        pack.to_string()
    } else {
        format!("{pack}/{file}")
    }
}

/// Prints a finding (or the count of those past the cap) of `severity` as `line`: an error, a
/// warning, or when the user allowed it a `-v` note.
pub fn print_finding(severity: Severity, allowed: &Option<Allowance>, line: &str, out: &Output) {
    match (allowed, severity) {
        (Some(allowance), _) => out.verbose(&format!("allowed by {}: {line}", allowance.by)),
        (None, Severity::Error) => out.error(line),
        (None, Severity::Warning) => out.warn(line),
    }
}

/// Prints every finding (those the user allowed in one line, each with `-v`); returns the
/// warnings and the allowed findings when nothing blocks, else the exit-3 error with the
/// findings as `--json` details. `usable` says whether the identity could be read.
fn accept(
    findings: Findings,
    usable: bool,
    path: &Path,
    build: &BuildArgs,
    out: &Output,
) -> anyhow::Result<Vec<Finding>> {
    // Every line names its pack, as lint's do: several packs' lines mix in one run.
    let pack = path.display().to_string();
    let pack = pack.trim_end_matches('/');
    for finding in &findings.list {
        let line = finding.line(&located(pack, &finding.file));
        print_finding(finding.severity, &finding.allowed, &line, out);
    }
    for omitted in &findings.omitted {
        let line = omitted.line(&located(pack, &omitted.file));
        print_finding(omitted.severity, &omitted.allowed, &line, out);
    }
    if let Some(summary) = allow::summary(&findings.list, &findings.omitted) {
        out.warn(&format!("{pack}: {summary}"));
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

/// A pack folder read and validated.
struct Inspected {
    /// The folder, when its identity could be read.
    folder: Option<Folder>,
    /// Every finding, those the user allowed marked.
    findings: Findings,
    /// What the user allowed: the run's rules, and the folder's settings.
    allowed: Allowed,
}

/// Reads and validates the pack folder `dir` under `build`'s profile and allowances.
fn inspect(dir: &Path, build: &BuildArgs) -> anyhow::Result<Inspected> {
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
    let mut findings = Findings::new(build.profile);
    let mut walk = walk::Walk::new(&root, &mut findings);
    let allowed = build
        .allowed
        .with_pack(settings::read(&mut walk, &mut findings));
    let pack_json = walk.top_file(validate::PACK_JSON, &mut findings);
    let manifest = validate::manifest(pack_json, dir, &mut findings);
    let id = manifest.as_ref().and_then(|(id, _)| id.as_ref());
    let Some(entries) = walk.run(id, &mut findings) else {
        allowed.apply(&mut findings);
        return Ok(Inspected {
            folder: None,
            findings,
            allowed,
        });
    };
    let layer = manifest
        .as_ref()
        .and_then(|(_, doc)| doc.get("layer")?.as_str());
    let values = validate::standard_files(&entries, layer, &mut findings);
    // The files pack.json names are checked even when its identity is not usable: every
    // problem at once.
    let folder = manifest.and_then(|(id, doc)| {
        validate::referenced_files(&doc, &root, &entries, &mut findings);
        validate::charts(&doc, &values, &root, &entries, &allowed, &mut findings);
        let id = id?;
        validate::folder_name(&name, &id, &mut findings);
        Some(Folder { id, name, entries })
    });
    allowed.apply(&mut findings);
    Ok(Inspected {
        folder,
        findings,
        allowed,
    })
}
