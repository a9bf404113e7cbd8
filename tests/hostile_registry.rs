//! Hostile registries and layouts (issue 9): malformed digests, oversized answers, endless
//! paging, credentials sent where they do not belong. Layouts are made by packpub and then
//! doctored; registries are real Distribution registries fed a lying manifest, or the
//! purpose-built liars of `support::hostile` where no real registry would lie so. Every refusal
//! is checked for its exit code and words, and for what it must not leave behind: a file, a
//! request, a password.

use crate::support::hostile::{Raw, Reply, Seen, Server, TlsFront, put_manifest};
use crate::support::registry::Registry;
use crate::support::*;
use base64::Engine;
use serde_json::{Value, json};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use tempfile::TempDir;

const REF_NAME: &str = "org.opencontainers.image.ref.name";
const USER: &str = "packpub-user";
const PASSWORD: &str = "hunter2-never-shown";
/// 4 MiB: the largest manifest Distribution and ORAS accept, and packpub reads.
const MAX_MANIFEST: usize = 4 * 1024 * 1024;

fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{:x}", sha2::Sha256::digest(data))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// An OCI layout in `tmp` holding the example as `spectro-packs/archive/hello:1.0.0`, pushed by
/// packpub: its folder and its `oci:` target.
fn layout(tmp: &Path) -> (PathBuf, String) {
    let dir = tmp.join("layout");
    let target = format!("oci:{}", dir.display());
    run(&["push", example().to_str().unwrap(), "--registry", &target]).expect(0);
    (dir, target)
}

/// Rewrites the layout's `hello:1.0.0` entry of index.json through `edit`.
fn edit_index_entry(dir: &Path, edit: impl FnOnce(&mut Value)) {
    let path = dir.join("index.json");
    let mut index = read_json(&path);
    let entry = index["manifests"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|m| m["annotations"][REF_NAME] == "spectro-packs/archive/hello:1.0.0")
        .unwrap();
    edit(entry);
    fs::write(&path, index.to_string()).unwrap();
}

/// The file holding `hello:1.0.0`'s manifest.
fn manifest_blob(dir: &Path) -> PathBuf {
    let mut digest = String::new();
    edit_index_entry(dir, |entry| {
        digest = entry["digest"].as_str().unwrap().to_string();
    });
    dir.join("blobs/sha256").join(&digest["sha256:".len()..])
}

/// Makes `bytes` the manifest of `hello:1.0.0`, stored under its own digest.
fn replace_manifest(dir: &Path, bytes: &[u8]) -> PathBuf {
    let digest = sha256(bytes);
    let blob = dir.join("blobs/sha256").join(&digest["sha256:".len()..]);
    fs::write(&blob, bytes).unwrap();
    edit_index_entry(dir, |entry| {
        entry["digest"] = digest.into();
        entry["size"] = bytes.len().into();
    });
    blob
}

/// Rewrites `hello:1.0.0`'s manifest through `edit`.
fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut Value)) {
    let mut manifest = read_json(&manifest_blob(dir));
    edit(&mut manifest);
    replace_manifest(dir, &serde_json::to_vec(&manifest).unwrap());
}

/// `pull hello:1.0.0` from `target` into `tmp/dest`, refused with exit 6, leaving `dest` empty
/// and nothing else in `tmp` but `others`. Returns the run.
fn pull_refused(target: &str, tmp: &Path, others: &[&str]) -> Run {
    let dest = tmp.join("dest");
    let pulled = run(&[
        "pull",
        "hello:1.0.0",
        "--registry",
        target,
        "--plain-http",
        "-o",
        dest.to_str().unwrap(),
    ])
    .expect(6);
    assert_eq!(list(&dest), Vec::<String>::new(), "{}", pulled.stderr);
    let mut expected: Vec<&str> = [&["dest"][..], others].concat();
    expected.sort();
    assert_eq!(list(tmp), expected);
    pulled
}

fn assert_contains(run: &Run, words: &str) {
    assert!(
        run.stderr.contains(words),
        "wanted {words:?} in:\n{}",
        run.stderr
    );
}

