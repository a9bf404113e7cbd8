//! The binary's entry ([`main`]: parse, run, exit under the exit-code contract) and one file per
//! verb; each takes its parsed arguments and the shared [`Output`]. What several verbs share
//! (opening a target, fetching a pack, the tokio runtime) lives in `shared.rs`, below them.

mod completions;
mod copy;
mod images;
mod init;
mod lint;
mod login;
mod logout;
mod ls;
mod man;
mod pack;
mod pull;
mod push;
mod shared;
mod sync;
mod usage;
mod verify;

use crate::cli::{self, Command};
use crate::output::Output;
use crate::{exit, http, interrupt, lock};
use clap::Parser;
use std::process::ExitCode;

/// Parses the arguments, runs the command, and reports its outcome under the exit-code
/// contract: the error line on stderr and, with `--json`, `{error, exit_code, details}` on
/// stdout, also for usage errors clap finds.
pub fn main() -> ExitCode {
    let args = match usage::with_format(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(message) => return usage_error(&format!("error: {message}\n"), &[]),
    };
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => return usage_error(&usage::explain(&err, &args), &args),
    };
    interrupt::install();
    http::set_request_timeout(cli.global.request_timeout);
    lock::set_timeout(cli.global.lock_timeout);
    let out = Output::new(&cli.global.style());
    match run(cli.command, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let failure = exit::failure_of(&err);
            let code = interrupt::exit_code()
                .unwrap_or_else(|| failure.map_or(exit::Code::Unexpected, |f| f.code));
            out.error(&format!("{err:#}"));
            // Printed only when the command has not printed its own document.
            out.print_json(&error_json(
                &format!("{err:#}"),
                code,
                failure.and_then(|f| f.details.clone()),
            ));
            ExitCode::from(code as u8)
        }
    }
}

/// A usage error (exit 2): `rendered` on stderr and, with `--json` in `args` (or in the
/// process's arguments), its words as the JSON document.
fn usage_error(rendered: &str, args: &[std::ffi::OsString]) -> ExitCode {
    eprint!("{rendered}");
    let json = |a: &std::ffi::OsString| a == "--json" || a == "--format=json";
    if args.iter().any(json) || std::env::args_os().any(|a| json(&a)) {
        let doc = error_json(&usage::summary(rendered), exit::Code::Usage, None);
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("JSON serialises")
        );
    }
    ExitCode::from(exit::Code::Usage as u8)
}

fn error_json(
    error: &str,
    code: exit::Code,
    details: Option<serde_json::Value>,
) -> serde_json::Value {
    serde_json::json!({ "error": error, "exit_code": code as u8, "details": details })
}

pub fn run(command: Command, out: &Output) -> anyhow::Result<()> {
    match command {
        Command::Pack(args) => pack::run(&args, out),
        Command::Push(args) => push::run(&args, out),
        Command::Login(args) => login::run(&args, out),
        Command::Logout(args) => logout::run(&args, out),
        Command::Verify(args) => verify::run(&args, out),
        Command::Copy(args) => copy::run(&args, out),
        Command::Ls(args) => ls::run(&args, out),
        Command::Pull(args) => pull::run(&args, out),
        Command::Sync(args) => sync::run(&args, out),
        Command::Lint(args) => lint::run(&args, out),
        Command::Init(args) => init::run(&args, out),
        Command::Completions(args) => completions::run(&args, out),
        Command::Man(args) => man::run(&args, out),
    }
}
