//! `packpub copy SRC DST [PACK]...`: packs from one store to another (registry, OCI layout,
//! bundle), for air-gapped hand-offs and registries kept in step. Manifests travel as their
//! exact bytes, so every pack keeps its manifest digest (what Palette caches); every blob they
//! name follows, skipped when DST has it and mounted instead of sent within one registry.
//! Each pack is checked on the way as `verify` checks it (Palette's shape, digests, safe to
//! extract, pack.json naming the tag, valid) and refused when it fails; DST follows push's
//! rules (same layer: unchanged; other content: exit 5 unless `--force`). The tag is written
//! last, so an interrupted copy leaves no tag, and running it again copies only what is missing.

use super::images::{Carrier, ImageOutcome};
use super::shared::{block_on, compare_versions, fetch_pack, open_target, pack_names};
use crate::cli::{self, CopyArgs, Selector, Versions};
use crate::credentials::Given;
use crate::digest::Digest;
use crate::exit::{Code, Failure};
use crate::output::Output;
use crate::pack::{self, Identity, PackVersion, write};
use crate::registry::errors::Side;
use crate::registry::images;
use crate::registry::manifest;
use crate::registry::reference::Target;
use crate::registry::store::{self, Blob, ManifestRef, Store, pack_repository};
use futures_util::StreamExt;
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// A selector file is a short list; anything longer is not one.
const MAX_LIST: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Status {
    Copied,
    /// DST holds the same layer already.
    Unchanged,
    Overwritten,
    WouldCopy,
    WouldOverwrite,
    Conflict,
    Failed,
}

#[derive(Serialize)]
struct Outcome {
    name: String,
    version: String,
    source: String,
    destination: String,
    /// The manifest's digest, the same on both sides.
    digest: Option<Digest>,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// With `--with-images` (or from a bundle holding images): each image the pack lists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<ImageOutcome>,
    #[serde(skip)]
    code: Option<Code>,
}

struct Ctx<'a> {
    args: &'a CopyArgs,
    out: &'a Output,
    src: &'a dyn Store,
    dst: &'a dyn Store,
    /// Set once DST's base path is known to exist.
    base: OnceCell<()>,
    images: Option<Carrier<'a>>,
}

pub fn run(args: &CopyArgs, out: &Output) -> anyhow::Result<()> {
    crate::registry::ecr::configure((&args.ecr).into());
    let selectors = selectors(args)?;
    let registries = [&args.src, &args.dst]
        .into_iter()
        .filter(|t| matches!(t, Target::Registry { .. }))
        .count();
    if registries == 2 && args.ca_file.is_some() {
        return Err(Failure::err(
            Code::Usage,
            "--ca-file names one registry's CA, and SRC and DST are both registries: use \
             --src-ca-file and --dst-ca-file",
        ));
    }
    // With one registry side, the plain names serve it: there is no other registry to leak
    // them to. With two, only the side-specific names do.
    let one = registries == 1;
    let transport = |src: bool| {
        let mut transport = args.transport(src);
        if one {
            transport.ca_file = transport
                .ca_file
                .or_else(|| args.ca_file.clone())
                .or_else(|| {
                    std::env::var_os(cli::CA_FILE_ENV)
                        .filter(|v| !v.is_empty())
                        .map(Into::into)
                });
        } else {
            transport.side = Some(if src { Side::Src } else { Side::Dst });
        }
        transport
    };
    let given = |user, password| {
        move || match Given::env(user, password)? {
            given if given.is_some() || !one => Ok(given),
            _ => Given::env(cli::USERNAME_ENV, cli::PASSWORD_ENV),
        }
    };
    let src_given = given(cli::SRC_USERNAME_ENV, cli::SRC_PASSWORD_ENV);
    let src = open_target(&args.src, &transport(true), src_given, out, false)?;
    let dst_given = given(cli::DST_USERNAME_ENV, cli::DST_PASSWORD_ENV);
    let dst = open_target(&args.dst, &transport(false), dst_given, out, !args.dry_run)?;
    let image_options: images::Options = (&args.images).into();
    let local_src = (!matches!(args.src, Target::Registry { .. })).then_some(src.as_ref());
    // Built on a dry run too, so its settings (--image-map, --image-base) are checked; only a
    // real run carries images.
    let carrier = Carrier::new(
        &image_options,
        &args.dst,
        dst.as_ref(),
        local_src,
        args.image_transport(),
        out,
        usize::from(args.concurrency),
    )?
    .filter(|_| !args.dry_run);
    let ctx = Ctx {
        args,
        out,
        src: src.as_ref(),
        dst: dst.as_ref(),
        base: OnceCell::new(),
        images: carrier,
    };
    let outcomes = block_on(async {
        let packs = ctx.plan(&selectors).await?;
        if packs.is_empty() {
            out.warn(&format!(
                "nothing to copy: no pack under {} matches",
                ctx.src.locate(crate::registry::reference::BASE_PATH)
            ));
        }
        let total = ctx.out.counter(packs.len() as u64, "packs copied");
        let outcomes = futures_util::stream::iter(packs)
            .map(|id| async {
                let outcome = ctx.copy_one(id).await;
                total.inc(1);
                outcome
            })
            .buffered(usize::from(args.concurrency))
            .collect::<Vec<_>>()
            .await;
        total.finish_and_clear();
        // A bundle is written once, holding every pack copied in full; a dry run writes none.
        if !args.dry_run {
            ctx.dst.commit().await?;
        }
        anyhow::Ok(outcomes)
    })?;
    report(&outcomes, out);
    if let Some(carrier) = &ctx.images {
        carrier.finish();
    }
    out.print_json(&outcomes);
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| o.code.is_some())
        .map(|o| format!("{}:{}", o.name, o.version))
        .collect();
    crate::exit::worst_of(outcomes.iter().map(|o| o.code), |n| {
        format!(
            "{n} of {} pack(s) not copied: {}",
            outcomes.len(),
            failed.join(", ")
        )
    })
}

