//! The Palette API stand-in (`support::palette`) checks itself, driven by curl against real
//! Distribution registries that `packpub push` filled: its sync must really read the registry
//! (a pack under another path, a tag whose archive disagrees, credentials it was not given all
//! stay invisible), and its key, admin and rate-limit rules must refuse. When a `sync` test
//! fails, these say whether the stand-in or packpub is to blame.

use crate::support::palette::{ADMIN_KEY, Options, Palette, USER_KEY};
use crate::support::registry::Registry;
use crate::support::*;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// What curl got from the stand-in.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    /// Panics unless the status is `status` and, for an error, the body's code is `code`.
    fn expect(self, status: u16, code: Option<&str>) -> Self {
        assert_eq!(self.status, status, "{self:?}");
        if let Some(code) = code {
            assert_eq!(self.json()["code"], code, "{self:?}");
            assert!(self.json()["message"].is_string(), "{self:?}");
        }
        self
    }
}

/// One request with curl; `headers` as `Name: value`.
fn call(
    palette: &Palette,
    method: &str,
    path: &str,
    headers: &[&str],
    body: Option<&Value>,
) -> Answer {
    let dir = TempDir::new().unwrap();
    let (head, out) = (dir.path().join("head"), dir.path().join("body"));
    let mut cmd = Command::new("curl");
    for var in ["http_proxy", "https_proxy", "all_proxy", "no_proxy"] {
        cmd.env_remove(var).env_remove(var.to_uppercase());
    }
    cmd.args(["--silent", "--show-error", "--max-time", "30", "-X", method])
        .arg("--dump-header")
        .arg(&head)
        .arg("--output")
        .arg(&out)
        .args(["--write-out", "%{http_code}"]);
    for header in headers {
        cmd.args(["-H", header]);
    }
    if let Some(body) = body {
        cmd.args(["-H", "Content-Type: application/json", "--data-binary"])
            .arg(body.to_string());
    }
    let done = cmd
        .arg(format!("{}{path}", palette.url()))
        .output()
        .expect("curl is installed (tests/run.sh installs it)");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let headers = std::fs::read_to_string(&head)
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Answer {
        status: String::from_utf8_lossy(&done.stdout).parse().unwrap(),
        headers,
        body: std::fs::read_to_string(&out).unwrap_or_default(),
    }
}

fn get(palette: &Palette, path: &str) -> Answer {
    call(
        palette,
        "GET",
        path,
        &[&format!("ApiKey: {USER_KEY}")],
        None,
    )
}

fn post(palette: &Palette, path: &str, key: &str, body: Option<&Value>) -> Answer {
    call(palette, "POST", path, &[&format!("ApiKey: {key}")], body)
}

