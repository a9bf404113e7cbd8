//! The command-line tree, and the one place where user input becomes types. Every flag and
//! every `PACKPUB_*` variable is defined here once and shown in `--help`; option groups shared
//! by several verbs are defined once and flattened, so every command spells its flags the same
//! way. Arguments are parsed into types at parse time (a pack input, a target, `NAME:VERSION`),
//! so the commands never look at raw strings.

mod options;
mod parse;

use crate::pack::rules::Profile;
use crate::pack::{Allowed, Identity};
pub use crate::pack::{BuildOptions, LocalInput};
use crate::registry::manifest::ImageSpec;
use crate::registry::reference::Target;
use clap::builder::{EnumValueParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use parse::{
    ImageSpecChoice, ProfileChoice, Quiet, parse_bool, parse_duration, parse_epoch, parse_host,
    parse_positive_duration, parse_size, parse_uid,
};
use std::path::PathBuf;

pub use crate::credentials::{PASSWORD_ENV, USERNAME_ENV};
/// The registry's CA; `copy` reads it itself, for its one registry side.
pub const CA_FILE_ENV: &str = "PACKPUB_CA_FILE";
/// Rules allowed for every pack of a run, comma-separated: read here by name because, unlike
/// the other variables (which a flag replaces), it adds to `--allow`, so a CI job's own
/// `--allow` keeps its pipeline's list.
pub use crate::pack::allowance::ALLOW_ENV;

/// `packpub --version`: one line a script can read, naming the exact build a bug report is
/// about. Commit, commit date and target come from build.rs ("unknown" without git).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("PACKPUB_COMMIT"),
    ", ",
    env!("PACKPUB_COMMIT_DATE"),
    ", ",
    env!("PACKPUB_TARGET"),
    ")"
);

/// A verb's examples, shown at the end of its help.
macro_rules! examples {
    ($($line:literal),+) => {
        concat!("Examples:", $("\n  ", $line),+)
    };
}

/// `copy`'s examples: in its short help alone, and before the credentials note in its long.
macro_rules! copy_examples {
    () => {
        examples!(
            "packpub copy harbor.example.com/packs oci-archive:site.tar hello --with-images",
            "packpub copy oci-archive:site.tar registry.site.local/packs"
        )
    };
}

/// Publish Spectro Cloud Palette packs to OCI registries.
#[derive(Debug, Parser)]
#[command(name = "packpub", version = VERSION, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Output and waits")]
pub struct GlobalArgs {
    /// Print one JSON document on stdout and nothing else there (`--format json` says the same;
    /// `lint` has formats of its own)
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Explain what is done (never prints secrets)
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// When to colour stderr; `auto` honours NO_COLOR and whether stderr is a terminal
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, hide_short_help = true)]
    pub color: ColorChoice,
    /// How long a registry, token service or Palette may take to answer one request (and to
    /// send all of a small answer); a blob's transfer gets this plus the time its size takes
    /// at 4 KiB/s, and must move 4 KiB/s in every such window
    #[arg(long, global = true, env = "PACKPUB_REQUEST_TIMEOUT", value_name = "DURATION", default_value = "2m", value_parser = parse_positive_duration, hide_short_help = true)]
    pub request_timeout: std::time::Duration,
    /// How long to wait for another packpub on this machine (a push of the same version, a
    /// write to the same layout or bundle) before giving up with exit 7
    #[arg(long, global = true, env = "PACKPUB_LOCK_TIMEOUT", value_name = "DURATION", default_value = "15m", value_parser = parse_duration, hide_short_help = true)]
    pub lock_timeout: std::time::Duration,
    /// Off a terminal (CI logs), how often long work prints a progress line (bytes, rate,
    /// pack), so the log shows it is alive; `-q` silences it
    #[arg(long, global = true, env = "PACKPUB_PROGRESS_EVERY", value_name = "DURATION", default_value = "5s", value_parser = parse_positive_duration, hide_short_help = true)]
    pub progress_every: std::time::Duration,
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
    #[command(after_help = examples!(
        "packpub pack ./hello-1.0.0 -o dist",
        "packpub pack --strict --json"
    ))]
    Pack(PackArgs),
    /// Publish packs to <registry>/spectro-packs/archive/<name>:<version>
    #[command(after_help = examples!(
        "packpub push ./hello-1.0.0 --registry harbor.example.com/packs --ca-file ca.pem",
        "printf '%s\\n' \"$PW\" | packpub push packs/*/ --registry R/proj -u ci --password-stdin --json",
        "packpub push hello-1.0.0.tar.gz --registry harbor.example.com/packs --sync"
    ), mut_arg("palette_host", |a| a.hide_short_help(true)),
        mut_arg("no_wait", |a| a.hide_short_help(true)))]
    Push(PushArgs),
    /// Check credentials against a registry, then store them (OS keyring or docker's config)
    #[command(after_help = examples!(
        "packpub login harbor.example.com",
        "printf '%s\\n' \"$KEY\" | packpub login --palette --password-stdin"
    ), mut_arg("chunk_size", |a| a.hide(true)))]
    Login(LoginArgs),
    /// Remove the credentials packpub stored for a registry
    Logout(LogoutArgs),
    /// Prove the registry holds the pack you built, in the shape Palette reads
    #[command(after_help = examples!(
        "packpub verify ./hello-1.0.0 --registry harbor.example.com/packs",
        "packpub verify hello:1.0.0 --registry oci-archive:site.tar"
    ), mut_arg("chunk_size", |a| a.hide(true)))]
    Verify(VerifyArgs),
    /// Copy packs between registries, OCI layouts and bundles, checked on the way and with
    /// manifests unchanged (same digests)
    #[command(after_help = copy_examples!(), after_long_help = concat!(
        copy_examples!(),
        "\n\nCredentials, per side: PACKPUB_SRC_USERNAME and PACKPUB_SRC_PASSWORD \
         (PACKPUB_DST_… for DST), else `packpub login`'s keyring entry for the host, else \
         docker's config.json, else anonymous. With one registry side (registry to bundle or \
         layout, or the reverse), PACKPUB_USERNAME/PACKPUB_PASSWORD and PACKPUB_CA_FILE serve \
         that side too."
    ))]
    Copy(CopyArgs),
    /// List the packs and versions under TARGET/spectro-packs/archive
    #[command(visible_alias = "list", after_help = examples!(
        "packpub ls --registry harbor.example.com/packs",
        "packpub ls hello --registry harbor.example.com/packs --json"
    ), mut_arg("chunk_size", |a| a.hide(true)))]
    Ls(LsArgs),
    /// Download a published pack (and, with --extract, unpack it safely)
    #[command(after_help = examples!(
        "packpub pull hello:1.0.0 --registry harbor.example.com/packs -o dist",
        "packpub pull hello:1.0.0 --registry oci:./mirror --extract -o src"
    ), mut_arg("chunk_size", |a| a.hide(true)))]
    Pull(PullArgs),
    /// Make Palette sync the registry TARGET, and wait until it lists the packs
    #[command(after_help = examples!(
        "SPECTROCLOUD_APIKEY=... packpub sync hello:1.0.0 --registry harbor.example.com/packs",
        "packpub sync --registry harbor.example.com/packs --register --dry-run"
    ), mut_arg("chunk_size", |a| a.hide(true)), mut_arg("registry", |a| {
        let what = "HOST[:PORT][/PROJECT...] of the registry Palette reads (not an OCI layout or bundle)";
        a.help(what).long_help(what)
    }))]
    Sync(SyncArgs),
    /// Check pack folders (or archives) against every rule, without building anything
    #[command(after_help = examples!(
        "packpub lint packs/*/",
        "packpub lint . --profile pack-central --format sarif > lint.sarif"
    ))]
    Lint(LintArgs),
    /// Scaffold a pack folder from a Helm chart (.tgz or chart folder) or Kubernetes manifests
    #[command(after_help = examples!(
        "packpub init --chart ./my-chart-1.2.3.tgz",
        "packpub init --manifests ./deploy/ --name my-app --version 0.1.0"
    ))]
    Init(InitArgs),
    /// Print the shell completion script for SHELL on stdout
    Completions(CompletionsArgs),
    /// Write the man pages (packpub.1, packpub-push.1, ...) into a folder
    Man(ManArgs),
}

