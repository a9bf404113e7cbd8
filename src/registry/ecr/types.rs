//! What ECR's two halves share (the registry side in `ecr.rs`, the AWS SDK calls in `aws.rs`):
//! an ECR host as its name spells it, the settings new repositories get, and why creating one
//! failed.

/// A private ECR registry's host: `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn][:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrHost {
    pub account: String,
    pub region: String,
    pub fips: bool,
}

impl EcrHost {
    /// The ECR registry `host` (normalised) names, if it is one (the amazon-ecr-credential-helper's
    /// pattern).
    pub fn parse(host: &str) -> Option<Self> {
        let name = host.split(':').next()?;
        let name = name
            .strip_suffix(".amazonaws.com.cn")
            .or_else(|| name.strip_suffix(".amazonaws.com"))?;
        let mut parts = name.split('.');
        let (account, dkr, service, region) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let fips = match service {
            "ecr" => false,
            "ecr-fips" => true,
            _ => return None,
        };
        let valid_region = !region.is_empty()
            && region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        (parts.next().is_none()
            && dkr == "dkr"
            && account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit())
            && valid_region)
            .then(|| Self {
                account: account.to_string(),
                region: region.to_string(),
                fips,
            })
    }
}

/// How repositories packpub creates are made: the AWS CLI's `create-repository` options.
#[derive(Debug, Clone, Default)]
pub struct RepositorySettings {
    pub tags: Vec<(String, String)>,
    pub immutable: bool,
    /// `KMS` (with `kms_key` or AWS's managed key) instead of the default `AES256`.
    pub kms: bool,
    pub kms_key: Option<String>,
}

impl RepositorySettings {
    /// The options as `aws ecr create-repository` takes them, for the commands printed when
    /// packpub may not create repositories itself.
    pub(super) fn cli_options(&self) -> String {
        let mut options = String::new();
        if self.immutable {
            options.push_str(" --image-tag-mutability IMMUTABLE");
        }
        if self.kms {
            options.push_str(" --encryption-configuration encryptionType=KMS");
            if let Some(key) = &self.kms_key {
                options.push_str(&format!(",kmsKey={key}"));
            }
        }
        if !self.tags.is_empty() {
            options.push_str(" --tags");
            for (key, value) in &self.tags {
                options.push_str(&format!(" Key={key},Value={value}"));
            }
        }
        options
    }
}

/// Why CreateRepository failed: refused for want of a permission, or anything else.
#[cfg_attr(
    not(feature = "ecr"),
    expect(dead_code, reason = "only the AWS SDK makes one")
)]
pub(crate) enum Refusal {
    Denied(String),
    Other(anyhow::Error),
}
