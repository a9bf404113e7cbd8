//! `packpub pull`: download `<name>-<version>.tar.gz` (streamed, digest-checked, written
//! atomically) and, with `--extract`, unpack it only if every entry is safe; an unsafe archive
//! exits 6 and nothing at all is written.

use super::{name_version, open_remote, runtime};
use crate::cli::PullArgs;
use crate::digest::{Digest, HashingWriter};
use crate::exit::{Code, Failure};
use crate::output::Output;
use crate::pack::tarball;
use crate::registry::manifest::check_shape;
use anyhow::Context;

pub fn run(args: &PullArgs, out: &Output) -> anyhow::Result<()> {
    let (name, version) = name_version(&args.pack)?;
    let remote = open_remote(&args.remote, out, false)?;
    let repository = remote.repository(&name);
    let shown = remote.display(&repository, &version);
    let title = format!("{name}-{version}.tar.gz");
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    let temp = tempfile::Builder::new()
        .prefix(".packpub-")
        .suffix(".tar.gz")
        .tempfile_in(&args.output)?;
    let layer_digest = runtime()?.block_on(async {
        let (manifest, _) = remote
            .manifest(&repository, &version)
            .await?
            .ok_or_else(|| Failure::err(Code::VerifyFailed, format!("{shown} does not exist")))?;
        let (digest, _) = check_shape(&manifest, &title)
            .map_err(|why| Failure::err(Code::VerifyFailed, format!("{shown}: {why}")))?;
        remote.download(&repository, &digest, temp.path()).await?;
        anyhow::Ok(digest)
    })?;
    let actual = file_digest(temp.path())?;
    if actual.to_string() != layer_digest {
        return Err(Failure::err(
            Code::VerifyFailed,
            format!(
                "{shown}: the download's digest is {actual}, not the manifest's {layer_digest}"
            ),
        ));
    }
    let inspected = tarball::inspect(temp.path(), false)?;
    if args.extract && (!inspected.unsafe_entries.is_empty() || inspected.top.is_none()) {
        return Err(Failure::err(
            Code::VerifyFailed,
            format!(
                "{shown} is unsafe to extract; nothing was written:\n  {}",
                inspected.unsafe_entries.join("\n  ")
            ),
        ));
    }
    let path = args.output.join(&title);
    temp.persist(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let mut details = vec![
        ("path", path.display().to_string()),
        ("digest", layer_digest.clone()),
    ];
    let extracted = match (&inspected.top, args.extract) {
        (Some(top), true) => {
            let folder = tarball::extract(&path, top, &args.output)?;
            details.push(("extracted", folder.display().to_string()));
            Some(folder)
        }
        _ => None,
    };
    out.success(&format!("pulled {name} {version}"), &details);
    out.print_json(&serde_json::json!({
        "name": name,
        "version": version,
        "reference": shown,
        "path": path,
        "digest": layer_digest,
        "extracted": extracted,
    }));
    Ok(())
}

/// The sha256 of a file, streamed.
pub fn file_digest(path: &std::path::Path) -> anyhow::Result<Digest> {
    let mut file = std::fs::File::open(path)?;
    let mut hashing = HashingWriter::new(std::io::sink());
    std::io::copy(&mut file, &mut hashing)?;
    Ok(hashing.finish().0)
}