/// What `verify` checks: a local pack against its published copy, or a published
/// `NAME:VERSION` alone. A path that exists always wins over `NAME:VERSION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyInput {
    Local(LocalInput),
    Published(Identity),
}

impl VerifyInput {
    pub fn parse(input: &str) -> Result<Self, String> {
        if !std::path::Path::new(input).exists() && input.contains(':') {
            return Identity::parse(input).map(Self::Published);
        }
        LocalInput::parse(input).map(Self::Local)
    }
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
    pub build: BuildArgs,
}

/// How a pack is read and its archive built; shared by every verb that reads a local pack.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Checks and archive")]
pub struct BuildArgs {
    /// Treat warnings as errors
    #[arg(long, env = "PACKPUB_STRICT", value_parser = parse_bool, default_value_t = false, num_args = 0, default_missing_value = "true")]
    pub strict: bool,
    /// Which rules are errors: Palette's (default), or pack-central CI's stricter set
    #[arg(long, env = "PACKPUB_PROFILE", default_value = "default", value_parser = EnumValueParser::<ProfileChoice>::new().map(Profile::from), hide_short_help = true)]
    pub profile: Profile,
    /// The time stamped on every archive entry and the manifest's created time
    /// (reproducible-builds.org); default: 1980-01-01 for entries, now for the manifest
    #[arg(long, env = "SOURCE_DATE_EPOCH", value_name = "SECONDS", value_parser = parse_epoch, hide_short_help = true)]
    pub source_date_epoch: Option<u64>,
    /// Threads compressing the archive (default: every core); the archive's bytes are the same
    /// for any value
    #[arg(long, short = 'j', env = "PACKPUB_JOBS", value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256), hide_short_help = true)]
    pub jobs: Option<u16>,
    #[command(flatten)]
    pub allowed: Allowed,
}

