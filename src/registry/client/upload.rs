//! Blob uploads the way registries and what stands in front of them take them.
//!
//! A blob up to the chunk size (`--chunk-size`, 64 MiB by default: on loopback 64 MiB chunks
//! upload as fast as one `PUT`, see tests/bench/push.sh) goes in one `PUT`; a larger
//! one, or any blob once a front end has refused a body as too large (413, nginx's
//! `client_max_body_size`), goes in `PATCH` chunks with `Content-Range`, then a `PUT` naming the
//! digest. After a 413 the chunk is halved until the front end takes it, with one warning
//! saying so. When a connection drops, the registry is asked where the upload stands (`GET` on
//! the upload URL → `Range: 0-N`) and the upload goes on from byte N+1; on a 416 it is asked
//! again; only when it has forgotten the upload (404), or will not say (400: Distribution 2.8
//! cancels an upload asked about from a location older than its last byte), does the upload
//! start over. Every attempt counts against `--retries`.
//!
//! An archive still being written or hashed ([`Growing`]) is uploaded as it grows: a `PATCH` as
//! soon as [`STREAM_PIECE`] more is on disk (or hashed), of all there is up to the chunk size,
//! then the `PUT` naming the digest, known only at the end; one small enough to be complete
//! before a piece fills goes in one `PUT`.

use super::{Registry, Scope, location};
use crate::digest::Digest;
use crate::growing::Growing;
use crate::interrupt;
use crate::registry::store::{Blob, Progress};
use futures_util::{StreamExt, TryStreamExt};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use std::sync::atomic::{AtomicU64, Ordering};

/// 416 answers taken in one go at an upload before giving up: a registry that keeps naming an
/// offset it then refuses would otherwise be asked forever.
const MAX_REFUSED_RANGES: u32 = 3;
const OCTET_STREAM: &str = "application/octet-stream";
/// What an upload waits for of an archive still being written before sending more: it trails
/// the compression by little more than this, so a push ends soon after the last block is
/// compressed. An archive read faster than it uploads (a tarball being hashed) goes in chunks
/// of all that is ready, up to the chunk size: fewer requests.
const STREAM_PIECE: u64 = 16 << 20;

/// What an upload sends: a blob whose digest is known, or an archive still being written.
#[derive(Clone, Copy)]
pub(super) enum Source<'a> {
    Known(&'a Digest, Blob<'a>),
    Growing(&'a Growing),
}

impl Source<'_> {
    /// Waits until more than `offset` bytes can be sent, or the end is known; returns the bytes
    /// that can be sent, and the digest and size once the end is known.
    async fn past(&self, offset: u64) -> anyhow::Result<(u64, Option<(Digest, u64)>)> {
        match self {
            Source::Known(digest, blob) => {
                let size = blob_size(*blob);
                Ok((size, Some((**digest, size))))
            }
            Source::Growing(growing) => growing.past(offset).await,
        }
    }

    /// The first `available` bytes, to send from.
    fn blob(&self, available: u64) -> Blob<'_> {
        match self {
            Source::Known(_, blob) => *blob,
            Source::Growing(growing) => Blob::File {
                path: &growing.path,
                size: available,
            },
        }
    }
}

/// Where an upload stands: the URL to go on at and the bytes the registry holds.
#[derive(Debug, Clone)]
struct Session {
    location: Url,
    offset: u64,
}

impl Registry {
    /// Uploads `source` to `repository` (full name), resuming after dropped connections;
    /// `progress` sees the bytes the registry holds plus those in flight.
    pub(super) async fn upload(
        &self,
        repository: &str,
        source: Source<'_>,
        progress: &Progress,
    ) -> anyhow::Result<()> {
        let mut session = None;
        let mut pace = super::Pace::new(self.retries);
        loop {
            let sent = self
                .transfer(repository, source, &mut session, progress)
                .await;
            let Err(err) = sent else {
                return Ok(());
            };
            if !pace.another(&err).await {
                return Err(err);
            }
            session = match session.take() {
                Some(session) => self.status(repository, &session).await,
                None => None,
            };
            match &session {
                Some(s) => self.notes.verbose(&format!(
                    "the upload was cut; the registry holds {} bytes, going on from there",
                    s.offset
                )),
                None => self
                    .notes
                    .verbose("the upload was cut and the registry kept nothing; starting over"),
            }
        }
    }

