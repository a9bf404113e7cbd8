//! Air-gapped sites get a pack with its images (issue 24): `copy --with-images` and `push
//! --with-images` put every image a pack's `pack.content.images` lists at
//! `DST/spectro-images/<host>/<path>`, byte for byte (index and every platform), a Docker Hub
//! short name at both paths Palette's clusters may ask for, and print the `mirrorRegistries`
//! line the site needs; `skopeo sync --scoped --all` of the same references (the oracle) names
//! the same repositories and digests; a bundle carries packs and images to a registry with no
//! upstream left and refuses a tampered image blob (exit 6); an image the upstream lacks fails
//! its pack by name; templated or misspelt entries are skipped with a warning, and `lint` warns
//! about them.
//!
//! The upstream is one loopback registry standing in for quay.io, Docker Hub and nvcr.io
//! through `--image-source HOST=http://UPSTREAM`, seeded with images built by hand (KBs each,
//! see support::upstream); every check reads the registries with skopeo or their HTTP API, as a
//! user would.

use crate::support::proxy::{Fault, Proxy};
use crate::support::registry::Registry;
use crate::support::tmux::Tmux;
use crate::support::upstream::{
    self, IMAGE_BASE, Layout, Seeded, Upstream, assert_holds, catalog, destinations, push_layout,
    skopeo_sync_scoped, tags, values_with_entries, values_with_images,
};
use crate::support::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

const PACK: &str = "spectro-packs/archive/hello:1.0.0";

/// The example pack as `hello` 1.0.0 in `parent`, its values.yaml replaced by `values`.
fn pack_with(parent: &Path, values: &str) -> PathBuf {
    let dir = example_in(parent, "hello-1.0.0");
    edit_pack_json(&dir, |doc| {
        doc["name"] = "hello".into();
        doc["version"] = "1.0.0".into();
    });
    fs::write(dir.join("values.yaml"), values).unwrap();
    dir
}

/// Pushes the pack in `dir` (without its images) to the plain-HTTP `target`.
fn push_pack(dir: &Path, target: &str) {
    run(&[
        "push",
        dir.to_str().unwrap(),
        "--registry",
        target,
        "--plain-http",
    ])
    .expect(0);
}

/// `packpub copy SRC DST --with-images` between plain-HTTP registries, every upstream host read
/// A registry holding pack `hello` 1.0.0 whose values.yaml is `values`, and an empty
/// destination registry.
fn published(values: &str) -> (Registry, Registry) {
    let (src, dst) = (Registry::plain(), Registry::plain());
    let tmp = TempDir::new().unwrap();
    let pack = pack_with(tmp.path(), values);
    push_pack(&pack, src.host());
    (src, dst)
}

/// from `upstream`, then `extra`.
fn copy_with_images(src: &str, dst: &str, upstream: &Upstream, extra: &[&str]) -> Run {
    let mut cmd = packpub();
    cmd.args(["copy", src, dst, "--with-images", "--src-plain-http"]);
    if !dst.starts_with("oci") {
        cmd.arg("--dst-plain-http");
    }
    cmd.args(upstream.image_source_args()).args(extra);
    Run::of(cmd.output().unwrap())
}

/// Asserts every seeded image in `images` is at each of its destinations under
/// `root` (`HOST[/PREFIX]/BASE`'s parent): index, platforms and blobs.
fn assert_all_at(root: &str, base: &str, images: &[Seeded]) {
    for seeded in images {
        for (repository, at) in destinations(base, &seeded.reference) {
            assert_holds(&format!("{root}/{repository}"), &at, &seeded.image);
        }
    }
}

/// The `images` of the one pack in a `copy --json` answer.
fn image_outcomes(run: &Run) -> Vec<serde_json::Value> {
    let doc = run.json();
    let packs = doc.as_array().expect("an array of pack outcomes");
    assert_eq!(packs.len(), 1, "{doc:#}");
    packs[0]["images"]
        .as_array()
        .unwrap_or_else(|| panic!("no images in {doc:#}"))
        .clone()
}

/// The entries of the `mirrorRegistries: …` line on stdout.
fn mirror_registries(stdout: &str) -> BTreeSet<String> {
    let line = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("mirrorRegistries: "))
        .unwrap_or_else(|| panic!("no mirrorRegistries line in:\n{stdout}"));
    line.split(',').map(|e| e.trim().to_string()).collect()
}

