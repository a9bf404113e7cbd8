//! The ECR and Harbor stand-ins (`support::fronts`) tested on their own, with curl, against
//! what ../shared/registries.md says the real ones answer: a stand-in that drifted would let
//! packpub pass against a registry no user has.

use crate::support::fronts::{ECR_ACCOUNT, Front};
use std::process::Command;

/// curl against `front` (its CA trusted, ECR's name resolved to loopback) as `user`
/// (`name:password`): status and body.
fn curl(front: &Front, user: Option<&str>, args: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(front.ca_file())
        .args(["-o", "-", "-w", "\n%{http_code}"])
        .args(user.map(|user| ["-u", user]).into_iter().flatten())
        .args(args)
        .output()
        .expect("curl is installed (tests/run.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    (status.to_string(), body.to_string())
}

/// Starts an upload at `uploads` (`.../blobs/uploads/`): its location, with its query.
fn start_upload(front: &Front, uploads: &str, login: &str) -> String {
    let out = Command::new("curl")
        .args(["-sS", "-D", "-", "-o", "/dev/null", "--cacert"])
        .arg(front.ca_file())
        .args(["-X", "POST", uploads, "-u", login])
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&out.stdout);
    let location = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("Location: ")
                .or(l.strip_prefix("location: "))
        })
        .unwrap_or_else(|| panic!("no upload location in:\n{head}"))
        .trim()
        .to_string();
    assert!(location.contains('?'), "{location}");
    location
}

fn ecr_login() -> String {
    format!("AWS:{ECR_ACCOUNT}-auth-token")
}

#[test]
fn the_ecr_stand_in_answers_as_ecr_does() {
    let front = Front::ecr(false);
    let base = format!("https://{}", front.host());
    let login = ecr_login();
    let auth = Some(login.as_str());

    // A login is needed, and it is AWS:<token>.
    assert_eq!(curl(&front, None, &[&format!("{base}/v2/")]).0, "401");
    assert_eq!(curl(&front, auth, &[&format!("{base}/v2/")]).0, "200");
    // No catalog.
    let (status, body) = curl(&front, auth, &[&format!("{base}/v2/_catalog")]);
    assert_eq!(
        (status.as_str(), body.contains("UNSUPPORTED")),
        ("405", true)
    );

    // An upload to a repository moto does not have: the connection is cut, no answer.
    let uploads = format!("{base}/v2/team/spectro-packs/archive/hello/blobs/uploads/");
    let (status, _) = curl(&front, auth, &["-X", "POST", &uploads]);
    assert_eq!(status, "000");
    assert!(
        front
            .requests()
            .iter()
            .any(|r| r["method"] == "POST" && r["path"] == uploads[base.len()..]),
        "the front saw the upload it cut"
    );

    front.create_repository("team/spectro-packs/archive/hello", true);
    let location = start_upload(&front, &uploads, &login);
    let tmp = tempfile::tempdir().unwrap();
    let small = tmp.path().join("small");
    std::fs::write(&small, vec![1u8; 1024]).unwrap();
    let patch = |range: &str| {
        curl(
            &front,
            auth,
            &[
                "-X",
                "PATCH",
                "-H",
                &format!("Content-Range: {range}"),
                "-H",
                "Content-Type: application/octet-stream",
                "--data-binary",
                &format!("@{}", small.display()),
                &location,
            ],
        )
        .0
    };
    // An intermediate PATCH gets 201, and one after a part under 5 MiB is refused.
    assert_eq!(patch("0-1023"), "201");
    assert_eq!(patch("1024-2047"), "400");

    // A manifest with artifactType is refused; one in ORAS 1.0's shape is stored and tagged.
    let manifests = format!("{base}/v2/team/spectro-packs/archive/hello/manifests/1.0.0");
    let put = |manifest: &str| {
        curl(
            &front,
            auth,
            &[
                "-X",
                "PUT",
                "-H",
                "Content-Type: application/vnd.oci.image.manifest.v1+json",
                "--data-binary",
                manifest,
                &manifests,
            ],
        )
    };
    let empty = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    let shaped = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.unknown.config.v1+json","digest":"{empty}","size":2}},"layers":[]}}"#
    );
    let with_type = shaped.replacen('{', r#"{"artifactType":"application/x.pack","#, 1);
    assert_eq!(put(&with_type).0, "405");
    // The config blob must exist upstream for Distribution to take the manifest.
    let config = start_upload(&front, &uploads, &login);
    let (status, said) = curl(
        &front,
        auth,
        &[
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
            "{}",
            &format!("{config}&digest={empty}"),
        ],
    );
    assert_eq!(status, "201", "{said}");
    assert_eq!(put(&shaped).0, "201");
    let repositories = front.repositories();
    assert_eq!(
        repositories["team/spectro-packs/archive/hello"]["tags"],
        serde_json::json!(["1.0.0"])
    );
    // IMMUTABLE: the same tag with other content is refused.
    let other = shaped.replace(r#""layers":[]"#, r#""layers":[],"annotations":{"x":"y"}"#);
    assert_eq!(put(&other).0, "400");

    // moto answers GetAuthorizationToken with the password the front takes.
    let out = Command::new("curl")
        .args(["-sS", "-X", "POST", &front.aws_endpoint()])
        .args(["-H", "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"])
        .args(["-H", "Content-Type: application/x-amz-json-1.1"])
        .args(["-H", "Authorization: AWS4-HMAC-SHA256 Credential=AKID/20261202/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=0"])
        .args(["--data", "{}"])
        .output()
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = answer["authorizationData"][0]["authorizationToken"]
        .as_str()
        .unwrap();
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), login);
}

#[test]
fn the_harbor_stand_in_refuses_the_catalog_and_pages_the_project_api() {
    let front = Front::harbor("robot$proj+ci", "r0bot");
    let base = format!("https://{}", front.host());
    let auth = Some("robot$proj+ci:r0bot");
    assert_eq!(curl(&front, None, &[&format!("{base}/v2/")]).0, "401");
    let (status, body) = curl(&front, auth, &[&format!("{base}/v2/_catalog")]);
    assert_eq!(status, "401");
    assert!(body.contains("unauthorized to list catalog"), "{body}");
    let api =
        |page: u32| format!("{base}/api/v2.0/projects/proj/repositories?page={page}&page_size=1");
    let (status, body) = curl(&front, auth, &[&api(1)]);
    assert_eq!((status.as_str(), body.as_str()), ("200", "[]"));

    // What a robot pushes is listed by the project API, a page at a time.
    let mut push = crate::support::packpub();
    push.args([
        "push",
        crate::support::example().to_str().unwrap(),
        "--registry",
    ])
    .arg(format!("{}/proj", front.host()))
    .arg("--ca-file")
    .arg(front.ca_file())
    .env("PACKPUB_USERNAME", "robot$proj+ci")
    .env("PACKPUB_PASSWORD", "r0bot");
    crate::support::Run::of(push.output().unwrap()).expect(0);
    let mut names = Vec::new();
    for page in 1..=2 {
        let (status, body) = curl(&front, auth, &["-i", &api(page)]);
        assert_eq!(status, "200");
        assert!(body.contains("X-Total-Count: 2"), "{body}");
        assert_eq!(body.contains(r#"rel="next""#), page == 1, "{body}");
        let json = body.split("\r\n\r\n").nth(1).unwrap();
        let items: serde_json::Value = serde_json::from_str(json).unwrap();
        names.push(items[0]["name"].as_str().unwrap().to_string());
    }
    assert_eq!(
        names,
        [
            "proj/spectro-packs/archive",
            "proj/spectro-packs/archive/hello"
        ]
    );
}
