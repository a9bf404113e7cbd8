//! `packpub copy` between real registries (HTTPS with htpasswd, plain HTTP) and OCI layouts:
//! manifests arrive byte for byte (same digests, read by skopeo), a rerun copies nothing,
//! selectors pick versions, DST's versions are immutable, a pack that fails verify's checks is
//! never copied, a killed copy leaves no tag and a rerun completes it, and 150 packs copied 8 at
//! a time keep memory flat.

use crate::support::proxy::{Fault, Proxy};
use crate::support::registry::Registry;
use crate::support::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tempfile::TempDir;

const PASSWORD: &str = "c0py-Pa55word";

/// A valid pack `name` at `version` in `parent`, with `extra` bytes of its own.
fn pack(parent: &Path, name: &str, version: &str, extra: &str) -> PathBuf {
    let dir = example_in(parent, &format!("{name}-{version}"));
    edit_pack_json(&dir, |doc| {
        doc["name"] = name.into();
        doc["version"] = version.into();
    });
    fs::write(dir.join("extra.txt"), extra).unwrap();
    dir
}

fn copy(args: &[&str]) -> Command {
    let mut cmd = packpub();
    cmd.arg("copy").args(args);
    cmd
}

/// The raw manifest bytes at `reference` (a `docker://` or `oci:` reference), read by skopeo;
/// `login` for the registry that asks for one.
fn skopeo_raw(reference: &str, login: bool) -> Option<Vec<u8>> {
    let mut cmd = Command::new("skopeo");
    cmd.args(["inspect", "--raw"]);
    if reference.starts_with("docker://") {
        cmd.arg("--tls-verify=false");
    }
    if login {
        cmd.arg("--creds").arg(format!("alice:{PASSWORD}"));
    }
    let out = cmd.arg(reference).output().expect("skopeo");
    out.status.success().then_some(out.stdout)
}

