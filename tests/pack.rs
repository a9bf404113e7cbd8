//! `packpub pack` end to end: the built binary on real folders, checked with GNU tar.

use crate::support::*;
use std::fs;
use std::path::Path;
use std::process::Command;
use tempfile::TempDir;

fn pack_json_out(dir: &Path, out: &Path) -> serde_json::Value {
    let dir = dir.to_str().unwrap();
    run(&["pack", dir, "-o", out.to_str().unwrap(), "--json"])
        .expect(0)
        .json()
}

fn digest_of(dir: &Path, out: &Path) -> String {
    pack_json_out(dir, out)["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

fn tar(args: &[&str]) -> String {
    let out = Command::new("tar").args(args).output().expect("GNU tar");
    assert!(
        out.status.success(),
        "tar {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn same_content_gives_the_same_bytes_whatever_the_metadata() {
    let tmp = TempDir::new().unwrap();
    let a = example_in(&tmp.path().join("a"), "hello-1.0.0");
    // The second copy is created in another order, with other modes and times.
    let b = tmp.path().join("b/hello-1.0.0");
    fs::create_dir_all(b.join("manifests")).unwrap();
    for name in [
        "values.yaml",
        "manifests/hello.yaml",
        "logo.png",
        "README.md",
        "pack.json",
    ] {
        fs::copy(a.join(name), b.join(name)).unwrap();
        set_mode(&b.join(name), 0o600);
    }
    set_mode(&b.join("manifests"), 0o700);
    Command::new("touch")
        .args(["-d", "2001-02-03 04:05:06"])
        .arg(b.join("values.yaml"))
        .status()
        .unwrap();

    let first = digest_of(&a, &tmp.path().join("out-a"));
    let second = digest_of(&b, &tmp.path().join("out-b"));
    assert_eq!(first, second);
    assert_eq!(
        fs::read(tmp.path().join("out-a/hello-1.0.0.tar.gz")).unwrap(),
        fs::read(tmp.path().join("out-b/hello-1.0.0.tar.gz")).unwrap()
    );

    let mut yaml = fs::read(b.join("values.yaml")).unwrap();
    yaml[0] ^= 0x20;
    fs::write(b.join("values.yaml"), yaml).unwrap();
    assert_ne!(digest_of(&b, &tmp.path().join("out-c")), first);
}

#[test]
fn archive_holds_exactly_the_folder_under_one_top_level_directory() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    fs::write(dir.join("run.sh"), "#!/bin/sh\necho hi\n").unwrap();
    set_mode(&dir.join("run.sh"), 0o755);
    let out = tmp.path().join("out");
    let json = pack_json_out(&dir, &out);
    assert_eq!(json["name"], "hello");
    assert_eq!(json["version"], "1.0.0");
    assert_eq!(json["files"], 6);
    let archive = out.join("hello-1.0.0.tar.gz");
    assert_eq!(json["path"], archive.to_str().unwrap());
    assert_eq!(json["size"], fs::metadata(&archive).unwrap().len());

    let listing = tar(&["-tzvf", archive.to_str().unwrap()]);
    let lines: Vec<&str> = listing.lines().collect();
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "hello-1.0.0/",
            "hello-1.0.0/README.md",
            "hello-1.0.0/logo.png",
            "hello-1.0.0/manifests/",
            "hello-1.0.0/manifests/hello.yaml",
            "hello-1.0.0/pack.json",
            "hello-1.0.0/run.sh",
            "hello-1.0.0/values.yaml",
        ]
    );
    for line in &lines {
        assert!(line.contains(" 0/0 "), "owner must be 0/0: {line}");
        let mode = &line[..10];
        assert!(
            ["drwxr-xr-x", "-rw-r--r--", "-rwxr-xr-x"].contains(&mode),
            "{line}"
        );
    }
    assert!(listing.contains("-rwxr-xr-x 0/0") && listing.contains("hello-1.0.0/run.sh"));
    assert!(lines.iter().all(|l| l.contains("1980-01-01")), "{listing}");

    let extracted = tmp.path().join("x");
    fs::create_dir(&extracted).unwrap();
    tar(&[
        "-xzf",
        archive.to_str().unwrap(),
        "-C",
        extracted.to_str().unwrap(),
    ]);
    assert_eq!(list(&extracted), ["hello-1.0.0"]);
    assert_same_tree(&dir, &extracted.join("hello-1.0.0"));
}

