//! Generated files for the differential campaign: YAML built from its grammar (every scalar
//! style, tags, anchors, merges, directives, documents, the characters readers disagree on),
//! manifests mixing YAML with Go template actions, then mutated byte by byte so that near-misses
//! are as common as valid files.

use super::{Disagreement, Oracle, assert_none, compare};
use std::time::{Duration, Instant};

/// xorshift64*: reproducible from its seed, no crate needed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Runs the generator against both sides: a fixed replay by default, a timed campaign under
/// `PACKPUB_DIFF_SECONDS`.
pub fn campaign(target: &str, kinds: &[&str], generate: fn(&mut Rng) -> Vec<u8>) {
    let seconds: Option<u64> = std::env::var("PACKPUB_DIFF_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok());
    let seed = match seconds {
        Some(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
        None => 19,
    };
    eprintln!("differential campaign {target}: seed {seed}");
    let mut rng = Rng::new(seed);
    let mut oracle = Oracle::start();
    let watchdog = Watchdog::start();
    let started = Instant::now();
    let deadline = seconds.map(Duration::from_secs);
    let mut executions = 0u64;
    let mut refused = 0u64;
    let mut disagreements: Vec<Disagreement> = Vec::new();
    loop {
        match deadline {
            Some(limit) if started.elapsed() >= limit => break,
            None if executions >= 20_000 => break,
            _ => {}
        }
        let data = generate(&mut rng);
        let kind = kinds[executions as usize % kinds.len()];
        executions += 1;
        watchdog.now(kind, &data);
        match compare(&mut oracle, kind, &data) {
            Some(d) => {
                if disagreements.len() < 50 {
                    disagreements.push(d);
                }
            }
            None => {
                if super::packpub_verdict(kind, &data).is_err() {
                    refused += 1;
                }
            }
        }
    }
    eprintln!(
        "differential campaign {target}: {executions} executions in {:.1} s (seed {seed}), {refused} refused by both, {} disagreement(s)",
        started.elapsed().as_secs_f64(),
        disagreements.len()
    );
    assert_none(&format!("campaign {target} (seed {seed})"), &disagreements);
}

/// Ends the run naming the file when one comparison takes longer than any file should (a
/// reader that is not linear on it), since a stuck verdict cannot be interrupted in place.
struct Watchdog {
    current: std::sync::Arc<std::sync::Mutex<(u64, Instant, String)>>,
}

impl Watchdog {
    const LIMIT: Duration = Duration::from_secs(30);

    fn start() -> Self {
        let current =
            std::sync::Arc::new(std::sync::Mutex::new((0, Instant::now(), String::new())));
        let watched = current.clone();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(1));
                let (count, since, case) = &*watched.lock().unwrap();
                if *count == u64::MAX {
                    return;
                }
                if since.elapsed() > Self::LIMIT {
                    eprintln!("differential: one file took over {:?}: {case}", Self::LIMIT);
                    std::process::exit(101);
                }
            }
        });
        Self { current }
    }

    /// The comparison about to run.
    fn now(&self, kind: &str, data: &[u8]) {
        let mut current = self.current.lock().unwrap();
        current.0 += 1;
        current.1 = Instant::now();
        current.2 = format!("kind {kind}: {:?}", String::from_utf8_lossy(data));
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.current.lock().unwrap().0 = u64::MAX;
    }
}

const WORDS: &[&str] = &[
    "a",
    "b",
    "name",
    "image",
    "foo bar",
    "x:y",
    "-x",
    "?x",
    "a #b",
    "a#b",
    "1",
    "0x1F",
    "0o17",
    "017",
    "08",
    "1_000",
    "1e3",
    "1.5",
    ".5",
    "-1",
    "+1",
    ".inf",
    "-.Inf",
    ".nan",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "~",
    "null",
    "NULL",
    "true",
    "False",
    "2001-12-14",
    "2001-12-14 21:59:43.10",
    "2001-12-14t21:59:43.10-05:00",
    "18446744073709551615",
    "9223372036854775808",
    "-9223372036854775808",
    "0b101",
    "-0b11",
    "<<",
    "=",
    "@x",
    "%x",
    "`x",
    "|",
    ">",
    "!",
    "&",
    "*",
    "a\u{2028}b",
    "\u{85}",
    "é",
    "日本",
    "{{ .x }}",
    "a: b",
    "- c",
    "'q",
    "\"q",
];

