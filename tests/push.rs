//! `packpub push` against real CNCF Distribution registries started by the harness: plain
//! HTTP, HTTPS with a self-signed CA and htpasswd, and Harbor-style Bearer tokens. What lands is
//! read back with skopeo and, through the registry's storage, checked to be untouched when it
//! must be.

use crate::support::proxy::{Fault, Proxy};
use crate::support::registry::Registry;
use crate::support::*;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use tempfile::TempDir;

const REPO: &str = "proj/spectro-packs/archive/hello";
const BASE: &str = "proj/spectro-packs/archive";

fn push_cmd(target: &str, packs: &[&Path], extra: &[&str]) -> Command {
    let mut cmd = packpub();
    cmd.arg("push")
        .args(packs)
        .args(["--registry", target])
        .args(extra);
    cmd
}

fn push(target: &str, packs: &[&Path], extra: &[&str]) -> Run {
    Run::of(push_cmd(target, packs, extra).output().unwrap())
}

/// The raw manifest at `reference` on a plain-HTTP registry, read by skopeo.
fn skopeo_raw(reference: &str) -> Option<serde_json::Value> {
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .output()
        .expect("skopeo (apt-get install skopeo)");
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).unwrap())
}

fn layer_digest(manifest: &serde_json::Value) -> &str {
    manifest["layers"][0]["digest"].as_str().unwrap()
}

fn sha256_file(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    format!(
        "sha256:{}",
        String::from_utf8(out.stdout)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
    )
}

#[test]
fn publish_lifecycle_on_a_plain_registry() {
    let reg = Registry::plain();
    let target = format!("{}/proj", reg.host());
    let tmp = TempDir::new().unwrap();
    let pack = example_in(tmp.path(), "hello-1.0.0");

    // First push: the pack and the base path appear, in the ORAS v1.0.0 shape.
    let first = push(&target, &[&pack], &["--plain-http", "--json"]).expect(0);
    let result = &first.json()[0];
    assert_eq!(result["status"], "pushed");
    assert_eq!(
        result["reference"],
        format!("{target}/spectro-packs/archive/hello:1.0.0")
    );
    let manifest = skopeo_raw(&format!("{}/{REPO}:1.0.0", reg.host())).expect("tag exists");
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.unknown.config.v1+json"
    );
    assert_eq!(manifest["config"]["size"], 2);
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar"
    );
    assert_eq!(
        manifest["layers"][0]["annotations"]["org.opencontainers.image.title"],
        "hello-1.0.0.tar.gz"
    );
    assert_eq!(layer_digest(&manifest), result["layer_digest"]);
    assert!(manifest.get("artifactType").is_none());
    assert!(manifest["annotations"]["org.opencontainers.image.created"].is_string());
    let base = reg.manifest_revisions(BASE);
    assert_eq!(base.len(), 1, "the base path holds one empty manifest");
    let revisions = reg.manifest_revisions(REPO);
    assert_eq!(revisions.len(), 1);

    // The same pack again: nothing is written.
    let again = push(&target, &[&pack], &["--plain-http"]).expect(0);
    assert!(
        again.stderr.contains("already published, nothing written"),
        "{}",
        again.stderr
    );
    assert_eq!(reg.manifest_revisions(REPO), revisions);
    assert_eq!(reg.manifest_revisions(BASE), base);

    // Other content under the same version: exit 5, both digests named, registry untouched.
    fs::write(pack.join("values.yaml"), "pack:\n  namespace: changed\n").unwrap();
    let conflict = push(&target, &[&pack], &["--plain-http"]).expect(5);
    assert!(
        conflict.stderr.contains(layer_digest(&manifest)),
        "{}",
        conflict.stderr
    );
    assert!(conflict.stderr.contains("--force"), "{}", conflict.stderr);
    assert!(
        conflict.stderr.contains("Palette caches"),
        "{}",
        conflict.stderr
    );
    assert_eq!(reg.manifest_revisions(REPO), revisions);

    // A dry run of the overwrite changes nothing either.
    let dry = push(
        &target,
        &[&pack],
        &["--plain-http", "--force", "--dry-run", "--json"],
    )
    .expect(0);
    assert_eq!(dry.json()[0]["status"], "would-overwrite");
    assert_eq!(reg.manifest_revisions(REPO), revisions);

    // --force overwrites, and says so.
    let forced = push(&target, &[&pack], &["--plain-http", "--force", "--json"]).expect(0);
    assert_eq!(forced.json()[0]["status"], "overwritten");
    assert!(
        forced.stderr.contains("overwriting it because of --force"),
        "{}",
        forced.stderr
    );
    let now = skopeo_raw(&format!("{}/{REPO}:1.0.0", reg.host())).unwrap();
    assert_eq!(layer_digest(&now), forced.json()[0]["layer_digest"]);
    assert_ne!(layer_digest(&now), layer_digest(&manifest));
    assert_eq!(
        reg.manifest_revisions(BASE),
        base,
        "the base path is created once"
    );
}

#[test]
fn dry_run_writes_nothing() {
    let reg = Registry::plain();
    let run = push(
        &format!("{}/proj", reg.host()),
        &[&example()],
        &["--plain-http", "--dry-run", "--json"],
    )
    .expect(0);
    assert_eq!(run.json()[0]["status"], "would-push");
    assert!(reg.manifest_revisions(REPO).is_empty());
    assert!(reg.manifest_revisions(BASE).is_empty());
}

