//! The rules a pack must meet before it is packed or pushed (../shared/NOTES.md §2): errors
//! make a pack unpublishable, warnings flag what Palette tolerates but pack-central rejects.
//! Every rule reports the file, the field and the fix, and all of them run so that one
//! attempt shows every problem.

use super::findings::Findings;
use super::model::{self, Identity, PackName, PackVersion};
use super::walk::{Entry, IGNORE_FILE, Kind};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::path::Path;

pub const PACK_JSON: &str = "pack.json";
pub const VALUES_YAML: &str = "values.yaml";

/// Checks pack.json's fields; returns the identity when name and version are usable.
pub fn pack_json(text: &str, findings: &mut Findings) -> Option<(Identity, Map<String, Value>)> {
    let doc: Value = match serde_json::from_str(text) {
        Ok(doc) => doc,
        Err(err) => {
            findings.error(
                PACK_JSON,
                None,
                format!(
                    "is not valid JSON at line {}, column {}: {err}",
                    err.line(),
                    err.column()
                ),
                "correct the JSON syntax at that position",
            );
            return None;
        }
    };
    let Value::Object(doc) = doc else {
        findings.error(
            PACK_JSON,
            None,
            "must be a JSON object".to_string(),
            "wrap the fields in { }",
        );
        return None;
    };
    let name = required_string(&doc, "name", findings).and_then(|name| {
        PackName::parse(name)
            .map_err(|msg| findings.error(PACK_JSON, Some("name"), msg, "use a lower-case name"))
            .ok()
    });
    let version = required_string(&doc, "version", findings).and_then(|version| {
        PackVersion::parse(version)
            .map_err(|msg| findings.error(PACK_JSON, Some("version"), msg, "use a valid OCI tag"))
            .ok()
    });
    required_string(&doc, "displayName", findings);
    if let Some(layer) = required_string(&doc, "layer", findings)
        && !model::LAYERS.contains(&layer)
    {
        findings.error(
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
    Some((
        Identity {
            name: name?,
            version: version?,
        },
        doc,
    ))
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
    findings.error(
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
        findings.warn(
            PACK_JSON,
            Some("version"),
            format!("{version:?} starts with 'v'; pack-central rejects such versions"),
            &format!("use \"{rest}\""),
        );
    } else if semver::Version::parse(version).is_err() {
        findings.warn(
            PACK_JSON,
            Some("version"),
            format!("{version:?} is not semantic versioning (MAJOR.MINOR.PATCH)"),
            "use a version such as \"1.2.3\" so Palette orders versions predictably",
        );
    }
}

fn cloud_types(doc: &Map<String, Value>, findings: &mut Findings) {
    let fix = format!("use values from: {}", model::CLOUD_TYPES.join(", "));
    for field in ["cloudTypes", "cloudType"] {
        let values: Vec<&Value> = match doc.get(field) {
            None => continue,
            Some(Value::Array(items)) => items.iter().collect(),
            Some(single) => vec![single],
        };
        for value in values {
            let known = value
                .as_str()
                .is_some_and(|v| model::CLOUD_TYPES.contains(&v));
            if !known {
                findings.warn(
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
        findings.warn(
            PACK_JSON,
            Some("constraints"),
            "must be an object".to_string(),
            "use {\"dependencies\": [...]}",
        );
        return;
    };
    let mut check = |field: String, ok: bool, message: &str, fix: &str| {
        if !ok {
            findings.warn(PACK_JSON, Some(&field), message.to_string(), fix);
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
            let ok = component.get("scheduleType").is_some_and(Value::is_string);
            check(
                format!("constraints.resources[{i}].components[{j}].scheduleType"),
                ok,
                "must be a string",
                "set \"scheduleType\"",
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
    let packed: HashSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    for field in ["charts", "kubeManifests", "ansibleRoles"] {
        let Some(value) = doc.get(field) else {
            continue;
        };
        let Some(list) = value.as_array() else {
            findings.error(
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
                findings.error(
                    PACK_JSON,
                    Some(&at),
                    format!("must be a path string, found {}", kind(item)),
                    "quote the path",
                );
                continue;
            };
            let normalized = normalize(path);
            match normalized {
                None => findings.error(
                    PACK_JSON,
                    Some(&at),
                    format!("{path:?} points outside the pack folder"),
                    "use a path relative to the pack folder, without '..' or a leading '/'",
                ),
                Some(rel) if packed.contains(rel.as_str()) => {}
                Some(rel) if root.join(&rel).exists() => findings.error(
                    PACK_JSON,
                    Some(&at),
                    format!("{path:?} exists but is excluded from the archive"),
                    &format!("remove its pattern from {IGNORE_FILE}"),
                ),
                Some(_) => findings.error(
                    PACK_JSON,
                    Some(&at),
                    format!("{path:?} does not exist in the pack folder"),
                    "add the file or correct the path",
                ),
            }
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

/// `values.yaml` must exist and parse; `logo.png` and `README.md` are expected.
pub fn standard_files(root: &Path, entries: &[Entry], findings: &mut Findings) {
    let has_file = |name: &str| {
        entries
            .iter()
            .any(|e| e.path == name && matches!(e.kind, Kind::File { .. }))
    };
    if !has_file(VALUES_YAML) {
        findings.error(
            VALUES_YAML,
            None,
            "is missing (required, may be empty)".to_string(),
            "create values.yaml (an empty file is fine)",
        );
    } else {
        match std::fs::read_to_string(root.join(VALUES_YAML)) {
            Ok(text) => {
                if let Err(err) = yaml_rust2::YamlLoader::load_from_str(&text) {
                    let mark = err.marker();
                    findings.error(
                        VALUES_YAML,
                        None,
                        format!(
                            "is not valid YAML at line {}, column {}: {}",
                            mark.line(),
                            mark.col() + 1,
                            err.info()
                        ),
                        "correct the YAML syntax at that position",
                    );
                }
            }
            Err(err) => findings.error(
                VALUES_YAML,
                None,
                format!("cannot be read as UTF-8 text: {err}"),
                "save it as UTF-8",
            ),
        }
    }
    for (name, why) in [
        ("logo.png", "Palette shows it in the pack list"),
        ("README.md", "Palette shows it as the pack's documentation"),
    ] {
        if !has_file(name) {
            findings.warn(
                name,
                None,
                format!("is missing; {why}"),
                &format!("add {name} (pack-central requires it)"),
            );
        }
    }
}

/// The folder name is free, but `<name>-<version>` is the convention.
pub fn folder_name(folder: &str, id: &Identity, findings: &mut Findings) {
    let expected = format!("{}-{}", id.name, id.version);
    if folder != expected {
        findings.warn(
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
