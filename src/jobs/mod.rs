//! The durable outbox. Work is written in the same transaction as the change that needs it,
//! claimed by one worker at a time (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of
//! replicas can run workers; one atomic statement on SQLite), retried with backoff 1, 2, 4, 8,
//! 16 s, and dead after 5 attempts (a message delivery: 8, see [`MESSAGE_DELIVERY_ATTEMPTS`]).
use std::time::Duration;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use uuid::Uuid;

use crate::ids::CompanyId;
use crate::{
    entities::job::{self, Entity as Jobs},
    error::{Error, ErrorKind, Result},
    pagination::{Cursor, Page},
};

pub const MAX_ATTEMPTS: i32 = 5;
/// A message's delivery is tried longer: about a minute of backoff (1, 2, 4, 8, then 16 s) and
/// eight calls, each within the call deadline, so a brief Discord outage loses nothing. It stays
/// inside the "past few minutes" in which Discord checks a nonce for uniqueness
/// (resources_message.mdx, Create Message, `enforce_nonce`), so a call that took effect but
/// whose answer was lost is never posted twice by a retry.
pub const MESSAGE_DELIVERY_ATTEMPTS: i32 = 8;

/// How many attempts a job of `kind` gets before it is dead.
pub fn max_attempts(kind: JobKind) -> i32 {
    match kind {
        JobKind::DeliverMessage => MESSAGE_DELIVERY_ATTEMPTS,
        JobKind::CreateLeadChannel | JobKind::DiscordCleanup | JobKind::DeliverWebhook => {
            MAX_ATTEMPTS
        }
    }
}
/// How long a claim lasts unless its kind says otherwise: a claimed job is another worker's again
/// after this (its worker died). Kinds whose work is bounded by a known deadline claim for that
/// deadline plus a margin (deliveries: one Discord call).
pub const LEASE: Duration = Duration::from_secs(120);

pub use crate::entities::job::{JobKind, JobState};

/// The wait before attempt `attempts + 1`: 1, 2, 4, 8 seconds.
pub fn backoff(attempts: i32) -> Duration {
    Duration::from_secs(1 << (attempts.clamp(1, 5) - 1))
}

pub async fn enqueue(
    db: &impl ConnectionTrait,
    company_id: Option<CompanyId>,
    kind: JobKind,
    payload: serde_json::Value,
) -> Result<job::Model> {
    enqueue_after(db, company_id, kind, payload, Duration::ZERO).await
}

/// Enqueues a job that workers leave alone for `grace`: the request that enqueued it tries it
/// first (claiming it by id), and workers take it only if that request did not finish it.
pub async fn enqueue_after(
    db: &impl ConnectionTrait,
    company_id: Option<CompanyId>,
    kind: JobKind,
    payload: serde_json::Value,
    grace: Duration,
) -> Result<job::Model> {
    insert(db, company_id, kind, payload, grace, None).await
}

/// Enqueues a job in `queue`: jobs of one queue run one at a time, oldest first.
pub async fn enqueue_in(
    db: &impl ConnectionTrait,
    company_id: Option<CompanyId>,
    kind: JobKind,
    payload: serde_json::Value,
    queue: &str,
) -> Result<job::Model> {
    insert(
        db,
        company_id,
        kind,
        payload,
        Duration::ZERO,
        Some(queue.to_owned()),
    )
    .await
}

async fn insert(
    db: &impl ConnectionTrait,
    company_id: Option<CompanyId>,
    kind: JobKind,
    payload: serde_json::Value,
    grace: Duration,
    queue: Option<String>,
) -> Result<job::Model> {
    let now = Utc::now();
    let run_at = now + chrono::Duration::from_std(grace).unwrap_or_default();
    let row = job::ActiveModel {
        id: Set(Uuid::now_v7()),
        company_id: Set(company_id),
        kind: Set(kind),
        payload: Set(payload),
        state: Set(JobState::Pending),
        attempts: Set(0),
        run_at: Set(run_at),
        locked_until: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        queue: Set(queue),
    };
    Ok(Jobs::insert(row).exec_with_returning(db).await?)
}

