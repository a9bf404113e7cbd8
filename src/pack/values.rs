//! values.yaml and the files that describe it to Palette's UI: duplicate keys, `schema.yaml`
//! (per-value constraints), `presets.yaml` (named bundles of changes) and the
//! `# spectrocloud.com/enabled-presets:` header. Formats from Spectro's docs
//! (`pack-constraints.md`) and pack-central's packs; pack-central's CI checks none of them, so
//! every finding here is a warning unless Palette would refuse the file.
//!
//! Every file is read by [`super::yaml`], Go's YAML as Palette reads it, whose trees are bounded.

use super::findings::Findings;
use super::rules::Rule;
use super::walk::Entry;
use super::yaml::Node;
use std::collections::HashSet;

pub const SCHEMA_YAML: &str = "schema.yaml";
pub const PRESETS_YAML: &str = "presets.yaml";
const PRESETS_HEADER: &str = "# spectrocloud.com/enabled-presets:";
/// The `format` kinds Palette documents for schema.yaml.
const FORMATS: &[&str] = &[
    "string", "number", "boolean", "password", "list", "ipv4", "version",
];
/// The functions a schema.yaml template may use.
const SCHEMA_FUNCTIONS: &[&str] = &["required", "readonly", "format", "hints"];

/// Checks, when the pack has them, schema.yaml and presets.yaml against values.yaml (`raw` as
/// written, `values` its tree), and the enabled-presets header.
pub fn check(
    raw: &str,
    values: &Node,
    entries: &[Entry],
    read: &dyn Fn(&Entry, &mut Findings) -> Option<String>,
    findings: &mut Findings,
) {
    let file = |name: &str| super::walk::file(entries, name);
    if let Some(entry) = file(SCHEMA_YAML)
        && let Some(doc) = load(entry, read, findings)
    {
        schema(&doc, values, findings);
    }
    let presets = match file(PRESETS_YAML) {
        Some(entry) => load(entry, read, findings).map(|doc| presets(&doc, values, findings)),
        None => Some(Vec::new()),
    };
    if let Some(presets) = presets {
        enabled_presets(
            raw,
            &presets
                .iter()
                .map(|(g, n)| (g.as_str(), n.as_str()))
                .collect(),
            findings,
        );
    }
}

/// A describing file as a tree, or its problem reported.
fn load(
    entry: &Entry,
    read: &dyn Fn(&Entry, &mut Findings) -> Option<String>,
    findings: &mut Findings,
) -> Option<Node> {
    let text = read(entry, findings)?;
    // schema.yaml's values are templates Palette reads as such; elsewhere, actions are
    // rendered away as in values.yaml.
    let text = if entry.path == SCHEMA_YAML {
        std::borrow::Cow::Borrowed(text.as_str())
    } else {
        super::untemplated::untemplated(&text)
    };
    match super::yaml::first_document(&text) {
        Ok(read) => Some(read.root),
        Err(problem) => {
            super::yaml_findings::yaml_finding(
                rule_of(&entry.path),
                &entry.path,
                &problem,
                0,
                findings,
            );
            None
        }
    }
}

fn rule_of(file: &str) -> Rule {
    if file == SCHEMA_YAML {
        Rule::Schema
    } else {
        Rule::Presets
    }
}

/// The paths under `pack` (values.yaml's `charts.<name>`, at `at`) that the chart's default
/// values do not have: below a key whose default is an empty `{}` or `[]` anything goes (the
/// chart takes free-form values there), `cpu` and `memory` are taken under any `limits`, and
/// sequences are not looked into.
pub(super) fn unknown_keys(pack: &Node, chart: &Node, at: &str, unknown: &mut Vec<String>) {
    let (Node::Map(pack), Node::Map(chart)) = (pack, chart) else {
        return;
    };
    let under_limits = at.rsplit('.').next() == Some("limits");
    for (name, value) in pack {
        let path = format!("{at}.{name}");
        match chart.get(name) {
            None if under_limits && (name == "cpu" || name == "memory") => {}
            None => unknown.push(path),
            Some(Node::Map(default)) if default.is_empty() => {}
            Some(Node::Seq(default)) if default.is_empty() => {}
            Some(default) => unknown_keys(value, default, &path, unknown),
        }
    }
}

