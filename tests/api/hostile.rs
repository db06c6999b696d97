//! Hostile input, table-driven: each request is refused with a clear 4xx (problem+json where
//! the API answers), the server stays up, and nothing was stored.
use serde_json::json;

use crate::helpers::{Auth, Backend, spawn_app};

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
