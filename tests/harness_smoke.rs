//! The transport harness checks itself (issue 10): real nginx in front of a real registry (TLS
//! with Distribution's recipe certificate, mutual TLS, a body limit, IPv6) and a real tinyproxy,
//! each driven by curl, a client nobody doubts. When a transport test fails, these say whether
//! the harness or packpub is to blame; each asserts both the working case and a refusal, so a
//! harness that silently lost a feature fails here.

use crate::support::certs::{self, Pem};
use crate::support::forward_proxy::ForwardProxy;
use crate::support::nginx::{Logged, Nginx};
use crate::support::registry::Registry;
use crate::support::write_mixed;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;
use tempfile::TempDir;

/// What curl got.
#[derive(Debug)]
struct Answer {
    /// curl's exit code: 0, or 7 (refused), 60 (untrusted certificate)…
    exit: i32,
    /// 0 when there was no HTTP answer.
    status: u16,
    location: String,
    /// Bytes of body received.
    size: u64,
    /// The body's first 4 KiB, as text.
    body: String,
    stderr: String,
}

/// Runs curl (7.84 or later, for `%header{}`) with `args`, ignoring the caller's proxy settings
/// so only `--proxy` sends anything through a proxy.
fn curl(args: &[&str]) -> Answer {
    let body = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = Command::new("curl");
    for var in ["http_proxy", "https_proxy", "all_proxy", "no_proxy"] {
        cmd.env_remove(var).env_remove(var.to_uppercase());
    }
    // --globoff: `[::1]` is an address, not a curl URL glob.
    let out = cmd
        .args(["--silent", "--show-error", "--globoff", "--max-time", "30"])
        .arg("--output")
        .arg(body.path())
        .args([
            "--write-out",
            "%{http_code} %{size_download} %header{location}",
        ])
        .args(args)
        .output()
        .expect("curl is installed (tests/run.sh installs it)");
    let written = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut fields = written.splitn(3, ' ');
    let mut number = || {
        fields
            .next()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    let (status, size) = (number() as u16, number());
    let body = std::fs::read(body.path()).unwrap_or_default();
    Answer {
        exit: out.status.code().unwrap_or(-1),
        status,
        location: fields.next().unwrap_or_default().trim().to_owned(),
        size,
        body: String::from_utf8_lossy(&body[..body.len().min(4096)]).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `GET /v2/` answered 200 with the empty JSON object Distribution serves there.
fn assert_registry_ok(answer: &Answer) {
    assert_eq!((answer.exit, answer.status), (0, 200), "{answer:?}");
    assert_eq!(answer.body, "{}", "{answer:?}");
}

/// The request line nginx logged last for `uri`.
fn logged<'a>(requests: &'a [Logged], method: &str, uri: &str) -> &'a Logged {
    requests
        .iter()
        .rev()
        .find(|r| r.method == method && r.uri == uri)
        .unwrap_or_else(|| panic!("nginx did not log {method} {uri}: {requests:?}"))
}

#[test]
fn harness_smoke_nginx_tls_with_distribution_recipe_certificate() {
    let registry = Registry::plain();
    let dir = TempDir::new().unwrap();
    let domain = certs::self_signed_server(dir.path(), "domain");
    assert!(dir.path().join("domain.crt").exists() && dir.path().join("domain.key").exists());
    let nginx = Nginx::in_front_of(registry.host())
        .tls(&domain.cert, &domain.key)
        .start();
    let base = format!("https://localhost:{}", nginx.port());

    assert_registry_ok(&curl(&[
        "--cacert",
        path(&domain.cert),
        &format!("{base}/v2/"),
    ]));
    // X-Forwarded-Proto and Host reach the registry: its upload URL names nginx over https
    // (nginx's default proxy_redirect only rewrites `http://UPSTREAM/`, so this is the registry's
    // own doing).
    let upload = curl(&[
        "--cacert",
        path(&domain.cert),
        "-X",
        "POST",
        &format!("{base}/v2/smoke/blobs/uploads/"),
    ]);
    assert_eq!(upload.status, 202, "{upload:?}");
    assert!(
        upload
            .location
            .starts_with(&format!("{base}/v2/smoke/blobs/uploads/")),
        "{upload:?}"
    );

    let untrusted = curl(&[&format!("{base}/v2/")]);
    assert_eq!(
        untrusted.exit, 60,
        "curl must not trust it by default: {untrusted:?}"
    );
    assert!(
        untrusted.stderr.contains("self-signed certificate"),
        "{untrusted:?}"
    );
    let requests = nginx.requests(2);
    assert_eq!(logged(&requests, "GET", "/v2/").status, 200);
    assert_eq!(
        logged(&requests, "POST", "/v2/smoke/blobs/uploads/").status,
        202
    );
}

#[test]
fn harness_smoke_nginx_mutual_tls() {
    let registry = Registry::plain();
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let server_ca = certs::ca(d, "server-ca", "/CN=packpub test server CA");
    let server = certs::server_signed_by(d, &server_ca, "server");
    let client_ca = certs::ca(d, "client-ca", "/CN=packpub test client CA");
    let client = certs::client_signed_by(d, &client_ca, "client", "/CN=packpub test client");
    let other_ca = certs::ca(d, "other-ca", "/CN=someone else's CA");
    let stranger = certs::client_signed_by(d, &other_ca, "stranger", "/CN=stranger");
    let nginx = Nginx::in_front_of(registry.host())
        .tls(&server.cert, &server.key)
        .client_ca(&client_ca.cert)
        .start();
    let url = format!("https://localhost:{}/v2/", nginx.port());
    let with = |pem: Option<&Pem>| {
        let mut args = vec!["--cacert", path(&server_ca.cert)];
        if let Some(pem) = pem {
            args.extend(["--cert", path(&pem.cert), "--key", path(&pem.key)]);
        }
        args.push(&url);
        curl(&args)
    };

    let none = with(None);
    assert_eq!(none.status, 400, "{none:?}");
    assert!(
        none.body.contains("No required SSL certificate was sent"),
        "{none:?}"
    );
    let wrong = with(Some(&stranger));
    assert_eq!(wrong.status, 400, "{wrong:?}");
    assert!(wrong.body.contains("SSL certificate error"), "{wrong:?}");
    assert_registry_ok(&with(Some(&client)));
}

#[test]
fn harness_smoke_nginx_body_limit() {
    let registry = Registry::plain();
    let dir = TempDir::new().unwrap();
    let (big, small) = (dir.path().join("big"), dir.path().join("small"));
    write_mixed(&big, 2 << 20, 1);
    write_mixed(&small, 100 << 10, 2);
    let limited = Nginx::in_front_of(registry.host()).max_body("1m").start();
    let unlimited = Nginx::in_front_of(registry.host()).start();
    let send = |method: &str, url: &str, file: &Path| {
        curl(&[
            "-X",
            method,
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
            &format!("@{}", path(file)),
            url,
        ])
    };
    let uploads = |nginx: &Nginx| format!("http://{}/v2/smoke/blobs/uploads/", nginx.host());

    let refused = send("POST", &uploads(&limited), &big);
    assert_eq!(refused.status, 413, "{refused:?}");
    let passed = send("POST", &uploads(&limited), &small);
    assert_eq!(passed.status, 202, "{passed:?}");
    // Clients see upload URLs on nginx, not on the registry behind it.
    assert!(
        passed.location.starts_with(&uploads(&limited)),
        "{passed:?}"
    );

    // Without a limit the same 2 MiB go through as one monolithic PUT.
    let started = curl(&["-X", "POST", &uploads(&unlimited)]);
    assert_eq!(started.status, 202, "{started:?}");
    let digest = format!("sha256:{:x}", Sha256::digest(std::fs::read(&big).unwrap()));
    let put = format!("{}&digest={digest}", started.location);
    let stored = send("PUT", &put, &big);
    assert_eq!(stored.status, 201, "{stored:?}");
    let blob = format!("/v2/smoke/blobs/{digest}");
    let fetched = curl(&[&format!("http://{}{blob}", unlimited.host())]);
    assert_eq!(fetched.status, 200, "{fetched:?}");
    assert_eq!(fetched.size, 2 << 20);
    // The log counts bodies both ways, which transport tests use to tell what was resent.
    let requests = unlimited.requests(3);
    let origin = format!("http://{}", unlimited.host());
    let upload = logged(&requests, "PUT", put.strip_prefix(&origin).unwrap());
    assert_eq!(upload.status, 201);
    assert!(upload.request_length > 2 << 20, "{upload:?}");
    assert!(logged(&requests, "GET", &blob).bytes_sent > 2 << 20);
}

#[test]
fn harness_smoke_nginx_ipv6() {
    let registry = Registry::plain();
    let nginx = Nginx::in_front_of(registry.host()).ipv6().start();
    assert!(nginx.host().starts_with("[::1]:"), "{}", nginx.host());

    assert_registry_ok(&curl(&[&format!("http://{}/v2/", nginx.host())]));
    let v4 = curl(&[&format!("http://127.0.0.1:{}/v2/", nginx.port())]);
    assert_eq!(v4.exit, 7, "only [::1] must listen: {v4:?}");
}

#[test]
fn harness_smoke_tinyproxy_forwards_plain_http() {
    let registry = Registry::plain();
    let proxy = ForwardProxy::start();
    let url = format!("http://{}/v2/", registry.host());

    assert_registry_ok(&curl(&["--proxy", &proxy.url(), &url]));
    assert_eq!(proxy.requests_to(registry.host()), 1, "{}", proxy.log());
    // A direct request leaves no trace, and the count is per host:port.
    assert_registry_ok(&curl(&[&url]));
    assert_eq!(proxy.requests_to(registry.host()), 1, "{}", proxy.log());
    assert_eq!(proxy.requests_to("127.0.0.1:1"), 0);
}

#[test]
fn harness_smoke_tinyproxy_tunnels_tls_to_nginx() {
    let registry = Registry::plain();
    let dir = TempDir::new().unwrap();
    let domain = certs::self_signed_server(dir.path(), "domain");
    let nginx = Nginx::in_front_of(registry.host())
        .tls(&domain.cert, &domain.key)
        .start();
    let proxy = ForwardProxy::start();
    let authority = format!("localhost:{}", nginx.port());

    assert_registry_ok(&curl(&[
        "--proxy",
        &proxy.url(),
        "--cacert",
        path(&domain.cert),
        &format!("https://{authority}/v2/"),
    ]));
    assert_eq!(proxy.requests_to(&authority), 1, "{}", proxy.log());
    assert!(
        proxy
            .log()
            .contains(&format!("CONNECT {authority} HTTP/1.1")),
        "{}",
        proxy.log()
    );
    assert_eq!(logged(&nginx.requests(1), "GET", "/v2/").status, 200);
}