/// The harness alone, no packpub: the seeded upstream holds the images as built, and the
/// oracle (skopeo sync --scoped, reading quay.io, docker.io and nvcr.io from the loopback
/// upstream through a registries.conf) names them by the path rule of shared/airgap.md §3 with
/// the `library/` form for Docker Hub, and keeps every digest. When an air-gap test fails, this
/// says whether the harness is to blame.
#[test]
fn the_seeded_upstream_and_the_skopeo_oracle_keep_every_digest() {
    let upstream = Upstream::seed();
    for seeded in &upstream.images {
        assert_holds(
            &format!("{}/{}", upstream.host(), seeded.repository),
            &format!(":{}", seeded.tag),
            &seeded.image,
        );
    }
    // Two platforms, each its own manifest; one layer in every image.
    let img = &upstream.image("quay.io/org/img:1.0").image;
    assert_eq!(img.media_type, upstream::INDEX);
    assert_eq!(img.children.len(), 2);
    assert!(
        upstream
            .images
            .iter()
            .all(|s| s.image.layers.contains(&upstream.shared_layer))
    );

    let oracle = Registry::plain();
    skopeo_sync_scoped(
        &upstream.references(),
        &upstream.mirrors(),
        &format!("{}/{IMAGE_BASE}", oracle.host()),
    );
    let expected: BTreeSet<String> = [
        "spectro-images/quay.io/org/img",
        "spectro-images/quay.io/org/single",
        "spectro-images/docker.io/library/nginx",
        "spectro-images/docker.io/bitnami/nginx",
        "spectro-images/nvcr.io/nvidia/tool",
    ]
    .map(String::from)
    .into();
    assert_eq!(
        catalog(oracle.host()).into_iter().collect::<BTreeSet<_>>(),
        expected
    );
    for seeded in &upstream.images {
        for (repository, at) in destinations(IMAGE_BASE, &seeded.reference) {
            if expected.contains(&repository) {
                assert_holds(
                    &format!("{}/{repository}", oracle.host()),
                    &at,
                    &seeded.image,
                );
            }
        }
    }
    // The digest-only reference is there by digest, under no tag.
    assert!(tags(oracle.host(), "spectro-images/quay.io/org/single").is_empty());

    // The tampering the bundle test does is one skopeo notices too: a layer of a bundle (a tar
    // of an OCI layout) with one byte changed in place is refused. (Into a registry of its own:
    // skopeo's blob info cache would mount the good layer from one that has it.)
    let tmp = TempDir::new().unwrap();
    let bundle = tmp.path().join("img.tar");
    let archive = format!("oci-archive:{}:img", bundle.display());
    let from = format!("docker://{}/org/img:1.0", upstream.host());
    let copy = ["copy", "-q", "--all", "--preserve-digests"];
    upstream::skopeo(&[&copy[..], &["--src-tls-verify=false", &from, &archive]].concat());
    upstream::tamper_blob_in_tar(&bundle, &img.layers[1]);
    let elsewhere = Registry::plain();
    let to = format!("docker://{}/tampered/img:1.0", elsewhere.host());
    let refused = Command::new("skopeo")
        .args(copy)
        .args(["--dest-tls-verify=false", &archive, &to])
        .output()
        .unwrap();
    assert!(!refused.status.success(), "skopeo took a tampered layer");
    assert!(tags(elsewhere.host(), "tampered/img").is_empty());
}

#[test]
fn copy_with_images_puts_every_image_under_spectro_images_byte_for_byte() {
    let upstream = Upstream::seed();
    let (src, dst) = published(&values_with_images(&upstream.references()));

    let first = copy_with_images(src.host(), dst.host(), &upstream, &[]).expect(0);
    assert!(
        upstream::digest(&format!("{}/{PACK}", dst.host())).is_some(),
        "the pack itself was not copied"
    );
    // Each image at DST/spectro-images/<host>/<path>: the index with both platforms, the
    // digest-only one by digest, nginx:1.25 under docker.io/nginx and docker.io/library/nginx.
    assert_all_at(dst.host(), IMAGE_BASE, &upstream.images);
    let nginx = &upstream.image("nginx:1.25").image;
    for path in ["docker.io/nginx:1.25", "docker.io/library/nginx:1.25"] {
        let at = format!("{}/{IMAGE_BASE}/{path}", dst.host());
        assert_eq!(
            upstream::digest(&at).as_deref(),
            Some(nginx.digest.as_str())
        );
    }
    assert!(
        tags(dst.host(), "spectro-images/quay.io/org/single").is_empty(),
        "a digest-only reference gained a tag"
    );

    // People see how the images fared beside the pack's line.
    let copied = format!("images  {} copied", upstream.images.len());
    assert!(first.stderr.contains(&copied), "{}", first.stderr);

    // The line the site's Palette needs, one entry per host seen; nvcr.io is outside the
    // default map and is named on stderr.
    let expected: BTreeSet<String> = upstream
        .hosts()
        .iter()
        .map(|h| format!("{h}::{}/{IMAGE_BASE}/{h}", dst.host()))
        .collect();
    assert_eq!(
        mirror_registries(&first.stdout),
        expected,
        "{}",
        first.stdout
    );
    let outside: Vec<String> = upstream
        .hosts()
        .into_iter()
        .filter(|h| !upstream::DEFAULT_MAP.contains(&h.as_str()))
        .collect();
    assert_eq!(outside, ["nvcr.io"]);
    for host in outside {
        assert!(
            first.stderr.lines().any(|l| l.contains(&host)),
            "no word about {host}, a host outside Palette's default map:\n{}",
            first.stderr
        );
    }

    // A rerun copies nothing: every image unchanged, at the digest the upstream has.
    let again = copy_with_images(src.host(), dst.host(), &upstream, &["--json"]).expect(0);
    assert_eq!(again.json()[0]["status"], "unchanged", "{}", again.stdout);
    let outcomes = image_outcomes(&again);
    for seeded in &upstream.images {
        let mine: Vec<&serde_json::Value> = outcomes
            .iter()
            .filter(|o| o["reference"] == seeded.reference.as_str())
            .collect();
        assert!(
            !mine.is_empty(),
            "{} missing from {outcomes:#?}",
            seeded.reference
        );
        for outcome in mine {
            assert_eq!(outcome["status"], "unchanged", "{outcome:#}");
            assert_eq!(
                outcome["digest"],
                seeded.image.digest.as_str(),
                "{outcome:#}"
            );
            // --json has no mirrorRegistries line: each image names its entry.
            assert!(
                expected.contains(outcome["mirror"].as_str().unwrap_or_default()),
                "{outcome:#} names no entry of {expected:?}"
            );
            let destination = outcome["destination"].as_str().unwrap();
            assert!(
                destination.starts_with(&format!("{}/{IMAGE_BASE}/", dst.host())),
                "{outcome:#}"
            );
        }
    }
}

