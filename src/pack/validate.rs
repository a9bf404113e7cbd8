//! The rules a pack must meet before it is packed or pushed (../shared/NOTES.md §2): errors
//! make a pack unpublishable, warnings flag what Palette tolerates but pack-central rejects.
//! Every rule reports the file, the field and the fix, and all of them run so that one
//! attempt shows every problem. This room checks the pack's files (the ones pack.json names,
//! the standard ones, values.yaml, manifests, charts); pack.json's own fields are
//! `pack_json.rs`'s.

use super::chart::{LinkEntries, Refusal};
use super::findings::Findings;
use super::model::{PACK_JSON, VALUES_YAML};
use super::pack_json::kind;
use super::rules::Rule;
use super::untemplated::{UNCLOSED_FIX, render_away, unclosed_message};
use super::walk::{Entry, IGNORE_FILE, Kind, file};
use super::yaml::{self, Node};
use super::yaml_findings::{duplicate_keys, yaml_finding};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;

use super::model::YAML_LIMIT;

/// Checks the files pack.json names (`charts`, `kubeManifests`, `ansibleRoles`) against what
/// will actually be packed.
pub fn referenced_files(
    doc: &Map<String, Value>,
    root: &Path,
    entries: &[Entry],
    findings: &mut Findings,
) {
    let packed: HashMap<&str, &Entry> = entries.iter().map(|e| (e.path.as_str(), e)).collect();
    let mut manifests = Vec::new();
    for field in ["charts", "kubeManifests", "ansibleRoles"] {
        let Some(value) = doc.get(field) else {
            continue;
        };
        let Some(list) = value.as_array() else {
            findings.add(
                Rule::ReferencedFile,
                PACK_JSON,
                Some(field),
                format!("must be an array of paths, found {}", kind(value)),
                "use [\"path/in/pack\", ...]",
            );
            continue;
        };
        for (i, item) in list.iter().enumerate() {
            let at = format!("{field}[{i}]");
            let Some(path) = item.as_str() else {
                findings.add(
                    Rule::ReferencedFile,
                    PACK_JSON,
                    Some(&at),
                    format!("must be a path string, found {}", kind(item)),
                    "quote the path",
                );
                continue;
            };
            let normalized = normalize(path);
            match normalized {
                None => findings.add(
                    Rule::ReferencedFile,
                    PACK_JSON,
                    Some(&at),
                    format!("{path:?} points outside the pack folder"),
                    "use a path relative to the pack folder, without '..' or a leading '/'",
                ),
                Some(rel) if packed.contains_key(rel.as_str()) => {
                    if field == "kubeManifests" {
                        manifests.push(packed[rel.as_str()]);
                    }
                }
                Some(rel) if root.join(&rel).exists() => findings.add(
                    Rule::ReferencedFile,
                    PACK_JSON,
                    Some(&at),
                    format!("{path:?} exists but is excluded from the archive"),
                    &format!("remove its pattern from {IGNORE_FILE}"),
                ),
                Some(_) => findings.add(
                    Rule::ReferencedFile,
                    PACK_JSON,
                    Some(&at),
                    format!("{path:?} does not exist in the pack folder"),
                    "add the file or correct the path",
                ),
            }
        }
    }
    manifest_files(&manifests, findings);
}