/// How much one archive may inflate to, for every verb that reads archives back.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Checks and archive")]
pub struct ReadArgs {
    /// Refuse an archive that inflates past this size (bytes, or with KiB/MiB/GiB; a pack bomb
    /// guard far above any real pack)
    #[arg(long, env = "PACKPUB_MAX_INFLATED_SIZE", value_name = "SIZE", default_value = "4GiB", value_parser = parse_size, hide_short_help = true)]
    pub max_inflated_size: u64,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Pack folders, or <name>-<version>.tar.gz archives made by `packpub pack`
    #[arg(default_value = ".", value_parser = LocalInput::parse)]
    pub packs: Vec<LocalInput>,
    /// How many packs to push at once
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64), hide_short_help = true)]
    pub concurrency: u16,
    /// Overwrite a version that exists with other content (risky: Palette caches digests)
    #[arg(long)]
    pub force: bool,
    /// Run every check (validation, credentials, reachability, conflicts) and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Manifest shape: v1.0 is what ORAS v1.0.0 writes and Palette reads
    #[arg(long, default_value = "v1.0", value_parser = EnumValueParser::<ImageSpecChoice>::new().map(ImageSpec::from), hide_short_help = true)]
    pub image_spec: ImageSpec,
    /// Then make Palette sync the registry and wait until it lists the pushed packs
    #[arg(long)]
    pub sync: bool,
    /// Where re-pushes remember which archive a folder's content makes, so an unchanged folder
    /// is never compressed again (default: $XDG_CACHE_HOME/packpub; safe to delete)
    #[arg(
        long,
        env = "PACKPUB_CACHE_DIR",
        value_name = "DIR",
        hide_short_help = true
    )]
    pub cache_dir: Option<PathBuf>,
    /// Neither read nor write that cache
    #[arg(long, env = "PACKPUB_NO_CACHE", value_parser = parse_bool, default_value_t = false, num_args = 0, default_missing_value = "true", hide_short_help = true)]
    pub no_cache: bool,
    // The flattened groups last: each sets the heading the flags after it fall under.
    #[command(flatten)]
    pub remote: RemoteArgs,
    #[command(flatten)]
    pub palette: PaletteArgs,
    #[command(flatten)]
    pub build: BuildArgs,
    #[command(flatten)]
    pub read: ReadArgs,
    #[command(flatten)]
    pub images: ImageArgs,
    #[command(flatten)]
    pub ecr: EcrArgs,
}

/// How to reach the registry. Never remembered: every command takes them again.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "TLS and network")]
pub struct TransportArgs {
    /// PEM file with the registry's CA (or its self-signed certificate)
    ///
    /// Without it, docker's and podman's certs.d folders for the host are read
    #[arg(long, env = CA_FILE_ENV, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for registries that ask for one (mutual TLS)
    #[arg(
        long,
        env = "PACKPUB_CERT_FILE",
        value_name = "PEM",
        requires = "key_file",
        hide_short_help = true
    )]
    pub cert_file: Option<PathBuf>,
    /// PEM private key of --cert-file
    #[arg(
        long,
        env = "PACKPUB_KEY_FILE",
        value_name = "PEM",
        requires = "cert_file",
        hide_short_help = true
    )]
    pub key_file: Option<PathBuf>,
    /// Skip TLS certificate verification (unsafe)
    #[arg(long, env = "PACKPUB_INSECURE", value_parser = parse_bool, default_value_t = false, num_args = 0, default_missing_value = "true")]
    pub insecure: bool,
    /// Talk plain HTTP (local registries)
    #[arg(long, env = "PACKPUB_PLAIN_HTTP", value_parser = parse_bool, default_value_t = false, num_args = 0, default_missing_value = "true")]
    pub plain_http: bool,
    /// Uploads: blobs over this size go in chunks (PATCH), as do all of them once a front end
    /// refuses a body as too large (413)
    #[arg(long, env = "PACKPUB_CHUNK_SIZE", value_name = "SIZE", default_value = "64MiB", value_parser = parse_size, hide_short_help = true)]
    pub chunk_size: u64,
    /// Retries per request for transient failures (connection drops, timeouts, 408, 429, 5xx)
    #[arg(
        long,
        env = "PACKPUB_RETRIES",
        default_value_t = 4,
        hide_short_help = true
    )]
    pub retries: u32,
    /// Which side of `copy` between two registries this is: its errors name that side's flags.
    #[arg(skip)]
    pub side: Option<crate::registry::errors::Side>,
}

/// Credentials given for this run. There is deliberately no password flag: a password in argv
/// is visible to every user of the machine.
#[derive(Debug, Args)]
#[command(next_help_heading = "Credentials")]
pub struct CredentialArgs {
    /// User name for the registry (the password from --password-stdin, else prompted for)
    ///
    /// Or set PACKPUB_USERNAME and PACKPUB_PASSWORD. Without either: `packpub login`'s keyring
    /// entry, else docker's config.json, else anonymous
    #[arg(short, long)]
    pub username: Option<String>,
    /// Read the password from stdin (trailing newline trimmed)
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The registry host (a URL such as https://harbor.example.com/ is accepted); with
    /// --palette, Palette's API host (default: SPECTROCLOUD_HOST, else api.spectrocloud.com)
    #[arg(value_parser = Quiet(LoginHost::parse), required_unless_present = "palette")]
    pub host: Option<LoginHost>,
    /// Store a Palette API key (read like a password) instead of a registry credential
    #[arg(long, conflicts_with = "username")]
    pub palette: bool,
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

/// `login`'s HOST: a registry host, normalised, and the words as typed (a Palette host keeps
/// its `http://` for a self-hosted Palette on a trusted network).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginHost {
    pub host: String,
    pub typed: String,
}

impl LoginHost {
    fn parse(input: &str) -> Result<Self, String> {
        Ok(Self {
            host: parse_host(input)?,
            typed: input.to_string(),
        })
    }
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
    #[arg(value_parser = Quiet(parse_host))]
    pub host: String,
    /// Also remove docker's entries packpub did not write (another tool's login, a helper's)
    #[arg(long)]
    pub all: bool,
}

/// A registry (or OCI layout) to publish to or read from: where, how, as whom.
#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// HOST[:PORT][/PROJECT...], oci:PATH (an OCI layout) or oci-archive:FILE (a bundle)
    ///
    /// A registry with its project path, a local OCI image layout folder, or a single-file
    /// bundle (a tar of an OCI layout)
    #[arg(long, env = "PACKPUB_REGISTRY", value_name = "TARGET", value_parser = Quiet(Target::parse))]
    pub registry: Target,
    #[command(flatten)]
    pub transport: TransportArgs,
    #[command(flatten)]
    pub credentials: CredentialArgs,
}

