//! `packpub sync`, `push --sync` and `login --palette` (issue 11) against the Palette stand-in of
//! `support::palette` — built from Palette's published API spec, not Palette, which cannot run
//! here — whose sync really walks the Distribution registry the test pushed to. So a pack is
//! "visible" only when the stand-in found it under `<base content path>/spectro-packs/archive`.

use crate::support::palette::{ADMIN_KEY, Options, Palette, USER_KEY};
use crate::support::registry::Registry;
use crate::support::*;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;

/// packpub reaching `palette` with `key` (SPECTROCLOUD_APIKEY).
fn packpub_for(palette: &Palette, key: &str) -> Command {
    let mut cmd = packpub();
    cmd.env("SPECTROCLOUD_HOST", palette.url())
        .env("SPECTROCLOUD_APIKEY", key);
    cmd
}

fn run_for(palette: &Palette, key: &str, args: &[&str]) -> Run {
    Run::of(packpub_for(palette, key).args(args).output().unwrap())
}

/// Every run's output, checked for the keys: an API key is a secret.
fn assert_no_key(runs: &[&Run]) {
    for run in runs {
        for key in [ADMIN_KEY, USER_KEY] {
            assert!(
                !run.stdout.contains(key) && !run.stderr.contains(key),
                "{key} leaked:\n{}\n{}",
                run.stdout,
                run.stderr
            );
        }
    }
}

fn assert_said(run: &Run, words: &str) {
    assert!(
        run.stderr.contains(words),
        "wanted {words:?} in:\n{}",
        run.stderr
    );
}

/// A plain registry, a stand-in Palette with a registry `lab` pointing at `<registry>/proj`.
fn lab() -> (Registry, Palette, String) {
    let registry = Registry::plain();
    let palette = Palette::start(Options::default());
    let uid = palette.add_registry("lab", &format!("http://{}", registry.host()), "proj", None);
    (registry, palette, uid)
}

#[test]
fn push_sync_ends_when_palette_lists_the_pack() {
    let (registry, palette, uid) = lab();
    let target = format!("{}/proj", registry.host());
    let pushed = run_for(
        &palette,
        ADMIN_KEY,
        &[
            "push",
            example().to_str().unwrap(),
            "--registry",
            &target,
            "--plain-http",
            "--sync",
            "--json",
            "--project-uid",
            "project-1",
        ],
    )
    .expect(0);
    let doc = pushed.json();
    assert_eq!(doc["packs"][0]["status"], "pushed");
    assert_eq!(doc["sync"]["registry"]["uid"], uid.as_str());
    assert_eq!(doc["sync"]["registry"]["name"], "lab");
    assert_eq!(
        doc["sync"]["packs"],
        serde_json::json!([{"name": "hello", "version": "1.0.0", "visible": true}])
    );
    assert_eq!(palette.sync_count(&uid), 1);
    assert_eq!(palette.visible(&uid), ["hello:1.0.0"]);
    let seen = palette.requests();
    assert!(seen.iter().all(|s| s.header("ApiKey") == Some(ADMIN_KEY)));
    // The project goes with pack lookups only: registries are tenant-level.
    for s in &seen {
        let in_project = s.header("ProjectUid") == Some("project-1");
        assert_eq!(in_project, s.path().starts_with("/v1/packs/"), "{s:?}");
    }
    assert_no_key(&[&pushed]);

    // Again: the version is unchanged in the registry and already listed.
    let again = run_for(
        &palette,
        ADMIN_KEY,
        &["sync", "hello:1.0.0", "--registry", &target, "--plain-http"],
    )
    .expect(0);
    assert_said(&again, "Palette lists hello 1.0.0");
}

