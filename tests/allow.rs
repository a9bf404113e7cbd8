//! Allowing a rule (issue 19): `--allow`, `PACKPUB_ALLOW` and the pack's `.packpub.yaml` turn
//! findings into suppressed ones that block nothing, in every output; the rules that make the
//! pack what it is and keep its archive safe can never be allowed; the settings file never
//! travels in the archive.

use crate::support::registry::Registry;
use crate::support::*;
use serde_json::{Value, json};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

const BROKEN: &str = "apiVersion: v1\nkind: [ConfigMap\n";

/// The example with `manifests/hello.yaml` not YAML: one PP025 error.
fn broken_manifest(tmp: &Path) -> PathBuf {
    let dir = example_in(tmp, "hello-1.0.0");
    fs::write(dir.join("manifests/hello.yaml"), BROKEN).unwrap();
    dir
}

/// [`broken_manifest`] with a second manifest, `manifests/crds.yaml`, just as broken.
fn two_broken_manifests(tmp: &Path) -> PathBuf {
    let dir = broken_manifest(tmp);
    fs::write(dir.join("manifests/crds.yaml"), BROKEN).unwrap();
    edit_pack_json(&dir, |doc| {
        doc["kubeManifests"] = json!(["manifests/hello.yaml", "manifests/crds.yaml"])
    });
    dir
}

const CRDS_ALLOWED: &str = "# packpub settings for this pack (never packed into the archive)\nallow:\n  - PP026\n  - rule: PP025\n    files: [manifests/crds.yaml]\n    reason: \"CRD descriptions wrap as kubectl reads them\"\n";

fn lint_with(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = packpub();
    cmd.arg("lint")
        .arg(dir)
        .args(extra)
        .envs(env.iter().copied());
    Run::of(cmd.output().unwrap())
}

/// The findings of the first pack of a `lint --json` (or `--format sarif`'s results).
fn findings(doc: &Value) -> &Vec<Value> {
    doc["packs"][0]["findings"].as_array().unwrap()
}

fn finding<'a>(doc: &'a Value, file: &str) -> &'a Value {
    findings(doc)
        .iter()
        .find(|f| f["file"] == file)
        .unwrap_or_else(|| panic!("no finding in {file}: {doc}"))
}

#[test]
fn an_allowed_error_no_longer_fails_lint_and_is_reported_as_suppressed() {
    let tmp = TempDir::new().unwrap();
    let dir = broken_manifest(tmp.path());
    lint_with(&dir, &[], &[]).expect(3);
    // Allowing a rule that finds nothing changes nothing, and says nothing.
    let unrelated = lint_with(&dir, &["--allow", "PP026"], &[]).expect(3);
    assert!(
        !unrelated.stderr.contains("allowed"),
        "{}",
        unrelated.stderr
    );

    let allowed = lint_with(&dir, &["--allow", "pp025"], &[]).expect(0);
    assert!(
        allowed
            .stderr
            .contains("hello-1.0.0: 1 finding(s) allowed (PP025 ×1): --allow"),
        "{}",
        allowed.stderr
    );
    assert!(!allowed.stderr.contains("[PP025]"), "{}", allowed.stderr);
    assert!(
        allowed
            .stderr
            .contains("0 error(s), 0 warning(s), 1 allowed"),
        "{}",
        allowed.stderr
    );
    let verbose = lint_with(&dir, &["--allow", "PP025", "-v"], &[]).expect(0);
    assert!(
        verbose.stderr.contains("allowed by --allow: ") && verbose.stderr.contains("[PP025]"),
        "{}",
        verbose.stderr
    );

    for (extra, env, by) in [
        (&["--allow", "PP025,PP031"][..], &[][..], "--allow"),
        (
            &[],
            &[("PACKPUB_ALLOW", "pp031, pp025")][..],
            "PACKPUB_ALLOW",
        ),
        (
            &["--allow", "PP025"],
            &[("PACKPUB_ALLOW", "PP025")],
            "--allow",
        ),
        (
            &["--allow", "PP031"],
            &[("PACKPUB_ALLOW", "PP025")],
            "PACKPUB_ALLOW",
        ),
    ] {
        let linted = lint_with(&dir, &[extra, &["--json"]].concat(), env).expect(0);
        let doc = linted.json();
        assert_eq!(
            (doc["errors"].as_u64(), doc["allowed"].as_u64()),
            (Some(0), Some(1))
        );
        let manifest = finding(&doc, "manifests/hello.yaml");
        assert_eq!(manifest["rule"], "PP025");
        assert_eq!(manifest["severity"], "error");
        assert_eq!(manifest["line"], 3);
        assert_eq!(manifest["suppressed"], true);
        assert_eq!(manifest["allowed_by"], by, "{extra:?} {env:?}");
        assert!(manifest.get("reason").is_none());
    }

    // GitHub Actions: no annotation for what is allowed.
    let github = lint_with(&dir, &["--allow", "PP025"], &[("GITHUB_ACTIONS", "true")]).expect(0);
    assert_eq!(github.stdout, "");
    assert!(
        github.stderr.contains("1 finding(s) allowed"),
        "{}",
        github.stderr
    );
}

