//! Webhooks to the CRM: endpoints, signed deliveries to a receiver the test runs on loopback,
//! retries, disabling, filters, tenancy, address checks, restarts and secret rotation.
use futures::StreamExt;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use standardwebhooks::Webhook;

use crate::helpers::{
    Account, Backend, JsonText, TestApp,
    discord::{LeadWithChannel, lead_with_channel},
    gateway::{gateway_up, inbound, post_as, wait_for},
    receiver::{Captured, Receiver},
    spawn_app, spawn_app_with,
    views::Lead,
};

/// Creates an endpoint (as the account, an owner) and answers its view with the secret.
async fn endpoint(app: &TestApp, account: &Account, url: &str, types: Option<&[&str]>) -> Value {
    let mut body = json!({ "url": url, "description": "CRM" });
    if let Some(types) = types {
        body["eventTypes"] = json!(types);
    }
    let reply = app
        .post("/api/webhook-endpoints", &account.token, body)
        .await;
    reply.assert_status(201);
    reply.body
}

/// A company with a lead and an endpoint at `receiver` taking `types` (all when `None`).
struct Subscribed {
    account: Account,
    lead: Lead,
    hook: Value,
}

async fn subscribed(app: &TestApp, receiver: &Receiver, types: Option<&[&str]>) -> Subscribed {
    let account = app.signup("Webhook Co").await;
    let lead = app.create_lead(&account.token, "Grace Hopper").await;
    let hook = endpoint(app, &account, &receiver.url("/hooks"), types).await;
    Subscribed {
        account,
        lead,
        hook,
    }
}

/// The message's `type`, after checking its Standard Webhooks signature with `secret`.
fn verified(captured: &Captured, secret: &str) -> Value {
    let mut headers = http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let value = captured
            .header(name)
            .unwrap_or_else(|| panic!("no {name} header"));
        headers.insert(name, value.parse().expect("header value"));
    }
    Webhook::new(secret)
        .expect("a whsec_ secret")
        .verify(&captured.body, &headers)
        .expect("the signature verifies");
    serde_json::from_slice(&captured.body).expect("a JSON body")
}

fn of_type<'a>(captured: &'a [Captured], kind: &str) -> Vec<&'a Captured> {
    captured
        .iter()
        .filter(|c| serde_json::from_slice::<Value>(&c.body).is_ok_and(|v| v["type"] == kind))
        .collect()
}

async fn rename(app: &TestApp, account: &Account, lead: &Lead, name: &str) {
    app.patch(
        &format!("/api/leads/{}", lead.id),
        &account.token,
        json!({ "name": name }),
    )
    .await
    .assert_status(200);
}

async fn deliveries(app: &TestApp, account: &Account, endpoint: &Value) -> Vec<Value> {
    let reply = app
        .get(
            &format!(
                "/api/webhook-endpoints/{}/deliveries",
                endpoint["id"].text()
            ),
            &account.token,
        )
        .await;
    reply.assert_status(200);
    reply.body["items"].as_array().cloned().unwrap_or_default()
}

gateway_test!(
    a_leads_reply_reaches_every_subscribed_endpoint_once_signed_in_the_sse_shape,
    |app| {
        gateway_up(&app).await;
        let LeadWithChannel {
            account,
            lead,
            channel,
            ..
        } = lead_with_channel(&app).await;
        let (first, second) = (Receiver::start().await, Receiver::start().await);
        let a = endpoint(&app, &account, &first.url("/hooks"), None).await;
        let b = endpoint(
            &app,
            &account,
            &second.url("/in"),
            Some(&["message.created"]),
        )
        .await;
        let mut stream =
            crate::helpers::sse::Sse::open(&app, "/api/events", &account.token, None).await;

        post_as(&app, &channel, lead.discord_user(), "Is my order shipped?").await;
        wait_for(async || (!inbound(&app, &account, &lead).await.is_empty()).then_some(())).await;
        let live = loop {
            let event = stream
                .next(Duration::from_secs(10))
                .await
                .expect("a live event");
            if event.kind == "message.created" {
                break event;
            }
        };

        for (receiver, endpoint) in [(&first, &a), (&second, &b)] {
            wait_for(async || {
                (!of_type(&receiver.all(), "message.created").is_empty()).then_some(())
            })
            .await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let all = receiver.all();
            let replies = of_type(&all, "message.created");
            assert_eq!(replies.len(), 1, "exactly once");
            let body = verified(replies[0], endpoint["secret"].text());
            // The same payload as the live stream's, with the event's sequence id.
            assert_eq!(body, live.data);
            assert_eq!(body["data"]["direction"], "inbound");
            assert_eq!(body["data"]["content"], "Is my order shipped?");
            assert!(
                replies[0]
                    .header("webhook-id")
                    .is_some_and(|id| id.starts_with("msg_"))
            );
        }
        // The filtered endpoint got nothing else.
        assert_eq!(second.all().len(), 1);
    }
);

