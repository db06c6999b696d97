//! Live events: recorded in the `events` table inside the transaction that made the change,
//! published after commit through the state store (Redis pub/sub across replicas), and
//! streamed to clients as Server-Sent Events with `Last-Event-ID` replay.
//!
//! Ids are per company and increase in commit order. A change records its events in
//! `pending_events` inside its own transaction; after commit, [`Bus::publish`] moves them to
//! `events` with the company's next ids (`companies.event_seq`) in one short transaction under
//! the company row's lock. So once event N is visible, every event before it is too, and a
//! stream that sees a gap fills it from the database; and concurrent changes of one company
//! commit in parallel instead of queueing on that lock.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ids::{CompanyId, LeadId};
use crate::{
    channels::view::LeadChannelView,
    entities::{event, lead, lead_channel, lead_link, message, pending_event},
    error::{Error, Result},
    github::view::LinkView,
    leads::view::LeadView,
    messages::view::MessageView,
    state::SharedState,
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
    /// A linked GitHub issue or pull request was closed, merged or reopened.
    #[serde(rename = "link.updated")]
    LinkUpdated(LinkView),
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

    pub fn link_updated(l: lead_link::Model) -> Self {
        Self::LinkUpdated(l.into())
    }
}

/// One event as a stream delivers it (the SSE `data`); the SSE `id` is `id` and the SSE
/// `event` is `type`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LiveEvent {
    /// Increasing per company; send it back as `Last-Event-ID` to resume.
    pub id: i64,
    #[schema(value_type = Option<Uuid>)]
    pub lead_id: Option<LeadId>,
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

fn channel(company_id: CompanyId) -> String {
    format!("events:{company_id}")
}

/// Events recorded by a transaction. Once it has committed, hand this to [`Bus::publish`], which
/// gives them their ids and tells the streams.
#[must_use = "publish recorded events once the transaction has committed"]
#[derive(Debug, Default)]
pub struct Recorded {
    companies: Vec<CompanyId>,
}

impl Recorded {
    /// Adds another transaction step's events (of the same transaction).
    pub fn merge(&mut self, other: Recorded) {
        for company in other.companies {
            if !self.companies.contains(&company) {
                self.companies.push(company);
            }
        }
    }
}

/// Records an event inside the caller's (write) transaction.
pub async fn record(
    txn: &impl ConnectionTrait,
    company_id: CompanyId,
    lead_id: Option<LeadId>,
    body: EventBody,
) -> Result<Recorded> {
    record_all(txn, company_id, vec![(lead_id, body)]).await
}

