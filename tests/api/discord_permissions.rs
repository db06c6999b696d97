//! The Discord simulator computes permissions as Discord does and refuses, over real HTTP, what
//! Discord refuses: one test per rule, each naming the documentation sentence it enforces
//! (Discord's developer documentation: `topics/permissions`, `resources/guild`,
//! `resources/channel`, `resources/message`).
use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};
use switchboard::sandbox::{Sandbox, credentials::DISCORD_BOT_TOKEN};

use crate::helpers::{Auth, Backend, Reply, TestApp, spawn_app};

const ADMINISTRATOR: u64 = 1 << 3;
const KICK_MEMBERS: u64 = 1 << 1;
const MANAGE_CHANNELS: u64 = 1 << 4;
const VIEW_CHANNEL: u64 = 1 << 10;
const SEND_MESSAGES: u64 = 1 << 11;
const READ_MESSAGE_HISTORY: u64 = 1 << 16;
const MANAGE_ROLES: u64 = 1 << 28;
/// What Switchboard's install asks for (no ADMINISTRATOR).
const INSTALL: u64 = 268_553_232;

/// A sandbox server with the bot installed, spoken to as the bot over HTTP.
struct Guild {
    app: TestApp,
    id: u64,
    bot_role: u64,
    bot: u64,
}

fn sandbox(app: &TestApp) -> &Arc<Sandbox> {
    app.state.sandbox.as_ref().expect("sandbox mode")
}

impl Guild {
    async fn new(permissions: u64) -> Self {
        let app = spawn_app(Backend::Embedded).await;
        // Rate limits are not what these tests are about.
        app.request(
            Method::PUT,
            "/sandbox/discord/limits",
            Auth::None,
            Some(json!({"windowDivisor": 100})),
        )
        .await
        .assert_status(204);
        let sim = &sandbox(&app).discord;
        let guild = sim.create_guild("Permission checks");
        sim.install_bot(guild.id, permissions);
        let bot_role = sim
            .guilds()
            .into_iter()
            .find(|g| g.id == guild.id)
            .and_then(|g| g.bot_role)
            .expect("the install made the bot a role");
        let bot = sim.bot_id().parse().expect("snowflake");
        Self {
            app,
            id: guild.id,
            bot_role,
            bot,
        }
    }

    async fn discord(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let builder = self
            .app
            .client
            .request(
                method,
                self.app.url(&format!("/sandbox/discord/api/v10/{path}")),
            )
            .header("authorization", format!("Bot {DISCORD_BOT_TOKEN}"));
        self.app.send(builder, Auth::None, body).await
    }

    /// A server admin changes the bot's role.
    async fn set_bot_permissions(&self, permissions: u64) {
        self.app
            .request(
                Method::PATCH,
                &format!(
                    "/sandbox/discord/servers/{}/roles/{}",
                    self.id, self.bot_role
                ),
                Auth::None,
                Some(json!({"permissions": permissions.to_string()})),
            )
            .await
            .assert_status(204);
    }

    async fn create_channel(&self, body: Value) -> Reply {
        self.discord(
            Method::POST,
            &format!("guilds/{}/channels", self.id),
            Some(body),
        )
        .await
    }

    /// A text channel with these overwrites, made while the bot is briefly an administrator
    /// (so any overwrite can be set up), then the bot's role goes back to `INSTALL`.
    async fn channel_set_up_by_an_admin(&self, overwrites: Value, parent: Option<&str>) -> String {
        self.set_bot_permissions(ADMINISTRATOR).await;
        let mut body = json!({"name": "set-up", "type": 0, "permission_overwrites": overwrites});
        if let Some(parent) = parent {
            body["parent_id"] = json!(parent);
        }
        let reply = self.create_channel(body).await;
        reply.assert_status(201);
        self.set_bot_permissions(INSTALL).await;
        reply.body["id"].as_str().expect("id").to_owned()
    }

    async fn member(&self, name: &str) -> String {
        let reply = self
            .app
            .request(
                Method::POST,
                &format!("/sandbox/discord/servers/{}/members", self.id),
                Auth::None,
                Some(json!({"username": name})),
            )
            .await;
        reply.assert_status(201);
        reply.body["user"]["id"].as_str().expect("id").to_owned()
    }

    async fn post_as(&self, channel: &str, author: &str) -> Reply {
        self.app
            .request(
                Method::POST,
                &format!("/sandbox/discord/channels/{channel}/messages"),
                Auth::None,
                Some(json!({"authorId": author, "content": "hello"})),
            )
            .await
    }
}

