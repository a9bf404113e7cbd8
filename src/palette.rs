//! Palette's public API, the few calls `sync` needs, as the published spec writes them
//! (spectrocloud/palette-sdk-typescript `api/palette-apis-spec.json`, "Palette APIs - 4.8";
//! the Go SDK and the Terraform provider where the spec is silent; see docs/palette.md,
//! "Make Palette see it").
//!
//! The API key travels in the `ApiKey` header only, held as a [`Secret`] and marked sensitive;
//! it is never printed. Answers are read with a cap ([`MAX_ANSWER`]); a 429 waits for its
//! `Retry-After` (Palette allows about 10 requests/s), a 5xx or a dropped connection is tried
//! again with backoff, a 401/403 exits 4 and an unreachable Palette exits 7.

use crate::exit::{Code, Failure};
use crate::http::{host_of, read_prefix};
use crate::output::Notes;
use crate::redacted::Secret;
use crate::registry::errors::chain;
use crate::registry::tls;
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::{Duration, Instant};

/// The most read of one answer: Palette's lists of registries and packs are far smaller.
const MAX_ANSWER: u64 = 8 << 20;
/// Tries of one call while Palette is busy (429) or failing (5xx, dropped connection); the
/// pause between them starts at [`PAUSE_START`] and doubles.
const TRIES: u32 = 5;
const PAUSE_START: Duration = Duration::from_millis(250);
/// The longest `Retry-After` honoured before trying anyway.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

pub struct Palette {
    http: reqwest::Client,
    /// `scheme://host/`.
    base: Url,
    key: Secret,
    project: Option<String>,
    notes: Notes,
    /// When every call must have ended (`--timeout`), and that timeout, for messages.
    deadline: Option<(Instant, Duration)>,
}

/// One OCI registry as the summary lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct OciRegistry {
    pub metadata: Meta,
    #[serde(default)]
    pub spec: OciRegistrySpec,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Meta {
    #[serde(default)]
    pub uid: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciRegistrySpec {
    #[serde(default)]
    pub endpoint: String,
    #[serde(default)]
    pub registry_type: String,
    #[serde(default)]
    pub provider_type: String,
}

/// `v1RegistrySyncStatus`. The spec lists no status values; Terraform reads `Success` and
/// `Completed` as done, `Failed` and `Error` as failed, anything else as still going.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    #[serde(default)]
    pub is_sync_supported: bool,
    #[serde(default)]
    pub last_run_time: Option<String>,
    #[serde(default)]
    pub last_synced_time: Option<String>,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub status: String,
}

impl SyncStatus {
    pub fn phase(&self) -> Phase {
        match self.status.to_ascii_lowercase().as_str() {
            "success" | "completed" => Phase::Done,
            "failed" | "error" => Phase::Failed,
            "inprogress" | "running" | "syncing" | "pending" => Phase::Running,
            _ if !self.is_sync_supported && !self.status.is_empty() => Phase::Done,
            _ => Phase::Unknown,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Running,
    Done,
    Failed,
    /// No status yet, or one nobody documented.
    Unknown,
}

impl Palette {
    /// A client for Palette at `host` (`name[:port]`, or a URL: `http://` is honoured for a
    /// self-hosted Palette on a trusted network, with a warning).
    pub fn new(
        host: &str,
        key: Secret,
        project: Option<String>,
        tls: &tls::Settings,
        notes: Notes,
    ) -> anyhow::Result<Self> {
        let usage =
            |why: String| Failure::err(Code::Usage, format!("--palette-host {host:?}: {why}"));
        let (scheme, rest) = host.split_once("://").unwrap_or(("https", host));
        if scheme != "https" && scheme != "http" {
            return Err(usage(format!(
                "{scheme}:// is neither https:// nor http://"
            )));
        }
        let name = crate::host::normalize(rest.trim_end_matches('/')).map_err(usage)?;
        if scheme == "http" {
            notes.warn(&format!(
                "Palette at http://{name}: the API key crosses the network in clear text"
            ));
        }
        let base = Url::parse(&format!("{scheme}://{name}/")).map_err(|e| usage(e.to_string()))?;
        let (config, used) = tls::client_config(tls, &name)?;
        for line in used {
            notes.verbose(&line);
        }
        // No redirects: the API key travels in a header reqwest would carry to any host a
        // redirect names, and a 307 would re-send a posted registry password with it.
        let http = crate::http::client()
            .redirect(reqwest::redirect::Policy::none())
            .tls_backend_preconfigured(config)
            .build()
            .map_err(|e| usage(e.to_string()))?;
        Ok(Self {
            http,
            base,
            key,
            project,
            notes,
            deadline: None,
        })
    }

    /// The same client, with every call (its tries, its waits for `Retry-After`) ending
    /// within `timeout` from now.
    pub fn within(mut self, timeout: Duration) -> Self {
        self.deadline = Some((Instant::now() + timeout, timeout));
        self
    }

    /// When the calls must have ended, if [`Self::within`] said.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline.map(|(at, _)| at)
    }

    /// What is left of the deadline (the request timeout when there is none): an error once
    /// nothing is.
    fn left(&self, path: &str) -> anyhow::Result<Duration> {
        let request = crate::http::request_timeout();
        let Some((at, timeout)) = self.deadline else {
            return Ok(request);
        };
        match at.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Ok(left.min(request)),
            _ => Err(Failure::err(
                Code::Unreachable,
                format!(
                    "Palette at {} did not answer {path} within the {} s --timeout allows",
                    self.host(),
                    timeout.as_secs()
                ),
            )),
        }
    }

