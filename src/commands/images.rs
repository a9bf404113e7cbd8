//! `--with-images` for `copy` and `push`: the images each pack lists (`pack.content.images`)
//! carried to the destination beside it, where Palette's clusters look for them
//! (`<DST>/<image base>/<host>/<path>`, or the site's map). Images come from their registries
//! (through `--image-source` mirrors, with each host's own credentials from the usual lookup),
//! or, restoring a bundle or layout that holds them, from it with no network. An image that
//! cannot be read fails its pack, naming the reference; an entry that cannot be copied as
//! written is a warning. The run ends with the `mirrorRegistries` entries the site needs.

use super::shared::open_registry;
use crate::cli::TransportArgs;
use crate::credentials::Given;
use crate::digest::Digest;
use crate::exit::{Code, Failure};
use crate::image_ref::ImageRef;
use crate::output::Output;
use crate::pack::images::Declared;
use crate::registry::images::{self, Copied, Copier, Options, Placement, Source};
use crate::registry::reference::Target;
use crate::registry::store::{ImageEntry, Store, Tally};
use futures_util::StreamExt;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// A map file is a short list.
const MAX_MAP: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum Status {
    Copied,
    Unchanged,
    /// An entry that cannot be copied as written, or an image a bundle lacks.
    Skipped,
    Failed,
}

#[derive(Serialize)]
pub(super) struct ImageOutcome {
    /// The reference as the pack writes it.
    reference: String,
    /// Where it is now, as the user names the destination (the first of two for a Docker Hub
    /// single name, which is also under `library/`).
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<Digest>,
    /// The `mirrorRegistries` entry that points clusters at it (`--json` prints no
    /// `mirrorRegistries:` line; a script joins the distinct entries).
    #[serde(skip_serializing_if = "Option::is_none")]
    mirror: Option<String>,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// What the images of one pack share.
struct ForPack<'p> {
    name: &'p str,
    /// The bytes their uploads sent.
    sent: Tally,
    /// Whether the source bundle or layout holds any of them: then it must hold them all.
    source_has_some: bool,
}

/// How one image went, short of failing.
enum Carried {
    /// Where it is now (as the user names it), its digest, and whether it was already there.
    Done(String, Digest, Copied),
    /// Why it was left, for the outcome (a warning has said so).
    Skipped(String),
}

/// Carries the images of every pack of a run into one destination.
pub(super) struct Carrier<'a> {
    options: &'a Options,
    placement: Placement,
    dst: &'a dyn Store,
    /// How messages and `mirrorRegistries` name the destination's root; `None` for a bundle
    /// or layout, which has no registry yet.
    root: Option<String>,
    copier: Copier<'a>,
    /// A bundle or layout being copied from, and the images it holds.
    local: Option<(&'a dyn Store, Vec<ImageEntry>)>,
    /// Registries images are read from, opened once each.
    sources: Mutex<HashMap<String, Arc<dyn Store>>>,
    transport: TransportArgs,
    out: &'a Output,
    hosts: Mutex<BTreeSet<String>>,
    concurrency: usize,
}

impl<'a> Carrier<'a> {
    /// A carrier when there is something to carry: `--with-images`, or a source bundle or
    /// layout (`src`) that holds images. `transport` is how image registries are reached
    /// (retries, chunk size; TLS and plain HTTP are per mirror).
    pub(super) fn new(
        options: &'a Options,
        dst_target: &Target,
        dst: &'a dyn Store,
        src: Option<&'a dyn Store>,
        transport: TransportArgs,
        out: &'a Output,
        concurrency: usize,
    ) -> anyhow::Result<Option<Self>> {
        let held = match src {
            Some(store) => store.images()?,
            None => Vec::new(),
        };
        if !options.with_images && held.is_empty() {
            return Ok(None);
        }
        let root = match dst_target {
            Target::Registry { host, prefix } if prefix.is_empty() => Some(host.clone()),
            Target::Registry { host, prefix } => Some(format!("{host}/{prefix}")),
            _ => None,
        };
        let map = match &options.map {
            Some(path) => {
                let usage = |why: &dyn std::fmt::Display| {
                    Failure::err(
                        Code::Usage,
                        format!("--image-map {}: {why}", path.display()),
                    )
                };
                let bytes =
                    crate::files::read_capped(path, MAX_MAP, false).map_err(|e| usage(&e))?;
                let text = String::from_utf8(bytes).map_err(|_| usage(&"not UTF-8 text"))?;
                images::parse_map(&text, root.as_deref()).map_err(|e| usage(&e))?
            }
            None => Vec::new(),
        };
        let base = options.base.as_deref().unwrap_or(images::DEFAULT_BASE);
        let placement = Placement::new(base, map).map_err(|why| Failure::err(Code::Usage, why))?;
        if options.platform.is_some() {
            out.warn(
                "--platform: multi-platform images are copied as the one platform's manifest, \
                 whose digest is not the source's: a reference pinned to the index digest, or \
                 a signature made on it, will not match",
            );
        }
        Ok(Some(Self {
            options,
            placement,
            dst,
            root,
            copier: Copier::new(dst, options.platform.clone()),
            local: src.filter(|_| !held.is_empty()).map(|s| (s, held)),
            sources: Mutex::new(HashMap::new()),
            transport,
            out,
            hosts: Mutex::new(BTreeSet::new()),
            concurrency,
        }))
    }

