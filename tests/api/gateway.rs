//! The gateway: the simulator's protocol, spoken by hand, and the product's serenity client
//! connected to it — routing, live delivery, platform changes and catch-up after outages.
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as Ws;

use crate::helpers::{
    BOT_TOKEN, JsonText, TestApp,
    discord::{LeadWithChannel, as_bot, lead_with_channel},
    gateway::{
        control, gateway_status, gateway_up, inbound, inbound_contents, post_as, routing_events,
        wait_for,
    },
    schema::assert_discord_schema,
    sse::Sse,
    views::{Channel, Lead},
};

const WAIT: Duration = Duration::from_secs(15);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn gateway_url(app: &TestApp) -> String {
    let reply = as_bot(app, Method::GET, "gateway/bot").await;
    reply.assert_status(200);
    assert_discord_schema("GatewayBotResponse", &reply.body);
    reply.body["url"].as_str().expect("url").to_owned()
}

async fn connect(url: &str, query: &str) -> Socket {
    tokio_tungstenite::connect_async(format!("{url}?{query}"))
        .await
        .expect("connects")
        .0
}

/// The next JSON payload, or the close code when the server closes.
async fn recv(socket: &mut Socket) -> Result<Value, u16> {
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("the gateway answers in time");
        match message {
            Some(Ok(Ws::Text(text))) => return Ok(serde_json::from_str(&text).expect("JSON")),
            Some(Ok(Ws::Close(frame))) => return Err(frame.map_or(1005, |f| u16::from(f.code))),
            Some(Ok(_)) => continue,
            _ => return Err(1006),
        }
    }
}

async fn send(socket: &mut Socket, payload: Value) {
    socket
        .send(Ws::Text(payload.to_string()))
        .await
        .expect("send");
}

fn identify(token: &str, intents: u64) -> Value {
    json!({"op": 2, "d": {"token": token, "intents": intents, "properties": {"os": "linux", "browser": "test", "device": "test"}}})
}

/// Reads dispatches until one named `name`.
async fn until(socket: &mut Socket, name: &str) -> Value {
    loop {
        let payload = recv(socket).await.expect("open");
        if payload["t"] == name {
            return payload;
        }
    }
}

