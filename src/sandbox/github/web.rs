//! The pages a person clicks through (what the `html_url`s point to): a repository's issues and
//! pull requests, and one page per issue or pull request with Close, Reopen and Merge buttons.
//! The buttons are plain HTML forms (no JavaScript) posting to this simulator, which changes
//! the state as GitHub would and sends the webhook; the page then lists the deliveries.
#![expect(
    clippy::result_large_err,
    reason = "early exits are whole HTTP responses, returned at once; boxing them adds noise only"
)]
use std::sync::Arc;

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;

use super::{
    SimIssue, SimRepo,
    control::{Change, change_state},
    repo_key,
    shapes::issue_html_url,
    timestamp,
};
use crate::sandbox::{Sandbox, page};

const BANNER: &str = "Sandbox GitHub — not the real GitHub";

pub(super) fn router() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/{owner}/{repo}", get(repo_page))
        .route("/{owner}/{repo}/issues/{number}", get(issue_page))
        .route("/{owner}/{repo}/pull/{number}", get(issue_page))
        .route("/{owner}/{repo}/issues/{number}/state", post(change))
        .route("/{owner}/{repo}/pull/{number}/state", post(change))
}

fn not_found_page() -> Response {
    (
        StatusCode::NOT_FOUND,
        page::render("GitHub · Not found", BANNER, "<h1>Not found</h1>"),
    )
        .into_response()
}

/// The page path of an issue, relative to the origin (for links and form actions).
fn path_of(repo: &SimRepo, issue: &SimIssue) -> String {
    let kind = if issue.pull.is_some() {
        "pull"
    } else {
        "issues"
    };
    format!(
        "/sandbox/github/{}/{}/{kind}/{}",
        repo.owner, repo.name, issue.number
    )
}

fn state_label(issue: &SimIssue) -> &'static str {
    match (&issue.pull, issue.open) {
        (_, true) => "Open",
        (Some(pull), false) if pull.merged_at.is_some() => "Merged",
        (_, false) => "Closed",
    }
}

fn find(sandbox: &Sandbox, owner: &str, name: &str) -> Result<SimRepo, Response> {
    sandbox
        .github
        .lock()
        .repo(owner, name)
        .cloned()
        .ok_or_else(not_found_page)
}

/// `/{owner}/{repo}`: the repository's issues and pull requests.
async fn repo_page(
    State(sandbox): State<Arc<Sandbox>>,
    Path((owner, name)): Path<(String, String)>,
) -> Result<Response, Response> {
    let repo = find(&sandbox, &owner, &name)?;
    let items: String = repo
        .issues
        .values()
        .rev()
        .map(|issue| {
            format!(
                r#"<li><a href="{href}">{title}</a> <small>#{number} · {kind} · {state}</small></li>"#,
                href = page::escape(&path_of(&repo, issue)),
                title = page::escape(&issue.title),
                number = issue.number,
                kind = if issue.pull.is_some() { "pull request" } else { "issue" },
                state = state_label(issue),
            )
        })
        .collect();
    let body = format!(
        "<h1>{full}</h1><p><small>{visibility} repository</small></p><ul>{items}</ul>",
        full = page::escape(&repo.full_name()),
        visibility = if repo.private { "Private" } else { "Public" },
    );
    Ok(page::render(&format!("GitHub · {}", repo.full_name()), BANNER, &body).into_response())
}

