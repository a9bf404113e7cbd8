//! Chart archives judged as Helm v3's loader judges them (issue 19): each case is a pack whose
//! chart archive is built here, entry by entry or with GNU tar and git, and `packpub lint`
//! must pass it when Helm loads it, refuse it with PP029 (naming the chart file and Helm's
//! cause) when Helm does not, and refuse link entries with PP034, worded as packpub's own rule.

use crate::support::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

const CHART: &str = "charts/demo-0.1.0.tgz";
const CHART_YAML: &[u8] = b"apiVersion: v2\nname: demo\nversion: 0.1.0\n";
const VALUES: &[u8] = b"image:\n  tag: \"1.0\"\n";
const TEMPLATE: &[u8] = b"kind: ConfigMap\n";
const REGULAR: tar::EntryType = tar::EntryType::Regular;

/// A pack carrying `tgz` as its one chart, its values wired under `charts.demo`.
fn pack_with(tmp: &Path, tgz: &[u8]) -> PathBuf {
    let dir = example_in(tmp, "hello-1.0.0");
    fs::create_dir_all(dir.join("charts")).unwrap();
    fs::write(dir.join(CHART), tgz).unwrap();
    edit_pack_json(&dir, |doc| doc["charts"] = serde_json::json!([CHART]));
    fs::write(
        dir.join("values.yaml"),
        "pack:\n  namespace: demo\n  content:\n    images:\n      - image: demo:1.0\n\
         charts:\n  demo:\n    image:\n      tag: \"1.1\"\n",
    )
    .unwrap();
    dir
}

