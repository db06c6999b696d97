//! The GitHub simulator over real HTTP: one test per rule it enforces (docs/github-fidelity.md
//! lists each rule with its source and test). Webhooks are received by a listener on
//! 127.0.0.1 that records what GitHub's deliveries carry.
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Auth, Backend, Reply, TestApp,
    github::{
        REPO, Receiver, api, control, create_hook, octokit_errors, sha1_signature_valid,
        signature_valid, token,
    },
    schema::fixtures,
    spawn_app,
};

async fn app() -> TestApp {
    spawn_app(Backend::Embedded).await
}

fn header(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn number(reply: &Reply, name: &str) -> u64 {
    header(reply, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a numeric {name} header: {:?}", reply.headers))
}

/// `{PUBLIC_URL}/sandbox/github{path}`: where the simulator's `html_url`s point.
fn web(app: &TestApp, path: &str) -> String {
    format!(
        "{}/sandbox/github{path}",
        app.settings.public_url.as_str().trim_end_matches('/')
    )
}

fn epoch_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

async fn close(app: &TestApp, number: u64, body: Option<Value>) -> Reply {
    let reply = control(
        app,
        Method::POST,
        &format!("/repos/{REPO}/issues/{number}/close"),
        body,
    )
    .await;
    reply.assert_status(200);
    reply
}

async fn reopen(app: &TestApp, number: u64) -> Reply {
    control(
        app,
        Method::POST,
        &format!("/repos/{REPO}/issues/{number}/reopen"),
        None,
    )
    .await
}

/// A JSON hook with a secret on the seeded repository, subscribed to `events`.
async fn json_hook(
    app: &TestApp,
    token: &str,
    receiver: &Receiver,
    events: Value,
    secret: &str,
) -> u64 {
    create_hook(
        app,
        token,
        json!({"events": events, "config": {"url": receiver.url("/hook"), "content_type": "json", "secret": secret}}),
    )
    .await
}

#[tokio::test]
async fn the_seeded_repository_answers_issues_and_pull_requests_in_githubs_shapes() {
    let app = app().await;
    let t = token(&app, "repo").await;
    let issue = api(
        &app,
        Method::GET,
        &format!("/repos/{REPO}/issues/1"),
        &t,
        None,
    )
    .await;
    issue.assert_status(200);
    assert_eq!(issue.body["title"], "Widget breaks on save");
    assert_eq!(issue.body["state"], "open");
    assert_eq!(issue.body["state_reason"], Value::Null);
    assert!(
        issue.body.get("pull_request").is_none(),
        "a plain issue has no pull_request key"
    );
    assert_eq!(
        issue.body["html_url"],
        web(&app, "/sandbox-octocat/widgets/issues/1")
    );
    assert_eq!(issue.body["user"]["login"], "sandbox-octocat");

    // A pull request answers as an issue, with a `pull_request` object and its issue id.
    let as_issue = api(
        &app,
        Method::GET,
        &format!("/repos/{REPO}/issues/2"),
        &t,
        None,
    )
    .await;
    as_issue.assert_status(200);
    assert_eq!(as_issue.body["title"], "Fix the save crash");
    let pr = &as_issue.body["pull_request"];
    assert_eq!(
        pr["url"],
        web(&app, "/api/repos/sandbox-octocat/widgets/pulls/2")
    );
    assert_eq!(pr["html_url"], web(&app, "/sandbox-octocat/widgets/pull/2"));
    assert_eq!(pr["merged_at"], Value::Null);
    let pull = api(
        &app,
        Method::GET,
        &format!("/repos/{REPO}/pulls/2"),
        &t,
        None,
    )
    .await;
    pull.assert_status(200);
    assert_eq!(
        (
            &pull.body["number"],
            &pull.body["state"],
            &pull.body["merged"]
        ),
        (&json!(2), &json!("open"), &json!(false))
    );
    assert_ne!(
        pull.body["id"], as_issue.body["id"],
        "a pull request's id is not its issue id"
    );

    // A plain issue is no pull request: 404 with GitHub's error body.
    let not_a_pull = api(
        &app,
        Method::GET,
        &format!("/repos/{REPO}/pulls/1"),
        &t,
        None,
    )
    .await;
    not_a_pull.assert_status(404);
    assert_eq!(not_a_pull.body["message"], "Not Found");
    assert_eq!(not_a_pull.body["status"], "404", "status is a string");
    assert!(
        not_a_pull.body["documentation_url"]
            .as_str()
            .is_some_and(|u| u.contains("get-a-pull-request"))
    );

    let closed = api(
        &app,
        Method::GET,
        &format!("/repos/{REPO}/issues/3"),
        &t,
        None,
    )
    .await;
    assert_eq!(closed.body["state"], "closed");
    assert_eq!(closed.body["state_reason"], "completed");
    assert!(closed.body["closed_at"].is_string());

    for path in ["/issues/99", "/issues/abc", "/pulls/99"] {
        api(&app, Method::GET, &format!("/repos/{REPO}{path}"), &t, None)
            .await
            .assert_status(404);
    }
    api(
        &app,
        Method::GET,
        "/repos/sandbox-octocat/nothing/issues/1",
        &t,
        None,
    )
    .await
    .assert_status(404);
    api(
        &app,
        Method::GET,
        "/repos/Sandbox-Octocat/WIDGETS/issues/1",
        &t,
        None,
    )
    .await
    .assert_status(200);
}

#[tokio::test]
async fn every_api_call_needs_a_valid_token() {
    let app = app().await;
    let missing = app
        .request(Method::GET, "/sandbox/github/api/user", Auth::None, None)
        .await;
    missing.assert_status(401);
    assert_eq!(missing.body["message"], "Requires authentication");
    assert_eq!(missing.body["status"], "401");
    let bad = api(
        &app,
        Method::GET,
        &format!("/repos/{REPO}/issues/1"),
        "gho_unknown",
        None,
    )
    .await;
    bad.assert_status(401);
    assert_eq!(bad.body["message"], "Bad credentials");
    assert!(bad.body["documentation_url"].is_string());
    assert!(header(&bad, "x-ratelimit-remaining").is_none());

    let t = token(&app, "read:user").await;
    let with_token_scheme = app
        .send(
            app.client
                .get(app.url("/sandbox/github/api/user"))
                .header("authorization", format!("token {t}")),
            Auth::None,
            None,
        )
        .await;
    with_token_scheme.assert_status(200);
    assert_eq!(with_token_scheme.body["login"], "sandbox-octocat");
    // A revoked token is a bad one.
    app.request(Method::DELETE, "/sandbox/github/tokens", Auth::None, None)
        .await
        .assert_status(204);
    api(&app, Method::GET, "/user", &t, None)
        .await
        .assert_status(401);
}

#[tokio::test]
async fn private_repositories_are_invisible_without_the_repo_scope() {
    let app = app().await;
    let created = control(
        &app,
        Method::POST,
        "/repos",
        Some(json!({"owner": "sandbox-octocat", "name": "secret-plans", "private": true})),
    )
    .await;
    created.assert_status(201);
    assert_eq!(created.body["private"], true);
    control(
        &app,
        Method::POST,
        "/repos/sandbox-octocat/secret-plans/issues",
        Some(json!({"title": "Hidden"})),
    )
    .await
    .assert_status(201);
    let path = "/repos/sandbox-octocat/secret-plans/issues/1";
    let no_repo_scope = token(&app, "read:user public_repo").await;
    let hidden = api(&app, Method::GET, path, &no_repo_scope, None).await;
    hidden.assert_status(404);
    assert_eq!(hidden.body["message"], "Not Found");
    let with_repo = token(&app, "repo").await;
    api(&app, Method::GET, path, &with_repo, None)
        .await
        .assert_status(200);

    // A private repository the user is no member of is invisible even with `repo`; a public
    // one is readable with any token.
    for (name, private) in [("hidden", true), ("open-thing", false)] {
        control(
            &app,
            Method::POST,
            "/repos",
            Some(json!({"owner": "octo-org", "name": name, "private": private, "admin": false})),
        )
        .await
        .assert_status(201);
        control(
            &app,
            Method::POST,
            &format!("/repos/octo-org/{name}/issues"),
            Some(json!({"title": "x"})),
        )
        .await
        .assert_status(201);
    }
    api(
        &app,
        Method::GET,
        "/repos/octo-org/hidden/issues/1",
        &with_repo,
        None,
    )
    .await
    .assert_status(404);
    api(
        &app,
        Method::GET,
        "/repos/octo-org/open-thing/issues/1",
        &no_repo_scope,
        None,
    )
    .await
    .assert_status(200);

    // The controls refuse names GitHub would not accept, and a second repository of one name.
    for body in [
        json!({"owner": "bad owner", "name": "x"}),
        json!({"owner": "sandbox-octocat", "name": "no/slash"}),
        json!({"owner": "sandbox-octocat", "name": "widgets"}),
    ] {
        control(&app, Method::POST, "/repos", Some(body))
            .await
            .assert_status(422);
    }
}

#[tokio::test]
async fn answers_carry_the_rate_limit_headers_and_count_every_call() {
    let app = app().await;
    let t = token(&app, "repo").await;
    let first = api(&app, Method::GET, "/user", &t, None).await;
    first.assert_status(200);
    assert_eq!(number(&first, "x-ratelimit-limit"), 5000);
    assert_eq!(number(&first, "x-ratelimit-remaining"), 4999);
    assert_eq!(number(&first, "x-ratelimit-used"), 1);
    assert_eq!(
        header(&first, "x-ratelimit-resource").as_deref(),
        Some("core")
    );
    let reset = number(&first, "x-ratelimit-reset");
    let now = epoch_now();
    assert!(
        (now + 3590..=now + 3600).contains(&reset),
        "reset {reset} is an epoch second an hour ahead of {now}"
    );
    // Refusals count too.
    let missing = api(
        &app,
        Method::GET,
        &format!("/repos/{REPO}/issues/99"),
        &t,
        None,
    )
    .await;
    missing.assert_status(404);
    assert_eq!(number(&missing, "x-ratelimit-remaining"), 4998);
    assert_eq!(number(&missing, "x-ratelimit-used"), 2);
    // The limit is the user's: every token of the user counts against one window.
    let other = token(&app, "read:user").await;
    let theirs = api(&app, Method::GET, "/user", &other, None).await;
    assert_eq!(number(&theirs, "x-ratelimit-remaining"), 4997);
    assert_eq!(number(&theirs, "x-ratelimit-reset"), reset);
}

#[tokio::test]
async fn a_matching_if_none_match_answers_304_without_counting() {
    let app = app().await;
    let t = token(&app, "repo").await;
    let path = format!("/sandbox/github/api/repos/{REPO}/issues/1");
    let conditional = |tag: String| {
        app.client
            .get(app.url(&path))
            .bearer_auth(&t)
            .header("if-none-match", tag)
    };
    let first = app
        .request(Method::GET, &path, Auth::Bearer(&t), None)
        .await;
    first.assert_status(200);
    let tag = header(&first, "etag").expect("an ETag on a GET");
    assert!(
        tag.starts_with('"') && tag.ends_with('"'),
        "a quoted ETag: {tag}"
    );
    let remaining = number(&first, "x-ratelimit-remaining");

    let not_modified = app.send(conditional(tag.clone()), Auth::None, None).await;
    not_modified.assert_status(304);
    assert!(not_modified.text.is_empty(), "a 304 has no body");
    assert_eq!(header(&not_modified, "etag"), Some(tag.clone()));
    assert_eq!(
        number(&not_modified, "x-ratelimit-remaining"),
        remaining,
        "a 304 is not counted"
    );
    let weak = app
        .send(conditional(format!("W/{tag}")), Auth::None, None)
        .await;
    weak.assert_status(304);

    let other = app
        .send(
            conditional("\"something-else\"".to_owned()),
            Auth::None,
            None,
        )
        .await;
    other.assert_status(200);
    assert_eq!(number(&other, "x-ratelimit-remaining"), remaining - 1);

    // A change changes the ETag: the old one no longer matches.
    close(&app, 1, None).await;
    let changed = app.send(conditional(tag.clone()), Auth::None, None).await;
    changed.assert_status(200);
    assert_eq!(changed.body["state"], "closed");
    assert_ne!(header(&changed, "etag"), Some(tag));
}

#[tokio::test]
async fn a_spent_limit_answers_403_with_remaining_0_until_the_reset() {
    let app = app().await;
    let t = token(&app, "repo").await;
    let reset = epoch_now() + 2;
    control(
        &app,
        Method::PUT,
        "/rate-limit",
        Some(json!({"token": t, "remaining": 0, "reset": reset})),
    )
    .await
    .assert_status(200);
    let refused = api(
        &app,
        Method::GET,
        &format!("/repos/{REPO}/issues/1"),
        &t,
        None,
    )
    .await;
    refused.assert_status(403);
    assert_eq!(number(&refused, "x-ratelimit-remaining"), 0);
    assert_eq!(number(&refused, "x-ratelimit-used"), 5000);
    assert_eq!(number(&refused, "x-ratelimit-reset"), reset);
    assert_eq!(
        refused.body["message"],
        "API rate limit exceeded for user ID 583231."
    );
    assert!(
        refused.body["documentation_url"]
            .as_str()
            .is_some_and(|u| u.contains("rate-limits"))
    );

    tokio::time::sleep(Duration::from_millis(2_600)).await;
    let after_reset = api(
        &app,
        Method::GET,
        &format!("/repos/{REPO}/issues/1"),
        &t,
        None,
    )
    .await;
    after_reset.assert_status(200);
    assert_eq!(number(&after_reset, "x-ratelimit-remaining"), 4999);

    // The window is the user's, so the user's other tokens are refused too.
    let other = token(&app, "repo").await;
    control(
        &app,
        Method::PUT,
        "/rate-limit",
        Some(json!({"remaining": 1})),
    )
    .await
    .assert_status(200);
    let last = api(&app, Method::GET, "/user", &t, None).await;
    last.assert_status(200);
    assert_eq!(number(&last, "x-ratelimit-remaining"), 0);
    api(&app, Method::GET, "/user", &other, None)
        .await
        .assert_status(403);
    control(
        &app,
        Method::PUT,
        "/rate-limit",
        Some(json!({"token": "gho_nobody", "remaining": 0})),
    )
    .await
    .assert_status(404);
}

#[tokio::test]
async fn a_forced_secondary_limit_answers_403_or_429_with_retry_after() {
    let app = app().await;
    let t = token(&app, "repo").await;
    control(
        &app,
        Method::PUT,
        "/secondary-limit",
        Some(json!({"count": 1, "status": 429, "retryAfter": 30})),
    )
    .await
    .assert_status(204);
    let limited = api(&app, Method::GET, "/user", &t, None).await;
    limited.assert_status(429);
    assert_eq!(header(&limited, "retry-after").as_deref(), Some("30"));
    assert!(
        limited.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("secondary rate limit"))
    );
    assert!(header(&limited, "x-ratelimit-remaining").is_some());
    api(&app, Method::GET, "/user", &t, None)
        .await
        .assert_status(200);

    control(
        &app,
        Method::PUT,
        "/secondary-limit",
        Some(json!({"count": 1})),
    )
    .await;
    let default = api(&app, Method::GET, "/user", &t, None).await;
    default.assert_status(403);
    assert_eq!(header(&default, "retry-after").as_deref(), Some("60"));
    control(
        &app,
        Method::PUT,
        "/secondary-limit",
        Some(json!({"count": 1, "retryAfter": null})),
    )
    .await;
    let bare = api(&app, Method::GET, "/user", &t, None).await;
    bare.assert_status(403);
    assert!(header(&bare, "retry-after").is_none());
    control(
        &app,
        Method::PUT,
        "/secondary-limit",
        Some(json!({"count": 1, "status": 500})),
    )
    .await
    .assert_status(422);
}

#[tokio::test]
async fn a_new_hook_gets_githubs_defaults_and_its_secret_is_never_shown() {
    let app = app().await;
    let t = token(&app, "repo").await;
    let receiver = Receiver::start().await;
    let created = api(
        &app,
        Method::POST,
        &format!("/repos/{REPO}/hooks"),
        &t,
        Some(json!({"config": {"url": receiver.url("/hook"), "secret": "s3cret"}})),
    )
    .await;
    created.assert_status(201);
    let hook = &created.body;
    let id = hook["id"].as_u64().expect("id");
    let url = web(
        &app,
        &format!("/api/repos/sandbox-octocat/widgets/hooks/{id}"),
    );
    assert_eq!(header(&created, "location"), Some(url.clone()));
    assert_eq!(hook["type"], "Repository");
    assert_eq!(hook["name"], "web");
    assert_eq!(hook["active"], true);
    assert_eq!(hook["events"], json!(["push"]));
    assert_eq!(hook["config"]["content_type"], "form");
    assert_eq!(hook["config"]["insecure_ssl"], "0");
    assert_eq!(hook["config"]["url"], receiver.url("/hook"));
    assert_eq!(hook["config"]["secret"], "********");
    assert_eq!(hook["url"], url);
    assert_eq!(hook["ping_url"], format!("{url}/pings"));
    assert_eq!(hook["test_url"], format!("{url}/test"));
    assert_eq!(hook["deliveries_url"], format!("{url}/deliveries"));
    assert!(hook["created_at"].is_string() && hook["updated_at"].is_string());
    assert_eq!(hook["last_response"]["status"], "unused");

    let listed = api(&app, Method::GET, &format!("/repos/{REPO}/hooks"), &t, None).await;
    listed.assert_status(200);
    assert_eq!(listed.body.as_array().map(Vec::len), Some(1));
    assert_eq!(listed.body[0]["config"]["secret"], "********");
    let one = api(
        &app,
        Method::GET,
        &format!("/repos/{REPO}/hooks/{id}"),
        &t,
        None,
    )
    .await;
    one.assert_status(200);
    assert_eq!(one.body["id"], id);
    assert!(!one.text.contains("s3cret"));
    // A wildcard replaces the other events.
    let wildcard = api(
        &app,
        Method::POST,
        &format!("/repos/{REPO}/hooks"),
        &t,
        Some(json!({"events": ["issues", "*"], "config": {"url": receiver.url("/all")}})),
    )
    .await;
    wildcard.assert_status(201);
    assert_eq!(wildcard.body["events"], json!(["*"]));
}

#[tokio::test]
async fn hook_creation_refuses_what_github_refuses() {
    let app = app().await;
    let t = token(&app, "repo").await;
    let path = format!("/repos/{REPO}/hooks");
    let good = json!({"url": "http://127.0.0.1:9/hook"});
    for (body, field, code) in [
        (json!({"name": "email", "config": good}), "name", "invalid"),
        (json!({}), "url", "missing_field"),
        (json!({"config": {}}), "url", "missing_field"),
        (json!({"config": {"url": "not a url"}}), "url", "invalid"),
        (
            json!({"config": {"url": "ftp://127.0.0.1/x"}}),
            "url",
            "invalid",
        ),
        (
            json!({"config": {"url": "http://127.0.0.1:9/hook", "content_type": "xml"}}),
            "content_type",
            "invalid",
        ),
        (
            json!({"config": {"url": "http://127.0.0.1:9/hook", "insecure_ssl": "2"}}),
            "insecure_ssl",
            "invalid",
        ),
        (
            json!({"config": good, "events": "push"}),
            "events",
            "invalid",
        ),
        (
            json!({"config": good, "active": "yes"}),
            "active",
            "invalid",
        ),
    ] {
        let refused = api(&app, Method::POST, &path, &t, Some(body.clone())).await;
        refused.assert_status(422);
        assert_eq!(refused.body["message"], "Validation Failed", "{body}");
        assert_eq!(refused.body["status"], "422");
        assert_eq!(refused.body["errors"][0]["field"], field, "{body}");
        assert_eq!(refused.body["errors"][0]["code"], code, "{body}");
    }
    let not_json = app
        .send(
            app.client
                .post(app.url(&format!("/sandbox/github/api{path}")))
                .bearer_auth(&t)
                .header("content-type", "application/json")
                .body("{"),
            Auth::None,
            None,
        )
        .await;
    not_json.assert_status(400);
    assert_eq!(not_json.body["message"], "Problems parsing JSON");
    let listed = api(&app, Method::GET, &path, &t, None).await;
    assert_eq!(listed.body, json!([]), "nothing refused was created");
}

#[tokio::test]
async fn hook_routes_need_an_administered_repository_and_a_scope_that_covers_them() {
    let app = app().await;
    let path = format!("/repos/{REPO}/hooks");
    let body = |url: &str| Some(json!({"config": {"url": url}}));
    // Not administered, or not there: 404 whatever the token.
    let repo_scope = token(&app, "repo").await;
    control(
        &app,
        Method::POST,
        "/repos",
        Some(json!({"owner": "octo-org", "name": "theirs", "admin": false})),
    )
    .await
    .assert_status(201);
    for other in [
        "/repos/octo-org/theirs/hooks",
        "/repos/sandbox-octocat/nothing/hooks",
    ] {
        api(
            &app,
            Method::POST,
            other,
            &repo_scope,
            body("http://127.0.0.1:9/a"),
        )
        .await
        .assert_status(404);
        api(&app, Method::GET, other, &repo_scope, None)
            .await
            .assert_status(404);
    }
    // Scopes: read:repo_hook reads, write:repo_hook also writes, admin:repo_hook also deletes;
    // a token with none of them (nor repo/public_repo) sees no hooks.
    let none = token(&app, "read:user").await;
    api(&app, Method::GET, &path, &none, None)
        .await
        .assert_status(404);
    api(
        &app,
        Method::POST,
        &path,
        &none,
        body("http://127.0.0.1:9/b"),
    )
    .await
    .assert_status(404);
    let read = token(&app, "read:repo_hook").await;
    api(&app, Method::GET, &path, &read, None)
        .await
        .assert_status(200);
    api(
        &app,
        Method::POST,
        &path,
        &read,
        body("http://127.0.0.1:9/c"),
    )
    .await
    .assert_status(404);
    let write = token(&app, "write:repo_hook").await;
    let id = create_hook(
        &app,
        &write,
        json!({"config": {"url": "http://127.0.0.1:9/d"}}),
    )
    .await;
    api(&app, Method::DELETE, &format!("{path}/{id}"), &write, None)
        .await
        .assert_status(404);
    let admin = token(&app, "admin:repo_hook").await;
    api(&app, Method::DELETE, &format!("{path}/{id}"), &admin, None)
        .await
        .assert_status(204);
    let public = token(&app, "public_repo").await;
    create_hook(
        &app,
        &public,
        json!({"config": {"url": "http://127.0.0.1:9/e"}}),
    )
    .await;
}

#[tokio::test]
async fn a_second_hook_with_the_same_url_and_overlapping_events_is_refused() {
    let app = app().await;
    let t = token(&app, "repo").await;
    let url = "http://127.0.0.1:9/webhook";
    create_hook(
        &app,
        &t,
        json!({"events": ["issues"], "config": {"url": url}}),
    )
    .await;
    let duplicate = api(
        &app,
        Method::POST,
        &format!("/repos/{REPO}/hooks"),
        &t,
        Some(json!({"events": ["pull_request", "issues"], "config": {"url": url, "content_type": "json"}})),
    )
    .await;
    duplicate.assert_status(422);
    assert_eq!(duplicate.body["message"], "Validation Failed");
    assert_eq!(
        duplicate.body["errors"][0]["message"],
        "Hook already exists on this repository"
    );
    assert_eq!(duplicate.body["errors"][0]["code"], "custom");
    // The same URL for other events, or another URL for the same events, is fine.
    create_hook(
        &app,
        &t,
        json!({"events": ["pull_request"], "config": {"url": url}}),
    )
    .await;
    let other = create_hook(
        &app,
        &t,
        json!({"events": ["issues"], "config": {"url": "http://127.0.0.1:9/other"}}),
    )
    .await;
    // Moving a hook onto a URL that duplicates another is refused too.
    api(
        &app,
        Method::PATCH,
        &format!("/repos/{REPO}/hooks/{other}/config"),
        &t,
        Some(json!({"url": url})),
    )
    .await
    .assert_status(422);
}

#[tokio::test]
async fn an_event_takes_at_most_twenty_hooks() {
    let app = app().await;
    let t = token(&app, "repo").await;
    for i in 0..20 {
        create_hook(
            &app,
            &t,
            json!({"events": ["issues"], "config": {"url": format!("http://127.0.0.1:9/{i}")}}),
        )
        .await;
    }
    let over = api(
        &app,
        Method::POST,
        &format!("/repos/{REPO}/hooks"),
        &t,
        Some(json!({"events": ["issues"], "config": {"url": "http://127.0.0.1:9/20"}})),
    )
    .await;
    over.assert_status(422);
    assert!(
        over.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("more than 20"))
    );
    create_hook(
        &app,
        &t,
        json!({"events": ["pull_request"], "config": {"url": "http://127.0.0.1:9/20"}}),
    )
    .await;
}

