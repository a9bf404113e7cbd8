//! A registry as a [`Store`]: a thin layer over `oci-client` that adds what publishing needs
//! and the crate leaves out: transport options from the CLI, the project prefix every
//! repository lives under, bounded retries with backoff and jitter for transient failures,
//! streaming a blob from a file (the crate's `push_blob` holds it in memory), and errors
//! translated by [`super::errors`].
//!
//! Everything a registry says is treated as hostile. The crate reads every body whole, with no
//! limit and no way to set one, so manifests and listings are read here instead
//! ([`Registry::get`], with the crate's token): a manifest over [`MAX_MANIFEST_SIZE`] is refused
//! (by its Content-Length before any byte is read, else once the read passes it), a listing
//! stops at [`MAX_LISTING`] bytes and [`MAX_PAGES`] pages, an error body is cut at
//! [`MAX_ERROR_BODY`]. What the crate still reads itself is a token service's answer and the
//! error body of a blob or manifest write. A blob must be exactly the size its manifest
//! declares. The crate also sends the password to whatever token service (realm) the registry
//! names; [`Registry::check_realm`] reads the challenge first and refuses a realm that would
//! carry the password in clear text.

mod challenge;

use super::errors::{self, is_not_found, is_transient, translate};
use super::manifest::{self, MANIFEST_MEDIA_TYPE, MAX_MANIFEST_SIZE};
use super::store::{self, Blob, ManifestRef, Progress, Store};
use crate::credentials::Credential;
use crate::digest::Digest;
use crate::exit::{Code, Failure};
use crate::interrupt;
use base64::Engine;
use futures_util::TryStreamExt;
use http::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, LINK, WWW_AUTHENTICATE};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use reqwest::Url;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Every page of one listing together (tags or catalog): what a registry can make packpub hold.
/// A million 60-byte names fit.
const MAX_LISTING: u64 = 64 * 1024 * 1024;
/// Pages of one listing: 10,000 pages of the default 100 are a million names, and a registry
/// that names a next page forever is stopped here.
const MAX_PAGES: usize = 10_000;
/// What is read of an error answer: far more than any registry's error document.
const MAX_ERROR_BODY: u64 = 16 * 1024;

/// Sees a line meant for `-v`.
pub type Note = Arc<dyn Fn(&str) + Send + Sync>;

/// How to reach a registry; the same flags for every command.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    pub plain_http: bool,
    pub insecure: bool,
    pub ca_file: Option<PathBuf>,
    /// Attempts per request after the first, for transient failures.
    pub retries: u32,
}

impl From<&crate::cli::TransportArgs> for Transport {
    fn from(args: &crate::cli::TransportArgs) -> Self {
        Self {
            plain_http: args.plain_http,
            insecure: args.insecure,
            ca_file: args.ca_file.clone(),
            retries: args.retries,
        }
    }
}

pub struct Registry {
    client: Client,
    /// For the reads made here, with a cap; set up like `client`.
    http: reqwest::Client,
    /// `scheme://host/`, the host as `client` resolves it (docker.io is index.docker.io).
    base: Url,
    host: String,
    /// `PROJECT/...` every repository lives under; empty for none.
    prefix: String,
    auth: RegistryAuth,
    plain_http: bool,
    retries: u32,
    /// Set once the registry's challenge passed [`Self::check_realm`].
    realm_checked: tokio::sync::OnceCell<()>,
    /// The `Authorization` of the reads made here, per repository.
    authorizations: Mutex<HashMap<String, Option<HeaderValue>>>,
    note: Note,
}

/// What the registry answered to a read made here.
struct Fetched {
    headers: HeaderMap,
    /// `None` when the body is over the cap it was read with.
    body: Option<Vec<u8>>,
}

/// One page of a listing.
struct Page {
    entries: Vec<String>,
    /// The next page the registry names in its `Link` header.
    next: Option<Url>,
    /// The body's size, counted against [`MAX_LISTING`].
    bytes: u64,
}

/// Retry pacing: 250 ms doubling, capped at 8 s, each wait jittered by up to half.
const BACKOFF_START: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(8);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const READ_TIMEOUT: Duration = Duration::from_secs(120);
const USER_AGENT: &str = concat!("packpub/", env!("CARGO_PKG_VERSION"));

