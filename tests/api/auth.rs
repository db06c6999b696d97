use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{Auth, JsonText, TestApp};

storage_test!(signup_creates_an_owner_whose_token_works, |app| {
    let account = app.signup("Analytical Engines").await;
    let me = app.get("/api/me", &account.token).await;
    me.assert_status(200);
    assert_eq!(me.body["user"]["email"], account.email.as_str());
    assert_eq!(me.body["company"]["name"], "Analytical Engines");
    assert_eq!(me.body["role"], "owner");
    assert_eq!(me.body["authMethod"], "token");
});

storage_test!(signing_up_twice_with_one_email_is_a_conflict, |app| {
    let account = app.signup("First").await;
    let reply = app
        .request(Method::POST, "/api/auth/signup", Auth::None,
            Some(json!({"email": account.email.to_uppercase(), "password": "another password", "companyName": "Second"})))
        .await;
    reply.assert_problem(409, "email_taken");
});

storage_test!(login_returns_a_token_and_a_session_cookie, |app| {
    let account = app.signup("Login Co").await;
    let (browser, reply) = app.login_browser(&account).await;
    reply.assert_status(200);
    let cookie = reply
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a Set-Cookie header");
    assert!(cookie.starts_with("sb_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    // The cookie alone authenticates.
    let me = app
        .send(browser.get(app.url("/api/me")), Auth::Cookie, None)
        .await;
    me.assert_status(200);
    assert_eq!(me.body["authMethod"], "session");
    // And so does the token.
    app.get("/api/me", reply.body["token"].text())
        .await
        .assert_status(200);
});

storage_test!(a_wrong_password_and_an_unknown_email_look_the_same, |app| {
    let account = app.signup("Secret Co").await;
    let wrong = app
        .request(
            Method::POST,
            "/api/auth/login",
            Auth::None,
            Some(json!({"email": account.email, "password": "not the password"})),
        )
        .await;
    wrong.assert_problem(401, "invalid_credentials");
    let unknown = app
        .request(
            Method::POST,
            "/api/auth/login",
            Auth::None,
            Some(json!({"email": "nobody@example.com", "password": "not the password"})),
        )
        .await;
    unknown.assert_problem(401, "invalid_credentials");
    assert_eq!(wrong.body["detail"], unknown.body["detail"]);
});

storage_test!(repeated_failed_logins_pause_login_for_that_email, |app| {
    let account = app.signup("Throttle Co").await;
    for _ in 0..10 {
        app.request(
            Method::POST,
            "/api/auth/login",
            Auth::None,
            Some(json!({"email": account.email, "password": "wrong password"})),
        )
        .await
        .assert_status(401);
    }
    let reply = app
        .request(
            Method::POST,
            "/api/auth/login",
            Auth::None,
            Some(json!({"email": account.email, "password": account.password})),
        )
        .await;
    reply.assert_problem(429, "too_many_attempts");
    assert!(reply.headers.contains_key("retry-after"));
});

storage_test!(logout_revokes_the_token_and_ends_the_session, |app| {
    let account = app.signup("Logout Co").await;
    let (browser, login) = app.login_browser(&account).await;
    let token = login.body["token"].text().to_owned();
    app.send(
        browser.post(app.url("/api/auth/logout")),
        Auth::Bearer(&token),
        None,
    )
    .await
    .assert_status(204);
    app.get("/api/me", &token)
        .await
        .assert_problem(401, "unauthenticated");
    app.send(browser.get(app.url("/api/me")), Auth::Cookie, None)
        .await
        .assert_problem(401, "unauthenticated");
    // Other tokens of the same user are unaffected.
    app.get("/api/me", &account.token).await.assert_status(200);
});

storage_test!(forged_expired_and_foreign_tokens_are_refused, |app| {
    let account = app.signup("Forgery Co").await;
    let secret = app.state.settings.jwt_secret.expose().clone();
    let issuer = app.state.settings.jwt_issuer();
    let now = chrono::Utc::now().timestamp();
    let claims = |iss: &str, aud: &str, exp: i64| {
        json!({"sub": account.user_id, "cid": account.company_id, "iss": iss, "aud": aud,
               "iat": now, "exp": exp, "jti": "forged"})
    };
    let sign = |claims: &serde_json::Value, alg: Algorithm, key: &[u8]| {
        jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(key))
            .expect("sign")
    };
    let good = claims(&issuer, "switchboard-api", now + 600);
    // Sanity: the same claims, correctly signed, are accepted.
    app.get("/api/me", &sign(&good, Algorithm::HS256, &secret))
        .await
        .assert_status(200);

    let unsigned = format!(
        "{}.{}.",
        B64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        B64.encode(good.to_string())
    );
    let forged = [
        ("alg none", unsigned),
        ("another algorithm", sign(&good, Algorithm::HS512, &secret)),
        (
            "another secret",
            sign(
                &good,
                Algorithm::HS256,
                b"an attacker's secret of 32 bytes!",
            ),
        ),
        (
            "expired",
            sign(
                &claims(&issuer, "switchboard-api", now - 3600),
                Algorithm::HS256,
                &secret,
            ),
        ),
        (
            "another issuer",
            sign(
                &claims("https://evil.example", "switchboard-api", now + 600),
                Algorithm::HS256,
                &secret,
            ),
        ),
        (
            "another audience",
            sign(
                &claims(&issuer, "another-api", now + 600),
                Algorithm::HS256,
                &secret,
            ),
        ),
        ("garbage", "not.a.jwt".to_owned()),
        (
            "not valid yet (nbf in an hour)",
            sign(
                &{
                    let mut c = good.clone();
                    c["nbf"] = json!(now + 3600);
                    c
                },
                Algorithm::HS256,
                &secret,
            ),
        ),
    ];
    for (what, token) in forged {
        let reply = app.get("/api/me", &token).await;
        assert_eq!(
            reply.status.as_u16(),
            401,
            "{what} token was not refused: {}",
            reply.text
        );
        assert_eq!(reply.body["code"], "unauthenticated", "{what}");
    }
});

storage_test!(unsupported_authorization_schemes_are_refused, |app| {
    let reply = app
        .send(
            app.client
                .get(app.url("/api/me"))
                .header("authorization", "Basic dXNlcjpwYXNz"),
            Auth::None,
            None,
        )
        .await;
    reply.assert_problem(401, "unauthenticated");
    assert!(reply.headers.contains_key("www-authenticate"));
});

storage_test!(a_removed_member_loses_access_at_once, |app| {
    let owner = app.signup("Owner Co").await;
    let member = app.signup("Member's own company").await;
    let token = app.join(&owner, &member, "member").await;
    app.get("/api/leads", &token).await.assert_status(200);
    app.delete(
        &format!("/api/companies/current/members/{}", member.user_id),
        &owner.token,
    )
    .await
    .assert_status(204);
    app.get("/api/leads", &token)
        .await
        .assert_problem(401, "unauthenticated");
});

storage_test!(
    a_session_cookie_cannot_be_used_from_a_foreign_origin,
    |app| {
        let account = app.signup("Csrf Co").await;
        let (browser, _login) = app.login_browser(&account).await;
        let evil = app
            .send(
                browser
                    .post(app.url("/api/leads"))
                    .header("origin", "https://evil.example"),
                Auth::Cookie,
                Some(json!({"name": "Planted"})),
            )
            .await;
        evil.assert_problem(403, "cross_origin_request");
        // A separate development server is foreign too unless FRONTEND_ORIGIN names it.
        let dev_server = app
            .send(
                browser
                    .post(app.url("/api/leads"))
                    .header("origin", "http://127.0.0.1:5173"),
                Auth::Cookie,
                Some(json!({"name": "Planted too"})),
            )
            .await;
        dev_server.assert_problem(403, "cross_origin_request");
        // The web app the service serves is on its own origin.
        let own = app
            .send(
                browser
                    .post(app.url("/api/leads"))
                    .header("origin", format!("http://{}", app.addr)),
                Auth::Cookie,
                Some(json!({"name": "Real"})),
            )
            .await;
        own.assert_status(201);
        let leads = app.get("/api/leads", &account.token).await;
        assert_eq!(
            leads.body["items"].as_array().map(Vec::len),
            Some(1),
            "only the real lead exists"
        );
    }
);

#[tokio::test]
async fn a_session_cookie_may_write_from_the_frontend_origin_when_it_is_configured() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Backend::Embedded, |s| {
        s.frontend_origin = Some("http://127.0.0.1:5173".to_owned());
    })
    .await;
    let account = app.signup("Dev Server Co").await;
    let (browser, _login) = app.login_browser(&account).await;
    let write = |origin: &'static str, name: &'static str| {
        app.send(
            browser.post(app.url("/api/leads")).header("origin", origin),
            Auth::Cookie,
            Some(json!({"name": name})),
        )
    };
    write("http://127.0.0.1:5173", "From the dev server")
        .await
        .assert_status(201);
    write("https://evil.example", "Planted")
        .await
        .assert_problem(403, "cross_origin_request");
}

