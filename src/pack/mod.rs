//! Packs on disk: reading and validating a pack folder ([`inspect`]), its model
//! ([`model`]) and its reproducible archive ([`archive`]).

pub mod archive;
mod findings;
mod model;
pub mod tarball;
mod validate;
mod walk;

pub use findings::{Finding, Findings, Severity};
pub use model::{PackName, PackVersion, component_problem};
pub use validate::Identity;
pub use walk::Kind as EntryKind;

use crate::exit::{Code, Failure};
use anyhow::Context;
use std::path::Path;

/// A pack folder that passed validation far enough to be archived.
#[derive(Debug)]
pub struct Pack {
    pub id: Identity,
    /// The folder's name: the archive's single top-level directory.
    pub folder: String,
    pub entries: Vec<walk::Entry>,
}

impl Pack {
    pub fn archive_name(&self) -> String {
        format!("{}-{}.tar.gz", self.id.name, self.id.version)
    }

    pub fn file_count(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e.kind, walk::Kind::File { .. }))
            .count()
    }
}

/// Everything validation found, and the pack when its identity could be read.
pub struct Inspection {
    pub pack: Option<Pack>,
    pub findings: Findings,
}

/// Reads and validates the pack folder `dir`. `outdir` is where the archive will be written:
/// when it lies inside `dir`, the archive itself is left out of the listing.
pub fn inspect(dir: &Path, outdir: Option<&Path>) -> anyhow::Result<Inspection> {
    let root = std::fs::canonicalize(dir)
        .ok()
        .filter(|root| root.is_dir())
        .ok_or_else(|| {
            Failure::err(
                Code::InvalidPack,
                format!("{} is not a pack folder (no such folder)", dir.display()),
            )
        })?;
    let folder = root
        .file_name()
        .and_then(|n| n.to_str())
        .context("the pack folder's name must be valid UTF-8")?
        .to_string();
    let mut findings = Findings::default();
    let manifest = match std::fs::read_to_string(root.join(validate::PACK_JSON)) {
        Ok(text) => validate::pack_json(&text, &mut findings),
        Err(err) => {
            findings.error(
                validate::PACK_JSON,
                None,
                format!("cannot be read in {}: {err}", dir.display()),
                "run packpub in the pack folder or pass the folder that holds pack.json",
            );
            None
        }
    };
    let skip = manifest.as_ref().and_then(|(id, _)| {
        let name = format!("{}-{}.tar.gz", id.name, id.version);
        std::fs::canonicalize(outdir?.join(name)).ok()
    });
    let entries = walk::walk(&root, skip, &mut findings);
    validate::standard_files(&root, &entries, &mut findings);
    let pack = manifest.map(|(id, doc)| {
        validate::referenced_files(&doc, &root, &entries, &mut findings);
        validate::folder_name(&folder, &id, &mut findings);
        Pack {
            id,
            folder,
            entries,
        }
    });
    Ok(Inspection { pack, findings })
}