#[test]
fn skopeo_sync_scoped_names_the_same_repositories_and_digests() {
    let upstream = Upstream::seed();
    let (src, dst, oracle) = (Registry::plain(), Registry::plain(), Registry::plain());
    let tmp = TempDir::new().unwrap();
    let pack = pack_with(tmp.path(), &values_with_images(&upstream.references()));
    push_pack(&pack, src.host());

    let copied = copy_with_images(src.host(), dst.host(), &upstream, &["--json"]).expect(0);
    for outcome in image_outcomes(&copied) {
        assert_eq!(outcome["status"], "copied", "{outcome:#}");
        assert!(outcome.get("error").is_none(), "{outcome:#}");
    }
    skopeo_sync_scoped(
        &upstream.references(),
        &upstream.mirrors(),
        &format!("{}/{IMAGE_BASE}", oracle.host()),
    );

    let ours: BTreeSet<String> = catalog(dst.host())
        .into_iter()
        .filter(|r| r.starts_with("spectro-images/"))
        .collect();
    let theirs: BTreeSet<String> = catalog(oracle.host()).into_iter().collect();
    // packpub also keeps a one-segment Docker Hub name without library/, as Palette's webhook
    // rewrites it; skopeo, like containerd, knows only the library/ form.
    let webhook_only: BTreeSet<String> = ["spectro-images/docker.io/nginx".to_string()].into();
    assert!(ours.is_superset(&webhook_only), "{ours:#?}");
    assert_eq!(
        ours.difference(&webhook_only)
            .cloned()
            .collect::<BTreeSet<_>>(),
        theirs
    );
    for seeded in &upstream.images {
        for (repository, at) in destinations(IMAGE_BASE, &seeded.reference) {
            let mine = upstream::digest(&format!("{}/{repository}{at}", dst.host()));
            assert_eq!(
                mine.as_deref(),
                Some(seeded.image.digest.as_str()),
                "{repository}{at}"
            );
            if theirs.contains(&repository) {
                let oracle_digest =
                    upstream::digest(&format!("{}/{repository}{at}", oracle.host()));
                assert_eq!(mine, oracle_digest, "{repository}{at}");
            }
        }
    }
}

#[test]
fn a_bundle_carries_packs_and_images_to_a_site_with_no_upstream_and_refuses_a_tampered_blob() {
    let upstream = Upstream::seed();
    let src = Registry::plain();
    let tmp = TempDir::new().unwrap();
    let pack = pack_with(tmp.path(), &values_with_images(&upstream.references()));
    push_pack(&pack, src.host());
    let bundle = tmp.path().join("site.tar");
    let archive = format!("oci-archive:{}", bundle.display());
    copy_with_images(src.host(), &archive, &upstream, &[]).expect(0);

    // The site: nothing upstream answers any more.
    let images = upstream.images.clone();
    let victim = upstream.image("quay.io/org/img:1.0").image.clone();
    // The amd64 platform's own layer (layers: shared, amd64's, shared, arm64's).
    let tampered_layer = victim.layers[1].clone();
    assert_ne!(tampered_layer, upstream.shared_layer);
    drop(upstream);
    drop(src);

    let verified = run(&["verify", "--registry", &archive]).expect(0);
    // Each image is named by its reference and where it is: nginx's two places apart.
    for place in ["docker.io/nginx", "docker.io/library/nginx"] {
        let line = format!("image nginx:1.25 at {IMAGE_BASE}/{place}: image digests");
        assert!(verified.stderr.contains(&line), "{}", verified.stderr);
    }
    assert!(
        !verified.stderr.contains("1.25:1.25"),
        "{}",
        verified.stderr
    );
    let site = Registry::plain();
    run(&["copy", &archive, site.host(), "--dst-plain-http"]).expect(0);
    assert!(upstream::digest(&format!("{}/{PACK}", site.host())).is_some());
    assert_all_at(site.host(), IMAGE_BASE, &images);

    // One byte of one image layer changed inside the bundle: verify and a restore refuse it,
    // and the restore tags no image it could not prove.
    upstream::tamper_blob_in_tar(&bundle, &tampered_layer);
    let refused = run(&["verify", "--registry", &archive]).expect(6);
    assert!(!refused.stderr.is_empty());
    let fresh = Registry::plain();
    run(&["copy", &archive, fresh.host(), "--dst-plain-http"]).expect(6);
    assert!(
        tags(fresh.host(), "spectro-images/quay.io/org/img").is_empty(),
        "the tampered image was tagged"
    );
    assert!(
        upstream::digest(&format!(
            "{}/{IMAGE_BASE}/quay.io/org/img:1.0",
            fresh.host()
        ))
        .is_none()
    );
}

