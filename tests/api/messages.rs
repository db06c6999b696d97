use std::time::Duration;

use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{
    Account, Auth, JsonText, TestApp,
    discord::{LeadWithChannel, as_bot, connected, lead_with_channel},
    views::{Channel, Lead, Message},
};

/// Messages on Discord in the channel, oldest first, without the welcome.
async fn on_discord(app: &TestApp, channel: &str) -> Vec<Value> {
    let reply = as_bot(
        app,
        Method::GET,
        &format!("channels/{channel}/messages?limit=100"),
    )
    .await;
    reply.assert_status(200);
    let mut messages: Vec<Value> = reply.body.as_array().cloned().expect("a list of messages");
    messages.reverse();
    messages
        .into_iter()
        .filter(|m| !m["content"].text().starts_with("Welcome"))
        .collect()
}

async fn faults(app: &TestApp, faults: Value) {
    app.request(
        Method::PUT,
        "/sandbox/discord/faults",
        Auth::None,
        Some(faults),
    )
    .await
    .assert_status(200);
}

/// Polls the lead's messages until `id` reaches `state` (the outbox works in the background).
async fn wait_for_state(
    app: &TestApp,
    account: &Account,
    lead: &Lead,
    id: &str,
    state: &str,
) -> Message {
    let path = format!("/api/leads/{}/messages", lead.id);
    for _ in 0..250 {
        let list = app.get(&path, &account.token).await;
        if let Some(m) = list
            .items::<Message>()
            .into_iter()
            .find(|m| m.id == id)
            .filter(|m| m.state == state)
        {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("message {id} never reached {state}");
}

storage_test!(a_message_is_delivered_at_once_with_a_nonce, |app| {
    let LeadWithChannel {
        account,
        lead,
        channel,
        ..
    } = lead_with_channel(&app).await;
    let sent = app
        .post(
            "/api/discord/send-message",
            &account.token,
            json!({"leadId": lead.id, "content": "Hi Grace,\nwelcome aboard <@1>"}),
        )
        .await;
    sent.assert_status(201);
    let sent: Message = sent.json();
    assert_eq!(sent.state, "sent");
    assert_eq!(sent.direction, "outbound");
    assert_eq!(sent.author, format!("crm:{}", account.user_id));
    let discord = on_discord(&app, &channel).await;
    assert_eq!(discord.len(), 1);
    assert_eq!(
        discord[0]["id"].text(),
        sent.discord_message_id
            .as_deref()
            .expect("a sent message has its Discord id")
    );
    assert_eq!(discord[0]["content"], "Hi Grace,\nwelcome aboard <@1>");
    assert_eq!(discord[0]["nonce"].as_str().map(str::len), Some(25));
    let list = app
        .get(&format!("/api/leads/{}/messages", lead.id), &account.token)
        .await;
    assert_eq!(list.items::<Message>()[0].id, sent.id);
    let channel_view: Channel = app
        .get(
            &format!("/api/discord/channels/{}", lead.id),
            &account.token,
        )
        .await
        .json();
    assert_eq!(channel_view.message_count, 1);
});

storage_test!(
    an_idempotency_key_replays_refuses_reuse_and_guards_in_flight_requests,
    |app| {
        let LeadWithChannel {
            account,
            lead,
            channel,
            ..
        } = lead_with_channel(&app).await;
        let send = |key: &'static str, content: &'static str| {
            app.send(
                app.client
                    .post(app.url("/api/discord/send-message"))
                    .bearer_auth(&account.token)
                    .header("idempotency-key", key),
                Auth::None,
                Some(json!({"leadId": lead.id, "content": content})),
            )
        };
        let first = send("order-42", "Your order shipped").await;
        first.assert_status(201);
        let again = send("order-42", "Your order shipped").await;
        again.assert_status(201);
        assert_eq!(
            again.json::<Message>().id,
            first.json::<Message>().id,
            "the same request answers the first message"
        );
        send("order-42", "Something else")
            .await
            .assert_problem(422, "idempotency_key_reused");
        assert_eq!(on_discord(&app, &channel).await.len(), 1, "sent once");

        // A slow Discord keeps the first request in flight while the second arrives.
        faults(&app, json!({"latencyMs": 600})).await;
        let (slow, racing) = tokio::join!(send("order-43", "Slow one"), async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            send("order-43", "Slow one").await
        });
        slow.assert_status(201);
        racing.assert_problem(409, "idempotency_request_in_flight");
        send("bad key with spaces", "x")
            .await
            .assert_invalid_field("Idempotency-Key");
    }
);

storage_test!(
    a_message_is_delivered_exactly_once_when_the_first_attempts_fail,
    |app| {
        let LeadWithChannel {
            account,
            lead,
            channel,
            ..
        } = lead_with_channel(&app).await;
        faults(
            &app,
            json!({"failRoute": "channels/{channel_id}/messages", "failRouteCount": 2}),
        )
        .await;
        let queued = app
            .post(
                "/api/discord/send-message",
                &account.token,
                json!({"leadId": lead.id, "content": "Retried"}),
            )
            .await;
        queued.assert_status(201);
        assert_eq!(
            queued.body["state"], "queued",
            "the first attempt failed; the outbox takes over"
        );
        let id = queued.json::<Message>().id;
        let sent = wait_for_state(&app, &account, &lead, &id, "sent").await;
        assert!(sent.discord_message_id.is_some());
        let discord = on_discord(&app, &channel).await;
        assert_eq!(
            discord.iter().filter(|m| m["content"] == "Retried").count(),
            1,
            "exactly once"
        );
    }
);

storage_test!(
    a_forbidden_delivery_dies_at_once_and_can_be_retried,
    |app| {
        let LeadWithChannel {
            account,
            guild,
            lead,
            channel,
        } = lead_with_channel(&app).await;
        app.request(
            Method::DELETE,
            &format!("/sandbox/discord/servers/{guild}/bot"),
            Auth::None,
            None,
        )
        .await
        .assert_status(204);
        let failed = app
            .post(
                "/api/discord/send-message",
                &account.token,
                json!({"leadId": lead.id, "content": "Blocked"}),
            )
            .await;
        failed.assert_status(201);
        let failed_text = failed.text.clone();
        let failed: Message = failed.json();
        assert_eq!(failed.state, "failed", "403 is not retried");
        assert!(
            failed
                .failure_reason
                .as_deref()
                .is_some_and(|r| r.contains("403")),
            "{failed_text}"
        );
        assert_eq!(
            app.get("/api/integrations", &account.token).await.body["items"][0]["health"],
            "degraded"
        );
        let dead = app.get("/api/jobs?state=dead", &account.token).await;
        assert_eq!(dead.body["items"].as_array().map(Vec::len), Some(1));
        let job = dead.body["items"][0]["id"].text().to_owned();

        app.request(
            Method::PUT,
            &format!("/sandbox/discord/servers/{guild}/bot"),
            Auth::None,
            None,
        )
        .await
        .assert_status(204);
        let retried = app
            .post(&format!("/api/jobs/{job}/retry"), &account.token, json!({}))
            .await;
        retried.assert_status(200);
        assert_eq!(retried.body["state"], "pending");
        wait_for_state(&app, &account, &lead, &failed.id, "sent").await;
        assert_eq!(on_discord(&app, &channel).await.len(), 1);
        app.post(&format!("/api/jobs/{job}/retry"), &account.token, json!({}))
            .await
            .assert_problem(409, "job_not_dead");
    }
);

storage_test!(
    a_retried_delivery_claimed_at_once_still_delivers_its_message,
    |app| {
        let LeadWithChannel {
            account,
            guild,
            lead,
            channel,
        } = lead_with_channel(&app).await;
        let bot = format!("/sandbox/discord/servers/{guild}/bot");
        app.request(Method::DELETE, &bot, Auth::None, None)
            .await
            .assert_status(204);
        let mut failed = Vec::new();
        for i in 0..10 {
            let sent = app
                .post(
                    "/api/discord/send-message",
                    &account.token,
                    json!({"leadId": lead.id, "content": format!("Blocked {i}")}),
                )
                .await;
            let message: Message = sent.json();
            assert_eq!(message.state, "failed", "{}", sent.text);
            failed.push(message.id);
        }
        app.request(Method::PUT, &bot, Auth::None, None)
            .await
            .assert_status(204);
        let dead = app.get("/api/jobs?state=dead", &account.token).await;
        let jobs: Vec<String> = dead.body["items"]
            .as_array()
            .expect("a list of jobs")
            .iter()
            .map(|j| j["id"].text().to_owned())
            .collect();
        assert_eq!(jobs.len(), 10);

        // A worker that claims a job the moment it is pending, as a busy replica would.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let eager = {
            let (state, stop) = (app.state.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    match switchboard::jobs::claim_next(&state.db, switchboard::messages::DELIVER)
                        .await
                    {
                        Ok(Some(job)) => {
                            let _ = switchboard::messages::run(&state, job).await;
                        }
                        _ => tokio::task::yield_now().await,
                    }
                }
            })
        };
        for job in &jobs {
            app.post(&format!("/api/jobs/{job}/retry"), &account.token, json!({}))
                .await
                .assert_status(200);
        }
        for id in &failed {
            wait_for_state(&app, &account, &lead, id, "sent").await;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = eager.await;
        assert_eq!(on_discord(&app, &channel).await.len(), 10);
    }
);

