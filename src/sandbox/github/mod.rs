//! The GitHub simulator: its state (OAuth codes and tokens, repositories with their issues, pull
//! requests and webhooks, the log of webhook deliveries) and its router. What it simulates is
//! split by subject: the OAuth web flow and `GET /user` (`oauth`), issues and pull requests
//! (`repos`), repository webhooks (`hooks`), webhook deliveries (`deliveries`), rate limits and
//! conditional requests (`limits`), GitHub's JSON shapes (`shapes`), the sandbox's JSON controls
//! (`control`) and the issue pages a person clicks through (`web`).
//!
//! References: GitHub's REST API documentation and OpenAPI description, its webhook
//! documentation, and octokit/webhooks' payload schemas (vendored in `tests/fixtures/github/`).
//! `docs/github-fidelity.md` lists what is enforced and what is not.
use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::{OAuthApp, Sandbox};

mod control;
mod deliveries;
mod hooks;
mod limits;
mod oauth;
mod repos;
mod shapes;
mod web;

pub use control::close_issue;

pub use deliveries::{signature_1, signature_256};

/// The sandbox's one GitHub user: every token acts for it.
const USER_LOGIN: &str = "sandbox-octocat";
const USER_ID: u64 = 583_231;

/// The simulated GitHub: OAuth, REST, webhooks, and the sandbox's controls.
pub fn router(sandbox: Arc<Sandbox>) -> Router<Arc<Sandbox>> {
    Router::new()
        .merge(oauth::router())
        .merge(limits::gated(
            sandbox,
            Router::new()
                .merge(oauth::api_router())
                .merge(repos::router())
                .merge(hooks::router()),
        ))
        .merge(control::router())
        .merge(web::router())
}

/// GitHub's error body (`basic-error`): `status` is a string, as in the REST reference.
fn api_error(status: StatusCode, message: &str, documentation_url: &str) -> Response {
    (
        status,
        Json(json!({
            "message": message,
            "documentation_url": documentation_url,
            "status": status.as_u16().to_string(),
        })),
    )
        .into_response()
}

/// The 404 GitHub gives for anything the caller may not see, existing or not.
fn not_found(documentation_url: &str) -> Response {
    api_error(StatusCode::NOT_FOUND, "Not Found", documentation_url)
}

/// The scopes of the token a request was made with (set by `limits::gated`).
#[derive(Clone, Debug)]
struct Caller {
    scopes: Vec<String>,
}

impl Caller {
    fn new(scope: &str) -> Self {
        Self {
            scopes: scope
                .split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }

    fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// The token in `Authorization: Bearer …` or `Authorization: token …`.
fn presented_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .or_else(|| v.strip_prefix("token "))
        })
        .map(str::trim)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ContentType {
    Json,
    Form,
}

impl ContentType {
    fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Form => "form",
        }
    }
}

#[derive(Clone, Debug)]
struct HookConfig {
    url: String,
    content_type: ContentType,
    /// `None` when no secret (or an empty one) is set.
    secret: Option<String>,
    insecure_ssl: String,
}

/// What GitHub shows of a hook's last delivery (`hook-response`).
#[derive(Clone, Debug)]
struct LastResponse {
    code: Option<u16>,
    status: String,
    message: Option<String>,
}

#[derive(Clone, Debug)]
struct SimHook {
    id: u64,
    active: bool,
    events: Vec<String>,
    config: HookConfig,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    last_response: LastResponse,
}

impl SimHook {
    /// Whether the hook is sent `event`: it lists it, or the wildcard.
    fn subscribed(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == event || e == "*")
    }
}

/// A pull request's own facts; its title, body and state are its issue's.
#[derive(Clone, Debug)]
struct PullInfo {
    /// The pull request's id, which differs from its issue's id.
    id: u64,
    head_sha: String,
    merged_at: Option<DateTime<Utc>>,
    merge_commit_sha: Option<String>,
}

#[derive(Clone, Debug)]
struct SimIssue {
    number: u64,
    /// The issue id (a pull request has one too).
    id: u64,
    title: String,
    body: Option<String>,
    open: bool,
    state_reason: Option<&'static str>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    pull: Option<PullInfo>,
}

