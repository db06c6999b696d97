use reqwest::Method;
use serde_json::json;

use crate::helpers::{Auth, JsonText};

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
        let secret = created.body["secret"].text().to_owned();
        assert!(secret.starts_with("sbk_"));
        assert!(secret.starts_with(created.body["prefix"].text()));
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
    let secret = created.body["secret"].text().to_owned();
    let path = format!("/api/api-keys/{}", created.body["id"].text());
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
    let secret = admin_key.body["secret"].text().to_owned();
    let member_key = app
        .post("/api/api-keys", &secret, json!({"name": "made by a key"}))
        .await;
    member_key.assert_status(201);
    let member_secret = member_key.body["secret"].text().to_owned();
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

storage_test!(
    a_key_acts_with_at_most_its_creators_current_role_and_dies_with_their_membership,
    |app| {
        let owner = app.signup("Owner Co").await;
        let admin = app.signup("Admin's own Co").await;
        let admin_token = app.join(&owner, &admin, "admin").await;
        let created = app
            .post(
                "/api/api-keys",
                &admin_token,
                json!({"name": "admin's key", "role": "admin"}),
            )
            .await;
        created.assert_status(201);
        let key = created.body["secret"].as_str().expect("secret").to_owned();
        // A key made with that key belongs to the same person.
        let derived = app
            .post(
                "/api/api-keys",
                &key,
                json!({"name": "made by a key", "role": "admin"}),
            )
            .await;
        derived.assert_status(201);
        let derived = derived.body["secret"].as_str().expect("secret").to_owned();
        app.get("/api/api-keys", &key).await.assert_status(200);

        // Demoted to member: the key is a member's key now.
        let member_path = format!("/api/companies/current/members/{}", admin.user_id);
        app.patch(&member_path, &owner.token, json!({"role": "member"}))
            .await
            .assert_status(200);
        app.get("/api/api-keys", &key)
            .await
            .assert_problem(403, "forbidden");
        app.get("/api/leads", &key).await.assert_status(200);

        // Removed: the keys stop working at once and cannot bring the member back.
        app.delete(&member_path, &owner.token)
            .await
            .assert_status(204);
        for secret in [&key, &derived] {
            app.get("/api/leads", secret)
                .await
                .assert_problem(401, "unauthenticated");
            app.post(
                "/api/companies/current/members",
                secret,
                json!({"email": admin.email, "role": "admin"}),
            )
            .await
            .assert_problem(401, "unauthenticated");
        }
        let listed = app.get("/api/api-keys", &owner.token).await;
        let items = listed.body["items"]
            .as_array()
            .cloned()
            .expect("a list of keys");
        assert_eq!(items.len(), 2);
        assert!(
            items.iter().all(|k| k["revokedAt"].is_string()),
            "they show as revoked: {}",
            listed.text
        );
    }
);