/// Nothing a hostile digest could have reached, nor the password, shows in the output.
fn assert_nothing_leaked(run: &Run) {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    for text in [&run.stdout, &run.stderr] {
        for secret in ["root:", PASSWORD, &basic] {
            assert!(!text.contains(secret), "{secret:?} leaked:\n{text}");
        }
    }
}

#[test]
fn malformed_digests_in_a_layout_index_are_refused_by_verify_pull_and_ls() {
    for (hostile, why) in [
        (
            "sha256:../../../../etc/shadow",
            "a sha256 digest has 64 hex digits, this one has 22 characters",
        ),
        ("/dev/zero", "a digest must start with sha256:"),
    ] {
        let tmp = TempDir::new().unwrap();
        let (dir, target) = layout(tmp.path());
        edit_index_entry(&dir, |entry| entry["digest"] = hostile.into());
        let refusal = format!(
            "{} lists spectro-packs/archive/hello:1.0.0 with a malformed digest: {why}",
            dir.join("index.json").display()
        );
        let runs = [
            run(&["verify", "hello:1.0.0", "--registry", &target]).expect(6),
            pull_refused(&target, tmp.path(), &["layout"]),
            run(&["ls", "--registry", &target]).expect(6),
            run(&["ls", "hello", "--registry", &target]).expect(6),
        ];
        for done in &runs {
            assert_contains(done, &refusal);
            assert!(!done.stderr.contains(hostile), "{}", done.stderr);
            assert_nothing_leaked(done);
        }
    }
}

#[test]
fn malformed_layer_digests_in_a_manifest_are_refused_by_verify_and_pull() {
    for (hostile, why) in [
        (
            "sha256:../../../../etc/shadow",
            "a sha256 digest has 64 hex digits, this one has 22 characters",
        ),
        ("/dev/zero", "a digest must start with sha256:"),
    ] {
        let tmp = TempDir::new().unwrap();
        let (dir, target) = layout(tmp.path());
        edit_manifest(&dir, |m| m["layers"][0]["digest"] = hostile.into());
        let refusal = format!("the layer's digest is malformed ({why})");
        let verify = run(&["verify", "hello:1.0.0", "--registry", &target]).expect(6);
        assert_contains(&verify, &format!("error: manifest shape: {refusal}"));
        let pulled = pull_refused(&target, tmp.path(), &["layout"]);
        assert_contains(
            &pulled,
            &format!("error: {target}:spectro-packs/archive/hello:1.0.0: {refusal}"),
        );
        for done in [verify, pulled] {
            assert_nothing_leaked(&done);
        }
    }
}

#[test]
fn layout_manifests_over_4_mib_or_not_regular_files_are_refused() {
    let tmp = TempDir::new().unwrap();
    let (dir, target) = layout(tmp.path());
    let shown = format!("{target}:spectro-packs/archive/hello:1.0.0");

    // Exactly 4 MiB (the real manifest padded with spaces) is still read.
    let mut padded = fs::read(manifest_blob(&dir)).unwrap();
    padded.resize(MAX_MANIFEST, b' ');
    replace_manifest(&dir, &padded);
    run(&["verify", "hello:1.0.0", "--registry", &target]).expect(0);

    padded.push(b' ');
    let blob = replace_manifest(&dir, &padded);
    let over = format!(
        "error: the manifest of {shown} ({}) is over 4 MiB, the most Distribution and ORAS accept; refusing to read it",
        blob.display()
    );
    assert_contains(
        &run(&["verify", "hello:1.0.0", "--registry", &target]).expect(6),
        &over,
    );
    assert_contains(&pull_refused(&target, tmp.path(), &["layout"]), &over);

    // A link to /dev/zero, and a FIFO, which would never end or never answer.
    fs::remove_file(&blob).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &blob).unwrap();
    let special = format!(
        "error: {} is not a regular file (a device, FIFO or folder, or a link to one); refusing to read it",
        blob.display()
    );
    assert_contains(
        &run(&["verify", "hello:1.0.0", "--registry", &target]).expect(6),
        &special,
    );
    fs::remove_file(&blob).unwrap();
    let path = std::ffi::CString::new(blob.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    assert_contains(&pull_refused(&target, tmp.path(), &["layout"]), &special);
}