/// The selectors given, and those of `--from-file`.
fn selectors(args: &CopyArgs) -> anyhow::Result<Vec<Selector>> {
    let mut selectors = args.packs.clone();
    if let Some(list) = &args.from_file {
        let bytes = crate::files::read_capped(list, MAX_LIST, false).map_err(|why| {
            Failure::err(
                Code::Usage,
                format!("--from-file {}: {why}", list.display()),
            )
        })?;
        let text = String::from_utf8(bytes).map_err(|_| {
            Failure::err(
                Code::Usage,
                format!("--from-file {}: not UTF-8 text", list.display()),
            )
        })?;
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let selector = Selector::parse(line).map_err(|why| {
                Failure::err(
                    Code::Usage,
                    format!("--from-file {} line {}: {why}", list.display(), n + 1),
                )
            })?;
            selectors.push(selector);
        }
    }
    Ok(selectors)
}

fn report(outcomes: &[Outcome], out: &Output) {
    for o in outcomes {
        let what = format!("{} {}", o.name, o.version);
        let headline = match o.status {
            Status::Copied => format!("copied {what}"),
            Status::Unchanged => format!("{what} is at the destination already, nothing written"),
            Status::Overwritten => format!("overwrote {what} (--force)"),
            Status::WouldCopy => format!("dry run: {what} would be copied"),
            Status::WouldOverwrite => format!("dry run: {what} would be overwritten (--force)"),
            Status::Conflict | Status::Failed => {
                out.error(&format!(
                    "{what}: {}",
                    o.error.as_deref().unwrap_or("failed")
                ));
                continue;
            }
        };
        let digest = o.digest.map(|d| d.to_string()).unwrap_or_default();
        let mut details = vec![("to", o.destination.clone()), ("digest", digest)];
        if let Some(images) = super::images::summary(&o.images) {
            details.push(("images", images));
        }
        out.success(&headline, &details);
    }
}

