//! The GitHub Action's script (.github/action/run.sh), run here as the runner would run it:
//! installing from a release archive `.ci/release-archive` made (checked against its
//! SHA256SUMS), pushing to a real Distribution registry with Harbor-style token auth, and
//! writing the step's outputs and summary to the files GitHub reads. Traced with `bash -x`,
//! so a password that reached any command line would show.

#![cfg(target_os = "linux")]

use crate::release::{Release, build_release};
use crate::support::registry::Registry;
use crate::support::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

const PASSWORD: &str = "Qz7-action-s3cret";

/// The files a runner gives a step, and what the script left in them.
struct Step {
    run: Run,
    outputs: String,
    summary: String,
    path: String,
}

impl Step {
    /// The value of `name=` in GITHUB_OUTPUT.
    fn output(&self, name: &str) -> Option<&str> {
        self.outputs
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
    }

    /// Panics if the password shows anywhere: the trace, the outputs, the summary.
    fn assert_no_secret(&self, password: &str) {
        for (what, text) in [
            ("stdout", &self.run.stdout),
            ("stderr (bash -x trace)", &self.run.stderr),
            ("GITHUB_OUTPUT", &self.outputs),
            ("GITHUB_STEP_SUMMARY", &self.summary),
        ] {
            assert!(
                !text.contains(password),
                "the password is in {what}:\n{text}"
            );
        }
    }
}

/// Runs the action's script under `bash -x` with `inputs` (INPUT_* and any other variables) in
/// `dir`'s runner files.
fn action(dir: &Path, inputs: &[(&str, &str)]) -> Step {
    let runner = dir.join("runner");
    fs::create_dir_all(runner.join("temp")).unwrap();
    let files = ["output", "summary", "path"].map(|f| runner.join(f));
    for file in &files {
        fs::write(file, "").unwrap();
    }
    let mut cmd = isolated(Command::new("bash"));
    cmd.arg("-x")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/action/run.sh"))
        .env("RUNNER_TEMP", runner.join("temp"))
        .env("GITHUB_OUTPUT", &files[0])
        .env("GITHUB_STEP_SUMMARY", &files[1])
        .env("GITHUB_PATH", &files[2])
        .envs(inputs.iter().copied());
    let run = Run::of(cmd.output().unwrap());
    let [outputs, summary, path] = files.map(|f| fs::read_to_string(f).unwrap());
    Step {
        run,
        outputs,
        summary,
        path,
    }
}

/// A release, a registry that wants `alice` and [`PASSWORD`], and a pack to push.
struct Setup {
    tmp: TempDir,
    release: Release,
    registry: Registry,
    pack: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let tmp = TempDir::new().unwrap();
        let release = build_release(&tmp.path().join("release"));
        let pack = example_in(tmp.path(), "hello-1.0.0");
        Self {
            release,
            registry: Registry::token("alice", PASSWORD),
            pack,
            tmp,
        }
    }

    fn target(&self) -> String {
        format!("{}/proj", self.registry.host())
    }

    fn download_url(&self) -> String {
        format!("file://{}", self.release.dir.display())
    }
}