/// Whether the dotted `path` names a value in `values`.
fn has_path(values: &Node, path: &str) -> bool {
    let mut node = values;
    for part in path.split('.') {
        match node.get(part) {
            Some(next) => node = next,
            None => return false,
        }
    }
    true
}

/// schema.yaml: `<value path>: {schema: '{{ required | format "${number}" | hints "…" }}'}`.
fn schema(doc: &Node, values: &Node, findings: &mut Findings) {
    let Node::Map(entries) = doc else {
        if !doc.is_null() {
            findings.add(
                Rule::Schema,
                SCHEMA_YAML,
                None,
                "must be a mapping of value paths to their schema".into(),
                "write `charts.name.key: {schema: '{{ required }}'}` entries",
            );
        }
        return;
    };
    for (path, spec) in entries {
        if !has_path(values, path) {
            findings.add(
                Rule::Schema,
                SCHEMA_YAML,
                Some(path),
                "names a value that values.yaml does not have".into(),
                "correct the path, or add the value to values.yaml",
            );
        }
        let Some(template) = spec["schema"].as_str() else {
            findings.add(
                Rule::Schema,
                SCHEMA_YAML,
                Some(path),
                "has no `schema` string".into(),
                "set schema: '{{ required | format \"${string}\" }}'",
            );
            continue;
        };
        if let Err(why) = schema_template(template) {
            findings.add(
                Rule::Schema,
                SCHEMA_YAML,
                Some(&format!("{path}.schema")),
                why,
                &format!(
                    "use only {} with format kinds {}",
                    SCHEMA_FUNCTIONS.join(", "),
                    FORMATS.join(", ")
                ),
            );
        }
    }
}

/// Checks one `schema` template: `{{ fn [arg] | fn [arg] ... }}`.
fn schema_template(template: &str) -> Result<(), String> {
    let inner = template
        .trim()
        .strip_prefix("{{")
        .and_then(|t| t.strip_suffix("}}"))
        .ok_or_else(|| format!("{template:?} is not one {{{{ … }}}} template"))?;
    for part in inner.split('|') {
        let part = part.trim();
        let (function, argument) = part.split_once(' ').unwrap_or((part, ""));
        if !SCHEMA_FUNCTIONS.contains(&function) {
            return Err(format!(
                "uses {function:?}, which Palette's schema does not know"
            ));
        }
        if function == "format" {
            let kind = argument
                .trim()
                .trim_matches('"')
                .trim_start_matches("${")
                .trim_end_matches('}');
            let name = kind.split([':', '[', '/']).next().unwrap_or_default();
            if !FORMATS.contains(&name) {
                return Err(format!(
                    "asks for the format {name:?}, which Palette does not know"
                ));
            }
        }
    }
    Ok(())
}

/// presets.yaml: `presets: [{name, displayName, group, remove: [paths], add: "<yaml>"}]`; the
/// `group:name` pairs it defines.
fn presets(doc: &Node, values: &Node, findings: &mut Findings) -> Vec<(String, String)> {
    let mut defined = Vec::new();
    let Some(list) = doc["presets"].as_seq() else {
        findings.add(
            Rule::Presets,
            PRESETS_YAML,
            Some("presets"),
            "is missing or not a list".into(),
            "write presets: [{name, displayName, group, ...}]",
        );
        return defined;
    };
    let mut names = HashSet::new();
    for (i, preset) in list.iter().enumerate() {
        let at = format!("presets[{i}]");
        let field = |key: &str| preset[key].as_str().filter(|s| !s.is_empty());
        for key in ["name", "displayName", "group"] {
            if field(key).is_none() {
                findings.add(
                    Rule::Presets,
                    PRESETS_YAML,
                    Some(&format!("{at}.{key}")),
                    "is missing or empty".into(),
                    &format!("give every preset a {key}"),
                );
            }
        }
        if let Some(name) = field("name")
            && !names.insert(name.to_string())
        {
            findings.add(
                Rule::Presets,
                PRESETS_YAML,
                Some(&format!("{at}.name")),
                format!("{name:?} names another preset already"),
                "give every preset a name of its own",
            );
        }
        for path in preset["remove"].as_seq().unwrap_or_default() {
            if let Some(path) = path.as_str()
                && !has_path(values, path)
            {
                findings.add(
                    Rule::Presets,
                    PRESETS_YAML,
                    Some(&format!("{at}.remove")),
                    format!("removes {path:?}, which values.yaml does not have"),
                    "correct the path",
                );
            }
        }
        if let Some(add) = preset["add"].as_str()
            && let Err(problem) = super::yaml::first_document(&super::untemplated::untemplated(add))
        {
            findings.add(
                Rule::Presets,
                PRESETS_YAML,
                Some(&format!("{at}.add")),
                format!(
                    "is not valid YAML at its line {}, column {}: {}",
                    problem.at.line, problem.at.column, problem.message
                ),
                "correct the YAML the preset adds",
            );
        }
        if let (Some(group), Some(name)) = (field("group"), field("name")) {
            defined.push((group.to_string(), name.to_string()));
        }
    }
    defined
}

