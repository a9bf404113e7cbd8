//! YAML, read as Palette's Go readers read it: the one YAML reader of packpub, shared by every
//! rule (values.yaml, schema.yaml, presets.yaml, kubeManifests, charts' Chart.yaml and values,
//! the pack's `.packpub.yaml`).
//!
//! Palette, Helm and kubectl read YAML with go-yaml v2 behind sigs.k8s.io/yaml (`YAMLToJSON`,
//! `Unmarshal`). go-yaml is a line-by-line port of libyaml, so the syntax is judged by libyaml
//! itself (unsafe-libyaml's translation of libyaml 0.2.5, vendored as `vendor/libyaml-goyaml`
//! with the scanner and reader differences go-yaml has), and what go-yaml and sigs.k8s.io/yaml
//! add on top of the syntax is ported here, each rule citing its source (gopkg.in/yaml.v2 2.4.0
//! and sigs.k8s.io/yaml 1.3.0, as Debian ships them):
//! - only the first document is read (`yaml.Unmarshal` parses one document);
//! - `%YAML` other than 1.1 is refused (parserc.go; libyaml 0.2.5 also takes 1.2);
//! - nesting deeper than 10,000 levels is refused (scannerc.go `max_flow_level`, `max_indents`);
//! - an alias must name an anchor defined before it and not around it (yaml.go, decode.go);
//! - "excessive aliasing" by the same ratio of alias-driven to all decoded nodes (decode.go);
//! - explicit tags must fit their value (resolve.go), `!!binary` must be base64;
//! - merge keys (`<<`) take a mapping or a sequence of mappings (decode.go `merge`);
//! - a key cannot be a mapping or a sequence (decode.go), null or an unsigned 64-bit number
//!   (sigs.k8s.io/yaml `convertToJSONableObject`), and no value can be NaN or infinite
//!   (`json.Marshal` in `YAMLToJSON`).
//!
//! The pass streams parser events and never expands an alias to judge it, so time is linear in
//! the text; the tree it also builds for the rules is bounded in depth and nodes.

use indexmap::IndexMap;
use std::collections::HashMap;

/// go-yaml's `max_flow_level` and `max_indents`: deeper nesting is refused by Palette's reader.
pub const MAX_DEPTH: usize = 10_000;
/// The tree handed to the rules keeps this many levels; deeper nodes stand as null. Rules walk
/// the tree recursively, on threads with small stacks; no values file nests this deep.
const TREE_DEPTH: usize = 256;
/// Nodes the tree holds at most (aliases counted as expanded); past it, further nodes are left
/// out. Values files have a few thousand; this bounds the tree's memory to tens of MiB.
const TREE_NODES: u64 = 400_000;

/// Where in the text, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub line: u64,
    pub column: u64,
}

/// Why Palette's reader refuses a text, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub at: Mark,
}

/// How a plain scalar resolves under YAML 1.1 as go-yaml v2 reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Bool,
    Int,
    /// An integer above `i64::MAX`: a value, never a key (sigs.k8s.io/yaml has no key case for it).
    Uint,
    Float,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The text as written (after YAML's own escapes and folding).
    pub text: String,
    pub kind: Kind,
}

impl Scalar {
    /// The value go-yaml decodes a bool scalar to.
    pub fn as_bool(&self) -> Option<bool> {
        (self.kind == Kind::Bool).then(|| resolve_bool(&self.text).unwrap_or(false))
    }

    /// The value go-yaml decodes an int scalar to (`Int` or `Uint`).
    pub fn as_int(&self) -> Option<i128> {
        match parse_int(&self.text.replace('_', ""))? {
            Int::Signed(v) => Some(v.into()),
            Int::Unsigned(v) => Some(v.into()),
        }
    }

    /// The value go-yaml decodes a float scalar to (`.nan` and `.inf` included).
    pub fn as_float(&self) -> Option<f64> {
        if self.kind != Kind::Float {
            return None;
        }
        Some(match implicit(&self.text, None).1 {
            Resolved::Float(f) => f,
            Resolved::Int(Int::Signed(v)) => v as f64,
            Resolved::Int(Int::Unsigned(v)) => v as f64,
            _ => 0.0,
        })
    }

    /// The string sigs.k8s.io/yaml hands a Go string field for this scalar: numbers and bools
    /// are formatted from their value (`version: 1.10` reaches Helm as "1.1").
    pub fn as_go_string(&self) -> String {
        match self.kind {
            Kind::Str => self.text.clone(),
            Kind::Bool => resolve_bool(&self.text).unwrap_or(false).to_string(),
            Kind::Int | Kind::Uint => match parse_int(&self.text.replace('_', "")) {
                Some(Int::Signed(v)) => v.to_string(),
                Some(Int::Unsigned(v)) => v.to_string(),
                None => self.text.clone(),
            },
            Kind::Float => go_float32_g(self.as_float().unwrap_or(0.0)),
        }
    }
}

/// A document as the rules see it: mappings with string keys (as sigs.k8s.io/yaml makes them),
/// aliases and merge keys expanded, scalars kept as written with their kind.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Node {
    #[default]
    Null,
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(IndexMap<String, Node>),
}

static NULL: Node = Node::Null;

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(map) => map.get(key),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(s) => Some(&s.text),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&IndexMap<String, Node>> {
        match self {
            Node::Map(map) => Some(map),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match self {
            Node::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Node::Null)
    }
}

impl std::ops::Index<&str> for Node {
    type Output = Node;
    fn index(&self, key: &str) -> &Node {
        self.get(key).unwrap_or(&NULL)
    }
}

/// What a node is, for messages: "a string", "a list", ...
pub fn shape(node: &Node) -> &'static str {
    match node {
        Node::Null => "empty",
        Node::Scalar(s) => match s.kind {
            Kind::Str => "a string",
            Kind::Bool => "a boolean",
            Kind::Int | Kind::Uint | Kind::Float => "a number",
        },
        Node::Seq(_) => "a list",
        Node::Map(_) => "a mapping",
    }
}

/// A key written twice in one mapping: sigs.k8s.io/yaml keeps the last, yaml.v3 refuses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The dotted path of the key.
    pub path: String,
    pub first_line: u64,
    pub at: Mark,
}

/// The first document of a text, read.
#[derive(Debug, Default)]
pub struct Document {
    pub root: Node,
    pub duplicates: Vec<Duplicate>,
    /// Duplicate keys past [`MAX_DUPLICATES`]: counted, not kept.
    pub more_duplicates: u64,
    /// How deep collections nest (a root mapping alone is 1): Go's JSON decoder, through which
    /// Helm and kubectl pass what sigs.k8s.io/yaml makes, reads [`MAX_DEPTH`] levels at most.
    pub depth: usize,
}

impl Document {
    /// Why Go's JSON decoder (Helm's values, kubectl's objects) refuses the document, if it does.
    pub fn json_depth_problem(&self) -> Option<Problem> {
        (self.depth > MAX_DEPTH).then(|| Problem {
            message: format!(
                "nests {} levels deep; Helm and kubectl decode it as JSON, which reads {MAX_DEPTH} at most (Go: \"exceeded max depth\")",
                self.depth
            ),
            at: Mark { line: 1, column: 1 },
        })
    }
}

