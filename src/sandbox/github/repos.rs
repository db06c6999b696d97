//! Issues and pull requests: `GET /repos/{owner}/{repo}/issues/{issue_number}` and
//! `GET /repos/{owner}/{repo}/pulls/{pull_number}`.
#![expect(
    clippy::result_large_err,
    reason = "early exits are whole HTTP responses, returned at once; boxing them adds noise only"
)]
use std::sync::Arc;

use axum::{
    Extension, Json, Router,
    extract::{Path, State},
    response::{IntoResponse, Response},
    routing::get,
};

use super::{Caller, SimIssue, SimRepo, not_found, shapes};
use crate::sandbox::Sandbox;

const GET_ISSUE_DOCS: &str = "https://docs.github.com/rest/issues/issues#get-an-issue";
const GET_PULL_DOCS: &str = "https://docs.github.com/rest/pulls/pulls#get-a-pull-request";

pub(super) fn router() -> Router<Arc<Sandbox>> {
    Router::new()
        .route(
            "/api/repos/{owner}/{repo}/issues/{issue_number}",
            get(get_issue),
        )
        .route(
            "/api/repos/{owner}/{repo}/pulls/{pull_number}",
            get(get_pull),
        )
}

/// The repository and one of its issues, as the caller may see them; anything else is 404.
/// A number that is not a number names no issue.
fn visible_issue(
    sandbox: &Sandbox,
    caller: &Caller,
    owner: &str,
    name: &str,
    number: &str,
    docs: &str,
) -> Result<(SimRepo, SimIssue), Response> {
    let state = sandbox.github.lock();
    let repo = state
        .repo(owner, name)
        .filter(|r| r.readable_by(caller))
        .ok_or_else(|| not_found(docs))?;
    let issue = number
        .parse::<u64>()
        .ok()
        .and_then(|n| repo.issues.get(&n))
        .ok_or_else(|| not_found(docs))?
        .clone();
    let mut repo = repo.clone();
    // The answer shows the repository, not its hooks: no need to copy them.
    repo.hooks.clear();
    Ok((repo, issue))
}

/// "GitHub's REST API considers every pull request an issue, but not every issue is a pull
/// request. … You can identify pull requests by the `pull_request` key."
/// (https://docs.github.com/en/rest/issues/issues#get-an-issue)
async fn get_issue(
    State(sandbox): State<Arc<Sandbox>>,
    Extension(caller): Extension<Caller>,
    Path((owner, repo, number)): Path<(String, String, String)>,
) -> Result<Response, Response> {
    let (repo, issue) = visible_issue(&sandbox, &caller, &owner, &repo, &number, GET_ISSUE_DOCS)?;
    Ok(Json(shapes::issue_json(&sandbox.github.urls, &repo, &issue)).into_response())
}

/// "Lists details of a pull request by providing its number." A plain issue's number is not a
/// pull request: 404 ("Resource not found",
/// https://docs.github.com/en/rest/pulls/pulls#get-a-pull-request).
async fn get_pull(
    State(sandbox): State<Arc<Sandbox>>,
    Extension(caller): Extension<Caller>,
    Path((owner, repo, number)): Path<(String, String, String)>,
) -> Result<Response, Response> {
    let (repo, issue) = visible_issue(&sandbox, &caller, &owner, &repo, &number, GET_PULL_DOCS)?;
    let pull = shapes::pull_json(&sandbox.github.urls, &repo, &issue)
        .ok_or_else(|| not_found(GET_PULL_DOCS))?;
    Ok(Json(pull).into_response())
}
