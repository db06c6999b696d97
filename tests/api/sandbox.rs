//! The simulators answer like the real platforms: same checks, same shapes, errors included.
//! Shapes are checked against Discord's official OpenAPI document, vendored in tests/fixtures.

use reqwest::Method;
use serde_json::json;
use switchboard::sandbox::credentials::{
    DISCORD_BOT_TOKEN, DISCORD_CLIENT_ID, DISCORD_CLIENT_SECRET, GITHUB_CLIENT_ID,
    GITHUB_CLIENT_SECRET,
};

use crate::helpers::{
    Auth, Reply, TestApp, oauth,
    schema::{assert_discord_schema, discord_request_errors, discord_schema_errors},
};

storage_test!(
    the_products_requests_to_discord_match_discords_request_schemas,
    |app| {
        let (account, _, lead) = crate::helpers::discord::connected(&app).await;
        app.post(
            "/api/discord/channels",
            &account.token,
            json!({"leadId": lead.id}),
        )
        .await
        .assert_status(201);
        app.post(
            "/api/discord/send-message",
            &account.token,
            json!({"leadId": lead.id, "content": "Hello"}),
        )
        .await
        .assert_status(201);
        app.post(
            &format!("/api/discord/channels/{}/archive", lead.id),
            &account.token,
            json!({}),
        )
        .await
        .assert_status(200);
        let recorded = app
            .state
            .sandbox
            .as_ref()
            .expect("sandbox")
            .discord
            .channels
            .recorded();
        let mut seen = std::collections::BTreeSet::new();
        for (route, body) in &recorded {
            let (method, path) = route.split_once(' ').expect("METHOD path");
            let errors = discord_request_errors(&method.to_lowercase(), &format!("/{path}"), body);
            assert!(errors.is_empty(), "{route} {body}: {errors:#?}");
            seen.insert(*route);
        }
        for route in [
            "POST guilds/{guild_id}/channels",
            "PUT channels/{channel_id}/permissions/{overwrite_id}",
            "POST channels/{channel_id}/messages",
        ] {
            assert!(seen.contains(route), "no {route} was made: {seen:?}");
        }
        // The check can fail: a body Discord would refuse is caught.
        assert!(
            !discord_request_errors(
                "post",
                "/channels/{channel_id}/messages",
                &json!({"content": 42})
            )
            .is_empty()
        );
    }
);

#[test]
fn the_schema_check_rejects_an_incomplete_guild() {
    assert!(!discord_schema_errors("GuildResponse", &json!({"id": "1", "name": "x"})).is_empty());
    assert!(!discord_schema_errors("GuildResponse", &json!({"id": 1})).is_empty());
}

async fn discord_code(app: &TestApp, account: &crate::helpers::Account) -> (String, String) {
    let (browser, _) = app.login_browser(account).await;
    let consent = oauth::start(app, &browser, account, "discord").await;
    let location = oauth::decide(&browser, &consent, true, None).await;
    let url = url::Url::parse(&location).expect("URL");
    let code = url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    (code, app.state.settings.redirect_uri("discord"))
}

async fn discord_token(app: &TestApp, secret: &str, form: &[(&str, &str)]) -> Reply {
    app.send(
        app.client
            .post(app.url("/sandbox/discord/api/v10/oauth2/token"))
            .basic_auth(DISCORD_CLIENT_ID, Some(secret))
            .form(form),
        Auth::None,
        None,
    )
    .await
}