/// The variables with a copy's credentials for one side: PACKPUB_USERNAME/PASSWORD would
/// send one registry's password to the other.
pub const SRC_USERNAME_ENV: &str = "PACKPUB_SRC_USERNAME";
pub const SRC_PASSWORD_ENV: &str = "PACKPUB_SRC_PASSWORD";
pub const DST_USERNAME_ENV: &str = "PACKPUB_DST_USERNAME";
pub const DST_PASSWORD_ENV: &str = "PACKPUB_DST_PASSWORD";

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Where the packs are: HOST[:PORT][/PROJECT...], oci:PATH or oci-archive:FILE
    #[arg(value_parser = Quiet(Target::parse))]
    pub src: Target,
    /// Where they go, in the same forms
    #[arg(value_parser = Quiet(Target::parse))]
    pub dst: Target,
    /// NAME (every version), NAME:VERSION, or NAME@RANGE (semver, e.g. 'hello@>=1.2, <2');
    /// none: every pack under SRC's spectro-packs/archive
    #[arg(value_parser = Selector::parse)]
    pub packs: Vec<Selector>,
    /// A file of selectors, one a line ('#' starts a comment)
    #[arg(long, value_name = "LIST")]
    pub from_file: Option<PathBuf>,
    /// Overwrite a version DST holds with other content (risky: Palette caches digests)
    #[arg(long)]
    pub force: bool,
    /// Print the plan: what would be copied, what is there already, what conflicts
    #[arg(long)]
    pub dry_run: bool,
    /// How many packs to copy at once
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64), hide_short_help = true)]
    pub concurrency: u16,
    /// Entries asked for per request when listing SRC
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..))]
    pub page_size: u16,
    /// PEM file with the CA of the one registry side (registry to bundle or layout, or the
    /// reverse; env PACKPUB_CA_FILE); between two registries, --src-ca-file and --dst-ca-file
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// PEM file with SRC's CA (or its self-signed certificate)
    #[arg(long, env = "PACKPUB_SRC_CA_FILE", value_name = "PEM")]
    pub src_ca_file: Option<PathBuf>,
    /// PEM file with DST's CA (or its self-signed certificate)
    #[arg(long, env = "PACKPUB_DST_CA_FILE", value_name = "PEM")]
    pub dst_ca_file: Option<PathBuf>,
    /// Talk plain HTTP to SRC
    #[arg(long, env = "PACKPUB_SRC_PLAIN_HTTP", value_parser = parse_bool, default_value_t = false, num_args = 0, default_missing_value = "true")]
    pub src_plain_http: bool,
    /// Talk plain HTTP to DST
    #[arg(long, env = "PACKPUB_DST_PLAIN_HTTP", value_parser = parse_bool, default_value_t = false, num_args = 0, default_missing_value = "true")]
    pub dst_plain_http: bool,
    /// Skip TLS certificate verification of SRC (unsafe)
    #[arg(long, env = "PACKPUB_SRC_INSECURE", value_parser = parse_bool, default_value_t = false, num_args = 0, default_missing_value = "true")]
    pub src_insecure: bool,
    /// Skip TLS certificate verification of DST (unsafe)
    #[arg(long, env = "PACKPUB_DST_INSECURE", value_parser = parse_bool, default_value_t = false, num_args = 0, default_missing_value = "true")]
    pub dst_insecure: bool,
    /// Uploads to DST: blobs over this size go in chunks (PATCH)
    #[arg(long, env = "PACKPUB_CHUNK_SIZE", value_name = "SIZE", default_value = "64MiB", value_parser = parse_size, hide_short_help = true)]
    pub chunk_size: u64,
    /// Retries per request for transient failures, on either side
    #[arg(
        long,
        env = "PACKPUB_RETRIES",
        default_value_t = 4,
        hide_short_help = true
    )]
    pub retries: u32,
    #[command(flatten)]
    pub read: ReadArgs,
    #[command(flatten)]
    pub allowed: Allowed,
    #[command(flatten)]
    pub images: ImageArgs,
    #[command(flatten)]
    pub ecr: EcrArgs,
}

impl CopyArgs {
    pub fn image_transport(&self) -> TransportArgs {
        self.transport(true).for_images()
    }