    /// Sleeps `pause`, or what is left of the deadline if that is less.
    async fn pause(&self, pause: Duration, path: &str) -> anyhow::Result<()> {
        tokio::time::sleep(pause.min(self.left(path)?)).await;
        Ok(())
    }

    /// Whether what is sent to Palette crosses the network unencrypted (`http://`).
    pub fn in_clear_text(&self) -> bool {
        self.base.scheme() == "http"
    }

    /// `host[:port]` of Palette, for messages.
    pub fn host(&self) -> String {
        host_of(&self.base)
    }

    /// Every OCI registry of the tenant.
    pub async fn oci_registries(&self) -> anyhow::Result<Vec<OciRegistry>> {
        #[derive(Deserialize)]
        struct Summary {
            #[serde(default)]
            items: Option<Vec<OciRegistry>>,
        }
        let summary: Summary = self
            .json(Method::GET, "v1/registries/oci/summary", None, false)
            .await?;
        Ok(summary.items.unwrap_or_default())
    }

    /// The detail of a registry (`basic` or `ecr`): its spec as JSON.
    pub async fn registry_spec(&self, uid: &str, kind: &str) -> anyhow::Result<Value> {
        let detail: Value = self
            .json(
                Method::GET,
                &format!("v1/registries/oci/{uid}/{kind}"),
                None,
                false,
            )
            .await?;
        Ok(detail.get("spec").cloned().unwrap_or(Value::Null))
    }

