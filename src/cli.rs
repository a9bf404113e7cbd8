//! The command-line tree. Option groups shared by several verbs live here once, so every
//! command spells its flags and env vars (`PACKPUB_*`) the same way.

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