    /// How to reach SRC (`src` true) or DST, as the other verbs' transport options.
    pub fn transport(&self, src: bool) -> TransportArgs {
        let pick = |a: bool, b: bool| if src { a } else { b };
        TransportArgs {
            ca_file: if src {
                self.src_ca_file.clone()
            } else {
                self.dst_ca_file.clone()
            },
            cert_file: None,
            key_file: None,
            insecure: pick(self.src_insecure, self.dst_insecure),
            plain_http: pick(self.src_plain_http, self.dst_plain_http),
            chunk_size: self.chunk_size,
            retries: self.retries,
            side: None,
        }
    }
}

/// Which versions of a pack to copy.
#[derive(Debug, Clone, PartialEq)]
pub enum Versions {
    All,
    Exact(crate::pack::PackVersion),
    Range(semver::VersionReq),
}

/// `NAME`, `NAME:VERSION` or `NAME@RANGE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    pub name: crate::pack::PackName,
    pub versions: Versions,
}

impl Selector {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Some((name, range)) = text.split_once('@') {
            let versions = semver::VersionReq::parse(range).map_err(|e| {
                format!("{range:?} is not a version range ({e}); write e.g. '>=1.2, <2'")
            })?;
            let name = crate::pack::PackName::parse(name)?;
            return Ok(Self {
                name,
                versions: Versions::Range(versions),
            });
        }
        if text.contains(':') {
            let id = Identity::parse(text)?;
            return Ok(Self {
                name: id.name,
                versions: Versions::Exact(id.version),
            });
        }
        Ok(Self {
            name: crate::pack::PackName::parse(text)?,
            versions: Versions::All,
        })
    }

    /// Whether `version` (a tag) is selected; a range takes only semver tags (`v` tolerated).
    pub fn takes(&self, version: &str) -> bool {
        match &self.versions {
            Versions::All => true,
            Versions::Exact(v) => v.as_str() == version,
            Versions::Range(range) => {
                semver::Version::parse(version.strip_prefix('v').unwrap_or(version))
                    .is_ok_and(|v| range.matches(&v))
            }
        }
    }
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A pack folder, a <name>-<version>.tar.gz made by `pack`, or NAME:VERSION (remote checks
    /// only); default: the current folder, or with an oci-archive: TARGET every pack in the
    /// bundle
    #[arg(value_parser = VerifyInput::parse)]
    pub pack: Option<VerifyInput>,
    #[command(flatten)]
    pub remote: RemoteArgs,
    #[command(flatten)]
    pub build: BuildArgs,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only this pack (works where the registry forbids listing its catalog)
    #[arg(value_parser = crate::pack::PackName::parse)]
    pub name: Option<crate::pack::PackName>,
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Entries asked for per request when listing (the registry's `n`)
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..))]
    pub page_size: u16,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// NAME:VERSION of the pack
    #[arg(value_parser = Identity::parse)]
    pub pack: Identity,
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Folder to write <name>-<version>.tar.gz into
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub output: PathBuf,
    /// Also unpack the archive into DIR (refused if any entry is unsafe)
    #[arg(long)]
    pub extract: bool,
    /// With --extract, replace the pack's folder in DIR when it exists
    #[arg(long, requires = "extract")]
    pub force: bool,
    #[command(flatten)]
    pub read: ReadArgs,
    #[command(flatten)]
    pub allowed: Allowed,
}

