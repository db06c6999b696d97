//! The inbox's view of conversations: leads ordered by their latest message, search, unread
//! counts and read markers, who wrote each message, retrying a failed message, and the sandbox
//! helpers the web app offers (the server's members, replying as a lead, closing a linked
//! issue on the GitHub simulator).
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{
    Auth, JsonText, TestApp,
    discord::{LeadWithChannel, connected, lead_with_channel},
    gateway::{gateway_up, wait_for},
    github,
    sse::Sse,
    views::{Lead, Link, Message},
};

async fn leads(app: &TestApp, token: &str, query: &str) -> Vec<Lead> {
    let reply = app.get(&format!("/api/leads?{query}"), token).await;
    reply.assert_status(200);
    reply.items()
}

fn names(leads: &[Lead]) -> Vec<&str> {
    leads.iter().map(|l| l.name.as_str()).collect()
}

async fn lead(app: &TestApp, token: &str, id: &str) -> Lead {
    let reply = app.get(&format!("/api/leads/{id}"), token).await;
    reply.assert_status(200);
    reply.json()
}

storage_test!(
    the_inbox_orders_by_the_latest_message_and_pages_without_gaps,
    |app| {
        let LeadWithChannel {
            account,
            lead: grace,
            ..
        } = lead_with_channel(&app).await;
        let token = account.token.as_str();
        app.create_lead(token, "Ada").await;
        app.create_lead(token, "Barbara").await;
        assert_eq!(
            names(&leads(&app, token, "").await),
            ["Barbara", "Ada", "Grace Hopper"],
            "newest lead first by default"
        );
        assert!(grace.last_message.is_none());
        assert_eq!(grace.unread_count, 0);

        app.post(
            "/api/discord/send-message",
            token,
            json!({"leadId": grace.id, "content": "Hello Grace,\n\nhow  are you?"}),
        )
        .await
        .assert_status(201);
        let recent = leads(&app, token, "sort=recent").await;
        assert_eq!(names(&recent), ["Grace Hopper", "Barbara", "Ada"]);
        let last = recent[0].last_message.clone().expect("a last message");
        assert_eq!(last.preview, "Hello Grace, how are you?");
        assert_eq!(last.direction, "outbound");
        assert_eq!(last.author_name.as_deref(), Some(account.email.as_str()));
        assert_eq!(recent[0].unread_count, 0, "our own message is not unread");
        assert_eq!(
            last.at, recent[0].last_activity_at,
            "its time is the lead's activity"
        );
        assert!(recent[0].last_activity_at > recent[1].last_activity_at);

        // One lead per page, following the cursors: every lead once, in order.
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..5 {
            let query = match &cursor {
                Some(c) => format!("sort=recent&limit=1&cursor={c}"),
                None => "sort=recent&limit=1".to_owned(),
            };
            let page = app.get(&format!("/api/leads?{query}"), token).await;
            page.assert_status(200);
            seen.extend(page.items::<Lead>().into_iter().map(|l| l.name));
            cursor = page.body["nextCursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(seen, ["Grace Hopper", "Barbara", "Ada"]);

        // A cursor of one order is refused by the other.
        let by_created = app.get("/api/leads?limit=1", token).await;
        let created_cursor = by_created.body["nextCursor"].text().to_owned();
        app.get(
            &format!("/api/leads?sort=recent&cursor={created_cursor}"),
            token,
        )
        .await
        .assert_invalid_field("cursor");
        app.get("/api/leads?sort=oldest", token)
            .await
            .assert_status(422);
    }
);

storage_test!(
    search_matches_name_email_and_discord_username_ignoring_case,
    |app| {
        let account = app.signup("Search Co").await;
        let token = account.token.as_str();
        for body in [
            json!({"name": "Grace Hopper", "email": "grace@navy.example"}),
            json!({"name": "Ada Lovelace", "discordUsername": "countess_ada"}),
            json!({"name": "Hundred 100% Club"}),
        ] {
            app.post("/api/leads", token, body).await.assert_status(201);
        }
        assert_eq!(
            names(&leads(&app, token, "q=GRACE").await),
            ["Grace Hopper"]
        );
        assert_eq!(
            names(&leads(&app, token, "q=navy.EX").await),
            ["Grace Hopper"]
        );
        assert_eq!(
            names(&leads(&app, token, "q=Countess").await),
            ["Ada Lovelace"]
        );
        // `%` and `_` are themselves, not wildcards.
        assert_eq!(
            names(&leads(&app, token, "q=%25").await),
            ["Hundred 100% Club"]
        );
        assert_eq!(names(&leads(&app, token, "q=s_a").await), ["Ada Lovelace"]);
        assert!(leads(&app, token, "q=nobody").await.is_empty());
        assert_eq!(
            leads(&app, token, "q=%20%20").await.len(),
            3,
            "blank is no filter"
        );
        assert_eq!(
            names(&leads(&app, token, "q=E&status=open&sort=recent").await).len(),
            3
        );
        app.get(&format!("/api/leads?q={}", "x".repeat(101)), token)
            .await
            .assert_invalid_field("q");
    }
);

gateway_test!(
    a_reply_is_unread_until_a_teammate_reads_the_conversation,
    |app| {
        let LeadWithChannel {
            account,
            lead: grace,
            ..
        } = lead_with_channel(&app).await;
        let token = account.token.as_str();
        gateway_up(&app).await;
        let mut stream = Sse::open(&app, "/api/events", token, None).await;

        app.post(
            &format!("/api/sandbox/leads/{}/reply", grace.id),
            token,
            json!({"content": "Is my order on its way?"}),
        )
        .await
        .assert_status(202);
        let unread = wait_for(async || {
            let now = lead(&app, token, &grace.id).await;
            (now.unread_count == 1).then_some(now)
        })
        .await;
        let last = unread.last_message.expect("the reply is the last message");
        assert_eq!(last.direction, "inbound");
        assert_eq!(last.preview, "Is my order on its way?");
        assert_eq!(
            last.author_name.as_deref(),
            Some("grace"),
            "the Discord member's name"
        );
        let messages: Vec<Message> = app
            .get(&format!("/api/leads/{}/messages", grace.id), token)
            .await
            .items();
        let reply = messages
            .iter()
            .find(|m| m.direction == "inbound")
            .expect("the reply is stored");
        assert_eq!(reply.author_name.as_deref(), Some("grace"));
        assert_eq!(reply.origin, "discord");

        let read = app
            .post(&format!("/api/leads/{}/read", grace.id), token, json!({}))
            .await;
        read.assert_status(200);
        assert_eq!(read.json::<Lead>().unread_count, 0);
        // Every teammate's inbox hears of it.
        let updated = loop {
            let event = stream
                .next(Duration::from_secs(15))
                .await
                .expect("lead.updated arrives");
            if event.kind == "lead.updated" && event.data["data"]["unreadCount"] == 0 {
                break event;
            }
        };
        assert_eq!(updated.data["leadId"], grace.id.as_str());
        assert_eq!(lead(&app, token, &grace.id).await.unread_count, 0);
        // Reading again changes nothing and is fine.
        app.post(&format!("/api/leads/{}/read", grace.id), token, json!({}))
            .await
            .assert_status(200);
    }
);

storage_test!(a_failed_message_is_retried_as_the_same_message, |app| {
    let LeadWithChannel {
        account,
        guild,
        lead,
        ..
    } = lead_with_channel(&app).await;
    let token = account.token.as_str();
    let bot = format!("/sandbox/discord/servers/{guild}/bot");
    app.request(Method::DELETE, &bot, Auth::None, None)
        .await
        .assert_status(204);
    let failed: Message = app
        .post(
            "/api/discord/send-message",
            token,
            json!({"leadId": lead.id, "content": "Try me again"}),
        )
        .await
        .json();
    assert_eq!(failed.state, "failed");
    app.request(Method::PUT, &bot, Auth::None, None)
        .await
        .assert_status(204);

    let retried = app
        .post(
            &format!("/api/messages/{}/retry", failed.id),
            token,
            json!({}),
        )
        .await;
    retried.assert_status(202);
    let retried: Message = retried.json();
    assert_eq!(retried.id, failed.id, "the same message");
    assert!(retried.failure_reason.is_none());
    let sent = wait_for(async || {
        let list: Vec<Message> = app
            .get(&format!("/api/leads/{}/messages", lead.id), token)
            .await
            .items();
        list.into_iter()
            .find(|m| m.id == failed.id && m.state == "sent")
    })
    .await;
    assert!(sent.discord_message_id.is_some());
    let all: Vec<Message> = app
        .get(&format!("/api/leads/{}/messages", lead.id), token)
        .await
        .items();
    assert_eq!(all.len(), 1, "no second message");

    app.post(
        &format!("/api/messages/{}/retry", failed.id),
        token,
        json!({}),
    )
    .await
    .assert_problem(409, "message_not_failed");
    app.post(
        &format!("/api/messages/{}/retry", uuid::Uuid::now_v7()),
        token,
        json!({}),
    )
    .await
    .assert_problem(404, "message_not_found");
});

storage_test!(the_sandbox_helpers_act_through_the_simulators, |app| {
    let stranger = app.signup("Not Connected Co").await;
    app.get("/api/sandbox/discord/members", &stranger.token)
        .await
        .assert_problem(409, "discord_not_connected");

    let (account, _guild, grace) = connected(&app).await;
    let token = account.token.as_str();
    let members = app.get("/api/sandbox/discord/members", token).await;
    members.assert_status(200);
    let listed = members.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        listed.iter().any(|m| m["username"] == "grace"
            && m["id"] == grace.discord_user()
            && m["bot"] == false),
        "{}",
        members.text
    );

    let joined = app
        .post(
            "/api/sandbox/discord/members",
            token,
            json!({"username": "ada"}),
        )
        .await;
    joined.assert_status(201);
    let ada_id = joined.body["id"].text().to_owned();
    let again = app.get("/api/sandbox/discord/members", token).await;
    assert!(
        again.body["items"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["id"] == ada_id.as_str()))
    );
    app.post(
        "/api/sandbox/discord/members",
        token,
        json!({"username": "a"}),
    )
    .await
    .assert_invalid_field("username");

    // Replying needs the lead's channel, and the lead's Discord account.
    app.post(
        &format!("/api/sandbox/leads/{}/reply", grace.id),
        token,
        json!({"content": "Hello?"}),
    )
    .await
    .assert_problem(409, "lead_has_no_channel");
    let nobody = app.create_lead(token, "No Discord").await;
    app.post(
        &format!("/api/sandbox/leads/{}/reply", nobody.id),
        token,
        json!({"content": "Hello?"}),
    )
    .await
    .assert_problem(409, "lead_has_no_discord_user");
    app.post(
        &format!("/api/sandbox/leads/{}/reply", grace.id),
        token,
        json!({"content": "   "}),
    )
    .await
    .assert_invalid_field("content");
    app.post(
        &format!("/api/sandbox/links/{}/close", uuid::Uuid::now_v7()),
        token,
        json!({}),
    )
    .await
    .assert_problem(404, "link_not_found");
});

