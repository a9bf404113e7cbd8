//! Findings for a file's YAML, worded one way for every rule room that reads YAML
//! (`validate.rs`, `values.rs`, `settings.rs`): what Palette's reader refuses, and keys written
//! twice.

use super::findings::Findings;
use super::rules::Rule;
use super::yaml;

/// A finding for YAML Palette's reader refuses; `first_line` is where the document began in
/// its file (0-based), so the position is the file's.
pub(super) fn yaml_finding(
    rule: Rule,
    file: &str,
    problem: &yaml::Problem,
    first_line: u64,
    findings: &mut Findings,
) {
    let line = problem.at.line + first_line;
    findings.add_at(
        rule,
        file,
        Some((line, problem.at.column)),
        None,
        format!(
            "is not valid YAML at line {line}, column {}: {} (Go's YAML, which Palette reads it with, refuses it)",
            problem.at.column, problem.message
        ),
        "correct the YAML syntax at that position",
    );
}

/// Warnings for keys written twice in one mapping: sigs.k8s.io/yaml (Helm, kubectl) keeps the
/// last silently, yaml.v3 refuses the file. Those the reader only counted are counted here too.
pub(super) fn duplicate_keys(
    file: &str,
    read: &yaml::Document,
    first_line: u64,
    findings: &mut Findings,
) {
    for duplicate in &read.duplicates {
        let line = duplicate.at.line + first_line;
        findings.add_at(
            Rule::DuplicateKey,
            file,
            Some((line, duplicate.at.column)),
            Some(&duplicate.path),
            format!(
                "is written twice, on lines {} and {line}; only the last is kept",
                duplicate.first_line + first_line
            ),
            "keep one of them",
        );
    }
    findings.add_omitted(Rule::DuplicateKey, file, read.more_duplicates);
}