#[tokio::test]
async fn the_gateway_simulator_speaks_discords_protocol() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Embedded).await;
    let guild = crate::helpers::oauth::sandbox_guild(&app, "Protocol server").await;
    control(
        &app,
        Method::PUT,
        &format!("/sandbox/discord/servers/{guild}/bot"),
        json!({}),
    )
    .await
    .assert_status(204);
    let member = control(
        &app,
        Method::POST,
        &format!("/sandbox/discord/servers/{guild}/members"),
        json!({"username": "lin"}),
    )
    .await;
    let user = member.body["user"]["id"].as_str().expect("id").to_owned();
    let seeded = control(
        &app,
        Method::POST,
        &format!("/sandbox/discord/servers/{guild}/channels"),
        json!({"count": 1}),
    )
    .await;
    seeded.assert_status(201);
    let channel = as_bot(&app, Method::GET, &format!("guilds/{guild}/channels"))
        .await
        .body[0]["id"]
        .as_str()
        .expect("channel")
        .to_owned();

    // Asked once, as a client should: the route has a rate limit like Discord's.
    let url = gateway_url(&app).await;
    assert!(
        url.starts_with("ws://127.0.0.1:") && url.ends_with("/sandbox/discord/gateway"),
        "{url}"
    );
    // A wrong API version and a wrong token are refused with Discord's close codes.
    let mut old = connect(&url, "v=6&encoding=json").await;
    assert_eq!(recv(&mut old).await, Err(4012));
    let mut wrong = connect(&url, "v=10&encoding=json").await;
    assert_eq!(recv(&mut wrong).await.expect("hello")["op"], 10);
    send(&mut wrong, identify("not-the-token", 1)).await;
    assert_eq!(recv(&mut wrong).await, Err(4004));
    let mut early = connect(&url, "v=10&encoding=json").await;
    recv(&mut early).await.expect("hello");
    send(&mut early, json!({"op": 3, "d": {}})).await;
    assert_eq!(recv(&mut early).await, Err(4003));

    // HELLO, heartbeat ACK, READY with the guild, then GUILD_CREATE.
    let mut socket = connect(&url, "v=10&encoding=json").await;
    let hello = recv(&mut socket).await.expect("hello");
    assert_eq!(hello["op"], 10);
    assert!(
        hello["d"]["heartbeat_interval"]
            .as_u64()
            .is_some_and(|i| i > 0)
    );
    send(&mut socket, json!({"op": 1, "d": null})).await;
    assert_eq!(recv(&mut socket).await.expect("ack")["op"], 11);
    // GUILDS | GUILD_MESSAGES, without MESSAGE_CONTENT.
    send(&mut socket, identify(BOT_TOKEN, 1 | 1 << 9)).await;
    let ready = recv(&mut socket).await.expect("ready");
    assert_eq!(
        (ready["op"].clone(), ready["t"].clone(), ready["s"].clone()),
        (json!(0), json!("READY"), json!(1))
    );
    let parsed: serenity::all::Ready =
        serde_json::from_value(ready["d"].clone()).expect("serenity reads READY");
    assert!(
        parsed
            .guilds
            .iter()
            .any(|g| g.id.get().to_string() == guild)
    );
    let session = ready["d"]["session_id"]
        .as_str()
        .expect("session")
        .to_owned();
    let created = until(&mut socket, "GUILD_CREATE").await;
    assert!(created["s"].as_u64().is_some());

    // A member's message arrives without its content: no MESSAGE_CONTENT intent.
    post_as(&app, &channel, &user, "secret words").await;
    let message = until(&mut socket, "MESSAGE_CREATE").await;
    assert_eq!(message["d"]["content"], "");
    assert_eq!(message["d"]["guild_id"], guild.as_str());
    let parsed: serenity::all::Message =
        serde_json::from_value(message["d"].clone()).expect("serenity reads MESSAGE_CREATE");
    assert_eq!(parsed.author.id.get().to_string(), user);
    let seq = message["s"].as_u64().expect("seq");

    // Dropped, then resumed: what was dispatched meanwhile is replayed, then RESUMED.
    control(
        &app,
        Method::POST,
        "/sandbox/discord/gateway/disconnect",
        json!({}),
    )
    .await
    .assert_status(200);
    assert!(recv(&mut socket).await.is_err());
    post_as(&app, &channel, &user, "while away").await;
    let mut again = connect(&url, "v=10&encoding=json").await;
    recv(&mut again).await.expect("hello");
    send(
        &mut again,
        json!({"op": 6, "d": {"token": BOT_TOKEN, "session_id": session, "seq": seq}}),
    )
    .await;
    let replayed = recv(&mut again).await.expect("replay");
    assert_eq!(
        (replayed["t"].clone(), replayed["s"].clone()),
        (json!("MESSAGE_CREATE"), json!(seq + 1))
    );
    assert_eq!(until(&mut again, "RESUMED").await["s"], json!(seq + 2));
    send(&mut again, identify(BOT_TOKEN, 1)).await;
    assert_eq!(recv(&mut again).await, Err(4005));

    // An invalidated session cannot be resumed: INVALID_SESSION, not resumable.
    control(
        &app,
        Method::POST,
        "/sandbox/discord/gateway/disconnect",
        json!({"resumable": false}),
    )
    .await
    .assert_status(200);
    let mut stale = connect(&url, "v=10&encoding=json").await;
    recv(&mut stale).await.expect("hello");
    send(
        &mut stale,
        json!({"op": 6, "d": {"token": BOT_TOKEN, "session_id": session, "seq": seq + 2}}),
    )
    .await;
    let invalid = recv(&mut stale).await.expect("invalid session");
    assert_eq!(
        (invalid["op"].clone(), invalid["d"].clone()),
        (json!(9), json!(false))
    );

    // With MESSAGE_CONTENT, the content is there.
    send(&mut stale, identify(BOT_TOKEN, 1 | 1 << 9 | 1 << 15)).await;
    until(&mut stale, "READY").await;
    post_as(&app, &channel, &user, "visible words").await;
    assert_eq!(
        until(&mut stale, "MESSAGE_CREATE").await["d"]["content"],
        "visible words"
    );
}

