//! GitHub's JSON shapes for users, repositories, issues, pull requests and hooks.
//!
//! Each object carries every field octokit's webhook schemas require (`common/user`,
//! `common/repository`, `common/issue`, `common/pull-request`; vendored in
//! `tests/fixtures/github/schemas/`) and no field they leave out, since those schemas refuse
//! unknown properties; the REST reference's `issue`, `pull-request` and `hook` schemas require
//! a subset of the same fields. The REST answers and the webhook payloads use the same objects.
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use serde_json::{Value, json};

use super::{SimHook, SimIssue, SimRepo, USER_ID, USER_LOGIN, Urls, timestamp};

/// A GraphQL node id: opaque to clients, stable per object.
fn node_id(kind: &str, id: u64) -> String {
    B64.encode(format!("0:{kind}{id}"))
}

/// A user object (`common/user.schema.json`).
pub(super) fn user_json(urls: &Urls, login: &str, id: u64) -> Value {
    let api = format!("{}/users/{login}", urls.api);
    json!({
        "login": login,
        "id": id,
        "node_id": node_id("User", id),
        "avatar_url": format!("{}/avatars/{login}.png", urls.web),
        "gravatar_id": "",
        "url": api,
        "html_url": format!("{}/{login}", urls.web),
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": "User",
        "site_admin": false,
    })
}

/// The sandbox user, the author of every issue and the sender of every event.
pub(super) fn sender_json(urls: &Urls) -> Value {
    user_json(urls, USER_LOGIN, USER_ID)
}

fn owner_json(urls: &Urls, repo: &SimRepo) -> Value {
    user_json(urls, &repo.owner, repo.owner_id)
}

/// The API URLs of a repository object, as suffixes of the repository's API URL.
const REPO_API_URLS: [(&str, &str); 36] = [
    ("forks_url", "/forks"),
    ("keys_url", "/keys{/key_id}"),
    ("collaborators_url", "/collaborators{/collaborator}"),
    ("teams_url", "/teams"),
    ("hooks_url", "/hooks"),
    ("issue_events_url", "/issues/events{/number}"),
    ("events_url", "/events"),
    ("assignees_url", "/assignees{/user}"),
    ("branches_url", "/branches{/branch}"),
    ("tags_url", "/tags"),
    ("blobs_url", "/git/blobs{/sha}"),
    ("git_tags_url", "/git/tags{/sha}"),
    ("git_refs_url", "/git/refs{/sha}"),
    ("trees_url", "/git/trees{/sha}"),
    ("statuses_url", "/statuses/{sha}"),
    ("languages_url", "/languages"),
    ("stargazers_url", "/stargazers"),
    ("contributors_url", "/contributors"),
    ("subscribers_url", "/subscribers"),
    ("subscription_url", "/subscription"),
    ("commits_url", "/commits{/sha}"),
    ("git_commits_url", "/git/commits{/sha}"),
    ("comments_url", "/comments{/number}"),
    ("issue_comment_url", "/issues/comments{/number}"),
    ("contents_url", "/contents/{+path}"),
    ("compare_url", "/compare/{base}...{head}"),
    ("merges_url", "/merges"),
    ("archive_url", "/{archive_format}{/ref}"),
    ("downloads_url", "/downloads"),
    ("issues_url", "/issues{/number}"),
    ("pulls_url", "/pulls{/number}"),
    ("milestones_url", "/milestones{/number}"),
    (
        "notifications_url",
        "/notifications{?since,all,participating}",
    ),
    ("labels_url", "/labels{/name}"),
    ("releases_url", "/releases{/id}"),
    ("deployments_url", "/deployments"),
];

