//! Company B must not be able to see or touch anything of company A's, through any endpoint.
//! Every templated path in the OpenAPI document must appear in `probes`, so a new endpoint
//! cannot be added without being walked here.
use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Auth, JsonText, views::Link};

storage_test!(
    another_company_gets_404_from_every_tenant_scoped_endpoint,
    |app| {
        let a = app.signup("Company A").await;
        let b = app.signup("Company B").await;
        let a_member = app.signup("A member home").await;
        app.join(&a, &a_member, "member").await;
        let lead = app.create_lead(&a.token, "A's lead").await;
        let lead_id = lead.id.clone();
        let key = app
            .post("/api/api-keys", &a.token, json!({"name": "A's key"}))
            .await;
        let key_id = key.body["id"].text().to_owned();
        let key_secret = key.body["secret"].text().to_owned();
        let (browser, _) = app.login_browser(&a).await;
        crate::helpers::oauth::connect(&app, &browser, &a, "discord", None)
            .await
            .0
            .assert_status(200);
        app.post(
            "/api/discord/channels",
            &a.token,
            json!({"leadId": lead_id}),
        )
        .await
        .assert_status(201);
        let sent = app
            .post(
                "/api/discord/send-message",
                &a.token,
                json!({"leadId": lead_id, "content": "For A's eyes"}),
            )
            .await;
        sent.assert_status(201);
        let message_id = sent.json::<crate::helpers::views::Message>().id;
        crate::helpers::github::connect(&app, &a).await;
        let link = crate::helpers::github::link(
            &app,
            &a.token,
            &lead,
            &format!("{}#1", crate::helpers::github::REPO),
        )
        .await;
        link.assert_status(201);
        let link_id = link.json::<Link>().id;
        let hook = app
            .post(
                "/api/webhook-endpoints",
                &a.token,
                json!({"url": "http://127.0.0.1:9/a"}),
            )
            .await;
        hook.assert_status(201);
        let hook_id = hook.body["id"].text().to_owned();
        // One attempt in A's delivery log (the receiver is down: it fails, and is logged).
        app.post(
            &format!("/api/webhook-endpoints/{hook_id}/test"),
            &a.token,
            json!({}),
        )
        .await
        .assert_status(202);
        let attempt_id = crate::helpers::gateway::wait_for(async || {
            let log = app
                .get(
                    &format!("/api/webhook-endpoints/{hook_id}/deliveries"),
                    &a.token,
                )
                .await;
            log.body["items"][0]["id"].as_str().map(str::to_owned)
        })
        .await;
        let a_jobs = app.get("/api/jobs", &a.token).await;
        let job_id = a_jobs.body["items"][0]["id"].text().to_owned();

        // (method, documented path, concrete path with A's ids, body)
        let probes: Vec<(Method, &str, String, Option<Value>)> = vec![
            (
                Method::GET,
                "/api/leads/{leadId}",
                format!("/api/leads/{lead_id}"),
                None,
            ),
            (
                Method::PATCH,
                "/api/leads/{leadId}",
                format!("/api/leads/{lead_id}"),
                Some(json!({"name": "Stolen"})),
            ),
            (
                Method::DELETE,
                "/api/leads/{leadId}",
                format!("/api/leads/{lead_id}"),
                None,
            ),
            (
                Method::DELETE,
                "/api/api-keys/{keyId}",
                format!("/api/api-keys/{key_id}"),
                None,
            ),
            (
                Method::PATCH,
                "/api/companies/current/members/{userId}",
                format!("/api/companies/current/members/{}", a_member.user_id),
                Some(json!({"role": "admin"})),
            ),
            (
                Method::DELETE,
                "/api/companies/current/members/{userId}",
                format!("/api/companies/current/members/{}", a_member.user_id),
                None,
            ),
            (
                Method::GET,
                "/api/discord/channels/{leadId}",
                format!("/api/discord/channels/{lead_id}"),
                None,
            ),
            (
                Method::POST,
                "/api/discord/channels/{leadId}/archive",
                format!("/api/discord/channels/{lead_id}/archive"),
                Some(json!({})),
            ),
            (
                Method::POST,
                "/api/discord/channels/{leadId}/retry",
                format!("/api/discord/channels/{lead_id}/retry"),
                Some(json!({})),
            ),
            (
                Method::GET,
                "/api/leads/{leadId}/messages",
                format!("/api/leads/{lead_id}/messages"),
                None,
            ),
            // 404 before the stream opens: the probe gets an answer, not an endless body.
            (
                Method::GET,
                "/api/leads/{leadId}/events",
                format!("/api/leads/{lead_id}/events"),
                None,
            ),
            (
                Method::POST,
                "/api/jobs/{jobId}/retry",
                format!("/api/jobs/{job_id}/retry"),
                Some(json!({})),
            ),
            (
                Method::POST,
                "/api/leads/{leadId}/read",
                format!("/api/leads/{lead_id}/read"),
                Some(json!({})),
            ),
            (
                Method::POST,
                "/api/messages/{messageId}/retry",
                format!("/api/messages/{message_id}/retry"),
                Some(json!({})),
            ),
            (
                Method::POST,
                "/api/sandbox/leads/{leadId}/reply",
                format!("/api/sandbox/leads/{lead_id}/reply"),
                Some(json!({"content": "Not mine to say"})),
            ),
            (
                Method::POST,
                "/api/sandbox/links/{linkId}/close",
                format!("/api/sandbox/links/{link_id}/close"),
                None,
            ),
            (
                Method::GET,
                "/api/leads/{leadId}/links",
                format!("/api/leads/{lead_id}/links"),
                None,
            ),
            (
                Method::POST,
                "/api/leads/{leadId}/links",
                format!("/api/leads/{lead_id}/links"),
                Some(json!({"ref": format!("{}#2", crate::helpers::github::REPO)})),
            ),
            (
                Method::DELETE,
                "/api/leads/{leadId}/links/{linkId}",
                format!("/api/leads/{lead_id}/links/{link_id}"),
                None,
            ),
            (
                Method::GET,
                "/api/webhook-endpoints/{endpointId}",
                format!("/api/webhook-endpoints/{hook_id}"),
                None,
            ),
            (
                Method::PATCH,
                "/api/webhook-endpoints/{endpointId}",
                format!("/api/webhook-endpoints/{hook_id}"),
                Some(json!({"enabled": false})),
            ),
            (
                Method::DELETE,
                "/api/webhook-endpoints/{endpointId}",
                format!("/api/webhook-endpoints/{hook_id}"),
                None,
            ),
            (
                Method::POST,
                "/api/webhook-endpoints/{endpointId}/rotate-secret",
                format!("/api/webhook-endpoints/{hook_id}/rotate-secret"),
                Some(json!({})),
            ),
            (
                Method::POST,
                "/api/webhook-endpoints/{endpointId}/test",
                format!("/api/webhook-endpoints/{hook_id}/test"),
                Some(json!({})),
            ),
            (
                Method::GET,
                "/api/webhook-endpoints/{endpointId}/deliveries",
                format!("/api/webhook-endpoints/{hook_id}/deliveries"),
                None,
            ),
            (
                Method::POST,
                "/api/webhook-endpoints/{endpointId}/deliveries/{deliveryId}/resend",
                format!("/api/webhook-endpoints/{hook_id}/deliveries/{attempt_id}/resend"),
                Some(json!({})),
            ),
            // A's Discord integration is not B's to check or disconnect.
            (
                Method::POST,
                "/api/integrations/{provider}/check",
                "/api/integrations/discord/check".to_owned(),
                Some(json!({})),
            ),
            (
                Method::DELETE,
                "/api/integrations/{provider}",
                "/api/integrations/discord".to_owned(),
                None,
            ),
        ];
        // Templated paths that name no resource of a company, with why they need no probe.
        let exempt = [
            // Starts a flow for the caller's own company; tested in integrations.rs.
            ("POST", "/api/integrations/{provider}/authorize"),
            // Bound to a single-use state and the browser session, not to the caller's
            // company; `every_failed_callback_…` covers another session finishing a flow.
            ("GET", "/api/integrations/{provider}/callback"),
            // Called by GitHub, not by a company: the webhook secret decides, and
            // `github::another_companys_webhook_and_links_cannot_touch_a_lead` shows another
            // company's secret refused at A's address and A's issue ignored at B's.
            ("POST", "/api/webhooks/github/{integrationId}"),
        ];

        let spec: Value = serde_json::from_str(&switchboard::http::openapi::spec_json())
            .expect("the OpenAPI document is JSON");
        let documented: BTreeSet<(String, String)> = spec["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(path, _)| path.contains('{'))
            .flat_map(|(path, item)| {
                item.as_object()
                    .into_iter()
                    .flatten()
                    .map(move |(m, _)| (m.to_uppercase(), path.clone()))
            })
            .collect();
        let walked: BTreeSet<(String, String)> = probes
            .iter()
            .map(|(m, p, _, _)| (m.to_string(), (*p).to_owned()))
            .chain(
                exempt
                    .iter()
                    .map(|(m, p)| ((*m).to_owned(), (*p).to_owned())),
            )
            .collect();
        let missing: Vec<_> = documented.difference(&walked).collect();
        assert!(
            missing.is_empty(),
            "tenant-isolation probes missing for {missing:?}"
        );

        for (method, documented, path, body) in &probes {
            let reply = app
                .request(method.clone(), path, Auth::Bearer(&b.token), body.clone())
                .await;
            assert_eq!(
                reply.status.as_u16(),
                404,
                "{method} {documented} as company B: {}",
                reply.text
            );
        }

        // Lists show only B's own things.
        let leads = app.get("/api/leads", &b.token).await;
        assert_eq!(leads.body["items"], json!([]));
        let links = app.get("/api/links", &b.token).await;
        assert_eq!(links.body["items"], json!([]));
        let keys = app.get("/api/api-keys", &b.token).await;
        assert_eq!(keys.body["items"], json!([]));
        let members = app.get("/api/companies/current/members", &b.token).await;
        assert_eq!(members.body["items"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            app.get("/api/companies/current", &b.token).await.body["name"],
            "Company B"
        );

        // A's things are untouched.
        let still = app.get(&format!("/api/leads/{lead_id}"), &a.token).await;
        still.assert_status(200);
        assert_eq!(still.body["name"], "A's lead");
        app.get("/api/leads", &key_secret).await.assert_status(200);
        assert_eq!(
            app.get("/api/discord/channels", &b.token).await.body["items"],
            json!([])
        );
        assert_eq!(
            app.get("/api/jobs", &b.token).await.body["items"],
            json!([])
        );
        let spoofed = app
            .post(
                "/api/discord/send-message",
                &b.token,
                json!({"leadId": lead_id, "content": "Spoofed"}),
            )
            .await;
        assert_eq!(spoofed.status.as_u16(), 404, "B cannot message A's lead");
        let opened = app
            .post(
                "/api/discord/channels",
                &b.token,
                json!({"leadId": lead_id}),
            )
            .await;
        assert_eq!(
            opened.status.as_u16(),
            404,
            "B cannot open a channel for A's lead"
        );
        let integrations = app.get("/api/integrations", &b.token).await;
        assert_eq!(integrations.body["items"], json!([]));
        assert_eq!(
            app.get("/api/audit-log", &b.token).await.body["items"],
            json!([])
        );
        let a_integrations = app.get("/api/integrations", &a.token).await;
        assert_eq!(
            a_integrations.body["items"][0]["status"], "active",
            "A's integration is untouched"
        );
        let integrations = app.get("/api/integrations", &b.token).await;
        assert_eq!(integrations.body["items"], json!([]));
        assert_eq!(
            app.get("/api/audit-log", &b.token).await.body["items"],
            json!([])
        );
        let a_integrations = app.get("/api/integrations", &a.token).await;
        assert_eq!(
            a_integrations.body["items"][0]["status"], "active",
            "A's integration is untouched"
        );
        let a_channel = app
            .get(&format!("/api/discord/channels/{lead_id}"), &a.token)
            .await;
        assert_eq!(
            a_channel.body["isActive"], true,
            "A's channel is not archived by B"
        );
        let a_members = app.get("/api/companies/current/members", &a.token).await;
        assert_eq!(a_members.body["items"].as_array().map(Vec::len), Some(2));
    }
);

storage_test!(a_tenant_id_in_the_body_is_ignored, |app| {
    let a = app.signup("Company A").await;
    let b = app.signup("Company B").await;
    app.post(
        "/api/leads",
        &b.token,
        json!({"name": "Sneaky", "companyId": a.company_id}),
    )
    .await
    .assert_status(422);
    let a_leads = app.get("/api/leads", &a.token).await;
    assert_eq!(a_leads.body["items"], json!([]));
});