#[test]
fn pack_settings_allow_only_the_files_they_name() {
    let tmp = TempDir::new().unwrap();
    let dir = two_broken_manifests(tmp.path());
    fs::write(dir.join(".packpub.yaml"), CRDS_ALLOWED).unwrap();

    let linted = lint_with(&dir, &["--json"], &[]).expect(3);
    let doc = linted.json();
    assert_eq!(
        (doc["errors"].as_u64(), doc["allowed"].as_u64()),
        (Some(1), Some(1))
    );
    let crds = finding(&doc, "manifests/crds.yaml");
    assert_eq!(crds["suppressed"], true);
    assert_eq!(crds["allowed_by"], ".packpub.yaml");
    assert_eq!(
        crds["reason"],
        "CRD descriptions wrap as kubectl reads them"
    );
    let hello = finding(&doc, "manifests/hello.yaml");
    assert_eq!(hello["suppressed"], false);
    assert!(hello.get("allowed_by").is_none());
    let human = lint_with(&dir, &[], &[]).expect(3);
    assert!(
        human
            .stderr
            .contains("manifests/hello.yaml:3:1: is not valid YAML")
            && !human.stderr.contains("manifests/crds.yaml:3:1"),
        "{}",
        human.stderr
    );
    assert!(
        human
            .stderr
            .contains("1 finding(s) allowed (PP025 ×1): .packpub.yaml"),
        "{}",
        human.stderr
    );

    // SARIF: the allowed result carries its in-source suppression, and the document is valid.
    let sarif = lint_with(&dir, &["--format", "sarif"], &[]).expect(3);
    let doc: Value = serde_json::from_str(&sarif.stdout).unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let uri = |r: &Value| {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let crds = results
        .iter()
        .find(|r| uri(r).ends_with("manifests/crds.yaml"))
        .unwrap();
    assert_eq!(
        crds["suppressions"],
        json!([{"kind": "inSource", "justification": "CRD descriptions wrap as kubectl reads them"}])
    );
    let hello = results
        .iter()
        .find(|r| uri(r).ends_with("manifests/hello.yaml"))
        .unwrap();
    assert!(hello.get("suppressions").is_none());
    crate::lint::valid_sarif(&sarif.stdout);
    let external = lint_with(&dir, &["--format", "sarif", "--allow", "PP025"], &[]).expect(0);
    let doc: Value = serde_json::from_str(&external.stdout).unwrap();
    let kinds: Vec<&str> = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["suppressions"][0]["kind"].as_str().unwrap())
        .collect();
    // The pack's own entry comes first; the flag covers the other file.
    assert_eq!(kinds.len(), 2);
    assert!(
        kinds.contains(&"inSource") && kinds.contains(&"external"),
        "{kinds:?}"
    );
    crate::lint::valid_sarif(&external.stdout);

    // Fixed where it was not allowed, the pack builds, without its settings file.
    fs::write(
        dir.join("manifests/hello.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let packed = run(&[
        "pack",
        dir.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--json",
    ])
    .expect(0);
    let warnings = packed.json()["warnings"].clone();
    assert_eq!(warnings[0]["allowed_by"], ".packpub.yaml", "{warnings}");
    let listing = list_archive(&out.join("hello-1.0.0.tar.gz"));
    assert!(
        listing.contains("hello-1.0.0/manifests/crds.yaml"),
        "{listing}"
    );
    assert!(!listing.contains(".packpub.yaml"), "{listing}");
}

fn list_archive(archive: &Path) -> String {
    let out = Command::new("tar")
        .arg("-tzf")
        .arg(archive)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn settings_problems_are_errors_naming_the_line_and_the_fix() {
    let tmp = TempDir::new().unwrap();
    let dir = broken_manifest(tmp.path());
    fs::write(
        dir.join(".packpub.yaml"),
        "allow:\n  - PP025\n  - PP012\nalow: [PP021]\n",
    )
    .unwrap();
    let linted = lint_with(&dir, &[], &[]).expect(3);
    for words in [
        ".packpub.yaml:3:5: allow[1]: PP012 can never be allowed: it is the pack's identity",
        "Fix: remove the entry, and fix what the rule reports [PP033]",
        ".packpub.yaml:4:1: alow: is not a setting: the only one is `allow`",
    ] {
        assert!(
            linted.stderr.contains(words),
            "{words:?} in:\n{}",
            linted.stderr
        );
    }
    // The entries without a problem still apply.
    assert!(!linted.stderr.contains("[PP025]"), "{}", linted.stderr);
    let doc = lint_with(&dir, &["--json"], &[]).expect(3).json();
    let lines: Vec<u64> = findings(&doc)
        .iter()
        .filter(|f| f["rule"] == "PP033")
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4]);

    // Read with a cap, as any file of the pack.
    fs::write(
        dir.join(".packpub.yaml"),
        format!("# {}\n", "x".repeat(70_000)),
    )
    .unwrap();
    let large = lint_with(&dir, &[], &[]).expect(3);
    assert!(
        large
            .stderr
            .contains(".packpub.yaml: is larger than 64 KiB (65536 bytes)"),
        "{}",
        large.stderr
    );
}

