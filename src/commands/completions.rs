//! `packpub completions SHELL`: the completion script for bash, zsh, fish, PowerShell or
//! elvish, generated from the clap tree `--help` is made of, so completions never offer a flag
//! that is gone or miss a new one.

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::{Code, Failure};
use crate::output::Output;
use anyhow::Context;
use clap::CommandFactory;
use std::io::Write;

pub fn run(args: &CompletionsArgs, out: &Output) -> anyhow::Result<()> {
    // stdout holds the script here; a JSON document beside it would make both unreadable.
    if out.json() {
        return Err(Failure::err(
            Code::Usage,
            "completions prints a shell script, not JSON: run it without --json",
        ));
    }
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "packpub", &mut script);
    std::io::stdout()
        .lock()
        .write_all(&script)
        .context("cannot write the completion script to stdout")
}
