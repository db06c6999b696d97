//! Applying routing decisions to the database, a batch at a time, within one transaction.
//!
//! Each message comes out as if applied alone, in order: a routed message is stored unless its
//! Discord id already is, its lead's summary and last contact move (never back), its channel's
//! count, last message and catch-up cursor move (never back), the lead's first message in their
//! channel marks them joined, and each decision not about a duplicate is recorded. The batch
//! shares the statements: one insert for the messages, one update per lead and per channel, one
//! insert per kind of routing event, and one insert of live events per company.
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveEnum,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    QuerySelect, Statement, Value,
    sea_query::{Expr, OnConflict},
};
use uuid::Uuid;

use super::{Decision, Inbound, Outcome, commit::Prepared, stored_row};
use crate::{
    entities::{lead, message, routing_event},
    error::Result,
    events::EventBody,
    ids::{CompanyId, LeadId},
    types::Snowflake,
};

/// A company's live events, in order.
pub type LiveEvents = Vec<(Option<LeadId>, EventBody)>;

/// What a batch wrote: each message's outcome, in order, and each company's live events.
pub struct Written {
    pub outcomes: Vec<Outcome>,
    pub events: Vec<(CompanyId, LiveEvents)>,
}

/// What the stored messages of a batch move on one lead.
struct LeadMove {
    lead_id: LeadId,
    /// The newest stored message (the summary's), and how many were stored.
    newest: message::Model,
    stored: u32,
    /// The latest Discord time among them: the lead's last contact.
    contact: DateTime<Utc>,
    /// Authors of messages in the lead's channel (not direct messages): the lead joins when
    /// one of them is the lead.
    channel_authors: Vec<Snowflake>,
}

/// What a batch moves on one lead channel.
struct ChannelMove {
    channel_id: Snowflake,
    /// The newest message id seen: the catch-up cursor.
    cursor: i64,
    stored: u32,
    /// The latest Discord time among the stored messages.
    last_at: Option<DateTime<Utc>>,
}

pub async fn apply_all(
    txn: &impl ConnectionTrait,
    batch: &[std::sync::Arc<Prepared>],
) -> Result<Written> {
    let now = Utc::now();
    let rows: Vec<Option<message::Model>> = batch
        .iter()
        .map(|p| match p.decision {
            Decision::Routed {
                company_id,
                lead_id,
            } => Some(stored_row(&p.message, company_id, lead_id, now)),
            _ => None,
        })
        .collect();
    let fresh = insert_messages(txn, &rows).await?;

    let mut outcomes = Vec::with_capacity(batch.len());
    let mut events: Vec<(CompanyId, LiveEvents)> = Vec::new();
    let mut leads: Vec<LeadMove> = Vec::new();
    let mut channels: Vec<ChannelMove> = Vec::new();
    let mut decisions: Vec<(&Inbound, &Decision, &serde_json::Value)> = Vec::new();
    for (prepared, row) in batch.iter().zip(rows) {
        let message = &prepared.message;
        let outcome = match (&prepared.decision, row) {
            (Decision::Routed { company_id, .. }, Some(row)) if fresh.contains(&row.id) => {
                let id = row.id;
                note_lead(&mut leads, message, &row);
                // `message.created` before any `lead.updated`: a stream must not see the
                // lead's update before the message.
                company_events(&mut events, *company_id)
                    .push((Some(row.lead_id), EventBody::message_created(row)));
                Outcome::Stored(id)
            }
            (Decision::Routed { .. }, _) => Outcome::Duplicate,
            (other, _) => Outcome::NotRouted(other.clone()),
        };
        if prepared.cursor {
            note_channel(
                &mut channels,
                message,
                matches!(outcome, Outcome::Stored(_)),
            );
        }
        if outcome != Outcome::Duplicate {
            decisions.push((message, &prepared.decision, &prepared.path));
        }
        outcomes.push(outcome);
    }

    move_leads(txn, &leads, now).await?;
    for (company_id, joined) in mark_joined(txn, &leads, now).await? {
        company_events(&mut events, company_id)
            .push((Some(joined.id), EventBody::lead_updated(joined)?));
    }
    move_channels(txn, &channels, now).await?;
    record_decisions(txn, &decisions).await?;
    Ok(Written { outcomes, events })
}

