//! A registry as a [`Store`], spoken to over packpub's own HTTP client (reqwest), with
//! `oci-client` kept for its vocabulary only (references, the error envelope).
//!
//! Why not the crate's client: it reads every answer whole, with no limit and no way to set
//! one; it sends the password to whatever token service the registry names, after asking
//! `/v2/` again on its own; and it takes neither a client certificate nor a custom certificate
//! check. Every request is made here instead, so everything a registry says is read with a
//! cap: a manifest over [`super::manifest::MAX_MANIFEST_SIZE`] is refused (by its Content-Length before any
//! byte is read, else once the read passes it), a listing stops at [`MAX_LISTING`] bytes and
//! [`MAX_PAGES`] pages, an error answer is cut at [`MAX_ERROR_BODY`], a token service's at
//! `auth`'s cap, and a blob must be exactly the size its manifest declares. Who may do what is
//! [`auth`]'s concern; this file adds transport options from the CLI, the project prefix every
//! repository lives under, bounded retries with backoff and jitter for transient failures,
//! paged listings, and errors translated by [`super::errors`]. Below it, the [`Store`]
//! operations ([`store_impl`]) and uploads ([`upload`], with the chunk size in [`chunks`]).

mod auth;
mod challenge;
mod chunks;
mod harbor;
mod store_impl;
mod upload;

use super::ecr::{self, Ecr};
use super::errors::{self, is_not_found, is_transient, translate};
use super::store::{ManifestRef, Store};
use super::tls;
use crate::credentials::{Resolved, Source};
use crate::exit::{Code, Failure};
use crate::http::{host_of, proxy, read_prefix};
use crate::interrupt;
use crate::output::Notes;
use auth::{Auth, Scope};
use http::header::{ACCEPT, AUTHORIZATION, HeaderMap, LINK, LOCATION};
use oci_client::Reference;
use oci_client::errors::OciDistributionError;
use reqwest::{StatusCode, Url};
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Every page of one listing together (tags or catalog): what a registry can make packpub hold.
/// [`MAX_ENTRIES`] names of 100 bytes fit, JSON quoting included.
const MAX_LISTING: u64 = 32 * 1024 * 1024;
/// Names in one listing: a pack's versions or a project's repositories are far fewer, and a
/// registry that invents names forever is stopped here.
const MAX_ENTRIES: usize = 250_000;
/// Pages of one listing: a registry that names a next page forever, a name at a time, is
/// stopped here.
const MAX_PAGES: usize = 10_000;
/// How many request timeouts one whole listing may take (6 minutes by default), so pages
/// answered slowly, each within its own timeout, still end.
const LISTING_TIMEOUTS: u32 = 3;
/// What is read of an error answer: far more than any registry's error document.
const MAX_ERROR_BODY: u64 = 16 * 1024;

/// How to reach a registry; the same flags for every command.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    pub plain_http: bool,
    pub tls: tls::Settings,
    /// Attempts per request after the first, for transient failures.
    pub retries: u32,
    /// Blobs over this size go in chunks.
    pub chunk_size: u64,
    /// The side of a `copy` between two registries, whose flags the errors name.
    pub side: Option<errors::Side>,
}