#[test]
fn push_with_images_puts_the_pack_and_its_images_at_once() {
    let upstream = Upstream::seed();
    let dst = Registry::plain();
    let tmp = TempDir::new().unwrap();
    let pack = pack_with(tmp.path(), &values_with_images(&upstream.references()));
    let target = format!("{}/air", dst.host());
    let mut cmd = packpub();
    cmd.arg("push")
        .arg(&pack)
        .args(["--registry", &target, "--plain-http", "--with-images"])
        .args(["--image-base", "site-images"])
        .args(upstream.image_source_args());
    Run::of(cmd.output().unwrap()).expect(0);
    assert!(upstream::digest(&format!("{target}/{PACK}")).is_some());
    assert_all_at(&target, "site-images", &upstream.images);
    assert!(
        catalog(dst.host())
            .iter()
            .all(|r| !r.contains("spectro-images")),
        "--image-base was not used"
    );
}

#[test]
fn an_image_the_upstream_lacks_fails_its_pack_naming_the_reference() {
    let upstream = Upstream::seed();
    let absent = "quay.io/org/absent:9.9";
    let references = ["quay.io/org/img:1.0".to_string(), absent.to_string()];
    let (src, dst) = published(&values_with_images(&references));

    let failed = copy_with_images(src.host(), dst.host(), &upstream, &["--json"]);
    assert_ne!(failed.code, 0, "{}", failed.stderr);
    failed.said(absent);
    let outcome = image_outcomes(&failed)
        .into_iter()
        .find(|o| o["reference"] == absent)
        .expect("an outcome for the absent image");
    assert_eq!(outcome["status"], "failed", "{outcome:#}");
    assert!(
        outcome["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{outcome:#}"
    );
    // A pack never reaches the site without its images.
    assert!(
        upstream::digest(&format!("{}/{PACK}", dst.host())).is_none(),
        "the pack was copied although one of its images was not"
    );
}

#[test]
fn templated_and_misspelt_entries_are_skipped_with_a_warning() {
    let upstream = Upstream::seed();
    let values = values_with_entries(&[
        "image: '{{.spectro.pack.x.uri}}'".into(),
        "iamge: quay.io/org/single:seeded".into(),
        "image: quay.io/org/img:1.0".into(),
    ]);
    let (src, dst) = published(&values);

    let copied = copy_with_images(src.host(), dst.host(), &upstream, &["--json"]).expect(0);
    copied.said("{{.spectro.pack.x.uri}}").said("iamge");
    let outcomes = image_outcomes(&copied);
    assert!(
        outcomes.iter().all(|o| o["status"] != "failed"),
        "{outcomes:#?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|o| o["reference"] == "quay.io/org/img:1.0" && o["status"] == "copied"),
        "{outcomes:#?}"
    );
    let img = &upstream.image("quay.io/org/img:1.0").image;
    assert_holds(
        &format!("{}/{IMAGE_BASE}/quay.io/org/img", dst.host()),
        ":1.0",
        img,
    );
    // The misspelt entry was not read as an image.
    assert!(tags(dst.host(), "spectro-images/quay.io/org/single").is_empty());
    assert!(upstream::digest(&format!("{}/{PACK}", dst.host())).is_some());
}

#[test]
fn lint_warns_about_image_entries_that_cannot_be_copied_as_written() {
    let tmp = TempDir::new().unwrap();
    let values = values_with_entries(&[
        "image: '{{.spectro.pack.x.uri}}'".into(),
        "image: quay.io/org/untagged".into(),
        "iamge: quay.io/org/typo:1.0".into(),
        "image: quay.io/org/img:1.0".into(),
        format!("image: quay.io/org/single@sha256:{}", "a".repeat(64)),
        "image: nginx:1.25".into(),
    ]);
    let pack = pack_with(tmp.path(), &values);
    let text = run(&["lint", pack.to_str().unwrap()]).expect(0);
    let said = format!("{}{}", text.stdout, text.stderr);
    assert!(said.contains("pack.content.images"), "{said}");

    let json = run(&["lint", pack.to_str().unwrap(), "--json"]).expect(0);
    let doc = json.json();
    let about_images: Vec<String> = doc["packs"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.to_string())
        .filter(|f| f.contains("pack.content.images"))
        .collect();
    assert_eq!(about_images.len(), 3, "{about_images:#?}");
    for good in ["quay.io/org/img:1.0", "nginx:1.25", "quay.io/org/single@"] {
        assert!(
            about_images.iter().all(|f| !f.contains(good)),
            "{good} is fine as written: {about_images:#?}"
        );
    }
}

/// `--platform` keeps one platform of a multi-platform image (its manifest under the tag, so
/// the digest is that platform's, and the run says digests change); `--image-map` puts a
/// host's images where the site's `mirrorRegistries` says, and prints those entries back.
#[test]
fn platform_and_the_sites_map_are_explicit_choices() {
    let upstream = Upstream::seed();
    let img = upstream.image("quay.io/org/img:1.0");
    let (src, dst) = published(&values_with_images(std::slice::from_ref(&img.reference)));
    let tmp = TempDir::new().unwrap();
    let map = tmp.path().join("mirrors.txt");
    fs::write(
        &map,
        format!(
            "# the site's mirrorRegistries\nquay.io::{}/airgap/quay, gcr.io::{}/airgap/gcr\n",
            dst.host(),
            dst.host()
        ),
    )
    .unwrap();
    let map_arg = map.to_str().unwrap();
    let run = copy_with_images(
        src.host(),
        dst.host(),
        &upstream,
        &["--platform", "linux/arm64", "--image-map", map_arg],
    )
    .expect(0);
    assert!(
        run.stderr.contains("--platform") && run.stderr.contains("digest"),
        "{}",
        run.stderr
    );
    let at = format!("{}/airgap/quay/org/img:1.0", dst.host());
    let arm64 = &img.image.children[1];
    assert_eq!(upstream::digest(&at).as_deref(), Some(arm64.as_str()));
    assert!(
        !catalog(dst.host())
            .iter()
            .any(|r| r.starts_with("spectro-images/")),
        "the map was not followed"
    );
    assert_eq!(
        mirror_registries(&run.stdout),
        BTreeSet::from([format!("quay.io::{}/airgap/quay", dst.host())])
    );

    // A map entry for another registry is a usage error that names it; nothing is copied; a
    // dry run finds it too.
    fs::write(&map, "quay.io::elsewhere.example.com/quay\n").unwrap();
    let dst2 = Registry::plain();
    copy_with_images(
        src.host(),
        dst2.host(),
        &upstream,
        &["--image-map", map_arg, "--dry-run"],
    )
    .expect(2);
    let refused = copy_with_images(
        src.host(),
        dst2.host(),
        &upstream,
        &["--image-map", map_arg],
    )
    .expect(2);
    assert!(
        refused.stderr.contains("elsewhere.example.com"),
        "{}",
        refused.stderr
    );
    assert!(catalog(dst2.host()).is_empty());
}

/// An upstream serving an image blob that is not its digest (its storage changed under it):
/// the copy refuses it (exit 6) naming the image, and DST names neither the image nor the pack.
#[test]
fn an_upstream_blob_that_is_not_its_digest_fails_the_pack_and_names_nothing() {
    let upstream = Upstream::seed();
    let img = upstream.image("quay.io/org/img:1.0");
    let own_layer = img.image.layers.last().unwrap();
    assert_ne!(own_layer, &upstream.shared_layer);
    let data = upstream.registry.blob_data(own_layer);
    let mut bytes = fs::read(&data).unwrap();
    bytes[0] ^= 0xff;
    fs::write(&data, bytes).unwrap();

    let (src, dst) = published(&values_with_images(std::slice::from_ref(&img.reference)));
    let run = copy_with_images(src.host(), dst.host(), &upstream, &[]).expect(6);
    assert!(
        run.stderr.contains("quay.io/org/img:1.0") && run.stderr.contains("sha256"),
        "{}",
        run.stderr
    );
    assert!(tags(dst.host(), "spectro-images/quay.io/org/img").is_empty());
    assert!(upstream::digest(&format!("{}/{PACK}", dst.host())).is_none());
}

/// A layout (or bundle) is hostile until proven otherwise: an image it lists under a name
/// that is no place for that image (here, inside the packs' base path) is refused (exit 6)
/// when it is restored, and nothing lands there.
#[test]
fn a_source_naming_an_image_outside_its_place_is_refused() {
    let upstream = Upstream::seed();
    let src = Registry::plain();
    let tmp = TempDir::new().unwrap();
    let img = upstream.image("quay.io/org/img:1.0");
    let pack = pack_with(
        tmp.path(),
        &values_with_images(std::slice::from_ref(&img.reference)),
    );
    push_pack(&pack, src.host());
    let layout = tmp.path().join("layout");
    let layout_target = format!("oci:{}", layout.display());
    copy_with_images(src.host(), &layout_target, &upstream, &[]).expect(0);

    let index_path = layout.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&fs::read(&index_path).unwrap()).unwrap();
    let evil = "spectro-packs/archive/hello/org/img";
    let mut changed = 0;
    for entry in index["manifests"].as_array_mut().unwrap() {
        let annotations = &mut entry["annotations"];
        if annotations["io.packpub.image.source"] == img.reference.as_str() {
            annotations["io.packpub.image.repository"] = evil.into();
            annotations["org.opencontainers.image.ref.name"] = format!("{evil}:1.0").into();
            changed += 1;
        }
    }
    assert_eq!(changed, 1, "{index:#}");
    fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();

    let dst = Registry::plain();
    let mut cmd = packpub();
    cmd.args(["copy", &layout_target, dst.host(), "--dst-plain-http"]);
    let refused = Run::of(cmd.output().unwrap()).expect(6);
    assert!(refused.stderr.contains(evil), "{}", refused.stderr);
    assert!(
        !catalog(dst.host()).iter().any(|r| r.contains("org/img")),
        "{:?}",
        catalog(dst.host())
    );
}

