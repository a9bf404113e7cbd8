//! Lists what goes into the archive: every regular file and directory under the pack folder in
//! byte order of their names, so the listing (and thus the archive) never depends on the file
//! system's directory order. `.git`, `.packignore` patterns, packpub's own settings
//! (`.packpub.yaml` at the root, read by [`Walk::settings_file`] but never packed) and the
//! archives `pack` writes (`<name>-<version>.tar.gz` of this pack, any version, anywhere in the
//! folder) stay out, so every verb builds the same archive whatever earlier `pack` runs left in
//! the folder.
//!
//! Everything in the folder is hostile:
//! - a file is opened only once its type is known, never through a link the walk did not
//!   resolve and never waiting on a pipe, and the walk records which file it saw (device and
//!   inode), so a file swapped since is refused when it is read ([`Entry::open`]);
//! - a link to a file inside the folder becomes a copy of it, a link leaving the folder is
//!   refused, and so is a link to a folder inside it (that folder is packed under its own path
//!   already), so links can neither reach out nor multiply entries;
//! - a path is excluded when its own path is, and a link also when its target's path is, so a
//!   link cannot bring in `.git` or what `.packignore` leaves out;
//! - each real folder (device and inode) is visited once, and the walk stops at
//!   [`MAX_ENTRIES`].

use super::Identity;
use super::allowance::SETTINGS_FILE;
use super::findings::Findings;
use super::rules::Rule;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::collections::{HashMap, HashSet};
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const IGNORE_FILE: &str = ".packignore";
/// Patterns, not data: a `.packignore` anywhere near this size is not a list of patterns.
const IGNORE_FILE_LIMIT: u64 = 1 << 20;
/// Files and folders in one pack, and names listed in one folder: far above any pack
/// (pack-central's largest holds a few hundred), and low enough that a hostile folder cannot
/// make the walk take unbounded time or memory.
pub const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone)]
pub struct Entry {
    /// Path inside the pack folder, '/'-separated.
    pub path: String,
    /// Where the bytes are read from: a real path (a link's resolved target when the entry is a
    /// link), never one that goes through a link.
    pub source: PathBuf,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File {
        size: u64,
        executable: bool,
        /// The file the walk saw, so a file swapped since can be told apart.
        id: FileId,
    },
}

/// Which file (or folder) on which file system: what stays the same for one file whatever its
/// paths, and differs as soon as a path is made to point at another file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(meta: &Metadata) -> Self {
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

impl Entry {
    /// Opens the file for reading, provided it is still the file the walk recorded: a regular
    /// file with the same device, inode and size, reached without following a link. Anything
    /// else was swapped after validation, and reading it would pack what was never validated.
    pub fn open(&self) -> io::Result<File> {
        let Kind::File { size, id, .. } = self.kind else {
            return Err(io::ErrorKind::IsADirectory.into());
        };
        let (file, meta) = open_regular(&self.source)?;
        if FileId::of(&meta) != id || meta.len() != size {
            return Err(changed());
        }
        Ok(file)
    }

    /// Reads a file that validation parses, as UTF-8 text of at most `limit` bytes (a whole
    /// number of KiB); a larger file is reported, and never read past the limit.
    pub fn read_text(&self, limit: u64, findings: &mut Findings) -> Option<String> {
        let mut bytes = Vec::new();
        let read = self
            .open()
            .and_then(|file| file.take(limit + 1).read_to_end(&mut bytes));
        if let Err(err) = read {
            unreadable(findings, &self.path, err);
            return None;
        }
        if bytes.len() as u64 > limit {
            let shown = if limit >= 1 << 20 {
                format!("{} MiB", limit >> 20)
            } else {
                format!("{} KiB", limit >> 10)
            };
            findings.add(
                Rule::FileUnreadable,
                &self.path,
                None,
                format!("is larger than {shown} ({limit} bytes), the limit for this file"),
                &format!("keep {} under {shown}", self.path),
            );
            return None;
        }
        String::from_utf8(bytes)
            .map_err(|err| {
                findings.add(
                    Rule::FileUnreadable,
                    &self.path,
                    None,
                    format!("is not UTF-8 text: {}", err.utf8_error()),
                    "save it as UTF-8",
                )
            })
            .ok()
    }
}

fn changed() -> io::Error {
    io::Error::other("changed while it was being packed; run again")
}

