//! `packpub push`: load each PACK (a folder, validated and packed into a temp file, or an
//! archive made by `pack`), then publish it at `TARGET/spectro-packs/archive/<name>:<version>`
//! in the shape ORAS v1.0.0 writes, through the same [`Store`] steps for every target. A
//! published version is never replaced silently ([`decide`]). Blobs go first and the tag last,
//! so an interrupted push never leaves a tag pointing at missing content.

use super::images::{Carrier, ImageOutcome};
use super::shared::{block_on, open_store};
use crate::cache::{self, Cache};
use crate::cli::PushArgs;
use crate::digest::Digest;
use crate::exit::{Code, Failure};
use crate::growing::Growing;
use crate::output::Output;
use crate::pack::Identity;
use crate::pack::write;
use crate::pack::{self, ArchiveTo, Checked, LocalInput, LocalPack};
use crate::registry::images;
use crate::registry::manifest::{self, EMPTY_CONFIG, Layer};
use crate::registry::reference::Target;
use crate::registry::store::{self, Blob, ManifestRef, Store, pack_repository};
use futures_util::StreamExt;
use futures_util::future::Either;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// Reads of the tag after writing it, while the registry is unreachable: a cut answer must
/// not turn a published version into a reported failure.
const READ_BACK_ATTEMPTS: u32 = 6;

/// Whether `err` exits with `code`.
fn exits(err: &anyhow::Error, code: Code) -> bool {
    crate::exit::failure_of(err).is_some_and(|f| f.code == code)
}

/// What a push does, or did, with one pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Status {
    Pushed,
    Unchanged,
    /// The version holds the same files in an archive compressed otherwise (an older packpub,
    /// `tar -czf`): Palette extracts the same pack, so nothing is written.
    UnchangedOtherCompression,
    Overwritten,
    WouldPush,
    WouldOverwrite,
    /// The version exists with other content and `--force` was not given.
    Conflict,
    Failed,
}

/// The decision for one pack, from what the tag holds now: `None` when the tag does not exist,
/// else its only layer's digest or why it has no single valid one.
fn decide(
    existing: Option<&Result<Digest, String>>,
    local: &Digest,
    force: bool,
    dry_run: bool,
) -> Status {
    match (existing, force, dry_run) {
        (Some(Ok(remote)), _, _) if remote == local => Status::Unchanged,
        (None, _, false) => Status::Pushed,
        (None, _, true) => Status::WouldPush,
        (Some(_), false, _) => Status::Conflict,
        (Some(_), true, false) => Status::Overwritten,
        (Some(_), true, true) => Status::WouldOverwrite,
    }
}

/// What the registry's archive of a version holds, next to the local pack's.
enum Compared {
    Same,
    /// Which files differ, for people.
    Differs(String),
    /// Not a safe, valid-shaped download of this pack: nothing to compare.
    Unreadable,
}

#[derive(Serialize)]
struct Outcome {
    name: Option<String>,
    version: Option<String>,
    reference: Option<String>,
    digest: Option<Digest>,
    layer_digest: Option<Digest>,
    size: Option<u64>,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// Structured detail of the failure, e.g. the validation findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<serde_json::Value>,
    /// With `--with-images`: each image the pack lists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<ImageOutcome>,
    #[serde(skip)]
    input: String,
    #[serde(skip)]
    id: Option<Identity>,
    #[serde(skip)]
    code: Option<Code>,
}

impl Outcome {
    fn identify(&mut self, id: &Identity) {
        self.id = Some(id.clone());
        self.name = Some(id.name.to_string());
        self.version = Some(id.version.to_string());
    }
}

/// Where a pack is published, and what its tag holds now, read during this machine's turn at
/// the reference: the turn lasts as long as this does.
struct Slot {
    repository: String,
    tag: String,
    reference: String,
    existing: Option<Vec<u8>>,
    _turn: crate::lock::Held,
}

struct Ctx<'a> {
    args: &'a PushArgs,
    out: &'a Output,
    store: &'a dyn Store,
    /// With `--with-images`: each pack's images, carried before its tag.
    images: Option<Carrier<'a>>,
    /// Set once the base path is known to exist, so concurrent packs check it once.
    base: OnceCell<()>,
    created: String,
    cache: Cache,
}

