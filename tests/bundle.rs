//! Single-file bundles (`oci-archive:FILE`, issue 14): `push` builds one and `ls`, `verify` and
//! `pull` read it; skopeo reads packpub's bundles and packpub reads skopeo's (and GNU tar's);
//! a hostile bundle is refused (exit 6) with nothing written.

use crate::support::registry::Registry;
use crate::support::upstream::{sha256, skopeo};
use crate::support::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

const REF: &str = "spectro-packs/archive/hello:1.0.0";

fn target(bundle: &Path) -> String {
    format!("oci-archive:{}", bundle.display())
}

/// A copy of the example pack named `name`.
fn pack_named(parent: &Path, name: &str) -> PathBuf {
    let dir = example_in(parent, &format!("{name}-1.0.0"));
    edit_pack_json(&dir, |doc| doc["name"] = name.into());
    dir
}

/// The example folder verifies against `bundle`, and pack `name` 1.0.0 pulls out of it whole
/// into `dest`.
fn verify_example_and_pull(bundle: &Path, name: &str, dest: &Path) {
    let example = example();
    let example = example.to_str().unwrap();
    run(&["verify", example, "--registry", &target(bundle)]).expect(0);
    pull(bundle, &format!("{name}:1.0.0"), dest).expect(0);
    assert_eq!(
        list(dest),
        [format!("{name}-1.0.0"), format!("{name}-1.0.0.tar.gz")]
    );
}

/// `packpub pull NAME:VERSION --extract` from `bundle` into `dest`.
fn pull(bundle: &Path, id: &str, dest: &Path) -> Run {
    run(&[
        "pull",
        id,
        "--registry",
        &target(bundle),
        "-o",
        dest.to_str().unwrap(),
        "--extract",
    ])
}

#[test]
fn push_builds_a_bundle_that_ls_verify_and_pull_read() {
    let tmp = TempDir::new().unwrap();
    let bravo = pack_named(tmp.path(), "bravo");
    let out = tmp.path().join("out");
    let bundle = out.join("packs.tar");
    let hello = example();
    let packs = [hello.to_str().unwrap(), bravo.to_str().unwrap()];
    let bundle_target = target(&bundle);
    let push = |packs: &[&str]| {
        let mut args = vec!["push", "--registry", &bundle_target];
        args.extend_from_slice(packs);
        args.extend_from_slice(&["--json", "--source-date-epoch", "1700000000"]);
        run(&args)
    };
    let pushed = push(&packs).expect(0).json();
    assert_eq!(pushed[0]["status"], "pushed", "{pushed}");
    assert_eq!(pushed[1]["status"], "pushed", "{pushed}");
    assert_eq!(pushed[0]["reference"], format!("{}:{REF}", target(&bundle)));
    // The bundle and nothing else: the temp layout and temp file are gone.
    assert_eq!(list(&out), ["packs.tar"]);

    let ls = run(&["ls", "--registry", &target(&bundle), "--json"]).expect(0);
    assert_eq!(
        ls.json(),
        serde_json::json!([
            {"name": "bravo", "versions": ["1.0.0"]},
            {"name": "hello", "versions": ["1.0.0"]}
        ])
    );
    // With no pack named, verify checks every pack the bundle lists.
    let verified = run(&["verify", "--registry", &target(&bundle), "--json"]).expect(0);
    let all = verified.json();
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bravo", "hello"]);
    assert!(all.as_array().unwrap().iter().all(|v| v["ok"] == true));
    verify_example_and_pull(&bundle, "bravo", &tmp.path().join("dest"));

    // Pushing the same packs again writes nothing: the bytes stay as they were.
    let before = fs::read(&bundle).unwrap();
    let again = push(&packs).expect(0);
    assert_eq!(again.json()[0]["status"], "unchanged");
    assert_eq!(again.json()[1]["status"], "unchanged");
    assert_eq!(fs::read(&bundle).unwrap(), before);
    assert_eq!(list(&out), ["packs.tar"]);

    // The same packs make the same bytes, in one push or two.
    let twice = tmp.path().join("twice.tar");
    let mut first = vec!["push", "--registry"];
    let twice_target = target(&twice);
    first.push(&twice_target);
    for pack in [packs[1], packs[0]] {
        let mut args = first.clone();
        args.extend_from_slice(&[pack, "--source-date-epoch", "1700000000"]);
        run(&args).expect(0);
    }
    assert!(fs::read(&twice).unwrap() == before, "not the same bytes");

    // A new pack joins the packs already in the bundle.
    let charlie = pack_named(tmp.path(), "charlie");
    push(&[charlie.to_str().unwrap()]).expect(0);
    let ls = run(&["ls", "--registry", &target(&bundle), "--json"]).expect(0);
    assert_eq!(ls.json().as_array().unwrap().len(), 3, "{}", ls.stdout);
    run(&["verify", "--registry", &target(&bundle)]).expect(0);
}

