//! Real CNCF Distribution registries (`docker-registry`, Debian package, 2.8) for push tests.
//!
//! Owns one registry process per value, its temp dir (config, certificates, storage) and, for
//! the token flavour, the JWT issuer it trusts. A real registry rather than a mock keeps the
//! tests honest about upload flows, digests and auth challenges.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tempfile::TempDir;

use super::{certs, free_port, missing_tool, run_tool};

/// Distribution matches `iss` in tokens against this.
const ISSUER: &str = "packpub-test-issuer";
/// Clients echo this back as `service`; Distribution matches it against `aud`.
const SERVICE: &str = "packpub-test-registry";

/// The refresh token (docker's `identitytoken`) the issuer trades for access tokens: what an
/// OAuth login (`az acr login`, `docker login` with a token) leaves in docker's config.
pub const REFRESH_TOKEN: &str = "packpub-test-refresh-token";

/// How the token issuer of [`Registry::token_with`] behaves beyond granting its user.
#[derive(Clone, Copy, Debug, Default)]
pub struct Issuing {
    /// The first this many tokens are already expired, past Distribution's 60-second leeway,
    /// as a token is that ran out during a long push.
    pub expired_first: u32,
}

/// A running registry; killed, and its storage removed, on drop.
pub struct Registry {
    child: Child,
    host: String,
    ca: Option<PathBuf>,
    issuer: Option<TokenIssuer>,
    dir: TempDir,
}

impl Registry {
    /// Plain HTTP, no auth.
    pub fn plain() -> Self {
        Self::start(tempfile::tempdir().unwrap(), false, "", None)
    }

    /// HTTPS with a fresh self-signed CA (see [`Registry::ca_pem_path`]) and htpasswd auth.
    pub fn tls_basic(user: &str, pass: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ca = certs::ca(d, "ca", "/CN=packpub test CA");
        certs::server_signed_by(d, &ca, "server");
        let htpasswd = run_tool("htpasswd", "apache2-utils", d, &["-Bbn", user, pass]);
        fs::write(d.join("htpasswd"), htpasswd).unwrap();
        let auth = format!(
            "  htpasswd:\n    realm: packpub-test\n    path: {}/htpasswd\n",
            d.display()
        );
        Self::start(dir, true, &auth, None)
    }

    /// Plain HTTP with Harbor-style `auth: token`, trusting an issuer this harness runs.
    ///
    /// The issuer grants `user` whatever it asks for; anonymous requests get a token with no
    /// access (so `/v2/` works but pushes are denied); wrong credentials get 401.
    pub fn token(user: &str, pass: &str) -> Self {
        Self::token_with(user, pass, Issuing::default())
    }