/// An image registry that wants a login gets its own credential from the usual lookup
/// (docker's config here), never DST's: without one, the pack fails as an auth error (exit 4)
/// naming the image registry, and every token it was asked for was anonymous.
#[test]
fn each_image_registry_gets_its_own_credential_and_no_other() {
    use base64::Engine;
    const PASSWORD: &str = "upstream-Pa55";
    let upstream = Registry::token("alice", PASSWORD);
    let tmp = TempDir::new().unwrap();
    let layout_dir = tmp.path().join("layout");
    let mut layout = upstream::Layout::create(&layout_dir);
    let image = layout.single_platform("one", "amd64", &[], &[1 << 10], 7);
    upstream::skopeo(&[
        "copy",
        "-q",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
        "--dest-creds",
        &format!("alice:{PASSWORD}"),
        &format!("oci:{}:one", layout_dir.display()),
        &format!("docker://{}/org/one:1", upstream.host()),
    ]);
    let (src, dst) = published(&values_with_images(&["quay.io/org/one:1".to_string()]));
    let source = format!("quay.io=http://{}", upstream.host());
    let copy = |docker: Option<&Path>| {
        let mut cmd = packpub();
        cmd.args(["copy", src.host(), dst.host(), "--with-images"])
            .args([
                "--src-plain-http",
                "--dst-plain-http",
                "--image-source",
                &source,
            ])
            .env("PACKPUB_DST_USERNAME", "bob")
            .env("PACKPUB_DST_PASSWORD", "dst-Secret-9");
        if let Some(docker) = docker {
            cmd.env("DOCKER_CONFIG", docker);
        }
        Run::of(cmd.output().unwrap())
    };

    // The seeding's own logins are not packpub's.
    let seeding = upstream.token_requests().len();
    let refused = copy(None).expect(4);
    assert!(
        refused.stderr.contains(upstream.host()),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("dst-Secret-9"));
    let kinds: Vec<String> = upstream.token_requests()[seeding..]
        .iter()
        .map(|(_, kind, _)| kind.clone())
        .collect();
    assert!(
        !kinds.is_empty() && kinds.iter().all(|k| k == "anonymous"),
        "DST's credential went to the image registry: {kinds:?}"
    );
    assert!(tags(dst.host(), "spectro-images/quay.io/org/one").is_empty());

    let docker = tmp.path().join("docker");
    fs::create_dir_all(&docker).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("alice:{PASSWORD}"));
    let config = serde_json::json!({"auths": {upstream.host(): {"auth": auth}}});
    fs::write(docker.join("config.json"), config.to_string()).unwrap();
    copy(Some(&docker)).expect(0);
    let at = format!("{}/spectro-images/quay.io/org/one:1", dst.host());
    assert_eq!(upstream::digest(&at), Some(image.digest));
}

