//! Allowing a rule: a user who knows a rule is wrong for their pack says so, for a run
//! (`--allow`, `PACKPUB_ALLOW`: cli.rs parses them into an [`Allowed`]) or in the pack folder
//! (`.packpub.yaml`, read by [`super::settings`]). An allowed finding is not dropped: it keeps
//! its rule and message, carries what allowed it and why ([`Allowance`]), and counts for
//! nothing, so it neither fails `lint` nor blocks `push`. The rules that make a pack what it is
//! or keep its archive safe can never be allowed ([`Rule::never_allowed`]), whatever asks.

use super::allowance::{Allowance, By};
use super::findings::{Finding, Findings, Omitted};
use super::rules::Rule;
use ignore::gitignore::Gitignore;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One rule allowed: by what, in which files, and why.
#[derive(Debug, Clone)]
pub(super) struct Grant {
    pub rule: Rule,
    pub by: By,
    /// Only in the files these patterns match (gitignore syntax, relative to the pack folder);
    /// everywhere when `None`.
    pub files: Option<Gitignore>,
    pub reason: Option<String>,
}

impl Grant {
    /// Whether this grant allows `finding`. A rule that can never be allowed is never
    /// covered, whatever made the grant.
    fn covers(&self, rule: &str, file: &str) -> bool {
        self.rule.id() == rule && self.covers_file(file)
    }

    /// Whether the grant reaches `file` (its rule aside).
    fn covers_file(&self, file: &str) -> bool {
        let file = Path::new(file);
        self.rule.never_allowed().is_none()
            && self.files.as_ref().is_none_or(|files| {
                // A path pack.json names may be absolute; no pattern of the pack matches it.
                !file.has_root() && files.matched_path_or_any_parents(file, false).is_ignore()
            })
    }
}

/// The rules allowed for one pack: the pack's own grants first (so a finding both allow shows
/// the pack's reason), then the run's (`--allow`, then `PACKPUB_ALLOW`).
#[derive(Debug, Clone, Default)]
pub struct Allowed {
    grants: Vec<Grant>,
}

impl Allowed {
    /// Allows `rules` everywhere, as `by` says: the run's own, which cli.rs has checked with
    /// [`allowable`].
    pub fn add(&mut self, rules: impl IntoIterator<Item = Rule>, by: By) {
        self.grants.extend(rules.into_iter().map(|rule| Grant {
            rule,
            by,
            files: None,
            reason: None,
        }));
    }

    /// A pack's own grants, then these.
    pub(super) fn with_pack(&self, mut grants: Vec<Grant>) -> Allowed {
        grants.extend(self.grants.iter().cloned());
        Allowed { grants }
    }

    /// Whether `rule` is allowed for `file`: for the rules whose allowance changes what is read
    /// (PP034 reads a chart's links as Helm does), before any finding exists.
    pub fn allows(&self, rule: Rule, file: &str) -> bool {
        self.grants
            .iter()
            .any(|grant| grant.rule == rule && grant.covers_file(file))
    }

    /// Marks every finding a grant covers as allowed, by the first grant that does; those
    /// past the cap as their rule's kept ones in the file.
    pub fn apply(&self, findings: &mut Findings) {
        let allowance = |rule: &str, file: &str| {
            self.grants
                .iter()
                .find(|grant| grant.covers(rule, file))
                .map(|grant| Allowance {
                    by: grant.by,
                    reason: grant.reason.clone(),
                })
        };
        for finding in &mut findings.list {
            finding.allowed = allowance(finding.rule, &finding.file);
        }
        for omitted in &mut findings.omitted {
            omitted.allowed = allowance(omitted.rule, &omitted.file);
        }
    }
}

/// The rule `id` names (in any case, `pp025`) when a user may allow it; otherwise why not,
/// naming it.
pub fn allowable(id: &str) -> Result<Rule, String> {
    let id = id.trim();
    let rule = Rule::from_id(id).ok_or_else(|| {
        let ids = |at: usize| Rule::ALL[at].id();
        format!(
            "{id:?} is not a rule id: they run from {} to {} (the rules table of docs/rules.md)",
            ids(0),
            ids(Rule::ALL.len() - 1)
        )
    })?;
    match rule.never_allowed() {
        None => Ok(rule),
        Some(why) => {
            let never: Vec<&str> = Rule::ALL
                .iter()
                .filter(|rule| rule.never_allowed().is_some())
                .map(|rule| rule.id())
                .collect();
            Err(format!(
                "{} can never be allowed: {why} (never allowed: {})",
                rule.id(),
                never.join(", ")
            ))
        }
    }
}