#[test]
fn action_installs_checked_release_and_pushes_with_password_on_stdin() {
    let s = Setup::new();
    let (url, target) = (s.download_url(), s.target());
    let step = action(
        s.tmp.path(),
        &[
            ("INPUT_VERSION", &s.release.version),
            ("INPUT_TARGET", &s.release.target),
            ("INPUT_DOWNLOAD_URL", &url),
            ("INPUT_PACKS", s.pack.to_str().unwrap()),
            ("INPUT_REGISTRY", &target),
            ("INPUT_USERNAME", "alice"),
            ("INPUT_PASSWORD", PASSWORD),
            ("INPUT_SYNC", "false"),
            // packpub's own settings come through the step's environment.
            ("PACKPUB_PLAIN_HTTP", "1"),
        ],
    );
    step.assert_no_secret(PASSWORD);
    assert_eq!(step.run.code, 0, "{}", step.run.stderr);
    // The trace is there, so its silence about the password means something.
    assert!(
        step.run.stderr.contains("--password-stdin"),
        "{}",
        step.run.stderr
    );

    // Installed: the archive's folder, on PATH for later steps, holding the binary.
    let installed = step.output("path").expect("a path output");
    assert_eq!(step.path.trim(), installed);
    assert!(installed.ends_with(&s.release.name()), "{installed}");
    let version = Command::new(Path::new(installed).join("packpub"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        run(&["--version"]).stdout
    );

    // The push's JSON, as an output on one line.
    let result: serde_json::Value =
        serde_json::from_str(step.output("result").expect("a result output")).unwrap();
    let pushed = &result[0];
    assert_eq!(pushed["name"], "hello");
    assert_eq!(pushed["version"], "1.0.0");
    assert_eq!(pushed["status"], "pushed");
    let reference = format!("{target}/spectro-packs/archive/hello:1.0.0");
    assert_eq!(pushed["reference"], reference.as_str());
    let digest = pushed["digest"].as_str().unwrap();
    assert!(digest.starts_with("sha256:"), "{digest}");
    assert_eq!(step.output("exit-code"), Some("0"));
    // The credential given was the one used: the token service granted alice's password.
    assert!(
        s.registry
            .token_requests()
            .iter()
            .any(|(_, grant, granted)| grant == "password" && *granted),
        "{:?}",
        s.registry.token_requests()
    );

    // The job summary: a Markdown table with a row for the pack.
    assert!(
        step.summary
            .contains("| pack | version | status | reference | digest or error |"),
        "{}",
        step.summary
    );
    let row = format!("| hello | 1.0.0 | pushed | {reference} | {digest} |");
    assert!(step.summary.contains(&row), "{}", step.summary);
}

#[test]
fn action_reports_a_refused_password_and_takes_the_version_from_its_tag() {
    let s = Setup::new();
    let (url, target) = (s.download_url(), s.target());
    let wrong = "Wr0ng-action-password";
    let action_ref = format!("v{}", s.release.version);
    let step = action(
        s.tmp.path(),
        &[
            ("ACTION_REF", &action_ref),
            ("INPUT_TARGET", &s.release.target),
            ("INPUT_DOWNLOAD_URL", &url),
            ("INPUT_PACKS", s.pack.to_str().unwrap()),
            ("INPUT_REGISTRY", &target),
            ("INPUT_USERNAME", "alice"),
            ("INPUT_PASSWORD", wrong),
            ("PACKPUB_PLAIN_HTTP", "1"),
        ],
    );
    step.assert_no_secret(wrong);
    // packpub's own exit code: 4, authentication failed.
    assert_eq!(step.run.code, 4, "{}", step.run.stderr);
    assert_eq!(step.output("exit-code"), Some("4"));
    let result: serde_json::Value = serde_json::from_str(step.output("result").unwrap()).unwrap();
    assert_eq!(result[0]["status"], "failed", "{result}");
    assert!(
        step.summary.contains("| hello | 1.0.0 | failed |"),
        "{}",
        step.summary
    );
}

#[test]
fn action_refuses_an_archive_that_does_not_match_sha256sums() {
    let s = Setup::new();
    // Appended bytes: still a valid gzip stream to tar, but not the release's archive.
    let mut bytes = fs::read(&s.release.archive).unwrap();
    bytes.extend_from_slice(&[0; 512]);
    fs::write(&s.release.archive, bytes).unwrap();
    let (url, target) = (s.download_url(), s.target());
    let step = action(
        s.tmp.path(),
        &[
            ("INPUT_VERSION", &s.release.version),
            ("INPUT_TARGET", &s.release.target),
            ("INPUT_DOWNLOAD_URL", &url),
            ("INPUT_PACKS", s.pack.to_str().unwrap()),
            ("INPUT_REGISTRY", &target),
            ("INPUT_USERNAME", "alice"),
            ("INPUT_PASSWORD", PASSWORD),
            ("PACKPUB_PLAIN_HTTP", "1"),
        ],
    );
    step.assert_no_secret(PASSWORD);
    assert_eq!(step.run.code, 2, "{}", step.run.stderr);
    assert!(
        step.run.stdout.contains("does not match SHA256SUMS"),
        "{}",
        step.run.stdout
    );
    // Nothing installed, nothing pushed.
    assert_eq!(step.path, "");
    assert_eq!(step.output("path"), None);
    assert!(s.registry.token_requests().is_empty());
}
