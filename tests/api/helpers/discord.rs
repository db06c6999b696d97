//! Companies with Discord connected, leads with channels, the bot's permissions.

use reqwest::Method;
use serde_json::json;

use super::{
    Account, Auth, BOT_TOKEN, JsonText, Reply, TestApp, oauth,
    views::{Channel, Lead},
};

/// A call to the simulated Discord's REST API as the bot (`path` after `/api/v10/`).
pub async fn as_bot(app: &TestApp, method: Method, path: &str) -> Reply {
    app.send(
        app.client
            .request(method, app.url(&format!("/sandbox/discord/api/v10/{path}")))
            .header("authorization", format!("Bot {BOT_TOKEN}")),
        Auth::None,
        None,
    )
    .await
}

/// A company with Discord connected to a fresh sandbox server, and a lead who is a member there.
pub async fn connected(app: &TestApp) -> (Account, String, Lead) {
    let account = app.signup("Channel Co").await;
    let guild = oauth::sandbox_guild(app, "Lead server").await;
    let (browser, _) = app.login_browser(&account).await;
    oauth::connect(app, &browser, &account, "discord", Some(&guild))
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
    let user_id = member.body["user"]["id"].text().to_owned();
    let lead = app
        .post(
            "/api/leads",
            &account.token,
            json!({"name": "Grace Hopper", "discordUserId": user_id, "discordUsername": "grace"}),
        )
        .await;
    lead.assert_status(201);
    (account, guild, lead.json())
}

/// A server admin sets the bot's role to these permissions.
pub async fn set_bot_permissions(app: &TestApp, guild: &str, permissions: u64) {
    let servers = app
        .request(Method::GET, "/sandbox/discord/servers", Auth::None, None)
        .await;
    let role = servers.body["items"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"] == guild))
        .and_then(|s| s["botRoleId"].as_str())
        .expect("the bot has a role in the server")
        .to_owned();
    app.request(
        Method::PATCH,
        &format!("/sandbox/discord/servers/{guild}/roles/{role}"),
        Auth::None,
        Some(json!({"permissions": permissions.to_string()})),
    )
    .await
    .assert_status(204);
}

/// Opens the lead's channel and, when the answer is 202, follows it until it is made or failed.
pub async fn open_and_wait(app: &TestApp, token: &str, lead_id: &str) -> Channel {
    let opened = app
        .post("/api/discord/channels", token, json!({"leadId": lead_id}))
        .await;
    assert!(
        matches!(opened.status.as_u16(), 200..=202),
        "{}",
        opened.text
    );
    let path = format!("/api/discord/channels/{lead_id}");
    let mut view: Channel = opened.json();
    // Behind a long queue (60 creations at Discord's pace take a minute), so a generous wait.
    for _ in 0..1500 {
        if view.state != "provisioning" {
            return view;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        view = app.get(&path, token).await.json();
    }
    panic!("the channel never left provisioning: {view:?}");
}

/// A company, a lead with an open channel, and the channel's id.
pub struct LeadWithChannel {
    pub account: Account,
    pub guild: String,
    pub lead: Lead,
    pub channel: String,
}

pub async fn lead_with_channel(app: &TestApp) -> LeadWithChannel {
    let (account, guild, lead) = connected(app).await;
    let opened = app
        .post(
            "/api/discord/channels",
            &account.token,
            json!({"leadId": lead.id}),
        )
        .await;
    opened.assert_status(201);
    let channel = opened
        .json::<Channel>()
        .channel_id
        .unwrap_or_else(|| panic!("an open channel has an id: {}", opened.text));
    LeadWithChannel {
        account,
        guild,
        lead,
        channel,
    }
}