#[test]
fn a_layout_index_over_4_mib_is_refused() {
    let tmp = TempDir::new().unwrap();
    let (dir, target) = layout(tmp.path());
    let index = dir.join("index.json");
    let mut bytes = fs::read(&index).unwrap();
    bytes.resize(MAX_MANIFEST + 1, b' ');
    fs::write(&index, bytes).unwrap();
    let listed = run(&["ls", "hello", "--registry", &target]).expect(6);
    assert_contains(
        &listed,
        &format!(
            "error: {} is over 4 MiB, the most Distribution and ORAS accept; refusing to read it",
            index.display()
        ),
    );
}

#[test]
fn layout_blobs_longer_or_shorter_than_declared_are_refused() {
    let tmp = TempDir::new().unwrap();
    let (dir, target) = layout(tmp.path());
    let mut layer = (String::new(), 0);
    edit_manifest(&dir, |m| {
        layer = (
            m["layers"][0]["digest"].as_str().unwrap().to_string(),
            m["layers"][0]["size"].as_u64().unwrap(),
        );
    });
    let (digest, size) = layer;
    let from = format!("{digest} from the layout {}", dir.display());
    for (declared, words) in [
        (
            size - 1,
            format!(
                "{from} is longer than the {} bytes its manifest declares; stopped there",
                size - 1
            ),
        ),
        (
            size + 1,
            format!(
                "{from} ended after {size} of the {} bytes its manifest declares",
                size + 1
            ),
        ),
    ] {
        edit_manifest(&dir, |m| m["layers"][0]["size"] = declared.into());
        let verify = run(&["verify", "hello:1.0.0", "--registry", &target]).expect(6);
        assert_contains(&verify, &format!("error: download: {words}"));
        let pulled = pull_refused(&target, tmp.path(), &["layout"]);
        assert_contains(
            &pulled,
            &format!("the download failed: {words}; nothing was written"),
        );
    }

    edit_manifest(&dir, |m| m["layers"][0]["size"] = size.into());
    let blob = dir.join("blobs/sha256").join(&digest["sha256:".len()..]);
    fs::remove_file(&blob).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &blob).unwrap();
    let verify = run(&["verify", "hello:1.0.0", "--registry", &target]).expect(6);
    assert_contains(
        &verify,
        &format!(
            "error: download: {} is not a regular file (a device, FIFO or folder, or a link to one)",
            blob.display()
        ),
    );
}

/// The manifest packpub pushes for the example, declaring `size` bytes for its layer.
fn lying_manifest(layer: &str, size: u64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.unknown.config.v1+json",
            "digest": sha256(b"{}"),
            "size": 2
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": layer,
            "size": size,
            "annotations": {"org.opencontainers.image.title": "hello-1.0.0.tar.gz"}
        }],
        "annotations": {"org.opencontainers.image.created": "2023-11-14T22:13:20Z"}
    }))
    .unwrap()
}

#[test]
fn a_registry_blob_of_another_size_than_declared_is_refused() {
    let reg = Registry::plain();
    let registry = reg.host();
    run(&[
        "push",
        example().to_str().unwrap(),
        "--registry",
        registry,
        "--plain-http",
    ])
    .expect(0);
    let tmp = TempDir::new().unwrap();
    let archive = fs::read(pack_example(&tmp.path().join("packed"))).unwrap();
    let (digest, size) = (sha256(&archive), archive.len() as u64);
    for declared in [size - 1, size + 1] {
        put_manifest(
            registry,
            "spectro-packs/archive/hello",
            "1.0.0",
            &lying_manifest(&digest, declared),
        );
        let words = format!(
            "{registry} announces {size} bytes for {digest}, but the manifest declares {declared}; nothing was read"
        );
        let verify = run(&[
            "verify",
            "hello:1.0.0",
            "--registry",
            registry,
            "--plain-http",
        ])
        .expect(6);
        assert_contains(&verify, &format!("error: download: {words}"));
        let pulled = pull_refused(registry, tmp.path(), &["packed"]);
        assert_contains(
            &pulled,
            &format!("the download failed: {words}; nothing was written"),
        );
    }
}

