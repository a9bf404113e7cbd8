//! Chart.yaml, requirements.yaml, Chart.lock and values.yaml as Helm v3 reads them, from the
//! YAML tree [`yaml_tree`] makes. Helm unmarshals each with `sigs.k8s.io/yaml` (1.3.0,
//! `yaml.go`), which goes by way of JSON, and that road has quirks that decide verdicts:
//! 1. go-yaml v2 decodes the document into `interface{}`: done by [`crate::pack::yaml`], the one
//!    YAML reader, which also refuses what `convertToJSONableObject` and `json.Marshal` cannot
//!    convert (null keys, NaN values); the tree's scalars carry their resolved kind.
//! 2. `convertToJSONableObject` turns a number or bool into a string where the target field is
//!    a string, formatted as `strconv.FormatFloat(f, 'g', -1, 32)`: `version: 1.10` is "1.1",
//!    `version: 1.0` is "1".
//! 3. `encoding/json` decodes into the Go struct: keys match fields exactly or case-folded, in
//!    sorted key order, the last winning; a JSON type the field cannot hold fails; null leaves
//!    a string or bool as it was and clears a list; a list decodes into the old elements.
//!
//! Only the fields a verdict needs are kept ([`Metadata`]); every other field is type-checked.

#[cfg(test)]
use crate::pack::yaml::Target;
use crate::pack::yaml::{self, Kind, Node, go_float32_g as go_float32};
use std::collections::BTreeMap;

/// The first document of `text` as Helm's `yaml.Unmarshal` reads it into `target`
/// ([`yaml::first_document_into`], Go's YAML as Palette reads it): what follows it is not
/// parsed; null when there is none.
pub fn yaml_tree(text: &str, target: yaml::Target) -> Result<Node, String> {
    yaml::first_document_into(text, target)
        .map(|doc| doc.root)
        .map_err(|p| format!("yaml: line {}: {}", p.at.line, p.message))
}

/// What Helm validates of a chart's metadata (`pkg/chart/metadata.go`), as decoded.
#[derive(Debug, Default, Clone)]
pub struct Metadata {
    pub name: String,
    pub version: String,
    pub app_version: String,
    pub api_version: String,
    pub chart_type: String,
    /// Whether each maintainer entry is non-null.
    pub maintainers: Vec<bool>,
    pub dependencies: Vec<Option<Dependency>>,
}

/// A dependency entry (`pkg/chart/dependency.go`): what its validation reads.
#[derive(Debug, Default, Clone)]
pub struct Dependency {
    pub name: String,
    pub alias: String,
}

/// Decodes a Chart.yaml (or requirements.yaml, which Helm decodes into the same struct) into
/// `md`: fields it names change, the others stay.
pub fn metadata(tree: &Node, md: &mut Metadata) -> Result<(), String> {
    let json = to_json(tree, Some(Shape::Struct(METADATA)))?;
    let map = match json {
        Json::Obj(map) => map,
        Json::Null => return Ok(()),
        other => return expect(&other, "Go value of type chart.Metadata"),
    };
    for (key, value) in &map {
        let Some((field, shape)) = field(METADATA, key) else {
            continue;
        };
        let at = || format!("Go struct field Metadata.{field}");
        match field {
            "name" => string(value, &mut md.name, &at())?,
            "version" => string(value, &mut md.version, &at())?,
            "appVersion" => string(value, &mut md.app_version, &at())?,
            "apiVersion" => string(value, &mut md.api_version, &at())?,
            "type" => string(value, &mut md.chart_type, &at())?,
            "maintainers" => list(value, &mut md.maintainers, &at(), |v, present| {
                check(v, Shape::Struct(MAINTAINER), "Go struct field Maintainer")?;
                *present = true;
                Ok(())
            })?,
            "dependencies" => list(value, &mut md.dependencies, &at(), dependency)?,
            _ => check(value, shape, &at())?,
        }
    }
    Ok(())
}

/// Type-checks a Chart.lock or requirements.lock (`chart.Lock`).
pub fn lock(tree: &Node) -> Result<(), String> {
    let json = to_json(tree, Some(Shape::Struct(LOCK)))?;
    check(&json, Shape::Struct(LOCK), "Go value of type chart.Lock")
}

/// Checks values.yaml decodes into `map[string]interface{}`.
pub fn values(tree: &Node) -> Result<(), String> {
    let json = to_json(tree, Some(Shape::Map(&Shape::Any)))?;
    check(
        &json,
        Shape::Map(&Shape::Any),
        "Go value of type map[string]interface {}",
    )
}