    /// Starts a sync (202); `forceSync` stays false: Palette restarts a running sync only after
    /// an hour, so a running one is waited for instead.
    pub async fn trigger_sync(&self, uid: &str, kind: &str) -> anyhow::Result<Option<String>> {
        let path = format!("v1/registries/oci/{uid}/{kind}/sync?forceSync=false");
        let answer = self.call(Method::POST, &path, None, false).await?;
        let answer = self.expect(&path, answer)?;
        Ok(answer
            .headers
            .get("AuditUid")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string))
    }

    pub async fn sync_status(&self, uid: &str, kind: &str) -> anyhow::Result<SyncStatus> {
        self.json(
            Method::GET,
            &format!("v1/registries/oci/{uid}/{kind}/sync/status"),
            None,
            false,
        )
        .await
    }

    /// The versions Palette lists for pack `name` in registry `uid`; empty while it has none
    /// (the spec documents only 200: a 404 is read as "not yet").
    pub async fn pack_versions(&self, name: &str, uid: &str) -> anyhow::Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Tag {
            #[serde(default)]
            version: String,
        }
        #[derive(Deserialize)]
        struct Entity {
            #[serde(default)]
            tags: Option<Vec<Tag>>,
        }
        let path = format!("v1/packs/{name}/registries/{uid}");
        let answer = self.call(Method::GET, &path, None, true).await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        let entity: Entity = self.parse(&path, answer)?;
        Ok(entity
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.version)
            .collect())
    }

    /// Asks Palette whether it can reach and log in to the registry of kind `kind` (`basic`
    /// or `ecr`) `spec` describes (204).
    pub async fn validate_registry(&self, kind: &str, spec: &Value) -> anyhow::Result<()> {
        let path = &format!("v1/registries/oci/{kind}/validate");
        let answer = self.call(Method::POST, path, Some(spec), false).await?;
        self.expect(path, answer).map(drop)
    }

    /// Registers an OCI pack registry of kind `kind`; its uid.
    pub async fn create_registry(&self, kind: &str, registry: &Value) -> anyhow::Result<String> {
        let path = &format!("v1/registries/oci/{kind}?skipPackSync=false");
        // Not retried: a cut answer to a create that worked would create a second registry.
        let answer = self.call_once(Method::POST, path, Some(registry)).await?;
        let created: Meta = self.parse(path, answer)?;
        Ok(created.uid)
    }

    /// Palette's AWS account and the external ID a role it assumes must require
    /// (`GET /v1/clouds/aws/account/sts`, `V1AwsAccountStsGet`).
    pub async fn aws_sts_account(&self, partition: &str) -> anyhow::Result<Value> {
        self.json(
            Method::GET,
            &format!("v1/clouds/aws/account/sts?partition={partition}"),
            None,
            false,
        )
        .await
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        in_project: bool,
    ) -> anyhow::Result<T> {
        let answer = self.call(method, path, body, in_project).await?;
        self.parse(path, answer)
    }

    /// A success's body as `T`, or the refusal.
    fn parse<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        answer: Answer,
    ) -> anyhow::Result<T> {
        let answer = self.expect(path, answer)?;
        serde_json::from_slice(&answer.body).map_err(|e| {
            Failure::err(
                Code::Unexpected,
                format!("Palette's answer to {path} is not what its API spec describes ({e})"),
            )
        })
    }

    /// `answer` when it is a success, else the refusal as an error.
    fn expect(&self, path: &str, answer: Answer) -> anyhow::Result<Answer> {
        if !answer.status.is_success() {
            return Err(self.refused(path, answer.status, &answer.body));
        }
        if !answer.whole {
            return Err(Failure::err(
                Code::Unexpected,
                format!(
                    "Palette's answer to {path} is over {} MiB; refusing to read it",
                    MAX_ANSWER >> 20
                ),
            ));
        }
        Ok(answer)
    }

    /// One call, tried again while Palette is busy (429, after its `Retry-After`) or failing
    /// (5xx, a dropped connection); the last answer, whatever its status.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        in_project: bool,
    ) -> anyhow::Result<Answer> {
        self.call_tries(method, path, body, in_project, TRIES).await
    }

    /// [`Self::call`] without trying again.
    async fn call_once(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        self.call_tries(method, path, body, false, 1).await
    }

    async fn call_tries(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        in_project: bool,
        most: u32,
    ) -> anyhow::Result<Answer> {
        let url = self
            .base
            .join(path)
            .map_err(|e| anyhow::anyhow!("cannot address {path} on Palette: {e}"))?;
        let mut delay = PAUSE_START;
        let mut tries = 0;
        loop {
            tries += 1;
            let left = self.left(path)?;
            let mut key =
                reqwest::header::HeaderValue::from_str(self.key.expose()).map_err(|_| {
                    Failure::err(
                        Code::Usage,
                        "the Palette API key holds characters that cannot travel in an HTTP header",
                    )
                })?;
            key.set_sensitive(true);
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .timeout(left)
                .header("ApiKey", key)
                .header("Accept", "application/json");
            if in_project && let Some(project) = &self.project {
                request = request.header("ProjectUid", project);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let sent = request.send().await;
            let mut response = match sent {
                Ok(response) => response,
                Err(err) if tries < most && !crate::interrupt::requested() && !err.is_builder() => {
                    self.pause(delay, path).await?;
                    delay = (delay * 2).min(Duration::from_secs(16));
                    continue;
                }
                Err(err) => {
                    self.left(path)?;
                    return Err(Failure::err(
                        Code::Unreachable,
                        format!("cannot reach Palette at {}: {}", self.host(), chain(&err)),
                    ));
                }
            };
            let status = response.status();
            let (bytes, whole) = match read_prefix(&mut response, MAX_ANSWER).await {
                Ok(read) => read,
                Err(err) if tries < most => {
                    self.notes
                        .verbose(&format!("Palette's answer was cut ({err}); asking again"));
                    self.pause(delay, path).await?;
                    continue;
                }
                Err(err) => {
                    self.left(path)?;
                    return Err(Failure::err(
                        Code::Unreachable,
                        format!("cannot read Palette's answer to {path}: {}", chain(&err)),
                    ));
                }
            };
            if status == StatusCode::TOO_MANY_REQUESTS && tries < most {
                let wait = retry_after(response.headers()).unwrap_or(delay);
                self.notes.verbose(&format!(
                    "Palette asks to slow down (429); waiting {:.1} s",
                    wait.as_secs_f64()
                ));
                self.pause(wait, path).await?;
                delay = (delay * 2).min(Duration::from_secs(16));
                continue;
            }
            if status.is_server_error() && tries < most {
                self.pause(delay, path).await?;
                delay = (delay * 2).min(Duration::from_secs(16));
                continue;
            }
            return Ok(Answer {
                status,
                headers: response.headers().clone(),
                body: bytes,
                whole,
            });
        }
    }

    /// The error for a refusal: Palette's own code and message (`v1Error`), with the exit code
    /// the status calls for.
    fn refused(&self, path: &str, status: StatusCode, body: &[u8]) -> anyhow::Error {
        #[derive(Deserialize, Default)]
        struct V1Error {
            #[serde(default)]
            code: String,
            #[serde(default)]
            message: String,
        }
        let said: V1Error = serde_json::from_slice(body).unwrap_or_default();
        let message = if said.message.is_empty() {
            crate::output::excerpt(body, 300)
        } else {
            crate::output::excerpt(said.message.as_bytes(), 300)
        };
        let code = match status.as_u16() {
            401 | 403 => Code::Auth,
            429 | 500.. => Code::Unreachable,
            _ => Code::Unexpected,
        };
        let text = match status.as_u16() {
            401 => format!(
                "Palette at {} refused the API key (401 {}): check SPECTROCLOUD_APIKEY or `packpub login --palette`",
                self.host(),
                said.code
            ),
            403 => format!(
                "Palette at {} refused {path} for this API key (403 {}{}): registries are \
                 tenant-level, so registering one needs a tenant admin's key",
                self.host(),
                said.code,
                if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                }
            ),
            _ => format!(
                "Palette at {} answered {status} to {path}{}{}",
                self.host(),
                if said.code.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", said.code)
                },
                if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                }
            ),
        };
        Failure::err(code, text)
    }
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
    /// Whether `body` is all of it (it is read up to [`MAX_ANSWER`]).
    whole: bool,
}

