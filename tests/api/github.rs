//! GitHub links: linking issues and pull requests to leads, resolving on close and reopening on
//! reopen through signed webhooks (delivered by the sandbox GitHub over real HTTP) or polling,
//! status notes in the lead's channel, and tenancy.
use std::time::Duration;

use serde_json::json;

use crate::helpers::{
    Account, Auth, JsonText, TestApp,
    discord::{LeadWithChannel, connected, lead_with_channel},
    gateway::{gateway_up, inbound, routing_events, wait_for},
    github::{self, REPO},
    sse::{Sse, assert_live_event_schema},
    views::{GitHubSettings, Lead, Link, Message},
};

/// A company with Discord and GitHub connected and a lead with a channel.
async fn ready(app: &TestApp) -> (Account, Lead, String) {
    let LeadWithChannel {
        account,
        lead,
        channel,
        ..
    } = lead_with_channel(app).await;
    github::connect(app, &account).await;
    (account, lead, channel)
}

/// A company ready for GitHub, with these issues of the seeded repository linked to its lead.
async fn linked(app: &TestApp, numbers: &[u64]) -> (Account, Lead) {
    let (account, lead, _) = ready(app).await;
    for number in numbers {
        github::link(app, &account.token, &lead, &format!("{REPO}#{number}"))
            .await
            .assert_status(201);
    }
    (account, lead)
}

async fn assert_lead(app: &TestApp, account: &Account, lead: &Lead, status: &str) {
    assert_eq!(github::lead_status(app, &account.token, lead).await, status);
}

/// Asserts that one of the notes ends with `ending`.
fn assert_note_ending(notes: &[Message], ending: &str) {
    let contents: Vec<&str> = notes.iter().map(|n| n.content.as_str()).collect();
    assert!(
        contents.iter().any(|c| c.ends_with(ending)),
        "no note ends with {ending:?}: {contents:?}"
    );
}