/// A registry answering `/v2/` and `route` for everything else; 404 where `route` has nothing.
fn liar(route: impl Fn(&Seen) -> Option<Reply> + Send + 'static) -> Server {
    Server::start(move |seen| match seen.path() {
        "/v2/" => Reply::json(&json!({})),
        _ => route(seen).unwrap_or_else(|| Reply::status(404)),
    })
}

const TAGS: &str = "/v2/spectro-packs/archive/hello/tags/list";
const MANIFEST: &str = "/v2/spectro-packs/archive/hello/manifests/1.0.0";

#[test]
fn registry_manifests_over_4_mib_are_refused_announced_or_not() {
    for chunked in [false, true] {
        let server = liar(move |seen| {
            (seen.path() == MANIFEST).then(|| {
                let reply = Reply::bytes(vec![b' '; MAX_MANIFEST + 1]);
                if chunked { reply.chunked() } else { reply }
            })
        });
        let tmp = TempDir::new().unwrap();
        let pulled = pull_refused(&server.host(), tmp.path(), &[]);
        assert_contains(
            &pulled,
            &format!(
                "error: the manifest of {}/spectro-packs/archive/hello:1.0.0 is over 4 MiB, the most Distribution and ORAS accept; refusing to read it",
                server.host()
            ),
        );
        let asked = server
            .seen()
            .iter()
            .filter(|s| s.path() == MANIFEST)
            .count();
        assert_eq!(asked, 1, "a refused manifest is not asked for again");
    }
}