impl Registry {
    pub fn new(
        host: &str,
        prefix: &str,
        transport: &Transport,
        credential: Option<&Credential>,
    ) -> anyhow::Result<Self> {
        let mut config = oci_client::client::ClientConfig {
            protocol: if transport.plain_http {
                oci_client::client::ClientProtocol::Http
            } else {
                oci_client::client::ClientProtocol::Https
            },
            accept_invalid_certificates: transport.insecure,
            use_monolithic_push: true,
            connect_timeout: Some(CONNECT_TIMEOUT),
            read_timeout: Some(READ_TIMEOUT),
            user_agent: USER_AGENT,
            ..Default::default()
        };
        let mut http = reqwest::Client::builder()
            .danger_accept_invalid_certs(transport.insecure)
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(USER_AGENT);
        // `Client::new` would fall back to a default client on a bad config, silently dropping
        // the CA; `try_from` says what is wrong.
        let setup = |err: &dyn std::fmt::Display| {
            Failure::err(
                Code::Usage,
                format!(
                    "cannot set up the connection to {host}: {err} (is --ca-file a PEM certificate?)"
                ),
            )
        };
        if let Some(ca) = &transport.ca_file {
            let data = read_ca(ca)?;
            let certificate = reqwest::Certificate::from_pem(&data).map_err(|e| setup(&e))?;
            http = http.tls_certs_merge([certificate]);
            config
                .extra_root_certificates
                .push(oci_client::client::Certificate {
                    encoding: oci_client::client::CertificateEncoding::Pem,
                    data,
                });
        }
        let auth = match credential {
            None => RegistryAuth::Anonymous,
            Some(Credential::Basic { username, password }) => {
                RegistryAuth::Basic(username.clone(), password.expose().to_string())
            }
            Some(Credential::IdentityToken(token)) => {
                RegistryAuth::Bearer(token.expose().to_string())
            }
        };
        let client = Client::try_from(config).map_err(|e| setup(&e))?;
        let http = http.build().map_err(|e| setup(&e))?;
        let resolved = Reference::with_tag(host.to_string(), "packpub".into(), "latest".into());
        let scheme = if transport.plain_http {
            "http"
        } else {
            "https"
        };
        let base = Url::parse(&format!("{scheme}://{}/", resolved.resolve_registry()))
            .map_err(|e| setup(&e))?;
        Ok(Self {
            client,
            http,
            base,
            host: host.to_string(),
            prefix: prefix.to_string(),
            auth,
            plain_http: transport.plain_http,
            retries: transport.retries,
            realm_checked: tokio::sync::OnceCell::new(),
            authorizations: Mutex::new(HashMap::new()),
            note: Arc::new(|_| {}),
        })
    }

    /// Where lines for `-v` go (the token service the password goes to).
    pub fn with_notes(mut self, note: Note) -> Self {
        self.note = note;
        self
    }

    /// The registry's full repository name for `repository` below the target.
    fn full(&self, repository: &str) -> String {
        if self.prefix.is_empty() {
            repository.to_string()
        } else {
            format!("{}/{repository}", self.prefix)
        }
    }

    fn reference(&self, repository: &str, reference: ManifestRef<'_>) -> Reference {
        let (host, repository) = (self.host.clone(), self.full(repository));
        match reference {
            ManifestRef::Tag(tag) => Reference::with_tag(host, repository, tag.to_string()),
            ManifestRef::Digest(digest) => {
                Reference::with_digest(host, repository, digest.to_string())
            }
        }
    }

    /// A reference into `repository` for calls that address no manifest (blobs, tags).
    fn repository_reference(&self, repository: &str) -> Reference {
        self.reference(repository, ManifestRef::Tag("latest"))
    }

    /// `path` (`v2/...`) on the registry.
    fn url(&self, path: &str) -> anyhow::Result<Url> {
        self.base
            .join(path)
            .map_err(|err| anyhow::anyhow!("cannot address {path} on {}: {err}", self.host))
    }

    /// Proves the credential works: reads a manifest, which takes the token flow where the
    /// registry asks for Bearer (a wrong password fails at the token service) and which a
    /// registry with Basic auth refuses (401) for a wrong password. A missing manifest is fine.
    pub async fn check_login(&self, repository: &str) -> anyhow::Result<()> {
        self.manifest(repository, ManifestRef::Tag("latest"))
            .await
            .map(drop)
    }

