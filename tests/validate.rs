//! Every validation rule of `packpub pack`: the exit code, the words a user needs (file,
//! field, fix), and that nothing is written when the pack is refused.

use crate::support::*;
use serde_json::json;
use std::fs;
use std::path::Path;
use tempfile::TempDir;

/// Packs a mutated copy of the example and returns the run plus whether anything was written.
fn pack_with(folder: &str, mutate: impl FnOnce(&Path), extra: &[&str]) -> (Run, Vec<String>) {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), folder);
    mutate(&dir);
    let out = tmp.path().join("out");
    let mut args = vec!["pack", dir.to_str().unwrap(), "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let run = run(&args);
    (run, list(&out))
}

/// The pack must be refused with exit 3, every word in `words` on stderr, nothing written.
fn refused(mutate: impl FnOnce(&Path), words: &[&str]) {
    let (run, written) = pack_with("hello-1.0.0", mutate, &[]);
    let run = run.expect(3);
    for word in words {
        assert!(
            run.stderr.contains(word),
            "missing {word:?} in:\n{}",
            run.stderr
        );
    }
    assert!(
        run.stderr.contains("Fix: "),
        "no fix offered:\n{}",
        run.stderr
    );
    assert!(written.is_empty(), "written despite errors: {written:?}");
}

/// The pack is built (exit 0) with a warning carrying `words`; `--strict` refuses it.
fn warned(folder: &str, mutate: impl Fn(&Path), words: &[&str]) {
    let (run, written) = pack_with(folder, &mutate, &[]);
    let run = run.expect(0);
    for word in words {
        assert!(
            run.stderr.contains(word),
            "missing {word:?} in:\n{}",
            run.stderr
        );
    }
    assert!(run.stderr.contains("warning: "), "{}", run.stderr);
    assert_eq!(written.len(), 1, "{written:?}");
    let (strict, written) = pack_with(folder, &mutate, &["--strict"]);
    let strict = strict.expect(3);
    assert!(strict.stderr.contains("--strict"), "{}", strict.stderr);
    assert!(written.is_empty());
}

fn set(field: &'static str, value: serde_json::Value) -> impl Fn(&Path) {
    move |dir: &Path| edit_pack_json(dir, |doc| doc[field] = value.clone())
}

fn remove(field: &'static str) -> impl Fn(&Path) {
    move |dir: &Path| edit_pack_json(dir, |doc| drop(doc.as_object_mut().unwrap().remove(field)))
}

#[test]
fn missing_pack_json() {
    refused(
        |d| fs::remove_file(d.join("pack.json")).unwrap(),
        &["pack.json: cannot be read"],
    );
}

#[test]
fn pack_json_syntax_error_names_line_and_column() {
    refused(
        |d| {
            fs::write(
                d.join("pack.json"),
                "{\n  \"name\": \"hello\",\n  \"version\": 1.0.0\n}\n",
            )
            .unwrap()
        },
        &["pack.json: is not valid JSON at line 3, column"],
    );
}

#[test]
fn required_fields_missing_empty_or_not_strings() {
    for field in ["name", "displayName", "version", "layer"] {
        refused(
            remove(field),
            &[&format!("pack.json: {field}: is missing (required)")],
        );
        refused(
            set(field, json!("")),
            &[&format!("pack.json: {field}: is empty")],
        );
        refused(
            set(field, json!(42)),
            &[&format!(
                "pack.json: {field}: must be a string, found a number"
            )],
        );
    }
}

#[test]
fn unknown_layer() {
    refused(
        set("layer", json!("addons")),
        &[
            "pack.json: layer: \"addons\" is not a Palette layer",
            "kernel, os, k8s, cni, csi, addon",
        ],
    );
}

#[test]
fn name_must_be_an_oci_repository_component() {
    refused(
        set("name", json!("Hello")),
        &[
            "pack.json: name:",
            "'H' (upper case) at position 1",
            "\"hello\"",
        ],
    );
    refused(
        set("name", json!("my_pack!")),
        &["'!' at position 8", "\"my-pack\""],
    );
}

#[test]
fn version_must_be_an_oci_tag() {
    refused(
        set("version", json!("1.0.0+build.5")),
        &[
            "pack.json: version:",
            "'+' at position 6",
            "\"1.0.0-build.5\"",
        ],
    );
}

