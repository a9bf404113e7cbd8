//! Hostile archives (issue 9): crafted tarballs published by a peer (the ORAS Python SDK) or
//! laid in an OCI layout must never fool `verify`, `pull` or `push`, nor exhaust the machine.
//! Each archive is built byte by byte here, so the tests say exactly what a hostile publisher
//! can send; every one must fail `verify` (exit 6, an error line), `pull --extract` (exit 6, nothing
//! written) and `push` of the file (exit 3).

use crate::support::registry::Registry;
use crate::support::*;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// One raw tar entry: any name bytes, any type flag, any data, any declared size.
struct Raw {
    name: Vec<u8>,
    kind: u8,
    data: Vec<u8>,
    /// The size field, when it must lie about the data.
    size: Option<u64>,
}

fn raw(name: &str, kind: u8, data: &[u8]) -> Raw {
    Raw {
        name: name.as_bytes().to_vec(),
        kind,
        data: data.to_vec(),
        size: None,
    }
}

const PACK_JSON: &[u8] =
    br#"{"name": "hello", "displayName": "Hello", "version": "1.0.0", "layer": "addon"}"#;

/// The entries of a valid little pack.
fn pack() -> Vec<Raw> {
    vec![
        raw("hello-1.0.0/", b'5', b""),
        raw("hello-1.0.0/pack.json", b'0', PACK_JSON),
        raw("hello-1.0.0/values.yaml", b'0', b"a: 1\n"),
    ]
}

/// A GNU-style header block: the fields every reader looks at, checksummed.
fn header(name: &[u8], kind: u8, size: u64) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = kind;
    h[257..265].copy_from_slice(b"ustar  \0");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h
}

/// The tar stream of `entries`, with the two-block end marker when `end`.
fn tar(entries: &[Raw], end: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let size = e.size.unwrap_or(e.data.len() as u64);
        out.extend_from_slice(&header(&e.name, e.kind, size));
        out.extend_from_slice(&e.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    if end {
        out.resize(out.len() + 1024, 0);
    }
    out
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{:x}", sha2::Sha256::digest(data))
}

/// An OCI layout holding `blob` as `spectro-packs/archive/hello:1.0.0`, in ORAS's shape, with
/// the layer listed under `layer_digest` (the real one unless a test lies).
fn layout_with(dir: &Path, blob: &[u8], layer_digest: Option<&str>) -> String {
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    let put = |data: &[u8]| {
        let digest = sha256(data);
        fs::write(blobs.join(&digest[7..]), data).unwrap();
        digest
    };
    let config = put(b"{}");
    let real = put(blob);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.unknown.config.v1+json", "digest": config, "size": 2},
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": layer_digest.unwrap_or(&real),
            "size": blob.len(),
            "annotations": {"org.opencontainers.image.title": "hello-1.0.0.tar.gz"}
        }],
        "annotations": {"org.opencontainers.image.created": "2023-11-14T22:13:20Z"}
    }))
    .unwrap();
    let manifest_digest = put(&manifest);
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": manifest_digest, "size": manifest.len(),
        "annotations": {"org.opencontainers.image.ref.name": "spectro-packs/archive/hello:1.0.0"}
    }]});
    fs::write(dir.join("index.json"), index.to_string()).unwrap();
    format!("oci:{}", dir.display())
}

/// `pull hello:1.0.0` from `target` into `dest`, with `extra` flags.
fn pull(target: &str, dest: &Path, extra: &[&str]) -> Run {
    let mut cmd = packpub();
    cmd.args(["pull", "hello:1.0.0", "--registry", target, "-o"])
        .arg(dest)
        .args(extra);
    Run::of(cmd.output().unwrap())
}