#[test]
fn rules_that_can_never_be_allowed_are_usage_errors_saying_why() {
    let example = example();
    let example = example.to_str().unwrap();
    let flag = run(&["lint", example, "--allow", "PP025", "--allow", "PP012"]).expect(2);
    assert!(
        flag.stderr.contains(
            "PP012 can never be allowed: it is the pack's identity: pack.json's name and version become the registry path and tag"
        ),
        "{}",
        flag.stderr
    );
    let json = run(&["pack", example, "--allow", "pp003", "--json"]).expect(2);
    let doc = json.json();
    assert_eq!(doc["exit_code"], 2);
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("PP003 can never be allowed: it keeps the archive safe and portable"),
        "{doc}"
    );
    let mut cmd = packpub();
    cmd.args(["lint", example])
        .env("PACKPUB_ALLOW", "PP025,PP023");
    let env = Run::of(cmd.output().unwrap()).expect(2);
    assert!(
        env.stderr
            .contains("invalid value for PACKPUB_ALLOW: PP023 can never be allowed"),
        "{}",
        env.stderr
    );
    let unknown = run(&["lint", example, "--allow", "PP099"]).expect(2);
    assert!(
        unknown.stderr.contains("\"PP099\" is not a rule id"),
        "{}",
        unknown.stderr
    );
}

/// An error allowed for its pack is published; the registry's copy is judged with the same
/// allowances by `verify` and `pull`; the settings file is not in it.
#[test]
fn push_publishes_an_allowed_error_and_the_settings_stay_home() {
    let reg = Registry::plain();
    let target = format!("{}/proj", reg.host());
    let tmp = TempDir::new().unwrap();
    let dir = two_broken_manifests(tmp.path());
    fs::write(
        dir.join(".packpub.yaml"),
        CRDS_ALLOWED.replace("manifests/crds.yaml", "manifests/*.yaml"),
    )
    .unwrap();
    // An error the registry's copy shows too: a layer Palette does not know.
    edit_pack_json(&dir, |doc| doc["layer"] = "addons".into());
    let push = |extra: &[&str]| {
        let mut cmd = packpub();
        cmd.arg("push")
            .arg(&dir)
            .args(["--registry", &target, "--plain-http", "--json"])
            .args(extra);
        Run::of(cmd.output().unwrap())
    };
    let refused = push(&[]).expect(3);
    let details = refused.json()[0]["details"].clone();
    let by_rule = |rule: &str| {
        details
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == rule)
            .unwrap_or_else(|| panic!("no {rule} in {details}"))
            .clone()
    };
    assert_eq!(by_rule("PP025")["suppressed"], true);
    assert_eq!(by_rule("PP014")["suppressed"], false);
    assert!(
        reg.manifest_revisions("proj/spectro-packs/archive/hello")
            .is_empty()
    );

    let pushed = push(&["--allow", "PP014"]).expect(0);
    assert_eq!(pushed.json()[0]["status"], "pushed");

    let verify = |extra: &[&str]| {
        let mut cmd = packpub();
        cmd.arg("verify")
            .arg(&dir)
            .args(["--registry", &target, "--plain-http"])
            .args(extra);
        Run::of(cmd.output().unwrap())
    };
    verify(&["--allow", "PP014"]).expect(0);
    let pull = |out: &Path, extra: &[&str]| {
        let mut cmd = packpub();
        cmd.args([
            "pull",
            "hello:1.0.0",
            "--registry",
            &target,
            "--plain-http",
            "-o",
        ])
        .arg(out)
        .args(extra);
        Run::of(cmd.output().unwrap())
    };
    let refused = pull(&tmp.path().join("refused"), &[]).expect(6);
    assert!(refused.stderr.contains("[PP014]"), "{}", refused.stderr);
    let out = tmp.path().join("pulled");
    pull(&out, &["--allow", "PP014"]).expect(0);
    let listing = list_archive(&out.join("hello-1.0.0.tar.gz"));
    assert!(
        listing.contains("hello-1.0.0/manifests/crds.yaml"),
        "{listing}"
    );
    assert!(!listing.contains(".packpub.yaml"), "{listing}");
}