#[derive(Clone, Debug)]
struct SimRepo {
    id: u64,
    owner: String,
    owner_id: u64,
    name: String,
    private: bool,
    /// Whether the sandbox user administers the repository (owner or admin access).
    admin: bool,
    created_at: DateTime<Utc>,
    issues: BTreeMap<u64, SimIssue>,
    hooks: BTreeMap<u64, SimHook>,
}

impl SimRepo {
    fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// Whether the caller sees the repository at all. Repositories the user does not belong to
    /// are invisible when private; a private one needs the `repo` scope: "`repo` | Grants full
    /// access to public and private repositories" and "GitHub uses a `404 Not Found` response
    /// instead of a `403 Forbidden` response to avoid confirming the existence of private
    /// repositories" (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/scopes-for-oauth-apps,
    /// https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api).
    fn readable_by(&self, caller: &Caller) -> bool {
        !self.private || (self.admin && caller.has("repo"))
    }

    /// Whether the caller may use the hook routes: the user must administer the repository
    /// ("You must be a repository owner or have admin access in the repository to create
    /// webhooks", https://docs.github.com/en/webhooks/using-webhooks/creating-webhooks) and
    /// the token needs a scope that covers the access: "`admin:repo_hook` | Grants read, write,
    /// ping, and delete access to repository hooks in public or private repositories. The `repo`
    /// and `public_repo` scopes grant full access to repositories, including repository hooks";
    /// `write:repo_hook` "read, write, and ping"; `read:repo_hook` "read and ping"
    /// (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/scopes-for-oauth-apps).
    fn hooks_allowed(&self, caller: &Caller, access: HookAccess) -> bool {
        let repo_scope = caller.has("repo") || (!self.private && caller.has("public_repo"));
        let hook_scope = match access {
            HookAccess::Read => ["admin:repo_hook", "write:repo_hook", "read:repo_hook"]
                .iter()
                .any(|s| caller.has(s)),
            HookAccess::Write => ["admin:repo_hook", "write:repo_hook"]
                .iter()
                .any(|s| caller.has(s)),
            HookAccess::Delete => caller.has("admin:repo_hook"),
        };
        self.admin && (repo_scope || hook_scope)
    }
}

/// What a hook route does, for the scope check.
#[derive(Clone, Copy, Debug)]
enum HookAccess {
    /// List, get, ping.
    Read,
    /// Create, update.
    Write,
    Delete,
}

/// One webhook delivery, as sent (the body bytes and their content type), for the log and
/// redelivery.
#[derive(Clone, Debug)]
struct Delivery {
    /// This delivery's own id (GitHub's `hook-delivery-item.id`).
    id: u64,
    /// The event's GUID, shared by every hook that gets the event and kept on redelivery.
    guid: String,
    hook_id: u64,
    /// The repository's key in `GitHubState::repos`.
    repo: String,
    repo_id: u64,
    event: String,
    action: Option<String>,
    /// The issue or pull request the event is about.
    number: Option<u64>,
    body: bytes::Bytes,
    content_type: &'static str,
    /// The receiver's HTTP status; `None` when there was no answer (timeout, refused).
    status_code: Option<u16>,
    /// "OK", "Invalid HTTP Response: 500", "timed out", …
    status: String,
    redelivery: bool,
    delivered_at: DateTime<Utc>,
    duration: Duration,
}

#[derive(Default)]
struct GitHubState {
    codes: HashMap<String, oauth::IssuedCode>,
    /// Live access tokens and their scopes.
    tokens: HashMap<String, String>,
    /// Repositories by lower-cased `owner/name` (GitHub's names are case-insensitive).
    repos: BTreeMap<String, SimRepo>,
    deliveries: Vec<Delivery>,
    next_id: u64,
}

impl GitHubState {
    /// A new numeric id for a repository, issue, pull request, hook or delivery.
    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn repo(&self, owner: &str, name: &str) -> Option<&SimRepo> {
        self.repos.get(&repo_key(owner, name))
    }

