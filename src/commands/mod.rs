//! One file per verb; each takes its parsed arguments and the shared [`Output`]. Steps that
//! several verbs share (reading a pack and reporting its findings) live here once.

mod login;
mod logout;
mod pack;
mod push;

use crate::cli::{Command, ValidationArgs};
use crate::exit::{Code, Failure};
use crate::output::Output;
use crate::pack::{Finding, Pack, Severity, inspect};
use std::path::Path;

pub fn run(command: Command, out: &Output) -> anyhow::Result<()> {
    match command {
        Command::Pack(args) => pack::run(&args, out),
        Command::Push(args) => push::run(&args, out),
        Command::Login(args) => login::run(&args, out),
        Command::Logout(args) => logout::run(&args, out),
    }
}

/// Validates the pack folder and prints its findings. Errors (and warnings under `--strict`)
/// stop with exit 3 before anything is written; otherwise returns the pack and its warnings.
fn load_pack(
    dir: &Path,
    outdir: Option<&Path>,
    validation: &ValidationArgs,
    out: &Output,
) -> anyhow::Result<(Pack, Vec<Finding>)> {
    let inspection = inspect(dir, outdir)?;
    let findings = inspection.findings;
    for finding in &findings.0 {
        match finding.severity {
            Severity::Error => out.error(&finding.to_string()),
            Severity::Warning => out.warn(&finding.to_string()),
        }
    }
    let errors = findings.count(Severity::Error);
    let warnings = findings.count(Severity::Warning);
    let blocking = if validation.strict {
        errors + warnings
    } else {
        errors
    };
    match inspection.pack {
        Some(pack) if blocking == 0 => Ok((pack, findings.0)),
        _ => {
            let strict = if validation.strict && warnings > 0 {
                " (--strict counts warnings as errors)"
            } else {
                ""
            };
            Err(Failure::with_details(
                Code::InvalidPack,
                format!(
                    "{} is not a valid pack: {errors} error(s), {warnings} warning(s){strict}",
                    dir.display()
                ),
                serde_json::to_value(&findings.0)?,
            ))
        }
    }
}