gateway_test!(a_lead_reply_reaches_its_lead_and_an_open_stream, |app| {
    let LeadWithChannel {
        account,
        guild,
        lead,
        channel,
    } = lead_with_channel(&app).await;
    let (lead_id, user) = (lead.id.as_str(), lead.discord_user());
    gateway_up(&app).await;
    let mut stream = Sse::open(&app, "/api/events", &account.token, None).await;
    let mut lead_stream = Sse::open(
        &app,
        &format!("/api/leads/{lead_id}/events"),
        &account.token,
        None,
    )
    .await;

    let posted = post_as(&app, &channel, user, "Hi! Question about my order").await;
    let mut kinds = Vec::new();
    let created = loop {
        let event = stream.next(WAIT).await.expect("an event arrives");
        kinds.push(event.kind.clone());
        if event.kind == "message.created" {
            break event;
        }
    };
    crate::helpers::sse::assert_live_event_schema(&app, &created).await;
    assert_eq!(created.data["leadId"], lead_id);
    let message = &created.data["data"];
    assert_eq!(message["direction"], "inbound");
    assert_eq!(message["state"], "received");
    assert_eq!(message["content"], "Hi! Question about my order");
    assert_eq!(message["discordMessageId"], posted["id"]);
    assert_eq!(message["author"], format!("discord:{user}"));
    // The first message from the lead marks them joined.
    let joined = stream.next(WAIT).await.expect("lead.updated");
    assert_eq!(joined.kind, "lead.updated");
    assert_eq!(joined.data["data"]["discordJoinedChannel"], true);
    assert_eq!(
        lead_stream.next(WAIT).await.expect("lead stream").kind,
        "message.created"
    );

    let stored = inbound(&app, &account, &lead).await;
    assert_eq!(stored.len(), 1);
    let lead_now: Lead = app
        .get(&format!("/api/leads/{lead_id}"), &account.token)
        .await
        .json();
    assert!(lead_now.last_contact_at.is_some());
    let channel_now: Channel = app
        .get(&format!("/api/discord/channels/{lead_id}"), &account.token)
        .await
        .json();
    assert_eq!(channel_now.message_count, 1);
    let routed = routing_events(&app, &account, "&decision=routed").await;
    assert_eq!(routed.len(), 1);
    assert_eq!(routed[0].lead_id.as_deref(), Some(lead_id));
    assert_eq!(routed[0].path["guildId"], guild.as_str());

    // Another company sees none of it.
    let other = app.signup("Other Co").await;
    assert!(routing_events(&app, &other, "").await.is_empty());
});

