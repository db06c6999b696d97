//! Sandbox controls (JSON under `/sandbox/github/control/…`; not GitHub's API): what people do
//! on github.com (create repositories, issues and pull requests, close, merge and reopen them,
//! redeliver a webhook), the delivery log, and the operator's switches (rate limits, the
//! delivery timeout).
use std::{sync::Arc, time::Duration};

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    USER_LOGIN,
    deliveries::{self, Outcome, RedeliveryError},
    limits, repo_key, timestamp,
};
use crate::sandbox::{Sandbox, random_hex};

pub(super) fn router() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/control/repos", post(create_repo))
        .route("/control/repos/{owner}/{repo}/issues", post(create_issue))
        .route(
            "/control/repos/{owner}/{repo}/issues/{number}/close",
            post(close),
        )
        .route(
            "/control/repos/{owner}/{repo}/issues/{number}/reopen",
            post(reopen),
        )
        .route("/control/deliveries", get(list_deliveries))
        .route("/control/deliveries/{guid}/redeliver", post(redeliver))
        .route("/control/rate-limit", put(set_rate_limit))
        .route("/control/secondary-limit", put(set_secondary_limit))
        .route("/control/delivery-timeout", put(set_delivery_timeout))
}

pub(super) fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// GitHub's account names: letters, digits and single hyphens, not at either end, at most 39.
fn valid_owner(owner: &str) -> bool {
    (1..=39).contains(&owner.len())
        && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !owner.starts_with('-')
        && !owner.ends_with('-')
        && !owner.contains("--")
}

/// GitHub's repository names: letters, digits, `.`, `-` and `_`, at most 100; not `.` or `..`.
fn valid_repo_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && name != "."
        && name != ".."
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewRepo {
    owner: String,
    name: String,
    #[serde(default)]
    private: bool,
    /// Whether the sandbox user administers it (default: yes).
    admin: Option<bool>,
}

/// A new repository: `{owner, name, private?, admin?}` → 201 `{id, fullName, private, admin,
/// htmlUrl}`.
async fn create_repo(
    State(sandbox): State<Arc<Sandbox>>,
    Json(body): Json<NewRepo>,
) -> Result<Response, Response> {
    if !valid_owner(&body.owner) || !valid_repo_name(&body.name) {
        return Err(refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "owner and name must be valid GitHub names",
        ));
    }
    let sim = &sandbox.github;
    let mut state = sim.lock();
    let repo = state
        .create_repo(
            &body.owner,
            &body.name,
            body.private,
            body.admin.unwrap_or(true),
        )
        .ok_or_else(|| refuse(StatusCode::UNPROCESSABLE_ENTITY, "the repository exists"))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": repo.id,
            "fullName": repo.full_name(),
            "private": repo.private,
            "admin": repo.admin,
            "htmlUrl": format!("{}/{}", sim.urls.web, repo.full_name()),
        })),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewIssue {
    title: String,
    body: Option<String>,
    #[serde(default)]
    pull_request: bool,
}

/// A new open issue, or pull request with `pullRequest: true` → 201 `{number, htmlUrl}`.
async fn create_issue(
    State(sandbox): State<Arc<Sandbox>>,
    Path((owner, name)): Path<(String, String)>,
    Json(body): Json<NewIssue>,
) -> Result<Response, Response> {
    if body.title.trim().is_empty() {
        return Err(refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "a title is required",
        ));
    }
    let sim = &sandbox.github;
    let mut state = sim.lock();
    let key = repo_key(&owner, &name);
    let issue = state
        .create_issue(&key, body.title.trim(), body.body, body.pull_request)
        .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "no such repository"))?;
    let repo = state
        .repos
        .get(&key)
        .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "no such repository"))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "number": issue.number,
            "pullRequest": issue.pull.is_some(),
            "htmlUrl": super::shapes::issue_html_url(&sim.urls, repo, &issue),
        })),
    )
        .into_response())
}

/// A change of an issue's or pull request's state, as a person makes it on github.com.
#[derive(Clone, Copy, Debug)]
pub(super) enum Change {
    Close { merged: bool },
    Reopen,
}

/// What a change came to.
pub(super) struct Changed {
    pub(super) state: Value,
    pub(super) deliveries: Vec<Outcome>,
}

