//! A pack as an extractor (Palette) sees it, to tell whether two archives hold the same pack
//! whatever wrote them.

use crate::digest::Digest;
use std::collections::{BTreeMap, BTreeSet};

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
