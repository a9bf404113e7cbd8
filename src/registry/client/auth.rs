//! How a registry is told who is asking, done here rather than in `oci-client` so that every
//! answer is read with a cap and the credential goes only where it belongs.
//!
//! The registry says how it wants to be asked in the `WWW-Authenticate` challenge of its
//! `GET /v2/` answer (read once; a later 401 may teach it again): nothing, `Basic` (the
//! credential goes to the registry itself), or `Bearer` with a token service (realm). The
//! credential goes to a realm only over HTTPS, or over plain HTTP when the registry itself is
//! (`--plain-http`); a realm on another host is normal (Docker Hub's is auth.docker.io) and
//! `-v` names it. The token service's answer is read up to [`MAX_TOKEN_ANSWER`] bytes. A token
//! is kept per scope until shortly before the `expires_in` its service gave, and renewed when
//! the registry stops taking it (401). An identity token (docker's `identitytoken`) is an
//! OAuth2 refresh token: it is exchanged at the realm for an access token, as docker does, and
//! never sent to the registry itself.

use super::challenge;
use crate::credentials::{Again, Credential, Resolved};
use crate::exit::{Code, Failure};
use crate::http::{host_of, read_prefix};
use crate::output::Notes;
use crate::registry::errors;
use base64::Engine;
use http::header::{HeaderMap, HeaderValue, WWW_AUTHENTICATE};
use oci_client::errors::OciDistributionError;
use reqwest::Url;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What is read of a token service's answer: real tokens are a few KB.
const MAX_TOKEN_ANSWER: u64 = 1024 * 1024;
/// What is shown of a refusal's text.
const SHOWN_ANSWER: usize = 200;
/// A token's life when its service does not say (the token spec's default).
const DEFAULT_TOKEN_LIFE: Duration = Duration::from_secs(60);
/// The longest a token is kept, whatever its service says (and an absurd `expires_in` cannot
/// overflow the clock).
const MAX_TOKEN_LIFE: Duration = Duration::from_secs(24 * 3600);
/// What packpub calls itself when it trades an identity token (OAuth2 `client_id`).
const CLIENT_ID: &str = "packpub";

/// What a request needs the right to do.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    Pull(&'a str),
    Push(&'a str),
    Catalog,
}

impl fmt::Display for Scope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Pull(repository) => write!(f, "repository:{repository}:pull"),
            Scope::Push(repository) => write!(f, "repository:{repository}:pull,push"),
            Scope::Catalog => f.write_str("registry:catalog:*"),
        }
    }
}

/// How the registry wants to be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scheme {
    Open,
    Basic,
    Bearer { realm: Url, service: Option<String> },
}

/// An `Authorization` value and until when to use it.
#[derive(Clone)]
struct Kept {
    value: Option<HeaderValue>,
    until: Option<Instant>,
}

pub struct Auth {
    credential: Mutex<Option<Credential>>,
    /// The credential's source, asked once more when the registry refuses what it gave.
    again: Mutex<Option<Again>>,
    /// The registry's `GET /v2/` endpoint.
    probe: Url,
    host: String,
    plain_http: bool,
    scheme: tokio::sync::Mutex<Option<Scheme>>,
    kept: Mutex<HashMap<String, Kept>>,
    notes: Notes,
    /// Set once `-v` has named the token service.
    noted: std::sync::atomic::AtomicBool,
    /// Where the credential comes from when packpub gets it from AWS (an ECR host).
    ecr: Option<std::sync::Arc<crate::registry::ecr::Ecr>>,
}

impl Auth {
    pub fn new(
        credential: Resolved,
        probe: Url,
        host: &str,
        plain_http: bool,
        notes: Notes,
    ) -> Self {
        Self {
            credential: Mutex::new(credential.credential),
            again: Mutex::new(credential.again),
            probe,
            host: host.to_string(),
            plain_http,
            scheme: tokio::sync::Mutex::new(None),
            kept: Mutex::new(HashMap::new()),
            notes,
            noted: std::sync::atomic::AtomicBool::new(false),
            ecr: None,
        }
    }

    /// The user's own credential as `Basic`, for APIs beside the registry's that take it
    /// directly (Harbor's); `None` without a user name and password.
    pub fn basic(&self) -> anyhow::Result<Option<HeaderValue>> {
        match self.credential() {
            Some(Credential::Basic { username, password }) => basic(&username, &password).map(Some),
            _ => Ok(None),
        }
    }

