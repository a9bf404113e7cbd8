//! What scripts and CI see (issue 22): results on stdout and talk on stderr for every verb,
//! exit codes that tell a published pack from a failed one, and messages that name the one
//! cause and the one fix.

use crate::support::proxy::{Fault, Proxy};
use crate::support::registry::Registry;
use crate::support::tmux::Tmux;
use crate::support::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn results_go_to_stdout_for_pipes_and_q_keeps_them() {
    let reg = Registry::plain();
    let target = format!("{}/proj", reg.host());
    let tmp = TempDir::new().unwrap();
    let pack = example_in(tmp.path(), "hello-1.0.0");
    run(&["push", s(&pack), "--registry", &target, "--plain-http"]).expect(0);

    // `ls | grep hello` finds the pack, with -q too.
    for quiet in [&[][..], &["-q"][..]] {
        let mut args = vec!["ls", "--registry", &target, "--plain-http"];
        args.extend(quiet);
        let listed = run(&args).expect(0);
        assert_eq!(listed.stdout, "hello 1.0.0\n", "{}", listed.stderr);
        assert_eq!(listed.stderr, "", "{quiet:?}");
    }

    // An empty or mistyped project says so on stderr, and stdout stays empty.
    let empty = format!("{}/nothing-here", reg.host());
    let listed = run(&["ls", "--registry", &empty, "--plain-http"]).expect(0);
    assert_eq!(listed.stdout, "");
    listed.said(&format!("no packs under {empty}/spectro-packs/archive"));
    let missing = run(&["ls", "world", "--registry", &target, "--plain-http"]).expect(0);
    assert_eq!(missing.stdout, "");
    missing.said("no pack named world");

    // `pull` prints the path it wrote; with --extract, the folder.
    let pull = |out: &Path, extra: &str| {
        let pack = ["pull", "hello:1.0.0", "--registry", &target, "--plain-http"];
        run(&[&pack[..], &["-o", s(out), extra]].concat()).expect(0)
    };
    let out = tmp.path().join("pulled");
    let pulled = pull(&out, "-q");
    let archive = out.join("hello-1.0.0.tar.gz");
    assert_eq!(pulled.stdout, format!("{}\n", archive.display()));
    let extracted = pull(&tmp.path().join("x"), "--extract");
    let folder = extracted.stdout.trim_end();
    assert!(Path::new(folder).join("pack.json").is_file(), "{folder}");

    // `init` prints the folder it made.
    let manifest = tmp.path().join("cm.yaml");
    fs::write(
        &manifest,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    )
    .unwrap();
    let made = tmp.path().join("made");
    let init = run(&[
        "init",
        "--manifests",
        s(&manifest),
        "--name",
        "demo",
        "--version",
        "1.0.0",
        "-o",
        s(&made),
    ])
    .expect(0);
    assert_eq!(
        init.stdout,
        format!("{}\n", made.join("demo-1.0.0").display())
    );
}

/// After `logout`, a refusal says no credential was found, where packpub looked and how to
/// give one, not "authentication failed"; a refused password names where it came from; one
/// of the two variables without the other is a usage error.
#[test]
fn missing_credentials_are_not_a_wrong_password() {
    let reg = Registry::tls_basic("alice", "right-pass");
    let ca = reg.ca_pem_path().to_str().unwrap().to_string();
    let target = format!("{}/proj", reg.host());
    let pack = example();
    let host = reg.host();
    let push = ["push", s(&pack), "--registry", &target, "--ca-file", &ca];
    let ls = ["ls", "--registry", &target, "--ca-file", &ca];

    for args in [&push[..], &ls[..]] {
        let refused = run(args).expect(4);
        let said = &refused.stderr;
        assert!(
            said.contains(&format!("no credentials for {host} (looked in: ")),
            "{said}"
        );
        assert!(
            said.contains(&format!("run `packpub login {host}`")),
            "{said}"
        );
        assert!(said.contains("PACKPUB_USERNAME/PACKPUB_PASSWORD"), "{said}");
        assert!(!said.contains("Harbor"), "{said}");
    }

    let wrong = Run::of(
        packpub()
            .args(push)
            .env("PACKPUB_USERNAME", "alice")
            .env("PACKPUB_PASSWORD", "wrong-pass")
            .output()
            .unwrap(),
    )
    .expect(4);
    wrong.said(&format!("authentication failed for {host}: Not authorized"));
    wrong.said("(the credential came from PACKPUB_USERNAME and PACKPUB_PASSWORD)");
    assert!(!wrong.stderr.contains("wrong-pass"), "{}", wrong.stderr);

    for (set, missing) in [
        ("PACKPUB_PASSWORD", "PACKPUB_USERNAME"),
        ("PACKPUB_USERNAME", "PACKPUB_PASSWORD"),
    ] {
        let half = Run::of(packpub().args(push).env(set, "x").output().unwrap()).expect(2);
        half.said(&format!("{set} is set but {missing} is not"));
    }
}

