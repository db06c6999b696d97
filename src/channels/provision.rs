//! Lead channels made in the background. A request records the lead's provisioning and its
//! job in one transaction (one provisioning per lead, whatever the concurrency, across
//! replicas), then waits briefly for the channel. Workers run the jobs one at a time per guild
//! (the guild's queue; a state-store lock across replicas), at Discord's pace, so any number of
//! requests end in channels and none of them in a timeout.
use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, sea_query::OnConflict,
};
use uuid::Uuid;

use super::{create, get};
use crate::ids::{CompanyId, LeadId};
use crate::{
    entities::{channel_provision, discord_connection, job, lead, lead_channel},
    error::{Error, ErrorKind, Result},
    integrations::store,
    jobs::{self, Failure},
    leads,
    services::Services,
    tenancy::Principal,
    types::Snowflake,
};

pub const KIND: jobs::JobKind = jobs::JobKind::CreateLeadChannel;
/// How long a request waits for its channel before answering 202.
const OPEN_WAIT: Duration = Duration::from_secs(5);
/// One creation holds its guild's lock at most this long (a worker that died frees it).
const GUILD_LOCK_TTL: Duration = Duration::from_secs(120);
/// Creations running at once in one process, over different guilds.
const PARALLEL_GUILDS: usize = 8;

pub use crate::entities::channel_provision::ProvisionState;

/// What opening a lead's channel came to.
pub enum Opened {
    /// The lead already had it (or another request made it meanwhile).
    Existing(lead_channel::Model),
    /// This request's provisioning finished within the wait.
    Created(lead_channel::Model),
    /// Still being made (or failed): the provisioning record says which.
    Pending(channel_provision::Model),
}

pub fn find_for(company_id: CompanyId) -> sea_orm::Select<channel_provision::Entity> {
    channel_provision::Entity::find().filter(channel_provision::Column::CompanyId.eq(company_id))
}

pub async fn get_provision(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    lead_id: LeadId,
) -> Result<Option<channel_provision::Model>> {
    Ok(find_for(company_id)
        .filter(channel_provision::Column::LeadId.eq(lead_id))
        .one(db)
        .await?)
}

fn not_connected() -> Error {
    Error::conflict(
        "discord_not_connected",
        "Connect the company's Discord server first.",
    )
}

/// Opens the lead's channel: the one it has, or a new one made in the background.
pub async fn open(app: &Services, principal: &Principal, lead_id: LeadId) -> Result<Opened> {
    match queue(app, principal, lead_id).await? {
        Queued::Exists(channel) => Ok(Opened::Existing(*channel)),
        Queued::Provisioning { mine } => wait(app, principal.company_id, lead_id, mine).await,
    }
}

/// Where a lead's channel stands once asked for.
pub enum Queued {
    Exists(Box<lead_channel::Model>),
    /// `mine`: this call queued it (rather than finding it queued).
    Provisioning {
        mine: bool,
    },
}

/// Asks for the lead's channel without waiting for it.
pub async fn queue(app: &Services, principal: &Principal, lead_id: LeadId) -> Result<Queued> {
    let lead = leads::get(&app.db, principal.company_id, lead_id).await?;
    if let Some(channel) = get(&app.db, principal.company_id, lead_id).await? {
        return Ok(Queued::Exists(Box::new(channel)));
    }
    let connection = connected(app, principal.company_id).await?;
    request(app, principal, &lead, &connection).await
}

/// Tries a failed provisioning again.
pub async fn retry(app: &Services, principal: &Principal, lead_id: LeadId) -> Result<Opened> {
    let lead = leads::get(&app.db, principal.company_id, lead_id).await?;
    if let Some(channel) = get(&app.db, principal.company_id, lead_id).await? {
        return Ok(Opened::Existing(channel));
    }
    let current = get_provision(&app.db, principal.company_id, lead_id)
        .await?
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                "channel_not_found",
                "This lead has no channel; open one with POST /api/discord/channels.",
            )
        })?;
    if current.state != ProvisionState::Failed {
        return Err(Error::conflict(
            "channel_not_failed",
            "The channel is still being made; only a failed one can be retried.",
        ));
    }
    let connection = connected(app, principal.company_id).await?;
    match request(app, principal, &lead, &connection).await? {
        Queued::Exists(channel) => Ok(Opened::Existing(*channel)),
        Queued::Provisioning { mine } => wait(app, principal.company_id, lead_id, mine).await,
    }
}

async fn connected(app: &Services, company_id: CompanyId) -> Result<discord_connection::Model> {
    if app.discord.is_none() {
        return Err(Error::conflict(
            "discord_not_connected",
            "Discord is not configured on this server.",
        ));
    }
    store::connection_for(&app.db, company_id)
        .await?
        .filter(|c| c.bot_invited)
        .ok_or_else(not_connected)
}

