//! The simulated GitHub from a test's side: tokens, a webhook receiver on a loopback port,
//! signature checks, and octokit's payload schemas (vendored in tests/fixtures/github).
use std::path::PathBuf;

use hmac::{Hmac, Mac};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard::sandbox::credentials::{GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET};

use super::{
    Account, Auth, Reply, TestApp, oauth,
    schema::fixtures,
    views::{GitHubSettings, Lead, Message},
};

/// The seeded repository.
pub const REPO: &str = "sandbox-octocat/widgets";

/// A token for the sandbox user with these scopes, through the simulator's own OAuth flow.
pub async fn token(app: &TestApp, scope: &str) -> String {
    let redirect = app.state.settings.redirect_uri("github");
    let consent = app
        .client
        .post(app.url("/sandbox/github/login/oauth/authorize"))
        .form(&[
            ("client_id", GITHUB_CLIENT_ID),
            ("redirect_uri", redirect.as_str()),
            ("scope", scope),
            ("state", "s"),
            ("decision", "approve"),
        ])
        .send()
        .await
        .expect("consent");
    let location = consent
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a redirect with the code")
        .to_owned();
    let code = url::Url::parse(&location)
        .expect("URL")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let reply: Value = app
        .client
        .post(app.url("/sandbox/github/login/oauth/access_token"))
        .header("accept", "application/json")
        .form(&[
            ("client_id", GITHUB_CLIENT_ID),
            ("client_secret", GITHUB_CLIENT_SECRET),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("JSON");
    reply["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// A call to the simulated REST API (`path` after `/api`).
pub async fn api(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Reply {
    app.request(
        method,
        &format!("/sandbox/github/api{path}"),
        Auth::Bearer(token),
        body,
    )
    .await
}

/// A call to the sandbox controls (`path` after `/control`).
pub async fn control(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Reply {
    app.request(
        method,
        &format!("/sandbox/github/control{path}"),
        Auth::None,
        body,
    )
    .await
}

/// Creates a hook on the seeded repository and returns its id.
pub async fn create_hook(app: &TestApp, token: &str, body: Value) -> u64 {
    let reply = api(
        app,
        Method::POST,
        &format!("/repos/{REPO}/hooks"),
        token,
        Some(body),
    )
    .await;
    reply.assert_status(201);
    reply.body["id"].as_u64().expect("hook id")
}

pub use super::receiver::Receiver;

/// Checks a signature header as a receiver should: HMAC of the body under the secret,
/// compared in constant time.
pub fn signature_valid(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_digest) = header.and_then(|h| h.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

pub fn sha1_signature_valid(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_digest) = header.and_then(|h| h.strip_prefix("sha1=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// octokit's schemas resolve `common/…` relative to their own file; the retriever finds each
/// by its file name in `schemas/common/` (no network).
struct LocalSchemas(PathBuf);

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri
            .as_str()
            .rsplit('/')
            .next()
            .ok_or("a file name in the URI")?;
        let text = std::fs::read_to_string(self.0.join(name))?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// Validates a payload against one of octokit's event schemas (`issues/closed.schema.json`),
/// formats included.
pub fn octokit_errors(schema: &str, instance: &Value) -> Vec<String> {
    let root = fixtures().join("github/schemas");
    let text = std::fs::read_to_string(root.join(schema)).expect("the schema");
    let schema: Value = serde_json::from_str(&text).expect("JSON");
    let validator = jsonschema::options()
        .with_base_uri("https://octokit.invalid/schemas/")
        .with_retriever(LocalSchemas(root.join("common")))
        .should_validate_formats(true)
        .build(&schema)
        .expect("a usable schema");
    validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

// Links, closes and deliveries, as the product's GitHub tests use them.

/// Connects GitHub for the account through the popup.
pub async fn connect(app: &TestApp, account: &Account) {
    let (browser, _) = app.login_browser(account).await;
    let (page, message) = oauth::connect(app, &browser, account, "github", None).await;
    assert_eq!(message["status"], "success", "{}", page.text);
}

/// A new repository; `admin: false` when the sandbox user may not add hooks to it.
pub async fn repo(app: &TestApp, owner: &str, name: &str, admin: bool) -> String {
    control(
        app,
        Method::POST,
        "/repos",
        Some(json!({"owner": owner, "name": name, "admin": admin})),
    )
    .await
    .assert_status(201);
    format!("{owner}/{name}")
}

/// A new open issue (or pull request): its number.
pub async fn issue(app: &TestApp, repo: &str, title: &str, pull_request: bool) -> u64 {
    let reply = control(
        app,
        Method::POST,
        &format!("/repos/{repo}/issues"),
        Some(json!({"title": title, "pullRequest": pull_request})),
    )
    .await;
    reply.assert_status(201);
    reply.body["number"].as_u64().expect("number")
}

/// What one delivery of the simulated GitHub came to, as its controls answer.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub guid: String,
    /// The receiver's status; `None` when it did not answer.
    #[serde(deserialize_with = "super::views::nullable")]
    pub status_code: Option<u16>,
}

/// The deliveries a control route made (`{"deliveries": [...]}`).
#[track_caller]
fn deliveries(reply: &Reply) -> Vec<Delivery> {
    #[derive(Deserialize)]
    struct Made {
        deliveries: Vec<Delivery>,
    }
    reply.assert_status(200);
    reply.json::<Made>().deliveries
}

/// Closes the issue on GitHub (merging a pull request with `merged`): the deliveries made.
pub async fn close(app: &TestApp, repo: &str, number: u64, merged: bool) -> Vec<Delivery> {
    let reply = control(
        app,
        Method::POST,
        &format!("/repos/{repo}/issues/{number}/close"),
        Some(json!({"merged": merged})),
    )
    .await;
    deliveries(&reply)
}

/// Reopens the issue on GitHub: the deliveries made.
pub async fn reopen(app: &TestApp, repo: &str, number: u64) -> Vec<Delivery> {
    let reply = control(
        app,
        Method::POST,
        &format!("/repos/{repo}/issues/{number}/reopen"),
        None,
    )
    .await;
    deliveries(&reply)
}

/// GitHub redelivers an event (same GUID): the deliveries made.
pub async fn redeliver(app: &TestApp, guid: &str) -> Vec<Delivery> {
    let reply = control(
        app,
        Method::POST,
        &format!("/deliveries/{guid}/redeliver"),
        None,
    )
    .await;
    deliveries(&reply)
}

/// Sets every token's remaining primary rate limit, resetting `reset_in` seconds from now.
pub async fn rate_limit(app: &TestApp, remaining: u32, reset_in: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    control(
        app,
        Method::PUT,
        "/rate-limit",
        Some(json!({"remaining": remaining, "reset": now + reset_in})),
    )
    .await
    .assert_status(200);
}

/// Links `reference` to the lead; the reply, for tests of refusals (read a made link with
/// `.json::<Link>()`).
pub async fn link(app: &TestApp, token: &str, lead: &Lead, reference: &str) -> Reply {
    app.post(
        &format!("/api/leads/{}/links", lead.id),
        token,
        json!({ "ref": reference }),
    )
    .await
}

pub async fn lead_status(app: &TestApp, token: &str, lead: &Lead) -> String {
    let reply = app.get(&format!("/api/leads/{}", lead.id), token).await;
    reply.assert_status(200);
    reply.json::<Lead>().status
}

/// `GET /api/integrations/github`.
pub async fn settings(app: &TestApp, token: &str) -> GitHubSettings {
    let reply = app.get("/api/integrations/github", token).await;
    reply.assert_status(200);
    reply.json()
}

/// The lead's messages of origin `github` (the status notes).
pub async fn notes(app: &TestApp, token: &str, lead: &Lead) -> Vec<Message> {
    let reply = app
        .get(&format!("/api/leads/{}/messages?limit=100", lead.id), token)
        .await;
    reply.assert_status(200);
    reply
        .items::<Message>()
        .into_iter()
        .filter(|m| m.origin == "github")
        .collect()
}

/// A delivery made by hand to the webhook at `url`: `event` with `body`, signed with `secret`
/// when given.
pub async fn deliver(
    app: &TestApp,
    url: &str,
    event: &str,
    guid: &str,
    body: &[u8],
    secret: Option<&str>,
) -> Reply {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", guid)
        .header("user-agent", "GitHub-Hookshot/test")
        .body(body.to_vec());
    if let Some(secret) = secret {
        request = request.header(
            "x-hub-signature-256",
            switchboard::github::signature::sign(secret.as_bytes(), body),
        );
    }
    app.send(request, Auth::None, None).await
}

/// An `issues` payload with the fields GitHub always sends that the product reads.
pub fn issue_event(action: &str, repo: &str, number: u64, title: &str) -> Vec<u8> {
    let state = if action == "closed" { "closed" } else { "open" };
    serde_json::to_vec(&json!({
        "action": action,
        "issue": {
            "number": number,
            "title": title,
            "state": state,
            "html_url": format!("https://github.com/{repo}/issues/{number}"),
        },
        "repository": { "full_name": repo },
        "sender": { "login": "sandbox-octocat" },
    }))
    .expect("JSON")
}