#[test]
fn a_pack_pushed_outside_the_base_content_path_is_not_found_by_the_sync() {
    let (registry, palette, uid) = lab();
    let elsewhere = format!("{}/other", registry.host());
    run(&[
        "push",
        example().to_str().unwrap(),
        "--registry",
        &elsewhere,
        "--plain-http",
    ])
    .expect(0);
    // No Palette registry points at HOST/other.
    let none = run_for(
        &palette,
        ADMIN_KEY,
        &[
            "sync",
            "hello:1.0.0",
            "--registry",
            &elsewhere,
            "--plain-http",
        ],
    )
    .expect(8);
    assert_said(
        &none,
        &format!(
            "no Palette registry at {} points at {elsewhere}",
            palette.url().trim_start_matches("http://")
        ),
    );
    assert_said(&none, "--register");
    // Named anyway: the sync walks HOST/proj/spectro-packs/archive and finds nothing there.
    let missing = run_for(
        &palette,
        ADMIN_KEY,
        &[
            "sync",
            "hello:1.0.0",
            "--registry",
            &elsewhere,
            "--plain-http",
            "--palette-registry",
            "lab",
        ],
    )
    .expect(8);
    assert_said(
        &missing,
        "the Palette sync of lab finished, but Palette does not list hello:1.0.0",
    );
    assert_said(&missing, "base content path");
    assert_eq!(palette.sync_count(&uid), 1);
    assert!(palette.visible(&uid).is_empty());
}

#[test]
fn a_version_missing_from_the_registry_fails_or_times_out_with_the_reason() {
    let (registry, palette, _) = lab();
    let target = format!("{}/proj", registry.host());
    run(&[
        "push",
        example().to_str().unwrap(),
        "--registry",
        &target,
        "--plain-http",
    ])
    .expect(0);
    let missing = run_for(
        &palette,
        ADMIN_KEY,
        &[
            "sync",
            "hello:9.9.9",
            "--registry",
            &target,
            "--plain-http",
            "--json",
        ],
    )
    .expect(8);
    assert_said(&missing, "does not list hello:9.9.9");
    assert_eq!(missing.json()["exit_code"], 8);

    // A sync slower than --timeout.
    let slow = Palette::start(Options {
        sync_duration: Duration::from_secs(30),
        ..Options::default()
    });
    slow.add_registry("lab", &format!("http://{}", registry.host()), "proj", None);
    let timed_out = run_for(
        &slow,
        ADMIN_KEY,
        &[
            "sync",
            "hello:1.0.0",
            "--registry",
            &target,
            "--plain-http",
            "--timeout",
            "2s",
        ],
    )
    .expect(8);
    assert_said(
        &timed_out,
        "the Palette sync of lab did not finish within 2 s (--timeout)",
    );
    assert_said(&timed_out, "InProgress");

    // --no-wait triggers and returns.
    let fast = run_for(
        &slow,
        ADMIN_KEY,
        &["sync", "--registry", &target, "--plain-http", "--no-wait"],
    );
    assert_said(
        &fast.expect(0),
        "waiting for it rather than forcing another",
    );
}

