//! Docker's credential store, read the way docker, helm and oras read it, so a user who ran
//! `docker login` (or uses a helper such as ECR's `ecr-login`) is logged in for packpub too:
//! `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`) → `credHelpers[host]`, then
//! `credsStore`, then `auths[host]` (base64 `user:password`, or an identity token).

use super::credential::Credential;
use crate::redacted::Secret;
use anyhow::{Context, bail};
use base64::Engine;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Where a credential was found, for `-v` (never the secret itself).
#[derive(Debug, Clone)]
pub enum Found {
    Helper(String),
    Auths(PathBuf),
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Found::Helper(name) => write!(f, "docker credential helper docker-credential-{name}"),
            Found::Auths(path) => write!(f, "auths in {}", path.display()),
        }
    }
}

pub fn config_path() -> Option<PathBuf> {
    let dir = match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".docker"),
    };
    Some(dir.join("config.json"))
}

/// Reads `config.json`; a missing file is an empty config.
pub fn read_config() -> anyhow::Result<(Option<PathBuf>, Value)> {
    let Some(path) = config_path() else {
        return Ok((None, Value::Null));
    };
    match std::fs::read(&path) {
        Ok(bytes) => {
            let doc = serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not valid JSON", path.display()))?;
            Ok((Some(path), doc))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok((Some(path), Value::Null)),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The helper configured for `host` (`credHelpers[host]`, else `credsStore`).
pub fn helper_for(doc: &Value, host: &str) -> Option<String> {
    let per_host = doc
        .get("credHelpers")
        .and_then(Value::as_object)
        .and_then(|helpers| {
            helpers
                .iter()
                .find(|(key, _)| crate::host::same(key, host))
                .and_then(|(_, v)| v.as_str())
        });
    per_host
        .or_else(|| doc.get("credsStore").and_then(Value::as_str))
        .filter(|name| !name.is_empty())
        .map(str::to_string)
}

/// Looks `host` up in docker's config: helper first, then `auths`.
pub fn lookup(host: &str) -> anyhow::Result<Option<(Credential, Found)>> {
    let (path, doc) = read_config()?;
    if let Some(helper) = helper_for(&doc, host)
        && let Some(cred) = helper_get(&helper, host)?
    {
        return Ok(Some((cred, Found::Helper(helper))));
    }
    let Some(entry) = doc
        .get("auths")
        .and_then(Value::as_object)
        .and_then(|auths| auths.iter().find(|(key, _)| crate::host::same(key, host)))
        .map(|(_, entry)| entry)
    else {
        return Ok(None);
    };
    let path = path.unwrap_or_default();
    let cred = auths_entry(entry).with_context(|| {
        format!(
            "the auths entry for {host} in {} cannot be decoded",
            path.display()
        )
    })?;
    Ok(cred.map(|cred| (cred, Found::Auths(path))))
}

fn auths_entry(entry: &Value) -> anyhow::Result<Option<Credential>> {
    if let Some(token) = entry
        .get("identitytoken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        return Ok(Some(Credential::identity_token(Secret::new(
            token.to_string(),
        ))));
    }
    let Some(auth) = entry
        .get("auth")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
    else {
        return Ok(None);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .context("`auth` is not base64")?;
    let decoded = String::from_utf8(decoded).context("`auth` is not UTF-8")?;
    let (user, password) = decoded
        .split_once(':')
        .context("`auth` is not user:password")?;
    Ok(Some(Credential::basic(
        user,
        Secret::new(password.to_string()),
    )))
}

/// `docker-credential-<helper> get`: the server on stdin, JSON on stdout.
fn helper_get(helper: &str, host: &str) -> anyhow::Result<Option<Credential>> {
    let program = format!("docker-credential-{helper}");
    let output = run_helper(&program, "get", host.as_bytes())?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stdout).to_lowercase();
        if said.contains("not found") || said.contains("no credentials") {
            return Ok(None);
        }
        bail!(
            "{program} get failed for {host}: {}",
            String::from_utf8_lossy(&output.stdout).trim()
        );
    }
    let doc: Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("{program} get answered something other than JSON"))?;
    let user = doc
        .get("Username")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let secret = doc
        .get("Secret")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if secret.is_empty() {
        return Ok(None);
    }
    let secret = Secret::new(secret.to_string());
    Ok(Some(if user == "<token>" {
        Credential::identity_token(secret)
    } else {
        Credential::basic(user, secret)
    }))
}

/// Runs a helper verb with `input` on stdin. Its stderr is not shown: helpers may echo secrets.
pub fn run_helper(program: &str, verb: &str, input: &[u8]) -> anyhow::Result<std::process::Output> {
    let mut child = Command::new(program)
        .arg(verb)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| {
            format!("cannot run {program} (configured in docker's config.json); is it on PATH?")
        })?;
    child
        .stdin
        .take()
        .context("helper stdin")?
        .write_all(input)
        .with_context(|| format!("cannot talk to {program}"))?;
    child
        .wait_with_output()
        .with_context(|| format!("{program} {verb} failed"))
}

