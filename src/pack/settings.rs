//! `.packpub.yaml`: a pack folder's own packpub settings, kept beside pack.json and never packed
//! (the walk leaves it out of the archive; an archive given as input has none). It holds one
//! key, `allow`, in the shape hadolint's `.hadolint.yaml` users know: rule ids allowed
//! everywhere in the pack, or entries `{rule, files, reason}` that allow a rule only in some
//! files (paths relative to the pack folder, in gitignore syntax) and say why. The file is read
//! as the walk reads any file (no link it did not resolve, at most 64 KiB) and as bounded YAML;
//! every problem is a PP033 finding naming the line and the fix.

use super::allow::{Grant, allowable};
use super::allowance::{By, SETTINGS_FILE};
use super::findings::Findings;
use super::rules::Rule;
use super::walk::{Look, Walk};
use super::yaml::{self, Event};
use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// Settings, not data: a few lines, with room for a long list of files.
const SETTINGS_LIMIT: u64 = 64 << 10;

/// Reads the pack's settings through the walk: the rules they allow, every problem reported.
/// An entry with a problem allows nothing (half read, it could allow more than was meant); the
/// other entries still apply.
pub(super) fn read(walk: &mut Walk, findings: &mut Findings) -> Vec<Grant> {
    let text = match walk.settings_file(findings) {
        Look::File(entry) => entry.read_text(SETTINGS_LIMIT, findings),
        Look::Dir(_) => {
            findings.add(
                Rule::Settings,
                SETTINGS_FILE,
                None,
                "is a folder, not packpub's settings file".into(),
                "remove or rename the folder",
            );
            None
        }
        Look::Missing | Look::Excluded | Look::Refused => None,
    };
    let Some(text) = text else {
        return Vec::new();
    };
    let documents = match yaml_documents(&text) {
        Ok(documents) => documents,
        Err(problem) => {
            super::yaml_findings::yaml_finding(
                Rule::Settings,
                SETTINGS_FILE,
                &problem,
                0,
                findings,
            );
            return Vec::new();
        }
    };
    let mut reader = Reader {
        findings,
        grants: Vec::new(),
    };
    reader.file(&documents);
    reader.grants
}

/// A node of the settings file, and where it starts (line and column, 1-based).
struct Node {
    at: (u64, u64),
    value: Value,
}

enum Value {
    Null,
    Scalar(String),
    List(Vec<Node>),
    Map(Vec<(Node, Node)>),
    Alias,
}

impl Node {
    fn scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(text) => Some(text),
            _ => None,
        }
    }
}

/// Every document of `text` as a [`Node`] tree with positions, once the project's YAML reader
/// has passed it: the one function here that knows the YAML reader.
fn yaml_documents(text: &str) -> Result<Vec<Node>, yaml::Problem> {
    yaml::first_document(text)?;
    let mut documents = Vec::new();
    // Open collections, each with the key of a mapping that waits for its value.
    let mut open: Vec<(Node, Option<Node>)> = Vec::new();
    for (event, mark) in yaml::events(text) {
        let at = (mark.line, mark.column);
        let node = |value| Node { at, value };
        let done = match event {
            Event::Scalar { null: true, .. } => Some(node(Value::Null)),
            Event::Scalar { text, .. } => Some(node(Value::Scalar(text))),
            Event::Alias => Some(node(Value::Alias)),
            Event::SequenceStart => {
                open.push((node(Value::List(Vec::new())), None));
                None
            }
            Event::MappingStart => {
                open.push((node(Value::Map(Vec::new())), None));
                None
            }
            Event::CollectionEnd => open.pop().map(|(node, _)| node),
            Event::DocumentEnd => None,
        };
        let Some(done) = done else { continue };
        match open.last_mut() {
            None => documents.push(done),
            Some((
                Node {
                    value: Value::List(items),
                    ..
                },
                _,
            )) => items.push(done),
            Some((
                Node {
                    value: Value::Map(pairs),
                    ..
                },
                key,
            )) => match key.take() {
                None => *key = Some(done),
                Some(key) => pairs.push((key, done)),
            },
            Some(_) => {}
        }
    }
    Ok(documents)
}

/// Reads the settings' entries into grants, reporting what is wrong.
struct Reader<'a> {
    findings: &'a mut Findings,
    grants: Vec<Grant>,
}

