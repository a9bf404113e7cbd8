//! One file per verb; each takes its parsed arguments and the shared [`Output`]. What several
//! verbs share (opening a target as a [`Store`], the tokio runtime) lives here once.

mod completions;
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

use crate::cli::{Command, RemoteArgs, TransportArgs};
use crate::credentials::{Given, Resolved};
use crate::output::Output;
use crate::registry::archive::Archive;
use crate::registry::client::Registry;
use crate::registry::layout::Layout;
use crate::registry::reference::Target;
use crate::registry::store::Store;

pub fn run(command: Command, out: &Output) -> anyhow::Result<()> {
    match command {
        Command::Pack(args) => pack::run(&args, out),
        Command::Push(args) => push::run(&args, out),
        Command::Login(args) => login::run(&args, out),
        Command::Logout(args) => logout::run(&args, out),
        Command::Verify(args) => verify::run(&args, out),
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
    Ok(match &args.registry {
        Target::Layout(path) => Box::new(Layout::open(path, create)?),
        Target::Archive(path) => Box::new(Archive::open(path, create, || {
            out.warn(&format!(
                "waiting for another packpub writing {}",
                path.display()
            ));
        })?),
        Target::Registry { host, prefix } => {
            let given = Given::read(&args.credentials)?;
            let resolved = crate::credentials::resolve(host, &given, out)?;
            Box::new(open_registry(host, prefix, &args.transport, resolved, out)?)
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

/// Whether a failed download means the content is bad (exit 6) rather than that the target
/// could not be reached or refused us (exits 7 and 4, kept as they are).
fn is_bad_content(err: &anyhow::Error) -> bool {
    use crate::exit::Code;
    !matches!(
        crate::exit::failure_of(err).map(|f| f.code),
        Some(Code::Unreachable | Code::Auth | Code::Interrupted | Code::Terminated | Code::Usage)
    ) && !crate::interrupt::requested()
}

/// A tokio runtime for the registry calls of one command.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}
