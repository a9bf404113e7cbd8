//! `packpub pull`: download `<name>-<version>.tar.gz` (streamed, digest-checked, written
//! atomically) and, with `--extract`, unpack it only if every entry is safe; an unsafe archive
//! exits 6 and nothing at all is written.

use super::{open_store, runtime};
use crate::atomic::AtomicFile;
use crate::cli::PullArgs;
use crate::digest::Digest;
use crate::exit::{Code, Failure};
use crate::output::Output;
use crate::pack::read;
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
        let (digest, _) = check_shape(&manifest, &title)
            .map_err(|why| Failure::err(Code::VerifyFailed, format!("{shown}: {why}")))?;
        let mut file = tokio::fs::File::create(download.temp_path()).await?;
        store.fetch_blob(&repository, &digest, &mut file).await?;
        anyhow::Ok(digest)
    })?;
    let (actual, _) = Digest::of_file(download.temp_path())?;
    if actual != layer {
        return Err(Failure::err(
            Code::VerifyFailed,
            format!("{shown}: the download's digest is {actual}, not the manifest's {layer}"),
        ));
    }
    let inspected = read::inspect(download.temp_path(), false)?;
    if args.extract && !inspected.safe_to_extract() {
        return Err(Failure::err(
            Code::VerifyFailed,
            format!(
                "{shown} is unsafe to extract; nothing was written:\n  {}",
                inspected.unsafe_entries.join("\n  ")
            ),
        ));
    }
    let path = download.commit()?;
    let mut details = vec![
        ("path", path.display().to_string()),
        ("digest", layer.to_string()),
    ];
    let extracted = match (&inspected.top, args.extract) {
        (Some(top), true) => {
            let folder = read::extract(&path, top, &args.output)?;
            details.push(("extracted", folder.display().to_string()));
            Some(folder)
        }
        _ => None,
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