/// Checks every `kubeManifests` file on all cores (parsing them is most of a pack's checks),
/// reporting in pack.json's order whatever the timing.
fn manifest_files(manifests: &[&Entry], findings: &mut Findings) {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let share = manifests.len().div_ceil(threads).max(1);
    let profile = findings.profile;
    let found: Vec<Findings> = std::thread::scope(|scope| {
        let workers: Vec<_> = manifests
            .chunks(share)
            .map(|chunk| {
                scope.spawn(move || {
                    let mut found = Findings::new(profile);
                    for entry in chunk {
                        manifest_file(entry, &mut found);
                    }
                    found
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a manifest check panicked"))
            .collect()
    });
    for part in found {
        findings.absorb(part);
    }
}

/// The Helm charts pack.json names: each a readable chart archive, wired into values.yaml
/// where Palette reads chart values, `charts.<Chart.yaml name>`, with no key the chart does
/// not have.
pub fn charts(
    doc: &Map<String, Value>,
    values: &Node,
    root: &Path,
    entries: &[Entry],
    allowed: &super::Allowed,
    findings: &mut Findings,
) {
    let Some(list) = doc.get("charts").and_then(Value::as_array) else {
        return;
    };
    for (i, item) in list.iter().enumerate() {
        let Some(rel) = item.as_str().and_then(normalize) else {
            continue;
        };
        if !entries
            .iter()
            .any(|e| e.path == rel && matches!(e.kind, Kind::File { .. }))
        {
            continue;
        }
        // With PP034 allowed, link entries are read as Helm reads them: empty files.
        let links = if allowed.allows(Rule::ChartSafety, &rel) {
            LinkEntries::ReadEmpty
        } else {
            LinkEntries::Refuse
        };
        let chart = match super::chart::read_chart(&root.join(&rel), links) {
            Ok(chart) => chart,
            Err(Refusal::Helm(why)) => {
                findings.add(
                    Rule::Chart,
                    &rel,
                    None,
                    format!("is not a chart Palette can install: {why}"),
                    "replace it with the chart archive `helm package` makes",
                );
                continue;
            }
            Err(Refusal::Safety(why)) => {
                findings.add(
                    Rule::ChartSafety,
                    &rel,
                    None,
                    why,
                    "re-create the archive with `helm package` from a folder without links",
                );
                continue;
            }
        };
        let key = format!("charts.{}", chart.name);
        let wired = &values["charts"][chart.name.as_str()];
        let empty = wired.as_map().is_none_or(|map| map.is_empty());
        let strict = findings.profile == super::rules::Profile::PackCentral;
        if wired.as_map().is_none() || (strict && empty) {
            findings.add(
                Rule::ChartValues,
                VALUES_YAML,
                Some(&key),
                format!(
                    "is {} for chart {rel} (charts[{i}]); Palette passes the chart only the values under {key}, so values anywhere else are silently ignored",
                    if wired.as_map().is_some() { "empty" } else { "not a mapping" }
                ),
                &format!("put the chart's values under {key}: (the chart's own values.yaml is a start)"),
            );
            continue;
        }
        let defaults = chart
            .values_yaml
            .as_deref()
            .and_then(|text| yaml::first_document(text).ok())
            .map(|doc| doc.root)
            .unwrap_or_default();
        let mut unknown = Vec::new();
        super::values::unknown_keys(wired, &defaults, &key, &mut unknown);
        for path in unknown.iter().take(MAX_UNKNOWN_KEYS) {
            findings.add(
                Rule::ChartUnknownKey,
                VALUES_YAML,
                Some(path),
                format!(
                    "is not a value of chart {} {}: the chart ignores it",
                    chart.name, chart.version
                ),
                "check the spelling against the chart's values.yaml, or remove it",
            );
        }
    }
}

/// Reported per chart at most: past this, a values file is for another chart altogether.
const MAX_UNKNOWN_KEYS: usize = 50;

/// A `kubeManifests` file: a template Go's parser reads, whose YAML (Palette's actions aside) is
/// split into documents as kubectl splits it; every non-empty document a Kubernetes object with
/// `apiVersion` and `kind`, as kubectl decodes it (sigs.k8s.io/yaml, then unstructured JSON).
fn manifest_file(entry: &Entry, findings: &mut Findings) {
    if !matches!(entry.kind, Kind::File { .. }) {
        return;
    }
    if let Some(text) = entry.read_text(YAML_LIMIT, findings) {
        manifest_text(&entry.path, &text, findings);
    }
}

/// [`manifest_file`]'s checks of the text of `file`.
fn manifest_text(file: &str, text: &str, findings: &mut Findings) {
    let functions = match super::template::parse(text) {
        Ok(functions) => functions,
        Err(refused) => {
            let line = refused.line as u64;
            findings.add_at(
                Rule::Manifest,
                file,
                Some((line, 1)),
                None,
                format!(
                    "is not a template Go's parser reads (text/template: line {line}: {}); Palette cannot render it",
                    refused.message
                ),
                "correct the template action on that line (a `{{` that is not an action is written {{ \"{{\" }})",
            );
            return;
        }
    };
    let unknown: Vec<&str> = functions
        .iter()
        .map(String::as_str)
        .filter(|name| !super::template::KNOWN_FUNCTIONS.contains(name))
        .collect();
    if !unknown.is_empty() {
        findings.add(
            Rule::Template,
            file,
            None,
            format!(
                "calls {}, which neither Go, Sprig nor Helm defines; Palette renders the file only if its own functions include them",
                unknown.join(", ")
            ),
            "check the spelling, or quote text that only looks like an action",
        );
    }
    // The template parsed, so every block is closed; what is left open here is text.
    let (rendered, _) = render_away(text);
    let documents = match yaml::kubectl_documents(&rendered) {
        Ok(documents) => documents,
        Err(problem) => {
            yaml_finding(Rule::Manifest, file, &problem, 0, findings);
            return;
        }
    };
    for (i, (first_line, document)) in documents.iter().enumerate() {
        let read = match yaml::first_document(document)
            .and_then(|read| read.json_depth_problem().map_or(Ok(read), Err))
        {
            Ok(read) => read,
            Err(problem) => {
                yaml_finding(Rule::Manifest, file, &problem, *first_line, findings);
                continue;
            }
        };
        duplicate_keys(file, &read, *first_line, findings);
        let missing: Vec<&str> = match &read.root {
            Node::Null => continue,
            Node::Map(_) => ["apiVersion", "kind"]
                .into_iter()
                .filter(|key| {
                    !matches!(&read.root[*key], Node::Scalar(s) if s.kind == yaml::Kind::Str && !s.text.is_empty())
                })
                .collect(),
            _ => vec!["apiVersion", "kind"],
        };
        if !missing.is_empty() {
            findings.add_at(
                Rule::Manifest,
                file,
                Some((first_line + 1, 1)),
                Some(&format!("document {}", i + 1)),
                format!(
                    "is not a Kubernetes object: it has no {} as a non-empty string",
                    missing.join(" and ")
                ),
                "give every document apiVersion and kind (Palette applies each as an object)",
            );
        }
    }
}

/// `a/./b/../c` → `a/c`; `None` when the path leaves the folder.
fn normalize(path: &str) -> Option<String> {
    if path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// `values.yaml` must exist and be what Helm reads values from (Palette's macros aside): YAML
/// whose first document is a mapping or empty. It should list the images of an add-on;
/// `logo.png` and `README.md` are expected. `layer` is pack.json's. Returns values.yaml as a
/// tree (null when there is none), for the rules that look into it.
pub fn standard_files(entries: &[Entry], layer: Option<&str>, findings: &mut Findings) -> Node {
    let mut values = Node::Null;
    match file(entries, VALUES_YAML) {
        None => findings.add(
            Rule::ValuesYaml,
            VALUES_YAML,
            None,
            "is missing (required, may be empty)".to_string(),
            "create values.yaml (an empty file is fine)",
        ),
        Some(entry) => {
            if let Some(raw) = entry.read_text(YAML_LIMIT, findings)
                && let Some(read) = values_text(&raw, findings)
            {
                values = read;
                images(&raw, &values, layer, findings);
                let read = |e: &Entry, f: &mut Findings| e.read_text(YAML_LIMIT, f);
                super::values::check(&raw, &values, entries, &read, findings);
            }
        }
    }
    for (name, rule, why) in [
        ("logo.png", Rule::Logo, "Palette shows it in the pack list"),
        (
            "README.md",
            Rule::Readme,
            "Palette shows it as the pack's documentation",
        ),
    ] {
        if file(entries, name).is_none() {
            findings.add(
                rule,
                name,
                None,
                format!("is missing; {why}"),
                &format!("add {name} (pack-central requires it)"),
            );
        }
    }
    values
}

/// values.yaml's text as Helm reads values (Palette's macros rendered away): its tree when it
/// is a mapping or empty, else `None` with the problem reported.
fn values_text(raw: &str, findings: &mut Findings) -> Option<Node> {
    let (text, unclosed) = render_away(raw);
    // Palette serves values files whose text Go's template parser refuses (alert rules quoting
    // `{{ $labels.x }}` in comments): it does not parse them as one template, so an open
    // block is only worth a look.
    if let Some((line, action)) = unclosed {
        findings.add_at(
            Rule::Template,
            VALUES_YAML,
            Some((line, 1)),
            None,
            unclosed_message(line, &action),
            UNCLOSED_FIX,
        );
    }
    let read = match yaml::first_document(&text)
        .and_then(|read| read.json_depth_problem().map_or(Ok(read), Err))
    {
        Ok(read) => read,
        Err(problem) => {
            yaml_finding(Rule::ValuesYaml, VALUES_YAML, &problem, 0, findings);
            return None;
        }
    };
    duplicate_keys(VALUES_YAML, &read, 0, findings);
    if matches!(read.root, Node::Null | Node::Map(_)) {
        return Some(read.root);
    }
    findings.add(
        Rule::ValuesYaml,
        VALUES_YAML,
        None,
        format!(
            "is {}, not a mapping: Helm reads values into a map and refuses anything else",
            yaml::shape(&read.root)
        ),
        "make values.yaml a mapping of keys to values (or leave it empty)",
    );
    None
}

/// A file's role in a pack, for [`file_findings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The pack's values.yaml.
    Values,
    /// A file pack.json names in `kubeManifests`.
    Manifest,
}

/// What the rules find in one file on its own, by its role: exactly the code the pack rules
/// run, so that the differential tests can hold its errors against Palette's Go readers.
pub fn file_findings(role: Role, text: &str) -> Findings {
    let mut findings = Findings::default();
    match role {
        Role::Values => drop(values_text(text, &mut findings)),
        Role::Manifest => manifest_text("manifest.yaml", text, &mut findings),
    }
    findings
}

/// pack-central's rule: an add-on lists its images in `pack.content.images` (layers `os` and
/// `k8s` are exempt); and every entry must be one `--with-images` can copy as written.
fn images(raw: &str, values: &Node, layer: Option<&str>, findings: &mut Findings) {
    let declared = super::images::declared(raw);
    let field = "pack.content.images";
    for skipped in &declared.skipped {
        findings.add(
            Rule::ImageEntries,
            VALUES_YAML,
            Some(field),
            format!(
                "entry {} ({}) {}: a copy to an air-gapped registry skips it",
                skipped.entry, skipped.text, skipped.why
            ),
            skipped.fix,
        );
    }
    for image in declared.images.iter().filter(|i| i.is_unpinned()) {
        findings.add(
            Rule::ImageEntries,
            VALUES_YAML,
            Some(field),
            format!(
                "entry {image} names no tag or digest: clusters pull `latest`, whatever it is \
                 that day, and a copy carries only the `latest` of the day it ran"
            ),
            "pin it: registry/repo:tag, or @sha256:<digest> to keep it exact",
        );
    }
    if matches!(layer, Some("os" | "k8s") | None) {
        return;
    }
    let listed = values["pack"]["content"]["images"]
        .as_seq()
        .is_some_and(|images| !images.is_empty());
    if !listed {
        findings.add(
            Rule::Images,
            VALUES_YAML,
            Some(field),
            "is missing or empty; air-gapped installs and pack-central need the images an \
             add-on pulls"
                .to_string(),
            "list them: pack: {content: {images: [{image: registry/repo:tag}]}}",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn normalize_keeps_paths_inside_the_folder() {
        assert_eq!(normalize("charts/./x.tgz").as_deref(), Some("charts/x.tgz"));
        assert_eq!(normalize("a/../b").as_deref(), Some("b"));
        assert_eq!(normalize("../x"), None);
        assert_eq!(normalize("/etc/passwd"), None);
        assert_eq!(normalize("a/../.."), None);
    }
}
