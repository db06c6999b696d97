//! One private Discord channel per lead: planned against Discord's limits, created once even
//! under concurrent requests, and never left orphaned on Discord when saving it here fails.
pub mod cleanup;
mod leaving;
mod migrate;
mod platform;
pub mod provision;
pub mod view;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use crate::ids::{CompanyId, LeadId};
use crate::{
    discord::model::{
        ChannelKind, NewChannel, NewMessage, Overwrite, OverwriteTarget, Snowflake, permission,
    },
    discord::{DiscordError, DiscordRest},
    entities::{discord_category, discord_connection, lead, lead_channel},
    error::{Error, ErrorKind, Result},
    integrations::Health,
    pagination::{Cursor, Page},
    services::Services,
    tenancy::Principal,
};
use crate::{events::EventBody, routing::cache::Key};

pub use leaving::{after_disconnect, delete_lead, finish_disconnect};
pub use migrate::{Summary as MigrationSummary, migrate_dm_leads};
pub use platform::deleted_on_discord;
pub use provision::{Opened, Queued, open, provision_worker, queue, retry};
pub use view::{ChannelState, LeadChannelView};

/// Discord's limits (https://discord.com/developers/docs/resources/guild).
pub const MAX_CHANNELS_PER_GUILD: usize = 500;
pub const MAX_CHANNELS_PER_CATEGORY: u64 = 50;
/// At this share of the guild limit the connection shows a warning.
pub const WARN_AT: usize = MAX_CHANNELS_PER_GUILD * 8 / 10;

/// What the bot's own overwrite allows in a lead channel and a category: what it needs there
/// once @everyone is denied the view, and nothing more. Discord lets a bot allow only bits it
/// holds in the guild, and MANAGE_ROLES in a channel only for administrators (Create Guild
/// Channel, `resources/guild`); the bot keeps MANAGE_CHANNELS and MANAGE_ROLES from its role,
/// since no overwrite here denies them.
const BOT_PERMISSIONS: u64 = permission::VIEW_CHANNEL
    | permission::SEND_MESSAGES
    | permission::READ_MESSAGE_HISTORY
    | permission::EMBED_LINKS
    | permission::ATTACH_FILES;

/// What the lead may do in their channel.
pub const LEAD_PERMISSIONS: u64 = permission::VIEW_CHANNEL
    | permission::SEND_MESSAGES
    | permission::READ_MESSAGE_HISTORY
    | permission::EMBED_LINKS
    | permission::ATTACH_FILES;

/// @everyone may not see the channel; the bot may do what it needs there.
fn private_overwrites(guild: Snowflake, bot: Snowflake) -> Vec<Overwrite> {
    vec![
        Overwrite {
            target: OverwriteTarget::Role(guild),
            allow: 0,
            deny: permission::VIEW_CHANNEL,
        },
        Overwrite {
            target: OverwriteTarget::Member(bot),
            allow: BOT_PERMISSIONS,
            deny: 0,
        },
    ]
}

pub fn find_for(company_id: CompanyId) -> Select<lead_channel::Entity> {
    lead_channel::Entity::find().filter(lead_channel::Column::CompanyId.eq(company_id))
}

pub async fn get(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    lead_id: LeadId,
) -> Result<Option<lead_channel::Model>> {
    Ok(find_for(company_id)
        .filter(lead_channel::Column::LeadId.eq(lead_id))
        .one(db)
        .await?)
}

/// A lead's channel as the API shows it: the channel, or its provisioning.
pub enum View {
    Channel(lead_channel::Model),
    Provisioning(crate::entities::channel_provision::Model),
}

pub async fn view(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    lead_id: LeadId,
) -> Result<View> {
    crate::leads::get(db, company_id, lead_id).await?;
    if let Some(channel) = get(db, company_id, lead_id).await? {
        return Ok(View::Channel(channel));
    }
    provision::get_provision(db, company_id, lead_id)
        .await?
        .map(View::Provisioning)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                "channel_not_found",
                "This lead has no channel.",
            )
        })
}

