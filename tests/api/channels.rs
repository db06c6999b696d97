use reqwest::Method;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use switchboard::entities::lead_channel;

use crate::helpers::{
    Auth, JsonText, TestApp,
    discord::{as_bot, connected, open_and_wait, set_bot_permissions},
    views::{Channel, Lead},
};

/// A GET to the simulated Discord as the bot. The test shares the bot's rate limits with the
/// product, so a 429 is waited out as Discord asks, like any well-behaved client.
async fn discord(app: &TestApp, path: &str) -> Value {
    for _ in 0..5 {
        let reply = as_bot(app, Method::GET, path).await;
        if reply.status.as_u16() == 429 {
            let wait = reply.body["retry_after"].as_f64().unwrap_or(1.0);
            tokio::time::sleep(std::time::Duration::from_secs_f64(wait)).await;
            continue;
        }
        reply.assert_status(200);
        return reply.body;
    }
    panic!("the simulated Discord kept answering 429 to {path}");
}

fn text_channels(channels: &Value) -> Vec<Value> {
    channels
        .as_array()
        .cloned()
        .expect("a list of channels")
        .into_iter()
        .filter(|c| c["type"] == 0)
        .collect()
}

storage_test!(
    opening_a_lead_channel_creates_a_private_welcoming_channel,
    |app| {
        let (account, guild, lead) = connected(&app).await;
        let lead_id = lead.id.as_str();
        let lead_user = lead.discord_user();
        let opened = app
            .post(
                "/api/discord/channels",
                &account.token,
                json!({"leadId": lead_id}),
            )
            .await;
        opened.assert_status(201);
        let opened: Channel = opened.json();
        assert_eq!(opened.guild_id, guild);
        assert!(opened.is_active);
        let name = opened.channel_name.expect("a made channel has a name");
        assert!(
            name.starts_with("grace-hopper-") && name.len() <= 100,
            "{name}"
        );

        let channel_id = opened.channel_id.expect("a made channel has an id");
        let channel = discord(&app, &format!("channels/{channel_id}")).await;
        assert_eq!(channel["name"], name.as_str());
        assert!(
            channel["topic"]
                .as_str()
                .is_some_and(|t| t.contains("Grace Hopper"))
        );
        let overwrites = channel["permission_overwrites"]
            .as_array()
            .cloned()
            .expect("permission_overwrites");
        let everyone = overwrites
            .iter()
            .find(|o| o["id"] == guild.as_str())
            .expect("@everyone overwrite");
        assert_eq!(
            everyone["deny"],
            (1u64 << 10).to_string(),
            "@everyone cannot view"
        );
        let lead_overwrite = overwrites
            .iter()
            .find(|o| o["id"] == lead_user)
            .expect("the lead's overwrite");
        assert_eq!(lead_overwrite["type"], 1);
        let allowed: u64 = lead_overwrite["allow"]
            .as_str()
            .and_then(|a| a.parse().ok())
            .unwrap_or(0);
        assert_eq!(
            allowed & ((1 << 10) | (1 << 11)),
            (1 << 10) | (1 << 11),
            "the lead can view and send"
        );
        let bot = switchboard::sandbox::credentials::DISCORD_CLIENT_ID;
        assert!(
            overwrites.iter().any(|o| o["id"] == bot),
            "the bot has its own overwrite"
        );
        let category = discord(&app, &format!("channels/{}", channel["parent_id"].text())).await;
        assert_eq!(
            (category["type"].as_u64(), category["name"].as_str()),
            (Some(4), Some("Leads 1"))
        );

        let messages = discord(&app, &format!("channels/{channel_id}/messages")).await;
        assert_eq!(
            messages.as_array().map(Vec::len),
            Some(1),
            "one welcome message"
        );
        assert!(
            messages[0]["content"]
                .as_str()
                .is_some_and(|c| c.contains(&format!("<@{lead_user}>")))
        );

        let lead_now: Lead = app
            .get(&format!("/api/leads/{lead_id}"), &account.token)
            .await
            .json();
        assert_eq!(
            lead_now.discord_channel_id.as_deref(),
            Some(channel_id.as_str())
        );
        assert!(lead_now.discord_invite_sent);
        assert_eq!(
            app.get(&format!("/api/discord/channels/{lead_id}"), &account.token)
                .await
                .body["channelId"],
            channel_id.as_str()
        );
        let audit = app
            .get("/api/audit-log?action=channel.created", &account.token)
            .await;
        assert_eq!(audit.body["items"].as_array().map(Vec::len), Some(1));
    }
);