fn overwrite(id: impl ToString, kind: u8, allow: u64, deny: u64) -> Value {
    json!({"id": id.to_string(), "type": kind, "allow": allow.to_string(), "deny": deny.to_string()})
}

#[track_caller]
fn assert_discord_error(reply: &Reply, status: u16, code: u64) {
    assert_eq!(
        (reply.status.as_u16(), reply.body["code"].as_u64()),
        (status, Some(code)),
        "body: {}",
        reply.text
    );
}

#[tokio::test]
async fn creating_a_channel_needs_manage_channels() {
    // Create Guild Channel: "Requires the MANAGE_CHANNELS permission."
    let guild = Guild::new(INSTALL & !MANAGE_CHANNELS).await;
    let reply = guild
        .create_channel(json!({"name": "no-manage", "type": 0}))
        .await;
    assert_discord_error(&reply, 403, 50013);
    guild.set_bot_permissions(INSTALL).await;
    guild
        .create_channel(json!({"name": "manage", "type": 0}))
        .await
        .assert_status(201);
}

#[tokio::test]
async fn a_new_channels_overwrites_may_use_only_bits_the_bot_has_in_the_guild() {
    // Create Guild Channel: "If setting permission overwrites, only permissions your bot has in
    // the guild can be allowed/denied."
    let guild = Guild::new(INSTALL).await;
    let kick = guild
        .create_channel(json!({"name": "kick", "type": 0,
            "permission_overwrites": [overwrite(guild.id, 0, 0, KICK_MEMBERS)]}))
        .await;
    assert_discord_error(&kick, 403, 50013);
    guild
        .create_channel(json!({"name": "held", "type": 0,
            "permission_overwrites": [overwrite(guild.id, 0, 0, VIEW_CHANNEL),
                overwrite(guild.bot, 1, VIEW_CHANNEL | SEND_MESSAGES, 0)]}))
        .await
        .assert_status(201);
}

#[tokio::test]
async fn manage_roles_in_a_new_channel_is_only_for_administrators() {
    // Create Guild Channel: "Setting MANAGE_ROLES permission in channels is only possible for
    // guild administrators." This is the payload Switchboard used to send.
    let guild = Guild::new(INSTALL).await;
    let old_payload = json!({"name": "lead", "type": 0, "permission_overwrites": [
        overwrite(guild.id, 0, 0, VIEW_CHANNEL),
        overwrite(guild.bot, 1, VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | MANAGE_CHANNELS | MANAGE_ROLES, 0),
    ]});
    assert_discord_error(&guild.create_channel(old_payload.clone()).await, 403, 50013);
    let category = json!({"name": "Leads 1", "type": 4, "permission_overwrites": [
        overwrite(guild.bot, 1, MANAGE_ROLES, 0),
    ]});
    assert_discord_error(&guild.create_channel(category).await, 403, 50013);
    guild.set_bot_permissions(INSTALL | ADMINISTRATOR).await;
    guild.create_channel(old_payload).await.assert_status(201);
}

#[tokio::test]
async fn writing_overwrites_at_all_needs_manage_roles() {
    // Edit Channel Permissions: "Requires the MANAGE_ROLES permission." Modify Channel: "If
    // modifying permission overwrites, the MANAGE_ROLES permission is required." Creating a
    // channel with overwrites is held to the same (the strict reading).
    let guild = Guild::new(INSTALL & !MANAGE_ROLES).await;
    let with_overwrites = guild
        .create_channel(json!({"name": "ow", "type": 0,
            "permission_overwrites": [overwrite(guild.id, 0, 0, VIEW_CHANNEL)]}))
        .await;
    assert_discord_error(&with_overwrites, 403, 50013);
    let plain = guild
        .create_channel(json!({"name": "plain", "type": 0}))
        .await;
    plain.assert_status(201);
    let channel = plain.body["id"].as_str().expect("id");
    let put = guild
        .discord(
            Method::PUT,
            &format!("channels/{channel}/permissions/{}", guild.id),
            Some(json!({"type": 0, "deny": VIEW_CHANNEL.to_string()})),
        )
        .await;
    assert_discord_error(&put, 403, 50013);
    let patch = guild
        .discord(
            Method::PATCH,
            &format!("channels/{channel}"),
            Some(json!({"permission_overwrites": [overwrite(guild.id, 0, 0, VIEW_CHANNEL)]})),
        )
        .await;
    assert_discord_error(&patch, 403, 50013);
    let delete = guild
        .discord(
            Method::DELETE,
            &format!("channels/{channel}/permissions/{}", guild.id),
            None,
        )
        .await;
    assert_discord_error(&delete, 403, 50013);
    // A change without overwrites needs only MANAGE_CHANNELS.
    guild
        .discord(
            Method::PATCH,
            &format!("channels/{channel}"),
            Some(json!({"topic": "still fine"})),
        )
        .await
        .assert_status(200);
}