storage_test!(login_can_choose_among_the_users_companies, |app| {
    let alice = app.signup("Alice Co").await;
    let bob = app.signup("Bob Co").await;
    let token = app.join(&bob, &alice, "admin").await;
    let me = app.get("/api/me", &token).await;
    assert_eq!(me.body["company"]["id"], bob.company_id.as_str());
    assert_eq!(me.body["role"], "admin");
    assert_eq!(me.body["memberships"].as_array().map(Vec::len), Some(2));
    let not_mine = app
        .request(Method::POST, "/api/auth/login", Auth::None,
            Some(json!({"email": bob.email, "password": bob.password, "companyId": alice.company_id})))
        .await;
    not_mine.assert_invalid_field("companyId");
});

/// A client whose connections come from another loopback address (another person's machine).
fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<std::net::IpAddr>().expect("address"))
        .build()
        .expect("client")
}

storage_test!(
    a_burst_of_wrong_passwords_gets_only_the_limits_checks_and_locks_no_one_else_out,
    |app| {
        let account = app.signup("Burst Co").await;
        let attacker = client_from("127.0.0.2");
        let url = app.url("/api/auth/login");
        let guesses = (0..100).map(|i| {
            app.send(
                attacker.post(&url),
                Auth::None,
                Some(json!({"email": account.email, "password": format!("guess {i}")})),
            )
        });
        let replies = futures::future::join_all(guesses).await;
        let checked = replies.iter().filter(|r| r.status == 401).count();
        let refused = replies.iter().filter(|r| r.status == 429).count();
        assert_eq!(checked + refused, 100);
        assert!(
            checked <= 10,
            "the limit of 10 holds under concurrency: {checked} were checked"
        );
        // From the attacker's address the account is locked, even with the right password...
        app.send(
            attacker.post(&url),
            Auth::None,
            Some(json!({"email": account.email, "password": account.password})),
        )
        .await
        .assert_problem(429, "too_many_attempts");
        // ...but its owner, elsewhere, still logs in (slowed down, not locked out).
        let owner = client_from("127.0.0.3");
        app.send(
            owner.post(&url),
            Auth::None,
            Some(json!({"email": account.email, "password": account.password})),
        )
        .await
        .assert_status(200);
    }
);

