//! `packpub verify`, `ls` and `pull` against a real registry, with the ORAS Python SDK playing
//! the other tool that re-pushes a tag or publishes a hostile archive.

use crate::support::registry::Registry;
use crate::support::*;
use std::fs;
use std::path::Path;
use tempfile::TempDir;

const REF: &str = "spectro-packs/archive/hello:1.0.0";

/// Builds a tarball of `kind` named hello-1.0.0.tar.gz and pushes it over the tag with the SDK.
fn sdk_push(reg: &Registry, kind: &str, dir: &Path) {
    let file = dir.join(kind).join("hello-1.0.0.tar.gz");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    oras_peer(&["tarball", kind, file.to_str().unwrap()]);
    oras_peer(&[
        "push",
        reg.host(),
        &format!("{}/{REF}", reg.host()),
        file.to_str().unwrap(),
    ]);
}

fn cmd(verb: &str, reg: &Registry, args: &[&str]) -> Run {
    let mut all = vec![verb, "--registry", reg.host(), "--plain-http"];
    all.extend_from_slice(args);
    run(&all)
}

fn push_example(reg: &Registry) {
    cmd("push", reg, &[example().to_str().unwrap()]).expect(0);
}

#[test]
fn verify_passes_right_after_push_in_every_form() {
    let reg = Registry::plain();
    push_example(&reg);
    let tmp = TempDir::new().unwrap();
    let tarball = pack_example(tmp.path());
    for pack in [
        example().to_str().unwrap(),
        tarball.to_str().unwrap(),
        "hello:1.0.0",
    ] {
        let run = cmd("verify", &reg, &[pack, "--json"]).expect(0);
        let doc = run.json();
        assert_eq!(doc["ok"], true, "{}", run.stdout);
        let names: Vec<&str> = doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["check"].as_str().unwrap())
            .collect();
        for expected in [
            "base path",
            "tag",
            "manifest shape",
            "download",
            "safe to extract",
            "pack.json matches the tag",
            "pack is valid",
        ] {
            assert!(names.contains(&expected), "{pack}: {names:?}");
        }
        assert_eq!(
            names.contains(&"digest"),
            pack != "hello:1.0.0",
            "{pack}: {names:?}"
        );
    }
}

