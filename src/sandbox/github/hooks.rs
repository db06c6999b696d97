//! Repository webhooks: create, list, get, update the configuration, delete, and ping.
//!
//! Reference: https://docs.github.com/en/rest/repos/webhooks (operations `repos/create-webhook`,
//! `repos/list-webhooks`, `repos/get-webhook`, `repos/update-webhook-config-for-repo`,
//! `repos/delete-webhook`, `repos/ping-webhook`).
#![expect(
    clippy::result_large_err,
    reason = "early exits are whole HTTP responses, returned at once; boxing them adds noise only"
)]
use std::sync::Arc;

use axum::{
    Extension, Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, patch, post},
};
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::{
    Caller, ContentType, GitHubState, HookAccess, HookConfig, LastResponse, SimHook, api_error,
    deliveries, not_found, repo_key, shapes,
};
use crate::sandbox::Sandbox;

const CREATE_DOCS: &str = "https://docs.github.com/rest/repos/webhooks#create-a-repository-webhook";
const LIST_DOCS: &str = "https://docs.github.com/rest/repos/webhooks#list-repository-webhooks";
const GET_DOCS: &str = "https://docs.github.com/rest/repos/webhooks#get-a-repository-webhook";
const CONFIG_DOCS: &str =
    "https://docs.github.com/rest/repos/webhooks#update-a-webhook-configuration-for-a-repository";
const DELETE_DOCS: &str = "https://docs.github.com/rest/repos/webhooks#delete-a-repository-webhook";
const PING_DOCS: &str = "https://docs.github.com/rest/repos/webhooks#ping-a-repository-webhook";

/// "You can create up to 20 repository or organization webhooks for each event type."
/// (https://docs.github.com/en/webhooks/testing-and-troubleshooting-webhooks/troubleshooting-webhooks)
pub(super) const MAX_HOOKS_PER_EVENT: usize = 20;

pub(super) fn router() -> Router<Arc<Sandbox>> {
    Router::new()
        .route(
            "/api/repos/{owner}/{repo}/hooks",
            get(list_hooks).post(create_hook),
        )
        .route(
            "/api/repos/{owner}/{repo}/hooks/{hook_id}",
            get(get_hook).delete(delete_hook),
        )
        .route(
            "/api/repos/{owner}/{repo}/hooks/{hook_id}/config",
            patch(update_config),
        )
        .route(
            "/api/repos/{owner}/{repo}/hooks/{hook_id}/pings",
            post(ping_hook),
        )
}

/// 422 with GitHub's `validation-error` body. "If your request could not be processed, you may
/// receive a `422 Unprocessable Entity` response and a "Validation Failed" error message. The
/// response body will include an `errors` property, which includes a `code` property"
/// (https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api#validation-failed).
fn validation_failed(docs: &str, error: Value) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({
            "message": "Validation Failed",
            "errors": [error],
            "documentation_url": docs,
            "status": "422",
        })),
    )
        .into_response()
}

fn invalid(field: &str, docs: &str) -> Response {
    validation_failed(
        docs,
        json!({ "resource": "Hook", "field": field, "code": "invalid" }),
    )
}

/// The request body as a JSON object; an absent body is an empty one ("body is not required").
fn body_object(body: &Bytes, docs: &str) -> Result<Map<String, Value>, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid request.\n\nThe request body must be a JSON object.",
            docs,
        )),
        Err(_) => Err(api_error(
            StatusCode::BAD_REQUEST,
            "Problems parsing JSON",
            docs,
        )),
    }
}

/// `url`: "The URL to which the payloads will be delivered." It must be an absolute http(s) URL.
fn parse_url(value: &Value, docs: &str) -> Result<String, Response> {
    let text = value.as_str().ok_or_else(|| invalid("url", docs))?;
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(text.to_owned())
        }
        _ => Err(invalid("url", docs)),
    }
}

/// `content_type`: "Supported values include `json` and `form`. The default is `form`."
fn parse_content_type(value: Option<&Value>, docs: &str) -> Result<Option<ContentType>, Response> {
    match value {
        None => Ok(None),
        Some(v) => match v.as_str() {
            Some("json") => Ok(Some(ContentType::Json)),
            Some("form") => Ok(Some(ContentType::Form)),
            _ => Err(invalid("content_type", docs)),
        },
    }
}

