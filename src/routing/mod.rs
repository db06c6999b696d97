//! Inbound routing: a Discord message → exactly one company and one lead, or a recorded reason
//! why not.
//!
//! [`decide`] is the whole decision, a pure function of the message and the facts looked up for
//! it (the guild's connection, the channel's lead channel, the leads a direct message could
//! belong to). [`route`] gathers those facts (cached, with invalidation across replicas),
//! decides, and applies the decision: the message, the channel's and lead's stats, the routing
//! event and the live event are written in one transaction, and a Discord message id already
//! stored is not stored again.
mod apply;
pub mod cache;
pub mod catchup;
pub mod commit;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

pub use self::cache::Cache;
use crate::ids::{CompanyId, LeadId};
use crate::types::Snowflake;
use crate::{
    entities::{lead, message, routing_event},
    error::Result,
    messages,
    services::Services,
};

pub use crate::discord::{Inbound, Source};

/// A guild's connection, as routing needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub company_id: CompanyId,
    pub bot_invited: bool,
}

/// A lead channel, as routing needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    pub company_id: CompanyId,
    pub lead_id: LeadId,
    pub guild_id: Snowflake,
    pub is_active: bool,
}

/// A lead a direct message could come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmLead {
    pub company_id: CompanyId,
    pub lead_id: LeadId,
}

/// Everything [`decide`] knows besides the message.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// The bot's own user id, when Discord told it.
    pub bot_user_id: Option<Snowflake>,
    /// The connection of the message's guild, if any company has connected it.
    pub connection: Option<Connection>,
    /// The lead channel with the message's channel id, if any.
    pub channel: Option<Channel>,
    /// For direct messages: the active leads (across all companies) with the author's Discord
    /// user id.
    pub dm_leads: Vec<DmLead>,
    /// The message carries the nonce of a message Switchboard sent.
    pub outbound_nonce: bool,
}

/// Why a message was not routed. The string forms are stable: they are stored and filtered on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    OwnBot,
    Webhook,
    OutboundNonce,
    SystemMessage,
    BotAuthor,
    UnknownGuild,
    GuildDisconnected,
    UnknownChannel,
    TenantMismatch,
    GuildMismatch,
    ChannelArchived,
    DmNoLead,
    DmAmbiguous,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OwnBot => "own_bot",
            Self::Webhook => "webhook",
            Self::OutboundNonce => "outbound_nonce",
            Self::SystemMessage => "system_message",
            Self::BotAuthor => "bot_author",
            Self::UnknownGuild => "unknown_guild",
            Self::GuildDisconnected => "guild_disconnected",
            Self::UnknownChannel => "unknown_channel",
            Self::TenantMismatch => "tenant_mismatch",
            Self::GuildMismatch => "guild_mismatch",
            Self::ChannelArchived => "channel_archived",
            Self::DmNoLead => "dm_no_lead",
            Self::DmAmbiguous => "dm_ambiguous",
        }
    }
}

pub use crate::entities::routing_event::{RoutingDecision, RoutingSource};

