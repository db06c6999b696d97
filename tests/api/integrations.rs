use reqwest::Method;
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use serde_json::{Value, json};
use switchboard::{
    entities::integration,
    integrations::{flow, store},
};

use crate::helpers::{Auth, TestApp, oauth};

async fn integration(app: &TestApp, token: &str, provider: &str) -> Value {
    let list = app.get("/api/integrations", token).await;
    list.assert_status(200);
    list.body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["provider"] == provider).cloned())
        .unwrap_or(Value::Null)
}

storage_test!(
    the_discord_popup_flow_binds_the_company_to_the_chosen_server,
    |app| {
        let account = app.signup("Discord Co").await;
        let (browser, _) = app.login_browser(&account).await;
        let guild = oauth::sandbox_guild(&app, "Discord Co HQ").await;
        let (page, message) =
            oauth::connect(&app, &browser, &account, "discord", Some(&guild)).await;
        page.assert_status(200);
        assert_eq!(message["type"], "switchboard:oauth");
        assert_eq!(message["provider"], "discord");
        assert_eq!(message["status"], "success", "{}", page.text);
        let csp = page
            .headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .expect("a Content-Security-Policy header");
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'nonce-"),
            "{csp}"
        );
        assert_eq!(
            page.headers
                .get("referrer-policy")
                .and_then(|v| v.to_str().ok()),
            Some("no-referrer")
        );
        // The app is served by the service itself, so its origin is the service's.
        let app_origin = format!("\"http://{}\"", app.addr);
        assert!(
            page.text.contains(&format!("var origin = {app_origin};")),
            "posts only to the web app's origin, {app_origin}: {}",
            page.text
        );

        let discord = integration(&app, &account.token, "discord").await;
        assert_eq!(discord["status"], "active");
        assert_eq!(discord["health"], "connected");
        assert_eq!(discord["metadata"]["guildId"], guild.as_str());
        assert_eq!(discord["metadata"]["guildName"], "Discord Co HQ");
        assert_eq!(discord["metadata"]["permissions"], "268553232");
        assert_eq!(discord["connectedBy"]["email"], account.email.as_str());
        assert!(discord["expiresAt"].is_string());

        let connection =
            store::connection_for(&app.state.db, account.company_id.parse().expect("uuid"))
                .await
                .expect("query")
                .expect("a discord_connections row");
        assert_eq!(connection.guild_id.to_string(), guild);
        assert!(connection.bot_invited);

        let audit = app
            .get(
                "/api/audit-log?action=integration.connected",
                &account.token,
            )
            .await;
        assert_eq!(audit.body["items"][0]["detail"]["guildId"], guild.as_str());
    }
);

storage_test!(
    the_github_popup_flow_uses_pkce_and_records_the_account,
    |app| {
        let account = app.signup("GitHub Co").await;
        let (browser, _) = app.login_browser(&account).await;
        let consent = oauth::start(&app, &browser, &account, "github").await;
        let authorize = url::Url::parse(&consent.url).expect("URL");
        let param = |name: &str| {
            authorize
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
        assert_eq!(param("code_challenge").map(|c| c.len()), Some(43));
        assert_eq!(param("scope").as_deref(), Some("repo"));
        let location = oauth::decide(&browser, &consent, true, None).await;
        let (page, message) = oauth::land(&app, &browser, &location).await;
        assert_eq!(message["status"], "success", "{}", page.text);
        let github = integration(&app, &account.token, "github").await;
        assert_eq!(github["status"], "active");
        assert_eq!(github["metadata"]["login"], "sandbox-octocat");
        assert_eq!(github["metadata"]["scopes"], json!(["repo"]));
    }
);

storage_test!(tokens_are_stored_encrypted, |app| {
    let account = app.signup("Crypto Co").await;
    let (browser, _) = app.login_browser(&account).await;
    oauth::connect(&app, &browser, &account, "discord", None)
        .await
        .0
        .assert_status(200);
    let row = integration::Entity::find()
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("row");
    let access = store::token(&app.state.cipher, &row, store::ACCESS_TOKEN)
        .expect("decrypts")
        .expect("token");
    let refresh = store::token(&app.state.cipher, &row, store::REFRESH_TOKEN)
        .expect("decrypts")
        .expect("token");
    // Read the row as the database holds it, every column as text.
    let backend = app.state.db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "SELECT row_to_json(i)::text AS raw FROM integrations i"
        }
        _ => {
            "SELECT access_token_enc || coalesce(refresh_token_enc, '') || CAST(metadata AS TEXT) AS raw FROM integrations"
        }
    };
    let raw = app
        .state
        .db
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .expect("query")
        .and_then(|r| r.try_get::<String>("", "raw").ok())
        .expect("raw row");
    assert!(
        !raw.contains(access.expose().as_str()),
        "plaintext access token in the database"
    );
    assert!(
        !raw.contains(refresh.expose().as_str()),
        "plaintext refresh token in the database"
    );
    assert!(
        row.access_token_enc
            .as_deref()
            .is_some_and(|t| t.starts_with("v1."))
    );
    // On SQLite, the files themselves (database and write-ahead log) hold no plaintext either.
    if let Some(path) = app.settings.database_url.expose().strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        for file in [path.to_owned(), format!("{path}-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains(access.expose().as_str()),
                "plaintext token in {file}"
            );
        }
    }
    // Nor in any API answer.
    let list = app.get("/api/integrations", &account.token).await;
    assert!(!list.text.contains(access.expose().as_str()));
});