#[test]
fn referenced_files_must_exist_inside_the_folder() {
    refused(
        set("charts", json!(["charts/missing-1.0.0.tgz"])),
        &["pack.json: charts[0]: \"charts/missing-1.0.0.tgz\" does not exist"],
    );
    refused(
        set("kubeManifests", json!(["../outside.yaml"])),
        &["pack.json: kubeManifests[0]: \"../outside.yaml\" points outside the pack folder"],
    );
    refused(
        set("ansibleRoles", json!(["/etc/ansible"])),
        &["ansibleRoles[0]", "outside the pack folder"],
    );
    refused(
        |d| fs::write(d.join(".packignore"), "manifests/\n").unwrap(),
        &[
            "kubeManifests[0]: \"manifests/hello.yaml\" exists but is excluded",
            ".packignore",
        ],
    );
    refused(
        set("charts", json!("charts/x.tgz")),
        &["charts: must be an array of paths, found a string"],
    );
}

#[test]
fn values_yaml_must_exist_and_parse() {
    refused(
        |d| fs::remove_file(d.join("values.yaml")).unwrap(),
        &["values.yaml: is missing"],
    );
    refused(
        |d| {
            fs::write(
                d.join("values.yaml"),
                "pack:\n  namespace: hello\n   bad: [\n",
            )
            .unwrap()
        },
        &["values.yaml:3:", "is not valid YAML at line 3"],
    );
}

#[test]
fn an_empty_values_yaml_is_fine() {
    let (run, written) = pack_with(
        "hello-1.0.0",
        |d| fs::write(d.join("values.yaml"), "").unwrap(),
        &[],
    );
    // Palette takes it; only the add-on's image list is missed (pack-central's rule).
    let run = run.expect(0);
    assert_eq!(written, ["hello-1.0.0.tar.gz"]);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].contains("pack.content.images: is missing or empty"),
        "{}",
        run.stderr
    );
    assert!(warnings[0].ends_with("[PP024]"), "{}", run.stderr);
}

#[test]
fn symlink_outside_the_folder() {
    refused(
        |d| {
            std::os::unix::fs::symlink("../../secret.txt", d.join("manifests/secret.yaml")).unwrap()
        },
        &["manifests/secret.yaml: is a symlink to \"../../secret.txt\" that cannot be followed"],
    );
    refused(
        |d| std::os::unix::fs::symlink("/etc/hostname", d.join("host")).unwrap(),
        &[
            "host: is a symlink to \"/etc/hostname\", outside the pack folder",
            "copy the file",
        ],
    );
}

/// Root reads any file, so as root the binary runs as `nobody` to see a permission error.
#[test]
fn unreadable_file() {
    let tmp = TempDir::new().unwrap();
    set_mode(tmp.path(), 0o755);
    let dir = example_in(tmp.path(), "hello-1.0.0");
    fs::write(dir.join("private.yaml"), "a: 1\n").unwrap();
    set_mode(&dir.join("private.yaml"), 0o000);
    let out = tmp.path().join("out");
    fs::create_dir(&out).unwrap();
    set_mode(&out, 0o777);
    let args = ["pack", dir.to_str().unwrap(), "-o", out.to_str().unwrap()];
    let run = if unsafe { libc::geteuid() } == 0 {
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_packpub"),
        ]);
        Run::of(cmd.args(args).output().expect("setpriv (util-linux)"))
    } else {
        crate::support::run(&args)
    };
    let run = run.expect(3);
    assert!(
        run.stderr
            .contains("private.yaml: cannot be read: Permission denied"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("chmod u+r"), "{}", run.stderr);
    assert!(list(&out).is_empty());
}

#[test]
fn special_files_are_refused() {
    refused(
        |d| {
            let status = std::process::Command::new("mkfifo")
                .arg(d.join("pipe"))
                .status()
                .unwrap();
            assert!(status.success());
        },
        &["pipe: is not a regular file or directory"],
    );
}

#[test]
fn a_missing_folder_is_an_invalid_pack() {
    let run = run(&["pack", "/nonexistent/pack"]).expect(3);
    assert!(
        run.stderr
            .contains("/nonexistent/pack is not a pack folder"),
        "{}",
        run.stderr
    );
}

#[test]
fn version_warnings() {
    warned(
        "hello-v1.0.0",
        set("version", json!("v1.0.0")),
        &["version: \"v1.0.0\" starts with 'v'", "use \"1.0.0\""],
    );
    warned(
        "hello-1.5",
        set("version", json!("1.5")),
        &["version: \"1.5\" is not semantic versioning"],
    );
}

