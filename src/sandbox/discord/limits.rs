//! Discord's rate limiting as the simulator enforces it: per-route buckets, each keyed by the
//! route and its top-level resource (guild, channel), a global limit per bot, and the headers
//! and 429 bodies Discord sends (https://discord.com/developers/docs/topics/rate-limits).
use std::{
    collections::HashMap,
    hash::{Hash, Hasher},
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    Json,
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A route's limit: `limit` requests per `window`.
#[derive(Clone, Copy, Debug)]
pub struct RouteLimit {
    pub limit: u32,
    pub window: Duration,
}

/// Discord's documented and observed limits for the routes the product uses.
pub mod routes {
    use super::RouteLimit;
    use std::time::Duration;

    pub const CREATE_GUILD_CHANNEL: RouteLimit = RouteLimit {
        limit: 10,
        window: Duration::from_secs(10),
    };
    pub const CREATE_MESSAGE: RouteLimit = RouteLimit {
        limit: 5,
        window: Duration::from_secs(5),
    };
    pub const DEFAULT: RouteLimit = RouteLimit {
        limit: 5,
        window: Duration::from_secs(1),
    };
}

/// Discord's global limit: 50 requests per second per bot.
pub const GLOBAL: RouteLimit = RouteLimit {
    limit: 50,
    window: Duration::from_secs(1),
};

/// Faults a test switches on to see the product cope.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RestFaults {
    /// Extra latency on every REST answer, in milliseconds.
    pub latency_ms: u64,
    /// The next this-many REST calls are answered 429.
    pub force_429: u32,
    /// The forced 429s are global ones.
    pub force_429_global: bool,
    /// `retry_after` of the forced 429s, in milliseconds.
    pub force_429_retry_after_ms: u64,
    /// The next this-many REST calls are answered 500.
    pub force_500: u32,
    /// Only calls to this route (as `channels/{channel_id}/permissions`) fail, `fail_route_count`
    /// times, with a 500.
    pub fail_route: Option<String>,
    pub fail_route_count: u32,
    /// The next this-many REST calls are carried out, then answered only after
    /// `slow_answer_ms`: a client that times out has still had its request done.
    pub slow_answers: u32,
    pub slow_answer_ms: u64,
    /// Each REST call fails with a 500 with this probability (0.0 to 1.0).
    pub error_rate: f64,
    /// Each REST call is answered 429 with this probability, shaped as `force_429` is.
    pub rate_limit_rate: f64,
    /// Each REST call is carried out, then answered only after `slow_answer_ms`, with this
    /// probability: a client's timeout on a call that took effect.
    pub slow_answer_rate: f64,
}

#[derive(Default)]
pub struct Limiter {
    buckets: Mutex<HashMap<String, (u32, Instant)>>,
    global: Mutex<Option<(u32, Instant)>>,
    faults: Mutex<RestFaults>,
    sent_429: AtomicU64,
    calls: AtomicU64,
    /// Tests compress time: every route window is divided by this (1 = Discord's real pace).
    window_divisor: std::sync::atomic::AtomicU32,
    /// The bot's global limit per second; 0 is Discord's default for every bot (`GLOBAL`).
    /// Discord raises it for large bots on request; benchmarks raise it to measure the
    /// product's own cost.
    global_limit: std::sync::atomic::AtomicU32,
}

fn bucket_id(route: &str) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    route.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

fn epoch_seconds(at: Instant) -> f64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    now + at.saturating_duration_since(Instant::now()).as_secs_f64()
}

fn header(name: &'static str, value: String) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static(name),
        HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("0")),
    )
}

/// The 429 Discord sends: JSON with `retry_after` (seconds, float) and `global`, an integer
/// `Retry-After` header, and the scope.
fn too_many(
    retry_after: Duration,
    global: bool,
    scope: &'static str,
    mut headers: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    let seconds = retry_after.as_secs_f64();
    headers.push(header(
        "retry-after",
        (seconds.ceil() as u64).max(1).to_string(),
    ));
    headers.push(header("x-ratelimit-scope", scope.to_owned()));
    if global {
        headers.push(header("x-ratelimit-global", "true".to_owned()));
    }
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({ "message": "You are being rate limited.", "retry_after": (seconds * 1000.0).round() / 1000.0, "global": global })),
    )
        .into_response();
    response.headers_mut().extend(headers);
    response
}