#[tokio::test]
async fn editing_an_overwrite_may_use_bits_from_the_guild_or_the_parent_category() {
    // Edit Channel Permissions: "Only permissions your bot has in the guild or parent channel
    // (if applicable) can be allowed/denied".
    let guild = Guild::new(INSTALL).await;
    let lead = guild.member("lead").await;
    let kick = json!({"type": 1, "allow": KICK_MEMBERS.to_string()});
    let plain = guild
        .create_channel(json!({"name": "plain", "type": 0}))
        .await;
    let plain = plain.body["id"].as_str().expect("id");
    let refused = guild
        .discord(
            Method::PUT,
            &format!("channels/{plain}/permissions/{lead}"),
            Some(kick.clone()),
        )
        .await;
    assert_discord_error(&refused, 403, 50013);
    let held = guild
        .discord(
            Method::PUT,
            &format!("channels/{plain}/permissions/{lead}"),
            Some(json!({"type": 1, "allow": VIEW_CHANNEL.to_string()})),
        )
        .await;
    held.assert_status(204);

    // A category where an admin gave the bot KICK_MEMBERS: its channels may pass that bit on.
    guild.set_bot_permissions(ADMINISTRATOR).await;
    let category = guild
        .create_channel(json!({"name": "Cat", "type": 4,
            "permission_overwrites": [overwrite(guild.bot, 1, KICK_MEMBERS, 0)]}))
        .await;
    category.assert_status(201);
    let category = category.body["id"].as_str().expect("id").to_owned();
    guild.set_bot_permissions(INSTALL).await;
    let child = guild
        .create_channel(json!({"name": "child", "type": 0, "parent_id": category}))
        .await;
    child.assert_status(201);
    let child = child.body["id"].as_str().expect("id");
    guild
        .discord(
            Method::PUT,
            &format!("channels/{child}/permissions/{lead}"),
            Some(kick),
        )
        .await
        .assert_status(204);
}

#[tokio::test]
async fn a_manage_roles_overwrite_in_the_channel_lifts_the_bit_rule() {
    // Edit Channel Permissions: "(unless your bot has a MANAGE_ROLES overwrite in the channel)".
    let guild = Guild::new(INSTALL).await;
    let lead = guild.member("lead").await;
    let granted = guild
        .channel_set_up_by_an_admin(json!([overwrite(guild.bot, 1, MANAGE_ROLES, 0)]), None)
        .await;
    guild
        .discord(
            Method::PUT,
            &format!("channels/{granted}/permissions/{lead}"),
            Some(json!({"type": 1, "allow": (KICK_MEMBERS | MANAGE_ROLES).to_string()})),
        )
        .await
        .assert_status(204);
}

#[tokio::test]
async fn a_channel_the_bot_cannot_see_is_missing_access() {
    // "Implicit Permissions": "Denying a user or a role VIEW_CHANNEL on a channel implicitly
    // denies other permissions on the channel." Discord answers 50001 Missing Access.
    let guild = Guild::new(INSTALL).await;
    let hidden = guild
        .channel_set_up_by_an_admin(json!([overwrite(guild.id, 0, 0, VIEW_CHANNEL)]), None)
        .await;
    for (method, path, body) in [
        (Method::GET, format!("channels/{hidden}"), None),
        (
            Method::POST,
            format!("channels/{hidden}/messages"),
            Some(json!({"content": "hi"})),
        ),
        (Method::GET, format!("channels/{hidden}/messages"), None),
        (Method::DELETE, format!("channels/{hidden}"), None),
    ] {
        let reply = guild.discord(method.clone(), &path, body).await;
        assert_discord_error(&reply, 403, 50001);
    }
}