/// Top-level key in config.json where packpub records the entries it wrote, so `logout` removes
/// only those (docker drops unknown keys when it rewrites the file; then packpub leaves the
/// entry alone, the safe side).
const MARKER: &str = "packpubLogins";

/// What packpub wrote for a host, as recorded under [`MARKER`].
#[derive(Debug, PartialEq, Eq)]
enum Marker {
    /// An `auths` entry in config.json.
    Auths,
    /// An entry in this credential helper.
    Helper(String),
}

impl Marker {
    fn read(doc: &Value, host: &str) -> Option<Self> {
        match doc[MARKER][host].as_str()? {
            "auths" => Some(Self::Auths),
            other => other
                .strip_prefix("helper:")
                .map(|helper| Self::Helper(helper.to_string())),
        }
    }

    fn write(&self, doc: &mut Value, host: &str) {
        doc[MARKER][host] = Value::from(match self {
            Self::Auths => "auths".to_string(),
            Self::Helper(helper) => format!("helper:{helper}"),
        });
    }
}

/// Where `store` put a credential.
pub enum Stored {
    Helper(String),
    Auths(PathBuf),
}

/// Stores a credential the way docker would: through the host's helper (or `credsStore`)
/// when one is configured, else base64-encoded in `auths`.
pub fn store(host: &str, username: &str, password: &Secret) -> anyhow::Result<Stored> {
    let (path, mut doc) = read_config()?;
    let path = path.context("cannot locate docker's config: set DOCKER_CONFIG or HOME")?;
    if !doc.is_object() {
        doc = serde_json::json!({});
    }
    let stored = if let Some(helper) = helper_for(&doc, host) {
        let program = format!("docker-credential-{helper}");
        let payload = Secret::new(
            serde_json::json!({"ServerURL": host, "Username": username, "Secret": password.expose()})
                .to_string(),
        );
        let output = run_helper(&program, "store", payload.expose().as_bytes())?;
        if !output.status.success() {
            bail!("{program} store failed for {host}");
        }
        Marker::Helper(helper.clone()).write(&mut doc, host);
        Stored::Helper(helper)
    } else {
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(format!("{username}:{}", password.expose()));
        remove_auths(&mut doc, host);
        doc["auths"][host] = serde_json::json!({ "auth": encoded });
        Marker::Auths.write(&mut doc, host);
        Stored::Auths(path.clone())
    };
    write_config(&path, &doc)?;
    Ok(stored)
}

/// Removes what packpub wrote for `host` (everything docker holds for it with `all`).
/// Returns a description of each removal.
pub fn erase(host: &str, all: bool) -> anyhow::Result<Vec<String>> {
    let (Some(path), mut doc) = read_config()? else {
        return Ok(vec![]);
    };
    if !doc.is_object() {
        return Ok(vec![]);
    }
    let wrote = Marker::read(&doc, host);
    let mut removed = Vec::new();
    if (all || wrote == Some(Marker::Auths)) && remove_auths(&mut doc, host) {
        removed.push(format!("auths entry in {}", path.display()));
    }
    if let Some(helper) = helper_for(&doc, host)
        && (all || wrote.as_ref() == Some(&Marker::Helper(helper.clone())))
    {
        let program = format!("docker-credential-{helper}");
        let output = run_helper(&program, "erase", host.as_bytes())?;
        if output.status.success() {
            removed.push(format!("{program} entry"));
        }
    }
    if let Some(marker) = doc.get_mut(MARKER).and_then(Value::as_object_mut) {
        marker.remove(host);
        if marker.is_empty() {
            doc.as_object_mut().map(|d| d.remove(MARKER));
        }
    }
    if !removed.is_empty() || wrote.is_some() {
        write_config(&path, &doc)?;
    }
    Ok(removed)
}

/// Removes every `auths` key that names `host` (`https://host`, `host:443`, …).
fn remove_auths(doc: &mut Value, host: &str) -> bool {
    let Some(auths) = doc.get_mut("auths").and_then(Value::as_object_mut) else {
        return false;
    };
    let before = auths.len();
    auths.retain(|key, _| !crate::host::same(key, host));
    auths.len() != before
}

/// Replaces config.json atomically, readable by its owner only (it may hold base64 secrets).
fn write_config(path: &std::path::Path, doc: &Value) -> anyhow::Result<()> {
    let dir = path.parent().context("docker's config has no folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    crate::atomic::write(path, &serde_json::to_vec_pretty(doc)?, 0o600)
}