/// `busy_queues`: how many queues to leave alone (their names are bound after the first three
/// parameters), because this worker is already running a job of theirs.
fn claim_sql(backend: DatabaseBackend, by_id: bool, busy_queues: usize) -> String {
    let (p, lock) = match backend {
        DatabaseBackend::Postgres => (["$1", "$2", "$3"], " FOR UPDATE SKIP LOCKED"),
        // Numbered, not bare `?`: the statement uses "now" more than once.
        _ => (["?1", "?2", "?3"], ""),
    };
    let target = if by_id {
        format!("id = {} AND state = 'pending'", p[2])
    } else {
        let mut target = format!(
            "kind = {kind} AND ((state = 'pending' AND run_at <= {now}) OR (state = 'running' AND locked_until < {now}))",
            now = p[0],
            kind = p[2]
        );
        if busy_queues > 0 {
            let names: Vec<String> = (4..4 + busy_queues)
                .map(|i| match backend {
                    DatabaseBackend::Postgres => format!("${i}"),
                    _ => format!("?{i}"),
                })
                .collect();
            target.push_str(&format!(
                " AND (queue IS NULL OR queue NOT IN ({}))",
                names.join(", ")
            ));
        }
        target
    };
    format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_until = {until}, updated_at = {now} \
         WHERE id = (SELECT id FROM jobs WHERE {target} ORDER BY run_at LIMIT 1{lock}) RETURNING *",
        now = p[0],
        until = p[1],
    )
}

/// Takes the next due job of this kind, if any, for this worker alone. Workers claim only the
/// kinds they run.
pub async fn claim_next(db: &impl ConnectionTrait, kind: JobKind) -> Result<Option<job::Model>> {
    claim_next_for(db, kind, &[], LEASE).await
}

/// As [`claim_next`], leaving alone the jobs of `busy` queues.
pub async fn claim_next_outside(
    db: &impl ConnectionTrait,
    kind: JobKind,
    busy: &[String],
) -> Result<Option<job::Model>> {
    claim_next_for(db, kind, busy, LEASE).await
}

/// Takes the next due job of this kind outside the `busy` queues, claimed for `lease`.
pub async fn claim_next_for(
    db: &impl ConnectionTrait,
    kind: JobKind,
    busy: &[String],
    lease: Duration,
) -> Result<Option<job::Model>> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(lease).unwrap_or_default();
    let backend = db.get_database_backend();
    let mut values: Vec<sea_orm::Value> = vec![now.into(), until.into(), kind.as_str().into()];
    values.extend(busy.iter().map(|q| q.as_str().into()));
    let stmt =
        Statement::from_sql_and_values(backend, claim_sql(backend, false, busy.len()), values);
    Ok(Jobs::find().from_raw_sql(stmt).one(db).await?)
}

