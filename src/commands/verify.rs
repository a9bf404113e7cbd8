//! `packpub verify`: proves, right after a push, that the target holds exactly the pack built
//! here, at the path Palette reads, in the shape Palette accepts — instead of waiting for
//! Palette's 24-hour sync. Each check is reported; any failure exits 6. A bundle
//! (`oci-archive:FILE`) with no pack named checks every pack and image it lists.

use super::shared::{block_on, open_store};
use crate::cli::{VerifyArgs, VerifyInput};
use crate::digest::Digest;
use crate::exit::{Code, Failure};
use crate::image_ref::ImageRef;
use crate::output::Output;
use crate::pack::{self, Allowed, ArchiveTo, Identity, LocalInput, LocalPack, Severity, read};
use crate::registry::images;
use crate::registry::manifest::check_shape;
use crate::registry::reference::{BASE_PATH, Target};
use crate::registry::store::{self, ImageEntry, ManifestRef, Store, pack_repository};
use serde::Serialize;

/// The checks, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum CheckName {
    BasePath,
    Tag,
    ManifestShape,
    Download,
    Digest,
    SafeToExtract,
    PackJsonMatchesTheTag,
    PackIsValid,
    /// An image a bundle carries: every manifest and blob against its digest.
    Image,
    /// A pack's listed images, in a bundle or layout that carries images: all there, or none
    /// (the pack was copied without them); some but not all is an incomplete bundle.
    Images,
}

impl CheckName {
    fn words(self) -> &'static str {
        match self {
            Self::BasePath => "base path",
            Self::Tag => "tag",
            Self::ManifestShape => "manifest shape",
            Self::Download => "download",
            Self::Digest => "digest",
            Self::SafeToExtract => "safe to extract",
            Self::PackJsonMatchesTheTag => "pack.json matches the tag",
            Self::PackIsValid => "pack is valid",
            Self::Image => "image digests",
            Self::Images => "images carried",
        }
    }
}

#[derive(Serialize)]
struct Check {
    #[serde(serialize_with = "words")]
    check: CheckName,
    ok: bool,
    detail: String,
}

fn words<S: serde::Serializer>(name: &CheckName, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(name.words())
}

pub fn run(args: &VerifyArgs, out: &Output) -> anyhow::Result<()> {
    if args.pack.is_none() && matches!(args.remote.registry, Target::Archive(_)) {
        return run_bundle(args, out);
    }
    let here = VerifyInput::Local(LocalInput::Folder(".".into()));
    let (id, local) = match args.pack.as_ref().unwrap_or(&here) {
        VerifyInput::Published(id) => (id.clone(), None),
        VerifyInput::Local(input) => {
            // A folder's archive is rebuilt the way `pack` builds it, hashed and never written.
            let limits = args.read.limits();
            let pack = pack::load(
                input,
                &args.build.options(),
                limits,
                ArchiveTo::Nowhere,
                out,
            )?;
            (pack.id.clone(), Some(pack))
        }
    };
    let store = open_store(&args.remote, out, false)?;
    // The registry's copy is judged as the local pack was: same rules allowed.
    let allowed = local
        .as_ref()
        .map_or(&args.build.allowed, |pack| &pack.allowed);
    let held = store.images()?;
    let verified = block_on(verify(
        store.as_ref(),
        &id,
        (local.as_ref(), &held),
        (args.read.limits(), allowed),
    ))?;
    verified.print("", out);
    out.print_json(&verified);
    if verified.ok {
        return Ok(());
    }
    Err(Failure::err(
        Code::VerifyFailed,
        format!("{} failed: {}", verified.reference, verified.failed()),
    ))
}

/// `verify --registry oci-archive:FILE` without a pack: every pack the bundle's index lists,
/// so a bundle proves itself where it lands, without a network.
fn run_bundle(args: &VerifyArgs, out: &Output) -> anyhow::Result<()> {
    let store = open_store(&args.remote, out, false)?;
    let store = store.as_ref();
    let read = (args.read.limits(), &args.build.allowed);
    let held = store.images()?;
    let all = block_on(async {
        let mut all = Vec::new();
        for name in super::shared::pack_names(store, 0).await? {
            let repository = pack_repository(&name);
            for version in store.tags(&repository, 0).await? {
                // A pack whose tag cannot be read (its manifest missing, too large, not what
                // its digest says) fails alone; the others are still checked.
                let failed = |detail: String| Verified {
                    kind: Kind::Pack,
                    label: format!("{name}:{version}"),
                    name: name.to_string(),
                    version: version.clone(),
                    reference: store.display(&repository, &version),
                    ok: false,
                    checks: vec![Check {
                        check: CheckName::Tag,
                        ok: false,
                        detail,
                    }],
                };
                let verified = match Identity::parse(&format!("{name}:{version}")) {
                    Ok(id) => match verify(store, &id, (None, &held), read).await {
                        Err(err) if super::shared::is_bad_content(&err) => {
                            failed(format!("{err:#}"))
                        }
                        other => other?,
                    },
                    Err(why) => failed(format!("{version:?} is no pack version: {why}")),
                };
                all.push(verified);
            }
        }
        for image in &held {
            all.push(verify_image(store, image).await?);
        }
        anyhow::Ok(all)
    })?;
    let bundle = store.locate(BASE_PATH);
    if all.is_empty() {
        return Err(Failure::err(
            Code::VerifyFailed,
            format!("{bundle} holds no packs"),
        ));
    }
    for verified in &all {
        verified.print(&format!("{}: ", verified.label), out);
    }
    out.print_json(&all);
    let failed: Vec<String> = all
        .iter()
        .filter(|v| !v.ok)
        .map(|v| format!("{} ({})", v.label, v.failed()))
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    let images = all.iter().filter(|v| v.kind == Kind::Image).count();
    let checked = match images {
        0 => format!("{} pack(s)", all.len()),
        _ => format!("{} pack(s) and images ({images} images)", all.len()),
    };
    Err(Failure::err(
        Code::VerifyFailed,
        format!(
            "{} of {checked} in {bundle} failed: {}",
            failed.len(),
            failed.join(", ")
        ),
    ))
}

