use reqwest::Method;

use crate::helpers::{Auth, Backend, TestApp};

storage_test!(readyz_reports_the_backends_in_use, |app| {
    let reply = app.request(Method::GET, "/readyz", Auth::None, None).await;
    reply.assert_status(200);
    let (db, store) = match app.backend {
        Backend::Embedded => ("sqlite", "memory"),
        Backend::Services => ("postgres", "redis"),
    };
    assert_eq!(reply.body["database"], db);
    assert_eq!(reply.body["stateStore"], store);
});

storage_test!(
    healthz_answers_and_every_response_carries_a_request_id,
    |app| {
        let reply = app.request(Method::GET, "/healthz", Auth::None, None).await;
        reply.assert_status(200);
        assert_eq!(reply.body["status"], "ok");
        assert!(reply.headers.contains_key("x-request-id"));
    }
);

storage_test!(a_client_supplied_request_id_is_echoed_back, |app| {
    let reply = app
        .send(
            app.client
                .get(app.url("/healthz"))
                .header("x-request-id", "trace-me-123"),
            Auth::None,
            None,
        )
        .await;
    assert_eq!(
        reply
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("trace-me-123")
    );
});

storage_test!(metrics_count_requests_by_route_template, |app| {
    let account = app.signup("Metrics Co").await;
    let lead = app.create_lead(&account.token, "Ada").await;
    app.get(&format!("/api/leads/{}", lead.id), &account.token)
        .await
        .assert_status(200);
    let reply = app.request(Method::GET, "/metrics", Auth::None, None).await;
    reply.assert_status(200);
    assert!(
        reply.text.contains(r#"route="/api/leads/{leadId}""#),
        "metrics should label by route template:\n{}",
        reply.text
    );
    assert!(
        reply
            .text
            .contains("switchboard_http_request_duration_seconds")
    );
});

async fn docs_page_is_served_from_the_binary(app: TestApp) {
    let reply = app.request(Method::GET, "/docs/", Auth::None, None).await;
    reply.assert_status(200);
    assert!(reply.text.contains("swagger-ui"), "{}", reply.text);
    // Nothing the page needs may come from a CDN: users may have no internet.
    assert!(
        !reply.text.contains("https://"),
        "docs page references an external URL"
    );
    let init = app
        .request(
            Method::GET,
            "/docs/swagger-initializer.js",
            Auth::None,
            None,
        )
        .await;
    init.assert_status(200);
    assert!(init.text.contains("/openapi.json"));
    let spec = app
        .request(Method::GET, "/openapi.json", Auth::None, None)
        .await;
    spec.assert_status(200);
    assert_eq!(spec.body["info"]["title"], "Switchboard API");
}

#[tokio::test]
async fn the_docs_page_and_spec_are_served() {
    docs_page_is_served_from_the_binary(crate::helpers::spawn_app(Backend::Embedded).await).await;
}

/// The origin a CORS preflight from `origin` is allowed as, if any.
async fn cors_allowed(app: &TestApp, origin: &str) -> Option<String> {
    let preflight = app
        .client
        .request(Method::OPTIONS, app.url("/api/leads"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        );
    let reply = app.send(preflight, Auth::None, None).await;
    reply
        .headers
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

storage_test!(cors_allows_only_the_frontend_origin, |app| {
    // By default the web app is the one the service serves: its own origin is the only one.
    let own = format!("http://{}", app.addr);
    assert_eq!(cors_allowed(&app, &own).await, Some(own.clone()));
    assert_eq!(cors_allowed(&app, "http://127.0.0.1:5173").await, None);
    assert_eq!(cors_allowed(&app, "https://evil.example").await, None);
});

#[tokio::test]
async fn cors_allows_a_frontend_served_elsewhere_when_frontend_origin_names_it() {
    let app = crate::helpers::spawn_app_with(Backend::Embedded, |s| {
        s.frontend_origin = Some("http://127.0.0.1:5173".to_owned());
    })
    .await;
    assert_eq!(
        cors_allowed(&app, "http://127.0.0.1:5173").await.as_deref(),
        Some("http://127.0.0.1:5173")
    );
    assert_eq!(cors_allowed(&app, "https://evil.example").await, None);
}

#[tokio::test]
#[ignore = "needs PostgreSQL and Redis: run scripts/test"]
async fn readyz_is_503_problem_json_when_the_database_is_gone() {
    use sea_orm::{ConnectionTrait, Database};
    let app = crate::helpers::spawn_app(Backend::Services).await;
    app.request(Method::GET, "/readyz", Auth::None, None)
        .await
        .assert_status(200);
    let database = url::Url::parse(app.settings.database_url.expose())
        .map(|u| u.path().trim_start_matches('/').to_owned())
        .expect("database URL");
    let admin = Database::connect(crate::helpers::services_env("TEST_DATABASE_URL"))
        .await
        .expect("admin");
    admin
        .execute_unprepared(&format!("DROP DATABASE \"{database}\" WITH (FORCE)"))
        .await
        .expect("drop the app's database");
    let reply = app.request(Method::GET, "/readyz", Auth::None, None).await;
    reply.assert_problem(503, "database_unavailable");
    app.request(Method::GET, "/healthz", Auth::None, None)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_pages_a_policy() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Embedded).await;
    for path in ["/healthz", "/api/me", "/no-such-route", "/docs/"] {
        let reply = app
            .request(reqwest::Method::GET, path, crate::helpers::Auth::None, None)
            .await;
        let header = |name: &str| {
            reply
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(
            header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            header("referrer-policy").as_deref(),
            Some("no-referrer"),
            "{path}"
        );
        // Reached over plain HTTP on loopback: no HSTS.
        assert_eq!(header("strict-transport-security"), None, "{path}");
        if path == "/docs/" {
            let csp = header("content-security-policy").expect("a policy on the docs page");
            assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
        }
    }
    // Over HTTPS (as PUBLIC_URL says), browsers are told to stay on it.
    let https = crate::helpers::spawn_app_with(crate::helpers::Backend::Embedded, |s| {
        s.public_url = url::Url::parse("https://switchboard.example").expect("url");
    })
    .await;
    let reply = https
        .request(
            reqwest::Method::GET,
            "/healthz",
            crate::helpers::Auth::None,
            None,
        )
        .await;
    assert!(
        reply
            .headers
            .get("strict-transport-security")
            .is_some_and(|v| v.to_str().is_ok_and(|v| v.starts_with("max-age="))),
        "{:?}",
        reply.headers
    );
}

/// Opens a connection and sends a request line and one header, never the end of the headers.
async fn half_sent_request(app: &crate::helpers::TestApp) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connects");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("writes");
    stream
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    use tokio::io::AsyncReadExt;
    let app = crate::helpers::spawn_app_with(crate::helpers::Backend::Embedded, |s| {
        s.header_read_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let mut stream = half_sent_request(&app).await;
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut buffer),
    )
    .await;
    assert!(
        read.is_ok(),
        "the connection was still open 10 s after a 1 s header-read timeout"
    );
}

#[tokio::test]
async fn shutdown_ends_after_a_bounded_drain_whatever_clients_hold() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Backend::Embedded, |s| {
        // Only the drain bounds this client.
        s.header_read_timeout = std::time::Duration::from_secs(120);
        s.shutdown_drain = std::time::Duration::from_secs(1);
    })
    .await;
    let _held = half_sent_request(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(15), app.shut_down()).await;
    assert!(
        stopped.is_ok(),
        "the server was still draining 15 s after shutdown began"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test]
#[ignore = "needs redis-server: run scripts/test"]
async fn during_a_redis_outage_requests_answer_503_at_once_and_recover_when_it_returns() {
    let mut redis = crate::helpers::PrivateRedis::start().await;
    let app = redis.app().await;
    let account = app.signup("Outage Co").await;
    redis.stop();
    // A bearer token's revocation check needs Redis: it fails closed, with a 503, quickly.
    let started = std::time::Instant::now();
    let me = app.get("/api/me", &account.token).await;
    me.assert_problem(503, "state_store_unavailable");
    assert!(me.headers.contains_key("retry-after"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "answered after {:?}",
        started.elapsed()
    );
    let started = std::time::Instant::now();
    let ready = app
        .request(
            reqwest::Method::GET,
            "/readyz",
            crate::helpers::Auth::None,
            None,
        )
        .await;
    ready.assert_problem(503, "state_store_unavailable");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "readiness answered after {:?}",
        started.elapsed()
    );

    // Redis comes back: the service recovers by itself, without a restart.
    redis.restart().await;
    let recovered = crate::helpers::gateway::wait_for(async || {
        let me = app.get("/api/me", &account.token).await;
        (me.status == 200).then_some(me)
    })
    .await;
    assert_eq!(recovered.body["company"]["name"], "Outage Co");
    app.request(
        reqwest::Method::GET,
        "/readyz",
        crate::helpers::Auth::None,
        None,
    )
    .await
    .assert_status(200);
}

#[tokio::test]
#[ignore = "needs PostgreSQL's binaries: run scripts/test"]
async fn during_a_postgres_outage_requests_answer_503_at_once_and_recover_when_it_returns() {
    let postgres = crate::helpers::PrivatePostgres::start().await;
    let app = postgres.app().await;
    let account = app.signup("Outage Co").await;
    app.post(
        "/api/leads",
        &account.token,
        serde_json::json!({"name": "Before"}),
    )
    .await
    .assert_status(201);
    postgres.stop();

    // Reads and writes fail fast with a retryable 503, not a 500 after the pool's long wait.
    let started = std::time::Instant::now();
    let list = app.get("/api/leads", &account.token).await;
    list.assert_problem(503, "database_unavailable");
    assert!(list.headers.contains_key("retry-after"));
    let create = app
        .post(
            "/api/leads",
            &account.token,
            serde_json::json!({"name": "During"}),
        )
        .await;
    create.assert_problem(503, "database_unavailable");
    assert!(create.headers.contains_key("retry-after"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "two requests answered after {:?}",
        started.elapsed()
    );
    let started = std::time::Instant::now();
    let ready = app.request(Method::GET, "/readyz", Auth::None, None).await;
    ready.assert_problem(503, "database_unavailable");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "readiness answered after {:?}",
        started.elapsed()
    );
    // Liveness needs no backend: the process is alive and should not be restarted.
    app.request(Method::GET, "/healthz", Auth::None, None)
        .await
        .assert_status(200);

    // PostgreSQL returns: the same process serves again, and the refused write left nothing.
    postgres.resume().await;
    let mut names = None;
    for _ in 0..50 {
        let list = app.get("/api/leads", &account.token).await;
        if list.status == 200 {
            names = Some(list.body.clone());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let names = names.expect("the service recovers without a restart");
    let names: Vec<&str> = names["items"]
        .as_array()
        .expect("a page of leads")
        .iter()
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert_eq!(names, ["Before"]);
    app.request(Method::GET, "/readyz", Auth::None, None)
        .await
        .assert_status(200);
}