const TAGS: &[&str] = &[
    "!!str",
    "!!int",
    "!!float",
    "!!bool",
    "!!null",
    "!!binary",
    "!!timestamp",
    "!custom",
    "!",
    "!!map",
    "!!seq",
    "!!merge",
    "!<tag:yaml.org,2002:int>",
];

struct Yaml<'r> {
    rng: &'r mut Rng,
    anchors: Vec<String>,
    out: String,
}

impl<'r> Yaml<'r> {
    fn new(rng: &'r mut Rng) -> Self {
        Self {
            rng,
            anchors: Vec::new(),
            out: String::new(),
        }
    }

    fn scalar(&mut self, indent: usize) -> String {
        let r = self.rng.below(100);
        let word = self.rng.pick(WORDS).to_string();
        let mut s = match r {
            0..=44 => word,
            45..=59 => format!("'{}'", word.replace('\'', "''")),
            60..=64 => format!("'{word}\n{}more'", " ".repeat(self.rng.below(indent + 3))),
            65..=79 => {
                let escapes = [
                    "\\n",
                    "\\t",
                    "\\x41",
                    "\\u263A",
                    "\\U0001F600",
                    "\\q",
                    "\\x4",
                    "\\\"",
                    "\\\\",
                    "\\uD800",
                    "\\0",
                    "\\e",
                    "\\N",
                    "\\_",
                    "\\L",
                    "\\P",
                ];
                let e = if self.rng.chance(40) {
                    self.rng.pick(&escapes)
                } else {
                    ""
                };
                format!("\"{}{e}\"", word.replace(['"', '\\'], ""))
            }
            80..=89 => {
                let header = self
                    .rng
                    .pick(&["|", ">", "|-", ">+", "|2", ">1-", "|+", "|0", "|10"]);
                let pad = " ".repeat(indent + 2);
                format!("{header}\n{pad}{word}\n{pad}  more\n{pad}last")
            }
            _ => String::new(),
        };
        if self.rng.chance(12) {
            s = format!("{} {s}", self.rng.pick(TAGS));
        }
        if self.rng.chance(10) {
            let name = format!("a{}", self.rng.below(4));
            self.anchors.push(name.clone());
            s = format!("&{name} {s}");
        }
        s
    }

    fn alias(&mut self) -> String {
        if !self.anchors.is_empty() && self.rng.chance(85) {
            format!("*{}", self.anchors[self.rng.below(self.anchors.len())])
        } else {
            format!("*a{}", self.rng.below(6))
        }
    }

    fn key(&mut self) -> String {
        match self.rng.below(100) {
            0..=74 => {
                let k = self.rng.pick(&[
                    "a",
                    "b",
                    "c",
                    "name",
                    "spec",
                    "kind",
                    "apiVersion",
                    "1",
                    "0x10",
                    "1.5",
                    "true",
                    "yes",
                    "~",
                    "null",
                    "<<",
                    "'<<'",
                    "2001-12-14",
                    "18446744073709551615",
                    ".inf",
                    ".nan",
                    "\"q\"",
                    "'x y'",
                    "a b",
                    "é",
                ]);
                k.to_string()
            }
            75..=84 => self.alias(),
            85..=89 => format!("? {}\n", self.flow(0)),
            _ => self.scalar(0).lines().next().unwrap_or("k").to_string(),
        }
    }

    fn flow(&mut self, depth: usize) -> String {
        if depth > 3 || self.rng.chance(40) {
            return match self.rng.below(10) {
                0 => self.alias(),
                _ => self.scalar(0).lines().next().unwrap_or("").to_string(),
            };
        }
        let n = self.rng.below(4);
        let items: Vec<String> = (0..n)
            .map(|_| {
                if self.rng.chance(50) {
                    format!("{}: {}", self.key(), self.flow(depth + 1))
                } else {
                    self.flow(depth + 1)
                }
            })
            .collect();
        let mut s = if self.rng.chance(50) {
            format!("[{}]", items.join(", "))
        } else {
            format!("{{{}}}", items.join(", "))
        };
        if self.rng.chance(8) {
            let name = format!("a{}", self.rng.below(4));
            self.anchors.push(name.clone());
            s = format!("&{name} {s}");
        }
        s
    }

