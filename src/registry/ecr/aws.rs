//! The ECR API calls, through the AWS SDK for Rust and the default credential chain
//! (`aws-config`): environment keys, `AWS_PROFILE` with `~/.aws/config` and `credentials`
//! (SSO, `credential_process`, `role_arn`), web identity (`AWS_ROLE_ARN` +
//! `AWS_WEB_IDENTITY_TOKEN_FILE`), container and instance metadata. `AWS_ENDPOINT_URL(_ECR)`
//! points it elsewhere, as for every AWS SDK.

use super::types::{EcrHost, Refusal, RepositorySettings};
use crate::exit::{Code, Failure};
use crate::redacted::Secret;
use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_ecr::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ecr::types::{EncryptionConfiguration, EncryptionType, ImageTagMutability, TagStatus};
use std::time::{Duration, SystemTime};

/// packpub's connect timeout, as for every HTTP client it has (src/http).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// The error codes AWS answers when the identity may not do what was asked.
const DENIED: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "UnauthorizedOperation",
];

pub struct Api {
    client: aws_sdk_ecr::Client,
    host: String,
}

impl Api {
    /// The ECR API of `ecr`'s region, with the credential chain's identity (resolved on the
    /// first call).
    pub async fn connect(ecr: &EcrHost, host: &str) -> anyhow::Result<Self> {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_attempt_timeout(crate::http::request_timeout())
            .build();
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(ecr.region.clone()))
            .use_fips(ecr.fips)
            .timeout_config(timeouts)
            .load()
            .await;
        Ok(Self {
            client: aws_sdk_ecr::Client::new(&config),
            host: host.to_string(),
        })
    }

    /// GetAuthorizationToken: the base64 `AWS:<password>` and when AWS says it ends.
    pub async fn authorization_token(&self) -> anyhow::Result<(Secret, Option<SystemTime>)> {
        let answer = self
            .client
            .get_authorization_token()
            .send()
            .await
            .map_err(|e| self.failed(e, "GetAuthorizationToken"))?;
        let data = answer
            .authorization_data()
            .first()
            .and_then(|d| Some((d.authorization_token()?, d.expires_at())))
            .ok_or_else(|| {
                Failure::err(
                    Code::Auth,
                    format!(
                        "AWS gave no registry token for {} (GetAuthorizationToken)",
                        self.host
                    ),
                )
            })?;
        let expires = data.1.and_then(|at| SystemTime::try_from(*at).ok());
        Ok((Secret::new(data.0.to_string()), expires))
    }

    /// DescribeRepositories of the one repository `name`.
    pub async fn repository_exists(&self, account: &str, name: &str) -> anyhow::Result<bool> {
        match self
            .client
            .describe_repositories()
            .registry_id(account)
            .repository_names(name)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_repository_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(self.failed(err, "DescribeRepositories")),
        }
    }

    /// CreateRepository with `settings`; one that exists already is fine.
    pub async fn create_repository(
        &self,
        account: &str,
        name: &str,
        settings: &RepositorySettings,
    ) -> Result<(), Refusal> {
        let mut request = self
            .client
            .create_repository()
            .registry_id(account)
            .repository_name(name)
            .image_tag_mutability(if settings.immutable {
                ImageTagMutability::Immutable
            } else {
                ImageTagMutability::Mutable
            });
        for (key, value) in &settings.tags {
            let tag = aws_sdk_ecr::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|e| Refusal::Other(anyhow::anyhow!("--ecr-tags {key}={value}: {e}")))?;
            request = request.tags(tag);
        }
        if settings.kms {
            let encryption = EncryptionConfiguration::builder()
                .encryption_type(EncryptionType::Kms)
                .set_kms_key(settings.kms_key.clone())
                .build()
                .map_err(|e| Refusal::Other(anyhow::anyhow!("--kms-key: {e}")))?;
            request = request.encryption_configuration(encryption);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_repository_already_exists_exception()) =>
            {
                Ok(())
            }
            Err(err) if is_denied(&err) => Err(Refusal::Denied(reason(&err))),
            Err(err) => Err(Refusal::Other(self.failed(err, "CreateRepository"))),
        }
    }

    /// Every repository name of `account`, by DescribeRepositories, page after page.
    pub async fn repository_names(&self, account: &str) -> anyhow::Result<Vec<String>> {
        let repositories = self
            .client
            .describe_repositories()
            .registry_id(account)
            .max_results(1000)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.failed(e, "DescribeRepositories"))?;
        Ok(repositories
            .into_iter()
            .filter_map(|r| r.repository_name)
            .collect())
    }

    /// Every tag in repository `name`, by ListImages, page after page; none when it is missing.
    pub async fn image_tags(&self, account: &str, name: &str) -> anyhow::Result<Vec<String>> {
        let images = self
            .client
            .list_images()
            .registry_id(account)
            .repository_name(name)
            .filter(
                aws_sdk_ecr::types::ListImagesFilter::builder()
                    .tag_status(TagStatus::Tagged)
                    .build(),
            )
            .max_results(1000)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await;
        match images {
            Ok(images) => Ok(images.into_iter().filter_map(|i| i.image_tag).collect()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_repository_not_found_exception()) =>
            {
                Ok(Vec::new())
            }
            Err(err) => Err(self.failed(err, "ListImages")),
        }
    }

    /// An SDK error as the user should read it: whose, which call, the cause, and the exit
    /// code (4 for a refusal or no credentials, 7 when AWS could not be reached).
    fn failed<E, R>(&self, err: SdkError<E, R>, call: &str) -> anyhow::Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let (code, hint) = match &err {
            SdkError::TimeoutError(_) => (Code::Unreachable, ""),
            SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => {
                (Code::Unreachable, "")
            }
            SdkError::ServiceError(_) if is_denied(&err) => (
                Code::Auth,
                "; the README's ECR section lists the IAM permissions each command needs",
            ),
            SdkError::ServiceError(_)
                if err.code().is_some_and(|c| {
                    c.contains("Token") || c.contains("Signature") || c.contains("Client")
                }) =>
            {
                (
                    Code::Auth,
                    "; check the AWS credentials (aws sts get-caller-identity)",
                )
            }
            SdkError::ServiceError(_) | SdkError::ResponseError(_) => (Code::Unexpected, ""),
            // No identity in the chain, or one that failed to load.
            _ => (
                Code::Auth,
                "; packpub looks for AWS credentials as the AWS CLI does (AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY, AWS_PROFILE, web identity, container or instance \
                 metadata), else log in with `aws ecr get-login-password | packpub login \
                 --username AWS --password-stdin HOST`",
            ),
        };
        Failure::err(
            code,
            format!("{}: AWS {call} failed: {}{hint}", self.host, reason(&err)),
        )
    }
}

fn is_denied<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.code().is_some_and(|code| DENIED.contains(&code))
}

/// AWS's own words for `err`: its code and message, or the whole error chain.
fn reason<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => DisplayErrorContext(err).to_string(),
    }
}