    /// [`Registry::token`] whose issuer also trades [`REFRESH_TOKEN`] for tokens (an OAuth2
    /// `grant_type=refresh_token` POST, as docker sends for an `identitytoken`) and behaves as
    /// `issuing` says.
    pub fn token_with(user: &str, pass: &str, issuing: Issuing) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        certs::ca(d, "issuer", "/CN=packpub test token issuer");
        let issuer = TokenIssuer::start(d, user, pass, issuing);
        let auth = format!(
            "  token:\n    realm: {realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    \
             rootcertbundle: {d}/issuer.pem\n",
            realm = issuer.realm,
            d = d.display()
        );
        Self::start(dir, false, &auth, Some(issuer))
    }

    /// `127.0.0.1:PORT`, as used in image references.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The token service's requests so far, in order: method and the grant's kind
    /// (`password` for a GET with Basic credentials, `anonymous`, `refresh_token`), and
    /// whether it granted a token.
    pub fn token_requests(&self) -> Vec<(String, String, bool)> {
        let issuer = self
            .issuer
            .as_ref()
            .expect("only Registry::token has an issuer");
        issuer.seen.lock().unwrap().clone()
    }

    /// The CA that signed the server certificate, for an HTTPS registry.
    pub fn ca_pem(&self) -> Option<&Path> {
        self.ca.as_deref()
    }

    /// The CA that signed the server certificate; panics unless made by [`Registry::tls_basic`].
    pub fn ca_pem_path(&self) -> &Path {
        self.ca
            .as_deref()
            .expect("only Registry::tls_basic has a CA")
    }

    /// Every manifest digest the registry stores for `repository`, tagged or not, read from its
    /// storage: the API has no way to list untagged manifests.
    pub fn manifest_revisions(&self, repository: &str) -> Vec<String> {
        let dir = self
            .dir
            .path()
            .join("storage/docker/registry/v2/repositories")
            .join(repository)
            .join("_manifests/revisions/sha256");
        let mut digests: Vec<String> = fs::read_dir(dir)
            .map(|rd| {
                rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        digests.sort();
        digests
    }

    /// Where the registry keeps blob `digest` (`sha256:…`) on disk: a test changes it there
    /// to make the registry serve bytes that are not their digest.
    pub fn blob_data(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// `auth` is the YAML body of the `auth:` section; `tls` expects `server.{pem,key}` in `dir`.
    fn start(dir: TempDir, tls: bool, auth: &str, issuer: Option<TokenIssuer>) -> Self {
        let d = dir.path();
        let host = format!("127.0.0.1:{}", free_port(Ipv4Addr::LOCALHOST.into()));
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\n\
             storage:\n  filesystem:\n    rootdirectory: {d}/storage\n\
             http:\n  addr: {host}\n",
            d = d.display()
        );
        if tls {
            let d = d.display();
            config +=
                &format!("  tls:\n    certificate: {d}/server.pem\n    key: {d}/server.key\n");
        }
        if !auth.is_empty() {
            config += &format!("auth:\n{auth}");
        }
        fs::write(d.join("config.yml"), config).unwrap();
        let log = File::create(d.join("registry.log")).unwrap();
        // Debian names the binary docker-registry; Homebrew's `distribution` names it registry.
        let program =
            std::env::var("PACKPUB_TEST_REGISTRY_BIN").unwrap_or("docker-registry".into());
        let mut cmd = Command::new(&program);
        cmd.arg("serve").arg(d.join("config.yml"));
        // REGISTRY_* variables override config.yml; a caller's must not leak in.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("REGISTRY_") {
                cmd.env_remove(key);
            }
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| missing_tool(&program, "docker-registry", &e));
        let ca = tls.then(|| d.join("ca.pem"));
        let mut registry = Registry {
            child,
            host,
            ca,
            issuer,
            dir,
        };
        registry.wait_ready();
        registry
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("docker-registry exited with {status}:\n{}", self.log());
            }
            if answers(&self.host) {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "docker-registry did not answer on {} within 15s:\n{}",
            self.host,
            self.log()
        );
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether an HTTP server answers `GET /v2/`. Plain HTTP is sent even to TLS listeners: Go's
/// TLS server answers it with a 400, which proves it is serving without needing a TLS client.
fn answers(host: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(host) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut head = [0; 5];
    stream.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n").is_ok()
        && stream.read_exact(&mut head).is_ok()
        && &head == b"HTTP/"
}

/// The token service a Harbor-style registry sends clients to (Docker registry token spec).
struct TokenIssuer {
    realm: String,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    seen: Arc<Mutex<Vec<(String, String, bool)>>>,
}