fn unreadable(findings: &mut Findings, rel: &str, err: impl std::fmt::Display) {
    findings.add(
        Rule::FileUnreadable,
        rel,
        None,
        format!("cannot be read: {err}"),
        "make it readable (chmod u+r) or add it to .packignore",
    );
}

/// Opens `path`, which was seen to be a regular file, without following a link in its last
/// component and without waiting for a writer should it have become a pipe since; the handle's
/// own metadata says what was opened.
fn open_regular(path: &Path) -> io::Result<(File, Metadata)> {
    let file = OpenOptions::new()
        .read(true)
        // O_NONBLOCK changes nothing for a regular file's reads (open(2)).
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|err| {
            if err.raw_os_error() == Some(libc::ELOOP) {
                changed()
            } else {
                err
            }
        })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(changed());
    }
    Ok((file, meta))
}

/// What a path in the pack folder turned out to be, links resolved.
#[derive(Debug, Clone)]
pub enum Look {
    /// A regular file (or a link to one inside the folder), opened once to prove it readable.
    File(Entry),
    /// A folder, not a link to one; its metadata identifies it.
    Dir(Metadata),
    Missing,
    /// Left out of the archive (`.git`, `.packignore`, `.packpub.yaml`, an archive of this
    /// pack).
    Excluded,
    /// Unusable; the problem is already reported.
    Refused,
}

/// The walk over one pack folder.
pub struct Walk<'a> {
    /// The pack folder, canonical.
    root: &'a Path,
    ignore: Gitignore,
    /// The pack whose archives are left out, when pack.json named it.
    id: Option<&'a Identity>,
    /// How many of those archives were left out so far.
    archives_left_out: usize,
    entries: Vec<Entry>,
    /// Every real folder packed so far.
    dirs: HashSet<FileId>,
    /// Top-level files looked at before the walk ([`Walk::top_file`]), by name.
    early: HashMap<String, Look>,
    /// Set once a limit ([`MAX_ENTRIES`]) is reached: the walk stops.
    cut_short: bool,
}

impl<'a> Walk<'a> {
    /// Prepares the walk of `root` (canonical): reads its `.packignore`.
    pub fn new(root: &'a Path, findings: &mut Findings) -> Self {
        let mut walk = Self {
            root,
            ignore: Gitignore::empty(),
            id: None,
            archives_left_out: 0,
            entries: Vec::new(),
            dirs: HashSet::new(),
            early: HashMap::new(),
            cut_short: false,
        };
        let patterns = match walk.top_file(IGNORE_FILE, findings) {
            Look::File(entry) => entry.read_text(IGNORE_FILE_LIMIT, findings),
            _ => None,
        };
        let mut builder = GitignoreBuilder::new(root);
        let from = root.join(IGNORE_FILE);
        // Read the way `GitignoreBuilder::add` reads a file, but from the capped text.
        for (i, line) in patterns
            .as_deref()
            .unwrap_or_default()
            .trim_start_matches('\u{feff}')
            .lines()
            .enumerate()
        {
            if let Err(err) = builder.add_line(Some(from.clone()), line) {
                findings.add(
                    Rule::PackignorePattern,
                    IGNORE_FILE,
                    Some(&format!("line {}", i + 1)),
                    format!("cannot be read as a gitignore pattern: {err}"),
                    "correct the pattern or remove the line",
                );
            }
        }
        walk.ignore = builder.build().unwrap_or_else(|_| Gitignore::empty());
        walk
    }

    /// Looks at the top-level file `name` the way the walk does, for validation that must read
    /// it before the walk (pack.json, `.packignore`). The walk then packs what was seen here, so
    /// a problem is reported once and what was read is what is packed.
    pub fn top_file(&mut self, name: &str, findings: &mut Findings) -> Look {
        let look = self.look(&self.root.join(name), name, findings);
        if !matches!(look, Look::Dir(_)) {
            self.early.insert(name.to_string(), look.clone());
        }
        look
    }

    /// Walks the folder, leaving out the archives of pack `id`; `None` when a limit cut the walk
    /// short (reported), since what it did not reach is not missing from the folder.
    pub fn run(mut self, id: Option<&'a Identity>, findings: &mut Findings) -> Option<Vec<Entry>> {
        self.id = id;
        match fs::metadata(self.root) {
            Ok(meta) => {
                self.dirs.insert(FileId::of(&meta));
                self.visit(self.root, "", findings);
            }
            Err(err) => findings.add(
                Rule::FolderSize,
                ".",
                None,
                format!("cannot be read: {err}"),
                "make the pack folder readable",
            ),
        }
        (!self.cut_short).then_some(self.entries)
    }

