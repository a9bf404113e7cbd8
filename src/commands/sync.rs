//! `packpub sync` (and `push --sync`): find the Palette OCI registry that points at TARGET,
//! make it sync, and wait until Palette lists each named pack version, so that publishing
//! ends when Palette offers the pack, not when the registry holds it.
//!
//! A registry points at TARGET when its endpoint names the same host (normalised as `login`
//! normalises hosts), the same scheme (`--plain-http` is `http://`) and its base content path
//! is TARGET's project path. A running sync is waited for, never forced (Palette restarts one
//! only after an hour). `--register` creates the registry when none points at TARGET, after
//! Palette has validated it can log in.

use super::shared::block_on;
use crate::cli::{PaletteArgs, SyncArgs};
use crate::credentials::{self, Credential, Given};
use crate::exit::{Code, Failure};
use crate::output::Output;
use crate::pack::Identity;
use crate::palette::{Palette, Phase, SyncStatus};
use crate::registry::ecr::EcrHost;
use crate::registry::reference::Target;
use crate::registry::tls;
use serde::Serialize;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// First pause between polls; it grows by half each time up to [`POLL_MAX`].
const POLL_START: Duration = Duration::from_millis(500);
const POLL_MAX: Duration = Duration::from_secs(10);

/// What to sync and wait for.
pub struct Request<'a> {
    pub host: &'a str,
    pub prefix: &'a str,
    pub plain_http: bool,
    pub packs: Vec<Identity>,
    pub palette: &'a PaletteArgs,
    /// The registry's CA (`--ca-file`), handed to Palette on `--register`.
    pub ca_file: Option<&'a std::path::Path>,
    pub insecure: bool,
    /// With `--register`: the registry credential to hand to Palette.
    pub register: Option<&'a Given>,
    /// With `--register` of an ECR registry: the role Palette assumes (`--ecr-role-arn`).
    pub ecr_role_arn: Option<&'a str>,
    /// `--send-password-in-clear-text`: the credential may go to an `http://` Palette.
    pub in_clear_text: bool,
    pub dry_run: bool,
}

#[derive(Debug, Serialize)]
pub struct Report {
    registry: RegistryOut,
    sync: SyncStatus,
    packs: Vec<PackOut>,
}

#[derive(Debug, Serialize)]
struct RegistryOut {
    uid: String,
    name: String,
    endpoint: String,
}

#[derive(Debug, Serialize)]
struct PackOut {
    name: String,
    version: String,
    visible: bool,
}

/// A Palette registry that points at the target.
struct Found {
    uid: String,
    name: String,
    /// `basic` or `ecr`: the path segment of its calls.
    kind: String,
    endpoint: String,
}

pub fn run(args: &SyncArgs, out: &Output) -> anyhow::Result<()> {
    let Target::Registry { host, prefix } = &args.remote.registry else {
        return Err(Failure::err(
            Code::Usage,
            "sync needs a registry TARGET (HOST[:PORT]/PROJECT): Palette cannot read an OCI layout",
        ));
    };
    let given = args.remote.credentials.given()?;
    let transport = &args.remote.transport;
    let request = Request {
        host,
        prefix,
        plain_http: transport.plain_http,
        packs: args.packs.clone(),
        palette: &args.palette,
        ca_file: transport.ca_file.as_deref(),
        insecure: transport.insecure,
        register: args.register.then_some(&given),
        ecr_role_arn: args.ecr_role_arn.as_deref(),
        in_clear_text: args.send_password_in_clear_text,
        dry_run: args.dry_run,
    };
    let report = block_on(sync(&request, out))?;
    out.print_json(&report);
    Ok(())
}

/// Syncs and waits as `request` says; the outcome, also printed for people.
pub async fn sync(request: &Request<'_>, out: &Output) -> anyhow::Result<Report> {
    let prepared = prepare(request, out).await?;
    complete(prepared, request, out).await
}

/// Triggers (or joins) the sync of a [`prepare`]d registry and waits for `request.packs`.
pub async fn complete(
    prepared: Prepared,
    request: &Request<'_>,
    out: &Output,
) -> anyhow::Result<Report> {
    match prepared {
        Prepared::Found(ready) => finish(ready, request, out).await,
        Prepared::Registered(report) => Ok(report),
    }
}

