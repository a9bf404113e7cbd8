//! Inputs that made the rules' work or output grow faster than the file (issue 20): open blocks
//! by the hundred thousand, an enabled-presets header naming a hundred thousand presets, a
//! values.yaml that is one 16 MiB flow collection, a schema.yaml of unknown keys. Each run
//! must end by itself (the harness kills it at a deadline far below what quadratic work
//! takes), stay under [`HOSTILE_MEMORY`], and print the first findings of each rule in each
//! file and a count of the rest, in every format, without changing the exit code.

use crate::support::*;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;

/// Long enough for a debug build on a loaded 2-core machine (each case takes seconds there);
/// the quadratic versions took minutes to an hour.
const DEADLINE: Duration = Duration::from_secs(120);

/// The most either stream may print: twenty findings of a few rules, with room to spare. The
/// uncapped outputs were tens to hundreds of MB.
const MAX_OUTPUT: usize = 64 << 10;

/// The findings listed per rule and file (docs/commands.md, `lint`).
const KEPT: usize = 20;

const IMAGES: &str = "pack:\n  content:\n    images:\n      - image: nginx:1.27\n";

/// The example pack with `files` (name, text) written into it.
fn pack_with(tmp: &TempDir, files: &[(&str, &str)]) -> PathBuf {
    let dir = example_in(tmp.path(), "hello-1.0.0");
    for (name, text) in files {
        assert!(text.len() < 16 << 20, "{name} must stay under the read cap");
        fs::write(dir.join(name), text).unwrap();
    }
    dir
}

/// Runs `packpub <args> <dir>` under the hostile bounds: it ends within [`DEADLINE`], with
/// exit `code`, under [`HOSTILE_MEMORY`] and printing at most [`MAX_OUTPUT`] on each stream.
fn bounded(dir: &Path, args: &[&str], code: i32) -> Run {
    let mut cmd = packpub();
    cmd.args(args).arg(dir);
    if args[0] == "pack" {
        cmd.arg("-o").arg(dir.with_file_name("out"));
    }
    let (run, rss) = run_capped_within(cmd, DEADLINE);
    let (stdout, stderr) = (run.stdout.len(), run.stderr.len());
    let run = run.expect(code);
    assert!(rss < HOSTILE_MEMORY >> 10, "{args:?}: peak RSS {rss} KiB");
    assert!(
        stdout < MAX_OUTPUT && stderr < MAX_OUTPUT,
        "{args:?}: printed {stdout} bytes on stdout, {stderr} on stderr"
    );
    run
}

/// The findings lines of `rule` a person sees, and the one counting the rest in `file` of the
/// pack at `dir`.
fn capped_lines<'a>(run: &'a Run, rule: &str, dir: &Path, file: &str) -> (usize, &'a str) {
    let shown = run
        .stderr
        .lines()
        .filter(|line| line.ends_with(&format!("[{rule}]")))
        .count();
    let more = format!("more {rule} findings in {}/{file}", dir.display());
    let count = run
        .stderr
        .lines()
        .find(|line| line.contains(&more))
        .unwrap_or_else(|| panic!("no {more:?} line in:\n{}", run.stderr));
    (shown, count)
}