storage_test!(a_state_works_once_even_under_concurrent_callbacks, |app| {
    let account = app.signup("Replay Co").await;
    let (browser, _) = app.login_browser(&account).await;
    let consent = oauth::start(&app, &browser, &account, "discord").await;
    let guild = oauth::options(&consent.html)[0].0.clone();
    let location = oauth::decide(&browser, &consent, true, Some(&guild)).await;
    let attempts = (0..5).map(|_| {
        let (browser, location) = (browser.clone(), location.clone());
        async move {
            browser
                .get(&location)
                .send()
                .await
                .expect("callback")
                .text()
                .await
                .expect("html")
        }
    });
    let pages = futures::future::join_all(attempts).await;
    let outcomes: Vec<Value> = pages
        .iter()
        .map(|p| oauth::popup_message(p)["status"].clone())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|s| **s == "success").count(),
        1,
        "{outcomes:?}"
    );
    for page in pages
        .iter()
        .filter(|p| oauth::popup_message(p)["status"] == "error")
    {
        assert_eq!(oauth::popup_message(page)["code"], "invalid_state");
    }
    // And later, the same link is still refused.
    let (replay, message) = oauth::land(&app, &browser, &location).await;
    replay.assert_status(400);
    assert_eq!(message["code"], "invalid_state");
});

storage_test!(
    every_failed_callback_ends_on_the_page_with_a_code_and_changes_nothing,
    |app| {
        let account = app.signup("Failures Co").await;
        let (browser, _) = app.login_browser(&account).await;
        let expect = |reply: &crate::helpers::Reply, message: &Value, status: u16, code: &str| {
            assert_eq!(reply.status.as_u16(), status, "{code}: {}", reply.text);
            assert_eq!(message["status"], "error", "{code}");
            assert_eq!(message["code"], code, "{}", reply.text);
            assert!(reply.text.contains(code), "the page shows the code");
        };

        // The person declines on the consent page.
        let consent = oauth::start(&app, &browser, &account, "discord").await;
        let location = oauth::decide(&browser, &consent, false, None).await;
        assert!(location.contains("error=access_denied"));
        let (reply, message) = oauth::land(&app, &browser, &location).await;
        expect(&reply, &message, 400, "access_denied");

        // No state, an unknown one, and one that expired (gone from the store).
        let callback = app.url("/api/integrations/discord/callback");
        let (reply, message) = oauth::land(&app, &browser, &format!("{callback}?code=x")).await;
        expect(&reply, &message, 400, "invalid_state");
        let (reply, message) = oauth::land(
            &app,
            &browser,
            &format!("{callback}?code=x&state=never-issued"),
        )
        .await;
        expect(&reply, &message, 400, "invalid_state");
        let consent = oauth::start(&app, &browser, &account, "discord").await;
        let location = oauth::decide(&browser, &consent, true, None).await;
        app.state
            .state
            .delete(&format!("oauth_state:{}", consent.state))
            .await
            .expect("expire");
        let (reply, message) = oauth::land(&app, &browser, &location).await;
        expect(&reply, &message, 400, "invalid_state");

        // Finished in another browser session (e.g. a link sent to someone else).
        let consent = oauth::start(&app, &browser, &account, "discord").await;
        let location = oauth::decide(&browser, &consent, true, None).await;
        let (other_browser, _) = app.login_browser(&account).await;
        let (reply, message) = oauth::land(&app, &other_browser, &location).await;
        expect(&reply, &message, 403, "session_mismatch");

        // A state issued for GitHub used on Discord's callback.
        let consent = oauth::start(&app, &browser, &account, "github").await;
        let location = oauth::decide(&browser, &consent, true, None).await;
        let crossed = location.replace("/integrations/github/", "/integrations/discord/");
        let (reply, message) = oauth::land(&app, &browser, &crossed).await;
        expect(&reply, &message, 400, "invalid_state");

        // A code the provider does not accept.
        let consent = oauth::start(&app, &browser, &account, "discord").await;
        let location = oauth::decide(&browser, &consent, true, None).await;
        let forged = oauth::with_code(&location, "forged-code");
        let (reply, message) = oauth::land(&app, &browser, &forged).await;
        expect(&reply, &message, 400, "exchange_failed");

        // Nothing was connected by any of it.
        assert_eq!(
            app.get("/api/integrations", &account.token).await.body["items"],
            json!([])
        );
        assert_eq!(
            app.get("/api/audit-log", &account.token).await.body["items"],
            json!([])
        );

        // An unknown provider is a plain 404.
        app.request(
            Method::GET,
            "/api/integrations/myspace/callback?state=x",
            Auth::None,
            None,
        )
        .await
        .assert_problem(404, "provider_not_found");
    }
);