/// Palette and the registry in it that points at the target, checked before anything is
/// done: `push --sync` asks first so that a missing key, an unreachable Palette or no
/// registry for TARGET stop it before the first byte is pushed.
pub enum Prepared {
    Found(Ready),
    /// `--register` asked for a registry Palette could not create yet (a dry run).
    Registered(Report),
}

pub struct Ready {
    palette: Palette,
    found: Found,
    target: String,
}

pub async fn prepare(request: &Request<'_>, out: &Output) -> anyhow::Result<Prepared> {
    // --timeout bounds everything from here, each call to Palette included.
    let palette = connect(request.palette, out)?.within(request.palette.timeout);
    let target = match request.prefix {
        "" => request.host.to_string(),
        prefix => format!("{}/{prefix}", request.host),
    };
    let found = match find(&palette, request).await? {
        Some(found) => found,
        None if request.register.is_some() => match register(&palette, request, out).await? {
            Some(found) => found,
            None => {
                return Ok(Prepared::Registered(Report {
                    registry: RegistryOut {
                        uid: String::new(),
                        name: registry_name(request),
                        endpoint: endpoint(request),
                    },
                    sync: SyncStatus::default(),
                    packs: packs_out(&request.packs, &[]),
                }));
            }
        },
        None => {
            return Err(Failure::err(
                Code::SyncFailed,
                format!(
                    "no Palette registry at {} points at {target} (endpoint {}, base content \
                     path {:?}): register it with `packpub sync --register --registry {target}` \
                     (a tenant admin's API key), or name one with --palette-registry NAME",
                    palette.host(),
                    endpoint(request),
                    request.prefix
                ),
            ));
        }
    };
    Ok(Prepared::Found(Ready {
        palette,
        found,
        target,
    }))
}

async fn finish(ready: Ready, request: &Request<'_>, out: &Output) -> anyhow::Result<Report> {
    let Ready {
        palette,
        found,
        target,
    } = ready;
    // The --timeout of the sync starts now, not when it was prepared (before a push).
    let palette = palette.within(request.palette.timeout);
    out.verbose(&format!(
        "Palette registry {} ({}) points at {target}",
        found.name, found.uid
    ));
    let registry = RegistryOut {
        uid: found.uid.clone(),
        name: found.name.clone(),
        endpoint: found.endpoint.clone(),
    };
    let before = palette.sync_status(&found.uid, &found.kind).await?;
    if request.dry_run {
        out.success(
            &format!(
                "dry run: Palette registry {} points at {target}; nothing triggered",
                found.name
            ),
            &[("uid", found.uid.clone()), ("sync", before.status.clone())],
        );
        return Ok(Report {
            registry,
            sync: before,
            packs: packs_out(&request.packs, &[]),
        });
    }
    let running = before.phase() == Phase::Running;
    if running {
        out.warn(&format!(
            "a sync of {} is already running; waiting for it rather than forcing another \
             (Palette restarts a running sync only after an hour)",
            found.name
        ));
    } else {
        let audit = palette.trigger_sync(&found.uid, &found.kind).await?;
        out.verbose(&format!(
            "sync of {} triggered{}",
            found.name,
            audit.map(|a| format!(" (audit {a})")).unwrap_or_default()
        ));
    }
    if request.palette.no_wait {
        out.success(
            &format!("sync of {} triggered; not waiting (--no-wait)", found.name),
            &[],
        );
        return Ok(Report {
            registry,
            sync: before,
            packs: packs_out(&request.packs, &[]),
        });
    }
    let (status, visible) = wait(&palette, &found, request, before, running, out).await?;
    let packs = packs_out(&request.packs, &visible);
    for pack in &request.packs {
        out.success(
            &format!("Palette lists {} {}", pack.name, pack.version),
            &[("registry", found.name.clone())],
        );
    }
    if request.packs.is_empty() {
        out.success(
            &format!("Palette synced {}", found.name),
            &[
                ("status", status.status.clone()),
                ("message", status.message.clone()),
            ],
        );
    }
    Ok(Report {
        registry,
        sync: status,
        packs,
    })
}

