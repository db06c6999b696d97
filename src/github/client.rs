//! GitHub's REST API, the few calls the product makes: read an issue (pull requests are issues
//! there too), and add, update or remove a repository webhook.
//!
//! Rate limits are respected, not discovered: an answer with `x-ratelimit-remaining: 0` blocks
//! calls with that token until `x-ratelimit-reset`, and a 403 or 429 with `retry-after` for
//! that long; a blocked call fails at once with [`ApiError::RateLimited`] instead of spending a
//! request GitHub would refuse. Polling sends `If-None-Match`, so an unchanged issue costs a
//! 304.
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use reqwest::{Method, StatusCode, header};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

use crate::config::Secret;

pub const API_VERSION: &str = "2022-11-28";
/// The events a hook is registered for.
pub const HOOK_EVENTS: [&str; 2] = ["issues", "pull_request"];

/// An issue or pull request as `GET /repos/{owner}/{repo}/issues/{number}` answers it.
#[derive(Clone, Debug, Deserialize)]
pub struct Issue {
    pub number: u32,
    pub title: String,
    /// `open` or `closed`.
    pub state: String,
    pub html_url: String,
    /// Present for pull requests.
    #[serde(default)]
    pub pull_request: Option<IssuePullRequest>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct IssuePullRequest {
    #[serde(default)]
    pub merged_at: Option<String>,
}

impl Issue {
    pub fn is_pull_request(&self) -> bool {
        self.pull_request.is_some()
    }

    pub fn merged(&self) -> bool {
        self.pull_request
            .as_ref()
            .is_some_and(|p| p.merged_at.is_some())
    }

    pub fn closed(&self) -> bool {
        self.state == "closed"
    }
}

/// A conditional read's answer.
#[derive(Debug)]
pub enum Fetched {
    /// Changed (or first read): the issue and its new `ETag`.
    Issue { issue: Issue, etag: Option<String> },
    /// 304: unchanged since the `ETag` sent.
    NotModified,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: the token is revoked or expired.
    #[error("GitHub refused the token (401 Bad credentials)")]
    TokenRefused,
    /// 404 or 410: no such repository or issue, or the token cannot see it.
    #[error("GitHub has no such repository or issue, or the token cannot see it ({0})")]
    NotFound(u16),
    /// 301: the issue moved to another repository.
    #[error("the issue was transferred to another repository")]
    Moved,
    /// 403 without a rate limit: the token may not do this (hooks need admin access).
    #[error("GitHub refused: {0}")]
    Forbidden(String),
    /// 422: GitHub refused the request's content.
    #[error("GitHub refused the request: {0}")]
    Unprocessable(String),
    /// The rate limit is used up; wait this long.
    #[error("GitHub's rate limit is used up; retry in {} s", .0.as_secs())]
    RateLimited(Duration),
    /// Unreachable, timed out, 5xx or an answer that makes no sense.
    #[error("GitHub is unavailable: {0}")]
    Unavailable(String),
}

#[derive(Serialize)]
struct HookConfig<'a> {
    url: &'a str,
    content_type: &'static str,
    secret: &'a str,
    insecure_ssl: &'static str,
}

#[derive(Serialize)]
struct NewHook<'a> {
    name: &'static str,
    active: bool,
    events: [&'static str; 2],
    config: HookConfig<'a>,
}

#[derive(Deserialize)]
struct Hook {
    id: i64,
    #[serde(default)]
    config: ListedConfig,
}

#[derive(Default, Deserialize)]
struct ListedConfig {
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    message: String,
}

pub struct GitHubApi {
    http: reqwest::Client,
    base: Url,
    /// Per token (by its hash): no call before this.
    blocked: Mutex<HashMap<[u8; 32], SystemTime>>,
}

impl GitHubApi {
    pub fn new(http: reqwest::Client, base: Url) -> Self {
        Self {
            http,
            base,
            blocked: Mutex::new(HashMap::new()),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.as_str().trim_end_matches('/'))
    }

    fn token_key(token: &Secret<String>) -> [u8; 32] {
        Sha256::digest(token.expose().as_bytes()).into()
    }

    fn wait_for(&self, token: &Secret<String>) -> Option<Duration> {
        let blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        let until = blocked.get(&Self::token_key(token))?;
        until.duration_since(SystemTime::now()).ok()
    }