pub fn run(args: &PushArgs, out: &Output) -> anyhow::Result<()> {
    if let [LocalInput::Folder(dir)] = args.packs.as_slice() {
        holds_packs(dir)?;
    }
    crate::registry::ecr::configure((&args.ecr).into());
    let store = open_store(&args.remote, out, true)?;
    // Everything --sync needs (a key, Palette, a registry there for TARGET) is checked before
    // the first byte is pushed: a sync that cannot happen must not follow a push.
    let sync = match args.sync {
        true => {
            let request = sync_request(args)?;
            let prepared = block_on(super::sync::prepare(&request, out))
                .map_err(|err| err.context("--sync cannot happen, so nothing was pushed"))?;
            Some((request, prepared))
        }
        false => None,
    };
    let created = manifest::rfc3339(args.build.source_date_epoch.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }));
    let image_options: images::Options = (&args.images).into();
    // Built on a dry run too, so its settings (--image-map, --image-base) are checked; only a
    // real run carries images.
    let carrier = Carrier::new(
        &image_options,
        &args.remote.registry,
        store.as_ref(),
        None,
        args.image_transport(),
        out,
        usize::from(args.concurrency),
    )?
    .filter(|_| !args.dry_run);
    let ctx = Ctx {
        args,
        out,
        store: store.as_ref(),
        images: carrier,
        base: OnceCell::new(),
        created,
        cache: Cache::new(args.cache_dir.as_deref(), args.no_cache, |why| {
            out.warn(why)
        }),
    };
    let outcomes = block_on(async {
        let outcomes = futures_util::stream::iter(&args.packs)
            .map(|input| ctx.push_one(input))
            .buffered(usize::from(args.concurrency))
            .collect::<Vec<_>>()
            .await;
        // A bundle is written once, holding every pack pushed in full (a failed one's tag was
        // never written); until this succeeds, no pack counts as pushed.
        ctx.store.commit().await.map(|()| outcomes)
    })?;
    report(&outcomes, out);
    if let Some(carrier) = &ctx.images {
        carrier.finish();
    }
    if let Some((mut request, prepared)) = sync
        && outcomes.iter().all(|o| o.code.is_none())
    {
        request.packs = outcomes.iter().filter_map(|o| o.id.clone()).collect();
        let synced = block_on(super::sync::complete(prepared, &request, out));
        match synced {
            Ok(synced) => out.print_json(&serde_json::json!({"packs": outcomes, "sync": synced})),
            Err(err) => {
                // The packs are published: the run fails as a sync (8), never as a push.
                let message = format!("pushed; not yet visible in Palette: {err:#}");
                let code = Code::SyncFailed as u8;
                out.print_json(&serde_json::json!({
                    "packs": outcomes,
                    "sync": {"error": message, "exit_code": code},
                }));
                return Err(Failure::err(Code::SyncFailed, message));
            }
        }
    }
    out.print_json(&outcomes);
    crate::exit::worst_of(outcomes.iter().map(|o| o.code), |failed| {
        format!("{failed} of {} pack(s) failed", outcomes.len())
    })
}

/// A usage error when `dir` is no pack (no pack.json) but its folders are: pushing it would
/// only list its problems, when the user meant the packs inside.
fn holds_packs(dir: &std::path::Path) -> anyhow::Result<()> {
    if dir.join(crate::pack::PACK_JSON).exists() {
        return Ok(());
    }
    let mut packs: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join(crate::pack::PACK_JSON).is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if packs.is_empty() {
        return Ok(());
    }
    packs.sort();
    let shown = dir.display().to_string();
    let shown = shown.trim_end_matches('/');
    let glob = match shown {
        "." => "*/".to_string(),
        _ => format!("{shown}/*/"),
    };
    Err(Failure::err(
        Code::Usage,
        format!(
            "{shown} is not a pack (no pack.json) but holds {} pack(s): {}; name them \
             (`packpub push {glob}`)",
            packs.len(),
            packs.join(", ")
        ),
    ))
}

