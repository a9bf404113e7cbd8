//! `packpub lint [PACK]...`: every rule `pack` and `push` apply (the same code, no second copy),
//! on several packs, without building anything; findings for people, for scripts (`--json`),
//! for GitHub code scanning (SARIF 2.1.0) or as GitHub Actions workflow commands. Findings the
//! user allowed are in every document, marked as suppressed; people get one line about them.
//! Each document lists the first findings of each rule in each file and counts the rest.

use crate::cli::{LintArgs, LintFormat};
use crate::exit::{Code, Failure};
use crate::output::Output;
use crate::pack::LocalInput;
use crate::pack::allow;
use crate::pack::allowance::{Allowance, By};
use crate::pack::findings::{Finding, Omitted};
use crate::pack::rules::Rule;
use crate::pack::rules::Severity;
use serde::Serialize;
use serde_json::{Value, json};
use std::io::IsTerminal;

#[derive(Serialize)]
struct Linted {
    path: String,
    errors: usize,
    warnings: usize,
    /// Findings the user allowed: listed, counted in neither of the above.
    allowed: usize,
    /// The first findings of each rule in each file.
    findings: Vec<Finding>,
    /// Per rule and file, how many more there were.
    omitted: Vec<Omitted>,
}

pub fn run(args: &LintArgs, out: &Output) -> anyhow::Result<()> {
    let format = args.format.unwrap_or_else(|| {
        if out.json() {
            LintFormat::Json
        } else if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
            && !std::io::stdout().is_terminal()
        {
            LintFormat::Github
        } else {
            LintFormat::Human
        }
    });
    let limits = args.read.limits();
    let mut linted = Vec::new();
    for input in &args.packs {
        let findings = crate::pack::lint(input, &args.build.options(), limits)?;
        linted.push(Linted {
            path: shown(input),
            errors: findings.count(Severity::Error),
            warnings: findings.count(Severity::Warning),
            allowed: findings.allowed(),
            findings: findings.list,
            omitted: findings.omitted,
        });
    }
    let errors: usize = linted.iter().map(|l| l.errors).sum();
    let warnings: usize = linted.iter().map(|l| l.warnings).sum();
    let allowed: usize = linted.iter().map(|l| l.allowed).sum();
    // Nothing allowed is hidden silently: one line per pack for people.
    let allowed_line = |pack: &Linted| {
        if let Some(summary) = allow::summary(&pack.findings, &pack.omitted) {
            out.warn(&format!("{}: {summary}", pack.path));
        }
    };
    match format {
        LintFormat::Human => {
            for pack in &linted {
                for finding in &pack.findings {
                    let line = finding.line(&crate::pack::located(&pack.path, &finding.file));
                    crate::pack::print_finding(finding.severity, &finding.allowed, &line, out);
                }
                for omitted in &pack.omitted {
                    let line = omitted.line(&crate::pack::located(&pack.path, &omitted.file));
                    crate::pack::print_finding(omitted.severity, &omitted.allowed, &line, out);
                }
                allowed_line(pack);
            }
        }
        LintFormat::Json => out.print_document(&json!({
            "packs": linted,
            "errors": errors,
            "warnings": warnings,
            "allowed": allowed,
        })),
        LintFormat::Sarif => println!("{}", sarif(&linted)),
        LintFormat::Github => {
            for pack in &linted {
                for finding in pack.findings.iter().filter(|f| f.allowed.is_none()) {
                    println!("{}", workflow_command(&pack.path, finding));
                }
                for omitted in pack.omitted.iter().filter(|o| o.allowed.is_none()) {
                    println!("{}", omitted_command(&pack.path, omitted));
                }
                allowed_line(pack);
            }
        }
    }
    let blocking = errors + if args.build.strict { warnings } else { 0 };
    let summary = format!(
        "{} pack(s): {errors} error(s), {warnings} warning(s){}{}",
        linted.len(),
        if allowed > 0 {
            format!(", {allowed} allowed")
        } else {
            String::new()
        },
        if args.build.strict && warnings > 0 {
            " (--strict counts warnings as errors)"
        } else {
            ""
        }
    );
    if blocking > 0 {
        return Err(Failure::err(Code::InvalidPack, summary));
    }
    out.success(&summary, &[]);
    Ok(())
}

/// The pack as the user named it, for paths in findings.
fn shown(input: &LocalInput) -> String {
    input
        .path()
        .display()
        .to_string()
        .trim_end_matches('/')
        .to_string()
}

/// SARIF 2.1.0: one run, every rule described once, a result per finding located in its file
/// and a note per rule and file counting those past the cap; an allowed finding's result
/// carries its suppression ([`suppressed`]), justified by the reason given.
fn sarif(linted: &[Linted]) -> Value {
    let level = |severity: Severity| match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let rules: Vec<Value> = Rule::ALL
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id(),
                "shortDescription": {"text": rule.reason()},
                "defaultConfiguration": {"level": level(rule.severity(Default::default()))},
            })
        })
        .collect();
    let results: Vec<Value> = linted
        .iter()
        .flat_map(|pack| {
            let findings = pack.findings.iter().map(move |finding| {
                let mut region = serde_json::Map::new();
                if let Some(line) = finding.line {
                    region.insert("startLine".into(), line.into());
                    if let Some(column) = finding.column {
                        region.insert("startColumn".into(), column.into());
                    }
                }
                let mut location = json!({
                    "artifactLocation": {"uri": crate::pack::located(&pack.path, &finding.file)},
                });
                if !region.is_empty() {
                    location["region"] = Value::Object(region);
                }
                let result = json!({
                    "ruleId": finding.rule,
                    "level": level(finding.severity),
                    "message": {"text": message(finding)},
                    "locations": [{"physicalLocation": location}],
                });
                suppressed(result, &finding.allowed)
            });
            // Those past the cap: one note per rule and file, their count in its properties.
            let omitted = pack.omitted.iter().map(move |omitted| {
                let uri = crate::pack::located(&pack.path, &omitted.file);
                let result = json!({
                    "ruleId": omitted.rule,
                    "level": "note",
                    "message": {"text": omitted.line(&uri)},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}}}],
                    "properties": {"omitted": omitted.count, "severity": level(omitted.severity)},
                });
                suppressed(result, &omitted.allowed)
            });
            findings.chain(omitted)
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "packpub",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/packpub/packpub#rules",
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

