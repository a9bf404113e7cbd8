//! packpub: validate, pack and publish Spectro Cloud Palette packs to OCI registries.

mod cli;
mod commands;
mod credentials;
mod digest;
mod exit;
mod interrupt;
mod output;
mod pack;
mod redacted;
mod registry;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                exit::Code::Usage as u8
            } else {
                0
            });
        }
    };
    interrupt::install();
    let out = output::Output::new(&cli.global);
    match commands::run(cli.command, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let failure = exit::failure_of(&err);
            let code = if interrupt::requested() {
                exit::Code::Interrupted
            } else {
                failure.map_or(exit::Code::Unexpected, |f| f.code)
            };
            out.error(&format!("{err:#}"));
            out.print_json(&serde_json::json!({
                "error": format!("{err:#}"),
                "exit_code": code as u8,
                "details": failure.and_then(|f| f.details.clone()),
            }));
            ExitCode::from(code as u8)
        }
    }
}