    /// The credential is ECR's registry token, from AWS, renewed as it runs out.
    pub fn with_ecr(self, ecr: Option<std::sync::Arc<crate::registry::ecr::Ecr>>) -> Self {
        Self { ecr, ..self }
    }

    /// The credential and until when it holds: ECR's token, or the one resolved for the run.
    async fn current(&self) -> anyhow::Result<(Option<Credential>, Option<Instant>)> {
        match &self.ecr {
            Some(ecr) => {
                let (credential, until) = ecr.credential().await?;
                Ok((Some(credential), until))
            }
            None => Ok((self.credential(), None)),
        }
    }

    fn credential(&self) -> Option<Credential> {
        self.credential
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The registry refused the credential: asks its source (a docker credential helper) for
    /// it once more, and says whether it gave another one. Once per run.
    fn ask_again(&self) -> bool {
        let Some(again) = self.again.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return false;
        };
        let fresh = again();
        let mut credential = self.credential.lock().unwrap_or_else(|e| e.into_inner());
        if fresh.is_none() || fresh == *credential {
            return false;
        }
        self.notes.verbose(&format!(
            "{} refused the credential from the docker credential helper; it gave a new one",
            self.host
        ));
        *credential = fresh;
        self.kept().clear();
        true
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<String, Kept>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `Authorization` for requests in `scope`, from before while it lasts.
    pub async fn header(
        &self,
        http: &reqwest::Client,
        scope: Scope<'_>,
    ) -> anyhow::Result<Option<HeaderValue>> {
        let key = scope.to_string();
        if let Some(kept) = self.kept().get(&key)
            && kept.until.is_none_or(|until| Instant::now() < until)
        {
            return Ok(kept.value.clone());
        }
        let scheme = self.scheme(http, None).await?;
        self.obtain(http, &scheme, &key).await
    }

    /// The registry refused `sent` with a 401 whose headers are `answer`: learns its challenge
    /// anew and gets a fresh `Authorization`, or `None` when there is nothing new to try.
    pub async fn renew(
        &self,
        http: &reqwest::Client,
        scope: Scope<'_>,
        sent: Option<&HeaderValue>,
        answer: &HeaderMap,
    ) -> anyhow::Result<Option<HeaderValue>> {
        let key = scope.to_string();
        self.kept().remove(&key);
        if let Some(ecr) = &self.ecr {
            ecr.forget_token().await;
        }
        let scheme = self.scheme(http, Some(answer)).await?;
        let mut fresh = self.obtain(http, &scheme, &key).await?;
        if scheme == Scheme::Basic && fresh.as_ref() == sent && self.ask_again() {
            fresh = self.obtain(http, &scheme, &key).await?;
        }
        Ok(fresh.filter(|fresh| Some(fresh) != sent || matches!(scheme, Scheme::Bearer { .. })))
    }

    /// The registry's scheme: known from before, read from a 401's `answer`, else from
    /// `GET /v2/`.
    async fn scheme(
        &self,
        http: &reqwest::Client,
        answer: Option<&HeaderMap>,
    ) -> anyhow::Result<Scheme> {
        let mut known = self.scheme.lock().await;
        if let Some(answer) = answer.filter(|a| a.contains_key(WWW_AUTHENTICATE)) {
            *known = Some(self.read_challenge(answer)?);
        }
        if let Some(scheme) = known.as_ref() {
            return Ok(scheme.clone());
        }
        let mut response = http
            .get(self.probe.clone())
            .send()
            .await
            .map_err(OciDistributionError::from)?;
        let status = response.status();
        // Read and drop: the body says nothing the headers do not.
        read_prefix(&mut response, 0)
            .await
            .map_err(OciDistributionError::from)?;
        let scheme = if status.is_server_error() || status.as_u16() == 429 {
            return Err(errors::from_status(status.as_u16(), b"", self.probe.as_str()).into());
        } else {
            self.read_challenge(response.headers())?
        };
        *known = Some(scheme.clone());
        Ok(scheme)
    }

    /// The scheme a challenge asks for. Every `Bearer` realm in it is checked before any is
    /// used, and a challenge that cannot be read gets nothing.
    fn read_challenge(&self, headers: &HeaderMap) -> anyhow::Result<Scheme> {
        let mut bearer = None;
        let mut basic = false;
        for value in headers.get_all(WWW_AUTHENTICATE) {
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
            for challenge in challenges {
                if challenge.is("Basic") {
                    basic = true;
                } else if challenge.is("Bearer")
                    && let Some(realm) = challenge.param("realm")
                {
                    let realm = realm_url(&self.host, realm, self.plain_http)?;
                    let service = challenge.param("service").map(str::to_string);
                    bearer.get_or_insert(Scheme::Bearer { realm, service });
                }
            }
        }
        Ok(bearer.unwrap_or(if basic { Scheme::Basic } else { Scheme::Open }))
    }

    /// A fresh `Authorization` for `scope` under `scheme`, kept for next time.
    async fn obtain(
        &self,
        http: &reqwest::Client,
        scheme: &Scheme,
        scope: &str,
    ) -> anyhow::Result<Option<HeaderValue>> {
        let (credential, until) = self.current().await?;
        let kept = match (scheme, &credential) {
            (Scheme::Bearer { realm, service }, credential) => {
                let asked = self.token(http, realm, service.as_deref(), scope, credential.as_ref());
                match asked.await {
                    Err(refused) if is_refusal(&refused) && self.ask_again() => {
                        let credential = self.credential();
                        self.token(http, realm, service.as_deref(), scope, credential.as_ref())
                            .await?
                    }
                    other => other?,
                }
            }
            (Scheme::Basic, Some(Credential::Basic { username, password })) => Kept {
                value: Some(basic(username, password)?),
                until,
            },
            // An identity token is for a token service; a registry without one gets nothing.
            (Scheme::Basic | Scheme::Open, _) => Kept {
                value: None,
                until: None,
            },
        };
        self.kept().insert(scope.to_string(), kept.clone());
        Ok(kept.value)
    }

    /// Asks the token service `realm` for a token for `scope`: with the user's Basic
    /// credential (or none) on a `GET`, or by trading an identity token on a `POST`.
    async fn token(
        &self,
        http: &reqwest::Client,
        realm: &Url,
        service: Option<&str>,
        scope: &str,
        credential: Option<&Credential>,
    ) -> anyhow::Result<Kept> {
        let mut query = vec![("scope", scope)];
        query.extend(service.map(|service| ("service", service)));
        let request = match credential {
            Some(Credential::IdentityToken(token)) => {
                let mut form = vec![
                    ("grant_type", "refresh_token"),
                    ("client_id", CLIENT_ID),
                    ("refresh_token", token.expose()),
                ];
                form.extend(query);
                // Sent as a one-shot stream: reqwest follows a 307/308 only with a body it can
                // send again, so the refresh token never goes where a redirect points.
                let body = serde_urlencoded_form(&form);
                let once = futures_util::stream::once(async move {
                    Ok::<_, std::io::Error>(body.into_bytes())
                });
                http.post(realm.clone())
                    .header(
                        http::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(reqwest::Body::wrap_stream(once))
            }
            Some(Credential::Basic { username, password }) => http
                .get(realm.clone())
                .query(&query)
                .basic_auth(username, Some(password.expose())),
            None => http.get(realm.clone()).query(&query),
        };
        let what = match credential {
            Some(Credential::IdentityToken(_)) => Some("identity token"),
            Some(Credential::Basic { .. }) => Some("password"),
            None => None,
        };
        if let Some(what) = what
            && !self.noted.swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            self.notes.verbose(&format!(
                "the {what} for {} goes to its token service on {}",
                self.host,
                host_of(realm)
            ));
        }
        let started = Instant::now();
        let service_name = host_of(realm);
        // A token service too slow to answer is named as the culprit, not the registry.
        let slow = |err: reqwest::Error| -> anyhow::Error {
            if err.is_timeout() {
                Failure::err(
                    Code::Unreachable,
                    format!(
                        "the token service of {} on {service_name} did not answer within {} s \
                         (--request-timeout)",
                        self.host,
                        crate::http::request_timeout().as_secs()
                    ),
                )
            } else {
                OciDistributionError::from(err).into()
            }
        };
        let mut response = request.send().await.map_err(slow)?;
        let status = response.status();
        let (body, whole) = read_prefix(&mut response, MAX_TOKEN_ANSWER)
            .await
            .map_err(slow)?;
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(errors::from_status(status.as_u16(), &body, realm.as_str()).into());
        }
        if !status.is_success() {
            let said = crate::output::excerpt(&body, SHOWN_ANSWER);
            return Err(Failure::err(
                Code::Auth,
                format!(
                    "{} {}: its token service on {service_name} answered \
                     {status}{}",
                    errors::REFUSED,
                    self.host,
                    if said.trim().is_empty() {
                        String::new()
                    } else {
                        format!(": {}", said.trim())
                    }
                ),
            ));
        }
        let unreadable = |why: &str| {
            Failure::err(
                Code::Auth,
                format!(
                    "the token service of {} on {service_name} sent an answer packpub cannot use \
                     ({why})",
                    self.host
                ),
            )
        };
        if !whole {
            return Err(unreadable(&format!(
                "over {} KiB, far more than any token",
                MAX_TOKEN_ANSWER >> 10
            )));
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            token: Option<String>,
            access_token: Option<String>,
            expires_in: Option<u64>,
        }
        let answer: Answer = serde_json::from_slice(&body)
            .map_err(|e| unreadable(&format!("not the JSON of a token: {e}")))?;
        let token = answer
            .token
            .filter(|t| !t.is_empty())
            .or(answer.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unreadable("no token in it"))?;
        let value = sensitive(&format!("Bearer {token}"))
            .ok_or_else(|| unreadable("a token that cannot travel in an HTTP header"))?;
        let life = answer
            .expires_in
            .map_or(DEFAULT_TOKEN_LIFE, Duration::from_secs)
            .min(MAX_TOKEN_LIFE);
        // Renewed a little before its service says it ends, so it never ends in flight.
        let until = started + life - life / 10;
        Ok(Kept {
            value: Some(value),
            until: Some(until),
        })
    }
}