    /// A new repository; `None` if one of that name exists.
    fn create_repo(
        &mut self,
        owner: &str,
        name: &str,
        private: bool,
        admin: bool,
    ) -> Option<&mut SimRepo> {
        let key = repo_key(owner, name);
        if self.repos.contains_key(&key) {
            return None;
        }
        let id = self.next_id();
        let owner_id = if owner.eq_ignore_ascii_case(USER_LOGIN) {
            USER_ID
        } else {
            self.next_id()
        };
        let repo = SimRepo {
            id,
            owner: owner.to_owned(),
            owner_id,
            name: name.to_owned(),
            private,
            admin,
            created_at: Utc::now(),
            issues: BTreeMap::new(),
            hooks: BTreeMap::new(),
        };
        Some(self.repos.entry(key).or_insert(repo))
    }

    /// A new open issue (or pull request) in the repository; its number is the next one there
    /// (issues and pull requests share one sequence, as on GitHub).
    fn create_issue(
        &mut self,
        key: &str,
        title: &str,
        body: Option<String>,
        pull_request: bool,
    ) -> Option<SimIssue> {
        let id = self.next_id();
        let pull_id = self.next_id();
        let repo = self.repos.get_mut(key)?;
        let number = repo.issues.keys().next_back().copied().unwrap_or(0) + 1;
        let now = Utc::now();
        let issue = SimIssue {
            number,
            id,
            title: title.to_owned(),
            body,
            open: true,
            state_reason: None,
            created_at: now,
            updated_at: now,
            closed_at: None,
            pull: pull_request.then(|| PullInfo {
                id: pull_id,
                head_sha: super::random_hex(20),
                merged_at: None,
                merge_commit_sha: None,
            }),
        };
        repo.issues.insert(number, issue.clone());
        Some(issue)
    }
}

fn repo_key(owner: &str, name: &str) -> String {
    format!("{}/{}", owner.to_lowercase(), name.to_lowercase())
}

/// The simulator's own addresses: `{PUBLIC_URL}/sandbox/github` for pages (the `html_url`s) and
/// `{PUBLIC_URL}/sandbox/github/api` for the REST API (the product's `GITHUB_API_BASE`).
#[derive(Clone, Debug)]
struct Urls {
    web: String,
    api: String,
    /// `host[:port]` of the public URL, for the `git://` and `ssh` clone URLs.
    host: String,
}

pub struct GitHubSim {
    app: OAuthApp,
    state: Mutex<GitHubState>,
    urls: Urls,
    limits: limits::Limits,
    sender: deliveries::Sender,
}

impl GitHubSim {
    /// `public_url`: the service's public URL, under which the simulator is mounted.
    pub fn new(app: OAuthApp, public_url: &url::Url) -> Self {
        let base = public_url.as_str().trim_end_matches('/');
        let web = format!("{base}/sandbox/github");
        let host = match (public_url.host_str(), public_url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => "localhost".to_owned(),
        };
        let sim = Self {
            app,
            state: Mutex::new(GitHubState::default()),
            urls: Urls {
                api: format!("{web}/api"),
                web,
                host,
            },
            limits: limits::Limits::default(),
            sender: deliveries::Sender::new(),
        };
        sim.seed();
        sim
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GitHubState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `sandbox-octocat/widgets`, administered by the user, with an open issue, an open pull
    /// request and a closed issue.
    fn seed(&self) {
        let mut state = self.lock();
        if state
            .create_repo(USER_LOGIN, "widgets", false, true)
            .is_none()
        {
            return;
        }
        let key = repo_key(USER_LOGIN, "widgets");
        let body = |text: &str| Some(text.to_owned());
        state.create_issue(
            &key,
            "Widget breaks on save",
            body("Saving a widget with an empty name crashes the editor."),
            false,
        );
        state.create_issue(
            &key,
            "Fix the save crash",
            body("Guards against empty names. Fixes #1."),
            true,
        );
        state.create_issue(&key, "Old report", body("Fixed long ago."), false);
        let now = Utc::now();
        if let Some(old) = state.repos.get_mut(&key).and_then(|r| r.issues.get_mut(&3)) {
            old.open = false;
            old.state_reason = Some("completed");
            old.closed_at = Some(now);
        }
    }

    /// Sandbox control: invalidates every token, as if the user revoked the app on GitHub.
    pub fn revoke_all(&self) {
        self.lock().tokens.clear();
    }
}

/// GitHub's timestamps: ISO 8601 in UTC, to the second (`2011-04-14T16:00:49Z`).
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
