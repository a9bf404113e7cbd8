//! Usage errors in the user's terms: what clap found, plus the fix for habits from other tools
//! (docker's and oras's `-p`, `publish`, `init CHART`), never a suggestion of a flag that
//! overwrites or deletes; and `--format human|json`, read as `--json` on every verb but `lint`,
//! which has formats of its own.

use clap::CommandFactory;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use std::ffi::OsString;

/// Flags never suggested for a mistyped one: they overwrite or delete.
const DANGEROUS: &[&str] = &["--force", "--all"];

/// The verb `args` name (an alias counts as its verb), if any.
fn verb(args: &[OsString]) -> Option<String> {
    let command = crate::cli::Cli::command();
    args.iter().skip(1).find_map(|arg| {
        let arg = arg.to_str()?;
        command
            .get_subcommands()
            .find(|c| c.get_name() == arg || c.get_all_aliases().any(|a| a == arg))
            .map(|c| c.get_name().to_string())
    })
}

/// `args` with `--format json` (or `=json`) as `--json` and `--format human` dropped, for
/// every verb but `lint`; another format is a usage error naming the two.
pub fn with_format(args: Vec<OsString>) -> Result<Vec<OsString>, String> {
    let verb = verb(&args);
    if verb.as_deref() == Some("lint") {
        return Ok(args);
    }
    let mut json = args.iter().any(|a| a == "--json");
    let mut out = Vec::with_capacity(args.len());
    let mut rest = args.into_iter();
    while let Some(arg) = rest.next() {
        if arg == "--" {
            out.push(arg);
            out.extend(rest);
            break;
        }
        let value = match arg.to_str() {
            Some("--format") => rest.next(),
            Some(given) if given.starts_with("--format=") => {
                Some(given["--format=".len()..].into())
            }
            _ => {
                out.push(arg);
                continue;
            }
        };
        match value.as_ref().and_then(|v| v.to_str()) {
            Some("json") if !json => {
                json = true;
                out.push("--json".into());
            }
            Some("json" | "human") => {}
            other => {
                return Err(format!(
                    "invalid value '{}' for '--format': packpub {} prints human or json \
                     (--format json is --json)",
                    other.unwrap_or_default(),
                    verb.unwrap_or_default()
                ));
            }
        }
    }
    Ok(out)
}

/// What to tell someone whose `args` clap refused with `err`, when a habit explains it.
fn habit(err: &clap::Error, args: &[OsString]) -> Option<String> {
    let typed = |arg: &&str| {
        args.iter().take_while(|a| *a != "--").any(|a| {
            a.to_str()
                .is_some_and(|a| a == *arg || a.starts_with(&format!("{arg}=")))
        })
    };
    let context = |kind| match err.get(kind) {
        Some(ContextValue::String(value)) => Some(value.as_str()),
        _ => None,
    };
    match err.kind() {
        ErrorKind::UnknownArgument if ["-p", "--password"].iter().any(typed) => Some(
            "packpub takes no password on the command line (ps and the shell's history would \
             show it): pipe it in with --password-stdin (`printf '%s' \"$PASSWORD\" | packpub \
             login HOST -u USER --password-stdin`), set PACKPUB_USERNAME and PACKPUB_PASSWORD, \
             or give -u USER alone on a terminal to be asked for it"
                .to_string(),
        ),
        ErrorKind::InvalidSubcommand
            if matches!(
                context(ContextKind::InvalidSubcommand),
                Some("publish" | "upload")
            ) =>
        {
            Some("packpub publishes packs with `packpub push`".to_string())
        }
        ErrorKind::UnknownArgument if verb(args).as_deref() == Some("init") => {
            let arg = context(ContextKind::InvalidArg).filter(|a| !a.starts_with('-'))?;
            Some(format!(
                "init reads a Helm chart from --chart: `packpub init --chart {arg}` (or \
                 --manifests for Kubernetes manifests)"
            ))
        }
        _ => None,
    }
}

/// clap's words for `err`, less a suggestion of a dangerous flag, with the fix for a habit
/// in place of clap's own tips.
pub fn explain(err: &clap::Error, args: &[OsString]) -> String {
    let rendered = err.render().to_string();
    let habit = habit(err, args);
    // clap writes the flag it suggests into the usage line too, as if it had been typed.
    let suggested: Vec<&str> = match err.get(ContextKind::SuggestedArg) {
        Some(ContextValue::String(flag)) => vec![flag.as_str()],
        Some(ContextValue::Strings(flags)) => flags.iter().map(String::as_str).collect(),
        _ => vec![],
    };
    let dangerous: Vec<&str> = suggested
        .into_iter()
        .filter(|flag| DANGEROUS.contains(flag) && !args.iter().any(|a| a == flag))
        .collect();
    let mut out = String::new();
    for (i, line) in rendered.lines().enumerate() {
        let tip = line.trim_start().starts_with("tip:");
        if tip && (habit.is_some() || dangerous.iter().any(|d| line.contains(&format!("'{d}'")))) {
            continue;
        }
        let mut line = line.to_string();
        if line.starts_with("Usage:") {
            for flag in &dangerous {
                line = line.replace(&format!(" {flag}"), "");
            }
        }
        out.push_str(&line);
        out.push('\n');
        if i == 0
            && let Some(habit) = &habit
        {
            out.push_str(&format!("\n  tip: {habit}\n"));
        }
    }
    out.replace("\n\n\n", "\n\n")
}

/// The error of `rendered` in one line, for `--json`: everything before the usage, so a
/// missing argument is named, not only announced.
pub fn summary(rendered: &str) -> String {
    let words: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    words.join(" ").trim_start_matches("error: ").to_string()
}
