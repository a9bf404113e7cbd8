//! `packpub login` / `logout` with a real Secret Service (gnome-keyring, started by
//! tests/run.sh under dbus-run-session), without one (docker's config as the fallback), and
//! with a docker credential helper. Secrets must never show up in output or on disk.

use crate::support::registry::Registry;
use crate::support::*;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use tempfile::TempDir;

const PASSWORD: &str = "Kx9-login-s3cret";

/// The session bus of the Secret Service tests/run.sh started; these tests need it.
fn bus() -> String {
    std::env::var("DBUS_SESSION_BUS_ADDRESS").expect(
        "no session bus: run the suite through tests/run.sh, which starts gnome-keyring under dbus-run-session",
    )
}

fn secret_tool(args: &[&str]) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(args)
        .env("DBUS_SESSION_BUS_ADDRESS", bus())
        .output()
        .expect("secret-tool (apt-get install libsecret-tools)");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn login(reg: &Registry, docker: &Path, keyring: bool, password: &str, extra: &[&str]) -> Run {
    let mut cmd = packpub();
    cmd.args(["login", reg.host(), "-u", "alice", "--password-stdin", "-v"])
        .args(["--ca-file", reg.ca_pem_path().to_str().unwrap()])
        .args(extra)
        .env("DOCKER_CONFIG", docker);
    if keyring {
        cmd.env("DBUS_SESSION_BUS_ADDRESS", bus());
    }
    with_stdin(cmd, &format!("{password}\n"))
}

fn push(reg: &Registry, docker: &Path, keyring: bool, pack: &Path) -> Run {
    let mut cmd = packpub();
    cmd.args([
        "push",
        pack.to_str().unwrap(),
        "--registry",
        &format!("{}/proj", reg.host()),
        "-v",
    ])
    .args(["--ca-file", reg.ca_pem_path().to_str().unwrap()])
    .env("DOCKER_CONFIG", docker);
    if keyring {
        cmd.env("DBUS_SESSION_BUS_ADDRESS", bus());
    }
    Run::of(cmd.output().unwrap())
}

fn logout(host: &str, docker: &Path, keyring: bool, extra: &[&str]) -> Run {
    let mut cmd = packpub();
    cmd.args(["logout", host])
        .args(extra)
        .env("DOCKER_CONFIG", docker);
    if keyring {
        cmd.env("DBUS_SESSION_BUS_ADDRESS", bus());
    }
    Run::of(cmd.output().unwrap())
}