/// packpub tells which way the scheme is wrong and gives the one fix, exit 7 either way.
#[test]
fn http_against_https_and_back_names_the_one_fix() {
    let plain = Registry::plain();
    let https = Registry::tls_basic("alice", "pass");
    let ca = https.ca_pem_path().to_str().unwrap().to_string();
    let to_plain = ["ls", "hello", "--registry", plain.host()];
    let to_https = [
        "ls",
        "hello",
        "--registry",
        https.host(),
        "--plain-http",
        "--ca-file",
        &ca,
    ];
    for (args, fix, not) in [
        (
            &to_plain[..],
            "answers plain HTTP, not HTTPS: add --plain-http",
            "drop",
        ),
        (
            &to_https[..],
            "answers HTTPS, not plain HTTP: drop --plain-http",
            "add",
        ),
    ] {
        let refused = run(args).expect(7);
        refused.said(&format!("{} {fix}", args[3]));
        let other = format!("{not} --plain-http");
        assert!(!refused.stderr.contains(&other), "{}", refused.stderr);
    }
}

/// A pack folder with `size` more bytes (half compressible) behind an uplink of 1 MiB/s, and
/// the bytes of its files: what a progress bar counts against.
fn slow_push_setup(tmp: &Path, size: usize) -> (Registry, Proxy, PathBuf, u64) {
    let reg = Registry::plain();
    let proxy = Proxy::start(
        reg.host().parse().unwrap(),
        Fault::Slow {
            bytes_per_sec: 1 << 20,
        },
    );
    let pack = example_in(tmp, "hello-1.0.0");
    write_mixed(&pack.join("blob.bin"), size, 7);
    let files = walkdir(&pack);
    (reg, proxy, pack, files)
}

/// The bytes of every file below `dir`.
fn walkdir(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walkdir(&e.path())
            } else {
                e.metadata().unwrap().len()
            }
        })
        .sum()
}

/// Off a terminal (a CI log), a long push prints a line every --progress-every with the bytes
/// done of the folder's size (never of a total that grows), the rate and the pack; -q none.
#[test]
fn off_a_terminal_a_long_push_says_it_is_alive() {
    let tmp = TempDir::new().unwrap();
    let (_reg, proxy, pack, size) = slow_push_setup(tmp.path(), 8 << 20);
    let target = format!("{}/proj", proxy.addr());
    let push = |target: &str, extra: &[&str]| {
        Run::of(
            packpub()
                .args(["push", s(&pack), "--registry", target, "--plain-http"])
                .args(extra)
                .env("PACKPUB_PROGRESS_EVERY", "1s")
                .output()
                .unwrap(),
        )
    };
    let pushed = push(&target, &[]).expect(0);
    let total = format!("/{} (", indicatif::HumanBytes(size));
    let lines: Vec<&str> = pushed
        .stderr
        .lines()
        .filter(|l| l.starts_with("hello 1.0.0: "))
        .collect();
    assert!(lines.len() >= 2, "{}", pushed.stderr);
    for line in &lines {
        assert!(
            line.contains(&total) && line.ends_with("/s)"),
            "{line} (wanted {total})"
        );
    }
    // Pushing it again into another project is as slow, and -q says nothing.
    let quiet = push(&format!("{}/other", proxy.addr()), &["-q"]).expect(0);
    assert_eq!(quiet.stderr, "");
}

