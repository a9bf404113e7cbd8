//! `packpub push`: validate and pack each PACK (or read a tarball made by `pack`), then publish
//! it at `TARGET/spectro-packs/archive/<name>:<version>` in the shape ORAS v1.0.0 writes.
//! A published version is never replaced silently: same layer → "already published", other
//! content → exit 5 unless `--force`. Blobs go first and the tag last, so an interrupted push
//! never leaves a tag pointing at missing content.

use super::{load_pack, open_remote, report_findings, runtime};
use crate::cli::PushArgs;
use crate::digest::Digest;
use crate::exit::{Code, Failure};
use crate::output::Output;
use crate::pack::{Identity, archive, tarball};
use crate::registry::client::Registry;
use crate::registry::manifest::{self, EMPTY_CONFIG, Layer, RemoteManifest};
use crate::registry::reference::{BASE_PATH, PackRef, Target};
use crate::registry::remote::Remote;
use anyhow::Context;
use futures_util::StreamExt;
use oci_client::RegistryOperation;
use serde::Serialize;
use std::path::{Path, PathBuf};
use tokio::sync::OnceCell;

/// A pack ready to publish: its identity and archive on disk.
struct Prepared {
    id: Identity,
    archive: PathBuf,
    digest: Digest,
    size: u64,
    /// Removes the archive built for a folder when the push is done.
    _temp: Option<tempfile::TempPath>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Status {
    Pushed,
    Unchanged,
    Overwritten,
    WouldPush,
    WouldOverwrite,
    Failed,
}

#[derive(Serialize)]
struct Outcome {
    name: Option<String>,
    version: Option<String>,
    reference: Option<String>,
    digest: Option<String>,
    layer_digest: Option<String>,
    size: Option<u64>,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip)]
    input: PathBuf,
    #[serde(skip)]
    code: Option<Code>,
}

struct Ctx<'a> {
    args: &'a PushArgs,
    out: &'a Output,
    dest: Remote,
    /// Set once the base path is known to exist, so concurrent packs check it once.
    base: OnceCell<()>,
    created: String,
}

