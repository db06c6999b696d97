//! Discord's guild channels, messages and members as the simulator keeps them.
use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
    time::Instant,
};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::{channels::TEXT, permissions::Overwrite};

pub const MAX_CONTENT_CHARS: usize = 2000;

pub const MAX_USERNAME_CHARS: usize = 32;

#[derive(Clone, Debug)]
pub struct SimChannel {
    pub id: u64,
    pub guild_id: u64,
    pub kind: u8,
    pub name: String,
    pub topic: Option<String>,
    pub parent_id: Option<u64>,
    pub position: i64,
    pub overwrites: Vec<Overwrite>,
    pub last_message_id: Option<u64>,
}

impl SimChannel {
    pub fn is_text(&self) -> bool {
        self.kind == TEXT
    }
}

#[derive(Clone, Debug)]
pub struct SimMessage {
    pub id: u64,
    pub channel_id: u64,
    pub author_id: u64,
    pub content: String,
    pub nonce: Option<Value>,
    pub timestamp: DateTime<Utc>,
    pub mentions: Vec<u64>,
}

#[derive(Clone, Debug)]
pub struct SimMember {
    pub user_id: u64,
    pub username: String,
    pub joined_at: DateTime<Utc>,
    /// Role ids beyond @everyone, which every member has.
    pub roles: Vec<u64>,
}

#[derive(Default)]
pub(super) struct State_ {
    pub(super) channels: BTreeMap<u64, SimChannel>,
    pub(super) messages: BTreeMap<u64, Vec<SimMessage>>,
    pub(super) members: HashMap<(u64, u64), SimMember>,
    pub(super) nonces: HashMap<(u64, String), (u64, Instant)>,
    /// Direct-message channels with the bot, by user.
    pub(super) dm_channels: HashMap<u64, u64>,
}

#[derive(Default)]
pub struct Channels {
    state: Mutex<State_>,
    /// Every request body received, by route, so tests can check the product's requests
    /// against Discord's schemas.
    requests: Mutex<Vec<(&'static str, Value)>>,
}

impl Channels {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, State_> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn record(&self, route: &'static str, body: &Value) {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((route, body.clone()));
    }

    /// The request bodies received so far: `(route, body)`.
    pub fn recorded(&self) -> Vec<(&'static str, Value)> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn add_member(&self, guild_id: u64, user_id: u64, username: &str) -> SimMember {
        let member = SimMember {
            user_id,
            username: username.to_owned(),
            joined_at: Utc::now(),
            roles: Vec::new(),
        };
        self.lock()
            .members
            .insert((guild_id, user_id), member.clone());
        member
    }

    /// A member's role ids, or `None` when they are not in the guild.
    pub fn member_roles(&self, guild_id: u64, user_id: u64) -> Option<Vec<u64>> {
        self.lock()
            .members
            .get(&(guild_id, user_id))
            .map(|m| m.roles.clone())
    }

    /// Gives a member a role; false when they are not in the guild.
    pub fn add_member_role(&self, guild_id: u64, user_id: u64, role_id: u64) -> bool {
        match self.lock().members.get_mut(&(guild_id, user_id)) {
            Some(member) => {
                if !member.roles.contains(&role_id) {
                    member.roles.push(role_id);
                }
                true
            }
            None => false,
        }
    }

    pub fn channel(&self, id: u64) -> Option<SimChannel> {
        self.lock().channels.get(&id).cloned()
    }

    pub fn channels_of(&self, guild_id: u64) -> Vec<SimChannel> {
        self.lock()
            .channels
            .values()
            .filter(|c| c.guild_id == guild_id)
            .cloned()
            .collect()
    }

    pub fn members_of(&self, guild_id: u64) -> Vec<SimMember> {
        self.lock()
            .members
            .iter()
            .filter(|((g, _), _)| *g == guild_id)
            .map(|(_, m)| m.clone())
            .collect()
    }

    pub fn messages_of(&self, channel_id: u64) -> Vec<SimMessage> {
        self.lock()
            .messages
            .get(&channel_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Posts a message as someone (the bot through REST, a member through sandbox control).
    pub fn post(
        &self,
        channel_id: u64,
        author_id: u64,
        content: &str,
        nonce: Option<Value>,
        id: u64,
    ) -> SimMessage {
        let mentions = mentioned_users(content);
        let message = SimMessage {
            id,
            channel_id,
            author_id,
            content: content.to_owned(),
            nonce,
            timestamp: Utc::now(),
            mentions,
        };
        let mut state = self.lock();
        state
            .messages
            .entry(channel_id)
            .or_default()
            .push(message.clone());
        if let Some(channel) = state.channels.get_mut(&channel_id) {
            channel.last_message_id = Some(message.id);
        }
        message
    }
}

/// `<@123>` and `<@!123>` mentions in content.
pub(super) fn mentioned_users(content: &str) -> Vec<u64> {
    content
        .split("<@")
        .skip(1)
        .filter_map(|rest| rest.trim_start_matches('!').split('>').next()?.parse().ok())
        .collect()
}

pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    ts(at)
}

pub(super) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, false)
}
