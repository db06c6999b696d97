//! Webhook deliveries, as GitHub sends them: one HTTP POST per subscribed active hook, with
//! GitHub's headers and signatures, a 10-second timeout, no automatic retry, and a log that
//! redelivery replays from.
//!
//! References: https://docs.github.com/en/webhooks/webhook-events-and-payloads (delivery
//! headers, payload cap, `ping`, `issues`, `pull_request`),
//! https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries and
//! https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks.
use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{Value, json};

use super::{
    ContentType, Delivery, HookConfig, LastResponse, SimHook, SimIssue, SimRepo, Urls, shapes,
};
use crate::sandbox::{Sandbox, random_hex};

/// "Your server should respond with a 2XX response within 10 seconds of receiving a webhook
/// delivery. If your server takes longer than that to respond, then GitHub terminates the
/// connection and considers the delivery a failure."
/// (https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks#respond-within-10-seconds)
pub(super) const TIMEOUT: Duration = Duration::from_secs(10);

/// "Payloads are capped at 25 MB. If an event generates a larger payload, GitHub will not
/// deliver a payload for that webhook event." (…/webhook-events-and-payloads#payload-cap).
/// Read as 25,000,000 bytes, the smaller reading of "MB".
pub(super) const PAYLOAD_CAP: usize = 25_000_000;

/// "You can redeliver webhook deliveries that occurred in the past 3 days."
/// (https://docs.github.com/en/webhooks/testing-and-troubleshooting-webhooks/redelivering-webhooks)
pub(super) const REDELIVERY_WINDOW: chrono::TimeDelta = chrono::TimeDelta::days(3);

const ZEN: [&str; 8] = [
    "Non-blocking is better than blocking.",
    "Design for failure.",
    "Keep it logically awesome.",
    "Approachable is better than simple.",
    "Responsive is better than fast.",
    "Practicality beats purity.",
    "Speak like a human.",
    "Favor focus over features.",
];

