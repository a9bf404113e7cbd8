//! The archive `pack` writes on many threads, as other tools read it (issue 13).
//!
//! `pack` cuts the tar stream into 512 KiB blocks, compresses them in parallel and joins them into
//! one gzip member, so the bytes must not depend on `--jobs` and every reader must take the
//! archive whole: readers that stop after the first gzip member (flate2's `GzDecoder`, Python's
//! `tarfile` in stream mode) as much as GNU tar, Python's random-access `tarfile` and Go's
//! `archive/tar` (which Palette is written in). Each test packs a generated folder holding every
//! kind of entry (YAML manifests, half-random binaries, nested and empty folders, an executable,
//! an empty file, a file of whole MiBs, a name with spaces and UTF-8) and compares what each
//! reader sees with the folder itself.

use crate::support::*;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

const MIB: u64 = 1 << 20;

/// Environment variables a run adds.
type Env<'a> = &'a [(&'a str, &'a str)];

/// One archive entry as a reader reports it, or one file or folder of a tree: the path without
/// a trailing slash, `d` or `f` (`?` for anything else), the mode, the size and, for files, the
/// sha256 of the content.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    path: String,
    kind: char,
    mode: u32,
    size: u64,
    sha256: String,
}

impl Entry {
    /// Parses `path<TAB>kind<TAB>octal mode<TAB>size<TAB>sha256`, the line the Python and Go
    /// readers print.
    fn parse(line: &str) -> Self {
        let fields: Vec<&str> = line.split('\t').collect();
        let [path, kind, mode, size, sha256] = fields[..] else {
            panic!("not an entry line: {line:?}");
        };
        Self {
            path: path.trim_end_matches('/').to_string(),
            kind: kind.chars().next().unwrap_or('?'),
            mode: u32::from_str_radix(mode, 8).unwrap(),
            size: size.parse().unwrap(),
            sha256: sha256.to_string(),
        }
    }
}

fn hex_sha256(mut reader: impl Read) -> String {
    let mut hasher = Sha256::new();
    io::copy(&mut reader, &mut hasher).unwrap();
    format!("{:x}", hasher.finalize())
}

/// What an archive of the folder `dir` must hold, sorted by path: `dir` itself as `top`, then
/// every file and folder under it, with the modes `pack` gives them (folders and files with any
/// execute bit 0755, other files 0644). Applied to an extracted copy it tells whether the copy
/// has the same content, sizes and execute bits.
fn tree(dir: &Path, top: &str) -> Vec<Entry> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<Entry>) {
        for child in fs::read_dir(dir).unwrap() {
            let child = child.unwrap();
            let name = child.file_name().into_string().unwrap();
            let path = format!("{prefix}/{name}");
            let meta = fs::symlink_metadata(child.path()).unwrap();
            if meta.is_dir() {
                out.push(Entry {
                    path: path.clone(),
                    kind: 'd',
                    mode: 0o755,
                    size: 0,
                    sha256: String::new(),
                });
                walk(&child.path(), &path, out);
            } else {
                assert!(meta.is_file(), "{path}: not a regular file");
                out.push(Entry {
                    path,
                    kind: 'f',
                    mode: if meta.permissions().mode() & 0o111 != 0 {
                        0o755
                    } else {
                        0o644
                    },
                    size: meta.len(),
                    sha256: hex_sha256(fs::File::open(child.path()).unwrap()),
                });
            }
        }
    }
    let mut out = vec![Entry {
        path: top.to_string(),
        kind: 'd',
        mode: 0o755,
        size: 0,
        sha256: String::new(),
    }];
    walk(dir, top, &mut out);
    out.sort();
    out
}

fn sorted(mut entries: Vec<Entry>) -> Vec<Entry> {
    entries.sort();
    entries
}

/// Asserts two entry lists are equal, naming the first difference (lists run to thousands).
fn assert_same_entries(what: &str, got: &[Entry], want: &[Entry]) {
    if let Some(i) = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i)) {
        panic!(
            "{what}: entry {i} differs ({} entries, {} expected)\n got:  {:?}\n want: {:?}",
            got.len(),
            want.len(),
            got.get(i),
            want.get(i)
        );
    }
}

/// A Kubernetes manifest Palette accepts, different for each `i`.
fn manifest(i: usize) -> String {
    let mut text = String::new();
    for doc in 0..1 + i % 4 {
        text.push_str(&format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}-{doc}\n  namespace: readers\ndata:\n"
        ));
        for key in 0..8 + i % 13 {
            text.push_str(&format!(
                "  key{key}: \"value {} of {i}\"\n",
                key * 31 + doc
            ));
        }
        text.push_str("---\n");
    }
    text
}