storage_test!(
    a_server_held_by_one_company_cannot_be_bound_by_another,
    |app| {
        let a = app.signup("Holder").await;
        let b = app.signup("Claimant").await;
        let guild = oauth::sandbox_guild(&app, "Contested").await;
        let (browser_a, _) = app.login_browser(&a).await;
        let (browser_b, _) = app.login_browser(&b).await;
        oauth::connect(&app, &browser_a, &a, "discord", Some(&guild))
            .await
            .0
            .assert_status(200);
        let (reply, message) = oauth::connect(&app, &browser_b, &b, "discord", Some(&guild)).await;
        reply.assert_status(409);
        assert_eq!(message["code"], "guild_already_connected");
        assert_eq!(
            app.get("/api/integrations", &b.token).await.body["items"],
            json!([])
        );
        assert_eq!(
            integration(&app, &a.token, "discord").await["status"],
            "active"
        );
    }
);

storage_test!(
    disconnecting_revokes_unbinds_keeps_history_and_can_be_undone,
    |app| {
        let a = app.signup("Leaver").await;
        let b = app.signup("Newcomer").await;
        let guild = oauth::sandbox_guild(&app, "Shared later").await;
        let (browser_a, _) = app.login_browser(&a).await;
        oauth::connect(&app, &browser_a, &a, "discord", Some(&guild))
            .await
            .0
            .assert_status(200);
        let row = integration::Entity::find()
            .one(&app.state.db)
            .await
            .expect("query")
            .expect("row");
        let token = store::token(&app.state.cipher, &row, store::ACCESS_TOKEN)
            .expect("ok")
            .expect("token");

        app.delete("/api/integrations/discord", &a.token)
            .await
            .assert_status(204);
        let discord = integration(&app, &a.token, "discord").await;
        assert_eq!(discord["status"], "revoked");
        assert_eq!(discord["health"], "disconnected");
        assert_eq!(
            discord["metadata"]["guildId"],
            guild.as_str(),
            "history is kept"
        );
        let row = integration::Entity::find()
            .one(&app.state.db)
            .await
            .expect("query")
            .expect("row");
        assert!(
            row.access_token_enc.is_none() && row.refresh_token_enc.is_none(),
            "tokens are forgotten"
        );
        // Revoked at the provider: refreshing with it no longer works there.
        let revoked = app
            .send(
                app.client
                    .post(app.url("/sandbox/discord/api/v10/oauth2/token/revoke"))
                    .basic_auth(
                        switchboard::sandbox::credentials::DISCORD_CLIENT_ID,
                        Some(switchboard::sandbox::credentials::DISCORD_CLIENT_SECRET),
                    )
                    .form(&[("token", token.expose().as_str())]),
                Auth::None,
                None,
            )
            .await;
        revoked.assert_status(200);
        let audit = app
            .get("/api/audit-log?action=integration.disconnected", &a.token)
            .await;
        assert_eq!(audit.body["items"][0]["detail"]["revocation"], "revoked");
        app.delete("/api/integrations/discord", &a.token)
            .await
            .assert_problem(404, "integration_not_found");

        // Reconnecting the same server restores it.
        oauth::connect(&app, &browser_a, &a, "discord", Some(&guild))
            .await
            .0
            .assert_status(200);
        let discord = integration(&app, &a.token, "discord").await;
        assert_eq!(
            (discord["status"].as_str(), discord["health"].as_str()),
            (Some("active"), Some("connected"))
        );

        // Once A lets it go, another company may take the server.
        app.delete("/api/integrations/discord", &a.token)
            .await
            .assert_status(204);
        let (browser_b, _) = app.login_browser(&b).await;
        oauth::connect(&app, &browser_b, &b, "discord", Some(&guild))
            .await
            .0
            .assert_status(200);
        assert_eq!(
            integration(&app, &b.token, "discord").await["metadata"]["guildId"],
            guild.as_str()
        );
    }
);