impl Ctx<'_> {
    /// Every pack and version to copy, in name then version order: the selectors', or every
    /// pack under SRC's base path.
    async fn plan(&self, selectors: &[Selector]) -> anyhow::Result<Vec<Identity>> {
        let page = usize::from(self.args.page_size);
        let selectors = if selectors.is_empty() {
            pack_names(self.src, page)
                .await?
                .into_iter()
                .map(|name| Selector {
                    name,
                    versions: Versions::All,
                })
                .collect()
        } else {
            selectors.to_vec()
        };
        let mut packs = Vec::new();
        for selector in &selectors {
            // A named version needs no listing (some registries forbid it).
            let tags = match &selector.versions {
                Versions::Exact(version) => vec![version.to_string()],
                _ => {
                    let mut tags = self
                        .src
                        .tags(&pack_repository(&selector.name), page)
                        .await?;
                    tags.retain(|t| selector.takes(t));
                    tags.sort_by(|a, b| compare_versions(a, b));
                    tags
                }
            };
            for tag in tags {
                // A tag outside the version grammar is no pack's version.
                if let Ok(version) = PackVersion::parse(&tag) {
                    let id = Identity {
                        name: selector.name.clone(),
                        version,
                    };
                    if !packs.contains(&id) {
                        packs.push(id);
                    }
                }
            }
        }
        Ok(packs)
    }

    async fn copy_one(&self, id: Identity) -> Outcome {
        let repository = pack_repository(&id.name);
        let tag = id.version.as_str();
        let mut outcome = Outcome {
            name: id.name.to_string(),
            version: id.version.to_string(),
            source: self.src.display(&repository, tag),
            destination: self.dst.display(&repository, tag),
            digest: None,
            status: Status::Failed,
            error: None,
            images: Vec::new(),
            code: None,
        };
        if let Err(err) = self.copy(&id, &mut outcome).await {
            let failure = crate::exit::failure_of(&err);
            outcome.status = Status::Failed;
            outcome.code = Some(failure.map_or(Code::Unexpected, |f| f.code));
            if failure.is_some_and(|f| f.code == Code::Conflict) {
                outcome.status = Status::Conflict;
            }
            outcome.error = Some(format!("{err:#}"));
        }
        outcome
    }

    /// One pack: read SRC's manifest, decide against DST's tag, check the pack, then blobs and
    /// the tag.
    async fn copy(&self, id: &Identity, outcome: &mut Outcome) -> anyhow::Result<()> {
        let (src, dst, args) = (self.src, self.dst, self.args);
        let repository = pack_repository(&id.name);
        let tag = id.version.as_str();
        let manifest = src
            .manifest(&repository, ManifestRef::Tag(tag))
            .await?
            .ok_or_else(|| {
                Failure::err(
                    Code::VerifyFailed,
                    format!("{} does not exist", outcome.source),
                )
            })?;
        outcome.digest = Some(Digest::of(&manifest));
        let (layer, _) = manifest::check_shape(&manifest, &id.archive_name()).map_err(|why| {
            Failure::err(Code::VerifyFailed, format!("{}: {why}", outcome.source))
        })?;
        if !args.dry_run {
            dst.authorize_write(&repository).await?;
        }
        let existing = dst.manifest(&repository, ManifestRef::Tag(tag)).await?;
        let replacing = match existing.as_deref().map(manifest::only_layer) {
            None => false,
            Some(Ok(held)) if held == layer => {
                outcome.status = Status::Unchanged;
                outcome.digest = existing.as_deref().map(Digest::of);
                if self.images.is_some() && !args.dry_run {
                    let download = write::temp_file()?;
                    self.fetch_checked(id, &manifest, outcome, download.path())
                        .await?;
                    self.carry_images(id, download.path(), outcome).await?;
                }
                return Ok(());
            }
            Some(held) if !args.force => {
                let held = held.map_or_else(|why| why, |l| format!("layer {l}"));
                return Err(Failure::err(
                    Code::Conflict,
                    format!(
                        "{} already exists with other content: it holds {held}, the source {layer}. \
                         Nothing was written; --force overwrites it (risky: Palette caches digests)",
                        outcome.destination
                    ),
                ));
            }
            Some(_) => true,
        };
        if args.dry_run {
            outcome.status = if replacing {
                Status::WouldOverwrite
            } else {
                Status::WouldCopy
            };
            return Ok(());
        }

        // The pack is checked on its way through, as `verify` would check it at SRC.
        let download = write::temp_file()?;
        let archive = self
            .fetch_checked(id, &manifest, outcome, download.path())
            .await?;
        // Its images first: a pack whose images cannot follow is not published without them.
        self.carry_images(id, download.path(), outcome).await?;
        self.base
            .get_or_try_init(|| async {
                store::ensure_base_path(dst, crate::registry::manifest::ImageSpec::V1_0)
                    .await
                    .map(drop)
            })
            .await?;
        for (digest, size) in other_blobs(&manifest, &layer)? {
            self.copy_small_blob(&repository, &digest, size).await?;
        }
        let archive_blob = Blob::File {
            path: download.path(),
            size: archive.size,
        };
        if !dst.blob_exists(&repository, &layer).await?
            && !dst
                .mount_blob(&repository, &layer, src, &repository)
                .await?
        {
            let bar = self.out.bar(archive.size, &id.to_string());
            let progress: store::Progress = {
                let bar = bar.clone();
                Arc::new(move |sent| bar.set_position(sent))
            };
            dst.put_blob(&repository, &layer, archive_blob, progress)
                .await?;
            bar.finish_and_clear();
        }
        // The source's bytes, unchanged: the same manifest digest at DST.
        dst.put_manifest(&repository, ManifestRef::Tag(tag), &manifest)
            .await?;
        outcome.status = if replacing {
            Status::Overwritten
        } else {
            Status::Copied
        };
        Ok(())
    }

    /// Pack `id`'s archive, which `manifest` names, downloaded into `into` and checked as
    /// `verify` checks it at SRC.
    async fn fetch_checked(
        &self,
        id: &Identity,
        manifest: &[u8],
        outcome: &Outcome,
        into: &std::path::Path,
    ) -> anyhow::Result<crate::pack::read::Tarball> {
        let (archive, problems) = fetch_pack(
            self.src,
            id,
            manifest,
            (&outcome.source, "not copied"),
            into,
            (self.args.read.limits(), &self.args.allowed),
        )
        .await?;
        if !problems.is_empty() {
            return Err(Failure::err(
                Code::VerifyFailed,
                format!(
                    "{} is not a valid pack that is safe to extract; not copied:\n  {}",
                    outcome.source,
                    problems.join("\n  ")
                ),
            ));
        }
        Ok(archive)
    }

    /// The images the pack archive at `archive` lists, carried to DST when images travel.
    async fn carry_images(
        &self,
        id: &Identity,
        archive: &std::path::Path,
        outcome: &mut Outcome,
    ) -> anyhow::Result<()> {
        let Some(carrier) = &self.images else {
            return Ok(());
        };
        let limits = self.args.read.limits();
        let declared =
            tokio::task::block_in_place(|| pack::images::declared_in_archive(archive, limits))?;
        let (images, failed) = carrier.carry(declared, &id.to_string()).await;
        outcome.images = images;
        match failed {
            Some(err) => Err(err.context("the pack was not copied without its images")),
            None => Ok(()),
        }
    }

    /// A blob other than the archive (the config): fetched into a temp file, checked, sent.
    async fn copy_small_blob(
        &self,
        repository: &str,
        digest: &Digest,
        size: u64,
    ) -> anyhow::Result<()> {
        let (src, dst) = (self.src, self.dst);
        if dst.blob_exists(repository, digest).await? {
            return Ok(());
        }
        let quiet = store::unwatched();
        images::send((src, repository), (digest, size), (dst, repository), quiet).await
    }
}

/// The blobs `manifest` names besides the archive `layer`: its config. They are small (a
/// manifest's config is a few bytes for ORAS), and capped like a manifest.
fn other_blobs(manifest: &[u8], layer: &Digest) -> anyhow::Result<Vec<(Digest, u64)>> {
    let doc: serde_json::Value = serde_json::from_slice(manifest)?;
    let config = &doc["config"];
    let Some(text) = config["digest"].as_str() else {
        return Ok(Vec::new());
    };
    let digest = Digest::parse(text)
        .map_err(|why| Failure::err(Code::VerifyFailed, format!("the config's digest: {why}")))?;
    let size = config["size"].as_u64().unwrap_or(0);
    if size > crate::registry::manifest::MAX_MANIFEST_SIZE {
        return Err(Failure::err(
            Code::VerifyFailed,
            format!("the config blob declares {size} bytes, more than a pack's config can be"),
        ));
    }
    Ok((digest != *layer)
        .then_some((digest, size))
        .into_iter()
        .collect())
}