/// Changes the state as GitHub does, then sends the event to the subscribed hooks and waits
/// for the deliveries. Closing an issue sets `closed_at` and `state_reason: "completed"`;
/// reopening clears `closed_at` and sets `state_reason: "reopened"` (the `state_reason` enum of
/// https://docs.github.com/en/rest/issues/issues#get-an-issue). Merging closes a pull request
/// with `merged: true` ("If `merged` is true in the webhook payload, the pull request was
/// merged", …/webhook-events-and-payloads#pull_request). Closing a closed item or reopening an
/// open one changes nothing and sends nothing. A merged pull request cannot be reopened, and
/// only pull requests merge (both 422).
pub(super) async fn change_state(
    sandbox: &Sandbox,
    owner: &str,
    name: &str,
    number: u64,
    change: Change,
) -> Result<Changed, Response> {
    let sim = &sandbox.github;
    let key = repo_key(owner, name);
    let (event, state) = {
        let mut state = sim.lock();
        let merge_sha = random_hex(20);
        let repo = state
            .repos
            .get_mut(&key)
            .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "no such repository"))?;
        let issue = repo
            .issues
            .get_mut(&number)
            .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "no such issue or pull request"))?;
        let now = Utc::now();
        let action = match change {
            Change::Close { merged } => {
                if merged && issue.pull.is_none() {
                    return Err(refuse(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "only a pull request can be merged",
                    ));
                }
                if !issue.open {
                    None
                } else {
                    issue.open = false;
                    issue.closed_at = Some(now);
                    issue.updated_at = now;
                    match &mut issue.pull {
                        Some(pull) => {
                            if merged {
                                pull.merged_at = Some(now);
                                pull.merge_commit_sha = Some(merge_sha);
                            }
                        }
                        None => issue.state_reason = Some("completed"),
                    }
                    Some("closed")
                }
            }
            Change::Reopen => {
                if issue.pull.as_ref().is_some_and(|p| p.merged_at.is_some()) {
                    return Err(refuse(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "a merged pull request cannot be reopened",
                    ));
                }
                if issue.open {
                    None
                } else {
                    issue.open = true;
                    issue.closed_at = None;
                    issue.updated_at = now;
                    if issue.pull.is_none() {
                        issue.state_reason = Some("reopened");
                    }
                    Some("reopened")
                }
            }
        };
        let issue = issue.clone();
        let repo = repo.clone();
        let state = json!({
            "number": issue.number,
            "state": if issue.open { "open" } else { "closed" },
            "stateReason": issue.state_reason,
            "merged": issue.pull.as_ref().map(|p| p.merged_at.is_some()),
        });
        (
            action.map(|a| deliveries::issue_event(&sim.urls, &repo, &issue, a)),
            state,
        )
    };
    let deliveries = match event {
        Some(event) => deliveries::deliver(sandbox, &key, event, None).await,
        None => Vec::new(),
    };
    Ok(Changed { state, deliveries })
}

fn changed_json(changed: Changed) -> Response {
    let mut body = changed.state;
    body["deliveries"] = json!(changed.deliveries);
    Json(body).into_response()
}

#[derive(Default, Deserialize)]
struct CloseBody {
    #[serde(default)]
    merged: bool,
}

/// Closes an issue or pull request (`{merged: true}` merges a pull request) → the new state and
/// the deliveries made.
async fn close(
    State(sandbox): State<Arc<Sandbox>>,
    Path((owner, name, number)): Path<(String, String, u64)>,
    body: Option<Json<CloseBody>>,
) -> Result<Response, Response> {
    let merged = body.is_some_and(|Json(b)| b.merged);
    let changed = change_state(&sandbox, &owner, &name, number, Change::Close { merged }).await?;
    Ok(changed_json(changed))
}

/// Reopens a closed issue or unmerged pull request → the new state and the deliveries made.
async fn reopen(
    State(sandbox): State<Arc<Sandbox>>,
    Path((owner, name, number)): Path<(String, String, u64)>,
) -> Result<Response, Response> {
    let changed = change_state(&sandbox, &owner, &name, number, Change::Reopen).await?;
    Ok(changed_json(changed))
}

#[derive(Deserialize)]
struct DeliveryFilter {
    guid: Option<String>,
}

