//! The binary's entry ([`main`]: parse, run, exit under the exit-code contract) and one file per
//! verb; each takes its parsed arguments and the shared [`Output`]. What several verbs share
//! (opening a target as a [`Store`], the tokio runtime) lives here once.

mod completions;
mod copy;
mod init;
mod lint;
mod login;
mod logout;
mod ls;
mod man;
mod pack;
mod pull;
mod push;
mod sync;
mod verify;

use crate::cli::{self, Command, RemoteArgs, TransportArgs};
use crate::credentials::{Given, Resolved};
use crate::exit::{Code, Failure};
use crate::output::Output;
use crate::pack::{Allowed, Identity, Severity, read};
use crate::registry::archive::Archive;
use crate::registry::client::Registry;
use crate::registry::layout::Layout;
use crate::registry::manifest::check_shape;
use crate::registry::reference::Target;
use crate::registry::store::{Store, pack_repository};
use crate::{exit, http, interrupt, lock};
use clap::Parser;
use std::process::ExitCode;

/// Parses the arguments, runs the command, and reports its outcome under the exit-code
/// contract: the error line on stderr and, with `--json`, `{error, exit_code, details}` on
/// stdout, also for usage errors clap finds.
pub fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            if !err.use_stderr() {
                return ExitCode::SUCCESS;
            }
            if std::env::args_os().any(|a| a == "--json") {
                let rendered = err.to_string();
                let first = rendered.lines().next().unwrap_or_default();
                let doc = error_json(first.trim_start_matches("error: "), exit::Code::Usage, None);
                println!(
                    "{}",
                    serde_json::to_string_pretty(&doc).expect("JSON serialises")
                );
            }
            return ExitCode::from(exit::Code::Usage as u8);
        }
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

/// Opens the target as a store: a registry with the credential the lookup order finds, an OCI
/// layout or a bundle (created when missing if `create`, for `push`).
fn open_store(args: &RemoteArgs, out: &Output, create: bool) -> anyhow::Result<Box<dyn Store>> {
    let given = || args.credentials.given();
    open_target(&args.registry, &args.transport, given, out, create)
}

/// `target` as a [`Store`]; `given` is asked for the credentials a registry needs.
fn open_target(
    target: &Target,
    transport: &TransportArgs,
    given: impl FnOnce() -> anyhow::Result<Given>,
    out: &Output,
    create: bool,
) -> anyhow::Result<Box<dyn Store>> {
    Ok(match target {
        Target::Layout(path) => Box::new(Layout::open(path, create)?),
        Target::Archive(path) => Box::new(Archive::open(path, create, || {
            out.warn(&format!(
                "waiting for another packpub writing {}",
                path.display()
            ));
        })?),
        Target::Registry { host, prefix } => {
            let resolved = crate::credentials::resolve(host, &given()?, out)?;
            Box::new(open_registry(host, prefix, transport, resolved, out)?)
        }
    })
}

/// The registry at `host`, reached as `transport` says.
fn open_registry(
    host: &str,
    prefix: &str,
    transport: &TransportArgs,
    credential: Resolved,
    out: &Output,
) -> anyhow::Result<Registry> {
    if transport.insecure {
        out.warn("--insecure: TLS certificates are not verified; anyone on the network path can read and change what is sent");
    }
    Registry::new(host, prefix, &transport.into(), credential, out.notes())
}

/// Downloads the archive of pack `id` that `manifest` (read from `store`, shown as `shown`)
/// names into `into`, streamed and capped at its declared size, and reads it back through the
/// bounded reader. A manifest not in Palette's shape, a failed download or another digest is
/// exit 6, its message ending with `then` (what the caller did not do); otherwise the archive,
/// with why it is not a valid, safe pack named `id` (one line each; empty when it is), where
/// the findings `allowed` covers do not count.
async fn fetch_pack(
    store: &dyn Store,
    id: &Identity,
    manifest: &[u8],
    (shown, then): (&str, &str),
    into: &std::path::Path,
    (limits, allowed): (read::Limits, &Allowed),
) -> anyhow::Result<(read::Tarball, Vec<String>)> {
    let bad = |why: String| Failure::err(Code::VerifyFailed, format!("{shown}: {why}; {then}"));
    let (digest, size) = check_shape(manifest, &id.archive_name()).map_err(bad)?;
    if let Some(why) = limits.refuses_compressed(size) {
        return Err(bad(why));
    }
    let mut file = tokio::fs::File::create(into).await?;
    match store
        .fetch_blob(&pack_repository(&id.name), &digest, size, &mut file)
        .await
    {
        Err(err) if is_bad_content(&err) => {
            return Err(bad(format!("the download failed: {err:#}")));
        }
        other => other?,
    };
    // One pass hashes and reads the download; its entries count only if the hash matches.
    let mut inspected =
        tokio::task::block_in_place(|| read::inspect(into, false, limits, Default::default()))?;
    allowed.apply(&mut inspected.findings);
    if inspected.digest != digest {
        return Err(bad(format!(
            "the download's digest is {}, not the manifest's {digest}",
            inspected.digest
        )));
    }
    let mut problems = inspected.unsafe_entries.clone();
    if let Some(inside) = inspected.id.as_ref().filter(|inside| *inside != id) {
        problems.push(format!("pack.json inside says {inside}, the tag says {id}"));
    }
    // Unsafe entries are findings too; list each problem once.
    problems.extend(
        inspected
            .findings
            .counted(Severity::Error)
            .filter(|f| !inspected.unsafe_entries.contains(&f.message))
            .map(ToString::to_string)
            .chain(inspected.findings.omitted_lines(Severity::Error)),
    );
    Ok((inspected, problems))
}

/// Whether a failed download means the content is bad (exit 6) rather than that the target
/// could not be reached or refused us (exits 7 and 4, kept as they are).
fn is_bad_content(err: &anyhow::Error) -> bool {
    use crate::exit::Code;
    !matches!(
        crate::exit::failure_of(err).map(|f| f.code),
        Some(Code::Unreachable | Code::Auth | Code::Interrupted | Code::Terminated | Code::Usage)
    ) && !crate::interrupt::requested()
}

/// Runs `work` (the registry and Palette calls of one command) on a tokio runtime of its own.
/// The first Ctrl-C or SIGTERM ends it at once, wherever it waits (a connection, an answer,
/// a pause between tries): `work` is dropped, its temp files with it, and as tags are written
/// last nothing half-published stays.
fn block_on<T>(work: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let done = runtime.block_on(async {
        tokio::select! {
            done = work => done,
            interrupted = crate::interrupt::arrived() => Err(interrupted.into()),
        }
    });
    // A blocking task still reading (an archive being built) sees the flag or its closed
    // channel and stops; the process does not wait longer than this for it.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    done
}