#[test]
fn the_manifest_is_pinned_by_source_date_epoch() {
    let reg = Registry::plain();
    let run = Run::of(
        push_cmd(reg.host(), &[&example()], &["--plain-http", "--json"])
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
            .unwrap(),
    )
    .expect(0);
    let layer = run.json()[0]["layer_digest"].as_str().unwrap().to_string();
    let size = run.json()[0]["size"].as_u64().unwrap();
    let expected = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.unknown.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer}","size":{size},"annotations":{{"org.opencontainers.image.title":"hello-1.0.0.tar.gz"}}}}],"annotations":{{"org.opencontainers.image.created":"2023-11-14T22:13:20Z"}}}}"#
    );
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!(
            "docker://{}/spectro-packs/archive/hello:1.0.0",
            reg.host()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
    assert_eq!(
        run.json()[0]["digest"],
        format!("sha256:{}", sha256_hex(expected.as_bytes()))
    );
}

fn sha256_hex(data: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), data).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn image_spec_1_1_gives_the_newer_oras_shape() {
    let reg = Registry::plain();
    push(
        reg.host(),
        &[&example()],
        &["--plain-http", "--image-spec", "v1.1"],
    )
    .expect(0);
    let m = skopeo_raw(&format!("{}/spectro-packs/archive/hello:1.0.0", reg.host())).unwrap();
    assert_eq!(m["artifactType"], "application/vnd.unknown.artifact.v1");
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    assert_eq!(m["config"]["data"], "e30=");
}

#[test]
fn a_tarball_made_by_pack_pushes_the_same_bytes() {
    let reg = Registry::plain();
    let tmp = TempDir::new().unwrap();
    let tarball = pack_example(&tmp.path().join("out"));
    let run = push(reg.host(), &[&tarball], &["--plain-http", "--json"]).expect(0);
    assert_eq!(run.json()[0]["layer_digest"], sha256_file(&tarball));
    // The folder gives the same archive, so it is already published.
    let folder = push(reg.host(), &[&example()], &["--plain-http", "--json"]).expect(0);
    assert_eq!(folder.json()[0]["status"], "unchanged");

    // A tarball whose name does not match its pack.json is refused, and the version its name
    // claims is never tagged (its upload, begun on the strength of the name, stays untagged).
    let renamed = tmp.path().join("hello-2.0.0.tar.gz");
    fs::copy(&tarball, &renamed).unwrap();
    let bad = push(reg.host(), &[&renamed], &["--plain-http"]).expect(3);
    assert!(
        bad.stderr
            .contains("does not match pack.json, which says hello-1.0.0.tar.gz"),
        "{}",
        bad.stderr
    );
    assert!(skopeo_raw(&format!("{}/spectro-packs/archive/hello:2.0.0", reg.host())).is_none());
}

/// A tarball uploads while it is checked (issue 21), and the tag is written only when both
/// succeeded: one that fails its checks, here only at its very end, after 12 MiB went by,
/// exits 3 and leaves no tag (at most a blob no tag names, which the registry collects). The
/// good one still pushes, and verifies.
#[test]
fn a_tarball_failing_its_checks_during_its_upload_leaves_no_tag() {
    let reg = Registry::plain();
    let tmp = TempDir::new().unwrap();
    let target = format!("{}/proj", reg.host());
    let reference = format!("{target}/spectro-packs/archive/big:1.0.0");
    let repository = "proj/spectro-packs/archive/big";
    // `tar -czf`, entries sorted, beside the folder.
    let tar_gz = |dir: &Path| {
        let tarball = dir.with_file_name("big-1.0.0.tar.gz");
        let status = Command::new("tar")
            .args(["--sort=name", "-C"])
            .arg(dir.parent().unwrap())
            .arg("-czf")
            .arg(&tarball)
            .arg(dir.file_name().unwrap())
            .status()
            .unwrap();
        assert!(status.success());
        tarball
    };
    let unsafe_entry = big_pack(&tmp.path().join("unsafe-entry"));
    // Sorted last, after the big file: found only once nearly everything is read.
    std::os::unix::fs::symlink("/etc/passwd", unsafe_entry.join("zz-link")).unwrap();
    let broken_json = big_pack(&tmp.path().join("broken-json"));
    fs::write(broken_json.join("pack.json"), "{\"name\": \"big\",").unwrap();
    for (dir, words) in [
        (&unsafe_entry, "is a symbolic link"),
        (&broken_json, "is not valid JSON"),
    ] {
        let case = dir.parent().unwrap().file_name().unwrap().to_str().unwrap();
        let tarball = tar_gz(dir);
        let run = push(&target, &[&tarball], &["--plain-http", "--json"]).expect(3);
        assert!(run.stderr.contains(words), "{case}: {}", run.stderr);
        assert_eq!(run.json()[0]["status"], "failed", "{case}");
        assert!(skopeo_raw(&reference).is_none(), "{case}: tagged");
        assert!(
            reg.manifest_revisions(repository).is_empty(),
            "{case}: a manifest was written"
        );
    }

    let good = tar_gz(&big_pack(&tmp.path().join("good")));
    let run = push(&target, &[&good], &["--plain-http", "--json"]).expect(0);
    assert_eq!(run.json()[0]["status"], "pushed");
    assert_eq!(run.json()[0]["layer_digest"], sha256_file(&good));
    let m = skopeo_raw(&reference).expect("the good tarball is tagged");
    assert_eq!(layer_digest(&m), sha256_file(&good));
    let verify = packpub()
        .args(["verify", "big:1.0.0", "--registry", &target, "--plain-http"])
        .output()
        .unwrap();
    Run::of(verify).expect(0);
    // Pushing it again finds it published and writes nothing.
    let again = push(&target, &[&good], &["--plain-http", "--json"]).expect(0);
    assert_eq!(again.json()[0]["status"], "unchanged");
}