/// An image a bundle lists, checked through: its `name` is the reference the pack names it
/// by, its `version` the tag or digest it is stored under.
async fn verify_image(store: &dyn Store, image: &ImageEntry) -> anyhow::Result<Verified> {
    let reference = image.reference();
    let shown = store.show(&image.repository, reference);
    let (ok, detail) = match images::verify(store, &image.repository, reference).await {
        Ok(digest) => (true, format!("{digest}, every manifest and blob matches")),
        Err(err) if super::shared::is_bad_content(&err) => (false, format!("{err:#}")),
        Err(err) => return Err(err),
    };
    Ok(Verified {
        kind: Kind::Image,
        label: format!("image {} at {}", image.source, image.repository),
        name: image.source.clone(),
        version: image
            .tag
            .clone()
            .unwrap_or_else(|| image.digest.to_string()),
        reference: shown,
        ok,
        checks: vec![Check {
            check: CheckName::Image,
            ok,
            detail,
        }],
    })
}

/// What was verified: a pack, or an image a bundle carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Pack,
    Image,
}

/// One pack's (or image's) checks: what `--json` prints for it.
#[derive(Serialize)]
struct Verified {
    kind: Kind,
    /// How people read which it is: `hello:1.0.0`, `image nginx:1.25 at <repository>`.
    #[serde(skip)]
    label: String,
    name: String,
    version: String,
    reference: String,
    ok: bool,
    checks: Vec<Check>,
}

impl Verified {
    /// One line per check for people, each after `prefix`.
    fn print(&self, prefix: &str, out: &Output) {
        for check in &self.checks {
            let line = format!("{prefix}{}: {}", check.check.words(), check.detail);
            if check.ok {
                out.success(&line, &[]);
            } else {
                out.error(&line);
            }
        }
    }

    /// The checks that failed, in words.
    fn failed(&self) -> String {
        let failed: Vec<&str> = self
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.check.words())
            .collect();
        failed.join(", ")
    }
}

/// The checks of pack `id`, reading the registry's archive within the limits and judging it
/// with the findings allowed; `against` is the local pack, if any, and the images the store
/// lists (read once per run), which tell whether the pack's images travelled with it.
async fn verify(
    store: &dyn Store,
    id: &Identity,
    against: (Option<&LocalPack>, &[ImageEntry]),
    read: (read::Limits, &Allowed),
) -> anyhow::Result<Verified> {
    let repository = pack_repository(&id.name);
    let checks = run_checks(store, &repository, id, against, read).await?;
    Ok(Verified {
        kind: Kind::Pack,
        label: format!("{}:{}", id.name, id.version),
        name: id.name.to_string(),
        version: id.version.to_string(),
        reference: store.display(&repository, id.version.as_str()),
        ok: checks.iter().all(|c| c.ok),
        checks,
    })
}