    fn visit(&mut self, dir: &Path, prefix: &str, findings: &mut Findings) {
        let shown = if prefix.is_empty() { "." } else { prefix };
        let listed = fs::read_dir(dir)
            .and_then(|rd| rd.take(MAX_ENTRIES + 1).collect::<Result<Vec<_>, _>>());
        let mut children = match listed {
            Ok(children) if children.len() > MAX_ENTRIES => {
                self.cut_short = true;
                findings.add(
                    Rule::FolderSize,
                    shown,
                    None,
                    format!("holds more than {MAX_ENTRIES} entries; no pack folder is that large"),
                    "add the folder to .packignore",
                );
                return;
            }
            Ok(children) => children,
            Err(err) => {
                findings.add(
                    Rule::FolderSize,
                    shown,
                    None,
                    format!("cannot list directory: {err}"),
                    "make it readable (chmod u+rx) or add it to .packignore",
                );
                return;
            }
        };
        children.sort_by(|a, b| {
            a.file_name()
                .as_encoded_bytes()
                .cmp(b.file_name().as_encoded_bytes())
        });
        for child in children {
            if self.cut_short {
                return;
            }
            let name = child.file_name();
            let Some(name) = name.to_str() else {
                findings.add(
                    Rule::SpecialFile,
                    &format!("{prefix}{}", name.to_string_lossy()),
                    None,
                    "file name is not valid UTF-8".to_string(),
                    "rename the file",
                );
                continue;
            };
            let rel = format!("{prefix}{name}");
            let path = child.path();
            let look = match self.early.remove(&rel) {
                // `.packignore` was looked at before its patterns were known; they apply to it.
                Some(_) if self.excluded(Path::new(&rel), false) => Look::Excluded,
                Some(look) => look,
                None => self.look(&path, &rel, findings),
            };
            match look {
                Look::File(entry) => self.push(entry, findings),
                Look::Dir(meta) => self.visit_dir(&path, rel, &meta, findings),
                Look::Missing | Look::Excluded | Look::Refused => {}
            }
        }
    }

    /// The pack's settings file ([`SETTINGS_FILE`]) as the walk sees any file, links resolved
    /// and problems reported, though it is never packed: what leaves it out of the archive
    /// does not keep it from being read.
    pub fn settings_file(&mut self, findings: &mut Findings) -> Look {
        let path = self.root.join(SETTINGS_FILE);
        self.look_at(&path, SETTINGS_FILE, true, findings)
    }

    /// What `path` (`rel` inside the pack) is, without following links it should not; every
    /// problem is reported here.
    fn look(&mut self, path: &Path, rel: &str, findings: &mut Findings) -> Look {
        self.look_at(path, rel, false, findings)
    }