storage_test!(sending_needs_an_open_channel_and_valid_content, |app| {
    let (account, _, lead) = connected(&app).await;
    let send = |content: Value| {
        app.post(
            "/api/discord/send-message",
            &account.token,
            json!({"leadId": lead.id, "content": content}),
        )
    };
    send(json!("Hello"))
        .await
        .assert_problem(409, "lead_has_no_channel");
    app.post(
        "/api/discord/channels",
        &account.token,
        json!({"leadId": lead.id}),
    )
    .await
    .assert_status(201);
    send(json!("   ")).await.assert_invalid_field("content");
    send(json!("x".repeat(2001)))
        .await
        .assert_invalid_field("content");
    app.post(
        &format!("/api/discord/channels/{}/archive", lead.id),
        &account.token,
        json!({}),
    )
    .await
    .assert_status(200);
    send(json!("Too late"))
        .await
        .assert_problem(409, "channel_archived");
    let member = app.signup("Member home").await;
    let member_token = app.join(&account, &member, "member").await;
    app.get("/api/jobs", &member_token)
        .await
        .assert_problem(403, "forbidden");
    let stranger = app.signup("Stranger").await;
    app.post(
        "/api/discord/send-message",
        &stranger.token,
        json!({"leadId": lead.id, "content": "Hi"}),
    )
    .await
    .assert_problem(404, "lead_not_found");
});

