//! What Discord tells the product about a connected server: gone (the bot was removed), out
//! for an outage, or back.
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
};

use super::Health;
use crate::{
    entities::discord_connection,
    error::Result,
    routing::{self, cache::Key},
    services::Services,
    types::Snowflake,
};

/// GUILD_DELETE: `unavailable` is an outage (nothing is deleted; the connection is degraded);
/// without it the bot was removed from the server (the connection is disconnected).
pub async fn gone(app: &Services, guild_id: Snowflake, unavailable: bool) -> Result<()> {
    let Some(connection) = connection_of(app, guild_id).await? else {
        return Ok(());
    };
    if !unavailable && !connection.bot_invited {
        // The bot left on the company's own disconnect: nothing more to record.
        return Ok(());
    }
    let company_id = connection.company_id;
    let mut change = app.begin().await?;
    let mut active = connection.into_active_model();
    let (outcome, action) = if unavailable {
        active.health = Set(Health::Degraded);
        ("guild_unavailable", "discord.guild_unavailable")
    } else {
        active.health = Set(Health::Disconnected);
        active.bot_invited = Set(false);
        ("bot_removed", "discord.bot_removed")
    };
    active.updated_at = Set(Utc::now());
    active.update(&change).await?;
    change
        .audit(
            company_id,
            "discord",
            action,
            &format!("guild:{guild_id}"),
            serde_json::json!({}),
        )
        .await?;
    routing::record_platform_event(
        &change,
        Some(company_id),
        "GUILD_DELETE",
        Some(guild_id),
        None,
        outcome,
        serde_json::json!({ "unavailable": unavailable }),
    )
    .await?;
    change.invalidate(Key::Guild(guild_id));
    change.commit().await?;
    tracing::warn!(company.id = %company_id, guild_id = guild_id.get(), unavailable, "a Discord server went away");
    Ok(())
}

/// GUILD_CREATE after an outage: the connection is healthy again (or stays degraded when the
/// server is near Discord's channel limit).
pub async fn available(app: &Services, guild_id: Snowflake) -> Result<()> {
    let Some(connection) = connection_of(app, guild_id).await? else {
        return Ok(());
    };
    if !connection.bot_invited || connection.health == Health::Connected {
        return Ok(());
    }
    let near_limit = usize::try_from(connection.synced_channels_count)
        .is_ok_and(|n| n >= crate::channels::WARN_AT);
    if near_limit && connection.health == Health::Degraded {
        return Ok(());
    }
    let mut active = connection.into_active_model();
    active.health = Set(if near_limit {
        Health::Degraded
    } else {
        Health::Connected
    }
    .to_owned());
    active.updated_at = Set(Utc::now());
    let mut change = app.begin().await?;
    active.update(&change).await?;
    change.invalidate(Key::Guild(guild_id));
    change.commit().await
}

async fn connection_of(
    app: &Services,
    guild_id: Snowflake,
) -> Result<Option<discord_connection::Model>> {
    Ok(discord_connection::Entity::find()
        .filter(discord_connection::Column::GuildId.eq(guild_id))
        .one(&app.db)
        .await?)
}
