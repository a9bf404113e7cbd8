//! Registries where users really have them (issue 10): behind a real nginx that terminates TLS
//! with Distribution's self-signed recipe or a private CA, asks for client certificates, or
//! limits body sizes; reached through a real forward proxy; over IPv6. Every case drives the
//! built binary through all the verbs a user would run there.

use crate::support::certs::{self, Pem};
use crate::support::forward_proxy::ForwardProxy;
use crate::support::nginx::Nginx;
use crate::support::proxy::{Fault, Proxy};
use crate::support::registry::Registry;
use crate::support::*;
use base64::Engine;
use std::fs;
use std::path::Path;
use std::process::Command;
use tempfile::TempDir;

/// packpub with `HOME` set to `home`, so `$HOME/.config/containers/certs.d` is the test's own.
fn packpub_at(home: &Path) -> Command {
    let mut cmd = packpub();
    cmd.env("HOME", home);
    cmd
}

/// packpub run with `HOME` at `home` and `args`.
fn run_at(home: &Path, args: &[&str]) -> Run {
    Run::of(packpub_at(home).args(args).output().unwrap())
}

/// Runs push, verify, ls and pull --extract of the example against `target` with `extra`
/// flags, each expected to succeed; returns their stderr, joined.
fn every_verb_works(home: &Path, target: &str, extra: &[&str]) -> String {
    let out = TempDir::new().unwrap();
    let dest = out.path().join("pulled");
    let (pack, dest_text) = (example(), dest.to_str().unwrap().to_string());
    let pack = pack.to_str().unwrap();
    let runs = [
        vec!["push", pack, "--registry", target],
        vec!["verify", pack, "--registry", target],
        vec!["ls", "--registry", target],
        vec![
            "pull",
            "hello:1.0.0",
            "--extract",
            "-o",
            &dest_text,
            "--registry",
            target,
        ],
    ];
    let mut stderr = String::new();
    for args in runs {
        let done = Run::of(packpub_at(home).args(&args).args(extra).output().unwrap());
        let done = done.expect(0);
        stderr.push_str(&done.stderr);
    }
    assert_same_tree(&example(), &dest.join("hello-1.0.0"));
    stderr
}

/// A plain registry behind nginx serving `server` over HTTPS, asking for a client
/// certificate signed by `client_ca` when given.
fn behind_tls(server: &Pem, client_ca: Option<&Path>) -> (Registry, Nginx) {
    let registry = Registry::plain();
    let mut front = Nginx::in_front_of(registry.host()).tls(&server.cert, &server.key);
    if let Some(ca) = client_ca {
        front = front.client_ca(ca);
    }
    (registry, front.start())
}

#[test]
fn the_self_signed_certificate_of_distributions_recipe_is_trusted_as_its_own_ca() {
    let tmp = TempDir::new().unwrap();
    let server = certs::self_signed_server(tmp.path(), "domain");
    let (_registry, front) = behind_tls(&server, None);
    let target = format!("{}/proj", front.host());
    let ca = server.cert.to_str().unwrap();
    every_verb_works(tmp.path(), &target, &["--ca-file", ca]);

    // Without it: untrusted, exit 7, saying how to trust it.
    let refused = run_at(tmp.path(), &["ls", "--registry", &target]).expect(7);
    assert!(
        refused.stderr.contains("--ca-file") && refused.stderr.contains("certs.d"),
        "{}",
        refused.stderr
    );

    // Trusted as itself still means for its own names only: `localhost` is in it, a name that
    // is not gets exit 7.
    let by_name = format!("localhost:{}/proj", front.port());
    run_at(tmp.path(), &["ls", "--registry", &by_name, "--ca-file", ca]).expect(0);
    let other = certs::ca(tmp.path(), "other", "/CN=elsewhere.example");
    let (_registry2, front2) = behind_tls(&other, None);
    let wrong = run_at(
        tmp.path(),
        &[
            "ls",
            "--registry",
            front2.host(),
            "--ca-file",
            other.cert.to_str().unwrap(),
        ],
    )
    .expect(7);
    assert!(wrong.stderr.contains("NotValidForName"), "{}", wrong.stderr);
}