/// The `Basic` `Authorization` of `username` and `password`.
fn basic(username: &str, password: &crate::redacted::Secret) -> anyhow::Result<HeaderValue> {
    let pair = format!("{username}:{}", password.expose());
    let text = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    );
    sensitive(&text).ok_or_else(|| {
        Failure::err(
            Code::Auth,
            "the user name holds characters that cannot travel in an HTTP header",
        )
    })
}

/// Whether `err` is a token service refusing the credential (exit 4), not a failure to
/// reach it.
fn is_refusal(err: &anyhow::Error) -> bool {
    crate::exit::failure_of(err).is_some_and(|f| f.code == Code::Auth)
}

/// `pairs` as an `application/x-www-form-urlencoded` body.
fn serde_urlencoded_form(pairs: &[(&str, &str)]) -> String {
    let mut url = Url::parse("http://form.invalid/").expect("a valid URL");
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().to_string()
}

/// `text` as a header value that stays out of debug output, if it can be one.
fn sensitive(text: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(text).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// The token service `realm` (from `host`'s challenge) as a URL the credential may go to, or
/// why not (exit 4).
pub fn realm_url(host: &str, realm: &str, plain_http: bool) -> anyhow::Result<Url> {
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

#[cfg(test)]
mod tests {
    use super::*;

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

    fn auth() -> Auth {
        let probe = Url::parse("https://r.io/v2/").unwrap();
        let anonymous = Resolved {
            credential: None,
            source: crate::credentials::Source::Anonymous,
            again: None,
        };
        Auth::new(anonymous, probe, "r.io", false, Notes::silent())
    }

    fn challenge(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(WWW_AUTHENTICATE, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn the_first_bearer_realm_wins_and_every_realm_is_checked() {
        let auth = auth();
        assert_eq!(
            auth.read_challenge(&challenge(&[
                r#"Basic realm="x""#,
                r#"Bearer realm="https://auth.r.io/token",service="r.io""#
            ]))
            .unwrap(),
            Scheme::Bearer {
                realm: Url::parse("https://auth.r.io/token").unwrap(),
                service: Some("r.io".into())
            }
        );
        assert_eq!(
            auth.read_challenge(&challenge(&[r#"Basic realm="registry""#]))
                .unwrap(),
            Scheme::Basic
        );
        assert_eq!(
            auth.read_challenge(&HeaderMap::new()).unwrap(),
            Scheme::Open
        );
        // A second, clear-text realm spoils the challenge even behind a good one.
        let refused = auth
            .read_challenge(&challenge(&[
                r#"Bearer realm="https://auth.r.io/token""#,
                r#"Bearer realm="http://evil.io/token""#,
            ]))
            .unwrap_err();
        assert!(refused.to_string().contains("plain HTTP"), "{refused}");
        assert!(
            auth.read_challenge(&challenge(&["Bearer realm=\"a"]))
                .is_err()
        );
    }

    #[test]
    fn scopes_read_as_the_token_spec_writes_them() {
        assert_eq!(Scope::Pull("p/a").to_string(), "repository:p/a:pull");
        assert_eq!(Scope::Push("p/a").to_string(), "repository:p/a:pull,push");
        assert_eq!(Scope::Catalog.to_string(), "registry:catalog:*");
    }
}
