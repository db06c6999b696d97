//! Hostile input, table-driven: each request is refused with a clear 4xx (problem+json where
//! the API answers), the server stays up, and nothing was stored. Forged, expired, foreign and
//! revoked JWTs have their own table in `auth::forged_expired_and_foreign_tokens_are_refused`;
//! a client that never finishes its headers, `health::a_client_that_never_finishes_its_headers_…`.
use serde_json::json;

use crate::helpers::{Auth, Backend, oauth, spawn_app};

/// What a hostile request must come to: the status, and the problem's `code` when the answer is
/// the API's problem+json.
struct Case {
    what: &'static str,
    head: String,
    body: Vec<u8>,
    status: u16,
    code: Option<&'static str>,
}

fn post_leads(
    token: &str,
    body: Vec<u8>,
    what: &'static str,
    status: u16,
    code: Option<&'static str>,
) -> Case {
    Case {
        what,
        head: format!(
            "POST /api/leads HTTP/1.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json"
        ),
        body,
        status,
        code,
    }
}

fn get(
    token: &str,
    path: &str,
    what: &'static str,
    status: u16,
    code: Option<&'static str>,
) -> Case {
    Case {
        what,
        head: format!("GET {path} HTTP/1.1\r\nAuthorization: Bearer {token}"),
        body: Vec::new(),
        status,
        code,
    }
}

