//! A message as the API and live events show it.
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::entities::message::{self, Direction, MessageState};
use crate::ids::LeadId;
use crate::types::Snowflake;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    id: Uuid,
    #[schema(value_type = Uuid)]
    lead_id: LeadId,
    #[schema(value_type = String)]
    channel_id: Snowflake,
    direction: Direction,
    state: MessageState,
    content: String,
    /// `crm:{userId}`, `crm:api_key:{id}` or `discord:{userId}`.
    author: String,
    /// Who wrote it, as a person reads it: a teammate's name or email, an API key's name, the
    /// Discord member's nickname or name, `GitHub` for a status note. `null` when not known.
    author_name: Option<String>,
    #[schema(value_type = Option<String>)]
    discord_message_id: Option<Snowflake>,
    /// Where it came from: `api` (sent through the API), `discord` or `discord_dm` (the lead's
    /// reply), `github` (a status note about a linked issue or pull request).
    origin: String,
    /// Why delivery failed, when `state` is `failed`.
    failure_reason: Option<String>,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

impl From<message::Model> for MessageView {
    fn from(m: message::Model) -> Self {
        Self {
            id: m.id,
            lead_id: m.lead_id,
            channel_id: m.channel_id,
            direction: m.direction,
            state: m.state,
            content: m.content,
            author: m.author_meta_id,
            author_name: m.author_name,
            discord_message_id: m.discord_message_id,
            origin: m.origin,
            failure_reason: m.failure_reason,
            created_at: m.created_at,
            sent_at: m.sent_at,
        }
    }
}