#[test]
fn certs_d_in_home_needs_no_flag_and_is_named_by_verbose() {
    let home = TempDir::new().unwrap();
    let tmp = TempDir::new().unwrap();
    let server = certs::self_signed_server(tmp.path(), "domain");
    let (_registry, front) = behind_tls(&server, None);
    let dir = home
        .path()
        .join(".config/containers/certs.d")
        .join(front.host());
    fs::create_dir_all(&dir).unwrap();
    fs::copy(&server.cert, dir.join("ca.crt")).unwrap();
    let target = format!("{}/proj", front.host());
    let stderr = every_verb_works(home.path(), &target, &["-v"]);
    assert!(
        stderr.contains(&format!(
            "trusting {} for {} (certs.d)",
            dir.join("ca.crt").display(),
            front.host()
        )),
        "{stderr}"
    );
}

/// The CA, server and client certificates of a registry that asks for client certificates.
struct Mutual {
    _dir: TempDir,
    ca: Pem,
    client: Pem,
    stranger: Pem,
}

fn mutual() -> Mutual {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let ca = certs::ca(d, "ca", "/CN=packpub test CA");
    let client = certs::client_signed_by(d, &ca, "client", "/CN=ci-robot");
    let other_ca = certs::ca(d, "other-ca", "/CN=someone else");
    let stranger = certs::client_signed_by(d, &other_ca, "stranger", "/CN=stranger");
    Mutual {
        _dir: dir,
        ca,
        client,
        stranger,
    }
}

#[test]
fn client_certificates_from_flags_and_environment_reach_a_registry_that_asks() {
    let m = mutual();
    let server = certs::server_signed_by(m._dir.path(), &m.ca, "server");
    let (_registry, front) = behind_tls(&server, Some(&m.ca.cert));
    let target = format!("{}/proj", front.host());
    let home = TempDir::new().unwrap();
    let ca = m.ca.cert.to_str().unwrap();

    // No certificate: a clear exit 4 for every verb, nothing pushed.
    let pack = example();
    for args in [
        vec!["push", pack.to_str().unwrap()],
        vec!["ls"],
        vec!["verify", "hello:1.0.0"],
        vec!["pull", "hello:1.0.0"],
    ] {
        let refused = Run::of(
            packpub_at(home.path())
                .args(&args)
                .args(["--registry", &target, "--ca-file", ca])
                .output()
                .unwrap(),
        )
        .expect(4);
        assert!(
            refused.stderr.contains(&format!(
                "{} asks for a client certificate (mutual TLS) and none was sent: pass --cert-file PEM --key-file PEM",
                front.host()
            )),
            "{args:?}: {}",
            refused.stderr
        );
    }

    // A certificate from a CA the registry does not trust: exit 4, refused.
    let stranger = run_at(
        home.path(),
        &[
            "ls",
            "--registry",
            &target,
            "--ca-file",
            ca,
            "--cert-file",
            m.stranger.cert.to_str().unwrap(),
            "--key-file",
            m.stranger.key.to_str().unwrap(),
        ],
    )
    .expect(4);
    assert!(
        stranger.stderr.contains("refused the client certificate"),
        "{}",
        stranger.stderr
    );

    let flags = [
        "--ca-file",
        ca,
        "--cert-file",
        m.client.cert.to_str().unwrap(),
        "--key-file",
        m.client.key.to_str().unwrap(),
    ];
    every_verb_works(home.path(), &target, &flags);

    // The same through PACKPUB_* variables, and for login.
    let docker = TempDir::new().unwrap();
    let mut login = packpub_at(home.path());
    login
        .args([
            "login",
            front.host(),
            "-u",
            "robot$proj+ci",
            "--password-stdin",
        ])
        .args(["--store", "docker"])
        .env("DOCKER_CONFIG", docker.path())
        .env("PACKPUB_CA_FILE", ca)
        .env("PACKPUB_CERT_FILE", &m.client.cert)
        .env("PACKPUB_KEY_FILE", &m.client.key);
    with_stdin(login, "secret").expect(0);
    Run::of(
        packpub_at(home.path())
            .args(["ls", "--registry", &target])
            .env("PACKPUB_CA_FILE", ca)
            .env("PACKPUB_CERT_FILE", &m.client.cert)
            .env("PACKPUB_KEY_FILE", &m.client.key)
            .output()
            .unwrap(),
    )
    .expect(0);

    // Half a pair is a usage error.
    let half = run_at(
        home.path(),
        &[
            "ls",
            "--registry",
            &target,
            "--cert-file",
            m.client.cert.to_str().unwrap(),
        ],
    )
    .expect(2);
    assert!(half.stderr.contains("--key-file"), "{}", half.stderr);
}

