//! Moving leads from direct messages to their own channels: every active lead with a Discord
//! user id and no channel gets one, at Discord's rate, resumably (a rerun skips the done).
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::open;
use crate::{
    app::AppState,
    entities::{discord_connection, lead},
    error::Result,
    leads::LeadStatus,
    sync_logs,
    tenancy::Principal,
};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub sync_log_id: Uuid,
    pub considered: usize,
    pub created: usize,
    /// Already had a channel (a resumed run).
    pub existing: usize,
    pub failed: usize,
}

/// Runs the migration for one company or all; `progress(done, total)` after each lead.
pub async fn migrate_dm_leads(
    app: &AppState,
    company: Option<Uuid>,
    progress: impl Fn(usize, usize),
) -> Result<Summary> {
    // Companies whose Discord server is connected; the others have nowhere to put channels.
    let mut connected =
        discord_connection::Entity::find().filter(discord_connection::Column::BotInvited.eq(true));
    if let Some(company) = company {
        connected = connected.filter(discord_connection::Column::CompanyId.eq(company));
    }
    let companies: Vec<Uuid> = connected
        .all(&app.db)
        .await?
        .into_iter()
        .map(|c| c.company_id)
        .collect();
    let leads = lead::Entity::find()
        .filter(lead::Column::CompanyId.is_in(companies))
        .filter(lead::Column::DiscordUserId.is_not_null())
        .filter(lead::Column::DiscordChannelId.is_null())
        .filter(lead::Column::Status.ne(LeadStatus::Closed.as_str()))
        .order_by_asc(lead::Column::Id)
        .all(&app.db)
        .await?;

    let started = Utc::now();
    let log = sync_logs::start(
        &app.db,
        company,
        "lead_channels",
        "full",
        serde_json::json!({ "task": "migrate-dm-leads", "leads": leads.len() }),
    )
    .await?;

    let mut summary = Summary {
        sync_log_id: log.id,
        considered: leads.len(),
        ..Summary::default()
    };
    let mut errors = Vec::new();
    for (done, lead) in leads.iter().enumerate() {
        // Discord's pace is kept by the client's rate limiter: creations queue per guild.
        match open(app, &Principal::system(lead.company_id), lead.id).await {
            Ok(opened) if opened.created => summary.created += 1,
            Ok(_) => summary.existing += 1,
            Err(err) => {
                summary.failed += 1;
                tracing::warn!(lead.id = %lead.id, code = err.code, "could not open a channel for a DM lead");
                errors.push(serde_json::json!({ "leadId": lead.id, "code": err.code, "detail": err.detail }));
            }
        }
        progress(done + 1, leads.len());
    }

    let counts = sync_logs::Counts {
        synced: summary.created + summary.existing,
        created: summary.created,
        failed: summary.failed,
    };
    sync_logs::finish(&app.db, log, started, &counts, errors).await?;
    Ok(summary)
}
