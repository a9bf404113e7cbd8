//! Registry errors in the user's terms: what `oci-client` and the registry said, turned into
//! what the user can do about it (`--ca-file`, `--plain-http`, ECR's create-repository commands,
//! a new version) and packpub's exit code. Also which errors are worth a retry.

use crate::exit::{Code, Failure};
use crate::interrupt;
use oci_client::errors::{OciDistributionError, OciErrorCode};

/// How a registry's refusal of the credential (or of none) starts: 401, a token service's
/// refusal.
pub const REFUSED: &str = "authentication failed for";
/// How a registry's refusal of access (403) goes on after its name.
const DENIED: &str = "denied access to";

/// Whether `err` is the registry refusing who packpub is (or is not): worth naming where the
/// credential came from, or that none was found. A refused client certificate is not.
pub fn is_refusal(err: &anyhow::Error) -> bool {
    crate::exit::failure_of(err).is_some_and(|f| {
        f.code == Code::Auth && (f.message.starts_with(REFUSED) || f.message.contains(DENIED))
    }) && !crate::credentials::is_explained(err)
}

/// Which side of a `copy` between two registries a registry is: the flags that fix its
/// transport are that side's (`--src-ca-file`, `PACKPUB_DST_PLAIN_HTTP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Src,
    Dst,
}

/// `flag` (`ca-file`) as the flag and the variable of `side`'s registry: `--ca-file` and
/// `PACKPUB_CA_FILE` with none.
fn flag(side: Option<Side>, flag: &str) -> (String, String) {
    let prefix = match side {
        None => "",
        Some(Side::Src) => "src-",
        Some(Side::Dst) => "dst-",
    };
    let named = format!("{prefix}{flag}");
    let env = format!("PACKPUB_{}", named.replace('-', "_").to_uppercase());
    (format!("--{named}"), env)
}

