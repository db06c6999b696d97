//! The simulated GitHub from a test's side: tokens, a webhook receiver on a loopback port,
//! signature checks, and octokit's payload schemas (vendored in tests/fixtures/github).
use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::Value;
use switchboard::sandbox::credentials::{GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET};

use super::{Auth, Reply, TestApp, schema::fixtures};

/// The seeded repository.
pub const REPO: &str = "sandbox-octocat/widgets";

/// A token for the sandbox user with these scopes, through the simulator's own OAuth flow.
pub async fn token(app: &TestApp, scope: &str) -> String {
    let redirect = app.state.settings.redirect_uri("github");
    let consent = app
        .client
        .post(app.url("/sandbox/github/login/oauth/authorize"))
        .form(&[
            ("client_id", GITHUB_CLIENT_ID),
            ("redirect_uri", redirect.as_str()),
            ("scope", scope),
            ("state", "s"),
            ("decision", "approve"),
        ])
        .send()
        .await
        .expect("consent");
    let location = consent
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a redirect with the code")
        .to_owned();
    let code = url::Url::parse(&location)
        .expect("URL")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let reply: Value = app
        .client
        .post(app.url("/sandbox/github/login/oauth/access_token"))
        .header("accept", "application/json")
        .form(&[
            ("client_id", GITHUB_CLIENT_ID),
            ("client_secret", GITHUB_CLIENT_SECRET),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("JSON");
    reply["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// A call to the simulated REST API (`path` after `/api`).
pub async fn api(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Reply {
    app.request(
        method,
        &format!("/sandbox/github/api{path}"),
        Auth::Bearer(token),
        body,
    )
    .await
}

/// A call to the sandbox controls (`path` after `/control`).
pub async fn control(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Reply {
    app.request(
        method,
        &format!("/sandbox/github/control{path}"),
        Auth::None,
        body,
    )
    .await
}

/// Creates a hook on the seeded repository and returns its id.
pub async fn create_hook(app: &TestApp, token: &str, body: Value) -> u64 {
    let reply = api(
        app,
        Method::POST,
        &format!("/repos/{REPO}/hooks"),
        token,
        Some(body),
    )
    .await;
    reply.assert_status(201);
    reply.body["id"].as_u64().expect("hook id")
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Captured {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Captured {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    pub fn event(&self) -> String {
        self.header("x-github-event").unwrap_or_default()
    }

    /// The JSON payload, from a JSON body or a form's `payload` parameter.
    pub fn payload(&self) -> Value {
        if self.header("content-type").as_deref() == Some("application/x-www-form-urlencoded") {
            let payload = url::form_urlencoded::parse(&self.body)
                .find(|(k, _)| k == "payload")
                .map(|(_, v)| v.into_owned())
                .expect("a payload parameter");
            serde_json::from_str(&payload).expect("JSON in the payload parameter")
        } else {
            serde_json::from_slice(&self.body).expect("a JSON body")
        }
    }
}

#[derive(Clone)]
struct Behaviour {
    status: StatusCode,
    delay: Duration,
    seen: Arc<Mutex<Vec<Captured>>>,
}

/// A webhook receiver on 127.0.0.1: records every request, waits `delay`, answers `status`.
pub struct Receiver {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Captured>>>,
    _server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Self {
        Self::answering(200, Duration::ZERO).await
    }

    pub async fn answering(status: u16, delay: Duration) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Behaviour {
            status: StatusCode::from_u16(status).expect("status"),
            delay,
            seen: seen.clone(),
        };
        let router = Router::new()
            .fallback(
                |State(b): State<Behaviour>, headers: HeaderMap, body: Bytes| async move {
                    b.seen
                        .lock()
                        .expect("lock")
                        .push(Captured { headers, body });
                    tokio::time::sleep(b.delay).await;
                    b.status
                },
            )
            .with_state(behaviour);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            addr,
            seen,
            _server: server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn all(&self) -> Vec<Captured> {
        self.seen.lock().expect("lock").clone()
    }

    /// Waits (up to 5 s) until `count` requests of this event have arrived, and returns them.
    pub async fn wait_for(&self, event: &str, count: usize) -> Vec<Captured> {
        for _ in 0..250 {
            let got: Vec<Captured> = self
                .all()
                .into_iter()
                .filter(|c| c.event() == event)
                .collect();
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "{count} `{event}` deliveries expected; got {:?}",
            self.all().iter().map(Captured::event).collect::<Vec<_>>()
        );
    }
}

/// Checks a signature header as a receiver should: HMAC of the body under the secret,
/// compared in constant time.
pub fn signature_valid(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_digest) = header.and_then(|h| h.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

pub fn sha1_signature_valid(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_digest) = header.and_then(|h| h.strip_prefix("sha1=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// octokit's schemas resolve `common/…` relative to their own file; the retriever finds each
/// by its file name in `schemas/common/` (no network).
struct LocalSchemas(PathBuf);

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri
            .as_str()
            .rsplit('/')
            .next()
            .ok_or("a file name in the URI")?;
        let text = std::fs::read_to_string(self.0.join(name))?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// Validates a payload against one of octokit's event schemas (`issues/closed.schema.json`),
/// formats included.
pub fn octokit_errors(schema: &str, instance: &Value) -> Vec<String> {
    let root = fixtures().join("github/schemas");
    let text = std::fs::read_to_string(root.join(schema)).expect("the schema");
    let schema: Value = serde_json::from_str(&text).expect("JSON");
    let validator = jsonschema::options()
        .with_base_uri("https://octokit.invalid/schemas/")
        .with_retriever(LocalSchemas(root.join("common")))
        .should_validate_formats(true)
        .build(&schema)
        .expect("a usable schema");
    validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}