storage_test!(
    a_message_is_delivered_exactly_once_when_discord_answers_too_late,
    |app| {
        let LeadWithChannel {
            account,
            lead,
            channel,
            ..
        } = lead_with_channel(&app).await;
        // Discord posts the message but its answer comes after the client gave up (7 s in tests).
        faults(&app, json!({"slowAnswers": 1, "slowAnswerMs": 8000})).await;
        let queued = app
            .post(
                "/api/discord/send-message",
                &account.token,
                json!({"leadId": lead.id, "content": "Late answer"}),
            )
            .await;
        queued.assert_status(201);
        assert_eq!(
            queued.body["state"], "queued",
            "the first attempt timed out"
        );
        let id = queued.json::<Message>().id;
        // The retry carries the same nonce: Discord answers with the message it already posted.
        let sent = wait_for_state(&app, &account, &lead, &id, "sent").await;
        let discord = on_discord(&app, &channel).await;
        let posted: Vec<&Value> = discord
            .iter()
            .filter(|m| m["content"] == "Late answer")
            .collect();
        assert_eq!(posted.len(), 1, "exactly once");
        assert_eq!(
            posted[0]["id"].text(),
            sent.discord_message_id
                .as_deref()
                .expect("a sent message has its Discord id")
        );
    }
);