storage_test!(
    closing_a_linked_issue_on_the_sandbox_github_resolves_the_lead,
    |app| {
        let LeadWithChannel { account, lead, .. } = lead_with_channel(&app).await;
        let token = account.token.as_str();
        github::connect(&app, &account).await;
        let number = github::issue(&app, github::REPO, "Order stuck", false).await;
        let link = github::link(&app, token, &lead, &format!("{}#{number}", github::REPO)).await;
        link.assert_status(201);
        let link: Link = link.json();
        assert_eq!(link.state, "open");

        app.post(
            &format!("/api/sandbox/links/{}/close", link.id),
            token,
            json!({}),
        )
        .await
        .assert_status(202);
        let closed = wait_for(async || {
            let links: Vec<Link> = app
                .get(&format!("/api/leads/{}/links", lead.id), token)
                .await
                .items();
            links
                .into_iter()
                .find(|l| l.id == link.id && l.state == "closed")
        })
        .await;
        assert_eq!(closed.state, "closed");
        assert_eq!(github::lead_status(&app, token, &lead).await, "resolved");
    }
);

storage_test!(
    the_app_config_is_public_and_says_where_popups_return,
    |app| {
        let config = app
            .request(Method::GET, "/api/config", Auth::None, None)
            .await;
        config.assert_status(200);
        assert_eq!(config.body["sandbox"], true);
        assert_eq!(config.body["publicUrl"], app.url("").trim_end_matches('/'));
        assert!(
            config.body["version"]
                .as_str()
                .is_some_and(|v| !v.is_empty())
        );
    }
);