/// The first-line header `# spectrocloud.com/enabled-presets: Group:name,...` names presets
/// that exist, one per group at most.
fn enabled_presets(raw: &str, defined: &HashSet<(&str, &str)>, findings: &mut Findings) {
    let Some(list) = raw
        .lines()
        .next()
        .and_then(|line| line.trim().strip_prefix(PRESETS_HEADER))
    else {
        return;
    };
    let mut groups = HashSet::new();
    for pair in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (group, name) = pair.split_once(':').unwrap_or(("", pair));
        let known = defined.contains(&(group, name));
        if !known {
            findings.add_at(
                Rule::Presets,
                super::model::VALUES_YAML,
                Some((1, 1)),
                Some("enabled-presets"),
                format!("enables {pair:?}, which presets.yaml does not define"),
                "name a preset as Group:name from presets.yaml",
            );
        } else if !groups.insert(group.to_string()) {
            findings.add_at(
                Rule::Presets,
                super::model::VALUES_YAML,
                Some((1, 1)),
                Some("enabled-presets"),
                format!("enables a second preset of group {group:?} ({name})"),
                "enable one preset per group",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Node {
        crate::pack::yaml::first_document(text).unwrap().root
    }

    #[test]
    fn schema_templates_use_documented_functions_and_formats() {
        for good in [
            "{{ required }}",
            "{{ required | format \"${number}\" }}",
            "{{ readonly | hints \"read only\" }}",
            "{{ format \"${list:[a,b]}\" }}",
            "{{ format \"${version:/^1\\..*/}\" }}",
            "{{ format \"${ipv4}\" }}",
        ] {
            assert_eq!(schema_template(good), Ok(()), "{good}");
        }
        assert!(
            schema_template("{{ optional }}")
                .unwrap_err()
                .contains("optional")
        );
        assert!(
            schema_template("{{ format \"${email}\" }}")
                .unwrap_err()
                .contains("email")
        );
        assert!(schema_template("required").is_err());
    }

    #[test]
    fn unknown_chart_keys_skip_free_form_values_and_limits() {
        let chart = tree("image:\n  tag: 1\nextra: {}\nlist: []\nresources:\n  limits: {cpu: 1}\n");
        let pack = tree(
            "image:\n  tag: 2\n  tga: 3\nextra:\n  anything: 1\nlist:\n  a: 1\nresources:\n  limits:\n    memory: 1Gi\n    gpu: 1\nnew: 1\n",
        );
        let mut unknown = Vec::new();
        unknown_keys(&pack, &chart, "charts.x", &mut unknown);
        assert_eq!(
            unknown,
            [
                "charts.x.image.tga",
                "charts.x.resources.limits.gpu",
                "charts.x.new"
            ]
        );
    }

    #[test]
    fn value_paths_resolve_through_mappings() {
        let values = tree("charts:\n  x:\n    a: 1\n    a: 2\n");
        assert!(has_path(&values, "charts.x.a"));
        assert!(!has_path(&values, "charts.x.b"));
        assert!(!has_path(&values, "charts.x.a.b"));
    }
}
