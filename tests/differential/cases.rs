//! Edge cases of our own: where readers are known to differ (issue 19's lists and more). Each
//! is compared with Go's readers; `go_accepts` pins what Go does where it matters, so a case
//! cannot pass by both sides drifting together.

pub struct Case {
    pub name: String,
    pub kind: &'static str,
    pub data: Vec<u8>,
    pub go_accepts: Option<bool>,
}

fn case(kind: &'static str, name: &str, text: &str, go_accepts: Option<bool>) -> Case {
    Case {
        name: name.to_string(),
        kind,
        data: text.as_bytes().to_vec(),
        go_accepts,
    }
}

const K8S: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n";

pub fn all() -> Vec<Case> {
    let ok = Some(true);
    let no = Some(false);
    let mut cases = Vec::new();
    // YAML as Helm reads values (kind values: Palette's macros first, then a map).
    for (name, text, expect) in [
        (
            "single-quoted continued at the key's indentation",
            "spec:\n  description: 'Customizing Envoy. See\n  more details at: https://istio.io/x'\n",
            ok,
        ),
        (
            "double-quoted continued at the key's indentation",
            "spec:\n  d: \"one\n  two\"\n",
            ok,
        ),
        ("a tab after key:", "a:\tb\n", ok),
        ("a tab after a flow comma", "a: [1,\t2]\n", ok),
        ("tabs as indentation", "a:\n\tb: 1\n", no),
        ("U+2028 inside a quoted value", "a: 'x\u{2028}y'\n", None),
        ("U+2028 inside a plain value", "a: b\u{2028}  c\n", None),
        ("U+0085 next line", "a: b\u{85}c\n", None),
        ("a byte-order mark first", "\u{feff}a: 1\n", ok),
        ("a byte-order mark mid-file", "a: 1\n\u{feff}b: 2\n", None),
        ("two byte-order marks first", "\u{feff}\u{feff}a: 1\n", ok),
        (
            "an anchor redefined inside its own node",
            "a: &x [&x b, *x]\n",
            ok,
        ),
        (
            "an escaped single quote in double quotes",
            "a: \"it\\'s\"\n",
            ok,
        ),
        (
            "a NaN under a key a later NaN key replaces",
            "a:\n  1: .nan\n  1: 2\n",
            ok,
        ),
        ("NUL in a value", "a: b\u{0}c\n", no),
        ("a control character in a value", "a: b\u{1}c\n", no),
        ("DEL in a value", "a: b\u{7f}c\n", no),
        ("%YAML 1.1", "%YAML 1.1\n---\na: 1\n", ok),
        ("%YAML 1.2", "%YAML 1.2\n---\na: 1\n", no),
        ("%YAML 2.0", "%YAML 2.0\n---\na: 1\n", no),
        (
            "%TAG directive",
            "%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n",
            ok,
        ),
        ("a directive without ---", "%YAML 1.1\na: 1\n", no),
        ("a complex sequence key", "? [a, b]\n: c\n", no),
        ("a complex mapping key", "? {a: 1}\n: c\n", no),
        ("a null key", "~: x\n", no),
        ("a null key spelled null", "null: x\n", no),
        ("an empty key", "? \n: x\n", no),
        ("a quoted null key", "'null': x\n", ok),
        ("a key past int64", "18446744073709551615: x\n", no),
        ("a value past int64", "a: 18446744073709551615\n", ok),
        ("the largest int64 key", "9223372036854775807: x\n", ok),
        ("the smallest int64 key", "-9223372036854775808: x\n", ok),
        ("hex and binary keys", "0x10: a\n0b101: b\n0o17: c\n", ok),
        ("a timestamp key", "2001-12-14: x\n", ok),
        ("bool keys", "yes: 1\non: 2\nfalse: 3\n", ok),
        ("float keys", "1.5: a\n1e3: b\n.inf: c\n", ok),
        ("a bare string", "just text\n", no),
        ("a list", "- a\n- b\n", no),
        ("a number", "5\n", no),
        ("empty", "", ok),
        ("only a comment", "# nothing\n", ok),
        ("a null document", "~\n", ok),
        ("an empty mapping", "{}\n", ok),
        ("a key written twice", "a: 1\nb: 2\na: 3\n", ok),
        ("a key written twice, nested", "a:\n  b: 1\n  b: 2\n", ok),
        ("an unknown alias", "a: *nope\n", no),
        ("an alias inside its anchor", "a: &x [*x]\n", no),
        (
            "an alias to an earlier document",
            "a: &x 1\n---\nb: *x\n",
            ok,
        ),
        ("a broken second document", "a: 1\n---\n- {bad\n", None),
        (
            "a second document that is not a map",
            "a: 1\n---\n- x\n",
            ok,
        ),
        ("!!int on a word", "a: !!int abc\n", no),
        ("!!int on a number", "a: !!int 12\n", ok),
        ("!!float on an int", "a: !!float 1\n", ok),
        (
            "!!float on an int past int64",
            "a: !!float 18446744073709551615\n",
            no,
        ),
        ("!!bool yes", "a: !!bool yes\n", ok),
        ("!!bool maybe", "a: !!bool maybe\n", no),
        ("!!null on a word", "a: !!null x\n", no),
        ("!!str on a number", "a: !!str 12\n", ok),
        ("!!binary base64", "a: !!binary aGVsbG8=\n", ok),
        ("!!binary garbage", "a: !!binary '@@@'\n", no),
        (
            "!!binary folded over lines",
            "a: !!binary |\n  aGVs\n  bG8=\n",
            ok,
        ),
        ("!!timestamp date", "a: !!timestamp 2001-12-14\n", ok),
        ("!!timestamp word", "a: !!timestamp nope\n", no),
        ("a local tag", "a: !custom x\n", ok),
        ("the non-specific tag", "a: ! 12\n", ok),
        ("!!seq on a sequence", "a: !!seq [1]\n", ok),
        ("a verbatim tag", "a: !<tag:yaml.org,2002:int> 5\n", ok),
        (
            "a merge of an alias",
            "b: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n",
            ok,
        ),
        (
            "a merge of a list of aliases",
            "b: &b {x: 1}\nd: &d {z: 1}\nc:\n  <<: [*b, *d]\n",
            ok,
        ),
        ("a merge of a scalar", "c:\n  <<: 5\n", no),
        ("a merge of a list holding a scalar", "c:\n  <<: [5]\n", no),
        (
            "a merge of an alias to a scalar",
            "b: &b 5\nc:\n  <<: *b\n",
            no,
        ),
        ("a quoted << is a key", "c:\n  '<<': 5\n", ok),
        ("NaN", "a: .nan\n", no),
        ("infinity", "a: .inf\n", no),
        ("minus infinity in a list", "a: [-.Inf]\n", no),
        ("quoted .nan", "a: '.nan'\n", ok),
        ("words Go's float parser knows", "a: NaN\nb: Infinity\n", ok),
        ("a billion laughs", &billion_laughs(), no),
        ("shared blocks", &shared_blocks(), ok),
        (
            "9,999 flow levels under a key",
            &format!("a: {}{}\n", "[".repeat(9_999), "]".repeat(9_999)),
            ok,
        ),
        (
            "10,000 flow levels under a key: JSON's limit",
            &format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000)),
            no,
        ),
        (
            "10,001 flow levels",
            &format!("a: {}{}\n", "[".repeat(10_001), "]".repeat(10_001)),
            no,
        ),
        ("300 block levels", &nested_blocks(300), ok),
        ("CRLF line ends", "a: 1\r\nb:\r\n  c: 2\r\n", ok),
        ("an invalid double-quoted escape", "a: \"\\q\"\n", no),
        (
            "valid double-quoted escapes",
            "a: \"\\x41\\u263A\\U0001F600\\t\\N\\_\"\n",
            ok,
        ),
        ("a surrogate escape", "a: \"\\uD800\"\n", None),
        ("an unclosed quote", "a: 'b\n", no),
        (
            "block scalars",
            "a: |2\n   x\nb: >-\n  y\n  z\nc: |+\n  w\n\n",
            ok,
        ),
        ("a flow mapping with a plain colon", "a: {b:c}\n", None),
        ("a question mark in flow", "a: [?x]\n", None),
        (
            "a question mark inside a flow scalar",
            "a: [http://x?a=b]\n",
            no,
        ),
        ("a colon before a flow comma", "a: [1.5:, b]\n", ok),
        (
            "a control character past the first document",
            "a: 1\n...\n\u{7f}\n",
            no,
        ),
        ("a tag starting with a flow indicator", "a: !!]map x\n", ok),
        ("colons in plain scalars", "url: http://x:80/y\n", ok),
        (
            "a key over 1024 characters",
            &format!("{}: x\n", "k".repeat(1100)),
            no,
        ),
        ("an anchor on an empty value", "a: &x\nb: *x\n", ok),
        ("an alias as a key", "a: &k key\n*k : 1\n", ok),
        (
            "an alias to a mapping as a key",
            "a: &m {x: 1}\n? *m\n: 1\n",
            no,
        ),
        ("a comment without a space", "a: b#c\n", ok),
        ("document end then text", "a: 1\n...\nb: 2\n", ok),
        (
            "alert text in a comment",
            "rules:\n  # {{ $labels.instance }} is down\n  - alert: x\n",
            ok,
        ),
        (
            "Jinja in a block scalar",
            "cfg: |\n  {% if x %}y{% endif %}\n",
            ok,
        ),
        (
            "an unclosed if (Palette renders macros only)",
            "a: 1\n{{ if .x }}\nb: 2\n",
            ok,
        ),
        (
            "Palette macros",
            "name: {{ .spectro.system.cluster.name }}\nns: \"{{ .spectro.pack.x.namespace }}\"\n",
            ok,
        ),
    ] {
        cases.push(case("values", name, text, expect));
    }
    // The same YAML straight through sigs.k8s.io/yaml (no macros, any document shape).
    for (name, text, expect) in [
        ("a bare string is YAML", "just text\n", ok),
        ("text after a root flow collection", "[a] x\n", ok),
        (
            "an empty flow collection opening the document, as a key",
            "{}: 1\nb: 2\n",
            ok,
        ),
        ("a flow collection as the first key", "[a]: 1\n", no),
        (
            "an empty flow collection as a later key",
            "a: 1\n? []\n: 2\n",
            no,
        ),
        ("a list is YAML", "- a\n", ok),
        ("braces are flow YAML", "a: {{ .x }}\n", no),
        ("NaN in a list", "[.NaN]\n", no),
        (
            "10,000 flow levels",
            &format!("{}{}\n", "[".repeat(10_000), "]".repeat(10_000)),
            ok,
        ),
        (
            "10,001 flow levels",
            &format!("{}{}\n", "[".repeat(10_001), "]".repeat(10_001)),
            no,
        ),
        ("a null key in a list's map", "- ~: 1\n", no),
    ] {
        cases.push(case("yaml", name, text, expect));
    }
    // kubeManifests: the template, kubectl's splitting, each object.
    for (name, text, expect) in [
        ("one object", K8S.to_string(), ok),
        ("two objects", format!("{K8S}---\n{K8S}"), ok),
        (
            "a separator with a comment",
            format!("{K8S}--- # next\n{K8S}"),
            ok,
        ),
        (
            "a separator followed by text",
            format!("{K8S}--- x\n{K8S}"),
            None,
        ),
        (
            "a separator with a tag",
            format!("{K8S}--- !!map\n{K8S}"),
            None,
        ),
        ("empty documents", format!("---\n---\n{K8S}---\n"), ok),
        (
            "a leading separator glued to its comment",
            format!("---# next\n{K8S}"),
            no,
        ),
        (
            "a document end after a leading separator",
            format!("---\n...\n\n{K8S}"),
            ok,
        ),
        ("a null document", format!("~\n---\n{K8S}"), ok),
        ("no kind", "apiVersion: v1\nmetadata: {}\n".into(), no),
        ("no apiVersion", "kind: ConfigMap\n".into(), no),
        (
            "a kind that is a number",
            "apiVersion: v1\nkind: 5\n".into(),
            no,
        ),
        ("an empty kind", "apiVersion: v1\nkind: ''\n".into(), no),
        ("a null kind", "apiVersion: v1\nkind: ~\n".into(), no),
        ("a scalar document", format!("{K8S}---\ntext\n"), no),
        ("a list document", format!("{K8S}---\n- a\n"), no),
        (
            "a byte-order mark at a later document",
            format!("{K8S}---\n\u{feff}{K8S}"),
            ok,
        ),
        (
            "a key written twice",
            format!("{K8S}data:\n  a: 1\n  a: 2\n"),
            ok,
        ),
        (
            "broken YAML in the second document",
            format!("{K8S}---\napiVersion: v1\nkind: [x\n"),
            no,
        ),
        (
            "a value",
            format!("{K8S}data:\n  v: {{{{ .Values.x }}}}\n"),
            ok,
        ),
        (
            "a quoted action",
            format!("{K8S}data:\n  v: \"{{{{ .Values.x | quote }}}}\"\n"),
            ok,
        ),
        (
            "an unterminated quote in an action",
            format!("{K8S}data:\n  v: {{{{ \"abc }}}}\n"),
            no,
        ),
        ("a stray end", format!("{K8S}{{{{ end }}}}\n"), no),
        (
            "an undefined variable",
            format!("{K8S}data:\n  v: {{{{ $x }}}}\n"),
            no,
        ),
        (
            "a defined variable",
            format!("{{{{ $x := 1 }}}}\n{K8S}data:\n  v: {{{{ $x }}}}\n"),
            ok,
        ),
        (
            "a comment holding }}",
            format!("{{{{/* {{{{ end }}}} */}}}}\n{K8S}"),
            ok,
        ),
        ("an unclosed if", format!("{{{{ if .x }}}}\n{K8S}"), no),
        (
            "an if with end",
            format!("{{{{- if .x }}}}\n{K8S}{{{{- end }}}}\n"),
            ok,
        ),
        (
            "if, else, end",
            format!("{{{{ if .x }}}}\n{K8S}{{{{ else }}}}\n{K8S}{{{{ end }}}}\n"),
            ok,
        ),
        ("a stray else", format!("{K8S}{{{{ else }}}}\n"), no),
        (
            "a function Go does not know",
            format!("{K8S}data:\n  v: {{{{ foo .x }}}}\n"),
            ok,
        ),
        (
            "Argo's own syntax",
            format!("{K8S}data:\n  v: '{{{{pod.name}}}}'\n"),
            ok,
        ),
        (
            "a pipe with nothing after it (Go takes it)",
            format!("{K8S}data:\n  v: {{{{ .a | }}}}\n"),
            ok,
        ),
        (
            "trim markers",
            format!("{K8S}data:\n  v: {{{{- .x -}}}}\n"),
            ok,
        ),
        (
            "a trim marker without a space",
            format!("{K8S}data:\n  v: {{{{-.x}}}}\n"),
            no,
        ),
        (
            "range with variables",
            format!(
                "{K8S}data:\n{{{{ range $i, $v := .l }}}}\n  k{{{{ $i }}}}: {{{{ $v }}}}\n{{{{ end }}}}\n"
            ),
            ok,
        ),
        (
            "define and template",
            format!(
                "{{{{ define \"n\" }}}}\nx: 1\n{{{{ end }}}}\n{K8S}data:\n  v: {{{{ template \"n\" . }}}}\n"
            ),
            ok,
        ),
        (
            "a tag holding flow indicators",
            format!("{K8S}data:\n  v: !a[b],c 1\n"),
            ok,
        ),
        ("break outside range", format!("{K8S}{{{{ break }}}}\n"), no),
        (
            "an unclosed paren",
            format!("{K8S}data:\n  v: {{{{ (.x }}}}\n"),
            no,
        ),
        (
            "arguments to a number (an error only when run)",
            format!("{K8S}data:\n  v: {{{{ 1 2 }}}}\n"),
            ok,
        ),
        (
            "an unclosed action",
            format!("{K8S}data:\n  v: {{{{ .x \n"),
            no,
        ),
        ("an unclosed comment", format!("{K8S}{{{{/* x\n"), no),
        (
            "alert text in a comment",
            format!("{K8S}# {{{{ $labels.instance }}}}\n"),
            no,
        ),
        (
            "an action over lines",
            format!("{K8S}data:\n  v: {{{{ .a\n  | quote }}}}\n"),
            ok,
        ),
        (
            "a raw string",
            format!("{K8S}data:\n  v: {{{{ `raw` }}}}\n"),
            ok,
        ),
        (
            "a bad character constant",
            format!("{K8S}data:\n  v: {{{{ 'ab' }}}}\n"),
            no,
        ),
        (
            "else with (Go 1.23+)",
            format!("{{{{ with .a }}}}x{{{{ else with .b }}}}y{{{{ end }}}}\n{K8S}"),
            None,
        ),
    ] {
        cases.push(case("manifest", name, &text, expect));
    }
    cases
}

fn billion_laughs() -> String {
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (prev, name) in ('a'..'i').zip('b'..='i') {
        let aliases = vec![format!("*{prev}"); 9].join(",");
        bomb.push_str(&format!("{name}: &{name} [{aliases}]\n"));
    }
    bomb
}

fn shared_blocks() -> String {
    let mut values = String::from("defaults: &d\n  cpu: 100m\n  memory: 64Mi\n");
    for i in 0..2_000 {
        values.push_str(&format!("service{i}:\n  resources: *d\n"));
    }
    values
}

fn nested_blocks(levels: usize) -> String {
    let mut text = String::new();
    for level in 0..levels {
        text.push_str(&format!("{}k{level}:\n", " ".repeat(level)));
    }
    text.push_str(&format!("{}leaf: 1\n", " ".repeat(levels)));
    text
}