/// `insecure_ssl` (string or number): "Supported values include `0` (verification is
/// performed) and `1` (verification is not performed). The default is `0`."
fn parse_insecure_ssl(value: Option<&Value>, docs: &str) -> Result<Option<String>, Response> {
    match value {
        None => Ok(None),
        Some(v) => {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(invalid("insecure_ssl", docs)),
            };
            match text.as_str() {
                "0" | "1" => Ok(Some(text)),
                _ => Err(invalid("insecure_ssl", docs)),
            }
        }
    }
}

/// `secret`: a string; an empty one is no secret (no signature headers are sent).
fn parse_secret(value: Option<&Value>, docs: &str) -> Result<Option<Option<String>>, Response> {
    match value {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some((!s.is_empty()).then(|| s.clone()))),
        Some(_) => Err(invalid("secret", docs)),
    }
}

/// `events` (default `["push"]`): "Determines what events the hook is triggered for." The
/// wildcard `*` matches every event and replaces any other event named with it (GitHub's
/// former webhooks guide: "When you add the wildcard event, we'll replace any existing events
/// you have configured with the wildcard event").
fn parse_events(value: Option<&Value>, docs: &str) -> Result<Vec<String>, Response> {
    let Some(value) = value else {
        return Ok(vec!["push".to_owned()]);
    };
    let list = value.as_array().ok_or_else(|| invalid("events", docs))?;
    let mut events: Vec<String> = Vec::new();
    for event in list {
        let name = event.as_str().ok_or_else(|| invalid("events", docs))?;
        if !events.iter().any(|e| e == name) {
            events.push(name.to_owned());
        }
    }
    if events.iter().any(|e| e == "*") {
        events = vec!["*".to_owned()];
    }
    Ok(events)
}

fn overlap(a: &[String], b: &[String]) -> bool {
    a.iter()
        .any(|e| e == "*" || b.iter().any(|f| f == e || f == "*"))
}

/// "Each webhook should have a unique `config`. Multiple webhooks can share the same `config`
/// as long as those webhooks do not have any `events` that overlap."
/// (https://docs.github.com/en/rest/repos/webhooks#create-a-repository-webhook). Two configs
/// are taken as the same when their URLs are (the stricter reading). The message is GitHub's
/// observed one; the docs do not give it.
fn check_duplicate(
    hooks: &std::collections::BTreeMap<u64, SimHook>,
    except: Option<u64>,
    url: &str,
    events: &[String],
    docs: &str,
) -> Result<(), Response> {
    let duplicate = hooks
        .values()
        .filter(|h| Some(h.id) != except)
        .any(|h| h.config.url == url && overlap(&h.events, events));
    if duplicate {
        return Err(validation_failed(
            docs,
            json!({ "resource": "Hook", "code": "custom", "message": "Hook already exists on this repository" }),
        ));
    }
    Ok(())
}

/// At most 20 hooks per event type (see `MAX_HOOKS_PER_EVENT`).
fn check_per_event_limit(
    hooks: &std::collections::BTreeMap<u64, SimHook>,
    events: &[String],
) -> Result<(), Response> {
    for event in events {
        let count = hooks
            .values()
            .filter(|h| h.events.iter().any(|e| e == event || e == "*"))
            .count();
        if count >= MAX_HOOKS_PER_EVENT {
            return Err(validation_failed(
                CREATE_DOCS,
                json!({
                    "resource": "Hook",
                    "code": "custom",
                    "message": format!("The \"{event}\" event cannot have more than {MAX_HOOKS_PER_EVENT} hooks"),
                }),
            ));
        }
    }
    Ok(())
}

/// The repository's key, if it exists, the caller sees it, and may use its hooks this way:
/// otherwise 404 ("Resource not found" is the documented answer of every hook route).
fn hook_repo(
    state: &GitHubState,
    caller: &Caller,
    owner: &str,
    name: &str,
    access: HookAccess,
    docs: &str,
) -> Result<String, Response> {
    state
        .repo(owner, name)
        .filter(|r| r.hooks_allowed(caller, access))
        .map(|_| repo_key(owner, name))
        .ok_or_else(|| not_found(docs))
}

fn hook_id(text: &str, docs: &str) -> Result<u64, Response> {
    text.parse().map_err(|_| not_found(docs))
}

