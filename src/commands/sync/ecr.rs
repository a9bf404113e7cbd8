//! `sync --register` of an ECR target: Palette's `v1EcrRegistrySpec` (Palette APIs 4.8,
//! `POST /v1/registries/oci/ecr`, as Terraform's provider fills it), with the access that lets
//! Palette read the registry: a role it assumes (`--ecr-role-arn`, with the external ID Palette
//! gives at `GET /v1/clouds/aws/account/sts`), else an access key the user hands over.

use super::{Request, clear_text_refused, tls_json};
use crate::exit::{Code, Failure};
use crate::output::Output;
use crate::palette::Palette;
use crate::registry::ecr::EcrHost;
use serde_json::{Value, json};

/// The access key Palette gets when no role is given: variables of their own, so the
/// identity a CI job pushes with is never handed to Palette by accident.
const ACCESS_KEY_ENV: &str = "PACKPUB_ECR_ACCESS_KEY_ID";
const SECRET_KEY_ENV: &str = "PACKPUB_ECR_SECRET_ACCESS_KEY";

/// The spec that registers `ecr` (the target's host) in Palette.
pub(super) async fn spec(
    palette: &Palette,
    request: &Request<'_>,
    ecr: &EcrHost,
    out: &Output,
) -> anyhow::Result<Value> {
    // The spec's partitions: GovCloud regions are `aws-us-gov`, the rest `aws`.
    let partition = if ecr.region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    let credentials = match request.ecr_role_arn {
        Some(arn) => {
            let account = palette.aws_sts_account(partition).await?;
            let external = account["externalId"]
                .as_str()
                .filter(|id| !id.is_empty())
                .ok_or_else(|| {
                    Failure::err(
                        Code::SyncFailed,
                        format!(
                            "Palette at {} gave no external ID for a role to trust \
                             (GET /v1/clouds/aws/account/sts)",
                            palette.host()
                        ),
                    )
                })?;
            out.verbose(&format!(
                "Palette assumes {arn} from AWS account {} with the external ID {external}; \
                 the role's trust policy must allow both",
                account["accountId"].as_str().unwrap_or("(not given)")
            ));
            json!({"credentialType": "sts", "partition": partition,
                   "sts": {"arn": arn, "externalId": external}})
        }
        None => {
            let (Ok(key), Ok(secret)) =
                (std::env::var(ACCESS_KEY_ENV), std::env::var(SECRET_KEY_ENV))
            else {
                return Err(Failure::err(
                    Code::Usage,
                    format!(
                        "registering the ECR registry {} needs access for Palette: \
                         --ecr-role-arn ARN (a role Palette assumes; see `GET \
                         /v1/clouds/aws/account/sts` for the external ID its trust policy \
                         needs), or an access key in {ACCESS_KEY_ENV} and {SECRET_KEY_ENV}",
                        request.host
                    ),
                ));
            };
            if palette.in_clear_text() && !request.in_clear_text {
                return Err(clear_text_refused(palette, request));
            }
            json!({"credentialType": "secret", "partition": partition,
                   "accessKey": key, "secretKey": secret})
        }
    };
    Ok(json!({
        // Palette's docs: the endpoint without `https://`.
        "endpoint": request.host,
        "baseContentPath": request.prefix,
        "providerType": "pack",
        "isSyncSupported": true,
        "isPrivate": true,
        "defaultRegion": ecr.region,
        "credentials": credentials,
        "tls": tls_json(request)?,
    }))
}
