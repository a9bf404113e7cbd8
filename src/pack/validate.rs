//! The rules a pack must meet before it is packed or pushed (../shared/NOTES.md §2): errors
//! make a pack unpublishable, warnings flag what Palette tolerates but pack-central rejects.
//! Every rule reports the file, the field and the fix, and all of them run so that one
//! attempt shows every problem.

use super::chart::{LinkEntries, Refusal};
use super::findings::Findings;
use super::model::{
    self, Identity, PACK_JSON, PACK_JSON_LIMIT, PackName, PackVersion, VALUES_YAML,
};
use super::rules::Rule;
use super::untemplated::{UNCLOSED_FIX, render_away, unclosed_message};
use super::walk::{Entry, IGNORE_FILE, Kind, Look, file};
use super::yaml::{self, Node};
use super::yaml_findings::{duplicate_keys, yaml_finding};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;

/// The most of any YAML file that is read for validation (values.yaml): values files are a few
/// KiB, generated ones rarely more than a few hundred; this leaves room for those while a
/// hostile file cannot claim memory.
pub const YAML_LIMIT: u64 = 16 << 20;

/// Reads pack.json, which the walk looked at as `found`, and checks its fields; returns the
/// document when it is a JSON object, with the identity when name and version are usable.
/// `dir` is the folder as the user named it.
pub fn manifest(
    found: Look,
    dir: &Path,
    findings: &mut Findings,
) -> Option<(Option<Identity>, Map<String, Value>)> {
    let (problem, fix) = match found {
        Look::File(entry) => {
            let text = entry.read_text(PACK_JSON_LIMIT, findings)?;
            return pack_json(&text, findings);
        }
        Look::Refused => return None,
        Look::Missing => (
            format!("cannot be read in {}: there is no such file", dir.display()),
            "run packpub in the pack folder or pass the folder that holds pack.json",
        ),
        Look::Dir(_) => (
            "is a folder, not a file".to_string(),
            "replace the folder with the pack's pack.json",
        ),
        Look::Excluded => (
            format!("is excluded by {IGNORE_FILE}, so the archive would have none"),
            "remove its pattern from .packignore",
        ),
    };
    findings.add(Rule::PackJsonUnreadable, PACK_JSON, None, problem, fix);
    None
}

/// Checks pack.json's fields; returns the document when it is a JSON object (so the checks
/// that need only it still run: every problem at once), with the identity when name and
/// version are usable.
pub fn pack_json(
    text: &str,
    findings: &mut Findings,
) -> Option<(Option<Identity>, Map<String, Value>)> {
    let doc: Value = match serde_json::from_str(text) {
        Ok(doc) => doc,
        Err(err) => {
            findings.add(
                Rule::PackJsonUnreadable,
                PACK_JSON,
                None,
                format!(
                    "is not valid JSON at line {}, column {}: {}",
                    err.line(),
                    err.column(),
                    // The position once: serde's words end with it too.
                    unpositioned(&err)
                ),
                "correct the JSON syntax at that position",
            );
            return None;
        }
    };
    let Value::Object(doc) = doc else {
        findings.add(
            Rule::PackJsonUnreadable,
            PACK_JSON,
            None,
            "must be a JSON object".to_string(),
            "wrap the fields in { }",
        );
        return None;
    };
    let name = required_string(&doc, "name", findings).and_then(|name| {
        PackName::parse(name)
            .map_err(|msg| {
                let (msg, fix) = with_fix(&msg, "use a lower-case name");
                findings.add(Rule::PackName, PACK_JSON, Some("name"), msg, &fix)
            })
            .ok()
    });
    let version = required_string(&doc, "version", findings).and_then(|version| {
        PackVersion::parse(version)
            .map_err(|msg| {
                let (msg, fix) = with_fix(&msg, "use a valid OCI tag");
                findings.add(Rule::PackVersion, PACK_JSON, Some("version"), msg, &fix)
            })
            .ok()
    });
    required_string(&doc, "displayName", findings);
    if let Some(layer) = required_string(&doc, "layer", findings)
        && !model::LAYERS.contains(&layer)
    {
        findings.add(
            Rule::Layer,
            PACK_JSON,
            Some("layer"),
            format!("{layer:?} is not a Palette layer"),
            &format!("use one of: {}", model::LAYERS.join(", ")),
        );
    }
    if let Some(version) = &version {
        version_warnings(version.as_str(), findings);
    }
    cloud_types(&doc, findings);
    constraints(&doc, findings);
    let id = name
        .zip(version)
        .map(|(name, version)| Identity { name, version });
    Some((id, doc))
}