#[tokio::test]
async fn hostile_requests_get_a_clear_4xx_and_change_nothing() {
    let app = spawn_app(Backend::Embedded).await;
    let account = app.signup("Hostile Co").await;
    let token = account.token.as_str();
    let nested = format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000));
    let many_headers: String = (0..200).map(|i| format!("\r\nX-Extra-{i}: {i}")).collect();
    let cases = vec![
        post_leads(token, vec![b'a'; 300 * 1024], "a body over 256 KiB", 413, Some("payload_too_large")),
        post_leads(token, nested.into_bytes(), "JSON nested 5,000 deep", 422, None),
        post_leads(token, b"{\"name\": \"\xff\xfe\"}".to_vec(), "invalid UTF-8", 422, Some("malformed_json")),
        post_leads(token, json!({"name": "Ada\u{0}Lovelace"}).to_string().into_bytes(), "a NUL in a field", 422, Some("validation_failed")),
        post_leads(token, json!({"name": "Ada", "email": "x@y.z'; DROP TABLE leads;--"}).to_string().into_bytes(), "SQL in an email", 422, Some("validation_failed")),
        get(token, "/api/leads?status=open'%20OR%20'1'='1", "SQL in an enum parameter", 422, Some("validation_failed")),
        get(token, "/api/leads?limit=99999999999999999999999", "a huge limit", 422, Some("validation_failed")),
        get(token, &format!("/api/leads?cursor={}", "A".repeat(4_000)), "a huge cursor", 422, Some("validation_failed")),
        get(token, &format!("/api/leads?q={}", "%27%22%3B--".repeat(40)), "a search over 100 characters", 422, Some("validation_failed")),
        get(token, "/api/leads/..%2f..%2fetc%2fpasswd", "traversal in an API path", 422, Some("validation_failed")),
        get(token, "/sandbox/discord/chat/..%2f..%2f..%2fetc%2fpasswd", "traversal in a simulator path", 404, None),
        get(token, "/assets/..%2f..%2fCargo.toml", "traversal in the app's files", 404, None),
        get(token, "/%2e%2e/%2e%2e/etc/passwd", "encoded dot segments", 404, None),
        Case {
            what: "a 64 KiB header",
            head: format!("GET /api/leads HTTP/1.1\r\nAuthorization: Bearer {token}\r\nX-Huge: {}", "h".repeat(64 * 1024)),
            body: Vec::new(),
            status: 431,
            code: None,
        },
        Case {
            what: "200 headers",
            head: format!("GET /api/leads HTTP/1.1\r\nAuthorization: Bearer {token}{many_headers}"),
            body: Vec::new(),
            status: 431,
            code: None,
        },
        Case {
            what: "a token with alg none",
            head: "GET /api/leads HTTP/1.1\r\nAuthorization: Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.".to_owned(),
            body: Vec::new(),
            status: 401,
            code: Some("unauthenticated"),
        },
        Case {
            what: "a forged GitHub webhook signature",
            head: format!(
                "POST /api/webhooks/github/{} HTTP/1.1\r\nContent-Type: application/json\r\nX-GitHub-Event: issues\r\nX-GitHub-Delivery: 1\r\nX-Hub-Signature-256: sha256={}",
                uuid::Uuid::now_v7(),
                "0".repeat(64)
            ),
            body: b"{}".to_vec(),
            status: 404,
            code: None,
        },
        Case {
            what: "an OAuth callback with a made-up state",
            head: "GET /api/integrations/discord/callback?code=abc&state=forged HTTP/1.1".to_owned(),
            body: Vec::new(),
            status: 400,
            code: None,
        },
    ];
    let mut wrong = Vec::new();
    for case in &cases {
        let (status, response) = app.raw(&case.head, &case.body).await;
        let coded = case
            .code
            .is_none_or(|code| response.contains(&format!("\"code\":\"{code}\"")));
        if status != case.status || !coded {
            let shown: String = response.chars().take(300).collect();
            wrong.push(format!(
                "{}: expected {} {:?}, got {status}: {shown}",
                case.what, case.status, case.code
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");

    // Nothing was stored, and the server still answers.
    let leads = app.get("/api/leads", token).await;
    leads.assert_status(200);
    assert_eq!(leads.body["items"], json!([]));
    app.request(reqwest::Method::GET, "/readyz", Auth::None, None)
        .await
        .assert_status(200);
}

/// SQL metacharacters are data: stored and found as written, never interpreted.
#[tokio::test]
async fn sql_metacharacters_are_kept_as_text() {
    let app = spawn_app(Backend::Embedded).await;
    let account = app.signup("Quotes Co").await;
    let name = "Robert'); DROP TABLE leads;-- \"%_\\";
    let created = app
        .post("/api/leads", &account.token, json!({"name": name}))
        .await;
    created.assert_status(201);
    assert_eq!(created.body["name"], name);
    let found = app
        .get("/api/leads?q=%27%29%3B%20DROP", &account.token)
        .await;
    assert_eq!(found.body["items"][0]["name"], name);
    let none = app
        .get("/api/leads?q=%27%20OR%201%3D1%20--", &account.token)
        .await;
    assert_eq!(none.body["items"], json!([]));
}

/// An OAuth state is good for one callback: replayed after use, or with one character changed,
/// the callback refuses it, and the connection made the first time is the only one.
#[tokio::test]
async fn tampered_and_replayed_oauth_states_are_refused() {
    let app = spawn_app(Backend::Embedded).await;
    let account = app.signup("Replay Co").await;
    let guild = oauth::sandbox_guild(&app, "Replay server").await;
    let (browser, _) = app.login_browser(&account).await;

    // Tampered: the provider redirects back with a state one character off.
    let consent = oauth::start(&app, &browser, &account, "discord").await;
    let location = oauth::decide(&browser, &consent, true, Some(&guild)).await;
    let last = consent.state.chars().last().expect("a state");
    let other = if last == 'A' { 'B' } else { 'A' };
    let tampered = location.replace(
        &consent.state,
        &format!("{}{other}", &consent.state[..consent.state.len() - 1]),
    );
    assert_ne!(tampered, location);
    let (reply, message) = oauth::land(&app, &browser, &tampered).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(message["code"], "invalid_state", "{message}");
    assert_eq!(
        app.get("/api/integrations", &account.token).await.body["items"],
        json!([])
    );

    // The real one connects; replaying it is refused and changes nothing.
    let (reply, _) = oauth::land(&app, &browser, &location).await;
    reply.assert_status(200);
    let (replayed, message) = oauth::land(&app, &browser, &location).await;
    assert_eq!(replayed.status, 400, "{}", replayed.text);
    assert_eq!(message["code"], "invalid_state", "{message}");
    let audit = app.get("/api/audit-log", &account.token).await;
    let connects = audit.body["items"]
        .as_array()
        .expect("a page")
        .iter()
        .filter(|e| e["action"] == "integration.connected")
        .count();
    assert_eq!(connects, 1, "{}", audit.text);
}

/// A client that sends its headers, then trickles its body, is answered 408 once the request
/// timeout passes, and the connection is closed; nothing is stored.
#[tokio::test]
async fn a_trickled_body_is_cut_off_in_bounded_time() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = crate::helpers::spawn_app_with(Backend::Embedded, |s| {
        s.request_timeout = std::time::Duration::from_secs(2);
    })
    .await;
    let account = app.signup("Slow Co").await;
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connects");
    let head = format!(
        "POST /api/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\"",
        account.token
    );
    stream.write_all(head.as_bytes()).await.expect("writes");
    let started = std::time::Instant::now();
    let (mut reader, mut writer) = tokio::io::split(stream);
    // One byte every half second, never the whole body.
    let trickle = async move {
        for _ in 0..60 {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            if writer.write_all(b" ").await.is_err() {
                break;
            }
        }
    };
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(15),
        reader.read_to_end(&mut answer),
    );
    let read = tokio::select! {
        read = read => read,
        () = trickle => panic!("the server read a trickled body for 30 s"),
    };
    assert!(read.is_ok(), "the connection was still open after 15 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "cut off after {:?}",
        started.elapsed()
    );
    let leads = app.get("/api/leads", &account.token).await;
    assert_eq!(leads.body["items"], json!([]));
}
