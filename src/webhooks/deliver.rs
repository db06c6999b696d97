//! Running one delivery job: the event as the SSE stream shows it, signed, posted, logged; 2xx
//! is done, `410 Gone` disables the endpoint, anything else is retried on the schedule (with
//! jitter, and `Retry-After` honoured on 429 and 503), and an endpoint failing for five days
//! straight is disabled. Ordering between messages is not promised: each carries its event's
//! `id` (the per-company sequence) so a receiver can order and de-duplicate.
use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
};
use uuid::Uuid;

use super::{sender::Answer, signing_secrets};
use crate::{
    entities::{
        event,
        job::{self, JobKind},
        pending_event,
        webhook_attempt::{self, AttemptOutcome},
        webhook_endpoint::{self, EndpointHealth},
    },
    error::{Error, ErrorKind, Result},
    events,
    jobs::{self, Failure},
    services::Services,
    tenancy::Principal,
};

/// An endpoint failing this long without a success is disabled.
pub const DISABLE_AFTER: chrono::Duration = chrono::Duration::days(5);
/// How long a delivery is claimed for: one request's 15 s and a margin.
const LEASE: Duration = Duration::from_secs(30);

/// The `webhook-id` of an event's message: stable across attempts and resends.
pub fn message_id(event_id: Uuid) -> String {
    format!("msg_{}", event_id.simple())
}

/// The wait before the next attempt after `attempts` failed ones, with ±10 % jitter so
/// endpoints that failed together do not retry together; `None` when the schedule is spent.
fn next_wait(schedule: &[Duration], attempts: i32) -> Option<Duration> {
    let index = usize::try_from(attempts.max(1) - 1).ok()?;
    let base = *schedule.get(index)?;
    let jitter = rand::rng().random_range(0.9..1.1);
    Some(base.mul_f64(jitter))
}

/// What a job delivers.
enum Message {
    /// A recorded event: looked up by id when the job runs.
    Event(Uuid),
    /// A message carried whole (`webhook.test`).
    Inline {
        id: String,
        kind: String,
        body: serde_json::Value,
    },
}

fn read_payload(job: &job::Model) -> Option<(Uuid, Message)> {
    let endpoint_id = job.payload.get("endpointId")?.as_str()?.parse().ok()?;
    if let Some(event_id) = job.payload.get("eventId").and_then(|v| v.as_str()) {
        return Some((endpoint_id, Message::Event(event_id.parse().ok()?)));
    }
    let inline = job.payload.get("message")?;
    Some((
        endpoint_id,
        Message::Inline {
            id: inline.get("id")?.as_str()?.to_owned(),
            kind: inline.get("type")?.as_str()?.to_owned(),
            body: inline.get("body")?.clone(),
        },
    ))
}

/// Runs one claimed delivery job.
pub async fn run(app: &Services, job: job::Model) -> Result<()> {
    let Some((endpoint_id, message)) = read_payload(&job) else {
        let reason = "unreadable delivery job".to_owned();
        jobs::fail(&app.db, job, Failure::Permanent { reason }).await?;
        return Ok(());
    };
    let Some(endpoint) = webhook_endpoint::Entity::find_by_id(endpoint_id)
        .one(&app.db)
        .await?
    else {
        // The endpoint was deleted: nothing to deliver to.
        jobs::complete(&app.db, job).await?;
        return Ok(());
    };
    if !endpoint.enabled {
        let reason = format!(
            "endpoint disabled: {}",
            endpoint.disabled_reason.as_deref().unwrap_or("by an admin")
        );
        jobs::fail(&app.db, job, Failure::Permanent { reason }).await?;
        return Ok(());
    }
    let (id, kind, body) = match message {
        Message::Inline { id, kind, body } => (id, kind, body),
        Message::Event(event_id) => {
            let find = || {
                event::Entity::find_by_id(event_id)
                    .filter(event::Column::CompanyId.eq(endpoint.company_id))
                    .one(&app.db)
            };
            let mut stored = find().await?;
            if stored.is_none() {
                let waiting = pending_event::Entity::find()
                    .filter(pending_event::Column::EventId.eq(event_id))
                    .one(&app.db)
                    .await?;
                if waiting.is_some() {
                    // Committed, not yet given its id: back in a moment, attempt uncounted.
                    jobs::release(&app.db, job, Duration::from_millis(500)).await?;
                    return Ok(());
                }
                // It may have been given its id between the two reads: the move inserts the
                // event and deletes the pending row in one transaction, so with the pending row
                // gone the event is visible now, unless it no longer exists.
                stored = find().await?;
            }
            match stored {
                Some(row) => (message_id(row.id), row.kind.clone(), events::wire(&row)),
                None => {
                    // Pruned (older than the retention) or gone with its lead.
                    jobs::complete(&app.db, job).await?;
                    return Ok(());
                }
            }
        }
    };
    let body = serde_json::to_vec(&body).map_err(Error::internal)?;
    let secrets = signing_secrets(app, &endpoint)?;
    let answer = app
        .webhooks
        .send(
            &endpoint.url,
            &id,
            &body,
            &secrets,
            app.settings.webhook_allow_insecure,
        )
        .await;
    settle(app, job, endpoint, &id, &kind, answer).await
}