storage_test!(
    an_endpoint_failing_twice_gets_the_event_once_more_with_the_same_id,
    |app| {
        let receiver = Receiver::scripted(&[500, 503]).await;
        let Subscribed {
            account,
            lead,
            hook,
        } = subscribed(&app, &receiver, Some(&["lead.updated"])).await;

        rename(&app, &account, &lead, "Grace B. Hopper").await;
        let got = receiver.wait_for_count(3).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let got_after = receiver.all();
        assert_eq!(got_after.len(), 3, "one success ends the retries");
        let ids: Vec<Option<String>> = got.iter().map(|c| c.header("webhook-id")).collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        verified(&got[2], hook["secret"].text());

        let log = deliveries(&app, &account, &hook).await;
        let outcomes: Vec<(&Value, &Value)> = log
            .iter()
            .map(|a| (&a["statusCode"], &a["outcome"]))
            .collect();
        assert_eq!(
            outcomes,
            [
                (&json!(200), &json!("succeeded")),
                (&json!(503), &json!("failed")),
                (&json!(500), &json!("failed"))
            ]
        );
        assert!(log[1]["nextRetryAt"].is_string());
        let view = app
            .get(
                &format!("/api/webhook-endpoints/{}", hook["id"].text()),
                &account.token,
            )
            .await;
        assert_eq!(view.body["health"], "healthy");
    }
);

storage_test!(an_endpoint_answering_410_is_disabled_at_once, |app| {
    let receiver = Receiver::scripted(&[410]).await;
    let Subscribed {
        account,
        lead,
        hook,
    } = subscribed(&app, &receiver, None).await;

    rename(&app, &account, &lead, "Grace B. Hopper").await;
    receiver.wait_for_count(1).await;
    let path = format!("/api/webhook-endpoints/{}", hook["id"].text());
    let view = wait_for(async || {
        let view = app.get(&path, &account.token).await.body;
        (view["enabled"] == false).then_some(view)
    })
    .await;
    assert_eq!(view["health"], "disabled");
    assert!(view["disabledReason"].text().contains("410"));
    let audit = app
        .get(
            "/api/audit-log?action=webhook_endpoint.disabled",
            &account.token,
        )
        .await;
    assert_eq!(audit.body["items"].as_array().map(Vec::len), Some(1));

    // Nothing more is sent to it.
    rename(&app, &account, &lead, "Grace Hopper").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.all().len(), 1);
});

storage_test!(a_filtered_out_event_type_is_not_sent, |app| {
    let receiver = Receiver::start().await;
    let Subscribed {
        account,
        lead,
        hook,
    } = subscribed(&app, &receiver, Some(&["message.created"])).await;

    rename(&app, &account, &lead, "Grace B. Hopper").await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(receiver.all().is_empty(), "lead.updated is not subscribed");

    // The pipeline works: a test event goes through.
    let test = app
        .post(
            &format!("/api/webhook-endpoints/{}/test", hook["id"].text()),
            &account.token,
            json!({}),
        )
        .await;
    test.assert_status(202);
    let got = receiver.wait_for_count(1).await;
    let body = verified(&got[0], hook["secret"].text());
    assert_eq!(body["type"], "webhook.test");
    assert_eq!(
        got[0].header("webhook-id").as_deref(),
        test.body["messageId"].as_str()
    );
});