#[test]
fn an_endless_link_stops_after_10000_pages() {
    let server = liar(|seen| {
        (seen.path() == TAGS).then(|| {
            let n = seen
                .query("last")
                .map_or(0, |last| last[1..].parse::<u64>().unwrap() + 1);
            Reply::json(&json!({"name": "spectro-packs/archive/hello", "tags": [format!("v{n}")]}))
                .header("Link", &format!(r#"<{TAGS}?n=100&last=v{n}>; rel="next""#))
        })
    });
    let listed = run(&["ls", "hello", "--registry", &server.host(), "--plain-http"]).expect(1);
    assert_contains(
        &listed,
        &format!(
            "error: list the tags of {}/spectro-packs/archive/hello: the registry still named a next page after 10000 pages; stopped there (a listing that never ends is a broken or hostile registry)",
            server.host()
        ),
    );
    let pages = server.seen().iter().filter(|s| s.path() == TAGS).count();
    assert_eq!(pages, 10_000);
}

#[test]
fn paging_stops_when_the_registry_repeats_itself_or_links_elsewhere() {
    let elsewhere = Server::start(|_| Reply::json(&json!({"tags": ["9.9.9"]})));
    let away = format!("http://{}{TAGS}?n=100&last=1.0.0", elsewhere.host());
    let server = liar(move |seen| match seen.path() {
        // A Link to the very page just read.
        "/v2/_catalog" => Some(
            Reply::json(&json!({"repositories": ["spectro-packs/archive/hello"]}))
                .header("Link", r#"</v2/_catalog?n=2>; rel="next""#),
        ),
        // Full pages that ignore `last`: the second repeats the first.
        TAGS => Some(Reply::json(&json!({"tags": ["1.0.0", "2.0.0"]}))),
        "/v2/spectro-packs/archive/world/tags/list" => Some(
            Reply::json(&json!({"tags": ["1.0.0"]}))
                .header("Link", &format!(r#"<{away}>; rel="next""#)),
        ),
        _ => None,
    });
    let host = server.host();
    let listed = run(&[
        "ls",
        "--registry",
        &host,
        "--plain-http",
        "--page-size",
        "2",
        "--json",
    ])
    .expect(0);
    assert_eq!(
        listed.json(),
        json!([{"name": "hello", "versions": ["1.0.0", "2.0.0"]}])
    );
    let asked = |path: &str| server.seen().iter().filter(|s| s.path() == path).count();
    assert_eq!(asked("/v2/_catalog"), 1);
    assert_eq!(asked(TAGS), 2);

    let listed = run(&["ls", "world", "--registry", &host, "--plain-http"]).expect(1);
    assert_contains(
        &listed,
        &format!(
            "error: list the tags of {host}/spectro-packs/archive/world: its Link header sends the next page to another server ({}); not followed",
            elsewhere.host()
        ),
    );
    assert!(elsewhere.seen().is_empty());
}

#[test]
fn a_next_page_that_vanishes_is_an_incomplete_listing_not_the_end() {
    let server = liar(|seen| {
        (seen.path() == TAGS).then(|| match seen.query("last") {
            None => Reply::json(&json!({"tags": ["1.0.0", "2.0.0"]}))
                .header("Link", &format!(r#"<{TAGS}?n=2&last=2.0.0>; rel="next""#)),
            Some(_) => Reply::status(404),
        })
    });
    let listed = run(&[
        "ls",
        "hello",
        "--registry",
        &server.host(),
        "--plain-http",
        "--page-size",
        "2",
    ])
    .expect(1);
    assert_contains(
        &listed,
        "answered 404 for a next page it had named; the listing is incomplete",
    );
}

/// packpub with the password in the environment, the way CI passes one.
fn with_password(args: &[&str]) -> Run {
    Run::of(
        packpub()
            .args(args)
            .env("PACKPUB_USERNAME", USER)
            .env("PACKPUB_PASSWORD", PASSWORD)
            .output()
            .unwrap(),
    )
}

fn basic_credential() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    )
}

#[test]
fn a_plain_http_realm_behind_an_https_registry_never_gets_the_password() {
    let realm = Server::start(|_| Reply::json(&json!({"token": "t"})));
    let token_service = format!("http://{}/token", realm.host());
    for challenge in [
        format!(r#"Bearer realm="{token_service}",service="hostile""#),
        format!(r#"Basic realm="hostile", Bearer realm="{token_service}""#),
    ] {
        let backend =
            Server::start(move |_| Reply::status(401).header("WWW-Authenticate", &challenge));
        let front = TlsFront::start(&backend);
        let host = front.host();
        let refusal = format!(
            "{host} sends logins to its token service {token_service} over plain HTTP, while the registry itself is HTTPS: the password would cross the network in clear text, so packpub did not send it. Ask the registry's administrator to serve the token service over HTTPS (Harbor: an https:// external_url)"
        );
        let docker = TempDir::new().unwrap();
        let mut login = packpub();
        login
            .args(["login", &host, "-u", USER, "--password-stdin", "--insecure"])
            .args(["--store", "docker"])
            .env("DOCKER_CONFIG", docker.path());
        let runs = [
            with_password(&["ls", "hello", "--registry", &host, "--insecure"]).expect(4),
            with_password(&[
                "push",
                example().to_str().unwrap(),
                "--registry",
                &host,
                "--insecure",
            ])
            .expect(4),
            with_stdin(login, PASSWORD).expect(4),
        ];
        for done in &runs {
            assert_contains(done, &refusal);
            assert_nothing_leaked(done);
        }
        assert!(list(docker.path()).is_empty(), "login stored something");
        // One anonymous `GET /v2/` per run (login's first: it checks the registry before
        // asking for a password), and not a byte for the realm.
        let seen = backend.seen();
        assert_eq!(seen.len(), runs.len() + 1, "{seen:?}");
        assert!(seen.iter().all(|s| s.method == "GET"
            && s.path() == "/v2/"
            && s.header("Authorization").is_none()));
    }
    assert!(realm.seen().is_empty(), "{:?}", realm.seen());
}

/// An HTTPS registry whose token service is on another host name (localhost, the registry
/// being 127.0.0.1) over HTTPS too, as Docker Hub's is: it grants `hello`'s tags for the
/// password.
fn https_registry_with_a_realm_elsewhere() -> (Server, TlsFront) {
    let port = Arc::new(OnceLock::<u16>::new());
    let challenge = {
        let port = Arc::clone(&port);
        move || {
            format!(
                r#"Bearer realm="https://localhost:{}/token",service="hostile""#,
                port.get().unwrap()
            )
        }
    };
    let backend = Server::start(move |seen| {
        let authorization = seen.header("Authorization").unwrap_or_default();
        match seen.path() {
            "/token" if authorization == basic_credential() => {
                Reply::json(&json!({"token": "hostile-token"}))
            }
            TAGS if authorization == "Bearer hostile-token" => {
                Reply::json(&json!({"name": "spectro-packs/archive/hello", "tags": ["1.0.0"]}))
            }
            _ => Reply::status(401).header("WWW-Authenticate", &challenge()),
        }
    });
    let front = TlsFront::start(&backend);
    port.set(front.port()).unwrap();
    (backend, front)
}

#[test]
fn a_realm_on_another_host_over_https_gets_the_password() {
    let (backend, front) = https_registry_with_a_realm_elsewhere();
    let listed = with_password(&[
        "ls",
        "hello",
        "--registry",
        &front.host(),
        "--insecure",
        "--json",
    ])
    .expect(0);
    assert_eq!(
        listed.json(),
        json!([{"name": "hello", "versions": ["1.0.0"]}])
    );
    assert_nothing_leaked(&listed);
    // The challenge is read once: nobody asks `/v2/` a second time and may hear another realm.
    let probes = backend.seen().iter().filter(|s| s.path() == "/v2/").count();
    assert_eq!(probes, 1);
    // The password went to the token service on localhost, and nowhere else.
    for seen in backend.seen() {
        let has_password = seen.header("Authorization") == Some(basic_credential().as_str());
        assert_eq!(has_password, seen.path() == "/token", "{seen:?}");
        if has_password {
            assert_eq!(
                seen.header("Host"),
                Some(format!("localhost:{}", front.port()).as_str())
            );
        }
    }
}

#[test]
fn verbose_names_the_host_the_password_goes_to() {
    let (_backend, front) = https_registry_with_a_realm_elsewhere();
    let listed = with_password(&[
        "-v",
        "ls",
        "hello",
        "--registry",
        &front.host(),
        "--insecure",
    ])
    .expect(0);
    assert_contains(
        &listed,
        &format!(
            "the password for {} goes to its token service on localhost:{}",
            front.host(),
            front.port()
        ),
    );
    assert_nothing_leaked(&listed);
}

#[test]
fn the_password_does_not_follow_a_redirect_to_another_host() {
    let elsewhere = Server::start(|_| Reply::json(&json!({"token": "moved-token"})));
    let moved = format!(
        "http://localhost:{}/token",
        elsewhere.host().rsplit(':').next().unwrap()
    );
    let realm = Server::start(move |_| Reply::status(302).header("Location", &moved));
    let token_service = format!("http://{}/token", realm.host());
    // Every request is challenged, `/v2/` included, until it brings the moved token.
    let server = Server::start(move |seen| match seen.header("Authorization") {
        Some("Bearer moved-token") if seen.path() == TAGS => {
            Reply::json(&json!({"tags": ["1.0.0"]}))
        }
        _ => Reply::status(401).header(
            "WWW-Authenticate",
            &format!(r#"Bearer realm="{token_service}""#),
        ),
    });
    let listed = with_password(&[
        "ls",
        "hello",
        "--registry",
        &server.host(),
        "--plain-http",
        "--json",
    ])
    .expect(0);
    assert_eq!(listed.json()[0]["versions"], json!(["1.0.0"]));
    // A plain-HTTP realm is fine for a registry the user called plain HTTP.
    assert!(
        realm
            .seen()
            .iter()
            .all(|s| s.header("Authorization") == Some(basic_credential().as_str()))
    );
    let moved = elsewhere.seen();
    assert!(!moved.is_empty());
    assert!(
        moved.iter().all(|s| s.header("Authorization").is_none()),
        "{moved:?}"
    );
}

/// A plain-HTTP registry whose every request is challenged for a token from `realm`.
fn challenging(realm: &Server) -> Server {
    let challenge = format!(
        r#"Bearer realm="http://{}/token",service="hostile""#,
        realm.host()
    );
    Server::start(move |_| Reply::status(401).header("WWW-Authenticate", &challenge))
}

#[test]
fn a_token_service_answer_over_1_mib_is_refused() {
    for chunked in [false, true] {
        let token = "t".repeat(2 << 20);
        let realm = Server::start(move |_| {
            let reply = Reply::json(&json!({ "token": token }));
            if chunked { reply.chunked() } else { reply }
        });
        let server = challenging(&realm);
        let (listed, _) = run_capped({
            let mut cmd = packpub();
            cmd.args(["ls", "hello", "--registry", &server.host(), "--plain-http"])
                .env("PACKPUB_USERNAME", USER)
                .env("PACKPUB_PASSWORD", PASSWORD);
            cmd
        });
        let listed = listed.expect(4);
        assert_contains(
            &listed,
            &format!(
                "error: the token service of {} on {} sent an answer packpub cannot use (over 1024 KiB, far more than any token)",
                server.host(),
                realm.host()
            ),
        );
        assert_nothing_leaked(&listed);
        // Asked once: a refused answer is not a transient failure.
        assert_eq!(realm.seen().len(), 1);
    }
}

#[test]
fn a_token_service_refusal_is_shown_short_and_escaped() {
    let mut said = b"\x1b]0;pwned\x07wrong password ".to_vec();
    said.extend(std::iter::repeat_n(b'x', 8 << 20));
    let realm = Server::start(move |_| {
        Reply::bytes(said.clone())
            .with_status(401)
            .header("Content-Type", "text/plain")
            .chunked()
    });
    let server = challenging(&realm);
    let listed =
        with_password(&["ls", "hello", "--registry", &server.host(), "--plain-http"]).expect(4);
    assert_contains(
        &listed,
        &format!(
            "error: authentication failed for {}: its token service on {} answered 401 Unauthorized: \\u{{1b}}]0;pwned\\u{{7}}wrong password xxx",
            server.host(),
            realm.host()
        ),
    );
    assert!(!listed.stderr.contains('\x1b'), "{}", listed.stderr);
    assert!(
        listed.stderr.len() < 1024,
        "{} bytes of stderr",
        listed.stderr.len()
    );
}

#[test]
fn an_upload_error_answer_is_read_with_a_cap_and_shown_short() {
    let server = liar(|seen| match (seen.method.as_str(), seen.path()) {
        ("POST", path) if path.ends_with("/blobs/uploads/") => {
            Some(Reply::status(202).header("Location", "/upload/1"))
        }
        ("PUT", "/upload/1") => {
            let mut body = b"\x1b[2Jbroken upload ".to_vec();
            body.extend(std::iter::repeat_n(b'x', 64 << 20));
            Some(Reply::bytes(body).with_status(400).chunked())
        }
        _ => None,
    });
    let (pushed, peak_kib) = run_capped({
        let mut cmd = packpub();
        cmd.arg("push").arg(example());
        cmd.args(["--registry", &server.host(), "--plain-http"]);
        cmd
    });
    let pushed = pushed.expect(1);
    assert_contains(&pushed, "\\u{1b}[2Jbroken upload xxx");
    assert!(!pushed.stderr.contains('\x1b'), "{}", pushed.stderr);
    assert!(
        pushed.stderr.len() < 2048,
        "{} bytes of stderr",
        pushed.stderr.len()
    );
    assert!(peak_kib < 64 << 10, "peak RSS {peak_kib} KiB");
}

#[test]
fn an_unreadable_challenge_gets_no_password() {
    let server = Server::start(|_| {
        Reply::status(401).header("WWW-Authenticate", r#"Bearer realm="https://auth.example"#)
    });
    let listed =
        with_password(&["ls", "hello", "--registry", &server.host(), "--plain-http"]).expect(4);
    assert_contains(
        &listed,
        &format!(
            "error: cannot read the login challenge of {} (WWW-Authenticate: the quoted string at byte 13 never ends); packpub sends the password to no token service it cannot check",
            server.host()
        ),
    );
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn a_password_in_the_target_is_never_shown() {
    let target = format!("{USER}:{PASSWORD}@127.0.0.1:5000/proj");
    let shown = [
        run(&["ls", "--registry", &target]),
        run(&["ls", "--registry", &target, "--json"]),
        run(&["push", example().to_str().unwrap(), "--registry", &target]),
        Run::of(
            packpub()
                .args(["verify", "hello:1.0.0"])
                .env("PACKPUB_REGISTRY", &target)
                .output()
                .unwrap(),
        ),
    ];
    for done in shown {
        let done = done.expect(2);
        assert_nothing_leaked(&done);
        assert_contains(
            &done,
            "Use --registry 127.0.0.1:5000/proj with `packpub login 127.0.0.1:5000`, or with --username USER --password-stdin",
        );
    }
}

#[test]
fn a_blob_that_trickles_ends_the_pull_after_one_window_of_the_request_timeout() {
    let blob = vec![7u8; 64 * 1024];
    let digest = sha256(&blob);
    let manifest = lying_manifest(&digest, blob.len() as u64);
    let blob_path = format!("/v2/spectro-packs/archive/hello/blobs/{digest}");
    // The registry sends its blob from storage elsewhere, as S3-backed ones do; that trickles.
    let storage = Raw::trickling(blob, 32 * 1024, std::time::Duration::from_millis(50));
    let stored = format!("http://{}/blob", storage.host());
    let server = liar(move |seen| match seen.path() {
        MANIFEST => Some(
            Reply::bytes(manifest.clone())
                .header("Content-Type", "application/vnd.oci.image.manifest.v1+json"),
        ),
        path if path == blob_path => Some(Reply::status(307).header("Location", &stored)),
        _ => None,
    });
    let tmp = TempDir::new().unwrap();
    let dest = tmp.path().join("dest");
    let mut pull = packpub();
    pull.args([
        "pull",
        "hello:1.0.0",
        "--registry",
        &server.host(),
        "--plain-http",
        "--retries",
        "0",
        "-o",
        dest.to_str().unwrap(),
    ])
    .env("PACKPUB_REQUEST_TIMEOUT", "2s");
    // 64 KiB at 20 bytes a second would take almost an hour.
    let (pulled, _) = run_capped_within(pull, std::time::Duration::from_secs(40));
    let pulled = pulled.expect(7);
    assert_contains(&pulled, "under the 4 KiB/s packpub waits for");
    assert_eq!(list(&dest), Vec::<String>::new(), "{}", pulled.stderr);
}

#[test]
fn a_layer_declared_past_the_inflated_ceiling_is_refused_before_any_byte_is_read() {
    let layer = format!("sha256:{}", "ab".repeat(32));
    let manifest = lying_manifest(&layer, 1 << 30);
    let server = liar(move |seen| {
        (seen.path() == MANIFEST).then(|| {
            Reply::bytes(manifest.clone())
                .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        })
    });
    let tmp = TempDir::new().unwrap();
    let dest = tmp.path().join("dest");
    let host = server.host();
    let common = [
        "--registry",
        &host,
        "--plain-http",
        "--max-inflated-size",
        "64MiB",
    ];
    let mut pull = packpub();
    pull.args(["pull", "hello:1.0.0", "-o", dest.to_str().unwrap()])
        .args(common);
    let (pulled, rss) = run_capped_within(pull, std::time::Duration::from_secs(60));
    let pulled = pulled.expect(6);
    let words = "its manifest declares a 1073741824-byte archive, which inflates past the 67108864-byte ceiling (--max-inflated-size, PACKPUB_MAX_INFLATED_SIZE); nothing was downloaded";
    assert_contains(&pulled, words);
    assert!(rss < HOSTILE_MEMORY / 1024, "peak RSS {rss} KiB");
    assert_eq!(list(&dest), Vec::<String>::new());
    let verified = run(&[&["verify", "hello:1.0.0"][..], &common].concat()).expect(6);
    assert_contains(&verified, &format!("error: download: {words}"));
    assert!(
        server.seen().iter().all(|s| !s.path().contains("/blobs/")),
        "no blob was asked for"
    );
}
