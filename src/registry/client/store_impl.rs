//! The registry as a [`Store`]: each of the trait's operations as requests over the client's
//! core (`client.rs`: sending, retries, listings) and its uploads (`upload.rs`).

use super::auth::Scope;
use super::{Registry, page_url, upload};
use crate::digest::Digest;
use crate::exit::{Code, Failure};
use crate::growing::Growing;
use crate::registry::manifest::{self, MAX_MANIFEST_SIZE};
use crate::registry::store::{self, Blob, ManifestRef, Progress, Store};
use http::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
#[async_trait::async_trait]
impl Store for Registry {
    fn locate(&self, repository: &str) -> String {
        format!("{}/{}", self.host, self.full(repository))
    }

    fn needs_base_path(&self) -> bool {
        true
    }

    async fn authorize_write(&self, repository: &str) -> anyhow::Result<()> {
        let full = self.full(repository);
        self.ensure_ecr_repositories(&full).await?;
        self.retry("authenticate", &full, || async {
            self.auth.header(&self.http, Scope::Push(&full)).await
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
        let full = self.full(repository);
        let url = self.url(&format!("v2/{full}/manifests/{path}"))?;
        let found = self
            .retry_found("read the manifest", &full, || {
                self.get(
                    Scope::Pull(&full),
                    &url,
                    manifest::ACCEPT,
                    MAX_MANIFEST_SIZE,
                )
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
        let full = self.full(repository);
        let url = page_url(&self.url(&format!("v2/{full}/tags/list"))?, 1, None);
        // Only the status matters; the body is not read.
        let found = self
            .retry_found("list the repository", &full, || {
                self.get(Scope::Pull(&full), &url, "application/json", 0)
            })
            .await?;
        Ok(found.is_some())
    }

    async fn blob_exists(&self, repository: &str, digest: &Digest) -> anyhow::Result<bool> {
        let full = self.full(repository);
        let url = self.url(&format!("v2/{full}/blobs/{digest}"))?;
        let found = self
            .retry_found("check for a blob", &full, || async {
                let answer = self
                    .send(Scope::Pull(&full), &url, |http, url| http.head(url.clone()))
                    .await?;
                Self::expect(answer, &[StatusCode::OK]).await
            })
            .await?;
        Ok(found.is_some())
    }

    async fn fetch_blob(
        &self,
        repository: &str,
        digest: &Digest,
        expected_size: u64,
        dest: &mut tokio::fs::File,
    ) -> anyhow::Result<u64> {
        let full = self.full(repository);
        let url = self.url(&format!("v2/{full}/blobs/{digest}"))?;
        let what = format!("download blob {digest}");
        let download = self
            .retry(&what, &full, || async {
                let answer = self
                    .send(Scope::Pull(&full), &url, |http, url| {
                        http.get(url.clone())
                            .timeout(crate::http::transfer_timeout(expected_size))
                    })
                    .await?;
                Self::expect(answer, &[StatusCode::OK]).await
            })
            .await?;
        if let Some(announced) = download.content_length()
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
        let source = tokio_util::io::StreamReader::new(Box::pin(crate::http::paced(
            download.bytes_stream(),
        )));
        store::copy_blob(source, dest, digest, expected_size, &self.host).await
    }

    /// The catalog, less the repositories outside the target's project.
    async fn repositories(&self, page: usize) -> anyhow::Result<Vec<String>> {
        if let Some(ecr) = &self.ecr {
            return ecr.repositories(&self.prefix).await;
        }
        let what = format!("list the catalog of {}", self.host);
        let catalog = self
            .list(
                &what,
                Scope::Catalog,
                self.url("v2/_catalog")?,
                "repositories",
                page,
            )
            .await;
        let all = match catalog {
            Ok(all) if !all.is_empty() => all,
            catalog => return self.without_catalog(catalog, page).await,
        };
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
        let full = self.full(repository);
        if let Some(ecr) = self.ecr.as_ref().filter(|_| self.ecr_token) {
            return ecr.tags(&full).await;
        }
        let what = format!("list the tags of {}", self.locate(repository));
        let first = self.url(&format!("v2/{full}/tags/list"))?;
        self.list(&what, Scope::Pull(&full), first, "tags", page)
            .await
    }

    async fn put_blob(
        &self,
        repository: &str,
        digest: &Digest,
        blob: Blob<'_>,
        progress: Progress,
    ) -> anyhow::Result<()> {
        let full = self.full(repository);
        let what = match blob {
            Blob::Bytes(_) => "upload a blob",
            Blob::File { .. } => "upload the pack",
        };
        let source = upload::Source::Known(digest, blob);
        self.upload(&full, source, &progress)
            .await
            .map_err(|err| self.explain_upload(err, &full, what))
    }

    async fn mount_blob(
        &self,
        repository: &str,
        digest: &Digest,
        source: &dyn Store,
        from: &str,
    ) -> anyhow::Result<bool> {
        let Some((host, prefix)) = source.registry() else {
            return Ok(false);
        };
        if host != self.host {
            return Ok(false);
        }
        let from = match prefix {
            "" => from.to_string(),
            prefix => format!("{prefix}/{from}"),
        };
        self.mount(&self.full(repository), digest, &from).await
    }

    fn registry(&self) -> Option<(&str, &str)> {
        Some((&self.host, &self.prefix))
    }

    async fn put_growing_blob(
        &self,
        repository: &str,
        growing: &Growing,
        progress: Progress,
    ) -> anyhow::Result<(Digest, u64)> {
        let full = self.full(repository);
        self.upload(&full, upload::Source::Growing(growing), &progress)
            .await
            .map_err(|err| self.explain_upload(err, &full, "upload the pack"))?;
        growing.complete().await
    }

    async fn holds_image(
        &self,
        repository: &str,
        reference: ManifestRef<'_>,
        manifest: &[u8],
        _source: &str,
    ) -> anyhow::Result<bool> {
        Ok(self.manifest(repository, reference).await?.as_deref() == Some(manifest))
    }

    async fn put_manifest(
        &self,
        repository: &str,
        reference: ManifestRef<'_>,
        manifest: &[u8],
    ) -> anyhow::Result<()> {
        let full = self.full(repository);
        let path = match reference {
            ManifestRef::Tag(tag) => tag.to_string(),
            ManifestRef::Digest(digest) => digest.to_string(),
        };
        let url = self.url(&format!("v2/{full}/manifests/{path}"))?;
        self.retry("write the manifest", &full, || async {
            let answer = self
                .send(Scope::Push(&full), &url, |http, url| {
                    http.request(Method::PUT, url.clone())
                        .header(CONTENT_TYPE, manifest::media_type_of(manifest))
                        .body(manifest.to_vec())
                })
                .await?;
            Self::expect(answer, &[StatusCode::CREATED]).await
        })
        .await
        .map(drop)
    }
}
