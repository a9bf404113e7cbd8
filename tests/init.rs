//! `packpub init`: scaffolds from a Helm chart (folder or archive, built here) and from
//! manifests, checked file by file, then carried through `pack` → `push` → `verify` against a
//! real registry. Hostile chart archives are refused with nothing written.

use crate::support::registry::Registry;
use crate::support::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

const CHART_YAML: &str = "\
apiVersion: v2
name: web
description: A web server
version: 1.2.3
appVersion: \"4.5.6\"
";

/// The chart's default values: comments, an image mapping with a registry, an `image:`
/// string, a mapping whose empty tag means the appVersion, and a number-like tag.
const VALUES: &str = "\
# Default values for web.
replicaCount: 2

image:
  # Where the server image comes from.
  registry: docker.io
  repository: nginxinc/nginx-unprivileged
  tag: \"1.25\"   # pinned

sidecar:
  image: busybox:1.36

exporter:
  repository: quay.io/prom/exporter
  tag: \"\"

config: |
  server {
    listen 8080;
  }
";

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
";

/// A chart folder `parent/web` as `helm create` would leave it, with files `.helmignore` and
/// Helm's own rule leave out.
fn chart_dir(parent: &Path) -> PathBuf {
    let dir = parent.join("web");
    fs::create_dir_all(dir.join("templates")).unwrap();
    fs::write(dir.join("Chart.yaml"), CHART_YAML).unwrap();
    fs::write(dir.join("values.yaml"), VALUES).unwrap();
    fs::write(dir.join("templates/deployment.yaml"), DEPLOYMENT).unwrap();
    fs::write(dir.join(".helmignore"), "# editor files\n*.bak\n").unwrap();
    fs::write(dir.join("values.yaml.bak"), "old").unwrap();
    fs::write(dir.join("templates/.notes"), "hidden").unwrap();
    dir
}

/// The same chart packaged with GNU tar: `parent/web-1.2.3.tgz`.
fn chart_tgz(parent: &Path) -> PathBuf {
    let src = parent.join("src");
    chart_dir(&src);
    let tgz = parent.join("web-1.2.3.tgz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&tgz)
        .arg("-C")
        .arg(&src)
        .arg("web")
        .status()
        .expect("GNU tar");
    assert!(status.success());
    tgz
}

fn init(args: &[&str]) -> Run {
    let mut all = vec!["init"];
    all.extend_from_slice(args);
    run(&all)
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn pack_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(dir.join("pack.json")).unwrap()).unwrap()
}

/// Every path under `dir`, folders with a trailing '/', sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if entry.file_type().unwrap().is_dir() {
            paths.push(format!("{name}/"));
            paths.extend(
                tree(&entry.path())
                    .into_iter()
                    .map(|p| format!("{name}/{p}")),
            );
        } else {
            paths.push(name);
        }
    }
    paths.sort();
    paths
}

