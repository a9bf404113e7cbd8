//! One file per verb; each takes its parsed arguments and the shared [`Output`]. Steps that
//! several verbs share (reading a pack and reporting its findings) live here once.

mod login;
mod logout;
mod ls;
mod pack;
mod pull;
mod push;
mod verify;

use crate::cli::{Command, CredentialArgs, RemoteArgs, TransportArgs, ValidationArgs};
use crate::credentials::Given;
use crate::exit::{Code, Failure};
use crate::output::Output;
use crate::pack::{Finding, Findings, Pack, Severity, inspect};
use crate::redacted::Secret;
use crate::registry::client::Registry;
use crate::registry::client::Transport;
use crate::registry::layout::Layout;
use crate::registry::reference::Target;
use crate::registry::remote::Remote;
use anyhow::Context;
use std::io::Read;
use std::path::Path;

pub fn run(command: Command, out: &Output) -> anyhow::Result<()> {
    match command {
        Command::Pack(args) => pack::run(&args, out),
        Command::Push(args) => push::run(&args, out),
        Command::Login(args) => login::run(&args, out),
        Command::Logout(args) => logout::run(&args, out),
        Command::Verify(args) => verify::run(&args, out),
        Command::Ls(args) => ls::run(&args, out),
        Command::Pull(args) => pull::run(&args, out),
    }
}

/// Prints every finding and counts them: (errors, warnings, those that block under
/// `--strict` or not).
fn report_findings(
    findings: &Findings,
    validation: &ValidationArgs,
    out: &Output,
) -> (usize, usize, usize) {
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
    (errors, warnings, blocking)
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
    let (errors, warnings, blocking) = report_findings(&findings, validation, out);
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

/// Connects to the target: a registry, or an OCI layout (created when `create`, for `push`).
fn open_remote(args: &RemoteArgs, out: &Output, create: bool) -> anyhow::Result<Remote> {
    let target = Target::parse(&args.target.registry).map_err(|m| Failure::err(Code::Usage, m))?;
    if args.transport.insecure {
        out.warn("--insecure: TLS certificates are not verified; anyone on the network path can read and change what is sent");
    }
    Ok(match target {
        Target::Layout(path) => {
            if !create && !path.join("index.json").is_file() {
                return Err(Failure::err(
                    Code::Usage,
                    format!("{} is not an OCI layout (no index.json)", path.display()),
                ));
            }
            Remote::Layout(Layout::open(&path)?)
        }
        Target::Registry { host, prefix } => {
            let given = read_credentials(&args.credentials)?;
            let credential = crate::credentials::resolve(&host, &given, out)?;
            let transport = transport(&args.transport);
            Remote::Registry {
                registry: Registry::new(&host, &transport, credential.as_ref())?,
                prefix,
            }
        }
    })
}

/// `NAME:VERSION` → the two, checked against the pack grammar.
fn name_version(input: &str) -> anyhow::Result<(String, String)> {
    let usage = |why: String| {
        Failure::err(
            Code::Usage,
            format!("{input:?}: {why}; use NAME:VERSION, e.g. hello:1.0.0"),
        )
    };
    let (name, version) = input
        .split_once(':')
        .ok_or_else(|| usage("no ':'".to_string()))?;
    crate::pack::PackName::parse(name).map_err(usage)?;
    crate::pack::PackVersion::parse(version).map_err(usage)?;
    Ok((name.to_string(), version.to_string()))
}

/// A tokio runtime for the registry calls of one command.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

pub fn transport(args: &TransportArgs) -> Transport {
    Transport {
        plain_http: args.plain_http,
        insecure: args.insecure,
        ca_file: args.ca_file.clone(),
        retries: args.retries,
    }
}

pub fn read_credentials(args: &CredentialArgs) -> anyhow::Result<Given> {
    Ok(Given {
        username: args.username.clone(),
        password: args.password_stdin.then(read_password_stdin).transpose()?,
    })
}

/// `--password-stdin`: the whole of stdin, less one trailing newline.
pub fn read_password_stdin() -> anyhow::Result<Secret> {
    let mut text = Secret::new(String::new());
    std::io::stdin()
        .read_to_string(text.as_mut_string())
        .context("cannot read the password from stdin")?;
    let trimmed = text.expose().strip_suffix('\n').unwrap_or(text.expose());
    let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Err(Failure::err(
            Code::Usage,
            "--password-stdin read an empty password",
        ));
    }
    Ok(Secret::new(trimmed.to_string()))
}