    fn block(&self, token: &Secret<String>, until: SystemTime) {
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        blocked.retain(|_, t| *t > SystemTime::now());
        let entry = blocked.entry(Self::token_key(token)).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// Reads what the rate-limit headers say, and blocks the token until it may call again:
    /// `retry-after` seconds, `x-ratelimit-reset` once `x-ratelimit-remaining` is 0, and at least
    /// a minute (GitHub's advice) for a spent limit or a 429 that gives no time.
    fn note_limits(&self, token: &Secret<String>, status: StatusCode, headers: &header::HeaderMap) {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let now = SystemTime::now();
        let spent = number("x-ratelimit-remaining") == Some(0);
        let until = [
            number("retry-after").map(|secs| now + Duration::from_secs(secs)),
            number("x-ratelimit-reset")
                .filter(|_| spent)
                .map(|reset| UNIX_EPOCH + Duration::from_secs(reset)),
        ]
        .into_iter()
        .flatten()
        .max()
        .or_else(|| {
            (spent || status == StatusCode::TOO_MANY_REQUESTS)
                .then(|| now + Duration::from_secs(60))
        });
        if let Some(until) = until {
            self.block(token, until);
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &Secret<String>,
        etag: Option<&str>,
        body: Option<&impl Serialize>,
    ) -> Result<reqwest::Response, ApiError> {
        if let Some(wait) = self.wait_for(token) {
            return Err(ApiError::RateLimited(wait.max(Duration::from_secs(1))));
        }
        let mut request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(token.expose())
            .header(header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION);
        if let Some(etag) = etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ApiError::Unavailable(e.without_url().to_string()))?;
        let status = response.status();
        self.note_limits(token, status, response.headers());
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(response);
        }
        // A 403 or 429 that spent the limit (see `note_limits`) is a wait, not a refusal.
        if matches!(
            status,
            StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
        ) && let Some(wait) = self.wait_for(token)
        {
            return Err(ApiError::RateLimited(wait.max(Duration::from_secs(1))));
        }
        let message = response
            .json::<Message>()
            .await
            .map(|m| m.message)
            .unwrap_or_default();
        Err(match status {
            StatusCode::UNAUTHORIZED => ApiError::TokenRefused,
            StatusCode::NOT_FOUND | StatusCode::GONE => ApiError::NotFound(status.as_u16()),
            StatusCode::MOVED_PERMANENTLY => ApiError::Moved,
            StatusCode::FORBIDDEN => ApiError::Forbidden(message),
            StatusCode::UNPROCESSABLE_ENTITY => ApiError::Unprocessable(message),
            other => ApiError::Unavailable(format!("HTTP {}", other.as_u16())),
        })
    }

    /// `GET /repos/{owner}/{repo}/issues/{number}`, conditional on `etag` when given.
    pub async fn issue(
        &self,
        token: &Secret<String>,
        owner: &str,
        repo: &str,
        number: u32,
        etag: Option<&str>,
    ) -> Result<Fetched, ApiError> {
        let path = format!("/repos/{owner}/{repo}/issues/{number}");
        let response = self
            .call(Method::GET, &path, token, etag, None::<&()>)
            .await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        let etag = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let issue = response
            .json::<Issue>()
            .await
            .map_err(|e| ApiError::Unavailable(format!("unreadable issue: {}", e.without_url())))?;
        Ok(Fetched::Issue { issue, etag })
    }

    /// `POST /repos/{owner}/{repo}/hooks`: a JSON webhook for issues and pull requests, signed
    /// with `secret`. Answers the hook's id.
    pub async fn create_hook(
        &self,
        token: &Secret<String>,
        repository: &str,
        url: &str,
        secret: &Secret<String>,
    ) -> Result<i64, ApiError> {
        let body = NewHook {
            name: "web",
            active: true,
            events: HOOK_EVENTS,
            config: HookConfig {
                url,
                content_type: "json",
                secret: secret.expose(),
                insecure_ssl: "0",
            },
        };
        let path = format!("/repos/{repository}/hooks");
        let response = self
            .call(Method::POST, &path, token, None, Some(&body))
            .await?;
        let hook = response
            .json::<Hook>()
            .await
            .map_err(|e| ApiError::Unavailable(format!("unreadable hook: {}", e.without_url())))?;
        Ok(hook.id)
    }

    /// The id of the repository's hook that delivers to `url`, if there is one
    /// (`GET /repos/{owner}/{repo}/hooks`).
    pub async fn find_hook(
        &self,
        token: &Secret<String>,
        repository: &str,
        url: &str,
    ) -> Result<Option<i64>, ApiError> {
        let path = format!("/repos/{repository}/hooks?per_page=100");
        let response = self
            .call(Method::GET, &path, token, None, None::<&()>)
            .await?;
        let hooks = response
            .json::<Vec<Hook>>()
            .await
            .map_err(|e| ApiError::Unavailable(format!("unreadable hooks: {}", e.without_url())))?;
        Ok(hooks
            .into_iter()
            .find(|h| h.config.url.as_deref() == Some(url))
            .map(|h| h.id))
    }

    /// `PATCH /repos/{owner}/{repo}/hooks/{id}/config`: the hook signs with `secret` from now on.
    pub async fn update_hook_secret(
        &self,
        token: &Secret<String>,
        repository: &str,
        hook_id: i64,
        url: &str,
        secret: &Secret<String>,
    ) -> Result<(), ApiError> {
        let body = HookConfig {
            url,
            content_type: "json",
            secret: secret.expose(),
            insecure_ssl: "0",
        };
        let path = format!("/repos/{repository}/hooks/{hook_id}/config");
        self.call(Method::PATCH, &path, token, None, Some(&body))
            .await
            .map(|_| ())
    }

    /// `DELETE /repos/{owner}/{repo}/hooks/{id}`. A hook already gone counts as removed.
    pub async fn delete_hook(
        &self,
        token: &Secret<String>,
        repository: &str,
        hook_id: i64,
    ) -> Result<(), ApiError> {
        let path = format!("/repos/{repository}/hooks/{hook_id}");
        match self
            .call(Method::DELETE, &path, token, None, None::<&()>)
            .await
        {
            Ok(_) | Err(ApiError::NotFound(_)) => Ok(()),
            Err(err) => Err(err),
        }
    }
}