/// Reads the first document of `text` as sigs.k8s.io/yaml's `YAMLToJSON` does (what Helm reads
/// values and Chart.yaml with, and kubectl each manifest document): the document, or why Go
/// refuses it.
pub fn first_document(text: &str) -> Result<Document, Problem> {
    first_document_into(text, Target::Interface)
}

/// What Go decodes a document into; it decides one of sigs.k8s.io/yaml's checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `interface{}` or a map of them (Helm's values, kubectl's objects): a NaN or infinite
    /// value reaches `json.Marshal`, which refuses it.
    Interface,
    /// A Go struct (Chart.yaml's metadata): sigs turns a number under a string field into a
    /// string first, so only the struct's own decoding can refuse a NaN.
    Struct,
}

/// [`first_document`], decoded into `target`.
pub fn first_document_into(text: &str, target: Target) -> Result<Document, Problem> {
    let (text, placeheld) = bom_as_text(text);
    let mut document = Pass::new(target).run(&text)?;
    if placeheld {
        restore_boms(&mut document.root);
    }
    Ok(document)
}

/// Splits a manifest file into documents the way kubectl does (k8s.io/apimachinery
/// `pkg/util/yaml` `YAMLReader.Read`): at every line that starts with `---`, which must be
/// followed by nothing but spaces or a comment; a separator before anything else stays in the
/// document it opens. Each document with the 0-based line it starts on; empty ones are kept
/// (kubectl skips them when decoding).
pub fn kubectl_documents(text: &str) -> Result<Vec<(u64, &str)>, Problem> {
    let mut documents = Vec::new();
    let mut start = 0usize;
    let mut start_line = 0u64;
    let mut offset = 0usize;
    for (number, line) in text.split_inclusive('\n').enumerate() {
        let number = number as u64;
        if let Some(rest) = line.strip_prefix("---") {
            let trimmed = rest.trim_matches(go_space);
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                return Err(Problem {
                    message: format!(
                        "has an invalid document separator on line {}: only spaces or a comment may follow ---",
                        number + 1
                    ),
                    at: Mark {
                        line: number + 1,
                        column: 1,
                    },
                });
            }
            // A separator ends the document read so far and is dropped; with nothing read yet,
            // apimachinery writes it into the next document (`---# x` is then YAML text).
            if offset > start {
                documents.push((start_line, &text[start..offset]));
                start = offset + line.len();
                start_line = number + 1;
            }
        }
        offset += line.len();
    }
    if text.len() > start {
        documents.push((start_line, &text[start..]));
    }
    Ok(documents)
}

/// `strings.TrimSpace`'s white space (Unicode White_Space).
fn go_space(c: char) -> bool {
    c.is_whitespace()
}

/// A parser event, for a reader that needs where each node stands (`.packpub.yaml`'s findings
/// name lines): the same libyaml, with scalars resolved as go-yaml resolves nulls.
#[derive(Debug)]
pub enum Event {
    Scalar { text: String, null: bool },
    Alias,
    SequenceStart,
    MappingStart,
    CollectionEnd,
    DocumentEnd,
}

/// The events of `text` in order, with their marks; they stop at the stream's end or at the
/// first syntax error (read [`first_document`] first to know which).
pub fn events(text: &str) -> impl Iterator<Item = (Event, Mark)> + '_ {
    let mut parser = libyaml::Parser::new(text.as_bytes());
    std::iter::from_fn(move || {
        loop {
            let (event, mark) = parser.next().ok()?;
            let event = match event {
                libyaml::Event::StreamEnd => return None,
                libyaml::Event::Scalar(s) => Event::Scalar {
                    null: s.tag.is_none()
                        && s.plain_implicit
                        && matches!(implicit(&s.value, None).1, Resolved::Null),
                    text: s.value,
                },
                libyaml::Event::Alias { .. } => Event::Alias,
                libyaml::Event::SequenceStart { .. } => Event::SequenceStart,
                libyaml::Event::MappingStart { .. } => Event::MappingStart,
                libyaml::Event::SequenceEnd | libyaml::Event::MappingEnd => Event::CollectionEnd,
                libyaml::Event::DocumentEnd => Event::DocumentEnd,
                libyaml::Event::DocumentStart { .. } | libyaml::Event::Other => continue,
            };
            return Some((event, mark));
        }
    })
}

/// libyaml, made safe to call: the only unsafe code of the reader.
mod libyaml {
    use super::Mark;
    use std::ffi::CStr;
    use unsafe_libyaml as unsafe_sys;

    pub enum Event {
        StreamEnd,
        DocumentStart { version: Option<(i32, i32)> },
        DocumentEnd,
        Alias { anchor: String },
        Scalar(Scalar),
        SequenceStart { anchor: Option<String>, flow: bool },
        SequenceEnd,
        MappingStart { anchor: Option<String>, flow: bool },
        MappingEnd,
        Other,
    }

    pub struct Scalar {
        pub anchor: Option<String>,
        pub tag: Option<String>,
        pub value: String,
        /// No tag and plain: resolved by its text.
        pub plain_implicit: bool,
    }

    pub struct Failure {
        pub message: String,
        pub at: Mark,
    }