/// Gives a claimed job back untried, to run after `delay` (its queue was busy on another
/// replica): the attempt the claim counted is not counted.
pub async fn release(
    db: &impl ConnectionTrait,
    job: job::Model,
    delay: Duration,
) -> Result<job::Model> {
    let attempts = (job.attempts - 1).max(0);
    let mut active = job.into_active_model();
    active.state = Set(JobState::Pending);
    active.attempts = Set(attempts);
    active.run_at = Set(Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default());
    active.locked_until = Set(None);
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

/// Takes this job if it is still pending (the request that enqueued it tries it at once).
pub async fn claim(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<job::Model>> {
    claim_for(db, id, LEASE).await
}

/// As [`claim`], for `lease`.
pub async fn claim_for(
    db: &impl ConnectionTrait,
    id: Uuid,
    lease: Duration,
) -> Result<Option<job::Model>> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(lease).unwrap_or_default();
    let backend = db.get_database_backend();
    let stmt = Statement::from_sql_and_values(
        backend,
        claim_sql(backend, true, 0),
        [now.into(), until.into(), id.into()],
    );
    Ok(Jobs::find().from_raw_sql(stmt).one(db).await?)
}

pub async fn complete(db: &impl ConnectionTrait, job: job::Model) -> Result<job::Model> {
    let mut active = job.into_active_model();
    active.state = Set(JobState::Done);
    active.locked_until = Set(None);
    active.last_error = Set(None);
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

/// How a failed attempt ends.
pub enum Failure {
    /// Try again after the backoff, or later if the platform asked (`retry_after`).
    Retry {
        reason: String,
        not_before: Option<Duration>,
    },
    /// Retrying cannot help (401, 403, 404): dead now, with the reason.
    Permanent { reason: String },
}

/// Records a failed attempt: pending again after its backoff, or dead.
pub async fn fail(
    db: &impl ConnectionTrait,
    job: job::Model,
    failure: Failure,
) -> Result<job::Model> {
    let (attempts, kind) = (job.attempts, job.kind);
    let mut active = job.into_active_model();
    let now = Utc::now();
    match failure {
        Failure::Retry { reason, not_before } if attempts < max_attempts(kind) => {
            let wait = backoff(attempts).max(not_before.unwrap_or_default());
            active.state = Set(JobState::Pending);
            active.run_at = Set(now + chrono::Duration::from_std(wait).unwrap_or_default());
            active.last_error = Set(Some(reason.chars().take(1000).collect()));
        }
        Failure::Retry { reason, .. } | Failure::Permanent { reason } => {
            active.state = Set(JobState::Dead);
            active.last_error = Set(Some(reason.chars().take(1000).collect()));
        }
    }
    active.locked_until = Set(None);
    active.updated_at = Set(now);
    Ok(active.update(db).await?)
}

/// A failed attempt whose kind keeps its own schedule: pending again after `wait`.
pub async fn reschedule(
    db: &impl ConnectionTrait,
    job: job::Model,
    reason: &str,
    wait: Duration,
) -> Result<job::Model> {
    let now = Utc::now();
    let mut active = job.into_active_model();
    active.state = Set(JobState::Pending);
    active.run_at = Set(now + chrono::Duration::from_std(wait).unwrap_or_default());
    active.last_error = Set(Some(reason.chars().take(1000).collect()));
    active.locked_until = Set(None);
    active.updated_at = Set(now);
    Ok(active.update(db).await?)
}

pub fn find_for(company_id: CompanyId) -> sea_orm::Select<Jobs> {
    Jobs::find().filter(job::Column::CompanyId.eq(company_id))
}

pub async fn list(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    state: Option<JobState>,
    limit: u64,
    cursor: Option<Cursor>,
) -> Result<Page<job::Model>> {
    let mut query = find_for(company_id);
    if let Some(state) = state {
        query = query.filter(job::Column::State.eq(state));
    }
    if let Some(cursor) = cursor {
        query = query.filter(job::Column::Id.lt(cursor.0));
    }
    let rows = query
        .order_by_desc(job::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    Ok(Page::from_rows(rows, limit, |j| j.id))
}

/// The company's pending jobs of this kind are dead now, with the reason: what they would do
/// can no longer happen (the integration they need is gone).
pub async fn kill_pending(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    kind: JobKind,
    reason: &str,
) -> Result<u64> {
    use sea_orm::sea_query::Expr;
    let result = Jobs::update_many()
        .col_expr(job::Column::State, Expr::value(JobState::Dead))
        .col_expr(job::Column::LastError, Expr::value(reason))
        .col_expr(job::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(job::Column::CompanyId.eq(company_id))
        .filter(job::Column::Kind.eq(kind))
        .filter(job::Column::State.eq(JobState::Pending))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// A dead job of this company, to run again.
pub async fn find_dead(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    id: Uuid,
) -> Result<job::Model> {
    let job = find_for(company_id)
        .filter(job::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| Error::new(ErrorKind::NotFound, "job_not_found", "No such job."))?;
    if job.state != JobState::Dead {
        return Err(Error::conflict(
            "job_not_dead",
            "Only a dead job can be retried.",
        ));
    }
    Ok(job)
}

/// The job runs again from its first attempt, now.
pub async fn make_pending(db: &impl ConnectionTrait, job: job::Model) -> Result<job::Model> {
    let mut active = job.into_active_model();
    active.state = Set(JobState::Pending);
    active.attempts = Set(0);
    active.run_at = Set(Utc::now());
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

/// Runs due jobs of `kind`, one after another, until the process stops, each claimed for
/// `lease`; `idle` is the pause when none is due.
pub async fn work<F, Fut>(
    db: sea_orm::DatabaseConnection,
    kind: JobKind,
    lease: Duration,
    idle: Duration,
    run: F,
) where
    F: Fn(job::Model) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    loop {
        match claim_next_for(&db, kind, &[], lease).await {
            Ok(Some(job)) => {
                let id = job.id;
                if let Err(err) = run(job).await {
                    tracing::error!(job.id = %id, job.kind = kind.as_str(), error = ?err, "job failed to run");
                }
            }
            Ok(None) => tokio::time::sleep(idle).await,
            Err(err) => {
                tracing::warn!(job.kind = kind.as_str(), error = ?err, "could not claim a job");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second() {
        let waits: Vec<u64> = (1..=5).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16]);
    }

    #[test]
    fn the_claim_locks_rows_only_on_postgres() {
        assert!(claim_sql(DatabaseBackend::Postgres, false, 0).contains("FOR UPDATE SKIP LOCKED"));
        assert!(!claim_sql(DatabaseBackend::Sqlite, false, 0).contains("FOR UPDATE"));
    }

    #[test]
    fn busy_queues_are_bound_after_the_first_three_parameters() {
        let sql = claim_sql(DatabaseBackend::Postgres, false, 2);
        assert!(sql.contains("queue NOT IN ($4, $5)"), "{sql}");
        let sql = claim_sql(DatabaseBackend::Sqlite, false, 1);
        assert!(sql.contains("queue NOT IN (?4)"), "{sql}");
        assert!(!claim_sql(DatabaseBackend::Sqlite, false, 0).contains("queue"));
    }
}