/// A Palette client for `args`, with the API key the lookup order finds.
fn connect(args: &PaletteArgs, out: &Output) -> anyhow::Result<Palette> {
    let settings = tls::Settings {
        insecure: args.palette_insecure,
        ca_file: args.palette_ca_file.clone(),
        ..Default::default()
    };
    if args.palette_insecure {
        out.warn("--palette-insecure: Palette's TLS certificate is not verified");
    }
    let host = args.palette_host.as_str();
    let name = host.split_once("://").map_or(host, |(_, rest)| rest);
    let name = crate::host::normalize(name.trim_end_matches('/')).unwrap_or_else(|_| name.into());
    let key = credentials::palette_key(&name, out)?.ok_or_else(|| {
        Failure::err(
            Code::Auth,
            format!(
                "no Palette API key for {name}: set {} (Palette console: Profile > My API Keys) \
                 or run `packpub login --palette {name}`",
                credentials::PALETTE_KEY_ENV
            ),
        )
    })?;
    Palette::new(host, key, args.project_uid.clone(), &settings, out.notes())
}

/// The Palette registry that points at the target, or the one `--palette-registry` names.
async fn find(palette: &Palette, request: &Request<'_>) -> anyhow::Result<Option<Found>> {
    let mut candidates = Vec::new();
    for registry in palette.oci_registries().await? {
        let kind = registry.spec.registry_type.to_ascii_lowercase();
        if kind != "basic" && kind != "ecr" {
            continue;
        }
        if let Some(wanted) = &request.palette.palette_registry {
            if &registry.metadata.name == wanted {
                return Ok(Some(Found {
                    uid: registry.metadata.uid,
                    name: registry.metadata.name,
                    kind,
                    endpoint: registry.spec.endpoint,
                }));
            }
            continue;
        }
        if !same_host(&registry.spec.endpoint, request.host, request.plain_http) {
            continue;
        }
        let spec = palette.registry_spec(&registry.metadata.uid, &kind).await?;
        let base = spec["baseContentPath"].as_str().unwrap_or_default();
        if base.trim_matches('/') == request.prefix {
            candidates.push(Found {
                uid: registry.metadata.uid,
                name: registry.metadata.name,
                kind,
                endpoint: registry.spec.endpoint,
            });
        }
    }
    if let Some(wanted) = &request.palette.palette_registry
        && request.register.is_none()
    {
        return Err(Failure::err(
            Code::Usage,
            format!(
                "Palette at {} has no OCI registry named {wanted:?}",
                palette.host()
            ),
        ));
    }
    if candidates.len() > 1 {
        let names: Vec<&str> = candidates.iter().map(|c| c.name.as_str()).collect();
        return Err(Failure::err(
            Code::Usage,
            format!(
                "{} Palette registries point at {}: {}; pick one with --palette-registry NAME",
                candidates.len(),
                request.host,
                names.join(", ")
            ),
        ));
    }
    Ok(candidates.pop())
}

/// Whether a Palette registry endpoint names the target's host, port and scheme, and no path
/// (a path would be a content path of its own). An endpoint without a scheme is HTTPS, as the
/// docs write ECR's; default ports count as written or not.
fn same_host(endpoint: &str, host: &str, plain_http: bool) -> bool {
    let scheme = if plain_http { "http" } else { "https" };
    let with_scheme = if endpoint.contains("://") {
        endpoint.to_string()
    } else {
        format!("https://{endpoint}")
    };
    let (Ok(given), Ok(wanted)) = (
        reqwest::Url::parse(&with_scheme),
        reqwest::Url::parse(&format!("{scheme}://{host}/")),
    ) else {
        return false;
    };
    given.scheme() == wanted.scheme()
        && given.host_str() == wanted.host_str()
        && given.port_or_known_default() == wanted.port_or_known_default()
        && given.path().trim_matches('/').is_empty()
}

/// The endpoint Palette should be given for the target: with its scheme, as the docs ask.
fn endpoint(request: &Request<'_>) -> String {
    let scheme = if request.plain_http { "http" } else { "https" };
    format!("{scheme}://{}", request.host)
}