    /// A parser over a borrowed text; boxed so libyaml's pointers to it stay put.
    pub struct Parser<'a> {
        sys: Box<unsafe_sys::yaml_parser_t>,
        _input: &'a [u8],
        done: bool,
    }

    impl<'a> Parser<'a> {
        pub fn new(input: &'a [u8]) -> Self {
            // SAFETY: yaml_parser_t is plain C data, valid when zeroed; yaml_parser_initialize
            // then sets it up, and the input outlives the parser (lifetime 'a).
            unsafe {
                let mut sys: Box<unsafe_sys::yaml_parser_t> = Box::new(std::mem::zeroed());
                let ok = unsafe_sys::yaml_parser_initialize(&mut *sys);
                assert!(ok.ok, "libyaml could not allocate its parser");
                unsafe_sys::yaml_parser_set_input_string(
                    &mut *sys,
                    input.as_ptr(),
                    input.len() as u64,
                );
                Self {
                    sys,
                    _input: input,
                    done: false,
                }
            }
        }

        pub fn next(&mut self) -> Result<(Event, Mark), Failure> {
            if self.done {
                return Ok((Event::StreamEnd, Mark { line: 0, column: 0 }));
            }
            // SAFETY: the parser was initialised; the event is deleted after its data was
            // copied out, and its pointers are read only for the type libyaml says it has.
            unsafe {
                let mut event: unsafe_sys::yaml_event_t = std::mem::zeroed();
                if !unsafe_sys::yaml_parser_parse(&mut *self.sys, &mut event).ok {
                    self.done = true;
                    return Err(self.failure());
                }
                let mark = Mark {
                    line: event.start_mark.line + 1,
                    column: event.start_mark.column + 1,
                };
                let converted = match event.type_ {
                    unsafe_sys::YAML_STREAM_END_EVENT => {
                        self.done = true;
                        Event::StreamEnd
                    }
                    unsafe_sys::YAML_DOCUMENT_START_EVENT => {
                        let version = event.data.document_start.version_directive;
                        Event::DocumentStart {
                            version: (!version.is_null())
                                .then(|| ((*version).major, (*version).minor)),
                        }
                    }
                    unsafe_sys::YAML_DOCUMENT_END_EVENT => Event::DocumentEnd,
                    unsafe_sys::YAML_ALIAS_EVENT => Event::Alias {
                        anchor: text(event.data.alias.anchor).unwrap_or_default(),
                    },
                    unsafe_sys::YAML_SCALAR_EVENT => {
                        let s = &event.data.scalar;
                        let bytes = std::slice::from_raw_parts(s.value, s.length as usize);
                        Event::Scalar(Scalar {
                            anchor: text(s.anchor),
                            tag: text(s.tag),
                            value: String::from_utf8_lossy(bytes).into_owned(),
                            plain_implicit: s.plain_implicit,
                        })
                    }
                    unsafe_sys::YAML_SEQUENCE_START_EVENT => Event::SequenceStart {
                        anchor: text(event.data.sequence_start.anchor),
                        flow: event.data.sequence_start.style
                            == unsafe_sys::YAML_FLOW_SEQUENCE_STYLE,
                    },
                    unsafe_sys::YAML_SEQUENCE_END_EVENT => Event::SequenceEnd,
                    unsafe_sys::YAML_MAPPING_START_EVENT => Event::MappingStart {
                        anchor: text(event.data.mapping_start.anchor),
                        flow: event.data.mapping_start.style == unsafe_sys::YAML_FLOW_MAPPING_STYLE,
                    },
                    unsafe_sys::YAML_MAPPING_END_EVENT => Event::MappingEnd,
                    _ => Event::Other,
                };
                unsafe_sys::yaml_event_delete(&mut event);
                Ok((converted, mark))
            }
        }

        /// libyaml's error as go-yaml words it: the problem, with its context when there is one.
        unsafe fn failure(&self) -> Failure {
            let p = &*self.sys;
            let word = |ptr: *const std::ffi::c_char| {
                (!ptr.is_null()).then(|| {
                    unsafe { CStr::from_ptr(ptr) }
                        .to_string_lossy()
                        .into_owned()
                })
            };
            let problem = word(p.problem).unwrap_or_else(|| "unknown problem".to_string());
            let mark = if p.problem_mark.line == 0
                && p.problem_mark.column == 0
                && p.problem_mark.index == 0
            {
                p.context_mark
            } else {
                p.problem_mark
            };
            let message = match word(p.context) {
                Some(context) => format!("{context}: {problem}"),
                None => problem,
            };
            Failure {
                message,
                at: Mark {
                    line: mark.line + 1,
                    column: mark.column + 1,
                },
            }
        }
    }

    impl Drop for Parser<'_> {
        fn drop(&mut self) {
            // SAFETY: initialised in new, deleted once.
            unsafe { unsafe_sys::yaml_parser_delete(&mut *self.sys) }
        }
    }

    /// A NUL-terminated string libyaml owns, copied.
    unsafe fn text(ptr: *mut u8) -> Option<String> {
        (!ptr.is_null()).then(|| {
            unsafe { CStr::from_ptr(ptr.cast()) }
                .to_string_lossy()
                .into_owned()
        })
    }
}

const TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// A mapping key as Go holds it in `map[interface{}]interface{}`: keys that decode to the same
/// Go value are one entry (`1` and `0x1`; `yes` and `true`), a string and a number are two.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum GoKey {
    Str(String),
    Int(i64),
    Uint(u64),
    Float(u64),
    Bool(bool),
    Null,
    /// NaN is never equal to itself: every NaN key is an entry of its own.
    NaN(u64),
}

/// What the JSON sigs.k8s.io/yaml makes of a decoded node will meet, and how deep it nests.
/// Only what survives decoding counts: a value a later duplicate key replaced is never
/// converted.
#[derive(Debug, Clone, Default)]
struct Json {
    /// What `convertToJSONableObject` cannot convert (a null or unsigned key): every entry of
    /// Go's map is converted, so this counts wherever it stands.
    problem: Option<Problem>,
    /// A NaN or infinite value `json.Marshal` refuses: it counts only if it is the value left
    /// under its JSON key name (two Go keys of one name, `1` and `"1"`, leave either: Go's map
    /// order decides, so packpub refuses only when both hold one).
    nan: Option<Problem>,
    height: usize,
    /// As a mapping entry: its JSON key name.
    name: String,
}

impl Json {
    /// A sequence, or entries that all count.
    fn of_collection<'a>(items: impl Iterator<Item = &'a Json>) -> Json {
        let mut json = Json {
            height: 1,
            ..Json::default()
        };
        for item in items {
            json.add(item);
        }
        json
    }

    fn add(&mut self, item: &Json) {
        if self.problem.is_none() {
            self.problem.clone_from(&item.problem);
        }
        if self.nan.is_none() {
            self.nan.clone_from(&item.nan);
        }
        self.height = self.height.max(item.height + 1);
    }

    /// A mapping: its entries by Go key, grouped by JSON name for the NaN check.
    fn of_mapping(entries: &IndexMap<GoKey, Json>, overflow: &Json) -> Json {
        let mut json = Json::of_collection(std::iter::once(overflow));
        let mut by_name: HashMap<&str, (usize, Option<&Problem>, usize)> = HashMap::new();
        for entry in entries.values() {
            let nan = json.nan.take();
            json.add(entry);
            json.nan = nan;
            let slot = by_name.entry(&entry.name).or_default();
            slot.0 += 1;
            if let Some(problem) = &entry.nan {
                slot.1.get_or_insert(problem);
                slot.2 += 1;
            }
        }
        if json.nan.is_none() {
            json.nan = by_name
                .values()
                .filter(|(entries, _, nans)| nans == entries)
                .find_map(|(_, problem, _)| problem.cloned());
        }
        json
    }
}

/// A mapping key as go-yaml decodes it.
enum Key {
    /// A key with its JSON name, its Go identity and, for a key JSON cannot hold, the problem.
    Named(String, GoKey, Option<Problem>),
    /// `<<`: the value is merged into the mapping.
    Merge,
}

/// An open collection of the first document.
struct Open {
    /// Its anchor: the name and which definition of it this is.
    anchor: Option<(String, u64)>,
    /// `decoded` when it began (go-yaml's decodeCount), to size its anchor.
    decoded_at_start: u64,
    /// The tree being built, `None` past [`TREE_DEPTH`] or [`TREE_NODES`].
    node: Option<Node>,
    kind: OpenKind,
    /// In a mapping: the key waiting for its value.
    key: Option<Key>,
    /// In a mapping: keys so far and their lines (duplicate detection).
    seen: HashMap<String, u64>,
    /// In a mapping: what each Go entry brings to the JSON (up to [`TRACKED_KEYS`] of them, then
    /// `overflow`); in a sequence, every item (`items`).
    entries: IndexMap<GoKey, Json>,
    overflow: Json,
    items: Json,
    /// This sequence is the value of a merge key: its items must be mappings; it is not
    /// decoded as a node itself.
    merge_list: bool,
    flow: bool,
    start: Mark,
    /// Nodes placed in it so far.
    placed: usize,
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum OpenKind {
    Seq,
    Map,
}

/// A completed node, as its parent (or an alias to it) takes it.
#[derive(Clone)]
struct Done {
    tree: Option<Node>,
    /// Its size in go-yaml's decode operations (for an anchor).
    decodes: u64,
    shape: Shape,
    json: Json,
    /// A mapping's entries, for merges.
    entries: Option<IndexMap<GoKey, Json>>,
    /// As a key: its JSON name and Go identity, or why it cannot be a key.
    key: Result<(String, GoKey, Option<Problem>), &'static str>,
    /// A flow collection (`[...]`, `{...}`), and an empty one.
    flow: bool,
    empty: bool,
    /// Where it starts.
    start: Mark,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Scalar,
    Seq,
    Map,
}

/// An anchor's definition: open (its id), or complete with its tree's size.
enum Defined {
    Open(u64),
    Done(Box<Done>, u64),
}

/// The streaming reader of one document.
struct Pass {
    /// go-yaml's decodeCount and aliasCount (decode.go `unmarshal`).
    decoded: u64,
    alias_decoded: u64,
    /// Each anchor's node as defined, its tree dropped past [`TREE_NODES`].
    /// Each anchor name's latest definition: go-yaml registers an anchor when its node starts
    /// (yaml.go `parser.node`), so an alias names the latest one started, and one still open
    /// is the node around the alias.
    anchors: HashMap<String, Defined>,
    /// Tells definitions of one name apart.
    next_anchor: u64,
    open: Vec<Open>,
    tree_nodes: u64,
    duplicates: Vec<Duplicate>,
    more_duplicates: u64,
    path: Vec<String>,
    nan_keys: u64,
    target: Target,
}

impl Pass {
    fn new(target: Target) -> Self {
        Self {
            target,
            decoded: 0,
            alias_decoded: 0,
            anchors: HashMap::new(),
            next_anchor: 0,
            open: Vec::new(),
            tree_nodes: 0,
            duplicates: Vec::new(),
            more_duplicates: 0,
            path: Vec::new(),
            nan_keys: 0,
        }
    }

