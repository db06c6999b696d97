//! Webhook endpoints and delivery attempts as the API shows them.
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::entities::{
    webhook_attempt::{self, AttemptOutcome},
    webhook_endpoint::{self, EndpointHealth},
};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointView {
    id: Uuid,
    url: String,
    description: String,
    /// The event types it receives; `null` for all.
    event_types: Option<Vec<String>>,
    enabled: bool,
    health: EndpointHealth,
    /// Why it is disabled: by an admin, a `410 Gone`, or five days of failures.
    disabled_reason: Option<String>,
    /// Failing since then, without a success.
    failing_since: Option<DateTime<Utc>>,
    last_success_at: Option<DateTime<Utc>>,
    /// Until then the secret before the last rotation also signs every message.
    previous_secret_expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<webhook_endpoint::Model> for EndpointView {
    fn from(e: webhook_endpoint::Model) -> Self {
        Self {
            id: e.id,
            url: e.url,
            description: e.description,
            event_types: e.event_types.and_then(|v| serde_json::from_value(v).ok()),
            enabled: e.enabled,
            health: e.health,
            disabled_reason: e.disabled_reason,
            failing_since: e.failing_since,
            last_success_at: e.last_success_at,
            previous_secret_expires_at: e.previous_secret_expires_at.filter(|at| *at > Utc::now()),
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    id: Uuid,
    /// The `webhook-id` header: the same on every attempt of one message.
    message_id: String,
    event_type: String,
    /// 1 for the first attempt of a delivery.
    attempt: i32,
    /// The receiver's status; `null` when it did not answer.
    status_code: Option<i32>,
    duration_ms: i32,
    /// The start of the receiver's answer.
    response_excerpt: Option<String>,
    /// Why there was no answer (timed out, refused, a private address).
    error: Option<String>,
    outcome: AttemptOutcome,
    /// When the next attempt runs; `null` when none will.
    next_retry_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl From<webhook_attempt::Model> for AttemptView {
    fn from(a: webhook_attempt::Model) -> Self {
        Self {
            id: a.id,
            message_id: a.message_id,
            event_type: a.event_type,
            attempt: a.attempt,
            status_code: a.status_code,
            duration_ms: a.duration_ms,
            response_excerpt: a.response_excerpt,
            error: a.error,
            outcome: a.outcome,
            next_retry_at: a.next_retry_at,
            created_at: a.created_at,
        }
    }
}

/// What `POST /api/webhook-endpoints/{endpointId}/test` sends: the live-event shape, with no
/// event behind it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookTestMessage {
    /// Always `null`: a test message is no event of the company's sequence.
    #[schema(value_type = Option<i64>)]
    id: Option<i64>,
    #[schema(value_type = Option<Uuid>)]
    lead_id: Option<Uuid>,
    at: DateTime<Utc>,
    #[schema(inline)]
    r#type: WebhookTestType,
    data: WebhookTestData,
}

#[derive(Debug, Serialize, ToSchema)]
pub enum WebhookTestType {
    #[serde(rename = "webhook.test")]
    WebhookTest,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookTestData {
    endpoint_id: Uuid,
    message: String,
}

impl WebhookTestMessage {
    pub fn new(endpoint_id: Uuid) -> Self {
        Self {
            id: None,
            lead_id: None,
            at: Utc::now(),
            r#type: WebhookTestType::WebhookTest,
            data: WebhookTestData {
                endpoint_id,
                message: "A test event from Switchboard.".into(),
            },
        }
    }
}