/// The registry's words, turned into what the user can do about them, with an exit code;
/// `what` was being done, on the `copy` side `side` if any.
pub fn translate(
    host: &str,
    repository: &str,
    err: OciDistributionError,
    (what, side): (&str, Option<Side>),
) -> anyhow::Error {
    let chain = error_text(&err);
    let lower = chain.to_lowercase();
    let (code, message) = if lower.contains("no required ssl certificate was sent")
        || lower.contains("certificaterequired")
        || lower.contains("certificate required")
    {
        // nginx answers 400 with this page; other servers end the handshake with an alert.
        (
            Code::Auth,
            format!(
                "{host} asks for a client certificate (mutual TLS) and none was sent: pass \
                 --cert-file PEM --key-file PEM (or PACKPUB_CERT_FILE and PACKPUB_KEY_FILE), or \
                 put NAME.cert and NAME.key in /etc/docker/certs.d/{host}/"
            ),
        )
    } else if lower.contains("the ssl certificate error")
        || lower.contains("badcertificate")
        || lower.contains("unknownca")
    {
        (
            Code::Auth,
            format!(
                "{host} refused the client certificate (not signed by a CA it trusts, expired, \
                 or not for client use): {chain}"
            ),
        )
    } else if lower.contains("notvalidforname") {
        (
            Code::Unreachable,
            format!(
                "TLS: the certificate of {host} is not made out to that name ({chain}); reach the \
                 registry by a name its certificate holds (its subjectAltName)"
            ),
        )
    } else if lower.contains("certificate expired") || (lower.contains("expired") && is_tls(&chain))
    {
        (
            Code::Unreachable,
            format!("TLS: the certificate of {host} is expired or not yet valid ({chain})"),
        )
    } else if lower.contains("unknownissuer")
        || lower.contains("unknown issuer")
        || lower.contains("invalid peer certificate")
        || lower.contains("self-signed")
        || lower.contains("self signed")
    {
        let (ca_file, ca_env) = flag(side, "ca-file");
        (
            Code::Unreachable,
            format!(
                "TLS: the certificate of {host} is not signed by a trusted authority ({chain}); pass the registry's CA (or its self-signed certificate) with {ca_file} PEM (or {ca_env}), or put it in /etc/docker/certs.d/{host}/ca.crt"
            ),
        )
    } else if let Some(scheme) = wrong_scheme(&lower) {
        let (plain, plain_env) = flag(side, "plain-http");
        let fix = match scheme {
            Scheme::Http => {
                format!("answers plain HTTP, not HTTPS: add {plain} (or {plain_env}=1)")
            }
            Scheme::Https => format!("answers HTTPS, not plain HTTP: drop {plain}"),
        };
        (Code::Unreachable, format!("{host} {fix} ({chain})"))
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
        (Code::Auth, format!("{REFUSED} {host}: {chain}"))
    } else if has_code(&err, &[OciErrorCode::Denied]) || status(&err) == Some(403) {
        (
            Code::Auth,
            format!(
                "{host} {DENIED} {what} (insufficient scope: the account needs push and pull on this repository): {chain}"
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
    } else if has_code(&err, &[OciErrorCode::DigestInvalid]) {
        (
            Code::Unreachable,
            format!(
                "{host} received other bytes than were sent to {what}, again after the retries \
                 (DIGEST_INVALID): the connection cuts or alters uploads (a proxy?): {chain}"
            ),
        )
    } else if is_busy(&err) {
        // Retries have run out by now: the registry is there but not serving.
        (
            Code::Unreachable,
            format!("{host} is unavailable: it kept failing to {what} ({chain}); try again later"),
        )
    } else {
        (Code::Unexpected, format!("{host}: cannot {what}: {chain}"))
    };
    Failure::err(code, message)
}

/// What is shown of an error answer that is not the OCI error envelope: enough for a proxy's
/// one-line reason, never a flood.
const SHOWN_ERROR: usize = 300;

/// The error for a registry's answer other than 200 to a request made outside `oci-client`,
/// built as the crate builds its own (a 4xx body is the OCI error envelope when it parses), so
/// [`translate`], [`is_not_found`] and [`is_transient`] read both alike. `body` is as much of the
/// answer as was read.
pub fn from_status(status: u16, body: &[u8], url: &str) -> OciDistributionError {
    let url = url.to_string();
    match status {
        401 => OciDistributionError::UnauthorizedError { url },
        200..=299 => OciDistributionError::SpecViolationError(format!(
            "Expected HTTP Status 200 OK, got {status} instead"
        )),
        // Busy answers keep their status, whatever their body, so they are retried.
        408 | 429 => OciDistributionError::ServerError {
            code: status,
            url,
            message: crate::output::excerpt(body, SHOWN_ERROR),
        },
        400..=499 => match serde_json::from_slice(body) {
            Ok(envelope) => OciDistributionError::RegistryError { envelope, url },
            Err(_) => OciDistributionError::ServerError {
                code: status,
                url,
                message: crate::output::excerpt(body, SHOWN_ERROR),
            },
        },
        code => OciDistributionError::ServerError {
            code,
            url,
            message: crate::output::excerpt(body, SHOWN_ERROR),
        },
    }
}

/// Whether the error says the manifest, tag or repository does not exist.
pub fn is_not_found(err: &OciDistributionError) -> bool {
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
pub fn is_transient(err: &OciDistributionError) -> bool {
    match err {
        OciDistributionError::RequestError(e) => {
            let text = error_text(err);
            !e.is_builder()
                && !e.is_redirect()
                && !is_tls(&text)
                && wrong_scheme(&text.to_lowercase()).is_none()
        }
        OciDistributionError::IoError(e) => {
            e.kind() != std::io::ErrorKind::NotFound && !interrupt::requested()
        }
        _ => is_busy(err),
    }
}

/// 408, 429 and 5xx: the registry answered, but is not serving now. DIGEST_INVALID too: the
/// registry got other bytes than were sent, which a cut connection does (it takes a truncated
/// body as all of it); the same request sent again is right.
fn is_busy(err: &OciDistributionError) -> bool {
    status(err).is_some_and(|s| s == 408 || s == 429 || s >= 500)
        || has_code(
            err,
            &[OciErrorCode::Toomanyrequests, OciErrorCode::DigestInvalid],
        )
}

/// The scheme a registry speaks, when packpub spoke the other.
enum Scheme {
    Http,
    Https,
}

/// Which scheme the registry speaks when an error (`lower`, lowercased) says packpub spoke the
/// other: a TLS handshake answered in plain HTTP, or plain HTTP answered with a TLS record or
/// refused in words (Go's server, nginx). Never worth a retry.
fn wrong_scheme(lower: &str) -> Option<Scheme> {
    let said = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if said(&[
        "wrong version number",
        "corrupt message",
        "invalidcontenttype",
    ]) {
        Some(Scheme::Http)
    } else if said(&[
        "invalid http version",
        "http/0.9",
        "client sent an http request to an https server",
        "plain http request was sent to https port",
    ]) {
        Some(Scheme::Https)
    } else {
        None
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
/// An error and its causes in one line, a cause left out when the text before already says it
/// (reqwest and hyper repeat each other).
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let said = inner.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = inner.source();
    }
    text
}

fn error_text(err: &OciDistributionError) -> String {
    let mut text = chain(err);
    if let OciDistributionError::RegistryError { envelope, .. } = err {
        for e in &envelope.errors {
            text.push_str(&format!(" [{:?}: {}]", e.code, e.message));
        }
    }
    text
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
            ("write the manifest", None),
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
    fn answers_read_here_translate_like_the_crates_own() {
        let not_found = from_status(
            404,
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
            "u",
        );
        assert!(is_not_found(&not_found));
        assert!(is_not_found(&from_status(404, b"<html>", "u")));
        assert!(is_transient(&from_status(503, b"", "u")));
        assert_eq!(translated(from_status(401, b"", "u")).0, Code::Auth);
        let (code, message) = translated(from_status(412, b"tag is immutable", "u"));
        assert_eq!(code, Code::Conflict);
        assert!(message.contains("tag is immutable"), "{message}");
    }

    /// A cut connection can leave the registry with a truncated body it takes as the whole:
    /// its DIGEST_INVALID is sent again, and after the retries it is a network failure (7).
    #[test]
    fn digest_invalid_is_retried_then_unreachable() {
        let body = br#"{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]}"#;
        assert!(is_transient(&from_status(400, body, "u")));
        let (code, message) = translated(from_status(400, body, "u"));
        assert_eq!(code, Code::Unreachable);
        assert!(
            message.contains("received other bytes than were sent"),
            "{message}"
        );
        // Busy answers with a JSON body of another code are retried too.
        let busy = br#"{"errors":[{"code":"UNKNOWN","message":"slow down"}]}"#;
        assert!(is_transient(&from_status(429, busy, "u")));
        assert!(is_transient(&from_status(408, busy, "u")));
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