/// A pack whose one image (12 MiB of layers, by tag) is at an upstream, and the destination
/// behind a proxy taking uploads at about 2 MiB/s: six seconds or so of image bytes, more than
/// the socket buffers on the way hold (what is in them counts as sent).
struct SlowImage {
    upstream: Registry,
    src: Registry,
    dst: Registry,
    slow: Proxy,
    /// The image's blobs, in bytes.
    total: u64,
    digest: String,
    _dir: TempDir,
}

impl SlowImage {
    fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let layout_dir = dir.path().join("layout");
        let mut layout = Layout::create(&layout_dir);
        let big = layout.single_platform("big", "amd64", &[], &[6 << 20, 6 << 20], 60);
        let total = big
            .blobs
            .iter()
            .map(|d| fs::metadata(layout.blob_path(d)).unwrap().len())
            .sum();
        let upstream = Registry::plain();
        push_layout(
            &layout_dir,
            "big",
            &format!("{}/org/big:1", upstream.host()),
        );
        let reference = "quay.io/org/big:1".to_string();
        let (src, dst) = published(&values_with_images(std::slice::from_ref(&reference)));
        let slow = Proxy::start(
            dst.host().parse().unwrap(),
            Fault::Slow {
                bytes_per_sec: 2 << 20,
            },
        );
        Self {
            upstream,
            src,
            dst,
            slow,
            total,
            digest: big.digest,
            _dir: dir,
        }
    }

    /// `copy SRC SLOW_DST --with-images`'s arguments.
    fn args(&self) -> Vec<String> {
        let source = format!("quay.io=http://{}", self.upstream.host());
        [
            "copy",
            self.src.host(),
            &self.slow.addr().to_string(),
            "--with-images",
            "--src-plain-http",
            "--dst-plain-http",
            "--image-source",
            &source,
        ]
        .map(String::from)
        .to_vec()
    }

    fn assert_arrived(&self) {
        let at = format!("{}/{IMAGE_BASE}/quay.io/org/big:1", self.dst.host());
        assert_eq!(upstream::digest(&at).as_deref(), Some(self.digest.as_str()));
    }
}