    /// Before the password goes anywhere: `oci-client` sends it to whatever token service
    /// (realm) the registry's `WWW-Authenticate: Bearer` challenge names, so the realm must be
    /// HTTPS, or plain HTTP only when the registry itself is (`--plain-http`): an `http://`
    /// realm behind an `https://` registry would carry the password in clear text (exit 4). A
    /// realm on another host is normal (Docker Hub's is auth.docker.io) and is named under `-v`.
    /// Read once, from the answer to `GET /v2/` that the crate's token flow reads too; every
    /// challenge in it is checked, not only the first, and one that cannot be read is refused.
    /// The crate asks `/v2/` again for itself: a registry answering the two differently on
    /// purpose gets past this, but such a registry could name any `https://` realm anyway; the
    /// check is for the registry that is merely misconfigured (an `http://` external URL behind
    /// a TLS proxy) and the network that reads what it carries.
    async fn check_realm(&self) -> anyhow::Result<()> {
        if !matches!(self.auth, RegistryAuth::Basic(..)) {
            return Ok(());
        }
        self.realm_checked
            .get_or_try_init(|| async {
                let url = self.url("v2/")?;
                let response = self
                    .retry_raw(|| async { Ok(self.http.get(url.clone()).send().await?) })
                    .await
                    .map_err(|err| translate(&self.host, "", err, "reach the registry"))?;
                for value in response.headers().get_all(WWW_AUTHENTICATE) {
                    let challenges = value
                        .to_str()
                        .map_err(|_| "it holds bytes that are not ASCII".to_string())
                        .and_then(challenge::parse)
                        .map_err(|why| {
                            Failure::err(
                                Code::Auth,
                                format!(
                                    "cannot read the login challenge of {} (WWW-Authenticate: {why}); \
                                     packpub sends the password to no token service it cannot check",
                                    self.host
                                ),
                            )
                        })?;
                    for realm in challenges
                        .iter()
                        .filter(|c| c.is("Bearer"))
                        .filter_map(|c| c.param("realm"))
                    {
                        let realm = realm_url(&self.host, realm, self.plain_http)?;
                        (self.note)(&format!(
                            "the password for {} goes to its token service on {}",
                            self.host,
                            host_of(&realm)
                        ));
                    }
                }
                anyhow::Ok(())
            })
            .await
            .map(drop)
    }

    /// The `Authorization` of reads in `reference`'s repository: the token `oci-client` gets
    /// where the registry hands out tokens, else the user's Basic credential, else none. Kept
    /// per repository; `renew` replaces one the registry stopped taking (an expired token).
    /// Also says whether it was kept from before.
    async fn authorization(
        &self,
        reference: &Reference,
        renew: bool,
    ) -> Result<(Option<HeaderValue>, bool), OciDistributionError> {
        let repository = reference.repository().to_string();
        let kept = || {
            self.authorizations
                .lock()
                .unwrap_or_else(|e| e.into_inner())
        };
        if !renew && let Some(found) = kept().get(&repository) {
            return Ok((found.clone(), found.is_some()));
        }
        let token = self
            .client
            .auth(reference, &self.auth, RegistryOperation::Pull)
            .await?;
        let text = match (token, &self.auth) {
            (Some(token), _) => Some(format!("Bearer {token}")),
            (None, RegistryAuth::Basic(user, password)) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
            (None, _) => None,
        };
        let value = text
            .map(|text| HeaderValue::from_str(&text))
            .transpose()
            .map_err(|_| {
                OciDistributionError::AuthenticationFailure(
                    "the token service sent a token that is not a valid header value".into(),
                )
            })?
            .map(|mut value| {
                value.set_sensitive(true);
                value
            });
        kept().insert(repository, value.clone());
        Ok((value, false))
    }