#[test]
fn reading_a_bundle_that_is_not_there_is_a_usage_error() {
    let tmp = TempDir::new().unwrap();
    let missing = tmp.path().join("missing.tar");
    let run = run(&["ls", "--registry", &target(&missing)]).expect(2);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    assert!(!missing.exists());
}

#[test]
fn skopeo_reads_packpubs_bundle() {
    let tmp = TempDir::new().unwrap();
    let bundle = tmp.path().join("packs.tar");
    let pushed = run(&[
        "push",
        example().to_str().unwrap(),
        "--registry",
        &target(&bundle),
        "--json",
    ])
    .expect(0)
    .json();
    let reference = format!("{}:{REF}", target(&bundle));
    let raw = skopeo(&["inspect", "--raw", &reference]);
    assert_eq!(
        sha256(&raw),
        pushed[0]["digest"],
        "the manifest's bytes differ"
    );
    // skopeo copies the pack out of the bundle, blobs and all, into a layout packpub verifies.
    let layout = tmp.path().join("layout");
    skopeo(&[
        "copy",
        "--preserve-digests",
        &reference,
        &format!("oci:{}:{REF}", layout.display()),
    ]);
    let layout_target = format!("oci:{}", layout.display());
    run(&[
        "verify",
        example().to_str().unwrap(),
        "--registry",
        &layout_target,
    ])
    .expect(0);
}

#[test]
fn packpub_reads_skopeos_bundle_with_the_digests_kept() {
    let reg = Registry::plain();
    let pushed = run(&[
        "push",
        example().to_str().unwrap(),
        "--registry",
        reg.host(),
        "--plain-http",
        "--json",
    ])
    .expect(0)
    .json();
    let digest = pushed[0]["digest"].as_str().unwrap();
    let tmp = TempDir::new().unwrap();
    let bundle = tmp.path().join("skopeo.tar");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        "--preserve-digests",
        &format!("docker://{}/{REF}", reg.host()),
        &format!("{}:{REF}", target(&bundle)),
    ]);
    let raw = skopeo(&["inspect", "--raw", &format!("{}:{REF}", target(&bundle))]);
    assert_eq!(sha256(&raw), digest, "skopeo rewrote the manifest");

    let verified = run(&["verify", "--registry", &target(&bundle), "--json"]).expect(0);
    let checks = &verified.json()[0]["checks"];
    assert!(
        checks.to_string().contains(digest),
        "verify read another manifest: {checks}"
    );
    verify_example_and_pull(&bundle, "hello", &tmp.path().join("dest"));

    // packpub adds a pack to skopeo's bundle and keeps skopeo's.
    let bravo = pack_named(tmp.path(), "bravo");
    let args = [
        "push",
        bravo.to_str().unwrap(),
        "--registry",
        &target(&bundle),
    ];
    run(&args).expect(0);
    run(&["verify", "--registry", &target(&bundle)]).expect(0);
    let raw = skopeo(&["inspect", "--raw", &format!("{}:{REF}", target(&bundle))]);
    assert_eq!(sha256(&raw), digest);
}

#[test]
fn a_layout_tarred_with_dot_slash_names_is_read() {
    let tmp = TempDir::new().unwrap();
    let layout = tmp.path().join("layout");
    let layout_target = format!("oci:{}", layout.display());
    let hello = example();
    run(&[
        "push",
        hello.to_str().unwrap(),
        "--registry",
        &layout_target,
    ])
    .expect(0);
    // GNU tar names every entry ./…, and adds ./ itself.
    let bundle = tmp.path().join("gnu.tar");
    run_tool(
        "tar",
        "tar",
        tmp.path(),
        &["-cf", bundle.to_str().unwrap(), "-C", "layout", "."],
    );
    let names = run_tool("tar", "tar", tmp.path(), &["-tf", "gnu.tar"]);
    assert!(String::from_utf8_lossy(&names).contains("./index.json"));
    run(&["verify", "--registry", &target(&bundle)]).expect(0);
}

/// One entry of a bundle, as the tests rebuild it: name bytes as they are, type, data.
struct Entry {
    name: Vec<u8>,
    kind: tar::EntryType,
    data: Vec<u8>,
}