/// What `--sync` asks of Palette; the packs are named once they are pushed.
fn sync_request(args: &PushArgs) -> anyhow::Result<super::sync::Request<'_>> {
    let Target::Registry { host, prefix } = &args.remote.registry else {
        return Err(Failure::err(
            Code::Usage,
            "--sync needs a registry TARGET: Palette cannot read an OCI layout or bundle",
        ));
    };
    let transport = &args.remote.transport;
    Ok(super::sync::Request {
        host,
        prefix,
        plain_http: transport.plain_http,
        packs: Vec::new(),
        palette: &args.palette,
        ca_file: transport.ca_file.as_deref(),
        insecure: transport.insecure,
        register: None,
        ecr_role_arn: None,
        in_clear_text: false,
        dry_run: args.dry_run,
    })
}

/// The lines for people; the JSON document is printed by the caller, once the run is over.
fn report(outcomes: &[Outcome], out: &Output) {
    for o in outcomes {
        let what = format!(
            "{} {}",
            o.name.as_deref().unwrap_or("?"),
            o.version.as_deref().unwrap_or("?")
        );
        let shown = |d: &Option<Digest>| d.map(|d| d.to_string());
        // A dry run has no manifest digest: its line is left out, not shown empty.
        let details: Vec<(&str, String)> = [
            ("reference", o.reference.clone()),
            ("digest", shown(&o.digest)),
            ("layer", shown(&o.layer_digest)),
            ("images", super::images::summary(&o.images)),
        ]
        .into_iter()
        .filter_map(|(key, value)| Some((key, value?)))
        .collect();
        let headline = match o.status {
            Status::Pushed => format!("pushed {what}"),
            Status::Overwritten => format!("overwrote {what} (--force)"),
            // The word of `--json`'s status, so a terminal and a script say the same.
            Status::Unchanged => format!("{what} unchanged: already published, nothing written"),
            Status::UnchangedOtherCompression => format!(
                "{what} unchanged (same files, other compression): already published, nothing written"
            ),
            Status::WouldPush => format!("dry run: {what} would be pushed"),
            Status::WouldOverwrite => format!("dry run: {what} would be overwritten (--force)"),
            Status::Conflict | Status::Failed => {
                out.error(&format!(
                    "{}: {}",
                    o.input,
                    o.error.as_deref().unwrap_or("failed")
                ));
                continue;
            }
        };
        out.success(&headline, &details);
    }
}