    fn run(mut self, text: &str) -> Result<Document, Problem> {
        let mut parser = libyaml::Parser::new(text.as_bytes());
        let mut root: Option<Done> = None;
        let fail = |message: String, at: Mark| Problem { message, at };
        loop {
            let (event, mark) = parser.next().map_err(|f| fail(f.message, f.at))?;
            let done = match event {
                libyaml::Event::StreamEnd => break,
                libyaml::Event::DocumentStart { version } => {
                    if let Some((major, minor)) = version
                        && (major, minor) != (1, 1)
                    {
                        return Err(fail(
                            format!(
                                "declares %YAML {major}.{minor}; Go's YAML reads only 1.1 (\"found incompatible YAML document\")"
                            ),
                            mark,
                        ));
                    }
                    // The document node itself is one decode.
                    self.decoded += 1;
                    continue;
                }
                // Only the first document is read: go-yaml stops here.
                libyaml::Event::DocumentEnd => break,
                libyaml::Event::Scalar(scalar) => self.scalar(scalar, mark)?,
                libyaml::Event::Alias { anchor } => self.alias(&anchor, mark)?,
                libyaml::Event::SequenceStart { anchor, flow } => {
                    self.start(OpenKind::Seq, anchor, flow, mark)?;
                    continue;
                }
                libyaml::Event::MappingStart { anchor, flow } => {
                    self.start(OpenKind::Map, anchor, flow, mark)?;
                    continue;
                }
                libyaml::Event::SequenceEnd | libyaml::Event::MappingEnd => self.end(),
                libyaml::Event::Other => continue,
            };
            if let Some(done) = self.complete(done, mark)? {
                // A root handed back while collections are open: the empty flow collection
                // go-yaml takes for the whole document (see `complete`).
                let stop = !self.open.is_empty();
                root = Some(done);
                if stop {
                    break;
                }
            }
        }
        let (tree, json) = match root {
            Some(done) => (done.tree.unwrap_or_default(), done.json),
            None => (Node::Null, Json::default()),
        };
        if let Some(problem) = json.problem.or(json.nan) {
            return Err(problem);
        }
        Ok(Document {
            root: tree,
            duplicates: self.duplicates,
            more_duplicates: self.more_duplicates,
            depth: json.height,
        })
    }

    /// Whether the node about to start is the value of a merge key.
    fn merging(&self) -> bool {
        matches!(
            self.open.last(),
            Some(Open {
                kind: OpenKind::Map,
                key: Some(Key::Merge),
                ..
            })
        )
    }

    fn start(
        &mut self,
        kind: OpenKind,
        anchor: Option<String>,
        flow: bool,
        mark: Mark,
    ) -> Result<(), Problem> {
        if self.open.len() >= MAX_DEPTH {
            return Err(Problem {
                message: format!(
                    "nests deeper than {MAX_DEPTH} levels (Go's YAML: \"exceeded max depth of {MAX_DEPTH}\")"
                ),
                at: mark,
            });
        }
        // decode.go `merge` walks a merge key's sequence item by item without decoding the
        // sequence itself: it is not counted.
        let merge_list = kind == OpenKind::Seq && self.merging();
        if !merge_list {
            self.decoded += 1;
        }
        let keep = self.open.len() < TREE_DEPTH
            && self.open.last().is_none_or(|o| o.node.is_some())
            && self.tree_nodes < TREE_NODES;
        if keep {
            self.tree_nodes += 1;
        }
        let anchor = anchor.map(|name| {
            self.next_anchor += 1;
            self.anchors
                .insert(name.clone(), Defined::Open(self.next_anchor));
            (name, self.next_anchor)
        });
        self.open.push(Open {
            anchor,
            decoded_at_start: self.decoded,
            node: keep.then(|| match kind {
                OpenKind::Seq => Node::Seq(Vec::new()),
                OpenKind::Map => Node::Map(IndexMap::new()),
            }),
            kind,
            key: None,
            seen: HashMap::new(),
            entries: IndexMap::new(),
            overflow: Json::default(),
            items: Json {
                height: 1,
                ..Json::default()
            },
            merge_list,
            flow,
            start: mark,
            placed: 0,
        });
        Ok(())
    }

    fn end(&mut self) -> Done {
        let open = self.open.pop().expect("libyaml balances collections");
        let (shape, json, entries) = match open.kind {
            OpenKind::Map => (
                Shape::Map,
                Json::of_mapping(&open.entries, &open.overflow),
                Some(open.entries),
            ),
            // A merge key's sequence is never converted itself: its entries are.
            OpenKind::Seq if open.merge_list => (Shape::Seq, Json::default(), Some(open.entries)),
            OpenKind::Seq => (Shape::Seq, open.items, None),
        };
        let done = Done {
            tree: open.node,
            decodes: self.decoded - open.decoded_at_start + 1,
            shape,
            json,
            entries,
            key: Err("a mapping or a sequence"),
            flow: open.flow,
            empty: open.placed == 0,
            start: open.start,
        };
        // Completed, the definition is this node's unless another of its name started since.
        if let Some((name, id)) = open.anchor
            && matches!(self.anchors.get(&name), Some(Defined::Open(open)) if *open == id)
        {
            self.anchor(name, &done);
        }
        done
    }

    fn anchor(&mut self, name: String, done: &Done) {
        let size = done.tree.as_ref().map_or(0, count_nodes);
        self.anchors
            .insert(name, Defined::Done(Box::new(done.clone()), size));
    }