#[test]
fn source_date_epoch_sets_every_timestamp() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("out");
    let pack_at = |epoch: &str| {
        let mut cmd = packpub();
        cmd.env("SOURCE_DATE_EPOCH", epoch).args([
            "pack",
            example().to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        Run::of(cmd.output().unwrap())
    };
    pack_at("1700000000").expect(0);
    let listing = tar(&[
        "--utc",
        "-tzvf",
        out.join("hello-1.0.0.tar.gz").to_str().unwrap(),
    ]);
    assert!(
        listing.lines().all(|l| l.contains("2023-11-14 22:13")),
        "{listing}"
    );
    let bad = pack_at("yesterday").expect(2);
    assert!(bad.stderr.contains("SOURCE_DATE_EPOCH"), "{}", bad.stderr);
}

#[test]
fn git_packignore_and_the_output_itself_stay_out() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    fs::create_dir_all(dir.join(".git/objects")).unwrap();
    fs::write(dir.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    fs::write(dir.join(".packignore"), "*.bak\nscratch/\n!keep.bak\n").unwrap();
    fs::write(dir.join("old.bak"), "x").unwrap();
    fs::write(dir.join("keep.bak"), "kept").unwrap();
    fs::create_dir(dir.join("scratch")).unwrap();
    fs::write(dir.join("scratch/notes.txt"), "x").unwrap();

    // Packing into the pack folder itself, twice: the first archive must not be packed.
    let first = digest_of(&dir, &dir);
    let second = digest_of(&dir, &dir);
    assert_eq!(first, second);
    let listing = tar(&["-tzf", dir.join("hello-1.0.0.tar.gz").to_str().unwrap()]);
    assert!(listing.contains("hello-1.0.0/keep.bak"), "{listing}");
    assert!(listing.contains("hello-1.0.0/.packignore"), "{listing}");
    for absent in [".git", "old.bak", "scratch", ".tar.gz", ".tmp"] {
        assert!(!listing.contains(absent), "{absent} packed:\n{listing}");
    }
}

#[test]
fn links_inside_the_folder_become_files_and_links_outside_are_refused() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    std::os::unix::fs::symlink("values.yaml", dir.join("defaults.yaml")).unwrap();
    let out = tmp.path().join("out");
    pack_json_out(&dir, &out);
    let listing = tar(&["-tzvf", out.join("hello-1.0.0.tar.gz").to_str().unwrap()]);
    let line = listing
        .lines()
        .find(|l| l.ends_with("defaults.yaml"))
        .unwrap();
    assert!(line.starts_with("-rw-r--r--"), "a regular file: {line}");

    std::os::unix::fs::symlink("/etc/passwd", dir.join("passwd")).unwrap();
    let out2 = tmp.path().join("out2");
    let run = run(&["pack", dir.to_str().unwrap(), "-o", out2.to_str().unwrap()]).expect(3);
    assert!(
        run.stderr
            .contains("passwd: is a symlink to \"/etc/passwd\", outside the pack folder"),
        "{}",
        run.stderr
    );
    assert!(!out2.exists(), "nothing may be written");
}

#[test]
fn json_goes_to_stdout_and_words_to_stderr() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("out");
    let human = run(&[
        "pack",
        example().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--color",
        "never",
    ])
    .expect(0);
    // The archive's path is the result a script goes on with; the rest is for people.
    let archive = out.join("hello-1.0.0.tar.gz");
    assert_eq!(human.stdout, format!("{}\n", archive.display()));
    assert!(
        human.stderr.contains("packed hello 1.0.0"),
        "{}",
        human.stderr
    );
    assert!(human.stderr.contains("sha256:"), "{}", human.stderr);
    assert!(!human.stderr.contains('\x1b'));

    let json = run(&[
        "pack",
        example().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--json",
    ])
    .expect(0);
    assert_eq!(json.stderr, "");
    let doc = json.json();
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "name", "version", "path", "digest", "size", "files", "warnings"
        ]
    );
    assert!(doc["digest"].as_str().unwrap().starts_with("sha256:"));

    let quiet = run(&[
        "pack",
        example().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-q",
    ])
    .expect(0);
    assert_eq!((quiet.stdout, quiet.stderr.as_str()), (human.stdout, ""));

    let colored = run(&[
        "pack",
        example().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--color",
        "always",
    ])
    .expect(0);
    assert!(colored.stderr.contains("\x1b[1;32m"), "{}", colored.stderr);
}

