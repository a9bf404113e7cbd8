//! The one loader of a local pack: [`check`] turns a [`LocalInput`] (a folder, or an archive
//! made by `pack`) into a validated [`Checked`] and prints its findings in one place;
//! [`Checked::build`] (or [`load`], both at once) gives the [`LocalPack`] with its archive, for
//! `pack`, `push` and `verify` alike; [`lint`] reports every finding without building.

use super::allow::{self, Allowed};
use super::allowance::Allowance;
use super::findings::{Finding, Findings};
use super::listing::Listing;
use super::model::Identity;
use super::rules::Profile;
use super::rules::Severity;
use super::write::{self, Archive, ArchiveTo, Folder};
use super::{read, settings, validate, walk};
use crate::digest::Digest;
use crate::exit::{Code, Failure};
use crate::growing::Grown;
use crate::output::{Notes, Output};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// A pack on this machine: a folder holding pack.json, or a `<name>-<version>.tar.gz` made by
/// `pack`. Decided once, here: an existing folder is a folder, anything else is read as an
/// archive when it is a file or is named like one, and otherwise as a (missing) folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalInput {
    Folder(PathBuf),
    Tarball(PathBuf),
}

impl LocalInput {
    pub fn parse(input: &str) -> Result<Self, String> {
        if input.is_empty() {
            return Err(
                "names no pack: pass a pack folder or a .tar.gz made by `packpub pack`".into(),
            );
        }
        let path = PathBuf::from(input);
        Ok(if path.is_dir() {
            Self::Folder(path)
        } else if path.is_file() || input.ends_with(".tar.gz") || input.ends_with(".tgz") {
            Self::Tarball(path)
        } else {
            Self::Folder(path)
        })
    }

    pub fn path(&self) -> &std::path::Path {
        match self {
            Self::Folder(path) | Self::Tarball(path) => path,
        }
    }
}

/// How packs are read, checked and archived in this run.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Warnings block as errors do.
    pub strict: bool,
    /// Which rules are errors.
    pub profile: Profile,
    /// How a folder's archive is built.
    pub recipe: write::Recipe,
    /// The rules allowed for every pack of the run (a folder's settings add its own).
    pub allowed: Allowed,
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

enum Origin {
    Folder(Folder),
    /// An archive made by `pack`, with its digest and size.
    Tarball(PathBuf, Digest, u64),
}

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
    build: &BuildOptions,
    limits: read::Limits,
) -> anyhow::Result<Findings> {
    match input {
        LocalInput::Folder(dir) => Ok(inspect(dir, build)?.findings),
        LocalInput::Tarball(path) => Ok(inspect_tarball(path, build, limits, None)?.findings),
    }
}

/// Reads and validates the archive at `path` as a pack given by the user; only the run's
/// allowances apply (an archive carries no settings file). `hashed` hears of the bytes hashed
/// as they are ([`read::inspect_hashing_to`]): `push` uploads them while the checks go on.
pub fn inspect_tarball(
    path: &Path,
    build: &BuildOptions,
    limits: read::Limits,
    hashed: Option<&tokio::sync::watch::Sender<Grown>>,
) -> anyhow::Result<read::Tarball> {
    let mut tarball = read::inspect_hashing_to(path, true, limits, build.profile, hashed)?;
    build.allowed.apply(&mut tarball.findings);
    Ok(tarball)
}

/// The archive at `path`, read by [`inspect_tarball`], as a checked pack: its findings are
/// printed, and errors (and warnings under `--strict`) stop with exit 3.
pub fn accept_tarball(
    path: &Path,
    tarball: read::Tarball,
    build: &BuildOptions,
    limits: read::Limits,
    out: &Output,
) -> anyhow::Result<Checked> {
    let warnings = accept(tarball.findings, tarball.id.is_some(), path, build, out)?;
    Ok(Checked {
        id: tarball
            .id
            .expect("accept refuses an archive without an identity"),
        warnings,
        allowed: build.allowed.clone(),
        files: tarball.files.len(),
        origin: Origin::Tarball(path.to_path_buf(), tarball.digest, tarball.size),
        limits,
    })
}

/// Reads and validates `input`, prints its findings, and builds its archive as `to` says.
/// Errors (and warnings under `--strict`) stop with exit 3 before anything is written.
pub fn load(
    input: &LocalInput,
    build: &BuildOptions,
    limits: read::Limits,
    to: ArchiveTo<'_>,
    out: &Output,
) -> anyhow::Result<LocalPack> {
    check(input, build, limits, out)?.build(build.recipe, to, &out.notes())
}

/// Reads and validates `input` and prints its findings, building nothing; errors (and
/// warnings under `--strict`) stop with exit 3.
pub fn check(
    input: &LocalInput,
    build: &BuildOptions,
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
            let tarball = inspect_tarball(path, build, limits, None)?;
            accept_tarball(path, tarball, build, limits, out)
        }
    }
}

impl Checked {
    pub fn is_folder(&self) -> bool {
        matches!(self.origin, Origin::Folder(_))
    }

    /// The images values.yaml lists (`pack.content.images`), read as validation read it: from
    /// the folder through the walk's own check, or from the tarball.
    pub fn images(&self) -> anyhow::Result<super::images::Declared> {
        match &self.origin {
            Origin::Tarball(path, ..) => super::images::declared_in_archive(path, self.limits),
            Origin::Folder(folder) => {
                let mut findings = Findings::default();
                let text = walk::file(&folder.entries, super::model::VALUES_YAML)
                    .and_then(|e| e.read_text(super::model::YAML_LIMIT, &mut findings))
                    .unwrap_or_default();
                Ok(super::images::declared(&text))
            }
        }
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
    build: &BuildOptions,
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
fn inspect(dir: &Path, build: &BuildOptions) -> anyhow::Result<Inspected> {
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
    let pack_json = walk.top_file(super::model::PACK_JSON, &mut findings);
    let manifest = super::pack_json::manifest(pack_json, dir, &mut findings);
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
        super::pack_json::folder_name(&name, &id, &mut findings);
        Some(Folder { id, name, entries })
    });
    allowed.apply(&mut findings);
    Ok(Inspected {
        folder,
        findings,
        allowed,
    })
}
