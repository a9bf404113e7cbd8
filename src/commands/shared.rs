//! What several verbs do with a target, written once: open it as a [`Store`] (a registry with
//! the credential the lookup order finds, a layout or a bundle), list its packs, fetch a pack
//! and read it back, and run the work on a runtime Ctrl-C ends. The verbs import it; it
//! imports no verb.

use crate::cli::{RemoteArgs, TransportArgs};
use crate::credentials::{Given, Resolved};
use crate::exit::{Code, Failure};
use crate::output::Output;
use crate::pack::{Allowed, Identity, PackName, Severity, read};
use crate::registry::archive::Archive;
use crate::registry::client::Registry;
use crate::registry::layout::Layout;
use crate::registry::manifest::check_shape;
use crate::registry::reference::{BASE_PATH, Target};
use crate::registry::store::{Store, pack_repository};
use std::cmp::Ordering;

/// Opens the target as a store: a registry with the credential the lookup order finds, an OCI
/// layout or a bundle (created when missing if `create`, for `push`).
pub(super) fn open_store(
    args: &RemoteArgs,
    out: &Output,
    create: bool,
) -> anyhow::Result<Box<dyn Store>> {
    let given = || args.credentials.given();
    open_target(&args.registry, &args.transport, given, out, create)
}

/// `target` as a [`Store`]; `given` is asked for the credentials a registry needs.
pub(super) fn open_target(
    target: &Target,
    transport: &TransportArgs,
    given: impl FnOnce() -> anyhow::Result<Given>,
    out: &Output,
    create: bool,
) -> anyhow::Result<Box<dyn Store>> {
    Ok(match target {
        Target::Layout(path) => Box::new(Layout::open(path, create)?),
        Target::Archive(path) => Box::new(Archive::open(path, create, || {
            out.warn(&format!(
                "waiting for another packpub writing {}",
                path.display()
            ));
        })?),
        Target::Registry { host, prefix } => {
            let resolved = crate::credentials::resolve(host, &given()?, out)?;
            Box::new(open_registry(host, prefix, transport, resolved, out)?)
        }
    })
}

/// The registry at `host`, reached as `transport` says.
pub(super) fn open_registry(
    host: &str,
    prefix: &str,
    transport: &TransportArgs,
    credential: Resolved,
    out: &Output,
) -> anyhow::Result<Registry> {
    if transport.insecure {
        out.warn("--insecure: TLS certificates are not verified; anyone on the network path can read and change what is sent");
    }
    Registry::new(host, prefix, &transport.into(), credential, out.notes())
}

/// Downloads the archive of pack `id` that `manifest` (read from `store`, shown as `shown`)
/// names into `into`, streamed and capped at its declared size, and reads it back through the
/// bounded reader. A manifest not in Palette's shape, a failed download or another digest is
/// exit 6, its message ending with `then` (what the caller did not do); otherwise the archive,
/// with why it is not a valid, safe pack named `id` (one line each; empty when it is), where
/// the findings `allowed` covers do not count.
pub(super) async fn fetch_pack(
    store: &dyn Store,
    id: &Identity,
    manifest: &[u8],
    (shown, then): (&str, &str),
    into: &std::path::Path,
    (limits, allowed): (read::Limits, &Allowed),
) -> anyhow::Result<(read::Tarball, Vec<String>)> {
    let bad = |why: String| Failure::err(Code::VerifyFailed, format!("{shown}: {why}; {then}"));
    let (digest, size) = check_shape(manifest, &id.archive_name()).map_err(bad)?;
    if let Some(why) = limits.refuses_compressed(size) {
        return Err(bad(why));
    }
    let mut file = tokio::fs::File::create(into).await?;
    match store
        .fetch_blob(&pack_repository(&id.name), &digest, size, &mut file)
        .await
    {
        Err(err) if is_bad_content(&err) => {
            return Err(bad(format!("the download failed: {err:#}")));
        }
        other => other?,
    };
    // One pass hashes and reads the download; its entries count only if the hash matches.
    let mut inspected =
        tokio::task::block_in_place(|| read::inspect(into, false, limits, Default::default()))?;
    allowed.apply(&mut inspected.findings);
    if inspected.digest != digest {
        return Err(bad(format!(
            "the download's digest is {}, not the manifest's {digest}",
            inspected.digest
        )));
    }
    let mut problems = inspected.unsafe_entries.clone();
    if let Some(inside) = inspected.id.as_ref().filter(|inside| *inside != id) {
        problems.push(format!("pack.json inside says {inside}, the tag says {id}"));
    }
    // Unsafe entries are findings too; list each problem once.
    problems.extend(
        inspected
            .findings
            .counted(Severity::Error)
            .filter(|f| !inspected.unsafe_entries.contains(&f.message))
            .map(ToString::to_string)
            .chain(inspected.findings.omitted_lines(Severity::Error)),
    );
    Ok((inspected, problems))
}

