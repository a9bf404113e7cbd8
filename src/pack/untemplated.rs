//! Palette's template actions (`{{ .spectro.system.* }}`, `{{ .Values.x }}`, Sprig calls)
//! taken out of a file's text before its YAML is checked, so that what Palette renders before
//! it reads YAML is not reported as broken YAML: the rule rooms (`validate.rs`, `values.rs`)
//! read rendered-away text from here.

/// `text` with Palette's template actions (`{{ .spectro.system.* }}`, `{{ .Values.x }}`, Sprig
/// calls) taken out, so that what Palette renders before it reads YAML is not reported as
/// broken YAML; see [`render_away`]. This checks what holds without rendering; it does not
/// render.
pub(super) fn untemplated(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("{{") {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(render_away(text).0)
}

pub(super) const UNCLOSED_FIX: &str =
    "close the block with {{ end }} (a `{- end}` is text, not an action)";

pub(super) fn unclosed_message(line: u64, action: &str) -> String {
    format!(
        "has a template action {{{{{action}}}}} on line {line} that no {{{{ end }}}} closes; Go's template parser refuses the file"
    )
}

/// Whether an action whose text (past `{{`) is `after` is a comment, as Go's lexer tells:
/// `/*` at once, or after a trim marker (`-` and one space).
fn opens_comment(after: &str) -> bool {
    after.starts_with("/*")
        || (after.starts_with('-')
            && after[1..].starts_with([' ', '\t', '\r', '\n'])
            && after[2..].starts_with("/*"))
}

/// Where the `}}` closing an action is in `rest`: the first one, or for a comment the first
/// after its `*/` (a comment may hold `}}`).
fn action_close(rest: &str, comment: bool) -> Option<usize> {
    if comment {
        let end = rest.find("*/")? + 2;
        return rest[end..].find("}}").map(|i| end + i);
    }
    rest.find("}}")
}

/// Takes Go-template actions out of `text`, keeping its line numbers: a line that is only
/// actions becomes empty, an action inside a line becomes the word `x`, an action spanning
/// lines empties the lines it covers (the text before it and after it stays). Of an `if`/`with`
/// /`range` block standing on its own lines, only the first branch is kept: `else` branches
/// become empty lines, as the branches may hold other shapes of YAML. Also returns the first
/// block action left open at the end (its line and words).
pub(super) fn render_away(text: &str) -> (String, Option<(u64, String)>) {
    let mut out = String::with_capacity(text.len());
    // Inside an action that spans lines: `Some(true)` when it is a comment.
    let mut inside_action: Option<bool> = None;
    // Open blocks, innermost last: whether each one's rest is skipped (an else branch, a
    // definition). One flag each, and the count of those set, so that a file of nothing but
    // opened blocks costs a byte per block and a constant per line.
    let mut blocks: Vec<bool> = Vec::new();
    let mut skipping = 0usize;
    // The outermost open block's line and words: the one reported when it is left open.
    let mut outermost: Option<(u64, String)> = None;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let number = index as u64 + 1;
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let mut rest = body;
        let mut kept = String::new();
        let mut actions = 0;
        if let Some(comment) = inside_action {
            match action_close(rest, comment) {
                None => {
                    out.push_str(end);
                    continue;
                }
                Some(close) => {
                    inside_action = None;
                    actions += 1;
                    kept.push('x');
                    rest = &rest[close + 2..];
                }
            }
        }
        let mut only_actions = true;
        while let Some(open) = rest.find("{{") {
            only_actions &= rest[..open].trim().is_empty();
            kept.push_str(&rest[..open]);
            kept.push('x');
            actions += 1;
            let comment = opens_comment(&rest[open + 2..]);
            let Some(close) = action_close(&rest[open..], comment) else {
                inside_action = Some(comment);
                rest = "";
                break;
            };
            let words =
                rest[open + 2..open + close].trim_matches(|c: char| c == '-' || c.is_whitespace());
            let keyword = words.split_whitespace().next().unwrap_or_default();
            match keyword {
                // A definition renders nowhere: its body is skipped whole.
                "if" | "with" | "range" | "block" | "define" => {
                    if blocks.is_empty() {
                        outermost = Some((number, words.to_string()));
                    }
                    let skipped = keyword == "define";
                    blocks.push(skipped);
                    skipping += usize::from(skipped);
                }
                "else" => {
                    if let Some(top) = blocks.last_mut().filter(|top| !**top) {
                        *top = true;
                        skipping += 1;
                    }
                }
                "end" => skipping -= usize::from(blocks.pop() == Some(true)),
                _ => {}
            }
            rest = &rest[open + close + 2..];
        }
        only_actions &= rest.trim().is_empty() && actions > 0;
        // A line of an else branch, or of nothing but actions, stays as an empty line.
        if !(only_actions || skipping > 0) {
            out.push_str(&kept);
            out.push_str(rest);
        }
        out.push_str(end);
    }
    let unclosed = outermost.filter(|_| !blocks.is_empty());
    (out, unclosed)
}