/// The hex HMAC-SHA256 of the body under the secret, as `X-Hub-Signature-256` carries it:
/// "The hash signature always starts with `sha256=`."
/// (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries)
pub fn signature_256(secret: &[u8], body: &[u8]) -> String {
    match Hmac::<sha2::Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

/// The hex HMAC-SHA1, as `X-Hub-Signature` carries it ("generated using the SHA-1 hash
/// function and the `secret` as the HMAC `key`"; the prefix is `sha1=` in the example delivery).
pub fn signature_1(secret: &[u8], body: &[u8]) -> String {
    match Hmac::<sha1::Sha1>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

/// The HTTP clients and settings deliveries are sent with.
pub(super) struct Sender {
    verifying: reqwest::Client,
    /// For hooks with `insecure_ssl: "1"`: "Determines whether the SSL certificate of the host
    /// for `url` will be verified when delivering payloads."
    insecure: reqwest::Client,
    /// `GitHub-Hookshot/<hex>`: "This header will always have the prefix `GitHub-Hookshot/`."
    user_agent: String,
    timeout: Mutex<Duration>,
}

impl Sender {
    pub(super) fn new() -> Self {
        let client = |insecure: bool| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .danger_accept_invalid_certs(insecure)
                .build()
                .unwrap_or_default()
        };
        Self {
            verifying: client(false),
            insecure: client(true),
            user_agent: format!("GitHub-Hookshot/{}", &random_hex(4)[..7]),
            timeout: Mutex::new(TIMEOUT),
        }
    }

    /// Sandbox control: a shorter timeout, so tests of a slow receiver need not wait 10 s.
    pub(super) fn set_timeout(&self, timeout: Duration) {
        *self.timeout.lock().unwrap_or_else(|p| p.into_inner()) = timeout;
    }

    fn timeout(&self) -> Duration {
        *self.timeout.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An event to deliver.
pub(super) struct Event {
    pub(super) name: &'static str,
    pub(super) action: Option<&'static str>,
    pub(super) number: Option<u64>,
    pub(super) payload: Value,
}

/// What one delivery came to (the control routes answer these).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Outcome {
    pub(super) id: u64,
    pub(super) guid: String,
    pub(super) hook_id: u64,
    pub(super) event: String,
    pub(super) action: Option<String>,
    /// The receiver's status; `null` when it did not answer.
    pub(super) status_code: Option<u16>,
    pub(super) status: String,
    pub(super) redelivery: bool,
}

impl Outcome {
    pub(super) fn of(d: &Delivery) -> Self {
        Self {
            id: d.id,
            guid: d.guid.clone(),
            hook_id: d.hook_id,
            event: d.event.clone(),
            action: d.action.clone(),
            status_code: d.status_code,
            status: d.status.clone(),
            redelivery: d.redelivery,
        }
    }
}

/// A `ping` for a hook: "This event occurs when you create a new webhook. The ping event is a
/// confirmation from GitHub that you configured the webhook correctly."
/// (…/webhook-events-and-payloads#ping: `zen`, `hook_id`, `hook`, `repository`, `sender`)
pub(super) fn ping(urls: &Urls, repo: &SimRepo, hook: &SimHook) -> Event {
    let zen = ZEN[usize::from(rand::random::<u8>()) % ZEN.len()];
    Event {
        name: "ping",
        action: None,
        number: None,
        payload: json!({
            "zen": zen,
            "hook_id": hook.id,
            "hook": shapes::hook_json(urls, repo, hook),
            "repository": shapes::repo_json(urls, repo),
            "sender": shapes::sender_json(urls),
        }),
    }
}

/// The event a state change of an issue or pull request sends: `issues` with `issue`, or
/// `pull_request` with `number` and `pull_request` (…/webhook-events-and-payloads#issues,
/// #pull_request); both with `action`, `repository` and `sender`.
pub(super) fn issue_event(
    urls: &Urls,
    repo: &SimRepo,
    issue: &SimIssue,
    action: &'static str,
) -> Event {
    let payload = match shapes::pull_json(urls, repo, issue) {
        Some(pull) => json!({
            "action": action,
            "number": issue.number,
            "pull_request": pull,
            "repository": shapes::repo_json(urls, repo),
            "sender": shapes::sender_json(urls),
        }),
        None => json!({
            "action": action,
            "issue": shapes::issue_json(urls, repo, issue),
            "repository": shapes::repo_json(urls, repo),
            "sender": shapes::sender_json(urls),
        }),
    };
    Event {
        name: if issue.pull.is_some() {
            "pull_request"
        } else {
            "issues"
        },
        action: Some(action),
        number: Some(issue.number),
        payload,
    }
}

/// The body as the hook's content type has it: "**application/json** will deliver the JSON
/// payload directly as the body of the `POST` request. **application/x-www-form-urlencoded**
/// will send the JSON payload as a form parameter called `payload`."
/// (https://docs.github.com/en/webhooks/using-webhooks/creating-webhooks)
fn encode(json: &[u8], content_type: ContentType) -> (Bytes, &'static str) {
    match content_type {
        ContentType::Json => (Bytes::copy_from_slice(json), "application/json"),
        ContentType::Form => {
            let text = String::from_utf8_lossy(json);
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("payload", &text)
                .finish();
            (Bytes::from(body), "application/x-www-form-urlencoded")
        }
    }
}

/// Whether a body is small enough to be delivered at all.
pub(super) fn within_cap(body: &[u8]) -> bool {
    body.len() <= PAYLOAD_CAP
}

/// Whether a delivery made at `at` may still be redelivered at `now`.
pub(super) fn redeliverable(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - at <= REDELIVERY_WINDOW
}

/// One delivery to make.
struct Target {
    hook_id: u64,
    repo_key: String,
    repo_id: u64,
    config: HookConfig,
    body: Bytes,
    content_type: &'static str,
}

/// Sends `event` to every active hook of the repository subscribed to it (or only to hook
/// `only`, for a ping), under one new GUID: "Unique identifier for the event (shared with all
/// deliveries for all webhooks that subscribe to this event)"
/// (https://docs.github.com/en/rest/repos/webhooks#list-deliveries-for-a-repository-webhook).
/// Waits for the answers (at most the timeout) and logs them.
pub(super) async fn deliver(
    sandbox: &Sandbox,
    repo_key: &str,
    event: Event,
    only: Option<u64>,
) -> Vec<Outcome> {
    let sim = &sandbox.github;
    let Ok(json) = serde_json::to_vec(&event.payload) else {
        return Vec::new();
    };
    let targets: Vec<Target> = {
        let state = sim.lock();
        let Some(repo) = state.repos.get(repo_key) else {
            return Vec::new();
        };
        repo.hooks
            .values()
            // "active: Determines if notifications are sent when the webhook is triggered."
            .filter(|h| h.active)
            .filter(|h| match only {
                Some(id) => h.id == id,
                None => h.subscribed(event.name),
            })
            .map(|h| {
                let (body, content_type) = encode(&json, h.config.content_type);
                Target {
                    hook_id: h.id,
                    repo_key: repo_key.to_owned(),
                    repo_id: repo.id,
                    config: h.config.clone(),
                    body,
                    content_type,
                }
            })
            .filter(|t| within_cap(&t.body))
            .collect()
    };
    let guid = uuid::Uuid::new_v4().to_string();
    let sends = targets.into_iter().map(|target| {
        let guid = guid.clone();
        let event = &event;
        async move {
            send(
                sandbox,
                target,
                guid,
                event.name.to_owned(),
                event.action.map(str::to_owned),
                event.number,
                false,
            )
            .await
        }
    });
    futures::future::join_all(sends).await
}

/// Replays the deliveries of `guid` (to `hook` only, when given): "If you request a
/// redelivery, the `X-GitHub-Delivery` header will be the same as in the original delivery."
/// (…/best-practices-for-using-webhooks#use-the-x-github-delivery-header). The body and its
/// content type are the original's; the URL, the TLS setting and the secret the signatures use
/// are the hook's current ones. `Err` names what is wrong: no such delivery (or its hook is
/// gone), or it is older than the redelivery window.
pub(super) async fn redeliver(
    sandbox: &Sandbox,
    guid: &str,
    hook: Option<u64>,
) -> Result<Vec<Outcome>, RedeliveryError> {
    let sim = &sandbox.github;
    let (targets, originals) = {
        let state = sim.lock();
        let mut seen = std::collections::BTreeSet::new();
        let originals: Vec<Delivery> = state
            .deliveries
            .iter()
            .filter(|d| d.guid == guid && !d.redelivery)
            .filter(|d| hook.is_none_or(|h| h == d.hook_id))
            .filter(|d| seen.insert(d.hook_id))
            .cloned()
            .collect();
        if originals.is_empty() {
            return Err(RedeliveryError::Unknown);
        }
        if originals
            .iter()
            .any(|d| !redeliverable(d.delivered_at, Utc::now()))
        {
            return Err(RedeliveryError::TooOld);
        }
        let targets: Vec<Target> = originals
            .iter()
            .filter_map(|d| {
                let hook = state.repos.get(&d.repo)?.hooks.get(&d.hook_id)?;
                Some(Target {
                    hook_id: d.hook_id,
                    repo_key: d.repo.clone(),
                    repo_id: d.repo_id,
                    config: hook.config.clone(),
                    body: d.body.clone(),
                    content_type: d.content_type,
                })
            })
            .collect();
        (targets, originals)
    };
    if targets.is_empty() {
        return Err(RedeliveryError::Unknown);
    }
    let sends = targets.into_iter().filter_map(|target| {
        let original = originals.iter().find(|d| d.hook_id == target.hook_id)?;
        let (event, action, number) = (
            original.event.clone(),
            original.action.clone(),
            original.number,
        );
        Some(async move {
            send(
                sandbox,
                target,
                guid.to_owned(),
                event,
                action,
                number,
                true,
            )
            .await
        })
    });
    Ok(futures::future::join_all(sends).await)
}

#[derive(Debug)]
pub(super) enum RedeliveryError {
    Unknown,
    TooOld,
}

/// One POST with GitHub's delivery headers, then its log entry and the hook's `last_response`.
/// There is no retry: "GitHub does not automatically redeliver failed deliveries."
/// (https://docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries)
async fn send(
    sandbox: &Sandbox,
    target: Target,
    guid: String,
    event: String,
    action: Option<String>,
    number: Option<u64>,
    redelivery: bool,
) -> Outcome {
    let sim = &sandbox.github;
    let sender = &sim.sender;
    let client = if target.config.insecure_ssl == "1" {
        &sender.insecure
    } else {
        &sender.verifying
    };
    // The headers of "Delivery headers" (…/webhook-events-and-payloads#delivery-headers).
    let mut request = client
        .post(&target.config.url)
        .timeout(sender.timeout())
        .header("X-GitHub-Hook-ID", target.hook_id.to_string())
        .header("X-GitHub-Event", &event)
        .header("X-GitHub-Delivery", &guid)
        .header("User-Agent", &sender.user_agent)
        .header("X-GitHub-Hook-Installation-Target-Type", "repository")
        .header(
            "X-GitHub-Hook-Installation-Target-ID",
            target.repo_id.to_string(),
        )
        .header("Content-Type", target.content_type);
    // "`X-Hub-Signature`: This header is sent if the webhook is configured with a `secret`."
    // (so is `X-Hub-Signature-256`); "The `X-Hub-Signature-256` header will not be present if
    // you have not configured a secret for your webhook."
    if let Some(secret) = &target.config.secret {
        request = request
            .header(
                "X-Hub-Signature-256",
                signature_256(secret.as_bytes(), &target.body),
            )
            .header(
                "X-Hub-Signature",
                signature_1(secret.as_bytes(), &target.body),
            );
    }
    let started = Instant::now();
    let (status_code, status) = match request.body(target.body.clone()).send().await {
        Ok(response) => {
            let code = response.status().as_u16();
            // "The `invalid HTTP response` error occurs when your server returns a 4xx or 5xx
            // status in response to a webhook delivery from GitHub."
            let status = if response.status().is_success() {
                "OK".to_owned()
            } else {
                format!("Invalid HTTP Response: {code}")
            };
            (Some(code), status)
        }
        // "The `timed out` error indicates that GitHub did not receive a response from your
        // server within 10 seconds of delivering a webhook."
        Err(e) if e.is_timeout() => (None, "timed out".to_owned()),
        Err(e) if e.is_connect() => (None, "failed to connect to host".to_owned()),
        Err(_) => (None, "failed".to_owned()),
    };
    let duration = started.elapsed();
    let mut state = sim.lock();
    let id = state.next_id();
    let delivery = Delivery {
        id,
        guid,
        hook_id: target.hook_id,
        repo: target.repo_key.clone(),
        repo_id: target.repo_id,
        event,
        action,
        number,
        body: target.body,
        content_type: target.content_type,
        status_code,
        status: status.clone(),
        redelivery,
        delivered_at: Utc::now(),
        duration,
    };
    let outcome = Outcome::of(&delivery);
    state.deliveries.push(delivery);
    if let Some(hook) = state
        .repos
        .get_mut(&target.repo_key)
        .and_then(|r| r.hooks.get_mut(&target.hook_id))
    {
        hook.last_response = LastResponse {
            code: status_code,
            status: if status_code.is_some_and(|c| (200..300).contains(&c)) {
                "active".to_owned()
            } else {
                "failed".to_owned()
            },
            message: Some(status),
        };
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_githubs_test_vector() {
        // "secret: "It's a Secret to Everybody"" / "payload: "Hello, World!""
        // (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries)
        assert_eq!(
            signature_256(b"It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
        assert!(signature_1(b"s", b"x").starts_with("sha1="));
        assert_eq!(signature_1(b"s", b"x").len(), "sha1=".len() + 40);
    }

    #[test]
    fn payloads_over_25_mb_are_not_delivered() {
        assert!(within_cap(&vec![b' '; PAYLOAD_CAP]));
        assert!(!within_cap(&vec![b' '; PAYLOAD_CAP + 1]));
    }

    #[test]
    fn deliveries_older_than_three_days_cannot_be_redelivered() {
        let now = Utc::now();
        assert!(redeliverable(now - chrono::TimeDelta::days(3), now));
        assert!(!redeliverable(
            now - chrono::TimeDelta::days(3) - chrono::TimeDelta::seconds(1),
            now
        ));
    }

    #[test]
    fn a_form_hook_gets_the_json_as_the_payload_parameter() {
        let (body, content_type) = encode(br#"{"a":"b c&"}"#, ContentType::Form);
        assert_eq!(content_type, "application/x-www-form-urlencoded");
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(&body).into_owned().collect();
        assert_eq!(
            pairs,
            vec![("payload".to_owned(), r#"{"a":"b c&"}"#.to_owned())]
        );
    }
}