/// "12.5 MiB" in MiB.
fn mebibytes(shown: &str) -> Option<f64> {
    let (n, unit) = shown.split_once(' ')?;
    let n: f64 = n.parse().ok()?;
    match unit {
        "MiB" => Some(n),
        "KiB" => Some(n / 1024.0),
        "B" => Some(n / f64::from(1 << 20)),
        _ => None,
    }
}

/// Off a terminal (a CI log), images that take a while say so every --progress-every: how many
/// of the pack's images are done and the bytes sent so far, which only grow.
#[test]
fn off_a_terminal_a_long_image_copy_says_how_far_it_is() {
    let slow = SlowImage::new();
    let copied = Run::of(
        packpub()
            .args(slow.args())
            .env("PACKPUB_PROGRESS_EVERY", "1s")
            .output()
            .unwrap(),
    )
    .expect(0);
    let lines: Vec<&str> = copied
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("hello 1.0.0 images: "))
        .collect();
    assert!(lines.len() >= 2, "{}", copied.stderr);
    let told: Vec<f64> = lines
        .iter()
        .map(|line| {
            line.strip_prefix("0 of 1 done, ")
                .and_then(|l| l.strip_suffix(" sent"))
                .and_then(mebibytes)
                .unwrap_or_else(|| panic!("{line:?}"))
        })
        .collect();
    let most = slow.total as f64 / f64::from(1 << 20) + 0.01;
    assert!(
        told.windows(2).all(|w| w[0] <= w[1]) && told.iter().all(|m| *m <= most),
        "{lines:?} (at most {most} MiB)"
    );
    assert!(
        told.first() < told.last(),
        "the bytes sent never grew: {lines:?}"
    );
    slow.assert_arrived();
}

/// On a terminal, the pack's images have a bar: images done of those listed, and the bytes
/// sent, growing while the upload lasts.
#[test]
fn on_a_terminal_the_images_bar_counts_images_and_bytes() {
    let slow = SlowImage::new();
    let args = slow.args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let term = Tmux::run(packpub(), Path::new(env!("CARGO_BIN_EXE_packpub")), &args);
    let mut told = Vec::new();
    let end = term.wait_for(std::time::Duration::from_secs(60), |screen| {
        let bar = screen
            .lines()
            .find(|l| l.starts_with("hello 1.0.0 images "));
        if let Some(sent) = bar
            .and_then(|l| l.split_once(" 0/1 ("))
            .and_then(|(_, rest)| rest.split_once(") "))
            .and_then(|(_, sent)| sent.trim().strip_suffix(" sent"))
            .and_then(mebibytes)
        {
            told.push(sent);
        }
        screen.contains("[exit ")
    });
    assert!(end.contains("[exit 0]"), "{end}");
    assert!(
        told.windows(2).all(|w| w[0] <= w[1]) && told.first() < told.last(),
        "{told:?}"
    );
    slow.assert_arrived();
}

/// A bundle lists every image under every name it is copied to, even where the manifest is
/// already in the bundle by digest: a Docker Hub single name pinned by digest (its two paths),
/// and a platform manifest pinned by digest beside the index that holds it. Restored, nothing
/// is "not in the source bundle" and both Docker Hub paths answer by digest.
#[test]
fn a_bundle_restores_digest_pinned_images_under_every_name() {
    let upstream = Upstream::seed();
    let nginx = upstream.image("nginx:1.25").image.clone();
    let img = upstream.image("quay.io/org/img:1.0").image.clone();
    let references = [
        format!("nginx@{}", nginx.digest),
        "quay.io/org/img:1.0".to_string(),
        format!("quay.io/org/img@{}", img.children[0]),
    ];
    let src = Registry::plain();
    let tmp = TempDir::new().unwrap();
    push_pack(
        &pack_with(tmp.path(), &values_with_images(&references)),
        src.host(),
    );
    let archive = format!("oci-archive:{}", tmp.path().join("site.tar").display());
    copy_with_images(src.host(), &archive, &upstream, &[]).expect(0);
    drop(upstream);

    let site = Registry::plain();
    let restored = run(&["copy", &archive, site.host(), "--dst-plain-http", "--json"]).expect(0);
    let outcomes = image_outcomes(&restored);
    assert_eq!(outcomes.len(), references.len(), "{outcomes:#?}");
    for outcome in &outcomes {
        assert_eq!(outcome["status"], "copied", "{outcome:#}");
    }
    for path in ["docker.io/nginx", "docker.io/library/nginx"] {
        let at = format!("{}/{IMAGE_BASE}/{path}@{}", site.host(), nginx.digest);
        assert_eq!(
            upstream::digest(&at).as_deref(),
            Some(nginx.digest.as_str()),
            "{at}"
        );
    }
}