#[test]
fn several_packs_at_once_and_the_worst_exit_code_wins() {
    let reg = Registry::plain();
    let tmp = TempDir::new().unwrap();
    let mut packs = Vec::new();
    for name in ["alpha", "bravo", "charlie"] {
        let dir = example_in(tmp.path(), &format!("{name}-1.0.0"));
        edit_pack_json(&dir, |doc| doc["name"] = name.into());
        packs.push(dir);
    }
    let refs: Vec<&Path> = packs.iter().map(|p| p.as_path()).collect();
    let run = push(
        &format!("{}/p", reg.host()),
        &refs,
        &["--plain-http", "--json", "--concurrency", "3"],
    )
    .expect(0);
    let results = run.json();
    let names: Vec<&str> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "bravo", "charlie"]);
    assert!(
        results
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "pushed")
    );
    for name in ["alpha", "bravo", "charlie"] {
        assert!(
            skopeo_raw(&format!(
                "{}/p/spectro-packs/archive/{name}:1.0.0",
                reg.host()
            ))
            .is_some()
        );
    }
    assert_eq!(reg.manifest_revisions("p/spectro-packs/archive").len(), 1);

    // One broken pack among good ones: the good ones land, the run exits 3.
    let broken = example_in(tmp.path(), "broken-1.0.0");
    edit_pack_json(&broken, |doc| doc["name"] = "Broken".into());
    let delta = example_in(tmp.path(), "delta-1.0.0");
    edit_pack_json(&delta, |doc| doc["name"] = "delta".into());
    let run = push(
        &format!("{}/p", reg.host()),
        &[&broken, &delta],
        &["--plain-http", "--json"],
    )
    .expect(3);
    let results = run.json();
    assert_eq!(results[0]["status"], "failed");
    assert!(
        results[0]["error"]
            .as_str()
            .unwrap()
            .contains("not a valid pack")
    );
    assert_eq!(results[1]["status"], "pushed");
}

#[test]
fn wrong_target_forms_are_usage_errors() {
    for (target, words) in [
        (
            "https://harbor.example.com/proj",
            "use harbor.example.com/proj",
        ),
        (
            "harbor.example.com/proj/spectro-packs/archive",
            "packpub adds it",
        ),
        ("harbor.example.com/proj:1.0.0", "must not carry a tag"),
        (
            "harbor.example.com/proj@sha256:00",
            "must not carry a digest",
        ),
    ] {
        let run = push(target, &[&example()], &[]).expect(2);
        assert!(run.stderr.contains(words), "{target}: {}", run.stderr);
    }
}

#[test]
fn unreachable_registry_exits_7() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = push(
        &format!("127.0.0.1:{port}"),
        &[&example()],
        &["--plain-http", "--retries", "1"],
    )
    .expect(7);
    assert!(run.stderr.contains("connection refused"), "{}", run.stderr);
    let run = push("registry.invalid/proj", &[&example()], &["--retries", "0"]).expect(7);
    assert!(run.stderr.contains("DNS failure"), "{}", run.stderr);
}

fn tls_target(reg: &Registry) -> String {
    format!("{}/proj", reg.host())
}

const PASSWORD: &str = "s3cret-Pa55word";

fn assert_no_secret(run: &Run) {
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(PASSWORD), "the password leaked:\n{text}");
    }
}

#[test]
fn tls_with_self_signed_ca_and_basic_auth() {
    let reg = Registry::tls_basic("alice", PASSWORD);
    let target = tls_target(&reg);
    let ca = reg.ca_pem_path().to_str().unwrap().to_string();

    // Without the CA: the hint to pass it.
    let run = push(&target, &[&example()], &["--retries", "0"]).expect(7);
    assert!(run.stderr.contains("--ca-file"), "{}", run.stderr);

    // A CA file that is missing or not PEM is a usage error, not a silent fallback.
    let bogus = reg.ca_pem_path().with_extension("txt");
    fs::write(&bogus, "not a certificate").unwrap();
    let run = push(
        &target,
        &[&example()],
        &["--ca-file", bogus.to_str().unwrap()],
    )
    .expect(2);
    assert!(
        run.stderr.contains("holds no PEM certificate"),
        "{}",
        run.stderr
    );
    push(
        &target,
        &[&example()],
        &["--ca-file", "/nonexistent/ca.pem"],
    )
    .expect(2);

    // Wrong password: exit 4, the registry's reason, no secret, nothing written.
    let run = with_stdin(
        push_cmd(
            &target,
            &[&example()],
            &["--ca-file", &ca, "-u", "alice", "--password-stdin", "-v"],
        ),
        "wrong\n",
    );
    let run = run.expect(4);
    assert!(
        run.stderr
            .contains(&format!("authentication failed for {}", reg.host())),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("wrong"), "{}", run.stderr);

    // Flags + stdin.
    let run = with_stdin(
        push_cmd(
            &target,
            &[&example()],
            &["--ca-file", &ca, "-u", "alice", "--password-stdin", "-v"],
        ),
        &format!("{PASSWORD}\n"),
    );
    assert_no_secret(&run);
    let run = run.expect(0);
    assert!(
        run.stderr.contains("credentials for") && run.stderr.contains("--password-stdin"),
        "{}",
        run.stderr
    );

    // Environment variables, and PACKPUB_CA_FILE.
    let run = Run::of(
        push_cmd(&target, &[&example()], &["-v"])
            .env("PACKPUB_CA_FILE", &ca)
            .env("PACKPUB_USERNAME", "alice")
            .env("PACKPUB_PASSWORD", PASSWORD)
            .output()
            .unwrap(),
    );
    assert_no_secret(&run);
    let run = run.expect(0);
    assert!(run.stderr.contains("PACKPUB_USERNAME"), "{}", run.stderr);
    assert!(run.stderr.contains("already published"), "{}", run.stderr);

    // --insecure skips verification, with a warning.
    let run = Run::of(
        push_cmd(&target, &[&example()], &["--insecure"])
            .env("PACKPUB_USERNAME", "alice")
            .env("PACKPUB_PASSWORD", PASSWORD)
            .output()
            .unwrap(),
    )
    .expect(0);
    assert!(
        run.stderr
            .contains("--insecure: TLS certificates are not verified"),
        "{}",
        run.stderr
    );
}