storage_test!(
    another_companys_endpoints_never_get_a_companys_events,
    |app| {
        let a = app.signup("Company A").await;
        let lead = app.create_lead(&a.token, "A's lead").await;
        let b = app.signup("Company B").await;
        let (a_receiver, b_receiver) = (Receiver::start().await, Receiver::start().await);
        let a_hook = endpoint(&app, &a, &a_receiver.url("/a"), None).await;
        let b_hook = endpoint(&app, &b, &b_receiver.url("/b"), None).await;

        rename(&app, &a, &lead, "A's renamed lead").await;
        a_receiver.wait_for_count(1).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(b_receiver.all().is_empty());

        // And B cannot see, change or use A's endpoint.
        let path = format!("/api/webhook-endpoints/{}", a_hook["id"].text());
        app.get(&path, &b.token).await.assert_status(404);
        app.patch(&path, &b.token, json!({"enabled": false}))
            .await
            .assert_status(404);
        app.post(&format!("{path}/rotate-secret"), &b.token, json!({}))
            .await
            .assert_status(404);
        let listed = app.get("/api/webhook-endpoints", &b.token).await;
        assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(1));
        assert_eq!(listed.body["items"][0]["id"], b_hook["id"]);
        assert!(
            listed.body["items"][0].get("secret").is_none(),
            "secrets are shown once"
        );
    }
);

storage_test!(endpoints_are_validated_and_limited, |app| {
    let owner = app.signup("Rules Co").await;
    for (body, field) in [
        (json!({"url": "not a url"}), "url"),
        (json!({"url": "ftp://crm.example.com"}), "url"),
        (
            json!({"url": "https://crm.example.com", "eventTypes": ["lead.updated", "lead.deleted"]}),
            "eventTypes[1]",
        ),
        (
            json!({"url": "https://crm.example.com", "eventTypes": []}),
            "eventTypes",
        ),
        (
            json!({"url": "https://crm.example.com", "description": "a\u{7}b"}),
            "description",
        ),
    ] {
        app.post("/api/webhook-endpoints", &owner.token, body)
            .await
            .assert_invalid_field(field);
    }
    let member = app.signup("Member home").await;
    let member_token = app.join(&owner, &member, "member").await;
    app.post(
        "/api/webhook-endpoints",
        &member_token,
        json!({"url": "http://127.0.0.1:9/x"}),
    )
    .await
    .assert_status(403);
    for i in 0..20 {
        app.post(
            "/api/webhook-endpoints",
            &owner.token,
            json!({"url": format!("http://127.0.0.1:9/{i}")}),
        )
        .await
        .assert_status(201);
    }
    app.post(
        "/api/webhook-endpoints",
        &owner.token,
        json!({"url": "http://127.0.0.1:9/21"}),
    )
    .await
    .assert_problem(409, "webhook_endpoint_limit");
});

#[tokio::test]
async fn private_addresses_are_refused_unless_the_development_flag_is_set() {
    let app = spawn_app_with(Backend::Embedded, |s| s.webhook_allow_insecure = false).await;
    let owner = app.signup("Strict Co").await;
    for url in [
        "http://crm.example.com/hooks",
        "https://127.0.0.1/hooks",
        "https://[::1]/hooks",
        "https://10.0.0.8/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/hooks",
    ] {
        app.post("/api/webhook-endpoints", &owner.token, json!({"url": url}))
            .await
            .assert_invalid_field("url");
    }
    // With the development flag (the test default), loopback is fine.
    let relaxed = spawn_app(Backend::Embedded).await;
    let other = relaxed.signup("Dev Co").await;
    relaxed
        .post(
            "/api/webhook-endpoints",
            &other.token,
            json!({"url": "http://127.0.0.1:9/hooks"}),
        )
        .await
        .assert_status(201);
}

