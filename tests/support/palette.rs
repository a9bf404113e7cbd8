//! A Palette API stand-in for `packpub sync` tests: a stand-in built from the published API
//! spec, not Palette. No Palette instance can run here, so this serves the few operations of
//! Palette's public API (Swagger "Palette APIs - 4.8", as summarised with sources in the shared
//! palette.md) that registering and syncing an OCI pack registry needs, with the paths, field
//! names, status codes and header rules the spec gives. What the spec leaves open is decided
//! here and marked **Assumed** where it is decided; a test that leans on an assumed behaviour
//! leans on this stand-in, not on Palette.
//!
//! Its sync is not faked: it really reads the CNCF Distribution registry it was pointed at
//! (with curl, so plain HTTP, HTTPS with a given CA, Basic credentials and Harbor-style Bearer
//! tokens all work): the catalog, then every `<baseContentPath>/spectro-packs/archive/<name>`
//! repository's tags, manifests and archive layers, and a version becomes visible only when the
//! `pack.json` inside its archive names that pack and that version.
//!
//! Served (plain HTTP on a free loopback port; JSON bodies; errors are `v1Error`
//! `{"code","message"}`):
//! - every request must carry the header `ApiKey` (any case) equal to a configured key, else
//!   401 `Unauthorized`; `ProjectUid` is recorded, and changes nothing (registries are tenant
//!   objects);
//! - `GET /v1/registries/oci/summary`, `GET /v1/registries/oci/{uid}/basic`;
//! - `POST /v1/registries/oci/{uid}/basic/sync?forceSync=` (202, empty, `AuditUid`) and
//!   `GET /v1/registries/oci/{uid}/basic/sync/status` (`v1RegistrySyncStatus`);
//! - `GET /v1/packs/{packName}/registries/{registryUid}` (`v1PackTagEntity`);
//! - `POST /v1/registries/oci/basic/validate` (204) and `POST /v1/registries/oci/basic`
//!   (201 `{"uid"}`, `AuditUid`), both for tenant-admin keys only (403 `Forbidden` otherwise);
//! - ECR registries (issue 23): `POST /v1/registries/oci/ecr/validate` (204, body
//!   `v1EcrRegistrySpec`, required `endpoint` and `isPrivate`), `POST /v1/registries/oci/ecr`
//!   (201 `{"uid"}`), `GET /v1/registries/oci/{uid}/ecr` (`v1EcrRegistry`, the credentials'
//!   type and role but no key), `POST …/{uid}/ecr/sync` and `GET …/{uid}/ecr/sync/status`, the
//!   summary's `registryType` `ecr`; and `GET /v1/clouds/aws/account/sts?partition=`
//!   (`{accountId, externalId, partition}`). Palette reaches an ECR registry as AWS's own
//!   clients do: with `credentialType: secret` it calls GetAuthorizationToken with the access
//!   key; with `sts` it first calls STS AssumeRole with `sts.arn` and `sts.externalId`; both at
//!   [`Options::aws_endpoint`] (moto, which checks no signature). It lists repositories with
//!   DescribeRepositories (ECR has no catalog) and reads them with the token as `AWS:<password>`.
//! - a sliding one-second rate limit (DOCS: about 10 requests/s), answered with 429
//!   `TooManyRequests` and `Retry-After: 1`; and on demand 429 for the next N requests.
//!
//! **Assumed** (not in the spec or the docs):
//! - Unknown paths, unknown registry uids, and a pack no completed sync has found answer 404
//!   `ResourceNotFound` (the spec documents only 200 for the pack query).
//! - A failed validation is 400 `RegistryValidationFailed`; a body without `endpoint`, `auth`
//!   or `metadata.name`, or not JSON, is 400 `InvalidRequest`; a second registry with a taken
//!   name is 409 `DuplicateRegistry`.
//! - Triggering a sync needs any valid key (not only a tenant admin's).
//! - While a sync runs, another sync POST answers 202 and starts nothing; with
//!   `forceSync=true` it restarts the running one only when that has run for
//!   [`Options::force_restart_after`] (default one hour, as the docs say of the console's
//!   Force sync).
//! - A sync reads the registry when it starts and publishes what it found when it ends
//!   ([`Options::sync_duration`] later): a version pushed during a running sync waits for the
//!   next one. A completed sync replaces the registry's pack list (a deleted tag disappears);
//!   a failed one keeps the previous list.
//! - Status values: `""` before any sync, then `InProgress`, `Completed` or `Failed` (the
//!   values Terraform's provider waits for); the message of a completed sync is this stand-in's
//!   own wording (`synced N pack version(s)`, then what was skipped and why).
//! - Times are `v1Time` (go-openapi `strfmt.DateTime`: RFC 3339 with milliseconds, UTC); a time
//!   not yet set is Go's zero time `0001-01-01T00:00:00.000Z`, as that type marshals it.
//!   `lastRunTime` is when the last sync started, `lastSyncedTime` when one last completed.
//! - Only registries with `providerType: "pack"` (the spec's default is `helm`) and
//!   `isSyncSupported: true` (missing counts as false) have packs read: another provider type
//!   completes with no packs; without sync support a sync POST starts nothing.
//! - Packs are found through `GET /v2/_catalog` (following `Link`); a version must be an OCI
//!   image manifest with exactly one layer, titled `<name>-<tag>.tar.gz`, whose blob matches its
//!   digest and is a gzip tar holding `<top folder>/pack.json` with that name and
//!   `version == tag`; `tag` and `version` of the answer are both the OCI tag.
//! - An endpoint without a scheme is `https://`; `auth.tls.ca` is the PEM text of a CA;
//!   `auth.tls.insecureSkipVerify` skips verification. `baseContentPath` is trimmed of `/`.
//! - The summary's `isPrivate` is the spec's `isPrivate` (ECR), else `auth.type != "noAuth"`;
//!   `registryType` is `ecr` for a registry posted as ECR, else `basic`; `scope` is `tenant`;
//!   `GET …/{uid}/basic` echoes `auth.type` and `username`, never the password.
//! - Uids (registries, packs, `AuditUid`) are 24 hex digits, like Palette's; a version keeps its
//!   `packUid` across syncs while its manifest is unchanged.
//! - Requests rejected with 429 do not count towards the rate limit's window; the limit is
//!   checked before the key (a gateway's), so throttled requests are answered 429 even
//!   without a key.
//! - Only `ApiKey` authenticates (no `Authorization` JWT).

