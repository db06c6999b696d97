//! A webhook receiver for trying Switchboard's webhooks without a server of one's own: point an
//! endpoint at `{PUBLIC_URL}/sandbox/webhooks/inbox/{name}`, and `/sandbox/webhooks/inbox` lists
//! what arrived and whether its Standard Webhooks signature verified. In sandbox mode, creating
//! or rotating an endpoint that points here hands the inbox its secret; anyone can also give it
//! one (`PUT /sandbox/webhooks/inbox/{name}/secret`).
use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use standardwebhooks::Webhook;

use super::{Sandbox, page};

/// The inbox keeps this many messages, newest first.
const KEEP: usize = 200;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Received {
    pub inbox: String,
    pub webhook_id: Option<String>,
    /// The payload's `type`.
    pub event_type: Option<String>,
    /// `None` when the inbox knows no secret for it.
    pub verified: Option<bool>,
    pub received_at: DateTime<Utc>,
    pub body: String,
}

#[derive(Default)]
pub struct Inbox {
    messages: Mutex<VecDeque<Received>>,
    /// Per inbox name, the secrets that may have signed its messages.
    secrets: Mutex<HashMap<String, Vec<String>>>,
}

impl Inbox {
    /// The inbox name `url` points at, if it is one of this sandbox's (under `public`).
    pub fn name_of(public: &url::Url, url: &str) -> Option<String> {
        let prefix = format!(
            "{}/sandbox/webhooks/inbox/",
            public.as_str().trim_end_matches('/')
        );
        let name = url.strip_prefix(&prefix)?;
        valid_name(name).then(|| name.to_owned())
    }

    /// Remembers a secret that signs `name`'s messages.
    pub fn remember(&self, name: &str, secret: &str) {
        let mut secrets = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        let known = secrets.entry(name.to_owned()).or_default();
        if !known.iter().any(|s| s == secret) {
            known.push(secret.to_owned());
        }
    }

    fn verify(&self, name: &str, headers: &HeaderMap, body: &[u8]) -> Option<bool> {
        let secrets = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        let known = secrets.get(name)?;
        // `http` is the crate axum re-exports, the one standardwebhooks takes.
        Some(known.iter().any(|secret| {
            Webhook::new(secret).is_ok_and(|hook| hook.verify(body, headers).is_ok())
        }))
    }

    pub fn messages(&self) -> Vec<Received> {
        let messages = self.messages.lock().unwrap_or_else(|p| p.into_inner());
        messages.iter().cloned().collect()
    }
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn router() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/inbox", get(inbox_page))
        .route("/inbox/messages", get(messages))
        .route("/inbox/{name}", post(receive))
        .route("/inbox/{name}/secret", put(set_secret))
}

async fn receive(
    State(sandbox): State<Arc<Sandbox>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if !valid_name(&name) {
        return StatusCode::NOT_FOUND;
    }
    let inbox = &sandbox.webhooks;
    let text = |h: &str| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let event_type = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned));
    let received = Received {
        verified: inbox.verify(&name, &headers, &body),
        inbox: name,
        webhook_id: text("webhook-id"),
        event_type,
        received_at: Utc::now(),
        body: String::from_utf8_lossy(&body)
            .chars()
            .take(20_000)
            .collect(),
    };
    let mut messages = inbox.messages.lock().unwrap_or_else(|p| p.into_inner());
    messages.push_front(received);
    messages.truncate(KEEP);
    StatusCode::NO_CONTENT
}

async fn messages(State(sandbox): State<Arc<Sandbox>>) -> Json<Vec<Received>> {
    Json(sandbox.webhooks.messages())
}

#[derive(Deserialize)]
struct SecretBody {
    secret: String,
}

async fn set_secret(
    State(sandbox): State<Arc<Sandbox>>,
    Path(name): Path<String>,
    Json(body): Json<SecretBody>,
) -> Response {
    if !valid_name(&name) || Webhook::new(&body.secret).is_err() {
        return StatusCode::UNPROCESSABLE_ENTITY.into_response();
    }
    sandbox.webhooks.remember(&name, &body.secret);
    StatusCode::NO_CONTENT.into_response()
}

async fn inbox_page(State(sandbox): State<Arc<Sandbox>>) -> Response {
    let rows: String = sandbox
        .webhooks
        .messages()
        .iter()
        .map(|m| {
            let verified = match m.verified {
                Some(true) => "signature verified",
                Some(false) => "signature DOES NOT verify",
                None => "no secret known for this inbox",
            };
            format!(
                "<li><strong>{}</strong> → <code>{}</code> · {} · {}<br><small>{}</small><pre>{}</pre></li>",
                page::escape(m.event_type.as_deref().unwrap_or("?")),
                page::escape(&m.inbox),
                page::escape(verified),
                m.received_at.format("%H:%M:%S"),
                page::escape(m.webhook_id.as_deref().unwrap_or("no webhook-id")),
                page::escape(&m.body.chars().take(2000).collect::<String>()),
            )
        })
        .collect();
    let body = if rows.is_empty() {
        "<h1>Webhook inbox</h1><p>Nothing yet. Add a webhook endpoint with the URL \
         <code>…/sandbox/webhooks/inbox/crm</code> (POST /api/webhook-endpoints), then change a \
         lead.</p>"
            .to_owned()
    } else {
        format!("<h1>Webhook inbox</h1><ul>{rows}</ul>")
    };
    page::render("Webhook inbox", "Sandbox webhook receiver", &body).into_response()
}