/// Records the attempt and decides what comes next.
async fn settle(
    app: &Services,
    job: job::Model,
    endpoint: webhook_endpoint::Model,
    id: &str,
    kind: &str,
    answer: Answer,
) -> Result<()> {
    let now = Utc::now();
    let attempt = job.attempts;
    let reason = match (answer.status, &answer.error) {
        (Some(status), _) => format!("HTTP {status}"),
        (None, Some(error)) => error.clone(),
        (None, None) => "no answer".to_owned(),
    };
    let gone = answer.status == Some(410);
    let wait = (!answer.succeeded() && !gone)
        .then(|| next_wait(&app.settings.webhook_retry_schedule, attempt))
        .flatten()
        .map(|w| w.max(answer.retry_after.unwrap_or_default()));
    let failing_since = endpoint.failing_since.unwrap_or(now);
    let worn_out = !answer.succeeded() && now - failing_since >= DISABLE_AFTER;

    let change = app.begin().await?;
    webhook_attempt::Entity::insert(webhook_attempt::ActiveModel {
        id: Set(Uuid::now_v7()),
        company_id: Set(endpoint.company_id),
        endpoint_id: Set(endpoint.id),
        job_id: Set(job.id),
        message_id: Set(id.to_owned()),
        event_type: Set(kind.to_owned()),
        attempt: Set(attempt),
        status_code: Set(answer.status.map(i32::from)),
        duration_ms: Set(i32::try_from(answer.took.as_millis()).unwrap_or(i32::MAX)),
        response_excerpt: Set(answer.excerpt.clone()),
        error: Set(answer.error.clone()),
        outcome: Set(if answer.succeeded() {
            AttemptOutcome::Succeeded
        } else {
            AttemptOutcome::Failed
        }),
        next_retry_at: Set(wait
            .filter(|_| !worn_out)
            .map(|w| now + chrono::Duration::from_std(w).unwrap_or_default())),
        created_at: Set(now),
    })
    .exec_without_returning(&change)
    .await?;
    let company_id = endpoint.company_id;
    let endpoint_id = endpoint.id;
    let mut active = endpoint.into_active_model();
    active.updated_at = Set(now);
    if answer.succeeded() {
        active.health = Set(EndpointHealth::Healthy);
        active.failing_since = Set(None);
        active.last_success_at = Set(Some(now));
        active.update(&change).await?;
        jobs::complete(&change, job).await?;
    } else if gone || worn_out {
        let why = if gone {
            "the endpoint answered 410 Gone".to_owned()
        } else {
            "deliveries failed for five days".to_owned()
        };
        active.enabled = Set(false);
        active.health = Set(EndpointHealth::Disabled);
        active.disabled_reason = Set(Some(why.clone()));
        active.failing_since = Set(Some(failing_since));
        active.update(&change).await?;
        change
            .audit(
                company_id,
                "system",
                "webhook_endpoint.disabled",
                &format!("webhook_endpoint:{endpoint_id}"),
                serde_json::json!({ "reason": why }),
            )
            .await?;
        jobs::fail(
            &change,
            job,
            Failure::Permanent {
                reason: format!("{reason}; {why}"),
            },
        )
        .await?;
        tracing::warn!(webhook.endpoint_id = %endpoint_id, reason = %why, "webhook endpoint disabled");
    } else {
        active.health = Set(EndpointHealth::Degraded);
        active.failing_since = Set(Some(failing_since));
        active.update(&change).await?;
        match wait {
            Some(wait) => jobs::reschedule(&change, job, &reason, wait).await?,
            None => jobs::fail(&change, job, Failure::Permanent { reason }).await?,
        };
    }
    change.commit().await?;
    tracing::info!(
        webhook.endpoint_id = %endpoint_id,
        webhook.message_id = id,
        webhook.status = answer.status,
        attempt,
        took_ms = answer.took.as_millis() as u64,
        "webhook attempt"
    );
    Ok(())
}