pub struct Registry {
    http: reqwest::Client,
    /// `scheme://host/`, the host as docker resolves it (docker.io is index.docker.io): the
    /// only origin a credential is sent to, besides the token service.
    base: Url,
    host: String,
    /// `PROJECT/...` every repository lives under; empty for none.
    prefix: String,
    retries: u32,
    auth: Auth,
    /// Where the credential came from (or where none was found), named on a refusal.
    source: Source,
    side: Option<errors::Side>,
    chunks: chunks::Chunks,
    /// Set for an ECR host: its API makes repositories and lists them.
    ecr: Option<Arc<Ecr>>,
    /// Whether the registry credential is the ECR token packpub gets from AWS.
    ecr_token: bool,
    notes: Notes,
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

impl Registry {
    /// A registry at `host`, its repositories under `prefix`; `note` sees what `-v` shows
    /// (the certificates used, where the password goes).
    pub fn new(
        host: &str,
        prefix: &str,
        transport: &Transport,
        credential: Resolved,
        notes: Notes,
    ) -> anyhow::Result<Self> {
        let (tls, used) = tls::client_config(&transport.tls, host)?;
        for line in used {
            notes.verbose(&line);
        }
        let setup = |err: &dyn std::fmt::Display| {
            Failure::err(
                Code::Usage,
                format!("cannot set up the connection to {host}: {err}"),
            )
        };
        let resolved = Reference::with_tag(host.to_string(), "packpub".into(), "latest".into());
        let scheme = if transport.plain_http {
            "http"
        } else {
            "https"
        };
        let base = Url::parse(&format!("{scheme}://{}/", resolved.resolve_registry()))
            .map_err(|e| setup(&e))?;
        let probe = base.join("v2/").map_err(|e| setup(&e))?;
        if let Some(through) = proxy::Proxies::from_env().for_url(&base) {
            notes.verbose(&format!(
                "reaching {host} through the proxy {}",
                proxy::shown(through)
            ));
        }
        let http = crate::http::client()
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(|e| setup(&e))?;
        let source = credential.source.clone();
        let ecr = Ecr::new(host, notes.clone()).map(Arc::new);
        // Credentials the user gave keep their priority over the AWS chain.
        let ecr_token = ecr.is_some() && credential.credential.is_none();
        let mut auth = Auth::new(credential, probe, host, transport.plain_http, notes.clone());
        if ecr_token {
            auth = auth.with_ecr(ecr.clone());
        }
        let min_chunk = if ecr.is_some() {
            ecr::MIN_PART
        } else {
            chunks::MIN_CHUNK
        };
        Ok(Self {
            http,
            auth,
            source,
            side: transport.side,
            base,
            host: host.to_string(),
            prefix: prefix.to_string(),
            retries: transport.retries,
            chunks: chunks::Chunks::new(transport.chunk_size, min_chunk),
            ecr,
            ecr_token,
            notes,
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

    /// Reaches `/v2/` with no credential, so that a TLS problem or an unreachable host shows
    /// before anyone types a password; any HTTP answer (401 included) will do.
    pub async fn reachable(&self) -> anyhow::Result<()> {
        let url = self.url("v2/")?;
        self.retry("reach the registry", "", || async {
            match self.http.get(url.clone()).send().await {
                Ok(_) => Ok(()),
                Err(err) => Err(OciDistributionError::from(err).into()),
            }
        })
        .await
    }

    /// Sends the request `build` makes for `url`, with the `Authorization` of `scope` when
    /// `url` is on the registry (an upload location or a redirect elsewhere gets none), and
    /// once more with a renewed one when the registry answers 401 (an expired token). `build`
    /// makes a fresh request, body included, each time.
    async fn send(
        &self,
        scope: Scope<'_>,
        url: &Url,
        build: impl Fn(&reqwest::Client, &Url) -> reqwest::RequestBuilder,
    ) -> anyhow::Result<reqwest::Response> {
        let on_registry = url.origin() == self.base.origin();
        let mut authorization = match on_registry {
            true => self.auth.header(&self.http, scope).await?,
            false => None,
        };
        let mut renewed = false;
        loop {
            let mut request = build(&self.http, url);
            if let Some(value) = &authorization {
                request = request.header(AUTHORIZATION, value.clone());
            }
            let response = request.send().await.map_err(OciDistributionError::from)?;
            // A 401 from where a redirect led (a storage host) says nothing about the registry's
            // login: only the registry's own challenges are learnt.
            let from_registry = response.url().origin() == self.base.origin();
            if response.status() == StatusCode::UNAUTHORIZED && from_registry && !renewed {
                renewed = true;
                let sent = authorization.as_ref();
                let fresh = self
                    .auth
                    .renew(&self.http, scope, sent, response.headers())
                    .await?;
                if fresh.is_some() {
                    authorization = fresh;
                    continue;
                }
            }
            return Ok(response);
        }
    }

    /// `response` when its status is one of `expected`, else the registry's error, its body
    /// read up to [`MAX_ERROR_BODY`].
    async fn expect(
        mut response: reqwest::Response,
        expected: &[StatusCode],
    ) -> anyhow::Result<reqwest::Response> {
        let status = response.status();
        if expected.contains(&status) {
            return Ok(response);
        }
        // A redirect target's query may be a pre-signed credential (X-Amz-Signature).
        let mut url = response.url().clone();
        url.set_query(None);
        let url = url.to_string();
        let (body, _) = read_prefix(&mut response, MAX_ERROR_BODY)
            .await
            .map_err(OciDistributionError::from)?;
        Err(errors::from_status(status.as_u16(), &body, &url).into())
    }

    /// GETs `url` in `scope`, reading at most `cap` bytes of the answer.
    async fn get(
        &self,
        scope: Scope<'_>,
        url: &Url,
        accept: &str,
        cap: u64,
    ) -> anyhow::Result<Fetched> {
        let response = self
            .send(scope, url, |http, url| {
                http.get(url.clone()).header(ACCEPT, accept)
            })
            .await?;
        let mut response = Self::expect(response, &[StatusCode::OK]).await?;
        let headers = response.headers().clone();
        let body = if response.content_length().is_some_and(|n| n > cap) {
            None
        } else {
            let (body, whole) = read_prefix(&mut response, cap)
                .await
                .map_err(OciDistributionError::from)?;
            whole.then_some(body)
        };
        Ok(Fetched { headers, body })
    }

    /// Runs `op` until it succeeds, fails for good, or the retries run out; translates the
    /// error for `repository` (full name).
    async fn retry<T, F, Fut>(&self, what: &str, repository: &str, op: F) -> anyhow::Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = anyhow::Result<T>>,
    {
        let mut pace = Pace::new(self.retries);
        loop {
            match op().await {
                Ok(value) => return Ok(value),
                Err(err) if pace.another(&err).await => {}
                Err(err) => return Err(self.explain(err, repository, what)),
            }
        }
    }

    /// Like [`Self::retry`], but a "not found" answer is `Ok(None)`.
    async fn retry_found<T, F, Fut>(
        &self,
        what: &str,
        repository: &str,
        op: F,
    ) -> anyhow::Result<Option<T>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = anyhow::Result<T>>,
    {
        let found = self.retry(what, repository, || async {
            match op().await {
                Ok(value) => Ok(Some(value)),
                Err(err) if registry_error(&err).is_some_and(is_not_found) => Ok(None),
                Err(err) => Err(err),
            }
        });
        found.await
    }

    /// The error as the user should read it: a registry's answer translated (with its exit
    /// code), a failure packpub already explained kept as it is.
    fn explain(&self, err: anyhow::Error, repository: &str, what: &str) -> anyhow::Error {
        let err = if crate::exit::failure_of(&err).is_some() {
            err
        } else {
            match err.downcast::<OciDistributionError>() {
                Ok(err) => translate(&self.host, repository, err, (what, self.side)),
                Err(err) => err,
            }
        };
        if errors::is_refusal(&err) {
            crate::credentials::explain_refusal(&self.host, &self.source, err)
        } else {
            err
        }
    }

    /// [`Self::explain`] for an upload; on ECR, a connection cut for good is what a missing
    /// repository gets, and the error says so.
    fn explain_upload(&self, err: anyhow::Error, repository: &str, what: &str) -> anyhow::Error {
        let cut = registry_error(&err).is_some_and(is_transient);
        let err = self.explain(err, repository, what);
        match &self.ecr {
            Some(ecr) if cut => ecr.cut(err, repository),
            _ => err,
        }
    }

    /// On ECR, creates the base path's repository and `repository`'s (full name) when they
    /// are missing. Without AWS credentials, a user who logged in otherwise is left to have
    /// made them, as before.
    async fn ensure_ecr_repositories(&self, repository: &str) -> anyhow::Result<()> {
        let Some(ecr) = &self.ecr else {
            return Ok(());
        };
        let base = self.full(super::reference::BASE_PATH);
        let wanted = if repository == base {
            vec![base]
        } else {
            vec![base, repository.to_string()]
        };
        ecr.ensure(&wanted, self.ecr_token).await
    }

    /// Every entry of a listing (`field` of the JSON answers: `tags` or `repositories`) at
    /// `first`, as `scope` may read it; a missing repository lists nothing.
    async fn list(
        &self,
        what: &str,
        scope: Scope<'_>,
        first: Url,
        field: &str,
        page: usize,
    ) -> anyhow::Result<Vec<String>> {
        let repository = match scope {
            Scope::Pull(repository) | Scope::Push(repository) => repository,
            Scope::Catalog => "",
        };
        let first_page = &page_url(&first, page, None);
        paginate(what, &first, page, |url, budget| async move {
            let found = self
                .retry_found(what, repository, || {
                    self.get(scope, &url, "application/json", budget)
                })
                .await?;
            let failed = |why: String| Failure::err(Code::Unexpected, format!("{what}: {why}"));
            let Some(fetched) = found else {
                // Missing is an empty listing only at its start: a later page that vanishes
                // would pass a part of the listing off as all of it.
                if url != *first_page {
                    return Err(failed(
                        "the registry answered 404 for a next page it had named; the listing is incomplete".into(),
                    ));
                }
                return Ok(Page {
                    entries: Vec::new(),
                    next: None,
                    bytes: 0,
                });
            };
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

/// The registry's own answer in an error's chain, if it holds one.
fn registry_error(err: &anyhow::Error) -> Option<&OciDistributionError> {
    err.chain().find_map(|e| e.downcast_ref())
}

/// Where an upload session continues: the `Location` of `answer`, resolved against `url`.
fn location(answer: &reqwest::Response, url: &Url) -> anyhow::Result<Url> {
    let header = answer
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| {
            OciDistributionError::SpecViolationError(
                "the registry opened an upload without saying where (no Location header)".into(),
            )
        })?;
    url.join(header).map_err(|e| {
        OciDistributionError::SpecViolationError(format!(
            "the registry's upload Location is not a URL ({e})"
        ))
        .into()
    })
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
    let deadline = Instant::now() + crate::http::request_timeout() * LISTING_TIMEOUTS;
    let stopped = |why: String| {
        Failure::err(
            Code::Unexpected,
            format!(
                "{what}: {why}; stopped there (a listing that never ends is a broken or hostile registry)"
            ),
        )
    };
    for _ in 0..MAX_PAGES {
        if Instant::now() > deadline {
            return Err(stopped(format!(
                "the listing was not over after {} s",
                (crate::http::request_timeout() * LISTING_TIMEOUTS).as_secs()
            )));
        }
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
        if all.len() > MAX_ENTRIES {
            return Err(stopped(format!(
                "the registry named over {MAX_ENTRIES} entries"
            )));
        }
        match batch.next.or(after_full) {
            Some(next) if !requested.contains(&next) => url = next,
            _ => return Ok(all),
        }
    }
    Err(stopped(format!(
        "the registry still named a next page after {MAX_PAGES} pages"
    )))
}

/// The pacing of retries: how many are left, and the backoff before the next.
struct Pace {
    left: u32,
    delay: Duration,
}

impl Pace {
    fn new(retries: u32) -> Self {
        Self {
            left: retries,
            delay: BACKOFF_START,
        }
    }

    /// Whether to try again after `err` (a transient failure, retries left, no Ctrl-C); waits
    /// the backoff first.
    async fn another(&mut self, err: &anyhow::Error) -> bool {
        if self.left == 0
            || !registry_error(err).is_some_and(is_transient)
            || interrupt::requested()
        {
            return false;
        }
        self.left -= 1;
        tokio::time::sleep(jitter(self.delay)).await;
        self.delay = (self.delay * 2).min(BACKOFF_MAX);
        true
    }
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
    use http::header::HeaderValue;
    use std::sync::Mutex;

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