/// `Retry-After` in seconds (an HTTP date counts as one second), capped.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let text = headers.get("Retry-After")?.to_str().ok()?.trim();
    let secs = text.parse::<u64>().unwrap_or(1);
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: &str, supported: bool) -> SyncStatus {
        SyncStatus {
            status: status.into(),
            is_sync_supported: supported,
            ..Default::default()
        }
    }

    #[test]
    fn sync_phases_read_as_terraform_reads_them() {
        for done in ["Success", "COMPLETED", "completed"] {
            assert_eq!(status(done, true).phase(), Phase::Done, "{done}");
        }
        for failed in ["Failed", "error"] {
            assert_eq!(status(failed, true).phase(), Phase::Failed, "{failed}");
        }
        for running in ["InProgress", "Running", "Syncing", "Pending"] {
            assert_eq!(status(running, true).phase(), Phase::Running, "{running}");
        }
        assert_eq!(status("", true).phase(), Phase::Unknown);
        assert_eq!(status("Whatever", true).phase(), Phase::Unknown);
        assert_eq!(status("Whatever", false).phase(), Phase::Done);
    }

    #[test]
    fn retry_after_is_seconds_capped() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("Retry-After", "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert("Retry-After", "9999".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(MAX_RETRY_AFTER));
        headers.insert(
            "Retry-After",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(1)));
    }
}