#[test]
fn register_creates_the_registry_once_and_a_non_admin_key_is_refused() {
    let registry = Registry::tls_basic("robot$proj+ci", "r0bot-pw");
    let palette = Palette::start(Options::default());
    let target = format!("{}/proj", registry.host());
    let ca = registry.ca_pem().unwrap().to_str().unwrap().to_string();
    let creds = |cmd: &mut Command| {
        cmd.env("PACKPUB_USERNAME", "robot$proj+ci")
            .env("PACKPUB_PASSWORD", "r0bot-pw");
    };
    let mut push = packpub();
    push.args([
        "push",
        example().to_str().unwrap(),
        "--registry",
        &target,
        "--ca-file",
        &ca,
    ]);
    creds(&mut push);
    Run::of(push.output().unwrap()).expect(0);

    // `sync` of the target with `key` and `extra`, the registry credential in the environment.
    let sync = |key: &str, extra: &[&str]| {
        let mut cmd = packpub_for(&palette, key);
        cmd.args(["sync", "--registry", &target, "--ca-file", &ca])
            .args(extra);
        creds(&mut cmd);
        Run::of(cmd.output().unwrap())
    };

    // Without --register: says how.
    let hint = sync(ADMIN_KEY, &[]).expect(8);
    assert_said(&hint, "packpub sync --register");

    // The stand-in is on http://: the password is not handed over unless the user says so.
    let clear = sync(ADMIN_KEY, &["--register"]).expect(2);
    assert_said(
        &clear,
        &format!(
            "refusing to send the password for {} to Palette at {}",
            registry.host(),
            palette.url()
        ),
    );
    assert_said(&clear, "--send-password-in-clear-text");
    assert!(
        palette
            .requests()
            .iter()
            .all(|r| r.method != "POST" && !r.body.contains("r0bot-pw")),
        "nothing was posted to Palette"
    );
    let register = ["--register", "--send-password-in-clear-text"];

    // A key without tenant-admin rights: exit 4, nothing created.
    let refused = sync(USER_KEY, &register).expect(4);
    assert_said(&refused, "tenant admin");
    assert!(palette.registries().is_empty());

    // --dry-run: Palette validates, nothing is created.
    let dry = sync(ADMIN_KEY, &[&register[..], &["--dry-run"]].concat()).expect(0);
    assert_said(&dry, "dry run: Palette can log in to");
    assert!(palette.registries().is_empty());

    let registered = sync(
        ADMIN_KEY,
        &[
            "hello:1.0.0",
            "--register",
            "--send-password-in-clear-text",
            "--palette-registry",
            "harbor-lab",
            "--json",
        ],
    )
    .expect(0);
    let registries = palette.registries();
    assert_eq!(registries.len(), 1);
    let spec = &registries[0]["spec"];
    assert_eq!(registries[0]["metadata"]["name"], "harbor-lab");
    assert_eq!(spec["endpoint"], format!("https://{}", registry.host()));
    assert_eq!(spec["baseContentPath"], "proj");
    assert_eq!(spec["providerType"], "pack");
    assert_eq!(spec["auth"]["type"], "basic");
    assert_eq!(spec["auth"]["username"], "robot$proj+ci");
    assert!(
        spec["auth"]["tls"]["ca"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    assert_eq!(registered.json()["packs"][0]["visible"], true);
    // The password went to Palette, by request, and nowhere else.
    assert!(!registered.stderr.contains("r0bot-pw") && !registered.stdout.contains("r0bot-pw"));

    // A second --register finds it instead of creating another.
    sync(ADMIN_KEY, &register).expect(0);
    assert_eq!(palette.registries().len(), 1);
    assert_no_key(&[&hint, &clear, &refused, &dry, &registered]);
}

#[test]
fn a_wrong_key_exits_4_and_an_unreachable_palette_exits_7() {
    let (registry, palette, _) = lab();
    let target = format!("{}/proj", registry.host());
    let wrong = run_for(
        &palette,
        "not-a-key",
        &["sync", "--registry", &target, "--plain-http"],
    )
    .expect(4);
    assert_said(&wrong, "refused the API key (401");
    assert!(!wrong.stderr.contains("not-a-key"));

    let mut cmd = packpub();
    cmd.env("SPECTROCLOUD_HOST", "http://127.0.0.1:1")
        .env("SPECTROCLOUD_APIKEY", ADMIN_KEY)
        .args(["sync", "--registry", &target, "--plain-http"]);
    let unreachable = Run::of(cmd.output().unwrap()).expect(7);
    assert_said(&unreachable, "cannot reach Palette at 127.0.0.1:1");

    let mut cmd = packpub();
    cmd.env("SPECTROCLOUD_HOST", palette.url()).args([
        "sync",
        "--registry",
        &target,
        "--plain-http",
    ]);
    let keyless = Run::of(cmd.output().unwrap()).expect(4);
    assert_said(&keyless, "no Palette API key");
    assert_no_key(&[&wrong, &unreachable, &keyless]);
}

#[test]
fn two_registries_at_the_target_ask_for_one_by_name() {
    let (registry, palette, first) = lab();
    let second = palette.add_registry(
        "lab-too",
        &format!("http://{}", registry.host()),
        "/proj/",
        None,
    );
    let target = format!("{}/proj", registry.host());
    let asked = run_for(
        &palette,
        ADMIN_KEY,
        &["sync", "--registry", &target, "--plain-http"],
    )
    .expect(2);
    assert_said(&asked, "2 Palette registries point at");
    assert_said(&asked, "--palette-registry NAME");
    run_for(
        &palette,
        ADMIN_KEY,
        &[
            "sync",
            "--registry",
            &target,
            "--plain-http",
            "--palette-registry",
            "lab-too",
        ],
    )
    .expect(0);
    assert_eq!(
        (palette.sync_count(&first), palette.sync_count(&second)),
        (0, 1)
    );
}

#[test]
fn a_running_sync_is_waited_for_not_forced() {
    let (registry, palette, uid) = lab();
    let target = format!("{}/proj", registry.host());
    run(&[
        "push",
        example().to_str().unwrap(),
        "--registry",
        &target,
        "--plain-http",
    ])
    .expect(0);
    palette.start_sync_now(&uid);
    let waited = run_for(
        &palette,
        ADMIN_KEY,
        &["sync", "hello:1.0.0", "--registry", &target, "--plain-http"],
    )
    .expect(0);
    assert_said(&waited, "a sync of lab is already running; waiting for it");
    assert_eq!(palette.sync_count(&uid), 1);
    let posts = palette
        .requests()
        .iter()
        .filter(|s| s.method == "POST")
        .count();
    assert_eq!(posts, 0);
}

#[test]
fn too_many_requests_waits_for_retry_after() {
    let (registry, palette, uid) = lab();
    let target = format!("{}/proj", registry.host());
    run(&[
        "push",
        example().to_str().unwrap(),
        "--registry",
        &target,
        "--plain-http",
    ])
    .expect(0);
    palette.throttle_next(3);
    let synced = run_for(
        &palette,
        ADMIN_KEY,
        &[
            "-v",
            "sync",
            "hello:1.0.0",
            "--registry",
            &target,
            "--plain-http",
        ],
    )
    .expect(0);
    assert_eq!(
        synced
            .stderr
            .matches("Palette asks to slow down (429); waiting 1.0 s")
            .count(),
        3
    );
    let seen = palette.requests();
    assert_eq!(seen.iter().filter(|s| s.status == 429).count(), 3);
    // The three refused requests were the same call, asked again, not skipped.
    assert!(seen[..4].iter().all(|s| s.url == seen[0].url), "{seen:?}");
    assert_eq!(palette.sync_count(&uid), 1);
}

#[test]
fn login_palette_stores_the_key_and_sync_finds_it() {
    let (registry, palette, uid) = lab();
    let target = format!("{}/proj", registry.host());
    let docker = TempDir::new().unwrap();
    let mut login = packpub();
    login
        .args([
            "login",
            "--palette",
            &palette.url(),
            "--password-stdin",
            "--store",
            "docker",
        ])
        .env("DOCKER_CONFIG", docker.path());
    let stored = with_stdin(login, ADMIN_KEY).expect(0);
    let config: Value =
        serde_json::from_slice(&std::fs::read(docker.path().join("config.json")).unwrap()).unwrap();
    let host = palette.url().trim_start_matches("http://").to_string();
    assert!(
        config["auths"][format!("palette-api-key.{host}")].is_object(),
        "{config}"
    );

    let mut cmd = packpub();
    cmd.env("SPECTROCLOUD_HOST", palette.url())
        .env("DOCKER_CONFIG", docker.path())
        .args(["-v", "sync", "--registry", &target, "--plain-http"]);
    let synced = Run::of(cmd.output().unwrap()).expect(0);
    assert_said(&synced, "Palette API key: auths in");
    assert_eq!(palette.sync_count(&uid), 1);

    // A wrong key is checked before anything is stored.
    let other = TempDir::new().unwrap();
    let mut login = packpub();
    login
        .args([
            "login",
            "--palette",
            &palette.url(),
            "--password-stdin",
            "--store",
            "docker",
        ])
        .env("DOCKER_CONFIG", other.path());
    let refused = with_stdin(login, "wrong-key").expect(4);
    assert!(!other.path().join("config.json").exists());
    assert_no_key(&[&stored, &synced, &refused]);
}

#[test]
fn push_dry_run_with_sync_checks_the_palette_side_and_triggers_nothing() {
    let (registry, palette, uid) = lab();
    let target = format!("{}/proj", registry.host());
    let checked = run_for(
        &palette,
        ADMIN_KEY,
        &[
            "push",
            example().to_str().unwrap(),
            "--registry",
            &target,
            "--plain-http",
            "--sync",
            "--dry-run",
        ],
    )
    .expect(0);
    assert_said(&checked, "dry run: Palette registry lab points at");
    assert_eq!(palette.sync_count(&uid), 0);
    assert!(palette.requests().iter().all(|s| s.method == "GET"));
    // A wrong key is found out by the dry run too.
    run_for(
        &palette,
        "wrong",
        &[
            "push",
            example().to_str().unwrap(),
            "--registry",
            &target,
            "--plain-http",
            "--sync",
            "--dry-run",
        ],
    )
    .expect(4);
}

/// The API key travels in a header reqwest would carry anywhere a redirect points: Palette's
/// redirects are not followed, and the host they name sees nothing.
#[test]
fn the_api_key_never_follows_a_redirect() {
    use crate::support::hostile::{Reply, Server};
    let elsewhere = Server::start(|_| Reply::json(&serde_json::json!({"items": []})));
    let to = format!("http://{}/v1/registries/oci/summary", elsewhere.host());
    let palette = Server::start(move |_| Reply::status(307).header("Location", &to));
    let mut cmd = packpub();
    cmd.env("SPECTROCLOUD_HOST", format!("http://{}", palette.host()))
        .env("SPECTROCLOUD_APIKEY", ADMIN_KEY)
        .args(["sync", "--registry", "127.0.0.1:1/proj", "--plain-http"]);
    let refused = Run::of(cmd.output().unwrap());
    assert_ne!(refused.code, 0, "{}", refused.stderr);
    assert_said(&refused, "answered 307");
    assert!(elsewhere.seen().is_empty(), "{:?}", elsewhere.seen());
    assert_no_key(&[&refused]);
}

/// A sync already running read the registry before this push: when it ends without the pack,
/// packpub starts one of its own and waits for that.
#[test]
fn a_running_sync_that_missed_the_push_is_followed_by_a_new_one() {
    let (registry, palette, uid) = lab();
    let target = format!("{}/proj", registry.host());
    palette.start_sync_now(&uid);
    palette.wait_until_read(&uid);
    run(&[
        "push",
        example().to_str().unwrap(),
        "--registry",
        &target,
        "--plain-http",
    ])
    .expect(0);
    let synced = run_for(
        &palette,
        ADMIN_KEY,
        &[
            "-v",
            "sync",
            "hello:1.0.0",
            "--registry",
            &target,
            "--plain-http",
        ],
    )
    .expect(0);
    assert_said(&synced, "a sync of lab is already running; waiting for it");
    assert_said(
        &synced,
        "the sync that was running has ended; sync of lab triggered",
    );
    assert_eq!(palette.sync_count(&uid), 2);
    assert_eq!(palette.visible(&uid), ["hello:1.0.0"]);
}

/// `sync` of [`lab`]'s target with the admin key.
fn sync_of_lab(registry: &Registry, palette: &Palette) -> Command {
    let mut cmd = packpub_for(palette, ADMIN_KEY);
    cmd.args([
        "sync",
        "--registry",
        &format!("{}/proj", registry.host()),
        "--plain-http",
    ]);
    cmd
}

#[test]
fn a_project_uid_with_a_line_break_is_a_usage_error_before_any_request() {
    let (registry, palette, _) = lab();
    let mut cmd = sync_of_lab(&registry, &palette);
    cmd.env(
        "SPECTROCLOUD_DEFAULT_PROJECT_ID",
        "5eea74e9f3d81c9a2ff3a7c0\r\nX-Injected: 1",
    );
    let run = Run::of(cmd.output().unwrap()).expect(2);
    assert_said(
        &run,
        r#""5eea74e9f3d81c9a2ff3a7c0\r\nX-Injected: 1" is not a Palette uid"#,
    );
    assert!(palette.requests().is_empty());
}

#[test]
fn palette_on_loopback_is_reached_directly_whatever_the_proxy_variables_say() {
    let (registry, palette, uid) = lab();
    // No proxy listens there: a request sent through it would fail.
    let nowhere = format!(
        "http://127.0.0.1:{}",
        free_port("127.0.0.1".parse().unwrap())
    );
    let mut cmd = sync_of_lab(&registry, &palette);
    for proxy in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
        "ALL_PROXY",
    ] {
        cmd.env(proxy, &nowhere);
    }
    Run::of(cmd.output().unwrap()).expect(0);
    assert_eq!(palette.sync_count(&uid), 1);
}

/// `push PACK --registry TARGET --plain-http --sync`.
fn push_sync<'a>(pack: &'a std::path::Path, target: &'a str) -> Vec<&'a str> {
    let pack = pack.to_str().unwrap();
    vec!["push", pack, "--registry", target, "--plain-http", "--sync"]
}

/// `--sync` is checked before the first byte is pushed: without a key, or with no Palette
/// registry for TARGET, nothing is published and the run says so.
#[test]
fn push_sync_checks_palette_before_pushing_anything() {
    let registry = Registry::plain();
    let palette = Palette::start(Options::default());
    let target = format!("{}/proj", registry.host());
    let pack = example();
    let push = push_sync(&pack, &target);
    let mut keyless = packpub();
    keyless.env("SPECTROCLOUD_HOST", palette.url()).args(&push);
    let refused = Run::of(keyless.output().unwrap()).expect(4);
    assert_said(&refused, "nothing was pushed");
    assert_said(&refused, "no Palette API key");
    // No registry in Palette points at TARGET: the sync's code, before any push.
    let unknown = run_for(&palette, ADMIN_KEY, &push).expect(8);
    assert_said(&unknown, "nothing was pushed");
    assert_said(&unknown, "no Palette registry");
    let listed = run(&["ls", "--registry", &target, "--plain-http", "--json"]).expect(0);
    assert_eq!(listed.json(), serde_json::json!([]), "{}", listed.stderr);
}

/// A sync that fails after a good push fails the run as a sync (8), never as a push, and the
/// JSON document holds both the published packs and the sync's error.
#[test]
fn a_sync_that_fails_after_a_good_push_says_pushed_and_exits_8() {
    let registry = Registry::plain();
    let palette = Palette::start(Options {
        sync_duration: Duration::from_secs(60),
        ..Options::default()
    });
    palette.add_registry("lab", &format!("http://{}", registry.host()), "proj", None);
    let target = format!("{}/proj", registry.host());
    let pack = example();
    let mut args = push_sync(&pack, &target);
    args.extend(["--timeout", "2"]);
    let human = run_for(&palette, ADMIN_KEY, &args).expect(8);
    assert_said(&human, "pushed hello 1.0.0");
    assert_said(&human, "pushed; not yet visible in Palette");
    args.push("--json");
    let json = run_for(&palette, ADMIN_KEY, &args).expect(8);
    let doc = json.json();
    assert_eq!(doc["packs"][0]["status"], "unchanged", "{doc}");
    assert_eq!(doc["sync"]["exit_code"], 8, "{doc}");
    let error = doc["sync"]["error"].as_str().unwrap();
    assert!(
        error.starts_with("pushed; not yet visible in Palette"),
        "{error}"
    );
}