async fn run_checks(
    store: &dyn Store,
    repository: &str,
    id: &Identity,
    (local, held): (Option<&LocalPack>, &[ImageEntry]),
    (limits, allowed): (read::Limits, &Allowed),
) -> anyhow::Result<Vec<Check>> {
    let mut checks = Vec::new();
    let mut check = |check: CheckName, ok: bool, detail: String| {
        checks.push(Check { check, ok, detail });
        ok
    };
    let base = store.locate(BASE_PATH);
    if store.needs_base_path() {
        let exists = store::base_path_exists(store, true).await?;
        let detail = if exists {
            format!("{base} exists")
        } else {
            format!("{base} does not exist; `packpub push` creates it")
        };
        check(CheckName::BasePath, exists, detail);
    } else {
        check(
            CheckName::BasePath,
            true,
            "an OCI layout needs no base path".into(),
        );
    }

    let tag = id.version.as_str();
    let shown = store.display(repository, tag);
    let Some(manifest) = store.manifest(repository, ManifestRef::Tag(tag)).await? else {
        check(CheckName::Tag, false, format!("{shown} does not exist"));
        return Ok(checks);
    };
    check(
        CheckName::Tag,
        true,
        format!("{shown} → {}", Digest::of(&manifest)),
    );
    let title = id.archive_name();
    let (layer, size) = match check_shape(&manifest, &title) {
        Ok(layer) => {
            let detail = format!("ORAS manifest, one layer titled {title}");
            check(CheckName::ManifestShape, true, detail);
            layer
        }
        Err(why) => {
            check(CheckName::ManifestShape, false, why);
            return Ok(checks);
        }
    };

    if let Some(why) = limits.refuses_compressed(size) {
        check(CheckName::Download, false, why);
        return Ok(checks);
    }
    let temp = crate::pack::write::temp_file()?;
    let mut file = tokio::fs::File::create(temp.path()).await?;
    if let Err(err) = store.fetch_blob(repository, &layer, size, &mut file).await {
        if !super::shared::is_bad_content(&err) {
            return Err(err);
        }
        check(CheckName::Download, false, format!("{err:#}"));
        return Ok(checks);
    }
    // One pass hashes and reads the download; its entries count only if the hash matches.
    let mut inspected = read::inspect(temp.path(), false, limits, Default::default())?;
    allowed.apply(&mut inspected.findings);
    let downloaded = inspected.digest;
    let blob_ok = downloaded == layer;
    check(
        CheckName::Download,
        blob_ok,
        if blob_ok {
            format!("{layer} downloaded and its sha256 matches")
        } else {
            format!("the blob's sha256 is {downloaded}, the manifest says {layer}")
        },
    );
    if !blob_ok {
        return Ok(checks);
    }

    if let Some(local) = local {
        let (same, detail) = if local.archive.digest == layer {
            (
                true,
                format!("the registry's layer is the local archive {layer}"),
            )
        } else {
            let shown = format!("registry {layer}, local {}", local.archive.digest);
            match (
                inspected.safe_to_extract(),
                local.listing()?.differences(&inspected.listing()),
            ) {
                // Another compression (an older packpub, tar -czf): Palette extracts the same.
                (true, None) => (
                    true,
                    format!(
                        "same files, other compression ({shown}): the same paths, folders, \
                         executable bits and bytes"
                    ),
                ),
                (_, Some(differences)) => (false, format!("{shown}: {differences}")),
                (false, None) => (
                    false,
                    format!("{shown}: the registry's archive is not safe to extract"),
                ),
            }
        };
        check(CheckName::Digest, same, detail);
    }

    let safe = inspected.safe_to_extract();
    let detail = if safe {
        "no absolute paths, no '..', no links or devices, one top-level folder".to_string()
    } else {
        inspected.unsafe_entries.join("; ")
    };
    check(CheckName::SafeToExtract, safe, detail);
    let (matches, detail) = match &inspected.id {
        Some(inside) if inside == id => (true, format!("pack.json says {id}")),
        Some(inside) => (
            false,
            format!("pack.json inside says {inside}, the tag says {id}"),
        ),
        None => (false, "the archive holds no valid pack.json".to_string()),
    };
    check(CheckName::PackJsonMatchesTheTag, matches, detail);
    let errors: Vec<String> = inspected
        .findings
        .counted(Severity::Error)
        .map(ToString::to_string)
        .chain(inspected.findings.omitted_lines(Severity::Error))
        .collect();
    let detail = if errors.is_empty() {
        "passes the same validation as `packpub pack`".to_string()
    } else {
        errors.join("; ")
    };
    check(CheckName::PackIsValid, errors.is_empty(), detail);
    if !held.is_empty() {
        let declared = pack::images::declared_in_archive(temp.path(), limits)?;
        if let Some((ok, detail)) = images_carried(&declared.images, held) {
            check(CheckName::Images, ok, detail);
        }
    }
    Ok(checks)
}

/// Whether a bundle or layout holding `held` carries the images a pack lists: all, or none (it
/// was copied without them, said); `None` when it lists none.
fn images_carried(listed: &[ImageRef], held: &[ImageEntry]) -> Option<(bool, String)> {
    let missing: Vec<String> = listed
        .iter()
        .map(ToString::to_string)
        .filter(|r| !held.iter().any(|e| e.source == *r))
        .collect();
    let total = listed.len();
    match missing.len() {
        _ if total == 0 => None,
        0 => Some((true, format!("all {total} images it lists are here"))),
        n if n == total => Some((
            true,
            format!(
                "none of the {total} images it lists is here (copied without --with-images): \
                 a restore does not carry them"
            ),
        )),
        n => Some((
            false,
            format!(
                "{n} of the {total} images it lists are not here ({}): the copy is incomplete, \
                 and a restore would publish the pack without them",
                shown_list(&missing)
            ),
        )),
    }
}

/// The first few of `names`, and how many more.
fn shown_list(names: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = names
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}
