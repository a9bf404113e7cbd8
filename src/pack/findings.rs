//! A validation finding: which rule, what is wrong, where (file, field, line:column), how to
//! fix it, and whether the user allowed it ([`super::allowance`]): an allowed finding is still
//! reported, and counts for nothing. A rule that fires past [`KEPT_PER_RULE_AND_FILE`] times
//! in one file keeps its first findings and counts the rest ([`Omitted`]), so a hostile file
//! costs neither memory nor output in proportion to its mistakes.

use super::allowance::Allowance;
use super::rules::{Profile, Rule, Severity};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use std::collections::HashMap;
use std::fmt;

/// Findings of one rule kept for one file; past it they are only counted. Twenty lines show the
/// pattern of a mistake (and a fix applied to them shows in the next run), while a generated
/// file repeating one mistake millions of times would otherwise print hundreds of MB and hold
/// every finding in memory until the run ends.
pub const KEPT_PER_RULE_AND_FILE: usize = 20;

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// The rule's stable id (`PP012`), listed in docs/rules.md.
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

impl Finding {
    /// The finding as one line, its file shown as `file` (with the pack's path, when several
    /// packs' lines mix).
    pub fn line(&self, file: &str) -> String {
        Located(self, file).to_string()
    }
}

/// A finding, its file shown as the `&str`.
struct Located<'a>(&'a Finding, &'a str);

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Located(self, &self.file).fmt(f)
    }
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Located(finding, file) = *self;
        write!(f, "{file}")?;
        if let Some(line) = finding.line {
            write!(f, ":{line}")?;
            if let Some(column) = finding.column {
                write!(f, ":{column}")?;
            }
        }
        if let Some(field) = &finding.field {
            write!(f, ": {field}")?;
        }
        write!(
            f,
            ": {}. Fix: {} [{}]",
            finding.message, finding.fix, finding.rule
        )
    }
}

/// The findings of one rule in one file past the first [`KEPT_PER_RULE_AND_FILE`]: counted, not
/// kept. They share the kept ones' severity and allowance (both depend on rule and file only),
/// so they count as those do: a capped error is still an error.
#[derive(Debug, Clone, Serialize)]
pub struct Omitted {
    pub severity: Severity,
    pub rule: &'static str,
    pub file: String,
    pub count: u64,
    #[serde(flatten, serialize_with = "suppression")]
    pub allowed: Option<Allowance>,
}

impl Omitted {
    /// `and 12 more PP026 findings in values.yaml`, with the file shown as `file`.
    pub fn line(&self, file: &str) -> String {
        format!(
            "and {} more {} findings in {file} (only the first {KEPT_PER_RULE_AND_FILE} of each rule in each file are listed)",
            self.count, self.rule
        )
    }
}

impl fmt::Display for Omitted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line(&self.file))
    }
}

/// Collects findings as validation goes, so one run reports every problem at once; the
/// profile decides each rule's severity.
#[derive(Debug, Default)]
pub struct Findings {
    pub list: Vec<Finding>,
    /// What each rule found past its cap in each file, in the order the caps were reached.
    pub omitted: Vec<Omitted>,
    pub profile: Profile,
    /// Per rule and file: the findings kept, and where its entry in `omitted` is.
    groups: HashMap<&'static str, HashMap<String, (usize, Option<usize>)>>,
}

