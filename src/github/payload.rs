//! The parts of GitHub's webhook payloads the product reads, as serde types. Every field here is
//! `required` in octokit's JSON schema for the event (tests/fixtures/github/schemas, checked by
//! `tests/api/github_payloads.rs`); anything else in a payload is ignored.
use serde::Deserialize;

/// `X-GitHub-Event: issues`.
#[derive(Debug, Deserialize)]
pub struct IssuesEvent {
    /// `opened`, `closed`, `reopened`, `edited`, …
    pub action: String,
    pub issue: Issue,
    pub repository: Repository,
}

/// `X-GitHub-Event: pull_request`.
#[derive(Debug, Deserialize)]
pub struct PullRequestEvent {
    pub action: String,
    pub number: u32,
    pub pull_request: PullRequest,
    pub repository: Repository,
}

#[derive(Debug, Deserialize)]
pub struct Issue {
    pub number: u32,
    pub title: String,
    /// Present when the issue is a pull request (GitHub's REST API treats pull requests as
    /// issues).
    #[serde(default)]
    pub pull_request: Option<IssuePullRequest>,
}

#[derive(Debug, Deserialize)]
pub struct IssuePullRequest {
    /// When the pull request was merged; `null` when it was not.
    #[serde(default)]
    pub merged_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PullRequest {
    pub title: String,
    /// `null` while a merge is not known yet; treated as not merged.
    #[serde(default)]
    pub merged: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct Repository {
    /// `owner/repo`.
    pub full_name: String,
}

/// A change of an issue's or pull request's state, whichever way GitHub told it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateChange {
    /// `owner/repo`, as GitHub spells it.
    pub repository: String,
    pub number: u32,
    pub title: String,
    pub is_pull_request: bool,
    pub closed: bool,
    pub merged: bool,
}

impl IssuesEvent {
    /// The change this event reports, if it opens or closes the issue.
    pub fn state_change(self) -> Option<StateChange> {
        let closed = match self.action.as_str() {
            "closed" => true,
            "reopened" => false,
            _ => return None,
        };
        Some(StateChange {
            repository: self.repository.full_name,
            number: self.issue.number,
            title: self.issue.title,
            is_pull_request: self.issue.pull_request.is_some(),
            merged: self
                .issue
                .pull_request
                .is_some_and(|p| p.merged_at.is_some()),
            closed,
        })
    }
}

impl PullRequestEvent {
    /// The change this event reports, if it closes (merged or not) or reopens the pull request.
    pub fn state_change(self) -> Option<StateChange> {
        let closed = match self.action.as_str() {
            "closed" => true,
            "reopened" => false,
            _ => return None,
        };
        Some(StateChange {
            repository: self.repository.full_name,
            number: self.number,
            title: self.pull_request.title,
            is_pull_request: true,
            merged: self.pull_request.merged.unwrap_or(false),
            closed,
        })
    }
}
