//! Hostile pack folders (issue 9): special files, YAML alias bombs, swapped files, link
//! fan-out and links that reach ignored paths. Every refusal is exit 3 with the file, the
//! problem and the fix, costs little memory, and writes nothing. (Files swapped between the
//! walk and the archive are covered by the unit tests of `src/pack/write.rs`: from outside, that
//! race cannot be won deterministically.)

use crate::support::*;
use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt, symlink};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use tempfile::TempDir;

/// Peak memory any refusal may take: a few times what `packpub` needs to start.
const MAX_RSS_KIB: u64 = 256 << 10;

/// Packs `dir` into `<tmp>/out`: the run, its peak RSS in KiB, and what was written.
fn pack(tmp: &TempDir, dir: &Path, extra: &[&str]) -> (Run, u64, Vec<String>) {
    let out = tmp.path().join("out");
    let mut cmd = packpub();
    cmd.arg("pack").arg(dir).arg("-o").arg(&out).args(extra);
    let (run, rss) = run_measured(cmd);
    (run, rss, list(&out))
}

/// `packpub pack dir` must be refused: exit 3, every word in `words` on stderr with a fix, under
/// [`MAX_RSS_KIB`], and no archive written.
fn refused(tmp: &TempDir, dir: &Path, words: &[&str]) -> Run {
    let (run, rss, written) = pack(tmp, dir, &[]);
    let run = run.expect(3);
    for word in words {
        assert!(
            run.stderr.contains(word),
            "missing {word:?} in:\n{}",
            run.stderr
        );
    }
    assert!(run.stderr.contains(". Fix: "), "no fix:\n{}", run.stderr);
    assert!(rss < MAX_RSS_KIB, "peak RSS {rss} KiB");
    assert!(written.is_empty(), "written despite errors: {written:?}");
    run
}

/// A FIFO with a writer waiting for a reader: a `packpub` that opened it would read an empty
/// file at once instead of waiting forever, so a regression fails on the message instead of
/// hanging the test.
struct Fifo {
    path: PathBuf,
    writer: Option<JoinHandle<()>>,
}

fn fifo(path: &Path) -> Fifo {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success());
    let to_open = path.to_path_buf();
    let writer = std::thread::spawn(move || {
        drop(OpenOptions::new().write(true).open(to_open));
    });
    Fifo {
        path: path.to_path_buf(),
        writer: Some(writer),
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        // A reader of our own lets the writer's open return, whenever the writer gets to it.
        let _reader = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&self.path)
            .unwrap();
        self.writer.take().unwrap().join().unwrap();
    }
}

#[test]
fn a_fifo_as_pack_json_is_refused_without_reading_it() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    fs::remove_file(dir.join("pack.json")).unwrap();
    let _fifo = fifo(&dir.join("pack.json"));
    let run = refused(
        &tmp,
        &dir,
        &["pack.json: is not a regular file or directory (socket, pipe or device)"],
    );
    assert!(run.stderr.contains("replace it with a regular file"));
    assert!(!run.stderr.contains("not valid JSON"), "{}", run.stderr);
}

#[test]
fn fifos_as_values_yaml_or_packignore_are_refused_without_reading_them() {
    for name in ["values.yaml", ".packignore"] {
        let tmp = TempDir::new().unwrap();
        let dir = example_in(tmp.path(), "hello-1.0.0");
        let _ = fs::remove_file(dir.join(name));
        let _fifo = fifo(&dir.join(name));
        refused(
            &tmp,
            &dir,
            &[&format!("{name}: is not a regular file or directory")],
        );
    }
}

#[test]
fn a_link_to_a_fifo_inside_the_folder_is_refused_without_reading_it() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    let _fifo = fifo(&dir.join("pipe"));
    fs::remove_file(dir.join("values.yaml")).unwrap();
    symlink("pipe", dir.join("values.yaml")).unwrap();
    refused(
        &tmp,
        &dir,
        &[
            "values.yaml: is not a regular file or directory",
            "pipe: is not a regular file or directory",
        ],
    );
}

#[test]
fn pack_json_linked_to_dev_zero_is_refused_without_reading_it() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    fs::remove_file(dir.join("pack.json")).unwrap();
    symlink("/dev/zero", dir.join("pack.json")).unwrap();
    refused(
        &tmp,
        &dir,
        &[
            "pack.json: is a symlink to \"/dev/zero\", outside the pack folder",
            "copy the file into the pack folder",
        ],
    );
}

/// Rewrites pack.json with `padding` spaces before its closing brace.
fn pad_pack_json(dir: &Path, padding: usize) -> u64 {
    let path = dir.join("pack.json");
    let text = fs::read_to_string(&path).unwrap();
    let body = text.trim_end().strip_suffix('}').unwrap();
    fs::write(&path, format!("{body}{}}}", " ".repeat(padding))).unwrap();
    fs::metadata(&path).unwrap().len()
}

