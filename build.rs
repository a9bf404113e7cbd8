//! What `packpub --version` says beyond the crate's version: the commit the binary was built
//! from, that commit's date and the target triple. The date is the commit's, never the clock's,
//! so two builds of one commit are the same binary. Without git (a crates.io download, a source
//! tarball) the commit is "unknown" and the date comes from `SOURCE_DATE_EPOCH` when the
//! packager sets it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let commit = own_checkout(&manifest_dir).map(|git_dir| {
        watch_head(&manifest_dir, &git_dir);
        let commit = git(&manifest_dir, &["rev-parse", "--short=12", "HEAD"]);
        let time = git(&manifest_dir, &["log", "-1", "--format=%ct"]);
        (commit, time)
    });
    let (commit, epoch) = match commit {
        Some((Some(commit), time)) => (commit, time),
        _ => (
            "unknown".to_string(),
            std::env::var("SOURCE_DATE_EPOCH").ok(),
        ),
    };
    let date = epoch
        .and_then(|e| e.trim().parse::<i64>().ok())
        .map_or_else(|| "unknown".to_string(), utc_date);
    let target = std::env::var("TARGET").expect("set by cargo");
    println!("cargo:rustc-env=PACKPUB_COMMIT={commit}");
    println!("cargo:rustc-env=PACKPUB_COMMIT_DATE={date}");
    println!("cargo:rustc-env=PACKPUB_TARGET={target}");
}

/// The git directory of the checkout whose top is this crate. A crate unpacked inside some other
/// repository (a home folder kept in git, a vendored copy) must not take that repository's
/// commit as its own.
fn own_checkout(manifest_dir: &Path) -> Option<PathBuf> {
    let top = git(manifest_dir, &["rev-parse", "--show-toplevel"])?;
    let same = std::fs::canonicalize(&top).ok()? == std::fs::canonicalize(manifest_dir).ok()?;
    same.then(|| git(manifest_dir, &["rev-parse", "--absolute-git-dir"]))
        .flatten()
        .map(PathBuf::from)
}

/// Builds again when HEAD moves: a checkout or a commit changes HEAD (a worktree's own) or the
/// branch it names, which lives in the common git directory, loose or packed.
fn watch_head(manifest_dir: &Path, git_dir: &Path) {
    let common = git(manifest_dir, &["rev-parse", "--git-common-dir"])
        .map(|dir| manifest_dir.join(dir))
        .unwrap_or_else(|| git_dir.to_path_buf());
    let mut watched = vec![git_dir.join("HEAD"), common.join("packed-refs")];
    if let Some(branch) = git(manifest_dir, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(common.join(branch));
    }
    // Cargo reruns on every build for a path that does not exist.
    for path in watched.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// `git ARGS` in `dir`, trimmed; None when git is missing or fails.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

include!("src/civil.rs");

/// `YYYY-MM-DD` in UTC of a Unix time.
fn utc_date(epoch: i64) -> String {
    let (year, month, day) = civil_from_days(epoch.div_euclid(86_400));
    format!("{year:04}-{month:02}-{day:02}")
}