#[tokio::test]
async fn a_change_committed_before_a_restart_is_delivered_after_it() {
    let app = spawn_app(Backend::Embedded).await;
    let account = app.signup("Restart Co").await;
    let lead = app.create_lead(&account.token, "Grace Hopper").await;
    let receiver = Receiver::start().await;
    endpoint(
        &app,
        &account,
        &receiver.url("/hooks"),
        Some(&["lead.updated"]),
    )
    .await;

    // The process that makes the change stops before any worker could deliver it.
    let idle = app.idle_replica().await;
    app.shut_down().await.expect("stops");
    let company: switchboard::ids::CompanyId = account.company_id.parse().expect("company id");
    let lead_id: switchboard::ids::LeadId = lead.id.parse().expect("lead id");
    switchboard::leads::edit(
        &idle.state,
        company,
        lead_id,
        switchboard::leads::LeadUpdate {
            name: Some(
                switchboard::types::PersonName::parse("name", "Grace B. Hopper").expect("name"),
            ),
            ..Default::default()
        },
    )
    .await
    .expect("the change commits");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        receiver.all().is_empty(),
        "nothing runs in the stopped process"
    );

    // A process starts again on the same storage: the queued delivery goes out, once.
    let _restarted = idle.second_replica().await;
    let got = receiver.wait_for_count(1).await;
    let body: Value = serde_json::from_slice(&got[0].body).expect("JSON");
    assert_eq!(body["type"], "lead.updated");
    assert_eq!(body["data"]["name"], "Grace B. Hopper");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.all().len(), 1);
}

storage_test!(
    after_a_rotation_both_secrets_verify_for_the_overlap,
    |app| {
        let receiver = Receiver::start().await;
        let Subscribed {
            account,
            lead,
            hook,
        } = subscribed(&app, &receiver, Some(&["lead.updated"])).await;
        let old = hook["secret"].text().to_owned();

        let rotated = app
            .post(
                &format!("/api/webhook-endpoints/{}/rotate-secret", hook["id"].text()),
                &account.token,
                json!({}),
            )
            .await;
        rotated.assert_status(200);
        let new = rotated.body["secret"].text().to_owned();
        assert_ne!(new, old);
        assert!(rotated.body["previousSecretExpiresAt"].is_string());

        rename(&app, &account, &lead, "Grace B. Hopper").await;
        let got = receiver.wait_for_count(1).await;
        verified(&got[0], &new);
        verified(&got[0], &old);
        assert_eq!(
            got[0]
                .header("webhook-signature")
                .map(|s| s.split(' ').count()),
            Some(2)
        );
        let audit = app
            .get(
                "/api/audit-log?action=webhook_endpoint.secret_rotated",
                &account.token,
            )
            .await;
        assert_eq!(audit.body["items"].as_array().map(Vec::len), Some(1));
    }
);

storage_test!(a_delivery_can_be_resent_with_the_same_id, |app| {
    let receiver = Receiver::start().await;
    let Subscribed {
        account,
        lead,
        hook,
    } = subscribed(&app, &receiver, Some(&["lead.updated"])).await;
    rename(&app, &account, &lead, "Grace B. Hopper").await;
    receiver.wait_for_count(1).await;
    let log = wait_for(async || {
        let log = deliveries(&app, &account, &hook).await;
        (!log.is_empty()).then_some(log)
    })
    .await;

    app.request(
        Method::POST,
        &format!(
            "/api/webhook-endpoints/{}/deliveries/{}/resend",
            hook["id"].text(),
            log[0]["id"].text()
        ),
        crate::helpers::Auth::Bearer(&account.token),
        Some(json!({})),
    )
    .await
    .assert_status(202);
    let got = receiver.wait_for_count(2).await;
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    app.delete(
        &format!("/api/webhook-endpoints/{}", hook["id"].text()),
        &account.token,
    )
    .await
    .assert_status(204);
});