#[test]
fn pack_json_is_read_up_to_one_mib_and_refused_past_it() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    let size = pad_pack_json(&dir, 0);
    assert_eq!(pad_pack_json(&dir, (1 << 20) - size as usize), 1 << 20);
    let (run, _, written) = pack(&tmp, &dir, &["--strict"]);
    run.expect(0);
    assert_eq!(written, ["hello-1.0.0.tar.gz"]);

    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    pad_pack_json(&dir, 1 << 20);
    refused(
        &tmp,
        &dir,
        &[
            "pack.json: is larger than 1 MiB (1048576 bytes)",
            "keep pack.json under 1 MiB",
        ],
    );
}

#[test]
fn a_values_yaml_past_sixteen_mib_is_refused() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    let line = "key: value\n";
    let lines = (16 << 20) / line.len() + 1;
    fs::write(dir.join("values.yaml"), line.repeat(lines)).unwrap();
    refused(
        &tmp,
        &dir,
        &[
            "values.yaml: is larger than 16 MiB (16777216 bytes)",
            "keep values.yaml under 16 MiB",
        ],
    );
}

#[test]
fn a_yaml_alias_bomb_is_refused_without_expanding_it() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    // Nine levels of nine aliases each: 9^9 (387 million) strings once expanded.
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (prev, name) in ('a'..'i').zip('b'..='i') {
        let aliases = vec![format!("*{prev}"); 9].join(",");
        bomb.push_str(&format!("{name}: &{name} [{aliases}]\n"));
    }
    assert!(bomb.len() < 400, "{} bytes", bomb.len());
    fs::write(dir.join("values.yaml"), bomb).unwrap();
    refused(
        &tmp,
        &dir,
        &[
            "values.yaml:4:17: is not valid YAML at line 4, column 17",
            "billion laughs",
            "document contains excessive aliasing",
        ],
    );
}

#[test]
fn yaml_aliases_of_shared_blocks_are_fine() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    let mut values = String::from(
        "pack:\n  content:\n    images:\n      - image: nginx:1.27\ndefaults: &defaults\n  cpu: 100m\n  memory: 64Mi\n",
    );
    for i in 0..200 {
        values.push_str(&format!("service{i}:\n  resources: *defaults\n"));
    }
    fs::write(dir.join("values.yaml"), values).unwrap();
    let (run, _, written) = pack(&tmp, &dir, &["--strict"]);
    run.expect(0);
    assert_eq!(written, ["hello-1.0.0.tar.gz"]);
}

#[test]
fn yaml_aliases_inside_what_they_repeat_are_refused() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    fs::write(dir.join("values.yaml"), "a: &a\n  b: *a\n").unwrap();
    refused(
        &tmp,
        &dir,
        &[
            "values.yaml:2:6: is not valid YAML at line 2, column 6: has the alias *a inside the node it repeats",
        ],
    );
}

/// Go's YAML reads 10,000 levels (scannerc.go `max_flow_level`, `max_indents`) and refuses
/// the next: packpub draws the line at the same place, without recursing.
#[test]
fn deeply_nested_yaml_is_refused() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    let images = "pack:\n  content:\n    images:\n      - image: nginx:1.27\n";
    fs::write(
        dir.join("values.yaml"),
        format!("{images}deep: {}{}\n", "[".repeat(9_999), "]".repeat(9_999)),
    )
    .unwrap();
    let (run, _, written) = pack(&tmp, &dir, &["--strict"]);
    run.expect(0);
    assert_eq!(written, ["hello-1.0.0.tar.gz"]);
    fs::remove_dir_all(tmp.path().join("out")).unwrap();
    // A block sequence in a block sequence, 100,000 times, in 200 KB.
    fs::write(
        dir.join("values.yaml"),
        format!("{}x\n", "- ".repeat(100_000)),
    )
    .unwrap();
    refused(
        &tmp,
        &dir,
        &[
            "values.yaml:1:20001: is not valid YAML at line 1, column 20001: nests deeper than 10000 levels",
            "exceeded max depth of 10000",
        ],
    );
}

#[test]
fn link_fan_out_is_refused_at_once() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    // Each level links twice to the level below: 2^16 copies of level 0 if links were followed.
    fs::create_dir(dir.join("l0")).unwrap();
    fs::write(dir.join("l0/data.yaml"), "a: 1\n").unwrap();
    for level in 1..=16 {
        let here = dir.join(format!("l{level}"));
        fs::create_dir(&here).unwrap();
        for name in ["a", "b"] {
            symlink(format!("../l{}", level - 1), here.join(name)).unwrap();
        }
    }
    let run = refused(
        &tmp,
        &dir,
        &[
            "l1/a: links to a folder that is already in the pack (l0)",
            "l16/b: links to a folder that is already in the pack (l15)",
            "remove the link (the folder is packed under its own path)",
        ],
    );
    assert!(run.stderr.contains("32 error(s)"), "{}", run.stderr);
}

