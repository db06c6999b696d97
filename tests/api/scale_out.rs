//! Several replicas on one PostgreSQL and Redis: Discord's limits hold for the bot as a whole,
//! not per replica. Each replica alone would believe it owns the bot's 50 calls a second and
//! every channel's bucket; sharing them through Redis keeps the sum under Discord's limits.
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;

use crate::helpers::{
    Backend, TestApp,
    discord::{connected, open_and_wait},
    spawn_app,
    views::Message,
};

const CHANNELS: usize = 30;
const MESSAGES: usize = 150;

fn simulator(app: &TestApp) -> &switchboard::sandbox::Sandbox {
    app.state.sandbox.as_deref().expect("sandbox mode")
}

/// Three replicas send 150 messages to 30 channels at once, at Discord's real pace (50 calls a
/// second for the bot, 5 messages per 5 seconds per channel): Discord never answers 429, and
/// every message is posted exactly once.
#[tokio::test]
#[ignore = "needs PostgreSQL and Redis: run scripts/test"]
async fn three_replicas_keep_discords_limits_between_them() {
    let a = spawn_app(Backend::Services).await;
    let b = a.second_replica().await;
    let c = a.second_replica().await;
    let (account, _guild, _) = connected(&a).await;

    // Set-up at compressed time: 30 lead channels.
    simulator(&a).discord.limits.set_window_divisor(1000);
    let mut leads = Vec::new();
    for i in 0..CHANNELS {
        let lead = a.create_lead(&account.token, &format!("Lead {i}")).await;
        let channel = open_and_wait(&a, &account.token, &lead.id).await;
        assert_eq!(channel.state, "active", "{channel:?}");
        let channel_id = channel
            .channel_id
            .clone()
            .expect("an active channel has an id");
        leads.push((lead.id, channel_id));
    }
    // Discord's real pace from here on.
    simulator(&a).discord.limits.set_window_divisor(1);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = simulator(&a).discord.limits.sent_429();

    let replicas = [&a, &b, &c];
    let answers: Vec<(usize, u16, String)> = futures::stream::iter(0..MESSAGES)
        .map(|i| {
            let (replica, lead, token) = (replicas[i % 3], &leads[i % CHANNELS].0, &account.token);
            async move {
                let reply = replica
                    .post(
                        "/api/discord/send-message",
                        token,
                        json!({"leadId": lead, "content": format!("Message {i}")}),
                    )
                    .await;
                (i, reply.status.as_u16(), reply.text)
            }
        })
        .buffer_unordered(60)
        .collect()
        .await;
    for (i, status, text) in &answers {
        assert_eq!(*status, 201, "message {i}: {text}");
    }
    assert_eq!(
        simulator(&a).discord.limits.sent_429() - before,
        0,
        "Discord answered 429 to calls of the three replicas"
    );

    // Every message ends sent (the outbox finishes any that waited), and is in its channel once.
    let mut sent = 0;
    for (lead, channel_id) in &leads {
        let messages = crate::helpers::gateway::wait_for(async || {
            let list: Vec<Message> = a
                .get(
                    &format!("/api/leads/{lead}/messages?limit=100"),
                    &account.token,
                )
                .await
                .items();
            list.iter().all(|m| m.state == "sent").then_some(list)
        })
        .await;
        sent += messages.len();
        let posted = simulator(&a)
            .discord
            .channels
            .messages_of(channel_id.parse().expect("a snowflake"))
            .into_iter()
            .filter(|m| m.content.starts_with("Message "))
            .count();
        assert_eq!(
            posted,
            messages.len(),
            "each message once in channel {channel_id}"
        );
    }
    assert_eq!(sent, MESSAGES);
    drop((b, c));
}