fn company_events(
    events: &mut Vec<(CompanyId, LiveEvents)>,
    company_id: CompanyId,
) -> &mut LiveEvents {
    let at = match events.iter().position(|(c, _)| *c == company_id) {
        Some(at) => at,
        None => {
            events.push((company_id, Vec::new()));
            events.len() - 1
        }
    };
    &mut events[at].1
}

/// Inserts the routed messages' rows in one statement; returns the ids of those inserted (a
/// row whose Discord message id is already stored is left out).
async fn insert_messages(
    txn: &impl ConnectionTrait,
    rows: &[Option<message::Model>],
) -> Result<HashSet<Uuid>> {
    let models: Vec<message::ActiveModel> =
        rows.iter().flatten().cloned().map(Into::into).collect();
    if models.is_empty() {
        return Ok(HashSet::new());
    }
    let ids: Vec<Uuid> = rows.iter().flatten().map(|r| r.id).collect();
    let inserted = message::Entity::insert_many(models)
        .on_conflict(
            OnConflict::column(message::Column::DiscordMessageId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    if usize::try_from(inserted).is_ok_and(|n| n == ids.len()) {
        return Ok(ids.into_iter().collect());
    }
    // Some were already stored: the fresh ids are the ones now in the table.
    Ok(message::Entity::find()
        .select_only()
        .column(message::Column::Id)
        .filter(message::Column::Id.is_in(ids))
        .into_tuple::<Uuid>()
        .all(txn)
        .await?
        .into_iter()
        .collect())
}

fn note_lead(leads: &mut Vec<LeadMove>, message: &Inbound, row: &message::Model) {
    let at = message.created_at();
    let in_channel = message.guild_id.is_some();
    match leads.iter_mut().find(|l| l.lead_id == row.lead_id) {
        Some(lead) => {
            if row.created_at >= lead.newest.created_at {
                lead.newest = row.clone();
            }
            lead.stored += 1;
            lead.contact = Ord::max(lead.contact, at);
            if in_channel && !lead.channel_authors.contains(&message.author_id) {
                lead.channel_authors.push(message.author_id);
            }
        }
        None => leads.push(LeadMove {
            lead_id: row.lead_id,
            newest: row.clone(),
            stored: 1,
            contact: at,
            channel_authors: if in_channel {
                vec![message.author_id]
            } else {
                Vec::new()
            },
        }),
    }
}

fn note_channel(channels: &mut Vec<ChannelMove>, message: &Inbound, stored: bool) {
    let Ok(id) = i64::try_from(message.message_id.get()) else {
        return;
    };
    let at = stored.then(|| message.created_at());
    match channels
        .iter_mut()
        .find(|c| c.channel_id == message.channel_id)
    {
        Some(channel) => {
            channel.cursor = Ord::max(channel.cursor, id);
            channel.stored += u32::from(stored);
            channel.last_at = Ord::max(channel.last_at, at);
        }
        None => channels.push(ChannelMove {
            channel_id: message.channel_id,
            cursor: id,
            stored: u32::from(stored),
            last_at: at,
        }),
    }
}

/// Marks joined the leads that wrote in their own channel for the first time; returns them as
/// they now are, with their companies.
async fn mark_joined(
    txn: &impl ConnectionTrait,
    leads: &[LeadMove],
    now: DateTime<Utc>,
) -> Result<Vec<(CompanyId, lead::Model)>> {
    let mut candidates = Condition::any();
    let mut any = false;
    for lead in leads {
        for author in &lead.channel_authors {
            candidates = candidates.add(
                Condition::all()
                    .add(lead::Column::Id.eq(lead.lead_id))
                    .add(lead::Column::DiscordUserId.eq(*author)),
            );
            any = true;
        }
    }
    if !any {
        return Ok(Vec::new());
    }
    let joining = lead::Entity::find()
        .filter(candidates)
        .filter(lead::Column::DiscordJoinedChannel.eq(false))
        .all(txn)
        .await?;
    if joining.is_empty() {
        return Ok(Vec::new());
    }
    lead::Entity::update_many()
        .col_expr(lead::Column::DiscordJoinedChannel, Expr::value(true))
        .col_expr(lead::Column::UpdatedAt, Expr::value(now))
        .filter(lead::Column::Id.is_in(joining.iter().map(|l| l.id)))
        .exec(txn)
        .await?;
    Ok(joining
        .into_iter()
        .map(|mut lead| {
            lead.discord_joined_channel = true;
            lead.updated_at = now;
            (lead.company_id, lead)
        })
        .collect())
}

/// Rows of values to update from, as SQL: `(SELECT $1 AS a, $2 AS b UNION ALL SELECT $3, $4)`,
/// numbering parameters from `first`; on PostgreSQL each is cast to its column's type (it
/// cannot infer types there).
fn rows_sql(
    backend: DatabaseBackend,
    columns: &[(&str, &str)],
    rows: usize,
    first: usize,
) -> String {
    let mut sql = String::from("(");
    let mut n = first;
    for row in 0..rows {
        sql.push_str(if row == 0 {
            "SELECT "
        } else {
            " UNION ALL SELECT "
        });
        for (i, (name, pg_type)) in columns.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            match backend {
                DatabaseBackend::Postgres => sql.push_str(&format!("${n}::{pg_type}")),
                _ => sql.push_str(&format!("?{n}")),
            }
            if row == 0 {
                sql.push_str(&format!(" AS {name}"));
            }
            n += 1;
        }
    }
    sql.push(')');
    sql
}

/// `UPDATE {table} SET {set} FROM (rows) AS v WHERE {table}.{key} = v.{key}`, with one row of
/// `columns` per entry of `rows`: `set` reads a row's values as `v.{column}` and the change's
/// time as `{now}`. Nothing is run for no rows.
async fn update_from_rows(
    txn: &impl ConnectionTrait,
    (table, key): (&str, &str),
    set: &str,
    columns: &[(&str, &str)],
    rows: Vec<Vec<Value>>,
    now: DateTime<Utc>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let backend = txn.get_database_backend();
    let now_param = match backend {
        DatabaseBackend::Postgres => "$1",
        _ => "?1",
    };
    let sql = format!(
        "UPDATE {table} SET {set} FROM {rows} AS v WHERE {table}.{key} = v.{key}",
        set = set.replace("{now}", now_param),
        rows = rows_sql(backend, columns, rows.len(), 2),
    );
    let values: Vec<Value> = std::iter::once(now.into())
        .chain(rows.into_iter().flatten())
        .collect();
    txn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(())
}

/// Each lead's summary (from its newest stored message; each stored message counts as unread)
/// and last contact, never moved back: one statement for the batch.
async fn move_leads(
    txn: &impl ConnectionTrait,
    leads: &[LeadMove],
    now: DateTime<Utc>,
) -> Result<()> {
    let columns = [
        ("id", "uuid"),
        ("preview", "text"),
        ("direction", "text"),
        ("author", "text"),
        ("at", "timestamptz"),
        ("unread", "integer"),
        ("contact", "timestamptz"),
    ];
    let rows = leads
        .iter()
        .map(|lead| {
            let newest = &lead.newest;
            vec![
                lead.lead_id.into(),
                crate::leads::activity::preview(&newest.content).into(),
                newest.direction.to_value().into(),
                newest.author_name.clone().into(),
                crate::leads::activity::stored_time(newest.created_at).into(),
                i32::try_from(lead.stored).unwrap_or(i32::MAX).into(),
                lead.contact.into(),
            ]
        })
        .collect();
    let newest = "leads.last_message_at IS NULL OR leads.last_message_at <= v.at";
    let set = format!(
        "last_message_preview = CASE WHEN {newest} THEN v.preview ELSE leads.last_message_preview END, \
         last_message_direction = CASE WHEN {newest} THEN v.direction ELSE leads.last_message_direction END, \
         last_message_author = CASE WHEN {newest} THEN v.author ELSE leads.last_message_author END, \
         last_activity_at = CASE WHEN {newest} THEN v.at ELSE leads.last_activity_at END, \
         last_message_at = CASE WHEN {newest} THEN v.at ELSE leads.last_message_at END, \
         unread_count = leads.unread_count + v.unread, \
         last_contact_at = CASE WHEN leads.last_contact_at IS NULL OR leads.last_contact_at < v.contact \
             THEN v.contact ELSE leads.last_contact_at END, \
         updated_at = {{now}}"
    );
    update_from_rows(txn, ("leads", "id"), &set, &columns, rows, now).await
}

/// Each channel's catch-up cursor and, for stored messages, its count and last message time,
/// never moved back: one statement for the batch.
async fn move_channels(
    txn: &impl ConnectionTrait,
    channels: &[ChannelMove],
    now: DateTime<Utc>,
) -> Result<()> {
    let columns = [
        ("channel_id", "text"),
        ("cursor_id", "bigint"),
        ("stored", "integer"),
        ("last_at", "timestamptz"),
    ];
    let rows = channels
        .iter()
        .map(|channel| {
            vec![
                channel.channel_id.into(),
                channel.cursor.into(),
                i32::try_from(channel.stored).unwrap_or(i32::MAX).into(),
                channel.last_at.into(),
            ]
        })
        .collect();
    let c = "discord_lead_channels";
    let set = format!(
        "last_message_id = CASE WHEN {c}.last_message_id IS NULL OR {c}.last_message_id < v.cursor_id \
             THEN v.cursor_id ELSE {c}.last_message_id END, \
         message_count = {c}.message_count + v.stored, \
         last_message_at = CASE WHEN v.last_at IS NOT NULL AND ({c}.last_message_at IS NULL OR {c}.last_message_at < v.last_at) \
             THEN v.last_at ELSE {c}.last_message_at END, \
         updated_at = CASE WHEN v.stored > 0 THEN {{now}} ELSE {c}.updated_at END"
    );
    update_from_rows(txn, (c, "channel_id"), &set, &columns, rows, now).await
}

/// Records the decisions: the ones not routed first, so that of two copies of one Discord
/// message in a batch, the routed decision is kept (as a message first rejected, its channel
/// not yet committed, and routed later keeps the later, routed decision).
async fn record_decisions(
    txn: &impl ConnectionTrait,
    decisions: &[(&Inbound, &Decision, &serde_json::Value)],
) -> Result<()> {
    let row = |(message, decision, path): &(&Inbound, &Decision, &serde_json::Value)| {
        let lead_id = match decision {
            Decision::Routed { lead_id, .. } => Some(*lead_id),
            _ => None,
        };
        routing_event::ActiveModel {
            id: Set(Uuid::now_v7()),
            company_id: Set(decision.company_id()),
            event_type: Set("MESSAGE_CREATE".to_owned()),
            source: Set(message.source.into()),
            guild_id: Set(message.guild_id),
            channel_id: Set(Some(message.channel_id)),
            discord_message_id: Set(Some(message.message_id)),
            author_id: Set(Some(message.author_id)),
            lead_id: Set(lead_id),
            decision: Set(decision.kind()),
            reason: Set(decision.reason().map(|r| r.as_str().to_owned())),
            path: Set((*path).clone()),
            created_at: Set(Utc::now()),
        }
    };
    let (routed, other): (Vec<_>, Vec<_>) = decisions
        .iter()
        .partition(|(_, decision, _)| matches!(decision, Decision::Routed { .. }));
    if !other.is_empty() {
        routing_event::Entity::insert_many(other.into_iter().map(row))
            .on_conflict(
                OnConflict::column(routing_event::Column::DiscordMessageId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    }
    if !routed.is_empty() {
        routing_event::Entity::insert_many(routed.into_iter().map(row))
            .on_conflict(
                OnConflict::column(routing_event::Column::DiscordMessageId)
                    .update_columns([
                        routing_event::Column::CompanyId,
                        routing_event::Column::Source,
                        routing_event::Column::LeadId,
                        routing_event::Column::Decision,
                        routing_event::Column::Reason,
                        routing_event::Column::Path,
                        routing_event::Column::CreatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}