/// The name `--register` gives the registry: `--palette-registry`, else one made of the target.
fn registry_name(request: &Request<'_>) -> String {
    request.palette.palette_registry.clone().unwrap_or_else(|| {
        let raw = format!("{}-{}", request.host, request.prefix);
        let name: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        name.trim_matches('-').to_string()
    })
}

/// `--register`: validates, then creates the registry (which starts its first sync); `None`
/// after a dry run.
async fn register(
    palette: &Palette,
    request: &Request<'_>,
    out: &Output,
) -> anyhow::Result<Option<Found>> {
    let (kind, spec) = match EcrHost::parse(request.host) {
        Some(ecr) => ("ecr", ecr_spec(palette, request, &ecr, out).await?),
        None => ("basic", basic_spec(palette, request, out)?),
    };
    let name = registry_name(request);
    let _phase = out.phase(&format!(
        "Palette is checking it can log in to {}",
        endpoint(request)
    ));
    palette
        .validate_registry(kind, &spec)
        .await
        .map_err(|err| {
            if crate::exit::failure_of(&err).is_some_and(|f| f.code == Code::Auth) {
                err
            } else {
                err.context(format!(
                    "Palette could not log in to {} with packpub's credential for it",
                    endpoint(request)
                ))
            }
        })?;
    if request.dry_run {
        out.success(
            &format!(
                "dry run: Palette can log in to {}; would register it as {name}",
                endpoint(request)
            ),
            &[],
        );
        return Ok(None);
    }
    let uid = palette
        .create_registry(kind, &json!({"metadata": {"name": name}, "spec": spec}))
        .await?;
    out.success(
        &format!("registered {} in Palette as {name}", endpoint(request)),
        &[("uid", uid.clone())],
    );
    Ok(Some(Found {
        uid,
        name,
        kind: kind.into(),
        endpoint: endpoint(request),
    }))
}

/// A Basic registry's spec for `--register`: the credential packpub has for it.
fn basic_spec(palette: &Palette, request: &Request<'_>, out: &Output) -> anyhow::Result<Value> {
    let given = request.register.expect("called with --register");
    let resolved = credentials::resolve(request.host, given, out)?;
    let auth = match resolved.credential {
        None => json!({"type": "noAuth"}),
        Some(Credential::Basic { .. }) if palette.in_clear_text() && !request.in_clear_text => {
            return Err(clear_text_refused(palette, request));
        }
        Some(Credential::Basic { username, password }) => {
            json!({"type": "basic", "username": username, "password": password.expose()})
        }
        Some(Credential::IdentityToken(_)) => {
            return Err(Failure::err(
                Code::Usage,
                "the registry credential is an identity token, which Palette cannot use: log in \
                 with a user name and password (or a robot account) to register the registry",
            ));
        }
    };
    let mut auth = auth;
    auth["tls"] = tls_json(request)?;
    Ok(json!({
        "endpoint": endpoint(request),
        "baseContentPath": request.prefix,
        "providerType": "pack",
        "isSyncSupported": true,
        "auth": auth,
    }))
}

/// The refusal to hand the registry's secret to a Palette reached over plain HTTP.
fn clear_text_refused(palette: &Palette, request: &Request<'_>) -> anyhow::Error {
    Failure::err(
        Code::Usage,
        format!(
            "refusing to send the password for {} to Palette at http://{}: anyone on \
             the network path could read it. Reach Palette over https://, or pass \
             --send-password-in-clear-text to accept that risk",
            request.host,
            palette.host()
        ),
    )
}

/// `v1TlsConfiguration` for the target: verification as packpub does it, and `--ca-file`.
fn tls_json(request: &Request<'_>) -> anyhow::Result<Value> {
    let mut tls = json!({"enabled": !request.plain_http, "insecureSkipVerify": request.insecure});
    if let Some(ca) = request.ca_file {
        let pem = String::from_utf8(tls::read_pem(ca)?)
            .map_err(|_| Failure::err(Code::Usage, format!("{} is not PEM text", ca.display())))?;
        tls["ca"] = Value::String(pem);
    }
    Ok(tls)
}