impl Ctx<'_> {
    async fn push_one(&self, input: &LocalInput) -> Outcome {
        let mut outcome = Outcome {
            name: None,
            version: None,
            reference: None,
            digest: None,
            layer_digest: None,
            size: None,
            status: Status::Failed,
            error: None,
            details: None,
            images: Vec::new(),
            input: input.path().display().to_string(),
            id: None,
            code: None,
        };
        let result = async {
            let checked = match self.named_archive(input) {
                Some((path, named)) => match self.push_checking(path, named, &mut outcome).await? {
                    Some(checked) => checked,
                    None => return Ok(()),
                },
                None => tokio::task::block_in_place(|| {
                    let limits = self.args.read.limits();
                    pack::check(input, &self.args.build.options(), limits, self.out)
                })?,
            };
            outcome.identify(&checked.id);
            if let Some(carrier) = &self.images {
                // The images first: a pack is not published without them.
                let declared = tokio::task::block_in_place(|| checked.images())?;
                let (images, failed) = carrier.carry(declared, &checked.id.to_string()).await;
                outcome.images = images;
                if let Some(err) = failed {
                    return Err(err.context("the pack was not pushed without its images"));
                }
            }
            self.publish(checked, &mut outcome).await
        }
        .await;
        if let Err(err) = result {
            let failure = crate::exit::failure_of(&err);
            outcome.status = Status::Failed;
            outcome.code = Some(failure.map_or(Code::Unexpected, |f| f.code));
            outcome.details = failure.and_then(|f| f.details.clone());
            outcome.error = Some(format!("{err:#}"));
        }
        outcome
    }

    /// The steps of a push: read the tag, decide, ensure the base path, blobs, then the
    /// manifest by tag. A folder pushed as a new version is compressed while it uploads; one
    /// whose version exists is hashed first, and uploads nothing unless it differs.
    async fn publish(&self, checked: Checked, outcome: &mut Outcome) -> anyhow::Result<()> {
        let (store, args) = (self.store, self.args);
        let slot = self.slot(&checked.id, outcome).await?;
        let Slot {
            repository,
            tag,
            reference,
            existing,
            ..
        } = &slot;
        let title = checked.id.archive_name();
        let recipe = args.build.recipe();
        if existing.is_none() && checked.is_folder() && !args.dry_run {
            let pack = self.stream(checked, repository).await?;
            return self.tag_new(&pack, &slot, outcome).await;
        }
        if let Some(held) = &existing
            && let Some(hit) = self.cached(&checked, held, &title)?
        {
            outcome.layer_digest = Some(hit.archive);
            outcome.size = Some(hit.size);
            outcome.digest = Some(Digest::of(held));
            outcome.status = Status::Unchanged;
            self.out.verbose(&format!(
                "{reference} holds the archive this content made before ({}); nothing compressed",
                hit.archive
            ));
            return Ok(());
        }
        let to = if args.dry_run && existing.is_none() {
            ArchiveTo::Nowhere
        } else {
            ArchiveTo::Temp
        };
        let notes = self.out.notes();
        let pack = tokio::task::block_in_place(|| checked.build(recipe, to, &notes))?;
        self.remember(&pack);
        outcome.layer_digest = Some(pack.archive.digest);
        outcome.size = Some(pack.archive.size);

        let remote_layer = existing.as_deref().map(manifest::only_layer);
        let local = &pack.archive.digest;
        outcome.status = decide(remote_layer.as_ref(), local, args.force, args.dry_run);
        let mut changes = String::new();
        if matches!(
            outcome.status,
            Status::Conflict | Status::Overwritten | Status::WouldOverwrite
        ) && let Some(held) = &existing
        {
            match self.compare(&pack, repository, held).await? {
                Compared::Same => {
                    // Overwriting would change the digest Palette knows for nothing: never done.
                    outcome.status = Status::UnchangedOtherCompression;
                    outcome.digest = Some(Digest::of(held));
                    return Ok(());
                }
                Compared::Differs(what) => changes = format!(" ({what})"),
                Compared::Unreadable => {}
            }
        }
        let remote_words = match &remote_layer {
            Some(Ok(digest)) => format!("layer {digest}"),
            Some(Err(what)) => what.clone(),
            None => String::new(),
        };
        match outcome.status {
            Status::Unchanged => {
                outcome.digest = existing.as_deref().map(Digest::of);
                return Ok(());
            }
            Status::Conflict => return Err(Failure::err(
                Code::Conflict,
                format!(
                    "{reference} already exists with other content{changes}: the registry holds \
                     {remote_words}, this pack is {local}. Nothing was written. Palette caches the digest of a published \
                     version, so replacing it breaks clusters that use it: publish a new version, or pass \
                     --force to overwrite anyway"
                ),
            )),
            Status::Overwritten | Status::WouldOverwrite => self.out.warn(&format!(
                "{reference} exists with other content ({remote_words}); overwriting it because of --force"
            )),
            _ => {}
        }
        if args.dry_run {
            if store.needs_base_path() && !store::base_path_exists(store, false).await? {
                self.out.verbose("dry run: would create the base path");
            }
            return Ok(());
        }

        self.base.get_or_try_init(|| self.ensure_base()).await?;
        self.put_blobs(&pack, repository).await?;
        self.tag(&pack, repository, tag, outcome).await
    }

    /// Takes this machine's turn at `id`'s reference (other pushes of it here wait) and reads
    /// what its tag holds.
    async fn slot(&self, id: &Identity, outcome: &mut Outcome) -> anyhow::Result<Slot> {
        let store = self.store;
        let repository = pack_repository(&id.name);
        let tag = id.version.to_string();
        let reference = store.display(&repository, &tag);
        outcome.reference = Some(reference.clone());
        store.authorize_write(&repository).await?;
        let turn = tokio::task::block_in_place(|| {
            crate::lock::hold(&reference, || {
                self.out.warn(&format!(
                    "waiting for another push of {reference} on this machine"
                ));
            })
        })?;
        let existing = store.manifest(&repository, ManifestRef::Tag(&tag)).await?;
        Ok(Slot {
            repository,
            tag,
            reference,
            existing,
            _turn: turn,
        })
    }

    /// The archive `input` names and the pack its file name says it is, when it can be pushed
    /// while it is checked ([`Self::push_checking`]): not in a dry run; to a registry, which
    /// collects a blob no tag names (a layout or bundle would keep it); and when one split of
    /// the file name alone (`<name>-<version>.tar.gz`) gives a valid name and a version that
    /// starts with a digit. pack.json, read later, has the last word.
    fn named_archive<'i>(&self, input: &'i LocalInput) -> Option<(&'i Path, Identity)> {
        let LocalInput::Tarball(path) = input else {
            return None;
        };
        if self.args.dry_run || self.store.registry().is_none() {
            return None;
        }
        let stem = path.file_name()?.to_str()?.strip_suffix(".tar.gz")?;
        let mut splits = stem.match_indices('-').filter_map(|(at, _)| {
            let (name, version) = (&stem[..at], &stem[at + 1..]);
            version
                .starts_with(|c: char| c.is_ascii_digit())
                .then(|| Identity::parse(&format!("{name}:{version}")).ok())?
        });
        let named = splits.next()?;
        splits.next().is_none().then_some((path.as_path(), named))
    }

    /// Pushes the archive at `path`, which its file name says is `named`, while it is checked:
    /// the checks (inflating it, every entry, pack.json, values) run on a thread of their own
    /// while the upload sends what the hash has read, and the tag is written only when both
    /// succeeded, so a pack that fails them leaves at most a blob that no tag names. Returns
    /// the checked pack when it must go the ordinary way instead: its version exists (what to
    /// do then depends on the whole archive's digest), or pack.json names another pack than the
    /// file name seemed to; `None` once pushed.
    async fn push_checking(
        &self,
        path: &Path,
        named: Identity,
        outcome: &mut Outcome,
    ) -> anyhow::Result<Option<Checked>> {
        let (state, growing) = Growing::new(path.to_path_buf());
        let (build, limits) = (self.args.build.options(), self.args.read.limits());
        let reading = {
            let (path, build) = (path.to_path_buf(), build.clone());
            tokio::task::spawn_blocking(move || {
                pack::inspect_tarball(&path, &build, limits, Some(&state))
            })
        };
        let accept = |tarball| pack::accept_tarball(path, tarball, &build, limits, self.out);
        let slot = match self.slot(&named, outcome).await {
            Ok(slot) if slot.existing.is_none() => slot,
            looked => {
                // The pack's own verdict first: an invalid pack exits 3 whatever the registry
                // said, as it would have had it been checked before asking.
                let checked = joined(reading.await).and_then(accept)?;
                return match looked {
                    Err(err) if checked.id == named => Err(err),
                    _ => Ok(Some(checked)),
                };
            }
        };
        let label = named.to_string();
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        let upload = self.upload(&slot.repository, growing, (&label, size));
        let (checked, uploaded) = alongside(reading, accept, upload).await?;
        if checked.id != named {
            self.out.verbose(&format!(
                "{} is {}, not {named} as its file name suggests: pushing it again under that name",
                path.display(),
                checked.id
            ));
            return Ok(Some(checked));
        }
        outcome.identify(&checked.id);
        let pack = checked.build(self.args.build.recipe(), ArchiveTo::Temp, &self.out.notes())?;
        debug_assert_eq!(uploaded, (pack.archive.digest, pack.archive.size));
        self.tag_new(&pack, &slot, outcome).await.map(|()| None)
    }

    /// Builds the folder's archive into a temp file and uploads it as it grows; the blobs are
    /// in place when this returns, the tag is not.
    async fn stream(&self, checked: Checked, repository: &str) -> anyhow::Result<LocalPack> {
        let file = write::temp_file()?;
        let (state, growing) = Growing::new(file.path().to_path_buf());
        let (label, size) = (checked.id.to_string(), checked.size());
        let (recipe, notes) = (self.args.build.recipe(), self.out.notes());
        let building = tokio::task::spawn_blocking(move || {
            let to = ArchiveTo::Growing {
                file,
                state: &state,
            };
            checked.build(recipe, to, &notes)
        });
        let upload = self.upload(repository, growing, (&label, size));
        let (pack, uploaded) = alongside(building, Ok, upload).await?;
        debug_assert_eq!(uploaded, (pack.archive.digest, pack.archive.size));
        Ok(pack)
    }

    /// Uploads the archive `growing` to `repository` as it grows, and meanwhile the base path
    /// and the config: neither needs to wait for the other, only the tag for all three.
    /// `growing` goes when the upload ends: a build still writing it then stops. The bar is
    /// `label`'s and counts against `size`, the input's bytes (a folder's files, or a
    /// tarball's own), known from the start.
    async fn upload(
        &self,
        repository: &str,
        growing: Growing,
        (label, size): (&str, u64),
    ) -> anyhow::Result<(Digest, u64)> {
        let around = async {
            self.base.get_or_try_init(|| self.ensure_base()).await?;
            self.put_config(repository).await
        };
        let bar = self.out.bar(size, label);
        let progress: store::Progress = {
            let (bar, state) = (bar.clone(), growing.state.clone());
            // The archive's size is known only at the end: the bar counts the input's bytes,
            // the upload's share of the compressed bytes standing for as much of the input.
            Arc::new(move |sent| {
                let grown = state.borrow();
                let read = u128::from(sent) * u128::from(grown.read);
                let done = read.checked_div(u128::from(grown.written)).unwrap_or(0);
                bar.set_position(u64::try_from(done).unwrap_or(u64::MAX).min(size));
            })
        };
        let archive = self.store.put_growing_blob(repository, &growing, progress);
        let uploaded = futures_util::try_join!(around, archive);
        bar.finish_and_clear();
        uploaded.map(|((), archive)| archive)
    }

    /// Tags `pack`, new here, whose blobs are in place.
    async fn tag_new(
        &self,
        pack: &LocalPack,
        slot: &Slot,
        outcome: &mut Outcome,
    ) -> anyhow::Result<()> {
        self.remember(pack);
        outcome.layer_digest = Some(pack.archive.digest);
        outcome.size = Some(pack.archive.size);
        outcome.status = Status::Pushed;
        self.tag(pack, &slot.repository, &slot.tag, outcome).await
    }

    /// The archive the re-push cache says this content makes, when the tag (`held`) holds
    /// exactly that archive; `None` on any other answer, including no cache.
    fn cached(
        &self,
        checked: &Checked,
        held: &[u8],
        title: &str,
    ) -> anyhow::Result<Option<cache::Entry>> {
        let Ok((layer, size)) = manifest::check_shape(held, title) else {
            return Ok(None);
        };
        if !self.cache.is_on() {
            return Ok(None);
        }
        let recipe = self.args.build.recipe();
        let Some(tar) = tokio::task::block_in_place(|| checked.tar_digest(recipe))? else {
            return Ok(None);
        };
        let entry = self.cache.get(&tar);
        Ok(entry.filter(|e| e.archive == layer && e.size == size))
    }

    /// Remembers which archive the folder's content made.
    fn remember(&self, pack: &LocalPack) {
        if let Some(tar) = &pack.archive.tar {
            let entry = cache::Entry {
                archive: pack.archive.digest,
                size: pack.archive.size,
            };
            self.cache.put(tar, entry);
        }
    }

    /// How the registry's archive under `held` (another digest) compares with `pack`: the same
    /// files (paths, folders, executable bits and bytes; only compressed or stamped otherwise),
    /// or which differ. Downloaded and read as `pull` does ([`super::shared::fetch_pack`]); an archive
    /// that is not a safe, valid-shaped download of this pack cannot be compared.
    async fn compare(
        &self,
        pack: &LocalPack,
        repository: &str,
        held: &[u8],
    ) -> anyhow::Result<Compared> {
        let download = write::temp_file()?;
        let shown = self.store.display(repository, pack.id.version.as_str());
        let limits = self.args.read.limits();
        let into = download.path();
        let shown = (shown.as_str(), "taken as other content");
        let read = (limits, &pack.allowed);
        let fetched = super::shared::fetch_pack(self.store, &pack.id, held, shown, into, read);
        let remote = match fetched.await {
            Ok((remote, _)) => remote,
            Err(err)
                if crate::exit::failure_of(&err).is_some_and(|f| f.code == Code::VerifyFailed) =>
            {
                self.out.verbose(&format!("{err:#}"));
                return Ok(Compared::Unreadable);
            }
            Err(err) => return Err(err),
        };
        if !remote.safe_to_extract() {
            return Ok(Compared::Unreadable);
        }
        tokio::task::block_in_place(|| {
            Ok(match pack.listing()?.differences(&remote.listing()) {
                Some(differences) => Compared::Differs(differences),
                None => Compared::Same,
            })
        })
    }

    /// Writes the manifest by tag (every blob it names is in place) and reads it back.
    async fn tag(
        &self,
        pack: &LocalPack,
        repository: &str,
        tag: &str,
        outcome: &mut Outcome,
    ) -> anyhow::Result<()> {
        let store = self.store;
        let reference = store.display(repository, tag);
        let local = &pack.archive.digest;
        let title = pack.id.archive_name();
        let layer = Layer {
            digest: local,
            size: pack.archive.size,
            title: &title,
        };
        let manifest = manifest::build(self.args.image_spec, Some(layer), &self.created);
        let written = store
            .put_manifest(repository, ManifestRef::Tag(tag), &manifest)
            .await;
        let holds_this = |held: &[u8]| manifest::only_layer(held).is_ok_and(|l| l == *local);
        let now = match written {
            Ok(()) => self.read_back(repository, tag).await,
            // A lost answer is not a refusal: the registry may have stored the tag all the
            // same, and only reading it tells.
            Err(err) if exits(&err, Code::Unreachable) => {
                match self.read_back(repository, tag).await {
                    Ok(Some(held)) if holds_this(&held) => {
                        self.out.verbose(&format!(
                        "the registry's answer to the tag was lost, but {reference} holds this pack"
                    ));
                        Ok(Some(held))
                    }
                    Ok(_) => return Err(err),
                    Err(_) => {
                        return Err(err.context(format!(
                        "the registry may or may not hold {reference} now; run `packpub verify` \
                         on it, or push again (pushing the same pack again writes nothing)"
                    )));
                    }
                }
            }
            Err(err) => return Err(err),
        };
        outcome.digest = Some(Digest::of(&manifest));
        match now {
            // Not visible yet on an eventually consistent registry: nothing says otherwise.
            Ok(None) => Ok(()),
            Ok(Some(held)) if holds_this(&held) => {
                outcome.digest = Some(Digest::of(&held));
                Ok(())
            }
            // A push from another machine wrote the tag in the meantime, and then this one did
            // not publish what it says.
            Ok(Some(held)) => Err(Failure::err(
                Code::Conflict,
                format!(
                    "another push replaced {reference} while this one ran: it now holds {}, \
                     this pack is {local}. Publish a new version instead of racing for one",
                    manifest::only_layer(&held).map_or_else(|why| why, |l| format!("layer {l}"))
                ),
            )),
            Err(err) => {
                self.out.warn(&format!(
                    "pushed {reference}, but could not read it back to rule out a concurrent push \
                     from another machine: {err:#}"
                ));
                Ok(())
            }
        }
    }

    /// The manifest `tag` names now, asked a few times while the registry is unreachable:
    /// what a push claims hangs on it.
    async fn read_back(&self, repository: &str, tag: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let mut attempt = 1;
        loop {
            match self.store.manifest(repository, ManifestRef::Tag(tag)).await {
                Err(err)
                    if attempt < READ_BACK_ATTEMPTS
                        && exits(&err, Code::Unreachable)
                        && !crate::interrupt::requested() =>
                {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                other => return other,
            }
        }
    }

    async fn ensure_base(&self) -> anyhow::Result<()> {
        match store::ensure_base_path(self.store, self.args.image_spec).await? {
            Some(digest) => self
                .out
                .verbose(&format!("created the base path ({digest})")),
            None => self.out.verbose("the base path exists"),
        }
        Ok(())
    }

    /// The `{}` config, skipped when the store has it.
    async fn put_config(&self, repository: &str) -> anyhow::Result<()> {
        let config = Blob::Bytes(EMPTY_CONFIG);
        let quiet = store::unwatched();
        let digest = Digest::of(EMPTY_CONFIG);
        store::put_blob_once(self.store, repository, &digest, config, quiet).await?;
        Ok(())
    }

    /// The `{}` config and the archive, each skipped when the store has it.
    async fn put_blobs(&self, pack: &LocalPack, repository: &str) -> anyhow::Result<()> {
        let store = self.store;
        self.put_config(repository).await?;
        let bar = self.out.bar(pack.archive.size, &pack.id.to_string());
        let progress: store::Progress = {
            let bar = bar.clone();
            Arc::new(move |sent| bar.set_position(sent))
        };
        let path = pack
            .archive
            .path
            .as_deref()
            .expect("push builds into a temp file");
        let archive = Blob::File {
            path,
            size: pack.archive.size,
        };
        if !store::put_blob_once(store, repository, &pack.archive.digest, archive, progress).await?
        {
            self.out
                .verbose(&format!("the target already has {}", pack.archive.digest));
        }
        bar.finish_and_clear();
        Ok(())
    }
}

