//! Messages to and from leads. Sending writes the message and its delivery job in one
//! transaction, tries delivery at once, and leaves retries to the outbox; Discord's nonce with
//! `enforce_nonce` makes a retried delivery return the first message instead of posting twice.
pub mod view;

pub use view::MessageView;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::events::{self, EventBody};
use crate::ids::{CompanyId, LeadId};
use crate::{
    change::Change,
    channels,
    discord::model::NewMessage,
    entities::{api_key, job, lead_channel, message, user},
    error::{Error, ErrorKind, Result, is_unique_violation},
    integrations::{Health, store},
    jobs::{self, Failure},
    leads,
    pagination::{Cursor, Page},
    services::Services,
    tenancy::{AuthMethod, Principal},
};

pub const MAX_CONTENT_CHARS: usize = 2000;
pub const DELIVER: jobs::JobKind = jobs::JobKind::DeliverMessage;
const KEY_LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(60);
/// How long workers leave a new delivery to the request that enqueued it.
const INLINE_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

pub use crate::entities::message::{Direction, MessageState};

/// Message text: not blank, at most 2,000 characters (Discord's limit), no control characters
/// but line breaks and tabs.
pub struct Content(String);

impl Content {
    pub fn parse(raw: &str) -> Result<Self> {
        if raw.trim().is_empty() {
            return Err(Error::invalid("content", "must not be blank"));
        }
        if raw.chars().count() > MAX_CONTENT_CHARS {
            return Err(Error::invalid(
                "content",
                format!("must be at most {MAX_CONTENT_CHARS} characters"),
            ));
        }
        if raw
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(Error::invalid(
                "content",
                "must not contain control characters other than line breaks and tabs",
            ));
        }
        Ok(Self(raw.to_owned()))
    }
}

/// An `Idempotency-Key` header value: 1 to 255 visible ASCII characters.
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self> {
        if raw.is_empty() || raw.len() > 255 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }
}

fn author_of(principal: &Principal) -> String {
    match (&principal.method, principal.user_id) {
        (AuthMethod::ApiKey { key_id }, _) => format!("crm:api_key:{key_id}"),
        (_, Some(user)) => format!("crm:{user}"),
        _ => "crm:system".to_owned(),
    }
}

/// The name a teammate reads as the author: the user's name or email, or the API key's name.
async fn author_name(db: &impl ConnectionTrait, principal: &Principal) -> Result<Option<String>> {
    Ok(match (&principal.method, principal.user_id) {
        (AuthMethod::ApiKey { key_id }, _) => api_key::Entity::find_by_id(*key_id)
            .one(db)
            .await?
            .map(|k| k.name),
        (_, Some(user)) => user::Entity::find_by_id(user)
            .one(db)
            .await?
            .map(|u| u.name.unwrap_or(u.email)),
        _ => Some("Switchboard".to_owned()),
    })
}

/// The nonce Discord deduplicates on: 25 characters of the message id (its random part).
pub fn nonce_of(message_id: Uuid) -> String {
    message_id.simple().to_string()[7..].to_owned()
}

