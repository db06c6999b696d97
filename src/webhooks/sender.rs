//! Sending one signed webhook message (Standard Webhooks): the HTTP client (no redirects, 5 s to
//! connect, 15 s in all, public addresses only unless insecure endpoints are allowed), the
//! `webhook-id` / `webhook-timestamp` / `webhook-signature` headers signed with the
//! `standardwebhooks` crate, an answer read up to 64 KB, and a count of outcomes in `/metrics`.
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use prometheus_client::{
    encoding::EncodeLabelSet, metrics::counter::Counter, metrics::family::Family,
};
use standardwebhooks::Webhook;

use crate::{config::Secret, metrics::Metrics};

/// Receivers' answers are read this far, for the delivery log.
const MAX_ANSWER: usize = 64 * 1024;
/// What the delivery log keeps of an answer.
const EXCERPT: usize = 1000;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    /// `succeeded`, `failed` (an answer that is not 2xx), `unreachable` (no answer).
    outcome: &'static str,
}

/// What a receiver answered.
#[derive(Debug)]
pub struct Answer {
    /// `None` when there was no answer (refused, timed out, a private address).
    pub status: Option<u16>,
    /// Seconds from `Retry-After`, on 429 and 503.
    pub retry_after: Option<Duration>,
    pub excerpt: Option<String>,
    pub error: Option<String>,
    pub took: Duration,
}

impl Answer {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

pub struct Sender {
    /// Public addresses only.
    strict: reqwest::Client,
    /// Any address (`WEBHOOK_ALLOW_INSECURE`).
    insecure: reqwest::Client,
    outcomes: Family<OutcomeLabels, Counter>,
}

impl Sender {
    pub fn new(metrics: &Metrics) -> anyhow::Result<Self> {
        let builder = || {
            reqwest::Client::builder()
                .user_agent(concat!("Switchboard-Webhooks/", env!("CARGO_PKG_VERSION")))
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(15))
        };
        let strict = builder()
            .dns_resolver(Arc::new(super::address::PublicOnly))
            .build()?;
        let insecure = builder().build()?;
        let outcomes = Family::<OutcomeLabels, Counter>::default();
        metrics.with_registry(|r| {
            r.register(
                "webhook_deliveries",
                "Webhook delivery attempts by outcome",
                outcomes.clone(),
            );
        });
        Ok(Self {
            strict,
            insecure,
            outcomes,
        })
    }

    /// Posts `body` to `url` as message `id`, signed with each of `secrets` (the current one
    /// first; a rotated-out one while it is still valid).
    pub async fn send(
        &self,
        url: &str,
        id: &str,
        body: &[u8],
        secrets: &[Secret<String>],
        allow_insecure: bool,
    ) -> Answer {
        let started = Instant::now();
        let answer = self
            .try_send(url, id, body, secrets, allow_insecure, started)
            .await;
        let outcome = match answer.status {
            Some(_) if answer.succeeded() => "succeeded",
            Some(_) => "failed",
            None => "unreachable",
        };
        self.outcomes
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
        answer
    }

    async fn try_send(
        &self,
        url: &str,
        id: &str,
        body: &[u8],
        secrets: &[Secret<String>],
        allow_insecure: bool,
        started: Instant,
    ) -> Answer {
        let failed = |error: String| Answer {
            status: None,
            retry_after: None,
            excerpt: None,
            error: Some(error),
            took: started.elapsed(),
        };
        let Ok(parsed) = url::Url::parse(url) else {
            return failed("the endpoint URL does not parse".into());
        };
        if !allow_insecure && super::address::literal_is_private(&parsed) {
            return failed("the endpoint URL names a private address".into());
        }
        let timestamp = chrono::Utc::now().timestamp();
        let mut signatures = Vec::with_capacity(secrets.len());
        for secret in secrets {
            let signed =
                Webhook::new(secret.expose()).and_then(|hook| hook.sign(id, timestamp, body));
            match signed {
                Ok(signature) => signatures.push(signature),
                Err(err) => return failed(format!("signing failed: {err}")),
            }
        }
        let client = if allow_insecure {
            &self.insecure
        } else {
            &self.strict
        };
        let response = client
            .post(parsed)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(body.to_vec())
            .send()
            .await;
        let mut response = match response {
            Ok(response) => response,
            Err(err) if err.is_timeout() => return failed("timed out".into()),
            Err(err) => return failed(err.without_url().to_string()),
        };
        let status = response.status().as_u16();
        let retry_after = matches!(status, 429 | 503)
            .then(|| {
                response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs)
            })
            .flatten();
        let mut read = Vec::new();
        // Only the first 64 KB: a receiver cannot make Switchboard read without end.
        while read.len() < MAX_ANSWER {
            match response.chunk().await {
                Ok(Some(chunk)) => read.extend_from_slice(&chunk),
                _ => break,
            }
        }
        read.truncate(MAX_ANSWER);
        let excerpt: String = String::from_utf8_lossy(&read)
            .chars()
            .take(EXCERPT)
            .collect();
        Answer {
            status: Some(status),
            retry_after,
            excerpt: (!excerpt.is_empty()).then_some(excerpt),
            error: None,
            took: started.elapsed(),
        }
    }
}