#[test]
fn docker_config_auths_and_credential_helpers() {
    use base64::Engine;
    let reg = Registry::tls_basic("bob", PASSWORD);
    let target = tls_target(&reg);
    let ca = reg.ca_pem_path().to_str().unwrap().to_string();
    let home = TempDir::new().unwrap();
    let docker = home.path().join("docker");
    fs::create_dir(&docker).unwrap();

    // `auths` with base64 user:password, keyed with a scheme as docker writes it.
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("bob:{PASSWORD}"));
    let config = serde_json::json!({"auths": {format!("https://{}", reg.host()): {"auth": auth}}});
    fs::write(docker.join("config.json"), config.to_string()).unwrap();
    let run = Run::of(
        push_cmd(&target, &[&example()], &["--ca-file", &ca, "-v"])
            .env("DOCKER_CONFIG", &docker)
            .output()
            .unwrap(),
    );
    assert_no_secret(&run);
    let run = run.expect(0);
    assert!(run.stderr.contains("auths in"), "{}", run.stderr);

    // A credential helper script on PATH, configured per host in credHelpers.
    let bin = home.path().join("bin");
    fs::create_dir(&bin).unwrap();
    let log = home.path().join("helper.log");
    let script = format!(
        "#!/bin/sh\nread server\necho \"$1 $server\" >> {log}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"bob\",\"Secret\":\"{PASSWORD}\"}}' \"$server\"\n",
        log = log.display()
    );
    fs::write(bin.join("docker-credential-testhelper"), script).unwrap();
    set_mode(&bin.join("docker-credential-testhelper"), 0o755);
    let config = serde_json::json!({"credHelpers": {reg.host(): "testhelper"}, "auths": {reg.host(): {"auth": "Ym9iOndyb25n"}}});
    fs::write(docker.join("config.json"), config.to_string()).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let pack = example_in(home.path(), "hello-1.0.1");
    edit_pack_json(&pack, |doc| doc["version"] = "1.0.1".into());
    let run = Run::of(
        push_cmd(&target, &[&pack], &["--ca-file", &ca, "-v"])
            .env("DOCKER_CONFIG", &docker)
            .env("PATH", path)
            .output()
            .unwrap(),
    );
    assert_no_secret(&run);
    let run = run.expect(0);
    assert!(
        run.stderr.contains("docker-credential-testhelper"),
        "{}",
        run.stderr
    );
    assert_eq!(
        fs::read_to_string(&log).unwrap().trim(),
        format!("get {}", reg.host())
    );
}

#[test]
fn bearer_token_auth_like_harbor() {
    let reg = Registry::token("robot", PASSWORD);
    let target = format!("{}/library", reg.host());
    let env_push = |password: &str| {
        Run::of(
            push_cmd(&target, &[&example()], &["--plain-http", "--json"])
                .env("PACKPUB_USERNAME", "robot")
                .env("PACKPUB_PASSWORD", password)
                .output()
                .unwrap(),
        )
    };
    let ok = env_push(PASSWORD);
    assert_no_secret(&ok);
    assert_eq!(ok.expect(0).json()[0]["status"], "pushed");
    assert_eq!(
        env_push(PASSWORD).expect(0).json()[0]["status"],
        "unchanged"
    );
    let wrong = env_push("nope").expect(4);
    assert!(
        wrong.json()[0]["error"]
            .as_str()
            .unwrap()
            .contains("authentication failed"),
        "{}",
        wrong.stdout
    );
    // Anonymous: the registry lets us in but grants nothing.
    push(&target, &[&example()], &["--plain-http"]).expect(4);
}

/// A ~6 MB pack, so the upload spans many TCP segments and the proxy can cut it mid-way.
fn big_pack(parent: &Path) -> std::path::PathBuf {
    let dir = example_in(parent, "big-1.0.0");
    edit_pack_json(&dir, |doc| doc["name"] = "big".into());
    write_mixed(&dir.join("blob.bin"), 12 << 20, 7);
    dir
}

#[test]
fn a_connection_cut_mid_upload_is_retried_to_success() {
    let reg = Registry::plain();
    let upstream = reg.host().parse().unwrap();
    let proxy = Proxy::start(
        upstream,
        Fault::CutAfterBytes {
            bytes: 1 << 20,
            times: 2,
        },
    );
    let tmp = TempDir::new().unwrap();
    let pack = big_pack(tmp.path());
    let target = format!("{}/proj", proxy.addr());
    let run = push(
        &target,
        &[&pack],
        &["--plain-http", "--json", "--retries", "4"],
    )
    .expect(0);
    assert_eq!(run.json()[0]["status"], "pushed");
    assert!(proxy.cuts() >= 1, "the proxy never cut the upload");
    let m = skopeo_raw(&format!(
        "{}/proj/spectro-packs/archive/big:1.0.0",
        reg.host()
    ))
    .unwrap();
    assert_eq!(layer_digest(&m), run.json()[0]["layer_digest"]);
}

