//! The Discord REST client against the simulator: pacing from headers, 429s, the invalid
//! request budget and timeouts.
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use switchboard::discord::{DiscordError, DiscordRest, model::Snowflake};

use crate::helpers::{Auth, Backend, TestApp, oauth, spawn_app};

fn rest(app: &TestApp) -> &DiscordRest {
    app.state
        .discord
        .as_deref()
        .expect("sandbox mode has a Discord client")
}

async fn faults(app: &TestApp, faults: serde_json::Value) {
    app.request(
        Method::PUT,
        "/sandbox/discord/faults",
        Auth::None,
        Some(faults),
    )
    .await
    .assert_status(200);
}

async fn sent_429(app: &TestApp) -> u64 {
    app.request(Method::GET, "/sandbox/discord/stats", Auth::None, None)
        .await
        .body["rateLimited"]
        .as_u64()
        .unwrap_or(u64::MAX)
}

/// A sandbox guild with the bot in it.
async fn guild_with_bot(app: &TestApp) -> Snowflake {
    let account = app.signup("Rest Co").await;
    let guild = oauth::sandbox_guild(app, "Rest guild").await;
    let (browser, _) = app.login_browser(&account).await;
    oauth::connect(app, &browser, &account, "discord", Some(&guild))
        .await
        .0
        .assert_status(200);
    guild.parse().expect("snowflake")
}

#[tokio::test]
async fn concurrent_calls_are_paced_by_the_learned_bucket_and_meet_no_429() {
    let app = spawn_app(Backend::Embedded).await;
    let guild = guild_with_bot(&app).await;
    // The simulator allows 5 calls a second on this route; 12 at once must wait, not collide.
    let calls = (0..12).map(|_| rest(&app).guild(guild));
    let results = futures::future::join_all(calls).await;
    assert!(
        results.iter().all(Result::is_ok),
        "{:?}",
        results.iter().find(|r| r.is_err())
    );
    assert_eq!(
        sent_429(&app).await,
        0,
        "the client must not run into the limit"
    );
}

#[tokio::test]
async fn a_429_is_waited_out_for_retry_after_and_retried() {
    let app = spawn_app(Backend::Embedded).await;
    faults(&app, json!({"force429": 2, "force429RetryAfterMs": 150})).await;
    let user = rest(&app)
        .current_user()
        .await
        .expect("succeeds after the 429s");
    assert!(user.bot);
    assert_eq!(sent_429(&app).await, 2);
    let metrics = app.request(Method::GET, "/metrics", Auth::None, None).await;
    assert!(
        metrics
            .text
            .contains("switchboard_discord_rate_limited_total 2"),
        "{}",
        metrics.text
    );
    assert!(
        metrics
            .text
            .contains("switchboard_discord_invalid_requests_10m 2")
    );
}

#[tokio::test]
async fn a_global_429_pauses_and_then_succeeds() {
    let app = spawn_app(Backend::Embedded).await;
    faults(
        &app,
        json!({"force429": 1, "force429Global": true, "force429RetryAfterMs": 200}),
    )
    .await;
    rest(&app)
        .current_user()
        .await
        .expect("succeeds after the global pause");
    assert_eq!(sent_429(&app).await, 1);
}

#[tokio::test]
async fn persistent_429s_end_as_rate_limited_with_retry_after() {
    let app = spawn_app(Backend::Embedded).await;
    faults(&app, json!({"force429": 10, "force429RetryAfterMs": 50})).await;
    let err = rest(&app).current_user().await.expect_err("still limited");
    assert!(matches!(err, DiscordError::RateLimited { .. }), "{err:?}");
    assert!(err.retry_after().is_some());
    assert!(!err.is_permanent());
}

#[tokio::test]
async fn unauthorized_and_forbidden_answers_count_toward_the_invalid_request_budget() {
    let app = spawn_app(Backend::Embedded).await;
    let wrong = DiscordRest::new(
        app.state.http.clone(),
        &app.state.settings.discord_api_base,
        switchboard::config::Secret::new("not-the-bot-token".to_owned()),
        &switchboard::metrics::Metrics::new(),
    );
    for _ in 0..3 {
        let err = wrong.current_user().await.expect_err("401");
        assert!(
            matches!(err, DiscordError::Api { status: 401, .. }) && err.is_permanent(),
            "{err:?}"
        );
    }
    assert_eq!(wrong.invalid_requests(), 3);
    // A guild the bot is not in: 403 Missing Access, also invalid.
    let guild: Snowflake = oauth::sandbox_guild(&app, "No bot here")
        .await
        .parse()
        .expect("id");
    let err = rest(&app).guild(guild).await.expect_err("403");
    assert!(
        matches!(
            err,
            DiscordError::Api {
                status: 403,
                code: 50001,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(rest(&app).invalid_requests(), 1);
}

#[tokio::test]
async fn a_server_error_is_retryable_and_a_slow_discord_times_out() {
    let app = spawn_app(Backend::Embedded).await;
    faults(&app, json!({"force500": 1})).await;
    let err = rest(&app).current_user().await.expect_err("500");
    assert!(
        matches!(err, DiscordError::Api { status: 500, .. }) && !err.is_permanent(),
        "{err:?}"
    );
    faults(&app, json!({"latencyMs": 400})).await;
    let impatient = DiscordRest::new(
        app.state.http.clone(),
        &app.state.settings.discord_api_base,
        switchboard::config::Secret::new(
            switchboard::sandbox::credentials::DISCORD_BOT_TOKEN.to_owned(),
        ),
        &switchboard::metrics::Metrics::new(),
    )
    .with_timeout(Duration::from_millis(100));
    let err = impatient.current_user().await.expect_err("too slow");
    assert!(matches!(err, DiscordError::Timeout(_)), "{err:?}");
}

#[tokio::test]
async fn simulator_rest_answers_carry_discord_rate_limit_headers_and_shapes() {
    let app = spawn_app(Backend::Embedded).await;
    let reply = app
        .send(
            app.client
                .get(app.url("/sandbox/discord/api/v10/users/@me"))
                .header(
                    "authorization",
                    format!(
                        "Bot {}",
                        switchboard::sandbox::credentials::DISCORD_BOT_TOKEN
                    ),
                ),
            Auth::None,
            None,
        )
        .await;
    reply.assert_status(200);
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-reset-after",
        "x-ratelimit-bucket",
    ] {
        assert!(reply.headers.contains_key(name), "missing {name}");
    }
    crate::helpers::schema::assert_discord_schema("UserPIIResponse", &reply.body);
    // Exhausting the bucket by hand gives Discord's 429.
    let mut last = None;
    for _ in 0..6 {
        last = Some(
            app.send(
                app.client
                    .get(app.url("/sandbox/discord/api/v10/users/@me"))
                    .header(
                        "authorization",
                        format!(
                            "Bot {}",
                            switchboard::sandbox::credentials::DISCORD_BOT_TOKEN
                        ),
                    ),
                Auth::None,
                None,
            )
            .await,
        );
    }
    let limited = last.expect("replies");
    limited.assert_status(429);
    assert_eq!(limited.body["global"], false);
    assert!(
        limited.body["retry_after"]
            .as_f64()
            .is_some_and(|s| s > 0.0 && s <= 1.0)
    );
    assert_eq!(
        limited
            .headers
            .get("x-ratelimit-scope")
            .and_then(|v| v.to_str().ok()),
        Some("user")
    );
    assert!(limited.headers.contains_key("retry-after"));
}