/// The delivery log, oldest first (`?guid=` narrows it), with each payload as sent.
async fn list_deliveries(
    State(sandbox): State<Arc<Sandbox>>,
    Query(filter): Query<DeliveryFilter>,
) -> Response {
    let state = sandbox.github.lock();
    let list: Vec<Value> = state
        .deliveries
        .iter()
        .filter(|d| filter.guid.as_deref().is_none_or(|g| g == d.guid))
        .map(|d| {
            let mut entry = json!(Outcome::of(d));
            entry["repository"] = json!(state.repos.get(&d.repo).map(|r| r.full_name()));
            entry["number"] = json!(d.number);
            entry["contentType"] = json!(d.content_type);
            entry["body"] = json!(String::from_utf8_lossy(&d.body));
            entry["deliveredAt"] = json!(timestamp(d.delivered_at));
            entry["durationMs"] = json!(u64::try_from(d.duration.as_millis()).unwrap_or(u64::MAX));
            entry
        })
        .collect();
    Json(list).into_response()
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RedeliverBody {
    hook_id: Option<u64>,
}

/// Redelivers the deliveries of an event (to one hook with `{hookId}`) → the new deliveries.
async fn redeliver(
    State(sandbox): State<Arc<Sandbox>>,
    Path(guid): Path<String>,
    body: Option<Json<RedeliverBody>>,
) -> Result<Response, Response> {
    let hook = body.and_then(|Json(b)| b.hook_id);
    match deliveries::redeliver(&sandbox, &guid, hook).await {
        Ok(made) => Ok(Json(json!({ "deliveries": made })).into_response()),
        Err(RedeliveryError::Unknown) => Err(refuse(
            StatusCode::NOT_FOUND,
            "no delivery with this guid (to a hook that still exists)",
        )),
        Err(RedeliveryError::TooOld) => Err(refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "deliveries older than 3 days cannot be redelivered",
        )),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RateLimit {
    /// A live token, naming its user (every token is the sandbox user's); optional.
    token: Option<String>,
    remaining: u32,
    /// UTC epoch seconds.
    reset: Option<u64>,
    limit: Option<u32>,
}

/// Sets the user's remaining primary-limit count (the window all of the user's tokens share),
/// and optionally its reset time and limit → `{remaining, reset}` as set.
async fn set_rate_limit(
    State(sandbox): State<Arc<Sandbox>>,
    Json(body): Json<RateLimit>,
) -> Result<Response, Response> {
    let sim = &sandbox.github;
    if let Some(token) = &body.token
        && !sim.lock().tokens.contains_key(token)
    {
        return Err(refuse(StatusCode::NOT_FOUND, "no such token"));
    }
    sim.limits
        .set(&[USER_LOGIN], body.remaining, body.reset, body.limit);
    Ok(Json(
        json!({ "remaining": body.remaining, "reset": body.reset, "now": limits::epoch_now() }),
    )
    .into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecondaryLimit {
    count: u32,
    /// 403 (default) or 429.
    status: Option<u16>,
    /// Seconds for `retry-after`; `null` sends none. Default 60.
    #[serde(default = "default_retry_after")]
    retry_after: Option<u64>,
}

fn default_retry_after() -> Option<u64> {
    Some(60)
}

/// The next `count` API calls answer a secondary rate limit.
async fn set_secondary_limit(
    State(sandbox): State<Arc<Sandbox>>,
    Json(body): Json<SecondaryLimit>,
) -> Result<Response, Response> {
    let status = body.status.unwrap_or(403);
    if status != 403 && status != 429 {
        return Err(refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "status must be 403 or 429",
        ));
    }
    sandbox
        .github
        .limits
        .force_secondary(body.count, status, body.retry_after);
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryTimeout {
    timeout_ms: u64,
}

/// The delivery timeout (GitHub's is 10 s; tests shorten it).
async fn set_delivery_timeout(
    State(sandbox): State<Arc<Sandbox>>,
    Json(body): Json<DeliveryTimeout>,
) -> Response {
    sandbox
        .github
        .sender
        .set_timeout(Duration::from_millis(body.timeout_ms.max(1)));
    StatusCode::NO_CONTENT.into_response()
}

/// Closes an issue or pull request of `owner/repo` as someone on GitHub would; its webhook goes
/// out like any other. Closing a closed one changes nothing.
pub async fn close_issue(sandbox: &Sandbox, repository: &str, number: u64) -> Result<(), String> {
    let (owner, name) = repository
        .split_once('/')
        .ok_or_else(|| format!("{repository} is not owner/repo"))?;
    change_state(
        sandbox,
        owner,
        name,
        number,
        Change::Close { merged: false },
    )
    .await
    .map(drop)
    .map_err(|refused| match refused.status() {
        StatusCode::NOT_FOUND => {
            format!("{repository}#{number} does not exist on the sandbox GitHub.")
        }
        status => format!("The sandbox GitHub refused to close it ({status})."),
    })
}