/// A repository object (`common/repository.schema.json`).
pub(super) fn repo_json(urls: &Urls, repo: &SimRepo) -> Value {
    let full = repo.full_name();
    let api = format!("{}/repos/{full}", urls.api);
    let html = format!("{}/{full}", urls.web);
    let open_issues = repo.issues.values().filter(|i| i.open).count();
    let created = timestamp(repo.created_at);
    let mut value = json!({
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": full,
        "private": repo.private,
        "owner": owner_json(urls, repo),
        "html_url": html,
        "description": null,
        "fork": false,
        "url": api,
        "created_at": created,
        "updated_at": created,
        "pushed_at": created,
        "git_url": format!("git://{}/{full}.git", urls.host),
        "ssh_url": format!("git@{}:{full}.git", urls.host),
        "clone_url": format!("{html}.git"),
        "svn_url": html,
        "homepage": null,
    });
    // Two objects: one would be more than `json!`'s recursion limit allows.
    let counts_and_flags = json!({
        "size": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": null,
        "has_issues": true,
        "has_projects": true,
        "has_downloads": true,
        "has_wiki": true,
        "has_pages": false,
        "has_discussions": false,
        "forks_count": 0,
        "mirror_url": null,
        "archived": false,
        "disabled": false,
        "open_issues_count": open_issues,
        "license": null,
        "allow_forking": true,
        "is_template": false,
        "web_commit_signoff_required": false,
        "topics": [],
        "visibility": if repo.private { "private" } else { "public" },
        "forks": 0,
        "open_issues": open_issues,
        "watchers": 0,
        "default_branch": "main",
        "custom_properties": {},
    });
    if let (Some(fields), Value::Object(more)) = (value.as_object_mut(), counts_and_flags) {
        fields.extend(more);
        for (field, suffix) in REPO_API_URLS {
            fields.insert(field.to_owned(), json!(format!("{api}{suffix}")));
        }
    }
    value
}

/// How the sandbox user is associated with the repository.
fn author_association(repo: &SimRepo) -> &'static str {
    if repo.owner.eq_ignore_ascii_case(USER_LOGIN) {
        "OWNER"
    } else if repo.admin {
        "COLLABORATOR"
    } else {
        "NONE"
    }
}

fn reactions(url: &str) -> Value {
    json!({
        "url": format!("{url}/reactions"),
        "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
        "confused": 0, "heart": 0, "rocket": 0, "eyes": 0,
    })
}

/// The issue's page: `/issues/{n}`, or `/pull/{n}` for a pull request.
pub(super) fn issue_html_url(urls: &Urls, repo: &SimRepo, issue: &SimIssue) -> String {
    let kind = if issue.pull.is_some() {
        "pull"
    } else {
        "issues"
    };
    format!("{}/{}/{kind}/{}", urls.web, repo.full_name(), issue.number)
}

/// An issue (`common/issue.schema.json`, REST `issue`); a pull request seen as an issue carries
/// a `pull_request` object, and its `id` is the issue id ("Be aware that the `id` of a pull
/// request returned from "Issues" endpoints will be an _issue id_",
/// https://docs.github.com/en/rest/issues/issues#get-an-issue).
pub(super) fn issue_json(urls: &Urls, repo: &SimRepo, issue: &SimIssue) -> Value {
    let repo_api = format!("{}/repos/{}", urls.api, repo.full_name());
    let url = format!("{repo_api}/issues/{}", issue.number);
    let mut value = json!({
        "url": url,
        "repository_url": repo_api,
        "labels_url": format!("{url}/labels{{/name}}"),
        "comments_url": format!("{url}/comments"),
        "events_url": format!("{url}/events"),
        "html_url": issue_html_url(urls, repo, issue),
        "id": issue.id,
        "node_id": node_id("Issue", issue.id),
        "number": issue.number,
        "title": issue.title,
        "user": sender_json(urls),
        "labels": [],
        "state": if issue.open { "open" } else { "closed" },
        "locked": false,
        "assignee": null,
        "assignees": [],
        "milestone": null,
        "comments": 0,
        "created_at": timestamp(issue.created_at),
        "updated_at": timestamp(issue.updated_at),
        "closed_at": issue.closed_at.map(timestamp),
        "author_association": author_association(repo),
        "active_lock_reason": null,
        "body": issue.body,
        "reactions": reactions(&url),
        "timeline_url": format!("{url}/timeline"),
        "performed_via_github_app": null,
        "state_reason": issue.state_reason,
    });
    if let Some(pull) = &issue.pull {
        let html = issue_html_url(urls, repo, issue);
        value["draft"] = json!(false);
        value["pull_request"] = json!({
            "url": format!("{repo_api}/pulls/{}", issue.number),
            "html_url": html,
            "diff_url": format!("{html}.diff"),
            "patch_url": format!("{html}.patch"),
            "merged_at": pull.merged_at.map(timestamp),
        });
    }
    value
}

fn branch_json(urls: &Urls, repo: &SimRepo, name: &str, sha: &str) -> Value {
    json!({
        "label": format!("{}:{name}", repo.owner),
        "ref": name,
        "sha": sha,
        "user": owner_json(urls, repo),
        "repo": repo_json(urls, repo),
    })
}

