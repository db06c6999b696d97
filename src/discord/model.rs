//! What the rest of the product says to and hears from Discord, in its own types. serenity's
//! model and builders stay inside `src/discord/`; these convert to and from them, so the wire
//! shapes are serenity's (and Discord's) while the domain never names them.
use std::num::NonZeroU64;

use chrono::{DateTime, Utc};
use serenity::all as serenity_model;

pub use crate::types::Snowflake;

/// One of serenity's ids as ours (both are non-zero).
pub(crate) fn snowflake(id: impl Into<NonZeroU64>) -> Snowflake {
    Snowflake::from(id.into())
}

/// Permission bits, as Discord defines them ("Permissions" in `topics/permissions`).
pub mod permission {
    pub const ADMINISTRATOR: u64 = 1 << 3;
    pub const MANAGE_CHANNELS: u64 = 1 << 4;
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    pub const SEND_MESSAGES: u64 = 1 << 11;
    pub const EMBED_LINKS: u64 = 1 << 14;
    pub const ATTACH_FILES: u64 = 1 << 15;
    pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
    pub const MANAGE_ROLES: u64 = 1 << 28;
}

/// Whom a permission overwrite is for. A guild's @everyone role has the guild's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverwriteTarget {
    Role(Snowflake),
    Member(Snowflake),
}

impl OverwriteTarget {
    /// Discord's overwrite `type`: 0 for a role, 1 for a member.
    pub fn kind(self) -> u8 {
        match self {
            Self::Role(_) => 0,
            Self::Member(_) => 1,
        }
    }

    pub fn id(self) -> Snowflake {
        match self {
            Self::Role(id) | Self::Member(id) => id,
        }
    }
}

/// One permission overwrite: bits allowed and denied for a role or member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overwrite {
    pub target: OverwriteTarget,
    pub allow: u64,
    pub deny: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelKind {
    Text,
    Category,
}

/// A channel to create in a guild.
#[derive(Clone, Debug)]
pub struct NewChannel {
    pub name: String,
    pub kind: ChannelKind,
    pub topic: Option<String>,
    /// The category it goes in.
    pub parent_id: Option<Snowflake>,
    pub overwrites: Vec<Overwrite>,
}

impl NewChannel {
    pub(crate) fn to_builder(&self) -> serenity_model::CreateChannel<'_> {
        let overwrites = self
            .overwrites
            .iter()
            .map(|o| serenity_model::PermissionOverwrite {
                allow: serenity_model::Permissions::from_bits_retain(o.allow),
                deny: serenity_model::Permissions::from_bits_retain(o.deny),
                kind: match o.target {
                    OverwriteTarget::Role(id) => {
                        serenity_model::PermissionOverwriteType::Role(id.get().into())
                    }
                    OverwriteTarget::Member(id) => {
                        serenity_model::PermissionOverwriteType::Member(id.get().into())
                    }
                },
            })
            .collect::<Vec<_>>();
        let mut body = serenity_model::CreateChannel::new(self.name.clone())
            .kind(match self.kind {
                ChannelKind::Text => serenity_model::ChannelType::Text,
                ChannelKind::Category => serenity_model::ChannelType::Category,
            })
            .permissions(overwrites);
        if let Some(topic) = &self.topic {
            body = body.topic(topic.clone());
        }
        if let Some(parent) = self.parent_id {
            body = body.category(serenity_model::ChannelId::new(parent.get()));
        }
        body
    }
}

/// Changes to a channel's name and topic (an empty topic clears it).
#[derive(Clone, Debug, Default)]
pub struct ChannelEdit {
    pub name: Option<String>,
    pub topic: Option<String>,
}

impl ChannelEdit {
    pub(crate) fn to_builder(&self) -> serenity_model::EditChannel<'_> {
        let mut body = serenity_model::EditChannel::new();
        if let Some(name) = &self.name {
            body = body.name(name.clone());
        }
        if let Some(topic) = &self.topic {
            body = body.topic(topic.clone());
        }
        body
    }
}

/// A message to post. Nobody is pinged but the users listed in `mention_users`.
#[derive(Clone, Debug, Default)]
pub struct NewMessage {
    pub content: String,
    /// With `enforce_nonce`, a repeated post with this nonce answers the first message.
    pub nonce: Option<String>,
    pub enforce_nonce: bool,
    pub mention_users: Vec<Snowflake>,
}

impl NewMessage {
    pub(crate) fn to_builder(&self) -> serenity_model::CreateMessage {
        let mentions = serenity_model::CreateAllowedMentions::new().users(
            self.mention_users
                .iter()
                .map(|&u| serenity_model::UserId::new(u.get())),
        );
        let mut body = serenity_model::CreateMessage::new()
            .content(self.content.clone())
            .allowed_mentions(mentions);
        if let Some(nonce) = &self.nonce {
            body = body
                .nonce(serenity_model::Nonce::String(nonce.clone()))
                .enforce_nonce(self.enforce_nonce);
        }
        body
    }
}

/// A guild channel as Discord answered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    pub id: Snowflake,
    pub name: String,
    pub parent_id: Option<Snowflake>,
    pub overwrites: Vec<Overwrite>,
}