/// The site's map read as the image-swap webhook reads it: `default` replaces the host of any
/// image without an entry, `docker.io/library` takes single names, an entry with no
/// destination leaves its host's images where they are (skipped, said, exit 0), and the pack
/// still travels.
#[test]
fn the_sites_map_is_read_as_the_webhook_reads_it() {
    let upstream = Upstream::seed();
    let references: Vec<String> = ["quay.io/org/img:1.0", "nginx:1.25", "nvcr.io/nvidia/tool:2"]
        .map(|r| upstream.image(r).reference.clone())
        .to_vec();
    let (src, dst) = published(&values_with_images(&references));
    let tmp = TempDir::new().unwrap();
    let map = tmp.path().join("mirrors.txt");
    let reg = dst.host();
    fs::write(
        &map,
        format!("default::{reg}/all\ndocker.io/library::{reg}/official\nnvcr.io::\n"),
    )
    .unwrap();
    let run = copy_with_images(
        src.host(),
        dst.host(),
        &upstream,
        &["--image-map", map.to_str().unwrap(), "--json"],
    )
    .expect(0);
    let digest_at = |path: &str| upstream::digest(&format!("{reg}/{path}"));
    let img = &upstream.image("quay.io/org/img:1.0").image;
    assert_eq!(
        digest_at("all/org/img:1.0").as_deref(),
        Some(img.digest.as_str())
    );
    let nginx = &upstream.image("nginx:1.25").image;
    for path in ["official/nginx:1.25", "all/library/nginx:1.25"] {
        assert_eq!(
            digest_at(path).as_deref(),
            Some(nginx.digest.as_str()),
            "{path}"
        );
    }
    assert!(
        !catalog(reg).iter().any(|r| r.contains("nvidia")),
        "an unswapped host's image was copied"
    );
    let skipped: Vec<serde_json::Value> = image_outcomes(&run)
        .into_iter()
        .filter(|o| o["status"] == "skipped")
        .collect();
    assert_eq!(skipped.len(), 1, "{skipped:#?}");
    assert_eq!(skipped[0]["reference"], "nvcr.io/nvidia/tool:2");
    assert!(run.stderr.contains("nvcr.io unswapped"), "{}", run.stderr);
    assert!(upstream::digest(&format!("{reg}/{PACK}")).is_some());
}

/// A layout (or bundle) that lost one of a pack's images is incomplete: `verify` says which
/// (exit 6), and a restore fails that pack (exit 6) rather than publish it without the image;
/// one that carries none of them (copied without --with-images) is fine and says so.
#[test]
fn a_source_missing_one_of_a_packs_images_is_incomplete() {
    let upstream = Upstream::seed();
    let src = Registry::plain();
    let tmp = TempDir::new().unwrap();
    let references = upstream.references();
    push_pack(
        &pack_with(tmp.path(), &values_with_images(&references)),
        src.host(),
    );
    let layout = tmp.path().join("layout");
    let layout_target = format!("oci:{}", layout.display());
    copy_with_images(src.host(), &layout_target, &upstream, &[]).expect(0);
    let verify = |target: &str, extra: &[&str]| {
        let mut cmd = packpub();
        cmd.args(["verify", "hello:1.0.0", "--registry", target])
            .args(extra);
        Run::of(cmd.output().unwrap())
    };
    let whole = verify(&layout_target, &[]).expect(0);
    let all_here = format!("all {} images it lists are here", references.len());
    assert!(whole.stderr.contains(&all_here), "{}", whole.stderr);

    let lost = upstream.image("quay.io/org/img:1.0").reference.clone();
    let index_path = layout.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&fs::read(&index_path).unwrap()).unwrap();
    index["manifests"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["annotations"]["io.packpub.image.source"] != lost.as_str());
    fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();

    let verified = verify(&layout_target, &["--json"]).expect(6);
    let pack = verified.json();
    assert_eq!(pack["kind"], "pack", "{pack:#}");
    let carried = pack["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "images carried")
        .cloned()
        .unwrap_or_else(|| panic!("{pack:#}"));
    assert_eq!(carried["ok"], false, "{carried:#}");
    assert!(
        carried["detail"].as_str().unwrap().contains(&lost),
        "{carried:#}"
    );

    let site = Registry::plain();
    let restored = run(&["copy", &layout_target, site.host(), "--dst-plain-http"]).expect(6);
    assert!(
        restored.stderr.contains("incomplete"),
        "{}",
        restored.stderr
    );
    assert!(upstream::digest(&format!("{}/{PACK}", site.host())).is_none());

    // Copied without --with-images: no image is here, which verify says and passes.
    let bare = tmp.path().join("bare");
    let bare_target = format!("oci:{}", bare.display());
    run(&["copy", src.host(), &bare_target, "--src-plain-http"]).expect(0);
    let plain = verify(&bare_target, &[]).expect(0);
    assert!(!plain.stderr.contains("images carried"), "{}", plain.stderr);
}