#[tokio::test]
async fn sending_needs_send_messages_in_the_channel() {
    // Create Message, "Limitations": "When operating on a guild channel, the current user must
    // have the SEND_MESSAGES permission."
    let guild = Guild::new(INSTALL).await;
    let muted = guild
        .channel_set_up_by_an_admin(json!([overwrite(guild.bot, 1, 0, SEND_MESSAGES)]), None)
        .await;
    let reply = guild
        .discord(
            Method::POST,
            &format!("channels/{muted}/messages"),
            Some(json!({"content": "hi"})),
        )
        .await;
    assert_discord_error(&reply, 403, 50013);
    guild
        .discord(Method::GET, &format!("channels/{muted}"), None)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn without_read_message_history_no_messages_are_returned() {
    // Get Channel Messages: "If the current user is missing the READ_MESSAGE_HISTORY permission
    // in the channel, then no messages will be returned."
    let guild = Guild::new(INSTALL).await;
    let channel = guild
        .channel_set_up_by_an_admin(
            json!([overwrite(guild.bot, 1, 0, READ_MESSAGE_HISTORY)]),
            None,
        )
        .await;
    guild
        .discord(
            Method::POST,
            &format!("channels/{channel}/messages"),
            Some(json!({"content": "kept"})),
        )
        .await
        .assert_status(200);
    let read = guild
        .discord(Method::GET, &format!("channels/{channel}/messages"), None)
        .await;
    read.assert_status(200);
    assert_eq!(read.body, json!([]));
}

#[tokio::test]
async fn deleting_or_editing_a_channel_needs_manage_channels_there() {
    // Modify Channel and Delete/Close Channel: "Requires the MANAGE_CHANNELS permission".
    let guild = Guild::new(INSTALL).await;
    let locked = guild
        .channel_set_up_by_an_admin(json!([overwrite(guild.bot, 1, 0, MANAGE_CHANNELS)]), None)
        .await;
    let patch = guild
        .discord(
            Method::PATCH,
            &format!("channels/{locked}"),
            Some(json!({"topic": "x"})),
        )
        .await;
    assert_discord_error(&patch, 403, 50013);
    let delete = guild
        .discord(Method::DELETE, &format!("channels/{locked}"), None)
        .await;
    assert_discord_error(&delete, 403, 50013);
}

#[tokio::test]
async fn a_channel_goes_into_a_category_only_where_the_bot_manages_channels() {
    // The strict reading of "Requires the MANAGE_CHANNELS permission" for a channel made inside
    // a category: the bot must hold it there.
    let guild = Guild::new(INSTALL).await;
    guild.set_bot_permissions(ADMINISTRATOR).await;
    let category = guild
        .create_channel(json!({"name": "Closed", "type": 4,
            "permission_overwrites": [overwrite(guild.bot, 1, 0, MANAGE_CHANNELS)]}))
        .await;
    let category = category.body["id"].as_str().expect("id").to_owned();
    guild.set_bot_permissions(INSTALL).await;
    let reply = guild
        .create_channel(json!({"name": "inside", "type": 0, "parent_id": category}))
        .await;
    assert_discord_error(&reply, 403, 50013);
}

#[tokio::test]
async fn an_administrator_bot_bypasses_channel_overwrites() {
    // compute_overwrites: "ADMINISTRATOR overrides any potential permission overwrites".
    let guild = Guild::new(INSTALL).await;
    let hidden = guild
        .channel_set_up_by_an_admin(json!([overwrite(guild.bot, 1, 0, VIEW_CHANNEL)]), None)
        .await;
    assert_discord_error(
        &guild
            .discord(Method::GET, &format!("channels/{hidden}"), None)
            .await,
        403,
        50001,
    );
    guild.set_bot_permissions(ADMINISTRATOR).await;
    guild
        .discord(Method::GET, &format!("channels/{hidden}"), None)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn members_post_only_where_everyone_role_and_member_overwrites_let_them() {
    // "Permission Overwrites": @everyone's overwrite, then the member's roles' overwrites
    // together, then the member's own overwrite, each later one winning.
    let guild = Guild::new(INSTALL).await;
    let (with_role, without, denied) = (
        guild.member("with-role").await,
        guild.member("without").await,
        guild.member("denied").await,
    );
    let role = guild
        .app
        .request(
            Method::POST,
            &format!("/sandbox/discord/servers/{}/roles", guild.id),
            Auth::None,
            Some(json!({"name": "customers", "permissions": "0"})),
        )
        .await;
    role.assert_status(201);
    let role = role.body["id"].as_str().expect("id").to_owned();
    for member in [&with_role, &denied] {
        guild
            .app
            .request(
                Method::PUT,
                &format!(
                    "/sandbox/discord/servers/{}/members/{member}/roles/{role}",
                    guild.id
                ),
                Auth::None,
                None,
            )
            .await
            .assert_status(204);
    }
    let channel = guild
        .channel_set_up_by_an_admin(
            json!([
                overwrite(guild.id, 0, 0, VIEW_CHANNEL),
                overwrite(&role, 0, VIEW_CHANNEL | SEND_MESSAGES, 0),
                overwrite(&denied, 1, 0, SEND_MESSAGES),
            ]),
            None,
        )
        .await;
    guild.post_as(&channel, &with_role).await.assert_status(201);
    assert_discord_error(&guild.post_as(&channel, &without).await, 403, 50001);
    assert_discord_error(&guild.post_as(&channel, &denied).await, 403, 50013);
}

#[tokio::test]
async fn a_guild_the_bot_left_is_unknown_to_it() {
    // Leave Guild (`DELETE /users/@me/guilds/{guild.id}`, Discord's OpenAPI document): 204; the
    // bot is no longer a member, so guild routes answer Missing Access, and leaving again is
    // Unknown Guild.
    let guild = Guild::new(INSTALL).await;
    let path = format!("users/@me/guilds/{}", guild.id);
    guild
        .discord(Method::DELETE, &path, None)
        .await
        .assert_status(204);
    let channels = guild
        .discord(Method::GET, &format!("guilds/{}/channels", guild.id), None)
        .await;
    assert_discord_error(&channels, 403, 50001);
    assert_discord_error(
        &guild.discord(Method::DELETE, &path, None).await,
        404,
        10004,
    );
}

// Other documented rules the product's calls meet.

#[tokio::test]
async fn a_category_takes_no_messages_and_cannot_nest() {
    // JSON error code 50008 "Cannot send messages in a non-text channel"; `parent_id` is for
    // the channels inside a category (Create Guild Channel's "Channel Type" column).
    let guild = Guild::new(INSTALL).await;
    let category = guild
        .create_channel(json!({"name": "Leads 1", "type": 4}))
        .await;
    category.assert_status(201);
    let category = category.body["id"].as_str().expect("id").to_owned();
    let send = guild
        .discord(
            Method::POST,
            &format!("channels/{category}/messages"),
            Some(json!({"content": "hi"})),
        )
        .await;
    assert_discord_error(&send, 400, 50008);
    let nested = guild
        .create_channel(json!({"name": "Leads 2", "type": 4, "parent_id": category}))
        .await;
    assert_discord_error(&nested, 400, 50035);
}

#[tokio::test]
async fn a_refused_channel_edit_changes_nothing() {
    // Modify Channel: "a 400 BAD REQUEST on invalid parameters"; nothing of the request applies.
    let guild = Guild::new(INSTALL).await;
    let channel = guild
        .create_channel(json!({"name": "before", "type": 0}))
        .await;
    let channel = channel.body["id"].as_str().expect("id").to_owned();
    let refused = guild
        .discord(
            Method::PATCH,
            &format!("channels/{channel}"),
            Some(json!({"name": "after", "topic": "x".repeat(1025)})),
        )
        .await;
    assert_discord_error(&refused, 400, 50035);
    let now = guild
        .discord(Method::GET, &format!("channels/{channel}"), None)
        .await;
    assert_eq!(now.body["name"], "before");
}

#[tokio::test]
async fn deleting_a_category_leaves_its_channels_without_a_parent() {
    // Delete/Close Channel: "Deleting a category does not delete its child channels; they will
    // have their parent_id removed".
    let guild = Guild::new(INSTALL).await;
    let category = guild
        .create_channel(json!({"name": "Leads 1", "type": 4}))
        .await;
    let category = category.body["id"].as_str().expect("id").to_owned();
    let child = guild
        .create_channel(json!({"name": "child", "type": 0, "parent_id": category}))
        .await;
    let child = child.body["id"].as_str().expect("id").to_owned();
    guild
        .discord(Method::DELETE, &format!("channels/{category}"), None)
        .await
        .assert_status(200);
    let now = guild
        .discord(Method::GET, &format!("channels/{child}"), None)
        .await;
    now.assert_status(200);
    assert_eq!(now.body["parent_id"], Value::Null);
}