/// Whether a failed download means the content is bad (exit 6) rather than that the target
/// could not be reached or refused us (exits 7 and 4, kept as they are).
pub(super) fn is_bad_content(err: &anyhow::Error) -> bool {
    use crate::exit::Code;
    !matches!(
        crate::exit::failure_of(err).map(|f| f.code),
        Some(Code::Unreachable | Code::Auth | Code::Interrupted | Code::Terminated | Code::Usage)
    ) && !crate::interrupt::requested()
}

/// Runs `work` (the registry and Palette calls of one command) on a tokio runtime of its own.
/// The first Ctrl-C or SIGTERM ends it at once, wherever it waits (a connection, an answer,
/// a pause between tries): `work` is dropped, its temp files with it, and as tags are written
/// last nothing half-published stays.
pub(super) fn block_on<T>(
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let done = runtime.block_on(async {
        tokio::select! {
            done = work => done,
            interrupted = crate::interrupt::arrived() => Err(interrupted.into()),
        }
    });
    // A blocking task still reading (an archive being built) sees the flag or its closed
    // channel and stops; the process does not wait longer than this for it.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    done
}

/// The pack names under the base path: the catalog's repositories one level below it.
pub(super) async fn pack_names(store: &dyn Store, page: usize) -> anyhow::Result<Vec<PackName>> {
    let base = format!("{BASE_PATH}/");
    let repositories = store.repositories(page).await.map_err(|err| {
        match crate::exit::failure_of(&err).map(|f| f.code) {
            // Only a refusal of a credential is the catalog-for-admins case; other failures,
            // and no credential at all, say themselves.
            Some(Code::Auth) if !crate::credentials::is_missing(&err) => Failure::err(
                Code::Auth,
                format!(
                    "cannot list the registry's catalog ({err:#}); registries such as Harbor allow it \
                     only to administrators: name the packs instead (`packpub ls NAME`, `packpub copy SRC DST NAME`)"
                ),
            ),
            _ => err,
        }
    })?;
    let mut names: Vec<String> = repositories
        .iter()
        .filter_map(|r| r.strip_prefix(&base))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    // A repository deeper down, or named outside the pack grammar, is no pack's.
    Ok(names
        .iter()
        .filter_map(|n| PackName::parse(n).ok())
        .collect())
}

/// Semver order first (a leading `v` tolerated), then everything else in plain string order.
pub(super) fn compare_versions(a: &str, b: &str) -> Ordering {
    let parse = |v: &str| semver::Version::parse(v.strip_prefix('v').unwrap_or(v)).ok();
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_sort_semver_aware_then_the_rest() {
        let mut v = vec![
            "1.10.0",
            "latest",
            "1.2.0",
            "1.5",
            "v1.9.0",
            "1.2.0-rc.1",
            "0.9.1",
        ];
        v.sort_by(|a, b| super::compare_versions(a, b));
        assert_eq!(
            v,
            [
                "0.9.1",
                "1.2.0-rc.1",
                "1.2.0",
                "v1.9.0",
                "1.10.0",
                "1.5",
                "latest"
            ]
        );
    }
}