storage_test!(a_health_check_notices_a_removed_bot, |app| {
    let account = app.signup("Health Co").await;
    let guild = oauth::sandbox_guild(&app, "Kicks bots").await;
    let (browser, _) = app.login_browser(&account).await;
    oauth::connect(&app, &browser, &account, "discord", Some(&guild))
        .await
        .0
        .assert_status(200);
    let ok = app
        .post("/api/integrations/discord/check", &account.token, json!({}))
        .await;
    ok.assert_status(200);
    assert_eq!(ok.body["status"], "active");
    app.request(
        Method::DELETE,
        &format!("/sandbox/discord/servers/{guild}/bot"),
        Auth::None,
        None,
    )
    .await
    .assert_status(204);
    let failed = app
        .post("/api/integrations/discord/check", &account.token, json!({}))
        .await;
    failed.assert_status(200);
    assert_eq!(failed.body["status"], "error");
    assert_eq!(failed.body["health"], "degraded");
    assert_eq!(failed.body["errorCount"], 1);
    assert!(
        failed.body["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("Missing Access")),
        "{}",
        failed.text
    );
});

storage_test!(
    tokens_are_refreshed_before_expiry_and_a_failed_refresh_is_recorded,
    |app| {
        let account = app.signup("Refresh Co").await;
        let (browser, _) = app.login_browser(&account).await;
        oauth::connect(&app, &browser, &account, "discord", None)
            .await
            .0
            .assert_status(200);
        let expire_soon = |app: &TestApp| {
            let db = app.state.db.clone();
            async move {
                integration::Entity::update_many()
                    .col_expr(
                        integration::Column::ExpiresAt,
                        sea_orm::sea_query::Expr::value(
                            chrono::Utc::now() + chrono::Duration::minutes(2),
                        ),
                    )
                    .exec(&db)
                    .await
                    .expect("update");
            }
        };
        expire_soon(&app).await;
        let before = integration::Entity::find()
            .one(&app.state.db)
            .await
            .expect("q")
            .expect("row");
        assert_eq!(flow::refresh_due(&app.state).await.expect("refresh"), 1);
        let after = integration::Entity::find()
            .one(&app.state.db)
            .await
            .expect("q")
            .expect("row");
        assert_ne!(
            before.access_token_enc, after.access_token_enc,
            "a new access token"
        );
        assert!(after.expires_at > before.expires_at);
        assert_eq!(
            after.status,
            switchboard::integrations::IntegrationStatus::Active
        );

        // The refresh token is revoked at Discord: the next refresh fails and is recorded.
        let refresh = store::token(&app.state.cipher, &after, store::REFRESH_TOKEN)
            .expect("ok")
            .expect("token");
        app.send(
            app.client
                .post(app.url("/sandbox/discord/api/v10/oauth2/token/revoke"))
                .basic_auth(
                    switchboard::sandbox::credentials::DISCORD_CLIENT_ID,
                    Some(switchboard::sandbox::credentials::DISCORD_CLIENT_SECRET),
                )
                .form(&[("token", refresh.expose().as_str())]),
            Auth::None,
            None,
        )
        .await
        .assert_status(200);
        expire_soon(&app).await;
        assert_eq!(flow::refresh_due(&app.state).await.expect("runs"), 0);
        let discord = integration(&app, &account.token, "discord").await;
        assert_eq!(discord["status"], "error");
        assert_eq!(discord["errorCount"], 1);
        assert!(
            discord["lastError"]
                .as_str()
                .is_some_and(|e| e.contains("refresh failed")),
            "{discord}"
        );
    }
);

storage_test!(only_admins_connect_and_everyone_sees_the_providers, |app| {
    let owner = app.signup("Admin Only").await;
    let member = app.signup("Member home").await;
    let token = app.join(&owner, &member, "member").await;
    app.post("/api/integrations/discord/authorize", &token, json!({}))
        .await
        .assert_problem(403, "forbidden");
    app.post("/api/discord/connect-server", &token, json!({}))
        .await
        .assert_problem(403, "forbidden");
    app.delete("/api/integrations/discord", &token)
        .await
        .assert_problem(403, "forbidden");
    app.get("/api/audit-log", &token)
        .await
        .assert_problem(403, "forbidden");
    app.post(
        "/api/integrations/myspace/authorize",
        &owner.token,
        json!({}),
    )
    .await
    .assert_problem(404, "provider_not_found");
    let providers = app.get("/api/integrations/providers", &token).await;
    providers.assert_status(200);
    let ids: Vec<&str> = providers.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids, ["discord", "github"]);
    assert_eq!(providers.body["items"][0]["configured"], true);
    assert!(
        providers.body["items"][0]["redirectUri"]
            .as_str()
            .is_some_and(|u| u.ends_with("/api/integrations/discord/callback"))
    );
    let connect = app
        .post("/api/discord/connect-server", &owner.token, json!({}))
        .await;
    connect.assert_status(200);
    assert!(
        connect.body["authorizeUrl"]
            .as_str()
            .is_some_and(|u| u.contains("permissions=268553232")
                && u.contains("scope=bot+applications.commands"))
    );
});