/// Headers to add to an allowed answer.
#[derive(Debug)]
pub struct Allowed(Vec<(HeaderName, HeaderValue)>);

impl Allowed {
    pub fn apply(self, mut response: Response) -> Response {
        response.headers_mut().extend(self.0);
        response
    }
}

impl Limiter {
    pub fn faults(&self) -> RestFaults {
        self.faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_faults(&self, faults: RestFaults) {
        *self.faults.lock().unwrap_or_else(|p| p.into_inner()) = faults;
    }

    /// The delay for this answer, when a slow answer is due.
    pub fn take_slow_answer(&self) -> Option<Duration> {
        let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        if faults.slow_answers > 0 {
            faults.slow_answers -= 1;
        } else if !(faults.slow_answer_rate > 0.0
            && rand::random::<f64>() < faults.slow_answer_rate)
        {
            return None;
        }
        Some(Duration::from_millis(faults.slow_answer_ms))
    }

    /// The bot's global limit per second, as Discord grants large bots more (0: Discord's
    /// default of 50).
    pub fn set_global_limit(&self, limit: u32) {
        self.global_limit.store(limit, Ordering::Relaxed);
        *self.global.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Divides every rate-limit window (limits stay the same), so tests of pacing run faster.
    pub fn set_window_divisor(&self, divisor: u32) {
        self.window_divisor.store(divisor.max(1), Ordering::Relaxed);
    }

    /// 429s the simulator has sent (a well-behaved client sees few or none).
    pub fn sent_429(&self) -> u64 {
        self.sent_429.load(Ordering::Relaxed)
    }

    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Checks one call against the faults, the global limit and its route's bucket.
    pub async fn check(
        &self,
        route: &str,
        major: &str,
        limit: RouteLimit,
        _headers: &HeaderMap,
    ) -> Result<Allowed, Response> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let (latency, forced) = {
            let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
            let route_fails =
                faults.fail_route_count > 0 && faults.fail_route.as_deref() == Some(route);
            let forced = if route_fails {
                faults.fail_route_count -= 1;
                Some(Ok(()))
            } else if faults.force_429 > 0 {
                faults.force_429 -= 1;
                Some(Err((
                    faults.force_429_global,
                    Duration::from_millis(faults.force_429_retry_after_ms.max(1)),
                )))
            } else if faults.force_500 > 0 {
                faults.force_500 -= 1;
                Some(Ok(()))
            } else if faults.error_rate > 0.0 && rand::random::<f64>() < faults.error_rate {
                Some(Ok(()))
            } else if faults.rate_limit_rate > 0.0 && rand::random::<f64>() < faults.rate_limit_rate
            {
                Some(Err((
                    faults.force_429_global,
                    Duration::from_millis(faults.force_429_retry_after_ms.max(1)),
                )))
            } else {
                None
            };
            (faults.latency_ms, forced)
        };
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        match forced {
            Some(Err((global, retry_after))) => {
                self.sent_429.fetch_add(1, Ordering::Relaxed);
                let scope = if global { "global" } else { "user" };
                return Err(too_many(retry_after, global, scope, Vec::new()));
            }
            Some(Ok(())) => {
                return Err((
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({ "message": "500: Internal Server Error", "code": 0 })),
                )
                    .into_response());
            }
            None => {}
        }
        let now = Instant::now();
        {
            let limit = match self.global_limit.load(Ordering::Relaxed) {
                0 => GLOBAL.limit,
                granted => granted,
            };
            let mut global = self.global.lock().unwrap_or_else(|p| p.into_inner());
            let (remaining, reset) = global.get_or_insert((limit, now + GLOBAL.window));
            if *reset <= now {
                (*remaining, *reset) = (limit, now + GLOBAL.window);
            }
            if *remaining == 0 {
                self.sent_429.fetch_add(1, Ordering::Relaxed);
                return Err(too_many(
                    reset.saturating_duration_since(now),
                    true,
                    "global",
                    Vec::new(),
                ));
            }
            *remaining -= 1;
        }
        let divisor = self.window_divisor.load(Ordering::Relaxed).max(1);
        let limit = RouteLimit {
            limit: limit.limit,
            window: limit.window / divisor,
        };
        let id = bucket_id(route);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (remaining, reset) = buckets
            .entry(format!("{id}:{major}"))
            .or_insert((limit.limit, now + limit.window));
        if *reset <= now {
            (*remaining, *reset) = (limit.limit, now + limit.window);
        }
        let reset_after = reset.saturating_duration_since(now);
        let headers = |remaining: u32| {
            vec![
                header("x-ratelimit-limit", limit.limit.to_string()),
                header("x-ratelimit-remaining", remaining.to_string()),
                header("x-ratelimit-reset", format!("{:.3}", epoch_seconds(*reset))),
                header(
                    "x-ratelimit-reset-after",
                    format!("{:.3}", reset_after.as_secs_f64()),
                ),
                header("x-ratelimit-bucket", id.clone()),
            ]
        };
        if *remaining == 0 {
            self.sent_429.fetch_add(1, Ordering::Relaxed);
            return Err(too_many(reset_after, false, "user", headers(0)));
        }
        *remaining -= 1;
        Ok(Allowed(headers(*remaining)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls on distinct channels, so only the global limit can refuse them.
    async fn admitted(limiter: &Limiter, calls: u32) -> u32 {
        let mut ok = 0;
        for i in 0..calls {
            let major = i.to_string();
            if limiter
                .check(
                    "channels/{id}/messages",
                    &major,
                    routes::CREATE_MESSAGE,
                    &HeaderMap::new(),
                )
                .await
                .is_ok()
            {
                ok += 1;
            }
        }
        ok
    }

    /// "All bots can make up to 50 requests per second to our API" (topics_rate-limits,
    /// "Global Rate Limit"); Discord raises that for large bots on request, which the simulator
    /// can play (a benchmark's knob), and it goes back to 50.
    #[tokio::test]
    async fn the_global_limit_is_50_a_second_unless_discord_granted_more() {
        let limiter = Limiter::default();
        assert_eq!(admitted(&limiter, 60).await, 50);
        limiter.set_global_limit(200);
        assert_eq!(admitted(&limiter, 120).await, 120);
        limiter.set_global_limit(0);
        assert_eq!(admitted(&limiter, 60).await, 50);
        assert_eq!(limiter.sent_429(), 20);
    }

    /// The random faults: each call fails (500 or 429) or is answered late with the given
    /// probability; a 429 is shaped as Discord's ("a JSON body … `retry_after` … `global`",
    /// topics_rate-limits, "Exceeding A Rate Limit") and counted.
    #[tokio::test]
    async fn random_faults_fail_or_slow_the_given_share_of_calls() {
        let limiter = Limiter::default();
        limiter.set_global_limit(10_000);
        limiter.set_faults(RestFaults {
            rate_limit_rate: 1.0,
            force_429_retry_after_ms: 250,
            ..RestFaults::default()
        });
        assert_eq!(admitted(&limiter, 20).await, 0);
        assert_eq!(limiter.sent_429(), 20);
        let refused = limiter
            .check(
                "channels/{id}/messages",
                "1",
                routes::CREATE_MESSAGE,
                &HeaderMap::new(),
            )
            .await
            .expect_err("a 429");
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.headers()["x-ratelimit-scope"], "user");

        limiter.set_faults(RestFaults {
            error_rate: 0.5,
            ..RestFaults::default()
        });
        let ok = admitted(&limiter, 400).await;
        assert!(
            (100..300).contains(&ok),
            "{ok} of 400 admitted at a 50% error rate"
        );

        limiter.set_faults(RestFaults {
            slow_answer_rate: 1.0,
            slow_answer_ms: 1500,
            ..RestFaults::default()
        });
        assert_eq!(
            limiter.take_slow_answer(),
            Some(Duration::from_millis(1500))
        );
        limiter.set_faults(RestFaults::default());
        assert_eq!(limiter.take_slow_answer(), None);
    }
}
