//! A registry as a [`Store`]: a thin layer over `oci-client` that adds what publishing needs
//! and the crate leaves out: transport options from the CLI, the project prefix every
//! repository lives under, bounded retries with backoff and jitter for transient failures,
//! streaming a blob from a file (the crate's `push_blob` holds it in memory), and errors
//! translated by [`super::errors`].

use super::errors::{is_not_found, is_transient, translate};
use super::manifest::MANIFEST_MEDIA_TYPE;
use super::store::{Blob, ManifestRef, Progress, Store};
use crate::credentials::Credential;
use crate::digest::Digest;
use crate::exit::{Code, Failure};
use crate::interrupt;
use anyhow::Context;
use futures_util::TryStreamExt;
use oci_client::errors::OciDistributionError;
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
    host: String,
    /// `PROJECT/...` every repository lives under; empty for none.
    prefix: String,
    auth: RegistryAuth,
    retries: u32,
}

/// Retry pacing: 250 ms doubling, capped at 8 s, each wait jittered by up to half.
const BACKOFF_START: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(8);

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
            prefix: prefix.to_string(),
            auth,
            retries: transport.retries,
        })
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

    /// Proves the credential works: authenticates for pull (the token flow where the registry
    /// asks for Bearer) and reads a manifest, which a registry with Basic auth refuses (401) for
    /// a wrong password. A missing manifest is fine.
    pub async fn check_login(&self, repository: &str) -> anyhow::Result<()> {
        let reference = self.repository_reference(repository);
        self.authenticate(&reference, RegistryOperation::Pull)
            .await?;
        self.manifest(repository, ManifestRef::Tag("latest"))
            .await
            .map(drop)
    }

    /// Authenticates for `operation` on `reference`'s repository (the token flow when the
    /// registry answers with a Bearer challenge). Wrong credentials end here with exit 4.
    async fn authenticate(
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
        match self.retry_raw(op).await {
            Ok(value) => Ok(Some(value)),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(translate(&self.host, reference.repository(), err, what)),
        }
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
        self.authenticate(&reference, RegistryOperation::Push).await
    }

    async fn manifest(
        &self,
        repository: &str,
        reference: ManifestRef<'_>,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        let reference = self.reference(repository, reference);
        let accepted = [MANIFEST_MEDIA_TYPE];
        let found = self
            .retry_found("read the manifest", &reference, || {
                self.client
                    .pull_manifest_raw(&reference, &self.auth, &accepted)
            })
            .await?;
        Ok(found.map(|(bytes, _)| bytes.to_vec()))
    }

    async fn repository_exists(&self, repository: &str) -> anyhow::Result<bool> {
        let reference = self.repository_reference(repository);
        let found = self
            .retry_found("list the repository", &reference, || {
                self.client.list_tags(&reference, &self.auth, Some(1), None)
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
        dest: &mut tokio::fs::File,
    ) -> anyhow::Result<u64> {
        use futures_util::StreamExt;
        use tokio::io::AsyncWriteExt;
        let reference = self.reference(repository, ManifestRef::Digest(digest));
        let text = digest.to_string();
        let mut stream = self
            .retry("download the pack", &reference, || {
                self.client.pull_blob_stream(&reference, text.as_str())
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

    /// The catalog, less the repositories outside the target's project.
    async fn repositories(&self, page: usize) -> anyhow::Result<Vec<String>> {
        let probe = &self.repository_reference("packpub");
        let all = paginate(page, |last| async move {
            self.retry("list the catalog", probe, || {
                self.client
                    .catalog(probe, &self.auth, Some(page), last.as_deref())
            })
            .await
            .map(|r| r.repositories)
        })
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
        let reference = &self.repository_reference(repository);
        paginate(page, |last| async move {
            let found = self
                .retry_found("list tags", reference, || {
                    self.client
                        .list_tags(reference, &self.auth, Some(page), last.as_deref())
                })
                .await?;
            Ok(found.map(|response| response.tags).unwrap_or_default())
        })
        .await
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

/// Up to half of `delay` added at random, so concurrent retries spread out.
fn jitter(delay: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    delay + delay.mul_f64(f64::from(nanos % 1000) / 2000.0)
}
