//! `packpub logout`: remove packpub's keyring entry and the docker config entry packpub wrote
//! (another tool's or a helper's only with `--all`).

use crate::cli::LogoutArgs;
use crate::credentials::{docker, keyring};
use crate::output::Output;

pub fn run(args: &LogoutArgs, out: &Output) -> anyhow::Result<()> {
    let host = &args.host;
    let mut removed = Vec::new();
    match keyring::delete(host) {
        Ok(true) => removed.push("the OS keyring entry".to_string()),
        Ok(false) => {}
        Err(keyring::Unavailable(why)) => out.verbose(&format!("keyring skipped: {why}")),
    }
    removed.extend(docker::erase(host, args.all)?);
    if removed.is_empty() {
        out.success(&format!("not logged in to {host}: nothing to remove"), &[]);
    } else {
        out.success(
            &format!("logged out of {host}"),
            &[("removed", removed.join(", "))],
        );
    }
    out.print_json(&serde_json::json!({"host": host, "removed": removed}));
    Ok(())
}
