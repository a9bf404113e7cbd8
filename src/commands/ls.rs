//! `packpub ls`: the packs under `TARGET/spectro-packs/archive/` and their versions, as
//! Palette's sync finds them (catalog, then each repository's tags, page by page).

use super::shared::{block_on, compare_versions, open_store, pack_names};
use crate::cli::LsArgs;
use crate::output::Output;
use crate::registry::reference::BASE_PATH;
use crate::registry::store::pack_repository;
use serde::Serialize;

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
