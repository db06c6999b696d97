//! A lead as the API and live events show it.
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    entities::{
        lead::{self, LeadStatus},
        message::Direction,
    },
    error::{Error, Result},
    ids::{LeadId, UserId},
    types::Snowflake,
};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeadView {
    #[schema(value_type = Uuid)]
    id: LeadId,
    #[schema(value_type = Option<Uuid>)]
    owner_user_id: Option<UserId>,
    name: String,
    email: Option<String>,
    /// Discord user id (a snowflake, as a string).
    #[schema(value_type = Option<String>)]
    discord_user_id: Option<Snowflake>,
    discord_username: Option<String>,
    /// The lead's private channel, once created.
    #[schema(value_type = Option<String>)]
    discord_channel_id: Option<Snowflake>,
    discord_invite_sent: bool,
    discord_joined_channel: bool,
    status: LeadStatus,
    last_contact_at: Option<DateTime<Utc>>,
    /// The newest message's time, or the lead's creation before any: the inbox's order
    /// (`GET /leads?sort=recent`).
    last_activity_at: DateTime<Utc>,
    /// The newest message in the conversation, for the lead list; `null` before any.
    last_message: Option<LastMessageView>,
    /// Inbound messages since a teammate last read the conversation (`POST
    /// /leads/{leadId}/read`); shared by the company's teammates.
    unread_count: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// The start of a conversation's newest message.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastMessageView {
    /// Up to 140 characters of its text, on one line.
    preview: String,
    direction: Direction,
    /// Who wrote it, as a person reads it; `null` when not known.
    author_name: Option<String>,
    at: DateTime<Utc>,
}

impl TryFrom<lead::Model> for LeadView {
    type Error = Error;

    fn try_from(l: lead::Model) -> Result<Self> {
        Ok(Self {
            status: l.status,
            id: l.id,
            owner_user_id: l.owner_user_id,
            name: l.name,
            email: l.email,
            discord_user_id: l.discord_user_id,
            discord_username: l.discord_username,
            discord_channel_id: l.discord_channel_id,
            discord_invite_sent: l.discord_invite_sent,
            discord_joined_channel: l.discord_joined_channel,
            last_contact_at: l.last_contact_at,
            last_activity_at: l.last_activity_at,
            last_message: match (
                l.last_message_preview,
                l.last_message_direction,
                l.last_message_at,
            ) {
                (Some(preview), Some(direction), Some(at)) => Some(LastMessageView {
                    preview,
                    direction,
                    author_name: l.last_message_author,
                    at,
                }),
                _ => None,
            },
            unread_count: l.unread_count,
            created_at: l.created_at,
            updated_at: l.updated_at,
        })
    }
}