impl From<Source> for RoutingSource {
    fn from(source: Source) -> Self {
        match source {
            Source::Gateway => Self::Gateway,
            Source::Catchup => Self::Catchup,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Routed {
        company_id: CompanyId,
        lead_id: LeadId,
    },
    /// Not ours to store (our own echoes, system messages): expected, not a problem.
    Ignored {
        company_id: Option<CompanyId>,
        reason: Reason,
    },
    /// A message that could not be placed: worth an admin's look.
    Rejected {
        company_id: Option<CompanyId>,
        reason: Reason,
    },
}

impl Decision {
    pub fn kind(&self) -> RoutingDecision {
        match self {
            Self::Routed { .. } => RoutingDecision::Routed,
            Self::Ignored { .. } => RoutingDecision::Ignored,
            Self::Rejected { .. } => RoutingDecision::Rejected,
        }
    }

    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }

    pub fn reason(&self) -> Option<Reason> {
        match self {
            Self::Routed { .. } => None,
            Self::Ignored { reason, .. } | Self::Rejected { reason, .. } => Some(*reason),
        }
    }

    pub fn company_id(&self) -> Option<CompanyId> {
        match self {
            Self::Routed { company_id, .. } => Some(*company_id),
            Self::Ignored { company_id, .. } | Self::Rejected { company_id, .. } => *company_id,
        }
    }
}

/// The routing decision: guild → company → channel → lead, both companies matching.
pub fn decide(message: &Inbound, facts: &Facts) -> Decision {
    let company = facts.connection.as_ref().map(|c| c.company_id);
    let ignore = |reason| Decision::Ignored {
        company_id: company,
        reason,
    };
    let reject = |reason| Decision::Rejected {
        company_id: company,
        reason,
    };
    if Some(message.author_id) == facts.bot_user_id {
        return ignore(Reason::OwnBot);
    }
    if message.webhook_id.is_some() {
        return ignore(Reason::Webhook);
    }
    if facts.outbound_nonce {
        return ignore(Reason::OutboundNonce);
    }
    if !matches!(message.kind, 0 | 19) {
        return ignore(Reason::SystemMessage);
    }
    if message.author_bot {
        return ignore(Reason::BotAuthor);
    }
    let Some(guild_id) = message.guild_id else {
        // The legacy path: a direct message belongs to a lead only when exactly one active
        // lead, in all companies, has the author's Discord user id.
        return match facts.dm_leads.as_slice() {
            [] => reject(Reason::DmNoLead),
            [only] => Decision::Routed {
                company_id: only.company_id,
                lead_id: only.lead_id,
            },
            _ => reject(Reason::DmAmbiguous),
        };
    };
    let Some(connection) = &facts.connection else {
        return reject(Reason::UnknownGuild);
    };
    if !connection.bot_invited {
        return reject(Reason::GuildDisconnected);
    }
    let Some(channel) = &facts.channel else {
        return reject(Reason::UnknownChannel);
    };
    if channel.company_id != connection.company_id {
        return reject(Reason::TenantMismatch);
    }
    if channel.guild_id != guild_id {
        return reject(Reason::GuildMismatch);
    }
    if !channel.is_active {
        return reject(Reason::ChannelArchived);
    }
    Decision::Routed {
        company_id: connection.company_id,
        lead_id: channel.lead_id,
    }
}

/// What became of one inbound message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Stored(Uuid),
    /// Already stored (seen by the gateway and by catch-up, say).
    Duplicate,
    NotRouted(Decision),
}

/// Looks up the facts, decides and applies the decision. Concurrent calls share their
/// transactions ([`commit::GroupCommit`]); each still gets its own outcome.
pub async fn route(app: &Services, message: &Inbound) -> Result<Outcome> {
    let facts = gather(app, message).await?;
    let decision = decide(message, &facts);
    app.routing.count(&decision);
    let path = path_for(message, &facts, decision.company_id());
    // Every message seen in a lead channel moves its catch-up cursor, routed or not.
    let cursor = facts
        .channel
        .as_ref()
        .is_some_and(|channel| message.guild_id.is_some_and(|g| channel.guild_id == g));
    let services = app.clone();
    let apply_batch: commit::ApplyBatch = std::sync::Arc::new(move |batch| {
        let services = services.clone();
        Box::pin(async move { apply_batch(&services, &batch).await })
    });
    // Queued by the lead whose rows the message touches: a reply and the bot's echo in one
    // channel go to the same queue.
    let queue_key = match (&decision, &facts.channel) {
        (Decision::Routed { lead_id, .. }, _) => lead_id.to_string(),
        (_, Some(channel)) => channel.lead_id.to_string(),
        (_, None) => message.channel_id.to_string(),
    };
    let prepared = commit::Prepared {
        queue_key,
        message: message.clone(),
        decision,
        path,
        cursor,
    };
    let outcome = app.inbound.apply(prepared, apply_batch).await?;
    match &outcome {
        Outcome::NotRouted(Decision::Rejected { reason, .. }) => tracing::info!(
            discord.message_id = message.message_id.get(),
            discord.channel_id = message.channel_id.get(),
            reason = reason.as_str(),
            source = message.source.as_str(),
            "inbound message rejected"
        ),
        Outcome::Stored(id) => tracing::debug!(
            message.id = %id,
            discord.message_id = message.message_id.get(),
            source = message.source.as_str(),
            "inbound message stored"
        ),
        _ => {}
    }
    Ok(outcome)
}

/// Applies the messages in order in one transaction, recording each company's live events
/// in one insert, and commits.
async fn apply_batch(
    app: &Services,
    batch: &[std::sync::Arc<commit::Prepared>],
) -> Result<Vec<Outcome>> {
    let mut change = app.begin().await?;
    let written = apply::apply_all(&change, batch).await?;
    for (company_id, bodies) in written.events {
        change.events(company_id, bodies).await?;
    }
    change.commit_in_background().await?;
    Ok(written.outcomes)
}