/// Records the company's events, in this order, inside the caller's (write) transaction, in
/// one insert. They wait in `pending_events` until [`Bus::publish`] gives them ids: taking ids
/// here would lock the company row until commit, and every change of the company would wait
/// for the one before it to commit.
pub async fn record_all(
    txn: &impl ConnectionTrait,
    company_id: CompanyId,
    bodies: Vec<(Option<LeadId>, EventBody)>,
) -> Result<Recorded> {
    if bodies.is_empty() {
        return Ok(Recorded::default());
    }
    let now = Utc::now();
    let mut named = Vec::with_capacity(bodies.len());
    let rows = bodies
        .into_iter()
        .map(|(lead_id, body)| {
            let value = serde_json::to_value(&body).map_err(Error::internal)?;
            let kind = value
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let event_id = Uuid::now_v7();
            named.push((event_id, kind.clone()));
            Ok(pending_event::ActiveModel {
                id: NotSet,
                company_id: Set(company_id),
                lead_id: Set(lead_id),
                kind: Set(kind),
                event_id: Set(Some(event_id)),
                payload: Set(value.get("data").cloned().unwrap_or(Value::Null)),
                created_at: Set(now),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    pending_event::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    // The company's webhook endpoints get them too, queued in this same transaction.
    crate::webhooks::fanout::enqueue(txn, company_id, &named).await?;
    Ok(Recorded {
        companies: vec![company_id],
    })
}

/// Live events' handles: the database that orders them, the state store that carries them to
/// every replica's streams, and this process's [`Sequencer`].
#[derive(Clone)]
pub struct Bus {
    db: DatabaseConnection,
    state: SharedState,
    sequencer: Arc<Sequencer>,
}

impl Bus {
    pub fn new(db: DatabaseConnection, state: SharedState) -> Self {
        Self {
            db,
            state,
            sequencer: Arc::default(),
        }
    }

    /// Gives committed events their ids and tells every replica's streams. A failure here loses
    /// nothing: the events stay pending and [`Bus::sequence_leftovers`] retries them.
    pub async fn publish(&self, recorded: Recorded) {
        for company_id in recorded.companies {
            if let Err(err) = self.sequence(company_id).await {
                tracing::warn!(error = %err, company.id = %company_id, "giving events their ids failed; retried shortly");
            }
        }
    }

    /// Gives the company's committed events their ids, in the order they were recorded, and
    /// publishes them.
    ///
    /// Callers in this process share the work: while one moves the pending events, the callers
    /// arriving meanwhile wait, and the next of them moves everything committed by then in one
    /// transaction. So under load many changes cost one id transaction, and each caller returns
    /// once its own events have their ids.
    pub async fn sequence(&self, company_id: CompanyId) -> Result<()> {
        // Taken after the caller's commit: a run that starts after this ticket sees its events.
        let (flight, ticket) = self.sequencer.ticket(company_id);
        loop {
            // Registered before looking, so a run finishing in between still wakes this caller.
            let notified = flight.finished.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match flight.turn(ticket) {
                Turn::Done => return Ok(()),
                Turn::Wait => notified.await,
                Turn::Run(covers) => {
                    // In its own task, so a caller that is dropped (a client hanging up) cannot
                    // leave the company's events without a runner.
                    let (bus, flight) = (self.clone(), flight.clone());
                    let run = tokio::spawn(async move {
                        let result = bus.drain(company_id).await;
                        bus.sequencer
                            .finish(company_id, &flight, result.is_ok().then_some(covers));
                        flight.finished.notify_waiters();
                        result
                    });
                    return run.await.map_err(Error::internal)?;
                }
            }
        }
    }

    /// Moves the company's pending events to `events` with its next ids, then publishes them;
    /// repeats until none is left.
    ///
    /// Each batch is one short transaction holding the company row's lock, so ids commit in
    /// order (once event N is visible, every event before it is too) and replicas never give one
    /// event two ids.
    async fn drain(&self, company_id: CompanyId) -> Result<()> {
        loop {
            let waiting = pending_event::Entity::find()
                .select_only()
                .column(pending_event::Column::Id)
                .filter(pending_event::Column::CompanyId.eq(company_id))
                .limit(1)
                .into_tuple::<i64>()
                .one(&self.db)
                .await?;
            if waiting.is_none() {
                return Ok(());
            }
            let txn = crate::db::begin_write(&self.db).await?;
            // Another replica may have moved them meanwhile: read them again under the lock.
            let current = read_seq(&txn, company_id, true)
                .await?
                .ok_or_else(|| Error::internal(anyhow::anyhow!("events of an unknown company")))?;
            let pending = pending_event::Entity::find()
                .filter(pending_event::Column::CompanyId.eq(company_id))
                .order_by_asc(pending_event::Column::Id)
                .limit(PAGE)
                .all(&txn)
                .await?;
            let Some(last) = pending.last().map(|p| p.id) else {
                txn.commit().await?;
                return Ok(());
            };
            let rows: Vec<event::Model> = pending
                .into_iter()
                .zip(current + 1..)
                .map(|(p, seq)| event::Model {
                    id: p.event_id.unwrap_or_else(Uuid::now_v7),
                    company_id,
                    seq,
                    lead_id: p.lead_id,
                    kind: p.kind,
                    payload: p.payload,
                    created_at: p.created_at,
                })
                .collect();
            let newest = current + i64::try_from(rows.len()).map_err(Error::internal)?;
            event::Entity::insert_many(rows.iter().cloned().map(event::ActiveModel::from))
                .exec_without_returning(&txn)
                .await?;
            pending_event::Entity::delete_many()
                .filter(pending_event::Column::CompanyId.eq(company_id))
                .filter(pending_event::Column::Id.lte(last))
                .exec(&txn)
                .await?;
            let backend = txn.get_database_backend();
            let sql = match backend {
                DatabaseBackend::Postgres => "UPDATE companies SET event_seq = $2 WHERE id = $1",
                _ => "UPDATE companies SET event_seq = ?2 WHERE id = ?1",
            };
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [company_id.into(), newest.into()],
            ))
            .await?;
            txn.commit().await?;
            for row in &rows {
                let payload = wire(row).to_string();
                if let Err(err) = self
                    .state
                    .publish(&channel(company_id), payload.as_bytes())
                    .await
                {
                    // Streams fill the gap from the database when the next event arrives.
                    tracing::warn!(error = %err, company.id = %company_id, seq = row.seq, "publishing an event failed");
                }
            }
        }
    }

    /// Gives ids to events left pending by a replica that stopped between a commit and
    /// [`Bus::publish`]; answers how many companies had some.
    pub async fn sequence_leftovers(&self) -> Result<usize> {
        let companies: Vec<CompanyId> = pending_event::Entity::find()
            .select_only()
            .column(pending_event::Column::CompanyId)
            .distinct()
            .limit(PAGE)
            .into_tuple()
            .all(&self.db)
            .await?;
        for &company_id in &companies {
            self.sequence(company_id).await?;
        }
        Ok(companies.len())
    }
}

/// Who gives a company's pending events their ids in this process, and who waits for it
/// (see [`Bus::sequence`]). A company has an entry only while it has callers.
#[derive(Default)]
pub struct Sequencer {
    flights: Mutex<HashMap<CompanyId, Arc<Flight>>>,
}

/// One company's callers. Each keeps its `Arc` until it returns, so its ticket is compared
/// with the counters it was issued from even after the entry left the map.
#[derive(Default)]
struct Flight {
    counters: Mutex<Counters>,
    finished: tokio::sync::Notify,
}

#[derive(Default)]
struct Counters {
    /// Tickets handed out, and the newest one whose events certainly have ids.
    issued: u64,
    done: u64,
    running: bool,
}

enum Turn {
    Done,
    Wait,
    /// Run [`drain`]; it covers every ticket up to this one.
    Run(u64),
}

/// Nothing panics while these locks are held, so a poisoned lock's data is still consistent.
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Sequencer {
    fn ticket(&self, company_id: CompanyId) -> (Arc<Flight>, u64) {
        let mut flights = locked(&self.flights);
        let flight = flights.entry(company_id).or_default().clone();
        let ticket = {
            let mut counters = locked(&flight.counters);
            counters.issued += 1;
            counters.issued
        };
        (flight, ticket)
    }

    fn finish(&self, company_id: CompanyId, flight: &Arc<Flight>, covered: Option<u64>) {
        let mut flights = locked(&self.flights);
        let mut counters = locked(&flight.counters);
        counters.running = false;
        if let Some(covered) = covered {
            counters.done = counters.done.max(covered);
        }
        // New tickets are issued under the map's lock: none can appear before the removal.
        if counters.done == counters.issued
            && flights
                .get(&company_id)
                .is_some_and(|f| Arc::ptr_eq(f, flight))
        {
            flights.remove(&company_id);
        }
    }
}

impl Flight {
    fn turn(&self, ticket: u64) -> Turn {
        let mut counters = locked(&self.counters);
        if counters.done >= ticket {
            Turn::Done
        } else if counters.running {
            Turn::Wait
        } else {
            counters.running = true;
            Turn::Run(counters.issued)
        }
    }
}

/// The id of the company's latest committed event.
pub async fn current_seq(db: &impl ConnectionTrait, company_id: CompanyId) -> Result<i64> {
    Ok(read_seq(db, company_id, false).await?.unwrap_or(0))
}

/// The company's latest event id; with `lock`, its row stays locked until the transaction ends
/// (SQLite's write transactions are exclusive already). `None` for an unknown company.
async fn read_seq(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    lock: bool,
) -> Result<Option<i64>> {
    let backend = db.get_database_backend();
    let sql = match (backend, lock) {
        (DatabaseBackend::Postgres, true) => {
            "SELECT event_seq FROM companies WHERE id = $1 FOR UPDATE"
        }
        (DatabaseBackend::Postgres, false) => "SELECT event_seq FROM companies WHERE id = $1",
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
        Some(row) => Some(row.try_get::<i64>("", "event_seq")?),
        None => None,
    })
}

/// Events after `after` (exclusive) up to `upto` (inclusive), oldest first, at most a page.
pub async fn read(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    lead_id: Option<LeadId>,
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
        bus: Bus,
        company_id: CompanyId,
        lead_id: Option<LeadId>,
        last_event_id: Option<i64>,
    ) -> Result<impl Stream<Item = Value> + Send> {
        // Subscribe before reading the position, so nothing falls between the two.
        let subscription = bus
            .state
            .subscribe(&channel(company_id))
            .await
            .map_err(|e| {
                // The state store's own words (channel names, addresses) stay in the log.
                Error::unavailable(
                    "state_store_unavailable",
                    "Live events are unavailable right now; try again shortly.",
                )
                .with_source(anyhow::anyhow!(e.to_string()))
                .with_retry_after(5)
            })?;
        let now = current_seq(&bus.db, company_id).await?;
        let cursor = last_event_id.map_or(now, |id| id.clamp(0, now));
        let state = (
            bus.db,
            subscription,
            cursor,
            Step::Replay,
            Vec::new().into_iter(),
        );
        Ok(futures::stream::unfold(
            state,
            move |(db, mut subscription, mut cursor, mut step, mut pending)| async move {
                loop {
                    if let Some(row) = pending.next() {
                        return Some((row, (db, subscription, cursor, step, pending)));
                    }
                    match step {
                        Step::Replay => {
                            let upto = current_seq(&db, company_id).await.ok()?;
                            let rows = read(&db, company_id, lead_id, cursor, upto).await.ok()?;
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
                            let rows = read(&db, company_id, lead_id, cursor, seq).await.ok()?;
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