storage_test!(a_discord_token_without_a_guild_connects_nothing, |app| {
    let account = app.signup("No Guild Co").await;
    let (browser, _) = app.login_browser(&account).await;
    app.request(
        Method::PUT,
        "/sandbox/discord/faults",
        Auth::None,
        Some(json!({"omitTokenGuild": true})),
    )
    .await
    .assert_status(200);
    let (reply, message) = oauth::connect(&app, &browser, &account, "discord", None).await;
    reply.assert_status(400);
    assert_eq!(message["code"], "missing_guild", "{}", reply.text);
    assert_eq!(
        app.get("/api/integrations", &account.token).await.body["items"],
        json!([])
    );
    let connection =
        store::connection_for(&app.state.db, account.company_id.parse().expect("uuid"))
            .await
            .expect("query");
    assert!(connection.is_none());
});

storage_test!(concurrent_refreshes_of_one_grant_refresh_it_once, |app| {
    let account = app.signup("Race Co").await;
    let (browser, _) = app.login_browser(&account).await;
    oauth::connect(&app, &browser, &account, "discord", None)
        .await
        .0
        .assert_status(200);
    integration::Entity::update_many()
        .col_expr(
            integration::Column::ExpiresAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() + chrono::Duration::minutes(1)),
        )
        .exec(&app.state.db)
        .await
        .expect("update");
    // Two replicas' refreshers at once: the provider rotates refresh tokens, so a second
    // refresh with the same token would fail and mark the grant broken.
    // More than one replica needs Redis (the embedded default is a single instance), so on
    // SQLite the two refreshers run in one process.
    let replica = match app.backend {
        crate::helpers::Backend::Services => Some(app.second_replica().await),
        crate::helpers::Backend::Embedded => None,
    };
    let other = replica
        .as_ref()
        .map_or_else(|| app.state.clone(), |r| r.state.clone());
    let (a, b) = tokio::join!(flow::refresh_due(&app.state), flow::refresh_due(&other));
    a.expect("first refresher");
    b.expect("second refresher");
    let discord = integration(&app, &account.token, "discord").await;
    assert_eq!(discord["status"], "active", "{discord}");
    assert_eq!(discord["errorCount"], 0);
});

storage_test!(
    a_github_token_error_answered_with_http_200_is_read_as_a_refusal,
    |app| {
        // GitHub answers a bad code with 200 and `{"error": "bad_verification_code"}`; read naively
        // that is a response without an access token, i.e. "GitHub is broken" (503). It is a refusal.
        let account = app.signup("Quirk Co").await;
        let (browser, _) = app.login_browser(&account).await;
        let consent = oauth::start(&app, &browser, &account, "github").await;
        let location = oauth::decide(&browser, &consent, true, None).await;
        let forged = oauth::with_code(&location, "0000000000");
        let (reply, message) = oauth::land(&app, &browser, &forged).await;
        reply.assert_status(400);
        assert_eq!(message["code"], "exchange_failed", "{}", reply.text);
        assert_eq!(
            app.get("/api/integrations", &account.token).await.body["items"],
            json!([])
        );
    }
);