/// On a terminal, a folder push's bar counts against the folder's size from the start (it
/// once showed "29.00 MiB/37.50 MiB … ETA 0s", the total growing with compression).
#[test]
fn on_a_terminal_the_bar_counts_against_the_folders_size() {
    let tmp = TempDir::new().unwrap();
    let (_reg, proxy, pack, size) = slow_push_setup(tmp.path(), 8 << 20);
    let target = format!("{}/proj", proxy.addr());
    let args = ["push", s(&pack), "--registry", &target, "--plain-http"];
    let term = Tmux::run(packpub(), Path::new(env!("CARGO_BIN_EXE_packpub")), &args);
    let total = format!("/{} ", indicatif::HumanBytes(size));
    let mut frames = Vec::new();
    let end = term.wait_for(Duration::from_secs(60), |screen| {
        if let Some(bar) = screen.lines().find(|l| l.starts_with("hello 1.0.0 ")) {
            frames.push(bar.to_string());
        }
        screen.contains("[exit ")
    });
    assert!(
        end.contains("✔ pushed hello 1.0.0") && end.contains("[exit 0]"),
        "{end}"
    );
    assert!(frames.len() >= 3, "{frames:?}");
    for frame in &frames {
        assert!(frame.contains(&total), "{frame} (wanted {total})");
    }
}

/// `push -u NAME` on a terminal asks for the password as `login` does, without echo.
#[test]
fn push_with_a_user_name_prompts_for_the_password_on_a_terminal() {
    let reg = Registry::tls_basic("alice", "right-pass");
    let target = format!("{}/proj", reg.host());
    let ca = reg.ca_pem_path().to_str().unwrap().to_string();
    let pack = example();
    let args = [
        "push",
        s(&pack),
        "--registry",
        &target,
        "--ca-file",
        &ca,
        "-u",
        "alice",
    ];
    let term = Tmux::run(packpub(), Path::new(env!("CARGO_BIN_EXE_packpub")), &args);
    term.wait_for(Duration::from_secs(30), |s| {
        s.contains("Password for alice:")
    });
    term.type_line("right-pass");
    let end = term.wait_for(Duration::from_secs(30), |s| s.contains("[exit "));
    assert!(
        end.contains("✔ pushed hello 1.0.0") && end.contains("[exit 0]"),
        "{end}"
    );
    assert!(
        !end.contains("right-pass"),
        "the password was echoed:\n{end}"
    );
    // Off a terminal it says how to give the password instead.
    let piped = run(&args).expect(2);
    piped.said("pipe the password in with --password-stdin");
}

/// A usage error under --json names what is missing; a mistyped flag is never answered with
/// --force; `--format human|json` works on every verb, as --json does.
#[test]
fn usage_errors_name_what_is_missing_and_never_suggest_force() {
    for args in [&["push", "--json"][..], &["push", "--format", "json"][..]] {
        let refused = run(args).expect(2);
        assert_eq!(
            refused.json()["error"],
            "the following required arguments were not provided: --registry <TARGET>",
            "{args:?}"
        );
    }
    for typo in ["--forc", "--format=xml", "--formt"] {
        let refused = run(&["push", typo, "--registry", "oci:x"]).expect(2);
        assert!(
            !refused.stderr.contains("--force"),
            "{typo}: {}",
            refused.stderr
        );
    }
    let tmp = TempDir::new().unwrap();
    let layout = format!("oci:{}", tmp.path().join("layout").display());
    let pushed = run(&[
        "push",
        s(&example()),
        "--registry",
        &layout,
        "--format",
        "json",
    ])
    .expect(0);
    assert_eq!(pushed.json()[0]["status"], "pushed");
    let listed = run(&["list", "--registry", &layout, "--format=human"]).expect(0);
    assert_eq!(listed.stdout, "hello 1.0.0\n");
}

/// Habits from other tools get the exact fix: docker's `-p`, `publish`, `init CHART`.
#[test]
fn habits_from_other_tools_are_answered_with_the_fix() {
    let said = |args: &[&str], words: &str| {
        run(args).expect(2).said(words);
    };
    said(
        &["login", "r.example", "-u", "me", "-p", "secret"],
        "--password-stdin",
    );
    said(
        &["push", "--registry", "r.example", "--password=secret"],
        "PACKPUB_PASSWORD",
    );
    said(&["publish", "hello"], "`packpub push`");
    said(&["init", "mychart"], "`packpub init --chart mychart`");
}

