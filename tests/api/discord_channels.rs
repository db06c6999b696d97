//! Channels, overwrites and messages through the Discord client against the simulator, with
//! the simulator's answers checked against Discord's official OpenAPI document.
use reqwest::Method;
use serde_json::{Value, json};
use switchboard::discord::{
    DiscordError, DiscordRest,
    model::{
        ChannelKind, NewChannel, NewMessage, Overwrite, OverwriteTarget, Snowflake, permission,
    },
};

use crate::helpers::{Auth, Backend, TestApp, oauth, schema::assert_discord_schema, spawn_app};

/// A channel to create, with no topic and no overwrites.
fn channel(name: &str, kind: ChannelKind, parent_id: Option<Snowflake>) -> NewChannel {
    NewChannel {
        name: name.into(),
        kind,
        topic: None,
        parent_id,
        overwrites: Vec::new(),
    }
}

fn rest(app: &TestApp) -> &DiscordRest {
    app.state
        .discord
        .as_deref()
        .expect("sandbox mode has a Discord client")
}

/// A guild with the bot installed (with `permissions` granted) and one member, "grace".
async fn guild_with_member(app: &TestApp, permissions: Option<&str>) -> (Snowflake, Snowflake) {
    let account = app.signup("Channels Co").await;
    let guild = oauth::sandbox_guild(app, "Channels guild").await;
    let (browser, _) = app.login_browser(&account).await;
    let consent = oauth::start(app, &browser, &account, "discord").await;
    let mut consent = consent;
    if let Some(permissions) = permissions {
        // A server admin who unticks permissions on Discord's consent page.
        consent.html = consent
            .html
            .replace("value=\"268553232\"", &format!("value=\"{permissions}\""));
    }
    let location = oauth::decide(&browser, &consent, true, Some(&guild)).await;
    oauth::land(app, &browser, &location)
        .await
        .0
        .assert_status(200);
    let member = app
        .request(
            Method::POST,
            &format!("/sandbox/discord/servers/{guild}/members"),
            Auth::None,
            Some(json!({"username": "grace"})),
        )
        .await;
    member.assert_status(201);
    assert_discord_schema("GuildMemberResponse", &member.body);
    (
        guild.parse().expect("id"),
        member.body["user"]["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("user id"),
    )
}

async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> crate::helpers::Reply {
    let token = format!(
        "Bot {}",
        switchboard::sandbox::credentials::DISCORD_BOT_TOKEN
    );
    app.send(
        app.client
            .request(method, app.url(&format!("/sandbox/discord/api/v10/{path}")))
            .header("authorization", token),
        Auth::None,
        body,
    )
    .await
}

#[tokio::test]
async fn a_private_channel_with_overwrites_in_a_category() {
    let app = spawn_app(Backend::Embedded).await;
    let (guild, member) = guild_with_member(&app, None).await;
    let bot: Snowflake = switchboard::sandbox::credentials::DISCORD_CLIENT_ID
        .parse()
        .expect("id");
    let category = rest(&app)
        .create_guild_channel(guild, &channel("Leads 1", ChannelKind::Category, None))
        .await
        .expect("category");
    let overwrites = vec![
        Overwrite {
            target: OverwriteTarget::Role(guild),
            allow: 0,
            deny: permission::VIEW_CHANNEL,
        },
        Overwrite {
            target: OverwriteTarget::Member(bot),
            allow: permission::VIEW_CHANNEL
                | permission::SEND_MESSAGES
                | permission::READ_MESSAGE_HISTORY,
            deny: 0,
        },
    ];
    let channel = rest(&app)
        .create_guild_channel(
            guild,
            &NewChannel {
                name: "Grace Hopper 1a2b".into(),
                kind: ChannelKind::Text,
                topic: Some("Lead: Grace Hopper".into()),
                parent_id: Some(category.id),
                overwrites,
            },
        )
        .await
        .expect("channel");
    assert_eq!(
        channel.name, "grace-hopper-1a2b",
        "Discord lowercases and dashes text channel names"
    );
    assert_eq!(channel.parent_id, Some(category.id));
    assert_eq!(channel.overwrites.len(), 2);
    rest(&app)
        .put_overwrite(
            channel.id,
            Overwrite {
                target: OverwriteTarget::Member(member),
                allow: permission::VIEW_CHANNEL | permission::SEND_MESSAGES,
                deny: 0,
            },
        )
        .await
        .expect("overwrite");
    let fetched = rest(&app).channel(channel.id).await.expect("get");
    assert_eq!(fetched.overwrites.len(), 3);
    // The same channel as Discord's JSON: valid against the official schema.
    let raw_channel = raw(&app, Method::GET, &format!("channels/{}", channel.id), None).await;
    raw_channel.assert_status(200);
    assert_discord_schema("GuildChannelResponse", &raw_channel.body);
    assert!(
        raw_channel.body["permission_overwrites"][0]["allow"].is_string(),
        "bitfields are strings, as documented"
    );
    rest(&app)
        .delete_overwrite(channel.id, member)
        .await
        .expect("delete overwrite");
    assert_eq!(
        rest(&app)
            .channel(channel.id)
            .await
            .expect("get")
            .overwrites
            .len(),
        2
    );
    rest(&app).delete_channel(channel.id).await.expect("delete");
    let gone = rest(&app).channel(channel.id).await.expect_err("deleted");
    assert!(
        matches!(
            gone,
            DiscordError::Api {
                status: 404,
                code: 10003,
                ..
            }
        ),
        "{gone:?}"
    );
}

#[tokio::test]
async fn a_message_with_an_enforced_nonce_is_created_once() {
    let app = spawn_app(Backend::Embedded).await;
    let (guild, member) = guild_with_member(&app, None).await;
    let channel = rest(&app)
        .create_guild_channel(guild, &channel("lead", ChannelKind::Text, None))
        .await
        .expect("channel");
    let send = || NewMessage {
        content: format!("Hello <@{member}>"),
        nonce: Some("msg-123".into()),
        enforce_nonce: true,
        mention_users: vec![member],
    };
    let first = rest(&app)
        .create_message(channel.id, &send())
        .await
        .expect("sent");
    let again = rest(&app)
        .create_message(channel.id, &send())
        .await
        .expect("sent again");
    assert_eq!(
        first.id, again.id,
        "a retry with the same nonce returns the first message"
    );
    assert_eq!(first.mentions.len(), 1);
    let listed = rest(&app)
        .messages_after(channel.id, 0, 100)
        .await
        .expect("list");
    assert_eq!(listed.len(), 1, "only one message exists");
    let raw_list = raw(
        &app,
        Method::GET,
        &format!("channels/{}/messages?limit=10", channel.id),
        None,
    )
    .await;
    assert_discord_schema("MessageResponse", &raw_list.body[0]);

    let too_long = rest(&app)
        .create_message(
            channel.id,
            &NewMessage {
                content: "x".repeat(2001),
                ..NewMessage::default()
            },
        )
        .await
        .expect_err("too long");
    assert!(
        matches!(
            too_long,
            DiscordError::Api {
                status: 400,
                code: 50035,
                ..
            }
        ),
        "{too_long:?}"
    );
    let empty = rest(&app)
        .create_message(
            channel.id,
            &NewMessage {
                content: "  ".into(),
                ..NewMessage::default()
            },
        )
        .await
        .expect_err("empty");
    assert!(
        matches!(
            empty,
            DiscordError::Api {
                status: 400,
                code: 50006,
                ..
            }
        ),
        "{empty:?}"
    );
}

#[tokio::test]
async fn messages_after_an_id_page_forward_and_answer_newest_first() {
    let app = spawn_app(Backend::Embedded).await;
    let (guild, member) = guild_with_member(&app, None).await;
    let channel = rest(&app)
        .create_guild_channel(guild, &channel("history", ChannelKind::Text, None))
        .await
        .expect("channel");
    let mut ids = Vec::new();
    for i in 0..5 {
        let posted = app
            .request(
                Method::POST,
                &format!("/sandbox/discord/channels/{}/messages", channel.id),
                Auth::None,
                Some(json!({"authorId": member.to_string(), "content": format!("reply {i}")})),
            )
            .await;
        posted.assert_status(201);
        ids.push(
            posted.body["id"]
                .as_str()
                .and_then(|s| s.parse::<u64>().ok())
                .expect("id"),
        );
    }
    let page = rest(&app)
        .messages_after(channel.id, ids[1], 2)
        .await
        .expect("page");
    let got: Vec<u64> = page.iter().map(|m| m.message_id.get()).collect();
    assert_eq!(
        got,
        vec![ids[3], ids[2]],
        "the two after ids[1], newest first"
    );
    assert_eq!(page[0].author_id, member);
}

#[tokio::test]
async fn discord_channel_limits_and_missing_permissions_are_enforced() {
    let app = spawn_app(Backend::Embedded).await;
    let (guild, _) = guild_with_member(&app, None).await;
    let category = rest(&app)
        .create_guild_channel(guild, &channel("Full", ChannelKind::Category, None))
        .await
        .expect("category");
    app.request(
        Method::POST,
        &format!("/sandbox/discord/servers/{guild}/channels"),
        Auth::None,
        Some(json!({"count": 50, "parentId": category.id.to_string()})),
    )
    .await
    .assert_status(201);
    let full = rest(&app)
        .create_guild_channel(
            guild,
            &channel("one-more", ChannelKind::Text, Some(category.id)),
        )
        .await
        .expect_err("category full");
    assert!(
        matches!(
            full,
            DiscordError::Api {
                status: 400,
                code: 50035,
                ..
            }
        ),
        "{full:?}"
    );
    app.request(
        Method::POST,
        &format!("/sandbox/discord/servers/{guild}/channels"),
        Auth::None,
        Some(json!({"count": 449})),
    )
    .await
    .assert_status(201);
    let at_limit = rest(&app)
        .create_guild_channel(
            guild,
            &channel("five-hundred-and-one", ChannelKind::Text, None),
        )
        .await
        .expect_err("guild full");
    assert!(
        matches!(
            at_limit,
            DiscordError::Api {
                status: 400,
                code: 30013,
                ..
            }
        ),
        "{at_limit:?}"
    );

    // A bot installed without Manage Channels cannot create one.
    let app = spawn_app(Backend::Embedded).await;
    let (guild, _) = guild_with_member(&app, Some("3072")).await;
    let denied = rest(&app)
        .create_guild_channel(guild, &channel("nope", ChannelKind::Text, None))
        .await
        .expect_err("no permission");
    assert!(
        matches!(
            denied,
            DiscordError::Api {
                status: 403,
                code: 50013,
                ..
            }
        ),
        "{denied:?}"
    );
}