impl Reader<'_> {
    fn problem(&mut self, node: &Node, field: &str, message: String, fix: &str) {
        let field = (!field.is_empty()).then_some(field);
        let at = Some(node.at);
        self.findings
            .add_at(Rule::Settings, SETTINGS_FILE, at, field, message, fix);
    }

    fn file(&mut self, documents: &[Node]) {
        if let Some(second) = documents.get(1) {
            self.problem(
                second,
                "",
                "holds a second YAML document; packpub reads one".into(),
                "keep one document: remove the `---` line and merge what follows it into the first",
            );
        }
        let Some(root) = documents.first() else {
            return;
        };
        let pairs = match &root.value {
            Value::Null => return,
            Value::Map(pairs) => pairs,
            _ => {
                return self.problem(
                    root,
                    "",
                    "must be a mapping with the key `allow`".into(),
                    "write `allow:` and, under it, one `- PP0xx` line per rule",
                );
            }
        };
        for (key, value) in pairs {
            match key.scalar() {
                Some("allow") => self.allow(value),
                other => self.problem(
                    key,
                    other.unwrap_or_default(),
                    "is not a setting: the only one is `allow`".into(),
                    "correct the key to `allow`, or remove it",
                ),
            }
        }
    }

    fn allow(&mut self, list: &Node) {
        let items = match &list.value {
            Value::Null => return,
            Value::List(items) => items,
            _ => {
                return self.problem(
                    list,
                    "allow",
                    "must be a list of rule ids or {rule, files, reason} entries".into(),
                    "write one `- PP0xx` line per rule under `allow:`",
                );
            }
        };
        for (i, item) in items.iter().enumerate() {
            let problems = self.findings.found();
            let grant = self.entry(item, &format!("allow[{i}]"));
            if let Some(grant) = grant.filter(|_| self.findings.found() == problems) {
                self.grants.push(grant);
            }
        }
    }

    /// One entry of `allow`, when it names an allowable rule.
    fn entry(&mut self, item: &Node, field: &str) -> Option<Grant> {
        let pairs = match &item.value {
            Value::Scalar(id) => {
                return self.rule(item, field, id).map(|rule| Grant {
                    rule,
                    by: By::Settings,
                    files: None,
                    reason: None,
                });
            }
            Value::Map(pairs) => pairs,
            _ => {
                self.problem(
                    item,
                    field,
                    "must be a rule id, or a mapping with rule, files and reason".into(),
                    "write `- PP0xx`, or `- rule: PP0xx` with `files:` and `reason:` under it",
                );
                return None;
            }
        };
        let (mut rule, mut files, mut reason) = (None, None, None);
        for (key, value) in pairs {
            let name = key.scalar().unwrap_or_default();
            let at = format!("{field}.{name}");
            match (name, value.scalar()) {
                ("rule", Some(id)) => rule = self.rule(value, &at, id),
                ("files", _) => files = self.files(value, &at),
                ("reason", Some(text)) => reason = Some(text.to_string()),
                ("reason", None) if matches!(value.value, Value::Null) => {}
                ("rule" | "reason", None) => self.problem(
                    value,
                    &at,
                    "must be text".into(),
                    "write it on one line after the colon",
                ),
                _ => self.problem(
                    key,
                    &at,
                    "is not an entry key: entries have rule, files and reason".into(),
                    "correct the key, or remove it",
                ),
            }
        }
        if !pairs.iter().any(|(key, _)| key.scalar() == Some("rule")) {
            self.problem(
                item,
                field,
                "names no rule".into(),
                "add `rule: PP0xx` to the entry",
            );
        }
        Some(Grant {
            rule: rule?,
            by: By::Settings,
            files,
            reason,
        })
    }

    /// The rule `id` names, when it can be allowed.
    fn rule(&mut self, node: &Node, field: &str, id: &str) -> Option<Rule> {
        allowable(id)
            .map_err(|why| {
                let fix = if Rule::from_id(id).is_some() {
                    "remove the entry, and fix what the rule reports"
                } else {
                    "use an id of the rules table in docs/rules.md, such as PP025"
                };
                self.problem(node, field, why, fix)
            })
            .ok()
    }

    /// `files`: one pattern, or a list of them.
    fn files(&mut self, node: &Node, field: &str) -> Option<Gitignore> {
        let patterns: Vec<(String, &Node)> = match &node.value {
            Value::Scalar(_) => vec![(field.to_string(), node)],
            Value::List(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| (format!("{field}[{i}]"), item))
                .collect(),
            _ => Vec::new(),
        };
        if patterns.is_empty() {
            self.problem(
                node,
                field,
                "names no file, so the entry would allow nothing".into(),
                "list paths relative to the pack folder (or gitignore patterns), or remove `files` to allow the rule everywhere",
            );
            return None;
        }
        let mut builder = GitignoreBuilder::new(".");
        for (at, pattern) in patterns {
            let added = match pattern.scalar() {
                Some(text) => builder
                    .add_line(None, text)
                    .map(drop)
                    .map_err(|err| format!("is not a gitignore pattern: {err}")),
                None => Err("must be a path or a pattern".to_string()),
            };
            if let Err(why) = added {
                self.problem(
                    pattern,
                    &at,
                    why,
                    "write a path relative to the pack folder",
                );
            }
        }
        builder
            .build()
            .map_err(|err| {
                let fix = "correct the patterns";
                self.problem(node, field, format!("cannot be read: {err}"), fix)
            })
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grant as (rule id, whether scoped to files, reason).
    type Allows = Vec<(String, bool, Option<String>)>;

    /// What `text` allows, and its problems as (line, field).
    fn read_text(text: &str) -> (Allows, Vec<(u64, String)>) {
        let mut findings = Findings::default();
        let documents = match yaml_documents(text) {
            Ok(documents) => documents,
            Err(problem) => return (Vec::new(), vec![(problem.at.line, problem.message)]),
        };
        let mut reader = Reader {
            findings: &mut findings,
            grants: Vec::new(),
        };
        reader.file(&documents);
        let grants = reader
            .grants
            .iter()
            .map(|g| (g.rule.id().to_string(), g.files.is_some(), g.reason.clone()))
            .collect();
        let problems = findings
            .list
            .iter()
            .map(|f| {
                assert_eq!(f.rule, "PP033");
                (f.line.unwrap(), f.field.clone().unwrap_or_default())
            })
            .collect();
        (grants, problems)
    }

    #[test]
    fn ids_and_scoped_entries_are_read() {
        let (grants, problems) = read_text(
            "# settings\nallow:\n  - PP026\n  - pp031\n  - rule: PP025\n    files: [manifests/crds.yaml, \"*.tpl\"]\n    reason: \"CRDs wrap\"\n  - rule: PP029\n    files: charts/old.tgz\n",
        );
        assert_eq!(problems, []);
        assert_eq!(
            grants,
            [
                ("PP026".into(), false, None),
                ("PP031".into(), false, None),
                ("PP025".into(), true, Some("CRDs wrap".into())),
                ("PP029".into(), true, None),
            ]
        );
        for empty in ["", "# nothing\n", "---\n", "allow:\n", "allow: []\n"] {
            assert_eq!(read_text(empty), (vec![], vec![]), "{empty:?}");
        }
    }

    #[test]
    fn problems_name_their_line_and_allow_nothing() {
        let (grants, problems) = read_text(
            "alow:\n  - PP026\nallow:\n  - PP012\n  - PP099\n  - rule: PP025\n    file: crds.yaml\n  - files: [a]\n  - [PP026]\n  - rule: PP029\n    files: []\n  - PP031\n",
        );
        assert_eq!(grants, [("PP031".into(), false, None)]);
        assert_eq!(
            problems,
            [
                (1, "alow".into()),
                (4, "allow[0]".into()),
                (5, "allow[1]".into()),
                (7, "allow[2].file".into()),
                (8, "allow[3]".into()),
                (9, "allow[4]".into()),
                (11, "allow[5].files".into()),
            ]
        );
        assert_eq!(read_text("- PP026\n").1, [(1, String::new())]);
        assert_eq!(read_text("allow: PP026\n").1, [(1, "allow".into())]);
        assert_eq!(
            read_text("allow: [PP026]\n---\nx: 1\n").1,
            [(3, String::new())]
        );
        let (grants, problems) = read_text("allow: [PP026\n");
        assert!(grants.is_empty());
        assert!(
            problems[0].1.contains("did not find expected"),
            "{problems:?}"
        );
    }
}