pub async fn list(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    active: Option<bool>,
    limit: u64,
    cursor: Option<Cursor>,
) -> Result<Page<lead_channel::Model>> {
    // The archived records of deleted leads' channels are kept for routing, not listed.
    let live_leads = sea_orm::sea_query::Query::select()
        .column(lead::Column::Id)
        .from(lead::Entity)
        .and_where(lead::Column::CompanyId.eq(company_id))
        .to_owned();
    let mut query =
        find_for(company_id).filter(lead_channel::Column::LeadId.in_subquery(live_leads));
    if let Some(active) = active {
        query = query.filter(lead_channel::Column::IsActive.eq(active));
    }
    if let Some(cursor) = cursor {
        query = query.filter(lead_channel::Column::Id.lt(cursor.0));
    }
    let rows = query
        .order_by_desc(lead_channel::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    Ok(Page::from_rows(rows, limit, |c| c.id))
}

/// A readable, unique-enough channel name: the lead's name in Discord's charset plus a short
/// piece of the lead id, at most 100 characters (`grace-hopper-7f3a9c`).
pub fn channel_name(lead_name: &str, lead_id: LeadId) -> String {
    let mut slug = String::new();
    // Transliterated first, so "Émile" stays "emile" and "李雷" becomes "li-lei".
    for c in deunicode::deunicode(lead_name)
        .chars()
        .flat_map(char::to_lowercase)
    {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "lead" } else { slug };
    let suffix = &lead_id.0.simple().to_string()[26..];
    let room = 100 - suffix.len() - 1;
    let slug: String = slug.chars().take(room).collect();
    format!("{}-{suffix}", slug.trim_end_matches('-'))
}

pub fn discord_error(err: DiscordError) -> Error {
    match &err {
        DiscordError::Api { status: 403, .. } => Error::conflict(
            "discord_missing_permissions",
            "The bot lacks a permission it needs in the Discord server; reconnect Discord to grant it.",
        ),
        DiscordError::Api {
            status: 404,
            code: 10004,
            ..
        } => Error::conflict(
            "discord_not_connected",
            "The bot is no longer in the Discord server; reconnect Discord.",
        ),
        DiscordError::Api {
            status: 400,
            code,
            message,
        } => {
            tracing::error!(code, message, "Discord refused a request as invalid");
            Error::conflict(
                "discord_rejected",
                format!("Discord refused the request: {message}"),
            )
        }
        DiscordError::RateLimited { retry_after, .. } => Error::unavailable(
            "discord_unavailable",
            "Discord is rate limiting; try again shortly.",
        )
        .with_retry_after(retry_after.as_secs().max(1)),
        _ => {
            tracing::warn!(error = %err, "Discord call failed");
            Error::unavailable(
                "discord_unavailable",
                "Discord could not be reached; try again shortly.",
            )
            .with_retry_after(5)
        }
    }
}

/// Makes the lead's channel at Discord and records it. Runs inside the guild's creation queue
/// (one at a time per guild), so category planning sees every earlier creation.
async fn create(
    app: &Services,
    actor: &str,
    rest: &DiscordRest,
    lead: &lead::Model,
    connection: discord_connection::Model,
) -> Result<lead_channel::Model> {
    let guild = connection.guild_id;
    // Plan against the server's real channel count (it has channels of its own).
    let existing = rest
        .guild_channels(guild)
        .await
        .map_err(discord_error)?
        .len();
    if existing + 1 >= WARN_AT && connection.health == Health::Connected {
        // The warning shows on the connection as soon as the server nears the limit.
        let mut conn = connection.clone().into_active_model();
        conn.health = Set(Health::Degraded);
        conn.updated_at = Set(Utc::now());
        conn.update(&app.db).await?;
        tracing::warn!(
            discord.guild_id = guild.get(),
            channels = existing,
            "Discord server nearing its channel limit"
        );
    }
    if existing + 2 > MAX_CHANNELS_PER_GUILD {
        return Err(Error::conflict(
            "guild_channel_limit",
            format!(
                "The Discord server has {existing} of its {MAX_CHANNELS_PER_GUILD} channels; archive and delete some first."
            ),
        ));
    }
    let bot = rest.bot_user_id().await.map_err(discord_error)?;
    let category = category_with_room(app, rest, guild, bot).await?;
    let name = channel_name(&lead.name, lead.id);
    let topic: String = format!("Lead: {} · Switchboard", lead.name)
        .chars()
        .take(1024)
        .collect();
    let body = NewChannel {
        name: name.clone(),
        kind: ChannelKind::Text,
        topic: Some(topic),
        parent_id: Some(category),
        overwrites: private_overwrites(guild, bot),
    };
    let channel = rest
        .create_guild_channel(guild, &body)
        .await
        .map_err(discord_error)?;
    let channel_id = channel.id;

    // From here on the channel exists on Discord: any failure removes it again.
    match finish(
        app,
        actor,
        rest,
        lead,
        &connection,
        channel_id,
        &channel.name,
        category,
        existing + 1,
    )
    .await
    {
        Ok(row) => Ok(row),
        Err(err) => {
            if let Err(cleanup) = rest.delete_channel(channel_id).await {
                tracing::error!(discord.channel_id = channel_id.get(), error = %cleanup, "could not remove a channel after a failed save");
            }
            Err(err)
        }
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one step of `create`, kept apart for its cleanup"
)]
async fn finish(
    app: &Services,
    actor: &str,
    rest: &DiscordRest,
    lead: &lead::Model,
    connection: &discord_connection::Model,
    channel_id: Snowflake,
    channel_name: &str,
    category: Snowflake,
    guild_channels: usize,
) -> Result<lead_channel::Model> {
    let lead_user = lead.discord_user_id;
    let mut welcomed = false;
    // Catch-up reads the channel from here: everything after the welcome (or the channel's
    // creation) is the lead's conversation.
    let mut cursor = channel_id;
    if let Some(user) = lead_user {
        let lead = Overwrite {
            target: OverwriteTarget::Member(user),
            allow: LEAD_PERMISSIONS,
            deny: 0,
        };
        rest.put_overwrite(channel_id, lead)
            .await
            .map_err(discord_error)?;
        let welcome = NewMessage {
            content: format!("Welcome <@{user}>! This is your private channel with the team."),
            mention_users: vec![user],
            ..NewMessage::default()
        };
        match rest.create_message(channel_id, &welcome).await {
            Ok(message) => {
                welcomed = true;
                cursor = message.id;
            }
            // The channel is usable without it; the team can greet the lead themselves.
            Err(err) => {
                tracing::warn!(discord.channel_id = channel_id.get(), error = %err, "welcome message failed")
            }
        }
    }
    let now = Utc::now();
    let mut change = app.begin().await?;
    let row = lead_channel::ActiveModel {
        id: Set(Uuid::now_v7()),
        company_id: Set(lead.company_id),
        owner_user_id: Set(lead.owner_user_id),
        lead_id: Set(lead.id),
        guild_id: Set(connection.guild_id),
        channel_id: Set(channel_id),
        channel_name: Set(channel_name.chars().take(100).collect()),
        category_id: Set(Some(category)),
        discord_user_id: Set(lead.discord_user_id),
        discord_username: Set(lead.discord_username.clone()),
        channel_created_at: Set(now),
        last_message_at: Set(None),
        message_count: Set(0),
        is_active: Set(true),
        last_message_id: Set(i64::try_from(cursor.get()).ok()),
        updated_at: Set(now),
    };
    let row = lead_channel::Entity::insert(row)
        .exec_with_returning(&change)
        .await
        .map_err(|err| {
            if crate::error::is_unique_violation(&err) {
                Error::conflict("channel_exists", "The lead already has a channel.")
            } else {
                err.into()
            }
        })?;
    let mut lead_row = lead.clone().into_active_model();
    lead_row.discord_channel_id = Set(Some(channel_id));
    lead_row.discord_invite_sent = Set(welcomed);
    lead_row.updated_at = Set(now);
    lead_row.update(&change).await?;
    let mut conn = connection.clone().into_active_model();
    conn.synced_channels_count = Set(connection.synced_channels_count.saturating_add(1));
    if guild_channels >= WARN_AT {
        // Capacity warning, visible in the integration list.
        conn.health = Set(Health::Degraded);
    }
    conn.updated_at = Set(now);
    conn.update(&change).await?;
    change.audit(lead.company_id,
        actor,
        "channel.created",
        &format!("lead:{}", lead.id),
        serde_json::json!({ "channelId": channel_id.to_string(), "guildChannels": guild_channels }),
    )
    .await?;
    change
        .event(
            lead.company_id,
            Some(lead.id),
            EventBody::channel_created(row.clone()),
        )
        .await?;
    // A reply may already have been looked up (and not found) in this channel.
    change.invalidate(Key::Channel(row.channel_id));
    change.commit().await?;
    Ok(row)
}

/// The newest Switchboard category in the guild with room, or a new one.
async fn category_with_room(
    app: &Services,
    rest: &DiscordRest,
    guild: Snowflake,
    bot: Snowflake,
) -> Result<Snowflake> {
    let latest = discord_category::Entity::find()
        .filter(discord_category::Column::GuildId.eq(guild))
        .order_by_desc(discord_category::Column::Number)
        .one(&app.db)
        .await?;
    if let Some(latest) = &latest {
        let used = lead_channel::Entity::find()
            .filter(lead_channel::Column::CategoryId.eq(latest.category_id))
            .count(&app.db)
            .await?;
        if used < MAX_CHANNELS_PER_CATEGORY {
            return Ok(latest.category_id);
        }
    }
    let number = latest.map_or(1, |c| c.number + 1);
    let body = NewChannel {
        name: format!("Leads {number}"),
        kind: ChannelKind::Category,
        topic: None,
        parent_id: None,
        overwrites: private_overwrites(guild, bot),
    };
    let category = rest
        .create_guild_channel(guild, &body)
        .await
        .map_err(discord_error)?;
    let row = discord_category::ActiveModel {
        id: Set(Uuid::now_v7()),
        guild_id: Set(guild),
        category_id: Set(category.id),
        number: Set(number),
        created_at: Set(Utc::now()),
    };
    discord_category::Entity::insert(row)
        .exec_without_returning(&app.db)
        .await?;
    Ok(category.id)
}

/// Archives the channel: the lead can read the history but no longer write; nothing is deleted.
pub async fn archive(
    app: &Services,
    principal: &Principal,
    lead_id: LeadId,
) -> Result<lead_channel::Model> {
    let row = get(&app.db, principal.company_id, lead_id)
        .await?
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                "channel_not_found",
                "This lead has no channel.",
            )
        })?;
    if !row.is_active {
        return Ok(row);
    }
    if let (Some(rest), Some(user)) = (&app.discord, row.discord_user_id) {
        let channel = row.channel_id;
        let read_only = Overwrite {
            target: OverwriteTarget::Member(user),
            allow: permission::VIEW_CHANNEL | permission::READ_MESSAGE_HISTORY,
            deny: permission::SEND_MESSAGES,
        };
        let result = rest.put_overwrite(channel, read_only).await;
        // A channel already deleted on Discord is archived here all the same.
        if let Err(err) = result
            && !matches!(err, DiscordError::Api { status: 404, .. })
        {
            return Err(discord_error(err));
        }
    }
    let mut change = app.begin().await?;
    let mut active = row.into_active_model();
    active.is_active = Set(false);
    active.updated_at = Set(Utc::now());
    let row = active.update(&change).await?;
    change
        .audit(
            principal.company_id,
            &principal.actor(),
            "channel.archived",
            &format!("lead:{lead_id}"),
            serde_json::json!({ "channelId": row.channel_id }),
        )
        .await?;
    change
        .event(
            principal.company_id,
            Some(lead_id),
            EventBody::channel_archived(row.clone()),
        )
        .await?;
    change.invalidate(Key::Channel(row.channel_id));
    change.commit().await?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_are_discord_safe_and_unique_per_lead() {
        let id = LeadId(Uuid::parse_str("0195f1c2-0000-7000-8000-00000007f3a9").expect("uuid"));
        assert_eq!(channel_name("Grace Hopper", id), "grace-hopper-07f3a9");
        assert_eq!(
            channel_name("  Émile  O'Brien!! ", id),
            "emile-o-brien-07f3a9"
        );
        assert_eq!(channel_name("李雷", id), "li-lei-07f3a9");
        assert_eq!(
            channel_name("🙂", id).split('-').next_back(),
            Some("07f3a9")
        );
        let long = channel_name(&"x".repeat(300), id);
        assert!(long.len() <= 100 && long.ends_with("-07f3a9"));
        assert!(
            long.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }
}