/// `init`: what to scaffold from, and the pack's identity where the source does not give it.
#[derive(Debug, Args)]
// `--version` is the pack's here, not packpub's (`packpub --version` still prints that).
#[command(
    disable_version_flag = true,
    group(clap::ArgGroup::new("source").required(true).args(["chart", "manifests"]))
)]
pub struct InitArgs {
    /// A Helm chart: a chart archive (.tgz) or a chart folder (holds Chart.yaml)
    #[arg(long, value_name = "PATH")]
    pub chart: Option<PathBuf>,
    /// Kubernetes manifests: YAML files, or folders whose *.yaml and *.yml files are taken
    #[arg(long, value_name = "FILE_OR_DIR", num_args = 1.., requires_all = ["name", "version"])]
    pub manifests: Vec<PathBuf>,
    /// Folder to create <name>-<version>/ in (created when missing)
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub output: PathBuf,
    /// The pack's name (default: the chart's name)
    #[arg(long, value_parser = crate::pack::PackName::parse)]
    pub name: Option<crate::pack::PackName>,
    /// The pack's version (default: the chart's version)
    #[arg(long, value_parser = crate::pack::PackVersion::parse)]
    pub version: Option<crate::pack::PackVersion>,
    /// The pack's layer
    #[arg(long, default_value = "addon", value_parser = clap::builder::PossibleValuesParser::new(crate::pack::LAYERS))]
    pub layer: String,
    /// The namespace the pack deploys into (default: the chart's name, or the pack's)
    #[arg(long)]
    pub namespace: Option<String>,
    /// Replace an existing <name>-<version>/ folder
    #[arg(long)]
    pub force: bool,
    /// The time stamped on the entries of a chart folder's archive (reproducible-builds.org);
    /// default: 1980-01-01
    #[arg(long, env = "SOURCE_DATE_EPOCH", value_name = "SECONDS", value_parser = parse_epoch, hide_short_help = true)]
    pub source_date_epoch: Option<u64>,
    #[command(flatten)]
    pub allowed: Allowed,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Pack folders, or <name>-<version>.tar.gz archives made by `packpub pack`
    #[arg(default_value = ".", value_parser = LocalInput::parse)]
    pub packs: Vec<LocalInput>,
    #[command(flatten)]
    pub build: BuildArgs,
    #[command(flatten)]
    pub read: ReadArgs,
    /// How to print findings; `github` (workflow commands) is chosen when GITHUB_ACTIONS=true
    /// and stdout is not a terminal, `json` with --json
    #[arg(long, env = "PACKPUB_FORMAT", value_enum)]
    pub format: Option<LintFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    /// Lines for people, on stderr
    Human,
    /// One JSON document on stdout
    Json,
    /// SARIF 2.1.0 on stdout, for GitHub code scanning
    Sarif,
    /// GitHub Actions workflow commands (::error file=…) on stdout
    Github,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// NAME:VERSION of packs to wait for; without any, wait for the sync to finish
    #[arg(value_parser = Identity::parse)]
    pub packs: Vec<Identity>,
    #[command(flatten)]
    pub remote: RemoteArgs,
    #[command(flatten)]
    pub palette: PaletteArgs,
    /// Register TARGET in Palette when no Palette registry points at it (hands the registry
    /// credential to Palette; needs a tenant admin's API key)
    #[arg(long)]
    pub register: bool,
    /// With --register, hand the registry password to a Palette reached over http:// (anyone
    /// on the network path can read it); refused otherwise
    #[arg(long, requires = "register", hide_short_help = true)]
    pub send_password_in_clear_text: bool,
    /// With --register of an ECR registry: the IAM role Palette assumes to read it (its trust
    /// policy must allow Palette's account with the external ID Palette gives); without it,
    /// Palette gets the access key in PACKPUB_ECR_ACCESS_KEY_ID and PACKPUB_ECR_SECRET_ACCESS_KEY
    #[arg(
        long,
        env = "PACKPUB_ECR_ROLE_ARN",
        value_name = "ARN",
        requires = "register",
        hide_short_help = true
    )]
    pub ecr_role_arn: Option<String>,
    /// Check the API key and find the registry (with --register: let Palette validate it);
    /// trigger nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// How to reach Palette and what to wait for: shared by `sync` and `push --sync`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Palette")]
pub struct PaletteArgs {
    /// Palette's API host (self-hosted: its address; a URL's http:// is honoured, with a warning)
    #[arg(
        long,
        env = "SPECTROCLOUD_HOST",
        value_name = "HOST",
        default_value = "api.spectrocloud.com"
    )]
    pub palette_host: String,
    /// The project to act in (registries are tenant-level: only pack lookups carry it)
    #[arg(long, env = "SPECTROCLOUD_DEFAULT_PROJECT_ID", value_name = "UID", value_parser = parse_uid, hide_short_help = true)]
    pub project_uid: Option<String>,
    /// The Palette registry to sync, by name, when several point at TARGET or none does
    #[arg(
        long,
        env = "PACKPUB_PALETTE_REGISTRY",
        value_name = "NAME",
        hide_short_help = true
    )]
    pub palette_registry: Option<String>,
    /// How long to wait for Palette, e.g. 15m, 900s, 1h
    #[arg(long, env = "PACKPUB_SYNC_TIMEOUT", value_name = "DURATION", default_value = "15m", value_parser = parse_duration, hide_short_help = true)]
    pub timeout: std::time::Duration,
    /// Trigger the sync and return without waiting
    #[arg(long)]
    pub no_wait: bool,
    /// PEM file with the CA of a self-hosted Palette's certificate
    #[arg(
        long,
        env = "PACKPUB_PALETTE_CA_FILE",
        value_name = "PEM",
        hide_short_help = true
    )]
    pub palette_ca_file: Option<PathBuf>,
    /// Skip TLS verification for Palette (unsafe)
    #[arg(long, env = "PACKPUB_PALETTE_INSECURE", value_parser = parse_bool, default_value_t = false, num_args = 0, default_missing_value = "true", hide_short_help = true)]
    pub palette_insecure: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Folder to write the pages into (created when missing), e.g. ~/.local/share/man/man1
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub output: PathBuf,
}

/// The images packs list (`pack.content.images`), carried with them for air-gapped sites.
#[derive(Debug, Args)]
#[command(next_help_heading = "Images (air-gapped sites)")]
pub struct ImageArgs {
    /// Also copy the images each pack lists (pack.content.images), to
    /// <DST>/<image base>/<host>/<path>, every platform, digests kept
    #[arg(long, env = "PACKPUB_WITH_IMAGES", value_parser = parse_bool, default_value_t = false, num_args = 0, default_missing_value = "true", hide_short_help = true)]
    pub with_images: bool,
    /// Where images go under the destination, Palette's image base path [default:
    /// spectro-images; restoring a bundle, the names it holds]
    #[arg(
        long,
        env = "PACKPUB_IMAGE_BASE",
        value_name = "PATH",
        hide_short_help = true
    )]
    pub image_base: Option<String>,
    /// The site's mirrorRegistries entries (HOST::REGISTRY/PATH, by commas or lines): where
    /// each host's images go, so the paths match what clusters are pointed at
    #[arg(
        long,
        env = "PACKPUB_IMAGE_MAP",
        value_name = "FILE",
        hide_short_help = true
    )]
    pub image_map: Option<PathBuf>,
    /// Read HOST's images through a mirror ([http://]MIRROR[:PORT][/PREFIX]), e.g.
    /// quay.io=mirror.internal/quay; repeat for each host
    #[arg(long, value_name = "HOST=MIRROR", value_parser = crate::registry::images::Mirror::parse, hide_short_help = true)]
    pub image_source: Vec<crate::registry::images::Mirror>,
    /// Keep only this platform of multi-platform images (OS/ARCH[/VARIANT]): the copy's
    /// digest is then not the source's, and a signature on the index no longer matches
    #[arg(long, value_name = "OS/ARCH", value_parser = crate::registry::images::Platform::parse, hide_short_help = true)]
    pub platform: Option<crate::registry::images::Platform>,
}

