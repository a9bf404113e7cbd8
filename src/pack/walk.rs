//! Lists what goes into the archive: every regular file and directory under the pack folder in
//! byte order of their names, so the listing (and thus the archive) never depends on the file
//! system's directory order. `.git`, `.packignore` patterns and the archives `pack` writes
//! (`<name>-<version>.tar.gz` of this pack, any version, anywhere in the folder) stay out, so
//! every verb builds the same archive whatever earlier `pack` runs left in the folder; links are
//! followed only while they stay inside the folder.

use super::Identity;
use super::findings::Findings;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub const IGNORE_FILE: &str = ".packignore";

#[derive(Debug)]
pub struct Entry {
    /// Path inside the pack folder, '/'-separated.
    pub path: String,
    /// Where the bytes are read from (a link's target when the entry is a link).
    pub source: PathBuf,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File { size: u64, executable: bool },
}

struct Walker<'a> {
    root: &'a Path,
    ignore: Gitignore,
    /// The pack whose archives are left out, when pack.json named it.
    id: Option<&'a Identity>,
    /// How many of those archives were left out so far.
    archives_left_out: usize,
    entries: Vec<Entry>,
    findings: &'a mut Findings,
    /// Directories being visited, to stop at a link that loops back.
    stack: Vec<PathBuf>,
}

/// Walks `root` (canonical), leaving out the archives of pack `id`.
pub fn walk<'a>(
    root: &'a Path,
    id: Option<&'a Identity>,
    findings: &'a mut Findings,
) -> Vec<Entry> {
    let mut builder = GitignoreBuilder::new(root);
    let ignore_path = root.join(IGNORE_FILE);
    if ignore_path.is_file()
        && let Some(err) = builder.add(&ignore_path)
    {
        findings.error(
            IGNORE_FILE,
            None,
            format!("cannot be read as gitignore patterns: {err}"),
            "correct the pattern or remove the line",
        );
    }
    let ignore = builder.build().unwrap_or_else(|_| Gitignore::empty());
    let mut walker = Walker {
        root,
        ignore,
        id,
        archives_left_out: 0,
        entries: Vec::new(),
        findings,
        stack: vec![root.to_path_buf()],
    };
    walker.visit(root, "");
    walker.entries
}

impl Walker<'_> {
    fn visit(&mut self, dir: &Path, prefix: &str) {
        let shown = if prefix.is_empty() { "." } else { prefix };
        let mut children = match fs::read_dir(dir).and_then(|rd| rd.collect::<Result<Vec<_>, _>>())
        {
            Ok(children) => children,
            Err(err) => {
                self.findings.error(
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
            let name = child.file_name();
            let Some(name) = name.to_str() else {
                self.findings.error(
                    &format!("{prefix}{}", name.to_string_lossy()),
                    None,
                    "file name is not valid UTF-8".to_string(),
                    "rename the file",
                );
                continue;
            };
            let rel = format!("{prefix}{name}");
            self.visit_entry(&child.path(), rel);
        }
    }

    fn visit_entry(&mut self, path: &Path, rel: String) {
        let Ok(meta) = fs::symlink_metadata(path) else {
            return; // vanished while listing: nothing to pack
        };
        let is_git = path.file_name().is_some_and(|n| n == ".git");
        if is_git || self.ignore.matched(&rel, meta.is_dir()).is_ignore() {
            return;
        }
        let name = rel.rsplit('/').next().unwrap_or(&rel);
        if !meta.is_dir() && self.id.is_some_and(|id| id.is_archive_of_any_version(name)) {
            self.archives_left_out += 1;
            return;
        }
        let (source, meta) = if meta.file_type().is_symlink() {
            match self.resolve_link(path, &rel) {
                Some(resolved) => resolved,
                None => return,
            }
        } else {
            (path.to_path_buf(), meta)
        };
        if meta.is_dir() {
            self.visit_dir(source, rel);
        } else if meta.is_file() {
            if let Err(err) = fs::File::open(&source) {
                self.findings.error(
                    &rel,
                    None,
                    format!("cannot be read: {err}"),
                    "make it readable (chmod u+r) or add it to .packignore",
                );
                return;
            }
            let executable = meta.permissions().mode() & 0o111 != 0;
            self.entries.push(Entry {
                path: rel,
                source,
                kind: Kind::File {
                    size: meta.len(),
                    executable,
                },
            });
        } else {
            self.findings.error(
                &rel,
                None,
                "is not a regular file or directory (socket, pipe or device)".to_string(),
                "remove it or add it to .packignore",
            );
        }
    }

    fn visit_dir(&mut self, source: PathBuf, rel: String) {
        let canonical = fs::canonicalize(&source).unwrap_or_else(|_| source.clone());
        if self.stack.contains(&canonical) {
            self.findings.error(
                &rel,
                None,
                "is a link that loops back to a folder that contains it".to_string(),
                "remove the link or add it to .packignore",
            );
            return;
        }
        let at = self.entries.len();
        let archives_before = self.archives_left_out;
        self.entries.push(Entry {
            path: rel.clone(),
            source: source.clone(),
            kind: Kind::Dir,
        });
        self.stack.push(canonical);
        self.visit(&source, &format!("{rel}/"));
        self.stack.pop();
        // A folder that held only pack archives (`pack -o dist`) exists because of `pack`:
        // it goes too, so the archive is the same as before that run.
        if self.entries.len() == at + 1 && self.archives_left_out > archives_before {
            self.entries.pop();
        }
    }

    /// A link becomes a copy of its target, which must exist inside the pack folder.
    fn resolve_link(&mut self, path: &Path, rel: &str) -> Option<(PathBuf, fs::Metadata)> {
        let target = fs::read_link(path)
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        match fs::canonicalize(path) {
            Ok(real) if real.starts_with(self.root) => {
                let meta = fs::metadata(&real).ok()?;
                Some((real, meta))
            }
            Ok(real) => {
                self.findings.error(
                    rel,
                    None,
                    format!("is a symlink to {target:?}, outside the pack folder ({})", real.display()),
                    "copy the file into the pack folder instead of linking to it, or add the link to .packignore",
                );
                None
            }
            Err(err) => {
                self.findings.error(
                    rel,
                    None,
                    format!("is a symlink to {target:?} that cannot be followed: {err}"),
                    "fix or remove the link",
                );
                None
            }
        }
    }
}
