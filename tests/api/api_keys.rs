use reqwest::Method;
use serde_json::json;

use crate::helpers::Auth;

storage_test!(
    an_api_key_is_shown_once_and_authenticates_both_ways,
    |app| {
        let account = app.signup("Keys Co").await;
        let created = app
            .post(
                "/api/api-keys",
                &account.token,
                json!({"name": "CRM production"}),
            )
            .await;
        created.assert_status(201);
        let secret = created.body["secret"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(secret.starts_with("sbk_"));
        assert!(secret.starts_with(created.body["prefix"].as_str().unwrap_or("?")));
        assert_eq!(created.body["role"], "member");

        let listed = app.get("/api/api-keys", &account.token).await;
        assert!(
            !listed.text.contains(&secret),
            "the secret is never shown again"
        );
        assert_eq!(listed.body["items"][0]["name"], "CRM production");

        for auth in [Auth::Bearer(&secret), Auth::ApiKeyHeader(&secret)] {
            let me = app.request(Method::GET, "/api/me", auth, None).await;
            me.assert_status(200);
            assert_eq!(me.body["authMethod"], "apiKey");
            assert_eq!(me.body["user"], serde_json::Value::Null);
            assert_eq!(me.body["company"]["id"], account.company_id.as_str());
        }
        let used = app.get("/api/api-keys", &account.token).await;
        assert!(used.body["items"][0]["lastUsedAt"].is_string());
    }
);

storage_test!(a_revoked_api_key_stops_working_at_once, |app| {
    let account = app.signup("Revoke Co").await;
    let created = app
        .post("/api/api-keys", &account.token, json!({"name": "temp"}))
        .await;
    let secret = created.body["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let path = format!(
        "/api/api-keys/{}",
        created.body["id"].as_str().unwrap_or_default()
    );
    app.get("/api/leads", &secret).await.assert_status(200);
    app.delete(&path, &account.token).await.assert_status(204);
    app.delete(&path, &account.token).await.assert_status(204);
    app.get("/api/leads", &secret)
        .await
        .assert_problem(401, "unauthenticated");
    let listed = app.get("/api/api-keys", &account.token).await;
    assert!(listed.body["items"][0]["revokedAt"].is_string());
});

storage_test!(an_api_key_never_outranks_its_creator, |app| {
    let owner = app.signup("Rank Co").await;
    app.post(
        "/api/api-keys",
        &owner.token,
        json!({"name": "k", "role": "owner"}),
    )
    .await
    .assert_invalid_field("role");
    let admin_key = app
        .post(
            "/api/api-keys",
            &owner.token,
            json!({"name": "k", "role": "admin"}),
        )
        .await;
    admin_key.assert_status(201);
    let secret = admin_key.body["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let member_key = app
        .post("/api/api-keys", &secret, json!({"name": "made by a key"}))
        .await;
    member_key.assert_status(201);
    let member_secret = member_key.body["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.post("/api/api-keys", &member_secret, json!({"name": "x"}))
        .await
        .assert_problem(403, "forbidden");
});

storage_test!(a_made_up_api_key_is_refused, |app| {
    let reply = app
        .get("/api/me", "sbk_thisKeyWasNeverIssuedByTheServer000000000")
        .await;
    reply.assert_problem(401, "unauthenticated");
});