gateway_test!(
    messages_that_cannot_be_placed_are_recorded_with_why_and_not_stored,
    |app| {
        let LeadWithChannel {
            account,
            guild,
            lead,
            ..
        } = lead_with_channel(&app).await;
        let user = lead.discord_user();
        gateway_up(&app).await;

        // The bot's own message (a CRM send) comes back through the gateway as an echo.
        let sent = app
            .post(
                "/api/discord/send-message",
                &account.token,
                json!({"leadId": lead.id, "content": "Hello from the team"}),
            )
            .await;
        sent.assert_status(201);
        let echo_id = sent.body["discordMessageId"].text().to_owned();

        // A channel in the company's server that is no lead's.
        control(
            &app,
            Method::POST,
            &format!("/sandbox/discord/servers/{guild}/channels"),
            json!({"count": 1}),
        )
        .await
        .assert_status(201);
        let unmapped = switchboard_channels(&app, &guild)
            .await
            .into_iter()
            .find(|c| c["name"].as_str().is_some_and(|n| n.starts_with("seeded")))
            .expect("seeded channel");
        let unmapped_id = unmapped["id"].text().to_owned();
        let stray = post_as(&app, &unmapped_id, user, "anyone there?").await;

        // Company B's lead channel, claimed by a message in company A's server.
        let LeadWithChannel {
            account: b_account,
            lead: b_lead,
            channel: b_channel,
            ..
        } = lead_with_channel(&app).await;
        let mut forged = post_as(&app, &b_channel, b_lead.discord_user(), "placeholder").await;
        // The real one was routed to B; forge a new message id in A's guild with B's channel.
        forged["id"] = json!("1300000000000000999");
        forged["content"] = json!("spoofed");
        forged["guild_id"] = json!(guild);
        control(
            &app,
            Method::POST,
            "/sandbox/discord/gateway/dispatch",
            json!({"t": "MESSAGE_CREATE", "guildId": guild, "d": forged}),
        )
        .await
        .assert_status(204);

        let events = wait_for(async || {
            let events = routing_events(&app, &account, "").await;
            let has = |reason| events.iter().any(|e| e.reason.as_deref() == Some(reason));
            (has("tenant_mismatch") && has("unknown_channel") && has("own_bot")).then_some(events)
        })
        .await;
        let find = |reason: &str| {
            events
                .iter()
                .find(|e| e.reason.as_deref() == Some(reason))
                .cloned()
                .expect(reason)
        };
        assert_eq!(find("own_bot").decision, "ignored");
        assert_eq!(
            find("own_bot").discord_message_id.as_deref(),
            Some(echo_id.as_str())
        );
        assert_eq!(find("unknown_channel").decision, "rejected");
        assert_eq!(
            find("unknown_channel").discord_message_id.as_deref(),
            Some(stray["id"].text())
        );
        let spoof = find("tenant_mismatch");
        assert_eq!(spoof.decision, "rejected");
        assert_eq!(spoof.channel_id.as_deref(), Some(b_channel.as_str()));
        // A sees that the channel is another company's, never whose or which lead's.
        assert_eq!(spoof.path["channelOwner"], "another_company", "{spoof:?}");
        // The event as served, every field of it (not only those read above).
        let seen = raw_routing_event(&app, &account.token, "tenant_mismatch").await;
        assert!(
            !seen.contains(b_account.company_id.as_str()) && !seen.contains(b_lead.id.as_str()),
            "B's ids leak into A's routing event: {seen}"
        );

        // Nothing of it was stored, for A or for B: B has only its lead's real message.
        assert!(inbound(&app, &account, &lead).await.is_empty());
        let b_contents = async || -> Vec<String> {
            inbound(&app, &b_account, &b_lead)
                .await
                .into_iter()
                .map(|m| m.content)
                .collect()
        };
        wait_for(async || (!b_contents().await.is_empty()).then_some(())).await;
        assert_eq!(b_contents().await, ["placeholder"]);

        // Filters: by channel and by decision; a bad decision is a 422 naming the field.
        let in_channel = routing_events(&app, &account, &format!("&channelId={unmapped_id}")).await;
        assert_eq!(in_channel.len(), 1);
        assert!(
            routing_events(&app, &account, "&decision=rejected")
                .await
                .iter()
                .all(|e| e.decision == "rejected")
        );
        app.get("/api/routing-events?decision=maybe", &account.token)
            .await
            .assert_invalid_field("decision");
        let later = (chrono::Utc::now() + chrono::Duration::hours(1))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        assert!(
            routing_events(&app, &account, &format!("&since={later}"))
                .await
                .is_empty()
        );

        // A direct message from the lead's Discord user: exactly one active lead has it.
        let dm = control(
            &app,
            Method::POST,
            &format!("/sandbox/discord/users/{user}/dm"),
            json!({"content": "via DM"}),
        )
        .await;
        dm.assert_status(201);
        let from_dm = wait_for(async || {
            let found = inbound(&app, &account, &lead).await;
            (!found.is_empty()).then_some(found)
        })
        .await;
        assert_eq!(from_dm[0].content, "via DM");
    }
);

/// The first of the company's routing events with this reason, as the API serves it.
async fn raw_routing_event(app: &TestApp, token: &str, reason: &str) -> String {
    let reply = app.get("/api/routing-events?limit=100", token).await;
    reply.assert_status(200);
    reply.body["items"]
        .as_array()
        .and_then(|events| events.iter().find(|e| e["reason"] == reason))
        .unwrap_or_else(|| panic!("a {reason} event in {}", reply.text))
        .to_string()
}

async fn switchboard_channels(app: &TestApp, guild: &str) -> Vec<Value> {
    let reply = as_bot(app, Method::GET, &format!("guilds/{guild}/channels")).await;
    reply.assert_status(200);
    reply.body.as_array().cloned().expect("a list of channels")
}