    /// GETs `url` from the registry with the credential of `reference`'s repository, reading
    /// at most `cap` bytes of the answer.
    async fn get(
        &self,
        reference: &Reference,
        url: &Url,
        accept: &str,
        cap: u64,
    ) -> Result<Fetched, OciDistributionError> {
        let (mut authorization, mut kept) = self.authorization(reference, false).await?;
        loop {
            let mut request = self.http.get(url.clone()).header(ACCEPT, accept);
            if let Some(value) = &authorization {
                request = request.header(AUTHORIZATION, value.clone());
            }
            let mut response = request.send().await?;
            let status = response.status();
            if status == reqwest::StatusCode::UNAUTHORIZED && kept {
                (authorization, kept) = self.authorization(reference, true).await?;
                continue;
            }
            if status != reqwest::StatusCode::OK {
                let (body, _) = read_prefix(&mut response, MAX_ERROR_BODY).await?;
                return Err(errors::from_status(status.as_u16(), &body, url.as_str()));
            }
            let headers = response.headers().clone();
            let body = if response.content_length().is_some_and(|n| n > cap) {
                None
            } else {
                let (body, whole) = read_prefix(&mut response, cap).await?;
                whole.then_some(body)
            };
            return Ok(Fetched { headers, body });
        }
    }

    /// Streams a file to the registry in one monolithic PUT. Each attempt re-opens the file, so
    /// a cut connection restarts the upload from the first byte; `progress` sees every chunk.
    async fn push_file_blob(
        &self,
        reference: &Reference,
        path: &Path,
        size: u64,
        digest: &str,
        progress: Progress,
    ) -> anyhow::Result<()> {
        self.retry("upload the pack", reference, || async {
            progress(0);
            let file = tokio::fs::File::open(path).await?;
            let sent = std::sync::atomic::AtomicU64::new(0);
            let progress = progress.clone();
            let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024)
                .map_err(OciDistributionError::IoError)
                .and_then(move |chunk| {
                    let total = sent
                        .fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::Relaxed)
                        + chunk.len() as u64;
                    let interrupted = interrupt::check().map_err(OciDistributionError::IoError);
                    async move { interrupted.map(|()| (chunk, total)) }
                })
                .map_ok(move |(chunk, total)| {
                    progress(total);
                    chunk
                });
            self.client
                .push_blob_stream(reference, stream, digest, Some(size))
                .await
        })
        .await
        .map(drop)
    }

    /// Runs `op` until it succeeds, fails for good, or the retries run out; translates the
    /// error. The realm is checked before the first request.
    async fn retry<T, F, Fut>(&self, what: &str, reference: &Reference, op: F) -> anyhow::Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, OciDistributionError>>,
    {
        self.check_realm().await?;
        self.retry_raw(op)
            .await
            .map_err(|err| translate(&self.host, reference.repository(), err, what))
    }

    async fn retry_raw<T, F, Fut>(&self, op: F) -> Result<T, OciDistributionError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, OciDistributionError>>,
    {
        let mut delay = BACKOFF_START;
        let mut attempt = 0;
        loop {
            match op().await {
                Err(err)
                    if attempt < self.retries && is_transient(&err) && !interrupt::requested() =>
                {
                    attempt += 1;
                    tokio::time::sleep(jitter(delay)).await;
                    delay = (delay * 2).min(BACKOFF_MAX);
                }
                other => return other,
            }
        }
    }

    /// Like [`Self::retry`], but a "not found" answer is `Ok(None)`.
    async fn retry_found<T, F, Fut>(
        &self,
        what: &str,
        reference: &Reference,
        op: F,
    ) -> anyhow::Result<Option<T>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, OciDistributionError>>,
    {
        self.check_realm().await?;
        match self.retry_raw(op).await {
            Ok(value) => Ok(Some(value)),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(translate(&self.host, reference.repository(), err, what)),
        }
    }

    /// Every entry of a listing (`field` of the JSON answers: `tags` or `repositories`) at
    /// `first`, as `reference`'s repository may read it; a missing repository lists nothing.
    async fn list(
        &self,
        what: &str,
        reference: &Reference,
        first: Url,
        field: &str,
        page: usize,
    ) -> anyhow::Result<Vec<String>> {
        paginate(what, &first, page, |url, budget| async move {
            let found = self
                .retry_found(what, reference, || {
                    self.get(reference, &url, "application/json", budget)
                })
                .await?;
            let Some(fetched) = found else {
                return Ok(Page {
                    entries: Vec::new(),
                    next: None,
                    bytes: 0,
                });
            };
            let failed = |why: String| Failure::err(Code::Unexpected, format!("{what}: {why}"));
            let body = fetched.body.ok_or_else(|| {
                failed(format!(
                    "the registry's answers passed {} MiB; stopped reading (a listing that large is broken or hostile)",
                    MAX_LISTING >> 20
                ))
            })?;
            let doc: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| failed(format!("the registry's answer is not JSON ({e})")))?;
            let entries = match &doc[field] {
                serde_json::Value::Null => Some(Vec::new()),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|item| item.as_str().map(str::to_string))
                    .collect(),
                _ => None,
            }
            .ok_or_else(|| failed(format!("the registry's \"{field}\" is not a list of names")))?;
            let next = next_link(&fetched.headers, &url).map_err(failed)?;
            Ok(Page {
                entries,
                next,
                bytes: body.len() as u64,
            })
        })
        .await
    }
}

