//! What a release ships, checked as its users meet it: `packpub --version` naming the build,
//! and the archive `.ci/release-archive` makes for this machine's target (the one the release
//! workflow makes for every target): its layout, SHA256SUMS, completions that parse and
//! complete in bash and fish, and man pages that render without a warning and say what
//! `--help` says. Linux only: the script and these checks use GNU tar, man-db and bash 5.

#![cfg(target_os = "linux")]

use crate::support::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

/// Every command with a page of its own; a new verb without one fails here.
const VERBS: &[&str] = &[
    "pack",
    "push",
    "login",
    "logout",
    "verify",
    "copy",
    "ls",
    "pull",
    "sync",
    "lint",
    "init",
    "completions",
    "man",
];

/// An archive made by `.ci/release-archive`, with SHA256SUMS beside it.
pub struct Release {
    pub version: String,
    pub target: String,
    pub dir: PathBuf,
    pub archive: PathBuf,
}

impl Release {
    /// `packpub-VERSION-TARGET`, the archive's one folder.
    pub fn name(&self) -> String {
        format!("packpub-{}-{}", self.version, self.target)
    }
}

/// `packpub --version`'s words: (version, commit, date, target).
fn version_words() -> (String, String, String, String) {
    let line = run(&["--version"]).expect(0).stdout;
    let rest = line
        .trim_end()
        .strip_prefix("packpub ")
        .unwrap_or_else(|| panic!("{line}"));
    let (version, details) = rest
        .split_once(" (commit ")
        .unwrap_or_else(|| panic!("{line}"));
    let details = details
        .strip_suffix(')')
        .unwrap_or_else(|| panic!("{line}"));
    let words: Vec<&str> = details.split(", ").collect();
    let [commit, date, target] = words[..] else {
        panic!("{line}")
    };
    (version.into(), commit.into(), date.into(), target.into())
}

/// Runs `.ci/release-archive` on the tested binary for this machine's target, into `dir`.
pub fn build_release(dir: &Path) -> Release {
    let (version, _, _, target) = version_words();
    // The debug binary's symbols make it ten times the size: stripped, gzip takes seconds.
    let bin = dir.join("bin/packpub");
    fs::create_dir_all(bin.parent().unwrap()).unwrap();
    fs::copy(env!("CARGO_BIN_EXE_packpub"), &bin).unwrap();
    run_tool("strip", "binutils", dir, &[bin.to_str().unwrap()]);
    let dist = dir.join("dist");
    let out = release_script(&bin)
        .args([&target, &version, dist.to_str().unwrap()])
        .output()
        .unwrap();
    let run = Run::of(out).expect(0);
    let archive = dist.join(format!("packpub-{version}-{target}.tar.gz"));
    assert_eq!(run.stdout.trim(), archive.to_str().unwrap());
    let sums = release_script(&bin)
        .args(["--sums", dist.to_str().unwrap()])
        .output()
        .unwrap();
    Run::of(sums).expect(0);
    Release {
        version,
        target,
        dir: dist,
        archive,
    }
}

fn release_script(bin: &Path) -> Command {
    let mut cmd = isolated(Command::new(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/release-archive"),
    ));
    cmd.env("PACKPUB_BIN", bin);
    cmd
}

/// The archive unpacked into `dir`; returns its one folder.
fn unpack(release: &Release, dir: &Path) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    run_tool(
        "tar",
        "tar",
        dir,
        &["-xzf", release.archive.to_str().unwrap()],
    );
    assert_eq!(list(dir), [release.name()], "one top-level folder");
    dir.join(release.name())
}