storage_test!(one_address_guessing_many_accounts_is_stopped, |app| {
    let guesser = client_from("127.0.0.4");
    let url = app.url("/api/auth/login");
    for batch in 0..10 {
        let tries = (0..10).map(|i| {
            app.send(
                guesser.post(&url),
                Auth::None,
                Some(json!({"email": format!("user{batch}-{i}@example.com"), "password": "password1"})),
            )
        });
        for reply in futures::future::join_all(tries).await {
            reply.assert_status(401);
        }
    }
    app.send(
        guesser.post(&url),
        Auth::None,
        Some(json!({"email": "one-more@example.com", "password": "password1"})),
    )
    .await
    .assert_problem(429, "too_many_attempts");
    // Someone else is unaffected.
    let account = app.signup("Elsewhere Co").await;
    app.send(
        client_from("127.0.0.5").post(&url),
        Auth::None,
        Some(json!({"email": account.email, "password": account.password})),
    )
    .await
    .assert_status(200);
});

/// `count` wrong passwords for `email`, each with this `X-Forwarded-For`.
async fn fail_logins(app: &TestApp, email: &str, forwarded_for: &str, count: usize) {
    for _ in 0..count {
        app.send(
            app.client
                .post(app.url("/api/auth/login"))
                .header("x-forwarded-for", forwarded_for),
            Auth::None,
            Some(json!({"email": email, "password": "wrong password"})),
        )
        .await
        .assert_status(401);
    }
}

#[tokio::test]
async fn x_forwarded_for_names_the_client_only_behind_a_trusted_proxy() {
    // Trusted: the proxy's last entry is the client, so two clients behind it are two.
    let app = crate::helpers::spawn_app_with(crate::helpers::Backend::Embedded, |s| {
        s.trust_forwarded_for = true;
    })
    .await;
    let account = app.signup("Proxy Co").await;
    fail_logins(&app, &account.email, "198.51.100.7, 203.0.113.9", 10).await;
    let login = |forwarded_for: &'static str| {
        app.send(
            app.client
                .post(app.url("/api/auth/login"))
                .header("x-forwarded-for", forwarded_for),
            Auth::None,
            Some(json!({"email": account.email, "password": account.password})),
        )
    };
    login("203.0.113.9")
        .await
        .assert_problem(429, "too_many_attempts");
    login("203.0.113.10").await.assert_status(200);

    // Not trusted (the default): a client cannot dodge its limit by forging the header.
    let direct = crate::helpers::spawn_app(crate::helpers::Backend::Embedded).await;
    let account = direct.signup("Direct Co").await;
    fail_logins(&direct, &account.email, "203.0.113.1", 10).await;
    direct
        .send(
            direct
                .client
                .post(direct.url("/api/auth/login"))
                .header("x-forwarded-for", "203.0.113.2"),
            Auth::None,
            Some(json!({"email": account.email, "password": account.password})),
        )
        .await
        .assert_problem(429, "too_many_attempts");
}