    /// A block node's text after `key:` (with its leading space or newline).
    fn value(&mut self, indent: usize, depth: usize) -> String {
        match self.rng.below(100) {
            0..=39 => format!(" {}", self.scalar(indent)),
            40..=54 => format!(" {}", self.flow(0)),
            55..=59 => format!(" {}", self.alias()),
            60..=79 if depth < 5 => format!("\n{}", self.mapping(indent + 2, depth + 1)),
            80..=94 if depth < 5 => {
                let inner = if self.rng.chance(30) {
                    indent
                } else {
                    indent + 2
                };
                format!("\n{}", self.sequence(inner, depth + 1))
            }
            _ => String::new(),
        }
    }

    fn mapping(&mut self, indent: usize, depth: usize) -> String {
        let pad = " ".repeat(indent);
        let mut s = String::new();
        for _ in 0..1 + self.rng.below(4) {
            if self.rng.chance(6) {
                let merged = match self.rng.below(3) {
                    0 => self.alias(),
                    1 => format!("[{}, {}]", self.alias(), self.alias()),
                    _ => self.flow(0),
                };
                s.push_str(&format!("{pad}<<: {merged}\n"));
                continue;
            }
            let key = self.key();
            let sep = if self.rng.chance(4) { ":\t" } else { ":" };
            let value = self.value(indent, depth);
            if key.ends_with('\n') {
                s.push_str(&format!("{pad}{key}{pad}:{value}\n"));
            } else {
                s.push_str(&format!("{pad}{key}{sep}{value}\n"));
            }
            if self.rng.chance(5) {
                s.push_str(&format!("{pad}# a comment {{{{ $labels.x }}}}\n"));
            }
        }
        s
    }

    fn sequence(&mut self, indent: usize, depth: usize) -> String {
        let pad = " ".repeat(indent);
        let mut s = String::new();
        for _ in 0..1 + self.rng.below(3) {
            let item = if depth < 5 && self.rng.chance(30) {
                let inner = self.mapping(indent + 2, depth + 1);
                inner.trim_start().to_string()
            } else {
                format!("{}\n", self.value(indent, depth).trim_start())
            };
            s.push_str(&format!("{pad}- {item}"));
            if !s.ends_with('\n') {
                s.push('\n');
            }
        }
        s
    }

    fn document(&mut self) -> String {
        self.anchors.clear();
        match self.rng.below(10) {
            0 => format!("{}\n", self.flow(0)),
            1 => self.sequence(0, 0),
            2 => format!("{}\n", self.scalar(0)),
            _ => self.mapping(0, 0),
        }
    }
}

/// A mutation: the small edits that turn a valid file into a near-miss.
fn mutate(rng: &mut Rng, text: &mut String) {
    const INSERTS: &[&str] = &[
        ":", "-", "?", "[", "]", "{", "}", ",", "'", "\"", "#", "&", "*", "!", "|", ">", "\t", " ",
        "  ", "\n", "%", "@", "`", "\u{2028}", "\u{feff}", "\u{0}", "\u{1}", "\u{7f}", "\r\n",
        "---\n", "...\n", "{{", "}}", "\\",
    ];
    for _ in 0..1 + rng.below(3) {
        let boundaries: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect();
        let at = boundaries[rng.below(boundaries.len())];
        match rng.below(3) {
            0 => text.insert_str(at, rng.pick(INSERTS)),
            1 if at < text.len() => {
                let end = boundaries
                    .iter()
                    .copied()
                    .find(|&b| b > at)
                    .unwrap_or(text.len());
                text.replace_range(at..end, "");
            }
            _ => {
                // Shift a line's indentation.
                let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                if rng.chance(50) {
                    text.insert(line_start, ' ');
                } else if text[line_start..].starts_with(' ') {
                    text.remove(line_start);
                }
            }
        }
    }
}

/// A YAML file: one or more documents, sometimes with directives, a BOM or a mutation.
pub fn yaml_file(rng: &mut Rng) -> Vec<u8> {
    let mut out = String::new();
    if rng.chance(5) {
        out.push('\u{feff}');
    }
    sometimes(
        rng,
        &mut out,
        8,
        &[
            "%YAML 1.1\n---\n",
            "%YAML 1.2\n---\n",
            "%TAG !e! tag:e.com,2000:\n---\n",
            "---\n",
            "--- ",
        ],
    );
    let mut y = Yaml::new(rng);
    let doc = y.document();
    y.out.push_str(&doc);
    if y.rng.chance(15) {
        y.out
            .push_str(y.rng.pick(&["---\n", "...\n", "---\n- {bad\n", "--- x\n"]));
        let second = y.document();
        y.out.push_str(&second);
    }
    let mut text = std::mem::take(&mut y.out);
    if rng.chance(35) {
        mutate(rng, &mut text);
    }
    out.push_str(&text);
    out.into_bytes()
}

