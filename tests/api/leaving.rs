//! Leaving cleanly: deleting a lead erases them and closes their channel; disconnecting
//! Discord stops every delivery and makes the bot leave the server.
use std::time::Duration;

use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use switchboard::entities::{audit_entry, message};

use crate::helpers::{
    Auth, JsonText, TestApp,
    discord::{LeadWithChannel, as_bot, lead_with_channel},
    gateway::{control, gateway_up, post_as, routing_events, wait_for},
    views::Message,
};

const ADMINISTRATOR: u64 = 1 << 3;

/// A server admin (a member with an ADMINISTRATOR role), who sees every channel.
async fn server_admin(app: &TestApp, guild: &str) -> String {
    let member = control(
        app,
        Method::POST,
        &format!("/sandbox/discord/servers/{guild}/members"),
        json!({"username": "server-admin"}),
    )
    .await;
    let user = member.body["user"]["id"].text().to_owned();
    let role = control(
        app,
        Method::POST,
        &format!("/sandbox/discord/servers/{guild}/roles"),
        json!({"name": "Admins", "permissions": ADMINISTRATOR.to_string()}),
    )
    .await;
    let role = role.body["id"].as_str().expect("id").to_owned();
    app.request(
        Method::PUT,
        &format!("/sandbox/discord/servers/{guild}/members/{user}/roles/{role}"),
        Auth::None,
        None,
    )
    .await
    .assert_status(204);
    user
}

gateway_test!(
    deleting_a_lead_erases_them_closes_their_channel_and_refuses_replies_there,
    |app| {
        let LeadWithChannel {
            account,
            guild,
            lead,
            channel,
        } = lead_with_channel(&app).await;
        gateway_up(&app).await;
        let (lead_id, user) = (lead.id.as_str(), lead.discord_user());
        app.post(
            "/api/discord/send-message",
            &account.token,
            json!({"leadId": lead_id, "content": "Your order shipped"}),
        )
        .await
        .assert_status(201);
        post_as(&app, &channel, user, "Thanks!").await;
        let company: uuid::Uuid = account.company_id.parse().expect("uuid");
        let lead_uuid: uuid::Uuid = lead_id.parse().expect("uuid");
        let stored = || {
            message::Entity::find()
                .filter(message::Column::LeadId.eq(lead_uuid))
                .count(&app.state.db)
        };
        wait_for(async || (stored().await.ok()? == 2).then_some(())).await;

        app.delete(&format!("/api/leads/{lead_id}"), &account.token)
            .await
            .assert_status(204);

        // Their data is gone.
        app.get(&format!("/api/leads/{lead_id}"), &account.token)
            .await
            .assert_problem(404, "lead_not_found");
        app.get(&format!("/api/discord/channels/{lead_id}"), &account.token)
            .await
            .assert_problem(404, "lead_not_found");
        assert_eq!(
            stored().await.expect("count"),
            0,
            "their messages went with them"
        );
        assert_eq!(
            app.get("/api/discord/channels", &account.token).await.body["items"],
            json!([])
        );
        let audited = audit_entry::Entity::find()
            .filter(audit_entry::Column::CompanyId.eq(company))
            .filter(audit_entry::Column::Action.eq("lead.deleted"))
            .count(&app.state.db)
            .await
            .expect("count");
        assert_eq!(audited, 1);

        // At Discord the lead no longer sees the channel, which no longer names them.
        let on_discord = wait_for(async || {
            let c = as_bot(&app, Method::GET, &format!("channels/{channel}"))
                .await
                .body;
            let gone = c["permission_overwrites"]
                .as_array()
                .is_some_and(|o| o.iter().all(|o| o["id"] != user));
            gone.then_some(c)
        })
        .await;
        assert!(
            on_discord["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("archived-") && !n.contains("grace")),
            "{on_discord}"
        );
        let refused = control(
            &app,
            Method::POST,
            &format!("/sandbox/discord/channels/{channel}/messages"),
            json!({"authorId": user, "content": "still here?"}),
        )
        .await;
        assert_eq!(refused.body["code"], 50001, "{}", refused.text);

        // Someone who still sees it (a server admin) writes there: not routed to anyone.
        let admin = server_admin(&app, &guild).await;
        let posted = post_as(&app, &channel, &admin, "Cleaning up").await;
        let decided = wait_for(async || {
            routing_events(&app, &account, &format!("&channelId={channel}"))
                .await
                .into_iter()
                .find(|e| e.discord_message_id.as_deref() == Some(posted["id"].text()))
        })
        .await;
        assert_eq!(
            (decided.decision.as_str(), decided.reason.as_deref()),
            ("rejected", Some("channel_archived")),
            "{decided:?}"
        );
        assert_eq!(stored().await.expect("count"), 0);
    }
);

storage_test!(
    disconnecting_discord_stops_sending_fails_pending_deliveries_and_the_bot_leaves,
    |app| {
        let LeadWithChannel {
            account,
            guild,
            lead,
            channel,
        } = lead_with_channel(&app).await;
        // Discord failing: the message waits in the outbox.
        control(
            &app,
            Method::PUT,
            "/sandbox/discord/faults",
            json!({"force500": 1000}),
        )
        .await
        .assert_status(200);
        let queued = app
            .post(
                "/api/discord/send-message",
                &account.token,
                json!({"leadId": lead.id, "content": "Are you there?"}),
            )
            .await;
        queued.assert_status(201);
        assert_eq!(queued.body["state"], "queued", "{}", queued.text);
        control(&app, Method::PUT, "/sandbox/discord/faults", json!({}))
            .await
            .assert_status(200);

        app.delete("/api/integrations/discord", &account.token)
            .await
            .assert_status(204);

        // The waiting message ends failed, saying why.
        let id = queued.json::<Message>().id;
        let path = format!("/api/leads/{}/messages", lead.id);
        let failed = wait_for(async || {
            let list = app.get(&path, &account.token).await;
            list.items::<Message>()
                .into_iter()
                .find(|m| m.id == id && m.state == "failed")
        })
        .await;
        assert!(
            failed
                .failure_reason
                .as_deref()
                .is_some_and(|r| r.starts_with("discord_not_connected")),
            "{failed:?}"
        );
        // New sends are refused.
        app.post(
            "/api/discord/send-message",
            &account.token,
            json!({"leadId": lead.id, "content": "One more"}),
        )
        .await
        .assert_problem(409, "discord_not_connected");
        // The bot left the server.
        let servers = app
            .request(Method::GET, "/sandbox/discord/servers", Auth::None, None)
            .await;
        let server: Value = servers.body["items"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["id"] == guild.as_str()).cloned())
            .expect("server");
        assert_eq!(server["botMember"], false, "{server}");
        let channels = as_bot(&app, Method::GET, &format!("guilds/{guild}/channels")).await;
        assert_eq!(channels.body["code"], 50001);
        // Nothing of it reached the channel, however long the outbox waits.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let posted = app
            .state
            .sandbox
            .as_ref()
            .expect("sandbox")
            .discord
            .channels
            .messages_of(channel.parse().expect("snowflake"));
        assert!(
            posted.iter().all(|m| !m.content.contains("Are you there")),
            "{posted:?}"
        );
    }
);
