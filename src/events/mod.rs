//! Live events: recorded in the `events` table inside the transaction that made the change,
//! published after commit through the state store (Redis pub/sub across replicas), and
//! streamed to clients as Server-Sent Events with `Last-Event-ID` replay.
//!
//! Ids are per company and increase in commit order: the next id is taken by incrementing the
//! company row's `event_seq` inside the recording transaction, whose row lock holds until
//! commit. So once event N is visible, every event before it is too, and a stream that sees a
//! gap fills it from the database.
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    app::AppState,
    entities::{event, lead, lead_channel, message},
    error::{Error, Result},
    http::routes::{channels::LeadChannelView, leads::LeadView, messages::MessageView},
};

/// Events are kept this long for replay.
pub const RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// Replay reads this many events per query.
const PAGE: u64 = 500;

/// What happened, with the resource as the REST API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "type", content = "data")]
pub enum EventBody {
    /// A message was stored: sent from the CRM or received from Discord.
    #[serde(rename = "message.created")]
    MessageCreated(MessageView),
    /// A message's delivery state changed (`sent`, `failed`, back to `queued`).
    #[serde(rename = "message.updated")]
    MessageUpdated(MessageView),
    #[serde(rename = "lead.updated")]
    LeadUpdated(LeadView),
    #[serde(rename = "channel.created")]
    ChannelCreated(LeadChannelView),
    /// The channel was archived here or deleted on Discord.
    #[serde(rename = "channel.archived")]
    ChannelArchived(LeadChannelView),
}

impl EventBody {
    pub fn message_created(m: message::Model) -> Self {
        Self::MessageCreated(m.into())
    }

    pub fn message_updated(m: message::Model) -> Self {
        Self::MessageUpdated(m.into())
    }

    pub fn lead_updated(l: lead::Model) -> Result<Self> {
        Ok(Self::LeadUpdated(l.try_into()?))
    }

    pub fn channel_created(c: lead_channel::Model) -> Self {
        Self::ChannelCreated(c.into())
    }

    pub fn channel_archived(c: lead_channel::Model) -> Self {
        Self::ChannelArchived(c.into())
    }
}

/// One event as a stream delivers it (the SSE `data`); the SSE `id` is `id` and the SSE
/// `event` is `type`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LiveEvent {
    /// Increasing per company; send it back as `Last-Event-ID` to resume.
    pub id: i64,
    pub lead_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub body: EventBody,
}

/// The wire form of a stored event (what [`LiveEvent`] serialises to).
pub fn wire(row: &event::Model) -> Value {
    serde_json::json!({
        "id": row.seq,
        "leadId": row.lead_id,
        "at": row.created_at,
        "type": row.kind,
        "data": row.payload,
    })
}

fn channel(company_id: Uuid) -> String {
    format!("events:{company_id}")
}

/// Records an event inside the caller's (write) transaction; publish it after commit.
pub async fn record(
    txn: &impl ConnectionTrait,
    company_id: Uuid,
    lead_id: Option<Uuid>,
    body: EventBody,
) -> Result<event::Model> {
    let seq = next_seq(txn, company_id).await?;
    let value = serde_json::to_value(&body).map_err(Error::internal)?;
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let row = event::ActiveModel {
        id: Set(Uuid::now_v7()),
        company_id: Set(company_id),
        seq: Set(seq),
        lead_id: Set(lead_id),
        kind: Set(kind),
        payload: Set(value.get("data").cloned().unwrap_or(Value::Null)),
        created_at: Set(Utc::now()),
    };
    Ok(event::Entity::insert(row).exec_with_returning(txn).await?)
}

async fn next_seq(db: &impl ConnectionTrait, company_id: Uuid) -> Result<i64> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "UPDATE companies SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq"
        }
        _ => "UPDATE companies SET event_seq = event_seq + 1 WHERE id = ?1 RETURNING event_seq",
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [company_id.into()],
        ))
        .await?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("event for an unknown company")))?;
    Ok(row.try_get::<i64>("", "event_seq")?)
}

/// The id of the company's latest committed event.
pub async fn current_seq(db: &impl ConnectionTrait, company_id: Uuid) -> Result<i64> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => "SELECT event_seq FROM companies WHERE id = $1",
        _ => "SELECT event_seq FROM companies WHERE id = ?1",
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [company_id.into()],
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get::<i64>("", "event_seq")?,
        None => 0,
    })
}

/// Tells every replica's streams about committed events. A lost publish only delays them:
/// streams fill gaps from the database.
pub async fn publish(app: &AppState, rows: &[event::Model]) {
    for row in rows {
        let payload = wire(row).to_string();
        if let Err(err) = app
            .state
            .publish(&channel(row.company_id), payload.as_bytes())
            .await
        {
            tracing::warn!(error = %err, company.id = %row.company_id, seq = row.seq, "publishing an event failed");
        }
    }
}