/// `lint --json` of a pack holding `tgz`: exit code and the chart's error findings.
fn lint(tgz: &[u8]) -> (i32, Vec<(String, String)>) {
    let tmp = TempDir::new().unwrap();
    let dir = pack_with(tmp.path(), tgz);
    let run = run(&["lint", dir.to_str().unwrap(), "--json"]);
    let doc = run.json();
    let findings = doc["packs"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| {
            assert_eq!(f["file"], CHART, "{f}");
            (
                f["rule"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (run.code, findings)
}

fn passes(case: &str, tgz: &[u8]) {
    let (code, findings) = lint(tgz);
    assert_eq!((code, &findings[..]), (0, &[][..]), "{case}");
}

fn refused(case: &str, tgz: &[u8], rule: &str, cause: &str) -> String {
    let (code, findings) = lint(tgz);
    assert_eq!(code, 3, "{case}: {findings:?}");
    assert_eq!(findings.len(), 1, "{case}: {findings:?}");
    let (found, message) = &findings[0];
    assert_eq!(found, rule, "{case}: {message}");
    assert!(message.contains(cause), "{case}: {message}");
    assert!(message.contains(CHART), "{case} names the chart: {message}");
    message.clone()
}

/// A chart under `top/`, `extra` entries after it.
fn chart(top: &str, extra: &[(&[u8], tar::EntryType, &[u8])]) -> Vec<u8> {
    let names = [
        format!("{top}Chart.yaml"),
        format!("{top}values.yaml"),
        format!("{top}templates/cm.yaml"),
    ];
    let mut entries: Vec<(&[u8], tar::EntryType, &[u8])> = vec![
        (names[0].as_bytes(), REGULAR, CHART_YAML),
        (names[1].as_bytes(), REGULAR, VALUES),
        (names[2].as_bytes(), REGULAR, TEMPLATE),
    ];
    entries.extend_from_slice(extra);
    raw_tgz(&entries)
}

fn with_chart_yaml(chart_yaml: &str) -> Vec<u8> {
    raw_tgz(&[
        (b"demo/Chart.yaml", REGULAR, chart_yaml.as_bytes()),
        (b"demo/values.yaml", REGULAR, VALUES),
    ])
}

/// Runs `program` in `dir`, which must succeed.
fn sh(dir: &Path, program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .status()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(status.success(), "{program} {args:?}");
}

/// The chart's files in `dir/demo`.
fn chart_folder(dir: &Path) -> PathBuf {
    let demo = dir.join("demo");
    fs::create_dir_all(demo.join("templates")).unwrap();
    fs::write(demo.join("Chart.yaml"), CHART_YAML).unwrap();
    fs::write(demo.join("values.yaml"), VALUES).unwrap();
    fs::write(demo.join("templates/cm.yaml"), TEMPLATE).unwrap();
    demo
}

#[test]
fn archives_helm_loads_pass_whatever_their_first_component() {
    let tmp = TempDir::new().unwrap();
    let demo = chart_folder(tmp.path());
    // `tar -czf chart.tgz .`: entries ./, ./Chart.yaml, ./templates/…
    sh(&demo, "tar", &["-czf", "../dot.tgz", "."]);
    passes(
        "tar -czf chart.tgz .",
        &fs::read(tmp.path().join("dot.tgz")).unwrap(),
    );
    // `git archive`, with the global PAX header holding the commit id.
    sh(&demo, "git", &["init", "-q"]);
    sh(&demo, "git", &["add", "."]);
    let identity = ["-c", "user.name=t", "-c", "user.email=t@t.invalid"];
    sh(
        &demo,
        "git",
        &[&identity[..], &["commit", "-qm", "chart"]].concat(),
    );
    let git_tgz = tmp.path().join("git.tgz");
    sh(
        &demo,
        "git",
        &[
            "archive",
            "--format=tar.gz",
            "--prefix=demo/",
            "-o",
            git_tgz.to_str().unwrap(),
            "HEAD",
        ],
    );
    let git_tgz = fs::read(git_tgz).unwrap();
    let mut tar = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&git_tgz[..]), &mut tar).unwrap();
    assert_eq!(
        tar[156], b'g',
        "git archive writes a global PAX header first"
    );
    passes("git archive", &git_tgz);

    passes(
        "two top folders",
        &chart("a/", &[(b"b/templates/x.yaml", REGULAR, TEMPLATE)]),
    );
    passes("an absolute first component", &chart("/", &[]));
    passes("any first component", &chart("./", &[]));
    passes(
        "backslashes",
        &raw_tgz(&[
            (b"demo\\Chart.yaml", REGULAR, CHART_YAML),
            (b"demo\\templates\\cm.yaml", REGULAR, TEMPLATE),
        ]),
    );
    passes(
        "a/templates/../Chart.yaml",
        &raw_tgz(&[(b"a/templates/../Chart.yaml", REGULAR, CHART_YAML)]),
    );
    // Folder entries of any kind, and a subchart folder, are read as Helm reads them.
    passes(
        "a subchart folder",
        &chart(
            "demo/",
            &[
                (b"demo/charts/", tar::EntryType::Directory, b""),
                (
                    b"demo/charts/sub/Chart.yaml",
                    REGULAR,
                    b"name: sub\nversion: 1.0\n",
                ),
                (b"demo/charts/_helpers/not-a-chart.txt", REGULAR, b"x"),
            ],
        ),
    );
}

#[test]
fn archives_helm_refuses_are_pp029_with_helms_cause() {
    let tmp = TempDir::new().unwrap();
    chart_folder(tmp.path());
    // `tar -czf chart.tgz ./demo`: Helm drops ".", then finds demo/Chart.yaml, not Chart.yaml.
    sh(tmp.path(), "tar", &["-czf", "nested.tgz", "./demo"]);
    let message = refused(
        "./demo/Chart.yaml",
        &fs::read(tmp.path().join("nested.tgz")).unwrap(),
        "PP029",
        "Helm cannot load it: Chart.yaml file is missing",
    );
    assert!(
        message.starts_with("is not a chart Palette can install"),
        "{message}"
    );

    refused(
        "version: latest",
        &with_chart_yaml("apiVersion: v2\nname: demo\nversion: latest\n"),
        "PP029",
        "validation: chart.metadata.version \"latest\" is invalid",
    );
    refused(
        "type: plugin",
        &with_chart_yaml("apiVersion: v2\nname: demo\nversion: 0.1.0\ntype: plugin\n"),
        "PP029",
        "chart.metadata.type must be application or library",
    );
    refused(
        "a duplicate alias",
        &with_chart_yaml(
            "apiVersion: v2\nname: demo\nversion: 0.1.0\ndependencies:\n\
             - {name: a, alias: db}\n- {name: b, alias: db}\n",
        ),
        "PP029",
        "more than one dependency with name or alias \"db\"",
    );
    refused(
        "values.yaml a bare string",
        &raw_tgz(&[
            (b"demo/Chart.yaml", REGULAR, CHART_YAML),
            (b"demo/values.yaml", REGULAR, b"just a string\n"),
        ]),
        "PP029",
        "cannot load values.yaml",
    );
    let bad_sub = raw_tgz(&[(b"sub/Chart.yaml", REGULAR, b"name: sub\nversion: latest\n")]);
    refused(
        "an invalid subchart archive",
        &chart(
            "demo/",
            &[(b"demo/charts/sub-1.0.0.tgz", REGULAR, &bad_sub)],
        ),
        "PP029",
        "error unpacking subchart sub-1.0.0.tgz in demo: validation: chart.metadata.version",
    );
    refused(
        "an invalid subchart folder",
        &chart(
            "demo/",
            &[(b"demo/charts/sub/values.yaml", REGULAR, b"a: 1\n")],
        ),
        "PP029",
        "error unpacking subchart sub in demo: Chart.yaml file is missing",
    );
    refused(
        "a parent reference",
        &chart("demo/", &[(b"demo/../../evil", REGULAR, b"x")]),
        "PP029",
        "chart illegally references parent directory",
    );
}

#[test]
fn link_entries_are_pp034_packpubs_own_rule() {
    let link = [(
        &b"demo/templates/passwd.yaml"[..],
        tar::EntryType::Symlink,
        &b""[..],
    )];
    let message = refused(
        "a symbolic link",
        &chart("demo/", &link),
        "PP034",
        "passwd.yaml",
    );
    for says in [
        "packpub's own safety rule",
        "not Helm's",
        "Helm would load it as an empty file",
        "--allow PP034",
    ] {
        assert!(message.contains(says), "{message}");
    }
    assert!(!message.contains("Palette can install"), "{message}");
    // Helm refusing the chart anyway: that is what is reported.
    let broken = [
        link[0],
        (
            &b"demo/Chart.yaml"[..],
            REGULAR,
            &b"name: demo\nversion: latest\n"[..],
        ),
    ];
    refused(
        "a link in a chart Helm refuses",
        &chart("demo/", &broken),
        "PP029",
        "latest",
    );
    // Allowed, the link is read as Helm reads it (an empty file, never followed): the chart
    // loads and the pack lints, the finding kept as allowed.
    let tmp = TempDir::new().unwrap();
    let dir = pack_with(tmp.path(), &chart("demo/", &link));
    let allowed = run(&["lint", dir.to_str().unwrap(), "--json", "--allow", "PP034"]).expect(0);
    let findings = allowed.json()["packs"][0]["findings"].clone();
    assert!(
        findings
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] != "error" || f["suppressed"] == true),
        "{findings}"
    );
}