/// Polls until the sync has finished and every named pack is listed, or the timeout; the last
/// status and the versions seen.
async fn wait(
    palette: &Palette,
    found: &Found,
    request: &Request<'_>,
    mut before: SyncStatus,
    mut seen_running: bool,
    out: &Output,
) -> anyhow::Result<(SyncStatus, Vec<Identity>)> {
    // A sync that was running when packpub came may have read the registry before this push:
    // when it ends without the packs, one of packpub's own follows.
    let mut ours = !seen_running;
    let deadline = palette
        .deadline()
        .unwrap_or_else(|| Instant::now() + request.palette.timeout);
    let mut pause = POLL_START;
    let mut visible: Vec<Identity> = Vec::new();
    let mut phase = out.phase(&format!("waiting for Palette to sync {}", found.name));
    let mut last_phase = Phase::Unknown;
    loop {
        let status = palette.sync_status(&found.uid, &found.kind).await?;
        let now = status.phase();
        seen_running |= now == Phase::Running;
        // A status from before the trigger says nothing about this sync.
        let fresh = seen_running
            || status.last_synced_time != before.last_synced_time
            || status.last_run_time != before.last_run_time;
        if now != last_phase && fresh {
            last_phase = now;
            phase = out.phase(&format!(
                "Palette sync of {}: {}",
                found.name,
                if status.status.is_empty() {
                    "pending"
                } else {
                    &status.status
                }
            ));
        }
        for pack in &request.packs {
            if !visible.contains(pack)
                && palette
                    .pack_versions(pack.name.as_str(), &found.uid)
                    .await?
                    .iter()
                    .any(|v| v == pack.version.as_str())
            {
                out.verbose(&format!("Palette lists {pack}"));
                visible.push(pack.clone());
            }
        }
        let all_visible = visible.len() == request.packs.len();
        if !request.packs.is_empty() && all_visible {
            drop(phase);
            return Ok((status, visible));
        }
        if fresh && !ours && matches!(now, Phase::Done | Phase::Failed) {
            let audit = palette.trigger_sync(&found.uid, &found.kind).await?;
            out.verbose(&format!(
                "the sync that was running has ended; sync of {} triggered{}",
                found.name,
                audit.map(|a| format!(" (audit {a})")).unwrap_or_default()
            ));
            (ours, seen_running, before) = (true, false, status);
            continue;
        }
        if fresh && now == Phase::Failed {
            drop(phase);
            return Err(sync_failed(found, request, &status, "failed"));
        }
        if fresh && now == Phase::Done {
            drop(phase);
            if request.packs.is_empty() {
                return Ok((status, visible));
            }
            let missing: Vec<String> = request
                .packs
                .iter()
                .filter(|p| !visible.contains(p))
                .map(|p| format!("{}:{}", p.name, p.version))
                .collect();
            return Err(sync_failed(
                found,
                request,
                &status,
                &format!("finished, but Palette does not list {}", missing.join(", ")),
            ));
        }
        if Instant::now() + pause > deadline {
            drop(phase);
            return Err(sync_failed(
                found,
                request,
                &status,
                &format!(
                    "did not finish within {} s (--timeout)",
                    request.palette.timeout.as_secs()
                ),
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 3 / 2).min(POLL_MAX);
    }
}

/// Exit 8 with Palette's own words and what to check.
fn sync_failed(
    found: &Found,
    request: &Request<'_>,
    status: &SyncStatus,
    what: &str,
) -> anyhow::Error {
    let said = if status.message.is_empty() {
        String::new()
    } else {
        format!(" Palette says: {}.", status.message)
    };
    Failure::err(
        Code::SyncFailed,
        format!(
            "the Palette sync of {} {what} (status {:?}).{said} Check the registry's base content \
             path in Palette (packs must be under {}/spectro-packs/archive), its credentials in \
             Palette, and the pack's layer and cloudTypes",
            found.name,
            status.status,
            if request.prefix.is_empty() {
                request.host.to_string()
            } else {
                format!("{}/{}", request.host, request.prefix)
            }
        ),
    )
}

fn packs_out(packs: &[Identity], visible: &[Identity]) -> Vec<PackOut> {
    packs
        .iter()
        .map(|p| PackOut {
            name: p.name.to_string(),
            version: p.version.to_string(),
            visible: visible.contains(p),
        })
        .collect()
}

// `sync --register` of an ECR target: Palette's `v1EcrRegistrySpec` (Palette APIs 4.8,
// `POST /v1/registries/oci/ecr`, as Terraform's provider fills it), with the access that lets
// Palette read the registry: a role it assumes (`--ecr-role-arn`, with the external ID Palette
// gives at `GET /v1/clouds/aws/account/sts`), else an access key the user hands over.

/// The access key Palette gets when no role is given: variables of their own, so the
/// identity a CI job pushes with is never handed to Palette by accident.
const ACCESS_KEY_ENV: &str = "PACKPUB_ECR_ACCESS_KEY_ID";
const SECRET_KEY_ENV: &str = "PACKPUB_ECR_SECRET_ACCESS_KEY";

/// The spec that registers `ecr` (the target's host) in Palette.
async fn ecr_spec(
    palette: &Palette,
    request: &Request<'_>,
    ecr: &EcrHost,
    out: &Output,
) -> anyhow::Result<Value> {
    // The spec's partitions: GovCloud regions are `aws-us-gov`, the rest `aws`.
    let partition = if ecr.region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    let credentials = match request.ecr_role_arn {
        Some(arn) => {
            let account = palette.aws_sts_account(partition).await?;
            let external = account["externalId"]
                .as_str()
                .filter(|id| !id.is_empty())
                .ok_or_else(|| {
                    Failure::err(
                        Code::SyncFailed,
                        format!(
                            "Palette at {} gave no external ID for a role to trust \
                             (GET /v1/clouds/aws/account/sts)",
                            palette.host()
                        ),
                    )
                })?;
            out.verbose(&format!(
                "Palette assumes {arn} from AWS account {} with the external ID {external}; \
                 the role's trust policy must allow both",
                account["accountId"].as_str().unwrap_or("(not given)")
            ));
            json!({"credentialType": "sts", "partition": partition,
                   "sts": {"arn": arn, "externalId": external}})
        }
        None => {
            let (Ok(key), Ok(secret)) =
                (std::env::var(ACCESS_KEY_ENV), std::env::var(SECRET_KEY_ENV))
            else {
                return Err(Failure::err(
                    Code::Usage,
                    format!(
                        "registering the ECR registry {} needs access for Palette: \
                         --ecr-role-arn ARN (a role Palette assumes; see `GET \
                         /v1/clouds/aws/account/sts` for the external ID its trust policy \
                         needs), or an access key in {ACCESS_KEY_ENV} and {SECRET_KEY_ENV}",
                        request.host
                    ),
                ));
            };
            if palette.in_clear_text() && !request.in_clear_text {
                return Err(clear_text_refused(palette, request));
            }
            json!({"credentialType": "secret", "partition": partition,
                   "accessKey": key, "secretKey": secret})
        }
    };
    Ok(json!({
        // Palette's docs: the endpoint without `https://`.
        "endpoint": request.host,
        "baseContentPath": request.prefix,
        "providerType": "pack",
        "isSyncSupported": true,
        "isPrivate": true,
        "defaultRegion": ecr.region,
        "credentials": credentials,
        "tls": tls_json(request)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::same_host;

    #[test]
    fn endpoints_match_by_scheme_host_and_port_without_a_path() {
        assert!(same_host(
            "https://Harbor.example.com",
            "harbor.example.com",
            false
        ));
        assert!(same_host(
            "harbor.example.com/",
            "harbor.example.com",
            false
        ));
        assert!(same_host(
            "https://harbor.example.com:443",
            "harbor.example.com",
            false
        ));
        assert!(same_host("http://reg:80", "reg", true));
        assert!(same_host("http://127.0.0.1:5000", "127.0.0.1:5000", true));
        assert!(!same_host("http://127.0.0.1:5000", "127.0.0.1:5000", false));
        assert!(!same_host("https://reg:8443", "reg", false));
        assert!(!same_host("https://reg/foo", "reg", false));
        assert!(!same_host("not a url", "reg", false));
    }
}