#[tokio::test]
async fn a_new_hook_is_pinged_with_githubs_delivery_headers() {
    let app = app().await;
    let t = token(&app, "repo").await;
    let receiver = Receiver::start().await;
    let id = json_hook(&app, &t, &receiver, json!(["issues"]), "pong").await;
    let pings = receiver.wait_for("ping", 1).await;
    let ping = &pings[0];
    let payload = ping.payload();
    assert_eq!(ping.header("x-github-hook-id"), Some(id.to_string()));
    let guid = ping.header("x-github-delivery").expect("a delivery GUID");
    assert!(uuid::Uuid::parse_str(&guid).is_ok(), "a GUID: {guid}");
    assert!(
        ping.header("user-agent")
            .is_some_and(|ua| ua.starts_with("GitHub-Hookshot/"))
    );
    assert_eq!(
        ping.header("x-github-hook-installation-target-type")
            .as_deref(),
        Some("repository")
    );
    assert_eq!(
        ping.header("x-github-hook-installation-target-id"),
        Some(payload["repository"]["id"].to_string())
    );
    assert_eq!(
        ping.header("content-type").as_deref(),
        Some("application/json")
    );
    assert!(signature_valid(
        "pong",
        &ping.body,
        ping.header("x-hub-signature-256").as_deref()
    ));
    assert!(payload["zen"].as_str().is_some_and(|z| !z.is_empty()));
    assert_eq!(payload["hook_id"], id);
    assert_eq!(payload["hook"]["id"], id);
    assert_eq!(payload["hook"]["type"], "Repository");
    assert_eq!(payload["hook"]["config"]["secret"], "********");
    assert_eq!(payload["repository"]["full_name"], REPO);
    assert_eq!(payload["sender"]["login"], "sandbox-octocat");

    // POST …/pings sends another, as a new event.
    api(
        &app,
        Method::POST,
        &format!("/repos/{REPO}/hooks/{id}/pings"),
        &t,
        None,
    )
    .await
    .assert_status(204);
    let pings = receiver.wait_for("ping", 2).await;
    assert_ne!(pings[1].header("x-github-delivery"), Some(guid));
    api(
        &app,
        Method::POST,
        &format!("/repos/{REPO}/hooks/999/pings"),
        &t,
        None,
    )
    .await
    .assert_status(404);
}