#[test]
fn when_retries_run_out_no_tag_exists() {
    let reg = Registry::plain();
    let upstream = reg.host().parse().unwrap();
    let proxy = Proxy::start(upstream, Fault::CutAlways { bytes: 1 << 20 });
    let tmp = TempDir::new().unwrap();
    let pack = big_pack(tmp.path());
    let run = push(
        &format!("{}/proj", proxy.addr()),
        &[&pack],
        &["--plain-http", "--retries", "2"],
    );
    let run = run.expect(7);
    assert!(run.stderr.contains("cannot reach"), "{}", run.stderr);
    assert!(proxy.cuts() >= 3, "cuts: {}", proxy.cuts());
    assert!(
        skopeo_raw(&format!(
            "{}/proj/spectro-packs/archive/big:1.0.0",
            reg.host()
        ))
        .is_none()
    );
    assert!(
        reg.manifest_revisions("proj/spectro-packs/archive/big")
            .is_empty()
    );
}

#[test]
fn oci_layout_target() {
    let tmp = TempDir::new().unwrap();
    let layout = tmp.path().join("demo-registry");
    let target = format!("oci:{}", layout.display());
    let run = push(&target, &[&example()], &["--json"]).expect(0);
    let result = &run.json()[0];
    assert_eq!(result["status"], "pushed");
    assert_eq!(
        fs::read_to_string(layout.join("oci-layout")).unwrap(),
        r#"{"imageLayoutVersion":"1.0.0"}"#
    );
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    let entry = &index["manifests"][0];
    assert_eq!(
        entry["annotations"]["org.opencontainers.image.ref.name"],
        "spectro-packs/archive/hello:1.0.0"
    );
    assert_eq!(entry["digest"], result["digest"]);
    // Every blob is stored under its own digest.
    for digest in [
        result["digest"].as_str().unwrap(),
        result["layer_digest"].as_str().unwrap(),
    ] {
        let blob = layout
            .join("blobs/sha256")
            .join(digest.strip_prefix("sha256:").unwrap());
        assert_eq!(sha256_file(&blob), digest);
    }
    // skopeo reads the layout as an OCI peer would.
    let out = Command::new("skopeo")
        .args(["inspect", "--raw"])
        .arg(format!(
            "oci:{}:spectro-packs/archive/hello:1.0.0",
            layout.display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let raw: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(raw["layers"][0]["digest"], result["layer_digest"]);

    // Same immutability rules.
    assert_eq!(
        push(&target, &[&example()], &["--json"]).expect(0).json()[0]["status"],
        "unchanged"
    );
    let changed = example_in(tmp.path(), "hello-1.0.0");
    fs::write(changed.join("README.md"), "# changed\n").unwrap();
    push(&target, &[&changed], &[]).expect(5);
    let forced = push(&target, &[&changed], &["--force", "--json"]).expect(0);
    assert_eq!(forced.json()[0]["status"], "overwritten");
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1);
}

/// The bug a new user hits first: `pack .` leaves `hello-1.0.0.tar.gz` in the folder, and
/// `push .` must not pack that archive into itself. Every archive `pack` writes for this pack
/// (any version, any depth) stays out; other tarballs stay in.
#[test]
fn push_after_pack_in_the_folder_pushes_what_pack_built() {
    let tmp = TempDir::new().unwrap();
    let clean = example_in(&tmp.path().join("clean"), "hello-1.0.0");
    let dirty = example_in(tmp.path(), "hello-1.0.0");
    for dir in [&clean, &dirty] {
        fs::create_dir(dir.join("extra")).unwrap();
        fs::write(dir.join("extra/other-1.0.0.tar.gz"), b"not ours").unwrap();
    }
    // What earlier runs leave behind: this version, an older one, one in a sub-folder.
    let pack_here = |dir: &Path, extra: &[&str]| {
        Run::of(
            packpub()
                .current_dir(dir)
                .args(["pack", "."])
                .args(extra)
                .arg("--json")
                .output()
                .unwrap(),
        )
        .expect(0)
        .json()
    };
    let packed = pack_here(&dirty, &[]);
    fs::copy(
        dirty.join("hello-1.0.0.tar.gz"),
        dirty.join("hello-0.9.0.tar.gz"),
    )
    .unwrap();
    pack_here(&dirty, &["-o", "dist"]);
    assert!(dirty.join("dist/hello-1.0.0.tar.gz").is_file());
    assert_eq!(
        pack_here(&dirty, &[])["digest"],
        packed["digest"],
        "pack packed its own output"
    );
    assert_eq!(pack_here(&clean, &[])["digest"], packed["digest"]);

    let run = Run::of(
        packpub()
            .current_dir(&dirty)
            .args(["push", ".", "--registry", "oci:../demo", "--json"])
            .output()
            .unwrap(),
    )
    .expect(0);
    assert_eq!(run.json()[0]["layer_digest"], packed["digest"]);
    let blob = tmp.path().join("demo/blobs/sha256").join(
        packed["digest"]
            .as_str()
            .unwrap()
            .strip_prefix("sha256:")
            .unwrap(),
    );
    let listing = Command::new("tar").arg("-tzf").arg(&blob).output().unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    assert!(
        listing.contains("hello-1.0.0/extra/other-1.0.0.tar.gz"),
        "{listing}"
    );
    assert!(!listing.contains("hello-1.0.0/hello-"), "{listing}");
    assert!(!listing.contains("dist/hello-"), "{listing}");
    let verify = Run::of(
        packpub()
            .current_dir(&dirty)
            .args(["verify", ".", "--registry", "oci:../demo"])
            .output()
            .unwrap(),
    );
    verify.expect(0);
}

/// A tarball is held to the same rules as a folder: `--strict` (here as `PACKPUB_STRICT=1`,
/// the README's form) refuses its warnings, and `--json` carries the findings.
#[test]
fn a_tarball_push_under_strict_reports_its_findings() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    edit_pack_json(&dir, |doc| doc["cloudTypes"] = serde_json::json!(["mars"]));
    let out = tmp.path().join("out");
    let packed = run(&["pack", dir.to_str().unwrap(), "-o", out.to_str().unwrap()]).expect(0);
    assert!(packed.stderr.contains("mars"), "{}", packed.stderr);
    let tarball = out.join("hello-1.0.0.tar.gz");
    let layout = tmp.path().join("layout");
    let target = format!("oci:{}", layout.display());
    for strict in [&["--strict"][..], &[]] {
        let mut cmd = push_cmd(&target, &[&tarball], &["--json"]);
        cmd.args(strict);
        if strict.is_empty() {
            cmd.env("PACKPUB_STRICT", "1");
        }
        let run = Run::of(cmd.output().unwrap()).expect(3);
        let result = &run.json()[0];
        assert_eq!(result["status"], "failed");
        assert!(
            result["error"]
                .as_str()
                .unwrap()
                .contains("--strict counts warnings as errors"),
            "{result}"
        );
        let details = result["details"].as_array().expect("findings in details");
        assert!(
            details.iter().any(|f| f["severity"] == "warning"
                && f["file"] == "pack.json"
                && f["message"].as_str().unwrap().contains("mars")),
            "{result}"
        );
        assert!(
            !layout.join("index.json").exists()
                || !fs::read_to_string(layout.join("index.json"))
                    .unwrap()
                    .contains("hello")
        );
    }
    // Without --strict the same tarball publishes, and PACKPUB_STRICT=0 means off.
    let mut cmd = push_cmd(&target, &[&tarball], &["--json"]);
    cmd.env("PACKPUB_STRICT", "0");
    assert_eq!(
        Run::of(cmd.output().unwrap()).expect(0).json()[0]["status"],
        "pushed"
    );
}