/// Every reader refuses `archive`: verify (6, the check named), pull with and without
/// --extract (6; nothing extracted), and push of the file itself (3). Returns verify's stderr.
fn assert_refused(archive: &[u8], words: &str) -> String {
    let tmp = TempDir::new().unwrap();
    let target = layout_with(&tmp.path().join("layout"), archive, None);
    let mut cmd = packpub();
    cmd.args(["verify", "hello:1.0.0", "--registry", &target]);
    let (verify, peak_kib) = run_capped(cmd);
    let verify = verify.expect(6);
    assert!(
        peak_kib < HOSTILE_MEMORY >> 10,
        "{words}: peak RSS {peak_kib} KiB"
    );
    assert!(
        verify.stderr.contains("error: safe to extract") && verify.stderr.contains(words),
        "{words}: {}",
        verify.stderr
    );
    assert!(
        !verify.stderr.contains('\x1b'),
        "raw escape: {:?}",
        verify.stderr
    );

    let dest = tmp.path().join("dest");
    let pulled = pull(&target, &dest, &["--extract"]).expect(6);
    assert!(
        pulled.stderr.contains("nothing was written"),
        "{}",
        pulled.stderr
    );
    assert_eq!(
        list(&dest),
        Vec::<String>::new(),
        "{words}: something was written"
    );
    assert_eq!(
        list(tmp.path()),
        ["dest", "layout"],
        "{words}: something escaped"
    );

    // Without --extract the download is kept for a look, and the exit still says no.
    let kept = tmp.path().join("kept");
    let pulled = pull(&target, &kept, &[]).expect(6);
    assert!(
        pulled.stderr.contains("was downloaded to"),
        "{}",
        pulled.stderr
    );
    let file = kept.join("hello-1.0.0.tar.gz");
    assert_eq!(fs::read(&file).unwrap(), archive);
    let layout = tmp.path().join("pushed");
    let pushed = run(&[
        "push",
        file.to_str().unwrap(),
        "--registry",
        &format!("oci:{}", layout.display()),
    ])
    .expect(3);
    assert!(pushed.stderr.contains(words), "{words}: {}", pushed.stderr);
    assert!(
        !layout.join("index.json").exists()
            || !fs::read_to_string(layout.join("index.json"))
                .unwrap()
                .contains("hello")
    );
    verify.stderr
}

#[test]
fn a_valid_hand_made_archive_passes_so_the_refusals_below_mean_something() {
    let tmp = TempDir::new().unwrap();
    let archive = gz(&tar(&pack(), true));
    let target = layout_with(&tmp.path().join("layout"), &archive, None);
    run(&["verify", "hello:1.0.0", "--registry", &target]).expect(0);
    let dest = tmp.path().join("dest");
    pull(&target, &dest, &["--extract"]).expect(0);
    assert_eq!(
        fs::read(dest.join("hello-1.0.0/pack.json")).unwrap(),
        PACK_JSON
    );
}

/// GNU tar and Go read every gzip member: a second member that continues the tar stream with
/// `../` and a link to /etc must be seen, not silently dropped.
#[test]
fn a_second_gzip_member_is_read_like_go_and_gnu_tar_read_it() {
    let mut archive = gz(&tar(&pack(), false));
    archive.extend(gz(&tar(
        &[
            raw("hello-1.0.0/../../evil.txt", b'0', b"owned"),
            Raw {
                data: Vec::new(),
                ..raw("hello-1.0.0/etc", b'2', b"")
            },
        ],
        true,
    )));
    // What GNU tar lists is what packpub must judge.
    let tmp = TempDir::new().unwrap();
    let file = tmp.path().join("two.tar.gz");
    fs::write(&file, &archive).unwrap();
    let listing = std::process::Command::new("tar")
        .arg("-tzf")
        .arg(&file)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&listing.stdout).contains("evil.txt"));
    let stderr = assert_refused(&archive, "has an absolute path or '..'");
    assert!(stderr.contains("symbolic link"), "{stderr}");
}

#[test]
fn bytes_after_the_gzip_data_or_the_tar_end_are_refused() {
    let mut garbage = gz(&tar(&pack(), true));
    garbage.extend_from_slice(b"this is not a gzip member");
    assert_refused(&garbage, "(at its end)");

    let mut hidden = tar(&pack(), true);
    hidden.extend(tar(&[raw("hello-1.0.0/hidden", b'0', b"x")], true));
    assert_refused(&gz(&hidden), "after the tar end marker");
}

