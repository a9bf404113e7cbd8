//! `packpub login`: check credentials against the registry, then keep them where the user
//! expects: the OS keyring, or docker's config when no keyring is reachable (the usual CI case).

use super::shared::block_on;
use crate::cli::{LoginArgs, StoreChoice};
use crate::credentials::{Credential, docker, keyring, prompt_password, read_password_stdin};
use crate::exit::{Code, Failure};
use crate::output::Output;
use crate::redacted::Secret;
use crate::registry::reference::BASE_PATH;
use std::io::{BufRead, IsTerminal};

pub fn run(args: &LoginArgs, out: &Output) -> anyhow::Result<()> {
    if args.palette {
        return palette(args, out);
    }
    let host = &args
        .host
        .as_ref()
        .expect("clap requires HOST without --palette")
        .host;
    // TLS and reachability first: nobody types a password for a registry that cannot be reached.
    let anonymous = crate::credentials::Resolved {
        credential: None,
        source: crate::credentials::Source::Anonymous,
        again: None,
    };
    let probe = super::shared::open_registry(host, "", &args.transport, anonymous, out)?;
    block_on(probe.reachable())?;
    let terminal = std::io::stdin().is_terminal();
    let username = match &args.username {
        Some(user) => user.clone(),
        None if terminal && !args.password_stdin => prompt_line("Username: ")?,
        None => {
            return Err(Failure::err(
                Code::Usage,
                "no user name: pass --username USER",
            ));
        }
    };
    let password = secret(args, "Password: ")?;
    let credential = Credential::basic(&username, password.clone());
    let given = crate::credentials::Resolved {
        credential: Some(credential),
        source: crate::credentials::Source::Login,
        again: None,
    };
    // The same transport as the probe (whose --insecure warning said it all already).
    let transport = (&args.transport).into();
    let registry =
        crate::registry::client::Registry::new(host, "", &transport, given, out.notes())?;
    block_on(registry.check_login(BASE_PATH))?;

    let stored = store(host, &username, &password, args.store, out)?;
    out.success(
        &format!("Login succeeded for {host}"),
        &[("stored in", stored.clone())],
    );
    out.print_json(&serde_json::json!({"host": host, "username": username, "stored": stored}));
    Ok(())
}

/// `login --palette [HOST]`: a Palette API key, checked against Palette, then stored like a
/// registry credential under a name of its own.
fn palette(args: &LoginArgs, out: &Output) -> anyhow::Result<()> {
    let host = match &args.host {
        Some(host) => host.typed.clone(),
        None => std::env::var("SPECTROCLOUD_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "api.spectrocloud.com".into()),
    };
    let key = secret(args, "Palette API key: ")?;
    let tls = crate::registry::client::Transport::from(&args.transport).tls;
    let palette = crate::palette::Palette::new(&host, key.clone(), None, &tls, out.notes())?;
    block_on(palette.oci_registries())?;
    let stored = store(
        &crate::credentials::palette_entry(&palette.host()),
        "apikey",
        &key,
        args.store,
        out,
    )?;
    out.success(
        &format!("Palette API key accepted by {}", palette.host()),
        &[("stored in", stored.clone())],
    );
    out.print_json(&serde_json::json!({"palette": palette.host(), "stored": stored}));
    Ok(())
}

/// The password (or API key): from stdin with --password-stdin, else prompted for without echo.
fn secret(args: &LoginArgs, prompt: &str) -> anyhow::Result<Secret> {
    if args.password_stdin {
        read_password_stdin()
    } else {
        prompt_password(prompt)
    }
}

fn prompt_line(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let line = line.trim().to_string();
    if line.is_empty() {
        return Err(Failure::err(Code::Usage, "no user name given"));
    }
    Ok(line)
}

/// Stores by `choice`; returns where, in words.
fn store(
    host: &str,
    username: &str,
    password: &Secret,
    choice: StoreChoice,
    out: &Output,
) -> anyhow::Result<String> {
    if choice != StoreChoice::Docker {
        match keyring::set(host, username, password) {
            Ok(()) => return Ok("the OS keyring (service packpub)".to_string()),
            Err(keyring::Unavailable(why)) if choice == StoreChoice::Auto => {
                out.warn(&format!("{why}; falling back to docker's config"));
            }
            Err(keyring::Unavailable(why)) => {
                return Err(anyhow::anyhow!(
                    "{why}: cannot store the credential (try --store docker)"
                ));
            }
        }
    }
    Ok(match docker::store(host, username, password)? {
        docker::Stored::Helper(helper) => format!("docker-credential-{helper}"),
        docker::Stored::Auths(path) => {
            out.warn(&format!(
                "the password is stored in {} only base64-encoded, not encrypted: anyone who can read that file can use it",
                path.display()
            ));
            path.display().to_string()
        }
    })
}