/// A parse error's words split into the problem and its fix, when they hold one (`. Fix: …`);
/// else the words and `fix`: a finding states its fix once.
fn with_fix(words: &str, fix: &str) -> (String, String) {
    match words.split_once(". Fix: ") {
        Some((problem, own)) => (problem.to_string(), own.to_string()),
        None => (words.to_string(), fix.to_string()),
    }
}

/// serde_json's words for `err`, less the position they end with.
fn unpositioned(err: &serde_json::Error) -> String {
    let words = err.to_string();
    let position = format!(" at line {} column {}", err.line(), err.column());
    words.strip_suffix(&position).unwrap_or(&words).to_string()
}

fn required_string<'a>(
    doc: &'a Map<String, Value>,
    field: &str,
    findings: &mut Findings,
) -> Option<&'a str> {
    let problem = match doc.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => return Some(s),
        Some(Value::String(_)) => "is empty".to_string(),
        Some(other) => format!("must be a string, found {}", kind(other)),
        None => "is missing (required)".to_string(),
    };
    findings.add(
        Rule::RequiredField,
        PACK_JSON,
        Some(field),
        problem,
        &format!("set \"{field}\" to a non-empty string"),
    );
    None
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn version_warnings(version: &str, findings: &mut Findings) {
    if let Some(rest) = version.strip_prefix('v') {
        findings.add(
            Rule::VersionStyle,
            PACK_JSON,
            Some("version"),
            format!("{version:?} starts with 'v'; pack-central rejects such versions"),
            &format!("use \"{rest}\""),
        );
    } else if semver::Version::parse(version).is_err() {
        findings.add(
            Rule::Semver,
            PACK_JSON,
            Some("version"),
            format!("{version:?} is not semantic versioning (MAJOR.MINOR.PATCH)"),
            "use a version such as \"1.2.3\" so Palette orders versions predictably",
        );
    }
}

/// `cloudTypes` (and the older singular `cloudType`) against pack-central's schema: the
/// singular form's list has no `custom`.
fn cloud_types(doc: &Map<String, Value>, findings: &mut Findings) {
    for field in ["cloudTypes", "cloudType"] {
        let allowed: Vec<&str> = model::CLOUD_TYPES
            .iter()
            .copied()
            .filter(|t| field == "cloudTypes" || *t != "custom")
            .collect();
        let fix = format!("use values from: {}", allowed.join(", "));
        let values: Vec<&Value> = match doc.get(field) {
            None => continue,
            Some(Value::Array(items)) => items.iter().collect(),
            Some(single) => vec![single],
        };
        for value in values {
            let known = value.as_str().is_some_and(|v| allowed.contains(&v));
            if !known {
                findings.add(
                    Rule::CloudTypes,
                    PACK_JSON,
                    Some(field),
                    format!("{value} is not a known cloud type"),
                    &fix,
                );
            }
        }
    }
}