gateway_test!(
    replies_posted_while_the_gateway_is_down_are_stored_once_after_catch_up,
    |app| {
        let LeadWithChannel {
            account,
            lead,
            channel,
            ..
        } = lead_with_channel(&app).await;
        let user = lead.discord_user();
        let before = gateway_up(&app).await;

        // A short drop is resumed: the missed event is replayed, no new IDENTIFY.
        control(
            &app,
            Method::POST,
            "/sandbox/discord/gateway/disconnect",
            json!({}),
        )
        .await
        .assert_status(200);
        post_as(&app, &channel, user, "during a blip").await;
        wait_for(async || (inbound(&app, &account, &lead).await.len() == 1).then_some(())).await;
        let after = gateway_status(&app).await;
        assert_eq!(after.identifies, before.identifies);
        assert!(after.resumes > before.resumes);

        // A long outage: the session is lost and the gateway refused for a while, so nothing is
        // replayed; 100 replies arrive meanwhile and catch-up must find them all.
        control(
            &app,
            Method::POST,
            "/sandbox/discord/gateway/disconnect",
            json!({"resumable": false, "refuseMs": 3000}),
        )
        .await
        .assert_status(200);
        for n in 0..100 {
            post_as(&app, &channel, user, &format!("reply {n}")).await;
        }
        wait_for(async || (inbound_contents(&app).await.len() >= 101).then_some(())).await;
        // Exactly once each: no more arrive, and every content is there once.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut contents = inbound_contents(&app).await;
        assert_eq!(contents.len(), 101, "{} stored", contents.len());
        contents.sort();
        contents.dedup();
        assert_eq!(contents.len(), 101);
        let channel_row: Channel = app
            .get(
                &format!("/api/discord/channels/{}", lead.id),
                &account.token,
            )
            .await
            .json();
        assert_eq!(channel_row.message_count, 101);

        // The catch-up that found them wrote its sync log.
        let logs: Vec<(i64, i64)> = {
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
            switchboard::entities::sync_log::Entity::find()
                .filter(switchboard::entities::sync_log::Column::ResourceType.eq("messages"))
                .all(&app.state.db)
                .await
                .expect("sync logs")
                .into_iter()
                .filter(|l| l.completed_at.is_some())
                .map(|l| (i64::from(l.records_synced), i64::from(l.records_created)))
                .collect()
        };
        assert!(logs.iter().any(|(_, created)| *created >= 1), "{logs:?}");
        assert_eq!(
            logs.iter().map(|(_, c)| c).sum::<i64>() as usize + stored_on_gateway(&app).await,
            101
        );
    }
);

/// Messages the gateway stored (as opposed to catch-up), from their routing events.
async fn stored_on_gateway(app: &TestApp) -> usize {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    switchboard::entities::routing_event::Entity::find()
        .filter(switchboard::entities::routing_event::Column::Decision.eq("routed"))
        .filter(switchboard::entities::routing_event::Column::Source.eq("gateway"))
        .filter(switchboard::entities::routing_event::Column::EventType.eq("MESSAGE_CREATE"))
        .count(&app.state.db)
        .await
        .expect("count") as usize
}

gateway_test!(
    deleted_channels_and_lost_servers_show_up_in_channels_and_health,
    |app| {
        let LeadWithChannel {
            account,
            guild,
            lead,
            channel,
        } = lead_with_channel(&app).await;
        let lead_id = lead.id.as_str();
        gateway_up(&app).await;
        let mut stream = Sse::open(
            &app,
            &format!("/api/leads/{lead_id}/events"),
            &account.token,
            None,
        )
        .await;

        // A server admin deletes the lead's channel in Discord.
        control(
            &app,
            Method::DELETE,
            &format!("/sandbox/discord/channels/{channel}"),
            json!({}),
        )
        .await
        .assert_status(204);
        let archived = stream.next(WAIT).await.expect("channel.archived");
        assert_eq!(archived.kind, "channel.archived");
        let row: Channel = app
            .get(&format!("/api/discord/channels/{lead_id}"), &account.token)
            .await
            .json();
        assert!(!row.is_active);
        let audit = app
            .get("/api/audit-log?action=channel.deleted", &account.token)
            .await;
        assert_eq!(audit.body["items"].as_array().map(Vec::len), Some(1));

        let health = async || {
            let list = app.get("/api/integrations", &account.token).await;
            list.body["items"]
                .as_array()
                .and_then(|items| items.iter().find(|i| i["provider"] == "discord"))
                .map(|i| i["health"].text().to_owned())
                .unwrap_or_else(|| panic!("the Discord integration in {}", list.text))
        };
        // An outage: degraded, then healthy again when the guild is back.
        control(
            &app,
            Method::POST,
            &format!("/sandbox/discord/servers/{guild}/outage"),
            json!({"unavailable": true}),
        )
        .await
        .assert_status(204);
        wait_for(async || (health().await == "degraded").then_some(())).await;
        control(
            &app,
            Method::POST,
            &format!("/sandbox/discord/servers/{guild}/outage"),
            json!({"unavailable": false}),
        )
        .await
        .assert_status(204);
        wait_for(async || (health().await == "connected").then_some(())).await;
        // The bot removed from the server: disconnected.
        control(
            &app,
            Method::DELETE,
            &format!("/sandbox/discord/servers/{guild}/bot"),
            json!({}),
        )
        .await
        .assert_status(204);
        wait_for(async || (health().await == "disconnected").then_some(())).await;
        let gone = routing_events(&app, &account, "").await;
        assert!(
            gone.iter()
                .any(|e| e.event_type == "GUILD_DELETE"
                    && e.reason.as_deref() == Some("bot_removed"))
        );
    }
);

