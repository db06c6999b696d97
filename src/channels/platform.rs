//! What Discord tells the product about its lead channels (CHANNEL_DELETE, over the gateway or
//! found by catch-up).
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
};

use crate::{
    entities::lead_channel,
    error::Result,
    events::EventBody,
    routing::{self, cache::Key},
    services::Services,
    types::Snowflake,
};

/// A lead channel deleted on Discord becomes inactive; history stays.
pub async fn deleted_on_discord(app: &Services, channel_id: Snowflake) -> Result<()> {
    let Some(row) = lead_channel::Entity::find()
        .filter(lead_channel::Column::ChannelId.eq(channel_id))
        .one(&app.db)
        .await?
    else {
        return Ok(());
    };
    if !row.is_active {
        return Ok(());
    }
    let (company_id, lead_id) = (row.company_id, row.lead_id);
    let mut change = app.begin().await?;
    let mut active = row.into_active_model();
    active.is_active = Set(false);
    active.updated_at = Set(Utc::now());
    let row = active.update(&change).await?;
    change
        .audit(
            company_id,
            "discord",
            "channel.deleted",
            &format!("lead:{lead_id}"),
            serde_json::json!({ "channelId": row.channel_id, "guildId": row.guild_id }),
        )
        .await?;
    routing::record_platform_event(
        &change,
        Some(company_id),
        "CHANNEL_DELETE",
        Some(row.guild_id),
        Some(row.channel_id),
        "channel_archived",
        serde_json::json!({ "leadId": lead_id }),
    )
    .await?;
    change
        .event(
            company_id,
            Some(lead_id),
            EventBody::channel_archived(row.clone()),
        )
        .await?;
    change.invalidate(Key::Channel(row.channel_id));
    change.commit().await?;
    Ok(())
}