impl From<serenity_model::GuildChannel> for Channel {
    fn from(c: serenity_model::GuildChannel) -> Self {
        let overwrites = c
            .permission_overwrites
            .iter()
            .filter_map(|o| {
                let target = match o.kind {
                    serenity_model::PermissionOverwriteType::Role(id) => {
                        OverwriteTarget::Role(snowflake(id))
                    }
                    serenity_model::PermissionOverwriteType::Member(id) => {
                        OverwriteTarget::Member(snowflake(id))
                    }
                    // A kind serenity does not know: not one the product writes.
                    _ => return None,
                };
                Some(Overwrite {
                    target,
                    allow: o.allow.bits(),
                    deny: o.deny.bits(),
                })
            })
            .collect();
        Self {
            id: snowflake(c.id),
            name: c.name,
            parent_id: c.parent_id.map(snowflake),
            overwrites,
        }
    }
}

/// A message the bot posted, as Discord answered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posted {
    pub id: Snowflake,
    /// The users the message pinged.
    pub mentions: Vec<Snowflake>,
}

impl From<serenity_model::Message> for Posted {
    fn from(m: serenity_model::Message) -> Self {
        Self {
            id: snowflake(m.id),
            mentions: m.mentions.iter().map(|u| snowflake(u.id)).collect(),
        }
    }
}

/// A guild as Discord answered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guild {
    pub id: Snowflake,
    pub name: String,
}

impl From<serenity_model::PartialGuild> for Guild {
    fn from(g: serenity_model::PartialGuild) -> Self {
        Self {
            id: snowflake(g.id),
            name: g.name,
        }
    }
}

/// Where an inbound message was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Gateway,
    Catchup,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gateway => "gateway",
            Self::Catchup => "catchup",
        }
    }
}

/// A Discord message as the product sees it: posted by the bot, or read from the gateway or
/// a channel's history.
#[derive(Clone, Debug)]
pub struct Inbound {
    pub message_id: Snowflake,
    pub channel_id: Snowflake,
    /// `None` for a direct message, and for messages read over REST (the channel says).
    pub guild_id: Option<Snowflake>,
    pub author_id: Snowflake,
    pub author_bot: bool,
    /// The name Discord shows for the author here: their server nickname, else their display
    /// name, else their username.
    pub author_name: Option<String>,
    pub webhook_id: Option<Snowflake>,
    /// Discord's message type: 0 is a plain message, 19 a reply; the others are system
    /// messages (pins, joins, …).
    pub kind: u8,
    pub nonce: Option<String>,
    pub content: String,
    pub source: Source,
}

/// Milliseconds between the Unix epoch and Discord's (2015-01-01).
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

impl Inbound {
    /// When Discord created the message, from its snowflake.
    pub fn created_at(&self) -> DateTime<Utc> {
        let ms = (self.message_id.get() >> 22) + DISCORD_EPOCH_MS;
        i64::try_from(ms)
            .ok()
            .and_then(DateTime::from_timestamp_millis)
            .unwrap_or_else(Utc::now)
    }

    pub(crate) fn from_message(m: &serenity_model::Message, source: Source) -> Self {
        use serenity_model::Nonce;
        Self {
            message_id: snowflake(m.id),
            channel_id: snowflake(m.channel_id),
            guild_id: m.guild_id.map(snowflake),
            author_id: snowflake(m.author.id),
            author_bot: m.author.bot,
            author_name: m
                .member
                .as_ref()
                .and_then(|member| member.nick.clone())
                .or_else(|| m.author.global_name.clone())
                .or_else(|| Some(m.author.name.clone())),
            webhook_id: m.webhook_id.map(snowflake),
            kind: u8::from(m.kind),
            nonce: m.nonce.as_ref().map(|n| match n {
                Nonce::String(s) => s.clone(),
                Nonce::Number(n) => n.to_string(),
            }),
            content: m.content.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_bits_are_serenitys() {
        use serenity_model::Permissions as P;
        for (ours, theirs) in [
            (permission::ADMINISTRATOR, P::ADMINISTRATOR),
            (permission::MANAGE_CHANNELS, P::MANAGE_CHANNELS),
            (permission::VIEW_CHANNEL, P::VIEW_CHANNEL),
            (permission::SEND_MESSAGES, P::SEND_MESSAGES),
            (permission::EMBED_LINKS, P::EMBED_LINKS),
            (permission::ATTACH_FILES, P::ATTACH_FILES),
            (permission::READ_MESSAGE_HISTORY, P::READ_MESSAGE_HISTORY),
            (permission::MANAGE_ROLES, P::MANAGE_ROLES),
        ] {
            assert_eq!(ours, theirs.bits());
        }
    }

    #[test]
    fn a_new_channel_serialises_as_before() {
        let channel = NewChannel {
            name: "lead".into(),
            kind: ChannelKind::Text,
            topic: Some("t".into()),
            parent_id: Snowflake::new(5),
            overwrites: vec![Overwrite {
                target: OverwriteTarget::Role(Snowflake::new(7).expect("non-zero")),
                allow: 0,
                deny: permission::VIEW_CHANNEL,
            }],
        };
        let json = serde_json::to_value(channel.to_builder()).expect("serialises");
        assert_eq!(json["type"], 0);
        assert_eq!(json["parent_id"], "5");
        assert_eq!(json["permission_overwrites"][0]["type"], 0);
        assert_eq!(json["permission_overwrites"][0]["deny"], "1024");
    }
}