/// Replicas share a state store only through Redis (in-process state means one replica), so
/// this runs on PostgreSQL and Redis only.
#[tokio::test]
#[ignore = "needs PostgreSQL and Redis: run scripts/test"]
async fn one_replica_runs_the_gateway_at_a_time() {
    let app =
        crate::helpers::spawn_app_with(crate::helpers::Backend::Services, |s| s.gateway = true)
            .await;
    gateway_up(&app).await;
    let replica = app.second_replica().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = gateway_status(&app).await;
    let connected = status.sessions.iter().filter(|s| s.connected).count();
    assert_eq!(connected, 1, "{status:?}");
    assert_eq!(status.identifies, 1);
    drop(replica);
}

// The simulated Discord client: a person posts as the lead from a web page, and the reply
// goes through the gateway into the product like any other.
gateway_test!(
    a_person_posts_as_the_lead_from_the_sandbox_chat_page,
    |app| {
        let LeadWithChannel {
            account,
            guild,
            lead,
            channel,
        } = lead_with_channel(&app).await;
        let user = lead.discord_user();
        gateway_up(&app).await;
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let page_url = app.url(&format!("/sandbox/discord/chat/{channel}"));
        let page = async || {
            let reply = browser.get(&page_url).send().await.expect("page");
            assert_eq!(reply.status(), 200);
            reply.text().await.expect("html")
        };
        let on_discord = || {
            let sandbox = app.state.sandbox.as_ref().expect("sandbox");
            sandbox
                .discord
                .channels
                .messages_of(channel.parse().expect("id"))
                .len()
        };

        let index = browser
            .get(app.url("/sandbox/discord/chat"))
            .send()
            .await
            .expect("index")
            .text()
            .await
            .expect("html");
        assert!(
            index.contains(&format!(r#"href="/sandbox/discord/chat/{channel}""#)),
            "{index}"
        );
        let html = page().await;
        assert!(
            html.contains("Switchboard (bot)"),
            "the welcome shows: {html}"
        );
        assert!(
            html.contains(&format!(r#"<option value="{user}" selected>"#)),
            "the lead is chosen to post as: {html}"
        );

        let posted = browser
            .post(&page_url)
            .form(&[("authorId", user), ("content", "Hi <b>there</b> & thanks")])
            .send()
            .await
            .expect("post");
        assert_eq!(posted.status(), 303);
        assert_eq!(
            posted.headers()["location"],
            format!("/sandbox/discord/chat/{channel}").as_str()
        );
        let stored = wait_for(async || {
            let messages = inbound(&app, &account, &lead).await;
            (!messages.is_empty()).then_some(messages)
        })
        .await;
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].content, "Hi <b>there</b> & thanks");
        assert!(
            page()
                .await
                .contains("Hi &lt;b&gt;there&lt;/b&gt; &amp; thanks")
        );

        // Refused posts change nothing and say why.
        let before = on_discord();
        for (author, content, why) in [
            (user, "   ", "between 1 and 2000"),
            ("12345", "Hello", "Unknown Member"),
        ] {
            let refused = browser
                .post(&page_url)
                .form(&[("authorId", author), ("content", content)])
                .send()
                .await
                .expect("post");
            assert_eq!(refused.status(), 422);
            assert!(refused.text().await.expect("html").contains(why));
        }
        assert_eq!(on_discord(), before);

        // Anyone else in the server can be added and post too.
        let added = browser
            .post(app.url(&format!("/sandbox/discord/chat/{channel}/members")))
            .form(&[("username", "grace")])
            .send()
            .await
            .expect("add");
        assert_eq!(added.status(), 303);
        assert!(page().await.contains(">grace</option>"));
        let too_short = browser
            .post(app.url(&format!("/sandbox/discord/chat/{channel}/members")))
            .form(&[("username", " x ")])
            .send()
            .await
            .expect("add");
        assert_eq!(too_short.status(), 422);
        assert!(too_short.text().await.expect("html").contains("2 to 32"));
        control(
            &app,
            Method::POST,
            &format!("/sandbox/discord/servers/{guild}/members"),
            json!({ "username": "x" }),
        )
        .await
        .assert_status(400);

        let unknown = browser
            .get(app.url("/sandbox/discord/chat/42"))
            .send()
            .await
            .expect("page");
        assert_eq!(unknown.status(), 404);
    }
);
