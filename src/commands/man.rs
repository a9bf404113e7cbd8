//! `packpub man`: the man pages, one per command (`packpub.1`, `packpub-push.1`, ...),
//! generated from the clap tree `--help` is made of, so a page never says what the binary no
//! longer does. Releases ship them; `cargo install` users write them where `man` looks.

use crate::cli::{Cli, ManArgs};
use crate::output::Output;
use anyhow::Context;
use clap::CommandFactory;
use std::path::{Path, PathBuf};

pub fn run(args: &ManArgs, out: &Output) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    // The crate version alone: the commit and target in `--version` belong to one binary,
    // while the pages are the same for every target of a release. No `help` command: its
    // page would be `--help` again, and the root page would list a page that is not there.
    let mut root = Cli::command()
        .version(env!("CARGO_PKG_VERSION"))
        .disable_help_subcommand(true);
    root.build();
    let mut pages = Vec::new();
    write_pages(&root, &args.output, &mut pages)?;
    out.success(
        &format!("wrote {} man pages", pages.len()),
        &[("folder", args.output.display().to_string())],
    );
    out.print_json(&serde_json::json!({ "pages": pages }));
    Ok(())
}

/// `cmd`'s page and those of its visible subcommands.
fn write_pages(cmd: &clap::Command, dir: &Path, pages: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    // A page is the long help: every option with its whole text, including those `-h` leaves
    // out for brevity (the man renderer drops their text otherwise) and without the one-line
    // summary repeated before it.
    let page_of = cmd.clone().mut_args(|arg| {
        let long = arg.get_long_help().cloned();
        let arg = arg.hide_short_help(false);
        match long {
            Some(long) => arg
                .help(long)
                .long_help(clap::builder::Resettable::<clap::builder::StyledStr>::Reset),
            None => arg,
        }
    });
    let man = clap_mangen::Man::new(page_of)
        .date(env!("PACKPUB_COMMIT_DATE"))
        .source(concat!("packpub ", env!("CARGO_PKG_VERSION")))
        .manual("packpub manual");
    let path = dir.join(man.get_filename());
    let mut page = Vec::new();
    man.render(&mut page)
        .with_context(|| format!("cannot render {}", path.display()))?;
    crate::atomic::write(&path, &page, 0o644)?;
    pages.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, pages)?;
    }
    Ok(())
}