storage_test!(twenty_concurrent_opens_create_one_channel, |app| {
    let (account, guild, lead) = connected(&app).await;
    let body = json!({"leadId": lead.id});
    let calls = (0..20).map(|_| app.post("/api/discord/channels", &account.token, body.clone()));
    let replies = futures::future::join_all(calls).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        19,
        "{statuses:?}"
    );
    let ids: std::collections::BTreeSet<&str> = replies
        .iter()
        .filter_map(|r| r.body["channelId"].as_str())
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(
        text_channels(&discord(&app, &format!("guilds/{guild}/channels")).await).len(),
        1,
        "one channel on Discord"
    );
});

storage_test!(
    a_failure_after_discord_created_the_channel_leaves_no_orphan,
    |app| {
        let (account, guild, lead) = connected(&app).await;
        app.request(
            Method::PUT,
            "/sandbox/discord/faults",
            Auth::None,
            Some(json!({"failRoute": "channels/{channel_id}/permissions", "failRouteCount": 1})),
        )
        .await
        .assert_status(200);
        // The first attempt fails after Discord made the channel; the job's retry succeeds.
        let opened = open_and_wait(&app, &account.token, &lead.id).await;
        assert_eq!(opened.state, "active", "{opened:?}");
        let on_discord = text_channels(&discord(&app, &format!("guilds/{guild}/channels")).await);
        assert_eq!(
            on_discord.len(),
            1,
            "the half-made channel was removed: {on_discord:?}"
        );
        assert_eq!(
            on_discord[0]["id"].text(),
            opened
                .channel_id
                .as_deref()
                .expect("an active channel has an id")
        );
    }
);

storage_test!(
    channels_need_a_connected_server_and_a_lead_of_the_company,
    |app| {
        let account = app.signup("Unconnected").await;
        let lead = app.create_lead(&account.token, "Ada").await;
        app.post(
            "/api/discord/channels",
            &account.token,
            json!({"leadId": lead.id}),
        )
        .await
        .assert_problem(409, "discord_not_connected");
        let (other, _, other_lead) = connected(&app).await;
        app.post(
            "/api/discord/channels",
            &account.token,
            json!({"leadId": other_lead.id}),
        )
        .await
        .assert_problem(404, "lead_not_found");
        app.post(
            "/api/discord/channels",
            &other.token,
            json!({"leadId": "not-a-uuid"}),
        )
        .await
        .assert_invalid_field("leadId");
        app.get(
            &format!("/api/discord/channels/{}", lead.id),
            &account.token,
        )
        .await
        .assert_problem(404, "channel_not_found");
    }
);