fn entries_of(bundle: &Path) -> Vec<Entry> {
    let file = fs::File::open(bundle).unwrap();
    let mut archive = tar::Archive::new(file);
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            Entry {
                name: entry.path_bytes().into_owned(),
                kind: entry.header().entry_type(),
                data,
            }
        })
        .collect()
}

/// A tar of `entries`, names written as they are (the `tar` crate's own checks would refuse
/// the hostile ones); links point at /etc/passwd.
fn write_bundle(path: &Path, entries: &[Entry]) {
    let mut builder = tar::Builder::new(fs::File::create(path).unwrap());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.as_gnu_mut().unwrap().name[..entry.name.len()].copy_from_slice(&entry.name);
        header.set_entry_type(entry.kind);
        header.set_size(entry.data.len() as u64);
        header.set_mode(0o644);
        if entry.kind.is_symlink() || entry.kind.is_hard_link() {
            header.as_gnu_mut().unwrap().linkname[..11].copy_from_slice(b"/etc/passwd");
        }
        header.set_cksum();
        builder.append(&header, &entry.data[..]).unwrap();
    }
    builder.finish().unwrap();
}

fn blob_name(digest: &str) -> Vec<u8> {
    format!("blobs/sha256/{}", digest.strip_prefix("sha256:").unwrap()).into_bytes()
}

#[test]
fn hostile_bundles_are_refused_with_nothing_written() {
    let tmp = TempDir::new().unwrap();
    let good = tmp.path().join("good.tar");
    let pushed = run(&[
        "push",
        example().to_str().unwrap(),
        "--registry",
        &target(&good),
        "--json",
    ])
    .expect(0)
    .json();
    let manifest = blob_name(pushed[0]["digest"].as_str().unwrap());
    let layer = blob_name(pushed[0]["layer_digest"].as_str().unwrap());

    type Edit<'a> = Box<dyn Fn(&mut Vec<Entry>) + 'a>;
    let cases: Vec<(&str, Edit<'_>, &str)> = vec![
        (
            "a tampered blob",
            Box::new(|entries| {
                let blob = entries.iter_mut().find(|e| e.name == layer).unwrap();
                let last = blob.data.len() - 1;
                blob.data[last] ^= 1;
            }),
            "the blob's sha256 is",
        ),
        (
            "an index naming a missing manifest",
            Box::new(|entries| entries.retain(|e| e.name != manifest)),
            "but lacks its manifest blob",
        ),
        (
            "a manifest naming a missing layer",
            Box::new(|entries| entries.retain(|e| e.name != layer)),
            "lacks blob",
        ),
        (
            "../ in a digest",
            Box::new(|entries| {
                let index = entries
                    .iter_mut()
                    .find(|e| e.name == b"index.json")
                    .unwrap();
                let mut doc: serde_json::Value = serde_json::from_slice(&index.data).unwrap();
                doc["manifests"][0]["digest"] = "sha256:../../../../etc/passwd".into();
                index.data = serde_json::to_vec(&doc).unwrap();
            }),
            "malformed digest",
        ),
        (
            "a symlink entry",
            Box::new(|entries| {
                let blob = entries.iter_mut().find(|e| e.name == layer).unwrap();
                blob.kind = tar::EntryType::Symlink;
                blob.data.clear();
            }),
            "which is a symbolic link",
        ),
        (
            "a hard link entry",
            Box::new(|entries| {
                let name = b"blobs/sha256/passwd".to_vec();
                let data = Vec::new();
                entries.push(Entry {
                    name,
                    kind: tar::EntryType::Link,
                    data,
                });
            }),
            "which is a hard link",
        ),
        (
            "an absolute path",
            Box::new(|entries| {
                let name = b"/tmp/packpub-escape".to_vec();
                entries.push(Entry {
                    name,
                    kind: tar::EntryType::Regular,
                    data: b"x".to_vec(),
                });
            }),
            "has an absolute path or '..'",
        ),
        (
            "a path escaping the layout",
            Box::new(|entries| {
                let name = b"blobs/../../packpub-escape".to_vec();
                entries.push(Entry {
                    name,
                    kind: tar::EntryType::Regular,
                    data: b"x".to_vec(),
                });
            }),
            "has an absolute path or '..'",
        ),
        (
            "an index twice",
            Box::new(|entries| {
                let index = entries.iter().find(|e| e.name == b"index.json").unwrap();
                let (name, data) = (b"./index.json".to_vec(), index.data.clone());
                entries.push(Entry {
                    name,
                    kind: tar::EntryType::Regular,
                    data,
                });
            }),
            "twice",
        ),
    ];
    for (case, edit, message) in cases {
        let mut entries = entries_of(&good);
        edit(&mut entries);
        let bundle = tmp.path().join("hostile.tar");
        write_bundle(&bundle, &entries);
        let verified = run(&["verify", "--registry", &target(&bundle)]);
        let verified = verified.expect(6);
        assert!(
            verified.stderr.contains(message),
            "{case}: wanted {message:?} in\n{}",
            verified.stderr
        );
        let dest = tmp.path().join("dest");
        let pulled = pull(&bundle, "hello:1.0.0", &dest).expect(6);
        assert!(
            list(&dest).is_empty(),
            "{case}: pull wrote {:?}\n{}",
            list(&dest),
            pulled.stderr
        );
        // Nothing was extracted anywhere the hostile names point.
        assert!(!Path::new("/tmp/packpub-escape").exists(), "{case}");
        assert!(!tmp.path().join("packpub-escape").exists(), "{case}");
    }
}