storage_test!(
    every_message_ends_sent_exactly_once_when_discord_fails_at_random,
    |app| {
        let LeadWithChannel {
            account,
            lead,
            channel,
            ..
        } = lead_with_channel(&app).await;
        // 15% of Discord's answers are 500s; the outbox retries until each message is sent. (All five
        // attempts of one message fail with probability 0.15^5 < 0.0001, so this does not flake.)
        faults(&app, json!({"errorRate": 0.15})).await;
        let mut ids = Vec::new();
        for i in 0..6 {
            let reply = app
                .post(
                    "/api/discord/send-message",
                    &account.token,
                    json!({"leadId": lead.id, "content": format!("Flaky {i}")}),
                )
                .await;
            reply.assert_status(201);
            ids.push(reply.json::<Message>().id);
        }
        for id in &ids {
            wait_for_state(&app, &account, &lead, id, "sent").await;
        }
        faults(&app, json!({})).await;
        let discord = on_discord(&app, &channel).await;
        for i in 0..6 {
            let content = format!("Flaky {i}");
            assert_eq!(
                discord
                    .iter()
                    .filter(|m| m["content"] == content.as_str())
                    .count(),
                1,
                "{content} exactly once"
            );
        }
    }
);

storage_test!(
    a_delivery_in_flight_is_claimed_only_for_the_discord_deadline_and_a_margin,
    |app| {
        let LeadWithChannel { account, lead, .. } = lead_with_channel(&app).await;
        // Discord answers slowly: the delivery stays in flight long enough to look at it.
        faults(&app, json!({"latencyMs": 2000})).await;
        let send = {
            let (app_url, token, lead_id) = (
                app.url("/api/discord/send-message"),
                account.token.clone(),
                lead.id.clone(),
            );
            let client = app.client.clone();
            tokio::spawn(async move {
                client
                    .post(app_url)
                    .bearer_auth(token)
                    .json(&json!({"leadId": lead_id, "content": "Hold on"}))
                    .send()
                    .await
            })
        };
        let claimed = loop {
            let running = switchboard::entities::job::Entity::find()
                .filter(switchboard::entities::job::Column::State.eq("running"))
                .one(&app.state.db)
                .await
                .expect("query");
            if let Some(job) = running {
                break job;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let lease = claimed.locked_until.expect("claimed") - claimed.updated_at;
        let deadline = chrono::Duration::from_std(app.state.settings.discord_timeout).expect("d");
        assert!(
            lease <= deadline + chrono::Duration::seconds(15),
            "a worker that dies mid-delivery holds it for {lease:?}, past the call's deadline"
        );
        assert!(
            lease > deadline,
            "but never shorter than the call itself may take"
        );
        send.await.expect("joined").expect("answered");
    }
);

/// Many sends at once on the embedded database, with Discord answering at once (its limits
/// lifted): more requests than pooled connections, all writing. Each is answered 201; none
/// waits on a connection that the transaction ahead of it needs (a write transaction holding
/// SQLite's one write lock while it waited for a second connection used to stall them all,
/// answering 503 and 408).
#[tokio::test]
async fn forty_sends_at_once_on_sqlite_are_all_accepted() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Backend::Embedded, |s| {
        s.discord_global_limit = 5000;
    })
    .await;
    let LeadWithChannel { account, lead, .. } = lead_with_channel(&app).await;
    let sandbox = app.state.sandbox.as_deref().expect("sandbox");
    sandbox.discord.limits.set_global_limit(5000);
    sandbox.discord.limits.set_window_divisor(1000);
    let started = std::time::Instant::now();
    let answers = futures::future::join_all((0..40).map(|i| {
        app.post(
            "/api/discord/send-message",
            &account.token,
            json!({"leadId": lead.id, "content": format!("At once {i}")}),
        )
    }))
    .await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    assert!(
        statuses.iter().all(|s| *s == 201),
        "{statuses:?} after {:?}",
        started.elapsed()
    );
}