/// Polls the sync status over the API until it is `want`; returns it.
fn wait_for(palette: &Palette, uid: &str, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = get(
            palette,
            &format!("/v1/registries/oci/{uid}/basic/sync/status"),
        )
        .expect(200, None)
        .json();
        if status["status"] == want {
            return status;
        }
        // A sync that ended otherwise will not turn into `want`.
        let ended = ["Completed", "Failed"].contains(&status["status"].as_str().unwrap());
        assert!(!ended, "wanted {want}, got {status}");
        assert!(Instant::now() < deadline, "still {status} after 60 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `packpub push` of `pack` to `target` on a plain-HTTP registry.
fn push_plain(target: &str, pack: &Path) {
    run(&[
        "push",
        pack.to_str().unwrap(),
        "--registry",
        target,
        "--plain-http",
    ])
    .expect(0);
}

/// A copy of the example pack called `name` (folder `<name>-1.0.0`).
fn pack_named(parent: &Path, name: &str) -> std::path::PathBuf {
    let dir = example_in(parent, &format!("{name}-1.0.0"));
    edit_pack_json(&dir, |doc| doc["name"] = name.into());
    dir
}

/// Options without the rate limit: these tests send requests back to back.
fn unlimited() -> Options {
    Options {
        rate_limit_per_sec: 0,
        ..Options::default()
    }
}

fn is_uid(text: &str) -> bool {
    text.len() == 24 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_v1_time(text: &str) -> bool {
    // 2006-01-02T15:04:05.000Z
    let b = text.as_bytes();
    b.len() == 24
        && [4, 7].iter().all(|&i| b[i] == b'-')
        && b[10] == b'T'
        && [13, 16].iter().all(|&i| b[i] == b':')
        && b[19] == b'.'
        && b[23] == b'Z'
}

#[test]
fn palette_standin_sync_shows_only_packs_under_the_base_content_path() {
    let reg = Registry::plain();
    let tmp = TempDir::new().unwrap();
    push_plain(&format!("{}/proj", reg.host()), &example());
    push_plain(
        &format!("{}/other", reg.host()),
        &pack_named(tmp.path(), "stray"),
    );
    // Long enough that the sync is still running when the POST's answer is in.
    let palette = Palette::start(Options {
        sync_duration: Duration::from_secs(3),
        ..unlimited()
    });
    let endpoint = format!("http://{}", reg.host());
    let proj = palette.add_registry("proj-packs", &endpoint, "proj", None);
    let other = palette.add_registry("other-packs", &endpoint, "/other/", None);
    let root = palette.add_registry("root-packs", &endpoint, "", None);
    assert!(is_uid(&proj), "{proj}");

    // Before any sync: no status, Go's zero times, no pack.
    let status = get(
        &palette,
        &format!("/v1/registries/oci/{proj}/basic/sync/status"),
    )
    .expect(200, None)
    .json();
    assert_eq!(
        status,
        json!({
            "isSyncSupported": true,
            "lastRunTime": "0001-01-01T00:00:00.000Z",
            "lastSyncedTime": "0001-01-01T00:00:00.000Z",
            "message": "",
            "status": "",
        })
    );
    let hello = format!("/v1/packs/hello/registries/{proj}?cloudType=all&layer=addon&states=");
    get(&palette, &hello).expect(404, Some("ResourceNotFound"));

    // The sync POST: 202, no body, an AuditUid; InProgress until it ends.
    let started = post(
        &palette,
        &format!("/v1/registries/oci/{proj}/basic/sync?forceSync=false"),
        USER_KEY,
        None,
    )
    .expect(202, None);
    assert_eq!(started.body, "");
    assert!(is_uid(started.header("AuditUid").unwrap()), "{started:?}");
    assert_eq!(palette.sync_status(&proj)["status"], "InProgress");
    let done = wait_for(&palette, &proj, "Completed");
    assert!(is_v1_time(done["lastRunTime"].as_str().unwrap()), "{done}");
    assert!(
        is_v1_time(done["lastSyncedTime"].as_str().unwrap()),
        "{done}"
    );
    assert_ne!(done["lastSyncedTime"], "0001-01-01T00:00:00.000Z");
    assert_eq!(done["message"], "synced 1 pack version(s)");

    let entity = get(&palette, &hello).expect(200, None).json();
    assert_eq!(entity["name"], "hello");
    assert_eq!(entity["displayName"], "Hello packpub");
    assert_eq!(entity["layer"], "addon");
    assert_eq!(entity["cloudTypes"], json!(["all"]));
    assert_eq!(entity["registryUid"], proj.as_str());
    let tags = entity["tags"].as_array().unwrap();
    assert_eq!(tags.len(), 1, "{entity}");
    assert_eq!(
        (&tags[0]["tag"], &tags[0]["version"]),
        (&json!("1.0.0"), &json!("1.0.0"))
    );
    assert!(is_uid(tags[0]["packUid"].as_str().unwrap()));
    assert!(
        entity["packValues"][0]["values"]
            .as_str()
            .unwrap()
            .contains("pack:"),
        "{entity}"
    );
    // Pushed under another project: not this registry's.
    get(&palette, &format!("/v1/packs/stray/registries/{proj}"))
        .expect(404, Some("ResourceNotFound"));

    // The registry based at /other/ sees stray only; the one at the root sees nothing.
    post(
        &palette,
        &format!("/v1/registries/oci/{other}/basic/sync"),
        USER_KEY,
        None,
    )
    .expect(202, None);
    post(
        &palette,
        &format!("/v1/registries/oci/{root}/basic/sync"),
        USER_KEY,
        None,
    )
    .expect(202, None);
    wait_for(&palette, &other, "Completed");
    assert_eq!(
        wait_for(&palette, &root, "Completed")["message"],
        "synced 0 pack version(s)"
    );
    assert_eq!(palette.visible(&other), ["stray:1.0.0"]);
    assert_eq!(palette.visible(&root), Vec::<String>::new());
    get(&palette, &format!("/v1/packs/stray/registries/{other}")).expect(200, None);
    get(&palette, &format!("/v1/packs/hello/registries/{other}"))
        .expect(404, Some("ResourceNotFound"));
    get(
        &palette,
        "/v1/packs/hello/registries/0123456789abcdef01234567",
    )
    .expect(404, Some("ResourceNotFound"));
    assert_eq!(
        (palette.sync_count(&proj), palette.sync_count(&other)),
        (1, 1)
    );

    // The summary and the basic registry, the latter with its base path and no password.
    let summary = get(&palette, "/v1/registries/oci/summary")
        .expect(200, None)
        .json();
    let item = summary["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["metadata"]["uid"] == proj.as_str())
        .unwrap()
        .clone();
    assert_eq!(item["metadata"]["name"], "proj-packs");
    assert_eq!(item["spec"]["endpoint"], endpoint.as_str());
    assert_eq!(item["spec"]["providerType"], "pack");
    assert_eq!(item["spec"]["registryType"], "basic");
    assert_eq!(item["status"]["sync"]["status"], "Completed");
    let basic = get(&palette, &format!("/v1/registries/oci/{proj}/basic"))
        .expect(200, None)
        .json();
    assert_eq!(basic["spec"]["baseContentPath"], "proj");
    assert_eq!(basic["spec"]["isSyncSupported"], true);
    assert_eq!(basic["spec"]["auth"], json!({ "type": "noAuth" }));
    assert_eq!(basic["status"]["syncStatus"]["status"], "Completed");
    get(
        &palette,
        "/v1/registries/oci/0123456789abcdef01234567/basic",
    )
    .expect(404, Some("ResourceNotFound"));

    // ProjectUid is recorded and changes nothing; every request carried the key.
    let scoped = call(
        &palette,
        "GET",
        &hello,
        &[&format!("ApiKey: {USER_KEY}"), "ProjectUid: p-123"],
        None,
    )
    .expect(200, None);
    assert_eq!(scoped.json()["tags"], entity["tags"]);
    let seen = palette.requests();
    assert_eq!(seen.last().unwrap().header("projectuid"), Some("p-123"));
    assert!(seen.iter().all(|s| s.header("ApiKey") == Some(USER_KEY)));
    assert!(
        seen.iter()
            .filter(|s| s.status == 202)
            .all(|s| s.query("forceSync").as_deref() != Some("true"))
    );
}

#[test]
fn palette_standin_skips_versions_whose_archive_disagrees() {
    let reg = Registry::plain();
    let host = reg.host();
    push_plain(&format!("{host}/proj"), &example());
    let repo = "proj/spectro-packs/archive/hello";
    let raw = Command::new("curl")
        .args([
            "--silent",
            "--fail",
            "-H",
            "Accept: application/vnd.oci.image.manifest.v1+json",
        ])
        .arg(format!("http://{host}/v2/{repo}/manifests/1.0.0"))
        .output()
        .unwrap();
    assert!(raw.status.success());
    // The same manifest under 3.0.0: its layer is titled hello-1.0.0.tar.gz.
    hostile::put_manifest(host, repo, "3.0.0", &raw.stdout);
    // Retitled hello-2.0.0.tar.gz, but the archive's pack.json still says 1.0.0.
    let mut manifest: Value = serde_json::from_slice(&raw.stdout).unwrap();
    manifest["layers"][0]["annotations"]["org.opencontainers.image.title"] =
        "hello-2.0.0.tar.gz".into();
    hostile::put_manifest(host, repo, "2.0.0", manifest.to_string().as_bytes());

    let palette = Palette::start(unlimited());
    let uid = palette.add_registry("packs", &format!("http://{host}"), "proj", None);
    palette.start_sync_now(&uid);
    let done = wait_for(&palette, &uid, "Completed");
    assert_eq!(palette.visible(&uid), ["hello:1.0.0"]);
    let message = done["message"].as_str().unwrap();
    assert!(
        message.starts_with("synced 1 pack version(s); skipped 2"),
        "{message}"
    );
    assert!(
        message.contains("pack.json says hello:1.0.0, not hello:2.0.0"),
        "{message}"
    );
    assert!(
        message.contains("titled \"hello-1.0.0.tar.gz\", not \"hello-3.0.0.tar.gz\""),
        "{message}"
    );
    let entity = get(&palette, &format!("/v1/packs/hello/registries/{uid}"))
        .expect(200, None)
        .json();
    assert_eq!(entity["tags"].as_array().unwrap().len(), 1, "{entity}");

    // A version pushed while a sync runs (after it read the registry) waits for the next sync;
    // unchanged versions keep their packUid.
    let first_uid = entity["tags"][0]["packUid"].clone();
    let tmp = TempDir::new().unwrap();
    let newer = example_in(tmp.path(), "hello-1.1.0");
    edit_pack_json(&newer, |doc| doc["version"] = "1.1.0".into());
    palette.start_sync_now(&uid);
    palette.wait_until_read(&uid);
    push_plain(&format!("{host}/proj"), &newer);
    wait_for(&palette, &uid, "Completed");
    assert_eq!(palette.visible(&uid), ["hello:1.0.0"]);
    palette.start_sync_now(&uid);
    wait_for(&palette, &uid, "Completed");
    assert_eq!(palette.visible(&uid), ["hello:1.0.0", "hello:1.1.0"]);
    let entity = get(&palette, &format!("/v1/packs/hello/registries/{uid}"))
        .expect(200, None)
        .json();
    assert_eq!(entity["tags"][0]["packUid"], first_uid);
    assert_eq!(palette.sync_count(&uid), 3);
}

#[test]
fn palette_standin_keys_admin_rights_and_rate_limits() {
    let palette = Palette::start(unlimited());
    let summary = "/v1/registries/oci/summary";
    call(&palette, "GET", summary, &[], None).expect(401, Some("Unauthorized"));
    call(&palette, "GET", summary, &["ApiKey: not-a-key"], None).expect(401, Some("Unauthorized"));
    call(
        &palette,
        "GET",
        summary,
        &[&format!("Authorization: {ADMIN_KEY}")],
        None,
    )
    .expect(401, Some("Unauthorized"));
    let empty = call(
        &palette,
        "GET",
        summary,
        &[&format!("apikey: {USER_KEY}")],
        None,
    )
    .expect(200, None);
    assert_eq!(empty.json(), json!({ "items": [] }));
    get(&palette, "/v1/registries/oci/nope/basic").expect(404, Some("ResourceNotFound"));
    get(&palette, "/v1/nothing/here").expect(404, Some("ResourceNotFound"));
    post(
        &palette,
        "/v1/registries/oci/nope/basic/sync",
        USER_KEY,
        None,
    )
    .expect(404, Some("ResourceNotFound"));

    // Registering and validating need a tenant admin.
    let spec = json!({ "endpoint": "http://127.0.0.1:9", "auth": { "type": "noAuth" } });
    post(
        &palette,
        "/v1/registries/oci/basic/validate",
        USER_KEY,
        Some(&spec),
    )
    .expect(403, Some("Forbidden"));
    let body = json!({ "metadata": { "name": "x" }, "spec": spec });
    post(&palette, "/v1/registries/oci/basic", USER_KEY, Some(&body))
        .expect(403, Some("Forbidden"));
    assert!(palette.registries().is_empty());

    // The next two requests are refused whatever they are, then service resumes.
    palette.throttle_next(2);
    for _ in 0..2 {
        let refused = get(&palette, summary).expect(429, Some("TooManyRequests"));
        assert_eq!(refused.header("Retry-After"), Some("1"));
    }
    get(&palette, summary).expect(200, None);
    let statuses: Vec<u16> = palette.requests().iter().map(|s| s.status).collect();
    assert_eq!(statuses[statuses.len() - 3..], [429, 429, 200]);

    // Three a second: the fourth within the second is refused, and a second later all is well.
    let limited = Palette::start(Options {
        rate_limit_per_sec: 3,
        ..Options::default()
    });
    let started = Instant::now();
    for _ in 0..3 {
        get(&limited, summary).expect(200, None);
    }
    let fourth = get(&limited, summary);
    if started.elapsed() < Duration::from_millis(900) {
        assert_eq!(fourth.status, 429, "{fourth:?}");
        assert_eq!(fourth.header("Retry-After"), Some("1"));
    }
    std::thread::sleep(Duration::from_millis(1100));
    get(&limited, summary).expect(200, None);

    // throttle_next from the options.
    let throttled = Palette::start(Options {
        throttle_next: 1,
        ..unlimited()
    });
    call(&throttled, "GET", summary, &[], None).expect(429, Some("TooManyRequests"));
    get(&throttled, summary).expect(200, None);
}

const PASSWORD: &str = "s3cret-Pa55word";

#[test]
fn palette_standin_validates_registers_and_syncs_with_credentials() {
    let reg = Registry::tls_basic("alice", PASSWORD);
    let ca = reg.ca_pem_path();
    Run::of(
        packpub()
            .args(["push", example().to_str().unwrap(), "--registry"])
            .arg(format!("{}/proj", reg.host()))
            .arg("--ca-file")
            .arg(ca)
            .env("PACKPUB_USERNAME", "alice")
            .env("PACKPUB_PASSWORD", PASSWORD)
            .output()
            .unwrap(),
    )
    .expect(0);
    let palette = Palette::start(unlimited());
    let pem = std::fs::read_to_string(ca).unwrap();
    let spec = |password: &str, ca: &str| {
        json!({
            "endpoint": format!("https://{}", reg.host()),
            "baseContentPath": "proj",
            "providerType": "pack",
            "isSyncSupported": true,
            "auth": {
                "type": "basic",
                "username": "alice",
                "password": password,
                "tls": { "enabled": true, "ca": ca, "insecureSkipVerify": false },
            },
        })
    };
    let validate = "/v1/registries/oci/basic/validate";
    let ok = post(&palette, validate, ADMIN_KEY, Some(&spec(PASSWORD, &pem))).expect(204, None);
    assert_eq!(ok.body, "");
    let wrong = post(&palette, validate, ADMIN_KEY, Some(&spec("wrong", &pem)))
        .expect(400, Some("RegistryValidationFailed"));
    assert!(
        wrong.json()["message"].as_str().unwrap().contains("401"),
        "{wrong:?}"
    );
    post(&palette, validate, ADMIN_KEY, Some(&spec(PASSWORD, "")))
        .expect(400, Some("RegistryValidationFailed"));
    post(
        &palette,
        validate,
        ADMIN_KEY,
        Some(&json!({ "auth": { "type": "noAuth" } })),
    )
    .expect(400, Some("InvalidRequest"));
    assert!(
        palette.registries().is_empty(),
        "validation creates nothing"
    );

    // Creating starts a sync (skipPackSync=false), which logs in with the posted auth.
    let created = post(
        &palette,
        "/v1/registries/oci/basic?skipPackSync=false",
        ADMIN_KEY,
        Some(&json!({ "metadata": { "name": "secure" }, "spec": spec(PASSWORD, &pem) })),
    )
    .expect(201, None);
    assert!(is_uid(created.header("AuditUid").unwrap()));
    let uid = created.json()["uid"].as_str().unwrap().to_string();
    assert!(is_uid(&uid));
    wait_for(&palette, &uid, "Completed");
    assert_eq!(palette.visible(&uid), ["hello:1.0.0"]);
    assert_eq!(palette.sync_count(&uid), 1);
    let registered = palette.registries();
    assert_eq!(registered[0]["metadata"]["uid"], uid.as_str());
    assert_eq!(
        registered[0]["spec"],
        spec(PASSWORD, &pem),
        "the spec as posted"
    );
    let basic = get(&palette, &format!("/v1/registries/oci/{uid}/basic")).expect(200, None);
    assert!(!basic.body.contains(PASSWORD), "{basic:?}");
    assert_eq!(
        basic.json()["spec"]["auth"],
        json!({ "type": "basic", "username": "alice" })
    );
    assert_eq!(
        get(&palette, "/v1/registries/oci/summary").json()["items"][0]["spec"]["isPrivate"],
        true
    );

    // The same name again, and bodies without auth or endpoint.
    let again = json!({ "metadata": { "name": "secure" }, "spec": spec(PASSWORD, &pem) });
    post(
        &palette,
        "/v1/registries/oci/basic",
        ADMIN_KEY,
        Some(&again),
    )
    .expect(409, Some("DuplicateRegistry"));
    let mut no_auth = again.clone();
    no_auth["metadata"]["name"] = "other".into();
    no_auth["spec"].as_object_mut().unwrap().remove("auth");
    post(
        &palette,
        "/v1/registries/oci/basic",
        ADMIN_KEY,
        Some(&no_auth),
    )
    .expect(400, Some("InvalidRequest"));
    let mut no_endpoint = again.clone();
    no_endpoint["metadata"]["name"] = "other".into();
    no_endpoint["spec"]["endpoint"] = "".into();
    post(
        &palette,
        "/v1/registries/oci/basic",
        ADMIN_KEY,
        Some(&no_endpoint),
    )
    .expect(400, Some("InvalidRequest"));

    // Registered with a wrong password and skipPackSync=true: no sync, then one that fails.
    let created = post(
        &palette,
        "/v1/registries/oci/basic?skipPackSync=true",
        ADMIN_KEY,
        Some(&json!({ "metadata": { "name": "wrong" }, "spec": spec("wrong", &pem) })),
    )
    .expect(201, None);
    let wrong_uid = created.json()["uid"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(palette.sync_count(&wrong_uid), 0);
    assert_eq!(palette.sync_status(&wrong_uid)["status"], "");
    post(
        &palette,
        &format!("/v1/registries/oci/{wrong_uid}/basic/sync"),
        USER_KEY,
        None,
    )
    .expect(202, None);
    let failed = wait_for(&palette, &wrong_uid, "Failed");
    assert!(
        failed["message"].as_str().unwrap().contains("HTTP 401"),
        "{failed}"
    );
    assert_eq!(failed["lastSyncedTime"], "0001-01-01T00:00:00.000Z");
    assert!(palette.visible(&wrong_uid).is_empty());

    // A helm registry (the spec's default provider type) reads no packs.
    let mut helm = spec(PASSWORD, &pem);
    helm.as_object_mut().unwrap().remove("providerType");
    let created = post(
        &palette,
        "/v1/registries/oci/basic",
        ADMIN_KEY,
        Some(&json!({ "metadata": { "name": "helm" }, "spec": helm })),
    )
    .expect(201, None);
    let helm_uid = created.json()["uid"].as_str().unwrap().to_string();
    wait_for(&palette, &helm_uid, "Completed");
    assert!(palette.visible(&helm_uid).is_empty());
}

#[test]
fn palette_standin_trades_credentials_for_a_bearer_token() {
    let reg = Registry::token("robot", PASSWORD);
    Run::of(
        packpub()
            .args([
                "push",
                example().to_str().unwrap(),
                "--plain-http",
                "--registry",
            ])
            .arg(format!("{}/library", reg.host()))
            .env("PACKPUB_USERNAME", "robot")
            .env("PACKPUB_PASSWORD", PASSWORD)
            .output()
            .unwrap(),
    )
    .expect(0);
    let palette = Palette::start(unlimited());
    let endpoint = format!("http://{}", reg.host());
    let robot = palette.add_registry("robot", &endpoint, "library", Some(("robot", PASSWORD)));
    let anonymous = palette.add_registry("anonymous", &endpoint, "library", None);
    palette.start_sync_now(&robot);
    palette.start_sync_now(&anonymous);
    wait_for(&palette, &robot, "Completed");
    assert_eq!(palette.visible(&robot), ["hello:1.0.0"]);
    // Anonymous tokens grant nothing: the catalog stays closed.
    let failed = wait_for(&palette, &anonymous, "Failed");
    assert!(
        failed["message"].as_str().unwrap().contains("catalog"),
        "{failed}"
    );
    assert!(
        reg.token_requests()
            .iter()
            .any(|(_, grant, granted)| grant == "password" && *granted)
    );
}

#[test]
fn palette_standin_starts_no_second_sync_while_one_runs() {
    let reg = Registry::plain();
    push_plain(&format!("{}/proj", reg.host()), &example());
    let palette = Palette::start(Options {
        sync_duration: Duration::from_secs(4),
        ..unlimited()
    });
    let uid = palette.add_registry("packs", &format!("http://{}", reg.host()), "proj", None);
    // The automatic sync is running when the client comes (and still when both POSTs are in).
    palette.start_sync_now(&uid);
    let sync = format!("/v1/registries/oci/{uid}/basic/sync");
    post(&palette, &format!("{sync}?forceSync=false"), USER_KEY, None).expect(202, None);
    post(&palette, &format!("{sync}?forceSync=true"), USER_KEY, None).expect(202, None);
    assert_eq!(palette.sync_count(&uid), 1);
    assert_eq!(palette.sync_status(&uid)["status"], "InProgress");
    wait_for(&palette, &uid, "Completed");
    assert_eq!(palette.sync_count(&uid), 1);
    assert_eq!(palette.visible(&uid), ["hello:1.0.0"]);
    // Once it ended, the next POST starts one.
    post(&palette, &sync, USER_KEY, None).expect(202, None);
    assert_eq!(palette.sync_count(&uid), 2);

    // forceSync restarts a sync that has run long enough (an hour by default; zero here).
    let eager = Palette::start(Options {
        sync_duration: Duration::from_secs(4),
        force_restart_after: Duration::ZERO,
        ..unlimited()
    });
    let uid = eager.add_registry("packs", &format!("http://{}", reg.host()), "proj", None);
    eager.start_sync_now(&uid);
    post(
        &eager,
        &format!("/v1/registries/oci/{uid}/basic/sync"),
        USER_KEY,
        None,
    )
    .expect(202, None);
    assert_eq!(eager.sync_count(&uid), 1);
    post(
        &eager,
        &format!("/v1/registries/oci/{uid}/basic/sync?forceSync=true"),
        USER_KEY,
        None,
    )
    .expect(202, None);
    assert_eq!(eager.sync_count(&uid), 2);
    wait_for(&eager, &uid, "Completed");
    assert_eq!(eager.visible(&uid), ["hello:1.0.0"]);
}