#[test]
fn links_to_the_pack_folder_or_a_folder_above_are_refused() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    symlink(".", dir.join("self")).unwrap();
    symlink("..", dir.join("manifests/up")).unwrap();
    refused(
        &tmp,
        &dir,
        &[
            "self: links to a folder that is already in the pack (.)",
            "manifests/up: links to a folder that is already in the pack (.)",
        ],
    );
}

#[test]
fn a_folder_with_too_many_entries_is_refused() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    let many = dir.join("generated");
    fs::create_dir(&many).unwrap();
    let create = |i: usize| drop(fs::File::create(many.join(i.to_string())).unwrap());
    (0..100_000).for_each(create);
    // The folder can be listed, but the pack then holds more than 100,000 entries. Only that
    // is reported: what the walk did not reach is not missing.
    let run = refused(
        &tmp,
        &dir,
        &[
            "hello-1.0.0: holds more than 100000 files and folders; no pack is that large",
            "add generated or vendored folders to .packignore",
            "1 error(s), 0 warning(s)",
        ],
    );
    assert!(!run.stderr.contains("values.yaml"), "{}", run.stderr);
    // One more, and the folder is too large to list.
    create(100_000);
    refused(
        &tmp,
        &dir,
        &[
            "generated/: holds more than 100000 entries",
            "add the folder to .packignore",
            "1 error(s), 0 warning(s)",
        ],
    );
}

/// Every entry in the archive at `path`, by name (folders end in '/'), with its content.
fn archive_entries(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let gz = flate2::read::GzDecoder::new(fs::File::open(path).unwrap());
    let mut archive = tar::Archive::new(gz);
    let mut files = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        files.insert(name, bytes);
    }
    files
}

#[test]
fn links_to_excluded_paths_stay_excluded() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    fs::create_dir_all(dir.join(".git")).unwrap();
    fs::write(dir.join(".git/config"), "SECRET-GIT\n").unwrap();
    fs::create_dir(dir.join("secret")).unwrap();
    fs::write(dir.join("secret/key.txt"), "SECRET-KEY\n").unwrap();
    fs::write(dir.join(".packignore"), "secret/\n").unwrap();
    fs::create_dir(dir.join("old")).unwrap();
    fs::write(dir.join("old/hello-0.9.0.tar.gz"), "SECRET-OLD-ARCHIVE\n").unwrap();
    for (link, target) in [
        ("git", ".git"),
        ("git-config.txt", ".git/config"),
        ("docs", "secret"),
        ("key.txt", "secret/key.txt"),
        ("manifests/key.txt", "../secret/key.txt"),
        ("previous.tgz", "old/hello-0.9.0.tar.gz"),
    ] {
        symlink(target, dir.join(link)).unwrap();
    }
    let (run, _, written) = pack(&tmp, &dir, &["--strict"]);
    let run = run.expect(0);
    assert_eq!(written, ["hello-1.0.0.tar.gz"], "{}", run.stderr);
    let entries = archive_entries(&tmp.path().join("out/hello-1.0.0.tar.gz"));
    let names: Vec<&String> = entries.keys().collect();
    assert_eq!(
        names,
        [
            "hello-1.0.0/",
            "hello-1.0.0/.packignore",
            "hello-1.0.0/README.md",
            "hello-1.0.0/logo.png",
            "hello-1.0.0/manifests/",
            "hello-1.0.0/manifests/hello.yaml",
            "hello-1.0.0/pack.json",
            "hello-1.0.0/values.yaml",
        ]
    );
    for (name, bytes) in &entries {
        assert!(
            !String::from_utf8_lossy(bytes).contains("SECRET"),
            "{name} holds excluded content"
        );
    }
}

/// A values.yaml near its 16 MiB cap that is one huge flow sequence, or one flow mapping of a
/// million keys: read and judged in bounded memory (the rules' tree stops at its node budget,
/// the key bookkeeping at its own), and packed.
#[test]
fn huge_flow_collections_are_read_in_bounded_memory() {
    let images = "pack:\n  content:\n    images:\n      - image: nginx:1.27\n";
    for values in [
        format!("{images}a: [{}]\n", "1, ".repeat(4_000_000)),
        format!(
            "{images}b: {{{}}}\n",
            (0..1_000_000)
                .map(|i| format!("k{i}: 1"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ] {
        assert!(values.len() < 16 << 20);
        let tmp = TempDir::new().unwrap();
        let dir = example_in(tmp.path(), "hello-1.0.0");
        fs::write(dir.join("values.yaml"), values).unwrap();
        let (run, rss, written) = pack(&tmp, &dir, &[]);
        run.expect(0);
        assert_eq!(written, ["hello-1.0.0.tar.gz"]);
        assert!(rss < MAX_RSS_KIB, "peak RSS {rss} KiB");
    }
}
