//! A thin layer over `oci-client` that adds what publishing needs and the crate leaves out:
//! transport options from the CLI, bounded retries with backoff and jitter for transient
//! failures, streaming a blob from a file (the crate's `push_blob` holds it in memory), and
//! registry errors translated into the user's terms and packpub's exit codes.

use crate::credentials::Credential;
use crate::exit::{Code, Failure};
use crate::interrupt;
use crate::registry::manifest::{ImageSpec, MANIFEST_MEDIA_TYPE, base_manifest};
use anyhow::Context;
use futures_util::TryStreamExt;
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to reach a registry; the same flags for every command.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    pub plain_http: bool,
    pub insecure: bool,
    pub ca_file: Option<PathBuf>,
    /// Attempts per request after the first, for transient failures.
    pub retries: u32,
}

pub struct Registry {
    client: Client,
    host: String,
    auth: RegistryAuth,
    retries: u32,
}

/// Retry pacing: 250 ms doubling, capped at 8 s, each wait jittered by up to half.
const BACKOFF_START: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(8);

impl Registry {
    pub fn new(
        host: &str,
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
            connect_timeout: Some(Duration::from_secs(15)),
            read_timeout: Some(Duration::from_secs(120)),
            user_agent: concat!("packpub/", env!("CARGO_PKG_VERSION")),
            ..Default::default()
        };
        if let Some(ca) = &transport.ca_file {
            let data = std::fs::read(ca).map_err(|err| {
                Failure::err(
                    Code::Usage,
                    format!("cannot read the CA file {}: {err}", ca.display()),
                )
            })?;
            if !String::from_utf8_lossy(&data).contains("-----BEGIN CERTIFICATE-----") {
                return Err(Failure::err(
                    Code::Usage,
                    format!(
                        "the CA file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                        ca.display()
                    ),
                ));
            }
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
        // `Client::new` would fall back to a default client on a bad config, silently dropping
        // the CA; `try_from` says what is wrong.
        let client = Client::try_from(config).map_err(|err| {
            Failure::err(Code::Usage, format!("cannot set up the connection to {host}: {err} (is --ca-file a PEM certificate?)"))
        })?;
        Ok(Self {
            client,
            host: host.to_string(),
            auth,
            retries: transport.retries,
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn reference(&self, repository: &str, tag: &str) -> Reference {
        Reference::with_tag(self.host.clone(), repository.to_string(), tag.to_string())
    }

    pub fn digest_reference(&self, repository: &str, digest: &str) -> Reference {
        Reference::with_digest(
            self.host.clone(),
            repository.to_string(),
            digest.to_string(),
        )
    }

    /// Authenticates for `operation` on `reference`'s repository (the token flow when the
    /// registry answers with a Bearer challenge). Wrong credentials end here with exit 4.
    pub async fn authenticate(
        &self,
        reference: &Reference,
        operation: RegistryOperation,
    ) -> anyhow::Result<()> {
        self.retry("authenticate", reference, || {
            self.client.auth(reference, &self.auth, operation)
        })
        .await
        .map(drop)
    }

    /// Proves the credential works: authenticates for pull (the token flow where the registry
    /// asks for Bearer) and reads a manifest, which a registry with Basic auth refuses (401) for
    /// a wrong password. A missing manifest is fine.
    pub async fn check_login(&self, repository: &str) -> anyhow::Result<()> {
        let reference = self.reference(repository, "latest");
        self.authenticate(&reference, RegistryOperation::Pull)
            .await?;
        self.manifest(&reference).await.map(drop)
    }

    /// The manifest at `reference`, or `None` when the tag (or repository) does not exist.
    pub async fn manifest(
        &self,
        reference: &Reference,
    ) -> anyhow::Result<Option<(Vec<u8>, String)>> {
        let accepted = [MANIFEST_MEDIA_TYPE];
        let result = self
            .retry_raw(|| {
                self.client
                    .pull_manifest_raw(reference, &self.auth, &accepted)
            })
            .await;
        match result {
            Ok((bytes, digest)) => Ok(Some((bytes.to_vec(), digest))),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(translate(
                &self.host,
                reference.repository(),
                err,
                "read the manifest",
            )),
        }
    }

    /// Whether the repository exists (has a tag list the registry will show).
    pub async fn repository_exists(&self, reference: &Reference) -> anyhow::Result<bool> {
        match self
            .retry_raw(|| self.client.list_tags(reference, &self.auth, Some(1), None))
            .await
        {
            Ok(_) => Ok(true),
            Err(err) if is_not_found(&err) => Ok(false),
            Err(err) => Err(translate(
                &self.host,
                reference.repository(),
                err,
                "list the repository",
            )),
        }
    }

    /// Streams the blob `digest` into `dest`, returning the bytes written. The caller checks the
    /// digest of what it wrote.
    pub async fn download_blob(
        &self,
        reference: &Reference,
        digest: &str,
        dest: &mut tokio::fs::File,
    ) -> anyhow::Result<u64> {
        use futures_util::StreamExt;
        use tokio::io::AsyncWriteExt;
        let mut stream = self
            .retry("download the pack", reference, || {
                self.client.pull_blob_stream(reference, digest)
            })
            .await?;
        let mut written = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.with_context(|| format!("the download of {digest} broke off"))?;
            interrupt::check()?;
            dest.write_all(&chunk).await?;
            written += chunk.len() as u64;
        }
        dest.flush().await?;
        Ok(written)
    }

    /// Every repository in the catalog, `page` at a time (the registry's `n`/`last` paging).
    pub async fn catalog(&self, page: usize) -> anyhow::Result<Vec<String>> {
        let probe = &self.reference("packpub", "latest");
        paginate(page, |last| async move {
            self.retry("list the catalog", probe, || {
                self.client
                    .catalog(probe, &self.auth, Some(page), last.as_deref())
            })
            .await
            .map(|r| r.repositories)
        })
        .await
    }

    /// Every tag of `reference`'s repository, `page` at a time; empty when it does not exist.
    pub async fn tags(&self, reference: &Reference, page: usize) -> anyhow::Result<Vec<String>> {
        paginate(page, |last| async move {
            let result = self
                .retry_raw(|| {
                    self.client
                        .list_tags(reference, &self.auth, Some(page), last.as_deref())
                })
                .await;
            match result {
                Ok(response) => Ok(response.tags),
                Err(err) if is_not_found(&err) => Ok(vec![]),
                Err(err) => Err(translate(
                    &self.host,
                    reference.repository(),
                    err,
                    "list tags",
                )),
            }
        })
        .await
    }

    /// Whether `[PROJECT/]spectro-packs/archive` exists: it has tags, or holds the empty manifest
    /// packpub (or any ORAS-shaped tool using the same fixed time) pushes to create it.
    pub async fn base_path_exists(&self, base_repo: &str) -> anyhow::Result<bool> {
        if self
            .repository_exists(&self.reference(base_repo, "latest"))
            .await?
        {
            return Ok(true);
        }
        for spec in [ImageSpec::V1_0, ImageSpec::V1_1] {
            let digest = crate::digest::Digest::of(&base_manifest(spec)).to_string();
            if self
                .manifest(&self.digest_reference(base_repo, &digest))
                .await?
                .is_some()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub async fn blob_exists(&self, reference: &Reference, digest: &str) -> anyhow::Result<bool> {
        self.retry("check for a blob", reference, || {
            self.client.blob_exists(reference, digest)
        })
        .await
    }

    /// Uploads bytes held in memory (the 2-byte config).
    pub async fn push_small_blob(
        &self,
        reference: &Reference,
        data: &[u8],
        digest: &str,
    ) -> anyhow::Result<()> {
        self.retry("upload a blob", reference, || {
            self.client.push_blob(reference, data.to_vec(), digest)
        })
        .await
        .map(drop)
    }

    /// Streams a file to the registry in one monolithic PUT. Each attempt re-opens the file, so
    /// a cut connection restarts the upload from the first byte; `progress` sees every chunk.
    pub async fn push_file_blob(
        &self,
        reference: &Reference,
        path: &Path,
        size: u64,
        digest: &str,
        progress: std::sync::Arc<dyn Fn(u64) + Send + Sync>,
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

    pub async fn push_manifest(
        &self,
        reference: &Reference,
        manifest: &[u8],
    ) -> anyhow::Result<()> {
        let content_type: http::HeaderValue =
            MANIFEST_MEDIA_TYPE.parse().expect("a valid header value");
        self.retry("write the manifest", reference, || {
            self.client
                .push_manifest_raw(reference, manifest.to_vec(), content_type.clone())
        })
        .await
        .map(drop)
    }

    /// Runs `op` until it succeeds, fails for good, or the retries run out; translates the error.
    async fn retry<T, F, Fut>(&self, what: &str, reference: &Reference, op: F) -> anyhow::Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, OciDistributionError>>,
    {
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
}

/// The registry's words, turned into what the user can do about them, with an exit code.
fn translate(host: &str, repository: &str, err: OciDistributionError, what: &str) -> anyhow::Error {
    let chain = error_text(&err);
    let lower = chain.to_lowercase();
    let (code, message) = if lower.contains("unknownissuer")
        || lower.contains("unknown issuer")
        || lower.contains("invalid peer certificate")
        || lower.contains("self-signed")
        || lower.contains("self signed")
    {
        (
            Code::Unreachable,
            format!(
                "TLS: the certificate of {host} is not signed by a trusted authority ({chain}); pass the registry's CA with --ca-file PEM (or PACKPUB_CA_FILE)"
            ),
        )
    } else if lower.contains("invalid http version")
        || lower.contains("http/0.9")
        || lower.contains("wrong version number")
        || lower.contains("corrupt message")
        || lower.contains("invalidcontenttype")
    {
        (
            Code::Unreachable,
            format!(
                "{host} did not answer in the expected protocol ({chain}); drop --plain-http for an HTTPS registry, or add it for a plain-HTTP one"
            ),
        )
    } else if lower.contains("dns error")
        || lower.contains("failed to lookup")
        || lower.contains("name or service not known")
    {
        (
            Code::Unreachable,
            format!("cannot resolve the registry host {host} (DNS failure): {chain}"),
        )
    } else if lower.contains("connection refused") {
        (
            Code::Unreachable,
            format!(
                "connection refused by {host}: is the registry running and the port right? ({chain})"
            ),
        )
    } else if let OciDistributionError::RequestError(e) = &err
        && (e.is_connect() || e.is_timeout() || e.is_request() || e.is_body())
    {
        (
            Code::Unreachable,
            format!("cannot reach {host} to {what}: {chain}"),
        )
    } else if matches!(
        err,
        OciDistributionError::AuthenticationFailure(_)
            | OciDistributionError::UnauthorizedError { .. }
    ) || has_code(&err, &[OciErrorCode::Unauthorized])
        || status(&err) == Some(401)
    {
        (
            Code::Auth,
            format!("authentication failed for {host}: {chain}"),
        )
    } else if has_code(&err, &[OciErrorCode::Denied]) || status(&err) == Some(403) {
        (
            Code::Auth,
            format!(
                "{host} denied access to {what} (insufficient scope: the account needs push and pull on this repository): {chain}"
            ),
        )
    } else if has_code(&err, &[OciErrorCode::NameUnknown]) || lower.contains("name_unknown") {
        let base = repository
            .rsplit_once('/')
            .map_or(repository, |(base, _)| base);
        (
            Code::Unexpected,
            format!(
                "{host} has no repository {repository} and does not create repositories on push \
                 (AWS ECR behaves so). Create them first:\n  aws ecr create-repository --repository-name {base}\n  \
                 aws ecr create-repository --repository-name {repository}\n({chain})"
            ),
        )
    } else if lower.contains("immutable") || status(&err) == Some(412) {
        (
            Code::Conflict,
            format!(
                "{host} refused to {what}: the tag is immutable (Harbor tag immutability rule): {chain}"
            ),
        )
    } else if lower.contains("tag invalid") && lower.contains("already exists") {
        (
            Code::Conflict,
            format!(
                "{host} refused to {what}: the repository has immutable tags (ECR) and this tag already exists: {chain}"
            ),
        )
    } else {
        (Code::Unexpected, format!("{host}: cannot {what}: {chain}"))
    };
    Failure::err(code, message)
}

/// Collects `n`/`last` pages until a short page. A registry that ignores `n` (Distribution 2.8
/// does for tags) answers everything at once, and one that ignores `last` repeats itself: both
/// end the walk instead of looping.
async fn paginate<F, Fut>(page: usize, mut fetch: F) -> anyhow::Result<Vec<String>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = anyhow::Result<Vec<String>>>,
{
    let mut all: Vec<String> = Vec::new();
    loop {
        let batch = fetch(all.last().cloned()).await?;
        let repeated = batch.first().is_some_and(|first| all.contains(first));
        let done = batch.len() != page || repeated;
        if !repeated {
            all.extend(batch);
        }
        if done {
            return Ok(all);
        }
    }
}

/// Whether the error says the manifest, tag or repository does not exist.
fn is_not_found(err: &OciDistributionError) -> bool {
    matches!(err, OciDistributionError::ImageManifestNotFoundError(_))
        || has_code(
            err,
            &[
                OciErrorCode::ManifestUnknown,
                OciErrorCode::NameUnknown,
                OciErrorCode::NotFound,
            ],
        )
        || status(err) == Some(404)
}

/// Connection drops, timeouts, 408, 429 and 5xx: worth another attempt.
fn is_transient(err: &OciDistributionError) -> bool {
    match err {
        OciDistributionError::RequestError(e) => {
            !e.is_builder() && !e.is_redirect() && !is_tls(&error_text(err))
        }
        OciDistributionError::IoError(e) => {
            e.kind() != std::io::ErrorKind::NotFound && !interrupt::requested()
        }
        _ => {
            status(err).is_some_and(|s| s == 408 || s == 429 || s >= 500)
                || has_code(err, &[OciErrorCode::Toomanyrequests])
        }
    }
}

fn is_tls(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.contains("certificate") || lower.contains("unknownissuer")
}

fn status(err: &OciDistributionError) -> Option<u16> {
    match err {
        OciDistributionError::ServerError { code, .. } => Some(*code),
        OciDistributionError::RequestError(e) => e.status().map(|s| s.as_u16()),
        _ => None,
    }
}

fn has_code(err: &OciDistributionError, codes: &[OciErrorCode]) -> bool {
    match err {
        OciDistributionError::RegistryError { envelope, .. } => {
            envelope.errors.iter().any(|e| codes.contains(&e.code))
        }
        _ => false,
    }
}

/// The error and its sources in one line; `oci-client` keeps the useful part deep inside.
fn error_text(err: &OciDistributionError) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        let s = inner.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = inner.source();
    }
    if let OciDistributionError::RegistryError { envelope, .. } = err {
        for e in &envelope.errors {
            text.push_str(&format!(" [{:?}: {}]", e.code, e.message));
        }
    }
    text
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
    use oci_client::errors::{OciEnvelope, OciError};

    fn registry_error(code: OciErrorCode, message: &str) -> OciDistributionError {
        OciDistributionError::RegistryError {
            envelope: OciEnvelope {
                errors: vec![OciError {
                    code,
                    message: message.to_string(),
                    detail: serde_json::Value::Null,
                }],
            },
            url: "https://r/v2/x".to_string(),
        }
    }

    fn translated(err: OciDistributionError) -> (Code, String) {
        let err = translate(
            "r.example.com",
            "proj/spectro-packs/archive/hello",
            err,
            "write the manifest",
        );
        let failure = crate::exit::failure_of(&err).unwrap();
        (failure.code, failure.message.clone())
    }

    #[test]
    fn harbor_immutable_tag() {
        let err = OciDistributionError::ServerError {
            code: 412,
            url: "u".into(),
            message: "The tag 1.0.0 is configured as immutable".into(),
        };
        let (code, message) = translated(err);
        assert_eq!(code, Code::Conflict);
        assert!(message.contains("immutable (Harbor"), "{message}");
    }

    #[test]
    fn ecr_missing_repository_prints_the_create_commands() {
        let (_, message) = translated(registry_error(
            OciErrorCode::NameUnknown,
            "repository does not exist",
        ));
        assert!(
            message.contains(
                "aws ecr create-repository --repository-name proj/spectro-packs/archive\n"
            ),
            "{message}"
        );
        assert!(
            message.contains(
                "aws ecr create-repository --repository-name proj/spectro-packs/archive/hello"
            ),
            "{message}"
        );
    }

    /// Writes report the raw body in a ServerError, not a parsed envelope.
    #[test]
    fn ecr_missing_repository_on_a_write() {
        let err = OciDistributionError::ServerError {
            code: 404,
            url: "u".into(),
            message: r#"{"errors":[{"code":"NAME_UNKNOWN","message":"The repository with name 'x' does not exist"}]}"#.into(),
        };
        let (_, message) = translated(err);
        assert!(message.contains("aws ecr create-repository"), "{message}");
    }

    #[test]
    fn ecr_immutable_tag() {
        let err = registry_error(
            OciErrorCode::TagInvalid,
            "The image tag '1.0.0' already exists in the 'hello' repository and cannot be overwritten because the repository is immutable.",
        );
        assert_eq!(translated(err).0, Code::Conflict);
        let err = registry_error(
            OciErrorCode::TagInvalid,
            "tag invalid: 1.0.0 already exists",
        );
        let (code, message) = translated(err);
        assert_eq!(code, Code::Conflict);
        assert!(message.contains("ECR"), "{message}");
    }

    #[test]
    fn insufficient_scope() {
        let (code, message) = translated(registry_error(
            OciErrorCode::Denied,
            "requested access to the resource is denied",
        ));
        assert_eq!(code, Code::Auth);
        assert!(message.contains("insufficient scope"), "{message}");
    }

    #[test]
    fn transient_statuses_are_retried() {
        for code in [408, 429, 500, 502, 503] {
            let err = OciDistributionError::ServerError {
                code,
                url: "u".into(),
                message: String::new(),
            };
            assert!(is_transient(&err), "{code}");
        }
        let err = OciDistributionError::ServerError {
            code: 400,
            url: "u".into(),
            message: String::new(),
        };
        assert!(!is_transient(&err));
        assert!(is_transient(&registry_error(
            OciErrorCode::Toomanyrequests,
            "slow down"
        )));
    }
}