pub use super::Seen;
use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Component, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// The tenant-admin key of [`Options::default`].
pub const ADMIN_KEY: &str = "palette-test-admin-key";
/// A valid key of [`Options::default`] without tenant-admin rights.
pub const USER_KEY: &str = "palette-test-user-key";

/// How a [`Palette`] behaves.
#[derive(Clone, Debug)]
pub struct Options {
    /// Accepted `ApiKey` values, each with whether it belongs to a tenant admin.
    pub api_keys: Vec<(String, bool)>,
    /// How long a sync stays `InProgress` (the registry is read at its start).
    pub sync_duration: Duration,
    /// At most this many requests are answered within any one second; 0 for no limit.
    pub rate_limit_per_sec: u32,
    /// Answer 429 to this many requests first, whatever the rate.
    pub throttle_next: u32,
    /// How long a sync must have run before `forceSync=true` restarts it.
    pub force_restart_after: Duration,
    /// AWS's API (moto's server) for ECR registries; without it they fail validation.
    pub aws_endpoint: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            api_keys: vec![(ADMIN_KEY.into(), true), (USER_KEY.into(), false)],
            sync_duration: Duration::from_secs(1),
            rate_limit_per_sec: 10,
            throttle_next: 0,
            force_restart_after: Duration::from_secs(3600),
            aws_endpoint: None,
        }
    }
}

/// A running stand-in; stops on drop (a sync still running is abandoned).
pub struct Palette {
    addr: SocketAddr,
    server: Arc<tiny_http::Server>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    options: Options,
    state: Mutex<State>,
    stopping: AtomicBool,
    syncs: Mutex<Vec<JoinHandle<()>>>,
}

#[derive(Default)]
struct State {
    registries: Vec<Registered>,
    seen: Vec<Seen>,
    /// When the requests of the last second were admitted.
    window: VecDeque<Instant>,
    throttle_next: u32,
}

struct Registered {
    uid: String,
    name: String,
    /// The spec as posted (auth included).
    spec: Value,
    sync: SyncState,
    /// Pack name → what the last completed sync found.
    packs: BTreeMap<String, Pack>,
    syncs_run: u32,
    /// Bumped by every sync started; a sync whose generation is stale publishes nothing.
    generation: u64,
    /// The generation of the last sync that finished reading the registry.
    read_generation: u64,
}

#[derive(Default)]
struct SyncState {
    status: String,
    message: String,
    last_run: Option<SystemTime>,
    last_synced: Option<SystemTime>,
    started: Option<Instant>,
}

#[derive(Clone, Debug)]
struct Pack {
    display_name: String,
    layer: String,
    addon_type: String,
    cloud_types: Vec<Value>,
    versions: Vec<Version>,
}

#[derive(Clone, Debug)]
struct Version {
    tag: String,
    pack_uid: String,
    manifest_digest: String,
    values: String,
    readme: String,
}

