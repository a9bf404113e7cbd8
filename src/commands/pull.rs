//! `packpub pull`: download `<name>-<version>.tar.gz` (streamed, digest-checked, written
//! atomically) and, with `--extract`, unpack it. What it hands out must be a valid pack, safe to
//! extract, whose pack.json names the tag: otherwise exit 6 — with `--extract` nothing at all is
//! written; without it the download is kept for a look, with the reasons.

use super::shared::{block_on, fetch_pack, open_store};
use crate::atomic::AtomicFile;
use crate::cli::PullArgs;
use crate::exit::{Code, Failure};
use crate::output::Output;
use crate::pack::read;
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
    let limits = args.read.limits();
    let (inspected, problems) = block_on(async {
        let manifest = store
            .manifest(&repository, ManifestRef::Tag(tag))
            .await?
            .ok_or_else(|| Failure::err(Code::VerifyFailed, format!("{shown} does not exist")))?;
        let into = download.temp_path();
        let shown = (shown.as_str(), "nothing was written");
        let read = (limits, &args.allowed);
        fetch_pack(store.as_ref(), id, &manifest, shown, into, read).await
    })?;
    let layer = inspected.digest;
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
    let mut details = vec![("digest", layer.to_string())];
    let extracted = if args.extract {
        let folder = read::extract(&path, &args.output, limits, args.force)?;
        details.push(("archive", path.display().to_string()));
        Some(folder)
    } else {
        None
    };
    // The path a script goes on with: the folder when it asked for one, else the archive.
    out.result(&extracted.as_ref().unwrap_or(&path).display().to_string());
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