storage_test!(
    a_full_category_gets_a_successor_and_a_full_server_a_clear_error,
    |app| {
        let (account, guild, lead) = connected(&app).await;
        let first = app
            .post(
                "/api/discord/channels",
                &account.token,
                json!({"leadId": lead.id}),
            )
            .await;
        first.assert_status(201);
        let category = first
            .json::<Channel>()
            .category_id
            .expect("a made channel has a category");
        // Forty-nine more lead channels in that category, as if created earlier.
        let company: switchboard::ids::CompanyId = account.company_id.parse().expect("uuid");
        for i in 0..49 {
            let lead = app
                .create_lead(&account.token, &format!("Filler {i}"))
                .await;
            let row = lead_channel::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                company_id: Set(company),
                owner_user_id: Set(None),
                lead_id: Set(lead.id.parse().expect("uuid")),
                guild_id: Set(guild.parse().expect("snowflake")),
                channel_id: Set(format!("9{i:018}").parse().expect("snowflake")),
                channel_name: Set(format!("filler-{i}")),
                category_id: Set(Some(category.parse().expect("snowflake"))),
                discord_user_id: Set(None),
                discord_username: Set(None),
                channel_created_at: Set(chrono::Utc::now()),
                last_message_at: Set(None),
                message_count: Set(0),
                is_active: Set(true),
                last_message_id: Set(None),
                updated_at: Set(chrono::Utc::now()),
            };
            lead_channel::Entity::insert(row)
                .exec_without_returning(&app.state.db)
                .await
                .expect("insert");
        }
        let next = app.create_lead(&account.token, "Fifty First").await;
        let second = app
            .post(
                "/api/discord/channels",
                &account.token,
                json!({"leadId": next.id}),
            )
            .await;
        second.assert_status(201);
        let new_category = second
            .json::<Channel>()
            .category_id
            .expect("a made channel has a category");
        assert_ne!(new_category, category, "a new category once one holds 50");
        assert_eq!(
            discord(&app, &format!("channels/{new_category}")).await["name"],
            "Leads 2"
        );

        // The server itself nearly full (its own channels count too): a clear error, no call.
        app.request(
            Method::POST,
            &format!("/sandbox/discord/servers/{guild}/channels"),
            Auth::None,
            Some(json!({"count": 496})),
        )
        .await
        .assert_status(201);
        let last = app.create_lead(&account.token, "No Room").await;
        let refused = open_and_wait(&app, &account.token, &last.id).await;
        assert_eq!(refused.state, "failed", "{refused:?}");
        assert!(
            refused
                .last_error
                .as_deref()
                .is_some_and(|e| e.starts_with("guild_channel_limit")),
            "{refused:?}"
        );
        let integrations = app.get("/api/integrations", &account.token).await;
        assert_eq!(
            integrations.body["items"][0]["health"], "degraded",
            "the 80% warning shows on the connection"
        );
    }
);