/// The ORAS Python SDK (a peer Palette-style reader) pulls what packpub pushed and gets
/// `<name>-<version>.tar.gz` with the very bytes `pack` builds.
#[test]
fn oras_python_sdk_pulls_the_pushed_pack() {
    let python = oras_python();
    let reg = Registry::plain();
    let tmp = TempDir::new().unwrap();
    let packed = pack_example(&tmp.path().join("out"));
    push(
        &format!("{}/proj", reg.host()),
        &[&example()],
        &["--plain-http"],
    )
    .expect(0);
    let pulled = tmp.path().join("pulled");
    let script = format!(
        "import oras.client\nc = oras.client.OrasClient(hostname='{host}', insecure=True)\nprint(c.pull(target='{host}/{REPO}:1.0.0', outdir='{dir}'))\n",
        host = reg.host(),
        dir = pulled.display()
    );
    let result = Command::new(&python)
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert_eq!(list(&pulled), ["hello-1.0.0.tar.gz"]);
    assert_eq!(
        fs::read(pulled.join("hello-1.0.0.tar.gz")).unwrap(),
        fs::read(&packed).unwrap()
    );
}

/// A 1 GiB pack archive streams from disk: packpub's peak RSS stays under 50 MiB. The archive
/// is stored uncompressed (gzip level 0) so building it costs seconds, not minutes.
#[test]
fn pushing_a_1_gib_pack_keeps_memory_flat() {
    let reg = Registry::plain();
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "huge-1.0.0");
    edit_pack_json(&dir, |doc| doc["name"] = "huge".into());
    let status = Command::new("head")
        .args(["-c", "1073741824", "/dev/urandom"])
        .stdout(fs::File::create(dir.join("blob.bin")).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    let tarball = tmp.path().join("huge-1.0.0.tar.gz");
    let gz = flate2::write::GzEncoder::new(
        fs::File::create(&tarball).unwrap(),
        flate2::Compression::none(),
    );
    let mut builder = tar::Builder::new(gz);
    builder.append_dir_all("huge-1.0.0", &dir).unwrap();
    builder.into_inner().unwrap().finish().unwrap();
    fs::remove_dir_all(&dir).unwrap();

    let (run, peak_kib) = run_measured(push_cmd(
        reg.host(),
        &[&tarball],
        &["--plain-http", "--json"],
    ));
    let run = run.expect(0);
    assert_eq!(run.json()[0]["layer_digest"], sha256_file(&tarball));
    eprintln!("1 GiB push: peak RSS {peak_kib} KiB");
    assert!(
        peak_kib < 50 * 1024,
        "peak RSS {peak_kib} KiB is over 50 MiB"
    );
}