#[tokio::test]
async fn closing_an_issue_delivers_a_signed_issues_event() {
    let app = app().await;
    let t = token(&app, "repo").await;
    let receiver = Receiver::start().await;
    let secret = "It's a Secret to Everybody";
    let id = json_hook(
        &app,
        &t,
        &receiver,
        json!(["issues", "pull_request"]),
        secret,
    )
    .await;
    receiver.wait_for("ping", 1).await;

    let closed = close(&app, 1, None).await;
    assert_eq!(closed.body["state"], "closed");
    assert_eq!(closed.body["stateReason"], "completed");
    let made = &closed.body["deliveries"];
    assert_eq!(made.as_array().map(Vec::len), Some(1));
    assert_eq!(made[0]["hookId"], id);
    assert_eq!(made[0]["statusCode"], 200);
    assert_eq!(made[0]["status"], "OK");
    let guid = made[0]["guid"].as_str().expect("guid").to_owned();

    let got = receiver.wait_for("issues", 1).await;
    let delivery = &got[0];
    assert_eq!(delivery.header("x-github-delivery"), Some(guid.clone()));
    assert_eq!(delivery.header("x-github-hook-id"), Some(id.to_string()));
    assert!(signature_valid(
        secret,
        &delivery.body,
        delivery.header("x-hub-signature-256").as_deref()
    ));
    assert!(sha1_signature_valid(
        secret,
        &delivery.body,
        delivery.header("x-hub-signature").as_deref()
    ));
    assert!(!signature_valid(
        "another secret",
        &delivery.body,
        delivery.header("x-hub-signature-256").as_deref()
    ));
    let payload = delivery.payload();
    assert_eq!(payload["action"], "closed");
    assert_eq!(payload["issue"]["number"], 1);
    assert_eq!(payload["issue"]["state"], "closed");
    assert_eq!(payload["issue"]["state_reason"], "completed");
    assert!(payload["issue"]["closed_at"].is_string());
    assert_eq!(payload["repository"]["full_name"], REPO);
    assert_eq!(payload["sender"]["login"], "sandbox-octocat");

    // The log and the hook's last response record the answer.
    let log = control(&app, Method::GET, &format!("/deliveries?guid={guid}"), None).await;
    assert_eq!(log.body[0]["statusCode"], 200);
    assert_eq!(log.body[0]["event"], "issues");
    assert_eq!(log.body[0]["action"], "closed");
    let hook = api(
        &app,
        Method::GET,
        &format!("/repos/{REPO}/hooks/{id}"),
        &t,
        None,
    )
    .await;
    assert_eq!(hook.body["last_response"]["code"], 200);

    // Closing again changes nothing and sends nothing; reopening sends `reopened`.
    assert_eq!(close(&app, 1, None).await.body["deliveries"], json!([]));
    let reopened = reopen(&app, 1).await;
    reopened.assert_status(200);
    assert_eq!(reopened.body["stateReason"], "reopened");
    let got = receiver.wait_for("issues", 2).await;
    let payload = got[1].payload();
    assert_eq!(payload["action"], "reopened");
    assert_eq!(payload["issue"]["state"], "open");
    assert_eq!(payload["issue"]["closed_at"], Value::Null);
    assert_eq!(payload["issue"]["state_reason"], "reopened");
    assert_ne!(
        got[1].header("x-github-delivery"),
        Some(guid),
        "a new event has a new GUID"
    );
}