storage_test!(archiving_keeps_history_and_stops_the_lead_writing, |app| {
    let (account, _, lead) = connected(&app).await;
    let lead_id = lead.id.as_str();
    let opened = app
        .post(
            "/api/discord/channels",
            &account.token,
            json!({"leadId": lead_id}),
        )
        .await;
    let channel_id = opened
        .json::<Channel>()
        .channel_id
        .expect("a made channel has an id");
    let path = format!("/api/discord/channels/{lead_id}/archive");
    let archived = app.post(&path, &account.token, json!({})).await;
    archived.assert_status(200);
    assert!(!archived.json::<Channel>().is_active);
    app.post(&path, &account.token, json!({}))
        .await
        .assert_status(200);
    let channel = discord(&app, &format!("channels/{channel_id}")).await;
    let lead_user = lead.discord_user();
    let overwrite = channel["permission_overwrites"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["id"] == lead_user).cloned())
        .expect("overwrite");
    let deny: u64 = overwrite["deny"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    let allow: u64 = overwrite["allow"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    assert_eq!(deny & (1 << 11), 1 << 11, "the lead can no longer send");
    assert_eq!(allow & (1 << 16), 1 << 16, "but can still read the history");
    assert_eq!(
        discord(&app, &format!("channels/{channel_id}/messages"))
            .await
            .as_array()
            .map(Vec::len),
        Some(1),
        "history stays"
    );
    assert_eq!(
        app.get("/api/discord/channels?active=false", &account.token)
            .await
            .body["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        app.get("/api/discord/channels?active=true", &account.token)
            .await
            .body["items"],
        json!([])
    );
    let audit = app
        .get("/api/audit-log?action=channel.archived", &account.token)
        .await;
    assert_eq!(audit.body["items"].as_array().map(Vec::len), Some(1));
});

storage_test!(
    migrating_dm_leads_gives_each_a_channel_and_can_resume,
    |app| {
        let (account, guild, first) = connected(&app).await;
        let company = account.company_id.as_str();
        let mk = |name: &'static str, discord: Option<&'static str>| {
            let body = match discord {
                Some(id) => json!({"name": name, "discordUserId": id}),
                None => json!({"name": name}),
            };
            app.post("/api/leads", &account.token, body)
        };
        let second: Lead = mk("Second DM lead", Some("175928847299117063"))
            .await
            .json();
        let closed: Lead = mk("Closed lead", Some("175928847299117064")).await.json();
        app.patch(
            &format!("/api/leads/{}", closed.id),
            &account.token,
            json!({"status": "closed"}),
        )
        .await
        .assert_status(200);
        mk("No Discord", None).await.assert_status(201);
        let with_channel: Lead = mk("Has a channel", Some("175928847299117065")).await.json();
        app.post(
            "/api/discord/channels",
            &account.token,
            json!({"leadId": with_channel.id}),
        )
        .await
        .assert_status(201);

        // A server admin took Manage Roles from the bot: Discord refuses the channels (and their
        // overwrites); the run records each failure and goes on.
        set_bot_permissions(&app, &guild, 268_553_232 & !(1 << 28)).await;
        let progress = std::sync::Mutex::new(Vec::new());
        let run = switchboard::channels::migrate_dm_leads(
            &app.state,
            Some(company.parse().expect("uuid")),
            |done, total| {
                progress.lock().expect("lock").push((done, total));
            },
        )
        .await
        .expect("runs");
        assert_eq!(
            (run.considered, run.created, run.failed),
            (2, 0, 2),
            "{run:?}"
        );
        assert_eq!(progress.lock().expect("lock").last(), Some(&(2, 2)));
        let log = switchboard::entities::sync_log::Entity::find_by_id(run.sync_log_id)
            .one(&app.state.db)
            .await
            .expect("q")
            .expect("row");
        assert_eq!(
            (
                log.records_created,
                log.records_failed,
                log.sync_type.as_str()
            ),
            (0, 2, "full")
        );
        assert!(log.completed_at.is_some());
        assert_eq!(log.errors.as_array().map(Vec::len), Some(2));
        assert!(
            log.errors
                .to_string()
                .contains("discord_missing_permissions"),
            "{}",
            log.errors
        );

        // Resumed once the permission is back: the failed ones are queued again and succeed.
        set_bot_permissions(&app, &guild, 268_553_232).await;
        let rerun = switchboard::channels::migrate_dm_leads(&app.state, None, |_, _| {})
            .await
            .expect("runs");
        assert_eq!(
            (rerun.considered, rerun.created, rerun.failed),
            (2, 2, 0),
            "{rerun:?}"
        );
        for lead in [&first, &second] {
            let got = app
                .get(
                    &format!("/api/discord/channels/{}", lead.id),
                    &account.token,
                )
                .await;
            got.assert_status(200);
        }
        let closed_channel = app
            .get(
                &format!("/api/discord/channels/{}", closed.id),
                &account.token,
            )
            .await;
        closed_channel.assert_problem(404, "channel_not_found");
        let again = switchboard::channels::migrate_dm_leads(&app.state, None, |_, _| {})
            .await
            .expect("runs");
        assert_eq!(again.considered, 0);
    }
);

storage_test!(
    a_hundred_leads_in_one_server_get_channels_without_a_429_and_categories_split_at_50,
    |app| {
        let (account, guild, first) = connected(&app).await;
        // Discord's limits, with time compressed tenfold: 10 channel creations per second.
        app.request(
            Method::PUT,
            "/sandbox/discord/limits",
            Auth::None,
            Some(json!({"windowDivisor": 10})),
        )
        .await
        .assert_status(204);
        let mut leads = vec![first.id];
        for i in 1..100 {
            leads.push(
                app.create_lead(&account.token, &format!("Lead {i}"))
                    .await
                    .id,
            );
        }
        let opens = leads.iter().map(|id| {
            app.post(
                "/api/discord/channels",
                &account.token,
                json!({"leadId": id}),
            )
        });
        let replies = futures::future::join_all(opens).await;
        let failures: Vec<_> = replies
            .iter()
            .filter(|r| !matches!(r.status.as_u16(), 201 | 202))
            .map(|r| r.text.clone())
            .collect();
        assert!(
            failures.is_empty(),
            "{} of 100 were neither made nor queued: {:?}",
            failures.len(),
            failures.first()
        );
        for id in &leads {
            let made = open_and_wait(&app, &account.token, id).await;
            assert_eq!(made.state, "active", "{made:?}");
        }
        let stats = app
            .request(Method::GET, "/sandbox/discord/stats", Auth::None, None)
            .await;
        assert_eq!(
            stats.body["rateLimited"], 0,
            "no call ran into Discord's limit"
        );

        let channels = discord(&app, &format!("guilds/{guild}/channels")).await;
        let categories: Vec<Value> = channels
            .as_array()
            .cloned()
            .expect("a list of channels")
            .into_iter()
            .filter(|c| c["type"] == 4)
            .collect();
        let mut names: Vec<&str> = categories
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["Leads 1", "Leads 2"]);
        for category in &categories {
            let children = text_channels(&channels)
                .iter()
                .filter(|c| c["parent_id"] == category["id"])
                .count();
            assert_eq!(children, 50, "{} holds {children}", category["name"]);
        }
    }
);

storage_test!(
    sixty_concurrent_opens_all_get_channels_at_discords_pace,
    |app| {
        let (account, guild, first) = connected(&app).await;
        let mut leads = vec![first];
        for i in 1..60 {
            leads.push(
                app.create_lead(&account.token, &format!("Import {i}"))
                    .await,
            );
        }
        let started = std::time::Instant::now();
        let opens = leads.iter().map(|lead| {
            app.post(
                "/api/discord/channels",
                &account.token,
                json!({"leadId": lead.id}),
            )
        });
        let replies = futures::future::join_all(opens).await;
        let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
        assert!(
            statuses.iter().all(|s| matches!(s, 200..=202)),
            "only made, existing or queued: {statuses:?}"
        );
        assert!(
            replies
                .iter()
                .filter(|r| r.status.as_u16() == 202)
                .all(|r| r.body["state"] == "provisioning"),
            "queued ones say so"
        );
        for lead in &leads {
            let made = open_and_wait(&app, &account.token, &lead.id).await;
            assert_eq!(made.state, "active", "{made:?}");
        }
        let elapsed = started.elapsed();
        // 62 creations (60 channels, 2 categories) at 10 per 10 s: the last can start at 60 s.
        let minimum = std::time::Duration::from_secs(60);
        assert!(
            elapsed <= minimum * 3 / 2,
            "all 60 within 1.5x Discord's minimum: took {elapsed:?}"
        );
        let stats = app
            .request(Method::GET, "/sandbox/discord/stats", Auth::None, None)
            .await;
        assert_eq!(stats.body["rateLimited"], 0, "no 429 from Discord");
        let channels = discord(&app, &format!("guilds/{guild}/channels")).await;
        let mut per_category = std::collections::BTreeMap::new();
        for c in text_channels(&channels) {
            *per_category
                .entry(c["parent_id"].text().to_owned())
                .or_insert(0) += 1;
        }
        let mut sizes: Vec<i32> = per_category.values().copied().collect();
        sizes.sort_unstable();
        assert_eq!(sizes, [10, 50], "categories fill to 50: {per_category:?}");
    }
);

storage_test!(a_failed_channel_says_why_and_can_be_retried, |app| {
    let (account, guild, lead) = connected(&app).await;
    let lead_id = lead.id.as_str();
    let retry = format!("/api/discord/channels/{lead_id}/retry");
    app.post(&retry, &account.token, json!({}))
        .await
        .assert_problem(404, "channel_not_found");

    // A server admin took Manage Channels from the bot: Discord refuses, and retrying cannot
    // help until that changes.
    set_bot_permissions(&app, &guild, 268_553_232 & !(1 << 4)).await;
    let failed = open_and_wait(&app, &account.token, lead_id).await;
    assert_eq!(failed.state, "failed", "{failed:?}");
    assert!(
        failed
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("discord_missing_permissions")),
        "{failed:?}"
    );
    assert_eq!(failed.channel_id, None);
    let shown = app
        .get(&format!("/api/discord/channels/{lead_id}"), &account.token)
        .await;
    assert_eq!(shown.body["state"], "failed");
    let dead = app.get("/api/jobs?state=dead", &account.token).await;
    let job = dead.body["items"]
        .as_array()
        .and_then(|j| j.iter().find(|j| j["kind"] == "create_lead_channel"))
        .and_then(|j| j["id"].as_str())
        .expect("the dead creation job")
        .to_owned();

    // Fixed, and retried through the jobs API: provisioning again, then made.
    set_bot_permissions(&app, &guild, 268_553_232).await;
    app.post(&format!("/api/jobs/{job}/retry"), &account.token, json!({}))
        .await
        .assert_status(200);
    let made = open_and_wait(&app, &account.token, lead_id).await;
    assert_eq!(made.state, "active", "{made:?}");
    app.post(&retry, &account.token, json!({}))
        .await
        .assert_status(200);

    // Another lead, failed, retried through its own endpoint.
    set_bot_permissions(&app, &guild, 268_553_232 & !(1 << 4)).await;
    let second = app.create_lead(&account.token, "Second").await;
    let failed = open_and_wait(&app, &account.token, &second.id).await;
    assert_eq!(failed.state, "failed", "{failed:?}");
    set_bot_permissions(&app, &guild, 268_553_232).await;
    let retried = app
        .post(
            &format!("/api/discord/channels/{}/retry", second.id),
            &account.token,
            json!({}),
        )
        .await;
    assert!(
        matches!(retried.status.as_u16(), 201 | 202),
        "{}",
        retried.text
    );
    let made = open_and_wait(&app, &account.token, &second.id).await;
    assert_eq!(made.state, "active", "{made:?}");
});

