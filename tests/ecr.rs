//! ECR as Palette users run it (issue 23): packpub against the ECR stand-in
//! (`support::fronts`, a real Distribution registry behind a front answering as ECR does, moto
//! as AWS's API), with nothing but what a CI job has: AWS keys in the environment, or a web
//! identity token file and a role.

use crate::support::fronts::{ECR_ACCOUNT, ECR_REGION, Front};
use crate::support::{Run, edit_pack_json, example_in, packpub, write_mixed};
use std::path::Path;
use std::process::Command;

const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// The password inside moto's registry token, which must never be shown.
fn token_password() -> String {
    format!("{ECR_ACCOUNT}-auth-token")
}

/// packpub with the AWS SDK pointed at the front's moto and no AWS identity at all: no
/// profile files, no instance metadata. Tests add the identity they are about.
fn aws_packpub(front: &Front) -> Command {
    let mut cmd = packpub();
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("AWS_ENDPOINT_URL", front.aws_endpoint())
        .env("AWS_REGION", ECR_REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env("PACKPUB_CA_FILE", front.ca_file());
    cmd
}

/// Access keys in the environment, as `aws-actions/configure-aws-credentials` leaves them.
fn with_keys(front: &Front) -> Command {
    let mut cmd = aws_packpub(front);
    cmd.env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    cmd
}

/// A role and a web identity token file, as EKS (IRSA) or a GitHub OIDC step gives them
/// (moto's STS does not check the token's signature).
fn with_web_identity(front: &Front, dir: &Path) -> Command {
    let token = dir.join("oidc-token");
    std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmNpIn0.c2ln").unwrap();
    let mut cmd = aws_packpub(front);
    cmd.env(
        "AWS_ROLE_ARN",
        format!("arn:aws:iam::{ECR_ACCOUNT}:role/gha"),
    )
    .env("AWS_WEB_IDENTITY_TOKEN_FILE", token)
    .env("AWS_ROLE_SESSION_NAME", "ci");
    cmd
}

fn run(mut cmd: Command, args: &[&str]) -> Run {
    Run::of(cmd.args(args).output().unwrap())
}

/// What a user must never see: the secret key and the registry password.
fn assert_no_secret(run: &Run) {
    for secret in [SECRET_KEY.to_string(), token_password()] {
        assert!(
            !run.stdout.contains(&secret) && !run.stderr.contains(&secret),
            "a secret was shown:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
}

#[test]
fn a_200_mb_pack_goes_up_with_aws_keys_then_web_identity_and_reads_back() {
    // With the Range bug of 2026: the upload must go by what it sent.
    let front = Front::ecr(true);
    let tmp = tempfile::tempdir().unwrap();
    let dir = example_in(tmp.path(), "big-1.0.0");
    edit_pack_json(&dir, |doc| doc["name"] = "big".into());
    std::fs::create_dir(dir.join("blobs")).unwrap();
    for i in 0..2 {
        write_mixed(&dir.join(format!("blobs/part{i}.bin")), 100 << 20, i);
    }
    let folder = dir.to_str().unwrap();

    for (project, cmd) in [
        ("team", with_keys(&front)),
        ("ci", with_web_identity(&front, tmp.path())),
    ] {
        let target = format!("{}/{project}", front.host());
        let started = std::time::Instant::now();
        let pushed = run(cmd, &["push", folder, "--registry", &target, "-v"]).expect(0);
        eprintln!(
            "200 MB folder pushed to the ECR stand-in ({project}) in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        assert_no_secret(&pushed);
        assert!(
            pushed.stderr.contains(&format!(
                "created the ECR repository {target}/spectro-packs/archive/big"
            )),
            "{}",
            pushed.stderr
        );
        let repositories = front.repositories();
        assert_eq!(
            repositories[format!("{project}/spectro-packs/archive/big")]["tags"],
            serde_json::json!(["1.0.0"]),
            "{repositories}"
        );
        assert!(
            repositories[format!("{project}/spectro-packs/archive")].is_object(),
            "the base path's repository was created too: {repositories}"
        );
    }

    // The archive went in PATCH pieces of at least 5 MiB, answered 201.
    let patches = front
        .requests()
        .iter()
        .filter(|r| r["method"] == "PATCH")
        .count();
    eprintln!("{patches} PATCH requests");
    assert!(patches > 4, "{patches} PATCH requests");

    // Read back through ECR's API: listed without a catalog, verified, copied.
    let target = format!("{}/team", front.host());
    let listed = run(with_keys(&front), &["ls", "--registry", &target, "--json"]).expect(0);
    assert_eq!(
        listed.json(),
        serde_json::json!([{"name": "big", "versions": ["1.0.0"]}])
    );
    run(
        with_keys(&front),
        &["verify", "big:1.0.0", "--registry", &target],
    )
    .expect(0);
    let layout = tmp.path().join("copied");
    let copied = run(
        with_keys(&front),
        &[
            "copy",
            &target,
            &format!("oci:{}", layout.display()),
            "--src-ca-file",
            front.ca_file().to_str().unwrap(),
        ],
    )
    .expect(0);
    assert!(
        copied.stderr.contains("big:1.0.0") || copied.stdout.contains("big"),
        "{}",
        copied.stderr
    );
    run(
        packpub(),
        &["ls", "--registry", &format!("oci:{}", layout.display())],
    )
    .expect(0);
}

#[test]
fn without_create_repository_the_permission_and_the_commands_are_named() {
    let front = Front::ecr(false);
    front.deny("CreateRepository");
    let tmp = tempfile::tempdir().unwrap();
    let target = format!("{}/team", front.host());
    let refused = run(
        with_keys(&front),
        &[
            "push",
            crate::support::example().to_str().unwrap(),
            "--registry",
            &target,
            "--image-tag-mutability",
            "IMMUTABLE",
        ],
    )
    .expect(4);
    assert_no_secret(&refused);
    for said in [
        "ecr:CreateRepository",
        "AccessDeniedException",
        "aws ecr create-repository --repository-name team/spectro-packs/archive --region us-east-1 --image-tag-mutability IMMUTABLE",
        "aws ecr create-repository --repository-name team/spectro-packs/archive/hello --region us-east-1 --image-tag-mutability IMMUTABLE",
    ] {
        assert!(refused.stderr.contains(said), "{said}:\n{}", refused.stderr);
    }
    assert!(
        !front.requests().iter().any(
            |r| r["method"] == "POST" && r["path"].as_str().unwrap().contains("/blobs/uploads")
        ),
        "nothing was uploaded"
    );

    // Once someone who may has made them, the same identity pushes.
    front.create_repository("team/spectro-packs/archive", false);
    front.create_repository("team/spectro-packs/archive/hello", false);
    run(
        with_keys(&front),
        &[
            "push",
            crate::support::example().to_str().unwrap(),
            "--registry",
            &target,
        ],
    )
    .expect(0);
    drop(tmp);
}

#[test]
fn no_aws_identity_is_an_auth_error_that_says_where_packpub_looked() {
    let front = Front::ecr(false);
    let refused = run(
        aws_packpub(&front),
        &["ls", "--registry", &format!("{}/team", front.host())],
    )
    .expect(4);
    assert!(
        refused.stderr.contains("AWS_ACCESS_KEY_ID") && refused.stderr.contains("packpub login"),
        "{}",
        refused.stderr
    );
}

#[test]
fn a_cut_upload_to_a_missing_repository_says_what_happened() {
    // Logged in as before (docker's config), with no AWS identity to make repositories.
    let front = Front::ecr(false);
    let docker = tempfile::tempdir().unwrap();
    use base64::Engine;
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("AWS:{}", token_password()));
    std::fs::write(
        docker.path().join("config.json"),
        serde_json::json!({"auths": {front.host(): {"auth": auth}}}).to_string(),
    )
    .unwrap();
    let mut cmd = aws_packpub(&front);
    cmd.env("DOCKER_CONFIG", docker.path())
        .env("PACKPUB_RETRIES", "0");
    let cut = run(
        cmd,
        &[
            "push",
            crate::support::example().to_str().unwrap(),
            "--registry",
            &format!("{}/team", front.host()),
        ],
    );
    assert_ne!(cut.code, 0);
    assert!(
        cut.stderr.contains("ECR closed the connection")
            && cut
                .stderr
                .contains("aws ecr create-repository --repository-name team/spectro-packs/archive"),
        "{}",
        cut.stderr
    );
}

#[test]
fn sync_registers_an_ecr_registry_then_finds_it_by_its_ecr_paths() {
    use crate::support::palette::{ADMIN_KEY, Options, PALETTE_EXTERNAL_ID, Palette};
    let front = Front::ecr(false);
    let palette = Palette::start(Options {
        aws_endpoint: Some(front.aws_endpoint()),
        ..Options::default()
    });
    let target = format!("{}/team", front.host());
    let example = crate::support::example();
    run(
        with_keys(&front),
        &["push", example.to_str().unwrap(), "--registry", &target],
    )
    .expect(0);
    let sync = |extra: &[&str]| {
        let mut cmd = with_keys(&front);
        cmd.env("SPECTROCLOUD_HOST", palette.url())
            .env("SPECTROCLOUD_APIKEY", ADMIN_KEY)
            .args(["sync", "hello:1.0.0", "--registry", &target, "--json"])
            .args(extra);
        Run::of(cmd.output().unwrap())
    };

    // Access keys for Palette come from variables of their own, and are checked first.
    let mut dry = with_keys(&front);
    dry.env("SPECTROCLOUD_HOST", palette.url())
        .env("SPECTROCLOUD_APIKEY", ADMIN_KEY)
        .env("PACKPUB_ECR_ACCESS_KEY_ID", "AKIAPALETTEREADER")
        .env("PACKPUB_ECR_SECRET_ACCESS_KEY", "palette-reader-secret")
        .args(["sync", "--registry", &target, "--register", "--dry-run"])
        .arg("--send-password-in-clear-text");
    let dry = Run::of(dry.output().unwrap()).expect(0);
    assert!(
        dry.stderr.contains("dry run: Palette can log in to"),
        "{}",
        dry.stderr
    );
    assert!(!dry.stderr.contains("palette-reader-secret"));
    assert!(palette.registries().is_empty());

    // A role Palette assumes, with the external ID Palette gives.
    let role = format!("arn:aws:iam::{ECR_ACCOUNT}:role/palette-reader");
    let registered = sync(&["--register", "--ecr-role-arn", &role]).expect(0);
    assert_eq!(
        registered.json()["packs"][0]["visible"],
        true,
        "{}",
        registered.stdout
    );
    let registries = palette.registries();
    assert_eq!(registries.len(), 1);
    let spec = &registries[0]["spec"];
    assert_eq!(spec["endpoint"], front.host());
    assert_eq!(spec["baseContentPath"], "team");
    assert_eq!(spec["defaultRegion"], ECR_REGION);
    assert_eq!(spec["credentials"]["credentialType"], "sts");
    assert_eq!(spec["credentials"]["sts"]["arn"], role.as_str());
    assert_eq!(
        spec["credentials"]["sts"]["externalId"],
        PALETTE_EXTERNAL_ID
    );

    // Found again by the summary's registryType, synced through its /ecr paths.
    sync(&[]).expect(0);
    assert_eq!(palette.registries().len(), 1);
    let uid = registries[0]["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        palette
            .requests()
            .iter()
            .any(|r| r.method == "POST" && r.path() == format!("/v1/registries/oci/{uid}/ecr/sync")),
        "synced through the ECR path"
    );
}

/// `push --with-images` to ECR creates every image repository as it creates the pack's, and
/// the images arrive there (read back through the ECR front's registry).
#[test]
fn with_images_every_image_repository_is_created_on_ecr() {
    use crate::support::upstream::{Upstream, values_with_images};
    let upstream = Upstream::seed();
    let front = Front::ecr(false);
    let tmp = tempfile::tempdir().unwrap();
    let pack = crate::support::example_in(tmp.path(), "hello-1.0.0");
    std::fs::write(
        pack.join("values.yaml"),
        values_with_images(&upstream.references()),
    )
    .unwrap();
    let target = format!("{}/team", front.host());
    let mut cmd = with_keys(&front);
    cmd.args(["push", pack.to_str().unwrap(), "--registry", &target])
        .args(["--with-images", "--json"])
        .args(upstream.image_source_args());
    let pushed = run(cmd, &[]).expect(0);
    assert_no_secret(&pushed);
    let created = front.repositories();
    let images = &pushed.json()[0]["images"];
    assert!(!images.as_array().unwrap().is_empty(), "{}", pushed.stdout);
    for image in images.as_array().unwrap() {
        assert_eq!(image["status"], "copied", "{image}");
        let destination = image["destination"].as_str().unwrap();
        let repository = destination
            .strip_prefix(&format!("{}/", front.host()))
            .unwrap()
            .split(['@', ':'])
            .next()
            .unwrap();
        assert!(
            created[repository].is_object(),
            "{repository} was not created: {created}"
        );
        assert!(
            repository.starts_with("team/spectro-images/"),
            "{repository}"
        );
    }
}