pub async fn find_by_key(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    key: &str,
) -> Result<Option<message::Model>> {
    Ok(message::Entity::find()
        .filter(message::Column::CompanyId.eq(company_id))
        .filter(message::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

fn replay(existing: message::Model, hash: &str) -> Result<message::Model> {
    if existing.request_hash.as_deref() == Some(hash) {
        Ok(existing)
    } else {
        Err(Error::invalid(
            "Idempotency-Key",
            "was already used for a different request",
        )
        .with_code("idempotency_key_reused"))
    }
}

/// Sends `content` to the lead's channel. With a key, the same request again answers the first
/// message; another request with the key is refused; one still in flight is 409.
pub async fn send(
    app: &Services,
    principal: &Principal,
    lead_id: LeadId,
    content: Content,
    key: Option<IdempotencyKey>,
) -> Result<message::Model> {
    let lead = leads::get(&app.db, principal.company_id, lead_id).await?;
    let hash = hex::encode(Sha256::digest(
        format!("{lead_id}\n{}", content.0).as_bytes(),
    ));
    let lock = key.as_ref().map(|k| {
        format!(
            "idempotency:{}:{}",
            principal.company_id,
            hex::encode(Sha256::digest(k.0.as_bytes()))
        )
    });
    if let Some(lock) = &lock
        && !app.state.put_if_absent(lock, b"1", KEY_LOCK_TTL).await?
    {
        // The first request with this key has not answered yet (IETF Idempotency-Key draft).
        return Err(Error::conflict(
            "idempotency_request_in_flight",
            "A request with this Idempotency-Key is still being processed; retry shortly.",
        ));
    }
    let result = match &key {
        Some(k) => match find_by_key(&app.db, principal.company_id, &k.0).await {
            Ok(Some(existing)) => replay(existing, &hash),
            Ok(None) => send_locked(app, principal, &lead, content, key.as_ref(), &hash).await,
            Err(err) => Err(err),
        },
        None => send_locked(app, principal, &lead, content, None, &hash).await,
    };
    if let Some(lock) = &lock {
        app.state.delete(lock).await?;
    }
    result
}

async fn send_locked(
    app: &Services,
    principal: &Principal,
    lead: &crate::entities::lead::Model,
    content: Content,
    key: Option<&IdempotencyKey>,
    hash: &str,
) -> Result<message::Model> {
    let channel = channels::get(&app.db, principal.company_id, lead.id)
        .await?
        .ok_or_else(|| {
            Error::conflict(
                "lead_has_no_channel",
                "Open the lead's Discord channel first (POST /api/discord/channels).",
            )
        })?;
    if !channel.is_active {
        return Err(Error::conflict(
            "channel_archived",
            "The lead's channel is archived.",
        ));
    }
    if !connected_to(&app.db, principal.company_id, &channel.guild_id.to_string()).await? {
        return Err(Error::conflict(
            "discord_not_connected",
            "The company's Discord server is not connected; reconnect it to send.",
        ));
    }
    // Read before the write transaction: on SQLite a transaction waiting for another connection
    // holds the one write lock meanwhile.
    let name = author_name(&app.db, principal).await?;
    let mut change = app.begin().await?;
    let mut row = outbound(&channel, author_of(principal), name, content.0, "api");
    row.idempotency_key = Set(key.map(|k| k.0.clone()));
    row.request_hash = Set(key.map(|_| hash.to_owned()));
    let inserted = message::Entity::insert(row)
        .exec_with_returning(&change)
        .await;
    let message = match inserted {
        Ok(m) => m,
        Err(err) if is_unique_violation(&err) && key.is_some() => {
            drop(change);
            let key = key.map(|k| k.0.as_str()).unwrap_or_default();
            let existing = find_by_key(&app.db, principal.company_id, key)
                .await?
                .ok_or_else(|| Error::internal(err))?;
            return replay(existing, hash);
        }
        Err(err) => return Err(err.into()),
    };
    leads::activity::record(&change, &message).await?;
    // Workers leave it to this request for a moment; they take over if the attempt below
    // cannot finish (this process dies, say).
    let job = jobs::enqueue_after(
        &change,
        Some(principal.company_id),
        DELIVER,
        serde_json::json!({ "messageId": message.id }),
        INLINE_GRACE,
    )
    .await?;
    change
        .event(
            principal.company_id,
            Some(lead.id),
            EventBody::message_created(message.clone()),
        )
        .await?;
    change.commit().await?;
    tracing::info!(message.id = %message.id, lead.id = %lead.id, "message queued");

    // Delivered now when Discord answers; otherwise the outbox retries and the answer says queued.
    if let Some(job) = jobs::claim_for(&app.db, job.id, lease(app)).await? {
        run(app, job).await?;
    }
    Ok(message::Entity::find_by_id(message.id)
        .one(&app.db)
        .await?
        .unwrap_or(message))
}

/// A new outbound message to the lead of `channel`, queued for delivery.
fn outbound(
    channel: &lead_channel::Model,
    author: String,
    author_name: Option<String>,
    content: String,
    origin: &str,
) -> message::ActiveModel {
    let now = Utc::now();
    message::ActiveModel {
        id: Set(Uuid::now_v7()),
        company_id: Set(channel.company_id),
        lead_id: Set(channel.lead_id),
        guild_id: Set(channel.guild_id.to_string()),
        channel_id: Set(channel.channel_id),
        direction: Set(Direction::Outbound),
        author_meta_id: Set(author),
        author_name: Set(author_name),
        content: Set(content),
        state: Set(MessageState::Queued),
        discord_message_id: Set(None),
        idempotency_key: Set(None),
        request_hash: Set(None),
        origin: Set(origin.to_owned()),
        failure_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        sent_at: Set(None),
    }
}

/// Queues a note from Switchboard itself (a GitHub issue closed, …) in the lead's channel,
/// within `change`: an outbound message of `origin`, delivered by the outbox like any message
/// (with its nonce, from the bot, so routing never takes it back in as the lead's), and told to
/// the live streams.
pub async fn enqueue_note(
    change: &mut Change<'_>,
    channel: &lead_channel::Model,
    content: String,
    origin: &str,
    author: String,
    author_name: &str,
) -> Result<message::Model> {
    let content: String = content.chars().take(MAX_CONTENT_CHARS).collect();
    let row = outbound(
        channel,
        author,
        Some(author_name.to_owned()),
        content,
        origin,
    );
    let message = message::Entity::insert(row)
        .exec_with_returning(&*change)
        .await?;
    leads::activity::record(&*change, &message).await?;
    jobs::enqueue(
        &*change,
        Some(channel.company_id),
        DELIVER,
        serde_json::json!({ "messageId": message.id }),
    )
    .await?;
    change
        .event(
            channel.company_id,
            Some(channel.lead_id),
            EventBody::message_created(message.clone()),
        )
        .await?;
    Ok(message)
}

/// Runs one claimed job. Called by the request that enqueued it and by the worker.
pub async fn run(app: &Services, job: job::Model) -> Result<()> {
    if job.kind != DELIVER {
        jobs::fail(
            &app.db,
            job,
            Failure::Permanent {
                reason: "unknown job kind".into(),
            },
        )
        .await?;
        return Ok(());
    }
    let Some(message) = (match message_of(&job) {
        Some(id) => message::Entity::find_by_id(id).one(&app.db).await?,
        None => None,
    }) else {
        // Its lead was deleted, and the message with them: nothing is left to deliver.
        jobs::complete(&app.db, job).await?;
        return Ok(());
    };
    if message.state != MessageState::Queued {
        jobs::complete(&app.db, job).await?;
        return Ok(());
    }
    if !connected_to(&app.db, message.company_id, &message.guild_id).await? {
        let reason =
            "discord_not_connected: the company's Discord server is not connected".to_owned();
        mark_failed(app, message, &reason).await?;
        jobs::fail(&app.db, job, Failure::Permanent { reason }).await?;
        return Ok(());
    }
    let Some(rest) = app.discord.clone() else {
        let reason = "Discord is not configured".to_owned();
        mark_failed(app, message, &reason).await?;
        jobs::fail(&app.db, job, Failure::Permanent { reason }).await?;
        return Ok(());
    };
    let channel_id = message.channel_id;
    // Nobody is pinged by what a CRM user types.
    let body = NewMessage {
        content: message.content.clone(),
        nonce: Some(nonce_of(message.id)),
        enforce_nonce: true,
        mention_users: Vec::new(),
    };
    match rest.create_message(channel_id, &body).await {
        Ok(sent) => {
            let now = Utc::now();
            let mut change = app.begin().await?;
            let mut active = message.clone().into_active_model();
            active.state = Set(MessageState::Sent);
            active.discord_message_id = Set(Some(sent.id));
            active.sent_at = Set(Some(now));
            active.updated_at = Set(now);
            save_in(&mut change, active).await?;
            // Atomic, as routing does: replies may be counted in the same channel meanwhile.
            lead_channel::Entity::update_many()
                .col_expr(
                    lead_channel::Column::MessageCount,
                    Expr::col(lead_channel::Column::MessageCount).add(1),
                )
                .col_expr(lead_channel::Column::LastMessageAt, Expr::value(now))
                .col_expr(lead_channel::Column::UpdatedAt, Expr::value(now))
                .filter(lead_channel::Column::ChannelId.eq(message.channel_id))
                .exec(&change)
                .await?;
            jobs::complete(&change, job).await?;
            change.commit().await?;
            tracing::info!(message.id = %message.id, discord.message_id = sent.id.get(), "message delivered");
        }
        Err(err) => {
            let reason = err.to_string();
            tracing::warn!(message.id = %message.id, error = %reason, "delivery failed");
            let failure = if err.is_permanent() {
                // Not retried: these count toward Discord's invalid-request ban.
                if matches!(err.status(), Some(401 | 403))
                    && let Some(conn) = store::connection_for(&app.db, message.company_id).await?
                {
                    let mut active = conn.into_active_model();
                    active.health = Set(Health::Degraded);
                    active.update(&app.db).await?;
                }
                Failure::Permanent {
                    reason: reason.clone(),
                }
            } else {
                Failure::Retry {
                    reason: reason.clone(),
                    not_before: err.retry_after(),
                }
            };
            let job = jobs::fail(&app.db, job, failure).await?;
            if job.state == jobs::JobState::Dead {
                mark_failed(app, message, &reason).await?;
            }
        }
    }
    Ok(())
}

async fn mark_failed(app: &Services, message: message::Model, reason: &str) -> Result<()> {
    let mut active = message.into_active_model();
    active.state = Set(MessageState::Failed);
    active.failure_reason = Set(Some(reason.chars().take(500).collect()));
    active.updated_at = Set(Utc::now());
    save_with_event(app, active).await
}

/// Saves a message's new state and tells the live streams.
async fn save_with_event(app: &Services, active: message::ActiveModel) -> Result<()> {
    let mut change = app.begin().await?;
    save_in(&mut change, active).await?;
    change.commit().await
}

/// Saves a message's new state within `change`, with its `message.updated` event.
async fn save_in(change: &mut Change<'_>, active: message::ActiveModel) -> Result<()> {
    let updated = active.update(&*change).await?;
    change
        .event(
            updated.company_id,
            Some(updated.lead_id),
            EventBody::message_updated(updated),
        )
        .await
}

/// Whether the company's Discord connection is bound to this guild with the bot in it.
async fn connected_to(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    guild_id: &str,
) -> Result<bool> {
    Ok(store::connection_for(db, company_id)
        .await?
        .is_some_and(|c| c.bot_invited && c.guild_id.to_string() == guild_id))
}

/// Every message of the company still waiting for delivery ends `failed` with `reason`, and
/// its delivery job is dead (retryable through the jobs API once Discord is back). Returns the
/// `message.updated` events to publish after the caller commits.
pub async fn fail_undelivered(
    txn: &impl ConnectionTrait,
    company_id: CompanyId,
    reason: &str,
) -> Result<Option<events::Recorded>> {
    let queued = message::Entity::find()
        .filter(message::Column::CompanyId.eq(company_id))
        .filter(message::Column::State.eq(MessageState::Queued))
        .all(txn)
        .await?;
    if queued.is_empty() {
        return Ok(None);
    }
    let now = Utc::now();
    message::Entity::update_many()
        .col_expr(message::Column::State, Expr::value(MessageState::Failed))
        .col_expr(message::Column::FailureReason, Expr::value(reason))
        .col_expr(message::Column::UpdatedAt, Expr::value(now))
        .filter(message::Column::CompanyId.eq(company_id))
        .filter(message::Column::State.eq(MessageState::Queued))
        .exec(txn)
        .await?;
    jobs::kill_pending(txn, company_id, DELIVER, reason).await?;
    let events = queued
        .into_iter()
        .map(|mut m| {
            m.state = MessageState::Failed;
            m.failure_reason = Some(reason.to_owned());
            m.updated_at = now;
            (Some(m.lead_id), EventBody::message_updated(m))
        })
        .collect();
    Ok(Some(events::record_all(txn, company_id, events).await?))
}

/// Runs a dead job of this company again. For a delivery, its failed message is queued again
/// in the same transaction, before the job is pending: a worker that claims the job at once
/// finds the message queued, never a failed one it would call done. For a lead channel, its
/// provisioning is `provisioning` again.
pub async fn retry_job(app: &Services, company_id: CompanyId, job_id: Uuid) -> Result<job::Model> {
    let mut change = app.begin().await?;
    let dead = jobs::find_dead(&change, company_id, job_id).await?;
    if dead.kind == channels::provision::KIND {
        // A lead channel: its provisioning shows `provisioning` again.
        channels::provision::requeue_for_job(&change, &dead).await?;
    }
    let message = match dead.kind {
        DELIVER => match message_of(&dead) {
            Some(id) => message::Entity::find_by_id(id)
                .one(&change)
                .await?
                .filter(|m| m.state == MessageState::Failed),
            None => None,
        },
        _ => None,
    };
    if let Some(message) = message {
        let mut active = message.into_active_model();
        active.state = Set(MessageState::Queued);
        active.failure_reason = Set(None);
        active.updated_at = Set(Utc::now());
        save_in(&mut change, active).await?;
    }
    let job = jobs::make_pending(&change, dead).await?;
    change.commit().await?;
    Ok(job)
}

/// Sends a failed message again, as the same message: its dead delivery job runs again (or a
/// new one, when none is left), with the same Discord nonce, so a delivery that did reach
/// Discord after all is not posted twice. Only a failed outbound message can be retried.
pub async fn retry_message(
    app: &Services,
    company_id: CompanyId,
    message_id: Uuid,
) -> Result<message::Model> {
    let failed = message::Entity::find()
        .filter(message::Column::CompanyId.eq(company_id))
        .filter(message::Column::Id.eq(message_id))
        .one(&app.db)
        .await?
        .ok_or_else(|| Error::new(ErrorKind::NotFound, "message_not_found", "No such message."))?;
    if failed.direction != Direction::Outbound || failed.state != MessageState::Failed {
        return Err(Error::conflict(
            "message_not_failed",
            "Only a failed message can be retried.",
        ));
    }
    let dead = jobs::find_for(company_id)
        .filter(job::Column::Kind.eq(DELIVER))
        .filter(job::Column::State.eq(jobs::JobState::Dead))
        .order_by_desc(job::Column::Id)
        .all(&app.db)
        .await?
        .into_iter()
        .find(|job| message_of(job) == Some(message_id));
    match dead {
        Some(job) => {
            retry_job(app, company_id, job.id).await?;
        }
        None => {
            let mut change = app.begin().await?;
            let mut active = failed.into_active_model();
            active.state = Set(MessageState::Queued);
            active.failure_reason = Set(None);
            active.updated_at = Set(Utc::now());
            save_in(&mut change, active).await?;
            jobs::enqueue(
                &change,
                Some(company_id),
                DELIVER,
                serde_json::json!({ "messageId": message_id }),
            )
            .await?;
            change.commit().await?;
        }
    }
    message::Entity::find_by_id(message_id)
        .one(&app.db)
        .await?
        .ok_or_else(|| Error::new(ErrorKind::NotFound, "message_not_found", "No such message."))
}

fn message_of(job: &job::Model) -> Option<Uuid> {
    job.payload
        .get("messageId")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse::<Uuid>().ok())
}

/// The lead's conversation, newest first.
pub async fn list_for_lead(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    lead_id: LeadId,
    limit: u64,
    cursor: Option<Cursor>,
) -> Result<Page<message::Model>> {
    leads::get(db, company_id, lead_id).await?;
    let mut query = message::Entity::find()
        .filter(message::Column::CompanyId.eq(company_id))
        .filter(message::Column::LeadId.eq(lead_id));
    if let Some(cursor) = cursor {
        query = query.filter(message::Column::Id.lt(cursor.0));
    }
    let rows = query
        .order_by_desc(message::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    Ok(Page::from_rows(rows, limit, |m| m.id))
}

/// How long a delivery is claimed for: one Discord call's deadline (`DISCORD_TIMEOUT_SECS`, rate
/// limit waits included) and a margin for the database work around it. A delivery whose worker
/// died is taken over by another after this.
pub fn lease(app: &Services) -> std::time::Duration {
    app.settings.discord_timeout + std::time::Duration::from_secs(10)
}

/// Runs due deliveries until the process stops.
pub async fn worker(app: Services) {
    let db = app.db.clone();
    let lease = lease(&app);
    jobs::work(
        db,
        DELIVER,
        lease,
        std::time::Duration::from_millis(200),
        |job| {
            let app = app.clone();
            async move { run(&app, job).await }
        },
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_allows_line_breaks_but_not_other_controls() {
        assert!(Content::parse("Hi\nthere\ttoo").is_ok());
        assert!(Content::parse("a\u{0}b").is_err());
        assert!(Content::parse("   \n ").is_err());
        assert!(Content::parse(&"é".repeat(2000)).is_ok());
        assert!(Content::parse(&"é".repeat(2001)).is_err());
    }

    #[test]
    fn nonces_fit_discord_25_characters_and_differ_per_message() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(nonce_of(a).len(), 25);
        assert_ne!(nonce_of(a), nonce_of(b));
    }

    #[test]
    fn idempotency_keys_are_visible_ascii() {
        assert!(IdempotencyKey::parse("order-42").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }
}