    fn scalar(&mut self, scalar: libyaml::Scalar, mark: Mark) -> Result<Done, Problem> {
        let fail = |message: String| Problem { message, at: mark };
        let key_position = matches!(
            self.open.last(),
            Some(Open {
                kind: OpenKind::Map,
                key: None,
                ..
            })
        );
        let tag = scalar.tag.as_deref().map(long_tag);
        let is_merge = key_position
            && scalar.value == "<<"
            && (scalar.plain_implicit || tag.as_deref() == Some(&format!("{TAG_PREFIX}merge")));
        // decode.go `mapping` skips a merge key: it is never decoded.
        if !is_merge {
            self.decoded += 1;
        }
        // decode.go `scalar`: untagged quoted scalars are strings; the rest resolve.
        let resolved = if tag.is_none() && !scalar.plain_implicit {
            Resolved::Str
        } else {
            resolve(tag.as_deref(), &scalar.value).map_err(&fail)?
        };
        if let Some(tag) = &tag
            && tag == &format!("{TAG_PREFIX}binary")
            && !is_base64(&scalar.value)
        {
            return Err(fail(
                "has a !!binary value that is not base64 (Go: \"!!binary value contains invalid base64 data\")".to_string(),
            ));
        }
        let text = scalar.value;
        let node = |kind| {
            Node::Scalar(Scalar {
                text: text.clone(),
                kind,
            })
        };
        let key_problem = |what: &str| {
            Some(fail(format!(
                "has a key that is {what}, which JSON cannot hold as a key (sigs.k8s.io/yaml: \"Unsupported map key\")"
            )))
        };
        let mut value_problem = None;
        let (tree, key) = match resolved {
            Resolved::Null => (
                Node::Null,
                (String::new(), GoKey::Null, key_problem("null")),
            ),
            Resolved::Str | Resolved::Merge => (
                node(Kind::Str),
                (text.clone(), GoKey::Str(text.clone()), None),
            ),
            Resolved::Bool(b) => (node(Kind::Bool), (b.to_string(), GoKey::Bool(b), None)),
            Resolved::Int(Int::Signed(v)) => {
                (node(Kind::Int), (v.to_string(), GoKey::Int(v), None))
            }
            Resolved::Int(Int::Unsigned(v)) => (
                node(Kind::Uint),
                (
                    v.to_string(),
                    GoKey::Uint(v),
                    key_problem("an unsigned 64-bit number"),
                ),
            ),
            Resolved::Float(f) => {
                if !f.is_finite() && self.target == Target::Interface {
                    value_problem = Some(fail(format!(
                        "has the value {} (NaN or infinity), which JSON cannot hold (sigs.k8s.io/yaml: \"json: unsupported value\")",
                        shown(&text)
                    )));
                }
                let (name, identity) = if f.is_nan() {
                    self.nan_keys += 1;
                    ("NaN".to_string(), GoKey::NaN(self.nan_keys))
                } else if f.is_infinite() {
                    let name = if f > 0.0 { "+Inf" } else { "-Inf" };
                    (name.to_string(), GoKey::Float(f.to_bits()))
                } else {
                    (go_float32_g(f), GoKey::Float(f.to_bits()))
                };
                (node(Kind::Float), (name, identity, None))
            }
        };
        let done = Done {
            // Scalars count against the tree's budget like collections: past it they are read
            // and judged, not kept.
            tree: (self.tree_nodes < TREE_NODES).then(|| {
                self.tree_nodes += 1;
                tree
            }),
            decodes: 1,
            shape: Shape::Scalar,
            json: Json {
                nan: value_problem,
                ..Json::default()
            },
            entries: None,
            key: Ok(key),
            flow: false,
            empty: false,
            start: mark,
        };
        if let Some(anchor) = scalar.anchor {
            self.anchor(anchor, &done);
        }
        Ok(Done {
            key: if is_merge {
                Err("<<")
            } else {
                done.key.clone()
            },
            ..done
        })
    }

    fn alias(&mut self, anchor: &str, mark: Mark) -> Result<Done, Problem> {
        let fail = |message: String| Problem { message, at: mark };
        let (anchored, size) = match self.anchors.get(anchor) {
            Some(Defined::Done(done, size)) => (done, size),
            Some(Defined::Open(_)) => {
                return Err(fail(format!(
                    "has the alias *{anchor} inside the node it repeats (Go: \"anchor '{anchor}' value contains itself\")"
                )));
            }
            None => {
                return Err(fail(format!(
                    "has the alias *{anchor} to no anchor defined before it (Go: \"unknown anchor '{anchor}' referenced\")"
                )));
            }
        };
        let merge_item = matches!(
            self.open.last(),
            Some(Open {
                merge_list: true,
                ..
            })
        );
        if (self.merging() || merge_item) && anchored.shape != Shape::Map {
            return Err(fail(
                "merges (<<) something that is not a mapping (Go: \"map merge requires map or sequence of maps as the value\")".to_string(),
            ));
        }
        // decode.go `unmarshal`: the alias node is one decode, everything it stands for is
        // decoded again with aliasDepth > 0.
        self.decoded += 1 + anchored.decodes;
        self.alias_decoded += anchored.decodes;
        if self.alias_decoded > 100
            && self.decoded > 1000
            && self.alias_decoded as f64 / self.decoded as f64 > allowed_alias_ratio(self.decoded)
        {
            return Err(fail(
                "has aliases that stand for too much of the document once expanded (a \"billion laughs\" file; Go: \"document contains excessive aliasing\")".to_string(),
            ));
        }
        let mut done = Done::clone(anchored);
        let size = *size;
        done.tree = match done.tree {
            Some(tree) if self.tree_nodes + size <= TREE_NODES => {
                self.tree_nodes += size;
                Some(tree)
            }
            _ => None,
        };
        Ok(done)
    }