#[cfg(test)]
mod tests {
    use super::{render_away, untemplated};
    use crate::pack::yaml::first_document;

    /// Forms of Palette's macros and Go templates as they stand in values files: none is broken
    /// YAML once its actions are taken out, and line numbers stay where they were.
    #[test]
    fn template_actions_are_not_broken_yaml() {
        for text in [
            "name: {{ .spectro.system.cluster.name }}\n",
            "name: \"{{ .spectro.system.cluster.name }}\"\n",
            "url: https://{{ .spectro.system.cluster.uid }}.example.com/x\n",
            "pack:\n  namespace: {{ .spectro.pack.kubernetes.namespace | default \"kube\" }}\n",
            "a:\n{{- if .Values.enabled }}\n  b: 1\n{{- end }}\n",
            "cidr: {{ index .spectro.pack \"cni-calico\" \"podCIDR\" }}\n",
            "token: {{ .spectro.system.cluster.token | b64enc | quote }}\n",
        ] {
            let rendered = untemplated(text);
            assert!(first_document(&rendered).is_ok(), "{text:?} → {rendered:?}");
            assert_eq!(rendered.lines().count(), text.lines().count());
        }
        // Actions spanning lines, and else branches of another shape than the first.
        for text in [
            "a: 1\n{{- $x := dict\n      \"k\" \"v\"\n      \"l\" \"w\" }}\nb: 2\n",
            "{{/* a comment\n  over two lines */}}\na: 1\n",
            "items:\n{{- if .Values.list }}\n  - a\n  - b\n{{- else }}\n  a: 1\n{{- end }}\n",
            "a:\n  {{- if .x }}\n  b: 1\n  {{- else if .y }}\n  b: 2\n  {{- else }}\n  - c\n  {{- end }}\n",
            "{{- define \"x\" }}\n- not: [yaml\n{{- end }}\nk: v\n",
        ] {
            let (rendered, unclosed) = render_away(text);
            assert_eq!(unclosed, None, "{text:?}");
            assert!(first_document(&rendered).is_ok(), "{text:?} → {rendered:?}");
            assert_eq!(rendered.lines().count(), text.lines().count(), "{text:?}");
        }
        // An else branch closed inside a kept block: what follows its end is kept again.
        let (rendered, unclosed) = render_away(
            "{{ if .a }}\nx: 1\n{{ if .b }}\n{{ else }}\ny: [\n{{ end }}\nz: 2\n{{ end }}\n",
        );
        assert_eq!(unclosed, None);
        assert_eq!(rendered, "\nx: 1\n\n\n\n\nz: 2\n\n");
        // A block no {{ end }} closes (pack-central has `{- end}` for `{{- end}}` once).
        let (_, unclosed) = render_away(
            "metadata:\n  annotations:\n    {{- if .Values.isDefaultClass }}\n    a: b\n    {- end}\ndriver: x\n",
        );
        assert_eq!(unclosed, Some((3, "if .Values.isDefaultClass".to_string())));
        // A genuine mistake next to an action is still found, on its own line.
        let problem = first_document(&untemplated("a: {{ .x }}\nb: [1, 2\n")).unwrap_err();
        assert_eq!(problem.at.line, 3, "{}", problem.message);
    }
}