#[tokio::test]
async fn every_hook_of_one_event_gets_the_same_guid() {
    let app = app().await;
    let t = token(&app, "repo").await;
    let (first, second) = (Receiver::start().await, Receiver::start().await);
    let a = json_hook(&app, &t, &first, json!(["issues"]), "a").await;
    let b = json_hook(&app, &t, &second, json!(["issues"]), "b").await;
    let made = close(&app, 1, None).await.body["deliveries"].clone();
    assert_eq!(made.as_array().map(Vec::len), Some(2));
    assert_eq!(made[0]["guid"], made[1]["guid"]);
    let (x, y) = (
        &first.wait_for("issues", 1).await[0],
        &second.wait_for("issues", 1).await[0],
    );
    assert_eq!(x.header("x-github-delivery"), y.header("x-github-delivery"));
    assert_eq!(x.header("x-github-hook-id"), Some(a.to_string()));
    assert_eq!(y.header("x-github-hook-id"), Some(b.to_string()));
    assert!(signature_valid(
        "a",
        &x.body,
        x.header("x-hub-signature-256").as_deref()
    ));
    assert!(signature_valid(
        "b",
        &y.body,
        y.header("x-hub-signature-256").as_deref()
    ));
}

#[tokio::test]
async fn a_form_hook_gets_the_payload_parameter_signed_as_sent() {
    let app = app().await;
    let t = token(&app, "repo").await;
    let receiver = Receiver::start().await;
    create_hook(
        &app,
        &t,
        json!({"events": ["issues"], "config": {"url": receiver.url("/form"), "secret": "f"}}),
    )
    .await;
    close(&app, 1, None).await;
    let got = receiver.wait_for("issues", 1).await;
    assert_eq!(
        got[0].header("content-type").as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert!(got[0].body.starts_with(b"payload="));
    assert!(signature_valid(
        "f",
        &got[0].body,
        got[0].header("x-hub-signature-256").as_deref()
    ));
    assert_eq!(got[0].payload()["action"], "closed");
}

#[tokio::test]
async fn a_hook_without_a_secret_gets_no_signature_headers() {
    let app = app().await;
    let t = token(&app, "repo").await;
    let receiver = Receiver::start().await;
    create_hook(&app, &t, json!({"events": ["issues"], "config": {"url": receiver.url("/plain"), "content_type": "json", "secret": ""}})).await;
    close(&app, 1, None).await;
    let got = receiver.wait_for("issues", 1).await;
    assert!(got[0].header("x-hub-signature-256").is_none());
    assert!(got[0].header("x-hub-signature").is_none());
}

#[tokio::test]
async fn inactive_hooks_and_hooks_for_other_events_get_nothing() {
    let app = app().await;
    let t = token(&app, "repo").await;
    let receiver = Receiver::start().await;
    create_hook(
        &app,
        &t,
        json!({"active": false, "events": ["issues"], "config": {"url": receiver.url("/off")}}),
    )
    .await;
    create_hook(
        &app,
        &t,
        json!({"events": ["push"], "config": {"url": receiver.url("/push")}}),
    )
    .await;
    receiver.wait_for("ping", 1).await;
    assert_eq!(close(&app, 1, None).await.body["deliveries"], json!([]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events: Vec<String> = receiver.all().iter().map(|c| c.event()).collect();
    assert_eq!(
        events,
        vec!["ping"],
        "only the active hook was pinged, and nobody got `issues`"
    );
}

#[tokio::test]
async fn pull_requests_send_pull_request_events_and_merged_ones_stay_closed() {
    let app = app().await;
    let t = token(&app, "repo").await;
    let receiver = Receiver::start().await;
    json_hook(&app, &t, &receiver, json!(["issues", "pull_request"]), "pr").await;

    let merged = close(&app, 2, Some(json!({"merged": true}))).await;
    assert_eq!(
        (&merged.body["state"], &merged.body["merged"]),
        (&json!("closed"), &json!(true))
    );
    let got = receiver.wait_for("pull_request", 1).await;
    let payload = got[0].payload();
    assert_eq!(payload["action"], "closed");
    assert_eq!(payload["number"], 2);
    assert_eq!(payload["pull_request"]["merged"], true);
    assert_eq!(payload["pull_request"]["state"], "closed");
    assert!(payload["pull_request"]["merged_at"].is_string());
    let pull = api(
        &app,
        Method::GET,
        &format!("/repos/{REPO}/pulls/2"),
        &t,
        None,
    )
    .await;
    assert_eq!(
        (&pull.body["state"], &pull.body["merged"]),
        (&json!("closed"), &json!(true))
    );
    let as_issue = api(
        &app,
        Method::GET,
        &format!("/repos/{REPO}/issues/2"),
        &t,
        None,
    )
    .await;
    assert!(as_issue.body["pull_request"]["merged_at"].is_string());
    reopen(&app, 2).await.assert_status(422);
    control(
        &app,
        Method::POST,
        &format!("/repos/{REPO}/issues/1/close"),
        Some(json!({"merged": true})),
    )
    .await
    .assert_status(422);

    let created = control(
        &app,
        Method::POST,
        &format!("/repos/{REPO}/issues"),
        Some(json!({"title": "Another fix", "pullRequest": true})),
    )
    .await;
    created.assert_status(201);
    assert_eq!(created.body["number"], 4);
    close(&app, 4, None).await;
    reopen(&app, 4).await.assert_status(200);
    let got = receiver.wait_for("pull_request", 3).await;
    assert_eq!(got[1].payload()["pull_request"]["merged"], false);
    assert_eq!(got[2].payload()["action"], "reopened");
    assert_eq!(got[2].payload()["pull_request"]["state"], "open");
    assert!(
        receiver.all().iter().all(|c| c.event() != "issues"),
        "a pull request sends no `issues` event"
    );
}

#[tokio::test]
async fn issue_and_pull_request_payloads_validate_against_octokits_schemas() {
    let app = app().await;
    let t = token(&app, "repo").await;
    let receiver = Receiver::start().await;
    json_hook(
        &app,
        &t,
        &receiver,
        json!(["issues", "pull_request"]),
        "schema",
    )
    .await;
    close(&app, 1, None).await;
    close(&app, 2, Some(json!({"merged": true}))).await;
    control(
        &app,
        Method::POST,
        &format!("/repos/{REPO}/issues"),
        Some(json!({"title": "Unmerged", "pullRequest": true})),
    )
    .await
    .assert_status(201);
    close(&app, 4, None).await;
    let issues = receiver.wait_for("issues", 1).await;
    let errors = octokit_errors("issues/closed.schema.json", &issues[0].payload());
    assert!(errors.is_empty(), "issues.closed: {errors:#?}");
    for pull in receiver.wait_for("pull_request", 2).await {
        let errors = octokit_errors("pull_request/closed.schema.json", &pull.payload());
        assert!(errors.is_empty(), "pull_request.closed: {errors:#?}");
    }
}

#[test]
fn the_schema_check_accepts_githubs_examples_and_rejects_a_broken_payload() {
    let read = |name: &str| -> Value {
        let text = std::fs::read_to_string(fixtures().join("github").join(name)).expect("fixture");
        serde_json::from_str(&text).expect("JSON")
    };
    for (file, schema) in [
        (
            "issues.closed.SYNTHESIZED.payload.json",
            "issues/closed.schema.json",
        ),
        (
            "pull_request.closed.payload.json",
            "pull_request/closed.schema.json",
        ),
        (
            "pull_request.closed.with-organization.payload.json",
            "pull_request/closed.schema.json",
        ),
    ] {
        let errors = octokit_errors(schema, &read(file));
        assert!(errors.is_empty(), "{file}: {errors:#?}");
    }
    let mut broken = read("issues.closed.SYNTHESIZED.payload.json");
    broken["issue"]["html_url"] = json!("not a URL");
    assert!(!octokit_errors("issues/closed.schema.json", &broken).is_empty());
    if let Some(fields) = broken.as_object_mut() {
        fields.remove("sender");
    }
    assert!(!octokit_errors("issues/closed.schema.json", &broken).is_empty());
    let reopened = read("issues.reopened.payload.json");
    assert!(
        !octokit_errors("issues/closed.schema.json", &reopened).is_empty(),
        "a reopened payload is no closed one"
    );
}

#[test]
fn the_simulators_signatures_match_the_documented_and_recorded_vectors() {
    use switchboard::sandbox::github::{signature_1, signature_256};
    let dir = fixtures().join("github");
    let vectors: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("hmac-vectors.json")).expect("vectors"),
    )
    .expect("JSON");
    let doc = &vectors["doc_vector"];
    assert_eq!(
        signature_256(
            doc["secret"].as_str().expect("secret").as_bytes(),
            doc["payload"].as_str().expect("payload").as_bytes()
        ),
        doc["X-Hub-Signature-256"]
    );
    for file in [
        "pull_request.closed.payload.json",
        "issues.closed.SYNTHESIZED.payload.json",
    ] {
        let body = std::fs::read(dir.join(file)).expect("payload");
        let vector = &vectors[file];
        let secret = vector["secret"].as_str().expect("secret").as_bytes();
        assert_eq!(
            signature_256(secret, &body),
            vector["X-Hub-Signature-256"],
            "{file}"
        );
        assert_eq!(
            signature_1(secret, &body),
            vector["X-Hub-Signature"],
            "{file}"
        );
    }
}

#[tokio::test]
async fn a_redelivery_keeps_the_guid_and_body_and_signs_with_the_current_secret() {
    let app = app().await;
    let t = token(&app, "repo").await;
    let receiver = Receiver::start().await;
    let id = json_hook(&app, &t, &receiver, json!(["issues"]), "first").await;
    let guid = close(&app, 1, None).await.body["deliveries"][0]["guid"]
        .as_str()
        .expect("guid")
        .to_owned();
    let changed = api(
        &app,
        Method::PATCH,
        &format!("/repos/{REPO}/hooks/{id}/config"),
        &t,
        Some(json!({"secret": "second"})),
    )
    .await;
    changed.assert_status(200);
    assert_eq!(changed.body["secret"], "********");

    let again = control(
        &app,
        Method::POST,
        &format!("/deliveries/{guid}/redeliver"),
        None,
    )
    .await;
    again.assert_status(200);
    assert_eq!(again.body["deliveries"][0]["guid"], guid);
    assert_eq!(again.body["deliveries"][0]["redelivery"], true);
    let got = receiver.wait_for("issues", 2).await;
    let (original, replay) = (&got[0], &got[1]);
    assert_eq!(replay.header("x-github-delivery"), Some(guid.clone()));
    assert_eq!(replay.body, original.body, "the same body");
    for name in [
        "x-github-event",
        "x-github-hook-id",
        "user-agent",
        "content-type",
        "x-github-hook-installation-target-type",
        "x-github-hook-installation-target-id",
    ] {
        assert_eq!(replay.header(name), original.header(name), "{name}");
    }
    assert!(signature_valid(
        "second",
        &replay.body,
        replay.header("x-hub-signature-256").as_deref()
    ));
    assert!(!signature_valid(
        "first",
        &replay.body,
        replay.header("x-hub-signature-256").as_deref()
    ));
    let log = control(&app, Method::GET, &format!("/deliveries?guid={guid}"), None).await;
    assert_eq!(log.body.as_array().map(Vec::len), Some(2));

    control(
        &app,
        Method::POST,
        "/deliveries/00000000-0000-0000-0000-000000000000/redeliver",
        None,
    )
    .await
    .assert_status(404);
}

#[tokio::test]
async fn a_slow_receiver_times_out_and_a_failed_delivery_is_not_retried() {
    let app = app().await;
    let t = token(&app, "repo").await;
    control(
        &app,
        Method::PUT,
        "/delivery-timeout",
        Some(json!({"timeoutMs": 300})),
    )
    .await
    .assert_status(204);
    let slow = Receiver::answering(200, Duration::from_millis(1_500)).await;
    json_hook(&app, &t, &slow, json!(["issues"]), "slow").await;
    let made = close(&app, 1, None).await.body["deliveries"].clone();
    assert_eq!(made[0]["statusCode"], Value::Null);
    assert_eq!(made[0]["status"], "timed out");

    let failing = Receiver::answering(500, Duration::ZERO).await;
    json_hook(&app, &t, &failing, json!(["issues"]), "fail").await;
    let made = reopen(&app, 1).await.body["deliveries"].clone();
    let to_failing = made
        .as_array()
        .and_then(|all| all.iter().find(|d| d["status"] != "timed out"))
        .cloned()
        .expect("the failing receiver's delivery");
    assert_eq!(to_failing["statusCode"], 500);
    assert_eq!(to_failing["status"], "Invalid HTTP Response: 500");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let count = |r: &Receiver| r.all().iter().filter(|c| c.event() == "issues").count();
    assert_eq!(
        (count(&slow), count(&failing)),
        (2, 1),
        "one request per event, no retry"
    );
}

#[tokio::test]
async fn deleting_a_hook_answers_204_then_404_and_stops_its_deliveries() {
    let app = app().await;
    let t = token(&app, "repo").await;
    let receiver = Receiver::start().await;
    let id = json_hook(&app, &t, &receiver, json!(["issues"]), "gone").await;
    let path = format!("/repos/{REPO}/hooks/{id}");
    let deleted = api(&app, Method::DELETE, &path, &t, None).await;
    deleted.assert_status(204);
    assert!(deleted.text.is_empty());
    api(&app, Method::DELETE, &path, &t, None)
        .await
        .assert_status(404);
    api(&app, Method::GET, &path, &t, None)
        .await
        .assert_status(404);
    api(
        &app,
        Method::DELETE,
        &format!("/repos/{REPO}/hooks/nope"),
        &t,
        None,
    )
    .await
    .assert_status(404);
    assert_eq!(close(&app, 1, None).await.body["deliveries"], json!([]));
}

#[tokio::test]
async fn a_hooks_config_is_updated_with_the_creation_rules() {
    let app = app().await;
    let t = token(&app, "repo").await;
    let id = create_hook(
        &app,
        &t,
        json!({"events": ["issues"], "config": {"url": "http://127.0.0.1:9/a"}}),
    )
    .await;
    let path = format!("/repos/{REPO}/hooks/{id}/config");
    for (body, field) in [
        (json!({"content_type": "xml"}), "content_type"),
        (json!({"url": "nope"}), "url"),
        (json!({"insecure_ssl": true}), "insecure_ssl"),
    ] {
        let refused = api(&app, Method::PATCH, &path, &t, Some(body)).await;
        refused.assert_status(422);
        assert_eq!(refused.body["errors"][0]["field"], field);
    }
    let updated = api(
        &app,
        Method::PATCH,
        &path,
        &t,
        Some(json!({"url": "http://127.0.0.1:9/b", "content_type": "json", "insecure_ssl": 1, "secret": "x"})),
    )
    .await;
    updated.assert_status(200);
    assert_eq!(
        updated.body,
        json!({"url": "http://127.0.0.1:9/b", "content_type": "json", "insecure_ssl": "1", "secret": "********"})
    );
    api(
        &app,
        Method::PATCH,
        &format!("/repos/{REPO}/hooks/999/config"),
        &t,
        Some(json!({})),
    )
    .await
    .assert_status(404);
}

#[tokio::test]
async fn the_issue_page_closes_merges_and_reopens_with_plain_forms() {
    let app = app().await;
    let t = token(&app, "repo").await;
    let receiver = Receiver::start().await;
    json_hook(
        &app,
        &t,
        &receiver,
        json!(["issues", "pull_request"]),
        "page",
    )
    .await;
    let issue = api(
        &app,
        Method::GET,
        &format!("/repos/{REPO}/issues/1"),
        &t,
        None,
    )
    .await;
    let html_url = issue.body["html_url"]
        .as_str()
        .expect("html_url")
        .to_owned();
    let page_path = "/sandbox/github/sandbox-octocat/widgets/issues/1";
    assert_eq!(html_url, web(&app, "/sandbox-octocat/widgets/issues/1"));

    let page = app
        .client
        .get(app.url(page_path))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status().as_u16(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("text/html"))
    );
    let html = page.text().await.expect("html");
    assert!(html.contains("Widget breaks on save") && html.contains("Open"));
    assert!(html.contains(&format!(
        r#"<form method="post" action="{page_path}/state">"#
    )));
    assert!(html.contains(r#"value="close""#) && !html.contains("<script"));

    let pressed = app
        .client
        .post(app.url(&format!("{page_path}/state")))
        .form(&[("action", "close")])
        .send()
        .await
        .expect("form post");
    assert_eq!(pressed.status().as_u16(), 303);
    assert_eq!(pressed.headers()["location"], page_path);
    let delivered = receiver.wait_for("issues", 1).await;
    let guid = delivered[0].header("x-github-delivery").expect("guid");
    let html = app
        .client
        .get(app.url(page_path))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains("Closed") && html.contains(r#"value="reopen""#));
    assert!(html.contains(&guid), "the page lists the delivery");

    // A pull request's page merges; the issue path of a pull request redirects to it.
    let redirect = app
        .client
        .get(app.url("/sandbox/github/sandbox-octocat/widgets/issues/2"))
        .send()
        .await
        .expect("page");
    assert_eq!(
        redirect.headers()["location"],
        "/sandbox/github/sandbox-octocat/widgets/pull/2"
    );
    let pull = app
        .client
        .get(app.url("/sandbox/github/sandbox-octocat/widgets/pull/2"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(pull.contains(r#"value="merge""#));
    let merged = app
        .client
        .post(app.url("/sandbox/github/sandbox-octocat/widgets/pull/2/state"))
        .form(&[("action", "merge")])
        .send()
        .await
        .expect("merge");
    assert_eq!(merged.status().as_u16(), 303);
    assert_eq!(
        receiver.wait_for("pull_request", 1).await[0].payload()["pull_request"]["merged"],
        true
    );
    let pull = app
        .client
        .get(app.url("/sandbox/github/sandbox-octocat/widgets/pull/2"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(pull.contains("Merged") && !pull.contains(r#"value="reopen""#));

    let listing = app
        .client
        .get(app.url("/sandbox/github/sandbox-octocat/widgets"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        listing.contains("Old report")
            && listing.contains("/sandbox/github/sandbox-octocat/widgets/pull/2")
    );
    let missing = app
        .client
        .get(app.url("/sandbox/github/sandbox-octocat/widgets/issues/99"))
        .send()
        .await
        .expect("page");
    assert_eq!(missing.status().as_u16(), 404);
}