/// Records one event in its own transaction and publishes it, for changes made outside one.
pub async fn emit(
    app: &AppState,
    company_id: Uuid,
    lead_id: Option<Uuid>,
    body: EventBody,
) -> Result<()> {
    let txn = crate::db::begin_write(&app.db).await?;
    let row = record(&txn, company_id, lead_id, body).await?;
    txn.commit().await?;
    publish(app, &[row]).await;
    Ok(())
}

/// Events after `after` (exclusive) up to `upto` (inclusive), oldest first, at most a page.
pub async fn read(
    db: &impl ConnectionTrait,
    company_id: Uuid,
    lead_id: Option<Uuid>,
    after: i64,
    upto: i64,
) -> Result<Vec<event::Model>> {
    let mut query = event::Entity::find()
        .filter(event::Column::CompanyId.eq(company_id))
        .filter(event::Column::Seq.gt(after))
        .filter(event::Column::Seq.lte(upto));
    if let Some(lead) = lead_id {
        query = query.filter(event::Column::LeadId.eq(lead));
    }
    Ok(query
        .order_by_asc(event::Column::Seq)
        .limit(PAGE)
        .all(db)
        .await?)
}

/// Deletes events older than [`RETENTION`].
pub async fn prune(db: &impl ConnectionTrait) -> Result<u64> {
    let cutoff = Utc::now() - chrono::Duration::from_std(RETENTION).unwrap_or_default();
    Ok(event::Entity::delete_many()
        .filter(event::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}

/// A client's position in a company's event sequence, and the stream of what follows it.
pub mod stream {
    use futures::{Stream, StreamExt};

    use super::*;

    enum Step {
        /// Replay from the database up to the newest committed event.
        Replay,
        Live,
    }

    /// The events after `last_event_id` (or from now on, without one), then live ones, in
    /// order, without gaps or repeats. Ends when the subscription ends.
    pub async fn open(
        app: AppState,
        company_id: Uuid,
        lead_id: Option<Uuid>,
        last_event_id: Option<i64>,
    ) -> Result<impl Stream<Item = Value> + Send> {
        // Subscribe before reading the position, so nothing falls between the two.
        let subscription = app
            .state
            .subscribe(&channel(company_id))
            .await
            .map_err(|e| Error::unavailable("state_store_unavailable", e.to_string()))?;
        let now = current_seq(&app.db, company_id).await?;
        let cursor = last_event_id.map_or(now, |id| id.clamp(0, now));
        let state = (
            app,
            subscription,
            cursor,
            Step::Replay,
            Vec::new().into_iter(),
        );
        Ok(futures::stream::unfold(
            state,
            move |(app, mut subscription, mut cursor, mut step, mut pending)| async move {
                loop {
                    if let Some(row) = pending.next() {
                        return Some((row, (app, subscription, cursor, step, pending)));
                    }
                    match step {
                        Step::Replay => {
                            let upto = current_seq(&app.db, company_id).await.ok()?;
                            let rows = read(&app.db, company_id, lead_id, cursor, upto)
                                .await
                                .ok()?;
                            if rows.len() as u64 == PAGE {
                                // More to replay: continue after this page.
                                cursor = rows.last().map_or(upto, |r| r.seq);
                            } else {
                                cursor = upto;
                                step = Step::Live;
                            }
                            pending = rows.iter().map(wire).collect::<Vec<_>>().into_iter();
                        }
                        Step::Live => {
                            let message = subscription.next().await?;
                            let Some(event) = serde_json::from_slice::<Value>(&message).ok() else {
                                continue;
                            };
                            let Some(seq) = event.get("id").and_then(Value::as_i64) else {
                                continue;
                            };
                            if seq <= cursor {
                                continue;
                            }
                            if seq == cursor + 1 {
                                // The next event, as published: no need to read it back.
                                cursor = seq;
                                let wanted = lead_id.is_none_or(|lead| {
                                    event.get("leadId").and_then(Value::as_str)
                                        == Some(lead.to_string().as_str())
                                });
                                if wanted {
                                    pending = vec![event].into_iter();
                                }
                                continue;
                            }
                            // Everything up to `seq` is committed: read what this stream
                            // has not seen (usually just this event).
                            let rows =
                                read(&app.db, company_id, lead_id, cursor, seq).await.ok()?;
                            if rows.len() as u64 == PAGE {
                                cursor = rows.last().map_or(seq, |r| r.seq);
                                step = Step::Replay;
                            } else {
                                cursor = seq;
                            }
                            pending = rows.iter().map(wire).collect::<Vec<_>>().into_iter();
                        }
                    }
                }
            },
        ))
    }
}