const ACTIONS: &[&str] = &[
    "{{ .Values.x }}",
    "{{ $x := .a }}",
    "{{ $x }}",
    "{{ $y }}",
    "{{ if .a }}",
    "{{ else }}",
    "{{ else if .b }}",
    "{{ end }}",
    "{{- end }}",
    "{{ range $i, $v := .l }}",
    "{{ with .w }}",
    "{{ define \"n\" }}",
    "{{ template \"n\" . }}",
    "{{ block \"b\" . }}",
    "{{/* c */}}",
    "{{- /* c */ -}}",
    "{{/* {{ end }} */}}",
    "{{ \"str\" }}",
    "{{ \"unterminated }}",
    "{{ `raw` }}",
    "{{ 'c' }}",
    "{{ .a | default \"x\" | quote }}",
    "{{ (.a) }}",
    "{{ ( .a }}",
    "{{ break }}",
    "{{ continue }}",
    "{{ nil }}",
    "{{ 1.5e3 }}",
    "{{ 0x1F }}",
    "{{ .a.b.c }}",
    "{{ $.a }}",
    "{{ index .m \"k\" }}",
    "{{pod.name}}",
    "{{ fn .x }}",
    "{{-.x}}",
    "{{ .x -}}",
    "{{ .a | }}",
    "{{ | .a }}",
    "{{ }}",
    "{{ 1 2 }}",
    "{{ .a .b }}",
    "{{ $x = 1 }}",
    "{{ range .l }}{{ break }}{{ end }}",
    "{{ $z := 1 }}{{ $z }}",
    "{{ toYaml .v | indent 4 }}",
    "{{ else with .z }}",
    "{{ .spectro.system.cluster.name }}",
    "{{ 'ab' }}",
    "{{ \"a\\qb\" }}",
];

/// Actions Go parses wherever they stand: most of a generated file, so that the YAML behind them
/// is reached as often as the template's own near-misses.
const VALID_ACTIONS: &[&str] = &[
    "{{ .Values.x }}",
    "{{/* c */}}",
    "{{- /* c */ -}}",
    "{{ \"str\" }}",
    "{{ `raw` }}",
    "{{ .a | default \"x\" | quote }}",
    "{{ (.a) }}",
    "{{ nil }}",
    "{{ 0x1F }}",
    "{{ .a.b.c }}",
    "{{ $.a }}",
    "{{ index .m \"k\" }}",
    "{{pod.name}}",
    "{{ fn .x }}",
    "{{ .x -}}",
    "{{ $z := 1 }}{{ $z }}",
    "{{ toYaml .v | indent 4 }}",
    "{{ .spectro.system.cluster.name }}",
    "{{ if .a }}x{{ end }}",
    "{{ range .l }}{{ . }}{{ end }}",
];

/// A kubeManifests file: Kubernetes objects whose values and lines hold template actions.
pub fn manifest_file(rng: &mut Rng) -> Vec<u8> {
    let mut text = String::new();
    for doc in 0..1 + rng.below(3) {
        if doc > 0 || rng.chance(20) {
            text.push_str(rng.pick(&["---\n", "--- # next\n", "---\n\n"]));
        }
        if rng.chance(85) {
            text.push_str("apiVersion: v1\n");
        }
        sometimes(
            rng,
            &mut text,
            85,
            &[
                "kind: ConfigMap\n",
                "kind: 5\n",
                "kind: ''\n",
                "kind: Secret\n",
            ],
        );
        text.push_str("metadata:\n  name: x\ndata:\n");
        for _ in 0..rng.below(5) {
            let action = if rng.chance(85) {
                rng.pick(VALID_ACTIONS)
            } else {
                rng.pick(ACTIONS)
            };
            match rng.below(4) {
                0 => text.push_str(&format!("{action}\n")),
                1 => text.push_str(&format!("  k{}: {action}\n", rng.below(9))),
                2 => text.push_str(&format!("  k{}: \"{action}\"\n", rng.below(9))),
                _ => text.push_str(&format!("  # {action}\n")),
            }
        }
        if rng.chance(30) {
            let mut y = Yaml::new(rng);
            let extra = y.mapping(2, 1);
            text.push_str("extra:\n");
            text.push_str(&extra);
        }
    }
    if rng.chance(30) {
        mutate(rng, &mut text);
    }
    text.into_bytes()
}

