//! A webhook receiver on a loopback port for tests: records every request, and answers what
//! the test scripts.
use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use serde_json::Value;

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
    /// Answers for the next requests, in order, before `status`.
    script: Arc<Mutex<VecDeque<StatusCode>>>,
    /// `Retry-After` seconds sent with scripted 429 and 503 answers.
    retry_after: Option<u64>,
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
        Self::serve(status, delay, &[], None).await
    }

    /// Answers `script`'s statuses to the first requests, in order, then 200.
    pub async fn scripted(script: &[u16]) -> Self {
        Self::serve(200, Duration::ZERO, script, None).await
    }

    /// As [`Receiver::scripted`], with `Retry-After: seconds` on the scripted 429 and 503s.
    pub async fn scripted_with_retry_after(script: &[u16], seconds: u64) -> Self {
        Self::serve(200, Duration::ZERO, script, Some(seconds)).await
    }

    async fn serve(status: u16, delay: Duration, script: &[u16], retry_after: Option<u64>) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Behaviour {
            status: StatusCode::from_u16(status).expect("status"),
            delay,
            script: Arc::new(Mutex::new(
                script
                    .iter()
                    .map(|s| StatusCode::from_u16(*s).expect("status"))
                    .collect(),
            )),
            retry_after,
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
                    let scripted = b.script.lock().expect("lock").pop_front();
                    let status = scripted.unwrap_or(b.status);
                    let mut answer = axum::response::IntoResponse::into_response(status);
                    if let Some(seconds) = b.retry_after
                        && matches!(status.as_u16(), 429 | 503)
                    {
                        answer.headers_mut().insert(
                            "retry-after",
                            seconds.to_string().parse().expect("header value"),
                        );
                    }
                    answer
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

    /// Waits (up to 10 s) until `count` requests have arrived, and returns them all.
    pub async fn wait_for_count(&self, count: usize) -> Vec<Captured> {
        for _ in 0..500 {
            let got = self.all();
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{count} requests expected; got {}", self.all().len());
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