storage_test!(discord_token_endpoint_checks_what_discord_checks, |app| {
    let account = app.signup("Sim Co").await;
    let (code, redirect) = discord_code(&app, &account).await;
    let wrong_client = discord_token(
        &app,
        "wrong",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
        ],
    )
    .await;
    assert_eq!(
        (
            wrong_client.status.as_u16(),
            wrong_client.body["error"].as_str()
        ),
        (401, Some("invalid_client"))
    );
    let wrong_redirect = discord_token(
        &app,
        DISCORD_CLIENT_SECRET,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://evil.example/cb"),
        ],
    )
    .await;
    assert_eq!(
        (
            wrong_redirect.status.as_u16(),
            wrong_redirect.body["error"].as_str()
        ),
        (400, Some("invalid_grant"))
    );
    // The refused attempt used the code up: codes are single-use.
    let reused = discord_token(
        &app,
        DISCORD_CLIENT_SECRET,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
        ],
    )
    .await;
    assert_eq!(
        (reused.status.as_u16(), reused.body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let (code, redirect) = discord_code(&app, &account).await;
    let ok = discord_token(
        &app,
        DISCORD_CLIENT_SECRET,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
        ],
    )
    .await;
    ok.assert_status(200);
    assert_eq!(ok.body["token_type"], "Bearer");
    assert!(ok.body["access_token"].is_string() && ok.body["refresh_token"].is_string());
    assert_eq!(ok.body["expires_in"], 604_800);
    assert_eq!(ok.body["scope"], "bot applications.commands");
    assert_discord_schema("GuildResponse", &ok.body["guild"]);

    let unsupported =
        discord_token(&app, DISCORD_CLIENT_SECRET, &[("grant_type", "password")]).await;
    assert_eq!(unsupported.body["error"], "unsupported_grant_type");
    let json_body = app
        .send(
            app.client
                .post(app.url("/sandbox/discord/api/v10/oauth2/token"))
                .basic_auth(DISCORD_CLIENT_ID, Some(DISCORD_CLIENT_SECRET)),
            Auth::None,
            Some(json!({"grant_type": "authorization_code"})),
        )
        .await;
    assert_eq!(
        (json_body.status.as_u16(), json_body.body["error"].as_str()),
        (400, Some("invalid_request"))
    );

    // Token Revocation (`topics/oauth2`): revoking the access token revokes the whole
    // authorization, its refresh token too.
    let access = ok.body["access_token"].as_str().expect("access").to_owned();
    let refresh = ok.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    app.send(
        app.client
            .post(app.url("/sandbox/discord/api/v10/oauth2/token/revoke"))
            .basic_auth(DISCORD_CLIENT_ID, Some(DISCORD_CLIENT_SECRET))
            .form(&[("token", access.as_str())]),
        Auth::None,
        None,
    )
    .await
    .assert_status(200);
    let refreshed = discord_token(
        &app,
        DISCORD_CLIENT_SECRET,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        refreshed.body["error"], "invalid_grant",
        "{}",
        refreshed.text
    );
});

storage_test!(
    discord_guild_route_needs_the_bot_token_and_answers_discord_shapes,
    |app| {
        let account = app.signup("Guild Co").await;
        let guild = oauth::sandbox_guild(&app, "Shapes").await;
        let path = format!("/sandbox/discord/api/v10/guilds/{guild}");
        let get = |token: &'static str| {
            app.client
                .request(Method::GET, app.url(&path))
                .header("authorization", token)
        };
        let unauthorized = app.send(get("Bot not-the-token"), Auth::None, None).await;
        assert_eq!(
            (unauthorized.status.as_u16(), &unauthorized.body),
            (401, &json!({"message": "401: Unauthorized", "code": 0}))
        );
        let not_member = app
            .send(get("Bot sandbox-discord-bot-token"), Auth::None, None)
            .await;
        assert_eq!(
            (not_member.status.as_u16(), not_member.body["code"].as_u64()),
            (403, Some(50001))
        );
        let (browser, _) = app.login_browser(&account).await;
        oauth::connect(&app, &browser, &account, "discord", Some(&guild))
            .await
            .0
            .assert_status(200);
        let ok = app
            .send(get("Bot sandbox-discord-bot-token"), Auth::None, None)
            .await;
        ok.assert_status(200);
        assert_discord_schema("GuildResponse", &ok.body);
        let unknown = app
            .send(
                app.client
                    .get(app.url("/sandbox/discord/api/v10/guilds/1"))
                    .header("authorization", format!("Bot {DISCORD_BOT_TOKEN}")),
                Auth::None,
                None,
            )
            .await;
        assert_eq!(
            (unknown.status.as_u16(), unknown.body["code"].as_u64()),
            (404, Some(10004))
        );
    }
);

