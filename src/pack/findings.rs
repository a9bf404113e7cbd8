//! A validation finding: which rule, what is wrong, where (file, field, line:column) and how to
//! fix it.

use super::rules::{Profile, Rule};
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// The rule's stable id (`PP012`), listed in the README.
    pub rule: &'static str,
    /// Path relative to the pack folder.
    pub file: String,
    /// 1-based, where the rule knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}. Fix: {} [{}]", self.message, self.fix, self.rule)
    }
}

/// Collects findings as validation goes, so one run reports every problem at once; the
/// profile decides each rule's severity.
#[derive(Debug, Default)]
pub struct Findings {
    pub list: Vec<Finding>,
    pub profile: Profile,
}

impl Findings {
    pub fn new(profile: Profile) -> Self {
        Self {
            list: Vec::new(),
            profile,
        }
    }

    /// A finding of `rule` about `file` (and `field` in it).
    pub fn add(&mut self, rule: Rule, file: &str, field: Option<&str>, message: String, fix: &str) {
        self.add_at(rule, file, None, field, message, fix);
    }

    /// A finding at `line:column` (1-based) of `file`.
    pub fn add_at(
        &mut self,
        rule: Rule,
        file: &str,
        at: Option<(u64, u64)>,
        field: Option<&str>,
        message: String,
        fix: &str,
    ) {
        self.list.push(Finding {
            severity: rule.severity(self.profile),
            rule: rule.id(),
            file: file.to_string(),
            line: at.map(|(line, _)| line),
            column: at.map(|(_, column)| column),
            field: field.map(str::to_string),
            message,
            fix: fix.to_string(),
        });
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.list.iter().filter(|f| f.severity == severity).count()
    }
}