/// Records the provisioning and its job, unless the lead already has one in progress. A failed
/// one is queued again (a new open asks for the channel again). `mine`: this call queued it.
async fn request(
    app: &Services,
    principal: &Principal,
    lead: &lead::Model,
    connection: &discord_connection::Model,
) -> Result<Queued> {
    let change = app.begin().await?;
    let existing = get_provision(&change, lead.company_id, lead.id).await?;
    // Read after the provisioning: a finished one is deleted only after its channel committed,
    // so no provisioning here and no channel means nobody has made it.
    if existing.is_none()
        && let Some(channel) = get(&change, lead.company_id, lead.id).await?
    {
        return Ok(Queued::Exists(Box::new(channel)));
    }
    let now = Utc::now();
    let row = match existing {
        Some(p) if p.state == ProvisionState::Failed => {
            let job = enqueue(&change, lead, connection.guild_id).await?;
            let mut active = p.into_active_model();
            active.state = Set(ProvisionState::Provisioning);
            active.last_error = Set(None);
            active.job_id = Set(Some(job.id));
            active.guild_id = Set(connection.guild_id);
            active.updated_at = Set(now);
            (active.update(&change).await?, true)
        }
        Some(p) => (p, false),
        None => {
            let id = Uuid::now_v7();
            let inserted = channel_provision::Entity::insert(channel_provision::ActiveModel {
                id: Set(id),
                company_id: Set(lead.company_id),
                lead_id: Set(lead.id),
                guild_id: Set(connection.guild_id),
                state: Set(ProvisionState::Provisioning),
                last_error: Set(None),
                job_id: Set(None),
                requested_by: Set(principal.actor()),
                created_at: Set(now),
                updated_at: Set(now),
            })
            // Another replica's request got there first: theirs is the one.
            .on_conflict(
                OnConflict::column(channel_provision::Column::LeadId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&change)
            .await?;
            if inserted == 1 {
                let job = enqueue(&change, lead, connection.guild_id).await?;
                let row = channel_provision::Entity::find_by_id(id)
                    .one(&change)
                    .await?
                    .ok_or_else(|| Error::internal(anyhow::anyhow!("provision vanished")))?;
                let mut active = row.into_active_model();
                active.job_id = Set(Some(job.id));
                (active.update(&change).await?, true)
            } else {
                let theirs = get_provision(&change, lead.company_id, lead.id)
                    .await?
                    .ok_or_else(|| Error::internal(anyhow::anyhow!("provision vanished")))?;
                (theirs, false)
            }
        }
    };
    change.commit().await?;
    if row.1 {
        tracing::info!(lead.id = %lead.id, discord.guild_id = %connection.guild_id, "lead channel queued");
        app.channel_work.notify_one();
    }
    Ok(Queued::Provisioning { mine: row.1 })
}

async fn enqueue(
    db: &impl ConnectionTrait,
    lead: &lead::Model,
    guild: Snowflake,
) -> Result<job::Model> {
    jobs::enqueue_in(
        db,
        Some(lead.company_id),
        KIND,
        serde_json::json!({ "leadId": lead.id }),
        &format!("guild:{guild}"),
    )
    .await
}

/// Waits up to [`OPEN_WAIT`] for the channel; answers what there is then.
async fn wait(
    app: &Services,
    company_id: CompanyId,
    lead_id: LeadId,
    mine: bool,
) -> Result<Opened> {
    let deadline = tokio::time::Instant::now() + OPEN_WAIT;
    loop {
        if let Some(channel) = get(&app.db, company_id, lead_id).await? {
            return Ok(if mine {
                Opened::Created(channel)
            } else {
                Opened::Existing(channel)
            });
        }
        match get_provision(&app.db, company_id, lead_id).await? {
            Some(p)
                if p.state == ProvisionState::Failed || tokio::time::Instant::now() >= deadline =>
            {
                return Ok(Opened::Pending(p));
            }
            Some(_) => {}
            // The provisioning went between the two reads: the channel is there now, or the
            // lead was deleted meanwhile.
            None => {
                return match get(&app.db, company_id, lead_id).await? {
                    Some(channel) if mine => Ok(Opened::Created(channel)),
                    Some(channel) => Ok(Opened::Existing(channel)),
                    None => Err(Error::not_found("lead")),
                };
            }
        }
        // Many requests may be waiting at once (an import): poll gently.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A dead creation job runs again: its provisioning is back to `provisioning` (in the caller's
/// transaction).
pub async fn requeue_for_job(db: &impl ConnectionTrait, job: &job::Model) -> Result<()> {
    if let Some(lead_id) = lead_of(job)
        && let Some(company_id) = job.company_id
        && let Some(p) = get_provision(db, company_id, lead_id).await?
    {
        let mut active = p.into_active_model();
        active.state = Set(ProvisionState::Provisioning);
        active.last_error = Set(None);
        active.job_id = Set(Some(job.id));
        active.updated_at = Set(Utc::now());
        active.update(db).await?;
    }
    Ok(())
}

fn lead_of(job: &job::Model) -> Option<LeadId> {
    job.payload
        .get("leadId")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse().ok())
}

/// Runs one claimed creation job.
pub async fn run(app: &Services, job: job::Model) -> Result<()> {
    let (Some(lead_id), Some(company_id)) = (lead_of(&job), job.company_id) else {
        let reason = "unreadable channel job".to_owned();
        jobs::fail(&app.db, job, Failure::Permanent { reason }).await?;
        return Ok(());
    };
    let Some(provision) = get_provision(&app.db, company_id, lead_id).await? else {
        // The lead was deleted (and the provisioning with them), or the channel is made.
        jobs::complete(&app.db, job).await?;
        return Ok(());
    };
    if get(&app.db, company_id, lead_id).await?.is_some() {
        done(app, job, &provision).await?;
        return Ok(());
    }
    let lead = match leads::get(&app.db, company_id, lead_id).await {
        Ok(lead) => lead,
        Err(err) if err.kind == ErrorKind::NotFound => {
            jobs::complete(&app.db, job).await?;
            return Ok(());
        }
        Err(err) => return Err(err),
    };
    let (Some(rest), Some(connection)) = (
        app.discord.clone(),
        store::connection_for(&app.db, company_id)
            .await?
            .filter(|c| c.bot_invited),
    ) else {
        let reason = "discord_not_connected: the company's Discord server is not connected";
        return give_up(app, job, provision, reason).await;
    };
    // One creation at a time per guild, across replicas.
    let lock = format!("guild_channels_lock:{}", connection.guild_id);
    if !app.state.put_if_absent(&lock, b"1", GUILD_LOCK_TTL).await? {
        jobs::release(&app.db, job, Duration::from_millis(500)).await?;
        return Ok(());
    }
    let created = create(app, &provision.requested_by, &rest, &lead, connection).await;
    if let Err(err) = app.state.delete(&lock).await {
        tracing::warn!(error = %err, "could not release a guild's channel lock; it expires");
    }
    match created {
        Ok(_) => done(app, job, &provision).await,
        Err(err) if err.kind == ErrorKind::Unavailable => {
            let reason = format!("{}: {}", err.code, err.detail);
            let not_before = err.retry_after.map(Duration::from_secs);
            let job = jobs::fail(
                &app.db,
                job,
                Failure::Retry {
                    reason: reason.clone(),
                    not_before,
                },
            )
            .await?;
            if job.state == jobs::JobState::Dead {
                mark_failed(&app.db, provision, &reason).await?;
            }
            Ok(())
        }
        Err(err) => {
            let reason = format!("{}: {}", err.code, err.detail);
            give_up(app, job, provision, &reason).await
        }
    }
}

async fn done(app: &Services, job: job::Model, provision: &channel_provision::Model) -> Result<()> {
    let change = app.begin().await?;
    channel_provision::Entity::delete_by_id(provision.id)
        .exec(&change)
        .await?;
    jobs::complete(&change, job).await?;
    change.commit().await?;
    Ok(())
}

async fn give_up(
    app: &Services,
    job: job::Model,
    provision: channel_provision::Model,
    reason: &str,
) -> Result<()> {
    tracing::warn!(lead.id = %provision.lead_id, reason, "lead channel failed");
    let change = app.begin().await?;
    jobs::fail(
        &change,
        job,
        Failure::Permanent {
            reason: reason.to_owned(),
        },
    )
    .await?;
    mark_failed(&change, provision, reason).await?;
    change.commit().await?;
    Ok(())
}

async fn mark_failed(
    db: &impl ConnectionTrait,
    provision: channel_provision::Model,
    reason: &str,
) -> Result<()> {
    let mut active = provision.into_active_model();
    active.state = Set(ProvisionState::Failed);
    active.last_error = Set(Some(reason.chars().take(500).collect()));
    active.updated_at = Set(Utc::now());
    active.update(db).await?;
    Ok(())
}

/// Runs creation jobs until the process stops: several guilds at once, one job at a time per
/// guild (a guild another replica is busy with is given back and tried shortly after).
pub async fn provision_worker(app: Services) {
    let busy: Arc<Mutex<HashSet<String>>> = Arc::default();
    let slots = Arc::new(tokio::sync::Semaphore::new(PARALLEL_GUILDS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let skip: Vec<String> = busy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        match jobs::claim_next_outside(&app.db, KIND, &skip).await {
            Ok(Some(job)) => {
                let queue = job.queue.clone().unwrap_or_default();
                busy.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(queue.clone());
                let (app, busy) = (app.clone(), busy.clone());
                tokio::spawn(async move {
                    let id = job.id;
                    if let Err(err) = run(&app, job).await {
                        tracing::error!(job.id = %id, error = ?err, "channel job failed to run");
                    }
                    busy.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&queue);
                    drop(slot);
                    // The guild's next creation may start now.
                    app.channel_work.notify_one();
                });
            }
            Ok(None) => {
                drop(slot);
                tokio::select! {
                    () = app.channel_work.notified() => {}
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
            Err(err) => {
                drop(slot);
                tracing::warn!(error = ?err, "could not claim a channel job");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