/// A stored path as its company may see it: ids of other companies (in events recorded before
/// paths were written this way) are taken out.
pub fn own_facts(mut path: serde_json::Value, owner: Option<CompanyId>) -> serde_json::Value {
    let owner = owner.map(|o| o.to_string());
    let foreign = |v: &serde_json::Value| v.as_str().is_some_and(|id| Some(id) != owner.as_deref());
    if let Some(fields) = path.as_object_mut() {
        if fields.get("connectionCompanyId").is_some_and(foreign) {
            fields.insert("connectionCompanyId".into(), serde_json::Value::Null);
        }
        if fields.get("channelCompanyId").is_some_and(foreign) {
            fields.insert("channelCompanyId".into(), serde_json::Value::Null);
            fields.insert("leadId".into(), serde_json::Value::Null);
            fields.insert("channelOwner".into(), json!("another_company"));
        }
    }
    path
}

/// The lookups behind a decision, as the company the event belongs to (`owner`) may see them:
/// its own ids, and of another company's channel only that it is another company's.
fn path_for(message: &Inbound, facts: &Facts, owner: Option<CompanyId>) -> serde_json::Value {
    let own = |company: CompanyId| owner == Some(company);
    let connection = facts.connection.as_ref().map(|c| c.company_id);
    let channel = facts.channel.as_ref();
    let channel_owner = match channel {
        None => "none",
        Some(c) if own(c.company_id) => "this_company",
        Some(_) => "another_company",
    };
    json!({
        "guildId": message.guild_id.map(|g| g.to_string()),
        "connectionCompanyId": connection.filter(|c| own(*c)),
        "channelId": message.channel_id.to_string(),
        "channelOwner": channel_owner,
        "channelCompanyId": channel.map(|c| c.company_id).filter(|c| own(*c)),
        "leadId": channel.filter(|c| own(c.company_id)).map(|c| c.lead_id),
        "directMessage": message.guild_id.is_none(),
        "dmCandidates": facts.dm_leads.len(),
    })
}

async fn gather(app: &Services, message: &Inbound) -> Result<Facts> {
    let bot_user_id = match &app.discord {
        Some(rest) => rest.bot_user_id().await.ok(),
        None => None,
    };
    let connection = match message.guild_id {
        Some(guild) => app.routing.connection(&app.db, guild).await?,
        None => None,
    };
    let channel = app.routing.channel(&app.db, message.channel_id).await?;
    let dm_leads = if message.guild_id.is_none() && Some(message.author_id) != bot_user_id {
        dm_candidates(&app.db, message.author_id).await?
    } else {
        Vec::new()
    };
    let outbound_nonce = match (&message.nonce, &channel) {
        (Some(nonce), Some(channel)) => is_outbound_nonce(&app.db, channel.lead_id, nonce).await?,
        _ => false,
    };
    Ok(Facts {
        bot_user_id,
        connection,
        channel,
        dm_leads,
        outbound_nonce,
    })
}

/// Active leads with this Discord user id, in every company.
async fn dm_candidates(db: &impl ConnectionTrait, author_id: Snowflake) -> Result<Vec<DmLead>> {
    let rows: Vec<(CompanyId, LeadId)> = lead::Entity::find()
        .select_only()
        .column(lead::Column::CompanyId)
        .column(lead::Column::Id)
        .filter(lead::Column::DiscordUserId.eq(author_id))
        .filter(lead::Column::Status.eq(crate::leads::LeadStatus::Open.as_str()))
        .limit(2)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(company_id, lead_id)| DmLead {
            company_id,
            lead_id,
        })
        .collect())
}

/// Switchboard's nonces are 25 characters derived from the outbound message's id; a message
/// carrying one was sent by Switchboard, whoever Discord shows as its author.
async fn is_outbound_nonce(
    db: &impl ConnectionTrait,
    lead_id: LeadId,
    nonce: &str,
) -> Result<bool> {
    if nonce.len() != 25 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(false);
    }
    let recent: Vec<Uuid> = message::Entity::find()
        .select_only()
        .column(message::Column::Id)
        .filter(message::Column::LeadId.eq(lead_id))
        .filter(message::Column::Direction.eq(message::Direction::Outbound))
        .filter(message::Column::CreatedAt.gt(Utc::now() - chrono::Duration::days(1)))
        .into_tuple()
        .all(db)
        .await?;
    Ok(recent.into_iter().any(|id| messages::nonce_of(id) == nonce))
}