    /// Carries the images `declared` (pack `pack`'s): every outcome, and the first failure
    /// (which fails the pack).
    pub(super) async fn carry(
        &self,
        declared: Declared,
        pack: &str,
    ) -> (Vec<ImageOutcome>, Option<anyhow::Error>) {
        let mut outcomes = Vec::new();
        for skipped in &declared.skipped {
            self.out.warn(&format!(
                "{pack}: values.yaml pack.content.images entry {} ({}) {}; not copied. Fix: {}",
                skipped.entry, skipped.text, skipped.why, skipped.fix
            ));
            outcomes.push(ImageOutcome {
                reference: skipped.text.clone(),
                destination: None,
                digest: None,
                mirror: None,
                status: Status::Skipped,
                error: Some(skipped.why.clone()),
            });
        }
        if declared.images.is_empty() {
            return (outcomes, None);
        }
        let shown = Arc::new(
            self.out
                .items(declared.images.len() as u64, &format!("{pack} images")),
        );
        let sent = {
            let shown = Arc::clone(&shown);
            Tally::new(Arc::new(move |bytes| shown.sent(bytes)))
        };
        let for_pack = ForPack {
            name: pack,
            sent,
            source_has_some: declared.images.iter().any(|i| !self.held(i).is_empty()),
        };
        let results = futures_util::stream::iter(declared.images)
            .map(|image| async {
                let result = self.carry_one(&image, &for_pack).await;
                shown.done_one();
                (image, result)
            })
            .buffered(self.concurrency)
            .collect::<Vec<_>>()
            .await;
        drop((for_pack, shown));
        let mut first_error = None;
        for (image, result) in results {
            let reference = image.to_string();
            outcomes.push(match result {
                Ok(Carried::Done(destination, digest, copied)) => ImageOutcome {
                    reference,
                    destination: Some(destination),
                    digest: Some(digest),
                    mirror: self.mirror_entry(image.host()),
                    status: match copied {
                        Copied::Copied => Status::Copied,
                        Copied::Unchanged => Status::Unchanged,
                    },
                    error: None,
                },
                Ok(Carried::Skipped(why)) => ImageOutcome {
                    reference,
                    destination: None,
                    digest: None,
                    mirror: None,
                    status: Status::Skipped,
                    error: Some(why),
                },
                Err(err) => {
                    let err = err.context(format!("image {reference} of {pack}"));
                    let outcome = ImageOutcome {
                        reference,
                        destination: None,
                        digest: None,
                        mirror: None,
                        status: Status::Failed,
                        error: Some(format!("{err:#}")),
                    };
                    first_error.get_or_insert(err);
                    outcome
                }
            });
        }
        (outcomes, first_error)
    }

    /// One image: where it goes, where it is read, copied; skipped (with a warning) when a
    /// source bundle lacks it and the network is not to be used, or the site's map leaves it
    /// unswapped.
    async fn carry_one(&self, image: &ImageRef, for_pack: &ForPack<'_>) -> anyhow::Result<Carried> {
        let (pack, sent) = (for_pack.name, &for_pack.sent);
        let placed = self.placement.repositories(image).map_err(|why| {
            Failure::err(Code::VerifyFailed, format!("it cannot be placed: {why}"))
        })?;
        let held = self.held(image);
        // Restoring, the bundle's own names stand unless the user placed images anew.
        let repositories = match held.as_slice() {
            [] => placed,
            _ if self.options.base.is_some() || self.options.map.is_some() => placed,
            held => {
                let mut names: Vec<String> = held.iter().map(|e| e.repository.clone()).collect();
                names.sort();
                names.dedup();
                if let Some(bad) = names
                    .iter()
                    .find(|n| !Placement::keeps_bundle_name(n, image))
                {
                    return Err(Failure::err(
                        Code::VerifyFailed,
                        format!(
                            "{image}: the source lists it at {:?}, not a place for this image; \
                             refusing it (--image-base places images anew)",
                            crate::output::escape(bad)
                        ),
                    ));
                }
                names
            }
        };
        if repositories.is_empty() {
            let host = image.host();
            self.out.warn(&format!(
                "{pack}: image {image} not copied: the site's map leaves {host} unswapped (its \
                 entry has no destination), so clusters pull it from {host}"
            ));
            return Ok(Carried::Skipped(format!(
                "the site's map leaves {host} unswapped"
            )));
        }
        let (store, from): (Arc<dyn Store>, String) = match (held.first(), &self.local) {
            (Some(entry), Some((local, _))) => {
                let source = Source {
                    store: *local,
                    repository: entry.repository.clone(),
                };
                return self.copy_to(&source, image, &repositories, sent).await;
            }
            (None, Some((local, _))) if !self.options.with_images => {
                let local = local.locate("");
                let local = local.trim_end_matches(':');
                if for_pack.source_has_some {
                    return Err(Failure::err(
                        Code::VerifyFailed,
                        format!(
                            "{local} holds other images of {pack} but not this one: it is \
                             incomplete (`packpub verify --registry {local}` says which are \
                             missing)"
                        ),
                    ));
                }
                self.out.warn(&format!(
                    "{pack}: image {image} is not in {local}; not copied (--with-images reads \
                     it from its registry)"
                ));
                return Ok(Carried::Skipped("not in the source bundle".into()));
            }
            _ => self.network_source(image)?,
        };
        let source = Source {
            store: store.as_ref(),
            repository: from,
        };
        self.copy_to(&source, image, &repositories, sent).await
    }

