use reqwest::Method;
use serde_json::json;

use crate::helpers::Auth;

storage_test!(malformed_json_is_a_422_problem, |app| {
    let account = app.signup("Json Co").await;
    let reply = app
        .send(
            app.client
                .post(app.url("/api/leads"))
                .bearer_auth(&account.token)
                .header("content-type", "application/json")
                .body("{\"name\": "),
            Auth::None,
            None,
        )
        .await;
    reply.assert_problem(422, "malformed_json");
    reply.assert_invalid_field("body");
});

storage_test!(missing_and_mistyped_fields_are_named, |app| {
    let account = app.signup("Fields Co").await;
    app.post(
        "/api/leads",
        &account.token,
        json!({"email": "a@example.com"}),
    )
    .await
    .assert_problem(422, "validation_failed")
    .assert_invalid_field("name");
    app.post("/api/leads", &account.token, json!({"name": 42}))
        .await
        .assert_invalid_field("name");
    app.post(
        "/api/leads",
        &account.token,
        json!({"name": "Ada", "colour": "blue"}),
    )
    .await
    .assert_status(422);
    app.post(
        "/api/leads",
        &account.token,
        json!({"name": "Ada", "email": "not-an-email"}),
    )
    .await
    .assert_invalid_field("email");
    app.post(
        "/api/leads",
        &account.token,
        json!({"name": "Ada", "discordUserId": "12ab"}),
    )
    .await
    .assert_invalid_field("discordUserId");
    let none = app.get("/api/leads", &account.token).await;
    assert_eq!(
        none.body["items"],
        json!([]),
        "no invalid request stored anything"
    );
});

storage_test!(
    nul_characters_and_over_long_strings_never_reach_the_database,
    |app| {
        let account = app.signup("Nul Co").await;
        app.post(
            "/api/leads",
            &account.token,
            json!({"name": "Ada\u{0}Lovelace"}),
        )
        .await
        .assert_invalid_field("name");
        app.post(
            "/api/leads",
            &account.token,
            json!({"name": "x".repeat(201)}),
        )
        .await
        .assert_invalid_field("name");
        app.post(
            "/api/auth/signup",
            &account.token,
            json!({"email": "nul@example.com", "password": "pass\u{0}word", "companyName": "X"}),
        )
        .await
        .assert_invalid_field("password");
        let none = app.get("/api/leads", &account.token).await;
        assert_eq!(none.body["items"], json!([]));
    }
);

storage_test!(a_body_that_is_not_json_is_415_problem_json, |app| {
    let account = app.signup("Media Co").await;
    let reply = app
        .send(
            app.client
                .post(app.url("/api/leads"))
                .bearer_auth(&account.token)
                .header("content-type", "text/plain")
                .body("name=Ada"),
            Auth::None,
            None,
        )
        .await;
    reply.assert_problem(415, "unsupported_media_type");
});

storage_test!(an_oversized_body_is_413_problem_json, |app| {
    let account = app.signup("Big Co").await;
    let huge = json!({"name": "x".repeat(300 * 1024)});
    app.post("/api/leads", &account.token, huge)
        .await
        .assert_problem(413, "payload_too_large");
});

storage_test!(unknown_routes_and_methods_are_problem_json, |app| {
    app.request(Method::GET, "/api/nothing-here", Auth::None, None)
        .await
        .assert_problem(404, "not_found");
    let reply = app
        .request(Method::PUT, "/api/leads", Auth::None, None)
        .await;
    reply.assert_problem(405, "method_not_allowed");
    assert!(reply.headers.contains_key("allow"));
});

storage_test!(malformed_path_and_query_parameters_are_named, |app| {
    let account = app.signup("Params Co").await;
    app.get("/api/leads/not-a-uuid", &account.token)
        .await
        .assert_invalid_field("leadId");
    app.get("/api/leads?status=bogus", &account.token)
        .await
        .assert_invalid_field("status");
    app.get("/api/leads?limit=0", &account.token)
        .await
        .assert_invalid_field("limit");
    app.get("/api/leads?limit=many", &account.token)
        .await
        .assert_invalid_field("limit");
    app.get("/api/leads?cursor=forged", &account.token)
        .await
        .assert_invalid_field("cursor");
    app.get("/api/leads?ownerUserId=%00", &account.token)
        .await
        .assert_invalid_field("ownerUserId");
});

storage_test!(
    weak_passwords_and_invisible_or_direction_tricking_names_are_refused,
    |app| {
        let signup = |email: &'static str, password: &'static str| {
            app.request(
                reqwest::Method::POST,
                "/api/auth/signup",
                crate::helpers::Auth::None,
                Some(serde_json::json!({"email": email, "password": password, "companyName": "Weak Co"})),
            )
        };
        for (email, password) in [
            ("a@example.com", "password"),
            ("b@example.com", "12345678"),
            ("c@example.com", "        "),
            ("dana.scully@example.com", "dana.scully@example.com"),
        ] {
            signup(email, password)
                .await
                .assert_invalid_field("password");
        }
        let account = app.signup("Names Co").await;
        for name in [
            "\u{200b}",
            "\u{feff}\u{200d}",
            "\u{3164}",
            "Invoice\u{202e}fdp.exe",
        ] {
            app.post(
                "/api/leads",
                &account.token,
                serde_json::json!({"name": name}),
            )
            .await
            .assert_invalid_field("name");
        }
        let listed = app.get("/api/leads", &account.token).await;
        assert_eq!(
            listed.body["items"],
            serde_json::json!([]),
            "nothing was stored"
        );
    }
);
