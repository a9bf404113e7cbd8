//! Amazon ECR as Palette users run it (issue 23; facts and sources in the project's
//! `shared/registries.md`): the registry token from the user's own AWS credential chain, the
//! repositories a push needs created before its first blob, and listing through ECR's API,
//! since ECR has no `_catalog`.
//!
//! - The token: GetAuthorizationToken in the host's region (FIPS endpoint for `dkr.ecr-fips`),
//!   kept for the run and fetched anew 15 minutes before the `expiresAt` AWS gives (a tenth
//!   of its life if less), or after the registry refuses it (401). An `expiresAt` already past when it arrives (a clock off by
//!   hours, or a stand-in's fixed date) is read as "renew only on a 401", never as a loop.
//! - Repositories: the base path's and the pack's, found by DescribeRepositories, else made by
//!   CreateRepository with the AWS CLI's defaults (mutable tags, AES256) unless the user set
//!   `--ecr-tags`, `--image-tag-mutability`, `--encryption-type`/`--kms-key`. One that appears
//!   in between (RepositoryAlreadyExists) is fine. Without `ecr:CreateRepository` the error
//!   names the permission and prints the `aws ecr create-repository` commands.
//! - The SDK's own HTTP client takes the proxy from `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`
//!   (its rule: no port matching in `NO_PROXY`, loopback not exempt) and packpub's connect and
//!   request timeouts; it trusts the system's CAs, not `--ca-file` (AWS's API has public
//!   certificates).

use crate::credentials::Credential;
use crate::exit::{Code, Failure};
use crate::output::Notes;
use crate::redacted::Secret;
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// ECR refuses a non-final upload part under 5 MiB (service quotas; dotnet/sdk-container-builds#279).
pub const MIN_PART: u64 = 5 << 20;
/// A token is renewed this long before AWS says it ends, so it never ends in flight.
const RENEW_BEFORE: Duration = Duration::from_secs(15 * 60);

static SETTINGS: OnceLock<RepositorySettings> = OnceLock::new();

/// Sets how this run creates ECR repositories, once, before the first registry is opened
/// (`push` and `copy` do it from their flags); later calls change nothing.
pub fn configure(settings: RepositorySettings) {
    let _ = SETTINGS.set(settings);
}

fn settings() -> RepositorySettings {
    SETTINGS.get().cloned().unwrap_or_default()
}

/// The token and until when to use it (`None`: until the registry refuses it).
struct Token {
    credential: Credential,
    until: Option<Instant>,
}

/// One ECR registry for one run: its API client (made on first use), the token, and the
/// repositories already known to exist.
pub struct Ecr {
    host: String,
    ecr: EcrHost,
    api: tokio::sync::OnceCell<aws::Api>,
    token: tokio::sync::Mutex<Option<Token>>,
    known: Mutex<HashSet<String>>,
    notes: Notes,
}

impl Ecr {
    /// The ECR registry at `host`, or `None` when `host` is not one.
    pub fn new(host: &str, notes: Notes) -> Option<Self> {
        Some(Self {
            host: host.to_string(),
            ecr: EcrHost::parse(host)?,
            api: tokio::sync::OnceCell::new(),
            token: tokio::sync::Mutex::new(None),
            known: Mutex::new(HashSet::new()),
            notes,
        })
    }

    async fn api(&self) -> anyhow::Result<&aws::Api> {
        self.api
            .get_or_try_init(|| aws::Api::connect(&self.ecr, &self.host))
            .await
    }

    /// The registry credential (`AWS` and the token's password), kept from before while it
    /// lasts, and until when to use it.
    pub async fn credential(&self) -> anyhow::Result<(Credential, Option<Instant>)> {
        let mut token = self.token.lock().await;
        if let Some(kept) = token.as_ref()
            && kept.until.is_none_or(|until| Instant::now() < until)
        {
            return Ok((kept.credential.clone(), kept.until));
        }
        let (encoded, expires) = self.api().await?.authorization_token().await?;
        let credential = decode_token(&encoded, &self.host)?;
        let until = renewal(expires, SystemTime::now(), Instant::now());
        self.notes.verbose(&format!(
            "credentials for {}: a registry token from the AWS credential chain (GetAuthorizationToken in {})",
            self.host, self.ecr.region
        ));
        *token = Some(Token {
            credential: credential.clone(),
            until,
        });
        Ok((credential, until))
    }