/// A SARIF `result` with the suppression of what the user allowed: `external` for `--allow`
/// and `PACKPUB_ALLOW`, `inSource` for the pack's own `.packpub.yaml`.
fn suppressed(mut result: Value, allowed: &Option<Allowance>) -> Value {
    if let Some(allowance) = allowed {
        let kind = match allowance.by {
            By::Flag | By::Env => "external",
            By::Settings => "inSource",
        };
        let justification = allowance
            .reason
            .clone()
            .unwrap_or_else(|| format!("allowed by {}", allowance.by));
        result["suppressions"] = json!([{"kind": kind, "justification": justification}]);
    }
    result
}

/// What is wrong, the field it is in, and the fix, in one sentence pair.
fn message(finding: &Finding) -> String {
    let field = finding
        .field
        .as_deref()
        .map(|f| format!("{f}: "))
        .unwrap_or_default();
    format!("{field}{}. Fix: {}", finding.message, finding.fix)
}

/// A GitHub Actions workflow command (`::error file=…,line=…,col=…,title=PP012::…`), escaped
/// as the runner reads them, so no finding can inject a command of its own.
fn workflow_command(pack: &str, finding: &Finding) -> String {
    let at = finding.line.map(|line| (line, finding.column));
    command(
        finding.severity,
        &crate::pack::located(pack, &finding.file),
        at,
        finding.rule,
        &message(finding),
    )
}

/// The workflow command of the findings of one rule in one file past the cap.
fn omitted_command(pack: &str, omitted: &Omitted) -> String {
    let file = crate::pack::located(pack, &omitted.file);
    let text = omitted.line(&file);
    command(omitted.severity, &file, None, omitted.rule, &text)
}

fn command(
    severity: Severity,
    file: &str,
    at: Option<(u64, Option<u64>)>,
    rule: &str,
    text: &str,
) -> String {
    let data = |text: &str| {
        text.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let property = |text: &str| data(text).replace(':', "%3A").replace(',', "%2C");
    let mut properties = vec![format!("file={}", property(file))];
    if let Some((line, column)) = at {
        properties.push(format!("line={line}"));
        if let Some(column) = column {
            properties.push(format!("col={column}"));
        }
    }
    properties.push(format!("title={}", property(rule)));
    let command = match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    format!("::{command} {}::{}", properties.join(","), data(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(message: &str) -> Finding {
        Finding {
            severity: Severity::Error,
            rule: "PP020",
            file: "values.yaml".into(),
            line: Some(3),
            column: Some(4),
            field: None,
            message: message.into(),
            fix: "fix it".into(),
            allowed: None,
        }
    }

    #[test]
    fn workflow_commands_cannot_be_injected() {
        let command = workflow_command("packs/a,b", &finding("bad\n::error::pwned 100%"));
        assert_eq!(
            command,
            "::error file=packs/a%2Cb/values.yaml,line=3,col=4,title=PP020::bad%0A::error::pwned 100%25. Fix: fix it"
        );
        assert_eq!(command.lines().count(), 1);
    }

    #[test]
    fn sarif_names_rules_and_locates_results() {
        let doc = sarif(&[Linted {
            path: "hello-1.0.0".into(),
            errors: 1,
            warnings: 0,
            allowed: 0,
            findings: vec![finding("is not valid YAML")],
            omitted: Vec::new(),
        }]);
        assert_eq!(doc["version"], "2.1.0");
        let run = &doc["runs"][0];
        assert_eq!(
            run["tool"]["driver"]["rules"].as_array().unwrap().len(),
            Rule::ALL.len()
        );
        let result = &run["results"][0];
        assert_eq!(result["ruleId"], "PP020");
        assert_eq!(result["level"], "error");
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(
            location["artifactLocation"]["uri"],
            "hello-1.0.0/values.yaml"
        );
        assert_eq!(location["region"]["startLine"], 3);
        assert_eq!(location["region"]["startColumn"], 4);
        assert!(result.get("suppressions").is_none());
    }

    #[test]
    fn sarif_marks_allowed_findings_as_suppressed() {
        let allowed = |by: By, reason: Option<&str>| Finding {
            allowed: Some(Allowance {
                by,
                reason: reason.map(str::to_string),
            }),
            ..finding("is not valid YAML")
        };
        let doc = sarif(&[Linted {
            path: "hello-1.0.0".into(),
            errors: 0,
            warnings: 0,
            allowed: 2,
            findings: vec![
                allowed(By::Settings, Some("kubectl reads it")),
                allowed(By::Env, None),
            ],
            omitted: Vec::new(),
        }]);
        let results = &doc["runs"][0]["results"];
        assert_eq!(
            results[0]["suppressions"],
            json!([{"kind": "inSource", "justification": "kubectl reads it"}])
        );
        assert_eq!(
            results[1]["suppressions"],
            json!([{"kind": "external", "justification": "allowed by PACKPUB_ALLOW"}])
        );
        assert_eq!(results[0]["level"], "error");
    }
}