    /// One go at the upload, from where `session` stands (a new session when `None`); keeps
    /// `session` up to date with every chunk the registry takes.
    async fn transfer(
        &self,
        repository: &str,
        source: Source<'_>,
        session: &mut Option<Session>,
        progress: &Progress,
    ) -> anyhow::Result<()> {
        let scope = Scope::Push(repository);
        let s = match session {
            Some(s) => s,
            None => session.insert(Session {
                location: self.open_upload(repository).await?,
                offset: 0,
            }),
        };
        if s.offset == 0
            && let (_, Some((digest, size))) = source.past(self.piece(source) - 1).await?
            && self.chunks.whole(size)
        {
            let url = with_digest(&s.location, &digest);
            let answer = self
                .send(scope, &url, |http, url| {
                    http.put(url.clone())
                        .header(CONTENT_TYPE, OCTET_STREAM)
                        .header(CONTENT_LENGTH, size)
                        .timeout(crate::http::transfer_timeout(size))
                        .body(body(source.blob(size), 0, size, progress))
                })
                .await?;
            if answer.status() != StatusCode::PAYLOAD_TOO_LARGE {
                return Self::expect(answer, &[StatusCode::CREATED]).await.map(drop);
            }
            self.refused(size)?;
        }
        let mut refused_ranges = 0;
        let digest = loop {
            let piece = self.piece(source);
            let (available, end) = source.past(s.offset + piece - 1).await?;
            if let Some((digest, size)) = end
                && s.offset >= size
            {
                break digest;
            }
            let (offset, len) = (s.offset, self.chunks.size().min(available - s.offset));
            let blob = source.blob(available);
            let answer = self
                .send(scope, &s.location, |http, url| {
                    http.patch(url.clone())
                        .header(CONTENT_TYPE, OCTET_STREAM)
                        .header("Content-Range", format!("{offset}-{}", offset + len - 1))
                        .header(CONTENT_LENGTH, len)
                        .timeout(crate::http::transfer_timeout(len))
                        .body(body(blob, offset, len, progress))
                })
                .await?;
            match answer.status() {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    self.refused(len)?;
                    continue;
                }
                StatusCode::RANGE_NOT_SATISFIABLE => {
                    refused_ranges += 1;
                    if refused_ranges > MAX_REFUSED_RANGES {
                        return Err(anyhow::anyhow!(
                            "the registry refused the chunk at byte {offset} (416) {MAX_REFUSED_RANGES} \
                             times, each time after saying where the upload stands"
                        ));
                    }
                    *s = self.status(repository, s).await.ok_or_else(|| {
                        anyhow::anyhow!(
                            "the registry refused the chunk at byte {offset} (416) and forgot the upload"
                        )
                    })?;
                    continue;
                }
                _ => {}
            }
            // ECR answers 201 where the spec says 202 (dotnet/sdk-container-builds#279).
            let answer = Self::expect(answer, &[StatusCode::ACCEPTED, StatusCode::CREATED]).await?;
            // A Range past what this chunk could have added is believed; one that does not
            // advance (ECR's bug of 2026, aws/containers-roadmap#2831) is not: the registry
            // took the chunk it answered for, so what was sent is what it holds.
            let held = range_end(&answer)
                .map(|end| end + 1)
                .filter(|held| (offset + 1..=offset + len).contains(held))
                .unwrap_or(offset + len);
            *s = Session {
                location: location(&answer, &s.location)?,
                offset: held,
            };
        };
        let url = with_digest(&s.location, &digest);
        let answer = self
            .send(scope, &url, |http, url| {
                http.put(url.clone()).header(CONTENT_LENGTH, 0)
            })
            .await?;
        Self::expect(answer, &[StatusCode::CREATED]).await.map(drop)
    }

    /// How much more of `source` an upload waits for before sending: an archive still being
    /// written goes in smaller pieces.
    fn piece(&self, source: Source<'_>) -> u64 {
        match source {
            Source::Known(..) => self.chunks.size(),
            Source::Growing(_) => self.chunks.size().min(STREAM_PIECE),
        }
    }

    /// Asks the registry to mount blob `digest` of `from` into `repository` (both full names):
    /// whether it did (201). A registry that will not (no read access to `from` in the token,
    /// or no such blob) opens an upload instead (202), which is left to expire unused.
    pub(super) async fn mount(
        &self,
        repository: &str,
        digest: &Digest,
        from: &str,
    ) -> anyhow::Result<bool> {
        let mut url = self.url(&format!("v2/{repository}/blobs/uploads/"))?;
        url.query_pairs_mut()
            .append_pair("mount", &digest.to_string())
            .append_pair("from", from);
        let answer = self
            .send(Scope::Push(repository), &url, |http, url| {
                http.post(url.clone()).header(CONTENT_LENGTH, 0)
            })
            .await?;
        let mounted = answer.status() == StatusCode::CREATED;
        Self::expect(answer, &[StatusCode::CREATED, StatusCode::ACCEPTED]).await?;
        Ok(mounted)
    }

    /// Opens an upload session: its URL.
    async fn open_upload(&self, repository: &str) -> anyhow::Result<Url> {
        let start = self.url(&format!("v2/{repository}/blobs/uploads/"))?;
        let opened = self
            .send(Scope::Push(repository), &start, |http, url| {
                http.post(url.clone()).header(CONTENT_LENGTH, 0)
            })
            .await?;
        let opened = Self::expect(opened, &[StatusCode::ACCEPTED]).await?;
        location(&opened, &start)
    }

    /// A front end refused a body of `refused` bytes (413): chunks from now on, smaller ones;
    /// the first time, a warning says so.
    fn refused(&self, refused: u64) -> anyhow::Result<()> {
        let first = !self.chunks.forced.load(Ordering::Relaxed);
        let next = self.chunks.shrink(refused).ok_or_else(|| {
            crate::exit::Failure::err(
                crate::exit::Code::Unexpected,
                format!(
                    "{} refuses request bodies of {refused} bytes and more (413 Request Entity \
                     Too Large), while the registry takes no chunk under {} bytes: no upload \
                     fits; ask its administrator to raise the limit (nginx: \
                     client_max_body_size)",
                    self.host, self.chunks.min
                ),
            )
        })?;
        let said = format!(
            "{} refused a {refused}-byte request body (413 Request Entity Too Large); uploading \
             in smaller chunks instead (--chunk-size sets their size; now {next} bytes)",
            self.host
        );
        if first {
            self.notes.warn(&said);
        } else {
            self.notes.verbose(&said);
        }
        Ok(())
    }

    /// Where the upload at `session` stands, by the registry's word; `None` when it has
    /// forgotten the upload or will not say.
    async fn status(&self, repository: &str, session: &Session) -> Option<Session> {
        let answer = self
            .send(Scope::Push(repository), &session.location, |http, url| {
                http.get(url.clone())
            })
            .await
            .ok()?;
        let answer = Self::expect(answer, &[StatusCode::NO_CONTENT, StatusCode::OK])
            .await
            .ok()?;
        Some(Session {
            location: location(&answer, &session.location).ok()?,
            offset: range_end(&answer).map_or(0, |end| end + 1),
        })
    }
}