    /// The registry refused the token: the next [`Self::credential`] asks AWS for a new one.
    pub async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    /// Makes sure each of `repositories` (full names) exists, creating the missing ones.
    /// Unless `required` (the user gave the registry credential, and may have no AWS identity
    /// and made the repositories already), a failure to ask AWS is only a `-v` note.
    pub async fn ensure(&self, repositories: &[String], required: bool) -> anyhow::Result<()> {
        let mut missing = Vec::new();
        for name in repositories.iter().filter(|name| !self.is_known(name)) {
            let found = match self.api().await {
                Ok(api) => api.repository_exists(&self.ecr.account, name).await,
                Err(err) => Err(err),
            };
            match found {
                Ok(true) => {
                    self.known().insert(name.clone());
                }
                Ok(false) => missing.push(name.clone()),
                Err(err) if !required => {
                    self.notes.verbose(&format!(
                        "cannot check the ECR repositories through AWS's API ({err:#}); going on \
                         with the credentials given"
                    ));
                    return Ok(());
                }
                Err(err) => return Err(err),
            }
        }
        let Some(api) = self.api.get().filter(|_| !missing.is_empty()) else {
            return Ok(());
        };
        let settings = settings();
        for (i, name) in missing.iter().enumerate() {
            match api
                .create_repository(&self.ecr.account, name, &settings)
                .await
            {
                Ok(()) => self
                    .notes
                    .warn(&format!("created the ECR repository {}/{name}", self.host)),
                Err(Refusal::Denied(why)) => {
                    return Err(self.cannot_create(&missing[i..], &settings, &why));
                }
                Err(Refusal::Other(err)) => return Err(err),
            }
            self.known().insert(name.clone());
        }
        Ok(())
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_known(&self, name: &str) -> bool {
        self.known().contains(name)
    }

    /// The error when AWS refused CreateRepository: the permission, and the commands that
    /// create `missing` for whoever has it.
    fn cannot_create(
        &self,
        missing: &[String],
        settings: &RepositorySettings,
        why: &str,
    ) -> anyhow::Error {
        let commands: Vec<String> = missing
            .iter()
            .map(|name| {
                format!(
                    "  aws ecr create-repository --repository-name {name} --region {}{}",
                    self.ecr.region,
                    settings.cli_options()
                )
            })
            .collect();
        Failure::err(
            Code::Auth,
            format!(
                "{} has no repository {} and AWS refused to create it ({why}): the AWS identity \
                 packpub uses lacks the permission ecr:CreateRepository. Grant it, or have \
                 someone who has it run:\n{}",
                self.host,
                missing.join(" or "),
                commands.join("\n")
            ),
        )
    }

    /// Every repository below `prefix` (full names less `prefix/`), by DescribeRepositories.
    pub async fn repositories(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        let all = self
            .api()
            .await?
            .repository_names(&self.ecr.account)
            .await?;
        Ok(all
            .into_iter()
            .filter_map(|name| match prefix {
                "" => Some(name),
                prefix => name
                    .strip_prefix(prefix)
                    .and_then(|rest| rest.strip_prefix('/'))
                    .map(str::to_string),
            })
            .collect())
    }

    /// Every tag of `repository` (full name), by ListImages; empty when it does not exist.
    pub async fn tags(&self, repository: &str) -> anyhow::Result<Vec<String>> {
        self.api()
            .await?
            .image_tags(&self.ecr.account, repository)
            .await
    }

    /// An upload to `repository` (full name) whose connection was cut: ECR does that when the
    /// repository does not exist, so the error says so and how to create it.
    pub fn cut(&self, err: anyhow::Error, repository: &str) -> anyhow::Error {
        err.context(format!(
            "ECR closed the connection during the upload to {}/{repository}, which is what it \
             does when the repository does not exist; create it (`aws ecr create-repository \
             --repository-name {repository} --region {}`), or let packpub create it by giving it \
             AWS credentials with ecr:CreateRepository",
            self.host, self.ecr.region
        ))
    }
}

/// When to renew a token AWS says `expires` (read at `now`, `instant`): [`RENEW_BEFORE`]
/// earlier, or a tenth of its life when that is shorter (a clock far ahead must not make every
/// request ask again); `None` (only when refused) for no date, or one already past.
fn renewal(expires: Option<SystemTime>, now: SystemTime, instant: Instant) -> Option<Instant> {
    let left = expires?.duration_since(now).ok()?;
    Some(instant + left - RENEW_BEFORE.min(left / 10))
}

/// `AWS:<password>`, base64 as GetAuthorizationToken gives it, as a Basic credential.
fn decode_token(encoded: &Secret, host: &str) -> anyhow::Result<Credential> {
    use base64::Engine;
    let unusable = || {
        Failure::err(
            Code::Auth,
            format!("AWS gave a registry token for {host} that is not base64 of USER:PASSWORD"),
        )
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.expose().trim())
        .map_err(|_| unusable())?;
    let decoded = Secret::new(String::from_utf8(decoded).map_err(|_| unusable())?);
    let (user, password) = decoded.expose().split_once(':').ok_or_else(unusable)?;
    Ok(Credential::basic(user, Secret::new(password.to_string())))
}

mod types;
pub(crate) use types::Refusal;
pub use types::{EcrHost, RepositorySettings};

#[cfg(feature = "ecr")]
mod aws;

/// Built without the `ecr` feature: no AWS SDK, so ECR takes only credentials given as for
/// any registry.
#[cfg(not(feature = "ecr"))]
mod aws {
    use super::{EcrHost, Refusal, RepositorySettings};
    use crate::redacted::Secret;