/// A Go type the decoded JSON goes into. Pointers are transparent (`[]*Maintainer`).
#[derive(Clone, Copy)]
enum Shape {
    Str,
    Bool,
    /// `time.Time`: a JSON unmarshaler, so sigs converts nothing for it.
    Time,
    Any,
    List(&'static Shape),
    Map(&'static Shape),
    Struct(&'static [(&'static str, Shape)]),
}

const MAINTAINER: &[(&str, Shape)] = &[
    ("name", Shape::Str),
    ("email", Shape::Str),
    ("url", Shape::Str),
];
const DEPENDENCY: &[(&str, Shape)] = &[
    ("name", Shape::Str),
    ("version", Shape::Str),
    ("repository", Shape::Str),
    ("condition", Shape::Str),
    ("tags", Shape::List(&Shape::Str)),
    ("enabled", Shape::Bool),
    ("import-values", Shape::List(&Shape::Any)),
    ("alias", Shape::Str),
];
const METADATA: &[(&str, Shape)] = &[
    ("name", Shape::Str),
    ("home", Shape::Str),
    ("sources", Shape::List(&Shape::Str)),
    ("version", Shape::Str),
    ("description", Shape::Str),
    ("keywords", Shape::List(&Shape::Str)),
    ("maintainers", Shape::List(&Shape::Struct(MAINTAINER))),
    ("icon", Shape::Str),
    ("apiVersion", Shape::Str),
    ("condition", Shape::Str),
    ("tags", Shape::Str),
    ("appVersion", Shape::Str),
    ("deprecated", Shape::Bool),
    ("annotations", Shape::Map(&Shape::Str)),
    ("kubeVersion", Shape::Str),
    ("dependencies", Shape::List(&Shape::Struct(DEPENDENCY))),
    ("type", Shape::Str),
];
const LOCK: &[(&str, Shape)] = &[
    ("generated", Shape::Time),
    ("digest", Shape::Str),
    ("dependencies", Shape::List(&Shape::Struct(DEPENDENCY))),
];

/// The field a JSON key decodes into: an exact match, else the first case-folded one (what
/// both `encoding/json` and sigs' `convertToJSONableObject` do).
fn field(fields: &'static [(&'static str, Shape)], key: &str) -> Option<(&'static str, Shape)> {
    let fold = |a: &str, b: &str| {
        a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
    };
    fields
        .iter()
        .find(|(name, _)| *name == key)
        .or_else(|| fields.iter().find(|(name, _)| fold(name, key)))
        .copied()
}

/// A value as go-yaml v2 decodes it into `interface{}` (keys already JSON's strings).
#[derive(Debug, Clone, PartialEq)]
enum Go {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Go>),
    Map(Vec<(String, Go)>),
}

