//! Moving leads from direct messages to their own channels: every active lead with a Discord
//! user id and no channel gets one, at Discord's rate, resumably (a rerun skips the done).
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use super::open;
use crate::{
    app::AppState,
    entities::{discord_connection, lead, sync_log},
    error::Result,
    leads::LeadStatus,
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
    let log = sync_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        company_id: Set(company),
        resource_type: Set("lead_channels".into()),
        sync_type: Set("full".into()),
        started_at: Set(started),
        completed_at: Set(None),
        synced_until: Set(None),
        records_synced: Set(0),
        records_created: Set(0),
        records_updated: Set(0),
        records_failed: Set(0),
        errors: Set(serde_json::json!([])),
        metadata: Set(serde_json::json!({ "task": "migrate-dm-leads", "leads": leads.len() })),
    };
    let log = sync_log::Entity::insert(log)
        .exec_with_returning(&app.db)
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

    let mut log = log.into_active_model();
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    log.completed_at = Set(Some(Utc::now()));
    log.synced_until = Set(Some(started));
    log.records_synced = Set(count(summary.created + summary.existing));
    log.records_created = Set(count(summary.created));
    log.records_failed = Set(count(summary.failed));
    log.errors = Set(serde_json::Value::Array(errors));
    log.update(&app.db).await?;
    Ok(summary)
}