/// `login` finds an unreachable registry or an untrusted certificate before it asks for
/// anything (here it would otherwise stop at "stdin is not a terminal").
#[test]
fn login_checks_the_registry_before_asking_for_the_password() {
    let https = Registry::tls_basic("alice", "pass");
    let untrusted = run(&["login", https.host(), "-u", "alice"]).expect(7);
    untrusted.said("--ca-file");
    let refused = run(&["login", "127.0.0.1:1", "-u", "alice", "--retries", "0"]).expect(7);
    refused.said("connection refused");
}

/// `pull --extract` into a folder that holds the pack already is a usage error naming
/// --force, which replaces it.
#[test]
fn pull_extract_over_an_existing_folder_needs_force() {
    let tmp = TempDir::new().unwrap();
    let layout = format!("oci:{}", tmp.path().join("layout").display());
    run(&["push", s(&example()), "--registry", &layout]).expect(0);
    let out = tmp.path().join("out");
    let pull = |extra: &[&str]| {
        let mut args = vec![
            "pull",
            "hello:1.0.0",
            "--registry",
            &layout,
            "--extract",
            "-o",
        ];
        args.push(s(&out));
        args.extend(extra);
        run(&args)
    };
    pull(&[]).expect(0);
    fs::write(out.join("hello-1.0.0/stale.txt"), "old").unwrap();
    let refused = pull(&[]).expect(2);
    refused.said("pass --force to replace it");
    pull(&["--force"]).expect(0);
    assert!(!out.join("hello-1.0.0/stale.txt").exists());
    assert!(out.join("hello-1.0.0/pack.json").is_file());
}

/// A version conflict names what changed without -v: the first files of each kind, and the
/// count of the rest.
#[test]
fn a_version_conflict_shows_what_changed() {
    let tmp = TempDir::new().unwrap();
    let layout = format!("oci:{}", tmp.path().join("layout").display());
    run(&["push", s(&example()), "--registry", &layout]).expect(0);
    let pack = example_in(tmp.path(), "hello-1.0.0");
    fs::write(pack.join("values.yaml"), "changed: true\n").unwrap();
    for i in 0..7 {
        fs::write(pack.join(format!("extra-{i}.txt")), "x").unwrap();
    }
    let refused = run(&["push", s(&pack), "--registry", &layout]).expect(5);
    let said = &refused.stderr;
    assert!(said.contains("changed: values.yaml"), "{said}");
    assert!(
        said.contains(
            "only here: extra-0.txt, extra-1.txt, extra-2.txt, extra-3.txt, extra-4.txt and 2 more"
        ),
        "{said}"
    );
}

/// With one registry side, `copy` takes the plain credential and CA names for it (there is no
/// other registry to leak them to); with two, a TLS error names the side's own flag.
#[test]
fn copy_with_one_registry_side_takes_the_plain_names() {
    let https = Registry::tls_basic("alice", "right-pass");
    let ca = https.ca_pem_path().to_str().unwrap().to_string();
    let target = format!("{}/proj", https.host());
    let with_env = |args: &[&str]| {
        Run::of(
            packpub()
                .args(args)
                .env("PACKPUB_USERNAME", "alice")
                .env("PACKPUB_PASSWORD", "right-pass")
                .output()
                .unwrap(),
        )
    };
    with_env(&[
        "push",
        s(&example()),
        "--registry",
        &target,
        "--ca-file",
        &ca,
    ])
    .expect(0);
    let tmp = TempDir::new().unwrap();
    let bundle = format!("oci-archive:{}", tmp.path().join("packs.tar").display());
    with_env(&["copy", &target, &bundle, "hello", "--ca-file", &ca]).expect(0);
    // PACKPUB_CA_FILE serves too, into a layout.
    let layout = format!("oci:{}", tmp.path().join("layout").display());
    let copied = Run::of(
        packpub()
            .args(["copy", &target, &layout, "hello"])
            .env("PACKPUB_USERNAME", "alice")
            .env("PACKPUB_PASSWORD", "right-pass")
            .env("PACKPUB_CA_FILE", &ca)
            .output()
            .unwrap(),
    )
    .expect(0);
    copied.said("hello 1.0.0");

    // Two registries: the error names SRC's flag; --ca-file would be ambiguous.
    let plain = Registry::plain();
    let dst = format!("{}/proj", plain.host());
    let two = ["copy", &target, &dst, "hello", "--dst-plain-http"];
    let untrusted = run(&two).expect(7);
    untrusted.said("--src-ca-file PEM (or PACKPUB_SRC_CA_FILE)");
    let mut ambiguous = two.to_vec();
    ambiguous.extend(["--ca-file", &ca]);
    let refused = run(&ambiguous).expect(2);
    refused.said("--src-ca-file and --dst-ca-file");
}