#[async_trait::async_trait]
impl Store for Registry {
    fn locate(&self, repository: &str) -> String {
        format!("{}/{}", self.host, self.full(repository))
    }

    fn needs_base_path(&self) -> bool {
        true
    }

    async fn authorize_write(&self, repository: &str) -> anyhow::Result<()> {
        let reference = self.repository_reference(repository);
        self.retry("authenticate", &reference, || {
            self.client
                .auth(&reference, &self.auth, RegistryOperation::Push)
        })
        .await
        .map(drop)
    }

    async fn manifest(
        &self,
        repository: &str,
        reference: ManifestRef<'_>,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        let shown = self.show(repository, reference);
        let path = match reference {
            ManifestRef::Tag(tag) => tag.to_string(),
            ManifestRef::Digest(digest) => digest.to_string(),
        };
        let target = self.reference(repository, reference);
        let url = self.url(&format!("v2/{}/manifests/{path}", self.full(repository)))?;
        let found = self
            .retry_found("read the manifest", &target, || {
                self.get(&target, &url, MANIFEST_MEDIA_TYPE, MAX_MANIFEST_SIZE)
            })
            .await?;
        let Some(fetched) = found else {
            return Ok(None);
        };
        let bytes = fetched
            .body
            .ok_or_else(|| manifest::too_large(&format!("the manifest of {shown}")))?;
        let named = match reference {
            ManifestRef::Digest(digest) => Some(*digest),
            // The registry's own word for the digest, where it gives one (not every one does).
            ManifestRef::Tag(_) => fetched
                .headers
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .and_then(|text| Digest::parse(text).ok()),
        };
        if let Some(named) = named {
            store::expect_digest(&shown, &bytes, &named)?;
        }
        Ok(Some(bytes))
    }

    async fn repository_exists(&self, repository: &str) -> anyhow::Result<bool> {
        let reference = self.repository_reference(repository);
        let url = page_url(
            &self.url(&format!("v2/{}/tags/list", self.full(repository)))?,
            1,
            None,
        );
        // Only the status matters; the body is not read.
        let found = self
            .retry_found("list the repository", &reference, || {
                self.get(&reference, &url, "application/json", 0)
            })
            .await?;
        Ok(found.is_some())
    }

    async fn blob_exists(&self, repository: &str, digest: &Digest) -> anyhow::Result<bool> {
        let reference = self.repository_reference(repository);
        let digest = digest.to_string();
        self.retry("check for a blob", &reference, || {
            self.client.blob_exists(&reference, &digest)
        })
        .await
    }

    async fn fetch_blob(
        &self,
        repository: &str,
        digest: &Digest,
        expected_size: u64,
        dest: &mut tokio::fs::File,
    ) -> anyhow::Result<u64> {
        let reference = self.reference(repository, ManifestRef::Digest(digest));
        let text = digest.to_string();
        let download = self
            .retry("download the pack", &reference, || {
                self.client.pull_blob_stream(&reference, text.as_str())
            })
            .await?;
        if let Some(announced) = download.content_length
            && announced != expected_size
        {
            return Err(Failure::err(
                Code::VerifyFailed,
                format!(
                    "{} announces {announced} bytes for {digest}, but the manifest declares \
                     {expected_size}; nothing was read",
                    self.host
                ),
            ));
        }
        let source = tokio_util::io::StreamReader::new(download.stream);
        store::copy_blob(source, dest, digest, expected_size, &self.host).await
    }