/// Runs due deliveries until the process stops, a few at a time: one slow receiver must not
/// hold up the others.
pub async fn worker(app: Services) {
    const PARALLEL: usize = 4;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..PARALLEL {
        let app = app.clone();
        workers.spawn(async move {
            let db = app.db.clone();
            jobs::work(
                db,
                JobKind::DeliverWebhook,
                LEASE,
                Duration::from_millis(200),
                |job| {
                    let app = app.clone();
                    async move { run(&app, job).await }
                },
            )
            .await;
        });
    }
    while workers.join_next().await.is_some() {}
}

/// Sends a `webhook.test` message to the endpoint now (through the outbox). Answers its
/// `webhook-id`.
pub async fn send_test(app: &Services, principal: &Principal, endpoint_id: Uuid) -> Result<String> {
    let endpoint = super::get(&app.db, principal.company_id, endpoint_id).await?;
    if !endpoint.enabled {
        return Err(Error::conflict(
            "webhook_endpoint_disabled",
            "Enable the endpoint first (PATCH enabled: true).",
        ));
    }
    let event_id = Uuid::now_v7();
    let id = message_id(event_id);
    let body = serde_json::to_value(super::view::WebhookTestMessage::new(endpoint.id))
        .map_err(Error::internal)?;
    let payload = serde_json::json!({
        "endpointId": endpoint.id,
        "message": { "id": id, "type": "webhook.test", "body": body },
    });
    jobs::enqueue(
        &app.db,
        Some(principal.company_id),
        JobKind::DeliverWebhook,
        payload,
    )
    .await?;
    Ok(id)
}

/// Sends an attempt's message again, as a new delivery (same `webhook-id`).
pub async fn resend(
    app: &Services,
    principal: &Principal,
    endpoint_id: Uuid,
    attempt_id: Uuid,
) -> Result<Uuid> {
    let endpoint = super::get(&app.db, principal.company_id, endpoint_id).await?;
    let attempt = webhook_attempt::Entity::find_by_id(attempt_id)
        .filter(webhook_attempt::Column::EndpointId.eq(endpoint.id))
        .filter(webhook_attempt::Column::CompanyId.eq(principal.company_id))
        .one(&app.db)
        .await?
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                "webhook_delivery_not_found",
                "No such delivery attempt.",
            )
        })?;
    if !endpoint.enabled {
        return Err(Error::conflict(
            "webhook_endpoint_disabled",
            "Enable the endpoint first (PATCH enabled: true).",
        ));
    }
    let original = job::Entity::find_by_id(attempt.job_id)
        .one(&app.db)
        .await?
        .ok_or_else(|| {
            Error::conflict("webhook_delivery_gone", "The delivery is no longer kept.")
        })?;
    let resent = jobs::enqueue(
        &app.db,
        Some(principal.company_id),
        JobKind::DeliverWebhook,
        original.payload,
    )
    .await?;
    Ok(resent.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_followed_with_jitter_and_ends() {
        let schedule = crate::config::WEBHOOK_RETRY_SCHEDULE;
        let first = next_wait(&schedule, 1).unwrap();
        assert!(first >= Duration::from_millis(4500) && first <= Duration::from_millis(5500));
        let last = next_wait(&schedule, 6).unwrap();
        assert!(last >= Duration::from_secs(9 * 3600));
        assert_eq!(next_wait(&schedule, 7), None);
        let total: Duration = schedule.iter().sum();
        assert!(total > Duration::from_secs(17 * 3600) && total < Duration::from_secs(24 * 3600));
    }

    #[test]
    fn message_ids_are_stable_per_event() {
        let id = Uuid::now_v7();
        assert_eq!(message_id(id), message_id(id));
        assert!(message_id(id).starts_with("msg_"));
    }
}
