//! Leaving cleanly: a deleted lead takes their data with them and loses their channel; a
//! disconnected Discord stops every delivery and the bot leaves the server.
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
};

use super::cleanup::{self, Cleanup};
use crate::ids::{CompanyId, LeadId};
use crate::{
    change::Change,
    entities::{event, pending_event},
    error::Result,
    events::EventBody,
    leads, messages,
    routing::cache::Key,
    services::Services,
    tenancy::Principal,
    types::Snowflake,
};

/// Deletes a lead and everything about them: their messages (a foreign key cascades), their
/// channel provisioning, their live events. Their channel stays as an archived record, stripped
/// of their name and Discord id, so routing rejects replies there (`channel_archived`); at
/// Discord their overwrite goes (they no longer see the channel) and the channel is renamed.
pub async fn delete_lead(app: &Services, principal: &Principal, lead_id: LeadId) -> Result<()> {
    let lead = leads::get(&app.db, principal.company_id, lead_id).await?;
    let mut change = app.begin().await?;
    let channel = super::get(&change, principal.company_id, lead_id).await?;
    let mut recorded = None;
    let mut job = None;
    if let Some(row) = channel {
        let discord_user_id = row.discord_user_id;
        let name = archived_name(&row.channel_name);
        let mut active = row.into_active_model();
        active.is_active = Set(false);
        active.discord_user_id = Set(None);
        active.discord_username = Set(None);
        active.channel_name = Set(name.clone());
        active.updated_at = Set(Utc::now());
        let row = active.update(&change).await?;
        job = Some(
            cleanup::enqueue(
                &change,
                principal.company_id,
                &Cleanup::CloseLeadChannel {
                    channel_id: row.channel_id,
                    discord_user_id,
                    channel_name: name,
                },
            )
            .await?,
        );
        recorded = Some((row.channel_id, row));
    }
    // Live events carry message bodies and the lead's details: they go with the lead.
    event::Entity::delete_many()
        .filter(event::Column::CompanyId.eq(principal.company_id))
        .filter(event::Column::LeadId.eq(lead_id))
        .exec(&change)
        .await?;
    pending_event::Entity::delete_many()
        .filter(pending_event::Column::CompanyId.eq(principal.company_id))
        .filter(pending_event::Column::LeadId.eq(lead_id))
        .exec(&change)
        .await?;
    leads::delete(&change, principal.company_id, lead_id).await?;
    change
        .audit(
            principal.company_id,
            &principal.actor(),
            "lead.deleted",
            &format!("lead:{lead_id}"),
            serde_json::json!({
                "channelId": recorded.as_ref().map(|(id, _)| *id),
                "hadDiscordUser": lead.discord_user_id.is_some(),
            }),
        )
        .await?;
    // The company's streams hear that the channel is archived; the lead's own stream is gone.
    if let Some((channel_id, row)) = recorded {
        change
            .event(principal.company_id, None, EventBody::channel_archived(row))
            .await?;
        change.invalidate(Key::Channel(channel_id));
    }
    change.commit().await?;
    tracing::info!(lead.id = %lead_id, actor = %principal.actor(), "lead deleted");
    if let Some(job) = job {
        cleanup::try_now(app, job.id).await;
    }
    Ok(())
}

/// `grace-hopper-07f3a9` becomes `archived-07f3a9`: the suffix stays (it is the lead id's, not
/// their name's), the name goes.
fn archived_name(name: &str) -> String {
    let suffix = name.rsplit('-').next().unwrap_or_default();
    if suffix.is_empty() || suffix == name {
        "archived-lead".to_owned()
    } else {
        format!("archived-{suffix}")
    }
}

/// After the company's Discord connection is unbound (in `change`): every undelivered message
/// ends `failed` with the reason, and the bot is set to leave the server. Returns the cleanup
/// job, to start once the change has committed.
pub async fn after_disconnect(
    change: &mut Change<'_>,
    company_id: CompanyId,
    guild_id: Option<Snowflake>,
) -> Result<Option<crate::entities::job::Model>> {
    let failed = messages::fail_undelivered(
        &*change,
        company_id,
        "discord_not_connected: Discord was disconnected before the message was delivered",
    )
    .await?;
    if let Some(failed) = failed {
        change.recorded(failed);
    }
    let job = match guild_id {
        Some(guild) => Some(
            cleanup::enqueue(
                &*change,
                company_id,
                &Cleanup::LeaveGuild { guild_id: guild },
            )
            .await?,
        ),
        None => None,
    };
    Ok(job)
}

/// Starts the cleanup a disconnect wrote, once its change committed.
pub async fn finish_disconnect(app: &Services, job: Option<crate::entities::job::Model>) {
    if let Some(job) = job {
        cleanup::try_now(app, job.id).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_archived_name_keeps_the_id_suffix_and_drops_the_lead_name() {
        assert_eq!(archived_name("grace-hopper-07f3a9"), "archived-07f3a9");
        assert_eq!(archived_name("lead"), "archived-lead");
    }
}
