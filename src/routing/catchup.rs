//! Catch-up: after the gateway (re)connects, and periodically, every active lead channel is read
//! from its last seen message, and what the gateway missed goes through the same routing.
use chrono::Utc;
use futures::StreamExt;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Outcome, route};
use crate::{
    discord::DiscordError, entities::lead_channel, error::Result, services::Services, sync_logs,
};

/// Discord's largest page of messages.
const PAGE: u8 = 100;
/// Channels read at once; the REST client's rate limiter paces the calls.
const CONCURRENCY: usize = 4;

/// What one catch-up run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub sync_log_id: Uuid,
    pub channels: usize,
    /// Messages read from Discord.
    pub seen: usize,
    /// Messages stored by this run (the gateway had missed them).
    pub stored: usize,
    pub failed_channels: usize,
}

#[derive(Default)]
struct ChannelResult {
    seen: usize,
    stored: usize,
    error: Option<serde_json::Value>,
}

/// Reads every active lead channel in the guilds of `shard` (`(id, total)`; `None` for all).
pub async fn run(app: &Services, trigger: &str, shard: Option<(u64, u64)>) -> Result<Report> {
    let started = Utc::now();
    let log = sync_logs::start(
        &app.db,
        None,
        "messages",
        "incremental",
        serde_json::json!({ "task": "catch-up", "trigger": trigger, "shard": shard.map(|(id, total)| [id, total]) }),
    )
    .await?;
    let mut report = Report {
        sync_log_id: log.id,
        ..Report::default()
    };
    let mut errors = Vec::new();
    let mut after_id = Uuid::nil();
    loop {
        // Page through channels by id so a long run never holds one huge result.
        let channels: Vec<lead_channel::Model> = lead_channel::Entity::find()
            .filter(lead_channel::Column::IsActive.eq(true))
            .filter(lead_channel::Column::Id.gt(after_id))
            .order_by_asc(lead_channel::Column::Id)
            .limit(500)
            .all(&app.db)
            .await?;
        let Some(last) = channels.last() else { break };
        after_id = last.id;
        let mine: Vec<lead_channel::Model> = channels
            .into_iter()
            .filter(|c| {
                shard.is_none_or(|(id, total)| (c.guild_id.get() >> 22) % total.max(1) == id)
            })
            .collect();
        report.channels += mine.len();
        let results: Vec<ChannelResult> = futures::stream::iter(mine)
            .map(|channel| catch_up_channel(app, channel))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for result in results {
            report.seen += result.seen;
            report.stored += result.stored;
            if let Some(error) = result.error {
                report.failed_channels += 1;
                errors.push(error);
            }
        }
    }
    let counts = sync_logs::Counts {
        synced: report.seen,
        created: report.stored,
        failed: report.failed_channels,
        updated: 0,
    };
    sync_logs::finish(&app.db, log, started, &counts, errors).await?;
    if report.stored > 0 {
        tracing::info!(
            stored = report.stored,
            seen = report.seen,
            channels = report.channels,
            trigger,
            "catch-up stored missed messages"
        );
    }
    Ok(report)
}

async fn catch_up_channel(app: &Services, channel: lead_channel::Model) -> ChannelResult {
    let mut result = ChannelResult::default();
    let Some(rest) = &app.discord else {
        return result;
    };
    let (channel_id, guild_id) = (channel.channel_id, channel.guild_id);
    // Messages after the newest one seen; a channel never read starts at its own id (every
    // message in it is newer).
    let mut after = channel
        .last_message_id
        .and_then(|id| u64::try_from(id).ok())
        .unwrap_or(channel_id.get());
    loop {
        let mut page = match rest.messages_after(channel_id, after, PAGE).await {
            Ok(page) => page,
            Err(err) => {
                if let DiscordError::Api { status: 404, .. } = err {
                    // Deleted while the gateway was away: as CHANNEL_DELETE would have.
                    if let Err(err) = crate::channels::deleted_on_discord(app, channel_id).await {
                        tracing::warn!(error = %err, discord.channel_id = channel_id.get(), "archiving a deleted channel failed");
                    }
                }
                result.error = Some(serde_json::json!({
                    "channelId": channel.channel_id,
                    "error": err.to_string(),
                }));
                return result;
            }
        };
        // Discord answers newest first; route oldest first.
        page.sort_by_key(|m| m.message_id);
        let full = page.len() == usize::from(PAGE);
        for message in &page {
            result.seen += 1;
            after = after.max(message.message_id.get());
            // REST message objects carry no guild_id; the channel says which guild it is in.
            let mut inbound = message.clone();
            inbound.guild_id = Some(guild_id);
            match route(app, &inbound).await {
                Ok(Outcome::Stored(_)) => result.stored += 1,
                Ok(_) => {}
                Err(err) => {
                    result.error = Some(serde_json::json!({
                        "channelId": channel.channel_id,
                        "messageId": message.message_id.to_string(),
                        "error": err.detail,
                    }));
                    return result;
                }
            }
        }
        if !full {
            return result;
        }
    }
}