/// A PAX record `"<len> key=value\n"`, its length counting itself.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}").len() + body.len() != len {
        len += 1;
    }
    format!("{len}{body}").into_bytes()
}

/// One tar entry with its name written as it is (so `..`, `/` and `\` reach the reader).
fn tar_entry(builder: &mut tar::Builder<Vec<u8>>, name: &[u8], kind: u8, data: &[u8]) {
    let mut header = tar::Header::new_ustar();
    let n = name.len().min(100);
    header.as_old_mut().name[..n].copy_from_slice(&name[..n]);
    header.set_entry_type(tar::EntryType::new(kind));
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    if matches!(kind, b'1' | b'2') {
        header.as_old_mut().linkname[..9].copy_from_slice(b"Chart.yml");
    }
    header.set_cksum();
    builder.append(&header, data).unwrap();
}

/// Appends one of `choices` to `text`, `percent` of the time.
fn sometimes(rng: &mut Rng, text: &mut String, percent: usize, choices: &[&str]) {
    if rng.chance(percent) {
        text.push_str(rng.pick(choices));
    }
}

fn chart_yaml(rng: &mut Rng) -> String {
    if rng.chance(8) {
        return String::from_utf8_lossy(&yaml_file(rng)).into_owned();
    }
    let mut text = String::new();
    match rng.below(4) {
        0 => {}
        1 => text.push_str("apiVersion: v1\n"),
        _ => text.push_str("apiVersion: v2\n"),
    }
    if rng.chance(92) {
        let name = if rng.chance(70) {
            "demo"
        } else {
            rng.pick(&["a/b", "", "Demo_1", "x.y", "'quoted'", "1"])
        };
        text.push_str(&format!("name: {name}\n"));
    }
    if rng.chance(92) {
        let version = if rng.chance(60) {
            "0.1.0"
        } else {
            rng.pick(&[
                "1",
                "1.0",
                "1.10",
                "v1.2.3",
                "latest",
                "1.2.3-rc.1+b",
                "''",
                "01.2.3",
                "1.2.3.4",
                "\"2.0\"",
                "1.2.x",
                "~",
                "[1]",
            ])
        };
        text.push_str(&format!("version: {version}\n"));
    }
    if rng.chance(30) {
        let kind = rng.pick(&["application", "library", "plugin", "''", "Application"]);
        text.push_str(&format!("type: {kind}\n"));
    }
    sometimes(
        rng,
        &mut text,
        20,
        &[
            "appVersion: 1.10\n",
            "appVersion: [x]\n",
            "appVersion: \"1.0\"\n",
        ],
    );
    sometimes(
        rng,
        &mut text,
        20,
        &[
            "maintainers: [~, {name: a}]\n",
            "maintainers: [{name: a, email: b}]\n",
            "maintainers: x\n",
        ],
    );
    sometimes(
        rng,
        &mut text,
        25,
        &[
            "dependencies:\n  - name: sub\n    version: 0.1.0\n",
            "dependencies:\n  - name: sub\n    alias: s-1\n  - name: sub\n    alias: s-1\n",
            "dependencies:\n  - name: sub\n    alias: 'bad alias'\n",
            "dependencies: [~]\n",
            "dependencies:\n  - name: a\n  - name: b\n    alias: a\n",
        ],
    );
    sometimes(
        rng,
        &mut text,
        10,
        &[
            "deprecated: \"yes\"\n",
            "keywords: one\n",
            "annotations: {a: .inf}\n",
            "x: .nan\n",
            "icon: 5\n",
        ],
    );
    text
}