/// How the ECR repositories a push needs are made when missing: the AWS CLI's
/// `create-repository` options, under its names.
#[derive(Debug, Args)]
#[command(next_help_heading = "ECR repositories (created when missing)")]
pub struct EcrArgs {
    /// Tags of the repositories packpub creates on ECR (KEY=VALUE, comma-separated or repeated)
    #[arg(long, env = "PACKPUB_ECR_TAGS", value_name = "KEY=VALUE", value_delimiter = ',', value_parser = parse_tag, hide_short_help = true)]
    pub ecr_tags: Vec<(String, String)>,
    /// Whether a tag may be pushed again in the repositories packpub creates on ECR
    #[arg(
        long,
        env = "PACKPUB_IMAGE_TAG_MUTABILITY",
        value_enum,
        default_value = "MUTABLE",
        hide_short_help = true
    )]
    pub image_tag_mutability: TagMutability,
    /// Encryption of the repositories packpub creates on ECR
    #[arg(
        long,
        env = "PACKPUB_ENCRYPTION_TYPE",
        value_enum,
        default_value = "AES256",
        hide_short_help = true
    )]
    pub encryption_type: EncryptionType,
    /// KMS key (ID, ARN or alias) for the repositories packpub creates on ECR; implies
    /// --encryption-type KMS (without it, KMS uses AWS's managed key)
    #[arg(
        long,
        env = "PACKPUB_KMS_KEY",
        value_name = "KEY",
        hide_short_help = true
    )]
    pub kms_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TagMutability {
    #[value(name = "MUTABLE")]
    Mutable,
    #[value(name = "IMMUTABLE")]
    Immutable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EncryptionType {
    #[value(name = "AES256")]
    Aes256,
    #[value(name = "KMS")]
    Kms,
}

fn parse_tag(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.trim().to_string()))
        }
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

impl From<&EcrArgs> for crate::registry::ecr::RepositorySettings {
    fn from(args: &EcrArgs) -> Self {
        Self {
            tags: args.ecr_tags.clone(),
            immutable: args.image_tag_mutability == TagMutability::Immutable,
            kms: args.encryption_type == EncryptionType::Kms || args.kms_key.is_some(),
            kms_key: args.kms_key.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::allowance::By;
    use crate::pack::rules::Rule;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("packpub").chain(args.iter().copied()))
    }