/// `git ARGS` in this checkout.
fn git(args: &[&str], tz_utc: bool) -> String {
    let mut cmd = Command::new("git");
    cmd.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    if tz_utc {
        cmd.env("TZ", "UTC");
    }
    let out = cmd.output().expect("git");
    assert!(out.status.success(), "git {args:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn version_names_the_commit_its_date_and_the_target() {
    let (version, commit, date, target) = version_words();
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    assert_eq!(commit, git(&["rev-parse", "--short=12", "HEAD"], false));
    // The commit's date, not the build's: two builds of one commit are the same binary.
    assert_eq!(
        date,
        git(
            &["log", "-1", "--format=%cd", "--date=format-local:%Y-%m-%d"],
            true
        )
    );
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or("rustc".into()))
        .arg("-vV")
        .output()
        .expect("rustc");
    let host = String::from_utf8(rustc.stdout).unwrap();
    let host = host.lines().find_map(|l| l.strip_prefix("host: ")).unwrap();
    assert_eq!(target, host);
    // One line, the same for -V and for a verb's --version.
    let line = run(&["--version"]).expect(0).stdout;
    assert_eq!(line.lines().count(), 1, "{line}");
    assert_eq!(run(&["-V"]).expect(0).stdout, line);
    assert_eq!(
        run(&["push", "--version"]).expect(0).stdout,
        line.replacen("packpub ", "packpub-push ", 1)
    );
}