#[test]
fn pushing_into_a_hostile_bundle_leaves_it_as_it_was() {
    let tmp = TempDir::new().unwrap();
    let good = tmp.path().join("good.tar");
    let hello = example();
    run(&[
        "push",
        hello.to_str().unwrap(),
        "--registry",
        &target(&good),
    ])
    .expect(0);
    let mut entries = entries_of(&good);
    entries.push(Entry {
        name: b"blobs/sha256/link".to_vec(),
        kind: tar::EntryType::Symlink,
        data: Vec::new(),
    });
    let bundle = tmp.path().join("out/hostile.tar");
    fs::create_dir_all(bundle.parent().unwrap()).unwrap();
    write_bundle(&bundle, &entries);
    let before = fs::read(&bundle).unwrap();
    let bravo = pack_named(tmp.path(), "bravo");
    let pushed = run(&[
        "push",
        bravo.to_str().unwrap(),
        "--registry",
        &target(&bundle),
    ]);
    assert!(pushed.expect(6).stderr.contains("symbolic link"));
    assert_eq!(fs::read(&bundle).unwrap(), before);
    assert_eq!(list(bundle.parent().unwrap()), ["hostile.tar"]);
}

#[test]
fn verify_names_the_one_broken_pack_of_a_bundle_and_checks_the_others() {
    let tmp = TempDir::new().unwrap();
    let good = tmp.path().join("good.tar");
    let (hello, bravo) = (example(), pack_named(tmp.path(), "bravo"));
    let pushed = run(&[
        "push",
        hello.to_str().unwrap(),
        bravo.to_str().unwrap(),
        "--registry",
        &target(&good),
        "--json",
    ])
    .expect(0)
    .json();
    // bravo's archive is the one blob the two packs do not share.
    let layer = blob_name(pushed[1]["layer_digest"].as_str().unwrap());
    let mut entries = entries_of(&good);
    entries.retain(|e| e.name != layer);
    let bundle = tmp.path().join("broken.tar");
    write_bundle(&bundle, &entries);
    let verified = run(&["verify", "--registry", &target(&bundle), "--json"]).expect(6);
    let all = verified.json();
    assert_eq!(all[0]["name"], "bravo");
    assert_eq!(all[0]["ok"], false);
    assert_eq!(all[1]["name"], "hello");
    assert_eq!(all[1]["ok"], true);
    assert!(
        verified.stderr.contains("1 of 2 pack(s) in oci-archive:")
            && verified.stderr.contains("failed: bravo:1.0.0 (download)"),
        "{}",
        verified.stderr
    );
}

#[test]
fn a_failed_pack_is_left_out_of_the_bundle_and_nothing_half_written_stays() {
    let tmp = TempDir::new().unwrap();
    let broken = example_in(&tmp.path().join("broken"), "hello-1.0.0");
    edit_pack_json(&broken, |doc| {
        doc.as_object_mut().unwrap().remove("name");
    });
    let out = tmp.path().join("out");
    let bundle = out.join("packs.tar");
    // Nothing pushed: no bundle at all.
    run(&[
        "push",
        broken.to_str().unwrap(),
        "--registry",
        &target(&bundle),
    ])
    .expect(3);
    assert_eq!(list(&out), Vec::<String>::new());
    // One good pack and one broken: the good one lands, the run still fails.
    let bravo = pack_named(tmp.path(), "bravo");
    let args = [
        "push",
        bravo.to_str().unwrap(),
        broken.to_str().unwrap(),
        "--registry",
        &target(&bundle),
    ];
    run(&args).expect(3);
    assert_eq!(list(&out), ["packs.tar"]);
    let ls = run(&["ls", "--registry", &target(&bundle), "--json"]).expect(0);
    assert_eq!(
        ls.json(),
        serde_json::json!([{"name": "bravo", "versions": ["1.0.0"]}])
    );
    run(&["verify", "--registry", &target(&bundle)]).expect(0);
}