    async fn copy_to(
        &self,
        source: &Source<'_>,
        image: &ImageRef,
        repositories: &[String],
        sent: &Tally,
    ) -> anyhow::Result<Carried> {
        for repository in repositories {
            self.dst.authorize_write(repository).await?;
        }
        let (digest, copied) = self.copier.copy(source, image, repositories, sent).await?;
        self.hosts
            .lock()
            .expect("hosts")
            .insert(image.host().to_string());
        let first = &repositories[0];
        let shown = match image.tag().filter(|_| image.digest().is_none()) {
            Some(tag) => self.dst.display(first, tag),
            None if image.digest().is_none() => self.dst.display(first, "latest"),
            None => format!("{}@{digest}", self.dst.locate(first)),
        };
        Ok(Carried::Done(shown, digest, copied))
    }

    /// The registry `image` is read from (its mirror, if one is given for its host), opened
    /// once, and the repository there.
    fn network_source(&self, image: &ImageRef) -> anyhow::Result<(Arc<dyn Store>, String)> {
        let mirror = self.options.mirrors.iter().find(|m| m.host == image.host());
        let (host, prefix, plain_http) = match mirror {
            Some(m) => (m.mirror.as_str(), m.prefix.as_str(), m.plain_http),
            None => (image.host(), "", false),
        };
        let key = format!("{host}/{prefix}");
        let mut sources = self.sources.lock().expect("sources");
        let store = match sources.get(&key) {
            Some(store) => store.clone(),
            None => {
                let transport = TransportArgs {
                    plain_http,
                    ..self.transport.clone()
                };
                let resolved = tokio::task::block_in_place(|| {
                    crate::credentials::resolve(host, &Given::default(), self.out)
                })?;
                let store: Arc<dyn Store> =
                    Arc::new(open_registry(host, prefix, &transport, resolved, self.out)?);
                sources.insert(key, store.clone());
                store
            }
        };
        Ok((store, image.source_path()))
    }

    /// Where the source bundle or layout holds `image` (the reference as the pack writes it).
    fn held(&self, image: &ImageRef) -> Vec<&ImageEntry> {
        let source = image.to_string();
        self.local
            .iter()
            .flat_map(|(_, held)| held.iter())
            .filter(|e| e.source == source)
            .collect()
    }

    /// The `mirrorRegistries` entry for images from `host`; a bundle's names `<REGISTRY>`.
    fn mirror_entry(&self, host: &str) -> Option<String> {
        let root = self.root.as_deref().unwrap_or("<REGISTRY>");
        self.placement.mirror_entry(host, root)
    }

    /// After the run: the `mirrorRegistries` entries for every host images came from (stdout),
    /// and a warning for hosts Palette's default map leaves out.
    pub(super) fn finish(&self) {
        let hosts = self.hosts.lock().expect("hosts");
        if hosts.is_empty() {
            return;
        }
        let entries: Vec<String> = hosts.iter().filter_map(|h| self.mirror_entry(h)).collect();
        self.out
            .result(&format!("mirrorRegistries: {}", entries.join(",")));
        let outside: Vec<&str> = hosts
            .iter()
            .map(String::as_str)
            .filter(|h| !images::DEFAULT_MIRRORED.contains(h))
            .collect();
        if !outside.is_empty() {
            let entries = match self.out.json() {
                true => "entries (each image's `mirror` in the JSON)",
                false => "entries above",
            };
            self.out.warn(&format!(
                "images from {} are outside Palette's default mirrorRegistries: add their \
                 {entries} to the installation's mirrorRegistries (and the registry-info \
                 secret), or clusters pull them from the internet",
                outside.join(", ")
            ));
        }
        if self.root.is_none() {
            self.out.warn(
                "the mirrorRegistries entries name <REGISTRY>: restoring the bundle into a \
                 registry prints them with its name",
            );
        }
    }
}

/// How a pack's images fared, in words for its report line: `3 copied, 1 unchanged`; `None`
/// when it lists none (or images did not travel).
pub(super) fn summary(outcomes: &[ImageOutcome]) -> Option<String> {
    let count = |status| outcomes.iter().filter(|o| o.status == status).count();
    let parts: Vec<String> = [
        (Status::Copied, "copied"),
        (Status::Unchanged, "unchanged"),
        (Status::Skipped, "skipped"),
        (Status::Failed, "failed"),
    ]
    .into_iter()
    .filter_map(|(status, word)| match count(status) {
        0 => None,
        n => Some(format!("{n} {word}")),
    })
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}