/// A certs.d folder for `host` under `/etc/docker/certs.d`, removed on drop: what a user whose
/// `docker push` works has. Needs root.
struct EtcDockerCertsD(std::path::PathBuf);

impl Drop for EtcDockerCertsD {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn docker_certs_d_gives_the_ca_and_the_client_certificate_with_no_flag() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: writing /etc/docker/certs.d needs root");
        return;
    }
    let m = mutual();
    let server = certs::server_signed_by(m._dir.path(), &m.ca, "server");
    let (_registry, front) = behind_tls(&server, Some(&m.ca.cert));
    let dir = Path::new("/etc/docker/certs.d").join(front.host());
    fs::create_dir_all(&dir).unwrap();
    let _cleanup = EtcDockerCertsD(dir.clone());
    fs::copy(&m.ca.cert, dir.join("ca.crt")).unwrap();
    fs::copy(&m.client.cert, dir.join("client.cert")).unwrap();
    fs::copy(&m.client.key, dir.join("client.key")).unwrap();
    let home = TempDir::new().unwrap();
    let target = format!("{}/proj", front.host());
    let stderr = every_verb_works(home.path(), &target, &["-v"]);
    assert!(
        stderr.contains(&format!(
            "client certificate for {}: {} with {} (certs.d)",
            front.host(),
            dir.join("client.cert").display(),
            dir.join("client.key").display()
        )),
        "{stderr}"
    );

    // A certificate without its key is named, exit 2.
    fs::remove_file(dir.join("client.key")).unwrap();
    let half = run_at(home.path(), &["ls", "--registry", &target]).expect(2);
    assert!(
        half.stderr.contains("client.cert has no matching"),
        "{}",
        half.stderr
    );
}

/// A name for this machine that is not `localhost` (tests/run.sh puts it in /etc/hosts): a
/// proxy must carry traffic to it, where loopback names and addresses never go through one.
const PROXIED_NAME: &str = "registry.packpub.test";

/// `PROXIED_NAME:PORT` for a registry at `127.0.0.1:PORT`, when the name resolves.
fn proxied_host(host: &str) -> Option<String> {
    use std::net::ToSocketAddrs;
    let port = host.rsplit_once(':').unwrap().1;
    let named = format!("{PROXIED_NAME}:{port}");
    let resolves = named
        .to_socket_addrs()
        .is_ok_and(|mut a| a.any(|a| a.ip().is_loopback()));
    if !resolves {
        eprintln!(
            "SKIPPED: {PROXIED_NAME} does not resolve to loopback (tests/run.sh adds it to /etc/hosts)"
        );
    }
    resolves.then_some(named)
}