fn statuses(run: &Run) -> Vec<(String, String)> {
    run.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                format!(
                    "{}:{}",
                    o["name"].as_str().unwrap(),
                    o["version"].as_str().unwrap()
                ),
                o["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn copy_from_https_with_htpasswd_to_plain_keeps_every_digest_and_a_rerun_copies_nothing() {
    let src = Registry::tls_basic("alice", PASSWORD);
    let dst = Registry::plain();
    let tmp = TempDir::new().unwrap();
    let ca = src.ca_pem_path().to_path_buf();
    let packs = [
        pack(tmp.path(), "hello", "1.0.0", "a"),
        pack(tmp.path(), "hello", "1.1.0", "b"),
        pack(tmp.path(), "hello", "2.0.0", "c"),
        pack(tmp.path(), "other", "0.1.0", "d"),
    ];
    let src_target = format!("{}/proj", src.host());
    let mut pushed = packpub();
    pushed
        .arg("push")
        .args(&packs)
        .args(["--registry", &src_target, "--ca-file", ca.to_str().unwrap()])
        .env("PACKPUB_USERNAME", "alice")
        .env("PACKPUB_PASSWORD", PASSWORD);
    Run::of(pushed.output().unwrap()).expect(0);

    let dst_target = format!("{}/mirror", dst.host());
    let with_creds = |mut cmd: Command| {
        cmd.env("PACKPUB_SRC_USERNAME", "alice")
            .env("PACKPUB_SRC_PASSWORD", PASSWORD);
        cmd
    };
    let args = [
        src_target.as_str(),
        &dst_target,
        "--src-ca-file",
        ca.to_str().unwrap(),
        "--dst-plain-http",
        "--json",
    ];
    // A selector picks versions: a range, then everything.
    let ranged = [&args[..], &["hello@>=1.1, <2"]].concat();
    let ranged = Run::of(with_creds(copy(&ranged)).output().unwrap()).expect(0);
    assert_eq!(
        statuses(&ranged),
        [("hello:1.1.0".into(), "copied".into())],
        "{}",
        ranged.stderr
    );
    assert!(!ranged.stdout.contains(PASSWORD) && !ranged.stderr.contains(PASSWORD));
    let all = Run::of(with_creds(copy(&args)).output().unwrap()).expect(0);
    assert_eq!(
        statuses(&all),
        [
            ("hello:1.0.0".into(), "copied".into()),
            ("hello:1.1.0".into(), "unchanged".into()),
            ("hello:2.0.0".into(), "copied".into()),
            ("other:0.1.0".into(), "copied".into()),
        ]
    );
    for id in ["hello:1.0.0", "hello:1.1.0", "hello:2.0.0", "other:0.1.0"] {
        let path = format!("spectro-packs/archive/{id}");
        let from = skopeo_raw(&format!("docker://{src_target}/{path}"), true).unwrap();
        let to = skopeo_raw(&format!("docker://{dst_target}/{path}"), false).unwrap();
        assert!(from == to, "{id}: the manifest changed on the way");
        run_verify(&dst_target, id);
    }
    // Credentials never cross: SRC's are not DST's (which takes none here) and vice versa.
    let again = Run::of(with_creds(copy(&args)).output().unwrap()).expect(0);
    assert!(
        statuses(&again).iter().all(|(_, s)| s == "unchanged"),
        "{}",
        again.stdout
    );

    // And back to the HTTPS registry, into another project, with DST's credentials this time.
    let back_target = format!("{}/restored", src.host());
    let mut restore = copy(&[
        &dst_target,
        &back_target,
        "--src-plain-http",
        "--dst-ca-file",
        ca.to_str().unwrap(),
        "--json",
    ]);
    restore
        .env("PACKPUB_DST_USERNAME", "alice")
        .env("PACKPUB_DST_PASSWORD", PASSWORD);
    let restored = Run::of(restore.output().unwrap()).expect(0);
    assert_eq!(statuses(&restored).len(), 4, "{}", restored.stderr);
    assert!(statuses(&restored).iter().all(|(_, s)| s == "copied"));
    let path = "spectro-packs/archive/other:0.1.0";
    let from = skopeo_raw(&format!("docker://{src_target}/{path}"), true).unwrap();
    let to = skopeo_raw(&format!("docker://{back_target}/{path}"), true).unwrap();
    assert!(from == to, "the round trip changed the manifest");
    // Without DST's credentials the HTTPS registry refuses: exit 4, nothing written.
    let refused = run(&[
        "copy",
        &dst_target,
        &format!("{}/refused", src.host()),
        "--src-plain-http",
        "--dst-ca-file",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(refused.code, 4, "{}", refused.stderr);

    // And back, by name, from a list file, into an OCI layout.
    let layout = tmp.path().join("layout");
    let list = tmp.path().join("packs.txt");
    fs::write(
        &list,
        "# what the edge sites run\nother\nhello:2.0.0  # pinned\n\n",
    )
    .unwrap();
    let oci = format!("oci:{}", layout.display());
    let back = run(&[
        "copy",
        &dst_target,
        &oci,
        "--src-plain-http",
        "--from-file",
        list.to_str().unwrap(),
        "--json",
    ])
    .expect(0);
    assert_eq!(
        statuses(&back),
        [
            ("other:0.1.0".into(), "copied".into()),
            ("hello:2.0.0".into(), "copied".into()),
        ]
    );
    let from = skopeo_raw(
        &format!("docker://{dst_target}/spectro-packs/archive/hello:2.0.0"),
        false,
    )
    .unwrap();
    let to = skopeo_raw(
        &format!("oci:{}:spectro-packs/archive/hello:2.0.0", layout.display()),
        false,
    )
    .unwrap();
    assert!(
        from == to,
        "the layout's manifest differs from the registry's"
    );
    fs::write(&list, "hello@not-a-range\n").unwrap();
    let bad = run(&[
        "copy",
        &dst_target,
        &oci,
        "--from-file",
        list.to_str().unwrap(),
    ])
    .expect(2);
    assert!(bad.stderr.contains("line 1"), "{}", bad.stderr);
}

fn run_verify(target: &str, id: &str) {
    run(&["verify", id, "--registry", target, "--plain-http"]).expect(0);
}

#[test]
fn a_conflict_at_the_destination_and_a_hostile_source_pack_are_never_copied() {
    let src = Registry::plain();
    let dst = Registry::plain();
    let tmp = TempDir::new().unwrap();
    let (src_target, dst_target) = (format!("{}/p", src.host()), format!("{}/p", dst.host()));
    let good = pack(tmp.path(), "hello", "1.0.0", "source");
    run(&[
        "push",
        good.to_str().unwrap(),
        "--registry",
        &src_target,
        "--plain-http",
    ])
    .expect(0);
    // DST holds hello 1.0.0 with other content.
    let other = TempDir::new().unwrap();
    let theirs = pack(other.path(), "hello", "1.0.0", "destination");
    run(&[
        "push",
        theirs.to_str().unwrap(),
        "--registry",
        &dst_target,
        "--plain-http",
    ])
    .expect(0);
    let before = skopeo_raw(
        &format!("docker://{dst_target}/spectro-packs/archive/hello:1.0.0"),
        false,
    );
    // SRC also holds an unsafe archive, pushed by another tool.
    let evil = tmp.path().join("evil").join("hello-1.0.0.tar.gz");
    fs::create_dir_all(evil.parent().unwrap()).unwrap();
    oras_peer(&["tarball", "dotdot", evil.to_str().unwrap()]);
    let evil_ref = format!("{src_target}/spectro-packs/archive/evil:1.0.0");
    // The title must match the tag's name for Palette's shape: push under the evil name.
    let renamed = evil.with_file_name("evil-1.0.0.tar.gz");
    fs::rename(&evil, &renamed).unwrap();
    oras_peer(&["push", src.host(), &evil_ref, renamed.to_str().unwrap()]);

    let args = [
        &src_target[..],
        &dst_target,
        "--src-plain-http",
        "--dst-plain-http",
        "--json",
    ];
    let plan = run(&[&["copy"][..], &args, &["--dry-run"]].concat()).expect(5);
    let planned = statuses(&plan);
    assert!(
        planned.contains(&("hello:1.0.0".into(), "conflict".into())),
        "{planned:?}"
    );
    assert!(
        planned.contains(&("evil:1.0.0".into(), "would-copy".into())),
        "{planned:?}"
    );

    let copied = run(&[&["copy"][..], &args].concat());
    // The worst code wins: 6 (a pack failed its checks) over 5 (a conflict).
    assert_eq!(copied.code, 6, "{}", copied.stderr);
    let done = statuses(&copied);
    assert!(
        done.contains(&("hello:1.0.0".into(), "conflict".into())),
        "{done:?}"
    );
    assert!(
        done.contains(&("evil:1.0.0".into(), "failed".into())),
        "{done:?}"
    );
    assert!(copied.stderr.contains("evil:1.0.0"), "{}", copied.stderr);
    assert!(copied.stderr.contains(".."), "{}", copied.stderr);
    assert_eq!(
        skopeo_raw(
            &format!("docker://{dst_target}/spectro-packs/archive/hello:1.0.0"),
            false
        ),
        before,
        "the conflicting version was replaced"
    );
    assert!(
        skopeo_raw(
            &format!("docker://{dst_target}/spectro-packs/archive/evil:1.0.0"),
            false
        )
        .is_none(),
        "the unsafe pack was copied"
    );
    // --force replaces the conflicting version with the source's bytes.
    let forced = run(&[&["copy"][..], &args, &["hello:1.0.0", "--force"]].concat()).expect(0);
    assert_eq!(
        statuses(&forced),
        [("hello:1.0.0".into(), "overwritten".into())]
    );
}

#[test]
fn a_copy_killed_mid_blob_leaves_no_tag_and_a_rerun_completes_it() {
    let src = Registry::plain();
    let dst = Registry::plain();
    let proxy = Proxy::start(
        dst.host().parse().unwrap(),
        Fault::CutAfterBytes {
            bytes: u64::MAX,
            times: 0,
        },
    );
    let tmp = TempDir::new().unwrap();
    let big = pack(tmp.path(), "big", "1.0.0", "big");
    write_mixed(&big.join("blob.bin"), 96 << 20, 5);
    let src_target = format!("{}/p", src.host());
    run(&[
        "push",
        big.to_str().unwrap(),
        "--registry",
        &src_target,
        "--plain-http",
    ])
    .expect(0);
    let dst_target = format!("{}/p", proxy.addr());
    let args = [
        &src_target[..],
        &dst_target,
        "--src-plain-http",
        "--dst-plain-http",
    ];
    let mut child = copy(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while proxy.forwarded() < 8 << 20 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the copy ended before 8 MiB went"
        );
        assert!(
            started.elapsed().as_secs() < 120,
            "nothing sent after 120 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let reference = format!("docker://{}/p/spectro-packs/archive/big:1.0.0", dst.host());
    assert!(
        skopeo_raw(&reference, false).is_none(),
        "a killed copy left a tag"
    );
    let rerun = Run::of(copy(&[&args[..], &["--json"]].concat()).output().unwrap()).expect(0);
    assert_eq!(statuses(&rerun), [("big:1.0.0".into(), "copied".into())]);
    run_verify(&format!("{}/p", dst.host()), "big:1.0.0");
    let again = Run::of(copy(&[&args[..], &["--json"]].concat()).output().unwrap()).expect(0);
    assert_eq!(statuses(&again), [("big:1.0.0".into(), "unchanged".into())]);
}

#[test]
fn fifty_packs_in_three_versions_copy_eight_at_a_time_in_flat_memory() {
    let dst = Registry::plain();
    let tmp = TempDir::new().unwrap();
    let mut folders = Vec::new();
    for n in 0..50 {
        for version in ["1.0.0", "1.1.0", "2.0.0"] {
            let dir = pack(
                tmp.path(),
                &format!("pack{n:02}"),
                version,
                &format!("{n} {version}"),
            );
            write_mixed(&dir.join("data.bin"), 256 << 10, n as u64);
            folders.push(dir);
        }
    }
    let layout = format!("oci:{}", tmp.path().join("layout").display());
    let mut pushed = packpub();
    pushed
        .arg("push")
        .args(&folders)
        .args(["--registry", &layout]);
    Run::of(pushed.output().unwrap()).expect(0);
    let dst_target = format!("{}/p", dst.host());
    let (run, peak_kib) = run_measured(copy(&[
        &layout,
        &dst_target,
        "--dst-plain-http",
        "--concurrency",
        "8",
        "--json",
    ]));
    let run = run.expect(0);
    let done = statuses(&run);
    assert_eq!(done.len(), 150);
    assert!(done.iter().all(|(_, s)| s == "copied"), "{done:?}");
    assert!(
        peak_kib < 64 * 1024,
        "peak memory {} MiB, over 64 MiB",
        peak_kib / 1024
    );
    let listed = run_json(&["ls", "--registry", &dst_target, "--plain-http", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 50);
}

fn run_json(args: &[&str]) -> serde_json::Value {
    run(args).expect(0).json()
}

/// Within one registry the archive is mounted from the source repository, never sent again:
/// the bytes clients send the registry stay far below the archive's size.
#[test]
fn within_one_registry_the_archive_is_mounted_not_uploaded() {
    let reg = Registry::plain();
    let proxy = Proxy::start(
        reg.host().parse().unwrap(),
        Fault::CutAfterBytes {
            bytes: u64::MAX,
            times: 0,
        },
    );
    let tmp = TempDir::new().unwrap();
    let big = pack(tmp.path(), "big", "1.0.0", "big");
    write_mixed(&big.join("blob.bin"), 16 << 20, 9);
    let (src, dst) = (
        format!("{}/staging", proxy.addr()),
        format!("{}/production", proxy.addr()),
    );
    run(&[
        "push",
        big.to_str().unwrap(),
        "--registry",
        &src,
        "--plain-http",
    ])
    .expect(0);
    let sent_before = proxy.forwarded();
    let copied = run(&[
        "copy",
        &src,
        &dst,
        "--src-plain-http",
        "--dst-plain-http",
        "--json",
    ])
    .expect(0);
    assert_eq!(statuses(&copied), [("big:1.0.0".into(), "copied".into())]);
    let sent = proxy.forwarded() - sent_before;
    assert!(
        sent < 1 << 20,
        "{sent} bytes sent: the archive was uploaded again"
    );
    run_verify(&dst, "big:1.0.0");
}
