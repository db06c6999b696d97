//! The fault suite: what production brings (Discord failing at random, PostgreSQL and Redis
//! restarting, replicas stopped by SIGTERM or killed outright), each checked for its promise:
//! nothing accepted is lost, nothing is delivered twice, and the service recovers by itself.
//! These run on PostgreSQL and Redis (scripts/test starts them).
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use futures::StreamExt;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{
    Account, Backend, PrivatePostgres, PrivateRedis, TestApp,
    discord::{LeadWithChannel, connected, lead_with_channel, open_and_wait},
    gateway::{control, gateway_status, gateway_up, inbound, post_as},
    process::{ReplicaProcess, printable_jwt_secret},
    spawn_app_with,
    views::Lead,
};

fn simulator(app: &TestApp) -> &switchboard::sandbox::Sandbox {
    app.state.sandbox.as_deref().expect("sandbox mode")
}

/// `count` leads with open channels (set up at compressed time): (lead id, channel id).
async fn leads_with_channels(app: &TestApp, token: &str, count: usize) -> Vec<(String, u64)> {
    simulator(app).discord.limits.set_window_divisor(1000);
    let mut leads = Vec::new();
    for i in 0..count {
        let lead = app.create_lead(token, &format!("Lead {i}")).await;
        let channel = open_and_wait(app, token, &lead.id).await;
        let channel_id = channel
            .channel_id
            .as_deref()
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("an active channel has an id: {channel:?}"));
        leads.push((lead.id, channel_id));
    }
    leads
}

/// How many times each text was posted in these channels, as Discord has them.
fn posted(app: &TestApp, channels: &[(String, u64)]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for (_, channel) in channels {
        for message in simulator(app).discord.channels.messages_of(*channel) {
            *counts.entry(message.content).or_insert(0) += 1;
        }
    }
    counts
}