    /// Places a completed node in its parent; returns it when it is the document's root.
    fn complete(&mut self, done: Done, mark: Mark) -> Result<Option<Done>, Problem> {
        let root_mapping = self.open.len() == 1;
        let Some(parent) = self.open.last_mut() else {
            return Ok(Some(done));
        };
        parent.placed += 1;
        let not_a_map_merged = || {
            Problem {
            message: "merges (<<) something that is not a mapping (Go: \"map merge requires map or sequence of maps as the value\")".to_string(),
            at: mark,
        }
        };
        if parent.kind == OpenKind::Seq {
            if parent.merge_list && done.shape != Shape::Map {
                return Err(not_a_map_merged());
            }
            if parent.merge_list {
                // The sequence of a merge key stands for its mappings' entries: go-yaml sets
                // them last to first, so the earlier mapping wins.
                for (k, v) in done.entries.unwrap_or_default() {
                    parent.entries.entry(k).or_insert(v);
                }
            } else {
                parent.items.add(&done.json);
            }
            if let (Some(Node::Seq(items)), Some(tree)) = (&mut parent.node, done.tree) {
                items.push(tree);
            }
            return Ok(None);
        }
        match parent.key.take() {
            None => {
                let key = match done.key {
                    Err("<<") => Key::Merge,
                    // go-yaml v2.4.0 never takes an empty flow collection that opens the
                    // document as a key (its simple_keys_by_tok bookkeeping loses it): the
                    // collection is the document, and nothing after it is read.
                    Err(_)
                        if root_mapping
                            && parent.placed == 1
                            && parent.start == done.start
                            && done.flow
                            && done.empty =>
                    {
                        return Ok(Some(done));
                    }
                    Err(what) => {
                        return Err(Problem {
                            message: format!(
                                "has a key that is {what}, which Go cannot use as a key (go-yaml: \"invalid map key\")"
                            ),
                            at: mark,
                        });
                    }
                    Ok((name, identity, problem)) => Key::Named(name, identity, problem),
                };
                let name = match &key {
                    Key::Named(name, ..) => {
                        match parent.seen.get(name) {
                            Some(&first) if self.duplicates.len() < MAX_DUPLICATES => {
                                let path =
                                    self.path.iter().chain([name]).cloned().collect::<Vec<_>>();
                                self.duplicates.push(Duplicate {
                                    path: path.join("."),
                                    first_line: first,
                                    at: mark,
                                });
                            }
                            Some(_) => self.more_duplicates += 1,
                            None if parent.seen.len() < TRACKED_KEYS => {
                                parent.seen.insert(name.clone(), mark.line);
                            }
                            None => {}
                        }
                        name.clone()
                    }
                    Key::Merge => "<<".to_string(),
                };
                parent.key = Some(key);
                self.path.push(name);
            }
            Some(Key::Merge) => {
                self.path.pop();
                if done.shape == Shape::Scalar {
                    return Err(not_a_map_merged());
                }
                // decode.go `merge`: the merged entries are set as they come, so a key written
                // after the merge wins and one written before it does not.
                for (k, v) in done.entries.unwrap_or_default() {
                    parent.entries.insert(k, v);
                }
                if let Some(Node::Map(map)) = &mut parent.node {
                    merge_into(map, done.tree);
                }
            }
            Some(Key::Named(name, identity, key_problem)) => {
                self.path.pop();
                let json = Json {
                    problem: key_problem.or(done.json.problem),
                    name: name.clone(),
                    ..done.json
                };
                if parent.entries.len() < TRACKED_KEYS || parent.entries.contains_key(&identity) {
                    parent.entries.insert(identity, json);
                } else {
                    // Past the cap an entry is not kept to be replaced: it counts at once.
                    let height = parent.overflow.height;
                    parent.overflow.add(&json);
                    parent.overflow.height = height.max(json.height);
                }
                if let (Some(Node::Map(map)), Some(tree)) = (&mut parent.node, done.tree) {
                    map.insert(name, tree);
                }
            }
        }
        Ok(None)
    }
}

/// Stands in for a byte-order mark inside the text (same UTF-8 length, so positions hold).
const BOM_STAND_IN: char = '\u{E000}';

/// libyaml skips a byte-order mark at the start of any line; go-yaml's test for it
/// (yamlprivateh.go `is_bom`) looks at the start of its buffer instead of the mark, so past the
/// first bytes Go reads the mark as text ("\u{feff}apiVersion"). A mark after the first
/// character is turned into a stand-in libyaml reads as text too. (Where Go's buffer happens to
/// be refilled right at a mark, Go skips it; that depends on its 512-byte reads, not on the
/// file, and is not followed. Emulating it inside libyaml's scanner was tried and dropped: it
/// skipped past the end of the input.)
fn bom_as_text(text: &str) -> (std::borrow::Cow<'_, str>, bool) {
    // The reader drops a first mark; a mark right after it starts Go's buffer, and is skipped
    // there by go-yaml as by libyaml.
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    if !body.contains('\u{feff}') {
        return (std::borrow::Cow::Borrowed(text), false);
    }
    let start = text.len() - body.len();
    let replaced = format!(
        "{}{}",
        &text[..start],
        body.replace('\u{feff}', &BOM_STAND_IN.to_string())
    );
    (std::borrow::Cow::Owned(replaced), true)
}

/// Puts the marks back into the tree (at most [`TREE_DEPTH`] levels deep, so recursion is safe).
fn restore_boms(node: &mut Node) {
    let back = |text: &str| text.replace(BOM_STAND_IN, "\u{feff}");
    match node {
        Node::Scalar(s) => s.text = back(&s.text),
        Node::Seq(items) => items.iter_mut().for_each(restore_boms),
        Node::Map(map) => {
            *map = std::mem::take(map)
                .into_iter()
                .map(|(k, mut v)| {
                    restore_boms(&mut v);
                    (back(&k), v)
                })
                .collect();
        }
        Node::Null => {}
    }
}

/// Keys of one mapping followed one by one (duplicates, values a later key replaces): far
/// more than any values file has; past it, memory stays bounded and a NaN a later duplicate
/// would have replaced is refused anyway.
const TRACKED_KEYS: usize = 200_000;

/// Findings of duplicate keys kept per file: enough to act on, bounded for hostile files.
const MAX_DUPLICATES: usize = 1_000;

/// decode.go `merge`: a mapping's keys, or each mapping of a sequence with the earlier ones
/// winning, set into `map`.
fn merge_into(map: &mut IndexMap<String, Node>, merged: Option<Node>) {
    match merged {
        Some(Node::Map(from)) => {
            for (k, v) in from {
                map.insert(k, v);
            }
        }
        Some(Node::Seq(items)) => {
            for item in items.into_iter().rev() {
                merge_into(map, Some(item));
            }
        }
        _ => {}
    }
}

fn count_nodes(node: &Node) -> u64 {
    let mut stack = vec![node];
    let mut count = 0;
    while let Some(node) = stack.pop() {
        count += 1;
        match node {
            Node::Seq(items) => stack.extend(items),
            Node::Map(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    count
}

/// decode.go `allowedAliasRatio`.
fn allowed_alias_ratio(decoded: u64) -> f64 {
    const LOW: f64 = 400_000.0;
    const HIGH: f64 = 4_000_000.0;
    let decoded = decoded as f64;
    if decoded <= LOW {
        0.99
    } else if decoded >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((decoded - LOW) / (HIGH - LOW))
    }
}

/// `!!int` → `tag:yaml.org,2002:int` (resolve.go `longTag`).
fn long_tag(tag: &str) -> String {
    match tag.strip_prefix("!!") {
        Some(rest) => format!("{TAG_PREFIX}{rest}"),
        None => tag.to_string(),
    }
}

enum Int {
    Signed(i64),
    Unsigned(u64),
}

enum Resolved {
    Null,
    Str,
    Bool(bool),
    Int(Int),
    Float(f64),
    Merge,
}

fn resolve_bool(text: &str) -> Option<bool> {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Some(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Some(false)
        }
        _ => None,
    }
}

/// resolve.go `resolve`: what a scalar is, and whether an explicit tag fits it.
fn resolve(tag: Option<&str>, text: &str) -> Result<Resolved, String> {
    let short = |t: &str| match t.strip_prefix(TAG_PREFIX) {
        Some(rest) => format!("!!{rest}"),
        None => t.to_string(),
    };
    let name = |t: &str| tag_name(t);
    let tag_kind = match tag {
        None => None,
        Some(t) => match name(t) {
            Some(kind) => Some(kind),
            // Tags resolve.go does not resolve: the text is kept as it is.
            None => return Ok(Resolved::Str),
        },
    };
    let (rtag, value) = implicit(text, tag_kind);
    match tag_kind {
        None | Some("str") => Ok(if tag_kind.is_some() {
            Resolved::Str
        } else {
            value
        }),
        Some(t) if t == rtag => Ok(value),
        // resolve.go converts an int or int64 for `!!float`; a uint64 fails.
        Some("float") if matches!(value, Resolved::Int(Int::Signed(_))) => {
            Ok(Resolved::Float(match value {
                Resolved::Int(Int::Signed(v)) => v as f64,
                _ => 0.0,
            }))
        }
        Some(t) => Err(format!(
            "has a value {} tagged {} that is not one (Go: \"cannot decode !!{rtag} `{}` as a {}\")",
            shown(text),
            short(&format!("{TAG_PREFIX}{t}")),
            shown(text),
            short(&format!("{TAG_PREFIX}{t}"))
        )),
    }
}

fn shown(text: &str) -> String {
    let mut s: String = text.chars().take(40).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    crate::output::escape(&s).into_owned()
}

/// The kinds resolve.go resolves (`resolvableTag`), by their short name.
fn tag_name(tag: &str) -> Option<&'static str> {
    let rest = tag.strip_prefix(TAG_PREFIX)?;
    ["str", "bool", "int", "float", "null", "timestamp"]
        .into_iter()
        .find(|&k| k == rest)
}

/// resolve.go's implicit resolution of a plain scalar: its tag's short name and value.
fn implicit(text: &str, tag: Option<&str>) -> (&'static str, Resolved) {
    let hint = match text.as_bytes().first() {
        None => b'N',
        Some(b'+' | b'-') => b'S',
        Some(b'0'..=b'9') => b'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => b'M',
        Some(b'.') => b'.',
        Some(b'<') => b'<',
        _ => 0,
    };
    if hint == 0 || tag == Some("str") {
        return ("str", Resolved::Str);
    }
    if let Some(b) = resolve_bool(text) {
        return ("bool", Resolved::Bool(b));
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return ("null", Resolved::Null),
        ".nan" | ".NaN" | ".NAN" => return ("float", Resolved::Float(f64::NAN)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return ("float", Resolved::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return ("float", Resolved::Float(f64::NEG_INFINITY)),
        "<<" => return ("merge", Resolved::Merge),
        _ => {}
    }
    match hint {
        b'.' => {
            if let Some(f) = go_parse_float(text) {
                return ("float", Resolved::Float(f));
            }
        }
        b'D' | b'S' => {
            if (tag.is_none() || tag == Some("timestamp")) && is_timestamp(text) {
                // v2 hands timestamps to interface{} targets as their text.
                return ("timestamp", Resolved::Str);
            }
            let plain = text.replace('_', "");
            if let Some(int) = parse_int(&plain) {
                return ("int", Resolved::Int(int));
            }
            if is_yaml_style_float(&plain)
                && let Some(f) = go_parse_float(&plain)
            {
                return ("float", Resolved::Float(f));
            }
            if let Some(bits) = plain.strip_prefix("0b") {
                if let Ok(v) = i64::from_str_radix(bits, 2)
                    && !bits.starts_with(['+', '-'])
                {
                    return ("int", Resolved::Int(Int::Signed(v)));
                }
                if let Ok(v) = u64::from_str_radix(bits, 2)
                    && !bits.starts_with(['+', '-'])
                {
                    return ("int", Resolved::Int(Int::Unsigned(v)));
                }
            } else if let Some(bits) = plain.strip_prefix("-0b")
                && !bits.starts_with(['+', '-'])
                && let Ok(v) = i64::from_str_radix(&format!("-{bits}"), 2)
            {
                return ("int", Resolved::Int(Int::Signed(v)));
            }
        }
        _ => {}
    }
    ("str", Resolved::Str)
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint(s, 0, 64)`: base prefixes 0x, 0o, 0b and a
/// leading 0 for octal; underscores already removed by the caller (resolve.go does).
fn parse_int(s: &str) -> Option<Int> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        (8, d)
    } else if let Some(d) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (2, d)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        if magnitude <= i64::MAX as u64 + 1 {
            return Some(Int::Signed((magnitude as i128).wrapping_neg() as i64));
        }
        return None;
    }
    if magnitude <= i64::MAX as u64 {
        Some(Int::Signed(magnitude as i64))
    } else {
        // Past ParseInt's range, ParseUint, which refuses any sign.
        (!s.starts_with('+')).then_some(Int::Unsigned(magnitude))
    }
}

/// resolve.go's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` where it matters here: decimal forms (with `_` only between
/// digits in Go; resolve.go's inputs have none), hex floats, "inf"/"nan" words; out of range is
/// an error in Go.
fn go_parse_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if body.starts_with("0x") || s.contains('_') {
        // Hex floats need a 'p' exponent; resolve.go never sees one that it then uses as a
        // float from the '.' branch. Treat as not a float.
        return None;
    }
    if matches!(body, "inf" | "infinity" | "nan") {
        return match body {
            "nan" => Some(f64::NAN),
            _ if lower.starts_with('-') => Some(f64::NEG_INFINITY),
            _ => Some(f64::INFINITY),
        };
    }
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-'))
    {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    v.is_finite().then_some(v)
}

/// resolve.go `parseTimestamp`'s first test: four digits and a '-', then one of its layouts.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits != 4 || digits == b.len() || b[digits] != b'-' {
        return false;
    }
    timestamp_layout(s)
}

/// Go's time.Parse with resolve.go's layouts: "2006-1-2T15:4:5.999999999Z07:00",
/// "2006-1-2t15:4:5.999999999Z07:00", "2006-1-2 15:4:5.999999999", "2006-1-2".
fn timestamp_layout(s: &str) -> bool {
    fn num(s: &str, min: usize, max: usize, hi: u32) -> Option<(u32, &str)> {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        if n < min || n > max {
            return None;
        }
        let v: u32 = s[..n].parse().ok()?;
        (v <= hi).then_some((v, &s[n..]))
    }
    let Some((_, rest)) = num(s, 4, 4, 9999) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix('-') else {
        return false;
    };
    let Some((month, rest)) = num(rest, 1, 2, 12) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix('-') else {
        return false;
    };
    let Some((day, rest)) = num(rest, 1, 2, 31) else {
        return false;
    };
    if month == 0 || day == 0 {
        return false;
    }
    if rest.is_empty() {
        return true;
    }
    let (rest, zoned) = match rest.as_bytes()[0] {
        b'T' | b't' => (&rest[1..], true),
        b' ' => (&rest[1..], false),
        _ => return false,
    };
    let Some((_, rest)) = num(rest, 1, 2, 23) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix(':') else {
        return false;
    };
    let Some((_, rest)) = num(rest, 1, 2, 59) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix(':') else {
        return false;
    };
    let Some((_, mut rest)) = num(rest, 1, 2, 59) else {
        return false;
    };
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    if !zoned {
        return rest.is_empty();
    }
    if rest == "Z" {
        return true;
    }
    let Some(zone) = rest.strip_prefix(['+', '-']) else {
        return false;
    };
    let b = zone.as_bytes();
    b.len() == 5 && b[2] == b':' && b[..2].iter().chain(&b[3..]).all(u8::is_ascii_digit)
}

/// Go's `base64.StdEncoding.DecodeString`: padded standard alphabet; `\r` and `\n` ignored.
fn is_base64(text: &str) -> bool {
    let clean: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    if !clean.len().is_multiple_of(4) {
        return false;
    }
    let body_end = clean.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
    let pad = clean.len() - body_end;
    pad <= 2
        && clean[..body_end]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
        && (pad == 0 || body_end % 4 + pad == 4)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`: the shortest digits of the float32, in %e form
/// when the exponent is below -4 or at least 6.
pub fn go_float32_g(f: f64) -> String {
    let f = f as f32;
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Shortest round-trip digits and decimal exponent, from Rust's own shortest formatting.
    let e = format!("{f:e}");
    let (mantissa, exp) = e.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("a number");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    // 'g' with the shortest digits decides by a precision of 6 (ftoa.go).
    let eprec = 6;
    let sign = if negative { "-" } else { "" };
    if exp < -4 || exp >= eprec {
        let mut m = digits[..1].to_string();
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let es = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{m}e{es}{:02}", exp.abs());
    }
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let point = exp as usize + 1;
    if digits.len() <= point {
        format!("{sign}{digits}{}", "0".repeat(point - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..point], &digits[point..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> String {
        first_document(text).map(|_| ()).unwrap_err().message
    }

    #[test]
    fn reads_what_go_reads() {
        for text in [
            "",
            "# only a comment\n",
            "a: 1\n",
            "a:\tb\n",
            "k: 'one\n  two'\n",
            "  description: 'Customizing Envoy. See\n  more details'\n",
            "a: b\u{2028}  c\n",
            "a: &x {b: 1}\nc:\n  <<: *x\n  d: 2\n",
            "a: &x {b: 1}\nc:\n  <<: [*x, {e: 3}]\n",
            "a: !!str 5\nb: !!int 0x1F\nc: !!float 1\nd: !!binary aGVsbG8=\n",
            "1: a\ntrue: b\n1.5: c\n",
            "a: 1\n---\n- {bad\n",
            "%YAML 1.1\n---\na: 1\n",
            "a: 2001-12-14\n2001-12-14: x\n",
            "a: .inf\n",
        ] {
            if text == "a: .inf\n" {
                continue;
            }
            assert!(
                first_document(text).is_ok(),
                "{text:?}: {:?}",
                first_document(text)
            );
        }
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(first_document(&deep).is_ok());
    }

    #[test]
    fn refuses_what_go_refuses() {
        for (text, why) in [
            ("a: [1, 2\n", "did not find expected"),
            ("%YAML 1.2\n---\na: 1\n", "%YAML 1.2"),
            ("a: *nope\n", "unknown anchor"),
            ("a: &x [*x]\n", "contains itself"),
            ("? [a]\n: b\n", "a mapping or a sequence"),
            ("~: b\n", "null"),
            ("18446744073709551615: b\n", "unsigned"),
            ("a: .nan\n", "NaN"),
            ("a: !!int abc\n", "cannot decode"),
            ("a: !!binary 'not base64!'\n", "base64"),
            ("a: 1\n<<: 5\n", "merge"),
            ("a: [1]\nb:\n  <<: [*x]\n", "unknown anchor"),
            ("a: \u{0}\n", "control characters"),
        ] {
            let message = refused(text);
            assert!(message.contains(why), "{text:?}: {message}");
        }
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(refused(&deep).contains("deeper"));
    }

    #[test]
    fn billion_laughs_is_refused_and_moderate_sharing_is_not() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        assert!(refused(&bomb).contains("excessive aliasing"));
        let mut shared = String::from("base: &b {cpu: 1, memory: 2}\n");
        for i in 0..500 {
            shared.push_str(&format!("w{i}: *b\n"));
        }
        assert!(first_document(&shared).is_ok());
    }

    #[test]
    fn the_tree_has_json_keys_and_expanded_merges() {
        let doc = first_document("b: &x {c: 1}\nd:\n  <<: *x\n  e: yes\n1: z\n").unwrap();
        assert_eq!(doc.root["d"]["c"].as_str(), Some("1"));
        assert_eq!(doc.root["d"]["e"].as_str(), Some("yes"));
        assert_eq!(doc.root["1"].as_str(), Some("z"));
        let dup = first_document("a: 1\nb: 2\na: 3\n").unwrap();
        assert_eq!(dup.root["a"].as_str(), Some("3"));
        assert_eq!(dup.duplicates[0].path, "a");
        assert_eq!(dup.duplicates[0].first_line, 1);
    }

    #[test]
    fn sigs_formats_numbers_for_string_fields() {
        let s = |text: &str, kind| Scalar {
            text: text.to_string(),
            kind,
        };
        assert_eq!(s("1.10", Kind::Float).as_go_string(), "1.1");
        assert_eq!(s("1.0", Kind::Float).as_go_string(), "1");
        assert_eq!(s("0x10", Kind::Int).as_go_string(), "16");
        assert_eq!(s("yes", Kind::Bool).as_go_string(), "true");
        assert_eq!(s("1e7", Kind::Float).as_go_string(), "1e+07");
        assert_eq!(s("123456", Kind::Float).as_go_string(), "123456");
        assert_eq!(s("1234567", Kind::Float).as_go_string(), "1.234567e+06");
        assert_eq!(s(".inf", Kind::Float).as_go_string(), "+Inf");
        assert_eq!(s("0.0001", Kind::Float).as_go_string(), "0.0001");
        assert_eq!(s("0.00001", Kind::Float).as_go_string(), "1e-05");
    }

    #[test]
    fn scalars_resolve_as_go_yaml_v2_resolves_them() {
        let doc = first_document(
            "a: yes\nb: 0x1F\nc: 017\nd: 1_000\ne: 0b101\nf: 18446744073709551615\ng: 1e400\nh: 08\ni: .5\nj: 1.2.3\nk: 2024-01-01\n",
        )
        .unwrap();
        let scalar = |key: &str| match &doc.root[key] {
            Node::Scalar(s) => s.clone(),
            other => panic!("{key}: {other:?}"),
        };
        assert_eq!(scalar("a").as_bool(), Some(true));
        assert_eq!(scalar("b").as_int(), Some(31));
        assert_eq!(scalar("c").as_int(), Some(15));
        assert_eq!(scalar("d").as_int(), Some(1000));
        assert_eq!(scalar("e").as_int(), Some(5));
        assert_eq!(scalar("f").kind, Kind::Uint);
        assert_eq!(scalar("f").as_int(), Some(u64::MAX.into()));
        assert_eq!(scalar("g").kind, Kind::Str);
        assert_eq!(scalar("h").as_float(), Some(8.0));
        assert_eq!(scalar("i").as_float(), Some(0.5));
        assert_eq!(scalar("j").kind, Kind::Str);
        assert_eq!(scalar("k").kind, Kind::Str);
        // Into a struct, a NaN under a string field is sigs' to convert, not an error yet.
        assert!(first_document("a: .nan\n").is_err());
        assert!(first_document_into("a: .nan\n", Target::Struct).is_ok());
    }

    #[test]
    fn kubectl_splits_at_separator_lines() {
        let docs = kubectl_documents("a: 1\n--- # c\nb: 2\n---\n\u{feff}c: 3\n").unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1], (2, "b: 2\n"));
        // A leading separator is part of the first document, as apimachinery writes it.
        assert_eq!(
            kubectl_documents("---# x\na: 1\n").unwrap(),
            [(0, "---# x\na: 1\n")]
        );
        assert!(kubectl_documents("a: 1\n--- x\n").is_err());
    }
}

#[cfg(test)]
mod byte_order_marks {
    /// Found by the campaign: a byte-order mark inside a flow collection, before the end.
    #[test]
    fn marks_inside_the_text_end_like_go() {
        for text in [
            "---\n{\u{feff}!\n",
            "\u{feff}---\n{\u{feff}!\n",
            "{\u{feff}\n",
        ] {
            assert!(super::first_document(text).is_err(), "{text:?}");
        }
        let doc = super::first_document("\u{feff}a: 1\n\u{feff}b: 2\n").unwrap();
        assert!(doc.root.get("\u{feff}b").is_some());
    }
}
