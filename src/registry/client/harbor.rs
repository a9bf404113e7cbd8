//! Listing where the catalog says nothing: Harbor gives `/v2/_catalog` to system
//! administrators only, so a project's robot account (what Palette's docs recommend) lists
//! through Harbor's project API instead, `GET /api/v2.0/projects/{project}/repositories`
//! (goharbor/harbor `api/v2.0/swagger.yaml`: `page`, `page_size` up to 100, a `Link`
//! `rel="next"`), which takes the same user and password as `Basic`. Elsewhere (GHCR, Quay,
//! Google Artifact Registry, GitLab, scoped ACR tokens) the error says why nothing can be
//! listed and that naming the packs works.

use super::{MAX_LISTING, MAX_PAGES, Registry, next_link};
use crate::exit::{Code, Failure};
use crate::http::read_prefix;
use http::header::{ACCEPT, AUTHORIZATION};
use reqwest::StatusCode;

/// Harbor's largest `page_size`.
const HARBOR_PAGE: usize = 100;

impl Registry {
    /// The repositories below the target when the catalog refused (`catalog` is its error)
    /// or listed nothing: Harbor's project API where there is one, else `catalog` as it was,
    /// an error saying why and what works instead.
    pub(super) async fn without_catalog(
        &self,
        catalog: anyhow::Result<Vec<String>>,
        page: usize,
    ) -> anyhow::Result<Vec<String>> {
        let project = self.prefix.split('/').next().unwrap_or_default();
        // A registry that could not be reached has nothing else to ask.
        let unreachable = catalog
            .as_ref()
            .err()
            .and_then(crate::exit::failure_of)
            .is_some_and(|f| f.code == Code::Unreachable);
        if !project.is_empty()
            && !unreachable
            && let Some(names) = self.harbor_repositories(project, page).await?
        {
            self.notes.verbose(&format!(
                "listed the repositories of {} through Harbor's project API",
                self.host
            ));
            let below = format!("{}/", self.prefix);
            return Ok(names
                .into_iter()
                .filter_map(|name| name.strip_prefix(&below).map(str::to_string))
                .collect());
        }
        let named = "name the packs instead (`packpub ls NAME`, `packpub copy SRC DST NAME`)";
        match catalog {
            // An empty registry is common; `-v` says what else it may be.
            Ok(empty) => {
                self.notes.verbose(&format!(
                    "the catalog of {} lists no repository, and it has no Harbor project API to \
                     ask instead: some registries (Google Artifact Registry) answer an empty \
                     catalog whatever they hold; if packs are there, {named}",
                    self.host
                ));
                Ok(empty)
            }
            Err(err) if crate::exit::failure_of(&err).is_some_and(|f| f.code == Code::Auth) => {
                Err(err)
            }
            Err(err) => {
                let code = crate::exit::failure_of(&err).map_or(Code::Unexpected, |f| f.code);
                Err(Failure::err(
                    code,
                    format!(
                        "cannot list the repositories of {} ({err:#}): it serves no catalog \
                         (GHCR, Quay and ECR have none) and no Harbor project API; {named}",
                        self.host
                    ),
                ))
            }
        }
    }

    /// Every repository name of Harbor project `project`, page by page; `None` when the
    /// registry has no such API (not Harbor, or no such project).
    async fn harbor_repositories(
        &self,
        project: &str,
        page: usize,
    ) -> anyhow::Result<Option<Vec<String>>> {
        let size = page.clamp(1, HARBOR_PAGE);
        let mut url = self.url(&format!("api/v2.0/projects/{project}/repositories"))?;
        url.query_pairs_mut()
            .append_pair("page", "1")
            .append_pair("page_size", &size.to_string());
        let basic = self.auth.basic()?;
        let mut names = Vec::new();
        let mut budget = MAX_LISTING;
        for _ in 0..MAX_PAGES {
            let mut request = self
                .http
                .get(url.clone())
                .header(ACCEPT, "application/json");
            if let Some(basic) = &basic {
                request = request.header(AUTHORIZATION, basic.clone());
            }
            // Not answering is not being Harbor: the catalog's own error says more.
            let Ok(mut answer) = request.send().await else {
                return Ok(None);
            };
            if answer.status() != StatusCode::OK {
                return Ok(None);
            }
            let next = next_link(answer.headers(), &url).ok().flatten();
            let (body, whole) = read_prefix(&mut answer, budget)
                .await
                .map_err(oci_client::errors::OciDistributionError::from)?;
            if !whole {
                return Err(Failure::err(
                    Code::Unexpected,
                    format!(
                        "{}'s project API answered over {} MiB of repositories; stopped reading",
                        self.host,
                        MAX_LISTING >> 20
                    ),
                ));
            }
            budget -= body.len() as u64;
            #[derive(serde::Deserialize)]
            struct Repository {
                name: String,
            }
            let Ok(batch) = serde_json::from_slice::<Vec<Repository>>(&body) else {
                return Ok(None);
            };
            let full = batch.len() >= size;
            names.extend(batch.into_iter().map(|r| r.name));
            match next {
                Some(next) if full => url = next,
                _ => return Ok(Some(names)),
            }
        }
        Ok(Some(names))
    }
}