/// Writes `size` bytes: runs of xorshift noise (seeded) alternating with runs of YAML-like text,
/// each run a little under 100 KiB (a length that differs by seed, so the switches fall anywhere
/// in a 1 MiB block). Eight noise bytes per step keep it fast in an unoptimised test build.
fn write_blob(path: &Path, size: u64, seed: u64) {
    let mut out = BufWriter::with_capacity(1 << 20, fs::File::create(path).unwrap());
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let text: Vec<u8> = (0..)
        .flat_map(|line: u64| {
            format!("  - name: item-{seed}-{line}\n    value: {}\n", line * 7).into_bytes()
        })
        .take(64 << 10)
        .collect();
    let run = 96 * 1024 + 8 * (seed as usize % 512) + 3;
    let mut noise = vec![0u8; run];
    let (mut written, mut odd) = (0u64, false);
    while written < size {
        let n = (run as u64).min(size - written) as usize;
        if odd {
            for chunk in noise[..n].chunks_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
            }
            out.write_all(&noise[..n]).unwrap();
        } else {
            let mut left = n;
            while left > 0 {
                let k = left.min(text.len());
                out.write_all(&text[..k]).unwrap();
                left -= k;
            }
        }
        written += n as u64;
        odd = !odd;
    }
    out.flush().unwrap();
}

/// Builds the valid pack `<parent>/<name>-1.0.0`: the bundled example plus `manifests` YAML
/// files (listed in kubeManifests, spread over nested folders), one binary per size in `blobs`,
/// a binary of exactly 2 MiB, an executable script, an empty file, an empty folder and a file
/// named with spaces and UTF-8.
fn mixed_pack(parent: &Path, name: &str, manifests: usize, blobs: &[u64]) -> PathBuf {
    let dir = example_in(parent, &format!("{name}-1.0.0"));
    fs::create_dir_all(dir.join("manifests/apps/nested")).unwrap();
    let mut listed = vec!["manifests/hello.yaml".to_string()];
    for i in 0..manifests {
        let folder = ["", "apps/", "apps/nested/"][i % 3];
        let rel = format!("manifests/{folder}m{i:04}.yaml");
        fs::write(dir.join(&rel), manifest(i)).unwrap();
        listed.push(rel);
    }
    edit_pack_json(&dir, |doc| {
        doc["name"] = name.into();
        doc["kubeManifests"] = listed.into();
    });
    fs::create_dir_all(dir.join("blobs/deep")).unwrap();
    for (i, &size) in blobs.iter().enumerate() {
        write_blob(
            &dir.join(format!("blobs/deep/blob{i}.bin")),
            size,
            i as u64 + 1,
        );
    }
    write_blob(&dir.join("blobs/exact-2MiB.bin"), 2 * MIB, 99);
    fs::create_dir(dir.join("bin")).unwrap();
    fs::write(dir.join("bin/install.sh"), "#!/bin/sh\necho installing\n").unwrap();
    set_mode(&dir.join("bin/install.sh"), 0o755);
    fs::write(dir.join("empty.txt"), "").unwrap();
    fs::create_dir_all(dir.join("docs/empty folder")).unwrap();
    fs::write(
        dir.join("docs/read me – café 日本.md"),
        "Grüße: a name with spaces and UTF-8.\n",
    )
    .unwrap();
    dir
}