#[test]
fn unknown_cloud_types_warn() {
    warned(
        "hello-1.0.0",
        set("cloudTypes", json!(["aws", "mars"])),
        &["cloudTypes: \"mars\" is not a known cloud type", "vsphere"],
    );
    warned(
        "hello-1.0.0",
        set("cloudType", json!("venus")),
        &["cloudType: \"venus\" is not a known cloud type"],
    );
    // pack-central's schema has `custom` for cloudTypes only.
    warned(
        "hello-1.0.0",
        set("cloudType", json!("custom")),
        &["cloudType: \"custom\" is not a known cloud type"],
    );
    let (run, _) = pack_with(
        "hello-1.0.0",
        set("cloudTypes", json!(["custom", "edge-native"])),
        &["--strict"],
    );
    run.expect(0);
}

#[test]
fn missing_logo_or_readme_warn() {
    warned(
        "hello-1.0.0",
        |d| fs::remove_file(d.join("logo.png")).unwrap(),
        &["logo.png: is missing"],
    );
    warned(
        "hello-1.0.0",
        |d| fs::remove_file(d.join("README.md")).unwrap(),
        &["README.md: is missing"],
    );
}

#[test]
fn constraints_off_schema_warn() {
    let constraints = json!({
        "dependencies": [
            {"packName": "cni-calico", "layer": "cni", "type": "required", "minVersion": "3.0.0"},
            {"packName": "", "layer": "network", "type": "must", "maxVersion": 4}
        ],
        "resources": [
            {"type": "cpu", "minLimit": 2000, "components": [
                {"scheduleType": "all"}, {"scheduleType": "master"}, {"scheduleType": "control-plane"}
            ]},
            {"type": "gpu", "minLimit": "lots", "components": [{}, {"scheduleType": "leader"}]}
        ]
    });
    let (run, _) = pack_with("hello-1.0.0", set("constraints", constraints.clone()), &[]);
    let run = run.expect(0);
    for field in [
        "constraints.dependencies[1].packName",
        "constraints.dependencies[1].type",
        "constraints.dependencies[1].layer",
        "constraints.dependencies[1].maxVersion",
        "constraints.resources[1].type",
        "constraints.resources[1].minLimit",
        "constraints.resources[1].components[0].scheduleType",
        "constraints.resources[1].components[1].scheduleType",
    ] {
        assert!(
            run.stderr.contains(&format!("pack.json: {field}:")),
            "missing {field}:\n{}",
            run.stderr
        );
    }
    for valid in ["dependencies[0]", "resources[0]"] {
        assert!(
            !run.stderr.contains(valid),
            "valid {valid} must pass:\n{}",
            run.stderr
        );
    }
    warned(
        "hello-1.0.0",
        set("constraints", constraints),
        &["constraints.resources[1].type"],
    );
}

#[test]
fn folder_name_other_than_name_version_warns() {
    warned(
        "my-folder",
        |_| {},
        &["the folder is named \"my-folder\", not \"hello-1.0.0\""],
    );
}

#[test]
fn unknown_keys_are_accepted() {
    let (run, written) = pack_with(
        "hello-1.0.0",
        |d| {
            edit_pack_json(d, |doc| {
                doc["commit_msg"] = json!("bump");
                doc["kubeVersion"] = json!(">=1.24");
                doc["readme"] = json!("see README.md");
            })
        },
        &["--strict"],
    );
    run.expect(0);
    assert_eq!(written, ["hello-1.0.0.tar.gz"]);
}

#[test]
fn all_findings_are_reported_at_once_and_in_json() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    edit_pack_json(&dir, |doc| {
        doc["name"] = json!("Hello");
        doc["layer"] = json!("app");
    });
    fs::remove_file(dir.join("values.yaml")).unwrap();
    let run = run(&[
        "pack",
        dir.to_str().unwrap(),
        "-o",
        tmp.path().join("out").to_str().unwrap(),
        "--json",
    ])
    .expect(3);
    let doc = run.json();
    assert_eq!(doc["exit_code"], 3);
    let findings = doc["details"].as_array().unwrap();
    let fields: Vec<String> = findings
        .iter()
        .map(|f| format!("{}:{}", f["file"], f["field"]))
        .collect();
    assert!(
        fields.contains(&"\"pack.json\":\"name\"".to_string()),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"\"pack.json\":\"layer\"".to_string()),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"\"values.yaml\":null".to_string()),
        "{fields:?}"
    );
    assert!(
        findings
            .iter()
            .all(|f| f["fix"].as_str().is_some_and(|s| !s.is_empty()))
    );
    assert!(run.stderr.contains("3 error(s)"), "{}", run.stderr);
}
