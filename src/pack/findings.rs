//! A validation finding: which rule, what is wrong, where (file, field, line:column), how to
//! fix it, and whether the user allowed it ([`super::allow`]): an allowed finding is still
//! reported, and counts for nothing.

use super::allow::Allowance;
use super::rules::{Profile, Rule};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
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
    /// Set when the user allowed it: `suppressed`, `allowed_by` and `reason` in JSON.
    #[serde(flatten, serialize_with = "suppression")]
    pub allowed: Option<Allowance>,
}

/// `"suppressed": false`, or `"suppressed": true` with what allowed the finding and the reason
/// given, if any.
fn suppression<S: Serializer>(allowed: &Option<Allowance>, s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(None)?;
    map.serialize_entry("suppressed", &allowed.is_some())?;
    if let Some(allowance) = allowed {
        map.serialize_entry("allowed_by", &allowance.by)?;
        if let Some(reason) = &allowance.reason {
            map.serialize_entry("reason", reason)?;
        }
    }
    map.end()
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
            allowed: None,
        });
    }

    /// The findings of `severity` that count: those not allowed.
    pub fn counted(&self, severity: Severity) -> impl Iterator<Item = &Finding> {
        self.list
            .iter()
            .filter(move |f| f.severity == severity && f.allowed.is_none())
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.counted(severity).count()
    }
}