    /// The catalog, less the repositories outside the target's project.
    async fn repositories(&self, page: usize) -> anyhow::Result<Vec<String>> {
        let probe = self.repository_reference("packpub");
        let what = format!("list the catalog of {}", self.host);
        let all = self
            .list(
                &what,
                &probe,
                self.url("v2/_catalog")?,
                "repositories",
                page,
            )
            .await?;
        let prefix = format!("{}/", self.prefix);
        Ok(all
            .into_iter()
            .filter_map(|repo| {
                if self.prefix.is_empty() {
                    Some(repo)
                } else {
                    repo.strip_prefix(&prefix).map(str::to_string)
                }
            })
            .collect())
    }

    async fn tags(&self, repository: &str, page: usize) -> anyhow::Result<Vec<String>> {
        let reference = self.repository_reference(repository);
        let what = format!("list the tags of {}", self.locate(repository));
        let first = self.url(&format!("v2/{}/tags/list", self.full(repository)))?;
        self.list(&what, &reference, first, "tags", page).await
    }

    async fn put_blob(
        &self,
        repository: &str,
        digest: &Digest,
        blob: Blob<'_>,
        progress: Progress,
    ) -> anyhow::Result<()> {
        let reference = self.repository_reference(repository);
        let text = digest.to_string();
        match blob {
            Blob::Bytes(data) => self
                .retry("upload a blob", &reference, || {
                    self.client.push_blob(&reference, data.to_vec(), &text)
                })
                .await
                .map(drop),
            Blob::File { path, size } => {
                self.push_file_blob(&reference, path, size, &text, progress)
                    .await
            }
        }
    }

    async fn put_manifest(
        &self,
        repository: &str,
        reference: ManifestRef<'_>,
        manifest: &[u8],
    ) -> anyhow::Result<()> {
        let reference = self.reference(repository, reference);
        let content_type: http::HeaderValue =
            MANIFEST_MEDIA_TYPE.parse().expect("a valid header value");
        self.retry("write the manifest", &reference, || {
            self.client
                .push_manifest_raw(&reference, manifest.to_vec(), content_type.clone())
        })
        .await
        .map(drop)
    }
}

/// The most of a `--ca-file` read: a whole system bundle is a few hundred KB.
const MAX_CA_FILE: u64 = 4 << 20;

/// The PEM file `--ca-file` names, checked to hold a certificate.
fn read_ca(ca: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let mut data = Vec::new();
    std::fs::File::open(ca)
        .and_then(|file| file.take(MAX_CA_FILE + 1).read_to_end(&mut data))
        .map_err(|err| {
            Failure::err(
                Code::Usage,
                format!("cannot read the CA file {}: {err}", ca.display()),
            )
        })?;
    if data.len() as u64 > MAX_CA_FILE {
        return Err(Failure::err(
            Code::Usage,
            format!(
                "the CA file {} is larger than {MAX_CA_FILE} bytes; pass the registry's CA alone",
                ca.display()
            ),
        ));
    }
    if !String::from_utf8_lossy(&data).contains("-----BEGIN CERTIFICATE-----") {
        return Err(Failure::err(
            Code::Usage,
            format!(
                "the CA file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                ca.display()
            ),
        ));
    }
    Ok(data)
}

/// The token service `realm` (from `host`'s challenge) as a URL the password may go to, or why
/// not (exit 4).
fn realm_url(host: &str, realm: &str, plain_http: bool) -> anyhow::Result<Url> {
    let refuse = |why: &str| {
        Failure::err(
            Code::Auth,
            format!("{host} sends logins to its token service {realm} {why}"),
        )
    };
    let url = Url::parse(realm).map_err(|e| {
        refuse(&format!(
            "({e}: not a URL); packpub sends the password to no token service it cannot check"
        ))
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if plain_http => Ok(url),
        "http" => Err(refuse(
            "over plain HTTP, while the registry itself is HTTPS: the password would cross the \
             network in clear text, so packpub did not send it. Ask the registry's administrator \
             to serve the token service over HTTPS (Harbor: an https:// external_url)",
        )),
        _ => Err(refuse(
            "(neither https:// nor http://); packpub did not send the password",
        )),
    }
}

/// `host[:port]` of a URL, for messages.
fn host_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// Reads `response`'s body up to `cap` bytes; says whether that was all of it.
async fn read_prefix(
    response: &mut reqwest::Response,
    cap: u64,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = usize::try_from(cap).unwrap_or(usize::MAX) - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, false));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, true))
}

