//! pack.json, the pack's identity and manifest: its fields checked as Palette reads them (name,
//! version, layer, cloudTypes, constraints), the identity taken from it when usable, and the
//! folder's name checked against it. Every rule reports the field and the fix.

use super::findings::Findings;
use super::model::{self, Identity, PACK_JSON, PACK_JSON_LIMIT, PackName, PackVersion};
use super::rules::Rule;
use super::walk::{IGNORE_FILE, Look};
use serde_json::{Map, Value};
use std::path::Path;

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

pub(super) fn kind(value: &Value) -> &'static str {
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
