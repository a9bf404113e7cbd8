//! The images a pack declares: `pack.content.images` in values.yaml (`- image: REF`), the list
//! pack-central asks for and the only one a tool can trust without rendering charts. Read once
//! here for `lint` (entries that cannot be copied as written) and for `--with-images` (what to
//! copy): each entry is a reference, or skipped with the reason (a template Palette fills in
//! later, a malformed reference, a mistyped key).

use super::yaml::{self, Node};
use crate::image_ref::ImageRef;

/// Entries read at most: a list this long is no pack's.
const MAX_ENTRIES: usize = 10_000;

/// Characters of an entry repeated in a message: a reference is far shorter, and a hostile
/// entry of megabytes must not be printed whole (once per finding).
const SHOWN: usize = 200;

/// `text` cut to [`SHOWN`] characters.
fn shown(text: &str) -> String {
    match text.char_indices().nth(SHOWN) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// What `pack.content.images` holds.
#[derive(Debug, Default, PartialEq)]
pub struct Declared {
    /// The references to copy, each once, in the order written.
    pub images: Vec<ImageRef>,
    /// Entries that cannot be copied as written.
    pub skipped: Vec<Skipped>,
}

/// An entry left out, and why.
#[derive(Debug, PartialEq)]
pub struct Skipped {
    /// Its place in the list, from 1.
    pub entry: usize,
    /// What it says, as far as it says anything.
    pub text: String,
    pub why: String,
    pub fix: &'static str,
}

const TEMPLATE_FIX: &str = "list the image the template stands for (Palette fills the template in later; a copy needs the reference itself)";
const TYPO_FIX: &str = "write each entry as `- image: registry/repo:tag`";
const REF_FIX: &str =
    "write a reference a registry serves: host/repo:tag or host/repo@sha256:<64 hex>";

/// Reads values.yaml's text. The raw text is read first, so a template in an entry stays as
/// written; a file that only parses once Palette's template actions are taken out is read that
/// way, and an entry whose text changed on the way held one.
pub fn declared(values: &str) -> Declared {
    match yaml::first_document(values) {
        Ok(read) => from_node(&read.root, &|_| true),
        Err(_) => {
            let rendered = super::untemplated::untemplated(values);
            match yaml::first_document(&rendered) {
                Ok(read) => {
                    let words = words_as_written(values);
                    from_node(&read.root, &|value| words.contains(value))
                }
                Err(_) => Declared::default(),
            }
        }
    }
}

/// The images the pack archive at `path` lists, its values.yaml read through the bounded
/// archive reader (a pack fetched from a store, a tarball given to push).
pub fn declared_in_archive(
    path: &std::path::Path,
    limits: super::read::Limits,
) -> anyhow::Result<Declared> {
    let file = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let mut text = None;
    super::read::scan(file, limits, &mut |item| {
        if let super::read::Item::File { inner, data, .. } = item
            && inner == super::model::VALUES_YAML
        {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(
                &mut std::io::Read::take(data, super::model::YAML_LIMIT),
                &mut bytes,
            )?;
            text = Some(String::from_utf8_lossy(&bytes).into_owned());
        }
        Ok(())
    })?;
    Ok(text.map(|t| declared(&t)).unwrap_or_default())
}

/// The words of `raw` an entry read once templates were taken out may be, as written: runs of
/// the characters references are made of, not run into a template (`quay.io/x:{{ .tag }}`
/// gives `quay.io/x:`, which is not one). Quotes, a comment after an entry and flow style
/// (`{image: X}`) do not matter. Collected once: a file of many entries is read in one pass.
fn words_as_written(raw: &str) -> std::collections::HashSet<&str> {
    let part_of_reference = |c: char| c.is_ascii_alphanumeric() || "._-/:@+".contains(c);
    let mut words = std::collections::HashSet::new();
    let mut start = None;
    let mut before = None;
    for (at, c) in raw.char_indices().chain([(raw.len(), ' ')]) {
        match (start, part_of_reference(c)) {
            (None, true) => start = Some(at),
            (Some(from), false) => {
                if before != Some('}') && c != '{' {
                    words.insert(&raw[from..at]);
                }
                start = None;
            }
            _ => {}
        }
        if start.is_none() {
            before = Some(c);
        }
    }
    words
}

/// The entries of values' tree; `as_written` tells whether an entry's text is the file's own.
fn from_node(values: &Node, as_written: &dyn Fn(&str) -> bool) -> Declared {
    let mut declared = Declared::default();
    let list = &values["pack"]["content"]["images"];
    let Some(entries) = list.as_seq() else {
        if !list.is_null() {
            declared.skipped.push(Skipped {
                entry: 0,
                text: yaml::shape(list).to_string(),
                why: format!("is {}, not a list", yaml::shape(list)),
                fix: TYPO_FIX,
            });
        }
        return declared;
    };
    for (n, entry) in entries.iter().take(MAX_ENTRIES).enumerate() {
        let entry_no = n + 1;
        let skip = |text: String, why: String, fix| Skipped {
            entry: entry_no,
            text: shown(&text),
            why,
            fix,
        };
        let Some(map) = entry.as_map() else {
            let text = entry.as_str().unwrap_or_else(|| yaml::shape(entry));
            declared.skipped.push(skip(
                text.to_string(),
                format!("is {}, not a mapping with `image`", yaml::shape(entry)),
                TYPO_FIX,
            ));
            continue;
        };
        let Some(value) = map.get("image") else {
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            let near = keys.iter().find(|k| looks_like_image(k));
            let why = match near {
                Some(key) => format!("has `{key}`, not `image`"),
                None => format!("has no `image` key (keys: {})", keys.join(", ")),
            };
            declared.skipped.push(skip(keys.join(", "), why, TYPO_FIX));
            continue;
        };
        let Some(text) = value.as_str() else {
            declared.skipped.push(skip(
                yaml::shape(value).to_string(),
                format!(
                    "has an `image` that is {}, not a string",
                    yaml::shape(value)
                ),
                REF_FIX,
            ));
            continue;
        };
        if text.contains("{{") || !as_written(text) {
            declared
                .skipped
                .push(skip(text.to_string(), "is a template".into(), TEMPLATE_FIX));
            continue;
        }
        match ImageRef::parse(text) {
            Ok(image) if !declared.images.contains(&image) => declared.images.push(image),
            Ok(_) => {}
            Err(why) => declared.skipped.push(skip(
                text.to_string(),
                format!("is not a reference: it {why}"),
                REF_FIX,
            )),
        }
    }
    declared
}

/// A key a hand slipped on: the letters of `image`, give or take one.
fn looks_like_image(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    let mut a: Vec<char> = key.chars().collect();
    let mut b: Vec<char> = "image".chars().collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b || key.starts_with("imag") || key.starts_with("img") || key == "images"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_read_and_the_rest_says_why() {
        let values = "pack:\n  content:\n    images:\n      - image: quay.io/org/img:1\n      \
                      - image: nginx:1.25\n      - image: quay.io/org/img:1\n      \
                      - image: '{{.spectro.pack.x.uri}}'\n      - iamge: ghcr.io/a/b:1\n      \
                      - image: Bad/Name\n      - just-a-string\n      - image: busybox\n";
        let d = declared(values);
        let images: Vec<String> = d.images.iter().map(ToString::to_string).collect();
        assert_eq!(images, ["quay.io/org/img:1", "nginx:1.25", "busybox"]);
        let why: Vec<(usize, &str)> = d
            .skipped
            .iter()
            .map(|s| (s.entry, s.why.as_str()))
            .collect();
        assert_eq!(why[0], (4, "is a template"));
        assert_eq!(why[1], (5, "has `iamge`, not `image`"));
        assert!(why[2].1.starts_with("is not a reference"), "{why:?}");
        assert_eq!(why[3].0, 7);
    }

    #[test]
    fn a_file_that_parses_only_rendered_still_tells_templates_apart() {
        let values = "{{ if .x }}\npack:\n  content:\n    images:\n      - image: quay.io/a/b:1\n      \
                      - image: quay.io/{{ .Values.org }}/c:1\n{{ end }}\n";
        assert!(yaml::first_document(values).is_err());
        let d = declared(values);
        assert_eq!(d.images.len(), 1);
        assert_eq!(d.skipped[0].why, "is a template");
        // A comment after an entry, or flow style, is still the entry as written.
        let values = "{{ if .x }}\npack:\n  content:\n    images:\n      - image: quay.io/a/b:1 # pinned\n      \
                      - {image: \"quay.io/a/c:2\"}\n      - image: quay.io/a/d:{{ .Values.tag }}\n{{ end }}\n";
        let d = declared(values);
        let read: Vec<String> = d.images.iter().map(ToString::to_string).collect();
        assert_eq!(read, ["quay.io/a/b:1", "quay.io/a/c:2"], "{d:?}");
        assert_eq!(d.skipped.len(), 1, "{d:?}");
    }

    #[test]
    fn a_huge_entry_is_shown_cut() {
        let values = format!(
            "pack: {{content: {{images: [{{image: 'x{}'}}]}}}}",
            "A".repeat(100_000)
        );
        let d = declared(&values);
        assert!(
            d.skipped[0].text.chars().count() <= SHOWN + 1,
            "{}",
            d.skipped[0].text.len()
        );
    }

    #[test]
    fn no_list_is_nothing_to_copy() {
        assert_eq!(declared("pack: {namespace: x}\n"), Declared::default());
        assert_eq!(declared(""), Declared::default());
        assert_eq!(declared("pack: {content: {images: 3}}").skipped.len(), 1);
    }
}