/// A pull request (`common/pull-request.schema.json`, REST `pull-request`); `None` for a plain
/// issue. A merged pull request is `closed` with `merged: true`: its state is never "merged".
pub(super) fn pull_json(urls: &Urls, repo: &SimRepo, issue: &SimIssue) -> Option<Value> {
    let pull = issue.pull.as_ref()?;
    let repo_api = format!("{}/repos/{}", urls.api, repo.full_name());
    let url = format!("{repo_api}/pulls/{}", issue.number);
    let html = issue_html_url(urls, repo, issue);
    let issue_url = format!("{repo_api}/issues/{}", issue.number);
    let link = |href: &str| json!({ "href": href });
    let merged = pull.merged_at.is_some();
    let links = json!({
    "self": link(&url),
    "html": link(&html),
    "issue": link(&issue_url),
    "comments": link(&format!("{issue_url}/comments")),
    "review_comments": link(&format!("{url}/comments")),
    "review_comment": link(&format!("{repo_api}/pulls/comments{{/number}}")),
    "commits": link(&format!("{url}/commits")),
    "statuses": link(&format!("{repo_api}/statuses/{}", pull.head_sha)),
    });
    let head = branch_json(urls, repo, &format!("fix-{}", issue.number), &pull.head_sha);
    let base = branch_json(urls, repo, "main", &"0".repeat(40));
    let mut value = json!({
        "url": url,
        "id": pull.id,
        "node_id": node_id("PullRequest", pull.id),
        "html_url": html,
        "diff_url": format!("{html}.diff"),
        "patch_url": format!("{html}.patch"),
        "issue_url": issue_url,
        "number": issue.number,
        "state": if issue.open { "open" } else { "closed" },
        "locked": false,
        "title": issue.title,
        "user": sender_json(urls),
        "body": issue.body,
        "created_at": timestamp(issue.created_at),
        "updated_at": timestamp(issue.updated_at),
        "closed_at": issue.closed_at.map(timestamp),
        "merged_at": pull.merged_at.map(timestamp),
        "merge_commit_sha": pull.merge_commit_sha,
        "assignee": null,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "labels": [],
        "milestone": null,
        "draft": false,
        "commits_url": format!("{url}/commits"),
        "review_comments_url": format!("{url}/comments"),
        "review_comment_url": format!("{repo_api}/pulls/comments{{/number}}"),
        "comments_url": format!("{issue_url}/comments"),
        "statuses_url": format!("{repo_api}/statuses/{}", pull.head_sha),
        "head": head,
        "base": base,
        "_links": links,
    });
    // Two objects: one would be more than `json!`'s recursion limit allows.
    let rest = json!({
        "author_association": author_association(repo),
        "auto_merge": null,
        "active_lock_reason": null,
        "merged": merged,
        "mergeable": if issue.open { json!(true) } else { Value::Null },
        "rebaseable": if issue.open { json!(true) } else { Value::Null },
        "mergeable_state": if issue.open { "clean" } else { "unknown" },
        "merged_by": if merged { sender_json(urls) } else { Value::Null },
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": false,
        "commits": 1,
        "additions": 1,
        "deletions": 0,
        "changed_files": 1,
    });
    if let (Some(fields), Value::Object(rest)) = (value.as_object_mut(), rest) {
        fields.extend(rest);
    }
    Some(value)
}

/// A repository webhook (REST `hook`). The secret is never shown: "********" stands for it.
pub(super) fn hook_json(urls: &Urls, repo: &SimRepo, hook: &SimHook) -> Value {
    let url = format!("{}/repos/{}/hooks/{}", urls.api, repo.full_name(), hook.id);
    json!({
        "type": "Repository",
        "id": hook.id,
        "name": "web",
        "active": hook.active,
        "events": hook.events,
        "config": config_json(hook),
        "updated_at": timestamp(hook.updated_at),
        "created_at": timestamp(hook.created_at),
        "url": url,
        "test_url": format!("{url}/test"),
        "ping_url": format!("{url}/pings"),
        "deliveries_url": format!("{url}/deliveries"),
        "last_response": {
            "code": hook.last_response.code,
            "status": hook.last_response.status,
            "message": hook.last_response.message,
        },
    })
}

/// A hook's configuration (REST `webhook-config`), the secret masked.
pub(super) fn config_json(hook: &SimHook) -> Value {
    let mut config = json!({
        "content_type": hook.config.content_type.name(),
        "insecure_ssl": hook.config.insecure_ssl,
        "url": hook.config.url,
    });
    if hook.config.secret.is_some() {
        config["secret"] = json!("********");
    }
    config
}
