//! Where registry credentials come from, in one order for every command:
//! `--username` + `--password-stdin` → `PACKPUB_USERNAME`/`PACKPUB_PASSWORD` → packpub's entry
//! in the OS keyring → docker's config (`credHelpers[host]`, `credsStore`, `auths`) →
//! anonymous. Secrets live in [`Secret`] so they never reach output, logs or error chains.

pub mod docker;
pub mod keyring;

use crate::output::Output;
use crate::redacted::Secret;
use std::fmt;

#[derive(Debug, Clone)]
pub enum Credential {
    Basic {
        username: String,
        password: Secret,
    },
    /// An OAuth identity token (docker's `identitytoken`, a helper's `<token>` user).
    IdentityToken(Secret),
}

impl Credential {
    pub fn basic(username: &str, password: Secret) -> Self {
        Self::Basic {
            username: username.to_string(),
            password,
        }
    }

    pub fn identity_token(token: Secret) -> Self {
        Self::IdentityToken(token)
    }
}

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
            Source::Env => f.write_str("PACKPUB_USERNAME and PACKPUB_PASSWORD"),
            Source::Keyring => f.write_str("packpub's entry in the OS keyring"),
            Source::Docker(found) => found.fmt(f),
            Source::Anonymous => f.write_str("no credentials (anonymous)"),
        }
    }
}

/// What the user gave on the command line, read once before any work starts.
#[derive(Debug, Default)]
pub struct Given {
    pub username: Option<String>,
    pub password: Option<Secret>,
}

/// Finds the credential for `host` (normalised) in the documented order; `-v` tells the source.
pub fn resolve(host: &str, given: &Given, out: &Output) -> anyhow::Result<Option<Credential>> {
    let (credential, source) = lookup(host, given, out)?;
    out.verbose(&format!("credentials for {host}: {source}"));
    Ok(credential)
}

fn lookup(host: &str, given: &Given, out: &Output) -> anyhow::Result<(Option<Credential>, Source)> {
    if let (Some(user), Some(password)) = (&given.username, &given.password) {
        return Ok((
            Some(Credential::basic(user, password.clone())),
            Source::Flags,
        ));
    }
    if let (Ok(user), Ok(password)) = (
        std::env::var("PACKPUB_USERNAME"),
        std::env::var("PACKPUB_PASSWORD"),
    ) {
        return Ok((
            Some(Credential::basic(&user, Secret::new(password))),
            Source::Env,
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
