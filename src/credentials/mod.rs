//! Where registry credentials come from, in one order for every command:
//! `--username` + `--password-stdin` → `PACKPUB_USERNAME`/`PACKPUB_PASSWORD` → packpub's entry
//! in the OS keyring → docker's config (`credHelpers[host]`, `credsStore`, `auths`) →
//! anonymous. Secrets live in [`Secret`] so they never reach output, logs or error chains.

mod credential;
pub mod docker;
pub mod keyring;

pub use credential::Credential;

use crate::exit::{Code, Failure};
use crate::output::Output;
use crate::redacted::Secret;
use anyhow::Context;
use std::fmt;
use std::io::Read;

/// The environment variables read for credentials. They are not flags (a password in argv is
/// visible to every user of the machine), so they are read here by name and shown in `--help`.
pub const USERNAME_ENV: &str = "PACKPUB_USERNAME";
pub const PASSWORD_ENV: &str = "PACKPUB_PASSWORD";

/// Where the credential in use came from; shown with `-v`.
#[derive(Debug, Clone)]
pub enum Source {
    /// `--username`, and how the password came (`--password-stdin`, a prompt).
    Flags(&'static str),
    /// The user and password variables read.
    Env(&'static str, &'static str),
    Keyring,
    Docker(docker::Found),
    /// What `packpub login` is checking.
    Login,
    Anonymous,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flags(password) => write!(f, "--username and {password}"),
            Source::Env(user, password) => write!(f, "{user} and {password}"),
            Source::Keyring => f.write_str("packpub's entry in the OS keyring"),
            Source::Docker(found) => found.fmt(f),
            Source::Login => f.write_str("what `packpub login` was given"),
            Source::Anonymous => f.write_str("no credentials (anonymous)"),
        }
    }
}

/// What the user gave for this run, read once before any work starts: the flags (the password
/// from stdin), else both environment variables.
#[derive(Debug, Default)]
pub struct Given(Option<(String, Secret, Source)>);

impl Given {
    /// `user` is the user name given on the command line: the password is read from stdin
    /// with `password_stdin`, else prompted for; without one, the credential comes from the
    /// environment.
    pub fn read(user: Option<&str>, password_stdin: bool) -> anyhow::Result<Self> {
        let Some(user) = user else {
            return Self::env(USERNAME_ENV, PASSWORD_ENV);
        };
        let (password, how) = if password_stdin {
            (read_password_stdin()?, "--password-stdin")
        } else {
            let prompt = format!("Password for {user}: ");
            (
                prompt_password(&prompt)?,
                "the password typed at the prompt",
            )
        };
        Ok(Self(Some((user.to_string(), password, Source::Flags(how)))))
    }

    /// The credential in the environment variables `user` and `password`, if set; one
    /// without the other is a usage error, never silently anonymous.
    pub fn env(user: &'static str, password: &'static str) -> anyhow::Result<Self> {
        match (std::env::var(user), std::env::var(password)) {
            (Ok(name), Ok(secret)) => {
                let source = Source::Env(user, password);
                Ok(Self(Some((name, Secret::new(secret), source))))
            }
            (Ok(_), Err(_)) => Err(half_set(user, password)),
            (Err(_), Ok(_)) => Err(half_set(password, user)),
            (Err(_), Err(_)) => Ok(Self(None)),
        }
    }
}

impl Given {
    /// Whether a credential was given.
    pub fn is_some(&self) -> bool {
        self.0.is_some()
    }
}

fn half_set(set: &str, missing: &str) -> anyhow::Error {
    Failure::err(
        Code::Usage,
        format!("{set} is set but {missing} is not: set both, or neither"),
    )
}

/// A password typed on the terminal, not echoed, as `login` asks for it; off a terminal, a
/// usage error that says how to give it instead.
pub fn prompt_password(prompt: &str) -> anyhow::Result<Secret> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Err(Failure::err(
            Code::Usage,
            "stdin is not a terminal: pipe the password in with --password-stdin",
        ));
    }
    let typed = rpassword::prompt_password(prompt).context("cannot read the password")?;
    if typed.is_empty() {
        return Err(Failure::err(Code::Usage, "no password typed"));
    }
    Ok(Secret::new(typed))
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

/// The credential found for a registry, and how to ask its source again.
pub struct Resolved {
    pub credential: Option<Credential>,
    /// Where it came from, or (none found) where packpub looked: named when the registry
    /// refuses, so a missing credential never reads as a wrong password.
    pub source: Source,
    /// Set when a docker credential helper gave the credential: it may hand out a new one
    /// (short-lived ECR passwords), so a registry's refusal is worth one more question.
    pub again: Option<Again>,
}