/// Helm's own `TestLoadInvalidArchive` (pkg/chart/loader/load_test.go): each archive holds one
/// entry with "hello: world"; the cause Helm gives is what packpub reports.
#[test]
fn helms_invalid_archive_cases_get_helms_verdicts() {
    for (name, cause) in [
        (
            &b"../../malformed-helm-test"[..],
            "chart illegally references parent directory",
        ),
        (
            b"/foo/../../malformed-helm-test",
            "chart illegally references parent directory",
        ),
        (
            b"/../../malformed-helm-test",
            "chart illegally references parent directory",
        ),
        (
            b"./../../malformed-helm-test",
            "chart illegally references parent directory",
        ),
        (
            b"./.",
            "chart illegally contains content outside the base directory",
        ),
        (
            b"/./.",
            "chart illegally contains content outside the base directory",
        ),
        (
            b"missing-leading-slash",
            "chart illegally contains content outside the base directory",
        ),
        (b"/missing-leading-slash", "Chart.yaml file is missing"),
        (b"//foo", "chart illegally contains absolute paths"),
        (b"///foo", "chart illegally contains absolute paths"),
        (b"\\\\foo", "chart illegally contains absolute paths"),
        (
            b"\\..\\..\\foo",
            "chart illegally references parent directory",
        ),
        (b"\\.\\c:\\\\foo", "chart contains illegally named files"),
        (b"/./c://foo", "chart contains illegally named files"),
        (
            b"\\\\?\\Some\\windows\\magic",
            "chart illegally contains absolute paths",
        ),
        (
            b"/Chart.yaml",
            "validation: chart.metadata.name is required",
        ),
        (b"files/whatever.yaml", "Chart.yaml file is missing"),
        (
            b"c:\\Chart.yaml",
            "validation: chart.metadata.name is required",
        ),
    ] {
        let shown = String::from_utf8_lossy(name);
        refused(
            &shown,
            &raw_tgz(&[(name, REGULAR, b"hello: world")]),
            "PP029",
            cause,
        );
    }
}
