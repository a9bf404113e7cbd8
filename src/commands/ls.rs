//! `packpub ls`: the packs under `TARGET/spectro-packs/archive/` and their versions, as
//! Palette's sync finds them (catalog, then each repository's tags, page by page).

use super::{block_on, open_store};
use crate::cli::LsArgs;
use crate::exit::{Code, Failure};
use crate::output::Output;
use crate::pack::PackName;
use crate::registry::reference::BASE_PATH;
use crate::registry::store::{Store, pack_repository};
use serde::Serialize;
use std::cmp::Ordering;

#[derive(Serialize)]
struct Listing {
    name: String,
    versions: Vec<String>,
}

pub fn run(args: &LsArgs, out: &Output) -> anyhow::Result<()> {
    let store = open_store(&args.remote, out, false)?;
    let page = usize::from(args.page_size);
    let listings = block_on(async {
        let names = match &args.name {
            Some(name) => vec![name.clone()],
            None => pack_names(store.as_ref(), page).await?,
        };
        let mut listings = Vec::new();
        for name in names {
            let mut versions = store.tags(&pack_repository(&name), page).await?;
            versions.sort_by(|a, b| compare_versions(a, b));
            listings.push(Listing {
                name: name.to_string(),
                versions,
            });
        }
        anyhow::Ok(listings)
    })?;
    let listed: Vec<&Listing> = listings.iter().filter(|l| !l.versions.is_empty()).collect();
    if listed.is_empty() {
        // An empty registry and a mistyped project both answer nothing: say so, not silence.
        let under = store.locate(BASE_PATH);
        match &args.name {
            Some(name) => out.warn(&format!("no pack named {name} under {under}")),
            None => out.warn(&format!("no packs under {under}")),
        }
    }
    // One line per pack, `NAME VERSION...`: `packpub ls | grep NAME` finds it, awk splits it.
    for listing in listed {
        out.result(&format!("{} {}", listing.name, listing.versions.join(" ")));
    }
    out.print_json(&listings);
    Ok(())
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
