//! packpub's own entries in the OS keyring (Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows): service `packpub`, one entry per registry host, holding the
//! user name and password as one JSON value so a single lookup yields both.

use super::credential::Credential;
use crate::redacted::Secret;
use ::keyring::{Entry, Error};

const SERVICE: &str = "packpub";

/// Why the keyring could not be used, in one line for the user.
#[derive(Debug)]
pub struct Unavailable(pub String);

fn entry(host: &str) -> Result<Entry, Unavailable> {
    Entry::new(SERVICE, host).map_err(|err| Unavailable(describe(&err)))
}

fn describe(err: &Error) -> String {
    match err {
        Error::NoDefaultStore => match Entry::store_status() {
            Err(inner) if !matches!(inner, Error::NoDefaultStore) => describe(inner),
            _ => "no OS keyring is reachable".to_string(),
        },
        Error::NoStorageAccess(inner) => format!("the OS keyring refused access ({inner})"),
        Error::PlatformFailure(inner) => format!("no OS keyring is reachable ({inner})"),
        other => format!("the OS keyring failed ({other})"),
    }
}

/// The stored credential for `host`; `Ok(None)` when there is none.
pub fn get(host: &str) -> Result<Option<Credential>, Unavailable> {
    let value = match entry(host)?.get_password() {
        Ok(value) => Secret::new(value),
        Err(Error::NoEntry) => return Ok(None),
        Err(err) => return Err(Unavailable(describe(&err))),
    };
    let doc: serde_json::Value = serde_json::from_str(value.expose()).map_err(|_| {
        Unavailable(format!(
            "packpub's keyring entry for {host} is not readable; run `packpub login {host}` again"
        ))
    })?;
    let username = doc["username"].as_str().unwrap_or_default();
    let password = doc["password"].as_str().unwrap_or_default();
    Ok(Some(Credential::basic(
        username,
        Secret::new(password.to_string()),
    )))
}

pub fn set(host: &str, username: &str, password: &Secret) -> Result<(), Unavailable> {
    let value = Secret::new(
        serde_json::json!({"username": username, "password": password.expose()}).to_string(),
    );
    entry(host)?
        .set_password(value.expose())
        .map_err(|err| Unavailable(describe(&err)))
}

/// Removes the entry; `Ok(false)` when there was none.
pub fn delete(host: &str) -> Result<bool, Unavailable> {
    match entry(host)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(Error::NoEntry) => Ok(false),
        Err(err) => Err(Unavailable(describe(&err))),
    }
}