/// The `messages` row an inbound message is stored as.
pub fn stored_row(
    message: &Inbound,
    company_id: CompanyId,
    lead_id: LeadId,
    now: DateTime<Utc>,
) -> message::Model {
    let direct = message.guild_id.is_none();
    message::Model {
        id: Uuid::now_v7(),
        company_id,
        lead_id,
        // A direct message has no guild; its channel is the DM channel.
        guild_id: message.guild_id.map(|g| g.to_string()).unwrap_or_default(),
        channel_id: message.channel_id,
        direction: message::Direction::Inbound,
        author_meta_id: format!("discord:{}", message.author_id),
        author_name: message.author_name.clone(),
        content: message.content.clone(),
        state: message::MessageState::Received,
        discord_message_id: Some(message.message_id),
        idempotency_key: None,
        request_hash: None,
        origin: if direct { "discord_dm" } else { "discord" }.to_owned(),
        failure_reason: None,
        created_at: message.created_at(),
        updated_at: now,
        sent_at: None,
    }
}

/// Records a platform event that is not a message (a deleted channel, a guild outage).
pub async fn record_platform_event(
    db: &impl ConnectionTrait,
    company_id: Option<CompanyId>,
    event_type: &str,
    guild_id: Option<Snowflake>,
    channel_id: Option<Snowflake>,
    outcome: &str,
    path: serde_json::Value,
) -> Result<()> {
    let row = routing_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        company_id: Set(company_id),
        event_type: Set(event_type.to_owned()),
        source: Set(RoutingSource::Gateway),
        guild_id: Set(guild_id),
        channel_id: Set(channel_id),
        discord_message_id: Set(None),
        author_id: Set(None),
        lead_id: Set(None),
        decision: Set(RoutingDecision::Routed),
        reason: Set(Some(outcome.to_owned())),
        path: Set(path),
        created_at: Set(Utc::now()),
    };
    routing_event::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_stored_path_shows_its_company_only_its_own_ids() {
        let (mine, theirs, lead) = (CompanyId::new(), CompanyId::new(), LeadId::new());
        let old = json!({"connectionCompanyId": mine.to_string(), "channelCompanyId": theirs.to_string(),
                         "leadId": lead.to_string(), "channelId": "1"});
        let seen = own_facts(old, Some(mine));
        assert_eq!(seen["connectionCompanyId"], mine.to_string());
        assert_eq!(seen["channelCompanyId"], serde_json::Value::Null);
        assert_eq!(seen["leadId"], serde_json::Value::Null);
        assert_eq!(seen["channelOwner"], "another_company");
        let own = json!({"channelCompanyId": mine.to_string(), "leadId": lead.to_string()});
        assert_eq!(own_facts(own.clone(), Some(mine)), own);
    }

    use super::*;

    /// A Discord id for a test.
    const fn id(n: u64) -> Snowflake {
        match Snowflake::new(n) {
            Some(id) => id,
            None => panic!("0 is no Discord id"),
        }
    }

    const BOT: Snowflake = id(1);
    const GUILD: Snowflake = id(100);
    const CHANNEL: Snowflake = id(200);
    const LEAD_USER: Snowflake = id(300);

    fn message() -> Inbound {
        Inbound {
            message_id: id(1 << 30),
            channel_id: CHANNEL,
            guild_id: Some(GUILD),
            author_id: LEAD_USER,
            author_bot: false,
            author_name: None,
            webhook_id: None,
            kind: 0,
            nonce: None,
            content: "hello".into(),
            source: Source::Gateway,
        }
    }

    fn facts(company: CompanyId, lead: LeadId) -> Facts {
        Facts {
            bot_user_id: Some(BOT),
            connection: Some(Connection {
                company_id: company,
                bot_invited: true,
            }),
            channel: Some(Channel {
                company_id: company,
                lead_id: lead,
                guild_id: GUILD,
                is_active: true,
            }),
            dm_leads: Vec::new(),
            outbound_nonce: false,
        }
    }

    fn reason(d: &Decision) -> Option<&'static str> {
        d.reason().map(Reason::as_str)
    }

    #[test]
    fn a_lead_reply_in_its_channel_is_routed_to_its_company_and_lead() {
        let (company, lead) = (CompanyId(Uuid::new_v4()), LeadId(Uuid::new_v4()));
        assert_eq!(
            decide(&message(), &facts(company, lead)),
            Decision::Routed {
                company_id: company,
                lead_id: lead
            }
        );
    }

    #[test]
    fn echoes_of_switchboard_are_ignored() {
        let f = facts(CompanyId(Uuid::new_v4()), LeadId(Uuid::new_v4()));
        let own = Inbound {
            author_id: BOT,
            author_bot: true,
            ..message()
        };
        assert_eq!(reason(&decide(&own, &f)), Some("own_bot"));
        let hook = Inbound {
            webhook_id: Some(id(9)),
            ..message()
        };
        assert_eq!(reason(&decide(&hook, &f)), Some("webhook"));
        let nonce = Facts {
            outbound_nonce: true,
            ..f.clone()
        };
        assert_eq!(reason(&decide(&message(), &nonce)), Some("outbound_nonce"));
        let pin = Inbound {
            kind: 6,
            ..message()
        };
        assert_eq!(reason(&decide(&pin, &f)), Some("system_message"));
        let reply = Inbound {
            kind: 19,
            ..message()
        };
        assert!(matches!(decide(&reply, &f), Decision::Routed { .. }));
    }

    #[test]
    fn a_channel_of_another_company_is_a_tenant_mismatch_never_routed() {
        let (a, b, lead_b) = (
            CompanyId(Uuid::new_v4()),
            CompanyId(Uuid::new_v4()),
            LeadId(Uuid::new_v4()),
        );
        let mut f = facts(a, lead_b);
        f.channel = Some(Channel {
            company_id: b,
            lead_id: lead_b,
            guild_id: GUILD,
            is_active: true,
        });
        let d = decide(&message(), &f);
        assert_eq!(
            d,
            Decision::Rejected {
                company_id: Some(a),
                reason: Reason::TenantMismatch
            }
        );
    }

    #[test]
    fn unknown_guilds_channels_and_archived_channels_are_rejected() {
        let (company, lead) = (CompanyId(Uuid::new_v4()), LeadId(Uuid::new_v4()));
        let mut f = facts(company, lead);
        f.channel = None;
        assert_eq!(reason(&decide(&message(), &f)), Some("unknown_channel"));
        f.connection = None;
        assert_eq!(reason(&decide(&message(), &f)), Some("unknown_guild"));
        let mut f = facts(company, lead);
        if let Some(c) = f.channel.as_mut() {
            c.is_active = false;
        }
        assert_eq!(reason(&decide(&message(), &f)), Some("channel_archived"));
        let mut f = facts(company, lead);
        if let Some(c) = f.channel.as_mut() {
            c.guild_id = id(999);
        }
        assert_eq!(reason(&decide(&message(), &f)), Some("guild_mismatch"));
        let mut f = facts(company, lead);
        if let Some(c) = f.connection.as_mut() {
            c.bot_invited = false;
        }
        assert_eq!(reason(&decide(&message(), &f)), Some("guild_disconnected"));
    }

    #[test]
    fn a_direct_message_routes_only_to_exactly_one_lead() {
        let dm = Inbound {
            guild_id: None,
            ..message()
        };
        let lead = |c| DmLead {
            company_id: c,
            lead_id: LeadId(Uuid::new_v4()),
        };
        let (a, b) = (CompanyId(Uuid::new_v4()), CompanyId(Uuid::new_v4()));
        let mut f = Facts {
            bot_user_id: Some(BOT),
            ..Facts::default()
        };
        assert_eq!(reason(&decide(&dm, &f)), Some("dm_no_lead"));
        f.dm_leads = vec![lead(a)];
        assert!(matches!(decide(&dm, &f), Decision::Routed { company_id, .. } if company_id == a));
        f.dm_leads = vec![lead(a), lead(b)];
        assert_eq!(reason(&decide(&dm, &f)), Some("dm_ambiguous"));
    }

    #[test]
    fn the_message_time_comes_from_its_snowflake() {
        // Discord's documented example: 175928847299117063 → 2016-04-30 11:18:25.796 UTC.
        let m = Inbound {
            message_id: id(175_928_847_299_117_063),
            ..message()
        };
        assert_eq!(m.created_at().timestamp_millis(), 1_462_015_105_796);
    }
}