fn blob_size(blob: Blob<'_>) -> u64 {
    match blob {
        Blob::Bytes(data) => data.len() as u64,
        Blob::File { size, .. } => size,
    }
}

/// `location` with `digest=` added, for the `PUT` that ends an upload.
fn with_digest(location: &Url, digest: &Digest) -> Url {
    let mut url = location.clone();
    url.query_pairs_mut()
        .append_pair("digest", &digest.to_string());
    url
}

/// The last byte a `Range: 0-N` answer says the registry holds (some write `bytes=0-N`).
/// `0-0` is read as nothing held: Distribution writes it for an empty upload too.
fn range_end(answer: &reqwest::Response) -> Option<u64> {
    let text = answer.headers().get("Range")?.to_str().ok()?;
    let (start, end) = text.trim().trim_start_matches("bytes=").split_once('-')?;
    let end: u64 = end.trim().parse().ok()?;
    (start.trim() == "0" && end > 0).then_some(end)
}

/// Bytes `offset..offset + len` of `blob` as a request body, re-read on every attempt;
/// `progress` sees `offset` plus what has gone out, and the interrupt flag is polled between
/// reads.
fn body(blob: Blob<'_>, offset: u64, len: u64, progress: &Progress) -> reqwest::Body {
    progress(offset);
    match blob {
        Blob::Bytes(data) => {
            let range = usize::try_from(offset).unwrap_or(usize::MAX)
                ..usize::try_from(offset + len).unwrap_or(usize::MAX);
            reqwest::Body::from(data[range].to_vec())
        }
        Blob::File { path, .. } => {
            use tokio::io::{AsyncReadExt, AsyncSeekExt};
            let (path, progress) = (path.to_path_buf(), progress.clone());
            let opened = async move {
                let mut file = tokio::fs::File::open(path).await?;
                file.seek(std::io::SeekFrom::Start(offset)).await?;
                Ok::<_, std::io::Error>(tokio_util::io::ReaderStream::with_capacity(
                    file.take(len),
                    256 * 1024,
                ))
            };
            let sent = AtomicU64::new(offset);
            let stream = futures_util::stream::once(opened)
                .try_flatten()
                .and_then(move |chunk| {
                    let at =
                        sent.fetch_add(chunk.len() as u64, Ordering::Relaxed) + chunk.len() as u64;
                    let interrupted = interrupt::check();
                    async move { interrupted.map(|()| (chunk, at)) }
                })
                .map_ok(move |(chunk, at)| {
                    progress(at);
                    chunk
                });
            reqwest::Body::wrap_stream(stream.boxed())
        }
    }
}