/// Asks a credential's source again.
pub type Again = std::sync::Arc<dyn Fn() -> Option<Credential> + Send + Sync>;

/// Finds the credential for `host` (normalised) in the documented order; `-v` tells the source.
pub fn resolve(host: &str, given: &Given, out: &Output) -> anyhow::Result<Resolved> {
    let (credential, source) = lookup(host, given, out)?;
    out.verbose(&format!("credentials for {host}: {source}"));
    let again = match source {
        Source::Docker(docker::Found::Helper(_)) => {
            let host = host.to_string();
            let again: Again = std::sync::Arc::new(move || {
                docker::lookup(&host)
                    .ok()
                    .flatten()
                    .map(|(credential, _)| credential)
            });
            Some(again)
        }
        _ => None,
    };
    Ok(Resolved {
        credential,
        source,
        again,
    })
}

/// How the source of a refused credential is named.
const CAME_FROM: &str = "the credential came from";

/// How a registry's refusal (exit 4) starts when no credential was found.
const NO_CREDENTIALS: &str = "no credentials for";

/// `err` (a refusal by `host`, exit 4) with what the user can do about it: with no credential,
/// where packpub looked and how to give one; with one, where it came from.
pub fn explain_refusal(host: &str, source: &Source, err: anyhow::Error) -> anyhow::Error {
    let Source::Anonymous = source else {
        return Failure::err(Code::Auth, format!("{err:#} ({CAME_FROM} {source})"));
    };
    let docker = docker::config_path().map_or_else(
        || "docker's config (no HOME)".to_string(),
        |path| path.display().to_string(),
    );
    Failure::err(
        Code::Auth,
        format!(
            "{NO_CREDENTIALS} {host} (looked in: --username/--password-stdin, {USERNAME_ENV}/\
             {PASSWORD_ENV}, the OS keyring, {docker}); run `packpub login {host}` or set \
             {USERNAME_ENV}/{PASSWORD_ENV}. The registry said: {err:#}"
        ),
    )
}

/// Whether `err` is a refusal because no credential was found ([`explain_refusal`]).
pub fn is_missing(err: &anyhow::Error) -> bool {
    crate::exit::failure_of(err).is_some_and(|f| f.message.starts_with(NO_CREDENTIALS))
}

/// Whether [`explain_refusal`] has had its say on `err` already.
pub fn is_explained(err: &anyhow::Error) -> bool {
    is_missing(err) || crate::exit::failure_of(err).is_some_and(|f| f.message.contains(CAME_FROM))
}

/// Where the Palette API key for Palette at `host` is stored (the keyring entry's user, the
/// docker config key): a name of its own, so it never mixes with a registry's credential.
pub fn palette_entry(host: &str) -> String {
    format!("palette-api-key.{host}")
}

/// The environment variable Spectro's own tools read the API key from.
pub const PALETTE_KEY_ENV: &str = "SPECTROCLOUD_APIKEY";

/// The Palette API key for `host`: `SPECTROCLOUD_APIKEY`, else the one `packpub login
/// --palette` stored; `-v` tells which, never the key.
pub fn palette_key(host: &str, out: &Output) -> anyhow::Result<Option<Secret>> {
    if let Some(key) = std::env::var(PALETTE_KEY_ENV)
        .ok()
        .filter(|k| !k.is_empty())
    {
        out.verbose(&format!("Palette API key: {PALETTE_KEY_ENV}"));
        return Ok(Some(Secret::new(key)));
    }
    let entry = palette_entry(host);
    match keyring::get(&entry) {
        Ok(Some(Credential::Basic { password, .. })) => {
            out.verbose("Palette API key: packpub's entry in the OS keyring");
            return Ok(Some(password));
        }
        Ok(_) => {}
        Err(keyring::Unavailable(why)) => out.verbose(&format!("keyring skipped: {why}")),
    }
    if let Some((Credential::Basic { password, .. }, found)) = docker::lookup(&entry)? {
        out.verbose(&format!("Palette API key: {found}"));
        return Ok(Some(password));
    }
    Ok(None)
}

fn lookup(host: &str, given: &Given, out: &Output) -> anyhow::Result<(Option<Credential>, Source)> {
    if let Some((user, password, source)) = &given.0 {
        return Ok((
            Some(Credential::basic(user, password.clone())),
            source.clone(),
        ));
    }
    match keyring::get(host) {
        Ok(Some(cred)) => return Ok((Some(cred), Source::Keyring)),
        Ok(None) => {}
        Err(keyring::Unavailable(why)) => out.verbose(&format!("keyring skipped: {why}")),
    }
    if let Some((cred, found)) = docker::lookup(host)? {
        return Ok((Some(cred), Source::Docker(found)));
    }
    Ok((None, Source::Anonymous))
}