pub fn run(args: &PushArgs, out: &Output) -> anyhow::Result<()> {
    let dest = open_remote(&args.remote, out, true)?;
    let mtime = archive::mtime_from_env()?;
    let created = manifest::rfc3339(if std::env::var_os("SOURCE_DATE_EPOCH").is_some() {
        mtime
    } else {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    let ctx = Ctx {
        args,
        out,
        dest,
        base: OnceCell::new(),
        created,
    };
    let outcomes = runtime()?.block_on(async {
        futures_util::stream::iter(&args.packs)
            .map(|input| ctx.push_one(input, mtime))
            .buffered(usize::from(args.concurrency))
            .collect::<Vec<_>>()
            .await
    });
    report(&outcomes, out);
    match outcomes
        .iter()
        .filter_map(|o| o.code)
        .max_by_key(|c| *c as u8)
    {
        None => Ok(()),
        Some(code) => {
            let failed = outcomes.iter().filter(|o| o.code.is_some()).count();
            // --json already printed the outcomes; the error line is for people.
            Err(Failure::err(
                code,
                format!("{failed} of {} pack(s) failed", outcomes.len()),
            ))
        }
    }
}

fn report(outcomes: &[Outcome], out: &Output) {
    for o in outcomes {
        let what = format!(
            "{} {}",
            o.name.as_deref().unwrap_or("?"),
            o.version.as_deref().unwrap_or("?")
        );
        let reference = o.reference.clone().unwrap_or_default();
        let details = || {
            vec![
                ("reference", reference.clone()),
                ("digest", o.digest.clone().unwrap_or_default()),
                ("layer", o.layer_digest.clone().unwrap_or_default()),
            ]
        };
        match o.status {
            Status::Pushed => out.success(&format!("pushed {what}"), &details()),
            Status::Overwritten => out.success(&format!("overwrote {what} (--force)"), &details()),
            Status::Unchanged => out.success(
                &format!("{what} already published, nothing written"),
                &details(),
            ),
            Status::WouldPush => {
                out.success(&format!("dry run: {what} would be pushed"), &details())
            }
            Status::WouldOverwrite => out.success(
                &format!("dry run: {what} would be overwritten (--force)"),
                &details(),
            ),
            Status::Failed => out.error(&format!(
                "{}: {}",
                o.input.display(),
                o.error.as_deref().unwrap_or("failed")
            )),
        }
    }
    out.print_json(&outcomes);
}

impl Ctx<'_> {
    async fn push_one(&self, input: &Path, mtime: u64) -> Outcome {
        let mut outcome = Outcome {
            name: None,
            version: None,
            reference: None,
            digest: None,
            layer_digest: None,
            size: None,
            status: Status::Failed,
            error: None,
            input: input.to_path_buf(),
            code: None,
        };
        let result = async {
            let prepared = tokio::task::block_in_place(|| self.prepare(input, mtime))?;
            outcome.name = Some(prepared.id.name.to_string());
            outcome.version = Some(prepared.id.version.to_string());
            outcome.layer_digest = Some(prepared.digest.to_string());
            outcome.size = Some(prepared.size);
            self.publish(&prepared, &mut outcome).await
        }
        .await;
        if let Err(err) = result {
            outcome.status = Status::Failed;
            outcome.code = Some(crate::exit::failure_of(&err).map_or(Code::Unexpected, |f| f.code));
            outcome.error = Some(format!("{err:#}"));
        }
        outcome
    }

    fn prepare(&self, input: &Path, mtime: u64) -> anyhow::Result<Prepared> {
        if input.is_file() {
            let tarball = tarball::inspect(input, true)?;
            let (errors, warnings, blocking) =
                report_findings(&tarball.findings, &self.args.validation, self.out);
            return match tarball.id {
                Some(id) if blocking == 0 => Ok(Prepared {
                    id,
                    archive: input.to_path_buf(),
                    digest: tarball.digest,
                    size: tarball.size,
                    _temp: None,
                }),
                _ => Err(Failure::err(
                    Code::InvalidPack,
                    format!(
                        "{} is not a valid pack archive: {errors} error(s), {warnings} warning(s)",
                        input.display()
                    ),
                )),
            };
        }
        let (pack, _) = load_pack(input, None, &self.args.validation, self.out)?;
        let temp = tempfile::Builder::new()
            .prefix(".packpub-")
            .suffix(".tar.gz")
            .tempfile()
            .context("cannot create a temp file for the archive")?;
        let (written, file) = archive::write(
            &pack,
            mtime,
            std::io::BufWriter::with_capacity(1 << 20, temp),
        )?;
        let temp = file.into_inner().map_err(|e| e.into_error())?;
        Ok(Prepared {
            id: pack.id,
            archive: temp.path().to_path_buf(),
            digest: written.digest,
            size: written.size,
            _temp: Some(temp.into_temp_path()),
        })
    }

    async fn publish(&self, pack: &Prepared, outcome: &mut Outcome) -> anyhow::Result<()> {
        let title = format!("{}-{}.tar.gz", pack.id.name, pack.id.version);
        let layer = Layer {
            digest: &pack.digest,
            size: pack.size,
            title: &title,
        };
        let manifest = manifest::build(self.args.image_spec, Some(layer), &self.created);
        let manifest_digest = Digest::of(&manifest).to_string();
        match &self.dest {
            Remote::Registry { registry, prefix } => {
                let pack_ref = PackRef::new(registry.host(), prefix, &pack.id);
                outcome.reference = Some(pack_ref.to_string());
                let reference = registry.reference(&pack_ref.repository, &pack_ref.tag);
                registry
                    .authenticate(&reference, RegistryOperation::Push)
                    .await?;
                let existing = registry.manifest(&reference).await?;
                let overwrite = match existing {
                    Some((bytes, digest)) => {
                        if let Some(status) =
                            self.existing(&bytes, &digest, pack, &pack_ref.to_string(), outcome)?
                        {
                            outcome.status = status;
                            return Ok(());
                        }
                        true
                    }
                    None => false,
                };
                let base_repo = Target::base_repository(prefix);
                if self.args.dry_run {
                    let base_ref = registry.reference(&base_repo, "latest");
                    if !registry.repository_exists(&base_ref).await? {
                        self.out
                            .verbose(&format!("dry run: would create the base path {base_repo}"));
                    }
                    outcome.status = if overwrite {
                        Status::WouldOverwrite
                    } else {
                        Status::WouldPush
                    };
                    return Ok(());
                }
                self.base
                    .get_or_try_init(|| self.ensure_base(registry, &base_repo))
                    .await?;
                let config_digest = Digest::of(EMPTY_CONFIG).to_string();
                if !registry.blob_exists(&reference, &config_digest).await? {
                    registry
                        .push_small_blob(&reference, EMPTY_CONFIG, &config_digest)
                        .await?;
                }
                let layer_digest = pack.digest.to_string();
                if registry.blob_exists(&reference, &layer_digest).await? {
                    self.out
                        .verbose(&format!("{title}: the registry already has {layer_digest}"));
                } else {
                    let bar = self
                        .out
                        .bar(pack.size, &format!("{} {}", pack.id.name, pack.id.version));
                    let progress = {
                        let bar = bar.clone();
                        std::sync::Arc::new(move |sent: u64| bar.set_position(sent))
                    };
                    registry
                        .push_file_blob(
                            &reference,
                            &pack.archive,
                            pack.size,
                            &layer_digest,
                            progress,
                        )
                        .await?;
                    bar.finish_and_clear();
                }
                // Only now that every blob it names is in place may the tag appear.
                registry.push_manifest(&reference, &manifest).await?;
                outcome.digest = Some(manifest_digest);
                outcome.status = if overwrite {
                    Status::Overwritten
                } else {
                    Status::Pushed
                };
            }
            Remote::Layout(layout) => {
                let ref_name = format!("{BASE_PATH}/{}:{}", pack.id.name, pack.id.version);
                outcome.reference =
                    Some(format!("{}:{ref_name}", self.args.remote.target.registry));
                let overwrite = match layout.find(&ref_name)? {
                    Some(listed) => {
                        let bytes = layout.read_blob(&listed.digest)?;
                        if let Some(status) =
                            self.existing(&bytes, &listed.digest, pack, &ref_name, outcome)?
                        {
                            outcome.status = status;
                            return Ok(());
                        }
                        true
                    }
                    None => false,
                };
                if self.args.dry_run {
                    outcome.status = if overwrite {
                        Status::WouldOverwrite
                    } else {
                        Status::WouldPush
                    };
                    return Ok(());
                }
                tokio::task::block_in_place(|| -> anyhow::Result<()> {
                    layout.put_blob(EMPTY_CONFIG)?;
                    layout.put_blob_file(&pack.archive, &pack.digest.to_string())?;
                    let digest = layout.put_blob(&manifest)?;
                    layout.tag(&ref_name, &digest, manifest.len())
                })?;
                outcome.digest = Some(manifest_digest);
                outcome.status = if overwrite {
                    Status::Overwritten
                } else {
                    Status::Pushed
                };
            }
        }
        Ok(())
    }

    /// Decides what an existing tag means: `Some(Unchanged)` when it holds this very archive,
    /// `None` to overwrite (with `--force`), and exit 5 otherwise.
    fn existing(
        &self,
        bytes: &[u8],
        digest: &str,
        pack: &Prepared,
        reference: &str,
        outcome: &mut Outcome,
    ) -> anyhow::Result<Option<Status>> {
        let remote: RemoteManifest =
            serde_json::from_slice(bytes).unwrap_or(RemoteManifest { layers: vec![] });
        let local = pack.digest.to_string();
        let remote_layer = match remote.layers.as_slice() {
            [only] => only.digest.clone(),
            layers => format!("{} layers", layers.len()),
        };
        if remote_layer == local {
            outcome.digest = Some(digest.to_string());
            return Ok(Some(Status::Unchanged));
        }
        if self.args.force {
            self.out.warn(&format!(
                "{reference} exists with other content (layer {remote_layer}); overwriting it because of --force"
            ));
            return Ok(None);
        }
        Err(Failure::err(
            Code::Conflict,
            format!(
                "{reference} already exists with other content: the registry holds layer {remote_layer}, \
                 this pack is {local}. Nothing was written. Palette caches the digest of a published \
                 version, so replacing it breaks clusters that use it: publish a new version, or pass \
                 --force to overwrite anyway"
            ),
        ))
    }

    /// Creates `[PROJECT/]spectro-packs/archive` the way `oras push` with no file does (an
    /// empty manifest pushed by digest), unless it is there already.
    async fn ensure_base(&self, registry: &Registry, base_repo: &str) -> anyhow::Result<()> {
        if registry.base_path_exists(base_repo).await? {
            self.out.verbose(&format!("base path {base_repo} exists"));
            return Ok(());
        }
        let empty = manifest::base_manifest(self.args.image_spec);
        let digest = Digest::of(&empty).to_string();
        let probe = registry.reference(base_repo, "latest");
        let by_digest = registry.digest_reference(base_repo, &digest);
        let config_digest = Digest::of(EMPTY_CONFIG).to_string();
        if !registry.blob_exists(&probe, &config_digest).await? {
            registry
                .push_small_blob(&probe, EMPTY_CONFIG, &config_digest)
                .await?;
        }
        registry.push_manifest(&by_digest, &empty).await?;
        self.out
            .verbose(&format!("created the base path {base_repo} ({digest})"));
        Ok(())
    }
}