storage_test!(an_endpoint_failing_for_five_days_is_disabled, |app| {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let receiver = Receiver::answering(500, Duration::ZERO).await;
    let Subscribed {
        account,
        lead,
        hook,
    } = subscribed(&app, &receiver, Some(&["lead.updated"])).await;
    // Its deliveries have been failing since six days ago.
    let id: uuid::Uuid = hook["id"].text().parse().expect("uuid");
    switchboard::entities::webhook_endpoint::Entity::update_many()
        .col_expr(
            switchboard::entities::webhook_endpoint::Column::FailingSince,
            Expr::value(chrono::Utc::now() - chrono::Duration::days(6)),
        )
        .filter(switchboard::entities::webhook_endpoint::Column::Id.eq(id))
        .exec(&app.state.db)
        .await
        .expect("update");

    rename(&app, &account, &lead, "Grace B. Hopper").await;
    receiver.wait_for_count(1).await;
    let path = format!("/api/webhook-endpoints/{}", hook["id"].text());
    let view = wait_for(async || {
        let view = app.get(&path, &account.token).await.body;
        (view["health"] == "disabled").then_some(view)
    })
    .await;
    assert!(view["disabledReason"].text().contains("five days"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.all().len(), 1, "no retry once disabled");
    // Counted in the metrics.
    let metrics = app
        .request(Method::GET, "/metrics", crate::helpers::Auth::None, None)
        .await;
    assert!(
        metrics
            .text
            .contains("switchboard_webhook_deliveries_total{outcome=\"failed\"}"),
        "{}",
        metrics.text
    );
});

storage_test!(
    the_sandbox_inbox_shows_what_arrived_and_whether_it_verified,
    |app| {
        let account = app.signup("Inbox Co").await;
        let lead = app.create_lead(&account.token, "Grace Hopper").await;
        let url = app.url("/sandbox/webhooks/inbox/crm");
        endpoint(&app, &account, &url, Some(&["lead.updated"])).await;
        rename(&app, &account, &lead, "Grace B. Hopper").await;

        let got = wait_for(async || {
            let list = app
                .request(
                    Method::GET,
                    "/sandbox/webhooks/inbox/messages",
                    crate::helpers::Auth::None,
                    None,
                )
                .await;
            list.body.as_array().filter(|l| !l.is_empty()).cloned()
        })
        .await;
        assert_eq!(got[0]["inbox"], "crm");
        assert_eq!(got[0]["eventType"], "lead.updated");
        assert_eq!(got[0]["verified"], true);
        let page = app
            .request(
                Method::GET,
                "/sandbox/webhooks/inbox",
                crate::helpers::Auth::None,
                None,
            )
            .await;
        assert!(page.text.contains("signature verified"), "{}", page.text);

        // A message signed with another secret is shown as not verifying.
        let forged = reqwest::Client::new()
            .post(&url)
            .header("webhook-id", "msg_forged")
            .header(
                "webhook-timestamp",
                chrono::Utc::now().timestamp().to_string(),
            )
            .header("webhook-signature", "v1,AAAA")
            .body(r#"{"type":"lead.updated"}"#);
        app.send(forged, crate::helpers::Auth::None, None)
            .await
            .assert_status(204);
        let list = app
            .request(
                Method::GET,
                "/sandbox/webhooks/inbox/messages",
                crate::helpers::Auth::None,
                None,
            )
            .await;
        assert_eq!(list.body[0]["webhookId"], "msg_forged");
        assert_eq!(list.body[0]["verified"], false);
    }
);

storage_test!(a_429_with_retry_after_waits_at_least_that_long, |app| {
    // The test schedule retries after 50 ms; the receiver asks for a second.
    let receiver = Receiver::scripted_with_retry_after(&[429], 1).await;
    let Subscribed { account, lead, .. } =
        subscribed(&app, &receiver, Some(&["lead.updated"])).await;
    rename(&app, &account, &lead, "Grace B. Hopper").await;
    receiver.wait_for_count(1).await;
    let refused_at = std::time::Instant::now();
    receiver.wait_for_count(2).await;
    assert!(
        refused_at.elapsed() >= Duration::from_millis(850),
        "retried after {:?}, before Retry-After",
        refused_at.elapsed()
    );
});

storage_test!(
    every_event_of_a_burst_reaches_the_endpoint_however_its_delivery_races_its_id,
    |app| {
        // A delivery may run while its event is being given its id: it must wait for the
        // event, never take it for pruned (on PostgreSQL one of 500 was lost that way).
        const CHANGES: usize = 200;
        let receiver = Receiver::start().await;
        let Subscribed { account, lead, .. } = subscribed(&app, &receiver, None).await;
        futures::stream::iter(0..CHANGES)
            .for_each_concurrent(20, |i| {
                let (app, account, lead) = (&app, &account, &lead);
                async move {
                    app.patch(
                        &format!("/api/leads/{}", lead.id),
                        &account.token,
                        json!({"name": format!("Grace {i}")}),
                    )
                    .await
                    .assert_status(200);
                }
            })
            .await;
        let mut ids = std::collections::BTreeSet::new();
        for _ in 0..1500 {
            ids = receiver
                .all()
                .iter()
                .filter_map(|c| c.header("webhook-id"))
                .collect();
            if ids.len() >= CHANGES {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(ids.len(), CHANGES, "every event, each once");
    }
);
