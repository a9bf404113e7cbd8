//! packpub: validate, pack and publish Spectro Cloud Palette packs to OCI registries.
//!
//! The map: [`cli`] turns arguments into types; [`commands`] holds one file per verb; a local
//! pack is loaded, validated and archived by [`pack`]; every target (registry, OCI layout) is a
//! [`registry::store::Store`]; credentials come from [`credentials`]. [`output`] keeps stdout
//! for `--json` and stderr for people, and [`exit`] holds the exit codes scripts rely on.

pub mod atomic;
pub mod cache;
/// Calendar dates from Unix days, for the few timestamps packpub prints (a manifest's created
/// time, `--version`'s commit date), without a date crate.
pub mod civil;
pub mod cli;
pub mod commands;
pub mod credentials;
pub mod digest;
pub mod exit;
pub mod files;
#[doc(hidden)]
pub mod fuzz_targets;
pub mod host;
pub mod http;
pub mod interrupt;
pub mod lock;
pub mod output;
pub mod pack;
pub mod palette;
pub mod redacted;
pub mod registry;
mod usage;

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
    let out = output::Output::new(&cli.global);
    match commands::run(cli.command, &out) {
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

/// A usage error (exit 2): `rendered` on stderr and, with `--json` in `args` (or in the process's
/// arguments), its words as the JSON document.
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