/// Packs `dir` into `out` with `jobs` (`None`: the default) and the environment `env`; returns
/// the archive's path and sha256, after checking that the digest `pack` reports is the file's.
fn pack(dir: &Path, out: &Path, jobs: Option<&str>, env: Env) -> (PathBuf, String) {
    let mut cmd = packpub();
    cmd.args(["pack", dir.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .arg("--json")
        .envs(env.iter().copied());
    if let Some(jobs) = jobs {
        cmd.args(["--jobs", jobs]);
    }
    let json = Run::of(cmd.output().unwrap()).expect(0).json();
    let path = PathBuf::from(json["path"].as_str().unwrap());
    let sha256 = hex_sha256(fs::File::open(&path).unwrap());
    assert_eq!(
        json["digest"].as_str().unwrap(),
        format!("sha256:{sha256}"),
        "the digest printed is not the archive's"
    );
    (path, sha256)
}

/// Reads `archive` with flate2's `GzDecoder`, which stops after the first gzip member, and the
/// `tar` crate: checks that no byte follows the first member, then returns the entries of the
/// tar stream in it (sorted) and the stream's length.
fn read_first_member(archive: &Path) -> (Vec<Entry>, u64) {
    let open = || flate2::bufread::GzDecoder::new(BufReader::new(fs::File::open(archive).unwrap()));
    // The gzip trailer's CRC and length are checked by flate2 at the member's end.
    let mut gz = open();
    let length = io::copy(&mut gz, &mut io::sink()).unwrap();
    let mut after = Vec::new();
    gz.into_inner().read_to_end(&mut after).unwrap();
    assert!(
        after.is_empty(),
        "{} bytes follow the first gzip member: the archive is not one member, and readers \
         that stop after the first (Python's 'r|gz', flate2's GzDecoder) miss them",
        after.len()
    );
    let mut gz = open();
    let mut entries = Vec::new();
    for entry in tar::Archive::new(&mut gz).entries().unwrap() {
        let entry = entry.unwrap();
        let header = entry.header();
        let path = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
        let kind = match header.entry_type() {
            tar::EntryType::Regular => 'f',
            tar::EntryType::Directory => 'd',
            _ => '?',
        };
        let (mode, size) = (header.mode().unwrap(), header.size().unwrap());
        let sha256 = if kind == 'f' {
            hex_sha256(entry)
        } else {
            String::new()
        };
        entries.push(Entry {
            path: path.trim_end_matches('/').to_string(),
            kind,
            mode,
            size,
            sha256,
        });
    }
    let mut rest = Vec::new();
    gz.read_to_end(&mut rest).unwrap();
    assert!(
        rest.iter().all(|&b| b == 0),
        "data after the tar end marker"
    );
    (sorted(entries), length)
}

/// The archive is a function of the folder alone: any number of threads, given by flag or by
/// PACKPUB_JOBS, writes the same bytes (and prints their digest), and the first gzip member
/// alone holds every file of a 300 MB pack, content and mode intact.
#[test]
fn jobs_1_2_3_and_16_give_the_same_archive() {
    let tmp = TempDir::new().unwrap();
    // About 300 MB: over 560 blocks of 512 KiB, far more than 16 jobs have in flight.
    let dir = mixed_pack(
        tmp.path(),
        "mixed",
        300,
        &[
            60 * MIB + 12_345,
            60 * MIB - 1,
            50 * MIB + 511,
            50 * MIB + 513,
            60 * MIB,
        ],
    );
    let runs: [(&str, Option<&str>, Env); 5] = [
        ("--jobs 1", Some("1"), &[]),
        ("--jobs 2", Some("2"), &[]),
        ("--jobs 3", Some("3"), &[]),
        ("--jobs 16", Some("16"), &[]),
        ("PACKPUB_JOBS=3", None, &[("PACKPUB_JOBS", "3")]),
    ];
    let mut first: Option<(PathBuf, String)> = None;
    for (i, (label, jobs, env)) in runs.into_iter().enumerate() {
        let (archive, digest) = pack(&dir, &tmp.path().join(format!("out{i}")), jobs, env);
        match &first {
            None => first = Some((archive, digest)),
            Some((_, want)) => {
                assert_eq!(&digest, want, "{label} wrote other bytes than --jobs 1");
                fs::remove_file(&archive).unwrap();
            }
        }
    }
    let (archive, _) = first.unwrap();
    let (entries, _) = read_first_member(&archive);
    assert_same_entries(
        "the first gzip member against the folder",
        &entries,
        &tree(&dir, "mixed-1.0.0"),
    );
}

/// Adds `filler.txt`, sized so the pack's tar stream ends exactly on a block boundary (a whole
/// number of MiB is a whole number of 512 KiB blocks):
/// the last block is then empty, the case where joining has no data left to end the stream
/// with. The tar stream is a 512-byte header per entry (every path here is under 100 bytes, so
/// no long-name entries), data padded to 512 bytes, and a 1 KiB end marker; the test checks the
/// result, so a change of layout shows as a failure, not as a case silently lost.
fn end_tar_on_a_block_boundary(dir: &Path, top: &str) {
    let entries = tree(dir, top);
    for entry in &entries {
        assert!(entry.path.len() < 99, "{}: too long a path", entry.path);
    }
    let length: u64 = entries
        .iter()
        .map(|e| 512 + e.size.next_multiple_of(512))
        .sum::<u64>()
        + 512 // filler.txt's own header
        + 1024;
    let filler = (MIB - length % MIB) % MIB;
    fs::write(
        dir.join("filler.txt"),
        &"filler line\n".repeat(filler as usize / 12 + 1).as_bytes()[..filler as usize],
    )
    .unwrap();
}

/// GNU tar's listing (`-tv`, names unescaped), in archive order, with each file's hash taken
/// from `extracted` (the same archive extracted by GNU tar).
fn gnu_tar_listing(archive: &Path, extracted: &Path) -> Vec<Entry> {
    let listing = run_tool(
        "tar",
        "tar",
        Path::new("."),
        &[
            "--quoting-style=literal",
            "-tvzf",
            archive.to_str().unwrap(),
        ],
    );
    String::from_utf8(listing)
        .unwrap()
        .lines()
        .map(|line| {
            // perms owner size date time name: the name is the rest, spaces and all.
            let mut rest = line;
            let mut fields = Vec::new();
            for _ in 0..5 {
                rest = rest.trim_start();
                let end = rest.find(' ').unwrap_or_else(|| panic!("{line:?}"));
                fields.push(&rest[..end]);
                rest = &rest[end..];
            }
            let path = rest.strip_prefix(' ').unwrap().trim_end_matches('/');
            let perms = fields[0].as_bytes();
            let kind = match perms[0] {
                b'-' => 'f',
                b'd' => 'd',
                _ => '?',
            };
            let mode = perms[1..]
                .iter()
                .fold(0, |mode, &c| (mode << 1) | u32::from(c != b'-'));
            let sha256 = if kind == 'f' {
                hex_sha256(fs::File::open(extracted.join(path)).unwrap())
            } else {
                String::new()
            };
            Entry {
                path: path.to_string(),
                kind,
                mode,
                size: fields[2].parse().unwrap(),
                sha256,
            }
        })
        .collect()
}

/// Lists `archive` with Python's `tarfile` opened as `mode` (one entry line per member, hashes
/// read through `extractfile`), then extracts it the same way into `dest`.
const PYTHON_READER: &str = r#"
import hashlib, sys, tarfile
path, mode, dest = sys.argv[1:4]
with tarfile.open(path, mode, encoding="utf-8") as archive:
    for m in archive:
        kind = "f" if m.isreg() else "d" if m.isdir() else "?"
        digest = hashlib.sha256(archive.extractfile(m).read()).hexdigest() if kind == "f" else ""
        print(f"{m.name}\t{kind}\t{m.mode:o}\t{m.size}\t{digest}")
extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
with tarfile.open(path, mode, encoding="utf-8") as archive:
    archive.extractall(dest, **extra)
"#;

fn python_reader(archive: &Path, mode: &str, dest: &Path) -> Vec<Entry> {
    let out = Command::new("python3")
        .args(["-c", PYTHON_READER])
        .arg(archive)
        .arg(mode)
        .arg(dest)
        .env("PYTHONIOENCODING", "utf-8")
        .output()
        .unwrap_or_else(|e| missing_tool("python3", "python3", &e));
    listed(out, &format!("Python's tarfile ({mode})"))
}

/// The entries a reader printed, one a line; a reader that failed fails the test.
fn listed(out: std::process::Output, reader: &str) -> Vec<Entry> {
    assert!(
        out.status.success(),
        "{reader} failed on the archive:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(Entry::parse)
        .collect()
}

/// A reader written against Go's standard library alone, as Palette reads archives: one line
/// per entry, then the rest of the gzip stream read, so its CRC and length are checked.
const GO_READER: &str = r#"package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
)

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func main() {
	file, err := os.Open(os.Args[1])
	check(err)
	gz, err := gzip.NewReader(file)
	check(err)
	archive := tar.NewReader(gz)
	for {
		header, err := archive.Next()
		if err == io.EOF {
			break
		}
		check(err)
		kind, digest := "?", ""
		switch header.Typeflag {
		case tar.TypeReg:
			hash := sha256.New()
			_, err = io.Copy(hash, archive)
			check(err)
			kind, digest = "f", fmt.Sprintf("%x", hash.Sum(nil))
		case tar.TypeDir:
			kind = "d"
		}
		fmt.Printf("%s\t%s\t%o\t%d\t%s\n", header.Name, kind, header.Mode, header.Size, digest)
	}
	_, err = io.Copy(io.Discard, gz)
	check(err)
}
"#;

/// Builds [`GO_READER`] in `dir` with the standard library only (no network, no module
/// download), its build cache under target/ so later runs reuse it. `None` when Go is not
/// installed.
fn build_go_reader(dir: &Path) -> Option<PathBuf> {
    let go = |args: &[&str]| {
        let mut cmd = Command::new("go");
        cmd.args(args)
            .current_dir(dir)
            .env(
                "GOCACHE",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-go-cache"),
            )
            .env("GOPATH", dir.join("gopath"))
            .env("GOPROXY", "off")
            .env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "")
            .env("CGO_ENABLED", "0");
        cmd.output()
    };
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("go.mod"), "module readers\n\ngo 1.19\n").unwrap();
    fs::write(dir.join("main.go"), GO_READER).unwrap();
    let built = match go(&["build", "-o", "readers", "."]) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        built => built.unwrap(),
    };
    assert!(
        built.status.success(),
        "go build of the reader failed:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    Some(dir.join("readers"))
}