/// With several packs in one run, every finding names its pack; `push` in a folder that holds
/// packs but is none says so in one line and lists them.
#[test]
fn several_packs_name_themselves() {
    let tmp = TempDir::new().unwrap();
    let one = example_in(tmp.path(), "hello-1.0.0");
    let two = example_in(tmp.path(), "world-2.0.0");
    edit_pack_json(&two, |doc| {
        doc["name"] = "world".into();
        doc["version"] = "2.0.0".into();
    });
    fs::remove_file(one.join("logo.png")).unwrap();
    fs::remove_file(two.join("logo.png")).unwrap();
    let layout = format!("oci:{}", tmp.path().join("layout").display());
    let pushed = run(&["push", s(&one), s(&two), "--registry", &layout]).expect(0);
    for pack in [&one, &two] {
        let named = format!("warning: {}/logo.png: is missing", pack.display());
        assert!(
            pushed.stderr.contains(&named),
            "{named}:\n{}",
            pushed.stderr
        );
    }
    let holder = Run::of(
        packpub()
            .args(["push", "--registry", &layout])
            .current_dir(tmp.path())
            .output()
            .unwrap(),
    )
    .expect(2);
    assert_eq!(
        holder.stderr,
        "error: . is not a pack (no pack.json) but holds 2 pack(s): hello-1.0.0, world-2.0.0; \
         name them (`packpub push */`)\n"
    );
}

/// Every problem at once, advice that agrees with itself, one word per outcome, and no
/// doubled words in a finding.
#[test]
fn findings_come_all_at_once_and_say_things_once() {
    let tmp = TempDir::new().unwrap();
    // An invalid name no longer hides a missing manifest; its fix is said once.
    let bad = example_in(tmp.path(), "hello-1.0.0");
    edit_pack_json(&bad, |doc| doc["name"] = "Hello_X".into());
    fs::remove_file(bad.join("manifests/hello.yaml")).unwrap();
    let linted = run(&["lint", s(&bad)]).expect(3);
    linted.said("\"manifests/hello.yaml\" does not exist");
    assert_eq!(
        linted.stderr.matches("Fix:").count(),
        linted.stderr.lines().count() - 1,
        "{}",
        linted.stderr
    );
    // A leading v: the folder is asked to match the version as it will be.
    let v = example_in(tmp.path(), "hello-0.1.0");
    edit_pack_json(&v, |doc| doc["version"] = "v0.1.0".into());
    let linted = run(&["lint", s(&v)]).expect(0);
    linted.said("Fix: use \"0.1.0\"");
    assert!(!linted.stderr.contains("hello-v0.1.0"), "{}", linted.stderr);
    // A JSON syntax error gives its position once.
    let broken = example_in(tmp.path(), "broken-1.0.0");
    fs::write(broken.join("pack.json"), "{\"name\": \"x\",\n").unwrap();
    let linted = run(&["lint", s(&broken)]).expect(3);
    assert_eq!(
        linted.stderr.matches("line 2").count(),
        1,
        "{}",
        linted.stderr
    );

    // A dry run prints no empty digest line; a second push says `unchanged`, as --json does.
    let layout = format!("oci:{}", tmp.path().join("layout").display());
    let dry = run(&["push", s(&example()), "--registry", &layout, "--dry-run"]).expect(0);
    assert!(
        !dry.stderr.lines().any(|l| l.trim() == "digest"),
        "{}",
        dry.stderr
    );
    run(&["push", s(&example()), "--registry", &layout]).expect(0);
    let again = run(&["push", s(&example()), "--registry", &layout]).expect(0);
    again.said("hello 1.0.0 unchanged");

    // A failed check reads "error: <check>", with no mark glued in.
    let other = example_in(tmp.path(), "other");
    fs::write(other.join("values.yaml"), "changed: true\n").unwrap();
    let verified = run(&["verify", s(&other), "--registry", &layout]).expect(6);
    verified.said("error: digest: ");
    assert!(!verified.stderr.contains("error: ✘"), "{}", verified.stderr);
}