/// `POST /repos/{owner}/{repo}/hooks`: 201 with the hook and a `Location`, then a `ping` to it.
async fn create_hook(
    State(sandbox): State<Arc<Sandbox>>,
    Extension(caller): Extension<Caller>,
    Path((owner, name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Response> {
    let sim = &sandbox.github;
    let key = hook_repo(
        &sim.lock(),
        &caller,
        &owner,
        &name,
        HookAccess::Write,
        CREATE_DOCS,
    )?;
    let body = body_object(&body, CREATE_DOCS)?;
    // `name`: "Use `web` to create a webhook. Default: `web`. This parameter only accepts the
    // value `web`."
    if body.get("name").is_some_and(|n| n.as_str() != Some("web")) {
        return Err(invalid("name", CREATE_DOCS));
    }
    let empty = Value::Object(Map::new());
    let config = body.get("config").unwrap_or(&empty);
    let config = config
        .as_object()
        .ok_or_else(|| invalid("config", CREATE_DOCS))?;
    let url = config.get("url").ok_or_else(|| {
        validation_failed(
            CREATE_DOCS,
            json!({ "resource": "Hook", "field": "url", "code": "missing_field" }),
        )
    })?;
    let url = parse_url(url, CREATE_DOCS)?;
    let content_type =
        parse_content_type(config.get("content_type"), CREATE_DOCS)?.unwrap_or(ContentType::Form);
    let insecure_ssl = parse_insecure_ssl(config.get("insecure_ssl"), CREATE_DOCS)?
        .unwrap_or_else(|| "0".to_owned());
    let secret = parse_secret(config.get("secret"), CREATE_DOCS)?.flatten();
    let events = parse_events(body.get("events"), CREATE_DOCS)?;
    // `active` (default `true`): "Determines if notifications are sent when the webhook is
    // triggered."
    let active = match body.get("active") {
        None => true,
        Some(v) => v.as_bool().ok_or_else(|| invalid("active", CREATE_DOCS))?,
    };

    let (hook, location) = {
        let mut state = sim.lock();
        let id = state.next_id();
        let repo = state
            .repos
            .get_mut(&key)
            .ok_or_else(|| not_found(CREATE_DOCS))?;
        check_duplicate(&repo.hooks, None, &url, &events, CREATE_DOCS)?;
        check_per_event_limit(&repo.hooks, &events)?;
        let now = Utc::now();
        let hook = SimHook {
            id,
            active,
            events,
            config: HookConfig {
                url,
                content_type,
                secret,
                insecure_ssl,
            },
            created_at: now,
            updated_at: now,
            last_response: LastResponse {
                code: None,
                status: "unused".to_owned(),
                message: None,
            },
        };
        repo.hooks.insert(id, hook.clone());
        let value = shapes::hook_json(&sim.urls, repo, &hook);
        (
            value,
            format!("{}/repos/{}/hooks/{id}", sim.urls.api, repo.full_name()),
        )
    };
    // "When you create a new webhook, we'll send you a simple `ping` event to let you know
    // you've set up the webhook correctly." (…/webhook-events-and-payloads#ping)
    if let Some(id) = hook["id"].as_u64() {
        send_ping(sandbox.clone(), key, id);
    }
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(hook),
    )
        .into_response())
}

/// Sends a `ping` to one hook, in the background (the REST answer does not wait for it).
fn send_ping(sandbox: Arc<Sandbox>, key: String, hook_id: u64) {
    tokio::spawn(async move {
        let event = {
            let state = sandbox.github.lock();
            let Some(repo) = state.repos.get(&key) else {
                return;
            };
            let Some(hook) = repo.hooks.get(&hook_id) else {
                return;
            };
            deliveries::ping(&sandbox.github.urls, repo, hook)
        };
        deliveries::deliver(&sandbox, &key, event, Some(hook_id)).await;
    });
}

/// `GET /repos/{owner}/{repo}/hooks`: "Lists webhooks for a repository."
async fn list_hooks(
    State(sandbox): State<Arc<Sandbox>>,
    Extension(caller): Extension<Caller>,
    Path((owner, name)): Path<(String, String)>,
) -> Result<Response, Response> {
    let sim = &sandbox.github;
    let state = sim.lock();
    let key = hook_repo(&state, &caller, &owner, &name, HookAccess::Read, LIST_DOCS)?;
    let repo = state.repos.get(&key).ok_or_else(|| not_found(LIST_DOCS))?;
    let hooks: Vec<Value> = repo
        .hooks
        .values()
        .map(|h| shapes::hook_json(&sim.urls, repo, h))
        .collect();
    Ok(Json(hooks).into_response())
}

/// `GET /repos/{owner}/{repo}/hooks/{hook_id}`: 200 or 404.
async fn get_hook(
    State(sandbox): State<Arc<Sandbox>>,
    Extension(caller): Extension<Caller>,
    Path((owner, name, id)): Path<(String, String, String)>,
) -> Result<Response, Response> {
    let sim = &sandbox.github;
    let state = sim.lock();
    let key = hook_repo(&state, &caller, &owner, &name, HookAccess::Read, GET_DOCS)?;
    let id = hook_id(&id, GET_DOCS)?;
    let repo = state.repos.get(&key).ok_or_else(|| not_found(GET_DOCS))?;
    let hook = repo.hooks.get(&id).ok_or_else(|| not_found(GET_DOCS))?;
    Ok(Json(shapes::hook_json(&sim.urls, repo, hook)).into_response())
}

/// `PATCH /repos/{owner}/{repo}/hooks/{hook_id}/config`: changes `url`, `content_type`,
/// `secret` and `insecure_ssl` (each checked as at creation) and answers the configuration.
async fn update_config(
    State(sandbox): State<Arc<Sandbox>>,
    Extension(caller): Extension<Caller>,
    Path((owner, name, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, Response> {
    let sim = &sandbox.github;
    let key = hook_repo(
        &sim.lock(),
        &caller,
        &owner,
        &name,
        HookAccess::Write,
        CONFIG_DOCS,
    )?;
    let id = hook_id(&id, CONFIG_DOCS)?;
    let body = body_object(&body, CONFIG_DOCS)?;
    let url = body
        .get("url")
        .map(|u| parse_url(u, CONFIG_DOCS))
        .transpose()?;
    let content_type = parse_content_type(body.get("content_type"), CONFIG_DOCS)?;
    let insecure_ssl = parse_insecure_ssl(body.get("insecure_ssl"), CONFIG_DOCS)?;
    let secret = parse_secret(body.get("secret"), CONFIG_DOCS)?;

    let mut state = sim.lock();
    let repo = state
        .repos
        .get_mut(&key)
        .ok_or_else(|| not_found(CONFIG_DOCS))?;
    let events = repo
        .hooks
        .get(&id)
        .ok_or_else(|| not_found(CONFIG_DOCS))?
        .events
        .clone();
    if let Some(url) = &url {
        check_duplicate(&repo.hooks, Some(id), url, &events, CONFIG_DOCS)?;
    }
    let hook = repo
        .hooks
        .get_mut(&id)
        .ok_or_else(|| not_found(CONFIG_DOCS))?;
    if let Some(url) = url {
        hook.config.url = url;
    }
    if let Some(content_type) = content_type {
        hook.config.content_type = content_type;
    }
    if let Some(insecure_ssl) = insecure_ssl {
        hook.config.insecure_ssl = insecure_ssl;
    }
    if let Some(secret) = secret {
        hook.config.secret = secret;
    }
    hook.updated_at = Utc::now();
    Ok(Json(shapes::config_json(hook)).into_response())
}

/// `DELETE /repos/{owner}/{repo}/hooks/{hook_id}`: 204, or 404 for an unknown hook. "The
/// authenticated user must be a repository owner, or have admin access in the repository, to
/// delete the webhook."
async fn delete_hook(
    State(sandbox): State<Arc<Sandbox>>,
    Extension(caller): Extension<Caller>,
    Path((owner, name, id)): Path<(String, String, String)>,
) -> Result<Response, Response> {
    let mut state = sandbox.github.lock();
    let key = hook_repo(
        &state,
        &caller,
        &owner,
        &name,
        HookAccess::Delete,
        DELETE_DOCS,
    )?;
    let id = hook_id(&id, DELETE_DOCS)?;
    state
        .repos
        .get_mut(&key)
        .and_then(|r| r.hooks.remove(&id))
        .ok_or_else(|| not_found(DELETE_DOCS))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /repos/{owner}/{repo}/hooks/{hook_id}/pings`: "This will trigger a ping event to be
/// sent to the hook." 204.
async fn ping_hook(
    State(sandbox): State<Arc<Sandbox>>,
    Extension(caller): Extension<Caller>,
    Path((owner, name, id)): Path<(String, String, String)>,
) -> Result<Response, Response> {
    let key = {
        let state = sandbox.github.lock();
        let key = hook_repo(&state, &caller, &owner, &name, HookAccess::Read, PING_DOCS)?;
        let id = hook_id(&id, PING_DOCS)?;
        state
            .repos
            .get(&key)
            .and_then(|r| r.hooks.get(&id))
            .ok_or_else(|| not_found(PING_DOCS))?;
        key
    };
    let id = hook_id(&id, PING_DOCS)?;
    send_ping(sandbox.clone(), key, id);
    Ok(StatusCode::NO_CONTENT.into_response())
}
