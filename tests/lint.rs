//! `packpub lint` (issue 12): the same rules as `pack`, on several packs, without building
//! anything; profiles, `--strict`, and the outputs for people, scripts, GitHub code scanning
//! and GitHub Actions.

use crate::support::*;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// The pack-central packs shared with the project (../shared/fixtures), when present.
fn pack_central_fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/pack-central");
    let mut packs: Vec<PathBuf> = fs::read_dir(&root)
        .map(|rd| rd.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    packs.sort();
    packs
}

/// The example without its logo and with a broken values.yaml: one error, one warning.
fn broken(tmp: &Path) -> PathBuf {
    let dir = example_in(tmp, "hello-1.0.0");
    fs::remove_file(dir.join("logo.png")).unwrap();
    fs::write(
        dir.join("values.yaml"),
        "pack:\n  namespace: hello\n   bad: [\n",
    )
    .unwrap();
    dir
}

#[test]
fn lint_reports_every_pack_and_builds_nothing() {
    let tmp = TempDir::new().unwrap();
    let bad = broken(tmp.path());
    let good = example_in(&tmp.path().join("ok"), "hello-1.0.0");
    let before = list(tmp.path());
    let linted = run(&["lint", good.to_str().unwrap(), bad.to_str().unwrap()]).expect(3);
    assert_eq!(list(tmp.path()), before, "lint wrote something");
    let bad_path = bad.display().to_string();
    assert!(
        linted.stderr.contains(&format!(
            "error: {bad_path}/values.yaml:3:7: is not valid YAML at line 3"
        )),
        "{}",
        linted.stderr
    );
    assert!(linted.stderr.contains("[PP020]"), "{}", linted.stderr);
    assert!(
        linted
            .stderr
            .contains(&format!("warning: {bad_path}/logo.png: is missing")),
        "{}",
        linted.stderr
    );
    assert!(
        linted
            .stderr
            .contains("error: 2 pack(s): 1 error(s), 1 warning(s)"),
        "{}",
        linted.stderr
    );

    let json = run(&[
        "lint",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
        "--json",
    ])
    .expect(3);
    let doc = json.json();
    assert_eq!(doc["errors"], 1);
    assert_eq!(doc["packs"][0]["findings"], Value::Array(vec![]));
    // The README's `--format json` and PACKPUB_FORMAT=json print the same document.
    let chosen = run(&[
        "lint",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
        "--format",
        "json",
    ])
    .expect(3);
    assert_eq!(chosen.json(), doc);
    let by_env = Run::of(
        packpub()
            .args(["lint", good.to_str().unwrap(), bad.to_str().unwrap()])
            .env("PACKPUB_FORMAT", "json")
            .output()
            .unwrap(),
    )
    .expect(3);
    assert_eq!(by_env.json(), doc);
    let yaml = &doc["packs"][1]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "PP020")
        .unwrap();
    assert_eq!(yaml["file"], "values.yaml");
    assert_eq!(
        (yaml["line"].as_u64(), yaml["column"].as_u64()),
        (Some(3), Some(7))
    );
    assert_eq!(yaml["severity"], "error");
    assert!(
        yaml["fix"]
            .as_str()
            .unwrap()
            .contains("correct the YAML syntax")
    );

    // The good one alone passes; --strict fails the warning of the other kind.
    run(&["lint", good.to_str().unwrap(), "--strict"]).expect(0);
    fs::write(bad.join("values.yaml"), "pack:\n  namespace: hello\n").unwrap();
    run(&["lint", bad.to_str().unwrap()]).expect(0);
    let strict = run(&["lint", bad.to_str().unwrap(), "--strict"]).expect(3);
    assert!(
        strict.stderr.contains("--strict counts warnings as errors"),
        "{}",
        strict.stderr
    );
}