#[tokio::test]
async fn the_sandbox_helpers_do_not_exist_outside_sandbox_mode() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Backend::Embedded, |s| {
        s.sandbox = false;
    })
    .await;
    let account = app.signup("Production Co").await;
    app.get("/api/sandbox/discord/members", &account.token)
        .await
        .assert_problem(404, "sandbox_only");
    let lead = app.create_lead(&account.token, "Grace").await;
    app.post(
        &format!("/api/sandbox/leads/{}/reply", lead.id),
        &account.token,
        json!({"content": "hi"}),
    )
    .await
    .assert_problem(404, "sandbox_only");
    let config = app
        .request(Method::GET, "/api/config", Auth::None, None)
        .await;
    assert_eq!(config.body["sandbox"], false);
}

storage_test!(
    the_starting_sandbox_servers_have_people_to_pick_as_leads,
    |app| {
        let account = app.signup("First Steps Co").await;
        let (browser, _) = app.login_browser(&account).await;
        crate::helpers::oauth::connect(&app, &browser, &account, "discord", None)
            .await
            .0
            .assert_status(200);
        let members = app
            .get("/api/sandbox/discord/members", &account.token)
            .await;
        members.assert_status(200);
        let people: Vec<&str> = members.body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["bot"] == false)
            .filter_map(|m| m["username"].as_str())
            .collect();
        assert_eq!(people, switchboard::sandbox::discord::SEEDED_MEMBERS);
    }
);

