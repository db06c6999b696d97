use serde_json::json;

use crate::helpers::{
    JsonText,
    views::{Lead, Page},
};

storage_test!(a_lead_can_be_created_read_updated_and_deleted, |app| {
    let account = app.signup("Crud Co").await;
    let created = app
        .post(
            "/api/leads",
            &account.token,
            json!({
                "name": "  Grace Hopper ", "email": "Grace@Example.com",
                "discordUserId": "175928847299117063", "discordUsername": "Grace.Hopper"
            }),
        )
        .await;
    created.assert_status(201);
    let lead: Lead = created.json();
    assert_eq!(lead.name, "Grace Hopper");
    assert_eq!(lead.email.as_deref(), Some("grace@example.com"));
    assert_eq!(lead.discord_user_id.as_deref(), Some("175928847299117063"));
    assert_eq!(lead.discord_username.as_deref(), Some("grace.hopper"));
    assert_eq!(lead.status, "open");
    assert_eq!(
        lead.owner_user_id.as_deref(),
        Some(account.user_id.as_str())
    );
    assert_eq!(lead.discord_channel_id, None);
    assert!(!lead.discord_joined_channel);
    let path = format!("/api/leads/{}", lead.id);

    app.get(&path, &account.token).await.assert_status(200);

    let updated = app
        .patch(
            &path,
            &account.token,
            json!({"status": "resolved", "email": null}),
        )
        .await;
    updated.assert_status(200);
    let updated: Lead = updated.json();
    assert_eq!(updated.status, "resolved");
    assert_eq!(updated.email, None);
    assert_eq!(
        updated.name, "Grace Hopper",
        "fields left out are unchanged"
    );

    app.delete(&path, &account.token).await.assert_status(204);
    app.get(&path, &account.token)
        .await
        .assert_problem(404, "lead_not_found");
    app.delete(&path, &account.token)
        .await
        .assert_problem(404, "lead_not_found");
});

storage_test!(paging_visits_every_lead_exactly_once_newest_first, |app| {
    let account = app.signup("Paging Co").await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(
            app.create_lead(&account.token, &format!("Lead {i}"))
                .await
                .id,
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/leads?limit=3&cursor={c}"),
            None => "/api/leads?limit=3".to_owned(),
        };
        let page = app.get(&path, &account.token).await;
        page.assert_status(200);
        let page: Page<Lead> = page.json();
        seen.extend(page.items.into_iter().map(|l| l.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    created.reverse();
    assert_eq!(seen, created);
});

storage_test!(leads_can_be_filtered_by_status_and_owner, |app| {
    let owner = app.signup("Filter Co").await;
    let member = app.signup("Member home").await;
    let member_token = app.join(&owner, &member, "member").await;
    let mine = app.create_lead(&owner.token, "Mine").await;
    app.create_lead(&member_token, "Theirs").await;
    app.patch(
        &format!("/api/leads/{}", mine.id),
        &owner.token,
        json!({"status": "closed"}),
    )
    .await
    .assert_status(200);

    let closed = app.get("/api/leads?status=closed", &owner.token).await;
    assert_eq!(closed.body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(closed.body["items"][0]["name"], "Mine");
    let by_member = app
        .get(
            &format!("/api/leads?ownerUserId={}", member.user_id),
            &owner.token,
        )
        .await;
    assert_eq!(by_member.body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(by_member.body["items"][0]["name"], "Theirs");
});

storage_test!(a_lead_owner_must_be_a_member_of_the_company, |app| {
    let account = app.signup("Owner Check Co").await;
    let stranger = app.signup("Elsewhere").await;
    app.post(
        "/api/leads",
        &account.token,
        json!({"name": "Ada", "ownerUserId": stranger.user_id}),
    )
    .await
    .assert_invalid_field("ownerUserId");
    let lead = app.create_lead(&account.token, "Ada").await;
    app.patch(
        &format!("/api/leads/{}", lead.id),
        &account.token,
        json!({"ownerUserId": stranger.user_id}),
    )
    .await
    .assert_invalid_field("ownerUserId");
});

storage_test!(an_api_key_creates_leads_without_an_owner, |app| {
    let account = app.signup("Crm Co").await;
    let key = app
        .post("/api/api-keys", &account.token, json!({"name": "CRM"}))
        .await;
    let secret = key.body["secret"].text().to_owned();
    let lead = app
        .post("/api/leads", &secret, json!({"name": "From the CRM"}))
        .await;
    lead.assert_status(201);
    assert_eq!(lead.json::<Lead>().owner_user_id, None);
});