#[test]
fn proxies_from_the_environment_carry_every_verb_unless_no_proxy_names_the_registry() {
    let home = TempDir::new().unwrap();
    let proxy = ForwardProxy::start();
    // Plain HTTP: absolute-URI requests through the proxy.
    let registry = Registry::plain();
    let Some(host) = proxied_host(registry.host()) else {
        return;
    };
    let target = format!("{host}/proj");
    let with_proxy = |cmd: &mut Command, no_proxy: &str| {
        cmd.env("http_proxy", proxy.url())
            .env("HTTPS_PROXY", proxy.url())
            .env("NO_PROXY", no_proxy);
    };
    let out = TempDir::new().unwrap();
    let dest = out.path().join("pulled");
    for args in [
        vec!["push".into(), example().display().to_string()],
        vec!["ls".into()],
        vec![
            "pull".into(),
            "hello:1.0.0".into(),
            "-o".into(),
            dest.display().to_string(),
        ],
    ] {
        let mut cmd = packpub_at(home.path());
        cmd.args(&args)
            .args(["--registry", &target, "--plain-http", "-v"]);
        with_proxy(
            &mut cmd,
            &format!("elsewhere.example, {host}1, {PROXIED_NAME}:1"),
        );
        let done = Run::of(cmd.output().unwrap()).expect(0);
        assert!(
            done.stderr.contains(&format!(
                "reaching {host} through the proxy {}",
                proxy.url()
            )),
            "{}",
            done.stderr
        );
    }
    let through = proxy.requests_to(&host);
    assert!(
        through >= 6,
        "{through} requests went through the proxy:\n{}",
        proxy.log()
    );

    // NO_PROXY naming the host and port, or a parent domain with a leading dot, or the
    // registry by loopback address: straight there, the proxy sees nothing more.
    for (target, no_proxy) in [
        (target.clone(), format!("other:1, {host}")),
        (target.clone(), ".packpub.test".to_string()),
        (format!("{}/proj", registry.host()), String::new()),
    ] {
        let mut cmd = packpub_at(home.path());
        cmd.args(["ls", "--registry", &target, "--plain-http", "-v"]);
        with_proxy(&mut cmd, &no_proxy);
        let direct = Run::of(cmd.output().unwrap()).expect(0);
        assert!(
            !direct.stderr.contains("through the proxy"),
            "{}",
            direct.stderr
        );
    }
    assert_eq!(proxy.requests_to(&host), through);
    assert_eq!(proxy.requests_to(registry.host()), 0);

    // HTTPS: a CONNECT tunnel, TLS checked end to end through it.
    let tmp = TempDir::new().unwrap();
    let server = certs::self_signed_server(tmp.path(), "domain");
    let (_registry, front) = behind_tls(&server, None);
    let tls_host = proxied_host(front.host()).unwrap();
    let mut cmd = packpub_at(home.path());
    cmd.args(["push", example().to_str().unwrap()])
        .args(["--registry", &format!("{tls_host}/proj")])
        .args(["--ca-file", server.cert.to_str().unwrap()]);
    with_proxy(&mut cmd, "");
    Run::of(cmd.output().unwrap()).expect(0);
    assert!(
        proxy.log().contains(&format!("CONNECT {tls_host} ")),
        "{}",
        proxy.log()
    );
}

/// A pack named `name` holding `size` bytes of half-random data, in `parent`.
fn sized_pack(parent: &Path, name: &str, size: usize) -> std::path::PathBuf {
    let dir = example_in(parent, &format!("{name}-1.0.0"));
    edit_pack_json(&dir, |doc| doc["name"] = name.into());
    write_mixed(&dir.join("blob.bin"), size, 11);
    dir
}

#[test]
fn a_front_end_that_limits_bodies_gets_chunks_after_one_413() {
    let registry = Registry::plain();
    let front = Nginx::in_front_of(registry.host()).max_body("1m").start();
    let tmp = TempDir::new().unwrap();
    let pack = sized_pack(tmp.path(), "big", 6 << 20);
    let target = format!("{}/proj", front.host());
    let pushed = run(&[
        "push",
        pack.to_str().unwrap(),
        "--registry",
        &target,
        "--plain-http",
    ])
    .expect(0);
    let warned: Vec<&str> = pushed
        .stderr
        .lines()
        // "(413 ", not "413": a port such as 44135 is in other lines.
        .filter(|l| l.contains("(413 "))
        .collect();
    assert_eq!(warned.len(), 1, "{}", pushed.stderr);
    assert!(
        warned[0].starts_with(&format!("warning: {} refused a ", front.host()))
            && warned[0].contains(
                "-byte request body (413 Request Entity Too Large); uploading in smaller chunks instead"
            ),
        "{}",
        pushed.stderr
    );
    run(&["verify", "big:1.0.0", "--registry", &target, "--plain-http"]).expect(0);
    let logged = front.requests(1);
    let patches: Vec<_> = logged
        .iter()
        .filter(|r| r.method == "PATCH" && r.status == 202)
        .collect();
    assert!(patches.len() >= 3, "{logged:?}");
    assert!(
        patches.iter().all(|r| r.request_length <= (1 << 20) + 4096),
        "{patches:?}"
    );

    // A chunk size under the limit from the start: no 413 at all, no warning.
    let before = logged.len();
    let pack = sized_pack(tmp.path(), "small-chunks", 3 << 20);
    let pushed = run(&[
        "push",
        pack.to_str().unwrap(),
        "--registry",
        &target,
        "--plain-http",
        "--chunk-size",
        "512KiB",
    ])
    .expect(0);
    assert!(!pushed.stderr.contains("413"), "{}", pushed.stderr);
    let logged = front.requests(before + 1);
    assert!(
        logged[before..].iter().all(|r| r.status != 413),
        "{logged:?}"
    );
    run(&[
        "verify",
        "small-chunks:1.0.0",
        "--registry",
        &target,
        "--plain-http",
    ])
    .expect(0);
}