/// A 500 MB long name or PAX header, compressed to a few hundred KB, claims no memory: the
/// declared length is refused before anything is read.
#[test]
fn headers_that_claim_memory_are_refused_before_reading() {
    for kind in [b'L', b'x'] {
        let mut entries = pack();
        entries.push(Raw {
            name: b"././@LongLink".to_vec(),
            kind,
            data: vec![b'a'; 1 << 20],
            size: Some(500 << 20),
        });
        let archive = gz(&tar(&entries, false));
        let tmp = TempDir::new().unwrap();
        let target = layout_with(tmp.path(), &archive, None);
        let mut cmd = packpub();
        cmd.args(["verify", "hello:1.0.0", "--registry", &target]);
        let (run, peak_kib) = run_capped(cmd);
        let run = run.expect(6);
        assert!(
            run.stderr.contains("claims 524288000 bytes"),
            "{}",
            run.stderr
        );
        assert!(peak_kib < HOSTILE_MEMORY >> 10, "peak RSS {peak_kib} KiB");
    }
    // A long name within the cap but long is shown only as a short prefix.
    let mut entries = pack();
    let name = format!("hello-1.0.0/../{}", "x".repeat(3000));
    entries.push(raw("././@LongLink", b'L', name.as_bytes()));
    entries.push(raw("ignored", b'0', b"x"));
    let stderr = assert_refused(&gz(&tar(&entries, true)), "has an absolute path or '..'");
    assert!(
        !stderr.contains(&"x".repeat(200)),
        "the whole name was printed"
    );
}

/// A small archive that inflates past the ceiling stops there, for every reader, and leaves
/// nothing behind; the ceiling is a flag and a PACKPUB_* variable.
#[test]
fn bombs_stop_at_the_inflated_size_ceiling() {
    let mut entries = pack();
    entries.push(raw("hello-1.0.0/zeros.bin", b'0', &vec![0u8; 8 << 20]));
    let archive = gz(&tar(&entries, true));
    assert!(archive.len() < 64 << 10);
    let tmp = TempDir::new().unwrap();
    let target = layout_with(&tmp.path().join("layout"), &archive, None);
    run(&["verify", "hello:1.0.0", "--registry", &target]).expect(0);
    let limited = run(&[
        "verify",
        "hello:1.0.0",
        "--registry",
        &target,
        "--max-inflated-size",
        "1MiB",
    ])
    .expect(6);
    assert!(
        limited
            .stderr
            .contains("inflates to more than 1048576 bytes"),
        "{}",
        limited.stderr
    );
    let dest = tmp.path().join("dest");
    let mut cmd = packpub();
    cmd.args([
        "pull",
        "hello:1.0.0",
        "--registry",
        &target,
        "--extract",
        "-o",
    ])
    .arg(&dest)
    .env("PACKPUB_MAX_INFLATED_SIZE", "1MiB");
    let pulled = Run::of(cmd.output().unwrap()).expect(6);
    assert!(
        pulled.stderr.contains("--max-inflated-size"),
        "{}",
        pulled.stderr
    );
    assert!(list(&dest).is_empty());
}

/// Two entries of the same name: which one wins depends on the reader, so none is accepted.
#[test]
fn duplicate_entries_are_refused_by_every_reader() {
    let mut entries = pack();
    entries.push(raw(
        "hello-1.0.0/pack.json",
        b'0',
        br#"{"name": "evil", "displayName": "E", "version": "6.6.6", "layer": "addon"}"#,
    ));
    assert_refused(&gz(&tar(&entries, true)), "appears twice");
    let mut entries = pack();
    entries.push(raw("hello-1.0.0/pack.json/x", b'0', b""));
    assert_refused(&gz(&tar(&entries, true)), "lies under a file");
}

/// Names and registry strings with terminal escapes are printed escaped, never raw.
#[test]
fn terminal_escapes_in_names_never_reach_stderr() {
    let mut entries = pack();
    entries.push(raw("hello-1.0.0/\x1b]0;pwned\x07\x1b[2J", b'2', b""));
    let stderr = assert_refused(&gz(&tar(&entries, true)), "symbolic link");
    assert!(stderr.contains("\\u{1b}"), "{stderr}");
}