    /// [`Walk::look`]; with `read_anyway`, also when `rel` itself is left out of the archive.
    fn look_at(
        &mut self,
        path: &Path,
        rel: &str,
        read_anyway: bool,
        findings: &mut Findings,
    ) -> Look {
        let meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Look::Missing,
            Err(err) => {
                unreadable(findings, rel, err);
                return Look::Refused;
            }
        };
        if !read_anyway && self.excluded(Path::new(rel), meta.is_dir()) {
            return Look::Excluded;
        }
        let (source, meta) = if meta.file_type().is_symlink() {
            let Some((source, inside, meta)) = self.resolve_link(path, rel, findings) else {
                return Look::Refused;
            };
            if self.excluded(&inside, meta.is_dir()) {
                return Look::Excluded;
            }
            if meta.is_dir() {
                let shown = if inside.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    &inside
                };
                findings.add(Rule::Link,
                    rel,
                    None,
                    format!(
                        "links to a folder that is already in the pack ({})",
                        shown.display()
                    ),
                    "remove the link (the folder is packed under its own path) or add the link to .packignore",
                );
                return Look::Refused;
            }
            (source, meta)
        } else if meta.is_dir() {
            return Look::Dir(meta);
        } else {
            (path.to_path_buf(), meta)
        };
        if !meta.is_file() {
            findings.add(
                Rule::SpecialFile,
                rel,
                None,
                "is not a regular file or directory (socket, pipe or device)".to_string(),
                "replace it with a regular file, remove it, or add it to .packignore",
            );
            return Look::Refused;
        }
        match open_regular(&source) {
            Ok((_, meta)) => Look::File(Entry {
                path: rel.to_string(),
                source,
                kind: Kind::File {
                    size: meta.len(),
                    executable: meta.permissions().mode() & 0o111 != 0,
                    id: FileId::of(&meta),
                },
            }),
            Err(err) => {
                unreadable(findings, rel, err);
                Look::Refused
            }
        }
    }

    /// Whether `rel` (a path inside the pack) stays out: under `.git`, packpub's settings file,
    /// matched by `.packignore` (itself or a folder above it), or an archive of this pack.
    /// Asked of every path and of every link's target.
    fn excluded(&mut self, rel: &Path, is_dir: bool) -> bool {
        if rel.components().any(|c| c.as_os_str() == ".git")
            || rel == Path::new(SETTINGS_FILE)
            || self
                .ignore
                .matched_path_or_any_parents(rel, is_dir)
                .is_ignore()
        {
            return true;
        }
        let name = rel.file_name().and_then(|n| n.to_str());
        let archive = !is_dir
            && self
                .id
                .zip(name)
                .is_some_and(|(id, name)| id.is_archive_of_any_version(name));
        self.archives_left_out += usize::from(archive);
        archive
    }

    fn visit_dir(&mut self, path: &Path, rel: String, meta: &Metadata, findings: &mut Findings) {
        if !self.dirs.insert(FileId::of(meta)) {
            findings.add(
                Rule::Link,
                &rel,
                None,
                "is a folder that is already in the pack under another path (mounted twice)"
                    .to_string(),
                "unmount it or add it to .packignore",
            );
            return;
        }
        let at = self.entries.len();
        let archives_before = self.archives_left_out;
        self.push(
            Entry {
                path: rel.clone(),
                source: path.to_path_buf(),
                kind: Kind::Dir,
            },
            findings,
        );
        self.visit(path, &format!("{rel}/"), findings);
        // A folder that held only pack archives (`pack -o dist`) exists because of `pack`:
        // it goes too, so the archive is the same as before that run.
        if self.entries.len() == at + 1 && self.archives_left_out > archives_before {
            self.entries.pop();
        }
    }

    fn push(&mut self, entry: Entry, findings: &mut Findings) {
        if self.entries.len() == MAX_ENTRIES {
            self.cut_short = true;
            findings.add(
                Rule::FolderSize,
                ".",
                None,
                format!("holds more than {MAX_ENTRIES} files and folders; no pack is that large"),
                "add generated or vendored folders to .packignore",
            );
            return;
        }
        self.entries.push(entry);
    }

    /// A link's target when it is inside the pack folder: its real path, its path inside the
    /// pack, and what it is.
    fn resolve_link(
        &self,
        path: &Path,
        rel: &str,
        findings: &mut Findings,
    ) -> Option<(PathBuf, PathBuf, Metadata)> {
        let target = fs::read_link(path)
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        let real = match fs::canonicalize(path) {
            Ok(real) => real,
            Err(err) => {
                findings.add(
                    Rule::Link,
                    rel,
                    None,
                    format!("is a symlink to {target:?} that cannot be followed: {err}"),
                    "fix or remove the link",
                );
                return None;
            }
        };
        let Ok(inside) = real.strip_prefix(self.root).map(Path::to_path_buf) else {
            findings.add(Rule::Link,
                rel,
                None,
                format!("is a symlink to {target:?}, outside the pack folder ({})", real.display()),
                "copy the file into the pack folder instead of linking to it, or add the link to .packignore",
            );
            return None;
        };
        // The real path holds no link, unless one was swapped in since: then it is no regular
        // file or folder, and refused as such.
        match fs::symlink_metadata(&real) {
            Ok(meta) => Some((real, inside, meta)),
            Err(err) => {
                unreadable(findings, rel, err);
                None
            }
        }
    }
}

/// The regular file at `path` among the walk's entries.
pub fn file<'a>(entries: &'a [Entry], path: &str) -> Option<&'a Entry> {
    entries
        .iter()
        .find(|e| e.path == path && matches!(e.kind, Kind::File { .. }))
}