/// What a blocking task returned, its panic an error.
fn joined<T>(done: Result<anyhow::Result<T>, tokio::task::JoinError>) -> anyhow::Result<T> {
    done.map_err(|_| anyhow::anyhow!("writing or reading the archive panicked"))?
}

/// Runs `work` (writing or reading an archive on a blocking thread, so this task and the other
/// packs' uploads keep running) and the `upload` of that archive side by side; `then` takes
/// the work's result on this task. A failure of the work, or of `then`, says what is wrong with
/// the pack: it stops the upload and is the one reported. When the upload fails first, its
/// error is reported (a build then stops only because of it), unless the work goes on to find
/// the pack invalid: that exits 3, whatever became of its upload.
async fn alongside<T, U>(
    work: tokio::task::JoinHandle<anyhow::Result<T>>,
    then: impl FnOnce(T) -> anyhow::Result<U>,
    upload: impl Future<Output = anyhow::Result<(Digest, u64)>>,
) -> anyhow::Result<(U, (Digest, u64))> {
    match futures_util::future::select(work, std::pin::pin!(upload)).await {
        Either::Left((worked, upload)) => {
            // Returning early drops the upload, which stops it.
            let done = joined(worked).and_then(then)?;
            Ok((done, upload.await?))
        }
        Either::Right((uploaded, work)) => match (joined(work.await).and_then(then), uploaded) {
            (Ok(done), uploaded) => Ok((done, uploaded?)),
            (Err(err), Err(stopped)) if !exits(&err, Code::InvalidPack) => Err(stopped),
            (Err(err), _) => Err(err),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decision_table() {
        let local = Digest::of(b"local");
        let other = Digest::of(b"other");
        let same = Some(Ok(local));
        let changed = Some(Ok(other));
        let odd = Some(Err("2 layers".to_string()));
        let cases = [
            // (what the tag holds, --force, --dry-run) → status
            (None, false, false, Status::Pushed),
            (None, true, false, Status::Pushed),
            (None, false, true, Status::WouldPush),
            (None, true, true, Status::WouldPush),
            (same.clone(), false, false, Status::Unchanged),
            (same.clone(), true, false, Status::Unchanged),
            (same.clone(), false, true, Status::Unchanged),
            (same, true, true, Status::Unchanged),
            (changed.clone(), false, false, Status::Conflict),
            (changed.clone(), false, true, Status::Conflict),
            (changed.clone(), true, false, Status::Overwritten),
            (changed, true, true, Status::WouldOverwrite),
            (odd.clone(), false, false, Status::Conflict),
            (odd.clone(), true, false, Status::Overwritten),
            (odd, true, true, Status::WouldOverwrite),
        ];
        for (existing, force, dry_run, expected) in cases {
            assert_eq!(
                decide(existing.as_ref(), &local, force, dry_run),
                expected,
                "{existing:?} force={force} dry_run={dry_run}"
            );
        }
    }
}