/// A blob whose content does not match its digest is a failed check (6), not a crash.
#[test]
fn a_corrupt_blob_fails_the_download_check() {
    let tmp = TempDir::new().unwrap();
    let archive = gz(&tar(&pack(), true));
    let other = sha256(b"something else");
    let dir = tmp.path().join("layout");
    let target = layout_with(&dir, &archive, Some(&other));
    // The layer the manifest names holds the pack's bytes, not the bytes of its digest.
    fs::copy(
        dir.join("blobs/sha256").join(&sha256(&archive)[7..]),
        dir.join("blobs/sha256").join(&other[7..]),
    )
    .unwrap();
    let run_ = run(&["verify", "hello:1.0.0", "--registry", &target]).expect(6);
    assert!(run_.stderr.contains("error: download"), "{}", run_.stderr);
    let dest = tmp.path().join("dest");
    let pulled = pull(&target, &dest, &[]).expect(6);
    assert!(pulled.stderr.contains("digest"), "{}", pulled.stderr);
    assert!(list(&dest).is_empty());
}

/// The same archives published to a real registry by another tool (the ORAS SDK).
#[test]
fn hostile_archives_in_a_real_registry() {
    let reg = Registry::plain();
    let tmp = TempDir::new().unwrap();
    let mut archive = gz(&tar(&pack(), false));
    archive.extend(gz(&tar(&[raw("hello-1.0.0/../x", b'0', b"")], true)));
    let file = tmp.path().join("hello-1.0.0.tar.gz");
    fs::write(&file, &archive).unwrap();
    let reference = format!("{}/spectro-packs/archive/hello:1.0.0", reg.host());
    oras_peer(&["push", reg.host(), &reference, file.to_str().unwrap()]);
    let target = reg.host();
    let verify = run(&[
        "verify",
        "hello:1.0.0",
        "--registry",
        target,
        "--plain-http",
    ])
    .expect(6);
    assert!(
        verify.stderr.contains("error: safe to extract"),
        "{}",
        verify.stderr
    );
    let dest = tmp.path().join("dest");
    let pulled = pull(target, &dest, &["--plain-http", "--extract"]).expect(6);
    assert!(
        pulled.stderr.contains("nothing was written"),
        "{}",
        pulled.stderr
    );
    assert!(list(&dest).is_empty());
}

/// Go's own test archives (shipped with golang-go): malformed PAX and GNU headers, sparse
/// files, negative sizes, non-UTF-8 names. None is a pack: every one is refused by `verify`
/// (6, never 1 or 3) and `pull --extract` (6, nothing written), within 256 MiB.
#[test]
fn go_archive_tar_testdata_is_refused_whole() {
    let Some(dir) = go_testdata() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI=true but golang-go's testdata is missing"
        );
        eprintln!("SKIPPED: no golang-go testdata (apt-get install golang-go)");
        return;
    };
    let mut tried = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "tar") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let tmp = TempDir::new().unwrap();
        let target = layout_with(
            &tmp.path().join("layout"),
            &gz(&fs::read(&path).unwrap()),
            None,
        );
        let mut cmd = packpub();
        cmd.args(["verify", "hello:1.0.0", "--registry", &target]);
        let (verify, peak_kib) = run_capped(cmd);
        assert_eq!(verify.code, 6, "{name}: {}", verify.stderr);
        assert!(
            verify.stderr.contains("error: "),
            "{name}: {}",
            verify.stderr
        );
        assert!(!verify.stderr.contains('\x1b'), "{name}: raw escape");
        assert!(
            peak_kib < HOSTILE_MEMORY >> 10,
            "{name}: peak RSS {peak_kib} KiB"
        );
        let dest = tmp.path().join("dest");
        let pulled = pull(&target, &dest, &["--extract"]);
        assert_eq!(pulled.code, 6, "{name}: {}", pulled.stderr);
        assert!(list(&dest).is_empty(), "{name}: wrote {:?}", list(&dest));
        tried += 1;
    }
    assert!(tried >= 20, "only {tried} archives in {}", dir.display());
}

fn go_testdata() -> Option<PathBuf> {
    let goroot = std::process::Command::new("go")
        .args(["env", "GOROOT"])
        .output()
        .ok()?;
    let root = String::from_utf8(goroot.stdout).ok()?;
    let dir = Path::new(root.trim()).join("src/archive/tar/testdata");
    dir.is_dir().then_some(dir)
}