impl TokenIssuer {
    /// Signs with `issuer.key`; `issuer.pem` (in `dir`) is both the `x5c` chain and the
    /// registry's trust root.
    fn start(dir: &Path, user: &str, pass: &str, issuing: Issuing) -> Self {
        let key = EncodingKey::from_rsa_pem(&fs::read(dir.join("issuer.key")).unwrap()).unwrap();
        // A PEM body is the standard-base64 DER that `x5c` wants.
        let cert: String = fs::read_to_string(dir.join("issuer.pem"))
            .unwrap()
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let addr: SocketAddr = server.server_addr().to_ip().unwrap();
        let credentials = format!("{user}:{pass}");
        let seen: Arc<Mutex<Vec<(String, String, bool)>>> = Arc::new(Mutex::new(Vec::new()));
        let thread = thread::spawn({
            let (server, seen) = (Arc::clone(&server), Arc::clone(&seen));
            move || {
                while let Ok(mut request) = server.recv() {
                    let expired = seen.lock().unwrap().iter().filter(|s| s.2).count()
                        < issuing.expired_first as usize;
                    let (status, body, grant) =
                        issue(&mut request, &credentials, &key, &cert, expired);
                    seen.lock()
                        .unwrap()
                        .push((request.method().to_string(), grant, status == 200));
                    let header = "Content-Type: application/json".parse::<tiny_http::Header>();
                    let response = tiny_http::Response::from_string(body)
                        .with_status_code(status)
                        .with_header(header.unwrap());
                    let _ = request.respond(response);
                }
            }
        });
        TokenIssuer {
            realm: format!("http://{addr}/token"),
            server,
            thread: Some(thread),
            seen,
        }
    }
}

impl Drop for TokenIssuer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers one realm request: status, JSON body and the kind of grant asked for. A GET
/// carries Basic credentials (or none: anonymous); a POST is an OAuth2 form that must trade
/// [`REFRESH_TOKEN`]. An `expired` token is past its end by more than the registry's leeway.
fn issue(
    request: &mut tiny_http::Request,
    credentials: &str,
    key: &EncodingKey,
    cert: &str,
    expired: bool,
) -> (u16, String, String) {
    let refused = |grant: &str| {
        (
            401,
            r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#.to_string(),
            grant.to_string(),
        )
    };
    let user = credentials.split(':').next().unwrap_or_default();
    let (subject, grant, query) = if request.method() == &tiny_http::Method::Post {
        let mut form = String::new();
        let _ = request.as_reader().take(64 << 10).read_to_string(&mut form);
        let field = |name: &str| {
            form_urlencoded::parse(form.as_bytes())
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.into_owned())
        };
        let grant = field("grant_type").unwrap_or_default();
        if grant != "refresh_token"
            || field("client_id").is_none_or(|c| c.is_empty())
            || field("refresh_token").as_deref() != Some(REFRESH_TOKEN)
        {
            return refused(&grant);
        }
        (Some(user), grant, form)
    } else {
        let basic = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("Authorization"))
            .map(|h| h.value.as_str().strip_prefix("Basic ").unwrap_or_default())
            .map(|b64| STANDARD.decode(b64.trim()).unwrap_or_default());
        let query = request
            .url()
            .split_once('?')
            .map_or("", |(_, q)| q)
            .to_string();
        match basic {
            None => (None, "anonymous".to_string(), query),
            Some(given) if given == credentials.as_bytes() => {
                (Some(user), "password".to_string(), query)
            }
            Some(_) => return refused("password"),
        }
    };
    let mut service = String::new();
    let mut access = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match &*name {
            "service" => service = value.into_owned(),
            // `type:name:actions`; names may hold a `:port`, so split at both ends.
            "scope" if subject.is_some() => {
                if let Some((kind, rest)) = value.split_once(':')
                    && let Some((name, actions)) = rest.rsplit_once(':')
                {
                    let actions: Vec<&str> = actions.split(',').collect();
                    access.push(json!({ "type": kind, "name": name, "actions": actions }));
                }
            }
            _ => {}
        }
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let start = if expired {
        now.as_secs() - 600
    } else {
        now.as_secs()
    };
    let claims = json!({
        "iss": ISSUER,
        "sub": subject.unwrap_or_default(),
        "aud": service,
        "exp": start + 300,
        "nbf": start,
        "iat": start,
        "jti": now.as_nanos().to_string(),
        "access": access,
    });
    let mut header = Header::new(Algorithm::RS256);
    header.x5c = Some(vec![cert.to_owned()]);
    let token = jsonwebtoken::encode(&header, &claims, key).unwrap();
    let body = json!({ "token": token, "access_token": token, "expires_in": 300 });
    (200, body.to_string(), grant)
}