#[test]
fn usage_errors_exit_2() {
    let run = run(&["pack", "--no-such-flag"]).expect(2);
    assert!(run.stderr.contains("--no-such-flag"));
    crate::support::run(&["--color", "sometimes", "pack"]).expect(2);
}

#[test]
fn the_bundled_example_has_no_findings_even_under_strict() {
    let tmp = TempDir::new().unwrap();
    let run = run(&[
        "pack",
        example().to_str().unwrap(),
        "-o",
        tmp.path().to_str().unwrap(),
        "--strict",
    ])
    .expect(0);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

/// The real packs in ../shared/fixtures (unlicensed, so read in place, never copied) must pack
/// without errors. They are there on the project's machines and in its CI (which lays shared/
/// beside the clone), where this test runs them; elsewhere (a GitHub runner) it says SKIPPED.
#[test]
fn real_pack_central_packs_pack_without_errors() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/pack-central");
    let Ok(folders) = fs::read_dir(&fixtures) else {
        eprintln!("SKIPPED: {} not present", fixtures.display());
        return;
    };
    let tmp = TempDir::new().unwrap();
    let mut packed = 0;
    for folder in folders {
        let folder = folder.unwrap().path();
        let json = pack_json_out(&folder, tmp.path());
        assert!(json["files"].as_u64().unwrap() > 2, "{json}");
        packed += 1;
    }
    assert!(packed >= 2, "only {packed} fixture packs");
}

#[test]
fn memory_stays_flat_for_a_300_mb_pack() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "big-1.0.0");
    edit_pack_json(&dir, |doc| doc["name"] = "big".into());
    fs::create_dir(dir.join("blobs")).unwrap();
    for i in 0..3 {
        write_mixed(&dir.join(format!("blobs/part{i}.bin")), 100 << 20, i);
    }
    let mut cmd = packpub();
    cmd.args([
        "pack",
        dir.to_str().unwrap(),
        "-o",
        tmp.path().join("out").to_str().unwrap(),
    ]);
    let (run, peak_kib) = run_measured(cmd);
    run.expect(0);
    let archive = fs::metadata(tmp.path().join("out/big-1.0.0.tar.gz"))
        .unwrap()
        .len();
    eprintln!("300 MiB pack → {archive} bytes, peak RSS {peak_kib} KiB");
    assert!(
        peak_kib < 50 * 1024,
        "peak RSS {peak_kib} KiB is over 50 MiB"
    );
}

#[test]
fn ctrl_c_and_sigterm_leave_nothing_behind() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "big-1.0.0");
    edit_pack_json(&dir, |doc| doc["name"] = "big".into());
    for i in 0..4 {
        write_mixed(&dir.join(format!("part{i}.bin")), 64 << 20, i);
    }
    for (signal, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let out = tmp.path().join(format!("out-{signal}"));
        let child = packpub()
            .args(["pack", dir.to_str().unwrap(), "-o", out.to_str().unwrap()])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Wait (bounded) until the temp file exists, so the signal lands mid-write: 256 MiB of
        // half-random data take seconds to compress, the signal arrives within milliseconds.
        let started = (0..2000).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(5));
            !list(&out).is_empty()
        });
        assert!(started, "packing never started");
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let run = Run::of(child.wait_with_output().unwrap()).expect(code);
        assert!(run.stderr.contains("interrupted"), "{}", run.stderr);
        assert_eq!(list(&out), Vec::<String>::new(), "temp file left behind");
    }
}
