//! A published pack seen where Palette reads it: in a registry or a local OCI layout. `verify`,
//! `ls` and `pull` ask the same questions of both (manifest by tag, blob by digest, repositories,
//! tags), so each command is written once.

use crate::registry::client::Registry;
use crate::registry::layout::Layout;
use crate::registry::reference::Target;
use anyhow::Context;
use std::path::Path;

pub enum Remote {
    Registry { registry: Registry, prefix: String },
    Layout(Layout),
}

impl Remote {
    /// `[PROJECT/]spectro-packs/archive/<name>` on a registry; the layout's ref names have no
    /// project.
    pub fn repository(&self, name: &str) -> String {
        match self {
            Remote::Registry { prefix, .. } => {
                format!("{}/{name}", Target::base_repository(prefix))
            }
            Remote::Layout(_) => format!("{}/{name}", Target::base_repository("")),
        }
    }

    /// How the user would name `repository:tag` here.
    pub fn display(&self, repository: &str, tag: &str) -> String {
        match self {
            Remote::Registry { registry, .. } => format!("{}/{repository}:{tag}", registry.host()),
            Remote::Layout(layout) => format!("oci:{}:{repository}:{tag}", layout.root().display()),
        }
    }

    /// Whether the base path exists, with a detail line for `verify`.
    pub async fn base_path_exists(&self) -> anyhow::Result<(bool, String)> {
        match self {
            Remote::Registry { registry, prefix } => {
                let base = Target::base_repository(prefix);
                let exists = registry.base_path_exists(&base).await?
                    || registry
                        .catalog(1000)
                        .await
                        .is_ok_and(|repos| repos.contains(&base));
                Ok((
                    exists,
                    if exists {
                        format!("{}/{base} exists", registry.host())
                    } else {
                        format!(
                            "{}/{base} does not exist; `packpub push` creates it",
                            registry.host()
                        )
                    },
                ))
            }
            Remote::Layout(_) => Ok((true, "an OCI layout needs no base path".to_string())),
        }
    }

    /// The manifest bytes and digest at `repository:tag`, if the tag exists.
    pub async fn manifest(
        &self,
        repository: &str,
        tag: &str,
    ) -> anyhow::Result<Option<(Vec<u8>, String)>> {
        match self {
            Remote::Registry { registry, .. } => {
                registry
                    .manifest(&registry.reference(repository, tag))
                    .await
            }
            Remote::Layout(layout) => match layout.find(&format!("{repository}:{tag}"))? {
                Some(listed) => Ok(Some((layout.read_blob(&listed.digest)?, listed.digest))),
                None => Ok(None),
            },
        }
    }

    /// Streams blob `digest` of `repository` into the file at `dest`.
    pub async fn download(
        &self,
        repository: &str,
        digest: &str,
        dest: &Path,
    ) -> anyhow::Result<()> {
        let mut file = tokio::fs::File::create(dest)
            .await
            .with_context(|| format!("cannot write {}", dest.display()))?;
        match self {
            Remote::Registry { registry, .. } => {
                let reference = registry.digest_reference(repository, digest);
                registry
                    .download_blob(&reference, digest, &mut file)
                    .await
                    .map(drop)
            }
            Remote::Layout(layout) => {
                let mut source = tokio::fs::File::open(layout.blob_path(digest))
                    .await
                    .with_context(|| format!("the layout lacks blob {digest}"))?;
                tokio::io::copy(&mut source, &mut file).await?;
                Ok(())
            }
        }
    }

    /// The pack names under the base path (`None` when the registry forbids the catalog).
    pub async fn pack_names(&self, page: usize) -> anyhow::Result<Vec<String>> {
        let base = format!("{}/", self.repository("").trim_end_matches('/'));
        let repositories = match self {
            Remote::Registry { registry, .. } => registry.catalog(page).await?,
            Remote::Layout(layout) => layout
                .ref_names()?
                .into_iter()
                .filter_map(|r| r.rsplit_once(':').map(|(repo, _)| repo.to_string()))
                .collect(),
        };
        let mut names: Vec<String> = repositories
            .iter()
            .filter_map(|r| r.strip_prefix(&base))
            .filter(|n| !n.is_empty() && !n.contains('/'))
            .map(str::to_string)
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    pub async fn tags(&self, repository: &str, page: usize) -> anyhow::Result<Vec<String>> {
        match self {
            Remote::Registry { registry, .. } => {
                registry
                    .tags(&registry.reference(repository, "latest"), page)
                    .await
            }
            Remote::Layout(layout) => Ok(layout
                .ref_names()?
                .into_iter()
                .filter_map(|r| {
                    r.rsplit_once(':')
                        .filter(|(repo, _)| *repo == repository)
                        .map(|(_, t)| t.to_string())
                })
                .collect()),
        }
    }
}