#[test]
fn the_pack_central_profile_makes_its_ci_rules_errors() {
    let tmp = TempDir::new().unwrap();
    // A folder name that matches no version (PP019): hello-1.0.0 would match the version as
    // PP015 fixes it.
    let dir = example_in(tmp.path(), "hello");
    fs::remove_file(dir.join("README.md")).unwrap();
    edit_pack_json(&dir, |doc| doc["version"] = "v1.0.0".into());
    let default = run(&["lint", dir.to_str().unwrap(), "--json"]).expect(0);
    let rules = |run: &Run, severity: &str| -> Vec<String> {
        let mut ids: Vec<String> = run.json()["packs"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == severity)
            .map(|f| f["rule"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(rules(&default, "warning"), ["PP015", "PP019", "PP022"]);
    let strict = run(&[
        "lint",
        dir.to_str().unwrap(),
        "--json",
        "--profile",
        "pack-central",
    ])
    .expect(3);
    assert_eq!(rules(&strict, "error"), ["PP015", "PP022"]);
    assert_eq!(rules(&strict, "warning"), ["PP019"]);
}

/// Palette accepts today's public packs: the default profile reports no error on them.
#[test]
fn the_pack_central_fixtures_lint_without_errors() {
    let packs = pack_central_fixtures();
    if packs.is_empty() {
        eprintln!("SKIPPED: ../shared/fixtures/pack-central is absent");
        return;
    }
    let mut args = vec!["lint".to_string(), "--json".to_string()];
    args.extend(packs.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let linted = run(&args).expect(0);
    assert_eq!(linted.json()["errors"], 0, "{}", linted.stdout);
}

#[test]
fn sarif_and_github_outputs_locate_each_finding() {
    let tmp = TempDir::new().unwrap();
    let bad = broken(tmp.path());
    let sarif = run(&["lint", bad.to_str().unwrap(), "--format", "sarif"]).expect(3);
    let doc: Value = serde_json::from_str(&sarif.stdout).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let yaml = results.iter().find(|r| r["ruleId"] == "PP020").unwrap();
    assert_eq!(yaml["level"], "error");
    let location = &yaml["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        format!("{}/values.yaml", bad.display())
    );
    assert_eq!(location["region"]["startLine"], 3);
    valid_sarif(&sarif.stdout);

    // GitHub Actions: chosen by itself when GITHUB_ACTIONS=true and stdout is a pipe.
    let github = Run::of(
        packpub()
            .args(["lint", bad.to_str().unwrap()])
            .env("GITHUB_ACTIONS", "true")
            .output()
            .unwrap(),
    )
    .expect(3);
    assert!(
        github.stdout.lines().any(|l| l.starts_with(&format!(
            "::error file={}/values.yaml,line=3,col=7,title=PP020::is not valid YAML",
            bad.display()
        ))),
        "{}",
        github.stdout
    );
    assert!(
        github
            .stdout
            .lines()
            .any(|l| l.starts_with("::warning file=") && l.contains("title=PP021")),
        "{}",
        github.stdout
    );
}

/// kubeManifests files are Go templates in Palette: a templated file is never broken YAML,
/// while a document without apiVersion or kind, or real broken YAML, is an error.
#[test]
fn manifests_are_kubernetes_objects_templates_aside() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    let manifest = dir.join("manifests/hello.yaml");
    fs::write(
        &manifest,
        "{{- if .Values.enabled }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name | default \"hello\" }}\n  namespace: {{ .spectro.system.cluster.name }}\ndata:\n  replicas: {{ .Values.replicas }}\n{{- end }}\n---\n# only a comment\n",
    )
    .unwrap();
    run(&["lint", dir.to_str().unwrap(), "--strict"]).expect(0);

    fs::write(
        &manifest,
        "apiVersion: v1\nkind: ConfigMap\n---\nmetadata:\n  name: x\n",
    )
    .unwrap();
    let missing = run(&["lint", dir.to_str().unwrap()]).expect(3);
    assert!(
        missing.stderr.contains("manifests/hello.yaml:4:1: document 2: is not a Kubernetes object: it has no apiVersion and kind"),
        "{}",
        missing.stderr
    );
    assert!(missing.stderr.contains("[PP025]"), "{}", missing.stderr);

    fs::write(&manifest, "apiVersion: v1\nkind: [ConfigMap\n").unwrap();
    let broken = run(&["lint", dir.to_str().unwrap(), "--json"]).expect(3);
    let finding = &broken.json()["packs"][0]["findings"][0];
    assert_eq!(finding["rule"], "PP025");
    assert_eq!(finding["file"], "manifests/hello.yaml");
    assert_eq!(finding["line"], 3);
}

/// Findings of one lint run, as (rule, field) pairs.
fn rules_and_fields(dir: &Path) -> Vec<(String, String)> {
    let linted = run(&["lint", dir.to_str().unwrap(), "--json"]);
    let doc = linted.json();
    doc["packs"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["field"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn schema_presets_and_duplicate_keys_are_checked_against_values_yaml() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    fs::write(
        dir.join("values.yaml"),
        "# spectrocloud.com/enabled-presets: Size:small,Size:large,Extra:missing\npack:\n  namespace: hello\n  content:\n    images:\n      - image: nginx:1.27\nmanifests:\n  hello:\n    replicas: 1\n    replicas: 2\n",
    )
    .unwrap();
    fs::write(
        dir.join("schema.yaml"),
        "manifests.hello.replicas:\n  schema: '{{ required | format \"${number}\" | hints \"how many\" }}'\nmanifests.hello.colour:\n  schema: '{{ required }}'\npack.namespace:\n  schema: '{{ format \"${email}\" }}'\n",
    )
    .unwrap();
    fs::write(
        dir.join("presets.yaml"),
        "presets:\n  - name: small\n    displayName: Small\n    group: Size\n    remove: [\"manifests.hello.replicas\"]\n    add: |\n      manifests:\n        hello:\n          replicas: 1\n  - name: large\n    displayName: Large\n    group: Size\n    remove: [\"manifests.hello.nothing\"]\n    add: \"a: [1\"\n  - name: small\n    group: Other\n",
    )
    .unwrap();
    let mut found = rules_and_fields(&dir);
    found.sort();
    let expected: Vec<(String, String)> = [
        ("PP026", "manifests.hello.replicas"),
        ("PP027", "manifests.hello.colour"),
        ("PP027", "pack.namespace.schema"),
        ("PP028", "enabled-presets"),
        ("PP028", "enabled-presets"),
        ("PP028", "presets[1].add"),
        ("PP028", "presets[1].remove"),
        ("PP028", "presets[2].displayName"),
        ("PP028", "presets[2].name"),
    ]
    .iter()
    .map(|(r, f)| (r.to_string(), f.to_string()))
    .collect();
    assert_eq!(found, expected);

    // All warnings: Palette takes the pack; --strict does not.
    run(&["lint", dir.to_str().unwrap()]).expect(0);
    run(&["lint", dir.to_str().unwrap(), "--strict"]).expect(3);
}

/// Validates `document` against tests/fixtures' SARIF 2.1.0 schema (its required parts) with
/// PyPI's `jsonschema`, in the venv tests/run.sh sets up.
pub(crate) fn valid_sarif(document: &str) {
    let tmp = TempDir::new().unwrap();
    let path = tmp.path().join("lint.sarif");
    fs::write(&path, document).unwrap();
    let schema = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sarif-2.1.0-required.schema.json");
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        jsonschema.Draft7Validator.check_schema(schema)\n\
        jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).validate(json.load(open(sys.argv[2])))\n";
    let checked = std::process::Command::new(oras_python())
        .args(["-c", script])
        .arg(&schema)
        .arg(&path)
        .output()
        .expect("the test venv's python (tests/run.sh creates it)");
    assert!(
        checked.status.success(),
        "not valid SARIF 2.1.0:\n{}",
        String::from_utf8_lossy(&checked.stderr)
    );
}

/// A pack carrying chart `demo` 0.1.0 (default values: image.tag, resources.limits, extra {}),
/// with `values` as its values.yaml.
fn chart_pack(tmp: &Path, values: &str) -> PathBuf {
    let dir = example_in(tmp, "hello-1.0.0");
    let chart = tmp.join("chart-src");
    fs::create_dir_all(chart.join("demo/templates")).unwrap();
    fs::write(
        chart.join("demo/Chart.yaml"),
        "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    )
    .unwrap();
    fs::write(
        chart.join("demo/values.yaml"),
        "image:\n  tag: \"1.0\"\nresources:\n  limits: {}\nextra: {}\n",
    )
    .unwrap();
    fs::write(chart.join("demo/templates/cm.yaml"), "kind: ConfigMap\n").unwrap();
    fs::create_dir_all(dir.join("charts")).unwrap();
    let status = std::process::Command::new("tar")
        .args([
            "-czf",
            dir.join("charts/demo-0.1.0.tgz").to_str().unwrap(),
            "-C",
        ])
        .arg(&chart)
        .arg("demo")
        .status()
        .unwrap();
    assert!(status.success());
    edit_pack_json(&dir, |doc| {
        doc["charts"] = serde_json::json!(["charts/demo-0.1.0.tgz"])
    });
    fs::write(dir.join("values.yaml"), values).unwrap();
    dir
}

const IMAGES: &str = "pack:\n  namespace: demo\n  content:\n    images:\n      - image: demo:1.0\n";

#[test]
fn charts_are_readable_and_wired_under_their_chart_name() {
    let tmp = TempDir::new().unwrap();
    // Wired right, with a free-form key under `extra: {}` and cpu under limits.
    let good = chart_pack(
        &tmp.path().join("good"),
        &format!(
            "{IMAGES}charts:\n  demo:\n    image:\n      tag: \"1.1\"\n    resources:\n      limits:\n        cpu: 500m\n    extra:\n      anything: 1\n"
        ),
    );
    run(&[
        "lint",
        good.to_str().unwrap(),
        "--strict",
        "--profile",
        "pack-central",
    ])
    .expect(0);

    // Under another key: Palette ignores it (warning; pack-central error).
    let wrong = chart_pack(
        &tmp.path().join("wrong"),
        &format!("{IMAGES}charts:\n  demo-chart:\n    image:\n      tag: \"1.1\"\n"),
    );
    assert_eq!(
        rules_and_fields(&wrong),
        [("PP030".to_string(), "charts.demo".to_string())]
    );
    let linted = run(&["lint", wrong.to_str().unwrap(), "--profile", "pack-central"]).expect(3);
    assert!(
        linted.stderr.contains("silently ignored"),
        "{}",
        linted.stderr
    );

    // Keys the chart does not have.
    let typo = chart_pack(
        &tmp.path().join("typo"),
        &format!("{IMAGES}charts:\n  demo:\n    image:\n      tga: \"1.1\"\n    replicas: 3\n"),
    );
    let mut found = rules_and_fields(&typo);
    found.sort();
    assert_eq!(
        found,
        [
            ("PP031".to_string(), "charts.demo.image.tga".to_string()),
            ("PP031".to_string(), "charts.demo.replicas".to_string())
        ]
    );
    run(&["lint", typo.to_str().unwrap()]).expect(0);

    // Not a chart: refused, exit 3.
    fs::write(typo.join("charts/demo-0.1.0.tgz"), b"not a gzip").unwrap();
    let broken = run(&["lint", typo.to_str().unwrap(), "--json"]).expect(3);
    let finding = &broken.json()["packs"][0]["findings"][0];
    assert_eq!(finding["rule"], "PP029");
    assert_eq!(finding["file"], "charts/demo-0.1.0.tgz");
}

#[test]
fn a_version_that_is_not_semver_warns_in_every_profile() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0");
    edit_pack_json(&dir, |doc| doc["version"] = "1.0".into());
    let found = rules_and_fields(&dir);
    assert_eq!(found, [("PP032".to_string(), "version".to_string())]);
    run(&["lint", dir.to_str().unwrap(), "--profile", "pack-central"]).expect(0);
}

/// A values.yaml nested past the bounded reader's depth, in a pack with a chart: one error, and
/// no rule builds a tree of it (that would recurse once per level).
#[test]
fn charts_never_look_into_values_that_failed_the_bounded_check() {
    let tmp = TempDir::new().unwrap();
    // A block sequence in a block sequence, 100,000 times: the parser itself does not stop it.
    let deep = format!("{}x\n", "- ".repeat(100_000));
    let dir = chart_pack(tmp.path(), &deep);
    let linted = run(&["lint", dir.to_str().unwrap(), "--json"]).expect(3);
    let first = &linted.json()["packs"][0]["findings"][0];
    assert_eq!(first["rule"], "PP020");
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .contains("nests deeper than 10000 levels")
    );
}
