//! `packpub pull`: download `<name>-<version>.tar.gz` (streamed, digest-checked, written
//! atomically) and, with `--extract`, unpack it. What it hands out must be a valid pack, safe to
//! extract, whose pack.json names the tag: otherwise exit 6 — with `--extract` nothing at all is
//! written; without it the download is kept for a look, with the reasons.

use super::{is_bad_content, open_store, runtime};
use crate::atomic::AtomicFile;
use crate::cli::PullArgs;
use crate::exit::{Code, Failure};
use crate::output::Output;
use crate::pack::{Identity, Severity, read};
use crate::registry::manifest::check_shape;
use crate::registry::store::{ManifestRef, pack_repository};
use anyhow::Context;

pub fn run(args: &PullArgs, out: &Output) -> anyhow::Result<()> {
    let id = &args.pack;
    let store = open_store(&args.remote, out, false)?;
    let repository = pack_repository(&id.name);
    let tag = id.version.as_str();
    let shown = store.display(&repository, tag);
    let title = id.archive_name();
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    let download = AtomicFile::create(&args.output.join(&title), 0o666)?;
    let layer = runtime()?.block_on(async {
        let manifest = store
            .manifest(&repository, ManifestRef::Tag(tag))
            .await?
            .ok_or_else(|| Failure::err(Code::VerifyFailed, format!("{shown} does not exist")))?;
        let (digest, size) = check_shape(&manifest, &title)
            .map_err(|why| Failure::err(Code::VerifyFailed, format!("{shown}: {why}")))?;
        let mut file = tokio::fs::File::create(download.temp_path()).await?;
        match store
            .fetch_blob(&repository, &digest, size, &mut file)
            .await
        {
            Err(err) if is_bad_content(&err) => Err(Failure::err(
                Code::VerifyFailed,
                format!("{shown}: the download failed: {err:#}; nothing was written"),
            )),
            other => other.map(|_| digest),
        }
    })?;
    // One pass hashes and reads the download; its entries count only if the hash matches.
    let limits = args.read.limits();
    let inspected = read::inspect(download.temp_path(), false, limits, Default::default())?;
    let actual = inspected.digest;
    if actual != layer {
        return Err(Failure::err(
            Code::VerifyFailed,
            format!(
                "{shown}: the download's digest is {actual}, not the manifest's {layer}; nothing was written"
            ),
        ));
    }
    let problems = problems(&inspected, id);
    if args.extract && !problems.is_empty() {
        return Err(Failure::err(
            Code::VerifyFailed,
            format!(
                "{shown} is not a pack that is safe to extract; nothing was written:\n  {}",
                problems.join("\n  ")
            ),
        ));
    }
    let path = download.commit()?;
    if !problems.is_empty() {
        // The download is what the registry holds, kept for a look; a script still sees failure.
        return Err(Failure::err(
            Code::VerifyFailed,
            format!(
                "{shown} was downloaded to {}, but it is not a pack that is safe to extract:\n  {}",
                path.display(),
                problems.join("\n  ")
            ),
        ));
    }
    let mut details = vec![
        ("path", path.display().to_string()),
        ("digest", layer.to_string()),
    ];
    let extracted = if args.extract {
        let folder = read::extract(&path, &args.output, limits)?;
        details.push(("extracted", folder.display().to_string()));
        Some(folder)
    } else {
        None
    };
    out.success(&format!("pulled {id}"), &details);
    out.print_json(&serde_json::json!({
        "name": id.name.to_string(),
        "version": id.version.to_string(),
        "reference": shown,
        "path": path,
        "digest": layer,
        "extracted": extracted,
    }));
    Ok(())
}

/// Why the downloaded archive is not a valid, safe pack named `id`, one line each.
fn problems(inspected: &read::Tarball, id: &Identity) -> Vec<String> {
    let mut problems = inspected.unsafe_entries.clone();
    if let Some(inside) = inspected.id.as_ref().filter(|inside| *inside != id) {
        problems.push(format!("pack.json inside says {inside}, the tag says {id}"));
    }
    // Unsafe entries are findings too; list each problem once.
    problems.extend(
        inspected
            .findings
            .list
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .filter(|f| !inspected.unsafe_entries.contains(&f.message))
            .map(ToString::to_string),
    );
    problems
}