/// `first` asking for `n` entries after `last`.
fn page_url(first: &Url, n: usize, last: Option<&str>) -> Url {
    let mut url = first.clone();
    let mut query = url.query_pairs_mut();
    query.clear().append_pair("n", &n.to_string());
    if let Some(last) = last {
        query.append_pair("last", last);
    }
    drop(query);
    url
}

/// The `rel="next"` target of the `Link` headers (RFC 8288), resolved against `url`. It must be
/// on the registry itself: a link elsewhere would take the credentials along.
fn next_link(headers: &HeaderMap, url: &Url) -> Result<Option<Url>, String> {
    for value in headers.get_all(LINK) {
        let text = value
            .to_str()
            .map_err(|_| "its Link header holds bytes that are not ASCII".to_string())?;
        for link in text.split('<').skip(1) {
            let Some((target, params)) = link.split_once('>') else {
                return Err("its Link header has a `<` without a `>`".into());
            };
            let is_next = params.split(';').any(|param| {
                param.split_once('=').is_some_and(|(name, value)| {
                    name.trim().eq_ignore_ascii_case("rel")
                        && value
                            .trim()
                            .trim_matches('"')
                            .split_ascii_whitespace()
                            .any(|rel| rel.eq_ignore_ascii_case("next"))
                })
            });
            if !is_next {
                continue;
            }
            let next = url
                .join(target.trim())
                .map_err(|e| format!("its Link header names no URL ({e})"))?;
            if next.origin() != url.origin() {
                return Err(format!(
                    "its Link header sends the next page to another server ({}); not followed",
                    host_of(&next)
                ));
            }
            return Ok(Some(next));
        }
    }
    Ok(None)
}

/// Collects a listing page by page from `first`: the page the `Link` header names, else, after
/// a full page, `n`/`last` past its last entry. A registry that ignores `n` (Distribution 2.8
/// does for tags) answers everything at once, and one that ignores `last`, or names a page
/// already read, repeats itself: both end the walk. One that never stops naming new pages is
/// stopped after [`MAX_PAGES`], and the listing's bytes may not pass [`MAX_LISTING`]: `fetch`
/// gets the bytes left.
async fn paginate<F, Fut>(
    what: &str,
    first: &Url,
    page: usize,
    mut fetch: F,
) -> anyhow::Result<Vec<String>>
where
    F: FnMut(Url, u64) -> Fut,
    Fut: Future<Output = anyhow::Result<Page>>,
{
    let mut all = Vec::new();
    let mut seen = HashSet::new();
    let mut requested = HashSet::new();
    let mut budget = MAX_LISTING;
    let mut url = page_url(first, page, None);
    for _ in 0..MAX_PAGES {
        requested.insert(url.clone());
        let batch = fetch(url, budget).await?;
        budget = budget.saturating_sub(batch.bytes);
        if batch.entries.first().is_some_and(|e| seen.contains(e)) {
            return Ok(all);
        }
        let after_full = (batch.entries.len() >= page)
            .then(|| batch.entries.last().map(|l| page_url(first, page, Some(l))))
            .flatten();
        for entry in batch.entries {
            if seen.insert(entry.clone()) {
                all.push(entry);
            }
        }
        match batch.next.or(after_full) {
            Some(next) if !requested.contains(&next) => url = next,
            _ => return Ok(all),
        }
    }
    Err(Failure::err(
        Code::Unexpected,
        format!(
            "{what}: the registry still named a next page after {MAX_PAGES} pages; stopped there \
             (a listing that never ends is a broken or hostile registry)"
        ),
    ))
}

