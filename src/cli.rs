//! The command-line tree. Option groups shared by several verbs live here once, so every
//! command spells its flags and env vars (`PACKPUB_*`) the same way.

use crate::registry::manifest::ImageSpec;
use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Publish Spectro Cloud Palette packs to OCI registries.
#[derive(Debug, Parser)]
#[command(name = "packpub", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print one JSON document on stdout and nothing else there
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Explain what is done (never prints secrets)
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// When to colour stderr; `auto` honours NO_COLOR and whether stderr is a terminal
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a pack folder and build its reproducible <name>-<version>.tar.gz
    Pack(PackArgs),
    /// Publish packs to <registry>/spectro-packs/archive/<name>:<version>
    Push(PushArgs),
    /// Check credentials against a registry, then store them (OS keyring or docker's config)
    Login(LoginArgs),
    /// Remove the credentials packpub stored for a registry
    Logout(LogoutArgs),
    /// Prove the registry holds the pack you built, in the shape Palette reads
    Verify(VerifyArgs),
    /// List the packs and versions under TARGET/spectro-packs/archive
    Ls(LsArgs),
    /// Download a published pack (and, with --extract, unpack it safely)
    Pull(PullArgs),
}

#[derive(Debug, Args)]
pub struct PackArgs {
    /// The pack folder (holds pack.json)
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Where to write <name>-<version>.tar.gz (created when missing)
    #[arg(short, long, value_name = "OUTDIR", default_value = ".")]
    pub output: PathBuf,
    #[command(flatten)]
    pub validation: ValidationArgs,
}

/// How strict pack validation is; shared by every verb that reads a pack.
#[derive(Debug, Args)]
pub struct ValidationArgs {
    /// Treat warnings as errors
    #[arg(long, env = "PACKPUB_STRICT")]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Pack folders, or <name>-<version>.tar.gz archives made by `packpub pack`
    #[arg(default_value = ".")]
    pub packs: Vec<PathBuf>,
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// How many packs to push at once
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Overwrite a version that exists with other content (risky: Palette caches digests)
    #[arg(long)]
    pub force: bool,
    /// Run every check (validation, credentials, reachability, conflicts) and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Manifest shape: v1.0 is what ORAS v1.0.0 writes and Palette reads
    #[arg(long, value_enum, default_value = "v1.0")]
    pub image_spec: ImageSpec,
    #[command(flatten)]
    pub validation: ValidationArgs,
}

/// Where packs are published.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// HOST[:PORT][/PROJECT...] of the registry, or oci:PATH for a local OCI layout
    #[arg(long, env = "PACKPUB_REGISTRY", value_name = "TARGET")]
    pub registry: String,
}

/// How to reach the registry. Never remembered: every command takes them again.
#[derive(Debug, Args)]
pub struct TransportArgs {
    /// PEM file with the CA that signed the registry's certificate
    #[arg(long, env = "PACKPUB_CA_FILE", value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Skip TLS certificate verification (unsafe)
    #[arg(long, env = "PACKPUB_INSECURE", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0, default_missing_value = "true")]
    pub insecure: bool,
    /// Talk plain HTTP (local registries)
    #[arg(long, env = "PACKPUB_PLAIN_HTTP", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0, default_missing_value = "true")]
    pub plain_http: bool,
    /// Retries per request for transient failures (connection drops, timeouts, 408, 429, 5xx)
    #[arg(long, env = "PACKPUB_RETRIES", default_value_t = 4)]
    pub retries: u32,
}

/// Credentials given on the command line. There is deliberately no password flag: a password
/// in argv is visible to every user of the machine.
#[derive(Debug, Args)]
pub struct CredentialArgs {
    /// User name for the registry (with --password-stdin)
    #[arg(short, long, requires = "password_stdin")]
    pub username: Option<String>,
    /// Read the password from stdin (trailing newline trimmed)
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The registry host (a URL such as https://harbor.example.com/ is accepted)
    pub host: String,
    /// User name (prompted for on a terminal when missing)
    #[arg(short, long)]
    pub username: Option<String>,
    /// Read the password from stdin (trailing newline trimmed); otherwise it is prompted for
    #[arg(long)]
    pub password_stdin: bool,
    /// Where to keep the credential: the OS keyring, docker's config, or the keyring with docker's
    /// config as the fallback
    #[arg(long, value_enum, default_value_t = StoreChoice::Auto)]
    pub store: StoreChoice,
    #[command(flatten)]
    pub transport: TransportArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreChoice {
    Auto,
    Keyring,
    Docker,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The registry host
    pub host: String,
    /// Also remove docker's entries packpub did not write (another tool's login, a helper's)
    #[arg(long)]
    pub all: bool,
}

/// A registry (or OCI layout) to publish to or read from: where, how, as whom.
#[derive(Debug, Args)]
pub struct RemoteArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub transport: TransportArgs,
    #[command(flatten)]
    pub credentials: CredentialArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A pack folder, a <name>-<version>.tar.gz made by `pack`, or NAME:VERSION (remote checks only)
    #[arg(default_value = ".")]
    pub pack: String,
    #[command(flatten)]
    pub remote: RemoteArgs,
    #[command(flatten)]
    pub validation: ValidationArgs,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only this pack (works where the registry forbids listing its catalog)
    pub name: Option<String>,
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Entries asked for per request when listing (the registry's `n`)
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..))]
    pub page_size: u16,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// NAME:VERSION of the pack
    pub pack: String,
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Folder to write <name>-<version>.tar.gz into
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub output: PathBuf,
    /// Also unpack the archive into DIR (refused if any entry is unsafe)
    #[arg(long)]
    pub extract: bool,
}