#[tokio::test]
#[ignore = "needs PostgreSQL and Redis: run scripts/test"]
async fn two_replicas_asked_at_once_make_one_channel_per_lead() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Services).await;
    let other = app.second_replica().await;
    let (account, guild, first) = connected(&app).await;
    let mut leads = vec![first];
    for i in 1..5 {
        leads.push(
            app.create_lead(&account.token, &format!("Shared {i}"))
                .await,
        );
    }
    // Every lead asked for three times on each replica, all at once.
    let token = account.token.as_str();
    let mut asks = Vec::new();
    for lead in &leads {
        for replica in [&app, &other] {
            for _ in 0..3 {
                asks.push(replica.post("/api/discord/channels", token, json!({"leadId": lead.id})));
            }
        }
    }
    let replies = futures::future::join_all(asks).await;
    assert!(
        replies
            .iter()
            .all(|r| matches!(r.status.as_u16(), 200..=202)),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for lead in &leads {
        let made = open_and_wait(&other, &account.token, &lead.id).await;
        assert_eq!(made.state, "active", "{made:?}");
    }
    let all = discord(&app, &format!("guilds/{guild}/channels")).await;
    let channels = text_channels(&all);
    assert_eq!(
        channels.len(),
        leads.len(),
        "one channel per lead: {channels:?}"
    );
    let categories = all
        .as_array()
        .map(|c| c.iter().filter(|c| c["type"] == 4).count());
    assert_eq!(categories, Some(1), "one category for them all");
}