/// Up to half of `delay` added at random, so concurrent retries spread out.
fn jitter(delay: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    delay + delay.mul_f64(f64::from(nanos % 1000) / 2000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn links(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(LINK, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn realms_only_over_https_unless_the_registry_is_plain_http() {
        let code = |result: anyhow::Result<Url>| {
            crate::exit::failure_of(&result.unwrap_err()).unwrap().code
        };
        assert!(realm_url("r.io", "https://auth.docker.io/token", false).is_ok());
        assert!(realm_url("r.io", "http://r.io/token", true).is_ok());
        let refused = realm_url("r.io", "http://r.io/token", false).unwrap_err();
        assert!(
            format!("{refused}").starts_with(
                "r.io sends logins to its token service http://r.io/token over plain HTTP, while \
                 the registry itself is HTTPS"
            ),
            "{refused}"
        );
        assert_eq!(
            code(realm_url("r.io", "http://r.io/token", false)),
            Code::Auth
        );
        assert_eq!(
            code(realm_url("r.io", "ftp://r.io/token", true)),
            Code::Auth
        );
        assert_eq!(code(realm_url("r.io", "/token", true)), Code::Auth);
    }

    #[test]
    fn next_links_stay_on_the_registry() {
        let page = url("https://r.io/v2/_catalog?n=2");
        assert_eq!(
            next_link(&links(&[r#"</v2/_catalog?last=b&n=2>; rel="next""#]), &page),
            Ok(Some(url("https://r.io/v2/_catalog?last=b&n=2")))
        );
        assert_eq!(
            next_link(
                &links(&[
                    r#"<https://r.io/p?x=1,2>; rel="prev", <https://r.io/n>; rel="first next""#
                ]),
                &page
            ),
            Ok(Some(url("https://r.io/n")))
        );
        assert_eq!(
            next_link(&links(&["<https://r.io/p>; rel=prev"]), &page),
            Ok(None)
        );
        assert_eq!(next_link(&HeaderMap::new(), &page), Ok(None));
        for elsewhere in [
            "<https://evil.io/v2/_catalog>; rel=next",
            "<http://r.io/v2/x>; rel=next",
        ] {
            let why = next_link(&links(&[elsewhere]), &page).unwrap_err();
            assert!(why.contains("another server"), "{why}");
        }
        assert!(next_link(&links(&["<https://r.io/n; rel=next"]), &page).is_err());
    }

    fn run<T>(future: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn paging_follows_links_then_last_and_stops_on_repeats() {
        let first = url("https://r.io/v2/x/tags/list");
        let asked = Mutex::new(Vec::new());
        let all = run(paginate("list", &first, 2, |at, _| {
            asked.lock().unwrap().push(at.to_string());
            let page = match at.query() {
                Some("n=2") => (vec!["a", "b"], Some("/v2/x/tags/list?n=2&last=b")),
                Some("n=2&last=b") => (vec!["c", "d"], None),
                Some("n=2&last=d") => (vec!["c", "d"], None),
                other => panic!("{other:?}"),
            };
            async move {
                Ok(Page {
                    entries: page.0.into_iter().map(String::from).collect(),
                    next: page.1.map(|next| url("https://r.io").join(next).unwrap()),
                    bytes: 10,
                })
            }
        }))
        .unwrap();
        assert_eq!(all, ["a", "b", "c", "d"]);
        assert_eq!(
            asked.into_inner().unwrap(),
            [
                "https://r.io/v2/x/tags/list?n=2",
                "https://r.io/v2/x/tags/list?n=2&last=b",
                "https://r.io/v2/x/tags/list?n=2&last=d",
            ]
        );
    }

    #[test]
    fn paging_stops_at_a_link_to_itself_and_after_max_pages() {
        let first = url("https://r.io/v2/_catalog");
        let looping = run(paginate("list", &first, 100, |at, _| async move {
            Ok(Page {
                entries: vec![at.to_string()],
                next: Some(at),
                bytes: 1,
            })
        }))
        .unwrap();
        assert_eq!(looping.len(), 1);

        let calls = std::sync::atomic::AtomicUsize::new(0);
        let endless = run(paginate("listing the catalog", &first, 1, |_, budget| {
            let n = calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            assert_eq!(budget, MAX_LISTING - n as u64);
            async move {
                Ok(Page {
                    entries: vec![format!("repo-{n}")],
                    next: Some(url(&format!("https://r.io/v2/_catalog?last=repo-{n}"))),
                    bytes: 1,
                })
            }
        }))
        .unwrap_err();
        assert_eq!(calls.into_inner(), MAX_PAGES);
        assert_eq!(
            endless.to_string(),
            "listing the catalog: the registry still named a next page after 10000 pages; \
             stopped there (a listing that never ends is a broken or hostile registry)"
        );
    }
}