/// The campaign of issue 9: 100 pushes through a proxy that cuts connections at random offsets
/// and answers bursts of 503. Every push ends either published and verified, or failed with no
/// tag: never a tag whose blobs are missing (a half-published version).
#[test]
fn a_hundred_faulty_pushes_never_half_publish() {
    let reg = Registry::plain();
    let proxy = Proxy::start(
        reg.host().parse().unwrap(),
        Fault::Random {
            seed: 0x5eed_cafe,
            cut_one_in: 3,
            busy_one_in: 4,
            max_offset: 300 << 10,
        },
    );
    let tmp = TempDir::new().unwrap();
    let packs: Vec<_> = (0..100)
        .map(|i| {
            let version = format!("1.0.{i}");
            let dir = example_in(tmp.path(), &format!("hello-{version}"));
            edit_pack_json(&dir, |doc| doc["version"] = version.clone().into());
            write_mixed(&dir.join("data.bin"), 256 << 10, i);
            (version, dir)
        })
        .collect();
    let via_proxy = format!("{}/proj", proxy.addr());
    let outcomes: Vec<(String, i32)> = std::thread::scope(|scope| {
        let chunks: Vec<_> = packs
            .chunks(25)
            .map(|chunk| {
                let via_proxy = &via_proxy;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|(version, dir)| {
                            let run = push(via_proxy, &[dir], &["--plain-http", "--retries", "1"]);
                            assert!(
                                [0, 7].contains(&run.code),
                                "{version}: exit {}: {}",
                                run.code,
                                run.stderr
                            );
                            (version.clone(), run.code)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        chunks.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let target = format!("{}/proj", reg.host());
    let (mut pushed, mut failed, mut half_published) = (0, 0, 0);
    for (version, code) in &outcomes {
        let tagged =
            skopeo_raw(&format!("{target}/spectro-packs/archive/hello:{version}")).is_some();
        let reference = format!("hello:{version}");
        let verify = run(&["verify", &reference, "--registry", &target, "--plain-http"]);
        if tagged && verify.code != 0 {
            half_published += 1;
        }
        if *code == 0 {
            pushed += 1;
            assert_eq!(verify.code, 0, "{version} pushed but: {}", verify.stderr);
        } else {
            failed += 1;
            assert!(!tagged, "{version} failed (exit {code}) but its tag exists");
        }
    }
    eprintln!(
        "100 faulty pushes: {pushed} published and verified, {failed} failed with no tag, \
         {half_published} half-published; proxy cut {} connections",
        proxy.cuts()
    );
    assert_eq!(half_published, 0);
    // Both endings happened, so both were checked.
    assert!(pushed > 0 && failed > 0 && proxy.cuts() > 0);
}

/// The campaign of issue 9: 8 pushes of the same version at once, four contents, two
/// processes each. Afterwards the tag names exactly one content; the process that wrote it
/// says "pushed", its twin "unchanged", every other one exits 5: nobody claims a write that
/// another overwrote.
#[test]
fn eight_concurrent_pushes_of_one_version_never_mix() {
    let reg = Registry::plain();
    let tmp = TempDir::new().unwrap();
    let packs: Vec<_> = (0..4)
        .map(|i| {
            let dir = example_in(&tmp.path().join(format!("c{i}")), "hello-1.0.0");
            fs::write(dir.join("README.md"), format!("# content {i}\n")).unwrap();
            write_mixed(&dir.join("data.bin"), 2 << 20, i);
            dir
        })
        .collect();
    let target = format!("{}/proj", reg.host());
    let children: Vec<_> = (0..8)
        .map(|i| {
            push_cmd(&target, &[&packs[i % 4]], &["--plain-http", "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|c| Run::of(c.wait_with_output().unwrap()))
        .collect();
    let tag = skopeo_raw(&format!("{target}/spectro-packs/archive/hello:1.0.0")).unwrap();
    let winner = layer_digest(&tag).to_string();
    let mut statuses = Vec::new();
    for run in &runs {
        let result = &run.json()[0];
        let status = result["status"].as_str().unwrap().to_string();
        let same = result["layer_digest"] == winner.as_str();
        match (run.code, status.as_str()) {
            (0, "pushed" | "unchanged") => assert!(same, "claims {status} of another content"),
            (5, "failed") => assert!(!same, "conflict on its own content: {}", run.stderr),
            _ => panic!("exit {}: {}", run.code, run.stderr),
        }
        statuses.push(status);
    }
    statuses.sort();
    assert_eq!(
        statuses,
        [
            "failed",
            "failed",
            "failed",
            "failed",
            "failed",
            "failed",
            "pushed",
            "unchanged"
        ]
    );
    assert_eq!(
        reg.manifest_revisions("proj/spectro-packs/archive/hello")
            .len(),
        1
    );
}

/// A version published with GNU `tar -czf` and the ORAS SDK (another compression), then the
/// same folder pushed by packpub: the same pack, so nothing is written, even with --force (a
/// new digest for the same files would only break clusters that pinned the old one); verify
/// passes and says why. One changed byte, or one executable bit, is a conflict again.
#[test]
fn the_same_files_compressed_otherwise_are_unchanged() {
    let reg = Registry::plain();
    let tmp = TempDir::new().unwrap();
    let pack = example_in(tmp.path(), "hello-1.0.0");
    let tarball = tmp.path().join("hello-1.0.0.tar.gz");
    let made = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(tmp.path())
        .arg("hello-1.0.0")
        .status()
        .unwrap();
    assert!(made.success());
    let reference = format!("{}/proj/spectro-packs/archive/hello:1.0.0", reg.host());
    oras_peer(&["push", reg.host(), &reference, tarball.to_str().unwrap()]);
    let before = skopeo_raw(&reference).unwrap();
    let target = format!("{}/proj", reg.host());
    // The base path, which the SDK does not create, from another pack.
    let other = example_in(tmp.path(), "other-1.0.0");
    edit_pack_json(&other, |doc| doc["name"] = "other".into());
    push(&target, &[&other], &["--plain-http"]).expect(0);

    for extra in [
        &["--json"][..],
        &["--json", "--force"],
        &["--json", "--no-cache"],
    ] {
        let args = [&["--plain-http"][..], extra].concat();
        let pushed = push(&target, &[&pack], &args).expect(0);
        assert_eq!(
            pushed.json()[0]["status"],
            "unchanged-other-compression",
            "{extra:?}: {}",
            pushed.stderr
        );
        assert_eq!(
            skopeo_raw(&reference).unwrap(),
            before,
            "{extra:?} changed the tag"
        );
    }
    let pushed = push(&target, &[&pack], &["--plain-http"]).expect(0);
    assert!(
        pushed
            .stderr
            .contains("hello 1.0.0 unchanged (same files, other compression)"),
        "{}",
        pushed.stderr
    );
    let verified = run(&[
        "verify",
        pack.to_str().unwrap(),
        "--registry",
        &target,
        "--plain-http",
        "--json",
    ])
    .expect(0);
    let digest_check = verified.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "digest")
        .cloned()
        .unwrap_or_else(|| panic!("no digest check: {}", verified.stdout));
    assert_eq!(digest_check["ok"], true);
    assert!(
        digest_check["detail"]
            .as_str()
            .unwrap()
            .starts_with("same files, other compression"),
        "{digest_check}"
    );

    set_mode(&pack.join("values.yaml"), 0o755);
    let conflict = push(&target, &[&pack], &["--plain-http"]).expect(5);
    assert!(
        conflict
            .stderr
            .contains("already exists with other content")
    );
    set_mode(&pack.join("values.yaml"), 0o644);
    fs::write(pack.join("values.yaml"), "pack:\n  namespace: other\n").unwrap();
    push(&target, &[&pack], &["--plain-http"]).expect(5);
    run(&[
        "verify",
        pack.to_str().unwrap(),
        "--registry",
        &target,
        "--plain-http",
    ])
    .expect(6);
    assert_eq!(skopeo_raw(&reference).unwrap(), before);
}

/// The re-push cache: the first push remembers which archive the folder's content made; an
/// unchanged re-push is decided from it without compressing (`-v` says so); an entry that lies
/// (names another archive) is never believed, and a changed folder misses.
#[test]
fn an_unchanged_re_push_compresses_nothing_and_a_lying_cache_is_not_believed() {
    let reg = Registry::plain();
    let tmp = TempDir::new().unwrap();
    let pack = big_pack(tmp.path());
    let cache = tmp.path().join("cache");
    let target = format!("{}/proj", reg.host());
    let cached = ["--plain-http", "-v", "--cache-dir", cache.to_str().unwrap()];
    let first = push(&target, &[&pack], &cached).expect(0);
    assert!(
        !first.stderr.contains("nothing compressed"),
        "{}",
        first.stderr
    );
    let entries: Vec<_> = walk_files(&cache);
    assert_eq!(entries.len(), 1, "one entry per content: {entries:?}");
    let again = push(&target, &[&pack], &cached).expect(0);
    assert!(
        again
            .stderr
            .contains("holds the archive this content made before")
            && again.stderr.contains("nothing compressed")
            && !again.stderr.contains("archiving "),
        "{}",
        again.stderr
    );

    // A lying entry: the tag holds another archive than it says, so the archive is built and
    // compared for real (unchanged), and the entry is corrected.
    let entry = &entries[0];
    let text = fs::read_to_string(entry).unwrap();
    let mut lie: serde_json::Value = serde_json::from_str(&text).unwrap();
    lie["archive"] = format!("sha256:{}", "0".repeat(64)).into();
    fs::write(entry, lie.to_string()).unwrap();
    let checked = push(&target, &[&pack], &cached).expect(0);
    assert!(
        checked.stderr.contains("archiving ") && !checked.stderr.contains("nothing compressed"),
        "{}",
        checked.stderr
    );
    assert_eq!(
        fs::read_to_string(entry).unwrap(),
        text,
        "the entry was not corrected"
    );

    // A changed folder is another content: a miss, and a conflict.
    fs::write(pack.join("values.yaml"), "pack:\n  namespace: changed\n").unwrap();
    push(&target, &[&pack], &cached).expect(5);
}

fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk_files(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// A folder pushed as a new version is compressed while it uploads; killed mid-way, it leaves
/// no tag (the manifest is written last), and pushing again publishes it whole.
#[test]
fn a_streamed_push_killed_mid_way_leaves_no_tag() {
    let reg = Registry::plain();
    let upstream = reg.host().parse().unwrap();
    // The proxy passes everything, and counts it.
    let proxy = Proxy::start(
        upstream,
        Fault::CutAfterBytes {
            bytes: u64::MAX,
            times: 0,
        },
    );
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "huge-1.0.0");
    edit_pack_json(&dir, |doc| doc["name"] = "huge".into());
    write_mixed(&dir.join("blob.bin"), 160 << 20, 3);
    let target = format!("{}/proj", proxy.addr());
    let mut child = push_cmd(&target, &[&dir], &["--plain-http", "--jobs", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the first chunk to be on its way, long before the archive is complete.
    let started = std::time::Instant::now();
    while proxy.forwarded() < 4 << 20 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the push ended before uploading 4 MiB: nothing was streamed"
        );
        assert!(started.elapsed().as_secs() < 120, "no upload after 120 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let reference = format!("{}/proj/spectro-packs/archive/huge:1.0.0", reg.host());
    assert!(skopeo_raw(&reference).is_none(), "a killed push left a tag");
    let pushed = push(&target, &[&dir], &["--plain-http", "--json"]).expect(0);
    assert_eq!(pushed.json()[0]["status"], "pushed");
    run(&[
        "verify",
        dir.to_str().unwrap(),
        "--registry",
        &target,
        "--plain-http",
    ])
    .expect(0);
}