/// One line for people about the allowed findings among `findings`, so none is hidden
/// silently: how many, of which rules, by what (`2 finding(s) allowed (PP025 ×1, PP029 ×1):
/// --allow, .packpub.yaml`), those past the cap included; `None` when none is allowed.
pub fn summary(findings: &[Finding], omitted: &[Omitted]) -> Option<String> {
    let mut rules: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by = BTreeSet::new();
    let kept = findings.iter().map(|f| (f.rule, &f.allowed, 1));
    for (rule, allowed, count) in kept.chain(omitted.iter().map(|o| (o.rule, &o.allowed, o.count)))
    {
        if let Some(allowance) = allowed {
            *rules.entry(rule).or_default() += count;
            by.insert(allowance.by);
        }
    }
    if rules.is_empty() {
        return None;
    }
    let rules_shown: Vec<String> = rules.iter().map(|(id, n)| format!("{id} ×{n}")).collect();
    let by_shown: Vec<&str> = by.iter().map(|by| by.name()).collect();
    Some(format!(
        "{} finding(s) allowed ({}): {}",
        rules.values().sum::<u64>(),
        rules_shown.join(", "),
        by_shown.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ignore::gitignore::GitignoreBuilder;

    fn findings(files: &[(Rule, &str)]) -> Findings {
        let mut findings = Findings::default();
        for (rule, file) in files {
            findings.add(*rule, file, None, "is wrong".into(), "fix it");
        }
        findings
    }

    fn grant(rule: Rule, patterns: Option<&[&str]>) -> Grant {
        let files = patterns.map(|patterns| {
            let mut builder = GitignoreBuilder::new(".");
            for pattern in patterns {
                builder.add_line(None, pattern).unwrap();
            }
            builder.build().unwrap()
        });
        Grant {
            rule,
            by: By::Settings,
            files,
            reason: Some("known".into()),
        }
    }

    fn allowed_files(found: &Findings) -> Vec<&str> {
        found
            .list
            .iter()
            .filter(|f| f.allowed.is_some())
            .map(|f| f.file.as_str())
            .collect()
    }

    #[test]
    fn files_scope_a_grant_as_gitignore_patterns_do() {
        let mut found = findings(&[
            (Rule::Manifest, "manifests/crds.yaml"),
            (Rule::Manifest, "manifests/app.yaml"),
            (Rule::Manifest, "other/crds.yaml"),
            (Rule::ReferencedFile, "/etc/passwd"),
        ]);
        let pack = vec![
            grant(Rule::Manifest, Some(&["manifests/crds.yaml"])),
            grant(Rule::ReferencedFile, Some(&["*"])),
        ];
        Allowed::default().with_pack(pack).apply(&mut found);
        assert_eq!(allowed_files(&found), ["manifests/crds.yaml"]);
        assert_eq!(found.count(crate::pack::Severity::Error), 3);

        let mut found = findings(&[
            (Rule::Manifest, "manifests/crds.yaml"),
            (Rule::Manifest, "other/crds.yaml"),
            (Rule::Manifest, "app.yaml"),
        ]);
        let unanchored = vec![grant(Rule::Manifest, Some(&["crds.yaml"]))];
        Allowed::default().with_pack(unanchored).apply(&mut found);
        assert_eq!(
            allowed_files(&found),
            ["manifests/crds.yaml", "other/crds.yaml"]
        );
    }

    /// Findings past the cap share their rule's allowance in the file, and count as it says.
    #[test]
    fn findings_past_the_cap_are_allowed_as_their_file_is() {
        let many = [(Rule::Manifest, "crds.yaml"); 30];
        let mut found = findings(&many);
        found.add(
            Rule::Manifest,
            "app.yaml",
            None,
            "is wrong".into(),
            "fix it",
        );
        found.add_omitted(Rule::Manifest, "app.yaml", 4);
        let pack = vec![grant(Rule::Manifest, Some(&["crds.yaml"]))];
        Allowed::default().with_pack(pack).apply(&mut found);
        assert_eq!(found.omitted.len(), 2);
        assert!(found.omitted[0].allowed.is_some());
        assert!(found.omitted[1].allowed.is_none());
        assert_eq!(found.count(crate::pack::Severity::Error), 5);
        assert_eq!(found.allowed(), 30);
        assert_eq!(
            summary(&found.list, &found.omitted).as_deref(),
            Some("30 finding(s) allowed (PP025 ×30): .packpub.yaml")
        );
    }

    #[test]
    fn the_pack_comes_first_and_identity_is_never_covered() {
        let mut run = Allowed::default();
        run.add([Rule::Manifest, Rule::PackName], By::Flag);
        let mut found = findings(&[(Rule::Manifest, "m.yaml"), (Rule::PackName, "pack.json")]);
        run.with_pack(vec![grant(Rule::Manifest, None)])
            .apply(&mut found);
        assert_eq!(
            found.list[0].allowed,
            Some(Allowance {
                by: By::Settings,
                reason: Some("known".into())
            })
        );
        assert_eq!(found.list[1].allowed, None);
        run.apply(&mut found);
        assert_eq!(found.list[0].allowed.as_ref().map(|a| a.by), Some(By::Flag));
        assert_eq!(
            summary(&found.list, &found.omitted).as_deref(),
            Some("1 finding(s) allowed (PP025 ×1): --allow")
        );
    }

    #[test]
    fn ids_are_checked_and_refusals_say_why() {
        assert_eq!(allowable(" pp025 "), Ok(Rule::Manifest));
        let unknown = allowable("PP099").unwrap_err();
        assert!(unknown.contains("\"PP099\" is not a rule id"), "{unknown}");
        let never = allowable("PP012").unwrap_err();
        assert!(
            never.starts_with("PP012 can never be allowed: it is the pack's identity"),
            "{never}"
        );
        assert!(never.contains("PP003, PP004, PP010"), "{never}");
    }

    #[test]
    fn allowed_findings_serialise_as_suppressed() {
        let mut found = findings(&[(Rule::Manifest, "m.yaml"), (Rule::Logo, "logo.png")]);
        Allowed::default()
            .with_pack(vec![grant(Rule::Manifest, None)])
            .apply(&mut found);
        let json = serde_json::to_value(&found.list).unwrap();
        assert_eq!(json[0]["suppressed"], true);
        assert_eq!(json[0]["allowed_by"], ".packpub.yaml");
        assert_eq!(json[0]["reason"], "known");
        assert_eq!(json[1]["suppressed"], false);
        assert!(json[1].get("allowed_by").is_none());
    }
}