/// The air-gapped round trip with `copy`: registry → bundle → a second registry. The manifests
/// arrive as the source's bytes (skopeo reads the same at both ends, the ORAS SDK pulls the
/// archive push built), the bundle verifies itself with no registry at all, the second
/// registry gets its base path, and a bundle with one tampered byte copies nothing.
#[test]
fn registry_to_bundle_to_registry_keeps_every_digest_and_a_tampered_bundle_copies_nothing() {
    let (a, b) = (Registry::plain(), Registry::plain());
    let tmp = TempDir::new().unwrap();
    let packs = [
        pack_named(tmp.path(), "alpha"),
        pack_named(tmp.path(), "bravo"),
    ];
    let src = format!("{}/proj", a.host());
    let mut push = packpub();
    push.arg("push")
        .args(&packs)
        .args(["--registry", &src, "--plain-http", "--json"]);
    let pushed = Run::of(push.output().unwrap()).expect(0).json();

    let bundle = tmp.path().join("packs.tar");
    let copied = run(&["copy", &src, &target(&bundle), "--src-plain-http", "--json"]).expect(0);
    assert_eq!(
        copied.json().as_array().unwrap().len(),
        2,
        "{}",
        copied.stdout
    );
    run(&["verify", "--registry", &target(&bundle)]).expect(0);
    let dst = format!("{}/airgap", b.host());
    let copied = run(&["copy", &target(&bundle), &dst, "--dst-plain-http", "--json"]).expect(0);
    for outcome in copied.json().as_array().unwrap() {
        assert_eq!(outcome["status"], "copied", "{outcome}");
    }
    for name in ["alpha", "bravo"] {
        let reference = format!("spectro-packs/archive/{name}:1.0.0");
        let raw = |host: &str| {
            skopeo(&[
                "inspect",
                "--raw",
                "--tls-verify=false",
                &format!("docker://{host}/{reference}"),
            ])
        };
        assert!(
            raw(&src) == raw(&dst),
            "{name}: the manifest changed on the way"
        );
        run(&[
            "verify",
            &format!("{name}:1.0.0"),
            "--registry",
            &dst,
            "--plain-http",
        ])
        .expect(0);
    }
    let pulled = tmp.path().join("pulled");
    let script = format!(
        "import oras.client\nc = oras.client.OrasClient(hostname='{host}', insecure=True)\n\
         c.pull(target='{host}/airgap/spectro-packs/archive/alpha:1.0.0', outdir='{dir}')\n",
        host = b.host(),
        dir = pulled.display()
    );
    let sdk = Command::new(oras_python())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        sdk.status.success(),
        "{}",
        String::from_utf8_lossy(&sdk.stderr)
    );
    let archive = fs::read(pulled.join("alpha-1.0.0.tar.gz")).unwrap();
    assert_eq!(
        sha256(&archive),
        pushed[0]["layer_digest"].as_str().unwrap()
    );

    // One byte of alpha's archive changed in the bundle: nothing of it reaches a registry.
    let layer = blob_name(pushed[0]["layer_digest"].as_str().unwrap());
    let mut entries = entries_of(&bundle);
    let blob = entries.iter_mut().find(|e| e.name == layer).unwrap();
    let middle = blob.data.len() / 2;
    blob.data[middle] ^= 0x01;
    let tampered = tmp.path().join("tampered.tar");
    write_bundle(&tampered, &entries);
    let c = Registry::plain();
    let third = format!("{}/airgap", c.host());
    let refused = run(&[
        "copy",
        &target(&tampered),
        &third,
        "--dst-plain-http",
        "alpha",
    ]);
    assert_eq!(refused.code, 6, "{}", refused.stderr);
    assert!(refused.stderr.contains("alpha:1.0.0"), "{}", refused.stderr);
    let missing = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!(
            "docker://{third}/spectro-packs/archive/alpha:1.0.0"
        ))
        .output()
        .unwrap();
    assert!(!missing.status.success(), "the tampered pack was copied");
}
