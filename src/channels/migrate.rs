//! Moving leads from direct messages to their own channels: every active lead with a Discord
//! user id and no channel gets one, through the same background queue as the API's (one
//! creation at a time per guild, at Discord's rate), resumably (a rerun skips the done). A
//! channel worker must run meanwhile: every `serve` process has one, and the CLI starts its own.
use std::time::Duration;

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::{
    get,
    provision::{self, Queued},
};
use crate::ids::CompanyId;
use crate::{
    entities::{discord_connection, lead},
    error::Result,
    leads::LeadStatus,
    services::Services,
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
    app: &Services,
    company: Option<CompanyId>,
    progress: impl Fn(usize, usize),
) -> Result<Summary> {
    // Companies whose Discord server is connected; the others have nowhere to put channels.
    let mut connected =
        discord_connection::Entity::find().filter(discord_connection::Column::BotInvited.eq(true));
    if let Some(company) = company {
        connected = connected.filter(discord_connection::Column::CompanyId.eq(company));
    }
    let companies: Vec<CompanyId> = connected
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
    let mut waiting = Vec::new();
    for lead in &leads {
        match provision::queue(app, &Principal::system(lead.company_id), lead.id).await {
            Ok(Queued::Exists(_)) => summary.existing += 1,
            Ok(Queued::Provisioning { .. }) => waiting.push(lead),
            Err(err) => {
                summary.failed += 1;
                tracing::warn!(lead.id = %lead.id, code = err.code, "could not queue a channel for a DM lead");
                errors.push(serde_json::json!({ "leadId": lead.id, "code": err.code, "detail": err.detail }));
            }
        }
    }
    let total = leads.len();
    progress(summary.existing + summary.failed, total);
    // The channels come in at Discord's pace; progress shows each as it lands.
    while !waiting.is_empty() {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let mut still = Vec::new();
        for lead in waiting {
            if get(&app.db, lead.company_id, lead.id).await?.is_some() {
                summary.created += 1;
                continue;
            }
            match provision::get_provision(&app.db, lead.company_id, lead.id).await? {
                Some(p) if p.state == provision::ProvisionState::Failed => {
                    summary.failed += 1;
                    errors.push(serde_json::json!({ "leadId": lead.id, "detail": p.last_error }));
                }
                Some(_) => still.push(lead),
                // Deleted meanwhile.
                None => summary.failed += 1,
            }
        }
        waiting = still;
        progress(summary.created + summary.existing + summary.failed, total);
    }

    let counts = sync_logs::Counts {
        synced: summary.created + summary.existing,
        created: summary.created,
        failed: summary.failed,
        updated: 0,
    };
    sync_logs::finish(&app.db, log, started, &counts, errors).await?;
    Ok(summary)
}
