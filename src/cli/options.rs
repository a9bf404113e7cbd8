//! The parsed arguments turned into the domain's own option types, once (ripgrep's `LowArgs`
//! → `HiArgs`): [`crate::output::Style`], [`crate::pack::BuildOptions`] and its [`Allowed`],
//! read limits, [`Transport`], the given credential.

use super::{
    BuildArgs, ColorChoice, CredentialArgs, GlobalArgs, ImageArgs, ReadArgs, TransportArgs,
};
use crate::pack::allowance::{ALLOW_ENV, By};
use crate::pack::rules::Rule;
use crate::pack::write::{DEFAULT_MTIME, Recipe};
use crate::pack::{Allowed, BuildOptions};
use crate::registry::client::Transport;

impl GlobalArgs {
    /// How this run prints.
    pub fn style(&self) -> crate::output::Style {
        use crate::output::Color;
        crate::output::Style {
            json: self.json,
            quiet: self.quiet,
            verbose: self.verbose,
            color: match self.color {
                ColorChoice::Auto => Color::Auto,
                ColorChoice::Always => Color::Always,
                ColorChoice::Never => Color::Never,
            },
            progress_every: self.progress_every,
        }
    }
}

const ALLOW_ARG: &str = "allow";

/// `--allow RULE` (repeatable, comma-separated) and `PACKPUB_ALLOW`, as one [`Allowed`]; an
/// unknown rule, or one that can never be allowed, is a usage error saying why.
impl clap::Args for Allowed {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.arg(
            clap::Arg::new(ALLOW_ARG)
                .long(ALLOW_ARG)
                .value_name("RULE")
                .action(clap::ArgAction::Append)
                .value_delimiter(',')
                .value_parser(|id: &str| crate::pack::allow::allowable(id))
                .help("Allow a rule you know is wrong for your packs (e.g. PP025)")
                .long_help(format!(
                    "Allow a rule you know is wrong for your packs (e.g. PP025; repeatable, \
                     comma-separated; [env: {ALLOW_ENV}=], which adds to these): its findings \
                     are reported as suppressed and block nothing"
                )),
        )
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for Allowed {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut allowed = Allowed::default();
        let flags = matches.get_many::<Rule>(ALLOW_ARG).into_iter().flatten();
        allowed.add(flags.copied(), By::Flag);
        if let Some(value) = std::env::var_os(ALLOW_ENV) {
            let invalid = |why: String| {
                clap::Error::raw(
                    clap::error::ErrorKind::ValueValidation,
                    format!("invalid value for {ALLOW_ENV}: {why}"),
                )
            };
            let text = value
                .to_str()
                .ok_or_else(|| invalid("it is not valid UTF-8".into()))?;
            let ids = text.split(',').map(str::trim).filter(|id| !id.is_empty());
            let rules = ids
                .map(crate::pack::allow::allowable)
                .collect::<Result<Vec<_>, _>>()
                .map_err(invalid)?;
            allowed.add(rules, By::Env);
        }
        Ok(allowed)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl BuildArgs {
    /// How packs are read, checked and archived in this run.
    pub fn options(&self) -> BuildOptions {
        BuildOptions {
            strict: self.strict,
            profile: self.profile,
            recipe: self.recipe(),
            allowed: self.allowed.clone(),
        }
    }

    /// How archives are built in this run.
    pub fn recipe(&self) -> Recipe {
        let mtime = self.source_date_epoch.unwrap_or(DEFAULT_MTIME);
        match self.jobs {
            Some(jobs) => Recipe {
                mtime,
                jobs: jobs.into(),
            },
            None => Recipe::on_every_core(mtime),
        }
    }
}

impl ReadArgs {
    pub fn limits(&self) -> crate::pack::read::Limits {
        crate::pack::read::Limits {
            max_inflated: self.max_inflated_size,
        }
    }
}

impl TransportArgs {
    /// How to reach the registries images are read from: these retries and chunk size; TLS
    /// from the system's roots and certs.d (the CA and client certificate given are the
    /// target's, not an image registry's), plain HTTP only where a mirror says `http://`.
    pub fn for_images(&self) -> Self {
        Self {
            ca_file: None,
            cert_file: None,
            key_file: None,
            insecure: false,
            plain_http: false,
            side: None,
            ..self.clone()
        }
    }
}

impl super::PushArgs {
    pub fn image_transport(&self) -> TransportArgs {
        self.remote.transport.for_images()
    }
}

impl From<&TransportArgs> for Transport {
    fn from(args: &TransportArgs) -> Self {
        Self {
            plain_http: args.plain_http,
            tls: crate::registry::tls::Settings {
                insecure: args.insecure,
                ca_file: args.ca_file.clone(),
                cert_file: args.cert_file.clone(),
                key_file: args.key_file.clone(),
                certs_d: crate::registry::tls::Settings::default_certs_d(),
            },
            retries: args.retries,
            chunk_size: args.chunk_size,
            side: args.side,
        }
    }
}

impl CredentialArgs {
    /// The credential given for this run (the password read from stdin now, once).
    pub fn given(&self) -> anyhow::Result<crate::credentials::Given> {
        crate::credentials::Given::read(self.username.as_deref(), self.password_stdin)
    }
}

impl From<&ImageArgs> for crate::registry::images::Options {
    fn from(args: &ImageArgs) -> Self {
        Self {
            with_images: args.with_images,
            base: args.image_base.clone(),
            map: args.image_map.clone(),
            mirrors: args.image_source.clone(),
            platform: args.platform.clone(),
        }
    }
}