/// Checks `constraints` against the schema Palette documents; mismatches are warnings because
/// Palette ignores what it does not understand.
fn constraints(doc: &Map<String, Value>, findings: &mut Findings) {
    let Some(constraints) = doc.get("constraints") else {
        return;
    };
    let Some(constraints) = constraints.as_object() else {
        findings.add(
            Rule::Constraints,
            PACK_JSON,
            Some("constraints"),
            "must be an object".to_string(),
            "use {\"dependencies\": [...]}",
        );
        return;
    };
    let mut check = |field: String, ok: bool, message: &str, fix: &str| {
        if !ok {
            findings.add(
                Rule::Constraints,
                PACK_JSON,
                Some(&field),
                message.to_string(),
                fix,
            );
        }
    };
    let layers = format!("use one of: {}", model::LAYERS.join(", "));
    let dep_types = format!("use one of: {}", model::DEPENDENCY_TYPES.join(", "));
    let res_types = format!("use one of: {}", model::RESOURCE_TYPES.join(", "));
    for (i, dep) in items(constraints, "dependencies") {
        let at = |key: &str| format!("constraints.dependencies[{i}].{key}");
        let get = |key: &str| dep.get(key).and_then(Value::as_str);
        check(
            at("packName"),
            get("packName").is_some_and(|s| !s.is_empty()),
            "must name the pack depended on",
            "add \"packName\": \"<pack>\"",
        );
        check(
            at("type"),
            get("type").is_some_and(|t| model::DEPENDENCY_TYPES.contains(&t)),
            "is missing or unknown",
            &dep_types,
        );
        check(
            at("layer"),
            dep.get("layer").is_none() || get("layer").is_some_and(|l| model::LAYERS.contains(&l)),
            "is not a Palette layer",
            &layers,
        );
        for key in ["minVersion", "maxVersion"] {
            check(
                at(key),
                dep.get(key).is_none_or(Value::is_string),
                "must be a string",
                "quote the version",
            );
        }
    }
    for (i, res) in items(constraints, "resources") {
        let at = |key: &str| format!("constraints.resources[{i}].{key}");
        let kind = res.get("type").and_then(Value::as_str);
        check(
            at("type"),
            kind.is_some_and(|t| model::RESOURCE_TYPES.contains(&t)),
            "is missing or unknown",
            &res_types,
        );
        check(
            at("minLimit"),
            res.get("minLimit").is_some_and(Value::is_number),
            "must be a number",
            "set \"minLimit\" to a number",
        );
        let components = res
            .get("components")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (j, component) in components.iter().enumerate() {
            // pack-central's schema says `master`, Spectro's docs `control-plane`: both are
            // taken, as Palette takes both.
            let ok = component
                .get("scheduleType")
                .and_then(Value::as_str)
                .is_some_and(|t| model::SCHEDULE_TYPES.contains(&t));
            check(
                format!("constraints.resources[{i}].components[{j}].scheduleType"),
                ok,
                "is missing or unknown",
                &format!(
                    "use one of: {} (`master` as pack-central's schema writes it, \
                     `control-plane` as Spectro's docs do)",
                    model::SCHEDULE_TYPES.join(", ")
                ),
            );
        }
    }
}

/// The entries of `constraints.<key>`, with their index. A non-object entry fails every field
/// check, because `Value::get` finds nothing in it.
fn items<'a>(
    constraints: &'a Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = (usize, &'a Value)> {
    constraints
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
}

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
                images(&values, layer, findings);
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
/// `k8s` are exempt).
fn images(values: &Node, layer: Option<&str>, findings: &mut Findings) {
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
            Some("pack.content.images"),
            "is missing or empty; air-gapped installs and pack-central need the images an \
             add-on pulls"
                .to_string(),
            "list them: pack: {content: {images: [{image: registry/repo:tag}]}}",
        );
    }
}

/// The folder name is free, but `<name>-<version>` is the convention.
pub fn folder_name(folder: &str, id: &Identity, findings: &mut Findings) {
    // A leading `v` is warned about on its own (use the version without it): the folder is
    // asked to match the version as it will be, not as it is, so the advice agrees.
    let version = id.version.as_str();
    let fixed = version.strip_prefix('v').unwrap_or(version);
    let expected = format!("{}-{fixed}", id.name);
    if folder != expected && folder != format!("{}-{version}", id.name) {
        findings.add(Rule::FolderName,
            ".",
            None,
            format!("the folder is named {folder:?}, not {expected:?}; the archive's top folder keeps the name {folder:?}"),
            &format!("rename the folder to {expected} if you want them to match (optional)"),
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
