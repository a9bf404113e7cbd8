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
    Flags,
    Env,
    Keyring,
    Docker(docker::Found),
    Anonymous,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flags => f.write_str("--username and --password-stdin"),
            Source::Env => write!(f, "{USERNAME_ENV} and {PASSWORD_ENV}"),
            Source::Keyring => f.write_str("packpub's entry in the OS keyring"),
            Source::Docker(found) => found.fmt(f),
            Source::Anonymous => f.write_str("no credentials (anonymous)"),
        }
    }
}

/// What the user gave for this run, read once before any work starts: the flags (the password
/// from stdin), else both environment variables.
#[derive(Debug, Default)]
pub struct Given(Option<(String, Secret, Source)>);

impl Given {
    /// `stdin_user` is the user name given with `--password-stdin`: the password is read
    /// from stdin; without one, from the environment.
    pub fn read(stdin_user: Option<&str>) -> anyhow::Result<Self> {
        if let Some(user) = stdin_user {
            return Ok(Self(Some((
                user.to_string(),
                read_password_stdin()?,
                Source::Flags,
            ))));
        }
        Ok(Self::env(USERNAME_ENV, PASSWORD_ENV))
    }

    /// The credential in the environment variables `user` and `password` (both), if set.
    pub fn env(user: &str, password: &str) -> Self {
        match (std::env::var(user), std::env::var(password)) {
            (Ok(user), Ok(password)) => Self(Some((user, Secret::new(password), Source::Env))),
            _ => Self(None),
        }
    }
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
    Ok(Resolved { credential, again })
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