fn assert_no_secret(run: &Run) {
    let b64 = base64_of(&format!("alice:{PASSWORD}"));
    for text in [&run.stdout, &run.stderr] {
        assert!(
            !text.contains(PASSWORD) && !text.contains(&b64),
            "the secret leaked:\n{text}"
        );
    }
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Every byte of every file under `dir`, searched for the password and its base64.
fn secret_on_disk(dir: &Path) -> bool {
    let b64 = base64_of(&format!("alice:{PASSWORD}"));
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    entries.map(|e| e.unwrap().path()).any(|path| {
        if path.is_dir() {
            return secret_on_disk(&path);
        }
        let bytes = String::from_utf8_lossy(&fs::read(&path).unwrap_or_default()).into_owned();
        bytes.contains(PASSWORD) || bytes.contains(&b64)
    })
}

#[cfg(target_os = "linux")]
#[test]
fn keyring_login_push_logout() {
    let reg = Registry::tls_basic("alice", PASSWORD);
    let home = TempDir::new().unwrap();
    let docker = home.path().join("docker");

    let run = login(&reg, &docker, true, PASSWORD, &[]);
    assert_no_secret(&run);
    let run = run.expect(0);
    assert!(
        run.stderr
            .contains(&format!("Login succeeded for {}", reg.host())),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("OS keyring"), "{}", run.stderr);
    let stored = secret_tool(&["lookup", "service", "packpub", "username", reg.host()])
        .expect("secret-tool finds the entry");
    assert!(stored.contains("alice"), "entry: {}", stored.len());

    // push finds it with no env and no docker config.
    let run = push(&reg, &docker, true, &example());
    assert_no_secret(&run);
    let run = run.expect(0);
    assert!(
        run.stderr.contains("credentials for") && run.stderr.contains("OS keyring"),
        "{}",
        run.stderr
    );
    assert!(!secret_on_disk(home.path()), "the secret is on disk");

    let run = logout(reg.host(), &docker, true, &[]).expect(0);
    assert!(
        run.stderr.contains("the OS keyring entry"),
        "{}",
        run.stderr
    );
    assert!(secret_tool(&["lookup", "service", "packpub", "username", reg.host()]).is_none());
    let run = logout(reg.host(), &docker, true, &[]).expect(0);
    assert!(run.stderr.contains("not logged in"), "{}", run.stderr);
}

#[test]
fn without_a_keyring_login_falls_back_to_docker_config() {
    let reg = Registry::tls_basic("alice", PASSWORD);
    let home = TempDir::new().unwrap();
    let docker = home.path().join("docker");
    fs::create_dir(&docker).unwrap();
    let other = serde_json::json!({
        "auths": {"other.example.com": {"auth": base64_of("bob:x")}},
        "currentContext": "desktop-linux",
        "plugins": {"x": {"y": "z"}}
    });
    fs::write(docker.join("config.json"), other.to_string()).unwrap();

    let run = login(&reg, &docker, false, PASSWORD, &[]).expect(0);
    assert!(
        run.stderr.contains("no OS keyring is reachable"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("falling back to docker's config"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("only base64-encoded"), "{}", run.stderr);
    let path = docker.join("config.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let config: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(config["currentContext"], "desktop-linux");
    assert_eq!(config["plugins"]["x"]["y"], "z");
    assert_eq!(
        config["auths"]["other.example.com"]["auth"],
        base64_of("bob:x")
    );
    assert_eq!(
        config["auths"][reg.host()]["auth"],
        base64_of(&format!("alice:{PASSWORD}"))
    );

    let run = push(&reg, &docker, false, &example());
    assert_no_secret(&run);
    assert!(run.expect(0).stderr.contains("auths in"));

    // A URL form of the host is the same registry.
    logout(&format!("https://{}/", reg.host()), &docker, false, &[]).expect(0);
    let config: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert!(config["auths"].get(reg.host()).is_none(), "{config}");
    assert_eq!(
        config["auths"]["other.example.com"]["auth"],
        base64_of("bob:x"),
        "another tool's entry survives"
    );
}

#[test]
fn logout_leaves_other_tools_entries_unless_all() {
    let home = TempDir::new().unwrap();
    let docker = home.path().join("docker");
    fs::create_dir(&docker).unwrap();
    let config = serde_json::json!({"auths": {"harbor.example.com": {"auth": base64_of("bob:x")}}});
    fs::write(docker.join("config.json"), config.to_string()).unwrap();
    let run = logout("Harbor.Example.com:443", &docker, false, &[]).expect(0);
    assert!(run.stderr.contains("not logged in"), "{}", run.stderr);
    let run = logout("harbor.example.com", &docker, false, &["--all"]).expect(0);
    assert!(run.stderr.contains("auths entry"), "{}", run.stderr);
    let config: serde_json::Value =
        serde_json::from_slice(&fs::read(docker.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["auths"], serde_json::json!({}));
}

#[test]
fn docker_credential_helper_for_store_get_and_erase() {
    let reg = Registry::tls_basic("alice", PASSWORD);
    let home = TempDir::new().unwrap();
    let docker = home.path().join("docker");
    fs::create_dir(&docker).unwrap();
    fs::write(
        docker.join("config.json"),
        serde_json::json!({"credHelpers": {reg.host(): "filestore"}}).to_string(),
    )
    .unwrap();
    // A helper that keeps one credential in a file, speaking docker's protocol.
    let bin = home.path().join("bin");
    fs::create_dir(&bin).unwrap();
    let db = home.path().join("helper-db.json");
    let log = home.path().join("helper.log");
    let script = format!(
        "#!/bin/sh\ninput=$(cat)\necho \"$1\" >> {log}\ncase \"$1\" in\n  store) printf '%s' \"$input\" > {db} ;;\n  get) [ -f {db} ] && cat {db} || {{ echo 'credentials not found in native keychain'; exit 1; }} ;;\n  erase) rm -f {db} ;;\nesac\n",
        log = log.display(),
        db = db.display()
    );
    let helper = bin.join("docker-credential-filestore");
    fs::write(&helper, script).unwrap();
    set_mode(&helper, 0o755);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());

    let mut cmd = packpub();
    cmd.args([
        "login",
        reg.host(),
        "-u",
        "alice",
        "--password-stdin",
        "--store",
        "docker",
    ])
    .args(["--ca-file", reg.ca_pem_path().to_str().unwrap()])
    .env("DOCKER_CONFIG", &docker)
    .env("PATH", &path);
    let run = with_stdin(cmd, &format!("{PASSWORD}\n"));
    assert_no_secret(&run);
    assert!(run.expect(0).stderr.contains("docker-credential-filestore"));
    let stored: serde_json::Value = serde_json::from_slice(&fs::read(&db).unwrap()).unwrap();
    assert_eq!(stored["Username"], "alice");
    assert_eq!(stored["ServerURL"], reg.host());

    let mut cmd = packpub();
    cmd.args([
        "push",
        example().to_str().unwrap(),
        "--registry",
        reg.host(),
        "-v",
    ])
    .args(["--ca-file", reg.ca_pem_path().to_str().unwrap()])
    .env("DOCKER_CONFIG", &docker)
    .env("PATH", &path);
    let run = Run::of(cmd.output().unwrap());
    assert_no_secret(&run);
    assert!(
        run.expect(0)
            .stderr
            .contains("docker credential helper docker-credential-filestore")
    );

    let mut cmd = packpub();
    cmd.args(["logout", reg.host()])
        .env("DOCKER_CONFIG", &docker)
        .env("PATH", &path);
    let run = Run::of(cmd.output().unwrap()).expect(0);
    assert!(
        run.stderr.contains("docker-credential-filestore entry"),
        "{}",
        run.stderr
    );
    assert!(!db.exists());
    assert_eq!(
        fs::read_to_string(&log)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["store", "get", "erase"]
    );
}

#[cfg(target_os = "linux")]
#[test]
fn wrong_password_stores_nothing_anywhere() {
    let reg = Registry::tls_basic("alice", PASSWORD);
    let home = TempDir::new().unwrap();
    let docker = home.path().join("docker");
    for keyring in [true, false] {
        let run = login(&reg, &docker, keyring, "not-the-password", &[]).expect(4);
        assert!(
            run.stderr
                .contains(&format!("authentication failed for {}", reg.host())),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("not-the-password"), "{}", run.stderr);
    }
    assert!(secret_tool(&["lookup", "service", "packpub", "username", reg.host()]).is_none());
    assert!(!docker.exists(), "docker's config was written");
}

#[test]
fn login_against_a_bearer_token_registry() {
    let reg = Registry::token("robot", PASSWORD);
    let home = TempDir::new().unwrap();
    let docker = home.path().join("docker");
    let attempt = |password: &str| {
        let mut cmd = packpub();
        cmd.args([
            "login",
            reg.host(),
            "-u",
            "robot",
            "--password-stdin",
            "--plain-http",
            "--store",
            "docker",
        ])
        .env("DOCKER_CONFIG", &docker);
        with_stdin(cmd, &format!("{password}\n"))
    };
    attempt("wrong").expect(4);
    assert!(
        !docker.join("config.json").exists(),
        "a wrong password was stored"
    );
    let run = attempt(PASSWORD).expect(0);
    assert!(
        run.stderr
            .contains(&format!("Login succeeded for {}", reg.host())),
        "{}",
        run.stderr
    );
    let config = fs::read_to_string(docker.join("config.json")).unwrap();
    assert!(
        config.contains(&base64_of(&format!("robot:{PASSWORD}"))),
        "{config}"
    );
    // The stored credential is what the next command uses: push with nothing else given.
    let mut cmd = packpub();
    cmd.args([
        "push",
        example().to_str().unwrap(),
        "--registry",
        reg.host(),
        "--plain-http",
        "-v",
    ])
    .env("DOCKER_CONFIG", &docker);
    let run = Run::of(cmd.output().unwrap()).expect(0);
    assert!(run.stderr.contains("auths in"), "{}", run.stderr);
}

#[test]
fn a_password_can_only_come_from_stdin_or_a_prompt() {
    let run = run(&["login", "127.0.0.1:1", "-u", "alice", "--password", "x"]).expect(2);
    assert!(run.stderr.contains("--password"), "{}", run.stderr);
    // Asked only once the registry answered: login checks it before any password.
    let reg = Registry::plain();
    let mut cmd = packpub();
    cmd.args(["login", reg.host(), "-u", "alice", "--plain-http"])
        .stdin(Stdio::null());
    let run = Run::of(cmd.output().unwrap()).expect(2);
    assert!(run.stderr.contains("--password-stdin"), "{}", run.stderr);
}