/// `/{owner}/{repo}/issues/{n}` and `/{owner}/{repo}/pull/{n}`: one issue or pull request. The
/// wrong kind of path redirects to the right one, as github.com does.
async fn issue_page(
    State(sandbox): State<Arc<Sandbox>>,
    Path((owner, name, number)): Path<(String, String, String)>,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
) -> Result<Response, Response> {
    let repo = find(&sandbox, &owner, &name)?;
    let issue = number
        .parse::<u64>()
        .ok()
        .and_then(|n| repo.issues.get(&n))
        .ok_or_else(not_found_page)?;
    let path = path_of(&repo, issue);
    if !uri.path().eq_ignore_ascii_case(&path) {
        return Ok(Redirect::to(&path).into_response());
    }
    let kind = if issue.pull.is_some() {
        "pull request"
    } else {
        "issue"
    };
    let mut buttons = String::new();
    if issue.open {
        if issue.pull.is_some() {
            buttons.push_str(r#"<button type="submit" class="primary" name="action" value="merge">Merge pull request</button>"#);
        }
        buttons.push_str(&format!(
            r#"<button type="submit" class="secondary" name="action" value="close">Close {kind}</button>"#
        ));
    } else if state_label(issue) == "Closed" {
        buttons.push_str(&format!(
            r#"<button type="submit" class="primary" name="action" value="reopen">Reopen {kind}</button>"#
        ));
    }
    let form = if buttons.is_empty() {
        String::new()
    } else {
        format!(
            r#"<form method="post" action="{action}">{buttons}</form>"#,
            action = page::escape(&format!("{path}/state")),
        )
    };
    let deliveries: String = {
        let state = sandbox.github.lock();
        let key = repo_key(&repo.owner, &repo.name);
        state
            .deliveries
            .iter()
            .rev()
            .filter(|d| d.repo == key && d.number == Some(issue.number))
            .take(10)
            .map(|d| {
                format!(
                    "<li><code>{event}.{action}</code> to hook {hook}: {status} <small>{guid} · {at}{redelivery}</small></li>",
                    event = page::escape(&d.event),
                    action = page::escape(d.action.as_deref().unwrap_or("")),
                    hook = d.hook_id,
                    status = page::escape(&d.status),
                    guid = page::escape(&d.guid),
                    at = timestamp(d.delivered_at),
                    redelivery = if d.redelivery { " · redelivery" } else { "" },
                )
            })
            .collect()
    };
    let deliveries = if deliveries.is_empty() {
        "<p><small>No webhook deliveries yet.</small></p>".to_owned()
    } else {
        format!("<ol class=\"messages\">{deliveries}</ol>")
    };
    let body = format!(
        r#"<h1>{title} <small>#{number}</small></h1>
<p><strong class="state">{state}</strong> · {kind} in <a href="/sandbox/github/{owner}/{name}">{full}</a></p>
<p>{text}</p>
{form}
<h2>Webhook deliveries</h2>
{deliveries}
<p><small>On GitHub: <a href="{html_url}">{html_url}</a></small></p>"#,
        title = page::escape(&issue.title),
        number = issue.number,
        state = state_label(issue),
        owner = page::escape(&repo.owner),
        name = page::escape(&repo.name),
        full = page::escape(&repo.full_name()),
        text = page::escape(issue.body.as_deref().unwrap_or("")),
        html_url = page::escape(&issue_html_url(&sandbox.github.urls, &repo, issue)),
    );
    Ok(page::render(&format!("GitHub · {}", issue.title), BANNER, &body).into_response())
}

#[derive(Deserialize)]
struct StateForm {
    action: String,
}

/// The page's buttons: close, reopen or merge, then back to the page (303).
async fn change(
    State(sandbox): State<Arc<Sandbox>>,
    Path((owner, name, number)): Path<(String, String, u64)>,
    body: Bytes,
) -> Result<Response, Response> {
    let form: StateForm = serde_urlencoded::from_bytes(&body)
        .map_err(|_| bad_request("Choose close, reopen or merge."))?;
    let change = match form.action.as_str() {
        "close" => Change::Close { merged: false },
        "merge" => Change::Close { merged: true },
        "reopen" => Change::Reopen,
        _ => return Err(bad_request("Choose close, reopen or merge.")),
    };
    change_state(&sandbox, &owner, &name, number, change)
        .await
        .map_err(|_| bad_request("This change is not possible."))?;
    let repo = find(&sandbox, &owner, &name)?;
    let path = repo.issues.get(&number).map_or_else(
        || "/sandbox/github".to_owned(),
        |issue| path_of(&repo, issue),
    );
    Ok(Redirect::to(&path).into_response())
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        page::render(
            "GitHub · Not possible",
            BANNER,
            &format!("<h1>Not possible</h1><p>{}</p>", page::escape(message)),
        ),
    )
        .into_response()
}
