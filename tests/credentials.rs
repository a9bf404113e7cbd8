//! Credentials the way real registries issue them (issue 10): OAuth identity tokens traded at
//! the token service, Harbor robot accounts (`robot$project+name`) from every source, tokens
//! that run out during a push, and a helper's password that changed under a run. Against real
//! Distribution registries with htpasswd or a Harbor-style token issuer.

use crate::support::registry::{Issuing, REFRESH_TOKEN, Registry};
use crate::support::*;
use base64::Engine;
use std::fs;
use std::path::Path;
use std::process::Command;
use tempfile::TempDir;

const ROBOT: &str = "robot$proj+ci";
const PASSWORD: &str = "r0bot-S3cret";

/// A docker config folder in `home` holding `config`.
fn docker_config(home: &Path, config: serde_json::Value) -> std::path::PathBuf {
    let dir = home.join("docker");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("config.json"), config.to_string()).unwrap();
    dir
}

/// Push of the example to `registry`'s project `proj` over plain HTTP, `-v`.
fn push_cmd(registry: &Registry) -> Command {
    let mut cmd = packpub();
    cmd.args(["-v", "push", example().to_str().unwrap()])
        .args(["--registry", &format!("{}/proj", registry.host())])
        .arg("--plain-http");
    cmd
}

fn assert_no_secret(run: &Run, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{secret:?} leaked:\n{}",
            run.stderr
        );
    }
}

#[test]
fn an_identity_token_is_traded_at_the_token_service_never_sent_to_the_registry() {
    let registry = Registry::token_with(ROBOT, PASSWORD, Issuing::default());
    let home = TempDir::new().unwrap();
    let docker = docker_config(
        home.path(),
        serde_json::json!({"auths": {registry.host(): {"auth": "", "identitytoken": REFRESH_TOKEN}}}),
    );
    let pushed = Run::of(
        push_cmd(&registry)
            .env("DOCKER_CONFIG", &docker)
            .output()
            .unwrap(),
    )
    .expect(0);
    assert!(
        pushed.stderr.contains("the identity token for ")
            && pushed.stderr.contains("goes to its token service on"),
        "{}",
        pushed.stderr
    );
    assert_no_secret(&pushed, &[REFRESH_TOKEN]);
    let asked = registry.token_requests();
    assert!(!asked.is_empty());
    assert!(
        asked.iter().all(|(method, grant, granted)| method == "POST"
            && grant == "refresh_token"
            && *granted),
        "{asked:?}"
    );
    let verify = Run::of(
        packpub()
            .args(["verify", "hello:1.0.0", "--plain-http"])
            .args(["--registry", &format!("{}/proj", registry.host())])
            .env("DOCKER_CONFIG", &docker)
            .output()
            .unwrap(),
    );
    verify.expect(0);

    // A refresh token the service did not issue: refused, exit 4, nothing pushed.
    let other = TempDir::new().unwrap();
    let docker = docker_config(
        other.path(),
        serde_json::json!({"auths": {registry.host(): {"identitytoken": "not-issued-here"}}}),
    );
    let mut cmd = push_cmd(&registry);
    cmd.args(["--force"]).env("DOCKER_CONFIG", &docker);
    let refused = Run::of(cmd.output().unwrap()).expect(4);
    assert!(
        refused.stderr.contains("answered 401 Unauthorized"),
        "{}",
        refused.stderr
    );
    assert_no_secret(&refused, &["not-issued-here"]);
}

#[test]
fn harbor_robot_accounts_work_from_flags_environment_docker_config_and_keyring() {
    for registry in [
        Registry::token_with(ROBOT, PASSWORD, Issuing::default()),
        Registry::tls_basic(ROBOT, PASSWORD),
    ] {
        let home = TempDir::new().unwrap();
        let tls = registry.ca_pem().is_some();
        let transport: Vec<String> = match registry.ca_pem() {
            Some(ca) => vec!["--ca-file".into(), ca.display().to_string()],
            None => vec!["--plain-http".into()],
        };
        let target = format!("{}/proj", registry.host());
        let mut version = 0;
        let mut push = |setup: &dyn Fn(&mut Command)| {
            version += 1;
            let dir = example_in(home.path(), &format!("hello-1.0.{version}"));
            edit_pack_json(&dir, |doc| doc["version"] = format!("1.0.{version}").into());
            let mut cmd = packpub();
            cmd.args(["push", dir.to_str().unwrap(), "--registry", &target])
                .args(&transport);
            setup(&mut cmd);
            let pushed = if cmd.get_args().any(|a| a == "--password-stdin") {
                with_stdin(cmd, PASSWORD)
            } else {
                Run::of(cmd.output().unwrap())
            };
            assert_no_secret(&pushed, &[PASSWORD]);
            pushed.expect(0);
        };
        push(&|cmd| {
            cmd.args(["-u", ROBOT, "--password-stdin"]);
        });
        push(&|cmd| {
            cmd.env("PACKPUB_USERNAME", ROBOT)
                .env("PACKPUB_PASSWORD", PASSWORD);
        });
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{ROBOT}:{PASSWORD}"));
        let docker = docker_config(
            home.path(),
            serde_json::json!({"auths": {registry.host(): {"auth": auth}}}),
        );
        push(&|cmd| {
            cmd.env("DOCKER_CONFIG", &docker);
        });
        // The OS keyring, when the suite runs inside tests/run.sh's Secret Service.
        if let Ok(bus) = std::env::var("DBUS_SESSION_BUS_ADDRESS") {
            let mut login = packpub();
            login
                .args(["login", registry.host(), "-u", ROBOT, "--password-stdin"])
                .args(&transport)
                .args(["--store", "keyring"])
                .env("DBUS_SESSION_BUS_ADDRESS", &bus);
            with_stdin(login, PASSWORD).expect(0);
            push(&|cmd| {
                cmd.env("DBUS_SESSION_BUS_ADDRESS", &bus);
            });
            let mut logout = packpub();
            logout
                .args(["logout", registry.host()])
                .env("DBUS_SESSION_BUS_ADDRESS", &bus);
            Run::of(logout.output().unwrap()).expect(0);
        } else {
            eprintln!("SKIPPED (keyring): no session bus; tests/run.sh starts one");
        }
        assert!(version >= 3, "tls {tls}");
    }
}

