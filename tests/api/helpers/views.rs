//! The API's answers as the tests read them. These are the tests' own types, written from the
//! documented shape: the product's view types would agree with the product's serializer
//! whatever it wrote. Unknown fields are accepted (the API may add some), but a field the
//! tests read must be there: a renamed or missing one fails the test with the body, where
//! `serde_json::Value` would have read it as null and `unwrap_or_default()` as "".
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// For an `Option` field: `null` reads as `None`, a missing field is an error. (Without
/// `deserialize_with`, serde reads a missing `Option` field as `None`, so a renamed field
/// would pass for a null one.)
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::deserialize(deserializer)
}

/// A page of a list: `{"items": [...], "nextCursor": ...}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(deserialize_with = "nullable")]
    pub next_cursor: Option<String>,
}

/// `Lead`: `POST /api/leads`, `GET /api/leads/{leadId}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lead {
    pub id: String,
    #[serde(deserialize_with = "nullable")]
    pub owner_user_id: Option<String>,
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub email: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub discord_user_id: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub discord_username: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub discord_channel_id: Option<String>,
    pub discord_invite_sent: bool,
    pub discord_joined_channel: bool,
    /// `open`, `resolved` or `closed`.
    pub status: String,
    #[serde(deserialize_with = "nullable")]
    pub last_contact_at: Option<String>,
    pub last_activity_at: String,
    #[serde(deserialize_with = "nullable")]
    pub last_message: Option<LastMessage>,
    pub unread_count: i64,
}

/// `LastMessageView`: the start of a conversation's newest message.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastMessage {
    pub preview: String,
    /// `outbound` or `inbound`.
    pub direction: String,
    #[serde(deserialize_with = "nullable")]
    pub author_name: Option<String>,
    pub at: String,
}

impl Lead {
    /// The lead's Discord user id, which the Discord fixtures always give.
    #[track_caller]
    pub fn discord_user(&self) -> &str {
        self.discord_user_id
            .as_deref()
            .unwrap_or_else(|| panic!("the lead has a Discord user: {self:?}"))
    }
}

/// `LeadChannelView`: a lead's channel, made, being made, failed or archived
/// (`/api/discord/channels…`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    /// `provisioning`, `active`, `failed` or `archived`.
    pub state: String,
    /// Null until the channel exists.
    #[serde(deserialize_with = "nullable")]
    pub channel_id: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub channel_name: Option<String>,
    pub guild_id: String,
    #[serde(deserialize_with = "nullable")]
    pub category_id: Option<String>,
    pub is_active: bool,
    pub message_count: i64,
    /// Why making the channel failed, when `state` is `failed`.
    #[serde(deserialize_with = "nullable")]
    pub last_error: Option<String>,
}

/// `MessageView`: a message to or from a lead (`/api/leads/{leadId}/messages`,
/// `/api/discord/send-message`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    /// `outbound` or `inbound`.
    pub direction: String,
    /// `queued`, `sent`, `failed` or `received`.
    pub state: String,
    pub content: String,
    /// `crm:{userId}`, `crm:api_key:{id}` or `discord:{userId}`.
    pub author: String,
    #[serde(deserialize_with = "nullable")]
    pub author_name: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub discord_message_id: Option<String>,
    /// `api`, `discord`, `discord_dm` or `github`.
    pub origin: String,
    #[serde(deserialize_with = "nullable")]
    pub failure_reason: Option<String>,
}

/// `LinkView`: an issue or pull request linked to a lead (`/api/leads/{leadId}/links`,
/// `/api/links`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub id: String,
    /// `github:owner/repo#123`.
    pub r#ref: String,
    pub repository: String,
    /// `issue` or `pull_request`.
    pub kind: String,
    pub title: String,
    /// `open` or `closed`.
    pub state: String,
    pub merged: bool,
    pub url: String,
}

/// `GitHubSettings`: the company's GitHub webhook and the hooks registered
/// (`/api/integrations/github`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitHubSettings {
    pub integration_id: String,
    pub webhook: WebhookSettings,
    pub hooks: Vec<Hook>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSettings {
    pub url: String,
    /// Shown to admins only (`null` for members).
    #[serde(deserialize_with = "nullable")]
    pub secret: Option<String>,
}

/// `HookView`: a hook Switchboard registered (or tried to) on a linked repository.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hook {
    pub repository: String,
    /// `active` or `failed`.
    pub state: String,
    #[serde(deserialize_with = "nullable")]
    pub last_error: Option<String>,
}

/// `RoutingEventView`: why an inbound message did or did not arrive (`/api/routing-events`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingEvent {
    /// `MESSAGE_CREATE`, `CHANNEL_DELETE` or `GUILD_DELETE`.
    pub event_type: String,
    #[serde(deserialize_with = "nullable")]
    pub channel_id: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub discord_message_id: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub lead_id: Option<String>,
    /// `routed`, `rejected` or `ignored`.
    pub decision: String,
    #[serde(deserialize_with = "nullable")]
    pub reason: Option<String>,
    /// The lookups made (an open object: guild → company → channel → lead).
    pub path: Value,
}

#[test]
fn a_missing_field_fails_where_a_null_one_reads_as_none() {
    let read = |body: Value| serde_json::from_value::<Page<String>>(body);
    let last = read(serde_json::json!({"items": ["a"], "nextCursor": null})).expect("a page");
    assert_eq!((last.items, last.next_cursor), (vec!["a".to_owned()], None));
    let renamed = read(serde_json::json!({"items": [], "next_cursor": "c"}));
    assert!(
        renamed.is_err_and(|e| e.to_string().contains("missing field `nextCursor`")),
        "a renamed field is not read as null"
    );
}