storage_test!(
    a_reply_caught_up_late_counts_as_unread_but_is_not_the_newest,
    |app| {
        use switchboard::discord::{Inbound, Source};
        use switchboard::types::Snowflake;

        let LeadWithChannel {
            account,
            lead,
            channel,
            ..
        } = lead_with_channel(&app).await;
        let lead_id: switchboard::ids::LeadId =
            serde_json::from_value(json!(lead.id)).expect("a lead id");
        let company: switchboard::ids::CompanyId =
            serde_json::from_value(json!(account.company_id)).expect("a company id");
        // A Discord message id carries its time: `ms` after Discord's epoch (2015).
        let reply = |ms: u64, content: &str| Inbound {
            message_id: Snowflake::new(ms << 22).expect("non-zero"),
            channel_id: channel.parse().expect("a channel id"),
            guild_id: None,
            author_id: lead.discord_user().parse().expect("a user id"),
            author_bot: false,
            author_name: Some("grace".into()),
            webhook_id: None,
            kind: 0,
            nonce: None,
            content: content.into(),
            source: Source::Catchup,
        };
        let day = 86_400_000;
        let now = chrono::Utc::now();
        for (ms, content) in [
            (3_000 * day, "newer"),
            (2_000 * day, "older, caught up late"),
        ] {
            let row = switchboard::routing::stored_row(&reply(ms, content), company, lead_id, now);
            switchboard::leads::activity::record(&app.state.db, &row)
                .await
                .expect("recorded");
        }
        let now: crate::helpers::views::Lead = app
            .get(&format!("/api/leads/{}", lead.id), &account.token)
            .await
            .json();
        assert_eq!(now.unread_count, 2, "both replies are unread");
        let last = now.last_message.expect("a last message");
        assert_eq!(
            last.preview, "newer",
            "the older reply does not replace the newer"
        );
        assert_eq!(last.direction, "inbound");
    }
);