    pub enum Api {}

    impl Api {
        pub async fn connect(_: &EcrHost, host: &str) -> anyhow::Result<Self> {
            Err(crate::exit::Failure::err(
                crate::exit::Code::Auth,
                format!(
                    "no credentials for {host}, and this packpub was built without ECR support \
                     (the `ecr` feature): log in with `aws ecr get-login-password | packpub \
                     login --username AWS --password-stdin {host}`"
                ),
            ))
        }

        pub async fn authorization_token(
            &self,
        ) -> anyhow::Result<(Secret, Option<std::time::SystemTime>)> {
            match *self {}
        }

        pub async fn repository_exists(&self, _: &str, _: &str) -> anyhow::Result<bool> {
            match *self {}
        }

        pub async fn create_repository(
            &self,
            _: &str,
            _: &str,
            _: &RepositorySettings,
        ) -> Result<(), Refusal> {
            match *self {}
        }

        pub async fn repository_names(&self, _: &str) -> anyhow::Result<Vec<String>> {
            match *self {}
        }

        pub async fn image_tags(&self, _: &str, _: &str) -> anyhow::Result<Vec<String>> {
            match *self {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_hosts_as_the_credential_helper_reads_them() {
        let plain = EcrHost::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com").unwrap();
        assert_eq!(
            plain,
            EcrHost {
                account: "123456789012".into(),
                region: "us-east-1".into(),
                fips: false
            }
        );
        let fips = EcrHost::parse("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com:5000");
        assert!(fips.is_some_and(|h| h.fips && h.region == "us-gov-west-1"));
        let china = EcrHost::parse("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn").unwrap();
        assert_eq!(china.region, "cn-north-1");
        for other in [
            "harbor.example.com",
            "12345.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.io",
            "public.ecr.aws",
            "123456789012.dkr.s3.us-east-1.amazonaws.com",
            "x.123456789012.dkr.ecr.us-east-1.amazonaws.com",
        ] {
            assert_eq!(EcrHost::parse(other), None, "{other}");
        }
    }

    #[test]
    fn a_token_is_renewed_before_it_ends_and_a_past_date_never_loops() {
        let (now, instant) = (SystemTime::now(), Instant::now());
        let twelve_hours = Duration::from_secs(12 * 3600);
        assert_eq!(
            renewal(Some(now + twelve_hours), now, instant),
            Some(instant + twelve_hours - RENEW_BEFORE)
        );
        // moto's token "expired" in 2015: kept until the registry refuses it.
        let in_2015 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_420_070_400);
        assert_eq!(renewal(Some(in_2015), now, instant), None);
        assert_eq!(renewal(None, now, instant), None);
        // Little left (a clock hours ahead): still used for most of it.
        let soon = renewal(Some(now + Duration::from_secs(60)), now, instant);
        assert_eq!(soon, Some(instant + Duration::from_secs(54)));
    }

    #[test]
    fn tokens_decode_to_basic_credentials() {
        let credential =
            decode_token(&Secret::new("QVdTOnNlY3JldDp3aXRoOmNvbG9ucw==".into()), "r").unwrap();
        assert_eq!(
            credential,
            Credential::basic("AWS", Secret::new("secret:with:colons".into()))
        );
        assert!(decode_token(&Secret::new("not base64!".into()), "r").is_err());
    }

    #[test]
    fn printed_commands_carry_the_chosen_options() {
        let settings = RepositorySettings {
            tags: vec![("team".into(), "platform".into())],
            immutable: true,
            kms: true,
            kms_key: Some("alias/packs".into()),
        };
        assert_eq!(
            settings.cli_options(),
            " --image-tag-mutability IMMUTABLE --encryption-configuration \
             encryptionType=KMS,kmsKey=alias/packs --tags Key=team,Value=platform"
        );
        assert_eq!(RepositorySettings::default().cli_options(), "");
    }
}