#[test]
fn a_tag_repushed_by_another_tool_fails_the_digest_check() {
    let reg = Registry::plain();
    push_example(&reg);
    let tmp = TempDir::new().unwrap();
    sdk_push(&reg, "other-content", tmp.path());
    let run = cmd("verify", &reg, &[example().to_str().unwrap()]).expect(6);
    assert!(
        run.stderr.contains("error: digest: registry sha256:"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("only here: README.md, logo.png, manifests/hello.yaml"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("changed: pack.json, values.yaml"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_wrong_title_fails_the_manifest_shape_check() {
    let reg = Registry::plain();
    let tmp = TempDir::new().unwrap();
    let file = tmp.path().join("other.tar.gz");
    fs::copy(pack_example(&tmp.path().join("out")), &file).unwrap();
    oras_peer(&[
        "push",
        reg.host(),
        &format!("{}/{REF}", reg.host()),
        file.to_str().unwrap(),
    ]);
    let run = cmd("verify", &reg, &["hello:1.0.0"]).expect(6);
    assert!(
        run.stderr.contains("error: manifest shape: layer title"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("\"other.tar.gz\""), "{}", run.stderr);
}

#[test]
fn pack_json_with_another_version_than_the_tag_fails() {
    let reg = Registry::plain();
    let tmp = TempDir::new().unwrap();
    sdk_push(&reg, "version-2", tmp.path());
    let run = cmd("verify", &reg, &["hello:1.0.0"]).expect(6);
    assert!(
        run.stderr
            .contains("error: pack.json matches the tag: pack.json inside says hello 2.0.0"),
        "{}",
        run.stderr
    );
}

#[test]
fn hostile_archives_fail_verify_and_are_never_extracted() {
    for kind in ["dotdot", "absolute", "symlink", "hardlink", "device"] {
        let reg = Registry::plain();
        let tmp = TempDir::new().unwrap();
        sdk_push(&reg, kind, &tmp.path().join("src"));
        let run = cmd("verify", &reg, &["hello:1.0.0"]).expect(6);
        assert!(
            run.stderr.contains("error: safe to extract"),
            "{kind}: {}",
            run.stderr
        );

        let jail = tmp.path().join("jail");
        let dest = jail.join("dest");
        let run = cmd(
            "pull",
            &reg,
            &["hello:1.0.0", "-o", dest.to_str().unwrap(), "--extract"],
        )
        .expect(6);
        assert!(
            run.stderr.contains("safe to extract; nothing was written"),
            "{kind}: {}",
            run.stderr
        );
        assert!(list(&dest).is_empty(), "{kind}: {:?}", list(&dest));
        assert_eq!(list(&jail), ["dest"], "{kind}: something escaped");
        assert!(!Path::new("/tmp/packpub-evil-absolute.txt").exists());
    }
}

#[test]
fn pull_gives_back_the_original_folder() {
    let reg = Registry::plain();
    push_example(&reg);
    let tmp = TempDir::new().unwrap();
    let tarball = pack_example(&tmp.path().join("packed"));
    let dest = tmp.path().join("dest");
    let run = cmd(
        "pull",
        &reg,
        &[
            "hello:1.0.0",
            "-o",
            dest.to_str().unwrap(),
            "--extract",
            "--json",
        ],
    )
    .expect(0);
    assert_eq!(
        run.json()["extracted"],
        dest.join("hello-1.0.0").to_str().unwrap()
    );
    assert_eq!(
        fs::read(dest.join("hello-1.0.0.tar.gz")).unwrap(),
        fs::read(&tarball).unwrap()
    );
    assert_same_tree(&example(), &dest.join("hello-1.0.0"));
    // A missing version is a failed check, not a crash.
    cmd("pull", &reg, &["hello:9.9.9", "-o", dest.to_str().unwrap()]).expect(6);
}

#[test]
fn ls_lists_packs_and_versions_in_order_across_pages() {
    let reg = Registry::plain();
    let tmp = TempDir::new().unwrap();
    for (name, version) in [
        ("alpha", "1.10.0"),
        ("alpha", "1.2.0"),
        ("alpha", "1.0.0"),
        ("alpha", "nightly"),
        ("bravo", "0.1.0"),
    ] {
        let dir = example_in(
            &tmp.path().join(format!("{name}-{version}")),
            &format!("{name}-{version}"),
        );
        edit_pack_json(&dir, |doc| {
            doc["name"] = name.into();
            doc["version"] = version.into();
        });
        cmd("push", &reg, &[dir.to_str().unwrap()]).expect(0);
    }
    let run = cmd("ls", &reg, &["--page-size", "1", "--json"]).expect(0);
    assert_eq!(
        run.json(),
        serde_json::json!([
            {"name": "alpha", "versions": ["1.0.0", "1.2.0", "1.10.0", "nightly"]},
            {"name": "bravo", "versions": ["0.1.0"]}
        ])
    );
    let run = cmd("ls", &reg, &["alpha", "--page-size", "2", "--json"]).expect(0);
    assert_eq!(run.json()[0]["versions"].as_array().unwrap().len(), 4);
}

#[test]
fn verify_ls_and_pull_read_an_oci_layout() {
    let tmp = TempDir::new().unwrap();
    let target = format!("oci:{}", tmp.path().join("layout").display());
    run(&["push", example().to_str().unwrap(), "--registry", &target]).expect(0);
    run(&["verify", example().to_str().unwrap(), "--registry", &target]).expect(0);
    let ls = run(&["ls", "--registry", &target, "--json"]).expect(0);
    assert_eq!(
        ls.json(),
        serde_json::json!([{"name": "hello", "versions": ["1.0.0"]}])
    );
    let dest = tmp.path().join("dest");
    run(&[
        "pull",
        "hello:1.0.0",
        "--registry",
        &target,
        "-o",
        dest.to_str().unwrap(),
    ])
    .expect(0);
    assert_eq!(list(&dest), ["hello-1.0.0.tar.gz"]);
}
