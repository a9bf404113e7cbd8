//! `packpub verify`: proves, right after a push, that the registry holds exactly the pack built
//! here, at the path Palette reads, in the shape Palette accepts — instead of waiting for
//! Palette's 24-hour sync. Each check is reported; any failure exits 6.

use super::pull::file_digest;
use super::{load_pack, name_version, open_remote, runtime};
use crate::cli::VerifyArgs;
use crate::digest::Digest;
use crate::exit::{Code, Failure};
use crate::output::Output;
use crate::pack::{Severity, archive, tarball};
use crate::registry::manifest::check_shape;
use crate::registry::remote::Remote;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Serialize)]
struct Check {
    check: &'static str,
    ok: bool,
    detail: String,
}

/// The pack as built here: its archive digest and each file's content digest.
struct Local {
    digest: Digest,
    files: BTreeMap<String, Digest>,
}

pub fn run(args: &VerifyArgs, out: &Output) -> anyhow::Result<()> {
    let path = Path::new(&args.pack);
    let (name, version, local) = if !path.exists() && args.pack.contains(':') {
        let (name, version) = name_version(&args.pack)?;
        (name, version, None)
    } else if path.is_file() {
        let inspected = tarball::inspect(path, true)?;
        let id = inspected.id.ok_or_else(|| {
            Failure::err(
                Code::InvalidPack,
                format!("{} holds no valid pack.json", path.display()),
            )
        })?;
        let local = Local {
            digest: inspected.digest,
            files: inspected.files,
        };
        (id.name.to_string(), id.version.to_string(), Some(local))
    } else {
        let (pack, _) = load_pack(path, None, &args.validation, out)?;
        // Rebuilt the same way `pack` builds it, streamed into the hasher and never written.
        let (written, _) = archive::write(&pack, archive::mtime_from_env()?, std::io::sink())?;
        let mut files = BTreeMap::new();
        for entry in pack
            .entries
            .iter()
            .filter(|e| matches!(e.kind, crate::pack::EntryKind::File { .. }))
        {
            files.insert(entry.path.clone(), file_digest(&entry.source)?);
        }
        let local = Local {
            digest: written.digest,
            files,
        };
        (
            pack.id.name.to_string(),
            pack.id.version.to_string(),
            Some(local),
        )
    };

    let remote = open_remote(&args.remote, out, false)?;
    let repository = remote.repository(&name);
    let reference = remote.display(&repository, &version);
    let checks = runtime()?.block_on(run_checks(
        &remote,
        &repository,
        &name,
        &version,
        local.as_ref(),
    ))?;

    for check in &checks {
        if check.ok {
            out.success(&format!("{}: {}", check.check, check.detail), &[]);
        } else {
            out.error(&format!("✘ {}: {}", check.check, check.detail));
        }
    }
    let ok = checks.iter().all(|c| c.ok);
    out.print_json(&serde_json::json!({
        "name": name, "version": version, "reference": reference, "ok": ok, "checks": checks,
    }));
    if ok {
        Ok(())
    } else {
        let failed: Vec<&str> = checks.iter().filter(|c| !c.ok).map(|c| c.check).collect();
        Err(Failure::err(
            Code::VerifyFailed,
            format!("{reference} failed: {}", failed.join(", ")),
        ))
    }
}

async fn run_checks(
    remote: &Remote,
    repository: &str,
    name: &str,
    version: &str,
    local: Option<&Local>,
) -> anyhow::Result<Vec<Check>> {
    let mut checks = Vec::new();
    let mut check = |check: &'static str, ok: bool, detail: String| {
        checks.push(Check { check, ok, detail });
        ok
    };
    let (base_ok, base_detail) = remote.base_path_exists().await?;
    check("base path", base_ok, base_detail);

    let shown = remote.display(repository, version);
    let Some((manifest, manifest_digest)) = remote.manifest(repository, version).await? else {
        check("tag", false, format!("{shown} does not exist"));
        return Ok(checks);
    };
    check("tag", true, format!("{shown} → {manifest_digest}"));
    let title = format!("{name}-{version}.tar.gz");
    let layer = match check_shape(&manifest, &title) {
        Ok((digest, _)) => {
            check(
                "manifest shape",
                true,
                format!("ORAS manifest, one layer titled {title}"),
            );
            digest
        }
        Err(why) => {
            check("manifest shape", false, why);
            return Ok(checks);
        }
    };

    let temp = tempfile::Builder::new()
        .prefix(".packpub-")
        .suffix(".tar.gz")
        .tempfile()?;
    remote.download(repository, &layer, temp.path()).await?;
    let downloaded = file_digest(temp.path())?;
    let blob_ok = downloaded.to_string() == layer;
    check(
        "download",
        blob_ok,
        if blob_ok {
            format!("{layer} downloaded and its sha256 matches")
        } else {
            format!("the blob's sha256 is {downloaded}, the manifest says {layer}")
        },
    );
    let inspected = tarball::inspect(temp.path(), false)?;

    if let Some(local) = local {
        let same = local.digest.to_string() == layer;
        check(
            "digest",
            same,
            if same {
                format!("the registry's layer is the local archive {layer}")
            } else {
                format!(
                    "registry {layer}, local {}: {}",
                    local.digest,
                    differences(&local.files, &inspected.files)
                )
            },
        );
    }

    let unsafe_ok = inspected.unsafe_entries.is_empty() && inspected.top.is_some();
    check(
        "safe to extract",
        unsafe_ok,
        if unsafe_ok {
            "no absolute paths, no '..', no links or devices, one top-level folder".to_string()
        } else {
            inspected.unsafe_entries.join("; ")
        },
    );
    let identity = match &inspected.id {
        Some(id) if id.name.to_string() == name && id.version.to_string() == version => {
            Ok(format!("pack.json says {name} {version}"))
        }
        Some(id) => Err(format!(
            "pack.json inside says {} {}, the tag says {name} {version}",
            id.name, id.version
        )),
        None => Err("the archive holds no valid pack.json".to_string()),
    };
    match identity {
        Ok(detail) => check("pack.json matches the tag", true, detail),
        Err(detail) => check("pack.json matches the tag", false, detail),
    };
    let errors: Vec<String> = inspected
        .findings
        .0
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(ToString::to_string)
        .collect();
    check(
        "pack is valid",
        errors.is_empty(),
        if errors.is_empty() {
            "passes the same validation as `packpub pack`".to_string()
        } else {
            errors.join("; ")
        },
    );
    Ok(checks)
}

/// Files added, removed and changed in the registry's archive relative to the local pack.
fn differences(local: &BTreeMap<String, Digest>, remote: &BTreeMap<String, Digest>) -> String {
    let added: Vec<&str> = remote
        .keys()
        .filter(|k| !local.contains_key(*k))
        .map(String::as_str)
        .collect();
    let removed: Vec<&str> = local
        .keys()
        .filter(|k| !remote.contains_key(*k))
        .map(String::as_str)
        .collect();
    let changed: Vec<&str> = local
        .iter()
        .filter(|(k, d)| remote.get(*k).is_some_and(|r| r != *d))
        .map(|(k, _)| k.as_str())
        .collect();
    if added.is_empty() && removed.is_empty() && changed.is_empty() {
        return "the files are the same; only archive metadata differs (built with another SOURCE_DATE_EPOCH or tool?)".to_string();
    }
    let mut parts = Vec::new();
    for (label, list) in [
        ("only in the registry", added),
        ("only here", removed),
        ("changed", changed),
    ] {
        if !list.is_empty() {
            parts.push(format!("{label}: {}", list.join(", ")));
        }
    }
    parts.join("; ")
}