/// The JSON sigs marshals: object keys sorted, as `json.Marshal` writes a map.
#[derive(Debug)]
enum Json {
    Null,
    Bool,
    Number,
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

fn to_json(tree: &Node, target: Option<Shape>) -> Result<Json, String> {
    jsonable(decoded(tree), target).map_err(|e| format!("error converting YAML to JSON: {e}"))
}

/// The reader's tree as the Go values it stands for.
fn decoded(node: &Node) -> Go {
    match node {
        Node::Null => Go::Null,
        Node::Scalar(s) => match s.kind {
            Kind::Str => Go::Str(s.text.clone()),
            Kind::Bool => Go::Bool(s.as_bool().unwrap_or(false)),
            Kind::Int | Kind::Uint => s.as_int().map_or(Go::Str(s.text.clone()), Go::Int),
            Kind::Float => Go::Float(s.as_float().unwrap_or(0.0)),
        },
        Node::Seq(items) => Go::Seq(items.iter().map(decoded).collect()),
        Node::Map(map) => Go::Map(map.iter().map(|(k, v)| (k.clone(), decoded(v))).collect()),
    }
}

/// sigs' `convertToJSONableObject` then `json.Marshal`: keys become strings, a number or bool
/// becomes a string where `target` is one, and NaN or infinity left as a number fails.
fn jsonable(go: Go, target: Option<Shape>) -> Result<Json, String> {
    let target = match target {
        Some(Shape::Time) => None,
        t => t,
    };
    match go {
        Go::Map(entries) => {
            let mut obj = BTreeMap::new();
            for (key, value) in entries {
                let inner = match target {
                    Some(Shape::Struct(fields)) => field(fields, &key).map(|(_, s)| s),
                    Some(Shape::Map(elem)) => Some(*elem),
                    _ => None,
                };
                obj.insert(key, jsonable(value, inner)?);
            }
            Ok(Json::Obj(obj))
        }
        Go::Seq(items) => {
            let elem = match target {
                Some(Shape::List(elem)) => Some(*elem),
                _ => None,
            };
            items
                .into_iter()
                .map(|item| jsonable(item, elem))
                .collect::<Result<_, _>>()
                .map(Json::Arr)
        }
        Go::Str(s) => Ok(Json::Str(s)),
        Go::Null => Ok(Json::Null),
        scalar if matches!(target, Some(Shape::Str)) => Ok(Json::Str(match scalar {
            Go::Bool(b) => b.to_string(),
            Go::Int(i) => i.to_string(),
            Go::Float(f) => go_float32(f),
            _ => unreachable!("strings, nulls and collections are handled above"),
        })),
        Go::Float(f) if !f.is_finite() => Err(format!(
            "json: unsupported value: {}",
            go_float32(f).trim_start_matches('+')
        )),
        Go::Bool(_) => Ok(Json::Bool),
        _ => Ok(Json::Number),
    }
}

/// `encoding/json`'s type check of `value` against `shape`, for a field packpub does not keep.
fn check(value: &Json, shape: Shape, at: &str) -> Result<(), String> {
    match (shape, value) {
        (_, Json::Null)
        | (Shape::Any, _)
        | (Shape::Str, Json::Str(_))
        | (Shape::Bool, Json::Bool) => Ok(()),
        (Shape::Time, Json::Str(s)) if rfc3339(s) => Ok(()),
        (Shape::Time, _) => Err(format!(
            "parsing time {}: not an RFC 3339 time (Time.UnmarshalJSON)",
            crate::output::escape(&format!("{value:?}"))
        )),
        (Shape::List(elem), Json::Arr(items)) => {
            items.iter().try_for_each(|item| check(item, *elem, at))
        }
        (Shape::Map(elem), Json::Obj(map)) => map.values().try_for_each(|v| check(v, *elem, at)),
        (Shape::Struct(fields), Json::Obj(map)) => map.iter().try_for_each(|(key, v)| {
            field(fields, key).map_or(Ok(()), |(name, shape)| {
                check(v, shape, &format!("{at}.{name}"))
            })
        }),
        _ => expect(value, at),
    }
}

/// The error `encoding/json` gives for `value` where it cannot go.
fn expect<T>(value: &Json, at: &str) -> Result<T, String> {
    let kind = match value {
        Json::Null => "null",
        Json::Bool => "bool",
        Json::Number => "number",
        Json::Str(_) => "string",
        Json::Arr(_) => "array",
        Json::Obj(_) => "object",
    };
    Err(format!(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {kind} into {at}"
    ))
}

fn string(value: &Json, into: &mut String, at: &str) -> Result<(), String> {
    match value {
        Json::Str(s) => *into = s.clone(),
        Json::Null => {}
        _ => return expect(value, at),
    }
    Ok(())
}

/// A list of pointers: null clears it; each element decodes into the old one at its place
/// (`encoding/json` reuses a slice's elements), a null element is a nil pointer: `T`'s default.
fn list<T: Default + Clone>(
    value: &Json,
    into: &mut Vec<T>,
    at: &str,
    element: impl Fn(&Json, &mut T) -> Result<(), String>,
) -> Result<(), String> {
    let Json::Arr(items) = value else {
        if matches!(value, Json::Null) {
            into.clear();
            return Ok(());
        }
        return expect(value, at);
    };
    let old = std::mem::take(into);
    for (i, item) in items.iter().enumerate() {
        let mut slot = old.get(i).cloned().unwrap_or_default();
        if matches!(item, Json::Null) {
            slot = T::default();
        } else {
            element(item, &mut slot)?;
        }
        into.push(slot);
    }
    Ok(())
}

fn dependency(value: &Json, slot: &mut Option<Dependency>) -> Result<(), String> {
    let Json::Obj(map) = value else {
        return expect(value, "Go struct field Metadata.dependencies");
    };
    let dep = slot.get_or_insert_default();
    for (key, value) in map {
        let Some((name, shape)) = field(DEPENDENCY, key) else {
            continue;
        };
        let at = format!("Go struct field Dependency.{name}");
        match name {
            "name" => string(value, &mut dep.name, &at)?,
            "alias" => string(value, &mut dep.alias, &at)?,
            _ => check(value, shape, &at)?,
        }
    }
    Ok(())
}

/// `time.Time.UnmarshalJSON` (Go 1.20+, `parseStrictRFC3339`): `2006-01-02T15:04:05Z07:00`,
/// an optional `.fraction`, a real date and time.
fn rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let d = b.get(r)?;
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| d.iter().fold(0, |n, c| n * 10 + u32::from(c - b'0')))
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let (Some(year), Some(month), Some(day), Some(hour), Some(min), Some(sec)) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return false;
    };
    if !(at(4, b'-') && at(7, b'-') && at(10, b'T') && at(13, b':') && at(16, b':')) {
        return false;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month)
        || day < 1
        || day > days[month as usize - 1]
        || hour > 23
        || min > 59
        || sec > 59
    {
        return false;
    }
    let mut i = 19;
    if at(i, b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            i + 6 == b.len()
                && at(i + 3, b':')
                && num(i + 1..i + 3).is_some_and(|h| h < 24)
                && num(i + 4..i + 6).is_some_and(|m| m < 60)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(yaml: &str) -> Result<Metadata, String> {
        let mut md = Metadata::default();
        metadata(&yaml_tree(yaml, Target::Struct)?, &mut md).map(|()| md)
    }

    #[test]
    fn floats_format_as_go_formats_a_float32() {
        for (f, s) in [
            (1.0, "1"),
            (1.1, "1.1"),
            (1.10, "1.1"),
            (0.1, "0.1"),
            (1234567.0, "1.234567e+06"),
            (123456.0, "123456"),
            (1e21, "1e+21"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (1.23456789, "1.2345679"),
        ] {
            assert_eq!(go_float32(f), s, "{f}");
        }
    }

    #[test]
    fn string_fields_take_numbers_and_bools_as_sigs_converts_them() {
        let m = md("name: y\nversion: 1.10\nappVersion: 2\n").unwrap();
        assert_eq!(
            (m.name.as_str(), m.version.as_str(), m.app_version.as_str()),
            ("true", "1.1", "2")
        );
        assert_eq!(md("Name: a\nname: b\nversion: 1.0").unwrap().name, "b");
        for bad in [
            "name: {a: 1}",
            "keywords: one",
            "deprecated: \"yes\"",
            "maintainers: [x]",
            "annotations: [x]",
            "x: .nan",
            "~: x",
            "version: !!int abc",
            "dependencies: [{tags: a}]",
            "[a]",
        ] {
            assert!(md(bad).is_err(), "{bad}");
        }
        let m = md("maintainers: [~, {name: a}]\ndependencies: [{name: a, alias: b}, ~]").unwrap();
        assert_eq!(m.maintainers, [false, true]);
        assert_eq!(m.dependencies[0].as_ref().unwrap().alias, "b");
        assert!(m.dependencies[1].is_none());
        assert!(md("x: {a: .nan}\nannotations: {a: .inf}").is_err());
        assert_eq!(md("annotations: {a: .inf}").map(|_| ()), Ok(()));
    }

    #[test]
    fn requirements_decode_into_the_chart_yaml_field_by_field() {
        let tree = |y: &str| yaml_tree(y, Target::Struct).unwrap();
        let mut m = Metadata::default();
        metadata(
            &tree("name: a\ndependencies: [{name: x, alias: w}]"),
            &mut m,
        )
        .unwrap();
        metadata(&tree("name: ~\ndependencies: [{name: z}]"), &mut m).unwrap();
        assert_eq!(m.name, "a");
        let dep = m.dependencies[0].as_ref().unwrap();
        assert_eq!((dep.name.as_str(), dep.alias.as_str()), ("z", "w"));
    }

    #[test]
    fn locks_and_values_are_type_checked() {
        let tree = |y: &str| yaml_tree(y, Target::Struct).unwrap();
        assert!(lock(&tree("generated: \"2019-01-02T03:04:05.678Z\"\ndigest: x")).is_ok());
        assert!(lock(&tree("generated: 2019-01-02T03:04:05+01:00")).is_ok());
        assert!(lock(&tree("generated: 2019-01-02")).is_err());
        assert!(lock(&tree("generated: 2019-02-30T00:00:00Z")).is_err());
        assert!(lock(&tree("dependencies: x")).is_err());
        assert!(values(&tree("a: 1\nb: [x, {c: d}]")).is_ok());
        assert!(values(&tree("")).is_ok());
        assert!(values(&tree("just a string")).is_err());
        assert!(values(&tree("- a")).is_err());
        assert!(values(&tree("a: .nan")).is_err());
        assert!(values(&tree("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2")).is_ok());
        assert!(yaml_tree("a:\n  <<: 1", Target::Struct).is_err());
    }

    #[test]
    fn yaml_trees_are_the_first_document_as_go_reads_it() {
        let tree = |text| yaml_tree(text, Target::Interface);
        let tree_of = tree("a: &x [1, '1', !!str 2]\nb: *x\n").unwrap();
        assert_eq!(tree_of.get("a"), tree_of.get("b"));
        assert!(tree("a: [").unwrap_err().starts_with("yaml: line 2:"));
        // go-yaml's Unmarshal reads the first document only.
        assert_eq!(tree("a: 1\n---\nb: [").unwrap()["a"].as_str(), Some("1"));
        assert!(tree("").unwrap().is_null());
    }
}