/// Three cuts in one upload: it ends pushed and verified, the registry asked each time where
/// the upload stands. Distribution 2.8 (Debian's, and Harbor's) cannot say: asked from the
/// location before the cut, it cancels the upload (`upload resumed at wrong offset`), so
/// each cut costs a fresh start, never more: at most one resend per cut. Registries that
/// answer (Distribution 3 skips the offset check on GET) are continued from their byte N+1.
/// `PACKPUB_TEST_RESUME_MB` sets the pack's size (default 60 MB of half-random data).
#[test]
fn a_cut_upload_asks_where_it_stands_and_ends_pushed() {
    let size = std::env::var("PACKPUB_TEST_RESUME_MB")
        .ok()
        .and_then(|mb| mb.parse::<usize>().ok())
        .unwrap_or(60)
        << 20;
    let registry = Registry::plain();
    let tmp = TempDir::new().unwrap();
    let pack = sized_pack(tmp.path(), "resumed", size);
    run(&[
        "pack",
        pack.to_str().unwrap(),
        "-o",
        tmp.path().to_str().unwrap(),
    ])
    .expect(0);
    let archive = tmp.path().join("resumed-1.0.0.tar.gz");
    let archive_size = fs::metadata(&archive).unwrap().len();
    let proxy = Proxy::start(
        registry.host().parse().unwrap(),
        Fault::CutAfterBytes {
            bytes: archive_size / 3,
            times: 3,
        },
    );
    let target = format!("{}/proj", proxy.addr());
    let pushed = run(&[
        "-v",
        "push",
        archive.to_str().unwrap(),
        "--registry",
        &target,
        "--plain-http",
        "--chunk-size",
        "8MiB",
    ])
    .expect(0);
    run(&[
        "verify",
        "resumed:1.0.0",
        "--registry",
        &target,
        "--plain-http",
    ])
    .expect(0);
    let ratio = proxy.forwarded() as f64 / archive_size as f64;
    eprintln!(
        "{archive_size}-byte upload cut {} times: {} bytes sent ({ratio:.2}x)",
        proxy.cuts(),
        proxy.forwarded(),
    );
    assert_eq!(proxy.cuts(), 3);
    let asked = pushed.stderr.matches("the upload was cut").count();
    assert_eq!(asked, 3, "{}", pushed.stderr);
    assert!(ratio < 4.0, "sent {ratio:.2}x the archive");
}

#[test]
fn an_ipv6_registry_works_for_every_verb_and_in_docker_config_keys() {
    let registry = Registry::plain();
    let front = Nginx::in_front_of(registry.host()).ipv6().start();
    assert!(front.host().starts_with("[::1]:"), "{}", front.host());
    let target = format!("{}/proj", front.host());
    let home = TempDir::new().unwrap();
    every_verb_works(home.path(), &target, &["--plain-http"]);

    // docker's config names the registry the same way.
    let docker = TempDir::new().unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode("robot$proj+ci:secret");
    fs::write(
        docker.path().join("config.json"),
        serde_json::json!({"auths": {front.host(): {"auth": auth}}}).to_string(),
    )
    .unwrap();
    let listed = Run::of(
        packpub_at(home.path())
            .args(["-v", "ls", "--registry", &target, "--plain-http"])
            .env("DOCKER_CONFIG", docker.path())
            .output()
            .unwrap(),
    )
    .expect(0);
    assert!(
        listed
            .stderr
            .contains(&format!("credentials for {}: auths in", front.host())),
        "{}",
        listed.stderr
    );

    // And over TLS, the recipe's certificate naming ::1.
    let tmp = TempDir::new().unwrap();
    let server = certs::self_signed_server(tmp.path(), "domain");
    let tls = Nginx::in_front_of(registry.host())
        .tls(&server.cert, &server.key)
        .ipv6()
        .start();
    let tls_target = format!("{}/proj", tls.host());
    every_verb_works(
        home.path(),
        &tls_target,
        &["--ca-file", server.cert.to_str().unwrap()],
    );
}