fn go_reader(reader: &Path, archive: &Path) -> Vec<Entry> {
    let out = Command::new(reader).arg(archive).output().unwrap();
    listed(out, "Go's archive/tar")
}

/// The tools users and Palette read packs with agree on every entry (path, type, mode, size,
/// content) and find the folder as it was, on a pack whose tar stream ends exactly on a block
/// boundary.
#[test]
fn gnu_tar_python_and_go_list_and_extract_the_same() {
    let tmp = TempDir::new().unwrap();
    let top = "readers-1.0.0";
    let dir = mixed_pack(tmp.path(), "readers", 40, &[MIB + 777, MIB - 3, 300_001]);
    end_tar_on_a_block_boundary(&dir, top);
    let want = tree(&dir, top);
    let (archive, _) = pack(&dir, &tmp.path().join("out"), None, &[]);

    let (first_member, length) = read_first_member(&archive);
    assert_same_entries("the first gzip member", &first_member, &want);
    assert!(
        length % MIB == 0 && length > 3 * MIB,
        "the tar stream is {length} bytes, not a whole number (over 3) of MiB, so not of blocks: \
         end_tar_on_a_block_boundary no longer matches how pack writes tar"
    );
    // The empty last block must not depend on the number of threads either.
    for jobs in ["1", "3"] {
        let (other, _) = pack(
            &dir,
            &tmp.path().join(format!("out-j{jobs}")),
            Some(jobs),
            &[],
        );
        assert!(
            fs::read(&other).unwrap() == fs::read(&archive).unwrap(),
            "--jobs {jobs} wrote other bytes"
        );
    }

    let gnu_dir = tmp.path().join("gnu");
    fs::create_dir(&gnu_dir).unwrap();
    let archive_arg = archive.to_str().unwrap();
    run_tool("tar", "tar", &gnu_dir, &["-xzf", archive_arg]);
    let gnu = gnu_tar_listing(&archive, &gnu_dir);
    assert_same_entries(
        "GNU tar's listing against the folder",
        &sorted(gnu.clone()),
        &want,
    );
    assert_same_entries(
        "GNU tar's extraction",
        &tree(&gnu_dir.join(top), top),
        &want,
    );
    assert_eq!(list(&gnu_dir), [top], "GNU tar extracted other top folders");

    for mode in ["r:*", "r|gz"] {
        let dest = tmp
            .path()
            .join(format!("python{}", mode.replace(['*', '|', ':'], "-")));
        let python = python_reader(&archive, mode, &dest);
        assert_same_entries(
            &format!("Python tarfile {mode:?} against GNU tar"),
            &python,
            &gnu,
        );
        assert_same_entries(
            &format!("Python tarfile {mode:?}'s extraction"),
            &tree(&dest.join(top), top),
            &want,
        );
        assert_eq!(
            list(&dest),
            [top],
            "Python ({mode}) extracted other top folders"
        );
    }

    match build_go_reader(&tmp.path().join("go")) {
        Some(reader) => {
            let go = go_reader(&reader, &archive);
            assert_same_entries("Go archive/tar against GNU tar", &go, &gnu);
        }
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI=true but `go` is not installed: run tests/run.sh (it installs golang-go)"
            );
            eprintln!("SKIPPED (Go): `go` is not installed; tests/run.sh installs golang-go");
        }
    }
}

/// No thread is no way to compress: `--jobs 0`, `-j 0` and PACKPUB_JOBS=0 are usage errors that
/// name the option, and nothing is written.
#[test]
fn jobs_0_is_a_usage_error() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("out");
    let example = example();
    let base = [
        "pack",
        example.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    let tries: [(&[&str], Env); 3] = [
        (&["--jobs", "0"], &[]),
        (&["-j", "0"], &[]),
        (&[], &[("PACKPUB_JOBS", "0")]),
    ];
    for (args, env) in tries {
        let mut cmd = packpub();
        cmd.args(base).args(args).envs(env.iter().copied());
        let run = Run::of(cmd.output().unwrap()).expect(2);
        assert!(
            run.stderr.contains("--jobs"),
            "{args:?} {env:?}: the error does not name --jobs:\n{}",
            run.stderr
        );
        assert!(!out.exists(), "{args:?} {env:?}: an output folder was made");
    }
}
