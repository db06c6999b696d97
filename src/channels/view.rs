//! A lead's channel as the API and live events show it: made, being made, failed or archived.
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::entities::{channel_provision, lead_channel};
use crate::ids::LeadId;
use crate::types::Snowflake;

/// Where a lead channel stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChannelState {
    /// Queued or being made at Discord; `channel.created` follows.
    Provisioning,
    /// Ready: messages go to it and replies are routed.
    Active,
    /// Could not be made; `lastError` says why. Retry with `POST …/channels/{leadId}/retry`.
    Failed,
    /// Archived: the lead reads the history but no longer writes.
    Archived,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeadChannelView {
    #[schema(value_type = Uuid)]
    lead_id: LeadId,
    state: ChannelState,
    /// Discord ids are strings. Null until the channel exists.
    #[schema(value_type = Option<String>)]
    channel_id: Option<Snowflake>,
    channel_name: Option<String>,
    #[schema(value_type = String)]
    guild_id: Snowflake,
    #[schema(value_type = Option<String>)]
    category_id: Option<Snowflake>,
    is_active: bool,
    #[schema(value_type = Option<String>)]
    discord_user_id: Option<Snowflake>,
    message_count: i32,
    last_message_at: Option<DateTime<Utc>>,
    /// When the channel was made, or asked for while it is provisioning.
    created_at: DateTime<Utc>,
    /// Why making the channel failed, when `state` is `failed`.
    last_error: Option<String>,
}

impl From<lead_channel::Model> for LeadChannelView {
    fn from(c: lead_channel::Model) -> Self {
        Self {
            lead_id: c.lead_id,
            state: if c.is_active {
                ChannelState::Active
            } else {
                ChannelState::Archived
            },
            channel_id: Some(c.channel_id),
            channel_name: Some(c.channel_name),
            guild_id: c.guild_id,
            category_id: c.category_id,
            is_active: c.is_active,
            discord_user_id: c.discord_user_id,
            message_count: c.message_count,
            last_message_at: c.last_message_at,
            created_at: c.channel_created_at,
            last_error: None,
        }
    }
}

impl From<channel_provision::Model> for LeadChannelView {
    fn from(p: channel_provision::Model) -> Self {
        Self {
            lead_id: p.lead_id,
            state: if p.state == channel_provision::ProvisionState::Failed {
                ChannelState::Failed
            } else {
                ChannelState::Provisioning
            },
            channel_id: None,
            channel_name: None,
            guild_id: p.guild_id,
            category_id: None,
            is_active: false,
            discord_user_id: None,
            message_count: 0,
            last_message_at: None,
            created_at: p.created_at,
            last_error: p.last_error,
        }
    }
}