storage_test!(
    discord_consent_page_refuses_unknown_clients_and_redirect_uris_without_redirecting,
    |app| {
        let redirect = app.state.settings.redirect_uri("discord");
        for (client, redirect_uri) in [
            ("999", redirect.as_str()),
            (DISCORD_CLIENT_ID, "https://evil.example/cb"),
        ] {
            let url = url::Url::parse_with_params(
                &app.url("/sandbox/discord/oauth2/authorize"),
                &[
                    ("client_id", client),
                    ("redirect_uri", redirect_uri),
                    ("response_type", "code"),
                    ("scope", "bot"),
                    ("state", "s"),
                ],
            )
            .expect("URL");
            let reply = app.send(app.client.get(url), Auth::None, None).await;
            reply.assert_status(400);
            assert!(
                reply.headers.get("location").is_none(),
                "an unverified redirect URI is never followed"
            );
        }
    }
);

async fn github_code(app: &TestApp, account: &crate::helpers::Account) -> String {
    let (browser, _) = app.login_browser(account).await;
    let consent = oauth::start(app, &browser, account, "github").await;
    let location = oauth::decide(&browser, &consent, true, None).await;
    url::Url::parse(&location)
        .expect("URL")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code")
}

storage_test!(
    github_token_endpoint_answers_errors_with_200_like_github,
    |app| {
        let account = app.signup("Octo Co").await;
        let redirect = app.state.settings.redirect_uri("github");
        let exchange = |secret: &'static str, code: String, verifier: &'static str| {
            app.client
                .post(app.url("/sandbox/github/login/oauth/access_token"))
                .header("accept", "application/json")
                .form(&[
                    ("client_id", GITHUB_CLIENT_ID),
                    ("client_secret", secret),
                    ("code", code.as_str()),
                    ("redirect_uri", redirect.as_str()),
                    ("code_verifier", verifier),
                ])
        };
        let code = github_code(&app, &account).await;
        let wrong_secret = app
            .send(exchange("wrong", code, "v"), Auth::None, None)
            .await;
        wrong_secret.assert_status(200);
        assert_eq!(wrong_secret.body["error"], "incorrect_client_credentials");
        let code = github_code(&app, &account).await;
        let wrong_verifier = app
            .send(
                exchange(GITHUB_CLIENT_SECRET, code, "not-the-verifier"),
                Auth::None,
                None,
            )
            .await;
        wrong_verifier.assert_status(200);
        assert_eq!(wrong_verifier.body["error"], "bad_verification_code");
        assert!(wrong_verifier.body["error_uri"].is_string());

        let bad_credentials = app
            .send(
                app.client
                    .get(app.url("/sandbox/github/api/user"))
                    .bearer_auth("gho_unknown"),
                Auth::None,
                None,
            )
            .await;
        assert_eq!(
            (
                bad_credentials.status.as_u16(),
                bad_credentials.body["message"].as_str()
            ),
            (401, Some("Bad credentials"))
        );
    }
);

storage_test!(
    the_simulators_exist_only_in_sandbox_mode_and_outside_the_documented_api,
    |app| {
        assert!(app.state.sandbox.is_some());
        let spec = app
            .request(Method::GET, "/openapi.json", Auth::None, None)
            .await;
        // The simulators live under /sandbox/; the product's own sandbox helpers for the web
        // app (/api/sandbox/…) are part of the API and documented.
        let paths: Vec<&String> = spec.body["paths"]
            .as_object()
            .map(|p| p.keys().collect())
            .unwrap_or_default();
        assert!(paths.iter().any(|p| p.starts_with("/api/sandbox/")));
        assert!(
            !paths.iter().any(|p| p.starts_with("/sandbox/")),
            "simulator routes are not part of the API: {paths:?}"
        );
    }
);