#[test]
fn release_archive_layout_and_checksums() {
    let tmp = TempDir::new().unwrap();
    let release = build_release(tmp.path());

    let mut expected: BTreeSet<String> = [
        "",
        "packpub",
        "README.md",
        "LICENSE",
        "docs/",
        "docs/airgap.md",
        "docs/benchmarks.md",
        "docs/commands.md",
        "docs/install.md",
        "docs/layout.md",
        "docs/output.md",
        "docs/palette.md",
        "docs/registries.md",
        "docs/rules.md",
        "docs/testing.md",
        "completions/",
        "completions/packpub.bash",
        "completions/_packpub",
        "completions/packpub.fish",
        "completions/_packpub.ps1",
        "completions/packpub.elv",
        "man/",
        "man/man1/",
        "man/man1/packpub.1",
    ]
    .iter()
    .map(|p| format!("{}/{p}", release.name()))
    .collect();
    expected.extend(
        VERBS
            .iter()
            .map(|v| format!("{}/man/man1/packpub-{v}.1", release.name())),
    );
    let listing = run_tool(
        "tar",
        "tar",
        tmp.path(),
        &["-tvzf", release.archive.to_str().unwrap()],
    );
    let listing = String::from_utf8(listing).unwrap();
    let names: BTreeSet<String> = listing
        .lines()
        .map(|l| l.split_whitespace().last().unwrap().to_string())
        .collect();
    assert_eq!(names, expected);
    for line in listing.lines() {
        assert!(line.contains(" 0/0 "), "owned by root, no names: {line}");
        if line.ends_with("/packpub") {
            assert!(line.starts_with("-rwxr-xr-x"), "{line}");
        }
    }

    // SHA256SUMS names the archive and verifies, as a user checks a download.
    let sums = fs::read_to_string(release.dir.join("SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), 1, "{sums}");
    assert!(
        sums.ends_with(&format!("  {}.tar.gz\n", release.name())),
        "{sums}"
    );
    run_tool(
        "sha256sum",
        "coreutils",
        &release.dir,
        &["-c", "SHA256SUMS"],
    );

    // The same commit makes the same bytes.
    let first = fs::read(&release.archive).unwrap();
    let again = build_release(&tmp.path().join("again"));
    assert_eq!(
        fs::read(&again.archive).unwrap(),
        first,
        "a second run made other bytes"
    );

    let root = unpack(&release, &tmp.path().join("unpacked"));
    let shipped = Command::new(root.join("packpub"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&shipped.stdout),
        run(&["--version"]).stdout
    );
}

#[test]
fn completions_parse_and_complete_subcommands() {
    let tmp = TempDir::new().unwrap();
    let release = build_release(tmp.path());
    let root = unpack(&release, &tmp.path().join("unpacked"));
    let completions = root.join("completions");
    let bash = completions.join("packpub.bash");
    let zsh = completions.join("_packpub");
    let fish = completions.join("packpub.fish");
    for (shell, check, script) in [
        ("bash", "-n", &bash),
        ("zsh", "-n", &zsh),
        ("fish", "--no-execute", &fish),
    ] {
        run_tool(shell, shell, tmp.path(), &[check, script.to_str().unwrap()]);
    }
    // The script is the output: --json has no document to print, and says so as usage errors do.
    let refused = run(&["completions", "bash", "--json"]).expect(2);
    assert_eq!(refused.json()["exit_code"], 2);
    // What `packpub completions` prints is what the archive ships.
    for (shell, file) in [("bash", &bash), ("zsh", &zsh), ("fish", &fish)] {
        assert_eq!(
            run(&["completions", shell]).expect(0).stdout,
            fs::read_to_string(file).unwrap(),
            "{shell}"
        );
    }
    for (shell, file) in [("powershell", "_packpub.ps1"), ("elvish", "packpub.elv")] {
        let script = fs::read_to_string(completions.join(file)).unwrap();
        assert!(script.contains("--registry"), "{shell}: {script}");
    }

    // Tab after `packpub pu`, and after `packpub push --reg`, in bash: the function
    // `complete -p` names, called as bash's completion calls it.
    let complete_bash = |words: &[&str]| -> Vec<String> {
        let script = format!(
            r#"source "$1"
function=$(complete -p packpub | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
COMP_WORDS=({words})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
"$function" packpub "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
            words = words.join(" ")
        );
        let out = run_tool(
            "bash",
            "bash",
            tmp.path(),
            &["-c", &script, "bash", bash.to_str().unwrap()],
        );
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(complete_bash(&["packpub", "pu"]), ["push", "pull"]);
    assert_eq!(complete_bash(&["packpub", "push", "--reg"]), ["--registry"]);
    assert_eq!(complete_bash(&["packpub", "completions", "z"]), ["zsh"]);

    // fish completes from its own `complete -C`.
    let fish_says = run_tool(
        "fish",
        "fish",
        tmp.path(),
        &[
            "-c",
            &format!("source {}; complete -C 'packpub pu'", fish.display()),
        ],
    );
    let offered: Vec<String> = String::from_utf8(fish_says)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    assert_eq!(offered, ["pull", "push"]);
}

#[test]
fn man_pages_render_cleanly_and_match_help() {
    let tmp = TempDir::new().unwrap();
    let release = build_release(tmp.path());
    let root = unpack(&release, &tmp.path().join("unpacked"));
    let pages = root.join("man/man1");
    // `man --json` lists what it wrote: the archive's pages.
    let written = tmp.path().join("written");
    let listed = run(&["man", "--json", "-o", written.to_str().unwrap()]).expect(0);
    let listed: BTreeSet<String> = listed.json()["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(listed.into_iter().collect::<Vec<_>>(), list(&pages));
    let pages_and_commands = std::iter::once(("packpub.1".to_string(), vec![]))
        .chain(VERBS.iter().map(|v| (format!("packpub-{v}.1"), vec![*v])));
    for (page, command) in pages_and_commands {
        let out = Command::new("man")
            .args(["-l", "--warnings"])
            .arg(pages.join(&page))
            .env("MANWIDTH", "80")
            .env("LC_ALL", "C.UTF-8")
            .output()
            .unwrap_or_else(|e| missing_tool("man", "man-db", &e));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "{page}: {stderr}"
        );
        let text = unhyphenated(&String::from_utf8_lossy(&out.stdout));
        let name = if command.is_empty() {
            "packpub".to_string()
        } else {
            format!("packpub-{}", command[0])
        };
        assert!(text.contains(&format!("NAME {name} - ")), "{page}:\n{text}");
        // Each page a page names is there.
        for named in text.split(' ').filter_map(|w| w.strip_suffix("(1)")) {
            assert!(
                pages.join(format!("{named}.1")).exists(),
                "{page} names {named}(1)"
            );
        }
        // Every long flag and PACKPUB_* variable --help names, the page names too.
        let help = run(&[command.as_slice(), &["--help"]].concat())
            .expect(0)
            .stdout;
        for word in help.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
            if word.starts_with("--") && word.len() > 2 || word.starts_with("PACKPUB_") {
                assert!(text.contains(word), "{page} lacks {word}:\n{text}");
            }
        }
    }
}

/// Rendered man text as one line of words, with groff's hyphenation at line ends (U+2010)
/// undone, so a flag broken across lines reads whole.
fn unhyphenated(rendered: &str) -> String {
    let mut text = String::new();
    for line in rendered.lines() {
        let line = line.trim();
        if let Some(head) = text.strip_suffix('\u{2010}') {
            text = format!("{head}{line}");
        } else {
            text.push(' ');
            text.push_str(line);
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
