//! packpub's verdicts held against Palette's own readers (issue 19): for every file, a rule of
//! packpub reports an error exactly when a Go reader Palette runs refuses it. The oracle is
//! `palette-readers` (tests/oracle: go-yaml, sigs.k8s.io/yaml, text/template with Sprig, and
//! Helm v3's chart loader ported line by line); packpub's side is the very code its rules run
//! ([`packpub::pack::file_findings`]).
//!
//! Three sources of files: the public packs Palette serves (../shared/corpus, read in place,
//! never copied), edge cases of our own (cases.rs), and generated files (generate.rs: a short
//! replay here, a campaign of any length with `PACKPUB_DIFF_SECONDS`).

mod cases;
mod generate;
mod oracle;

use oracle::{Answer, Oracle};
use packpub::pack::{Role, Severity, chart, file_findings, template, yaml};
use std::path::Path;

/// packpub's verdict on `data` read as `kind` (the oracle's kinds): `Ok` when no rule reports
/// an error, else the first error.
fn packpub_verdict(kind: &str, data: &[u8]) -> Result<(), String> {
    if kind == "chart" {
        // Links read as Helm reads them: refusing them is packpub's own rule (PP034), counted
        // apart by `chart_safety`.
        return chart::load_chart(data.to_vec(), chart::LinkEntries::ReadEmpty)
            .map(drop)
            .map_err(|refusal| match refusal {
                chart::Refusal::Helm(why) | chart::Refusal::Safety(why) => why,
            });
    }
    let Ok(text) = std::str::from_utf8(data) else {
        // Every rule reads these files as UTF-8 (PP001); Go's YAML refuses invalid UTF-8 too.
        return Err("not UTF-8".into());
    };
    let errors_of = |role| {
        let findings = file_findings(role, text);
        match findings.list.iter().find(|f| f.severity == Severity::Error) {
            Some(f) => Err(f.to_string()),
            None => Ok(()),
        }
    };
    match kind {
        "values" => errors_of(Role::Values),
        "manifest" => errors_of(Role::Manifest),
        "template" => template::check(text).map_err(|e| e.to_string()),
        "yaml" => yaml::first_document(text).map(drop).map_err(|p| p.message),
        "yaml-map" => match yaml::first_document(text) {
            Ok(doc) if doc.json_depth_problem().is_some() => Err("too deep for JSON".into()),
            Ok(doc) if matches!(doc.root, yaml::Node::Null | yaml::Node::Map(_)) => Ok(()),
            Ok(doc) => Err(format!("is {}", yaml::shape(&doc.root))),
            Err(p) => Err(p.message),
        },
        other => panic!("no packpub verdict for {other}"),
    }
}

/// One disagreement, shown so that it can be replayed.
struct Disagreement {
    kind: String,
    data: Vec<u8>,
    packpub: Result<(), String>,
    go: Answer,
}

impl std::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: String = String::from_utf8_lossy(&self.data)
            .chars()
            .take(600)
            .collect();
        write!(
            f,
            "kind {}: {:?}\n  packpub: {:?}\n  Go ({}): ok={} {}",
            self.kind, shown, self.packpub, self.go.reader, self.go.ok, self.go.error
        )
    }
}

/// Asks both sides; `Some` when they disagree on whether the file is refused.
fn compare(oracle: &mut Oracle, kind: &str, data: &[u8]) -> Option<Disagreement> {
    let go = oracle.ask(kind, data);
    let packpub = packpub_verdict(kind, data);
    (go.ok != packpub.is_ok()).then(|| Disagreement {
        kind: kind.to_string(),
        data: data.to_vec(),
        packpub,
        go,
    })
}

fn assert_none(what: &str, disagreements: &[Disagreement]) {
    if disagreements.is_empty() {
        return;
    }
    let shown: Vec<String> = disagreements
        .iter()
        .take(15)
        .map(|d| d.to_string())
        .collect();
    panic!(
        "{what}: {} disagreement(s) with Palette's Go readers:\n{}",
        disagreements.len(),
        shown.join("\n")
    );
}

/// Every values.yaml, kubeManifests file and chart of the public packs Palette serves: packpub
/// refuses a file exactly when Go's readers do (one pack names a chart it lacks: no file to
/// compare).
#[test]
fn every_file_of_the_packs_palette_serves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/pack-central");
    if !root.is_dir() {
        eprintln!("SKIPPED: ../shared/corpus/pack-central is absent");
        return;
    }
    let mut oracle = Oracle::start();
    let mut disagreements = Vec::new();
    let mut counts = std::collections::BTreeMap::<&str, (usize, usize)>::new();
    let mut packs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("pack.json").is_file())
        .collect();
    packs.sort();
    for pack in &packs {
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(pack.join("pack.json")).unwrap()).unwrap();
        let mut files = vec![("values", pack.join("values.yaml"))];
        for (field, kind) in [("kubeManifests", "manifest"), ("charts", "chart")] {
            for path in doc[field].as_array().into_iter().flatten() {
                files.push((kind, pack.join(path.as_str().unwrap())));
            }
        }
        for (kind, path) in files {
            let Ok(data) = std::fs::read(&path) else {
                continue;
            };
            let entry = counts.entry(kind).or_default();
            entry.0 += 1;
            let go_ok = match compare(&mut oracle, kind, &data) {
                Some(d) => {
                    let ok = d.go.ok;
                    disagreements.push(d);
                    ok
                }
                None => packpub_verdict(kind, &data).is_ok(),
            };
            if !go_ok {
                entry.1 += 1;
            }
        }
    }
    eprintln!(
        "differential corpus: {} packs; files (refused by Go) per kind: {counts:?}; {} disagreement(s)",
        packs.len(),
        disagreements.len()
    );
    assert!(
        packs.len() >= 100,
        "only {} packs in the corpus",
        packs.len()
    );
    assert_none("the packs Palette serves", &disagreements);
}

/// Edge cases of our own (cases.rs): both sides agree on each, and where a case says what Go
/// does, Go does it (so the oracle is held too).
#[test]
fn edge_cases_agree_with_palettes_readers() {
    let mut oracle = Oracle::start();
    let mut disagreements = Vec::new();
    let cases = cases::all();
    assert!(cases.len() >= 100, "{} edge cases", cases.len());
    for case in &cases {
        if let Some(d) = compare(&mut oracle, case.kind, &case.data) {
            disagreements.push(d);
            continue;
        }
        if let Some(expected) = case.go_accepts {
            let go = oracle.ask(case.kind, &case.data);
            assert_eq!(
                go.ok, expected,
                "{}: Go's readers say ok={} ({}), the case expects {expected}",
                case.name, go.ok, go.error
            );
        }
    }
    eprintln!(
        "differential edge cases: {} cases, {} disagreement(s)",
        cases.len(),
        disagreements.len()
    );
    assert_none("edge cases", &disagreements);
}

/// The campaign's short replay: generated YAML, values files and manifests (with template
/// actions), from fixed seeds. `PACKPUB_DIFF_SECONDS=600` runs each target for that long
/// instead, from a seed of the clock (printed), for the campaign outside CI.
#[test]
fn generated_yaml_agrees_with_go() {
    generate::campaign("yaml", &["yaml", "yaml-map", "values"], generate::yaml_file);
}

#[test]
fn generated_manifests_agree_with_go() {
    generate::campaign("manifest", &["manifest"], generate::manifest_file);
}

#[test]
fn generated_templates_agree_with_go() {
    generate::campaign("template", &["template"], generate::template_file);
}

#[test]
fn generated_chart_archives_agree_with_helm() {
    generate::campaign("chart", &["chart"], generate::chart_archive);
}