/// Waits until every note of the lead is delivered to Discord, and answers them.
async fn delivered_notes(app: &TestApp, token: &str, lead: &Lead, count: usize) -> Vec<Message> {
    let mut notes = Vec::new();
    for _ in 0..300 {
        notes = github::notes(app, token, lead).await;
        if notes.len() == count && notes.iter().all(|n| n.state == "sent") {
            return notes;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("expected {count} delivered notes, found {notes:?}");
}

storage_test!(
    linking_reads_the_issue_from_github_and_registers_the_hook,
    |app| {
        let (account, lead, _) = ready(&app).await;

        let linked = github::link(&app, &account.token, &lead, &format!("{REPO}#1")).await;
        linked.assert_status(201);
        let linked: Link = linked.json();
        assert_eq!(linked.r#ref, "github:sandbox-octocat/widgets#1");
        assert_eq!(linked.kind, "issue");
        assert_eq!(linked.title, "Widget breaks on save");
        assert_eq!(linked.state, "open");
        assert_eq!(linked.repository, REPO);
        assert!(linked.url.ends_with("/sandbox-octocat/widgets/issues/1"));

        // By URL, the pull request: its kind comes from GitHub.
        let pull = github::link(
            &app,
            &account.token,
            &lead,
            &format!("{}/{REPO}/pull/2", app.url("/sandbox/github")),
        )
        .await;
        pull.assert_status(201);
        assert_eq!(pull.json::<Link>().kind, "pull_request");

        // Again: the same link, not a second one.
        let again = github::link(&app, &account.token, &lead, "Sandbox-Octocat/Widgets#1").await;
        again.assert_status(200);
        assert_eq!(again.json::<Link>().id, linked.id);

        let listed = app
            .get(&format!("/api/leads/{}/links", lead.id), &account.token)
            .await;
        listed.assert_status(200);
        assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(2));

        let settings = github::settings(&app, &account.token).await;
        assert_eq!(settings.hooks[0].repository, REPO);
        assert_eq!(settings.hooks[0].state, "active", "{settings:?}");
        let url = &settings.webhook.url;
        assert!(url.ends_with(&format!("/api/webhooks/github/{}", settings.integration_id)));
        assert_eq!(settings.webhook.secret.as_deref().map(str::len), Some(64));
    }
);

storage_test!(
    a_link_needs_github_a_valid_reference_and_an_existing_issue,
    |app| {
        let (account, _guild, lead) = connected(&app).await;
        github::link(&app, &account.token, &lead, &format!("{REPO}#1"))
            .await
            .assert_problem(409, "github_not_connected");
        github::connect(&app, &account).await;

        for bad in [
            "",
            "widgets#1",
            "sandbox-octocat/widgets",
            "a/b#0",
            "https://example.com/a/b/issues/1",
        ] {
            github::link(&app, &account.token, &lead, bad)
                .await
                .assert_invalid_field("ref");
        }
        let missing = github::link(&app, &account.token, &lead, &format!("{REPO}#999")).await;
        missing.assert_problem(422, "github_ref_not_found");
        missing.assert_invalid_field("ref");
        github::link(&app, &account.token, &lead, "sandbox-octocat/nope#1")
            .await
            .assert_problem(422, "github_ref_not_found");

        // Nothing was stored by the refusals.
        let links = app.get("/api/links", &account.token).await;
        assert_eq!(links.body["items"], json!([]));
    }
);

storage_test!(a_closed_issue_resolves_the_lead_and_posts_a_note, |app| {
    let (account, lead) = linked(&app, &[1]).await;
    let mut stream = Sse::open(&app, "/api/events", &account.token, None).await;

    let deliveries = github::close(&app, REPO, 1, false).await;
    assert_eq!(deliveries.len(), 1, "one hook, one delivery");
    assert_eq!(deliveries[0].status_code, Some(200), "{deliveries:?}");

    assert_lead(&app, &account, &lead, "resolved").await;
    // Live: the link, the lead and the note, each in the schema the OpenAPI document gives.
    let events = stream.take(3, Duration::from_secs(10)).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["link.updated", "lead.updated", "message.created"]);
    for event in &events {
        assert_live_event_schema(&app, event).await;
    }
    assert_eq!(events[0].data["data"]["state"], "closed");
    assert_eq!(events[1].data["data"]["status"], "resolved");
    let notes = delivered_notes(&app, &account.token, &lead, 1).await;
    assert_eq!(
        notes[0].content,
        "sandbox-octocat/widgets#1 *Widget breaks on save* was closed — marking this conversation resolved"
    );
    assert_eq!(notes[0].direction, "outbound");
    let links = app.get("/api/links?state=closed", &account.token).await;
    assert_eq!(links.body["items"][0]["state"], "closed");
    let open = app.get("/api/links?state=open", &account.token).await;
    assert_eq!(open.body["items"], json!([]));

    let audit = app
        .get("/api/audit-log?action=lead.resolved", &account.token)
        .await;
    assert_eq!(audit.body["items"][0]["actor"], "github");
    assert_eq!(audit.body["items"][0]["detail"]["source"], "webhook");
});

gateway_test!(the_note_is_not_taken_back_in_as_the_leads_message, |app| {
    gateway_up(&app).await;
    let (account, lead) = linked(&app, &[1]).await;
    github::close(&app, REPO, 1, false).await;
    let notes = delivered_notes(&app, &account.token, &lead, 1).await;
    let discord_id = notes[0]
        .discord_message_id
        .clone()
        .expect("a delivered note has its Discord id");

    // The gateway hands the bot's own note back; routing records it and leaves it out.
    let decided = wait_for(async || {
        routing_events(&app, &account, "")
            .await
            .into_iter()
            .find(|e| e.discord_message_id.as_deref() == Some(discord_id.as_str()))
    })
    .await;
    assert_eq!(decided.decision, "ignored", "{decided:?}");
    assert_eq!(decided.reason.as_deref(), Some("own_bot"), "{decided:?}");
    assert!(inbound(&app, &account, &lead).await.is_empty());
});

storage_test!(a_merged_pull_request_resolves_the_lead, |app| {
    let (account, lead) = linked(&app, &[2]).await;
    github::close(&app, REPO, 2, true).await;
    assert_lead(&app, &account, &lead, "resolved").await;
    let links = app.get("/api/links", &account.token).await.items::<Link>();
    assert!(links[0].merged);
    let notes = delivered_notes(&app, &account.token, &lead, 1).await;
    assert!(notes[0].content.contains("was merged"));
});

storage_test!(a_reopened_issue_reopens_the_resolved_lead, |app| {
    let (account, lead) = linked(&app, &[2]).await;
    github::close(&app, REPO, 2, false).await;
    assert_lead(&app, &account, &lead, "resolved").await;
    github::reopen(&app, REPO, 2).await;
    assert_lead(&app, &account, &lead, "open").await;
    let notes = delivered_notes(&app, &account.token, &lead, 2).await;
    assert_note_ending(
        &notes,
        "was closed without merging — marking this conversation resolved",
    );
    assert_note_ending(&notes, "was reopened — reopening this conversation");
});

storage_test!(
    a_lead_with_two_links_is_resolved_when_both_are_closed,
    |app| {
        let (account, lead) = linked(&app, &[1, 2]).await;

        github::close(&app, REPO, 1, false).await;
        assert_lead(&app, &account, &lead, "open").await;
        github::close(&app, REPO, 2, true).await;
        assert_lead(&app, &account, &lead, "resolved").await;

        let notes = delivered_notes(&app, &account.token, &lead, 2).await;
        assert_note_ending(&notes, "— 1 linked item is still open");
        assert_note_ending(&notes, "— marking this conversation resolved");
    }
);

storage_test!(a_redelivery_changes_nothing, |app| {
    let (account, lead) = linked(&app, &[1]).await;
    let deliveries = github::close(&app, REPO, 1, false).await;
    delivered_notes(&app, &account.token, &lead, 1).await;
    // Someone reopens the conversation by hand; GitHub then redelivers the close.
    app.patch(
        &format!("/api/leads/{}", lead.id),
        &account.token,
        json!({"status": "open"}),
    )
    .await
    .assert_status(200);

    let again = github::redeliver(&app, &deliveries[0].guid).await;
    assert_eq!(again[0].guid, deliveries[0].guid);
    assert_eq!(again[0].status_code, Some(200));
    assert_lead(&app, &account, &lead, "open").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(github::notes(&app, &account.token, &lead).await.len(), 1);
});

storage_test!(
    a_missing_or_wrong_signature_is_refused_and_changes_nothing,
    |app| {
        let (account, lead) = linked(&app, &[1]).await;
        let settings = github::settings(&app, &account.token).await;
        let url = settings.webhook.url;
        let secret = settings.webhook.secret.expect("an admin sees the secret");
        let body = github::issue_event("closed", REPO, 1, "Widget breaks on save");
        let guid = "72d3162e-cc78-11e3-81ab-4c9367dc0958";

        github::deliver(&app, &url, "issues", guid, &body, None)
            .await
            .assert_problem(401, "invalid_signature");
        github::deliver(&app, &url, "issues", guid, &body, Some("not the secret"))
            .await
            .assert_problem(401, "invalid_signature");
        // A signature of another body.
        let other = github::issue_event("closed", REPO, 2, "x");
        let forged = reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/json")
            .header("x-github-event", "issues")
            .header("x-github-delivery", guid)
            .header(
                "x-hub-signature-256",
                switchboard::github::signature::sign(secret.as_bytes(), &other),
            )
            .body(body.clone());
        app.send(forged, Auth::None, None)
            .await
            .assert_problem(401, "invalid_signature");
        assert_lead(&app, &account, &lead, "open").await;

        // The refused deliveries left no trace: the same delivery id, signed, is processed now.
        let signed = github::deliver(&app, &url, "issues", guid, &body, Some(&secret)).await;
        signed.assert_status(200);
        assert_eq!(signed.body["outcome"], "processed");
        assert_lead(&app, &account, &lead, "resolved").await;
    }
);

storage_test!(
    pings_other_events_and_bad_deliveries_change_nothing,
    |app| {
        let (account, lead) = linked(&app, &[1]).await;
        let settings = github::settings(&app, &account.token).await;
        let url = settings.webhook.url;
        let secret = settings.webhook.secret.expect("an admin sees the secret");

        let ping = github::deliver(
            &app,
            &url,
            "ping",
            "g-1",
            br#"{"zen":"Keep it logically awesome.","hook_id":1}"#,
            Some(&secret),
        )
        .await;
        ping.assert_status(200);
        assert_eq!(ping.body["outcome"], "pong");
        let labeled = github::issue_event("labeled", REPO, 1, "Widget breaks on save");
        let ignored = github::deliver(&app, &url, "issues", "g-2", &labeled, Some(&secret)).await;
        assert_eq!(ignored.body["outcome"], "ignored");
        let push = github::deliver(&app, &url, "push", "g-3", b"{}", Some(&secret)).await;
        assert_eq!(push.body["outcome"], "ignored");

        let body = github::issue_event("closed", REPO, 1, "Widget breaks on save");
        let no_id = reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/json")
            .header("x-github-event", "issues")
            .header(
                "x-hub-signature-256",
                switchboard::github::signature::sign(secret.as_bytes(), &body),
            )
            .body(body.clone());
        app.send(no_id, Auth::None, None)
            .await
            .assert_invalid_field("X-GitHub-Delivery");
        let garbage = github::deliver(
            &app,
            &url,
            "issues",
            "g-4",
            br#"{"action":"closed"}"#,
            Some(&secret),
        )
        .await;
        garbage.assert_problem(422, "invalid_payload");

        // Over GitHub's 25 MB cap.
        let huge = vec![b' '; 25 * 1024 * 1024 + 1];
        let too_big = github::deliver(&app, &url, "issues", "g-5", &huge, Some(&secret)).await;
        too_big.assert_problem(413, "payload_too_large");

        // An integration that does not exist.
        let unknown = url.rsplit_once('/').expect("a path").0.to_owned()
            + "/"
            + &uuid::Uuid::now_v7().to_string();
        github::deliver(&app, &unknown, "issues", "g-6", &body, Some(&secret))
            .await
            .assert_status(404);

        assert_lead(&app, &account, &lead, "open").await;
        assert!(github::notes(&app, &account.token, &lead).await.is_empty());

        // A hook set up by hand with GitHub's default form encoding works too.
        let form = format!(
            "payload={}",
            url::form_urlencoded::byte_serialize(&body).collect::<String>()
        );
        let request = reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-github-event", "issues")
            .header("x-github-delivery", "g-7")
            .header(
                "x-hub-signature-256",
                switchboard::github::signature::sign(secret.as_bytes(), form.as_bytes()),
            )
            .body(form);
        app.send(request, Auth::None, None).await.assert_status(200);
        assert_lead(&app, &account, &lead, "resolved").await;
    }
);

storage_test!(
    another_companys_webhook_and_links_cannot_touch_a_lead,
    |app| {
        let (a, lead_a, _) = ready(&app).await;
        github::link(&app, &a.token, &lead_a, &format!("{REPO}#1"))
            .await
            .assert_status(201);
        let link_a = app.get("/api/links", &a.token).await.items::<Link>()[0].clone();
        let a_settings = github::settings(&app, &a.token).await;

        let b = app.signup("Other Co").await;
        github::connect(&app, &b).await;
        let b_settings = github::settings(&app, &b.token).await;
        let b_url = b_settings.webhook.url;
        let b_secret = b_settings.webhook.secret.expect("an admin sees the secret");
        assert_ne!(
            b_secret,
            a_settings.webhook.secret.expect("an admin sees the secret")
        );

        // B's own webhook, correctly signed, reports A's issue closed: only B's links count.
        let body = github::issue_event("closed", REPO, 1, "Widget breaks on save");
        let through_b =
            github::deliver(&app, &b_url, "issues", "b-1", &body, Some(&b_secret)).await;
        through_b.assert_status(200);
        assert_eq!(through_b.body["leadsUpdated"], 0);
        // B's secret does not open A's webhook.
        let a_url = &a_settings.webhook.url;
        github::deliver(&app, a_url, "issues", "b-2", &body, Some(&b_secret))
            .await
            .assert_problem(401, "invalid_signature");
        assert_lead(&app, &a, &lead_a, "open").await;

        // A's lead and link are not B's to see, link or remove.
        let lead_path = format!("/api/leads/{}/links", lead_a.id);
        github::link(&app, &b.token, &lead_a, &format!("{REPO}#3"))
            .await
            .assert_problem(404, "lead_not_found");
        app.get(&lead_path, &b.token).await.assert_status(404);
        app.delete(&format!("{lead_path}/{}", link_a.id), &b.token)
            .await
            .assert_status(404);
        assert_eq!(
            app.get("/api/links", &b.token).await.body["items"],
            json!([])
        );
        assert_eq!(
            app.get("/api/links", &a.token).await.body["items"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
    }
);

storage_test!(the_same_issue_linked_by_two_leads_resolves_both, |app| {
    let (account, lead, _) = ready(&app).await;
    let second = app.create_lead(&account.token, "Ada Lovelace").await;
    for l in [&lead, &second] {
        github::link(&app, &account.token, l, &format!("{REPO}#1"))
            .await
            .assert_status(201);
    }
    github::close(&app, REPO, 1, false).await;
    for l in [&lead, &second] {
        assert_eq!(
            github::lead_status(&app, &account.token, l).await,
            "resolved"
        );
    }
    // The second lead has no channel: resolved, without a note.
    assert!(
        github::notes(&app, &account.token, &second)
            .await
            .is_empty()
    );
});

storage_test!(polling_resolves_a_lead_when_no_webhook_arrives, |app| {
    let (account, lead, _) = ready(&app).await;
    // A repository the account may read but not add hooks to.
    let repo = github::repo(&app, "acme", "widgets", false).await;
    let number = github::issue(&app, &repo, "Checkout fails", false).await;
    github::link(&app, &account.token, &lead, &format!("{repo}#{number}"))
        .await
        .assert_status(201);
    let settings = github::settings(&app, &account.token).await;
    assert_eq!(settings.hooks[0].state, "failed", "{settings:?}");
    assert!(settings.hooks[0].last_error.is_some());

    let deliveries = github::close(&app, &repo, number, false).await;
    assert!(deliveries.is_empty(), "no hook, no delivery");
    assert_lead(&app, &account, &lead, "open").await;

    let run = app
        .post("/api/integrations/github/sync", &account.token, json!({}))
        .await;
    run.assert_status(200);
    assert_eq!(run.body["resourceType"], "github_links");
    assert_eq!(run.body["recordsUpdated"], 1, "{}", run.text);
    assert_lead(&app, &account, &lead, "resolved").await;
    delivered_notes(&app, &account.token, &lead, 1).await;
    let audit = app
        .get("/api/audit-log?action=lead.resolved", &account.token)
        .await;
    assert_eq!(audit.body["items"][0]["detail"]["source"], "polling");

    // Unchanged since: GitHub answers 304 and nothing happens again.
    let again = app
        .post("/api/integrations/github/sync", &account.token, json!({}))
        .await;
    assert_eq!(again.body["recordsSynced"], 1);
    assert_eq!(again.body["recordsUpdated"], 0);
    assert_eq!(github::notes(&app, &account.token, &lead).await.len(), 1);
    let logs = app
        .get("/api/sync-logs?resourceType=github_links", &account.token)
        .await;
    assert_eq!(logs.body["items"].as_array().map(Vec::len), Some(2));
});

#[tokio::test]
async fn the_poller_runs_by_itself_when_webhooks_are_quiet() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Backend::Embedded, |s| {
        s.github_poll_interval = Duration::from_secs(1);
    })
    .await;
    let (account, lead, _) = ready(&app).await;
    let repo = github::repo(&app, "acme", "gadgets", false).await;
    let number = github::issue(&app, &repo, "Login loops", false).await;
    github::link(&app, &account.token, &lead, &format!("{repo}#{number}"))
        .await
        .assert_status(201);
    github::close(&app, &repo, number, false).await;
    wait_for(async || {
        (github::lead_status(&app, &account.token, &lead).await == "resolved").then_some(())
    })
    .await;
}

storage_test!(
    deleting_the_last_link_to_a_repository_removes_its_hook,
    |app| {
        let (account, lead, _) = ready(&app).await;
        let first: Link = github::link(&app, &account.token, &lead, &format!("{REPO}#1"))
            .await
            .json();
        let second: Link = github::link(&app, &account.token, &lead, &format!("{REPO}#2"))
            .await
            .json();
        let path = format!("/api/leads/{}/links", lead.id);

        app.delete(&format!("{path}/{}", first.id), &account.token)
            .await
            .assert_status(204);
        assert_eq!(github::settings(&app, &account.token).await.hooks.len(), 1);
        app.delete(&format!("{path}/{}", second.id), &account.token)
            .await
            .assert_status(204);
        assert!(
            github::settings(&app, &account.token)
                .await
                .hooks
                .is_empty()
        );
        app.delete(&format!("{path}/{}", second.id), &account.token)
            .await
            .assert_problem(404, "link_not_found");

        // GitHub no longer calls: closing the issue delivers to no one.
        assert!(github::close(&app, REPO, 1, false).await.is_empty());
        assert_lead(&app, &account, &lead, "open").await;
    }
);

storage_test!(a_token_github_refuses_marks_the_integration, |app| {
    let (account, lead, _) = ready(&app).await;
    app.request(
        reqwest::Method::DELETE,
        "/sandbox/github/tokens",
        Auth::None,
        None,
    )
    .await
    .assert_status(204);
    github::link(&app, &account.token, &lead, &format!("{REPO}#1"))
        .await
        .assert_problem(409, "github_token_refused");
    let integrations = app.get("/api/integrations", &account.token).await;
    let github = integrations.body["items"]
        .as_array()
        .and_then(|i| i.iter().find(|i| i["provider"] == "github"))
        .cloned()
        .expect("the GitHub integration");
    assert_eq!(github["status"], "error");
    assert_eq!(github["health"], "error");
    assert!(github["lastError"].text().contains("refused"));
});

storage_test!(githubs_rate_limit_is_respected, |app| {
    let (account, lead, _) = ready(&app).await;
    github::rate_limit(&app, 0, 120).await;
    let limited = github::link(&app, &account.token, &lead, &format!("{REPO}#1")).await;
    limited.assert_problem(503, "github_rate_limited");
    let wait: u64 = limited.headers["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=121).contains(&wait), "{wait}");
    assert_eq!(
        app.get("/api/links", &account.token).await.body["items"],
        json!([])
    );
});

storage_test!(
    the_secret_is_shown_to_admins_and_rotating_it_keeps_registered_hooks_working,
    |app| {
        let (owner, lead, _) = ready(&app).await;
        github::link(&app, &owner.token, &lead, &format!("{REPO}#1"))
            .await
            .assert_status(201);
        let member = app.signup("Member's own Co").await;
        let member_token = app.join(&owner, &member, "member").await;
        let seen = github::settings(&app, &member_token).await;
        assert!(seen.webhook.secret.is_none());
        assert!(!seen.webhook.url.is_empty());
        app.post(
            "/api/integrations/github/webhook-secret",
            &member_token,
            json!({}),
        )
        .await
        .assert_status(403);

        let before = github::settings(&app, &owner.token).await.webhook.secret;
        let rotated = app
            .post(
                "/api/integrations/github/webhook-secret",
                &owner.token,
                json!({}),
            )
            .await;
        rotated.assert_status(200);
        assert_ne!(rotated.json::<GitHubSettings>().webhook.secret, before);

        // The registered hook signs with the new secret: its delivery is accepted.
        let deliveries = github::close(&app, REPO, 1, false).await;
        assert_eq!(deliveries[0].status_code, Some(200), "{deliveries:?}");
        assert_lead(&app, &owner, &lead, "resolved").await;
    }
);

storage_test!(
    disconnecting_github_removes_its_hooks_and_reconnecting_restores_them,
    |app| {
        let (account, lead) = linked(&app, &[1]).await;
        app.delete("/api/integrations/github", &account.token)
            .await
            .assert_status(204);

        // GitHub no longer calls Switchboard for the repository.
        assert!(github::close(&app, REPO, 1, false).await.is_empty());
        assert_lead(&app, &account, &lead, "open").await;
        // The link stays, for when GitHub is connected again.
        let links = app.get("/api/links", &account.token).await;
        assert_eq!(links.body["items"].as_array().map(Vec::len), Some(1));
        app.get("/api/integrations/github", &account.token)
            .await
            .assert_problem(409, "github_not_connected");

        // Connected again, the next poll registers the linked repository's hook again.
        github::connect(&app, &account).await;
        app.post("/api/integrations/github/sync", &account.token, json!({}))
            .await
            .assert_status(200);
        let settings = github::settings(&app, &account.token).await;
        assert_eq!(settings.hooks[0].state, "active", "{settings:?}");
        // The poll saw the close made while disconnected; the hook delivers the reopen.
        assert_lead(&app, &account, &lead, "resolved").await;
        assert_eq!(github::reopen(&app, REPO, 1).await.len(), 1);
        assert_lead(&app, &account, &lead, "open").await;
    }
);