    fn push_args(args: &[&str]) -> PushArgs {
        match parse(args).unwrap().command {
            Command::Push(push) => push,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_documented_defaults_are_the_domain_defaults() {
        let cli = parse(&["ls", "--registry", "r.io"]).unwrap();
        assert_eq!(
            cli.global.request_timeout,
            crate::http::DEFAULT_REQUEST_TIMEOUT
        );
        assert_eq!(cli.global.lock_timeout, crate::lock::DEFAULT_TIMEOUT);
    }

    #[test]
    fn the_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn targets_are_typed_at_parse_time() {
        let push = push_args(&["push", "--registry", "Harbor.Example.com:443/proj"]);
        assert_eq!(
            push.remote.registry,
            Target::Registry {
                host: "harbor.example.com".into(),
                prefix: "proj".into()
            }
        );
        assert_eq!(push.packs, [LocalInput::Folder(".".into())]);
        let err = parse(&["push", "--registry", "https://h/proj"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(err.to_string().contains("use h/proj"), "{err}");
    }

    #[test]
    fn pack_inputs_are_folders_archives_or_published_versions() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("hello-1.0.0");
        std::fs::create_dir(&folder).unwrap();
        let archive = dir.path().join("hello-1.0.0.tar.gz");
        std::fs::write(&archive, b"").unwrap();
        let odd_file = dir.path().join("README");
        std::fs::write(&odd_file, b"").unwrap();
        let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
        assert_eq!(
            LocalInput::parse(&s(&folder)),
            Ok(LocalInput::Folder(folder.clone()))
        );
        assert_eq!(
            LocalInput::parse(&s(&archive)),
            Ok(LocalInput::Tarball(archive.clone()))
        );
        assert_eq!(
            LocalInput::parse(&s(&odd_file)),
            Ok(LocalInput::Tarball(odd_file.clone()))
        );
        assert_eq!(
            LocalInput::parse("gone.tar.gz"),
            Ok(LocalInput::Tarball("gone.tar.gz".into()))
        );
        assert_eq!(
            LocalInput::parse("gone"),
            Ok(LocalInput::Folder("gone".into()))
        );
        assert!(LocalInput::parse("").is_err());

        let published = VerifyInput::parse("hello:1.0.0").unwrap();
        assert_eq!(
            published,
            VerifyInput::Published(Identity::parse("hello:1.0.0").unwrap())
        );
        assert!(VerifyInput::parse("Hello:1.0.0").is_err());
        // A folder named like NAME:VERSION is still the folder.
        let colon = dir.path().join("hello:1.0.0");
        std::fs::create_dir(&colon).unwrap();
        assert_eq!(
            VerifyInput::parse(&s(&colon)),
            Ok(VerifyInput::Local(LocalInput::Folder(colon.clone())))
        );
    }

    #[test]
    fn booleans_read_the_usual_spellings() {
        for yes in ["1", "true", "TRUE", "yes", "on", " On "] {
            assert_eq!(parse_bool(yes), Ok(true), "{yes}");
        }
        for no in ["0", "false", "No", "off", ""] {
            assert_eq!(parse_bool(no), Ok(false), "{no}");
        }
        assert!(parse_bool("maybe").unwrap_err().contains("1/0, true/false"));
        let Command::Pack(pack) = parse(&["pack", "--strict"]).unwrap().command else {
            panic!()
        };
        assert!(pack.build.strict);
    }

    #[test]
    fn sizes_read_units() {
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_size("512 MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        for bad in ["", "0", "4 parsecs", "-1", "99999999999999999999G", "1.5G"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pull_takes_name_version() {
        let cli = parse(&["pull", "hello:1.0.0", "--registry", "oci:x"]).unwrap();
        let Command::Pull(pull) = cli.command else {
            panic!()
        };
        assert_eq!(pull.pack.archive_name(), "hello-1.0.0.tar.gz");
        assert!(parse(&["pull", "hello", "--registry", "oci:x"]).is_err());
    }

    #[test]
    fn there_is_no_password_flag() {
        let err = parse(&["push", "--registry", "h", "--password", "x"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
        // -u alone asks for the password on a terminal, when the command runs.
        let cli = parse(&["push", "--registry", "h", "-u", "me"]).unwrap();
        let Command::Push(push) = cli.command else {
            panic!()
        };
        assert!(!push.remote.credentials.password_stdin);
    }

    #[test]
    fn passwords_typed_into_a_target_or_host_are_never_repeated() {
        for args in [
            &["push", "--registry", "user:s3cret@h.example.com/proj"][..],
            &["login", "user:s3cret@h.example.com"],
            &["logout", "https://user:s3cret@h.example.com/"],
        ] {
            let err = parse(args).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
            let shown = err.render().to_string();
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("password"), "{shown}");
        }
    }

    #[test]
    fn login_hosts_are_normalised() {
        let cli = parse(&["login", "https://Harbor.Example.com:443/"]).unwrap();
        let Command::Login(login) = cli.command else {
            panic!()
        };
        assert_eq!(
            login.host.map(|h| h.host).as_deref(),
            Some("harbor.example.com")
        );
        assert!(parse(&["logout", "bad host"]).is_err());
    }

    #[test]
    fn allowed_rules_are_typed_and_refusals_say_why() {
        use crate::pack::Findings;
        let Command::Lint(lint) = parse(&["lint", "--allow", "pp025", "--allow", "PP029,PP031"])
            .unwrap()
            .command
        else {
            panic!()
        };
        let mut findings = Findings::default();
        for rule in [
            Rule::Manifest,
            Rule::Chart,
            Rule::ChartUnknownKey,
            Rule::Logo,
        ] {
            findings.add(rule, "f", None, "is wrong".into(), "fix it");
        }
        lint.build.allowed.apply(&mut findings);
        let by: Vec<Option<By>> = findings
            .list
            .iter()
            .map(|f| f.allowed.as_ref().map(|a| a.by))
            .collect();
        assert_eq!(by, [Some(By::Flag), Some(By::Flag), Some(By::Flag), None]);
        for args in [
            &[
                "pull",
                "hello:1.0.0",
                "--registry",
                "oci:x",
                "--allow",
                "PP014",
            ][..],
            &["copy", "oci:a", "oci:b", "--allow", "PP014"],
            &["init", "--chart", "c.tgz", "--allow", "PP029"],
            &["verify", "--registry", "oci:x", "--allow", "PP014"],
        ] {
            assert!(parse(args).is_ok(), "{args:?}");
        }
        for (id, why) in [
            (
                "PP012",
                "PP012 can never be allowed: it is the pack's identity",
            ),
            (
                "PP003",
                "PP003 can never be allowed: it keeps the archive safe",
            ),
            ("PP099", "\"PP099\" is not a rule id"),
        ] {
            let err = parse(&["pack", "--allow", id]).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
            assert!(err.to_string().contains(why), "{err}");
        }
    }

    #[test]
    fn flags_that_are_usage_errors() {
        for args in [
            &["push", "--registry", "h", "--concurrency", "0"][..],
            &["ls", "--registry", "h", "--page-size", "0"],
            &["ls", "Bad", "--registry", "h"],
            &["pack", "--source-date-epoch", "yesterday"],
            &["--color", "sometimes", "pack"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
        let err = parse(&["pack", "--source-date-epoch", "x"]).unwrap_err();
        assert!(err.to_string().contains("SOURCE_DATE_EPOCH"), "{err}");
    }
}
