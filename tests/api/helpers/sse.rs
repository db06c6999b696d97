//! Reading the live event stream (Server-Sent Events) in tests.
use super::TestApp;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde_json::{Value, json};
use std::{pin::Pin, time::Duration};

/// One event as a stream delivered it.
#[derive(Clone, Debug)]
pub struct SseEvent {
    pub id: i64,
    pub kind: String,
    pub data: Value,
}

/// A Server-Sent Events client reading one stream.
pub struct Sse {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    buffer: String,
}

impl Sse {
    pub async fn open(app: &TestApp, path: &str, token: &str, last_event_id: Option<i64>) -> Self {
        let mut request = reqwest::Client::new()
            .get(app.url(path))
            .bearer_auth(token)
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.expect("stream opens");
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream"))
        );
        Self {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }

    /// The next event (comments skipped), or `None` when none arrives in time.
    pub async fn next(&mut self, within: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut kind, mut data) = (None, String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line
                        .strip_prefix("id: ")
                        .or_else(|| line.strip_prefix("id:"))
                    {
                        id = v.trim().parse().ok();
                    } else if let Some(v) = line
                        .strip_prefix("event: ")
                        .or_else(|| line.strip_prefix("event:"))
                    {
                        kind = v.trim().to_owned();
                    } else if let Some(v) = line
                        .strip_prefix("data: ")
                        .or_else(|| line.strip_prefix("data:"))
                    {
                        data.push_str(v);
                    }
                }
                if let (Some(id), false) = (id, data.is_empty()) {
                    let data = serde_json::from_str(&data).expect("event data is JSON");
                    return Some(SseEvent { id, kind, data });
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .ok()??;
            self.buffer
                .push_str(&String::from_utf8_lossy(&chunk.expect("stream chunk")));
        }
    }

    /// Events until `n` have arrived or `within` has passed.
    pub async fn take(&mut self, n: usize, within: Duration) -> Vec<SseEvent> {
        let deadline = tokio::time::Instant::now() + within;
        let mut out = Vec::new();
        while out.len() < n {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(event) => out.push(event),
                None => break,
            }
        }
        out
    }
}

/// Checks an event's `data` against the LiveEvent schema of the served OpenAPI document.
pub async fn assert_live_event_schema(app: &TestApp, event: &SseEvent) {
    let spec: Value = reqwest::get(app.url("/openapi.json"))
        .await
        .expect("spec")
        .json()
        .await
        .expect("json");
    let mut schema = json!({ "$ref": "#/components/schemas/LiveEvent" });
    schema["components"] = spec["components"].clone();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&event.data)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{event:?} does not match LiveEvent: {errors:?}"
    );
    assert_eq!(event.data["id"], json!(event.id));
    assert_eq!(event.data["type"], json!(event.kind));
}