/// A chart archive as packs carry them, or as tar, git or a hostile hand writes them: any top
/// folder (or none, `./`, `/`, backslashes), entries of every type tar knows, PAX and GNU
/// headers, Chart.yaml and values of every shape, subcharts, broken gzip.
pub fn chart_archive(rng: &mut Rng) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let top = if rng.chance(60) {
        "demo/"
    } else {
        rng.pick(&["./", "./demo/", "/", "a\\", "", "x/y/", "demo\\"])
    };
    let sep = if top.ends_with('\\') { "\\" } else { "/" };
    if rng.chance(10) {
        tar_entry(
            &mut builder,
            b"pax_global_header",
            b'g',
            &pax_record("comment", "0123abc"),
        );
    }
    if rng.chance(30) {
        tar_entry(&mut builder, top.as_bytes(), b'5', b"");
    }
    let mut files: Vec<(String, Vec<u8>, u8)> = Vec::new();
    if rng.chance(93) {
        files.push(("Chart.yaml".into(), chart_yaml(rng).into_bytes(), b'0'));
    }
    if rng.chance(70) {
        let values = match rng.below(10) {
            0 => b"just a string\n".to_vec(),
            1 => b"- a\n".to_vec(),
            2 => yaml_file(rng),
            _ => b"image:\n  repository: nginx\n  tag: \"1.27\"\n".to_vec(),
        };
        files.push(("values.yaml".into(), values, b'0'));
    }
    files.push((
        "templates/cm.yaml".into(),
        b"kind: ConfigMap\n".to_vec(),
        b'0',
    ));
    match rng.below(8) {
        0 => files.push((
            "charts/sub/Chart.yaml".into(),
            chart_yaml(rng).into_bytes(),
            b'0',
        )),
        1 => {
            let mut inner = Rng::new(rng.next());
            files.push((
                "charts/sub-0.1.0.tgz".into(),
                chart_archive(&mut inner),
                b'0',
            ));
        }
        2 => files.push((
            "Chart.lock".into(),
            rng.pick(&[
                "generated: 2019-01-02T03:04:05Z\n",
                "generated: 2019-01-02\n",
                "dependencies: x\n",
            ])
            .into(),
            b'0',
        )),
        3 => files.push((
            "requirements.yaml".into(),
            b"dependencies:\n  - name: sub\n".to_vec(),
            b'0',
        )),
        4 => files.push(("values.schema.json".into(), b"{}".to_vec(), b'0')),
        _ => {}
    }
    for (name, data, kind) in files {
        let mut full = format!("{top}{}", name.replace('/', sep));
        match rng.below(40) {
            0 => full = name.clone(),
            1 => full = format!("{top}../{name}"),
            2 => full = format!("{top}templates/../{name}"),
            3 => full = format!("/{full}"),
            4 => full = format!("other/{name}"),
            5 => full = format!("{top}./{name}"),
            _ => {}
        }
        let kind = match rng.below(60) {
            0 => b'2',
            1 => b'1',
            2 => b'3',
            3 => b'7',
            _ => kind,
        };
        match rng.below(25) {
            0 => {
                tar_entry(&mut builder, b"PaxHeader", b'x', &pax_record("path", &full));
                tar_entry(&mut builder, b"ignored", kind, &data);
            }
            1 => {
                let mut long = full.clone().into_bytes();
                long.push(0);
                tar_entry(&mut builder, b"././@LongLink", b'L', &long);
                tar_entry(&mut builder, b"ignored", kind, &data);
            }
            _ => tar_entry(&mut builder, full.as_bytes(), kind, &data),
        }
        if rng.chance(3) {
            tar_entry(&mut builder, full.as_bytes(), b'0', b"dup: 1\n");
        }
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    let mut out = gz.finish().unwrap();
    match rng.below(40) {
        0 => out.truncate(out.len() / 2),
        1 => out.extend_from_slice(b"trailing garbage"),
        2 => out = tar,
        3 => {
            let len = out.len();
            let at = 10 + rng.below(len.saturating_sub(10).max(1));
            out[at.min(len - 1)] ^= 0x20;
        }
        _ => {}
    }
    out
}

/// Template text alone: actions from the pool joined with text, quotes, parens, trim markers and
/// comments, then mutated around the delimiters.
pub fn template_file(rng: &mut Rng) -> Vec<u8> {
    const GLUE: &[&str] = &[
        "", " ", "\n", "x", "{", "}", "\"", "'", "`", "(", ")", "|", "$", "-", "/*", "*/", ":=",
        "=", ".", ",",
    ];
    let mut text = String::new();
    for _ in 0..1 + rng.below(8) {
        text.push_str(rng.pick(ACTIONS));
        text.push_str(rng.pick(GLUE));
    }
    if rng.chance(50) {
        mutate(rng, &mut text);
    }
    text.into_bytes()
}