/// `tar -tzvf` of an archive: one line per entry.
fn listing(tgz: &Path) -> String {
    let out = Command::new("tar").arg("-tzvf").arg(tgz).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_chart_archive_becomes_a_pack() {
    let tmp = TempDir::new().unwrap();
    let tgz = chart_tgz(tmp.path());
    let out = tmp.path().join("out");
    let run = init(&["--chart", s(&tgz), "-o", s(&out), "--json"]).expect(0);
    let doc = run.json();
    let pack = out.join("web-1.2.3");
    assert_eq!(doc["path"], s(&pack));
    assert_eq!(
        (doc["name"].as_str(), doc["version"].as_str()),
        (Some("web"), Some("1.2.3"))
    );
    let files = [
        "README.md",
        "charts/web-1.2.3.tgz",
        "pack.json",
        "values.yaml",
    ];
    assert_eq!(doc["files"], serde_json::json!(files));
    assert_eq!(
        tree(&pack),
        [
            "README.md",
            "charts/",
            "charts/web-1.2.3.tgz",
            "pack.json",
            "values.yaml"
        ]
    );
    // Only the scaffold: no staging folder left next to it.
    assert_eq!(
        tree(&out),
        [
            "web-1.2.3/",
            "web-1.2.3/README.md",
            "web-1.2.3/charts/",
            "web-1.2.3/charts/web-1.2.3.tgz",
            "web-1.2.3/pack.json",
            "web-1.2.3/values.yaml"
        ]
    );
    // The archive is copied as it is.
    assert_eq!(
        fs::read(pack.join("charts/web-1.2.3.tgz")).unwrap(),
        fs::read(&tgz).unwrap()
    );
    // It passes lint, pack-central's rules included, with the logo as its only finding.
    let linted = crate::support::run(&["lint", s(&pack), "--json", "--profile", "pack-central"]);
    let rules: Vec<String> = linted.json()["packs"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["rule"].as_str().unwrap(),
                f["severity"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(rules, ["PP021 error"], "{}", linted.stdout);
    crate::support::run(&["lint", s(&pack)]).expect(0);

    assert_eq!(
        pack_json(&pack),
        serde_json::json!({
            "name": "web",
            "version": "1.2.3",
            "displayName": "web",
            "layer": "addon",
            "addonType": "system app",
            "cloudTypes": ["all"],
            "charts": ["charts/web-1.2.3.tgz"],
        })
    );

    let values = fs::read_to_string(pack.join("values.yaml")).unwrap();
    assert!(values.starts_with("pack:\n"), "{values}");
    assert!(values.contains("  namespace: \"web\"\n"), "{values}");
    for (image, at) in [
        (
            "docker.io/nginxinc/nginx-unprivileged:1.25",
            "charts.web.image",
        ),
        ("busybox:1.36", "charts.web.sidecar.image"),
        (
            "quay.io/prom/exporter:4.5.6",
            "charts.web.exporter; the tag is empty",
        ),
    ] {
        let line = format!("      - image: {image}   # review: found at {at}");
        assert!(values.contains(&line), "{line}\n{values}");
    }
    // The chart's values verbatim, comments kept, four spaces in.
    let nested: String = VALUES
        .lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("    {l}\n")
            }
        })
        .collect();
    assert!(
        values.ends_with(&format!("charts:\n  web:\n{nested}")),
        "{values}"
    );

    let readme = fs::read_to_string(pack.join("README.md")).unwrap();
    assert!(
        readme.contains("**web** version 1.2.3 (app version 4.5.6)"),
        "{readme}"
    );
    assert!(!pack.join("logo.png").exists());
    assert!(
        run.stderr.contains("logo.png: is missing"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("pack-central requires it"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_chart_folder_is_packaged_reproducibly_as_helm_lays_it_out() {
    let tmp = TempDir::new().unwrap();
    let dir = chart_dir(tmp.path());
    let first = tmp.path().join("a");
    init(&["--chart", s(&dir), "-o", s(&first)]).expect(0);
    // Other times, modes and creation order must not change the bytes.
    Command::new("touch")
        .args(["-d", "2001-02-03 04:05:06"])
        .arg(dir.join("values.yaml"))
        .status()
        .unwrap();
    set_mode(&dir.join("Chart.yaml"), 0o600);
    let deployment = dir.join("templates/deployment.yaml");
    fs::remove_file(&deployment).unwrap();
    fs::write(&deployment, DEPLOYMENT).unwrap();
    let second = tmp.path().join("b");
    init(&["--chart", s(&dir), "-o", s(&second)]).expect(0);

    let archive = |out: &Path| fs::read(out.join("web-1.2.3/charts/web-1.2.3.tgz")).unwrap();
    assert_eq!(archive(&first), archive(&second));
    let tgz = first.join("web-1.2.3/charts/web-1.2.3.tgz");
    let entries = listing(&tgz);
    let lines: Vec<&str> = entries.lines().collect();
    assert_eq!(lines.len(), 4, "{entries}");
    for (line, name) in lines.iter().zip([
        "web/.helmignore",
        "web/Chart.yaml",
        "web/templates/deployment.yaml",
        "web/values.yaml",
    ]) {
        assert!(line.starts_with("-rw-r--r-- 0/0"), "{line}");
        assert!(line.contains(" 1980-01-01 "), "{line}");
        assert!(line.ends_with(name), "{line}");
    }
    // Bytes 4..8 of a gzip header are its time, byte 3 its flags (no name).
    let bytes = archive(&first);
    assert_eq!(&bytes[3..8], &[0, 0, 0, 0, 0]);

    // The scaffold from the folder and from the archive differ only in the chart's bytes.
    let from_tgz = tmp.path().join("c");
    init(&["--chart", s(&tgz), "-o", s(&from_tgz)]).expect(0);
    for file in ["pack.json", "values.yaml", "README.md"] {
        assert_eq!(
            fs::read(first.join("web-1.2.3").join(file)).unwrap(),
            fs::read(from_tgz.join("web-1.2.3").join(file)).unwrap(),
            "{file}"
        );
    }
}

#[test]
fn an_existing_folder_is_kept_unless_forced() {
    let tmp = TempDir::new().unwrap();
    let tgz = chart_tgz(tmp.path());
    let out = tmp.path().join("out");
    let existing = out.join("web-1.2.3");
    fs::create_dir_all(&existing).unwrap();
    fs::write(existing.join("mine.txt"), "keep me").unwrap();

    let run = init(&["--chart", s(&tgz), "-o", s(&out)]).expect(2);
    assert!(
        run.stderr
            .contains(&format!("{} already exists", existing.display())),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(tree(&out), ["web-1.2.3/", "web-1.2.3/mine.txt"]);

    init(&["--chart", s(&tgz), "-o", s(&out), "--force"]).expect(0);
    assert!(!existing.join("mine.txt").exists());
    assert!(existing.join("pack.json").is_file());
    // Nothing left beside it: neither the staging folder nor the replaced one.
    assert_eq!(list(&out), ["web-1.2.3"]);
}

#[test]
fn an_output_that_is_a_file_is_a_usage_error() {
    let tmp = TempDir::new().unwrap();
    let tgz = chart_tgz(tmp.path());
    let file = tmp.path().join("notes.txt");
    fs::write(&file, "mine").unwrap();
    for output in [file.clone(), file.join("below")] {
        let run = init(&["--chart", s(&tgz), "-o", s(&output)]).expect(2);
        assert!(
            run.stderr.contains(&format!(
                "-o {}: a file is in the way; name a folder",
                output.display()
            )),
            "{}",
            run.stderr
        );
    }
    assert_eq!(fs::read_to_string(&file).unwrap(), "mine");
}

#[test]
fn names_versions_and_namespaces_that_cannot_be_used_are_usage_errors() {
    let tmp = TempDir::new().unwrap();
    let tgz = chart_tgz(tmp.path());
    let out = tmp.path().join("out");
    let run = init(&["--chart", s(&tgz), "-o", s(&out), "--name", "Web_App"]).expect(2);
    assert!(run.stderr.contains("e.g. \"web-app\""), "{}", run.stderr);
    let run = init(&["--chart", s(&tgz), "-o", s(&out), "--version", "1.0+x"]).expect(2);
    assert!(run.stderr.contains("e.g. \"1.0-x\""), "{}", run.stderr);
    let run = init(&["--chart", s(&tgz), "-o", s(&out), "--namespace", "Web_NS"]).expect(2);
    assert!(run.stderr.contains("e.g. \"web-ns\""), "{}", run.stderr);
    let run = init(&["--chart", s(&tgz), "-o", s(&out), "--layer", "app"]).expect(2);
    assert!(run.stderr.contains("addon"), "{}", run.stderr);

    // A chart named against the OCI grammar needs --name, and says so.
    let dir = chart_dir(&tmp.path().join("upper"));
    fs::write(
        dir.join("Chart.yaml"),
        CHART_YAML.replace("name: web", "name: Web_App"),
    )
    .unwrap();
    let run = init(&["--chart", s(&dir), "-o", s(&out)]).expect(2);
    assert!(run.stderr.contains("e.g. \"web-app\""), "{}", run.stderr);
    assert!(run.stderr.contains("--name"), "{}", run.stderr);
    init(&[
        "--chart",
        s(&dir),
        "-o",
        s(&out),
        "--name",
        "web-app",
        "--namespace",
        "web",
    ])
    .expect(0);
    let values = fs::read_to_string(out.join("web-app-1.2.3/values.yaml")).unwrap();
    assert!(values.contains("charts:\n  Web_App:\n"), "{values}");

    assert!(!out.join("web-1.2.3").exists());
    init(&["-o", s(&out)]).expect(2);
    init(&["--chart", s(&tmp.path().join("missing.tgz")), "-o", s(&out)]).expect(2);
}

/// Manifests in `parent/manifests`: two YAML files and a file that is not one.
fn manifests(parent: &Path) -> PathBuf {
    let dir = parent.join("manifests");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("deploy.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n").unwrap();
    fs::write(
        dir.join("rbac.yml"),
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: c\n",
    )
    .unwrap();
    fs::write(dir.join("NOTES.txt"), "not a manifest").unwrap();
    dir
}

#[test]
fn manifests_become_a_manifest_pack() {
    let tmp = TempDir::new().unwrap();
    let dir = manifests(tmp.path());
    let out = tmp.path().join("out");
    let run = init(&[
        "--manifests",
        s(&dir),
        "--name",
        "tools",
        "--version",
        "0.1.0",
        "-o",
        s(&out),
        "--json",
    ])
    .expect(0);
    let pack = out.join("tools-0.1.0");
    assert_eq!(
        run.json()["files"],
        serde_json::json!([
            "README.md",
            "manifests/deploy.yaml",
            "manifests/rbac.yml",
            "pack.json",
            "values.yaml"
        ])
    );
    assert_eq!(
        pack_json(&pack)["kubeManifests"],
        serde_json::json!(["manifests/deploy.yaml", "manifests/rbac.yml"])
    );
    assert_eq!(pack_json(&pack)["displayName"], "tools");
    assert_eq!(
        fs::read(pack.join("manifests/deploy.yaml")).unwrap(),
        fs::read(dir.join("deploy.yaml")).unwrap()
    );
    let values = fs::read_to_string(pack.join("values.yaml")).unwrap();
    assert!(values.contains("  namespace: \"tools\"\n"), "{values}");
    assert!(values.contains("    images: []\n"), "{values}");
    assert!(
        values.ends_with("manifests:\n  deploy: {}\n  rbac: {}\n"),
        "{values}"
    );

    // Files named one by one; --name and --version are required.
    let one = init(&[
        "--manifests",
        s(&dir.join("rbac.yml")),
        "--name",
        "rbac",
        "--version",
        "1.0.0",
        "-o",
        s(&out),
        "--json",
    ])
    .expect(0);
    assert_eq!(one.json()["files"][1], "manifests/rbac.yml");
    let run = init(&["--manifests", s(&dir), "-o", s(&out)]).expect(2);
    assert!(run.stderr.contains("--name"), "{}", run.stderr);
    // Two files for one key is a usage error; a file that is not YAML is refused.
    fs::write(dir.join("rbac.yaml"), "a: 1\n").unwrap();
    let run = init(&[
        "--manifests",
        s(&dir),
        "--name",
        "x",
        "--version",
        "1.0.0",
        "-o",
        s(&out),
    ])
    .expect(2);
    assert!(run.stderr.contains("manifests.rbac"), "{}", run.stderr);
    fs::remove_file(dir.join("rbac.yaml")).unwrap();
    fs::write(dir.join("broken.yaml"), "a: [\n").unwrap();
    let run = init(&[
        "--manifests",
        s(&dir),
        "--name",
        "x",
        "--version",
        "1.0.0",
        "-o",
        s(&out),
    ])
    .expect(3);
    assert!(
        run.stderr
            .contains("broken.yaml is not a manifest Palette can apply: is not valid YAML at line"),
        "{}",
        run.stderr
    );
    assert!(!out.join("x-1.0.0").exists());
}

#[test]
fn both_kinds_of_scaffold_pack_push_and_verify() {
    let reg = Registry::plain();
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("out");
    init(&["--chart", s(&chart_dir(tmp.path())), "-o", s(&out)]).expect(0);
    init(&[
        "--manifests",
        s(&manifests(tmp.path())),
        "--name",
        "tools",
        "--version",
        "0.1.0",
        "-o",
        s(&out),
    ])
    .expect(0);
    for (pack, archive) in [
        ("web-1.2.3", "web-1.2.3.tar.gz"),
        ("tools-0.1.0", "tools-0.1.0.tar.gz"),
    ] {
        let dir = out.join(pack);
        let dist = tmp.path().join("dist");
        let packed = run(&["pack", s(&dir), "-o", s(&dist)]).expect(0);
        assert!(
            packed
                .stderr
                .contains(&format!("warning: {}/logo.png", dir.display())),
            "{}",
            packed.stderr
        );
        assert!(!packed.stderr.contains("error"), "{}", packed.stderr);
        let tarball = dist.join(archive);
        let remote = ["--registry", reg.host(), "--plain-http"];
        let mut push = vec!["push", s(&tarball)];
        push.extend_from_slice(&remote);
        run(&push).expect(0);
        let mut verify = vec!["verify", s(&dir)];
        verify.extend_from_slice(&remote);
        run(&verify).expect(0);
    }
}

#[test]
fn hostile_chart_archives_are_refused_with_nothing_written() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("out");
    let chart = CHART_YAML.as_bytes();
    let huge = format!("{CHART_YAML}description: {}\n", "x".repeat(5 << 20));
    let regular = tar::EntryType::Regular;
    for (case, entries, message) in [
        (
            "link",
            vec![
                (&b"web/Chart.yaml"[..], regular, chart),
                (b"web/values.yaml", tar::EntryType::Symlink, b""),
            ],
            "packpub's own safety rule (not Helm's) refuses it: web/values.yaml: is a symbolic link",
        ),
        (
            "dotdot",
            vec![
                (&b"web/Chart.yaml"[..], regular, chart),
                (b"web/../../evil.yaml", regular, b"a: 1\n"),
            ],
            "Helm cannot load it: chart illegally references parent directory",
        ),
        (
            "huge",
            vec![(&b"web/Chart.yaml"[..], regular, huge.as_bytes())],
            "is larger than the maximum file size 5242880",
        ),
        (
            "no chart",
            vec![(&b"web/values.yaml"[..], regular, b"a: 1\n")],
            "Helm cannot load it: Chart.yaml file is missing",
        ),
    ] {
        let tgz = tmp.path().join(format!("{case}.tgz"));
        fs::write(&tgz, raw_tgz(&entries)).unwrap();
        let run = init(&["--chart", s(&tgz), "-o", s(&out)]).expect(3);
        assert!(run.stderr.contains(message), "{case}: {}", run.stderr);
        assert!(!out.exists(), "{case}");
    }

    // A link inside a chart folder is refused too, never followed.
    let dir = chart_dir(&tmp.path().join("linked"));
    std::os::unix::fs::symlink("/etc/passwd", dir.join("templates/passwd.yaml")).unwrap();
    let run = init(&["--chart", s(&dir), "-o", s(&out)]).expect(3);
    assert!(
        run.stderr
            .contains("templates/passwd.yaml is a symbolic link"),
        "{}",
        run.stderr
    );
    assert!(!out.exists());
}