impl Palette {
    pub fn start(options: Options) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let addr = server.server_addr().to_ip().unwrap();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                throttle_next: options.throttle_next,
                ..State::default()
            }),
            options,
            stopping: AtomicBool::new(false),
            syncs: Mutex::new(Vec::new()),
        });
        let thread = thread::spawn({
            let (server, shared) = (Arc::clone(&server), Arc::clone(&shared));
            move || {
                while let Ok(request) = server.recv() {
                    serve(&shared, request);
                }
            }
        });
        Self {
            addr,
            server,
            shared,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Registers a `pack` registry with sync on, as a tenant admin would in the console;
    /// returns its uid. Starts no sync. `endpoint` is e.g. `http://127.0.0.1:5000`.
    pub fn add_registry(
        &self,
        name: &str,
        endpoint: &str,
        base_content_path: &str,
        auth: Option<(&str, &str)>,
    ) -> String {
        let auth = match auth {
            Some((username, password)) => {
                json!({ "type": "basic", "username": username, "password": password })
            }
            None => json!({ "type": "noAuth" }),
        };
        let spec = json!({
            "endpoint": endpoint,
            "baseContentPath": base_content_path,
            "providerType": "pack",
            "isSyncSupported": true,
            "auth": auth,
        });
        let mut state = self.shared.lock();
        assert!(
            !state.registries.iter().any(|r| r.name == name),
            "a registry named {name} exists already"
        );
        let uid = new_uid();
        state.registries.push(Registered::new(&uid, name, spec));
        uid
    }

    /// Starts a sync of `uid` as Palette's own 24-hourly one would: already running when the
    /// client comes.
    pub fn start_sync_now(&self, uid: &str) {
        assert!(
            begin_sync(&self.shared, uid, false),
            "no sync started for {uid} (unknown, without sync support, or one is running)"
        );
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Seen> {
        self.shared.lock().seen.clone()
    }

    /// Every registry, as `{"metadata":{"uid","name"},"spec":<as posted, auth included>}`.
    pub fn registries(&self) -> Vec<Value> {
        self.shared
            .lock()
            .registries
            .iter()
            .map(|r| json!({ "metadata": { "uid": r.uid, "name": r.name }, "spec": r.spec }))
            .collect()
    }

    /// How many syncs of `uid` started reading the registry.
    pub fn sync_count(&self, uid: &str) -> u32 {
        self.shared
            .lock()
            .registries
            .iter()
            .find(|r| r.uid == uid)
            .map_or(0, |r| r.syncs_run)
    }

    /// The `v1RegistrySyncStatus` of `uid` now, as the API would answer it.
    pub fn sync_status(&self, uid: &str) -> Value {
        let state = self.shared.lock();
        let registry = state
            .registries
            .iter()
            .find(|r| r.uid == uid)
            .unwrap_or_else(|| panic!("no registry {uid}"));
        registry.sync_json()
    }

    /// The versions of `uid` visible now, as `name:version`, sorted.
    pub fn visible(&self, uid: &str) -> Vec<String> {
        let state = self.shared.lock();
        let Some(registry) = state.registries.iter().find(|r| r.uid == uid) else {
            return Vec::new();
        };
        let mut all: Vec<String> = registry
            .packs
            .iter()
            .flat_map(|(name, pack)| {
                pack.versions
                    .iter()
                    .map(move |v| format!("{name}:{}", v.tag))
            })
            .collect();
        all.sort();
        all
    }

    /// Waits (up to 60 s) until the sync of `uid` started last has read the registry: what is
    /// pushed from now on waits for the next sync.
    pub fn wait_until_read(&self, uid: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            {
                let state = self.shared.lock();
                let registry = state
                    .registries
                    .iter()
                    .find(|r| r.uid == uid)
                    .unwrap_or_else(|| panic!("no registry {uid}"));
                assert!(registry.generation > 0, "no sync of {uid} started");
                if registry.read_generation >= registry.generation {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the sync of {uid} did not read within 60 s"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Answers 429 to the next `n` requests, whatever the rate.
    pub fn throttle_next(&self, n: u32) {
        self.shared.lock().throttle_next = n;
    }
}

impl Drop for Palette {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let syncs = std::mem::take(&mut *self.shared.syncs.lock().unwrap());
        for sync in syncs {
            let _ = sync.join();
        }
    }
}

impl State {
    /// The OCI registry `uid` of kind `kind` (`basic`, `ecr`): what every route under
    /// `/v1/registries/oci/{uid}/{kind}` serves, else the 404 Palette answers.
    fn oci_registry(&self, uid: &str, kind: &str) -> Result<&Registered, Reply> {
        self.registries
            .iter()
            .find(|r| r.uid == uid && r.kind() == kind)
            .ok_or_else(|| Reply::not_found(&format!("{kind} registry {uid}")))
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Registered {
    fn new(uid: &str, name: &str, spec: Value) -> Self {
        Self {
            uid: uid.into(),
            name: name.into(),
            spec,
            sync: SyncState::default(),
            packs: BTreeMap::new(),
            syncs_run: 0,
            generation: 0,
            read_generation: 0,
        }
    }

    fn sync_supported(&self) -> bool {
        self.spec["isSyncSupported"].as_bool() == Some(true)
    }

    /// `ecr` for a registry posted as `v1EcrRegistrySpec`, else `basic`.
    fn kind(&self) -> &'static str {
        if self.spec["_ecr"].is_object() {
            "ecr"
        } else {
            "basic"
        }
    }

    fn sync_json(&self) -> Value {
        json!({
            "isSyncSupported": self.sync_supported(),
            "lastRunTime": v1_time(self.sync.last_run),
            "lastSyncedTime": v1_time(self.sync.last_synced),
            "message": self.sync.message,
            "status": self.sync.status,
        })
    }

    fn endpoint(&self) -> String {
        self.spec["endpoint"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn provider_type(&self) -> &str {
        self.spec["providerType"].as_str().unwrap_or("helm")
    }

    fn summary_json(&self) -> Value {
        json!({
            "metadata": { "uid": self.uid, "name": self.name },
            "spec": {
                "endpoint": self.endpoint(),
                "providerType": self.provider_type(),
                "registryType": self.kind(),
                "scope": "tenant",
                "isPrivate": self.spec["isPrivate"].as_bool()
                    .unwrap_or(self.spec["auth"]["type"].as_str() != Some("noAuth")),
            },
            "status": { "sync": self.sync_json() },
        })
    }

    /// `GET …/{uid}/ecr`: the credentials' type and role, never a key.
    fn ecr_json(&self) -> Value {
        let credentials = &self.spec["credentials"];
        self.detail_json(json!({
            "isPrivate": self.spec["isPrivate"],
            "defaultRegion": self.spec["defaultRegion"],
            "credentials": {
                "credentialType": credentials["credentialType"],
                "sts": { "arn": credentials["sts"]["arn"] },
            },
        }))
    }

    /// `GET …/{uid}/basic`: the auth type and user name, never the password.
    fn basic_json(&self) -> Value {
        let mut auth = json!({ "type": self.spec["auth"]["type"] });
        if let Some(username) = self.spec["auth"]["username"].as_str() {
            auth["username"] = username.into();
        }
        self.detail_json(json!({ "auth": auth }))
    }

    /// A registry's detail: the spec fields both kinds share, plus `own`.
    fn detail_json(&self, own: Value) -> Value {
        let mut spec = json!({
            "endpoint": self.endpoint(),
            "baseContentPath": self.spec["baseContentPath"].as_str().unwrap_or_default(),
            "providerType": self.provider_type(),
            "isSyncSupported": self.sync_supported(),
        });
        for (key, value) in own.as_object().into_iter().flatten() {
            spec[key] = value.clone();
        }
        json!({
            "metadata": { "uid": self.uid, "name": self.name },
            "spec": spec,
            "status": { "syncStatus": self.sync_json() },
        })
    }
}

/// What one request is answered with.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn json(status: u16, value: &Value) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
        }
    }

    fn error(status: u16, code: &str, message: &str) -> Self {
        Self::json(status, &json!({ "code": code, "message": message }))
    }

    fn not_found(what: &str) -> Self {
        Self::error(404, "ResourceNotFound", &format!("{what} not found"))
    }

    fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    fn audited(self) -> Self {
        self.header("AuditUid", &new_uid())
    }
}

fn serve(shared: &Arc<Shared>, mut request: tiny_http::Request) {
    let mut seen = Seen::of(&mut request);
    let reply = answer(shared, &seen);
    seen.status = reply.status;
    shared.lock().seen.push(seen);
    let headers = reply
        .headers
        .iter()
        .map(|(n, v)| tiny_http::Header::from_bytes(n.as_bytes(), v.as_bytes()).unwrap())
        .collect();
    let length = reply.body.len();
    let response = tiny_http::Response::new(
        reply.status.into(),
        headers,
        std::io::Cursor::new(reply.body),
        Some(length),
        None,
    );
    let _ = request.respond(response);
}

fn answer(shared: &Arc<Shared>, seen: &Seen) -> Reply {
    if let Some(throttled) = throttle(shared) {
        return throttled;
    }
    let key = seen.header("ApiKey");
    let Some(&(_, admin)) = shared
        .options
        .api_keys
        .iter()
        .find(|(k, _)| Some(k.as_str()) == key)
    else {
        return Reply::error(
            401,
            "Unauthorized",
            "the ApiKey header is missing or holds no valid API key",
        );
    };
    let segments: Vec<String> = seen.path().split('/').skip(1).map(percent_decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = seen.method.as_str();
    match (method, segments.as_slice()) {
        ("GET", ["v1", "registries", "oci", "summary"]) => {
            let state = shared.lock();
            let items: Vec<Value> = state
                .registries
                .iter()
                .map(Registered::summary_json)
                .collect();
            Reply::json(200, &json!({ "items": items }))
        }
        (
            "POST",
            [
                "v1",
                "registries",
                "oci",
                kind @ ("basic" | "ecr"),
                "validate",
            ],
        ) => {
            if !admin {
                return forbidden();
            }
            let spec = match serde_json::from_str::<Value>(&seen.body) {
                Ok(spec) if spec.is_object() => spec,
                _ => return Reply::error(400, "InvalidRequest", "the body is not a JSON object"),
            };
            let spec = match prepare(shared, kind, spec) {
                Ok(spec) => spec,
                Err(reply) => return reply,
            };
            match validate(&spec) {
                Ok(()) => Reply::empty(204),
                Err(problem) => Reply::error(400, "RegistryValidationFailed", &problem),
            }
        }
        ("POST", ["v1", "registries", "oci", kind @ ("basic" | "ecr")]) => {
            if !admin {
                return forbidden();
            }
            create(shared, seen, kind)
        }
        ("GET", ["v1", "clouds", "aws", "account", "sts"]) => Reply::json(
            200,
            &json!({
                "accountId": PALETTE_AWS_ACCOUNT,
                "externalId": PALETTE_EXTERNAL_ID,
                "partition": seen.query("partition").unwrap_or_else(|| "aws".into()),
            }),
        ),
        ("GET", ["v1", "registries", "oci", uid, kind @ ("basic" | "ecr")]) => {
            match shared.lock().oci_registry(uid, kind) {
                Ok(registry) if *kind == "ecr" => Reply::json(200, &registry.ecr_json()),
                Ok(registry) => Reply::json(200, &registry.basic_json()),
                Err(not_found) => not_found,
            }
        }
        (
            "POST",
            [
                "v1",
                "registries",
                "oci",
                uid,
                kind @ ("basic" | "ecr"),
                "sync",
            ],
        ) => {
            if let Err(not_found) = shared.lock().oci_registry(uid, kind) {
                return not_found;
            }
            let force = seen.query("forceSync").as_deref() == Some("true");
            begin_sync(shared, uid, force);
            Reply::empty(202).audited()
        }
        (
            "GET",
            [
                "v1",
                "registries",
                "oci",
                uid,
                kind @ ("basic" | "ecr"),
                "sync",
                "status",
            ],
        ) => match shared.lock().oci_registry(uid, kind) {
            Ok(registry) => Reply::json(200, &registry.sync_json()),
            Err(not_found) => not_found,
        },
        ("GET", ["v1", "packs", name, "registries", uid]) => {
            let state = shared.lock();
            let Some(registry) = state.registries.iter().find(|r| r.uid == *uid) else {
                return Reply::not_found(&format!("registry {uid}"));
            };
            match registry.packs.get(*name) {
                Some(pack) => Reply::json(200, &pack_json(name, uid, pack)),
                None => Reply::not_found(&format!("pack {name} in registry {uid}")),
            }
        }
        _ => Reply::not_found(&format!("{} {}", seen.method, seen.path())),
    }
}

fn forbidden() -> Reply {
    Reply::error(
        403,
        "Forbidden",
        "registering an OCI registry needs a tenant administrator's API key",
    )
}

/// 429 when `throttle_next` is still counting down or the last second holds the limit.
fn throttle(shared: &Shared) -> Option<Reply> {
    let too_many = || {
        Reply::error(429, "TooManyRequests", "too many requests, slow down")
            .header("Retry-After", "1")
    };
    let mut state = shared.lock();
    if state.throttle_next > 0 {
        state.throttle_next -= 1;
        return Some(too_many());
    }
    let limit = shared.options.rate_limit_per_sec as usize;
    let now = Instant::now();
    while state
        .window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
    {
        state.window.pop_front();
    }
    if limit > 0 && state.window.len() >= limit {
        return Some(too_many());
    }
    state.window.push_back(now);
    None
}

fn required_spec_fields(spec: &Value) -> Result<(), String> {
    if spec["endpoint"].as_str().is_none_or(str::is_empty) {
        return Err("spec.endpoint is required".into());
    }
    if !spec["auth"].is_object() {
        return Err("spec.auth is required".into());
    }
    Ok(())
}

/// A posted spec as this stand-in keeps it: a Basic one checked for its required fields; an
/// ECR one also, then logged in to AWS as Palette would, the registry login (`auth`) and
/// what listing needs (`_ecr`) added.
fn prepare(shared: &Shared, kind: &str, spec: Value) -> Result<Value, Reply> {
    let invalid = |problem: String| Reply::error(400, "InvalidRequest", &problem);
    if kind == "basic" {
        required_spec_fields(&spec).map_err(invalid)?;
        return Ok(spec);
    }
    if spec["endpoint"].as_str().is_none_or(str::is_empty) || !spec["isPrivate"].is_boolean() {
        return Err(invalid(
            "spec.endpoint and spec.isPrivate are required".into(),
        ));
    }
    ecr_login(shared.options.aws_endpoint.as_deref(), spec)
        .map_err(|problem| Reply::error(400, "RegistryValidationFailed", &problem))
}

fn create(shared: &Arc<Shared>, seen: &Seen, kind: &str) -> Reply {
    let body = match serde_json::from_str::<Value>(&seen.body) {
        Ok(body) if body.is_object() => body,
        _ => return Reply::error(400, "InvalidRequest", "the body is not a JSON object"),
    };
    let Some(name) = body["metadata"]["name"].as_str().filter(|n| !n.is_empty()) else {
        return Reply::error(400, "InvalidRequest", "metadata.name is required");
    };
    let spec = match prepare(shared, kind, body["spec"].clone()) {
        Ok(spec) => spec,
        Err(reply) => return reply,
    };
    let uid = {
        let mut state = shared.lock();
        if state.registries.iter().any(|r| r.name == name) {
            return Reply::error(
                409,
                "DuplicateRegistry",
                &format!("a registry named {name} exists already"),
            );
        }
        let uid = new_uid();
        state.registries.push(Registered::new(&uid, name, spec));
        uid
    };
    if seen.query("skipPackSync").as_deref() != Some("true") {
        begin_sync(shared, &uid, false);
    }
    Reply::json(201, &json!({ "uid": uid })).audited()
}

fn pack_json(name: &str, registry_uid: &str, pack: &Pack) -> Value {
    let tags: Vec<Value> = pack
        .versions
        .iter()
        .map(|v| {
            json!({
                "packUid": v.pack_uid,
                "tag": v.tag,
                "version": v.tag,
                "group": "",
                "parentTags": [],
            })
        })
        .collect();
    let values: Vec<Value> = pack
        .versions
        .iter()
        .map(|v| {
            json!({
                "packUid": v.pack_uid,
                "values": v.values,
                "readme": v.readme,
                "schema": [],
                "presets": [],
            })
        })
        .collect();
    json!({
        "name": name,
        "displayName": pack.display_name,
        "layer": pack.layer,
        "addonType": pack.addon_type,
        "addonSubType": "",
        "cloudTypes": pack.cloud_types,
        "logoUrl": "",
        "registryUid": registry_uid,
        "tags": tags,
        "packValues": values,
    })
}

/// Starts a sync of `uid` unless it cannot or one is running (see the module's assumptions);
/// whether one started.
fn begin_sync(shared: &Arc<Shared>, uid: &str, force: bool) -> bool {
    let (generation, spec) = {
        let mut state = shared.lock();
        let Some(registry) = state.registries.iter_mut().find(|r| r.uid == uid) else {
            return false;
        };
        if !registry.sync_supported() {
            return false;
        }
        let running_for = registry.sync.started.map(|s| s.elapsed());
        if registry.sync.status == "InProgress"
            && !(force && running_for >= Some(shared.options.force_restart_after))
        {
            return false;
        }
        registry.generation += 1;
        registry.syncs_run += 1;
        registry.sync.status = "InProgress".into();
        registry.sync.message = String::new();
        registry.sync.last_run = Some(SystemTime::now());
        registry.sync.started = Some(Instant::now());
        (registry.generation, registry.spec.clone())
    };
    let handle = thread::spawn({
        let (shared, uid) = (Arc::clone(shared), uid.to_string());
        move || {
            let started = Instant::now();
            let found = read_packs(&spec);
            if let Some(registry) = shared.lock().registries.iter_mut().find(|r| r.uid == uid) {
                registry.read_generation = registry.read_generation.max(generation);
            }
            while started.elapsed() < shared.options.sync_duration {
                if shared.stopping.load(Ordering::SeqCst) {
                    return;
                }
                thread::sleep(Duration::from_millis(20));
            }
            finish_sync(&shared, &uid, generation, found);
        }
    });
    shared.syncs.lock().unwrap().push(handle);
    true
}

fn finish_sync(shared: &Shared, uid: &str, generation: u64, found: Result<Found, String>) {
    let mut state = shared.lock();
    let Some(registry) = state.registries.iter_mut().find(|r| r.uid == uid) else {
        return;
    };
    if registry.generation != generation {
        return;
    }
    registry.sync.started = None;
    match found {
        Ok(mut found) => {
            // A version whose manifest did not change keeps its packUid.
            for (name, pack) in &mut found.packs {
                for version in &mut pack.versions {
                    let before = registry.packs.get(name).and_then(|p| {
                        p.versions.iter().find(|v| {
                            v.tag == version.tag && v.manifest_digest == version.manifest_digest
                        })
                    });
                    if let Some(before) = before {
                        version.pack_uid = before.pack_uid.clone();
                    }
                }
            }
            let count: usize = found.packs.values().map(|p| p.versions.len()).sum();
            let mut message = format!("synced {count} pack version(s)");
            if !found.skipped.is_empty() {
                message += &format!(
                    "; skipped {}: {}",
                    found.skipped.len(),
                    found.skipped.join("; ")
                );
            }
            registry.packs = found.packs;
            registry.sync.status = "Completed".into();
            registry.sync.message = message;
            registry.sync.last_synced = Some(SystemTime::now());
        }
        Err(problem) => {
            registry.sync.status = "Failed".into();
            registry.sync.message = problem;
        }
    }
}

/// What one sync found.
struct Found {
    packs: BTreeMap<String, Pack>,
    /// `repository:tag: why`, for versions that are not packs.
    skipped: Vec<String>,
}

/// Logs in to the registry of `spec` as `/v2/` asks.
fn validate(spec: &Value) -> Result<(), String> {
    let mut client = Client::new(spec)?;
    let base = client.base.clone();
    let answer = client.get(&format!("{base}/v2/"), None)?;
    if answer.status == 200 {
        Ok(())
    } else {
        Err(format!(
            "{base}/v2/ answered HTTP {} with the given auth",
            answer.status
        ))
    }
}

/// Reads every pack version under `<baseContentPath>/spectro-packs/archive/` of the registry.
fn read_packs(spec: &Value) -> Result<Found, String> {
    let mut found = Found {
        packs: BTreeMap::new(),
        skipped: Vec::new(),
    };
    if spec["providerType"].as_str().unwrap_or("helm") != "pack" {
        return Ok(found);
    }
    let mut client = Client::new(spec)?;
    let base = client.base.clone();
    let content = spec["baseContentPath"]
        .as_str()
        .unwrap_or_default()
        .trim_matches('/');
    let prefix = if content.is_empty() {
        "spectro-packs/archive/".to_string()
    } else {
        format!("{content}/spectro-packs/archive/")
    };

    let mut repositories = Vec::new();
    let mut next = Some(format!("{base}/v2/_catalog?n=1000"));
    if spec["_ecr"].is_object() {
        repositories = ecr_repositories(&spec["_ecr"])?;
        next = None;
    }
    let mut pages = 0;
    while let Some(url) = next.take() {
        pages += 1;
        if pages > 1000 {
            return Err("the catalog's Link chain does not end".into());
        }
        let answer = client.get(&url, None)?;
        if answer.status != 200 {
            return Err(format!(
                "cannot list the registry's repositories: {url} answered HTTP {}",
                answer.status
            ));
        }
        let page: Value = serde_json::from_slice(&answer.body)
            .map_err(|e| format!("the catalog at {url} is not JSON: {e}"))?;
        for repository in page["repositories"].as_array().into_iter().flatten() {
            if let Some(repository) = repository.as_str() {
                repositories.push(repository.to_string());
            }
        }
        next = answer
            .header("link")
            .and_then(|link| next_link(&base, link));
    }

    for repository in repositories {
        let Some(name) = repository.strip_prefix(&prefix) else {
            continue;
        };
        if name.is_empty() || name.contains('/') {
            continue;
        }
        let url = format!("{base}/v2/{repository}/tags/list");
        let answer = client.get(&url, None)?;
        if answer.status != 200 {
            found.skipped.push(format!(
                "{repository}: tags answered HTTP {}",
                answer.status
            ));
            continue;
        }
        let list: Value = serde_json::from_slice(&answer.body)
            .map_err(|e| format!("the tag list at {url} is not JSON: {e}"))?;
        let mut tags: Vec<String> = list["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect();
        tags.sort_by(|a, b| version_order(a, b));
        for tag in tags {
            match read_version(&mut client, &repository, name, &tag)? {
                Ok((version, pack_json)) => {
                    let pack = found.packs.entry(name.to_string()).or_insert(Pack {
                        display_name: String::new(),
                        layer: String::new(),
                        addon_type: String::new(),
                        cloud_types: Vec::new(),
                        versions: Vec::new(),
                    });
                    // The newest version (the last, in order) describes the pack.
                    let text = |field: &str| pack_json[field].as_str().unwrap_or_default().into();
                    pack.display_name = text("displayName");
                    pack.layer = text("layer");
                    pack.addon_type = text("addonType");
                    pack.cloud_types = pack_json["cloudTypes"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    pack.versions.push(version);
                }
                Err(why) => found.skipped.push(format!("{repository}:{tag}: {why}")),
            }
        }
    }
    Ok(found)
}

/// One tag: `Ok(Ok(..))` a pack version, `Ok(Err(why))` not one, `Err` the registry failed.
#[allow(
    clippy::type_complexity,
    reason = "a registry failure apart from a bad version"
)]
fn read_version(
    client: &mut Client,
    repository: &str,
    name: &str,
    tag: &str,
) -> Result<Result<(Version, Value), String>, String> {
    const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    let base = client.base.clone();
    let answer = client.get(
        &format!("{base}/v2/{repository}/manifests/{tag}"),
        Some(OCI_MANIFEST),
    )?;
    if answer.status != 200 {
        return Ok(Err(format!("manifest answered HTTP {}", answer.status)));
    }
    let manifest_digest = format!("sha256:{:x}", Sha256::digest(&answer.body));
    let Ok(manifest) = serde_json::from_slice::<Value>(&answer.body) else {
        return Ok(Err("the manifest is not JSON".into()));
    };
    let media_type = manifest["mediaType"]
        .as_str()
        .or_else(|| answer.header("content-type"))
        .unwrap_or_default();
    if media_type != OCI_MANIFEST {
        return Ok(Err(format!("not an OCI image manifest ({media_type})")));
    }
    let layers = manifest["layers"].as_array().cloned().unwrap_or_default();
    let title = format!("{name}-{tag}.tar.gz");
    let [layer] = layers.as_slice() else {
        return Ok(Err(format!("{} layers, not one", layers.len())));
    };
    let layer_title = layer["annotations"]["org.opencontainers.image.title"]
        .as_str()
        .unwrap_or_default();
    if layer_title != title {
        return Ok(Err(format!(
            "the layer is titled {layer_title:?}, not {title:?}"
        )));
    }
    let digest = layer["digest"].as_str().unwrap_or_default();
    let answer = client.get(&format!("{base}/v2/{repository}/blobs/{digest}"), None)?;
    if answer.status != 200 {
        return Ok(Err(format!(
            "the layer blob answered HTTP {}",
            answer.status
        )));
    }
    if format!("sha256:{:x}", Sha256::digest(&answer.body)) != digest {
        return Ok(Err(format!("the layer blob does not match {digest}")));
    }
    let files = match unpack(&answer.body) {
        Ok(files) => files,
        Err(why) => return Ok(Err(why)),
    };
    let Some(pack_json) = files.pack_json else {
        return Ok(Err("no <folder>/pack.json in the archive".into()));
    };
    let Ok(pack_json) = serde_json::from_slice::<Value>(&pack_json) else {
        return Ok(Err("pack.json is not JSON".into()));
    };
    let (said_name, said_version) = (
        pack_json["name"].as_str().unwrap_or_default(),
        pack_json["version"].as_str().unwrap_or_default(),
    );
    if said_name != name || said_version != tag {
        return Ok(Err(format!(
            "pack.json says {said_name}:{said_version}, not {name}:{tag}"
        )));
    }
    let version = Version {
        tag: tag.into(),
        pack_uid: new_uid(),
        manifest_digest,
        values: files.values,
        readme: files.readme,
    };
    Ok(Ok((version, pack_json)))
}

struct Files {
    pack_json: Option<Vec<u8>>,
    values: String,
    readme: String,
}

/// The top folder's pack.json, values.yaml and README.md of a gzip tar (at most 256 MiB read).
fn unpack(archive: &[u8]) -> Result<Files, String> {
    let inflated = flate2::read::GzDecoder::new(archive).take(256 << 20);
    let mut tar = tar::Archive::new(inflated);
    let mut files = Files {
        pack_json: None,
        values: String::new(),
        readme: String::new(),
    };
    let mut top: Option<String> = None;
    let entries = tar.entries().map_err(|e| format!("not a gzip tar: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("not a gzip tar: {e}"))?;
        let path = entry.path().map_err(|e| format!("bad entry name: {e}"))?;
        let parts: Vec<String> = path
            .components()
            .filter(|c| !matches!(c, Component::CurDir))
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let [folder, file] = parts.as_slice() else {
            continue;
        };
        if !["pack.json", "values.yaml", "README.md"].contains(&file.as_str()) {
            continue;
        }
        if top.as_ref().is_some_and(|t| t != folder) {
            return Err(format!("more than one top folder ({folder})"));
        }
        top = Some(folder.clone());
        let mut data = Vec::new();
        entry
            .by_ref()
            .take(16 << 20)
            .read_to_end(&mut data)
            .map_err(|e| format!("cannot read {folder}/{file}: {e}"))?;
        match file.as_str() {
            "pack.json" => files.pack_json = Some(data),
            "values.yaml" => files.values = String::from_utf8_lossy(&data).into_owned(),
            _ => files.readme = String::from_utf8_lossy(&data).into_owned(),
        }
    }
    Ok(files)
}

/// The `rel="next"` target of a `Link` header, made absolute against `base`.
fn next_link(base: &str, link: &str) -> Option<String> {
    let (target, params) = link.split_once(';')?;
    if !params.contains("rel=\"next\"") && !params.contains("rel=next") {
        return None;
    }
    let target = target.trim().trim_start_matches('<').trim_end_matches('>');
    Some(if target.starts_with('/') {
        format!("{base}{target}")
    } else {
        target.to_string()
    })
}

/// Semantic-version order where both parse, text order otherwise.
fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (semver::Version::parse(a), semver::Version::parse(b)) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// One registry answer, after redirects.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A registry client made of curl, logged in as a registered spec says: Basic credentials
/// sent as they are, and traded for a Bearer token when the registry's challenge asks.
struct Client {
    /// `scheme://host[:port]`, no trailing `/`.
    base: String,
    basic: Option<String>,
    bearer: Option<String>,
    ca: Option<PathBuf>,
    insecure: bool,
    dir: TempDir,
}

impl Client {
    fn new(spec: &Value) -> Result<Self, String> {
        let endpoint = spec["endpoint"].as_str().unwrap_or_default().trim();
        let endpoint = endpoint.trim_end_matches('/');
        if endpoint.is_empty() {
            return Err("the registry has no endpoint".into());
        }
        let base = if endpoint.contains("://") {
            endpoint.to_string()
        } else {
            format!("https://{endpoint}")
        };
        let auth = &spec["auth"];
        let basic = match auth["type"].as_str() {
            Some("basic") => {
                let user = auth["username"].as_str().unwrap_or_default();
                let pass = auth["password"].as_str().unwrap_or_default();
                Some(STANDARD.encode(format!("{user}:{pass}")))
            }
            _ => None,
        };
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let ca = match auth["tls"]["ca"].as_str().filter(|c| !c.trim().is_empty()) {
            Some(pem) => {
                let path = dir.path().join("ca.pem");
                std::fs::write(&path, pem).map_err(|e| e.to_string())?;
                Some(path)
            }
            None => None,
        };
        Ok(Self {
            base,
            basic,
            bearer: None,
            ca,
            insecure: auth["tls"]["insecureSkipVerify"].as_bool() == Some(true),
            dir,
        })
    }

    /// GETs `url`, answering a Bearer challenge once.
    fn get(&mut self, url: &str, accept: Option<&str>) -> Result<Answer, String> {
        let answer = self.send(url, accept, self.authorization())?;
        if answer.status != 401 {
            return Ok(answer);
        }
        let Some(challenge) = answer
            .header("www-authenticate")
            .filter(|c| c.len() > 7 && c[..7].eq_ignore_ascii_case("bearer "))
        else {
            return Ok(answer);
        };
        let token = self.token(&challenge[7..])?;
        self.bearer = Some(token);
        self.send(url, accept, self.authorization())
    }

    fn authorization(&self) -> Option<String> {
        match (&self.bearer, &self.basic) {
            (Some(token), _) => Some(format!("Bearer {token}")),
            (None, Some(basic)) => Some(format!("Basic {basic}")),
            (None, None) => None,
        }
    }

    /// A token from the challenge's realm, for the challenge's service and scope.
    fn token(&self, params: &str) -> Result<String, String> {
        let params = challenge_params(params);
        let realm = params
            .iter()
            .find(|(k, _)| k == "realm")
            .map(|(_, v)| v.clone())
            .ok_or("a Bearer challenge without a realm")?;
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in &params {
            if key == "service" || key == "scope" {
                query.append_pair(key, value);
            }
        }
        let separator = if realm.contains('?') { '&' } else { '?' };
        let url = format!("{realm}{separator}{}", query.finish());
        let basic = self.basic.as_ref().map(|b| format!("Basic {b}"));
        let answer = self.send(&url, None, basic)?;
        if answer.status != 200 {
            return Err(format!(
                "the token service {realm} answered HTTP {}",
                answer.status
            ));
        }
        let body: Value = serde_json::from_slice(&answer.body)
            .map_err(|e| format!("the token service {realm} answered no JSON: {e}"))?;
        body["token"]
            .as_str()
            .or_else(|| body["access_token"].as_str())
            .map(str::to_string)
            .ok_or_else(|| format!("the token service {realm} gave no token"))
    }

    /// One curl GET; the URL and headers go through stdin, so no secret is on a command line.
    fn send(
        &self,
        url: &str,
        accept: Option<&str>,
        authorization: Option<String>,
    ) -> Result<Answer, String> {
        let headers_file = self.dir.path().join("headers");
        let body_file = self.dir.path().join("body");
        let _ = std::fs::remove_file(&headers_file);
        let _ = std::fs::remove_file(&body_file);
        let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let mut config = format!("url = \"{}\"\n", quote(url));
        if let Some(accept) = accept {
            config += &format!("header = \"Accept: {}\"\n", quote(accept));
        }
        if let Some(authorization) = authorization {
            config += &format!("header = \"Authorization: {}\"\n", quote(&authorization));
        }
        let mut cmd = Command::new("curl");
        for var in ["http_proxy", "https_proxy", "all_proxy", "no_proxy"] {
            cmd.env_remove(var).env_remove(var.to_uppercase());
        }
        cmd.args(["--silent", "--show-error", "--globoff", "--location"])
            .args(["--max-time", "30", "--max-filesize", "268435456"])
            .args(["--config", "-", "--write-out", "%{http_code}"])
            .arg("--dump-header")
            .arg(&headers_file)
            .arg("--output")
            .arg(&body_file);
        if let Some(ca) = &self.ca {
            cmd.arg("--cacert").arg(ca);
        }
        if self.insecure {
            cmd.arg("--insecure");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run curl: {e}"))?;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(config.as_bytes())
            .map_err(|e| format!("curl: {e}"))?;
        let out = child.wait_with_output().map_err(|e| format!("curl: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cannot reach {url}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let status = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| format!("no HTTP status from {url}"))?;
        let head = std::fs::read_to_string(&headers_file).unwrap_or_default();
        // After redirects the file holds one block per answer: the last one counts.
        let last = head
            .split("\r\n\r\n")
            .filter(|block| block.trim_start().starts_with("HTTP/"))
            .last()
            .unwrap_or_default();
        let headers = last
            .lines()
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        Ok(Answer {
            status,
            headers,
            body: std::fs::read(&body_file).unwrap_or_default(),
        })
    }
}

/// `realm="…",service="…",scope="…"` as pairs; a quoted value may hold commas.
fn challenge_params(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            after.split_once(',').unwrap_or((after, ""))
        };
        params.push((key, value.to_string()));
        rest = after.trim_start_matches(',').trim();
    }
    params
}

/// A path segment with `%XX` decoded.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = segment
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// 24 hex digits, unique in this process (Palette's uids look like this).
fn new_uid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut x = nanos ^ (n.wrapping_mul(0x9E37_79B9_7F4A_7C15)) ^ u64::from(std::process::id());
    // splitmix64
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    format!("{:08x}{x:016x}", n as u32)
}

/// A `v1Time` as go-openapi's `strfmt.DateTime` marshals it; `None` is Go's zero time.
fn v1_time(time: Option<SystemTime>) -> String {
    let Some(time) = time else {
        return "0001-01-01T00:00:00.000Z".into();
    };
    let since = time.duration_since(UNIX_EPOCH).unwrap();
    let secs = since.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = packpub::civil::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Palette's own AWS account and the external ID it asks roles to require (made up here).
pub const PALETTE_AWS_ACCOUNT: &str = "210987654321";
pub const PALETTE_EXTERNAL_ID: &str = "palette-stand-in-external-id";

/// Logs in to AWS as Palette does for an ECR spec: the access key, or the role assumed with
/// the external ID; then GetAuthorizationToken. The spec comes back with the registry login.
fn ecr_login(aws: Option<&str>, mut spec: Value) -> Result<Value, String> {
    let aws = aws.ok_or("this stand-in has no AWS endpoint (Options::aws_endpoint)")?;
    let region = spec["defaultRegion"]
        .as_str()
        .unwrap_or("us-east-1")
        .to_string();
    let credentials = &spec["credentials"];
    let key = match credentials["credentialType"].as_str().unwrap_or("secret") {
        "secret" => credentials["accessKey"]
            .as_str()
            .filter(|k| {
                !k.is_empty()
                    && credentials["secretKey"]
                        .as_str()
                        .is_some_and(|s| !s.is_empty())
            })
            .ok_or("credentials.accessKey and secretKey are required")?
            .to_string(),
        "sts" => {
            let arn = credentials["sts"]["arn"]
                .as_str()
                .ok_or("credentials.sts.arn is required")?;
            let external = credentials["sts"]["externalId"]
                .as_str()
                .unwrap_or_default();
            if external != PALETTE_EXTERNAL_ID {
                return Err(format!(
                    "AssumeRole of {arn} refused: the external ID is not Palette's"
                ));
            }
            let form = form_urlencoded::Serializer::new(String::new())
                .append_pair("Action", "AssumeRole")
                .append_pair("Version", "2011-06-15")
                .append_pair("RoleArn", arn)
                .append_pair("RoleSessionName", "palette")
                .append_pair("ExternalId", external)
                .finish();
            let answer = aws_call(aws, "AKIAPALETTE", &region, "sts", None, &form)?;
            let text = String::from_utf8_lossy(&answer);
            text.split("<AccessKeyId>")
                .nth(1)
                .and_then(|rest| rest.split('<').next())
                .ok_or_else(|| format!("AssumeRole of {arn} answered no credentials: {text}"))?
                .to_string()
        }
        other => {
            return Err(format!(
                "credentialType {other} is not served by this stand-in"
            ));
        }
    };
    let answer = aws_call(
        aws,
        &key,
        &region,
        "ecr",
        Some("GetAuthorizationToken"),
        "{}",
    )?;
    let answer: Value = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
    let token = answer["authorizationData"][0]["authorizationToken"]
        .as_str()
        .ok_or_else(|| format!("GetAuthorizationToken answered {answer}"))?;
    let decoded = String::from_utf8(STANDARD.decode(token).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let (user, password) = decoded.split_once(':').ok_or("a token without a user")?;
    spec["auth"] =
        json!({"type": "basic", "username": user, "password": password, "tls": spec["tls"]});
    spec["_ecr"] = json!({"aws": aws, "key": key, "region": region});
    Ok(spec)
}

/// DescribeRepositories, as Palette's read policy allows (ECR has no catalog).
fn ecr_repositories(ecr: &Value) -> Result<Vec<String>, String> {
    let field = |name: &str| ecr[name].as_str().unwrap_or_default();
    let answer = aws_call(
        field("aws"),
        field("key"),
        field("region"),
        "ecr",
        Some("DescribeRepositories"),
        "{}",
    )?;
    let answer: Value = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
    Ok(answer["repositories"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["repositoryName"].as_str().map(str::to_string))
        .collect())
}

/// One AWS API call with curl: JSON 1.1 with `X-Amz-Target` for ECR, a query form for STS;
/// the SigV4 header names the key and the service (moto routes by it and checks no signature).
fn aws_call(
    endpoint: &str,
    key: &str,
    region: &str,
    service: &str,
    target: Option<&str>,
    body: &str,
) -> Result<Vec<u8>, String> {
    let mut cmd = Command::new("curl");
    cmd.args(["--silent", "--show-error", "--fail", "--max-time", "30", "-X", "POST"])
        .arg("-H")
        .arg(format!(
            "Authorization: AWS4-HMAC-SHA256 Credential={key}/20261202/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0"
        ))
        .args(["--data", body]);
    match target {
        Some(action) => cmd
            .arg("-H")
            .arg(format!(
                "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.{action}"
            ))
            .args(["-H", "Content-Type: application/x-amz-json-1.1"]),
        None => cmd.args(["-H", "Content-Type: application/x-www-form-urlencoded"]),
    };
    let out = cmd
        .arg(endpoint)
        .output()
        .map_err(|e| format!("cannot run curl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "AWS at {endpoint} ({service}) failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}