/// The issuer's first token is already past its end (and past Distribution's 60-second
/// leeway), as a token is that ran out during a long upload: the registry answers 401, the
/// token is renewed, and the push completes.
#[test]
fn a_token_that_ran_out_is_renewed_and_the_push_completes() {
    let registry = Registry::token_with(ROBOT, PASSWORD, Issuing { expired_first: 1 });
    let pushed = Run::of(
        push_cmd(&registry)
            .env("PACKPUB_USERNAME", ROBOT)
            .env("PACKPUB_PASSWORD", PASSWORD)
            .output()
            .unwrap(),
    )
    .expect(0);
    assert!(
        pushed.stderr.contains("pushed hello 1.0.0"),
        "{}",
        pushed.stderr
    );
    let asked = registry.token_requests();
    // The expired one, its renewal, and the other scopes' tokens.
    assert!(asked.len() >= 2, "{asked:?}");
    assert!(
        asked
            .iter()
            .all(|(_, grant, granted)| grant == "password" && *granted)
    );
}

/// A helper whose first answer is a stale password and whose next is the current one (an ECR
/// password that rotated): the registry's refusal makes packpub ask the helper once more.
#[test]
fn a_helper_is_asked_again_once_when_the_registry_refuses_its_password() {
    for registry in [
        Registry::tls_basic(ROBOT, PASSWORD),
        Registry::token_with(ROBOT, PASSWORD, Issuing::default()),
    ] {
        let home = TempDir::new().unwrap();
        let bin = home.path().join("bin");
        fs::create_dir(&bin).unwrap();
        let asked = home.path().join("asked");
        let script = format!(
            "#!/bin/sh\ncat >/dev/null\nif [ -f {asked} ]; then secret='{PASSWORD}'; else secret=stale; fi\n\
             echo get >> {asked}\nprintf '{{\"ServerURL\":\"x\",\"Username\":\"%s\",\"Secret\":\"%s\"}}' '{ROBOT}' \"$secret\"\n",
            asked = asked.display()
        );
        let helper = bin.join("docker-credential-rotating");
        fs::write(&helper, script).unwrap();
        set_mode(&helper, 0o755);
        let docker = docker_config(
            home.path(),
            serde_json::json!({"credHelpers": {registry.host(): "rotating"}}),
        );
        let mut cmd = packpub();
        cmd.args([
            "-v",
            "ls",
            "--registry",
            &format!("{}/proj", registry.host()),
        ])
        .env("DOCKER_CONFIG", &docker)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        );
        match registry.ca_pem() {
            Some(ca) => cmd.arg("--ca-file").arg(ca),
            None => cmd.arg("--plain-http"),
        };
        let listed = Run::of(cmd.output().unwrap()).expect(0);
        assert!(
            listed.stderr.contains(
                "refused the credential from the docker credential helper; it gave a new one"
            ),
            "{}",
            listed.stderr
        );
        assert_eq!(fs::read_to_string(&asked).unwrap().lines().count(), 2);
        assert_no_secret(&listed, &[PASSWORD]);
    }
}

/// A token service that answers the identity-token POST with a 307 elsewhere: the refresh
/// token is not sent again there (307/308 keep the body, so they are not followed).
#[test]
fn an_identity_token_never_follows_a_redirect() {
    use crate::support::hostile::{Reply, Server};
    let elsewhere = Server::start(|_| Reply::json(&serde_json::json!({"access_token": "t"})));
    let to = format!("http://{}/token", elsewhere.host());
    let realm = Server::start(move |_| Reply::status(307).header("Location", &to));
    let challenge = format!(
        r#"Bearer realm="http://{}/token",service="x""#,
        realm.host()
    );
    let registry =
        Server::start(move |_| Reply::status(401).header("WWW-Authenticate", &challenge));
    let home = TempDir::new().unwrap();
    let docker = docker_config(
        home.path(),
        serde_json::json!({"auths": {registry.host(): {"identitytoken": REFRESH_TOKEN}}}),
    );
    let listed = Run::of(
        packpub()
            .args(["ls", "--registry", &registry.host(), "--plain-http"])
            .env("DOCKER_CONFIG", &docker)
            .output()
            .unwrap(),
    )
    .expect(4);
    assert!(elsewhere.seen().is_empty(), "{:?}", elsewhere.seen());
    assert_eq!(realm.seen().len(), 1);
    assert!(realm.seen()[0].body.contains("grant_type=refresh_token"));
    assert_no_secret(&listed, &[REFRESH_TOKEN]);
}