/// The state of every outbound message the product stored, by content.
async fn outbound(app: &TestApp) -> HashMap<String, String> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    switchboard::entities::message::Entity::find()
        .filter(switchboard::entities::message::Column::Direction.eq("outbound"))
        .all(&app.state.db)
        .await
        .expect("messages")
        .into_iter()
        .map(|m| {
            let state = serde_json::to_value(m.state).expect("a state");
            (m.content, state.as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

/// Waits (at most `within`) until `expected` outbound messages are stored and none is still
/// queued; then every one must be `sent`, and posted exactly once.
async fn all_sent_once(
    app: &TestApp,
    channels: &[(String, u64)],
    expected: &[String],
    within: Duration,
) {
    let deadline = Instant::now() + within;
    let states = loop {
        let states = outbound(app).await;
        if states.len() >= expected.len() && states.values().all(|s| s != "queued") {
            break states;
        }
        assert!(
            Instant::now() < deadline,
            "still queued after {within:?}: {} of {} stored, {} queued",
            states.len(),
            expected.len(),
            states.values().filter(|s| *s == "queued").count()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let not_sent: Vec<_> = states.iter().filter(|(_, s)| *s != "sent").collect();
    assert!(not_sent.is_empty(), "not sent: {not_sent:?}");
    let counts = posted(app, channels);
    let wrong: Vec<_> = expected
        .iter()
        .filter(|content| counts.get(*content).copied().unwrap_or(0) != 1)
        .map(|content| (content, counts.get(content).copied().unwrap_or(0)))
        .collect();
    assert!(wrong.is_empty(), "posted other than once: {wrong:?}");
    assert_eq!(states.len(), expected.len(), "no message stored twice");
}

/// Sends one message with an idempotency key through `base` (an app or a replica process),
/// returning the status, or `None` when no answer came (the connection refused or cut).
async fn send(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    lead: &str,
    content: &str,
) -> Option<u16> {
    client
        .post(format!("{base}/api/discord/send-message"))
        .bearer_auth(token)
        .header("idempotency-key", content.replace(' ', "-"))
        .json(&json!({"leadId": lead, "content": content}))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

/// Discord fails a fifth of the calls at random while 1,000 messages are sent: 500s, 429s and
/// answers that come only after the product's deadline (the call took effect, the answer was
/// lost). Every message ends sent, and Discord has each exactly once (the outbox retries with
/// the message's nonce and `enforce_nonce`).
#[tokio::test]
#[ignore = "needs PostgreSQL and Redis: run scripts/test"]
async fn discord_failing_a_fifth_of_calls_still_posts_each_of_1000_messages_once() {
    let app = spawn_app_with(Backend::Services, |s| {
        s.discord_timeout = Duration::from_secs(1);
        s.discord_global_limit = 2000;
    })
    .await;
    let (account, _, _) = connected(&app).await;
    let leads = leads_with_channels(&app, &account.token, 20).await;
    let limits = &simulator(&app).discord.limits;
    limits.set_global_limit(2000);
    control(
        &app,
        Method::PUT,
        "/sandbox/discord/faults",
        json!({
            "errorRate": 0.07,
            "rateLimitRate": 0.07,
            "force429RetryAfterMs": 100,
            "slowAnswerRate": 0.06,
            "slowAnswerMs": 1500,
        }),
    )
    .await
    .assert_status(200);
    let calls_before = limits.calls();

    let contents: Vec<String> = (0..1000).map(|i| format!("Faulty {i}")).collect();
    let answers: Vec<(usize, Option<u16>)> = futures::stream::iter(contents.iter().enumerate())
        .map(|(i, content)| {
            let (client, base, token, lead) = (
                &app.client,
                app.url(""),
                &account.token,
                &leads[i % leads.len()].0,
            );
            async move {
                (
                    i,
                    send(client, base.trim_end_matches('/'), token, lead, content).await,
                )
            }
        })
        .buffer_unordered(25)
        .collect()
        .await;
    let refused: Vec<_> = answers
        .iter()
        .filter(|(_, status)| !matches!(status, Some(201 | 202)))
        .collect();
    assert!(
        refused.is_empty(),
        "every message is accepted; {} were not, as {:?}",
        refused.len(),
        refused.iter().take(5).collect::<Vec<_>>()
    );
    all_sent_once(&app, &leads, &contents, Duration::from_secs(180)).await;
    let calls = limits.calls() - calls_before;
    eprintln!("{calls} calls to Discord for 1,000 messages");
    assert!(
        calls > 1100,
        "the faults were in play: {calls} calls for 1,000 messages"
    );
    control(&app, Method::PUT, "/sandbox/discord/faults", json!({}))
        .await
        .assert_status(200);
}

/// PostgreSQL restarts (an immediate stop, as a crash) while messages are on their way to a
/// slow Discord: `/readyz` says so, requests are refused with a retryable 503 meanwhile, and
/// once it is back the same process serves again; every message accepted is sent exactly once
/// (a client repeats what got no answer with the same idempotency key).
#[tokio::test]
#[ignore = "needs PostgreSQL's binaries: run scripts/test"]
async fn a_postgres_restart_loses_no_accepted_message() {
    let postgres = PrivatePostgres::start().await;
    let app = postgres.app().await;
    let LeadWithChannel {
        account,
        lead,
        channel,
        ..
    } = lead_with_channel(&app).await;
    let channels = [(lead.id.clone(), channel.parse::<u64>().expect("an id"))];
    control(
        &app,
        Method::PUT,
        "/sandbox/discord/faults",
        json!({"latencyMs": 1500}),
    )
    .await
    .assert_status(200);
    simulator(&app).discord.limits.set_window_divisor(1000);

    let contents: Vec<String> = (0..12)
        .map(|i| format!("Through the restart {i}"))
        .collect();
    let base = app.url("");
    let base = base.trim_end_matches('/');
    let sends = futures::future::join_all(
        contents
            .iter()
            .map(|c| send(&app.client, base, &account.token, &lead.id, c)),
    );
    let restart = async {
        // The messages are stored and their calls to Discord are under way.
        tokio::time::sleep(Duration::from_millis(700)).await;
        postgres.stop();
        let ready = app
            .request(Method::GET, "/readyz", crate::helpers::Auth::None, None)
            .await;
        ready.assert_problem(503, "database_unavailable");
        tokio::time::sleep(Duration::from_secs(1)).await;
        postgres.resume().await;
    };
    let (answers, ()) = tokio::join!(sends, restart);
    for answer in &answers {
        assert!(
            matches!(answer, Some(201 | 202 | 503)),
            "an answer, or a retryable 503: {answers:?}"
        );
    }
    eprintln!("answers during the restart: {answers:?}");
    control(&app, Method::PUT, "/sandbox/discord/faults", json!({}))
        .await
        .assert_status(200);
    // The client repeats what was refused; the idempotency key makes that safe.
    for content in &contents {
        let again = crate::helpers::gateway::wait_for(async || {
            send(&app.client, base, &account.token, &lead.id, content)
                .await
                .filter(|s| matches!(s, 200..=202))
        })
        .await;
        assert!(matches!(again, 200..=202));
    }
    all_sent_once(&app, &channels, &contents, Duration::from_secs(60)).await;
    app.request(Method::GET, "/readyz", crate::helpers::Auth::None, None)
        .await
        .assert_status(200);
}

/// Redis stops and comes back empty while a replica runs the gateway and another waits for it:
/// the running shard keeps its session (no second IDENTIFY), takes its lease back, and the
/// waiting replica does not take it; replies still flow.
#[tokio::test]
#[ignore = "needs redis-server: run scripts/test"]
async fn a_redis_restart_keeps_the_gateway_session_and_its_lease() {
    let mut redis = PrivateRedis::start().await;
    let app = redis.app_with(|s| s.gateway = true).await;
    let LeadWithChannel {
        account,
        lead,
        channel,
        ..
    } = lead_with_channel(&app).await;
    gateway_up(&app).await;
    let waiting = app.second_replica().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(gateway_status(&app).await.identifies, 1);

    redis.stop();
    // Replies keep coming in meanwhile: routing needs only the database.
    post_as(&app, &channel, lead.discord_user(), "During the outage").await;
    // Longer than a renewal period: the holder's renewal fails, and so does the other's try.
    tokio::time::sleep(Duration::from_secs(7)).await;
    redis.restart().await;
    // The holder renews (taking the lease back) before the other replica tries again.
    tokio::time::sleep(Duration::from_secs(12)).await;

    let status = gateway_status(&app).await;
    assert_eq!(
        status.identifies, 1,
        "the session survived the outage: {status:?}"
    );
    assert_eq!(status.sessions.iter().filter(|s| s.connected).count(), 1);
    let holder = app
        .state
        .state
        .get("gateway_lease:0/1")
        .await
        .expect("Redis is back");
    assert!(holder.is_some(), "the lease was taken back");

    post_as(&app, &channel, lead.discord_user(), "Still here?").await;
    let stored = crate::helpers::gateway::wait_for(async || {
        let messages = inbound(&app, &account, &lead).await;
        (messages.len() >= 2).then_some(messages)
    })
    .await;
    let mut contents: Vec<&str> = stored.iter().map(|m| m.content.as_str()).collect();
    contents.sort_unstable();
    assert_eq!(contents, ["During the outage", "Still here?"]);
    drop(waiting);
}

/// A company, leads with channels (the last one a member of the server, who can reply), and a
/// replica process running the gateway; the app itself runs no gateway.
struct GatewayReplica {
    account: Account,
    channels: Vec<(String, u64)>,
    member: Lead,
    member_channel: String,
    replica: ReplicaProcess,
}

async fn company_with_gateway_replica(app: &TestApp, leads: usize) -> GatewayReplica {
    let (account, _, member) = connected(app).await;
    let mut channels = leads_with_channels(app, &account.token, leads).await;
    let opened = open_and_wait(app, &account.token, &member.id).await;
    let member_channel = opened.channel_id.expect("an active channel has an id");
    channels.push((
        member.id.clone(),
        member_channel.parse().expect("a snowflake"),
    ));
    let replica = ReplicaProcess::start(app, true).await;
    gateway_up(app).await;
    GatewayReplica {
        account,
        channels,
        member,
        member_channel,
        replica,
    }
}

/// SIGTERM while messages are being sent (a rolling deploy): every request in flight is
/// answered, the process exits cleanly within its drain time and gives the gateway lease back;
/// started again, it takes the gateway over at once (a new IDENTIFY: "When you close the
/// connection to the gateway with close code 1000 or 1001, your session will be invalidated",
/// events_gateway.mdx), catch-up stores the reply posted while it was down, and every
/// message accepted (and every one repeated after a refused connection) is sent exactly once.
#[tokio::test]
#[ignore = "needs PostgreSQL and Redis: run scripts/test"]
async fn sigterm_during_sends_loses_nothing_and_the_gateway_comes_back() {
    let app = spawn_app_with(Backend::Services, printable_jwt_secret).await;
    let GatewayReplica {
        account,
        channels,
        member,
        member_channel,
        mut replica,
    } = company_with_gateway_replica(&app, 5).await;
    let identified = gateway_status(&app).await.identifies;
    // Discord's real pace (50 calls a second for the bot), so sends are in flight at the signal.
    simulator(&app).discord.limits.set_window_divisor(1);
    control(
        &app,
        Method::PUT,
        "/sandbox/discord/faults",
        json!({"latencyMs": 50}),
    )
    .await
    .assert_status(200);

    let contents: Vec<String> = (0..240).map(|i| format!("Rolling {i}")).collect();
    let client = reqwest::Client::new();
    let sends = futures::stream::iter(contents.iter().enumerate())
        .map(|(i, content)| {
            let (client, base, token, lead) = (
                &client,
                replica.url.clone(),
                &account.token,
                &channels[i % channels.len()].0,
            );
            async move { (i, send(client, &base, token, lead, content).await) }
        })
        .buffer_unordered(30)
        .collect::<Vec<_>>();
    let signal = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        replica.signal("TERM");
    };
    let (answers, ()) = tokio::join!(sends, signal);
    let exit = replica.exited(Duration::from_secs(20)).await;
    assert!(
        exit.is_some_and(|e| e.success()),
        "exits 0 within its drain time ({exit:?}): {}",
        replica.log()
    );
    let accepted = answers
        .iter()
        .filter(|(_, a)| matches!(a, Some(201 | 202)))
        .count();
    let wrong: Vec<_> = answers
        .iter()
        .filter(|(_, a)| !matches!(a, None | Some(201 | 202 | 503)))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} answers neither accepted nor refused, as {:?}",
        wrong.len(),
        wrong.iter().take(5).collect::<Vec<_>>()
    );
    assert!(
        accepted > 0 && accepted < contents.len(),
        "the signal came mid-run: {accepted} accepted"
    );

    eprintln!(
        "SIGTERM mid-run: {accepted} of {} accepted, {} refused with 503, {} unanswered",
        contents.len(),
        answers.iter().filter(|(_, a)| *a == Some(503)).count(),
        answers.iter().filter(|(_, a)| a.is_none()).count()
    );
    // While no replica runs the gateway, the lead replies.
    post_as(
        &app,
        &member_channel,
        member.discord_user(),
        "Sent while you were away",
    )
    .await;

    let restarted_at = Instant::now();
    let replica = ReplicaProcess::start(&app, true).await;
    let status = crate::helpers::gateway::wait_for(async || {
        let status = gateway_status(&app).await;
        (status.identifies > identified && status.sessions.iter().any(|s| s.connected))
            .then_some(status)
    })
    .await;
    assert!(
        restarted_at.elapsed() < Duration::from_secs(12),
        "the lease was given back at shutdown, yet the gateway was up again only after {:?} \
         ({status:?})",
        restarted_at.elapsed()
    );
    // What got no answer, the client repeats with the same key.
    for (i, answer) in &answers {
        if !matches!(answer, Some(201 | 202)) {
            let again = send(
                &client,
                &replica.url,
                &account.token,
                &channels[i % channels.len()].0,
                &contents[*i],
            )
            .await;
            assert!(matches!(again, Some(200..=202)), "{i}: {again:?}");
        }
    }
    all_sent_once(&app, &channels, &contents, Duration::from_secs(120)).await;
    let replies = crate::helpers::gateway::wait_for(async || {
        let replies = inbound(&app, &account, &member).await;
        (!replies.is_empty()).then_some(replies)
    })
    .await;
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].content, "Sent while you were away");
}

/// The replica holding the gateway shard is killed (SIGKILL: no shutdown, its lease left to
/// expire): the replica waiting takes the shard over within 30 s, and catch-up stores the
/// replies posted meanwhile, each exactly once.
#[tokio::test]
#[ignore = "needs PostgreSQL and Redis: run scripts/test"]
async fn a_replica_killed_holding_the_gateway_is_replaced_within_30_s() {
    let app = spawn_app_with(Backend::Services, printable_jwt_secret).await;
    let GatewayReplica {
        account,
        member,
        member_channel,
        mut replica,
        ..
    } = company_with_gateway_replica(&app, 0).await;
    let waiting = ReplicaProcess::start(&app, true).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let status = gateway_status(&app).await;
    assert_eq!(
        status.identifies, 1,
        "one replica runs the shard: {status:?}"
    );

    replica.signal("KILL");
    let killed = Instant::now();
    assert!(replica.exited(Duration::from_secs(5)).await.is_some());
    let gap: Vec<String> = (0..5)
        .map(|i| format!("While the gateway was down {i}"))
        .collect();
    for content in &gap {
        post_as(&app, &member_channel, member.discord_user(), content).await;
    }
    loop {
        let status = gateway_status(&app).await;
        if status.identifies == 2 && status.sessions.iter().any(|s| s.connected) {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "no replica took the shard over in 30 s: {status:?}\n{}",
            waiting.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let took_over = killed.elapsed();

    // Catch-up finds the gap; a reply after the takeover comes through the gateway.
    post_as(
        &app,
        &member_channel,
        member.discord_user(),
        "After the takeover",
    )
    .await;
    let replies = crate::helpers::gateway::wait_for(async || {
        let replies = inbound(&app, &account, &member).await;
        (replies.len() > gap.len()).then_some(replies)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let replies_now = inbound(&app, &account, &member).await;
    assert_eq!(replies_now.len(), replies.len(), "nothing stored twice");
    let mut contents: Vec<&str> = replies_now.iter().map(|m| m.content.as_str()).collect();
    contents.sort_unstable();
    let mut expected: Vec<&str> = gap.iter().map(String::as_str).collect();
    expected.push("After the takeover");
    expected.sort_unstable();
    assert_eq!(contents, expected);
    eprintln!("the shard was taken over {took_over:?} after the kill");
}