impl Findings {
    pub fn new(profile: Profile) -> Self {
        Self {
            profile,
            ..Self::default()
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
        if self.past_cap(rule, file, None) {
            return;
        }
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

    /// `count` findings of `rule` in `file` that a reader already left out (it keeps only its
    /// first few, to stay bounded): counted as omitted, as if they had been added.
    pub fn add_omitted(&mut self, rule: Rule, file: &str, count: u64) {
        if count > 0 {
            self.past_cap(rule, file, Some(count));
        }
    }

    /// Whether the next finding of `rule` in `file` (`None`) is past the cap, counting it as
    /// kept or omitted; `Some(count)` counts that many omitted already.
    fn past_cap(&mut self, rule: Rule, file: &str, omitted: Option<u64>) -> bool {
        let files = self.groups.entry(rule.id()).or_default();
        let group = match files.get_mut(file) {
            Some(group) => group,
            None => files.entry(file.to_string()).or_default(),
        };
        if omitted.is_none() && group.0 < KEPT_PER_RULE_AND_FILE {
            group.0 += 1;
            return false;
        }
        let count = omitted.unwrap_or(1);
        match group.1 {
            Some(at) => self.omitted[at].count += count,
            None => {
                group.1 = Some(self.omitted.len());
                self.omitted.push(Omitted {
                    severity: rule.severity(self.profile),
                    rule: rule.id(),
                    file: file.to_string(),
                    count,
                    allowed: None,
                });
            }
        }
        true
    }

    /// Takes in `other`'s findings (found apart, on another thread), as if added here after
    /// these.
    pub fn absorb(&mut self, other: Findings) {
        for finding in other.list {
            let rule = Rule::from_id(finding.rule).expect("a finding's rule is a rule");
            if !self.past_cap(rule, &finding.file, None) {
                self.list.push(finding);
            }
        }
        for omitted in other.omitted {
            let rule = Rule::from_id(omitted.rule).expect("a finding's rule is a rule");
            self.add_omitted(rule, &omitted.file, omitted.count);
        }
    }

    /// The findings of `severity` that count: those not allowed, kept ones only.
    pub fn counted(&self, severity: Severity) -> impl Iterator<Item = &Finding> {
        self.list
            .iter()
            .filter(move |f| f.severity == severity && f.allowed.is_none())
    }

    /// For people, a line per rule and file whose findings of `severity` that count went past
    /// the cap, to follow [`Findings::counted`]'s.
    pub fn omitted_lines(&self, severity: Severity) -> impl Iterator<Item = String> + '_ {
        self.omitted
            .iter()
            .filter(move |o| o.severity == severity && o.allowed.is_none())
            .map(ToString::to_string)
    }

    /// The findings of `severity` that count, omitted ones included.
    pub fn count(&self, severity: Severity) -> usize {
        let omitted: u64 = self
            .omitted
            .iter()
            .filter(|o| o.severity == severity && o.allowed.is_none())
            .map(|o| o.count)
            .sum();
        self.counted(severity).count() + omitted as usize
    }

    /// The findings the user allowed, omitted ones included.
    pub fn allowed(&self) -> usize {
        let omitted: u64 = self
            .omitted
            .iter()
            .filter(|o| o.allowed.is_some())
            .map(|o| o.count)
            .sum();
        self.list.iter().filter(|f| f.allowed.is_some()).count() + omitted as usize
    }

    /// Every finding so far, kept or omitted.
    pub fn found(&self) -> usize {
        self.list.len() + self.omitted.iter().map(|o| o.count as usize).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` findings of `rule` in `file`, numbered from `from`.
    fn add(found: &mut Findings, rule: Rule, file: &str, from: usize, n: usize) {
        for i in from..from + n {
            found.add(rule, file, None, format!("is wrong {i}"), "fix it");
        }
    }

    #[test]
    fn each_rule_keeps_its_first_findings_per_file_and_counts_the_rest() {
        let mut found = Findings::default();
        add(&mut found, Rule::Manifest, "a.yaml", 0, 25);
        add(&mut found, Rule::Manifest, "b.yaml", 0, 3);
        add(&mut found, Rule::DuplicateKey, "a.yaml", 0, 1);
        // A reader that kept its own first few and counted the rest.
        found.add_omitted(Rule::DuplicateKey, "a.yaml", 1000);
        assert_eq!(found.list.len(), KEPT_PER_RULE_AND_FILE + 3 + 1);
        assert_eq!(
            found.list[KEPT_PER_RULE_AND_FILE - 1].message,
            "is wrong 19"
        );
        let omitted = |found: &Findings| -> Vec<(&str, String, u64)> {
            found
                .omitted
                .iter()
                .map(|o| (o.rule, o.file.clone(), o.count))
                .collect()
        };
        assert_eq!(
            omitted(&found),
            [
                ("PP025", "a.yaml".into(), 5),
                ("PP026", "a.yaml".into(), 1000)
            ]
        );
        // A capped error is still an error.
        assert_eq!(found.count(Severity::Error), 28);
        assert_eq!(found.count(Severity::Warning), 1001);
        assert_eq!(found.found(), 1029);
        assert_eq!(
            found.omitted_lines(Severity::Error).collect::<Vec<_>>(),
            [
                "and 5 more PP025 findings in a.yaml (only the first 20 of each rule in each file are listed)"
            ]
        );

        // Found apart (another thread) and taken in: the cap holds across both.
        let mut apart = Findings::default();
        add(&mut apart, Rule::Manifest, "a.yaml", 25, 2);
        add(&mut apart, Rule::Manifest, "c.yaml", 0, 1);
        found.absorb(apart);
        assert_eq!(found.list.len(), KEPT_PER_RULE_AND_FILE + 3 + 1 + 1);
        assert_eq!(found.list.last().unwrap().file, "c.yaml");
        assert_eq!(omitted(&found)[0], ("PP025", "a.yaml".into(), 7));
        assert_eq!(found.count(Severity::Error), 31);
    }
}
