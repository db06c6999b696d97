//! Discord-side work that follows a change already committed here: the bot leaving a server
//! after a disconnect, and a deleted lead's channel closed to them. Each is an outbox job
//! written in the change's own transaction, tried at once, and retried by the worker until
//! Discord has done it, so a slow or failing Discord never undoes or loses the change.
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::CompanyId;
use crate::{
    discord::{DiscordError, model::Snowflake},
    entities::job,
    error::Result,
    jobs::{self, Failure},
    services::Services,
};

pub const KIND: jobs::JobKind = jobs::JobKind::DiscordCleanup;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Cleanup {
    /// Leave Guild: the company disconnected Discord.
    LeaveGuild {
        #[serde(rename = "guildId")]
        guild_id: Snowflake,
    },
    /// A deleted lead no longer sees their channel: their overwrite goes, and the channel's
    /// name and topic, which named them, are replaced.
    CloseLeadChannel {
        #[serde(rename = "channelId")]
        channel_id: Snowflake,
        #[serde(rename = "discordUserId")]
        discord_user_id: Option<Snowflake>,
        #[serde(rename = "channelName")]
        channel_name: String,
    },
}

/// Writes the cleanup job in the caller's transaction.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    cleanup: &Cleanup,
) -> Result<job::Model> {
    let payload = serde_json::to_value(cleanup).map_err(crate::error::Error::internal)?;
    jobs::enqueue(db, Some(company_id), KIND, payload).await
}

/// Tries a just-committed cleanup now; the worker retries it if this does not finish it.
pub async fn try_now(app: &Services, job_id: Uuid) {
    let lease = app.settings.discord_timeout * 2 + std::time::Duration::from_secs(10);
    match jobs::claim_for(&app.db, job_id, lease).await {
        Ok(Some(job)) => {
            if let Err(err) = run(app, job).await {
                tracing::warn!(job.id = %job_id, error = ?err, "Discord cleanup failed; the worker retries it");
            }
        }
        Ok(None) => {}
        Err(err) => {
            tracing::warn!(job.id = %job_id, error = ?err, "could not claim a Discord cleanup")
        }
    }
}

/// Runs one claimed cleanup job.
pub async fn run(app: &Services, job: job::Model) -> Result<()> {
    let cleanup: Cleanup = match serde_json::from_value(job.payload.clone()) {
        Ok(c) => c,
        Err(err) => {
            let reason = format!("unreadable cleanup: {err}");
            jobs::fail(&app.db, job, Failure::Permanent { reason }).await?;
            return Ok(());
        }
    };
    let Some(rest) = app.discord.clone() else {
        let reason = "Discord is not configured".to_owned();
        jobs::fail(&app.db, job, Failure::Permanent { reason }).await?;
        return Ok(());
    };
    let outcome = match &cleanup {
        Cleanup::LeaveGuild { guild_id } => rest.leave_guild(*guild_id).await,
        Cleanup::CloseLeadChannel {
            channel_id,
            discord_user_id,
            channel_name,
        } => close_lead_channel(&rest, *channel_id, *discord_user_id, channel_name).await,
    };
    match outcome {
        // Already done at Discord (the bot was gone, the channel deleted): nothing is left to do.
        Ok(()) | Err(DiscordError::Api { status: 404, .. }) => {
            jobs::complete(&app.db, job).await?;
            tracing::info!(cleanup = ?cleanup, "Discord cleanup done");
        }
        Err(err) => {
            let reason = err.to_string();
            let failure = if err.is_permanent() {
                Failure::Permanent { reason }
            } else {
                Failure::Retry {
                    reason,
                    not_before: err.retry_after(),
                }
            };
            jobs::fail(&app.db, job, failure).await?;
        }
    }
    Ok(())
}

async fn close_lead_channel(
    rest: &crate::discord::DiscordRest,
    channel_id: Snowflake,
    discord_user_id: Option<Snowflake>,
    channel_name: &str,
) -> std::result::Result<(), DiscordError> {
    if let Some(user) = discord_user_id {
        match rest.delete_overwrite(channel_id, user).await {
            Ok(()) | Err(DiscordError::Api { status: 404, .. }) => {}
            Err(err) => return Err(err),
        }
    }
    let body = crate::discord::model::ChannelEdit {
        name: Some(channel_name.to_owned()),
        topic: Some(String::new()),
    };
    rest.edit_channel(channel_id, &body).await.map(|_| ())
}

/// Runs due cleanups until the process stops.
pub async fn worker(app: Services) {
    let db = app.db.clone();
    // Two Discord calls at most, each within the call deadline.
    let lease = app.settings.discord_timeout * 2 + std::time::Duration::from_secs(10);
    jobs::work(
        db,
        KIND,
        lease,
        std::time::Duration::from_millis(500),
        |job| {
            let app = app.clone();
            async move { run(&app, job).await }
        },
    )
    .await;
}