/// `lint --format json`'s one pack: its kept findings of `rule` and the count omitted.
fn json_capped(run: &Run, rule: &str) -> (usize, u64) {
    let doc = run.json();
    let pack = &doc["packs"][0];
    let kept = pack["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .count();
    let omitted: Vec<&Value> = pack["omitted"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["rule"] == rule)
        .collect();
    assert_eq!(omitted.len(), 1, "{}", pack["omitted"]);
    (kept, omitted[0]["count"].as_u64().unwrap())
}

/// values.yaml near its 16 MiB cap of nothing but `{{if}}` lines: 2.4 million blocks left
/// open, scanned in one pass (the quadratic scan took 107 s for 400,000 and would take about
/// an hour here); the outermost one is reported. `pack` runs the same code.
#[test]
fn open_blocks_are_scanned_in_one_pass() {
    let tmp = TempDir::new().unwrap();
    let lines = (16 << 20) / "{{if}}\n".len() - 100;
    let values = format!("{IMAGES}{}", "{{if}}\n".repeat(lines));
    let dir = pack_with(&tmp, &[("values.yaml", &values)]);
    let linted = bounded(&dir, &["lint"], 0);
    assert!(
        linted.stderr.contains(
            "values.yaml:5:1: has a template action {{if}} on line 5 that no {{ end }} closes"
        ),
        "{}",
        linted.stderr
    );
    let packed = bounded(&dir, &["pack"], 0);
    assert!(packed.stderr.contains("[PP035]"), "{}", packed.stderr);
    assert_eq!(list(&tmp.path().join("out")), ["hello-1.0.0.tar.gz"]);
}

/// 300,000 presets and a header enabling 100,000 of them (one undefined first): each is
/// looked up by name, not against every preset (that took over 75 s). Only the first
/// undefined ones are listed.
#[test]
fn enabled_presets_are_looked_up_by_name() {
    let tmp = TempDir::new().unwrap();
    let presets: String = (0..300_000)
        .map(|i| format!("  - {{name: p{i}, displayName: P, group: g{i}}}\n"))
        .collect();
    let enabled: Vec<String> = std::iter::once("Nope:missing".to_string())
        .chain((1..100_000).map(|i| format!("g{i}:p{i}")))
        .collect();
    let values = format!(
        "# spectrocloud.com/enabled-presets: {}\n{IMAGES}",
        enabled.join(",")
    );
    let dir = pack_with(
        &tmp,
        &[
            ("values.yaml", &values),
            ("presets.yaml", &format!("presets:\n{presets}")),
        ],
    );
    let linted = bounded(&dir, &["lint"], 0);
    let first = linted
        .stderr
        .lines()
        .find(|line| line.contains("values.yaml:1:1: enabled-presets:"))
        .unwrap_or_default();
    assert!(
        first.contains("enables \"Nope:missing\", which presets.yaml does not define"),
        "{}",
        linted.stderr
    );
    // The presets read first are defined: none of them is reported.
    assert!(!linted.stderr.contains("\"g1:p1\""), "{}", linted.stderr);
    let (_, more) = capped_lines(&linted, "PP028", &dir, "values.yaml");
    let shown = linted.stderr.matches("enabled-presets: enables").count();
    assert_eq!(shown, KEPT, "{more}");
}

/// A values.yaml that is one 16 MiB line: a flow sequence of 5.6 million items. The rules'
/// tree stops at its node budget, and the run stays in bounded memory (it once took 918 MiB).
#[test]
fn a_flow_sequence_filling_values_yaml_is_read_in_bounded_memory() {
    let tmp = TempDir::new().unwrap();
    let items = ((16 << 20) - 1000) / "1, ".len();
    let values = format!("{IMAGES}a: [{}1]\n", "1, ".repeat(items));
    let dir = pack_with(&tmp, &[("values.yaml", &values)]);
    let linted = bounded(&dir, &["lint", "--format", "json"], 0);
    assert_eq!(linted.json()["errors"], 0, "{}", linted.stdout);
}

/// A 16 MiB flow mapping repeating one key 2.8 million times: go-yaml keeps the last, so each
/// repetition is a PP026 warning, as before; the first twenty are listed and the rest counted,
/// in text, JSON, SARIF and workflow commands (the uncapped run printed 487 MB in 982 MiB).
/// Capping changes no verdict: `--strict` still fails on every one of them.
#[test]
fn a_flow_mapping_repeating_one_key_lists_its_first_duplicates() {
    let tmp = TempDir::new().unwrap();
    let pairs = ((16 << 20) - 1000) / "a: 1, ".len();
    let values = format!("{IMAGES}b: {{{}a: 1}}\n", "a: 1, ".repeat(pairs));
    let dir = pack_with(&tmp, &[("values.yaml", &values)]);
    let repeated = pairs as u64;

    let linted = bounded(&dir, &["lint"], 0);
    let (shown, more) = capped_lines(&linted, "PP026", &dir, "values.yaml");
    assert_eq!(shown, KEPT, "{}", linted.stderr);
    let omitted = repeated - KEPT as u64;
    assert!(
        more.starts_with(&format!("warning: and {omitted} more PP026 findings in")),
        "{more}"
    );
    assert!(
        linted
            .stderr
            .contains(&format!("0 error(s), {repeated} warning(s)")),
        "{}",
        linted.stderr
    );

    let json = bounded(&dir, &["lint", "--format", "json"], 0);
    assert_eq!(json_capped(&json, "PP026"), (KEPT, omitted));
    assert_eq!(json.json()["warnings"], repeated);

    let sarif = bounded(&dir, &["lint", "--format", "sarif"], 0);
    crate::lint::valid_sarif(&sarif.stdout);
    let doc: Value = serde_json::from_str(&sarif.stdout).unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let duplicates: Vec<&Value> = results.iter().filter(|r| r["ruleId"] == "PP026").collect();
    assert_eq!(duplicates.len(), KEPT + 1);
    let note = duplicates[KEPT];
    assert_eq!(note["level"], "note");
    assert_eq!(note["properties"]["omitted"], omitted);

    let strict = bounded(&dir, &["lint", "--strict"], 3);
    assert!(
        strict.stderr.contains(&format!("{repeated} warning(s)")),
        "{}",
        strict.stderr
    );
}

/// schema.yaml naming 400,000 values that values.yaml does not have: the rules' tree stops at
/// its node budget, and of what is read, the first twenty are listed and the rest counted
/// (it took 399 MiB and printed 78 MB). GitHub annotations are capped the same way.
#[test]
fn a_schema_of_unknown_keys_lists_its_first_findings() {
    let tmp = TempDir::new().unwrap();
    let schema: String = (0..400_000)
        .map(|i| format!("k{i}: {{schema: '{{{{ required }}}}'}}\n"))
        .collect();
    let dir = pack_with(&tmp, &[("schema.yaml", &schema)]);

    let linted = bounded(&dir, &["lint"], 0);
    let (shown, more) = capped_lines(&linted, "PP027", &dir, "schema.yaml");
    assert_eq!(shown, KEPT, "{}", linted.stderr);
    assert!(more.starts_with("warning: and "), "{more}");

    let json = bounded(&dir, &["lint", "--json"], 0);
    let (kept, omitted) = json_capped(&json, "PP027");
    assert_eq!(kept, KEPT);
    assert_eq!(json.json()["warnings"], KEPT as u64 + omitted);

    let annotations = bounded(&dir, &["lint", "--format", "github"], 0);
    let lines: Vec<&str> = annotations
        .stdout
        .lines()
        .filter(|l| l.contains("title=PP027"))
        .collect();
    assert_eq!(lines.len(), KEPT + 1, "{}", annotations.stdout);
    assert!(
        lines[KEPT].contains(&format!("::and {omitted} more PP027 findings in")),
        "{}",
        lines[KEPT]
    );
}
